//! dclint (docker-compose-linter, from npm) on compose files: runs it
//! with the settings in `dclint.yml` (two ordering rules switched off, each
//! with its reason) and reads its JSON report. What the model accepts for
//! the compose-lint rule that finds the same problem is written off in the
//! compose file itself (`render::lint::written_off`), so dclint honours it
//! at any settings and one stated reason covers both linters.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{io_error, Cmd, DockerError};
use crate::regular_file::{read_text, Follow};

/// The settings `verify` runs dclint with.
pub const SETTINGS: &str = include_str!("dclint.yml");

/// dclint's JSON report on one compose file.
const MAX_REPORT_BYTES: u64 = 64 << 20;

/// Loads dclint's own command line with two memos (the same text parsed
/// once, the Compose schema compiled once): see the file's comment.
const DRIVER: &str = include_str!("dclint_driver.cjs");

/// A scratch directory holding the settings file, the driver and each
/// report.
pub struct Dclint {
    dir: tempfile::TempDir,
    /// dclint's Node script when `dclint` on `PATH` is one (then it runs
    /// through `node` and the driver); `None`: `dclint` runs as it is.
    script: Option<PathBuf>,
}

impl Dclint {
    pub fn new() -> Result<Dclint, DockerError> {
        let io =
            |e: std::io::Error| io_error("prepare dclint's settings in", std::env::temp_dir(), e);
        let dir = tempfile::Builder::new()
            .prefix("lucid-gen-dclint-")
            .tempdir()
            .map_err(io)?;
        std::fs::write(dir.path().join("dclint.yml"), SETTINGS).map_err(io)?;
        let script = node_script("dclint");
        if script.is_some() {
            std::fs::write(dir.path().join("driver.cjs"), DRIVER).map_err(io)?;
        }
        Ok(Dclint { dir, script })
    }

    fn report_path(&self) -> PathBuf {
        self.dir.path().join("report.json")
    }

    /// The command that lints `files` into the report file.
    pub fn cmd(&self, files: &[&Path]) -> Cmd {
        let program = match &self.script {
            Some(script) => Cmd::new("node")
                .arg(self.dir.path().join("driver.cjs"))
                .arg(script),
            None => Cmd::new("dclint"),
        };
        program
            .args(files.iter().copied())
            .arg("-c")
            .arg(self.dir.path().join("dclint.yml"))
            .args(["--color=false", "-f", "json", "-o"])
            .arg(self.report_path())
    }

    /// `None` when dclint finds nothing, else one line per finding
    /// (`line:column severity rule: message`).
    pub fn check(&self, file: &Path) -> Result<Option<String>, DockerError> {
        let cmd = self.cmd(&[file]);
        let (out, report) = self.run(&cmd)?;
        let Some(report) = report else {
            // No report: dclint itself failed; its own words say why.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().next().unwrap_or("").trim();
            return Ok(Some(format!("`{cmd}` failed ({}): {first}", out.status)));
        };
        let findings: Vec<String> = report
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["messages"].as_array())
            .flatten()
            .map(describe)
            .collect();
        Ok((!findings.is_empty()).then(|| findings.join("\n")))
    }

    /// One dclint run over every file: per file (in order), what
    /// [`Dclint::check`] says of it alone; `None` when dclint wrote no
    /// report (it failed as a whole: check the files one by one to say why).
    pub fn check_many(&self, files: &[&Path]) -> Result<Option<Vec<Option<String>>>, DockerError> {
        let (_, report) = self.run(&self.cmd(files))?;
        let Some(report) = report else {
            return Ok(None);
        };
        let entries = report.as_array().cloned().unwrap_or_default();
        let same = |reported: &str, file: &Path| {
            let reported = Path::new(reported);
            reported == file
                || reported
                    .canonicalize()
                    .ok()
                    .is_some_and(|r| file.canonicalize().ok() == Some(r))
        };
        Ok(Some(
            files
                .iter()
                .map(|file| {
                    let findings: Vec<String> = entries
                        .iter()
                        .filter(|e| e["filePath"].as_str().is_some_and(|p| same(p, file)))
                        .filter_map(|e| e["messages"].as_array())
                        .flatten()
                        .map(describe)
                        .collect();
                    (!findings.is_empty()).then(|| findings.join("\n"))
                })
                .collect(),
        ))
    }

    /// Runs `cmd` and reads its JSON report (none when dclint wrote none).
    fn run(&self, cmd: &Cmd) -> Result<(std::process::Output, Option<Value>), DockerError> {
        let report = self.report_path();
        let _ = std::fs::remove_file(&report);
        let out = cmd.output()?;
        let parsed = read_text(&report, Follow::NotLast, MAX_REPORT_BYTES)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok());
        Ok((out, parsed))
    }
}

/// The Node script `program` on `PATH` is (its real path), when it is one:
/// a `.js` or `.cjs` file whose first line runs `node`.
fn node_script(program: &str) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })?;
    let real = found.canonicalize().ok()?;
    let ext = real.extension()?.to_str()?;
    if !matches!(ext, "js" | "cjs") {
        return None;
    }
    let mut head = [0u8; 64];
    let n = std::io::Read::read(&mut std::fs::File::open(&real).ok()?, &mut head).ok()?;
    let first = head[..n].split(|b| *b == b'\n').next()?;
    let first = std::str::from_utf8(first).ok()?;
    (first.starts_with("#!") && first.contains("node")).then_some(real)
}

fn describe(finding: &Value) -> String {
    format!(
        "dclint {}:{} {} {}: {}",
        finding["line"].as_u64().unwrap_or(0),
        finding["column"].as_u64().unwrap_or(0),
        finding["type"].as_str().unwrap_or("finding"),
        finding["rule"].as_str().unwrap_or("?"),
        finding["message"].as_str().unwrap_or("")
    )
}
