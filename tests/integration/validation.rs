//! Validation rules a careless or hostile model must not slip past: output
//! paths that collide, names YAML would misread, spellings of root and of
//! dangerous capabilities, secrets replaced by plain variables, incomplete
//! port-clash detection, and values Compose would reject or mangle. Each
//! test runs the real binary on a copy of the `small` fixture with one
//! thing broken; the Docker-backed ones ask Docker itself.

use crate::common::{stderr, Project};

/// A copy of the small fixture with `case` as `model/case.yaml` and, when
/// given, `output` as the system's `output:` mapping (flow style).
fn project(output: Option<&str>, case: &str) -> Project {
    let p = Project::fixture("small");
    if let Some(output) = output {
        let system = p.read("model/system.yaml");
        let patched = system.replacen(
            "  name: shop\n",
            &format!("  name: shop\n  output: {output}\n"),
            1,
        );
        assert_ne!(system, patched);
        p.write("model/system.yaml", &patched);
    }
    if !case.is_empty() {
        p.write("model/case.yaml", case);
    }
    p
}

/// `lucid-gen check` on the project: its exit code and stderr.
fn check(p: &Project) -> (i32, String) {
    let out = p.run().args(&["check"]).status_any().run();
    (out.status.code().unwrap(), stderr(&out))
}

/// The model is refused (exit 1) with an `error[rule]` whose line holds
/// every one of `words`.
fn refused(p: &Project, rule: &str, words: &[&str]) -> String {
    let (code, err) = check(p);
    assert_eq!(code, 1, "expected the model to be refused:\n{err}");
    let tag = format!("error[{rule}]");
    let hit = err
        .lines()
        .any(|l| l.contains(&tag) && words.iter().all(|w| l.contains(w)));
    assert!(hit, "no {tag} line holding {words:?}:\n{err}");
    err
}

/// The model is valid (exit 0).
fn accepted(p: &Project) -> String {
    let (code, err) = check(p);
    assert_eq!(code, 0, "expected the model to be valid:\n{err}");
    err
}

/// How many error lines of `rule` stderr holds.
fn count(err: &str, rule: &str) -> usize {
    err.lines()
        .filter(|l| l.contains(&format!("error[{rule}]")))
        .count()
}

// ------------------------------------------------------ item 4: outputs

#[test]
fn an_env_file_on_a_compose_file_path_is_an_output_collision() {
    let p = project(
        Some("{ env_dir: configs/docker }"),
        "env_files:\n  clash:\n    file: docker-compose.edge.yml\n",
    );
    refused(
        &p,
        "output-collision",
        &[
            "configs/docker/docker-compose.edge.yml",
            "env file `clash`",
            "phase `edge`",
        ],
    );
    // Nothing was written, so the compose file did not silently win.
    p.run().args(&["all"]).status(1).run();
    assert!(!p.path("generated").exists());
}

#[test]
fn env_files_cannot_land_on_the_files_lucid_gen_writes_for_itself() {
    for (file, other) in [
        (".gitignore", ".gitignore"),
        (".lucid-gen-manifest", "manifest"),
        ("docker-bake.hcl", "bake file"),
    ] {
        let p = project(
            Some("{ env_dir: . }"),
            &format!("env_files:\n  clash:\n    file: \"{file}\"\n"),
        );
        refused(&p, "output-collision", &[file, "env file `clash`", other]);
    }
    // `write` deletes its temporary files, by name, before every run.
    let p = project(None, "env_files:\n  clash:\n    file: .lucid-gen-tmp-env\n");
    refused(
        &p,
        "output-collision",
        &[".lucid-gen-tmp-env", "temporary files"],
    );
    let p = project(None, "env_files:\n  clash:\n    file: .compose-lint.yml\n");
    let system = p.read("model/system.yaml");
    p.write(
        "model/system.yaml",
        &system.replacen(
            "  name: shop\n",
            "  name: shop\n  output: { env_dir: configs/docker }\n",
            1,
        ),
    );
    refused(
        &p,
        "output-collision",
        &[".compose-lint.yml", "compose-lint config"],
    );
}

#[test]
fn spellings_that_name_the_same_path_collide() {
    // `./x` is `x`; `Configs/Docker` is `configs/docker` on a file system
    // that ignores case (macOS, Windows).
    for env_dir in ["./configs/docker", "Configs/Docker", "configs/./docker"] {
        let p = project(
            Some(&format!("{{ env_dir: \"{env_dir}\" }}")),
            "env_files:\n  clash:\n    file: docker-compose.base.yml\n",
        );
        refused(
            &p,
            "output-collision",
            &["env file `clash`", "phase `base`"],
        );
    }
    // Two compose files differing only in case.
    let p = project(
        None,
        "phases:\n  late:\n    env_file: edge\n    compose_file: Docker-Compose.Edge.yml\n\
         services:\n  shop-late:\n    phase: late\n    plane: app\n    networks: [shop-app]\n    image: example/late:1\n",
    );
    refused(&p, "output-collision", &["phase `late`", "phase `edge`"]);
}

#[test]
fn an_output_inside_another_outputs_path_collides() {
    // An env file named like a Dockerfile's directory, or a Dockerfile
    // where an env file is.
    let p = project(
        Some("{ env_dir: . }"),
        "env_files:\n  clash:\n    file: dockerfiles\n",
    );
    refused(&p, "output-collision", &["env file `clash`", "Dockerfile"]);
    let p = project(
        Some("{ env_dir: dockerfiles/services/shop-api }"),
        "env_files:\n  clash:\n    file: Dockerfile\n",
    );
    refused(
        &p,
        "output-collision",
        &[
            "dockerfiles/services/shop-api/Dockerfile",
            "env file `clash`",
            "service `shop-api`",
        ],
    );
}

/// A layout where a plain file and a secret-bearing file can share a path
/// is refused at the line that moved a directory: one model version's
/// secret file would be the next one's plain file, and `all --check`
/// would diff the secret.
#[test]
fn no_output_directory_may_share_paths_with_the_secrets_directory() {
    for (output, key, how) in [
        ("{ config_dir: secrets/config }", "config_dir", "is inside"),
        ("{ config_dir: ., secrets_dir: s }", "config_dir", "holds"),
        ("{ env_dir: secrets/env }", "env_dir", "is inside"),
        ("{ compose_dir: secrets }", "compose_dir", "is"),
        ("{ secrets_dir: configs/files/x }", "config_dir", "holds"),
        ("{ secrets_dir: ./Configs/Files/ }", "config_dir", "is"),
        ("{ secrets_dir: . }", "env_dir", "is inside"),
    ] {
        let p = project(Some(output), "");
        let err = refused(&p, "output-collision", &[key, how, "output.secrets_dir"]);
        let line = err
            .lines()
            .find(|l| l.contains("output-collision"))
            .unwrap();
        assert!(line.starts_with("model/system.yaml:5:"), "{output}: {err}");
    }
    // Apart, or holding it where depth keeps files apart: fine.
    accepted(&project(Some("{ secrets_dir: private, env_dir: . }"), ""));
    accepted(&project(Some("{ compose_dir: ., dockerfile_dir: . }"), ""));
}

/// `output.profiles_compose` is a plain file name no other compose file
/// has: a directory in it, the master's name or a phase's is refused at
/// the key.
#[test]
fn the_profiles_file_needs_a_plain_name_of_its_own() {
    let p = project(Some("{ profiles_compose: compose/staged.yml }"), "");
    refused(
        &p,
        "invalid-path",
        &["output.profiles_compose", "compose/staged.yml"],
    );
    let p = project(Some("{ profiles_compose: docker-compose.master.yml }"), "");
    refused(&p, "duplicate-definition", &["docker-compose.master.yml"]);
    let p = project(Some("{ profiles_compose: docker-compose.base.yml }"), "");
    refused(&p, "duplicate-definition", &["docker-compose.base.yml"]);
    accepted(&project(
        Some("{ profiles_compose: docker-compose.yml }"),
        "",
    ));
}

#[test]
fn the_validator_names_exactly_the_files_render_writes() {
    use lucid_gen::secrets::{self, SecretSource};
    // The small fixture, the repository's model, and the fixture with its
    // outputs moved and a `./` spelling.
    let moved = project(
        Some("{ env_dir: ./env, compose_dir: compose, dockerfile_dir: build/docker, master_compose: all.yml, profiles_compose: staged.yml }"),
        "",
    );
    for p in [project(None, ""), Project::lucid(), moved] {
        let loaded = lucid_gen::model::load_dir(&p.path("model")).unwrap();
        let valid = lucid_gen::validate::validate(loaded).unwrap();
        let resolved = secrets::resolve(&valid.system, &SecretSource::Seeded(1), &[]).unwrap();
        let rendered = lucid_gen::render::render(&valid.system, &resolved.values).unwrap();
        let rendered = lucid_gen::write::with_manifest(rendered);
        let mut planned: Vec<_> = lucid_gen::render::output_paths(&valid.system)
            .into_iter()
            .map(|o| o.path)
            .collect();
        planned.sort();
        let written: Vec<_> = rendered.keys().cloned().collect();
        assert_eq!(planned, written);
    }
}

// ---------------------------------------------------- item 6: names

#[test]
fn names_yaml_would_misread_are_refused() {
    for name in [
        "true",
        "TRUE",
        "null",
        "NULL",
        "123",
        "0x1F",
        "yes",
        "off",
        "1e3",
        "0o17",
        "2024-01-02",
        "1_000",
    ] {
        let p = project(
            None,
            &format!(
                "services:\n  \"{name}\":\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n"
            ),
        );
        refused(
            &p,
            "invalid-name",
            &[&format!("service name `{name}`"), "YAML"],
        );
        let p = project(
            None,
            &format!("networks:\n  \"{name}\":\n    plane: app\n    subnet: 10.99.0.0/24\n"),
        );
        refused(
            &p,
            "invalid-name",
            &[&format!("network name `{name}`"), "YAML"],
        );
    }
    for name in ["TRUE", "NULL", "yes", "Off", "true", "ON", "No"] {
        let p = project(
            None,
            &format!(
                "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    environment:\n      \"{name}\": \"1\"\n    volumes:\n      - name: \"{name}\"\n        target: /data\n"
            ),
        );
        let err = refused(&p, "env-name", &[&format!("`{name}`"), "YAML"]);
        assert!(
            err.lines().any(|l| l.contains("error[invalid-name]")
                && l.contains(&format!("volume name `{name}`"))),
            "{err}"
        );
    }
}

#[test]
fn a_default_image_name_is_a_valid_reference() {
    let p = project(
        None,
        "services:\n  Shop-Web:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n",
    );
    accepted(&p);
    p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
    let compose = p.read("generated/configs/docker/docker-compose.edge.yml");
    assert!(compose.contains("example/shop-web:1.0"), "{compose}");
    assert!(!compose.contains("example/Shop-Web"), "{compose}");
}

// -------------------------------------------------- item 7: security

fn service_with(security: &str, user: Option<&str>) -> String {
    let mut s = String::from(
        "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n",
    );
    if let Some(user) = user {
        s.push_str(&format!("    user: \"{user}\"\n"));
    }
    if !security.is_empty() {
        s.push_str(&format!("    security: {security}\n"));
    }
    s
}

#[test]
fn sys_admin_cannot_be_added_back_under_another_spelling() {
    for cap in [
        "CAP_SYS_ADMIN",
        "sys_admin",
        "cap_sys_admin",
        "Sys_Admin",
        "all",
        "CAP_ALL",
    ] {
        let p = project(
            None,
            &service_with(
                &format!("{{ cap_add: {{ \"{cap}\": \"the service mounts file systems\" }} }}"),
                None,
            ),
        );
        refused(&p, "security-exception", &["may not add back"]);
    }
    for cap in ["CAP_CAP_SYS_ADMIN", "SYS_ADMINX", "NET_BIND"] {
        let p = project(
            None,
            &service_with(
                &format!("{{ cap_add: {{ \"{cap}\": \"the service binds port 80\" }} }}"),
                None,
            ),
        );
        refused(
            &p,
            "security-exception",
            &[&format!("`{cap}` is not a Linux capability")],
        );
    }
    let p = project(
        None,
        &service_with(
            "{ cap_add: { cap_net_bind_service: \"the service binds port 80\" } }",
            None,
        ),
    );
    accepted(&p);
    p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
    let compose = p.read("generated/configs/docker/docker-compose.edge.yml");
    assert!(compose.contains("- NET_BIND_SERVICE"), "{compose}");
}

#[test]
fn every_spelling_of_uid_0_is_root() {
    for user in [
        "00",
        "0:0",
        "root:root",
        "0:1000",
        "000",
        "-0",
        "ROOT",
        "Root:1000",
    ] {
        let p = project(None, &service_with("", Some(user)));
        refused(&p, "security-exception", &["runs as root"]);
        let p = project(
            None,
            &service_with(
                "{ run_as_root: \"the image's entrypoint drops privileges itself\" }",
                Some(user),
            ),
        );
        accepted(&p);
    }
    for user in ["1000", "10", "0100:0", "rootless"] {
        let p = project(None, &service_with("", Some(user)));
        accepted(&p);
    }
}

#[test]
fn a_plain_variable_cannot_replace_a_secret() {
    // The service's own `environment` wins over its env files in Compose.
    let p = project(
        None,
        "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    secrets: [API_TOKEN]\n    environment:\n      API_TOKEN: not-so-secret\n",
    );
    refused(&p, "env-conflict", &["API_TOKEN", "shop-x"]);
    // A shared env file's plain variable of the same name: the secret
    // (read last, from the service's own file) would silently win.
    let p = project(
        None,
        "env_files:\n  later:\n    file: .env.later\n    vars:\n      API_TOKEN: not-so-secret\n\
         services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    env_files: [edge, later]\n    secrets: [API_TOKEN]\n",
    );
    refused(&p, "env-conflict", &["API_TOKEN", "later", "shop-x"]);
    // As a file, the secret has no variable to clash with.
    let p = project(
        None,
        "env_files:\n  later:\n    file: .env.later\n    vars:\n      API_TOKEN: not-so-secret\n\
         services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    env_files: [edge, later]\n    secrets: [{ name: API_TOKEN, as: file }]\n",
    );
    accepted(&p);
}

// ------------------------------------------------------ item 8: ports

fn publisher(name: &str, host_ip: Option<&str>) -> String {
    let ip = host_ip.map_or(String::new(), |ip| format!("        host_ip: \"{ip}\"\n"));
    format!(
        "  {name}:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    ports:\n      - container: 80\n        host: 19090\n{ip}"
    )
}

#[test]
fn a_wildcard_address_clashes_with_every_specific_one() {
    for (a, b) in [
        (Some("0.0.0.0"), Some("127.0.0.1")),
        (Some("::"), Some("127.0.0.1")),
        (Some("::"), Some("::1")),
        (Some("0.0.0.0"), None),
        (Some("127.0.0.1"), Some("::ffff:127.0.0.1")),
    ] {
        let p = project(
            None,
            &format!(
                "services:\n{}{}",
                publisher("shop-a", a),
                publisher("shop-b", b)
            ),
        );
        refused(&p, "port-clash", &["19090/tcp", "shop-a", "shop-b"]);
    }
    let p = project(
        None,
        &format!(
            "services:\n{}{}",
            publisher("shop-a", Some("127.0.0.1")),
            publisher("shop-b", Some("127.0.0.2"))
        ),
    );
    accepted(&p);
}

#[test]
fn every_pair_of_a_three_way_clash_is_reported_in_any_order() {
    let svcs = [
        publisher("shop-a", Some("127.0.0.1")),
        publisher("shop-b", Some("127.0.0.2")),
        publisher("shop-c", None),
    ];
    let mut pairs_seen = Vec::new();
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let case: String = order.iter().map(|i| svcs[*i].as_str()).collect();
        let p = project(None, &format!("services:\n{case}"));
        let err = refused(&p, "port-clash", &["19090/tcp"]);
        assert_eq!(count(&err, "port-clash"), 2, "{err}");
        let mut pairs: Vec<(bool, bool, bool)> = err
            .lines()
            .filter(|l| l.contains("error[port-clash]"))
            .map(|l| {
                (
                    l.contains("shop-a"),
                    l.contains("shop-b"),
                    l.contains("shop-c"),
                )
            })
            .collect();
        pairs.sort();
        pairs_seen.push(pairs);
    }
    // a and b bind different addresses; c binds every address: a–c, b–c.
    assert!(
        pairs_seen.iter().all(|p| p == &pairs_seen[0]),
        "{pairs_seen:?}"
    );
    let svcs = [
        publisher("shop-a", Some("0.0.0.0")),
        publisher("shop-b", Some("::")),
        publisher("shop-c", None),
    ];
    let case: String = svcs.concat();
    let err = refused(
        &project(None, &format!("services:\n{case}")),
        "port-clash",
        &[],
    );
    assert_eq!(count(&err, "port-clash"), 3, "{err}");
}

#[test]
fn an_isolated_plane_publishes_a_host_port_only_with_a_reason() {
    let base = "services:\n  shop-pay-probe:\n    phase: edge\n    plane: pay\n    networks: [shop-pay]\n    image: example/probe:1\n    ports:\n      - container: 9100\n        host: 19100\n        host_ip: 127.0.0.1\n";
    let p = project(None, base);
    refused(
        &p,
        "plane-isolation",
        &["shop-pay-probe", "isolated", "19100"],
    );
    let p = project(
        None,
        &format!("{base}    security:\n      host_ports: \"operators read the probe from the host only\"\n"),
    );
    accepted(&p);
    // A reason on a service that does not need one is a mistake.
    let p = project(
        None,
        "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    security:\n      host_ports: \"operators read it from the host\"\n",
    );
    refused(&p, "security-exception", &["host_ports"]);
}

/// A service `shop-m` with `extra` (indented as a service key) added.
fn mounting(extra: &str) -> String {
    format!(
        "services:\n  shop-m:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/m:1\n    health:\n      exec: [/bin/m]\n{extra}"
    )
}

/// Mount paths compare as paths, not strings: `//`, `/./` and a trailing
/// `/` name the path without them, `/` itself is no mount point, and no
/// mount goes below a file mount. Config files, secret files, volumes and
/// tmpfs mounts (the default `/tmp` too) are all mounts.
#[test]
fn mount_paths_are_compared_as_paths() {
    let cfg = |t: &str| format!("      - target: \"{t}\"\n        content: x\n");
    let vol = |n: &str, t: &str| format!("      - name: {n}\n        target: \"{t}\"\n");
    for (extra, rule, words) in [
        (format!("    config_files:\n{}", cfg("/")), "invalid-path", "config file target `/` is the container's root"),
        (format!("    volumes:\n{}", vol("v", "/./")), "invalid-path", "volume target `/./` is the container's root"),
        (format!("    config_files:\n{}{}", cfg("/etc/app/x.conf"), cfg("/etc//app/./x.conf/")), "config-file", "mounts two things at `/etc//app/./x.conf/`, spelled `/etc/app/x.conf`"),
        (format!("    config_files:\n{}    volumes:\n{}", cfg("/data/x"), vol("v", "/data/x/")), "config-file", "mounts two things at `/data/x/`"),
        (format!("    volumes:\n{}", vol("v", "/tmp/")), "config-file", "mounts two things at `/tmp`, spelled `/tmp/`"),
        (format!("    secrets: [{{ name: DB_PASSWORD, as: file, target: /run/s/db }}]\n    config_files:\n{}", cfg("/run/s/db/inner.conf")), "config-file", "below the file it mounts at `/run/s/db`"),
        (format!("    volumes:\n{}    config_files:\n{}", vol("v", "/etc/app.conf/d"), cfg("/etc/app.conf")), "config-file", "below the file it mounts at `/etc/app.conf`"),
        (format!("    config_files:\n{}", cfg("/etc/a\tb")), "invalid-path", "config file target `/etc/a\\u{9}b` holds a control character"),
    ] {
        let p = project(None, &mounting(&extra));
        refused(&p, rule, &[words]);
    }
    // A variant's volume against the service's, as paths.
    let system = "variants:\n  dev:\n    description: d\n";
    let p = project(
        None,
        &format!(
            "{system}{}",
            mounting(&format!(
                "    volumes:\n{}    variants:\n      dev:\n        volumes:\n{}",
                vol("a", "/data"),
                vol("b", "/data/")
                    .replace("      -", "          -")
                    .replace("        target", "            target")
            ))
        ),
    );
    refused(&p, "variant", &["mounts a volume at `/data/`"]);
    // Distinct paths are fine.
    accepted(&project(
        None,
        &mounting(&format!(
            "    config_files:\n{}{}",
            cfg("/etc/a"),
            cfg("/etc/ab")
        )),
    ));
}

/// A directory (not only a file) named like write's temporary files would
/// be git-ignored whole by the output's `.gitignore`, and its files would
/// look like a killed run's leftovers: refused wherever it appears.
#[test]
fn no_output_directory_is_named_like_a_temporary_file() {
    let p = project(Some("{ compose_dir: .lucid-gen-tmp-compose }"), "");
    refused(
        &p,
        "output-collision",
        &["`.lucid-gen-tmp-compose`", "temporary files"],
    );
    let p = project(
        None,
        &mounting("    config_files:\n      - target: /etc/.lucid-gen-tmp-x/app.conf\n        content: x\n"),
    );
    refused(
        &p,
        "output-collision",
        &[
            "`.lucid-gen-tmp-x`",
            "config file `/etc/.lucid-gen-tmp-x/app.conf`",
        ],
    );
}

/// `{{ host }}` and `{{ port }}` name a service the file's service must be
/// able to reach, as `{{ targets }}` already required; an initialisation
/// step reaches its target through the target's network namespace.
#[test]
fn host_and_port_placeholders_name_only_reachable_services() {
    let file = |content: &str| {
        format!(
            "services:\n  shop-m:\n    phase: edge\n    plane: pay\n    networks: [shop-pay]\n    image: example/m:1\n    health:\n      exec: [/bin/m]\n    config_files:\n      - target: /etc/m.conf\n        content: \"{content}\"\n"
        )
    };
    for placeholder in ["{{ host shop-db }}", "{{ port shop-db 5432 }}"] {
        let p = project(None, &file(placeholder));
        refused(
            &p,
            "config-file",
            &["names `shop-db`", placeholder, "share no network"],
        );
    }
    accepted(&project(
        None,
        &file("{{ host shop-pay-gateway }}:{{ port shop-pay-gateway 9000 }}"),
    ));
}

/// A control character in a mount target is reported once, at the target,
/// as what it is (not as a "volume target", not at `system` with help
/// about `output.secrets_dir`), also when the file holds a secret.
#[test]
fn a_bad_mount_target_is_reported_at_itself_as_what_it_is() {
    for (what, extra) in [
        ("config file target", "    config_files:\n      - target: \"/etc/a\\tb\"\n        content: \"{{ secret DB_PASSWORD }}\"\n    secrets: [DB_PASSWORD]\n"),
        ("secret file target", "    secrets: [{ name: DB_PASSWORD, as: file, target: \"/run/a\\tb\" }]\n"),
    ] {
        let p = project(None, &mounting(extra));
        let err = refused(&p, "invalid-path", &[what, "control character"]);
        assert_eq!(count(&err, "invalid-path"), 1, "{err}");
        assert!(!err.contains("volume target") && !err.contains("secrets_dir"), "{err}");
        assert!(err.starts_with("model/case.yaml:"), "{err}");
    }
}

// ------------------------------------------------- item 9: values

fn with_health_interval(interval: &str) -> String {
    format!(
        "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    health:\n      exec: [/bin/x]\n      interval: {interval}\n"
    )
}

#[test]
fn durations_beyond_go_time_duration_are_refused() {
    // Go's time.Duration holds at most 2^63-1 ns: 2562047h47m16.854775807s.
    for bad in [
        "99999999999h",
        "2562048h",
        "9223372036854775808ns",
        "2562047h48m",
    ] {
        let p = project(None, &with_health_interval(bad));
        refused(&p, "invalid-duration", &[bad]);
    }
    // Docker refuses a health check under 1ms and reads 0 as its default.
    for bad in ["500us", "999999ns", "0s"] {
        let p = project(None, &with_health_interval(bad));
        refused(&p, "invalid-duration", &[bad]);
    }
    for good in ["2562047h", "9223372036854775807ns", "1h30m", "1ms"] {
        accepted(&project(None, &with_health_interval(good)));
    }
}

fn with_resources(resources: &str) -> String {
    format!(
        "services:\n  shop-x:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    resources: {resources}\n"
    )
}

#[test]
fn sizes_and_cpus_compose_would_mangle_are_refused() {
    for bad in [
        "{ memory: 99999999999999999999g }",
        "{ memory: 8589934592g }",
        "{ memory: 1m }",
        "{ memory: 256m, memory_reservation: 512m }",
        "{ cpus: 1e-300 }",
        "{ cpus: 0.001 }",
    ] {
        refused(
            &project(None, &with_resources(bad)),
            "invalid-resource",
            &[],
        );
    }
    for good in [
        "{ memory: 6m }",
        "{ memory: 8589934591g, cpus: 0.01 }",
        "{ memory: 1g, memory_reservation: 512m }",
    ] {
        accepted(&project(None, &with_resources(good)));
    }
}

#[test]
fn a_phase_without_services_is_refused() {
    let p = project(
        None,
        "phases:\n  idle:\n    env_file: edge\n    compose_file: docker-compose.idle.yml\n",
    );
    refused(&p, "empty-phase", &["idle"]);
}

// ------------------------------- values render's escapers would refuse

/// A built service as `model/case.yaml`: `extra` is line 6 (a service
/// key), `build_extra` line 12 (a build key), `from` the copy source on
/// line 14.
fn built(extra: &str, build_extra: &str, from: &str) -> String {
    format!(
        "services:\n  shop-extra:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    {extra}\n\
         \x20   build:\n      stack: native\n      context: extra\n      builder: example/upstream:1\n\
         \x20     runtime: gcr.io/distroless/base-debian12:nonroot\n      {build_extra}\n\
         \x20     copy:\n        - from: {from}\n          to: /usr/local/bin/extra\n\
         \x20     entrypoint: [/usr/local/bin/extra]\n"
    )
}

/// `check` refuses the model with `error[rule]` at `at` (`file:line:`)
/// holding `words`, and `all` writes nothing: the value never reaches
/// render, whose refusal would be an internal error (exit 2).
fn refused_before_render(p: &Project, rule: &str, at: &str, words: &[&str]) {
    let err = refused(p, rule, words);
    assert!(
        err.lines()
            .any(|l| l.starts_with(at) && l.contains(&format!("error[{rule}]"))),
        "no error[{rule}] at {at}:\n{err}"
    );
    let out = p.run().args(&["all"]).status(1).run();
    let err = stderr(&out);
    assert!(!err.contains("internal error"), "{err}");
    assert!(!p.path("generated").exists(), "something was written");
}

#[test]
fn labels_and_descriptions_a_dockerfile_cannot_carry_are_located_errors() {
    let ok = "/usr/local/bin/extra";
    let p = project(None, &built("description: \"two\\nlines\"", "# -", ok));
    refused_before_render(
        &p,
        "label-value",
        "model/case.yaml:6:",
        &["description of built service `shop-extra`", "LABEL"],
    );
    let p = project(
        None,
        &built("labels: { org.example.note: \"a\\u2028b\" }", "# -", ok),
    );
    refused_before_render(
        &p,
        "label-value",
        "model/case.yaml:6:",
        &["label `org.example.note` of built service `shop-extra`"],
    );
    // The system's labels land in every built service's Dockerfile.
    let p = project(None, "");
    let system = p.read("model/system.yaml");
    p.write(
        "model/system.yaml",
        &system.replacen(
            "  name: shop\n",
            "  name: shop\n  labels: { org.example.team: \"a\\rb\" }\n",
            1,
        ),
    );
    refused_before_render(
        &p,
        "label-value",
        "model/system.yaml:5:",
        &["system label `org.example.team`"],
    );
    // A service without a build has no Dockerfile: its description may
    // span lines (Compose carries it).
    let p = project(
        None,
        "services:\n  shop-extra:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n\
         \x20   image: example/extra:1\n    description: \"two\\nlines\"\n",
    );
    accepted(&p);
}

#[test]
fn build_paths_a_dockerfile_cannot_carry_are_located_errors() {
    for from in ["/usr/lib/*.so", "\"/usr/lib/lib[1].so\"", "'/usr/lib/a\\b'"] {
        let p = project(None, &built("# -", "# -", from));
        refused_before_render(
            &p,
            "invalid-path",
            "model/case.yaml:14:",
            &["cannot be written as a Dockerfile COPY", "pattern"],
        );
    }
    let p = project(None, &built("# -", "# -", "\"/usr/lib/a\\u2028b\""));
    refused_before_render(&p, "invalid-path", "model/case.yaml:14:", &["line break"]);
    let p = project(
        None,
        &built("# -", "workdir: \"/srv\\u2029app\"", "/usr/local/bin/extra"),
    );
    refused_before_render(
        &p,
        "invalid-path",
        "model/case.yaml:12:",
        &["workdir", "cannot be written in a Dockerfile"],
    );
    // A relative workdir with a line break is one error, not two.
    let p = project(
        None,
        &built("# -", "workdir: \"srv\\napp\"", "/usr/local/bin/extra"),
    );
    let err = refused(&p, "invalid-path", &["must be an absolute path"]);
    assert_eq!(count(&err, "invalid-path"), 1, "{err}");
}

#[test]
fn a_secrets_dir_gitignore_cannot_list_is_a_located_error() {
    // The small fixture's services receive secrets, so `.gitignore` lists
    // their files; a line break in their directory cannot be written there.
    let p = project(Some("{ secrets_dir: \"sec\\u2028rets\" }"), "");
    refused_before_render(
        &p,
        "invalid-path",
        "model/system.yaml:5:",
        &["shop-api.env", "holds secrets", ".gitignore"],
    );
    // Characters gitignore treats as patterns are escaped, not refused.
    let p = project(Some("{ secrets_dir: \"sec #1 [*]!\" }"), "");
    accepted(&p);
    p.run().args(&["all"]).run();
    let gitignore = p.read("generated/.gitignore");
    assert!(
        gitignore.contains("/sec \\#1 \\[\\*\\]\\!/env/shop-api.env\n"),
        "{gitignore}"
    );
}

#[test]
fn no_model_of_the_repository_fails_to_render() {
    use lucid_gen::secrets::{self, SecretSource};
    let fixtures = crate::common::repo_root().join("tests/fixtures");
    let mut models: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    models.push(crate::common::repo_root().join("model"));
    assert!(models.len() >= 3, "{models:?}");
    for model in models {
        let loaded = lucid_gen::model::load_dir(&model).unwrap();
        let valid = lucid_gen::validate::validate(loaded)
            .unwrap_or_else(|d| panic!("{}: {d:?}", model.display()));
        let resolved = secrets::resolve(&valid.system, &SecretSource::Seeded(1), &[]).unwrap();
        if let Err(e) = lucid_gen::render::render(&valid.system, &resolved.values) {
            panic!("{}: {e}", model.display());
        }
    }
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::need;
    use crate::common::stdout;
    use crate::common::OutputBounded;
    use std::path::Path;
    use std::process::Command;

    fn docker_compose(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("compose")
            .args(args)
            .current_dir(dir)
            .output_bounded()
            .expect("run docker compose")
    }

    #[test]
    fn names_close_to_yaml_keywords_survive_docker_compose_config() {
        // What is accepted must come back from Compose exactly as written.
        need(compose_available(), "docker compose");
        let names = ["true-web", "x123", "1a", "nullable", "0x1g", "yes.no"];
        // Env files are not YAML: keys YAML would misread are fine there, and
        // `y`/`N` are strings to every YAML reader Compose tooling uses.
        let mut case = String::from(
            "env_files:\n  words:\n    file: .env.words\n    vars:\n      \"TRUE\": a\n      \"NULL\": b\n      \"yes\": c\n      \"off\": d\nservices:\n",
        );
        for name in names {
            case.push_str(&format!(
                "  {name}:\n    phase: edge\n    plane: app\n    networks: [shop-app]\n    image: example/x:1\n    env_files: [edge, words]\n    environment:\n      YESNO_{}: \"1\"\n      y: \"2\"\n      N: \"3\"\n",
                name.replace(['-', '.'], "_")
            ));
        }
        let p = project(None, &case);
        p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        let out = docker_compose(
            &p.path("generated/configs/docker"),
            &[
                "-f",
                "docker-compose.edge.yml",
                "config",
                "--format",
                "json",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for name in names {
            let env = &config["services"][name]["environment"];
            for (key, value) in [
                ("TRUE", "a"),
                ("NULL", "b"),
                ("yes", "c"),
                ("off", "d"),
                ("y", "2"),
                ("N", "3"),
            ] {
                assert_eq!(env[key], value, "{name}: {key} lost:\n{}", stdout(&out));
            }
        }
    }

    #[test]
    fn run_as_root_reason_satisfies_the_compose_linter() {
        need(
            Command::new("compose-lint")
                .arg("--version")
                .output_bounded()
                .is_ok_and(|o| o.status.success()),
            "compose-lint",
        );
        let p = project(
            None,
            &service_with(
                "{ run_as_root: \"the image's entrypoint drops privileges itself\" }",
                Some("0"),
            ),
        );
        p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        let dir = p.path("generated/configs/docker");
        let lint = p.read("generated/configs/docker/.compose-lint.yml");
        assert!(lint.contains("CL-0018"), "{lint}");
        assert!(lint.contains("drops privileges itself"), "{lint}");
        let out = Command::new("compose-lint")
            .args(["check", "--fail-on", "low", "docker-compose.edge.yml"])
            .current_dir(&dir)
            .output_bounded()
            .unwrap();
        // The finding is suppressed with the model's reason, never counted.
        let report = format!("{}{}", stdout(&out), stderr(&out));
        let root_lines: Vec<&str> = report.lines().filter(|l| l.contains("CL-0018")).collect();
        assert!(!root_lines.is_empty(), "{report}");
        assert!(
            root_lines.iter().all(|l| l.contains("SUPPRESSED")),
            "{report}"
        );
    }

    #[test]
    fn an_ipv6_network_comes_up() {
        let _stack = crate::common::docker_stack();
        let tag = format!("{}-{}", "lucid-gen-rules-v6", std::process::id());
        let p = project(
            None,
            &format!(
                "phases:\n  v6:\n    env_file: edge\n    compose_file: docker-compose.v6.yml\n\
                 networks:\n  shop-v6:\n    plane: app\n    name: {tag}\n    subnet: fd00:dead:beef:42::/64\n\
                 services:\n  shop-v6:\n    phase: v6\n    plane: app\n    networks: [shop-v6]\n    image: {tag}:1\n    command: [/x]\n"
            ),
        );
        p.run().args(&["all", "--insecure-secret-seed", "1"]).run();
        let compose = p.read("generated/configs/docker/docker-compose.v6.yml");
        let network = compose.split("\nnetworks:\n").nth(1).expect("networks");
        assert!(network.contains("enable_ipv6: true"), "{compose}");
        need(compose_available(), "docker compose");
        // An empty image built offline, so `up` creates the network and a
        // container (never started: there is nothing to run).
        p.write("image/x", "");
        let built = Command::new("docker")
            .args(["build", "-q", "-t", &format!("{tag}:1"), "-f-", "."])
            .current_dir(p.path("image"))
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(b"FROM scratch\nCOPY x /x\n")?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(built.status.success(), "{}", stderr(&built));
        let dir = p.path("generated/configs/docker");
        let compose_args = ["-p", tag.as_str(), "-f", "docker-compose.v6.yml"];
        let up = docker_compose(&dir, &[&compose_args[..], &["up", "--no-start"]].concat());
        let inspect = Command::new("docker")
            .args([
                "network",
                "inspect",
                &tag,
                "--format",
                "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}",
            ])
            .output_bounded()
            .unwrap();
        let down = docker_compose(&dir, &[&compose_args[..], &["down"]].concat());
        let _ = Command::new("docker")
            .args(["image", "rm", &format!("{tag}:1")])
            .output_bounded();
        assert!(
            up.status.success(),
            "docker compose up failed:\n{}",
            stderr(&up)
        );
        assert!(
            down.status.success(),
            "docker compose down failed:\n{}",
            stderr(&down)
        );
        let shown = stdout(&inspect);
        assert!(
            shown.contains("true") && shown.contains("fd00:dead:beef:42::/64"),
            "network not created with IPv6: {shown}{}",
            stderr(&inspect)
        );
    }
}

/// A port a variant publishes takes its host port in that variant's files
/// only: another service publishing the same port in every variant clashes
/// (`port-clash`, reported once), as does one publishing it in the same
/// variant; a replicated service cannot publish one at all.
#[test]
fn ports_a_variant_publishes_clash_like_any_published_port() {
    let other = |variants: &str| {
        format!(
            "services:\n  mounts-other:\n    phase: base\n    plane: app\n    networks: [mounts-app]\n    \
             image: example/other:1\n    user: \"1000:1000\"\n    resources: {{ memory: 64m, cpus: 0.25 }}\n    \
             ports:\n      - {{ container: 80, {variants} }}\n"
        )
    };
    let p = Project::fixture("mounts");
    p.write("model/case.yaml", &other("host: 18080, host_ip: 127.0.0.1"));
    let err = refused(&p, "port-clash", &["18080"]);
    assert_eq!(count(&err, "port-clash"), 1, "{err}");
    // Published only in prod: no clash with dev's 18080.
    p.write(
        "model/case.yaml",
        &(other("name: web") + "    variants:\n      prod:\n        ports:\n          - { container: 80, host: 18080, host_ip: 127.0.0.1 }\n"),
    );
    accepted(&p);
    // In dev too: the clash is dev's.
    p.write(
        "model/case.yaml",
        &(other("name: web") + "    variants:\n      dev:\n        ports:\n          - { container: 80, host: 18080, host_ip: 127.0.0.1 }\n"),
    );
    refused(&p, "port-clash", &["18080"]);
    p.write(
        "model/case.yaml",
        &(other("name: web") + "    replicas: 2\n    variants:\n      prod:\n        ports:\n          - { container: 80, host: 18081 }\n"),
    );
    refused(&p, "port-clash", &["2 replicas", "18081"]);
}

/// `mounts-other`, in `tests/fixtures/mounts`, with `extra` (indented
/// keys) and port 80 named `http` published as `publish` says.
fn mounts_other(extra: &str, publish: &str) -> String {
    format!(
        "services:\n  mounts-other:\n    phase: base\n    plane: app\n    networks: [mounts-app]\n    \
         image: example/other:1\n    user: \"1000:1000\"\n    resources: {{ memory: 64m, cpus: 0.25 }}\n\
         {extra}    ports:\n      - {{ container: 80, name: http{publish} }}\n"
    )
}

/// Two services no variant runs together may publish the same host port
/// (seed 002's tiers and its all-in-one tier); a service of the variant
/// that already publishes it still clashes.
#[test]
fn services_no_variant_runs_together_may_share_a_host_port() {
    let p = Project::fixture("mounts");
    let publish = ", host: 18080, host_ip: 127.0.0.1";
    // mounts-web publishes 18080 in dev only.
    p.write(
        "model/case.yaml",
        &mounts_other("    only_in_variants: [prod]\n", publish),
    );
    accepted(&p);
    p.write(
        "model/case.yaml",
        &mounts_other("    only_in_variants: [dev]\n", publish),
    );
    let err = refused(&p, "port-clash", &["18080", "mounts-other"]);
    assert_eq!(count(&err, "port-clash"), 1, "{err}");
}

/// `{{ targets PORT }}` over services some variants leave out: each
/// variant's copy of the file lists the services that variant has, written
/// once per variant and mounted by that variant's compose file; under
/// Swarm (whose stack files are the same for every variant) it is refused.
#[test]
fn a_targets_list_differs_between_variants_with_the_services_they_have() {
    let p = Project::fixture("mounts");
    let scraper = "  mounts-scraper:\n    phase: base\n    plane: app\n    networks: [mounts-app]\n    \
         image: example/scraper:1\n    user: \"1000:1000\"\n    resources: { memory: 64m, cpus: 0.25 }\n    \
         config_files:\n      - target: /etc/scrape.yml\n        content: |\n          targets: {{ targets http }}\n";
    let case = mounts_other("    only_in_variants: [prod]\n", "") + scraper;
    p.write("model/case.yaml", &case);
    p.run().args(&["all"]).run();
    let files = "generated/configs/files";
    assert_eq!(
        p.read(&format!("{files}/mounts-scraper@dev/etc/scrape.yml")),
        "targets: [\"mounts-web:8080\"]\n"
    );
    assert_eq!(
        p.read(&format!("{files}/mounts-scraper@prod/etc/scrape.yml")),
        "targets: [\"mounts-other:80\", \"mounts-web:8080\"]\n"
    );
    assert!(!p.path(&format!("{files}/mounts-scraper")).exists());
    for variant in ["dev", "prod"] {
        let compose = p.read(&format!(
            "generated/configs/docker/docker-compose.base.{variant}.yml"
        ));
        let mounted = format!("file: \"../files/mounts-scraper@{variant}/etc/scrape.yml\"");
        assert!(compose.contains(&mounted), "{variant}: {compose}");
    }
    // In every variant: one file, as before.
    p.write("model/case.yaml", &(mounts_other("", "") + scraper));
    p.run().args(&["all"]).run();
    assert_eq!(
        p.read(&format!("{files}/mounts-scraper/etc/scrape.yml")),
        "targets: [\"mounts-other:80\", \"mounts-web:8080\"]\n"
    );
    let swarm = p.read("model/system.yaml").replace(
        "  platform: linux/amd64\n",
        "  platform: linux/amd64\n  mode: swarm\n",
    );
    p.write("model/system.yaml", &swarm);
    p.write("model/case.yaml", &case);
    refused(&p, "variant", &["mounts-other", "{{ targets http }}"]);
}
