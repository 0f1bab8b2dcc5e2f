//! One small broken model per validation rule: each `tests/bad/<rule>.yaml`
//! is added to a copy of the `small` fixture, `lucid-gen check` runs, and
//! the snapshot holds the exit code and every diagnostic (rule, message,
//! file, line, column, help). The file's name is the rule it must trigger.
//! A file whose first line starts with `# alone` is the whole model instead.
//! `every_rule_has_a_fixture` makes sure no rule goes without one.

use crate::common::{stderr, Project};
use lucid_gen::diagnostic::Rule;

#[test]
fn every_rule_has_a_failing_model() {
    insta::glob!("..", "bad/*.yaml", |path| {
        let rule = path.file_stem().unwrap().to_str().unwrap();
        let p = Project::fixture("small");
        let text = std::fs::read_to_string(path).unwrap();
        if text.starts_with("# alone") {
            std::fs::remove_dir_all(p.path("model")).unwrap();
            std::fs::create_dir(p.path("model")).unwrap();
        }
        std::fs::copy(path, p.path("model/case.yaml")).unwrap();
        let warning_only = WARNINGS.contains(&rule);
        let out = p
            .run()
            .args(&["check"])
            .status(if warning_only { 0 } else { 1 })
            .run();
        let err = stderr(&out);
        let level = if warning_only { "warning" } else { "error" };
        assert!(
            err.contains(&format!("{level}[{rule}]")),
            "{rule}: expected a {level}[{rule}] diagnostic, got:\n{err}"
        );
        assert!(
            err.contains("model/case.yaml:")
                || rule == "duplicate-definition"
                || rule == "unknown-plane"
                || rule == "no-services",
            "{rule}: the diagnostic must point into the broken file:\n{err}"
        );
        assert!(
            !err.chars().any(|c| c.is_control() && c != '\n'),
            "{rule}: a control character reached the terminal:\n{err:?}"
        );
        insta::assert_snapshot!(format!(
            "exit: {}\n{}",
            out.status.code().unwrap(),
            without_other_warnings(&err, rule)
        ));
    });
}

/// Rules that only warn: the model stays valid.
const WARNINGS: [&str; 4] = [
    "unused-secret",
    "missing-health-check",
    "missing-limits",
    "bridge-not-isolated",
];

/// Rules no model file in `tests/bad/` can trigger, each with the test that
/// covers it instead.
const NO_FIXTURE: [(&str, &str); 3] = [
    (
        "io",
        "needs an over-8-MiB file: kinds.rs (a_file_over_the_limit_…, a_file_growing_…), bad_input.rs",
    ),
    (
        "not-utf8",
        "a fixture must be UTF-8 to be stored: kinds.rs, non_utf8_files_are_named below",
    ),
    (
        "secret-exposure",
        "about file modes and git, not the model: kinds.rs (secrets_others_can_read_…), cli.rs",
    ),
];

/// Every rule has `tests/bad/<rule>.yaml` and its snapshot, or is listed in
/// `NO_FIXTURE` with the reason.
#[test]
fn every_rule_has_a_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut missing = Vec::new();
    for rule in Rule::ALL {
        let name = rule.name();
        let exempt = NO_FIXTURE.iter().any(|(r, _)| *r == name);
        let fixture = root.join(format!("bad/{name}.yaml"));
        let snapshot = root.join(format!(
            "integration/snapshots/integration__rules__every_rule_has_a_failing_model@{name}.yaml.snap"
        ));
        match (exempt, fixture.is_file() && snapshot.is_file()) {
            (false, false) => missing.push(format!("{name}: no fixture or no snapshot")),
            (true, true) => missing.push(format!("{name}: has a fixture, drop it from NO_FIXTURE")),
            _ => {}
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Drops warnings of other rules (a broken service rarely bothers with
/// limits and health checks) with their source lines and help, keeping
/// every error.
fn without_other_warnings(stderr: &str, rule: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in stderr.lines() {
        let header = line.starts_with("error")
            || line.starts_with("warning[")
            || line.contains(": error[")
            || line.contains(": warning[");
        if header {
            skipping = line.contains("warning[") && !line.contains(&format!("warning[{rule}]"));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn non_utf8_files_are_named() {
    let p = Project::fixture("small");
    std::fs::write(p.path("model/case.yaml"), b"services:\n  x: \xff\xfe\n").unwrap();
    p.run()
        .args(&["check"])
        .status(1)
        .stderr_has("model/case.yaml:2:6: error[not-utf8]: model file is not valid UTF-8")
        .run();
}

#[test]
fn every_problem_is_reported_at_once() {
    let p = Project::fixture("small");
    p.write(
        "model/case.yaml",
        "services:\n  shop-a:\n    phase: edge\n    plane: app\n    networks: [nowhere]\n    image: example/a:1\n    depends_on: [missing]\n    ports:\n      - container: 1\n        host: 18080\n",
    );
    let out = p.run().args(&["check"]).status(1).run();
    let err = stderr(&out);
    for rule in ["unknown-network", "unknown-dependency", "port-clash"] {
        assert!(
            err.contains(&format!("error[{rule}]")),
            "{rule} missing:\n{err}"
        );
    }
    assert!(err.contains("the model has 3 error(s)"), "{err}");
}
