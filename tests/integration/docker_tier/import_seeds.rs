//! The seeds' own compose files (`tests/import/`: seed 004's two files
//! verbatim, seed 002's `docker run` lines and monitoring stack written as
//! compose files) imported, brought to a model `check` accepts with the
//! steps docs/import.md gives, and compared with the hand-written
//! examples: every difference is listed, with its reason, in
//! docs/import.md's tables (the test reads them), and nothing else differs.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use lucid_gen::system::System;

use crate::common::{compose_available, copy_dir, need, repo_root, Test};

fn system(model: &Path) -> System {
    let loaded = lucid_gen::model::load_dir(model).unwrap();
    match lucid_gen::validate::validate(loaded) {
        Ok(v) => v.system,
        Err(d) => panic!("{}: {d:?}", model.display()),
    }
}

/// What a reader compares per service: one line per fact.
fn facts(s: &System) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for x in &s.services {
        let n = &x.name;
        out.insert(format!("{n}: a service"));
        match &x.build {
            Some(b) if b.dockerfile.is_some() => {
                out.insert(format!("{n}: built from a hand-written Dockerfile"))
            }
            Some(_) => out.insert(format!("{n}: built from a stack template")),
            None => out.insert(format!("{n}: runs {}", x.image)),
        };
        if x.replicas != 1 {
            out.insert(format!("{n}: {} replicas", x.replicas));
        }
        for p in &x.ports {
            if let Some(h) = &p.host {
                let ip = p.host_ip.map(|i| format!("{i}:")).unwrap_or_default();
                out.insert(format!("{n}: publishes {ip}{}", h.0));
            }
        }
        for v in &x.volumes {
            out.insert(format!("{n}: volume {}", v.name));
        }
        let mut secrets: Vec<&str> = x
            .secrets
            .iter()
            .map(|u| s.secrets[u.secret].name.as_str())
            .collect();
        secrets.sort();
        if !secrets.is_empty() {
            out.insert(format!("{n}: secrets {}", secrets.join(", ")));
        }
    }
    for e in &s.externals {
        out.insert(format!("{}: an external service", e.name));
    }
    out
}

/// The rows of the table under `heading` in docs/import.md: its first
/// column, in backticks.
fn documented(heading: &str) -> BTreeSet<String> {
    let doc = fs::read_to_string(repo_root().join("docs/import.md")).unwrap();
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/import.md lacks {heading}"));
    (doc[start..].lines().skip(1))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('`').nth(1).map(str::to_string))
        .collect()
}

/// Facts only one side has, as `import: …` / `example: …`.
fn differences(imported: &System, example: &System) -> BTreeSet<String> {
    let (a, b) = (facts(imported), facts(example));
    let mut out: BTreeSet<String> = a.difference(&b).map(|f| format!("import: {f}")).collect();
    out.extend(b.difference(&a).map(|f| format!("example: {f}")));
    out
}

fn import_into(dir: &Path, files: &[&str], model: &str) -> std::process::Output {
    let mut args = vec!["import"];
    args.extend(files);
    args.extend(["--model", model]);
    Test::new().current_dir(dir).args(&args).status_any().run()
}

#[test]
fn consensusnet_seed_files_import_and_differ_from_the_example_as_documented() {
    need(compose_available(), "docker compose");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("tests/import/consensusnet"), dir.path());
    let example = system(&repo_root().join("examples/consensusnet/model"));
    for (file, model, heading) in [
        (
            "docker-compose.yml",
            "dev",
            "### ConsensusNet, docker-compose.yml",
        ),
        (
            "docker-compose.prod.yml",
            "prod",
            "### ConsensusNet, docker-compose.prod.yml",
        ),
    ] {
        let out = import_into(dir.path(), &[file], model);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Test::new()
            .current_dir(dir.path())
            .args(&["check", "--model", model])
            .run();
        let imported = system(&dir.path().join(model));
        // Each file against the example's variant of the same name: the
        // services it has and the ports it publishes are that variant's.
        let v = (example.variants.iter())
            .position(|v| v.name == model)
            .expect("the example has the variant");
        assert_eq!(
            differences(&imported, &example.with_variant(v)),
            documented(heading),
            "{file}"
        );
    }
}

#[test]
fn noderr_seed_files_import_and_differ_from_the_example_as_documented() {
    need(compose_available(), "docker compose");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("tests/import/noderr"), dir.path());
    let files = ["docker-compose.nodes.yml", "docker-compose.monitoring.yml"];
    // Oracle's metrics port and Prometheus both publish host port 9090:
    // import writes the model, says so, and exits 1.
    let out = import_into(dir.path(), &files, "model");
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("error[port-clash]"), "{report}");
    // The documented step: Prometheus scrapes the node on the network, so
    // the node's metrics port is not published.
    let nodes = dir.path().join("model/services/nodes.yaml");
    let text = fs::read_to_string(&nodes).unwrap();
    let fixed = text.replace("{ container: 9090, host: 9090 }", "{ container: 9090 }");
    assert_ne!(text, fixed);
    fs::write(&nodes, fixed).unwrap();
    Test::new().current_dir(dir.path()).args(&["check"]).run();
    let imported = system(&dir.path().join("model"));
    let phases: Vec<&str> = imported.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        phases,
        ["nodes", "monitoring"],
        "one phase per file, in order"
    );
    // Against the example's `tiers` variant: the seed's lines run tiers,
    // and the all-in-one tier is variant `all-in-one`'s.
    let example = system(&repo_root().join("examples/noderr/model"));
    let v = (example.variants.iter())
        .position(|v| v.name == "tiers")
        .expect("the example has the variant");
    assert_eq!(
        differences(&imported, &example.with_variant(v)),
        documented("### noderr, seed 002's lines as compose files")
    );
}
