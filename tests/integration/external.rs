//! External services and operator-supplied secrets (`tests/fixtures/external`):
//! an operator's value is read on every `all`, refused when missing, never
//! generated, stored, printed or written outside the secrets directory;
//! `secrets rotate` refuses it; a dependency on an external service is a
//! comment, never a Compose `depends_on`.

use crate::common::{files_under, stderr, stdout, Project};

const DB_PASSWORD: &str = "operator-Db-pass-7f3a91c2";
const MAIL_KEY: &str = "operator-mail-key-52be10d4";

/// The fixture with its mail key file inside the project.
fn project() -> Project {
    let p = Project::fixture("external");
    let model = p.read("model/model.yaml");
    let key = p.path("keys/mail-api-key");
    let model = model.replace("/run/keys/mail-api-key", key.to_str().unwrap());
    p.write("model/model.yaml", &model);
    p.write("keys/mail-api-key", &format!("{MAIL_KEY}\n"));
    p
}

#[test]
fn a_missing_operator_secret_is_refused_naming_its_variable_and_nothing_is_written() {
    let p = project();
    let out = p
        .run()
        .args(&["all"])
        .status(2)
        .stderr_has("secret `LEDGER_DB_PASSWORD` is supplied by the operator")
        .stderr_has("environment variable `LEDGER_DB_PASSWORD` is not set")
        .run();
    // (The run lock may create the output directory, never a file in it.)
    let written = files_under(&p.path("generated"));
    assert!(
        written
            .iter()
            .all(|f| f.to_string_lossy().contains(".lock")),
        "{written:?} {}",
        stdout(&out)
    );
    assert!(!p.path(".lucid-gen/secrets.env").exists());

    std::fs::remove_file(p.path("keys/mail-api-key")).unwrap();
    p.run()
        .args(&["all"])
        .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
        .status(2)
        .stderr_has("secret `MAIL_API_KEY` is supplied by the operator, but its file `")
        .stderr_has("mail-api-key` cannot be read")
        .run();
    assert_eq!(files_under(&p.path("generated")), written);

    p.write("keys/mail-api-key", "\n");
    p.run()
        .args(&["all"])
        .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
        .status(2)
        .stderr_has("is empty")
        .run();
}

#[test]
fn operator_secrets_reach_only_the_secrets_dir_never_the_store_or_the_terminal() {
    let p = project();
    let all = || {
        p.run()
            .args(&["all"])
            .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
    };
    // A value generated before the model named the operator as the source
    // is dropped from the store.
    p.write(
        ".lucid-gen/secrets.env",
        "LEDGER_DB_PASSWORD=c3RhbGUtZ2VuZXJhdGVkLXZhbHVlLTEyMzQ1Njc4OTA=\n",
    );
    let mut outputs = vec![all().run()];
    let generated = p.path("generated");
    let mut holders = Vec::new();
    for file in files_under(&generated) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains(DB_PASSWORD) || text.contains(MAIL_KEY) {
            holders.push(file.strip_prefix(&generated).unwrap().to_path_buf());
        }
    }
    holders.sort();
    assert_eq!(
        holders,
        [
            "secrets/config/ledger-api/etc/ledger/mail.ini",
            "secrets/env/ledger-api.env",
            "secrets/files/LEDGER_DB_PASSWORD"
        ]
        .map(std::path::PathBuf::from),
        "only the mounted secret file and the secret-bearing config file hold the values"
    );
    // The file's trailing line break is not part of the value.
    let ini = p.read("generated/secrets/config/ledger-api/etc/ledger/mail.ini");
    assert_eq!(ini, format!("[relay]\nkey = {MAIL_KEY}\n"));
    let env = p.read("generated/secrets/env/ledger-api.env");
    assert!(
        env.contains(&format!("MAIL_API_KEY=\"{MAIL_KEY}\"\n")),
        "{env}"
    );
    let store = p.read(".lucid-gen/secrets.env");
    assert!(store.contains("SESSION_KEY="), "{store}");
    assert!(!store.contains("LEDGER_DB_PASSWORD") && !store.contains("MAIL_API_KEY"));
    assert!(!store.contains(DB_PASSWORD) && !store.contains(MAIL_KEY));

    // Read again on every run: a changed value is what the next run writes.
    let changed = "operator-Db-pass-rotated-0001";
    outputs.push(
        p.run()
            .args(&["all"])
            .env("LEDGER_DB_PASSWORD", changed)
            .run(),
    );
    let file = p.read("generated/secrets/files/LEDGER_DB_PASSWORD");
    assert_eq!(file, changed);
    outputs.push(all().run());
    outputs.push(all().args(&["--check"]).run());
    outputs.push(
        p.run()
            .args(&["secrets", "rotate", "LEDGER_DB_PASSWORD"])
            .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
            .status(2)
            .stderr_has("secret `LEDGER_DB_PASSWORD` is supplied by the operator, so lucid-gen cannot rotate it")
            .run(),
    );
    assert_eq!(
        p.read("generated/secrets/files/LEDGER_DB_PASSWORD"),
        DB_PASSWORD
    );
    for out in &outputs {
        let shown = stdout(out) + &stderr(out);
        for value in [DB_PASSWORD, MAIL_KEY, changed] {
            assert!(!shown.contains(value), "printed a secret: {shown}");
        }
    }
}

#[test]
fn all_check_without_a_store_needs_no_operator_value() {
    // A fresh clone in CI: no store, no operator values; the committed
    // files are still checked, the secret-bearing ones are not.
    let p = project();
    p.run()
        .args(&["all"])
        .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
        .run();
    std::fs::remove_file(p.path(".lucid-gen/secrets.env")).unwrap();
    std::fs::remove_dir_all(p.path("generated/secrets")).unwrap();
    std::fs::remove_file(p.path("keys/mail-api-key")).unwrap();
    p.run().args(&["all", "--check"]).run();
    let compose = "generated/configs/docker/docker-compose.main.yml";
    p.write(compose, &(p.read(compose) + "# edited\n"));
    p.run()
        .args(&["all", "--check"])
        .status(1)
        .stdout_has("docker-compose.main.yml")
        .run();
}

#[test]
fn an_external_dependency_is_a_comment_not_a_compose_depends_on() {
    let p = project();
    p.run()
        .args(&["all"])
        .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
        .run();
    let compose = p.read("generated/configs/docker/docker-compose.main.yml");
    assert!(
        compose.contains(
            "# needs external service ledger-db at $LEDGER_DB_HOST:$LEDGER_DB_PORT, not a container: Compose cannot start or wait for it"
        ),
        "{compose}"
    );
    assert!(compose.contains("# needs external service mail-relay at $MAIL_RELAY_HOST:587"));
    assert!(!compose.contains("depends_on"), "{compose}");
    assert!(
        !compose.contains("ledger-db:"),
        "no container for it: {compose}"
    );
}

/// `check` on the fixture with `from` replaced by `to` fails with `rule`
/// and `message`.
fn refused(from: &str, to: &str, rule: &str, message: &str) {
    let p = project();
    let model = p.read("model/model.yaml");
    assert!(model.contains(from), "{from}");
    p.write("model/model.yaml", &model.replacen(from, to, 1));
    p.run()
        .args(&["check"])
        .status(1)
        .stderr_has(&format!("error[{rule}]"))
        .stderr_has(message)
        .run();
}

#[test]
fn bad_external_services_and_operator_secrets_are_refused_where_written() {
    refused(
        "    from_env: LEDGER_DB_PASSWORD\n",
        "    from_env: LEDGER_DB_PASSWORD\n    bytes: 32\n",
        "secret-size",
        "secret `LEDGER_DB_PASSWORD` needs exactly one of `bytes`, `from_env`, `from_file` and `template`; it has `bytes` and `from_env`",
    );
    refused(
        "    from_env: LEDGER_DB_PASSWORD\n",
        "\n",
        "secret-size",
        "it has none",
    );
    refused(
        "    from_env: LEDGER_DB_PASSWORD\n",
        "    from_env: 1BAD-NAME\n",
        "env-name",
        "1BAD-NAME",
    );
    refused(
        "depends_on: [ledger-db, mail-relay]",
        "depends_on: [ledger-dbb, mail-relay]",
        "unknown-dependency",
        "ledger-dbb",
    );
    refused(
        "    port: 587\n",
        "    port: 587\n    port_env: MAIL_PORT\n",
        "missing-key",
        "external service `mail-relay` needs exactly one of `port` and `port_env`",
    );
    refused("    port: 587\n", "    port: 0\n", "port-range", "port 0");
    refused(
        "    host_env: MAIL_RELAY_HOST\n",
        "    host_env: MAIL-RELAY-HOST\n",
        "env-name",
        "`MAIL-RELAY-HOST` cannot be filled by Compose",
    );
    refused(
        "    depends_on: [ledger-db, mail-relay]\n",
        "    depends_on: [ledger-db, mail-relay]\n    environment:\n      LEDGER_DB_HOST: db.internal\n",
        "env-conflict",
        "`ledger-api` sets `LEDGER_DB_HOST` in its environment, which Compose fills with where external service `ledger-db` is",
    );
    refused(
        "  mail-relay:\n",
        "  ledger-api:\n",
        "duplicate-definition",
        "external_services entry `ledger-api` is defined twice",
    );
}

/// An operator's value enters a config file only as that file's syntax
/// reads it back: a line break (a new directive in an ini file, a new key
/// in a YAML file) is refused naming the secret and the file, never
/// showing the value; bare in YAML, text that would read as a mapping or
/// a comment is refused too, while inside a double-quoted scalar a quote
/// or backslash is escaped and reads back exactly.
#[test]
fn operator_values_cannot_break_a_config_files_syntax() {
    let p = project();
    let model = p.read("model/model.yaml").replacen(
        "    config_files:\n",
        "    config_files:\n      - target: /etc/ledger/db.yml\n        content: |\n          user: ledger\n          password: {{ secret LEDGER_DB_PASSWORD }}\n",
        1,
    );
    p.write("model/model.yaml", &model);
    let refused = |db: &str, mail: &str, file: &str, why: &str| {
        p.write("keys/mail-api-key", mail);
        let out = p
            .run()
            .args(&["all"])
            .env("LEDGER_DB_PASSWORD", db)
            .status(2)
            .stderr_has(&format!(
                "cannot go into config file `{file}` of service `ledger-api`"
            ))
            .stderr_has(why)
            .run();
        let shown = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!shown.contains("INJECTED"), "a value was shown: {shown}");
        assert!(!p.path("generated").join("secrets/config").exists());
    };
    let line_break = "holds a line break";
    refused(
        DB_PASSWORD,
        "k-1\nINJECTED = yes\n",
        "/etc/ledger/mail.ini",
        line_break,
    );
    refused(
        "pw\nINJECTED: true",
        MAIL_KEY,
        "/etc/ledger/db.yml",
        line_break,
    );
    refused(
        "pw: INJECTED",
        MAIL_KEY,
        "/etc/ledger/db.yml",
        "would not read back",
    );
    refused(
        "pw #INJECTED",
        MAIL_KEY,
        "/etc/ledger/db.yml",
        "would not read back",
    );
    refused(
        "pw\u{2028}INJECTED",
        MAIL_KEY,
        "/etc/ledger/db.yml",
        line_break,
    );

    // Quoted in the file: escaped, and read back exactly.
    let quoted = model.replace(
        "password: {{ secret LEDGER_DB_PASSWORD }}",
        "password: \"{{ secret LEDGER_DB_PASSWORD }}\"",
    );
    p.write("model/model.yaml", &quoted);
    p.write("keys/mail-api-key", &format!("{MAIL_KEY}\n"));
    let tricky = r#"p"w\x: #y"#;
    p.run()
        .args(&["all"])
        .env("LEDGER_DB_PASSWORD", tricky)
        .run();
    let yaml = p.read("generated/secrets/config/ledger-api/etc/ledger/db.yml");
    let read: std::collections::BTreeMap<String, String> = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(read["password"], tricky);
    assert_eq!(read.len(), 2, "{read:?}");
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::need;
    use crate::common::Down;
    use crate::common::OutputBounded;

    /// `docker compose config` on the phase file, with `env` added.
    fn compose_config(p: &Project, env: &[(&str, &str)]) -> std::process::Output {
        let dir = p.path("generated/configs/docker");
        let mut cmd = std::process::Command::new("docker");
        cmd.args([
            "compose",
            "-f",
            "docker-compose.main.yml",
            "config",
            "--format",
            "json",
        ])
        .current_dir(&dir);
        for var in ["LEDGER_DB_HOST", "LEDGER_DB_PORT", "MAIL_RELAY_HOST"] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        cmd.output_bounded().unwrap()
    }

    #[test]
    fn compose_fills_where_external_services_are_from_its_environment_and_refuses_without() {
        need(compose_available(), "Docker Compose v2");
        let p = project();
        p.run()
            .args(&["all"])
            .env("LEDGER_DB_PASSWORD", DB_PASSWORD)
            .run();
        // One variable missing at a time: Compose names only the first it
        // meets, in no fixed order.
        let partial = compose_config(
            &p,
            &[
                ("LEDGER_DB_HOST", "db.example.net"),
                ("MAIL_RELAY_HOST", "relay.example.net"),
            ],
        );
        let said = String::from_utf8_lossy(&partial.stderr);
        assert!(!partial.status.success(), "{said}");
        assert!(
            said.contains("set LEDGER_DB_PORT to where external service ledger-db is"),
            "{said}"
        );
        let full = compose_config(
            &p,
            &[
                ("LEDGER_DB_HOST", "db.example.net"),
                ("LEDGER_DB_PORT", "6432"),
                ("MAIL_RELAY_HOST", "relay.example.net"),
            ],
        );
        assert!(
            full.status.success(),
            "{}",
            String::from_utf8_lossy(&full.stderr)
        );
        let config: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
        let env = &config["services"]["ledger-api"]["environment"];
        assert_eq!(env["LEDGER_DB_HOST"], "db.example.net");
        assert_eq!(env["LEDGER_DB_PORT"], "6432");
        assert_eq!(env["MAIL_RELAY_HOST"], "relay.example.net");
        assert!(config["services"]["ledger-api"].get("depends_on").is_none());
    }

    #[test]
    fn test_reaches_an_external_service_where_the_environment_says_and_flags_one_it_cannot() {
        let _stack = crate::common::docker_stack();
        need(
            crate::common::docker_available(),
            "a running Docker engine with Compose v2",
        );
        let p = project();
        let prefix = crate::common::unique_name("i12-external");
        // The "managed database": a listener on the network's gateway, i.e.
        // this host as the containers see it. The mail relay's fixed port 587
        // has no listener there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let env: Vec<(&'static str, String)> = vec![
            ("LEDGER_DB_PASSWORD", DB_PASSWORD.into()),
            ("LEDGER_DB_HOST", "10.95.0.1".into()),
            ("LEDGER_DB_PORT", port.to_string()),
            ("MAIL_RELAY_HOST", "10.95.0.1".into()),
        ];
        let run = |args: &[&str]| {
            let mut t = p.run().args(args);
            for (k, v) in &env {
                t = t.env(k, v);
            }
            t
        };
        run(&["all"]).run();
        let _down = Down {
            project: &p,
            prefix: prefix.clone(),
            env: env.clone(),
        };
        run(&["up", "--stand-ins", "--project", &prefix]).run();
        let _listener = std::net::TcpListener::bind(("10.95.0.1", port)).unwrap();
        let out = run(&["test", "--project", &prefix]).status(1).run();
        let table = stdout(&out);
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with("external") && l.contains(&format!(" {name} ")))
                .unwrap_or_else(|| panic!("no external row for {name}:\n{table}"))
                .to_string()
        };
        assert!(row("ledger-db").ends_with(" ok"), "{table}");
        assert!(!row("mail-relay").ends_with(" ok"), "{table}");
        assert!(table.contains(" 1 failed"), "{table}");
    }
}
