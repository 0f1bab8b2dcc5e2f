//! `lucid-gen import` on real compose files: every sample of the corpus
//! (`../shared/corpus/awesome-compose/`, 20 applications from
//! docker/awesome-compose, CC0) imported, its findings answered as the
//! README says, rendered with `all`, and the generated master compose
//! file read back through `docker compose config` and compared with the
//! original: services, images, builds, ports, networks, volumes,
//! environment names, secrets' targets, dependencies. Every difference
//! must be one lucid-gen makes on purpose (and the report says so) or a
//! key the report lists as not expressible; nothing else may differ.
//!
//! The corpus is read where its README says tests find it,
//! `../shared/corpus/` beside the repository, or where
//! `LUCID_GEN_CORPUS` points; without it these tests fail, naming both
//! (they never pass without running).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::repo_root;
use crate::common::OutputBounded;

/// The 20 samples, as the corpus README lists them.
pub const SAMPLES: [&str; 20] = [
    "angular",
    "apache-php",
    "fastapi",
    "flask",
    "flask-redis",
    "nextcloud-postgres",
    "nginx-aspnet-mysql",
    "nginx-flask-mysql",
    "nginx-golang",
    "nginx-golang-mysql",
    "nginx-nodejs-redis",
    "nginx-wsgi-flask",
    "postgresql-pgadmin",
    "react-express-mysql",
    "react-nginx",
    "react-rust-postgres",
    "sparkjava",
    "sparkjava-mysql",
    "vuejs",
    "wasmedge-mysql-nginx",
];

/// `awesome-compose/` of the corpus; fails the test when it is missing.
pub fn corpus() -> PathBuf {
    let dir = match std::env::var_os("LUCID_GEN_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("../shared/corpus"),
    };
    let samples = dir.join("awesome-compose");
    assert!(
        samples.is_dir(),
        "the compose corpus is not at {}: put the shared corpus (its README: awesome-compose \
         at commit 18f59bd, CC0) at ../shared/corpus beside the repository, or point \
         LUCID_GEN_CORPUS at it",
        samples.display()
    );
    samples
}

#[test]
fn the_sample_list_is_the_corpus() {
    let mut found: Vec<String> = fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert_eq!(found, SAMPLES.map(String::from).to_vec());
}

/// Two samples committed as examples, exactly as `import` writes them.
const EXAMPLES: [&str; 2] = ["nextcloud-postgres", "nginx-flask-mysql"];

/// Their `generated/` is what `all` renders from their model, and only
/// files without secrets are committed (as for examples/noderr).
#[test]
fn imported_examples_are_fresh() {
    for name in EXAMPLES {
        let root = repo_root().join("examples").join(name);
        let (outputs, _) = crate::generated::render_model(&root.join("model"), 0);
        let stale: Vec<String> = (outputs.iter())
            .filter(|(_, f)| !f.secret)
            .filter(|(p, f)| {
                fs::read_to_string(root.join("generated").join(p)).ok() != Some(f.text.clone())
            })
            .map(|(p, _)| p.display().to_string())
            .collect();
        assert!(
            stale.is_empty(),
            "examples/{name}/generated is stale in {stale:?}: run `lucid-gen all` in examples/{name} and commit the result"
        );
        let tracked = Command::new("git")
            .args(["ls-files", &format!("examples/{name}/generated")])
            .current_dir(repo_root())
            .output_bounded()
            .unwrap();
        let tracked = String::from_utf8_lossy(&tracked.stdout);
        assert!(tracked.lines().count() >= 5, "nothing committed: {tracked}");
        for line in tracked.lines() {
            let rel = Path::new(line)
                .strip_prefix(format!("examples/{name}/generated"))
                .unwrap();
            let file = outputs.get(rel);
            assert!(
                file.is_some_and(|f| !f.secret),
                "{line}: tracked but not produced, or secret"
            );
        }
    }
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::compose_available;
    use crate::common::copy_dir;
    use crate::common::need;
    use crate::common::Test;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::collections::BTreeSet;

    /// A writable copy of one sample, in a directory of the sample's name
    /// (Compose names the project after it), and the name of its compose file.
    pub struct Sample {
        _temp: tempfile::TempDir,
        dir: PathBuf,
        pub file: String,
    }
    impl Sample {
        pub fn copy(name: &str) -> Sample {
            Sample::copy_from(&corpus().join(name))
        }

        /// A copy of any project directory, under its own name.
        pub fn copy_from(from: &Path) -> Sample {
            let name = from.file_name().unwrap();
            let temp = tempfile::tempdir().unwrap();
            let dir = temp.path().join(name);
            copy_dir(from, &dir);
            make_writable(&dir);
            let file = ["compose.yaml", "compose.yml", "docker-compose.yml"]
                .into_iter()
                .find(|f| from.join(f).is_file())
                .unwrap_or_else(|| panic!("{} has no compose file", from.display()))
                .to_string();
            Sample {
                _temp: temp,
                dir,
                file,
            }
        }

        pub fn path(&self) -> &Path {
            &self.dir
        }
    }
    /// The corpus is read-only; its copies must not be.
    fn make_writable(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                continue;
            }
            let mode = meta.permissions().mode() | 0o200;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            if meta.is_dir() {
                make_writable(&path);
            }
        }
    }
    /// `docker compose [-f FILE]... config --format json` in `dir`.
    pub fn compose_config(dir: &Path, files: &[&str], env: &[(&str, String)]) -> Value {
        let mut cmd = Command::new("docker");
        cmd.args(["compose", "--profile", "*"]);
        for f in files {
            cmd.args(["-f", f]);
        }
        cmd.args(["config", "--format", "json"]).current_dir(dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output_bounded().expect("run docker compose");
        assert!(
            out.status.success(),
            "docker compose config in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// `lucid-gen import FILE --format json` in the sample; the report.
    pub fn import(dir: &Path, files: &[&str]) -> Value {
        let mut args = vec!["import"];
        args.extend(files);
        args.extend(["--format", "json"]);
        let out = Test::new().current_dir(dir).args(&args).run();
        serde_json::from_slice(&out.stdout).expect("import --format json prints one JSON document")
    }
    /// One line of the table.
    #[derive(Debug)]
    struct Row {
        sample: String,
        /// `all` rendered right after `import`, with nothing set by hand.
        no_manual_step: bool,
        on_purpose: BTreeSet<String>,
        reported: usize,
        unexplained: Vec<String>,
    }
    /// Import → (operator values set, as the report's "before `lucid-gen
    /// all`" says) → all → compose config of both, compared. `files`: the
    /// compose files, default the sample's one.
    fn round_trip(sample: &Sample, files: &[&str]) -> Row {
        let dir = sample.path();
        let files: Vec<&str> = match files {
            [] => vec![sample.file.as_str()],
            given => given.to_vec(),
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let report = import(dir, &files);
        let first = Test::new()
            .current_dir(dir)
            .args(&["all"])
            .status_any()
            .run();
        let no_manual_step = first.status.success();
        let mut env = Vec::new();
        for s in report["secrets"].as_array().unwrap() {
            if let Some(var) = s["operator_variable"].as_str() {
                env.push((var.to_string(), format!("operator-value-of-{var}")));
            }
        }
        if !no_manual_step {
            let mut all = Test::new().current_dir(dir).args(&["all"]);
            for (k, v) in &env {
                all = all.env(k, v);
            }
            all.run();
        }
        let original = compose_config(dir, &files, &[]);
        let generated_dir = dir.join("generated");
        let compose_dir = generated_dir.join("configs/docker");
        let vars = [
            ("SOURCE_DIR", dir.display().to_string()),
            ("GENERATED_DIR", generated_dir.display().to_string()),
        ];
        let generated = compose_config(&compose_dir, &["docker-compose.master.yml"], &vars);
        let mut verdict = crate::import_compare::Verdict::new(&report);
        verdict.project(&original, &generated);
        Row {
            sample: name,
            no_manual_step,
            on_purpose: verdict.on_purpose.keys().cloned().collect(),
            reported: report["not_expressible"].as_array().unwrap().len(),
            unexplained: verdict.problems(),
        }
    }
    /// The old values of everything the report moved to secrets: variables'
    /// values in the original project, and the files Compose's secrets read.
    /// Values shorter than 4 characters, or also the value of a variable that
    /// stays plain (a database named like its password; the report notes it),
    /// are left out: their text is in the model for that other reason.
    fn secret_literals(original: &Value, report: &Value) -> Vec<String> {
        let moved = |service: &str, var: &str| {
            (report["secrets"].as_array().unwrap().iter()).any(|s| {
                s["was"].as_array().unwrap().iter().any(|w| w == var)
                    && s["services"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x == service)
            })
        };
        let mut plain = BTreeSet::new();
        let mut secret = BTreeSet::new();
        for (service, s) in original["services"].as_object().unwrap() {
            for (var, value) in s["environment"].as_object().into_iter().flatten() {
                let value = value.as_str().unwrap_or("").replace("$$", "$");
                match moved(service, var) {
                    true => secret.insert(value),
                    false => plain.insert(value),
                };
            }
        }
        for s in report["secrets"].as_array().unwrap() {
            for was in s["was"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
            {
                let Some(key) = was.strip_prefix("secrets.") else {
                    continue;
                };
                if let Some(file) = original["secrets"][key]["file"].as_str() {
                    secret.insert(
                        fs::read_to_string(file)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    );
                }
            }
        }
        (secret.into_iter())
            .filter(|l| l.len() >= 4 && !plain.contains(l))
            .collect()
    }

    /// The table, then every problem; the README's count must match.
    #[test]
    fn every_corpus_sample_imports_renders_and_round_trips() {
        need(compose_available(), "docker compose");
        let only = std::env::var("LUCID_GEN_SAMPLE").ok();
        let names: Vec<&str> = (SAMPLES.iter().copied())
            .filter(|n| only.as_deref().is_none_or(|o| o == *n))
            .collect();
        let rows: Vec<Row> = std::thread::scope(|scope| {
            let halves: Vec<_> = [0, 1]
                .map(|half| {
                    let names = &names;
                    scope.spawn(move || {
                        (names.iter().skip(half).step_by(2))
                            .map(|n| round_trip(&Sample::copy(n), &[]))
                            .collect::<Vec<Row>>()
                    })
                })
                .into_iter()
                .collect();
            let mut rows: Vec<Row> = halves.into_iter().flat_map(|h| h.join().unwrap()).collect();
            rows.sort_by(|a, b| a.sample.cmp(&b.sample));
            rows
        });
        println!("sample                  no manual step  round trip  reported  on purpose");
        for r in &rows {
            println!(
                "{:<24}{:<16}{:<12}{:<10}{}",
                r.sample,
                if r.no_manual_step { "yes" } else { "no" },
                if r.unexplained.is_empty() {
                    "equal"
                } else {
                    "DIFFERS"
                },
                r.reported,
                r.on_purpose.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let clean = rows.iter().filter(|r| r.no_manual_step).count();
        println!(
            "{clean} of {} samples render with no manual step",
            rows.len()
        );
        let problems: Vec<String> = (rows.iter())
            .flat_map(|r| {
                r.unexplained
                    .iter()
                    .map(move |p| format!("{}: {p}", r.sample))
            })
            .collect();
        assert!(
            problems.is_empty(),
            "round trips differ:\n{}",
            problems.join("\n")
        );
        if only.is_none() {
            let readme = fs::read_to_string(repo_root().join("docs/import.md")).unwrap();
            let claim = format!(
                "{clean} of {} samples render with no manual step",
                rows.len()
            );
            assert!(readme.contains(&claim), "docs/import.md must say: {claim}");
        }
    }

    /// Every form import maps, in one project of this repository
    /// (`tests/import/features/`: two files, `include`, `extends`, anchors, an
    /// env file, profiles, a one-shot job, ranges, udp, limits, tmpfs, root):
    /// the same round trip as the corpus.
    #[test]
    fn the_feature_project_round_trips() {
        need(compose_available(), "docker compose");
        let sample = Sample::copy_from(&repo_root().join("tests/import/features"));
        let row = round_trip(&sample, &["compose.yaml", "compose.admin.yaml"]);
        assert!(row.no_manual_step);
        assert_eq!(row.unexplained, Vec::<String>::new());
        for category in [
            "health-filled",
            "waits-healthy",
            "hardening",
            "health-exec",
            "subnet",
        ] {
            assert!(
                row.on_purpose.contains(category),
                "{category} not exercised: {:?}",
                row.on_purpose
            );
        }
        let model = fs::read_to_string(sample.path().join("model/services/app.yaml")).unwrap();
        for mapped in [
            "run_once: true",
            "replicas: 2",
            "protocol: udp",
            "env_files: [app.env]",
            "PRICE: \"$5\"",
        ] {
            assert!(model.contains(mapped), "{mapped} missing from\n{model}");
        }
    }

    /// Invariant: a value import moves to secrets is never written into the
    /// model or printed — over the whole corpus and a project that hides
    /// secrets in every place import reads (a literal, an env file, `.env`
    /// interpolation, a URL holding a password, a Compose secret file).
    #[test]
    fn import_never_writes_a_secret_literal() {
        need(compose_available(), "docker compose");
        let own = tempfile::tempdir().unwrap();
        let files = [
            ("compose.yaml", "services:\n  app:\n    image: app:1\n    env_file: app.env\n    environment:\n      DB_PASSWORD: literal-pw-1234\n      DATABASE_URL: pg://app:literal-pw-1234@db/app\n      API_TOKEN: ${FROM_DOTENV}\n    secrets: [cert-key]\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: literal-pw-1234\nsecrets:\n  cert-key:\n    file: key.txt\n"),
            ("app.env", "SESSION_SECRET=env-file-secret-5678\nLOG_LEVEL=info\n"),
            (".env", "FROM_DOTENV=dotenv-token-9012\n"),
            ("key.txt", "file-secret-3456\n"),
        ];
        for (name, text) in files {
            fs::write(own.path().join(name), text).unwrap();
        }
        let samples = SAMPLES.map(Sample::copy);
        let mut projects: Vec<(&Path, &str)> = vec![(own.path(), "compose.yaml")];
        projects.extend(samples.iter().map(|s| (s.path(), s.file.as_str())));
        let mut checked = BTreeSet::new();
        for (dir, file) in projects {
            let human = Test::new()
                .current_dir(dir)
                .args(&["import", file])
                .status_any()
                .run();
            let json = Test::new()
                .current_dir(dir)
                .args(&["import", file, "--model", "json-model", "--format", "json"])
                .status_any()
                .run();
            let report: Value = serde_json::from_slice(&json.stdout).unwrap();
            let literals = secret_literals(&compose_config(dir, &[file], &[]), &report);
            let mut texts = vec![
                String::from_utf8_lossy(&human.stdout).into_owned(),
                String::from_utf8_lossy(&human.stderr).into_owned(),
                String::from_utf8_lossy(&json.stdout).into_owned(),
                String::from_utf8_lossy(&json.stderr).into_owned(),
            ];
            for model in ["model", "json-model"] {
                for f in crate::common::files_under(&dir.join(model)) {
                    texts.push(fs::read_to_string(f).unwrap());
                }
            }
            for literal in &literals {
                let leaked = texts.iter().any(|t| t.contains(literal.as_str()));
                assert!(
                    !leaked,
                    "{}: a moved secret's old value was written or printed",
                    dir.display()
                );
                checked.insert(literal.clone());
            }
        }
        for mine in [
            "literal-pw-1234",
            "env-file-secret-5678",
            "dotenv-token-9012",
        ] {
            assert!(
                checked.contains(mine),
                "{mine} was not found as a moved secret: {checked:?}"
            );
        }
        assert!(
            checked.len() >= 8,
            "too few secrets to mean anything: {checked:?}"
        );
    }

    /// Their model is byte for byte what `import` writes from the corpus today.
    #[test]
    fn imported_examples_are_what_import_writes() {
        need(compose_available(), "docker compose");
        for name in EXAMPLES {
            let sample = Sample::copy(name);
            import(sample.path(), &[&sample.file]);
            let model = repo_root().join("examples").join(name).join("model");
            let read = |dir: &Path| -> BTreeMap<PathBuf, String> {
                (crate::common::files_under(dir).into_iter())
                    .map(|f| {
                        (
                            f.strip_prefix(dir).unwrap().to_path_buf(),
                            fs::read_to_string(&f).unwrap(),
                        )
                    })
                    .collect()
            };
            assert_eq!(
                read(&sample.path().join("model")),
                read(&model),
                "examples/{name}/model differs from a fresh import: run `lucid-gen import compose.yaml` on the sample and copy its model"
            );
        }
    }
}
