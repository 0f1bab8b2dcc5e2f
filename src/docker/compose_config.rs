//! `docker compose config --format json` for `lucid-gen import`: Compose's
//! own reading of a user's compose files — interpolation (the shell and
//! the project's `.env`), merging of several `-f` files, `extends`,
//! `include`, every profile — and of the env files their services name.
//!
//! Nothing here writes into the user's tree: Compose's `config` only reads,
//! and the one file this module writes (the env-file probe) is a temporary
//! file outside it, removed when the call returns.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::{io_error, Cmd, DockerError, ErrorKind};

/// What Compose printed: the normalised project as JSON, the same without
/// interpolation (where each value came from: `${VAR}` or literal text),
/// and its warnings (unset variables, obsolete keys), one per line.
#[derive(Debug)]
pub struct ComposeConfig {
    pub json: String,
    pub raw_json: String,
    pub warnings: Vec<String>,
}

/// `docker compose --profile '*' -f F1 -f F2 … config --format json`, run
/// in the first file's directory (Compose's project directory), so no
/// service hides behind a profile and relative paths resolve as the user's
/// own `docker compose` resolves them.
pub fn config(files: &[PathBuf]) -> Result<ComposeConfig, DockerError> {
    let mut cmd = Cmd::docker().args(["compose", "--profile", "*"]);
    for f in files {
        cmd = cmd.arg("-f").arg(f);
    }
    cmd = cmd.args(["config", "--format", "json"]);
    if let Some(dir) = files.first().and_then(|f| f.parent()) {
        cmd = cmd.cwd(dir);
    }
    let (json, warnings) = run(&cmd)?;
    let (raw_json, _) = run(&cmd.arg("--no-interpolate"))?;
    Ok(ComposeConfig {
        json,
        raw_json,
        warnings,
    })
}

/// The variables of each env file, as Compose reads them (its own dotenv
/// syntax, interpolated from the environment and the project's `.env`):
/// one probe service per file in a temporary compose file, configured
/// with `project_dir` as the project directory.
pub fn env_files(
    project_dir: &Path,
    files: &[PathBuf],
) -> Result<Vec<IndexMap<String, Option<String>>>, DockerError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let services: serde_json::Map<String, serde_json::Value> = (files.iter().enumerate())
        .map(|(i, f)| {
            let service = serde_json::json!({
                "image": "scratch",
                "env_file": [{ "path": f.to_string_lossy(), "required": true }],
            });
            (format!("f{i}"), service)
        })
        .collect();
    let probe = serde_json::json!({ "services": services });
    let other = |e: std::io::Error| io_error("write a temporary file in", std::env::temp_dir(), e);
    let mut file = tempfile::Builder::new()
        .prefix("lucid-gen-import-env.")
        .suffix(".json")
        .tempfile()
        .map_err(other)?;
    std::io::Write::write_all(&mut file, probe.to_string().as_bytes()).map_err(other)?;
    let cmd = Cmd::docker()
        .args(["compose", "--project-directory"])
        .arg(project_dir)
        .arg("-f")
        .arg(file.path())
        .args(["config", "--format", "json"])
        .cwd(project_dir);
    let (json, _) = run(&cmd)?;
    let parsed: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| ErrorKind::ToolOutput {
            command: cmd.to_string(),
            error: e.to_string(),
        })?;
    Ok((0..files.len())
        .map(|i| {
            let env = &parsed["services"][format!("f{i}")]["environment"];
            (env.as_object().into_iter().flatten())
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string)))
                .collect()
        })
        .collect())
}

/// A log line's message: Compose logs `time="…" level=warning msg="…"`;
/// the time would make the report differ between two runs.
fn message(line: &str) -> String {
    match line.split_once(" msg=\"") {
        Some((_, rest)) => (rest.strip_suffix('"').unwrap_or(rest)).replace("\\\"", "\""),
        None => line.to_string(),
    }
}

/// Runs `cmd`; stdout is the JSON, stderr's lines the warnings.
fn run(cmd: &Cmd) -> Result<(String, Vec<String>), DockerError> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(cmd.failed(&out));
    }
    let warnings = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(message)
        .collect();
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), warnings))
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_lose_their_time() {
        let line =
            r#"time="2026-01-01T00:00:00Z" level=warning msg="The \"X\" variable is not set.""#;
        assert_eq!(super::message(line), r#"The "X" variable is not set."#);
        assert_eq!(super::message("plain"), "plain");
    }
}
