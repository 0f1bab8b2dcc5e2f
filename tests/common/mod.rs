//! Shared test helpers: a builder that runs the real `lucid-gen` binary
//! (after `just`'s `Test::new().args(..).status(..).run()`), and scratch
//! projects made from the fixture models.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_lucid-gen");

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch project: a temp dir holding `model/` (a copy of a fixture or
/// of the repository's model), where `lucid-gen` runs with its defaults.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A copy of `tests/fixtures/<name>` as `model/`.
    pub fn fixture(name: &str) -> Project {
        Project::from_model(&repo_root().join("tests/fixtures").join(name))
    }

    /// A copy of the repository's own `model/`.
    pub fn lucid() -> Project {
        Project::from_model(&repo_root().join("model"))
    }

    pub fn from_model(model: &Path) -> Project {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(model, &dir.path().join("model"));
        Project { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under `rel` with its bytes, for before/after comparisons.
    pub fn snapshot_tree(&self, rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.path(rel), &mut out);
        out.sort();
        out
    }

    /// A command running in this project.
    pub fn run(&self) -> Test {
        Test::new().current_dir(self.dir.path())
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            let bytes = fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One run of the binary and what it must do.
pub struct Test {
    command: Command,
    /// `None`: any exit status is fine.
    status: Option<i32>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            command: Command::new(BIN),
            status: Some(0),
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
        }
    }

    pub fn current_dir(mut self, dir: &Path) -> Test {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.command.env(key, value);
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.command.args(args);
        self
    }

    pub fn status(mut self, status: i32) -> Test {
        self.status = Some(status);
        self
    }

    /// Accepts any exit status (the caller checks what matters).
    pub fn status_any(mut self) -> Test {
        self.status = None;
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Test {
        self.stdout_has.push(text.to_string());
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Test {
        self.stderr_has.push(text.to_string());
        self
    }

    /// Runs the command and checks the exit status and expected output.
    pub fn run(mut self) -> Output {
        let output = self.command.output().expect("run lucid-gen");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!(
            "{:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            self.command
        );
        if let Some(status) = self.status {
            assert_eq!(
                output.status.code(),
                Some(status),
                "exit status of {context}"
            );
        }
        for want in &self.stdout_has {
            assert!(
                stdout.contains(want.as_str()),
                "stdout lacks {want:?}: {context}"
            );
        }
        for want in &self.stderr_has {
            assert!(
                stderr.contains(want.as_str()),
                "stderr lacks {want:?}: {context}"
            );
        }
        assert!(!stderr.contains("panicked"), "panic: {context}");
        output
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A test that needs a tool runs or fails; it never passes without
/// running. Without the tool (Docker Engine, Compose v2, hadolint,
/// compose-lint, dclint: `.ci/install-docker.sh` installs them all) the
/// test fails with a message saying what is missing, under CI and
/// outside it alike.
pub fn need(available: bool, what: &str) {
    assert!(
        available,
        "this test needs {what}, which is not available here: install it \
         (as root: bash .ci/install-docker.sh) and run the test again; a \
         Docker test never passes without running"
    );
}

/// [`need`] for call sites written as `if !require_tool(..) { return; }`:
/// returns `true` or fails the test, never `false`.
pub fn require_tool(available: bool, what: &str) -> bool {
    need(available, what);
    true
}

/// A name no other run on this Docker engine uses: `<what>-<pid>-<n>`,
/// for compose projects, image namespaces and networks.
pub fn unique_name(what: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `docker compose` (Compose v2) runs here.
pub fn compose_available() -> bool {
    Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success())
}
