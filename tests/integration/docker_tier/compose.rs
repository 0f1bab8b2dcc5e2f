//! Every generated compose file goes through Docker's own `docker compose
//! config`: each phase file on its own and the master. Environment values
//! must come back byte-for-byte. Mandatory under CI=true.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::{compose_available, need, stderr, OutputBounded, Project};

fn compose(dir: &Path, file: &str, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .arg("compose")
        .arg("-f")
        .arg(file)
        .args(args)
        .current_dir(dir)
        .output_bounded()
        .expect("run docker compose")
}

fn compose_files(p: &Project) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(p.path("generated/configs/docker"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        // Swarm stack files (Lucid's swarm form) have their own test
        // (`stack.rs`, through `docker stack config`).
        .filter(|name| !name.starts_with("stack."))
        .collect();
    files.sort();
    files
}

/// Runs `config -q` on every compose file of the project.
fn all_files_pass_config(p: &Project) {
    let dir = p.path("generated/configs/docker");
    let files = compose_files(p);
    assert!(files.len() >= 2, "{files:?}");
    for file in &files {
        let out = compose(&dir, file, &["config", "-q"]);
        assert!(
            out.status.success(),
            "docker compose -f {file} config -q failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The master file as `docker compose config` resolves it.
fn resolved_master(p: &Project) -> serde_json::Value {
    let dir = p.path("generated/configs/docker");
    let out = compose(
        &dir,
        "docker-compose.master.yml",
        &["config", "--format", "json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn lucid_compose_files_pass_docker_compose_config() {
    need(compose_available(), "docker compose");
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    all_files_pass_config(&p);
    // No two services publish the same host port, as Docker reads them.
    let master = resolved_master(&p);
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, service) in master["services"].as_object().unwrap() {
        for port in service["ports"].as_array().into_iter().flatten() {
            let Some(published) = port["published"].as_str() else {
                continue;
            };
            let key = format!(
                "{}:{}/{}",
                port["host_ip"].as_str().unwrap_or("0.0.0.0"),
                published,
                port["protocol"].as_str().unwrap_or("tcp")
            );
            if let Some(other) = seen.insert(key.clone(), name.clone()) {
                panic!("{key} is published by both {other} and {name}");
            }
        }
    }
    assert!(!seen.is_empty());
}

/// Seed 000's multi-profile file (`output.profiles_compose`): as Docker
/// reads it, `--profile <phase>` selects exactly the services of that
/// phase's file and every earlier phase's file, each resolved as the
/// master resolves it (only `profiles` added: its phase and the later
/// ones); no profile selects none.
#[test]
fn lucids_profiles_file_starts_a_phase_and_the_ones_before_it() {
    need(compose_available(), "docker compose");
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let dir = p.path("generated/configs/docker");
    let services = |file: &str, profile: Option<&str>| {
        let mut args = Vec::new();
        if let Some(profile) = profile {
            args.extend(["--profile", profile]);
        }
        args.extend(["config", "--format", "json"]);
        let out = compose(&dir, file, &args);
        assert!(out.status.success(), "{file} {profile:?}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["services"].as_object().cloned().unwrap_or_default()
    };
    let master = services("docker-compose.master.yml", None);
    assert!(
        services("docker-compose.yml", None).is_empty(),
        "no profile, no service"
    );
    let phases = ["foundation", "core", "application", "support"];
    // Service → the index of the phase whose file holds it.
    let mut phase_of = BTreeMap::new();
    for (i, phase) in phases.iter().enumerate() {
        for name in services(&format!("docker-compose.{phase}.yml"), None).keys() {
            phase_of.insert(name.clone(), i);
        }
    }
    assert_eq!(phase_of.len(), master.len());
    for (i, phase) in phases.iter().enumerate() {
        let staged = services("docker-compose.yml", Some(phase));
        let expected: Vec<&String> = (phase_of.iter())
            .filter(|(_, &p)| p <= i)
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            staged.keys().collect::<Vec<_>>(),
            expected,
            "--profile {phase}"
        );
        for (name, service) in staged {
            let mut service = service.clone();
            let profiles = service.as_object_mut().unwrap().remove("profiles");
            let own = phases[phase_of[&name]..].to_vec();
            assert_eq!(profiles, Some(serde_json::json!(own)), "{name}");
            assert_eq!(service, master[&name], "{name} differs from the master's");
        }
    }
}

/// Seed 000's observability stage: Debian's `promtool check config`
/// accepts the `prometheus.yml` rendered for lucid-prometheus, and it
/// scrapes Consul's agent metrics in Prometheus' format and itself.
#[test]
fn lucids_prometheus_config_passes_promtool() {
    need(compose_available(), "docker compose");
    let image = crate::docker_tier::realserver::debian_image();
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let config = p.path("generated/configs/files/lucid-prometheus/etc/prometheus/prometheus.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    for expected in [
        "lucid-consul:8500",
        "/v1/agent/metrics",
        "format: [prometheus]",
        "127.0.0.1:9090",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "65532:65532",
            "-v",
        ])
        .arg(format!(
            "{}:/etc/prometheus/prometheus.yml:ro",
            config.display()
        ))
        .args([
            image,
            "/usr/bin/promtool",
            "check",
            "config",
            "/etc/prometheus/prometheus.yml",
        ])
        .output_bounded()
        .expect("run docker");
    assert!(
        out.status.success(),
        "promtool refuses the generated prometheus.yml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

#[test]
fn env_values_survive_docker_compose_config() {
    need(compose_available(), "docker compose");
    let tricky = [
        ("PLAIN", "plain"),
        ("SPACES", "  two  spaces  "),
        ("HASH", "a #not a comment"),
        ("SINGLE", "it's"),
        ("DOUBLE", "say \"hi\""),
        ("BACKSLASH", "C:\\path\\n"),
        ("DOLLAR", "$HOME ${HOME} $$ $"),
        ("MIXED", "it's \\ \"$X\"\n# line two\ttab"),
        ("NEWLINE", "line one\nline two"),
        ("UNICODE", "héllo ✓ 日本"),
        ("EMPTY", ""),
        ("EQUALS", "a=b=c"),
        ("BACKTICK", "`whoami`"),
        ("TRAILING_BACKSLASH", "ends\\"),
        ("BACKSLASH_QUOTE", "a\\'b"),
        (
            "CONTROLS",
            "del\u{7f} nel\u{85} nbsp\u{a0} bom\u{feff} ls\u{2028}",
        ),
        ("TAB_CR", "a\tb\r\nc"),
    ];
    let p = Project::fixture("small");
    let mut vars = String::from("env_files:\n  tricky:\n    file: .env.tricky\n    vars:\n");
    let mut inline = String::new();
    for (k, v) in tricky {
        let quoted = lucid_gen::escape::yaml_str(v);
        vars.push_str(&format!("      T_{k}: {quoted}\n"));
        inline.push_str(&format!("      I_{k}: {quoted}\n"));
    }
    p.write("model/tricky.yaml", &format!(
        "{vars}services:\n  shop-echo:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/echo:1\n    env_files: [tricky]\n    environment:\n{inline}"
    ));
    p.run().args(&["all"]).run();
    all_files_pass_config(&p);
    let master = resolved_master(&p);
    let env = &master["services"]["shop-echo"]["environment"];
    for (k, v) in tricky {
        for prefix in ["T", "I"] {
            let key = format!("{prefix}_{k}");
            // `config` prints a loadable file, so it writes a literal `$`
            // as `$$`; the value the container gets has single ones.
            let resolved = env[&key].as_str().map(|s| s.replace("$$", "$"));
            assert_eq!(
                resolved.as_deref(),
                Some(v),
                "{key} changed on its way through compose ({env})"
            );
        }
    }
    // Secrets arrive too, exactly as the service's secrets env file holds
    // them, and only to the service that declares them.
    let base = p.read("generated/secrets/env/shop-api.env");
    let token = base
        .lines()
        .find_map(|l| l.strip_prefix("API_TOKEN="))
        .unwrap()
        .trim_matches('"');
    assert_eq!(
        master["services"]["shop-api"]["environment"]["API_TOKEN"].as_str(),
        Some(token)
    );
    for other in ["shop-echo", "shop-db", "shop-pay-gateway"] {
        let env = &master["services"][other]["environment"];
        assert!(env.get("API_TOKEN").is_none(), "{other} got API_TOKEN");
    }
}

/// Whether compose-lint (the compose security linter) runs here.
fn compose_lint_available() -> bool {
    Command::new("compose-lint")
        .arg("--version")
        .output_bounded()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn lucid_compose_files_pass_the_security_linter() {
    need(compose_lint_available(), "compose-lint");
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let dir = p.path("generated/configs/docker");
    assert!(dir.join(".compose-lint.yml").is_file());
    for file in compose_files(&p) {
        let out = Command::new("compose-lint")
            .args(["check", "--fail-on", "low", &file])
            .current_dir(&dir)
            .output_bounded()
            .unwrap();
        assert!(
            out.status.success(),
            "compose-lint finds what the model does not accept in {file}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Without the model's stated exceptions the same files do not pass:
    // the linter really ran, and every exception is needed.
    std::fs::remove_file(dir.join(".compose-lint.yml")).unwrap();
    let out = Command::new("compose-lint")
        .args(["check", "--fail-on", "low", "docker-compose.master.yml"])
        .current_dir(&dir)
        .output_bounded()
        .unwrap();
    assert!(!out.status.success());
}

/// Names YAML would read as booleans, nulls or numbers.
const MISREAD: &[&str] = &["true", "TRUE", "null", "NULL", "yes", "123", "0x1F", "1e3"];

/// Names YAML would misread get a clear error, one per name, and nothing
/// is written; where the model may still spell a key that way (labels), it
/// comes back from `docker compose config` exactly as written, in the
/// master file and in its phase's file.
#[test]
fn names_yaml_would_misread_are_refused_or_survive_docker_compose_config() {
    need(compose_available(), "docker compose");
    let refused = Project::fixture("small");
    let mut model = String::from("networks:\n");
    for (i, name) in MISREAD.iter().enumerate() {
        model.push_str(&format!(
            "  \"{name}\":\n    plane: app\n    subnet: 10.93.{i}.0/24\n"
        ));
    }
    refused.write("model/misread.yaml", &model);
    let out = refused.run().args(&["all"]).status(1).run();
    for name in MISREAD {
        let needle = format!("error[invalid-name]: network name `{name}`");
        assert!(
            stderr(&out).contains(&needle),
            "{needle}:\n{}",
            stderr(&out)
        );
    }
    assert!(!refused.path("generated").exists(), "something was written");

    let p = Project::fixture("small");
    let mut model = String::from("services:\n");
    for (i, name) in MISREAD.iter().enumerate() {
        model.push_str(&format!(
            "  misread-{i}:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    \
             image: example/echo:1\n    depends_on: [shop-api]\n    \
             health:\n      exec: [/bin/true]\n    resources:\n      memory: 64m\n      cpus: 0.1\n    \
             labels:\n      \"{name}\": \"v$y\"\n"
        ));
    }
    p.write("model/misread.yaml", &model);
    p.run().args(&["all"]).run();
    all_files_pass_config(&p);
    let master = resolved_master(&p);
    for (i, name) in MISREAD.iter().enumerate() {
        let service = &master["services"][format!("misread-{i}")];
        // `config` writes a literal `$` as `$$`.
        assert_eq!(service["labels"][*name].as_str(), Some("v$$y"), "{service}");
    }
}

/// Models `check` accepts give files `docker compose config` accepts:
/// config file names Compose's `configs:` keys cannot hold (`@`, `+`, a
/// space, non-ASCII, and a name like another file's numbered key) get
/// valid, distinct keys, while the variables and labels that would be set
/// twice in one mapping are refused at their line.
#[test]
fn what_check_accepts_compose_accepts() {
    need(compose_available(), "docker compose");
    let p = Project::fixture("small");
    let files: String = [
        "nginx@1.conf",
        "a+b.conf",
        "my app.conf",
        "café.conf",
        "x",
        "x",
        "x.2",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| format!("      - target: /etc/d{i}/{name}\n        content: \"{i}\"\n"))
    .collect();
    let services = p.read("model/services.yaml").replacen(
        "    health:\n      http: /health\n",
        &format!("    health:\n      http: /health\n    config_files:\n{files}"),
        1,
    );
    p.write("model/services.yaml", &services);
    p.run().args(&["all"]).run();
    all_files_pass_config(&p);
    let master = resolved_master(&p);
    let configs = master["services"]["shop-api"]["configs"]
        .as_array()
        .unwrap();
    let targets: Vec<&str> = configs
        .iter()
        .map(|c| c["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets.len(), 7, "{configs:?}");
    assert!(targets.contains(&"/etc/d3/café.conf"), "{targets:?}");

    // Set twice in one mapping: refused where written.
    let twice = |edits: &[(&str, &str, &str)], words: &[&str]| {
        let p = Project::fixture("small");
        for (file, from, to) in edits {
            let text = p.read(file).replacen(from, to, 1);
            assert_ne!(text, p.read(file), "{from}");
            p.write(file, &text);
        }
        let out = p.run().args(&["check"]).status(1).run();
        for w in words {
            assert!(stderr(&out).contains(w), "{w}: {}", stderr(&out));
        }
    };
    let services = "model/services.yaml";
    let db = "    secrets: [{ name: DB_PASSWORD, as: file-env }]\n";
    let file_env = ["error[env-conflict]", "`DB_PASSWORD_FILE`", "file-env"];
    twice(
        &[(
            services,
            db,
            &format!("{db}    environment:\n      DB_PASSWORD_FILE: /x\n"),
        )],
        &[&["model/services.yaml:8:7:"][..], &file_env].concat(),
    );
    twice(
        &[
            ("model/system.yaml", "planes:\n", "variants:\n  dev:\n    description: d\nplanes:\n"),
            (services, db, &format!("{db}    variants:\n      dev:\n        environment:\n          DB_PASSWORD_FILE: /x\n")),
        ],
        &file_env,
    );
    for key in ["host_env", "port_env"] {
        let external = format!(
            "external_services:\n  pg:\n    {key}: DB_PASSWORD_FILE\n    {}\nplanes:\n",
            match key {
                "host_env" => "port: 5432",
                _ => "host_env: PG_HOST",
            }
        );
        twice(
            &[
                ("model/system.yaml", "planes:\n", &external),
                (services, db, &format!("{db}    depends_on: [pg]\n")),
            ],
            &[&["external service `pg` sets"][..], &file_env].concat(),
        );
    }
    let api_env = "    environment:\n      LOG_LEVEL: info\n";
    twice(
        &[(
            services,
            api_env,
            &format!("{api_env}    labels:\n      lucid-gen.system: mine\n"),
        )],
        &["error[invalid-name]", "label `lucid-gen.system`"],
    );
    twice(
        &[
            (
                "model/system.yaml",
                "  name: shop\n",
                "  name: shop\n  labels:\n    team: a\n",
            ),
            (
                services,
                api_env,
                &format!("{api_env}    labels:\n      team: b\n"),
            ),
        ],
        &["error[invalid-name]", "label `team` is also a system label"],
    );
}
