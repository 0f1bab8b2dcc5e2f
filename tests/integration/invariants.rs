//! House rules that hold for the source tree as a whole: only `docker/`
//! runs processes, and no modelled system's names appear in `src/` or in
//! any help text.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{files_under, repo_root, Test};

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// `grep -rn "Command::new" src/ | grep -v src/docker/` finds nothing, and
/// no file outside `docker/` builds a `Cmd` either: processes run in one
/// module only, where `--dry-run` printing and secret hygiene live.
#[test]
fn only_the_docker_module_runs_processes() {
    let src = repo_root().join("src");
    let docker = src.join("docker");
    let files: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(&docker))
        .collect();
    let found = lines_using(
        &files,
        &[
            "Command::new",
            "Cmd::new",
            "Cmd::docker",
            "process::Command",
        ],
    );
    assert!(
        found.is_empty(),
        "processes started outside src/docker/:\n{}",
        found.join("\n")
    );
    // The check looks where processes really are started.
    let cmd_rs = fs::read_to_string(docker.join("cmd.rs")).unwrap();
    assert!(cmd_rs.contains("Command::new"));
}

/// Names that belong to the modelled systems: each model's system name,
/// registry namespace, service and network names, plus words from its
/// documentation that no generic tool would use.
fn system_names() -> Vec<String> {
    let mut names = vec!["tron".to_string(), "raspberry".into(), "seed 0".into()];
    let loaded = lucid_gen::model::load_dir(&repo_root().join("model")).expect("model/ loads");
    let system = lucid_gen::validate::validate(loaded)
        .unwrap_or_else(|_| panic!("model/ is invalid"))
        .system;
    names.push(system.name.clone());
    names.push(system.registry_namespace.clone());
    names.extend(system.services.iter().map(|s| s.name.clone()));
    names.extend(system.networks.iter().map(|n| n.name.clone()));
    names.iter().map(|n| n.to_lowercase()).collect()
}

/// Where `text` names a modelled system; the tool's own name (`lucid-gen`,
/// `lucid_gen`, roff's `lucid\-gen` and the completion script's mangled
/// `lucid__gen`, `lucid__subcmd__gen`) does not count.
fn hits(text: &str, names: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line
            .to_lowercase()
            .replace("lucid-gen", "")
            .replace("lucid_gen", "")
            .replace("lucid\\\\-gen", "")
            .replace("lucid\\-gen", "")
            .replace("lucid__subcmd__gen", "")
            .replace("lucid__gen", "");
        if let Some(name) = names.iter().find(|name| lower.contains(name.as_str())) {
            out.push((n + 1, format!("`{name}` in: {}", line.trim())));
        }
    }
    out
}

#[test]
fn no_system_names_in_the_source() {
    let names = system_names();
    assert!(names.len() > 5, "{names:?}");
    let mut found = Vec::new();
    for file in rust_files(&repo_root().join("src")) {
        let text = fs::read_to_string(&file).unwrap();
        let rel = relative(&file);
        found.extend(
            hits(&text, &names)
                .into_iter()
                .map(|(n, h)| format!("{rel}:{n}: {h}")),
        );
    }
    assert!(
        found.is_empty(),
        "system names in src/ (examples must be generic):\n{}",
        found.join("\n")
    );
}

/// Subcommand names from `--help`'s command list.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn no_system_names_in_any_help_text() {
    let names = system_names();
    let help = |args: &[&str]| {
        let out = Test::new().args(args).run();
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    let mut pages = vec![(String::from("--help"), top.clone())];
    let commands = subcommands(&top);
    assert!(commands.len() >= 9, "{commands:?} from\n{top}");
    for cmd in commands {
        let page = help(&[&cmd, "--help"]);
        for sub in subcommands(&page) {
            pages.push((format!("{cmd} {sub} --help"), help(&[&cmd, &sub, "--help"])));
        }
        pages.push((format!("{cmd} --help"), page));
    }
    let found: Vec<String> = pages
        .iter()
        .flat_map(|(args, page)| {
            hits(page, &names)
                .into_iter()
                .map(move |(n, h)| format!("lucid-gen {args}, line {n}: {h}"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "system names in help text:\n{}",
        found.join("\n")
    );
}

/// The longest file and function the house allows: past these, a newcomer
/// cannot hold a unit in their head (ARCHITECTURE.md, "Invariants").
const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 80;

/// `text` with string and char literals and `//` comments blanked, so the
/// braces left are the code's own.
fn code_only(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            '\'' if matches!(chars.clone().nth(1), Some('\'')) => {
                chars.next();
                chars.next();
            }
            '\'' if chars.peek() == Some(&'\\') => {
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

/// `(name, first line, length)` of every function with a body in `text`.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = code_only(line);
        let Some(at) = code.find("fn ") else { continue };
        let before = code[..at].trim();
        let is_item = before
            .split_whitespace()
            .all(|w| w.starts_with("pub") || ["const", "async", "unsafe", "extern"].contains(&w));
        if !is_item {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut opened) = (0i64, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            let code = code_only(l);
            if !opened && code.trim_end().ends_with(';') {
                break; // a declaration without a body
            }
            for c in code.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if opened && depth <= 0 {
                out.push((name.clone(), i + 1, j - i + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_file_over_800_lines_and_no_function_over_80() {
    let mut found = Vec::new();
    for file in rust_files(&repo_root().join("src")) {
        let text = fs::read_to_string(&file).unwrap();
        let rel = relative(&file);
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            found.push(format!("{rel}: {lines} lines (at most {MAX_FILE_LINES})"));
        }
        for (name, at, len) in functions(&text) {
            if len > MAX_FN_LINES {
                found.push(format!(
                    "{rel}:{at}: fn {name} is {len} lines (at most {MAX_FN_LINES})"
                ));
            }
        }
    }
    assert!(found.is_empty(), "too long:\n{}", found.join("\n"));
}

/// The measuring itself works: a long function and a string full of braces.
#[test]
fn function_lengths_are_measured_by_their_braces() {
    let body = "    let x = 1;\n".repeat(90);
    let text = format!(
        "fn short() -> &'static str {{\n    \"}}}}{{\"\n}}\n\npub(crate) fn long() {{\n{body}}}\n"
    );
    let found = functions(&text);
    assert_eq!(
        found,
        vec![("short".to_string(), 1, 3), ("long".to_string(), 5, 92)]
    );
}

/// What code that does I/O names: the file system, the network, processes,
/// and the stages that write or run things.
const IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "crate::write",
    "crate::docker",
    "File::",
];

/// `render`, `compose_files` and `escape` are pure: model in, text out. They never
/// touch the disk, the network or a process, and render never reaches into
/// `write` (the output map lives in `output.rs`).
#[test]
fn render_plan_and_escape_do_no_io() {
    let src = repo_root().join("src");
    let mut files = rust_files(&src.join("render"));
    files.extend(rust_files(&src.join("escape")));
    files.push(src.join("compose_files.rs"));
    let found = lines_using(&files, IO);
    assert!(
        found.is_empty(),
        "I/O in a pure stage:\n{}",
        found.join("\n")
    );
}

/// Every open of a path the user controls goes through
/// `src/regular_file.rs`: a regular file only (never a FIFO, which blocks,
/// or a device, which never ends), whole-file reads bounded. Elsewhere in
/// `src/` (tests aside) no file is opened, read or written by path, except
/// where the list below says why.
#[test]
fn every_open_of_a_user_path_is_a_bounded_regular_file() {
    let src = repo_root().join("src");
    // (file, why it may open by path)
    let allowed = [
        ("src/regular_file.rs", "the helper itself"),
        (
            "src/write/jail.rs",
            "directories (O_DIRECTORY); files via regular_file, modes via fstat",
        ),
        (
            "src/write/stage.rs",
            "temporary files it creates with O_CREAT | O_EXCL",
        ),
        ("src/write/mod.rs", "directories (O_DIRECTORY)"),
        (
            "src/write/lock.rs",
            "the output directory itself (O_DIRECTORY)",
        ),
        (
            "src/docker/standin.rs",
            "files it writes into a temporary directory it made",
        ),
        (
            "src/docker/dclint.rs",
            "the settings it writes into a temporary directory it made",
        ),
        (
            "src/docker/layers.rs",
            "the spool file of a `docker save` it writes into a temporary file it made",
        ),
        (
            "src/docker/ssh.rs",
            "its log and known_hosts, in the private socket directory it made",
        ),
        (
            "src/import/stage.rs",
            "the model files it writes into the staging directory it made",
        ),
        (
            "src/docker/deploy/run.rs",
            "the kernel's /proc/sys/kernel/hostname, for the lock's note",
        ),
    ];
    let files: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(src.join("bin")))
        .filter(|f| !allowed.iter().any(|(a, _)| relative(f) == *a))
        .collect();
    let patterns = [
        "File::open",
        "File::create",
        "OpenOptions",
        "fs::read(",
        "fs::read_to_string(",
        "fs::write(",
        "fs::open(",
        "openat(",
    ];
    let found: Vec<String> = lines_using(&files, &patterns)
        .into_iter()
        .filter(|l| !l.contains("/tests.rs:"))
        .collect();
    let outside_tests: Vec<&String> = found
        .iter()
        .filter(|l| {
            let (file, rest) = l.split_once(':').unwrap();
            let line: usize = rest.split(':').next().unwrap().parse().unwrap();
            let text = fs::read_to_string(file).unwrap();
            let tests_at = text.lines().position(|l| l.starts_with("#[cfg(test)]"));
            tests_at.is_none_or(|t| line <= t)
        })
        .collect();
    assert!(
        outside_tests.is_empty(),
        "files opened by path outside src/regular_file.rs (use regular_file::read / open):\n{}",
        outside_tests
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The helper is what the readers use.
    for user in [
        "src/model/mod.rs",
        "src/secrets.rs",
        "src/docker/image_archive.rs",
    ] {
        let text = fs::read_to_string(repo_root().join(user)).unwrap();
        assert!(text.contains("regular_file::"), "{user}");
    }
}

/// `import`'s mapping is pure too: Compose's project and the files' text
/// in, a model draft, its YAML and the report out. Reading the files
/// (`sources.rs`), writing the model (`stage.rs`) and running Compose
/// (`docker/compose_config.rs`) are the only I/O of the command.
#[test]
fn import_mapping_does_no_io() {
    let dir = repo_root().join("src/import");
    let pure = [
        "compose.rs",
        "draft.rs",
        "emit.rs",
        "known.rs",
        "map.rs",
        "report.rs",
        "secret_moves.rs",
        "service.rs",
        "topology.rs",
    ];
    let files: Vec<PathBuf> = pure.iter().map(|f| dir.join(f)).collect();
    let found = lines_using(&files, &[IO, &["canonicalize"]].concat());
    assert!(
        found.is_empty(),
        "I/O in import's mapping:\n{}",
        found.join("\n")
    );
    // Every file of the module is either pure or one of the three that
    // are not, so a new file must choose.
    let mut all: Vec<String> = rust_files(&dir)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    all.sort();
    let mut expected: Vec<String> = pure.iter().map(|f| f.to_string()).collect();
    expected.extend(["mod.rs", "sources.rs", "stage.rs"].map(String::from));
    expected.sort();
    assert_eq!(all, expected);
}

/// `file:line: text` of every line of `files` whose code (strings and
/// comments aside) uses one of `patterns`.
fn lines_using(files: &[PathBuf], patterns: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = code_only(line);
            if patterns.iter().any(|p| code.contains(p)) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

/// `file` relative to the repository root, for messages.
fn relative(file: &Path) -> String {
    file.strip_prefix(repo_root())
        .unwrap()
        .display()
        .to_string()
}

/// `main.rs` parses, dispatches and prints (`show.rs` how); the pipeline lives in the
/// library (`generate`, `workspace`, `docker`), where tests and the bench
/// call it too. It stays small, and it reads, writes and locks nothing
/// itself.
#[test]
fn main_only_dispatches() {
    let main = repo_root().join("src/main.rs");
    let text = fs::read_to_string(&main).unwrap();
    let lines = text.lines().count();
    assert!(lines < 250, "src/main.rs has {lines} lines (under 250)");
    let show = repo_root().join("src/show.rs");
    let found = lines_using(
        &[main, show],
        &[
            "std::fs",
            "File::",
            "RunLock",
            "render::render",
            "write::apply",
            "write::compare",
            "secrets::resolve",
            "validate::validate",
            "model::load_dir",
            "OnceLock",
        ],
    );
    assert!(
        found.is_empty(),
        "pipeline work in main.rs:\n{}",
        found.join("\n")
    );
}

/// The tiers hold: every test that needs a tool (`need(…)`: Docker,
/// Compose, a linter) is in the Docker tier, under `tests/integration/
/// docker_tier/` or after its file's `mod docker_tier {`, so `cargo test`
/// without Docker stays green and the filter `docker_tier::` selects the
/// whole Docker tier. The fast tier may need what building the project
/// already needs: the Rust toolchain and git.
#[test]
fn every_test_that_needs_a_tool_is_in_the_docker_tier() {
    let fast_tier_tools = ["\"rustc", "\"git\""];
    let dir = repo_root().join("tests/integration");
    let tier = dir.join("docker_tier");
    let mut found = Vec::new();
    for file in rust_files(&dir) {
        if file.starts_with(&tier) || file.ends_with("common.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let inner = text.find("\nmod docker_tier {").unwrap_or(text.len());
        for (n, line) in text[..inner].lines().enumerate() {
            let needs_a_tool = code_only(line).contains("need(")
                && !fast_tier_tools.iter().any(|t| line.contains(t));
            if needs_a_tool {
                found.push(format!("{}:{}: {}", relative(&file), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "tests that need a tool outside the Docker tier (move them into the \
         file's `#[cfg(feature = \"docker\")] mod docker_tier`):\n{}",
        found.join("\n")
    );
}

/// Every command a test runs to its end goes through
/// `common::OutputBounded` (or `Test::run`, which does): a hung `docker`
/// or `lucid-gen` fails its own test at `common::command_limit` instead
/// of holding the whole run until CI stops it with no word of what hung.
/// `pipes.rs` is the one exception: it hands the command a pipe of its own
/// as stdout, and its commands need no engine. (A test that spawns a child
/// to feed or kill it waits for it itself.)
#[test]
fn every_command_a_test_runs_is_bounded() {
    let dir = repo_root().join("tests/integration");
    let files: Vec<PathBuf> = rust_files(&dir)
        .into_iter()
        .filter(|f| !f.ends_with("pipes.rs") && !f.ends_with("invariants.rs"))
        .collect();
    let found = lines_using(&files, &[".output()"]);
    assert!(
        found.is_empty(),
        "commands run without the suite's bound (use `.output_bounded()` \
         from `common::OutputBounded`):\n{}",
        found.join("\n")
    );
}

/// A command that outlives the limit is killed with what it started, and
/// the test says which command hung and what it printed; one that ends
/// in time returns its output as `Command::output` would.
#[test]
fn a_hung_command_fails_its_test_naming_it() {
    use crate::common::{output_within, OutputBounded};
    use std::process::Command;
    use std::time::{Duration, Instant};

    let out = Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output_bounded()
        .unwrap();
    assert_eq!(
        (out.status.code(), &out.stdout[..], &out.stderr[..]),
        (Some(3), &b"out\n"[..], &b"err\n"[..])
    );
    assert!(Command::new("/nonexistent/program")
        .output_bounded()
        .is_err());

    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!(
        "sleep 300 & echo $! > {}; echo started; wait",
        pid_file.display()
    );
    let started = Instant::now();
    let hung = std::panic::catch_unwind(|| {
        output_within(
            Command::new("sh").args(["-c", &script]),
            Duration::from_secs(2),
        )
    });
    let message = *hung
        .expect_err("the hung command returned")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains("was still running after 2 s") && message.contains("started"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    // The grandchild went with it: the whole process group was killed.
    let pid = fs::read_to_string(&pid_file).unwrap();
    let gone = (0..100).any(|_| {
        let alive = Path::new("/proc").join(pid.trim()).join("stat");
        let zombie_or_gone = fs::read_to_string(&alive)
            .map_or(true, |stat| stat.split_whitespace().nth(2) == Some("Z"));
        if !zombie_or_gone {
            std::thread::sleep(Duration::from_millis(50));
        }
        zombie_or_gone
    });
    assert!(gone, "the hung command's child {pid} outlived it");
}

/// Standard output is written through `lucid_gen::stdout` (`out!`,
/// `outln!`) only, which ends quietly on a closed pipe; `print!` and
/// `println!` panic there. (The stand-in server in `src/bin/` is not the
/// command line.)
#[test]
fn stdout_is_written_only_through_the_quiet_writer() {
    let src = repo_root().join("src");
    let files: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|f| !f.starts_with(src.join("bin")))
        .collect();
    let found: Vec<String> = lines_using(&files, &["print!(", "println!(", "io::stdout()"])
        .into_iter()
        .filter(|line| {
            let code = line
                .replace("eprint", "")
                .replace("io::stdout().lock()", "");
            code.contains("print!(") || code.contains("println!(") || code.contains("io::stdout()")
        })
        .collect();
    assert!(
        found.is_empty(),
        "stdout written around src/stdout.rs:\n{}",
        found.join("\n")
    );
}
