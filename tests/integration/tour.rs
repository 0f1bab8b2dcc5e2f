//! The README's "First ten minutes" is real: its first ```sh block (make a
//! directory beside the clone, copy the example model in) is run verbatim
//! from a scratch clone, then every ```console block, in order, in the
//! directory it made, and what it shows must be what the commands print. `...` on a line of its own
//! stands for any lines; inside a line, for any text. Between the blocks
//! the test does what the prose says (step 8 sets `LOG_LEVEL: debug` on
//! `shop-api` and runs `lucid-gen all`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{copy_dir, repo_root, OutputBounded, BIN};

/// The README's tour section.
fn section() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("\n## First ten minutes")
        .expect("the README has a tour");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// The tour's first ```sh block: where the reader makes the model.
fn setup() -> String {
    let section = section();
    let start = section.find("```sh\n").expect("the tour has a sh block") + 6;
    let len = section[start..].find("```").unwrap();
    section[start..start + len].to_string()
}

/// Whether `line` is what `pattern` shows: equal, or with each `...` in it
/// standing for any text (runs of spaces, a table's padding, count as one).
fn line_matches(pattern: &str, line: &str) -> bool {
    let squeeze = |s: &str| {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (pattern, line) = (squeeze(pattern), squeeze(line));
    let (pattern, line) = (pattern.as_str(), line.as_str());
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether `output` shows `expected`: its lines in order, adjacent unless
/// a `...` line stands between them.
fn shows(expected: &[String], output: &str) -> Result<(), String> {
    let actual: Vec<&str> = output.lines().collect();
    let mut at = 0;
    let mut gap = true;
    for want in expected {
        if want == "..." {
            gap = true;
            continue;
        }
        let found = match gap {
            true => (at..actual.len()).find(|&i| line_matches(want, actual[i])),
            false => (at < actual.len() && line_matches(want, actual[at])).then_some(at),
        };
        match found {
            Some(i) => at = i + 1,
            None => return Err(format!("missing or out of order: {want:?}")),
        }
        gap = false;
    }
    Ok(())
}

fn run(dir: &Path, cmd: &str) -> String {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} 2>&1"))
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("CI")
        .output_bounded()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where the tour's first step leaves the reader: its ```sh block run
/// verbatim in a clone (as much of one as the step reads) named
/// `lucid-gen`, where Install leaves the reader, in a scratch directory.
fn made_by_the_first_step(scratch: &Path) -> PathBuf {
    let clone = scratch.join("lucid-gen");
    let small = "tests/fixtures/small";
    copy_dir(&repo_root().join(small), &clone.join(small));
    let pwd = run(&clone, &format!("set -e\n{}pwd", setup()));
    let dir = PathBuf::from(pwd.lines().last().unwrap_or_default());
    assert!(dir.join("model/system.yaml").is_file(), "{pwd}");
    assert!(dir.join("model/.lucid-gen.schema.json").is_file(), "{pwd}");
    assert_ne!(dir, clone, "the tour works beside the clone");
    dir
}

/// The first step, without Docker: run verbatim from a clone, it makes
/// the model directory beside it, and `check` accepts what it copied.
#[test]
fn the_tours_first_step_works_from_where_install_leaves_the_reader() {
    let scratch = tempfile::tempdir().unwrap();
    let shop = made_by_the_first_step(scratch.path());
    let checked = run(&shop, "lucid-gen check");
    assert!(
        checked.starts_with("model/ is valid: 4 services"),
        "{checked}"
    );
}

#[test]
fn tour_output_matching() {
    let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(shows(&want(&["a", "...", "c"]), "a\nb\nc\n").is_ok());
    assert!(shows(&want(&["a", "c"]), "a\nb\nc\n").is_err());
    assert!(shows(&want(&["x (program ...)"]), "x (program /tmp/a)\n").is_ok());
    assert!(shows(&want(&["c", "a"]), "a\nc\n").is_err());
    assert!(line_matches("net ...:9) ok", "net shop (10.0.0.3:9) ok"));
    assert!(!line_matches("net ...:9) ok", "net shop (10.0.0.3:9) FAIL"));
}

/// The tests of this family that need Docker or the tools
/// `.ci/install-*.sh` installs (the Docker tier: `--features docker`).
#[cfg(feature = "docker")]
mod docker_tier {
    use super::*;
    use crate::common::docker_available;
    use crate::common::docker_stack;
    use crate::common::need;

    impl Drop for TourDown {
        fn drop(&mut self) {
            run(&self.0, "lucid-gen down --volumes --project shop");
        }
    }

    /// The tour's console blocks: each a list of (command, expected lines).
    fn tour() -> Vec<Vec<(String, Vec<String>)>> {
        let section = section();
        let mut blocks = Vec::new();
        let mut lines = section.lines();
        while let Some(line) = lines.next() {
            if line != "```console" {
                continue;
            }
            let mut block: Vec<(String, Vec<String>)> = Vec::new();
            for line in lines.by_ref() {
                if line == "```" {
                    break;
                }
                match line.strip_prefix("$ ") {
                    Some(cmd) => block.push((cmd.to_string(), Vec::new())),
                    None => block
                        .last_mut()
                        .expect("output after a command")
                        .1
                        .push(line.to_string()),
                }
            }
            blocks.push(block);
        }
        blocks
    }
    /// Takes the tour's system down (volumes too) when the test ends, passed
    /// or not; its outcome is not asserted (a panic while unwinding aborts).
    struct TourDown(PathBuf);

    #[test]
    fn the_readme_tour_shows_what_the_commands_print() {
        need(
            docker_available(),
            "a running Docker engine with Compose v2",
        );
        let _stack = docker_stack();
        let scratch = tempfile::tempdir().unwrap();
        let shop = made_by_the_first_step(scratch.path());
        let _down = TourDown(shop.clone());
        let blocks = tour();
        assert!(blocks.len() >= 5, "the tour has its console blocks");
        let mut failures = Vec::new();
        for block in &blocks {
            if block[0].0 == "lucid-gen plan" {
                let path = shop.join("model/services.yaml");
                let services = std::fs::read_to_string(&path).unwrap();
                let changed = services.replacen("LOG_LEVEL: info", "LOG_LEVEL: debug", 1);
                assert_ne!(services, changed, "shop-api has LOG_LEVEL: info");
                std::fs::write(&path, &changed).unwrap();
                run(&shop, "lucid-gen all");
            }
            for (cmd, expected) in block {
                let output = run(&shop, cmd);
                if let Err(why) = shows(expected, &output) {
                    failures.push(format!("$ {cmd}\n{why}\n--- it printed:\n{output}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}
