//! `lucid-gen up`: starts the system phase by phase, each health-gated
//! with `docker compose up -d --wait`, after checking that every host port
//! it publishes is free and every network it attaches to exists.

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};

use super::standin::{self, StandIns};
use super::{Cmd, Deployment, DockerError};
use crate::plan::{ComposePlan, NetworkUse};
use crate::system::Protocol;

pub struct UpOptions {
    pub phase: Option<String>,
    pub stand_ins: bool,
    /// Compose project prefix; default: the names in the compose files.
    pub project: Option<String>,
}

/// Services of `project` that have a running container.
pub fn running_services(project: &str) -> Result<Vec<String>, DockerError> {
    let out = Cmd::docker()
        .args(["ps", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .args(["--format", "{{.Label \"com.docker.compose.service\"}}"])
        .run()?;
    Ok(out.lines().map(str::to_string).collect())
}

/// Host ports the plan publishes that something else already holds.
fn busy_ports(dep: &Deployment, plan: &ComposePlan, running: &[String]) -> Vec<String> {
    let mut busy = Vec::new();
    for &i in &plan.services {
        let s = &dep.system.services[i];
        if running.contains(&s.name) {
            continue; // Its own container holds the port.
        }
        for p in &s.ports {
            let Some(host) = p.host else { continue };
            let ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            let (free, proto) = match p.protocol {
                Protocol::Tcp => (TcpListener::bind((ip, host.0)).map(drop), "tcp"),
                Protocol::Udp => (UdpSocket::bind((ip, host.0)).map(drop), "udp"),
            };
            if let Err(e) = free {
                busy.push(format!(
                    "host port {}/{proto} on {ip} for `{}`: {e}",
                    host.0, s.name
                ));
            }
        }
    }
    busy
}

/// Networks created by an earlier phase that do not exist yet.
fn missing_networks(dep: &Deployment, plan: &ComposePlan) -> Vec<String> {
    plan.networks
        .iter()
        .filter_map(|(n, usage)| match usage {
            NetworkUse::External { owner } => {
                let net = &dep.system.networks[*n];
                let exists = Cmd::docker()
                    .args(["network", "inspect", "--format", "{{.Name}}", &net.name])
                    .output()
                    .is_ok_and(|o| o.status.success());
                (!exists).then(|| {
                    format!(
                        "network `{}` does not exist: bring up phase `{}` first",
                        net.name, dep.system.phases[*owner].name
                    )
                })
            }
            NetworkUse::Define => None,
        })
        .collect()
}

/// Prints each service's state and health.
pub fn print_status(project: &str) -> Result<(), DockerError> {
    let out = Cmd::docker()
        .args(["ps", "-a", "--filter"])
        .arg(format!("label=com.docker.compose.project={project}"))
        .args([
            "--format",
            "{{.Label \"com.docker.compose.service\"}}\t{{.Status}}",
        ])
        .run()?;
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    for line in lines {
        let (service, status) = line.split_once('\t').unwrap_or((line, ""));
        println!("  {service:<34} {status}");
    }
    Ok(())
}

pub fn run(dep: &Deployment, opts: &UpOptions) -> Result<(), DockerError> {
    let plans = dep.plans(opts.phase.as_deref())?;
    let standins: Option<StandIns> = if opts.stand_ins {
        Some(standin::prepare(dep)?)
    } else {
        None
    };
    for plan in &plans {
        let project = dep.project(plan, opts.project.as_deref());
        let running = running_services(&project)?;
        let mut problems = busy_ports(dep, plan, &running);
        problems.extend(missing_networks(dep, plan));
        if !problems.is_empty() {
            return Err(DockerError::Other(format!(
                "cannot start {}:\n  {}",
                plan.file_name,
                problems.join("\n  ")
            )));
        }
        let mut files = vec![dep.compose_path(plan)];
        if let Some(s) = &standins {
            files.push(standin::write_override(dep, plan, &project, s)?);
        }
        println!("==> {} (project {project})", plan.file_name);
        let up =
            Cmd::compose(&project, &files).args(["up", "-d", "--wait", "--wait-timeout", "600"]);
        if let Err(e) = up.run_visible() {
            let _ = print_status(&project);
            return Err(e);
        }
        print_status(&project)?;
    }
    Ok(())
}
