//! A reader that stops reading (`lucid-gen schema | head -1`) closes the
//! pipe: every command then ends quietly — no panic, no "Broken pipe"
//! error, exit 0 when its work succeeded (`src/stdout.rs`). Each command
//! runs once with its stdout already closed (every write fails, so the
//! test cannot pass by luck) and a few times through a real `| head -1`.

use std::process::{Command, Stdio};

use crate::common::{Project, BIN};

/// Every command that runs without Docker, with output worth cutting short.
const COMMANDS: &[&[&str]] = &[
    &["schema"],
    &["man"],
    &["completions", "bash"],
    &["completions", "zsh"],
    &["completions", "fish"],
    &["--help"],
    &["up", "--help"],
    &["check"],
    &["graph"],
    &["graph", "--format", "dot"],
    &["all"],
    &["all", "--check"],
    &["up", "--dry-run"],
    &["up", "--dry-run", "--stand-ins"],
    &["down", "--dry-run"],
    &["build", "--dry-run"],
];

/// A project whose generated files are current.
fn project() -> Project {
    let p = Project::fixture("forge");
    let args = ["all"];
    let out = Command::new(BIN)
        .args(args)
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // The build contexts `build` looks for.
    for context in ["web", "worker", "ssh", "hooks", "search"] {
        std::fs::create_dir_all(p.path(context)).unwrap();
    }
    p
}

/// No docker on PATH: a command that asked the engine would fail loudly.
fn no_docker() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn every_command_ends_quietly_on_a_closed_stdout() {
    let p = project();
    let empty = no_docker();
    for args in COMMANDS {
        // Its output is wanted: the command prints something at all.
        let open = Command::new(BIN)
            .args(*args)
            .current_dir(p.dir.path())
            .env("PATH", empty.path())
            .output()
            .unwrap();
        assert!(open.status.success(), "{args:?}: {open:?}");
        assert!(!open.stdout.is_empty(), "{args:?} printed nothing");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let closed = Command::new(BIN)
            .args(*args)
            .current_dir(p.dir.path())
            .env("PATH", empty.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&closed.stderr);
        assert_eq!(closed.status.code(), Some(0), "{args:?}: {stderr}");
        // What it says on stderr with its stdout open, and nothing more.
        assert_eq!(stderr, String::from_utf8_lossy(&open.stderr), "{args:?}");
    }
}

/// `lucid-gen ARGS | head -1` in a real shell: lucid-gen's own exit
/// status, its stderr, and the line `head` kept.
fn through_head(p: &Project, args: &[&str]) -> (String, String, String) {
    let script = format!(
        "\"$0\" {} 2>\"$1\" | head -1; echo \"status=${{PIPESTATUS[0]}}\"",
        args.join(" ")
    );
    let err = p.dir.path().join("stderr");
    let out = Command::new("bash")
        .args(["-c", &script, BIN, &err.display().to_string()])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let (first, status) = shown.split_once("status=").unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    (first.to_string(), status.trim().to_string(), stderr)
}

#[test]
fn every_command_piped_through_head_ends_quietly() {
    let p = project();
    for args in COMMANDS {
        // A few runs each: whether `head` is gone before the second write
        // is a race, and the test must see both sides of it.
        for _ in 0..3 {
            let (first, status, stderr) = through_head(&p, args);
            assert_eq!(status, "0", "{args:?}: {stderr}");
            assert!(!first.is_empty(), "{args:?}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        }
    }
}
