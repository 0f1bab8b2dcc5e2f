//! `examples/noderr` (seed 002), rendered by the same binary as Lucid: its
//! committed `generated/` is what its model produces (and has a gallery
//! snapshot), every file passes `verify`, Compose refuses it while a
//! variable the operator must set is unset, the features it brought are
//! refused when misused (`{{ targets PORT }}`, `required_env`), and on a
//! real engine each variant (the tiers; the all-in-one tier alone) comes up
//! as stand-ins, `lucid-gen test` passes, and a real Prometheus (Debian's,
//! see `realserver.rs`) run with that variant's generated `prometheus.yml`
//! scrapes every metrics port the variant declares — and nothing else —
//! and reports each target `up`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{repo_root, stderr, OutputBounded, Project};

fn example_dir() -> PathBuf {
    repo_root().join("examples/noderr")
}

fn example() -> Project {
    Project::from_model(&example_dir().join("model"))
}

#[test]
fn committed_example_generated_dir_is_fresh() {
    let (outputs, _) = crate::generated::render_model(&example_dir().join("model"), 0);
    let root = example_dir().join("generated");
    let mut stale = Vec::new();
    for (path, file) in &outputs {
        if file.secret {
            continue; // Never committed.
        }
        match std::fs::read_to_string(root.join(path)) {
            Ok(text) if text == file.text => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "examples/noderr/generated/ is stale in {stale:?}: run `lucid-gen all` in examples/noderr and commit the result"
    );
    let tracked = Command::new("git")
        .args(["ls-files", "examples/noderr/generated"])
        .current_dir(repo_root())
        .output_bounded()
        .expect("run git");
    let tracked = String::from_utf8_lossy(&tracked.stdout);
    assert!(tracked.lines().count() > 10, "nothing committed: {tracked}");
    for line in tracked.lines() {
        let rel = Path::new(line)
            .strip_prefix("examples/noderr/generated")
            .unwrap();
        let file = outputs.get(rel);
        assert!(file.is_some(), "{line} is tracked but not produced");
        assert!(!file.unwrap().secret, "{line} holds secrets but is tracked");
    }
}

#[test]
fn example_gallery() {
    let (outputs, values) = crate::generated::render_model(&example_dir().join("model"), 42);
    insta::assert_snapshot!(
        "gallery_noderr",
        crate::generated::gallery(&outputs, &values)
    );
}

/// `line:column` (1-based) of the first `needle` in model file `rel` of `p`.
fn place_of(p: &Project, rel: &str, needle: &str) -> String {
    let text = p.read(rel);
    let (line, col) = (text.lines().enumerate())
        .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
        .expect(needle);
    format!("{line}:{col}")
}

#[test]
fn targets_placeholders_are_checked_where_they_are_written() {
    let p = example();
    let file = "model/services/monitoring.yaml";
    let text = p.read(file);
    // Prometheus off the nodes' network: no tier is reachable; and a port
    // name no service has.
    let broken = text
        .replace(
            "    networks: [noderr-monitoring, noderr-nodes]\n",
            "    networks: [noderr-monitoring]\n",
        )
        .replace("{{ targets metrics-node }}", "{{ targets metrics-nodes }}");
    assert_ne!(broken, text);
    p.write(file, &broken);
    let out = p.run().args(&["check"]).status(1).run();
    let said = stderr(&out);
    let at = |needle: &str| format!("monitoring.yaml:{}: ", place_of(&p, file, needle));
    for (target, needle) in [
        ("oracle", "{{ targets metrics-oracle }}"),
        ("all-in-one", "{{ targets metrics-oracle }}"),
        ("validator", "{{ targets metrics-validator }}"),
    ] {
        let message = format!(
            "{}error[config-file]: config file `/etc/prometheus/prometheus.yml` of `prometheus` lists `{target}` as a target, but the two share no network",
            at(needle)
        );
        assert!(said.contains(&message), "{message}\n{said}");
    }
    let unknown = format!(
        "{}error[config-file]: config file `/etc/prometheus/prometheus.yml`: `{{{{ targets metrics-nodes }}}}` names a port name no service has",
        at("{{ targets metrics-nodes }}")
    );
    assert!(said.contains(&unknown), "{unknown}\n{said}");
    assert!(!said.contains("`node-exporter` as a target"), "{said}");
}

/// Seed 002's dashboard and its provisioning, as Grafana reads them (no
/// Grafana can run here: Debian has no package, so the Docker tests run it
/// as a stand-in): the provider points at the directory the dashboard is
/// mounted in, the dashboard is JSON with a query on every panel, and the
/// two seed metrics (trading signals, consensus participation) are charted
/// and alerted on under the same names.
#[test]
fn the_dashboard_is_provisioned_where_it_is_mounted_and_charts_the_seed_metrics() {
    let (outputs, _) = crate::generated::render_model(&example_dir().join("model"), 0);
    let text = |rel: &str| outputs.get(Path::new(rel)).expect(rel).text.clone();
    let provider: serde_yaml::Value = serde_yaml::from_str(&text(
        "configs/files/grafana/etc/grafana/provisioning/dashboards/noderr.yml",
    ))
    .unwrap();
    let dir = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let json = format!("configs/files/grafana{dir}/noderr-trading.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text(&json)).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 4, "{dashboard}");
    let exprs: Vec<&str> = (panels.iter())
        .map(|p| p["targets"][0]["expr"].as_str().expect("a query per panel"))
        .collect();
    let rules: serde_yaml::Value = serde_yaml::from_str(&text(
        "configs/files/prometheus/etc/prometheus/rules/noderr.yml",
    ))
    .unwrap();
    let alerts = serde_yaml::to_string(&rules).unwrap();
    for metric in [
        "noderr_trading_signals_processed_total",
        "noderr_consensus_participation_ratio",
        "process_resident_memory_bytes",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "{metric}: {exprs:?}"
        );
    }
    assert!(
        alerts.contains("noderr_consensus_participation_ratio"),
        "{alerts}"
    );
    for variant in ["tiers", "all-in-one"] {
        let prometheus = text(&format!(
            "configs/files/prometheus@{variant}/etc/prometheus/prometheus.yml"
        ));
        assert!(
            prometheus.contains("rule_files:\n  - /etc/prometheus/rules/noderr.yml\n"),
            "{prometheus}"
        );
    }
}

/// Seed 002 runs the tiers or the all-in-one tier, never both: each
/// variant's compose files hold only its node services, the all-in-one
/// tier publishes the API ports 3000-3002 the tiers publish in the other,
/// and each variant's Prometheus scrapes exactly the services it has (the
/// file is written once per variant, and its compose file mounts its own).
#[test]
fn each_variant_runs_its_own_tiers_and_prometheus_scrapes_only_those() {
    let (outputs, _) = crate::generated::render_model(&example_dir().join("model"), 0);
    let text = |rel: &str| outputs.get(Path::new(rel)).expect(rel).text.clone();
    let yaml = |rel: &str| serde_yaml::from_str::<serde_yaml::Value>(&text(rel)).unwrap();
    let docker = "configs/docker";
    for (variant, suffix, services, published) in [
        (
            "tiers",
            "",
            &["oracle", "guardian", "validator"][..],
            [("oracle", 3000), ("guardian", 3001), ("validator", 3002)],
        ),
        (
            "all-in-one",
            ".all-in-one",
            &["all-in-one"][..],
            [
                ("all-in-one", 3000),
                ("all-in-one", 3001),
                ("all-in-one", 3002),
            ],
        ),
    ] {
        let nodes = yaml(&format!("{docker}/docker-compose.nodes{suffix}.yml"));
        let names: Vec<&str> = (nodes["services"].as_mapping().unwrap().keys())
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(names, services, "{variant}");
        for (service, port) in published {
            let ports = nodes["services"][service]["ports"].as_sequence().unwrap();
            let on_host = ports.iter().any(|p| {
                p["target"].as_u64() == Some(port)
                    && p["published"].as_str() == Some(&port.to_string())
                    && p["host_ip"].as_str() == Some("127.0.0.1")
            });
            assert!(
                on_host,
                "{variant}: {service} does not publish {port}: {ports:?}"
            );
        }
        let monitoring = yaml(&format!("{docker}/docker-compose.monitoring{suffix}.yml"));
        let file = monitoring["configs"]["prometheus.prometheus.yml"]["file"]
            .as_str()
            .unwrap()
            .to_string();
        let mounted = format!("../files/prometheus@{variant}/etc/prometheus/prometheus.yml");
        assert_eq!(file, mounted, "{variant}");
        let config = yaml(&format!(
            "configs/files/prometheus@{variant}/etc/prometheus/prometheus.yml"
        ));
        let mut scraped: Vec<String> = Vec::new();
        for job in config["scrape_configs"].as_sequence().unwrap() {
            for t in job["static_configs"][0]["targets"].as_sequence().unwrap() {
                scraped.push(t.as_str().unwrap().split(':').next().unwrap().to_string());
            }
        }
        scraped.dedup();
        let mut want: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        want.push("node-exporter".to_string());
        want.dedup();
        assert_eq!(scraped, want, "{variant}");
    }
    assert!(
        !outputs.contains_key(Path::new(
            "configs/files/prometheus/etc/prometheus/prometheus.yml"
        )),
        "a prometheus.yml shared by both variants is written"
    );
}

#[test]
fn required_variables_are_checked() {
    let p = example();
    let file = "model/services/nodes.yaml";
    let text = p.read(file);
    let broken = text
        .replace(
            "      NODE_VERSION: the node software version this host runs\n",
            "      NODE_VERSION: the node software version this host runs\n      NODE-REGION: where it runs\n",
        )
        .replace(
            "      NODE_OPTIONS: --max-old-space-size=2688\n",
            "      NODE_OPTIONS: --max-old-space-size=2688\n      NODE_ID: guardian-001\n",
        )
        .replace("from: VALIDATOR_NODE_ID", "from: VALIDATOR-NODE-ID");
    p.write(file, &broken);
    let out = p.run().args(&["check"]).status(1).run();
    let said = stderr(&out);
    let bad_name = format!(
        "nodes.yaml:{}: error[env-name]: `NODE-REGION` cannot be filled by Compose",
        place_of(&p, file, "NODE-REGION")
    );
    assert!(said.contains(&bad_name), "{bad_name}\n{said}");
    // The variable Compose reads (`from`) is checked like the name.
    // Reported at the entry's key, the line above its `from`.
    let from_line: usize = place_of(&p, file, "from: VALIDATOR-NODE-ID")
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let bad_from = format!(
        "nodes.yaml:{}:7: error[env-name]: `VALIDATOR-NODE-ID` cannot be filled by Compose",
        from_line - 1
    );
    assert!(said.contains(&bad_from), "{bad_from}\n{said}");
    // Each tier's conflict is reported where the variable is written; the
    // container's name (NODE_ID) counts, not the one Compose reads.
    assert!(
        said.contains("error[env-conflict]: `guardian` requires the operator to set `NODE_ID`, but its own `environment` also sets it"),
        "{said}"
    );
    assert!(!said.contains("`oracle` requires"), "{said}");
}

/// A required variable reaches the container's environment, so a plane's
/// forbidden terms apply to its name as to `environment`'s.
#[test]
fn a_plane_forbids_terms_in_required_variables() {
    let p = example();
    let text = p.read("model/system.yaml");
    let with_term = text.replace(
        "    description: The noderr node tiers.\n",
        "    description: The noderr node tiers.\n    forbidden_terms: [deployment_engine]\n",
    );
    assert_ne!(with_term, text);
    p.write("model/system.yaml", &with_term);
    let out = p.run().args(&["check"]).status(1).run();
    let said = stderr(&out);
    let found = "error[forbidden-term]: required variable `DEPLOYMENT_ENGINE_URL` contains `deployment_engine`, which plane `nodes` forbids";
    // Once per tier: four services list it.
    assert_eq!(said.matches(found).count(), 4, "{said}");
    let line = place_of(&p, "model/services/nodes.yaml", "DEPLOYMENT_ENGINE_URL:");
    let line = line.split(':').next().unwrap();
    assert!(said.contains(&format!("nodes.yaml:{line}:")), "{said}");
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::docker_available;
    use crate::common::need;
    use crate::common::stdout;
    use crate::common::unique_name;
    use std::collections::BTreeSet;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::process::Output;
    use std::process::Stdio;
    use std::time::Duration;
    use std::time::Instant;

    impl Drop for Container {
        fn drop(&mut self) {
            let _ = Command::new("docker")
                .args(["rm", "-f", "-v", &self.0])
                .stdin(Stdio::null())
                .output_bounded();
        }
    }

    /// What the operator sets for the node tiers (seed 002's example
    /// values): each tier's own NODE_ID, then the three every tier reads,
    /// NODE_VERSION last.
    const NODE_VARS: [(&str, &str); 7] = [
        ("ORACLE_NODE_ID", "oracle-001"),
        ("GUARDIAN_NODE_ID", "guardian-001"),
        ("VALIDATOR_NODE_ID", "validator-001"),
        ("ALL_IN_ONE_NODE_ID", "all-in-one-001"),
        ("NFT_TOKEN_ID", "4211"),
        ("DEPLOYMENT_ENGINE_URL", "http://deploy.example.invalid"),
        ("NODE_VERSION", "1.0.0"),
    ];
    /// Each tier and the NODE_ID its container receives.
    const TIER_IDS: [(&str, &str); 4] = [
        ("oracle", "oracle-001"),
        ("guardian", "guardian-001"),
        ("validator", "validator-001"),
        ("all-in-one", "all-in-one-001"),
    ];
    /// The operator's wallet key (seed 002), a test value: what `all` needs.
    const WALLET_KEY: (&str, &str) = ("WALLET_PRIVATE_KEY", "test-wallet-key-5e1a");
    /// `lucid-gen ARGS` in `p` with the node variables and the wallet key set.
    fn run_with_vars(p: &Project, args: &[&str]) -> crate::common::Test {
        NODE_VARS
            .iter()
            .chain([&WALLET_KEY])
            .fold(p.run(), |t, (k, v)| t.env(k, v))
            .args(args)
    }
    /// `docker compose config --format json` of master file `file` in `p`,
    /// with exactly `vars` of the node variables set.
    fn compose_config(p: &Project, file: &str, vars: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "-f", file, "config"])
            .args(["--format", "json"])
            .current_dir(p.path("generated/configs/docker"));
        for (var, _) in NODE_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(vars.iter().copied());
        cmd.output_bounded().expect("run docker compose")
    }
    /// A container removed (with its anonymous volumes) when dropped.
    struct Container(String);
    /// Every `host:port` Prometheus must scrape in `variant` according to
    /// the model: each of the variant's services' ports named `metrics-…`.
    fn model_metrics_targets(p: &Project, variant: &str) -> BTreeSet<String> {
        let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
        let system = lucid_gen::validate::validate(loaded).unwrap().system;
        let systems = system.variant_systems();
        let system = (systems.iter())
            .find(|s| s.variant.is_some_and(|v| s.variants[v].name == variant))
            .expect(variant);
        let mut targets = BTreeSet::new();
        for s in &system.services {
            for port in &s.ports {
                if port
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("metrics-"))
                {
                    targets.insert(format!("{}:{}", s.name, port.container.0));
                }
            }
        }
        targets
    }
    /// `GET path` from `127.0.0.1:port`: the body, parsed as JSON.
    fn get_json(port: u16, path: &str) -> Result<serde_json::Value, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reply = String::new();
        stream
            .read_to_string(&mut reply)
            .map_err(|e| e.to_string())?;
        let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).map_err(|e| format!("{e}: {reply}"))
    }
    /// Prometheus's active targets as (instance, health), once every target
    /// has been scraped at least once (or the last answer after `limit`).
    fn scraped_targets(port: u16, limit: Duration) -> Vec<(String, String)> {
        let started = Instant::now();
        loop {
            let found: Vec<(String, String)> = match get_json(port, "/api/v1/targets?state=active")
            {
                Ok(v) => v["data"]["activeTargets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let instance = t["labels"]["instance"].as_str().unwrap_or("").to_string();
                        let health = t["health"].as_str().unwrap_or("").to_string();
                        (instance, health)
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
            let settled = !found.is_empty() && found.iter().all(|(_, h)| h == "up");
            if settled || started.elapsed() > limit {
                return found;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    /// The generated alert rules (seed 002's alerts), beside `prometheus.yml`.
    fn rules_of(config: &Path) -> std::path::PathBuf {
        // The rules are the same in every variant: written once, beside no
        // variant's `prometheus@<variant>` directory.
        let files = config.ancestors().find(|a| a.ends_with("files")).unwrap();
        files.join("prometheus/etc/prometheus/rules/noderr.yml")
    }
    /// Runs Debian's `promtool check config` on the generated file (which
    /// checks the rule files it names, mounted where it names them), then
    /// `promtool check rules` on the rules alone.
    fn promtool_check(image: &str, config: &Path) {
        let rules = rules_of(config);
        for check in ["config", "rules"] {
            let target = match check {
                "config" => "/etc/prometheus/prometheus.yml",
                _ => "/etc/prometheus/rules/noderr.yml",
            };
            let out = Command::new("docker")
                .args(["run", "--rm", "--network", "none"])
                .args(["--user", "65532:65532"])
                .args(prometheus_mounts(config, &rules))
                .args([image, "/usr/bin/promtool", "check", check, target])
                .stdin(Stdio::null())
                .output_bounded()
                .expect("run docker");
            assert!(
                out.status.success(),
                "promtool check {check} refuses the generated {target}:\n{}{}",
                stdout(&out),
                stderr(&out)
            );
            if check == "rules" {
                assert!(
                    stdout(&out).contains("SUCCESS: 4 rules found"),
                    "{}",
                    stdout(&out)
                );
            }
        }
    }

    /// The generated `prometheus.yml` and its rule file, mounted read-only
    /// where the configuration names them.
    fn prometheus_mounts(config: &Path, rules: &Path) -> [String; 4] {
        [
            "-v".into(),
            format!("{}:/etc/prometheus/prometheus.yml:ro", config.display()),
            "-v".into(),
            format!("{}:/etc/prometheus/rules/noderr.yml:ro", rules.display()),
        ]
    }

    /// Debian's Prometheus, hardened as the model's services are, on the
    /// example's networks with the generated `prometheus.yml`; its web port
    /// published on a free loopback port, returned with the container.
    fn start_prometheus(image: &str, config: &Path) -> (Container, u16) {
        let name = unique_name("i12-noderr-prometheus");
        let out = Command::new("docker")
            .args(["run", "-d", "--name", &name, "--network", "noderr-nodes"])
            .args(["--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"])
            .args(["--security-opt", "no-new-privileges:true"])
            .args(["--user", "65532:65532", "-p", "127.0.0.1::9090"])
            .args(prometheus_mounts(config, &rules_of(config)))
            .args([image, "/usr/bin/prometheus"])
            .args(["--config.file=/etc/prometheus/prometheus.yml"])
            .args([
                "--storage.tsdb.path=/tmp/prometheus",
                "--web.listen-address=:9090",
            ])
            .stdin(Stdio::null())
            .output_bounded()
            .expect("run docker");
        assert!(
            out.status.success(),
            "docker run prometheus: {}",
            stderr(&out)
        );
        let container = Container(name.clone());
        docker(&["network", "connect", "noderr-monitoring", &name]);
        let published = docker(&["port", &name, "9090/tcp"]);
        let port = published
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no published port: {published:?}"));
        (container, port)
    }
    use crate::docker_tier::e2e::{docker, leaves_nothing_behind};

    /// Every model file ends with the editor line naming the committed schema
    /// by its relative path, and that schema accepts it.
    #[test]
    fn the_example_model_points_at_and_passes_the_committed_schema() {
        let runs = Command::new("check-jsonschema")
            .arg("--version")
            .output_bounded();
        need(runs.is_ok_and(|o| o.status.success()), "check-jsonschema");
        let model = example_dir().join("model");
        let files = crate::common::files_under(&model);
        assert_eq!(files.len(), 3, "{files:?}");
        for file in &files {
            let depth = file.strip_prefix(repo_root()).unwrap().components().count() - 1;
            let header = format!(
                "# yaml-language-server: $schema={}model.schema.json\n",
                "../".repeat(depth)
            );
            let text = std::fs::read_to_string(file).unwrap();
            assert!(text.ends_with(&header), "{} lacks {header}", file.display());
        }
        let out = Command::new("check-jsonschema")
            .arg("--schemafile")
            .arg(repo_root().join("model.schema.json"))
            .args(&files)
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }

    /// Every file passes verify (compose config, compose-lint, dclint,
    /// hadolint); Compose refuses the files while a node variable is unset,
    /// saying which and what it is; the config it accepts has tini, the tiers'
    /// user and no user for the published images.
    #[test]
    fn the_example_verifies_and_compose_refuses_it_without_the_node_variables() {
        need(compose_available(), "Docker Compose v2");
        let p = example();
        run_with_vars(&p, &["all"]).run();
        // Both variants' three compose files each, and the five Dockerfiles.
        run_with_vars(&p, &["verify"])
            .stdout_has("verify: 11 files, 0 failed")
            .run();
        for (file, tiers) in [
            ("docker-compose.master.yml", &TIER_IDS[..3]),
            ("docker-compose.master.all-in-one.yml", &TIER_IDS[3..]),
        ] {
            let partial = compose_config(&p, file, &NODE_VARS[..6]);
            let said = String::from_utf8_lossy(&partial.stderr);
            assert!(
                !partial.status.success(),
                "{file}: accepted without NODE_VERSION"
            );
            assert!(
                said.contains("set NODE_VERSION: the node software version this host runs"),
                "{file}: {said}"
            );
            let full = compose_config(&p, file, &NODE_VARS);
            assert!(full.status.success(), "{file}: {}", stderr(&full));
            let config: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
            let services = &config["services"];
            let nodes = (services.as_object().unwrap().keys())
                .filter(|k| !["prometheus", "grafana", "node-exporter"].contains(&k.as_str()))
                .count();
            assert_eq!(nodes, tiers.len(), "{file}: {services}");
            for (tier, id) in tiers {
                let s = &services[tier];
                assert_eq!(s["init"], true, "{tier}");
                assert_eq!(s["user"], "1001:1001", "{tier}");
                // Seed 002: each node its own NODE_ID, from the tier's variable.
                assert_eq!(s["environment"]["NODE_ID"], *id, "{tier}");
                for (var, value) in &NODE_VARS[4..] {
                    assert_eq!(s["environment"][*var], *value, "{tier} {var}");
                }
            }
            for published in ["prometheus", "grafana", "node-exporter"] {
                let s = &services[published];
                assert!(s.get("user").is_none(), "{published}: {s}");
                assert!(s.get("init").is_none(), "{published}");
            }
        }
    }

    /// `down --variant VARIANT` of the test's project when dropped.
    struct DownVariant<'a> {
        p: &'a Project,
        variant: &'static str,
        prefix: String,
    }

    impl Drop for DownVariant<'_> {
        fn drop(&mut self) {
            let args = ["down", "--volumes", "--variant", self.variant];
            let down = run_with_vars(self.p, &args).args(&["--project", &self.prefix]);
            let _ = down.status_any().run();
        }
    }

    /// Each variant as stand-ins (seed 002's tiers, then the all-in-one tier
    /// alone): `up`, `lucid-gen test` green with every service of the
    /// variant running healthy, then a real Prometheus with that variant's
    /// config reports exactly the variant's metrics ports as targets, all
    /// `up`; `down` leaves nothing behind.
    #[test]
    fn each_variant_runs_as_stand_ins_and_real_prometheus_scrapes_its_metrics_ports() {
        let _stack = crate::common::docker_stack();
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let image = crate::docker_tier::realserver::debian_image();
        let p = example();
        run_with_vars(&p, &["all"]).run();
        for (variant, tiers, expected) in [
            ("tiers", &["oracle", "guardian", "validator"][..], 4),
            ("all-in-one", &["all-in-one"][..], 4),
        ] {
            let prefix = unique_name("i12-noderr");
            let config = p.path(&format!(
                "generated/configs/files/prometheus@{variant}/etc/prometheus/prometheus.yml"
            ));
            promtool_check(image, &config);
            let down = DownVariant {
                p: &p,
                variant,
                prefix: prefix.clone(),
            };
            let chosen = ["--variant", variant, "--project", &prefix];
            run_with_vars(&p, &["up", "--stand-ins"])
                .args(&chosen)
                .run();
            let out = run_with_vars(&p, &["test"])
                .args(&chosen)
                .status_any()
                .run();
            let table = stdout(&out);
            assert!(
                out.status.success() && table.contains(" 0 failed"),
                "`lucid-gen test --variant {variant}` failed:\n{table}{}",
                stderr(&out)
            );
            for s in tiers
                .iter()
                .chain(&["prometheus", "grafana", "node-exporter"])
            {
                let healthy = table.lines().any(|l| {
                    l.starts_with("running") && l.contains(&format!(" {s} ")) && l.ends_with(" ok")
                });
                assert!(healthy, "{variant}: {s} is not running healthy:\n{table}");
            }
            let (prometheus, port) = start_prometheus(image, &config);
            let scraping = Instant::now();
            let found = scraped_targets(port, Duration::from_secs(90));
            eprintln!(
                "noderr {variant}: real Prometheus saw {found:?} after {:.1}s",
                scraping.elapsed().as_secs_f64()
            );
            let instances: BTreeSet<String> = found.iter().map(|(i, _)| i.clone()).collect();
            let want = model_metrics_targets(&p, variant);
            assert_eq!(want.len(), expected, "{variant}: {want:?}");
            assert_eq!(instances, want, "{variant}: targets: {found:?}");
            assert_eq!(
                found.len(),
                want.len(),
                "{variant}: a target twice: {found:?}"
            );
            let down_targets: Vec<_> = found.iter().filter(|(_, h)| h != "up").collect();
            assert!(
                down_targets.is_empty(),
                "{variant}: not up: {down_targets:?}"
            );
            drop(prometheus);
            drop(down);
            leaves_nothing_behind(&p, &prefix);
        }
    }
}
