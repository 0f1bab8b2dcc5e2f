//! The tools around the model: `schema` (editors), `graph` (pictures),
//! `completions` and `man`. Each output is checked by the program that
//! reads it: check-jsonschema, Graphviz `dot` (`.ci/install-tools.sh`
//! installs both; without them these tests fail, never pass).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{files_under, repo_root, stdout, OutputBounded, Test};
use lucid_gen::{model, render, validate};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect()
}

#[test]
fn schema_describes_keys_with_the_doc_comments_and_refuses_unknown_ones() {
    let out = Test::new().args(&["schema"]).run();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let service = &schema["$defs"]["ServiceDef"];
    assert_eq!(service["additionalProperties"], false);
    let depends = service["properties"]["depends_on"]["description"]
        .as_str()
        .unwrap();
    assert!(depends.contains("must be up"), "{depends}");
    assert_eq!(
        schema["$defs"]["Restart"]["enum"],
        serde_json::json!(["no", "always", "on-failure", "unless-stopped"])
    );
    // A model file is a fragment: no section is required.
    assert!(schema.get("required").is_none(), "{schema}");
}

fn system_of(dir: &Path) -> lucid_gen::system::System {
    let loaded = model::load_dir(dir).unwrap();
    validate::validate(loaded)
        .unwrap_or_else(|_| panic!("{}", dir.display()))
        .system
}

#[test]
fn every_fixture_has_graph_snapshots() {
    insta::glob!("..", "fixtures/*", |dir| {
        let system = system_of(dir);
        insta::assert_snapshot!("mermaid", render::graph::mermaid(&system));
        insta::assert_snapshot!("dot", render::graph::dot(&system));
    });
}

#[test]
fn the_mermaid_graph_is_the_default_and_names_every_service() {
    let model = repo_root().join("tests/fixtures/small");
    let out = Test::new()
        .args(&["graph", "--model", model.to_str().unwrap()])
        .run();
    let text = stdout(&out);
    assert!(text.contains("flowchart LR"), "{text}");
    for name in ["shop-db", "shop-api", "shop-pay-gateway", "shop-pay-worker"] {
        assert!(
            text.contains(&format!("[\"{name}\"]")),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("-.-|\"bridge\"|"), "{text}");
    assert!(text.contains("127.0.0.1:18080:8000/tcp"), "{text}");
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Test::new().args(&["completions", shell]).run();
        let text = stdout(&out);
        for sub in ["check", "graph", "schema", "secrets"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = Test::new().args(&["man"]).run();
    let text = stdout(&out);
    assert!(
        text.starts_with(".ie") || text.contains(".TH lucid-gen"),
        "{text}"
    );
    assert!(text.contains("graph"), "{text}");
    // One page: no reference to a per-command page `man` never printed.
    let other_pages: Vec<&str> = text.lines().filter(|l| l.contains("gen\\-")).collect();
    assert!(other_pages.is_empty(), "{other_pages:?}");
    assert!(text.contains("\\fBlucid\\-gen up\\fR\n"), "{text}");
    Test::new()
        .args(&["completions", "cmd.exe"])
        .status(2)
        .stderr_has("invalid value")
        .run();
    // `test` has a table and JSON lines, not GitHub annotations: refused.
    Test::new()
        .args(&["test", "--format", "github"])
        .status(2)
        .stderr_has("invalid value 'github'")
        .run();
}

/// docs/editor.md shows the repository model's graph exactly as the committed
/// `generated/system.mmd` holds it (which `generated.rs` keeps fresh).
#[test]
fn the_readme_embeds_the_committed_graph() {
    let readme = std::fs::read_to_string(repo_root().join("docs/editor.md")).unwrap();
    let graph = std::fs::read_to_string(repo_root().join("generated/system.mmd")).unwrap();
    let block = format!("```mermaid\n{graph}```\n");
    assert!(
        readme.contains(&block),
        "docs/editor.md's graph of the model differs from generated/system.mmd: paste the file into its ```mermaid block"
    );
}

/// The committed `model.schema.json` (what the example models' editor
/// header lines point at) is what `lucid-gen schema` prints.
#[test]
fn committed_schema_is_fresh_and_every_example_model_points_at_it() {
    let out = Test::new().args(&["schema"]).run();
    let committed = std::fs::read(repo_root().join("model.schema.json")).unwrap();
    assert!(
        out.stdout == committed,
        "model.schema.json is stale: run `cargo run -- schema > model.schema.json`"
    );
    let header = "# yaml-language-server: $schema=../../../model.schema.json\n";
    for file in yaml_files(&repo_root().join("tests/fixtures")) {
        let text = std::fs::read_to_string(&file).unwrap();
        // Last, so no line number in a diagnostic moves; the YAML language
        // server reads the modeline from any comment line.
        assert!(text.ends_with(header), "{} lacks {header}", file.display());
    }
}

/// What bash offers for the command line `words` (the last one being
/// completed), from the script `lucid-gen completions bash` prints: the
/// script is sourced into a real bash, whose completion function for
/// `lucid-gen` is called as bash calls it on TAB.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    const DRIVE: &str = r#"source "$1"; shift
fn=$(complete -p lucid-gen | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
"$fn" lucid-gen "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = Command::new("bash")
        .args(["-c", DRIVE, "drive"])
        .arg(script)
        .args(words)
        .output_bounded()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout(&out).lines().map(String::from).collect()
}

/// `lucid-gen up --<TAB>` offers `up`'s options in bash — subcommands,
/// option values and nested subcommands too.
#[test]
fn bash_completes_the_options_of_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("lucid-gen.bash");
    let out = Test::new().args(&["completions", "bash"]).run();
    std::fs::write(&script, &out.stdout).unwrap();
    let offered = |words: &[&str]| bash_completes(&script, words);
    let up = offered(&["lucid-gen", "up", "--"]);
    for option in ["--dry-run", "--stand-ins", "--phase", "--host", "--model"] {
        assert!(up.contains(&option.to_string()), "{option}: {up:?}");
    }
    assert_eq!(offered(&["lucid-gen", "down", "--dr"]), ["--dry-run"]);
    assert_eq!(offered(&["lucid-gen", "all", "--ch"]), ["--check"]);
    assert_eq!(
        offered(&["lucid-gen", "graph", "--format", ""]),
        ["mermaid", "dot"]
    );
    assert_eq!(
        offered(&["lucid-gen", "secrets", "rotate", "--mo"]),
        ["--model"]
    );
    assert_eq!(offered(&["lucid-gen", "pl"]), ["plan"]);
    let swarm_up = offered(&["lucid-gen", "swarm", "up", "--"]);
    for option in ["--dry-run", "--stand-ins", "--phase", "--host", "--local"] {
        assert!(
            swarm_up.contains(&option.to_string()),
            "{option}: {swarm_up:?}"
        );
    }
    assert_eq!(offered(&["lucid-gen", "swarm", "do"]), ["down"]);
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::need;
    use crate::common::tool_runs;
    use crate::common::unique_name;
    use crate::common::Down;
    use crate::common::Project;

    /// `lucid-gen schema`, written to a temp file for check-jsonschema.
    fn schema_file(dir: &Path) -> PathBuf {
        let out = Test::new().args(&["schema"]).run();
        let path = dir.join("model.schema.json");
        std::fs::write(&path, &out.stdout).unwrap();
        path
    }
    fn check_jsonschema(schema: &Path, files: &[PathBuf]) -> std::process::Output {
        Command::new("check-jsonschema")
            .arg("--schemafile")
            .arg(schema)
            .args(files)
            .output_bounded()
            .unwrap()
    }
    /// `plan` lines as `service → what`, from its stdout.
    fn plan_lines(out: &std::process::Output) -> std::collections::BTreeMap<String, String> {
        stdout(out)
            .lines()
            .filter(|l| !l.starts_with("plan:"))
            .filter_map(|l| l.split_once("  "))
            .map(|(s, what)| (s.trim().to_string(), what.trim().to_string()))
            .collect()
    }
    /// Container id of `service` in project `project`.
    fn container_id(project: &str, service: &str) -> String {
        let out = Command::new("docker")
            .args(["ps", "-q", "--no-trunc", "--filter"])
            .arg(format!("label=com.docker.compose.service={service}"))
            .arg("--filter")
            .arg(format!("label=com.docker.compose.project={project}"))
            .output_bounded()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
    /// `plan`'s (service, change) lines, by service; exit 1 (something to do).
    fn plan_of(p: &Project, prefix: &str) -> Vec<(String, String)> {
        let out = p.run().args(&["plan", "--project", prefix]).status(1).run();
        plan_lines(&out).into_iter().collect()
    }
    /// `test --format json` and `test --junit FILE` while shop-api runs with
    /// an environment the files no longer give it: one failed env check, in
    /// JSON lines and in a JUnit report that the schema and a JUnit reader
    /// accept.
    fn machine_readable_test_reports(p: &Project, prefix: &str) {
        need(
            tool_runs("xmllint", &["--version"]),
            "xmllint (libxml2-utils)",
        );
        let out = p
            .run()
            .args(&["test", "--project", prefix, "--format", "json"])
            .status(1)
            .run();
        let checks: Vec<serde_json::Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let failed: Vec<&serde_json::Value> = checks.iter().filter(|c| c["ok"] == false).collect();
        assert!(checks.len() > 10, "{checks:?}");
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["from"], "shop-api", "{failed:?}");

        let report = p.path("report.xml");
        p.run()
            .args(&[
                "test",
                "--project",
                prefix,
                "--junit",
                report.to_str().unwrap(),
            ])
            .status(1)
            .stdout_has(" 1 failed")
            .run();
        let xsd = repo_root().join("tests/junit/junit.xsd");
        let lint = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&report)
            .output_bounded()
            .unwrap();
        assert!(
            lint.status.success(),
            "{}",
            String::from_utf8_lossy(&lint.stderr)
        );
        let read = Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, junitparser\n\
                 x = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
                 cases = [c for s in x for c in s]\n\
                 bad = [c.name for c in cases if not c.is_passed]\n\
                 print(len(cases), len(bad), bad[0])",
            )
            .arg(&report)
            .output_bounded()
            .unwrap();
        let said = String::from_utf8_lossy(&read.stdout);
        assert!(
            read.status.success(),
            "{}",
            String::from_utf8_lossy(&read.stderr)
        );
        assert_eq!(
            said.split(' ').next(),
            Some(checks.len().to_string().as_str())
        );
        assert!(said.contains(" 1 shop-api"), "{said}");
    }
    /// Sources the zsh script into an interactive zsh on a pseudo-terminal
    /// (zsh's own `zpty`), types `line` and TAB, and returns what zsh's
    /// completion system offered (`compadd` reports each candidate). Each step
    /// waits for a marker the shell prints, so nothing depends on timing: TAB
    /// runs a widget that completes and then says `completed`, and the line is
    /// cleared only once it has (a minute at most, a hang guard; typed ahead,
    /// the clearing keys could land before the completion ran).
    fn zsh_completes(dir: &Path, line: &str) -> Vec<String> {
        const INIT: &str = r#"PROMPT=''
    fpath=($ZDIR $fpath)
    autoload -U compinit && compinit -u -D
    complete-then-say () { zle complete-word; print -r -- "completed" >&2 }
    zle -N complete-then-say
    bindkey '^I' complete-then-say
    compadd () {
        if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
        typeset -a hits
        builtin compadd -A hits "$@"
        (( $#hits == 0 )) && return 1
        local h; for h in $hits; do print -r -- "offered:$h" >&2; done
        builtin compadd "$@"
    }
    "#;
        const DRIVE: &str = r#"zmodload zsh/zpty
    zpty z "ZDIR=$1 zsh -f -i 2>$1/offered"
    zpty -w z "source $1/init.zsh; print RE''ADY"
    zpty -r z x '*READY*'
    zpty -w -n z "$2"$'\t'
    integer i
    for (( i = 0; i < 1200; i++ )); do
        [[ -f $1/offered ]] && grep -qx completed $1/offered && break
        sleep 0.05
    done
    zpty -w z $'\x15'"print DO''NE"
    zpty -r z x '*DONE*'
    zpty -d z"#;
        std::fs::write(dir.join("init.zsh"), INIT).unwrap();
        let out = Command::new("zsh")
            .args(["-f", "-c", DRIVE, "drive"])
            .arg(dir)
            .arg(line)
            .output_bounded()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let offered = std::fs::read_to_string(dir.join("offered")).unwrap();
        offered
            .lines()
            .filter_map(|l| l.strip_prefix("offered:"))
            .map(String::from)
            .collect()
    }

    #[test]
    fn schema_accepts_every_model_in_the_repository() {
        need(
            tool_runs("check-jsonschema", &["--version"]),
            "check-jsonschema",
        );
        let tmp = tempfile::tempdir().unwrap();
        let schema = schema_file(tmp.path());
        let mut files = yaml_files(&repo_root().join("model"));
        files.extend(yaml_files(&repo_root().join("tests/fixtures")));
        assert!(files.len() >= 5, "{files:?}");
        let out = check_jsonschema(&schema, &files);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn schema_rejects_unknown_keys_and_wrong_types_where_they_are() {
        need(
            tool_runs("check-jsonschema", &["--version"]),
            "check-jsonschema",
        );
        let tmp = tempfile::tempdir().unwrap();
        let schema = schema_file(tmp.path());
        let bad = repo_root().join("tests/bad");
        for (file, expected) in [
            ("unknown-key.yaml", "'prots' was unexpected"),
            ("wrong-type.yaml", "'thirty-two' is not of type 'integer'"),
        ] {
            let out = check_jsonschema(&schema, &[bad.join(file)]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{file} passed the schema");
            assert!(text.contains(expected), "{file}: {text}");
        }
    }

    #[test]
    fn graphviz_renders_the_dot_graph_of_every_model() {
        need(tool_runs("dot", &["-V"]), "Graphviz dot");
        let mut models = vec![repo_root().join("model")];
        models.extend(
            std::fs::read_dir(repo_root().join("tests/fixtures"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
        for model in models {
            let out = Test::new()
                .args(&["graph", "--format", "dot", "--model"])
                .args(&[model.to_str().unwrap()])
                .run();
            let tmp = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(tmp.path(), &out.stdout).unwrap();
            let svg = Command::new("dot")
                .arg("-Tsvg")
                .arg(tmp.path())
                .output_bounded()
                .unwrap();
            assert!(
                svg.status.success() && svg.stderr.is_empty(),
                "{}: dot says {}",
                model.display(),
                String::from_utf8_lossy(&svg.stderr)
            );
            assert!(String::from_utf8_lossy(&svg.stdout).contains("<svg"));
        }
    }

    #[test]
    fn plan_names_exactly_what_up_would_change() {
        let _stack = crate::common::docker_stack();
        need(
            crate::common::compose_available() && tool_runs("docker", &["info"]),
            "a running Docker engine with Compose v2",
        );
        let p = Project::fixture("small");
        let prefix = unique_name("tooling-plan");
        p.run().args(&["all"]).run();
        // Nothing runs yet: every service would be created.
        let out = p
            .run()
            .args(&["plan", "--project", &prefix])
            .status(1)
            .run();
        assert!(
            plan_lines(&out).values().all(|w| w == "create"),
            "{}",
            stdout(&out)
        );
        let _down = Down {
            project: &p,
            prefix: prefix.clone(),
            env: Vec::new(),
        };
        p.run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .run();
        p.run()
            .args(&["plan", "--project", &prefix])
            .stdout_has("plan: nothing to do (4 services up to date); 4 services run stand-ins, which `lucid-gen up` would replace with the real images")
            .run();

        // One service's environment: exactly that service, for that reason.
        let services = p.read("model/services.yaml");
        p.write(
            "model/services.yaml",
            &services.replace("      LOG_LEVEL: info\n", "      LOG_LEVEL: debug\n"),
        );
        p.run().args(&["all"]).run();
        // What runs now differs from the files: `test` reports it for machines.
        machine_readable_test_reports(&p, &prefix);
        let out = p
            .run()
            .args(&["plan", "--project", &prefix])
            .status(1)
            .run();
        let expected: Vec<(&str, &str)> = vec![
            ("shop-api", "recreate (env)"),
            ("shop-db", "unchanged"),
            ("shop-pay-gateway", "unchanged"),
            ("shop-pay-worker", "unchanged"),
        ];
        let lines = plan_lines(&out);
        let got: Vec<(&str, &str)> = lines
            .iter()
            .map(|(s, w)| (s.as_str(), w.as_str()))
            .collect();
        assert_eq!(got, expected, "{}", stdout(&out));
        let edge = format!("{prefix}-edge");
        let (api, gateway) = (
            container_id(&edge, "shop-api"),
            container_id(&edge, "shop-pay-gateway"),
        );
        p.run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .run();
        assert_ne!(
            api,
            container_id(&edge, "shop-api"),
            "shop-api was not recreated"
        );
        assert_eq!(
            gateway,
            container_id(&edge, "shop-pay-gateway"),
            "gateway was recreated"
        );
        p.run()
            .args(&["plan", "--project", &prefix])
            .stdout_has("plan: nothing to do")
            .run();

        // A rotated secret: exactly the services that receive it (issue 10:
        // API_TOKEN reaches shop-api alone, not its phase's other services).
        p.run().args(&["secrets", "rotate", "API_TOKEN"]).run();
        let rotated = "recreate (secret rotated)";
        assert_eq!(
            plan_of(&p, &prefix),
            vec![
                ("shop-api".to_string(), rotated.to_string()),
                ("shop-db".into(), "unchanged".into()),
                ("shop-pay-gateway".into(), "unchanged".into()),
                ("shop-pay-worker".into(), "unchanged".into()),
            ]
        );
        // A secret shop-db mounts as a file: its container keeps the old file
        // (a bind mount), so plan names it too, and `up` recreates exactly the
        // two that receive it.
        p.run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .run();
        p.run().args(&["secrets", "rotate", "DB_PASSWORD"]).run();
        assert_eq!(
            plan_of(&p, &prefix),
            vec![
                ("shop-api".to_string(), rotated.to_string()),
                ("shop-db".into(), rotated.into()),
                ("shop-pay-gateway".into(), "unchanged".into()),
                ("shop-pay-worker".into(), "unchanged".into()),
            ]
        );
        p.run()
            .args(&["up", "--stand-ins", "--project", &prefix])
            .run();
        p.run()
            .args(&["plan", "--project", &prefix])
            .stdout_has("plan: nothing to do")
            .run();
        assert!(!stdout(&out).contains(&p.read(".lucid-gen/secrets.env")[..8]));
    }

    /// The JUnit schema is not vacuous: a report without a test case's name
    /// or with a count that is not a number fails it.
    #[test]
    fn the_junit_schema_rejects_malformed_reports() {
        need(
            tool_runs("xmllint", &["--version"]),
            "xmllint (libxml2-utils)",
        );
        let xsd = repo_root().join("tests/junit/junit.xsd");
        for bad in [
            r#"<testsuites><testsuite name="a" tests="1"><testcase classname="a"/></testsuite></testsuites>"#,
            r#"<testsuites><testsuite name="a" tests="one"/></testsuites>"#,
            r#"<testsuite name="a" tests="1"><testcase classname="a" name="b"><oops/></testcase></testsuite>"#,
        ] {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), bad).unwrap();
            let lint = Command::new("xmllint")
                .args(["--noout", "--schema"])
                .arg(&xsd)
                .arg(file.path())
                .output_bounded()
                .unwrap();
            assert!(!lint.status.success(), "accepted: {bad}");
        }
    }

    /// The zsh and fish scripts complete subcommand options and their values
    /// too, each in its real shell.
    #[test]
    fn zsh_and_fish_complete_the_options_of_a_subcommand() {
        need(tool_runs("zsh", &["--version"]), "zsh");
        need(tool_runs("fish", &["--version"]), "fish");
        let dir = tempfile::tempdir().unwrap();
        let zsh = Test::new().args(&["completions", "zsh"]).run();
        std::fs::write(dir.path().join("_lucid-gen"), &zsh.stdout).unwrap();
        let up = zsh_completes(dir.path(), "lucid-gen up --");
        for option in ["--dry-run", "--stand-ins", "--phase", "--host"] {
            assert!(up.contains(&option.to_string()), "zsh {option}: {up:?}");
        }
        assert_eq!(
            zsh_completes(dir.path(), "lucid-gen down --d"),
            ["--dry-run"]
        );
        let fish = Test::new().args(&["completions", "fish"]).run();
        let script = dir.path().join("lucid-gen.fish");
        std::fs::write(&script, &fish.stdout).unwrap();
        let complete = |line: &str| {
            let out = Command::new("fish")
                .args(["--no-config", "-c", "source $argv[1]; complete -C $argv[2]"])
                .arg(&script)
                .arg(line)
                .output_bounded()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let text = stdout(&out);
            let words = text.lines().map(|l| l.split('\t').next().unwrap_or(l));
            words.map(String::from).collect::<Vec<_>>()
        };
        let up = complete("lucid-gen up --");
        for option in ["--dry-run", "--stand-ins", "--phase", "--host"] {
            assert!(up.contains(&option.to_string()), "fish {option}: {up:?}");
        }
        assert_eq!(complete("lucid-gen graph --format "), ["dot", "mermaid"]);
    }
}
