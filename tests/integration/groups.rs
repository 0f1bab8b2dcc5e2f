//! Groups (`tests/fixtures/groups`, Lucid's `model/groups.yaml`): a group's
//! compose file works on its own — it holds the listed services and
//! everything they depend on, creates its networks, passes `docker compose
//! config` alone and comes up alone — and its validation errors; a bridge
//! narrowed by `networks`.

use crate::common::{stderr, Project};

/// `check` on the groups fixture with `text` as one more model file.
fn check_with(text: &str) -> String {
    let p = Project::fixture("groups");
    p.write("model/case.yaml", text);
    stderr(&p.run().args(&["check"]).status(1).run())
}

#[test]
fn group_mistakes_are_reported_where_they_are_written() {
    let err = check_with(
        "groups:\n\
         \x20 edge:\n\
         \x20   compose_file: docker-compose.base.yml\n\
         \x20   services: [grp-pay-workr, grp-api, grp-api]\n\
         \x20 other:\n\
         \x20   compose_file: docker-compose.payments.yml\n\
         \x20   services: [grp-db]\n\
         \x20 bad-file:\n\
         \x20   compose_file: sub/x.yml\n\
         \x20   services: [grp-db]\n",
    );
    for expected in [
        "model/case.yaml:2:3: error[duplicate-definition]: group `edge` is named like a phase; both would deploy as Compose project `grp-edge`",
        "model/case.yaml:3:19: error[duplicate-definition]: compose file `docker-compose.base.yml` is already written for something else (model/system.yaml:",
        "model/case.yaml:4:16: error[unknown-dependency]: unknown service `grp-pay-workr`",
        "did you mean `grp-pay-worker`?",
        "model/case.yaml:4:40: error[duplicate-definition]: group `edge` lists service `grp-api` twice",
        // Files are read in path order: case.yaml's group came first.
        "model/system.yaml:54:19: error[duplicate-definition]: compose file `docker-compose.payments.yml` is already written for something else (model/case.yaml:6:19)",
        "model/case.yaml:9:19: error[invalid-path]: compose file name `sub/x.yml` must be a plain `.yml` file name",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    assert!(!err.contains("output-collision"), "{err}");
}

#[test]
fn a_narrowed_bridge_refuses_other_networks_of_its_plane() {
    let p = Project::fixture("groups");
    let services = p.read("model/services.yaml");
    let widened = services.replace(
        "networks: [grp-pay, grp-front]",
        "networks: [grp-pay, grp-front, grp-back]",
    );
    assert_ne!(services, widened);
    p.write("model/services.yaml", &widened);
    let err = stderr(&p.run().args(&["check"]).status(1).run());
    assert!(
        err.contains(
            "model/services.yaml:51:36: error[plane-isolation]: service `grp-pay-gateway` of plane `pay` joins network `grp-back` of plane `app`, which its bridge does not list"
        ),
        "{err}"
    );
    assert!(err.contains("allows only `grp-front`"), "{err}");
    assert!(err.contains("1 error(s)"), "{err}");

    // The bridge's own list: a network of another plane, an unknown one,
    // an empty one.
    let system = p.read("model/system.yaml");
    for (list, expected) in [
        (
            "[grp-front, grp-pay]",
            "error[plane-isolation]: bridge network `grp-pay` belongs to plane `pay`, not to the bridge's plane `app`",
        ),
        (
            "[grp-frnt]",
            "error[unknown-network]: unknown network `grp-frnt`",
        ),
        (
            "[]",
            "error[plane-isolation]: the bridge of `grp-pay-gateway` to plane `app` lists no networks",
        ),
    ] {
        let p = Project::fixture("groups");
        let narrowed = system.replace("networks: [grp-front]", &format!("networks: {list}"));
        assert_ne!(system, narrowed);
        p.write("model/system.yaml", &narrowed);
        let err = stderr(&p.run().args(&["check"]).status(1).run());
        assert!(err.contains("model/system.yaml:22:"), "{err}");
        assert!(err.contains(expected), "{list}: {err}");
    }
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::docker_available;
    use crate::common::need;
    use crate::common::unique_name;
    use crate::common::OutputBounded;
    use lucid_gen::workspace::{Freshness, Workspace};
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::process::Command;
    use std::process::Output;

    fn compose(dir: &Path, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("compose")
            .args(args)
            .current_dir(dir)
            .output_bounded()
            .expect("run docker compose")
    }
    /// `docker compose -f FILE config --format json` of a generated file.
    fn resolved(p: &Project, file: &str) -> serde_json::Value {
        let out = compose(
            &p.path("generated/configs/docker"),
            &["-f", file, "config", "--format", "json"],
        );
        assert!(out.status.success(), "{file}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
    fn keys(v: &serde_json::Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn a_group_file_holds_its_services_and_their_dependencies_and_passes_config_alone() {
        need(compose_available(), "docker compose");
        let p = Project::fixture("groups");
        p.run().args(&["all"]).run();
        let payments = resolved(&p, "docker-compose.payments.yml");
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // The worker, what it depends on transitively, and the database's
        // initialisation step (the API waits for it); not grp-report.
        assert_eq!(
            keys(&payments["services"]),
            names(&[
                "grp-pay-worker",
                "grp-pay-gateway",
                "grp-api",
                "grp-db",
                "grp-db-init"
            ])
        );
        assert_eq!(payments["name"], "grp-payments");
        let api = &payments["services"]["grp-api"]["depends_on"];
        assert_eq!(
            api["grp-db-init"]["condition"],
            "service_completed_successfully"
        );
        // It creates every network it joins: none is external.
        assert_eq!(
            keys(&payments["networks"]),
            names(&["grp-front", "grp-back", "grp-pay"])
        );
        for (name, net) in payments["networks"].as_object().unwrap() {
            assert_ne!(net["external"], true, "{name} is external");
        }
        let text = p.read("generated/configs/docker/docker-compose.payments.yml");
        assert!(text.contains(
            "# Also holds what they depend on, so the file works on its own: grp-db, grp-db-init, grp-api, grp-pay-gateway\n"
        ));
        assert!(!text.contains("deployed earlier"), "{text}");
        let data = resolved(&p, "docker-compose.data.yml");
        assert_eq!(keys(&data["services"]), names(&["grp-db", "grp-db-init"]));
        assert_eq!(keys(&data["networks"]), names(&["grp-back"]));
        // The worker's secret file is declared by the file that mounts it only.
        assert_eq!(payments["secrets"].as_object().map(|o| o.len()), Some(1));
        assert!(data.get("secrets").is_none(), "{data}");
    }

    /// With variants, each variant writes its own copy of every group file
    /// (suffixed like the phase files), and `verify` checks each copy.
    #[test]
    fn each_variant_writes_and_verifies_its_own_group_files() {
        need(compose_available(), "docker compose");
        let p = Project::fixture("groups");
        p.write(
            "model/variants.yaml",
            "variants:\n  dev: {}\n  prod: { compose_suffix: prod }\n",
        );
        p.run().args(&["all"]).run();
        for file in [
            "docker-compose.payments.yml",
            "docker-compose.payments.prod.yml",
        ] {
            let services = keys(&resolved(&p, file)["services"]);
            assert!(services.contains("grp-pay-worker"), "{file}: {services:?}");
            assert!(services.contains("grp-db-init"), "{file}: {services:?}");
        }
        let out = p.run().args(&["verify"]).run();
        let text = crate::common::stdout(&out);
        for file in ["docker-compose.data.yml", "docker-compose.data.prod.yml"] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("ok ") && l.ends_with(file)),
                "{file} not verified:\n{text}"
            );
        }
    }

    /// Lucid's `node` group file (node management with MongoDB, its key file
    /// and init steps, and Redis, none of which it lists) comes up healthy
    /// with stand-in images, on its own. Its networks get names and subnets no
    /// other run uses, so a Lucid deployment elsewhere on the engine does not
    /// collide with it.
    #[test]
    fn a_lucid_group_file_comes_up_alone_with_stand_ins() {
        let _stack = crate::common::docker_stack();
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = Project::lucid();
        let project = unique_name("i12-groups-node");
        let system = p.read("model/system.yaml");
        let moved = system.replace(
            "    subnet: 172.20.0.0/16\n    gateway: 172.20.0.1\n",
            &format!(
                "    name: {project}-pi\n    subnet: 10.213.0.0/24\n    gateway: 10.213.0.1\n"
            ),
        );
        assert_ne!(system, moved);
        p.write("model/system.yaml", &moved);
        p.run().args(&["all"]).run();

        let paths = lucid_gen::workspace::Paths {
            model: p.path("model"),
            out: p.path("generated"),
            secrets: p.path(".lucid-gen/secrets.env"),
            insecure_secret_seed: None,
            variant: None,
        };
        let ws = Workspace::load(&paths, Freshness::Required).unwrap();
        let plans = lucid_gen::compose_files::groups(&ws.system);
        let plan = plans
            .iter()
            .find(|g| g.file_name == "docker-compose.node.yml")
            .unwrap();
        let standins = lucid_gen::docker::standin::prepare(&ws, &ws.system.platform).unwrap();
        let over = lucid_gen::docker::standin::override_path(&ws, &project);
        lucid_gen::docker::standin::write_override(&ws, plan, &over, &standins).unwrap();
        let group = ws.compose_path(plan);
        let files = [
            "-p",
            &project,
            "-f",
            group.to_str().unwrap(),
            "-f",
            over.to_str().unwrap(),
        ];
        let dir = p.path("generated/configs/docker");
        let up = compose(
            &dir,
            &[&files[..], &["up", "-d", "--wait", "--wait-timeout", "300"]].concat(),
        );
        let ps = compose(
            &dir,
            &[
                &files[..],
                &[
                    "ps",
                    "-a",
                    "--format",
                    "{{.Service}} {{.State}} {{.Health}} {{.ExitCode}}",
                ],
            ]
            .concat(),
        );
        let down = compose(
            &dir,
            &[&files[..], &["down", "--volumes", "--timeout", "5"]].concat(),
        );
        assert!(
            up.status.success(),
            "up: {}\n{}",
            stderr(&up),
            String::from_utf8_lossy(&ps.stdout)
        );
        assert!(down.status.success(), "down: {}", stderr(&down));
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let mut rows: Vec<&str> = ps.lines().collect();
        rows.sort_unstable();
        assert_eq!(
            rows,
            [
                "lucid-mongodb running healthy 0",
                "lucid-mongodb-init exited  0",
                "lucid-mongodb-keyfile exited  0",
                "lucid-node-management running healthy 0",
                "lucid-redis running healthy 0",
            ],
            "{ps}"
        );
    }

    #[test]
    fn verify_checks_group_files_like_phase_files() {
        need(compose_available(), "docker compose");
        for tool in ["compose-lint", "dclint"] {
            let runs = Command::new(tool)
                .arg("--version")
                .output_bounded()
                .is_ok_and(|o| o.status.success());
            need(runs, tool);
        }
        let p = Project::fixture("groups");
        p.run().args(&["all"]).run();
        let out = p.run().args(&["verify"]).run();
        let text = crate::common::stdout(&out);
        let dir = "generated/configs/docker";
        // `docker-compose.yml` is the fixture's stage-profiles file.
        let expected: Vec<String> = ["base.", "edge.", "master.", "", "payments.", "data."]
            .iter()
            .map(|f| format!("ok    {dir}/docker-compose.{f}yml"))
            .chain(["verify: 6 files, 0 failed".to_string()])
            .collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");

        // A group file broken by hand is named.
        let payments = format!("{dir}/docker-compose.payments.yml");
        p.write(&payments, &(p.read(&payments) + "services: [oops\n"));
        let out = p
            .run()
            .args(&["verify"])
            .status(1)
            .stdout_has(&format!("FAIL  {payments}"))
            .stdout_has("verify: 6 files, 1 failed")
            .run();
        assert!(
            crate::common::stdout(&out).contains(&format!("ok    {dir}/docker-compose.data.yml"))
        );
    }
}
