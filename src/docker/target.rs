//! [`Target`]: where Docker work runs — the one seam between what a
//! command does and the engine it does it on. Every engine-facing command
//! of `up`, `down`, `test` and `plan` is made here ([`Target::docker`],
//! [`Target::compose`]), every host-side check asked here
//! ([`Target::port_free`]), and the compose project label read through
//! [`PROJECT_LABEL`] — so a remote host or a cluster is a new [`Host`]
//! variant, not a second code path.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::PathBuf;

use super::Cmd;
use crate::system::Protocol;

/// The label Compose puts on every container and network of a project.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// The label Compose puts on every container: its service.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// The label Compose puts on every container: its replica number.
pub const NUMBER_LABEL: &str = "com.docker.compose.container-number";

/// The machine whose engine runs the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// The engine the local `docker` CLI talks to.
    Local,
}

/// Where a plan's steps run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Host,
}

impl Target {
    /// This machine's engine.
    pub const LOCAL: Target = Target { host: Host::Local };

    /// `docker …` on the target's engine.
    pub fn docker(&self) -> Cmd {
        match self.host {
            Host::Local => Cmd::docker(),
        }
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

    /// The `--filter` value selecting a compose project's objects.
    pub fn project_filter(project: &str) -> String {
        format!("label={PROJECT_LABEL}={project}")
    }

    /// Whether `port` can be bound on `ip` on the target's host: `Ok`, or
    /// why not (something else holds it).
    pub fn port_free(&self, ip: IpAddr, port: u16, protocol: Protocol) -> Result<(), String> {
        match self.host {
            Host::Local => match protocol {
                Protocol::Tcp => TcpListener::bind((ip, port)).map(drop),
                Protocol::Udp => UdpSocket::bind((ip, port)).map(drop),
            }
            .map_err(|e| e.to_string()),
        }
    }

    /// How plans and messages name the target.
    pub fn describe(&self) -> &'static str {
        match self.host {
            Host::Local => "the local engine",
        }
    }
}
