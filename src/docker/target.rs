//! [`Target`]: where Docker work runs — the one seam between what a
//! command does and the engine it does it on. Every engine-facing command
//! of `up`, `down`, `test` and `plan` is made here ([`Target::docker`],
//! [`Target::compose`], [`Target::shell`]), every host-side question asked
//! here ([`Target::port_free`], [`Target::modified`], where the generated
//! files are: [`Target::files_root`]), and the compose project label read
//! through [`PROJECT_LABEL`]. A host over SSH ([`Host::Ssh`]) is the same
//! code with each command run over the host's one connection, not a
//! second code path.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::ssh::Remote;
use super::{Cmd, DockerError, Workspace};
use crate::compose_files::ComposeFile;
use crate::system::{DeployHost, Protocol};

/// The label Compose puts on every container and network of a project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// The label Compose puts on every container: its service.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// The label Compose puts on every container: its replica number.
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";

/// The machine whose engine runs the work.
#[derive(Debug, Clone)]
pub enum Host {
    /// The engine the local `docker` CLI talks to.
    Local,
    /// A model host, over one SSH connection per command.
    Ssh(Arc<SshTarget>),
}

/// A host over SSH and what was learnt about it during this run.
#[derive(Debug)]
pub struct SshTarget {
    pub remote: Arc<Remote>,
    /// Sockets bound on the host (`/proc/net`), read once per run.
    bound: OnceLock<Vec<Bound>>,
}

/// A socket bound on a host: protocol, address, port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub protocol: Protocol,
    pub ip: IpAddr,
    pub port: u16,
}

/// Where a plan's steps run.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: Host,
}

impl Target {
    /// This machine's engine.
    pub const LOCAL: Target = Target { host: Host::Local };

    /// Model host `host` over SSH (not connected until a command runs).
    pub fn ssh(host: &DeployHost, model_dir: &Path) -> Target {
        Target {
            host: Host::Ssh(Arc::new(SshTarget {
                remote: Arc::new(Remote::new(host.clone(), model_dir)),
                bound: OnceLock::new(),
            })),
        }
    }

    /// The model host, when the target is one.
    pub fn remote(&self) -> Option<&Arc<Remote>> {
        match &self.host {
            Host::Local => None,
            Host::Ssh(t) => Some(&t.remote),
        }
    }

    /// `program` on the target.
    fn on_target(&self, cmd: Cmd) -> Cmd {
        match &self.host {
            Host::Local => cmd,
            Host::Ssh(t) => cmd.on(&t.remote),
        }
    }

    /// `docker …` on the target's engine.
    pub fn docker(&self) -> Cmd {
        self.on_target(Cmd::docker())
    }

    /// `sh -c SCRIPT sh ARGS…` on the target: a fixed script (no model
    /// text in it), every value a positional argument.
    pub fn shell(&self, script: &'static str, args: &[&str]) -> Cmd {
        let cmd = Cmd::new("sh").args(["-c", script, "sh"]).args(args);
        self.on_target(cmd)
    }

    /// `docker compose -p PROJECT -f FILE… …` on the target, run in the
    /// directory of the first file so relative paths resolve as users see
    /// them.
    pub fn compose(&self, project: &str, files: &[PathBuf]) -> Cmd {
        let mut cmd = self.docker().arg("compose").arg("-p").arg(project);
        for f in files {
            cmd = cmd.arg("-f").arg(f);
        }
        if let Some(dir) = files.first().and_then(|f| f.parent()) {
            cmd = cmd.cwd(dir);
        }
        cmd
    }

    /// Where the generated files are on the target: the output directory
    /// here, the current release on a host.
    pub fn files_root(&self, ws: &Workspace) -> PathBuf {
        match &self.host {
            Host::Local => ws.out_dir.clone(),
            Host::Ssh(t) => Path::new(&t.remote.host.directory).join("current"),
        }
    }

    /// A compose file as the target's engine reads it.
    pub fn compose_path(&self, ws: &Workspace, plan: &ComposeFile) -> PathBuf {
        (self.files_root(ws))
            .join(&ws.system.output.compose_dir)
            .join(&plan.file_name)
    }

    /// The platform images must have to run on the target: the model's
    /// here, the host's there.
    pub fn platform<'a>(&'a self, ws: &'a Workspace) -> &'a str {
        match &self.host {
            Host::Local => &ws.system.platform,
            Host::Ssh(t) => &t.remote.host.platform,
        }
    }

    /// The `--filter` value selecting a compose project's objects.
    pub fn project_filter(project: &str) -> String {
        format!("label={PROJECT_LABEL}={project}")
    }

    /// Whether `port` can be bound on `ip` on the target's host: `Ok`, or
    /// why not (something else holds it).
    pub fn port_free(&self, ip: IpAddr, port: u16, protocol: Protocol) -> Result<(), String> {
        match &self.host {
            Host::Local => match protocol {
                Protocol::Tcp => TcpListener::bind((ip, port)).map(drop),
                Protocol::Udp => UdpSocket::bind((ip, port)).map(drop),
            }
            .map_err(|e| e.to_string()),
            Host::Ssh(t) => {
                let bound = match t.bound.get() {
                    Some(b) => b,
                    None => {
                        let read = self.shell(super::remote::BOUND_SOCKETS, &[]).run();
                        let text = read.map_err(|e| e.to_string())?;
                        t.bound.get_or_init(|| super::remote::parse_bound(&text))
                    }
                };
                let clash = bound.iter().find(|b| {
                    b.protocol == protocol
                        && b.port == port
                        && (b.ip.is_unspecified() || ip.is_unspecified() || b.ip == ip)
                });
                match clash {
                    None => Ok(()),
                    Some(b) => Err(format!("the host already has a socket bound on {}", b.ip)),
                }
            }
        }
    }

    /// When each file was last modified on the target (nanoseconds since
    /// the epoch), in the order given.
    pub fn modified(&self, paths: &[PathBuf]) -> Result<Vec<u128>, DockerError> {
        match &self.host {
            Host::Local => (paths.iter())
                .map(|path| {
                    let modified = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .map_err(|e| super::io_error("read", path, e))?;
                    Ok((modified.duration_since(std::time::UNIX_EPOCH))
                        .map(|d| d.as_nanos())
                        .unwrap_or(0))
                })
                .collect(),
            Host::Ssh(_) => {
                let args: Vec<String> = (paths.iter())
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = self.shell(super::remote::MODIFIED, &args).run()?;
                Ok(out.lines().map(super::remote::parse_nanos).collect())
            }
        }
    }

    /// How plans and messages name the target.
    pub fn describe(&self) -> String {
        match &self.host {
            Host::Local => "the local engine".to_string(),
            Host::Ssh(t) => format!("host `{}` ({})", t.remote.host.name, t.remote.destination()),
        }
    }

    /// Opens the connection to a host now (nothing to do locally).
    pub fn connect(&self) -> Result<(), DockerError> {
        match self.remote() {
            Some(r) => r.connect(),
            None => Ok(()),
        }
    }
}
