//! The command line as a user meets it: `all`, `--check`, `check`,
//! `secrets rotate`, exit codes, file modes, and what is never printed.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::{stderr, stdout, OutputBounded, Project, Test};
use base64::Engine;

const ENV_BASE: &str = "generated/configs/environment/.env.base";
const ENV_EDGE: &str = "generated/configs/environment/.env.edge";
/// shop-api's own secrets env file: the secrets it receives as variables.
const API_SECRETS: &str = "generated/secrets/env/shop-api.env";
/// DB_PASSWORD as the file shop-db mounts (`as: file-env`).
const DB_SECRET_FILE: &str = "generated/secrets/files/DB_PASSWORD";

fn env_value(text: &str, key: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing from\n{text}"));
    line.split_once('=')
        .unwrap()
        .1
        .trim_matches('"')
        .to_string()
}

#[test]
fn all_writes_the_whole_file_set_then_changes_nothing() {
    let p = Project::fixture("small");
    p.run()
        .args(&["all"])
        .stdout_has("generated: 18 written, 0 unchanged")
        .run();
    for file in [
        ENV_BASE,
        ENV_EDGE,
        API_SECRETS,
        DB_SECRET_FILE,
        "generated/configs/docker/docker-compose.base.yml",
        "generated/configs/docker/docker-compose.edge.yml",
        "generated/configs/docker/docker-compose.master.yml",
        "generated/dockerfiles/services/shop-api/Dockerfile",
        "generated/dockerfiles/services/shop-db/Dockerfile",
        "generated/dockerfiles/images/py/Dockerfile",
        // What no build context may send, beside each Dockerfile.
        "generated/dockerfiles/services/shop-api/Dockerfile.dockerignore",
        "generated/dockerfiles/images/py/Dockerfile.dockerignore",
        "generated/.gitignore",
        "generated/system.mmd",
    ] {
        assert!(p.path(file).is_file(), "{file} was not written");
    }
    let before = p.snapshot_tree("generated");
    p.run()
        .args(&["all"])
        .stdout_has("0 written, 18 unchanged")
        .run();
    assert_eq!(
        before,
        p.snapshot_tree("generated"),
        "a second run changed bytes"
    );
    p.run()
        .args(&["all", "--check"])
        .stdout_has("up to date")
        .run();
}

#[test]
fn check_mode_reports_a_hand_edit_and_writes_nothing() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let compose = "generated/configs/docker/docker-compose.master.yml";
    let edited = p
        .read(compose)
        .replace("restart: unless-stopped", "restart: always");
    p.write(compose, &edited);
    let before = p.snapshot_tree("generated");
    let out = p
        .run()
        .args(&["all", "--check"])
        .status(1)
        .stderr_has("1 of 18 files in generated are stale")
        .run();
    let diff = stdout(&out);
    assert!(
        diff.contains("-    restart: always") && diff.contains("+    restart: unless-stopped"),
        "{diff}"
    );
    assert_eq!(before, p.snapshot_tree("generated"), "--check wrote files");
    p.run().args(&["all"]).stdout_has("1 written").run();
    p.run().args(&["all", "--check"]).run();
}

#[test]
fn secrets_are_random_sized_private_and_stable() {
    let p = Project::fixture("small");
    let out = p.run().args(&["all"]).run();
    let api = p.read(API_SECRETS);
    let password = env_value(&api, "DB_PASSWORD");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&password)
        .unwrap();
    assert_eq!(decoded.len(), 32);
    let token = env_value(&api, "API_TOKEN");
    assert_eq!(token.len(), 32, "16 bytes hex-encoded");
    assert_eq!(
        p.read(DB_SECRET_FILE),
        password,
        "one secret, one value, as a variable and as a file"
    );
    // The shared env files carry no secret: every reader would get it.
    for file in [ENV_BASE, ENV_EDGE] {
        let text = p.read(file);
        assert!(
            !text.contains(&password) && !text.contains(&token),
            "{file}"
        );
        assert_eq!(mode(&p, file), 0o644, "{file}");
    }
    for (file, want) in [
        (API_SECRETS, 0o600),
        (".lucid-gen/secrets.env", 0o600),
        // Mounted: readable by the container's user, behind a 0700 dir.
        (DB_SECRET_FILE, 0o444),
        ("generated/secrets/files", 0o700),
    ] {
        assert_eq!(mode(&p, file), want, "{file}");
    }
    let ignored = p.read("generated/.gitignore");
    for path in ["/secrets/env/shop-api.env", "/secrets/files/DB_PASSWORD"] {
        assert!(ignored.contains(path), "{ignored}");
    }
    for text in [stdout(&out), stderr(&out)] {
        assert!(
            !text.contains(&password) && !text.contains(&token),
            "a secret was printed"
        );
    }
    assert!(!api.contains("${"), "placeholder left in {api}");

    // Another project gets other values.
    let q = Project::fixture("small");
    q.run().args(&["all"]).run();
    assert_ne!(env_value(&q.read(API_SECRETS), "DB_PASSWORD"), password);
}

fn mode(p: &Project, file: &str) -> u32 {
    fs::metadata(p.path(file)).unwrap().permissions().mode() & 0o777
}

/// Every file gets its own mode whatever the umask lucid-gen runs under:
/// a narrow one (077) does not hide public files from their readers, a
/// wide one (000) does not open anything to writers.
#[test]
fn files_get_their_modes_whatever_the_umask() {
    for umask in ["077", "000"] {
        let p = Project::fixture("small");
        let ran = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" all"))
            .arg(crate::common::BIN)
            .current_dir(p.path(""))
            .stdin(std::process::Stdio::null())
            .output_bounded()
            .unwrap();
        assert!(ran.status.success(), "umask {umask}: {}", stderr(&ran));
        for (file, want) in [
            (ENV_BASE, 0o644),
            ("generated/configs/docker/docker-compose.master.yml", 0o644),
            (API_SECRETS, 0o600),
            (DB_SECRET_FILE, 0o444),
            ("generated/secrets/files", 0o700),
        ] {
            assert_eq!(mode(&p, file), want, "umask {umask}: {file}");
        }
    }
}

#[test]
fn rotate_replaces_one_secret_only() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let edge = p.read(API_SECRETS);
    let db_file = p.read(DB_SECRET_FILE);
    let out = p
        .run()
        .args(&["secrets", "rotate", "API_TOKEN"])
        .stdout_has("generated 1 secret(s): API_TOKEN")
        .stdout_has("1 written")
        .run();
    assert_eq!(p.read(DB_SECRET_FILE), db_file, "another secret's file");
    let rotated = p.read(API_SECRETS);
    assert_ne!(
        env_value(&rotated, "API_TOKEN"),
        env_value(&edge, "API_TOKEN")
    );
    assert_eq!(
        env_value(&rotated, "DB_PASSWORD"),
        env_value(&edge, "DB_PASSWORD")
    );
    assert!(!stdout(&out).contains(&env_value(&rotated, "API_TOKEN")));
    p.run()
        .args(&["secrets", "rotate", "NOPE"])
        .status(2)
        .stderr_has("secret `NOPE` is not declared")
        .run();
}

#[test]
fn seeded_secrets_are_deterministic() {
    let a = Project::fixture("small");
    let b = Project::fixture("small");
    for p in [&a, &b] {
        p.run().args(&["all", "--insecure-secret-seed", "7"]).run();
        assert!(
            !p.path(".lucid-gen/secrets.env").exists(),
            "seeded runs keep no store"
        );
    }
    assert_eq!(a.read(API_SECRETS), b.read(API_SECRETS));
}

#[test]
fn an_invalid_model_writes_nothing() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let before = p.snapshot_tree("generated");
    p.write(
        "model/zz-bad.yaml",
        "services:\n  shop-extra:\n    phase: nowhere\n    plane: app\n    networks: [shop-app]\n",
    );
    p.run()
        .args(&["all"])
        .status(1)
        .stderr_has("model/zz-bad.yaml:3:12: error[unknown-phase]: unknown phase `nowhere`")
        .stderr_has("nothing was written")
        .run();
    assert_eq!(before, p.snapshot_tree("generated"));
}

#[test]
fn a_removed_service_loses_its_dockerfile() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let services = p.read("model/services.yaml");
    // Drop shop-db's build: it then runs a published image.
    let start = services.find("    build:\n      stack: native").unwrap();
    let end = services.find("    health:\n      exec").unwrap();
    let mut edited = services.clone();
    edited.replace_range(start..end, "    image: postgres:16\n");
    p.write("model/services.yaml", &edited);
    // The Dockerfile and its ignore file.
    p.run().args(&["all"]).stdout_has("2 deleted").run();
    assert!(!p
        .path("generated/dockerfiles/services/shop-db/Dockerfile")
        .exists());
    assert!(!p
        .path("generated/dockerfiles/services/shop-db/Dockerfile.dockerignore")
        .exists());
}

#[test]
fn check_summarises_a_valid_model() {
    let p = Project::fixture("small");
    p.run()
        .args(&["check"])
        .stdout_has("model/ is valid: 4 services in 2 phases, 2 networks on 2 planes, 1 published port, 2 secrets")
        .run();
}

#[test]
fn usage_and_io_errors_exit_2() {
    let p = Project::fixture("small");
    p.run().args(&["all", "--frobnicate"]).status(2).run();
    p.run()
        .args(&["check", "--model", "missing"])
        .status(2)
        .stderr_has("cannot read model at missing")
        .run();
    Test::new().args(&["--help"]).stdout_has("Examples:").run();
}

#[test]
fn a_second_concurrent_run_is_refused() {
    let p = Project::fixture("small");
    fs::create_dir_all(p.path(".lucid-gen")).unwrap();
    let held = crate::common::LockHolder::hold(&p.path(".lucid-gen/lock"));
    p.run()
        .args(&["all"])
        .status(2)
        .stderr_has("another lucid-gen is running here")
        .run();
    assert!(!p.path("generated").exists());
    held.release();
    p.run().args(&["all"]).run();
}

#[test]
fn lucid_model_with_five_mistakes_reports_each_and_writes_nothing() {
    let p = Project::lucid();
    p.run().args(&["all"]).run();
    let before = p.snapshot_tree("generated");
    p.write(
        "model/services/mistakes.yaml",
        r#"services:
  lucid-extra-a:
    phase: support
    plane: ops
    networks: [lucid-pi-network]
    image: pickme/extra-a:1
    depends_on: [lucid-extra-b, lucid-nonexistent]
    ports:
      - container: 80
        host: 8080
  lucid-extra-b:
    phase: support
    plane: ops
    networks: [lucid-pi-network]
    image: pickme/extra-b:1
    depends_on: [lucid-extra-a]
  lucid-ledger-sync:
    phase: core
    plane: chain
    networks: [lucid-chain-network]
    image: pickme/ledger-sync:1
    environment:
      SETTLEMENT_TOKEN: USDT
    helth:
      http: /health
"#,
    );
    let out = p.run().args(&["check"]).status(1).run();
    let err = stderr(&out);
    let at = "model/services/mistakes.yaml:24:5";
    assert!(
        err.contains(&format!("{at}: error[unknown-key]")),
        "unknown-key at {at}:\n{err}"
    );
    // The unknown key stops the file from loading; fix it and the
    // semantic mistakes all show at once.
    let text = p
        .read("model/services/mistakes.yaml")
        .replace("    helth:\n      http: /health\n", "");
    p.write("model/services/mistakes.yaml", &text);
    let out = p.run().args(&["all"]).status(1).run();
    let err = stderr(&out);
    for (rule, at) in [
        ("port-clash", "model/services/mistakes.yaml:10:15"),
        ("dependency-cycle", "model/services/mistakes.yaml:16:18"),
        ("unknown-dependency", "model/services/mistakes.yaml:7:33"),
        ("forbidden-term", "model/services/mistakes.yaml:23:25"),
    ] {
        assert!(
            err.contains(&format!("{at}: error[{rule}]")),
            "{rule} at {at}:\n{err}"
        );
    }
    assert!(
        err.contains("lucid-extra-a → lucid-extra-b → lucid-extra-a"),
        "{err}"
    );
    assert!(err.contains("nothing was written"));
    assert_eq!(before, p.snapshot_tree("generated"), "generated/ changed");
}

#[test]
fn check_warns_about_exposed_secret_files() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    p.run().args(&["check"]).run();
    fs::set_permissions(
        p.path(".lucid-gen/secrets.env"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fs::set_permissions(p.path(API_SECRETS), fs::Permissions::from_mode(0o640)).unwrap();
    let files_dir = "generated/secrets/files";
    fs::set_permissions(p.path(files_dir), fs::Permissions::from_mode(0o755)).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(p.dir.path())
            .output_bounded()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-f", ".lucid-gen/secrets.env"]);
    let out = p
        .run()
        .args(&["check"])
        .stderr_has(".lucid-gen/secrets.env holds secrets but has mode 644")
        .stderr_has("generated/secrets/env/shop-api.env holds secrets but has mode 640")
        .stderr_has(
            "generated/secrets/files holds secret files containers mount (mode 0444) but has mode 755",
        )
        .stderr_has(".lucid-gen/secrets.env holds secrets but is tracked by git")
        .run();
    // Warnings, not errors: the model itself is fine.
    assert!(stdout(&out).contains("is valid"));
}

/// The store's directory is git-ignored from the moment lucid-gen creates
/// it: after `all` in a fresh repository `git add -A` stages no secret,
/// whatever directory `--secrets` names and also when only the lock is
/// there (a seeded run).
#[test]
fn a_fresh_repository_never_stages_the_secret_store() {
    let p = Project::fixture("small");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(p.dir.path())
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    git(&["init", "-q"]);
    p.run().args(&["all"]).run();
    p.run()
        .args(&["all", "--secrets", "keys/prod/secrets.env", "--out", "out2"])
        .run();
    p.run()
        .args(&[
            "all",
            "--secrets",
            "seeded/secrets.env",
            "--insecure-secret-seed",
            "7",
            "--out",
            "out3",
        ])
        .run();
    assert!(p.path("seeded/lock").exists());
    let staged = git(&["add", "-A", "--dry-run"]);
    for store in [".lucid-gen/", "keys/", "seeded/"] {
        assert!(!staged.contains(store), "{store} staged:\n{staged}");
    }
    assert_eq!(
        p.read(".lucid-gen/.gitignore"),
        lucid_gen::secrets::STORE_GITIGNORE
    );
    // The generated files themselves are staged, secret-bearing ones not.
    assert!(staged.contains("generated/configs/docker/"), "{staged}");
    assert!(!staged.contains("generated/secrets/"), "{staged}");
    // A directory that already existed is the user's: nothing added.
    p.run()
        .args(&["all", "--secrets", "model/../store.env"])
        .run();
    assert!(!p.path(".gitignore").exists());
}

/// `all --check` shows a plain file's diff, but never its control
/// characters raw: terminal escapes in what is on disk (a hand edit) and
/// in what the model now produces (a config file's content) are written as
/// `\u{1b}` codes, on stdout and in the job summary alike.
#[test]
fn the_stale_diff_sends_no_escape_sequence_to_the_terminal() {
    let p = Project::fixture("small");
    p.run().args(&["all"]).run();
    let compose = "generated/configs/docker/docker-compose.base.yml";
    let text = p.read(compose);
    p.write(
        compose,
        &format!("{text}# \u{1b}]0;owned\u{7}\u{1b}[2J\r\n"),
    );
    let services = p.read("model/services.yaml").replacen(
        "    health:\n      http: /health\n",
        "    health:\n      http: /health\n    config_files:\n      - target: /etc/motd\n        content: \"hi \\e[5m\\u009b31m\\n\"\n",
        1,
    );
    p.write("model/services.yaml", &services);
    let summary = p.path("summary.md");
    let out = p
        .run()
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .args(&["all", "--check", "--format", "github"])
        .status(1)
        .run();
    let shown = format!("{}{}{}", stdout(&out), stderr(&out), p.read("summary.md"));
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
        assert!(!shown.contains(raw), "{raw:?} raw in: {shown}");
    }
    for escaped in ["\\u{1b}]0;owned\\u{7}", "\\u{1b}[5m", "\\u{9b}31m"] {
        assert!(shown.contains(escaped), "{escaped}: {shown}");
    }
}

#[test]
fn no_command_prints_a_secret() {
    let p = Project::fixture("small");
    crate::common::add_test_host(&p);
    let mut outputs = vec![p.run().args(&["all"]).run()];
    let store = p.read(".lucid-gen/secrets.env");
    let values: Vec<&str> = store
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v))
        .collect();
    assert_eq!(values.len(), 2);
    outputs.push(p.run().args(&["check"]).run());
    outputs.push(p.run().args(&["all", "--check"]).run());
    // A hand-edited secret-bearing file: --check says it differs, never how.
    let edited = p.read(API_SECRETS) + "EXTRA=\"hand-edited\"\n";
    p.write(API_SECRETS, &edited);
    outputs.push(
        p.run()
            .args(&["all", "--check"])
            .status(1)
            .stdout_has("holds secrets; contents not shown")
            .run(),
    );
    outputs.push(p.run().args(&["all"]).run());
    outputs.push(p.run().args(&["secrets", "rotate", "DB_PASSWORD"]).run());
    outputs.push(
        p.run()
            .args(&["deploy", "--host", "box", "--dry-run"])
            .status_any()
            .run(),
    );
    let fresh = p.read(".lucid-gen/secrets.env");
    for out in &outputs {
        for text in [stdout(out), stderr(out)] {
            for value in values.iter().chain(
                fresh
                    .lines()
                    .filter_map(|l| l.split_once('=').map(|(_, v)| v))
                    .collect::<Vec<_>>()
                    .iter(),
            ) {
                assert!(!text.contains(value), "a secret value was printed:\n{text}");
            }
        }
    }
}

/// Every usage error exits 2 and says what was wrong exactly once, before
/// anything runs; whichever command meets it.
#[test]
fn usage_errors_exit_2_everywhere() {
    let p = Project::fixture("small");
    crate::common::add_test_host(&p);
    p.run().args(&["all"]).run();
    let cases: &[(&[&str], &str)] = &[
        (&["up", "--phase", "nope"], "unknown phase `nope`"),
        (&["down", "--phase", "nope"], "unknown phase `nope`"),
        (
            &["build", "--phase", "nope", "--dry-run"],
            "unknown phase `nope`",
        ),
        (
            &["deploy", "--host", "box", "--phase", "nope", "--dry-run"],
            "unknown phase `nope`",
        ),
        (
            &["deploy", "--host=-oProxyCommand=x", "--dry-run"],
            "unknown host `-oProxyCommand=x`",
        ),
        (&["test", "--host", "nope"], "unknown host `nope`"),
        (&["rollback", "--host", "nope"], "unknown host `nope`"),
        (
            &["up", "--project", "Bad Name"],
            "invalid value 'Bad Name' for '--project",
        ),
        (
            &["test", "--project=_x"],
            "invalid value '_x' for '--project",
        ),
        (
            &["secrets", "rotate", "NOPE"],
            "secret `NOPE` is not declared",
        ),
        (
            &[
                "secrets",
                "rotate",
                "API_TOKEN",
                "--insecure-secret-seed",
                "1",
            ],
            "drop --insecure-secret-seed",
        ),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["all", "--frobnicate"],
            "unexpected argument '--frobnicate'",
        ),
        (
            &["check", "--model", "missing"],
            "cannot read model at missing",
        ),
    ];
    for (args, message) in cases {
        let out = p.run().args(args).status(2).stderr_has(message).run();
        let err = stderr(&out);
        assert_eq!(
            err.matches("error:").count(),
            1,
            "lucid-gen {args:?} printed its error more (or less) than once:\n{err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

/// The section of README.md under `heading`, up to the next `## `.
fn readme_section(heading: &str) -> String {
    let readme = fs::read_to_string(crate::common::repo_root().join("README.md")).unwrap();
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no `{heading}`"));
    let rest = &readme[start + heading.len() + 2..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

/// The ```sh blocks of `text`, each as its lines.
fn sh_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(block), l) => block.push(l.to_string()),
            (None, _) => {}
        }
    }
    blocks
}

/// The README's main command, run verbatim in a copy of exactly what git
/// tracks (what a fresh clone holds), reusing this build's target
/// directory. It must succeed and leave the file set the README promises:
/// the committed `generated/` plus the secret env files it ignores.
#[test]
fn readme_main_command_works_on_a_fresh_clone() {
    let section = readme_section("## On a fresh machine");
    let blocks = sh_blocks(&section);
    let commands: Vec<&String> = blocks.iter().flatten().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        commands,
        ["cargo run --release -- all", "bash .ci/run"],
        "the README's set-up is exactly two commands, one per block"
    );
    assert_eq!(blocks.len(), 2);

    let root = crate::common::repo_root();
    let ls = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output_bounded()
        .expect("git runs");
    assert!(ls.status.success(), "git ls-files: {}", stderr(&ls));
    let clone = tempfile::tempdir().unwrap();
    let tracked: Vec<String> = String::from_utf8(ls.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty() && root.join(f).is_file())
        .map(str::to_string)
        .collect();
    for file in &tracked {
        let to = clone.path().join(file);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root.join(file), to).unwrap();
    }
    // The test binary lives in <target>/debug/deps/.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new("sh")
        .args(["-c", &commands[0].replacen("cargo", &cargo, 1)])
        .current_dir(clone.path())
        .env("CARGO_TARGET_DIR", &target)
        .output_bounded()
        .unwrap();
    assert!(
        out.status.success(),
        "`{}` failed on a fresh clone:\n{}\n{}",
        commands[0],
        stdout(&out),
        stderr(&out)
    );

    // The committed files, plus the secret-bearing ones .gitignore lists.
    let mut expected: Vec<String> = tracked
        .iter()
        .filter_map(|f| f.strip_prefix("generated/"))
        .map(str::to_string)
        .collect();
    let ignore = fs::read_to_string(clone.path().join("generated/.gitignore")).unwrap();
    let secret_files: Vec<String> = ignore
        .lines()
        .filter_map(|l| l.strip_prefix('/'))
        .map(str::to_string)
        .collect();
    assert!(!secret_files.is_empty(), "{ignore}");
    expected.extend(secret_files.iter().cloned());
    expected.sort();
    let mut written = walk_files(&clone.path().join("generated"));
    written.sort();
    assert_eq!(written, expected, "generated/ after `{}`", commands[0]);
    // Only the secret env files were missing: everything committed was
    // already what the model produces.
    let summary = format!("generated: {} written, ", secret_files.len());
    assert!(stdout(&out).contains(&summary), "{}", stdout(&out));
}

/// Paths of every file under `dir`, relative to it.
fn walk_files(dir: &std::path::Path) -> Vec<String> {
    crate::common::files_under(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// A secret composed from another (`template`): derived on every run,
/// the base64 password percent-encoded where `:url` asks, never stored,
/// changed by rotating the secret it names and not rotatable itself.
#[test]
fn a_composed_secret_follows_the_secret_it_names_through_a_rotation() {
    let p = Project::fixture("small");
    let system = p.read("model/system.yaml").replace(
        "  API_TOKEN:\n",
        "  DATABASE_URL:\n    template: \"postgresql://shop:${DB_PASSWORD:url}@shop-db:5432/shop\"\n  API_TOKEN:\n",
    );
    p.write("model/system.yaml", &system);
    let services = p.read("model/services.yaml").replace(
        "secrets: [DB_PASSWORD, API_TOKEN]",
        "secrets: [DB_PASSWORD, API_TOKEN, DATABASE_URL]",
    );
    p.write("model/services.yaml", &services);
    // RFC 3986 percent-encoding, written out here on its own.
    let url_of = |password: &str| {
        let encoded: String = (password.bytes())
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("postgresql://shop:{encoded}@shop-db:5432/shop")
    };
    let out = p.run().args(&["all"]).run();
    let api = p.read(API_SECRETS);
    let (password, url) = (
        env_value(&api, "DB_PASSWORD"),
        env_value(&api, "DATABASE_URL"),
    );
    assert_eq!(url, url_of(&password));
    // 32 bytes of base64 end in `=`: the encoding is exercised.
    assert!(url.contains("%3D"), "the password's `=` is percent-encoded");
    let store = p.read(".lucid-gen/secrets.env");
    assert!(
        !store.contains("DATABASE_URL"),
        "a composed secret is never stored"
    );
    assert!(!stdout(&out).contains(&password) && !stderr(&out).contains(&url));
    let out = p
        .run()
        .args(&["secrets", "rotate", "DB_PASSWORD"])
        .stdout_has("generated 1 secret(s): DB_PASSWORD")
        .run();
    let rotated = p.read(API_SECRETS);
    let new_password = env_value(&rotated, "DB_PASSWORD");
    assert_ne!(new_password, password);
    assert_eq!(env_value(&rotated, "DATABASE_URL"), url_of(&new_password));
    assert!(!stdout(&out).contains(&env_value(&rotated, "DATABASE_URL")));
    p.run()
        .args(&["secrets", "rotate", "DATABASE_URL"])
        .status(2)
        .stderr_has("secret `DATABASE_URL` is composed from other secrets (`template`)")
        .stderr_has("rotate the secrets its template names")
        .run();
    assert_eq!(
        p.read(API_SECRETS),
        rotated,
        "a refused rotation changes nothing"
    );
}
