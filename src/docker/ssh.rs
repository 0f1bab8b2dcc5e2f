//! One SSH connection per host per command: [`Remote`] is a model host
//! (`hosts.<name>`) and, once [`Remote::connect`]ed, its [`Session`] — a
//! master connection (`ControlMaster`) whose socket lives in a private
//! 0700 directory, over which every later command of the run is one more
//! session (`ControlMaster=no`), never a new TCP connection or login.
//!
//! Every `ssh` runs with `BatchMode=yes` (never a password prompt),
//! `StrictHostKeyChecking=yes` against one known_hosts file and nothing
//! else: the model's own file, or — for a pinned fingerprint — a file
//! written here from `ssh-keyscan` holding only the key whose SHA256
//! fingerprint is the pinned one. An unknown or changed key is refused
//! before anything runs on the host, with the fingerprint it offers.
//!
//! The master's own session runs `cat`, reading from a pipe lucid-gen
//! holds: when lucid-gen ends — normally or killed — the pipe closes, the
//! session ends and the master exits after the last command.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

use base64::Engine;
use sha2::Digest;

use super::error::{DockerError, ErrorKind};
use crate::escape::shell_quote;
use crate::system::{DeployHost, HostKeyPin};

/// A model host, and its connection once made.
pub struct Remote {
    pub host: DeployHost,
    /// The model directory, absolute: a relative known_hosts path starts
    /// there.
    model_dir: PathBuf,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({})", self.host.name)
    }
}

/// The open connection: its private directory, the master process and
/// the pipe whose end ends it.
struct Session {
    dir: tempfile::TempDir,
    known_hosts: PathBuf,
    master: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.stdin.take());
        // The master exits once its session and every command ended.
        for _ in 0..50 {
            if let Ok(Some(_)) = self.master.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

impl Remote {
    pub fn new(host: DeployHost, model_dir: &Path) -> Remote {
        Remote {
            host,
            model_dir: model_dir.to_path_buf(),
            session: Mutex::new(None),
        }
    }

    /// `user@address:port`, for messages.
    pub fn destination(&self) -> String {
        let h = &self.host;
        match h.address.contains(':') {
            true => format!("{}@[{}]:{}", h.user, h.address, h.port),
            false => format!("{}@{}:{}", h.user, h.address, h.port),
        }
    }

    /// How the user would reach the host by hand: `ssh -p PORT USER@ADDRESS`.
    pub fn ssh_line(&self) -> String {
        let h = &self.host;
        format!("ssh -p {} {}@{}", h.port, h.user, h.address)
    }

    /// The known_hosts file the model names, resolved: `~/` is the home
    /// directory, a relative path starts at the model directory.
    fn known_hosts_file(&self, file: &str) -> PathBuf {
        match file.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(rest),
            None => self.model_dir.join(file),
        }
    }

    /// What the host key is pinned to, for messages.
    fn pinned(&self) -> String {
        match &self.host.pin {
            HostKeyPin::Fingerprint(fp) => format!("the pinned fingerprint {fp}"),
            HostKeyPin::KnownHosts(file) => {
                format!("known_hosts file {}", self.known_hosts_file(file).display())
            }
        }
    }

    /// The options every `ssh` of this host takes.
    fn options(&self, known_hosts: &Path, control: &Path, master: bool) -> Vec<OsString> {
        let mut opts: Vec<OsString> = vec!["-T".into()];
        let mut o = |kv: String| {
            opts.push("-o".into());
            opts.push(kv.into());
        };
        o("BatchMode=yes".into());
        o("StrictHostKeyChecking=yes".into());
        o(format!("UserKnownHostsFile={}", known_hosts.display()));
        o("GlobalKnownHostsFile=/dev/null".into());
        o("UpdateHostKeys=no".into());
        o("ConnectTimeout=15".into());
        o("ServerAliveInterval=10".into());
        o("ServerAliveCountMax=3".into());
        o(format!("ControlPath={}", control.display()));
        o(format!(
            "ControlMaster={}",
            if master { "yes" } else { "no" }
        ));
        o("ControlPersist=no".into());
        opts.extend(["-p".into(), self.host.port.to_string().into()]);
        opts.extend(["-l".into(), self.host.user.clone().into()]);
        opts
    }

    /// Opens the connection (once per run): the host key checked against
    /// its pin, then the master started and awaited.
    pub fn connect(&self) -> Result<(), DockerError> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_some() {
            return Ok(());
        }
        let dir = tempfile::Builder::new()
            .prefix("lucid-gen-ssh.")
            .tempdir()
            .map_err(|e| super::io_error("create", std::env::temp_dir(), e))?;
        let known_hosts = match &self.host.pin {
            HostKeyPin::Fingerprint(fp) => self.pinned_known_hosts(fp, dir.path())?,
            HostKeyPin::KnownHosts(file) => self.known_hosts_file(file),
        };
        let log = dir.path().join("ssh.log");
        let mut master = Command::new("ssh")
            .args(self.options(&known_hosts, &dir.path().join("c"), true))
            .arg("-E")
            .arg(&log)
            .arg("--")
            .arg(&self.host.address)
            .arg("echo lucid-gen-ready; exec cat >/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| not_found("ssh", e))?;
        let stdin = master.stdin.take();
        let mut line = String::new();
        if let Some(out) = master.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "lucid-gen-ready" {
            let _ = master.kill();
            let _ = master.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(self.connect_failed(&log));
        }
        *guard = Some(Session {
            dir,
            known_hosts,
            master,
            stdin,
        });
        Ok(())
    }

    /// Why the master did not come up: an unknown or changed host key
    /// (with what the host offers), or anything else ssh said.
    fn connect_failed(&self, log: &str) -> DockerError {
        let offered = self.offered_keys().unwrap_or_default();
        let offered = offered.iter().map(|(_, fp)| fp.clone()).collect();
        let (host, at, pinned) = (self.host.name.clone(), self.destination(), self.pinned());
        if log.contains("IDENTIFICATION HAS CHANGED")
            || log.contains("key for") && log.contains("has changed")
        {
            return ErrorKind::HostKeyChanged {
                host,
                at,
                offered,
                pinned,
            }
            .into();
        }
        if log.contains("host key is known for") || log.contains("Host key verification failed") {
            return ErrorKind::HostKeyUnknown {
                host,
                at,
                offered,
                pinned,
            }
            .into();
        }
        let detail = log
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("ssh exited");
        ErrorKind::Unreachable {
            host,
            at,
            detail: detail.trim().to_string(),
        }
        .into()
    }

    /// The host's keys as `ssh-keyscan` sees them: (known_hosts line,
    /// `TYPE SHA256:…`).
    fn offered_keys(&self) -> Result<Vec<(String, String)>, DockerError> {
        let out = Command::new("ssh-keyscan")
            .args(["-T", "10", "-p", &self.host.port.to_string(), "--"])
            .arg(&self.host.address)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| not_found("ssh-keyscan", e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok((text.lines())
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| Some((l.to_string(), fingerprint(l)?)))
            .collect())
    }

    /// A known_hosts file holding only the host's key whose fingerprint is
    /// `fp`; the key must be offered.
    fn pinned_known_hosts(&self, fp: &str, dir: &Path) -> Result<PathBuf, DockerError> {
        let offered = self.offered_keys()?;
        let matching: Vec<&String> = (offered.iter())
            .filter(|(_, f)| f.ends_with(&format!(" {fp}")))
            .map(|(line, _)| line)
            .collect();
        if matching.is_empty() {
            let (host, at, pinned) = (self.host.name.clone(), self.destination(), self.pinned());
            let offered: Vec<String> = offered.into_iter().map(|(_, f)| f).collect();
            return Err(match offered.is_empty() {
                true => ErrorKind::Unreachable {
                    host,
                    at,
                    detail: "ssh-keyscan got no host key (is sshd listening there?)".into(),
                },
                false => ErrorKind::HostKeyChanged {
                    host,
                    at,
                    offered,
                    pinned,
                },
            }
            .into());
        }
        let path = dir.join("known_hosts");
        let text: String = matching.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).map_err(|e| super::io_error("write", &path, e))?;
        Ok(path)
    }

    /// The `ssh` process that runs `line` (a shell line whose words are
    /// quoted) on the host over the open connection, connecting first.
    pub(super) fn command(&self, line: &str) -> Result<Command, DockerError> {
        self.connect()?;
        let guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let session = guard.as_ref().expect("connected above");
        let mut c = Command::new("ssh");
        c.args(self.options(&session.known_hosts, &session.dir.path().join("c"), false))
            .arg("--")
            .arg(&self.host.address)
            .arg(line);
        Ok(c)
    }

    /// Closes the connection (the master exits after the last command).
    pub fn disconnect(&self) {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        drop(guard.take());
    }
}

/// `TYPE SHA256:…` of a known_hosts or `ssh-keyscan` line
/// (`host key-type base64`), as `ssh-keygen -lf` prints it.
pub fn fingerprint(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let (_host, kind, blob) = (words.next()?, words.next()?, words.next()?);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    let digest = sha2::Sha256::digest(&bytes);
    let fp = base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest);
    let name = match kind {
        "ssh-ed25519" => "ED25519".to_string(),
        "ssh-rsa" => "RSA".to_string(),
        k if k.starts_with("ecdsa-") => "ECDSA".to_string(),
        k => k.to_uppercase(),
    };
    Some(format!("{name} SHA256:{fp}"))
}

/// A shell line running `program args…` on the host: every word quoted,
/// after `cd DIR &&` when a directory is given.
pub fn remote_line(program: &str, args: &[OsString], cwd: Option<&Path>) -> String {
    let mut line = String::new();
    if let Some(dir) = cwd {
        line.push_str(&format!("cd {} && ", shell_quote(&dir.to_string_lossy())));
    }
    line.push_str(&shell_quote(program).to_string());
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(&a.to_string_lossy()).to_string());
    }
    line
}

fn not_found(program: &str, error: std::io::Error) -> DockerError {
    ErrorKind::NotFound {
        program: program.to_string(),
        error,
        hint: "; install an OpenSSH client".into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_what_ssh_keygen_prints() {
        // `ssh-keygen -lf` of this key prints
        // 256 SHA256:89L+9G0ycLgBhtuu3FvQ6WvLmu+fIYfo7jEzYQ4lWiw host (ED25519)
        let line = "[127.0.0.1]:2222 ssh-ed25519 \
                    AAAAC3NzaC1lZDI1NTE5AAAAICCfjHJPcZMBQLL/tOx5wevkdQ68Ot8BGrFgfPYcLarv";
        assert_eq!(
            fingerprint(line).unwrap(),
            "ED25519 SHA256:89L+9G0ycLgBhtuu3FvQ6WvLmu+fIYfo7jEzYQ4lWiw"
        );
        assert_eq!(fingerprint("host ssh-ed25519 !!notbase64"), None);
    }

    #[test]
    fn remote_lines_reach_the_shell_as_the_same_arguments() {
        let args: Vec<OsString> = vec!["compose".into(), "-f".into(), "/opt/a b/x.yml".into()];
        assert_eq!(
            remote_line("docker", &args, Some(Path::new("/opt/a b"))),
            "cd '/opt/a b' && docker compose -f '/opt/a b/x.yml'"
        );
        let evil: Vec<OsString> = vec!["$(touch x)".into(), "a'b".into()];
        assert_eq!(
            remote_line("echo", &evil, None),
            "echo '$(touch x)' 'a'\\''b'"
        );
    }
}
