//! `lucid-gen up`: starts the system phase by phase, each health-gated
//! with `docker compose up -d --wait`, after checking, for every selected
//! phase before any starts, that every host port it publishes is free,
//! every network it attaches to exists (or an earlier selected phase
//! creates it), and no network it creates already belongs to another
//! stack on this engine, and, with `--stand-ins`, that every service's
//! stand-in can answer its health check. Each problem names the service,
//! port, network or probe.

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};

use super::progress::Progress;
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

/// The compose project a Docker network belongs to: `Some("")` when it
/// exists without a compose label, `None` when it does not exist.
fn network_project(name: &str) -> Option<String> {
    let out = Cmd::docker()
        .args(["network", "inspect", "--format"])
        .arg("{{index .Labels \"com.docker.compose.project\"}}")
        .arg(name)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Networks the plan attaches to that do not exist and that no phase
/// started before it in this run creates, and networks it creates that
/// another stack already holds under the same name.
fn network_problems(
    dep: &Deployment,
    plan: &ComposePlan,
    project: &str,
    earlier: &[usize],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, usage) in &plan.networks {
        let net = &dep.system.networks[*n];
        match usage {
            NetworkUse::External { owner } => {
                if !earlier.contains(owner) && network_project(&net.name).is_none() {
                    problems.push(format!(
                        "network `{}` does not exist: bring up phase `{}` first",
                        net.name, dep.system.phases[*owner].name
                    ));
                }
            }
            NetworkUse::Define => match network_project(&net.name) {
                Some(owner) if owner != project => problems.push(format!(
                    "network `{}` already exists and belongs to {}: another stack on this \
                     engine uses the name; take it down first",
                    net.name,
                    if owner.is_empty() {
                        "no compose project".to_string()
                    } else {
                        format!("project `{owner}`")
                    }
                )),
                _ => {}
            },
        }
    }
    problems
}

/// Every problem that would stop a selected phase, found before any
/// phase starts, so a clash never leaves a half-started system.
fn preflight(dep: &Deployment, plans: &[ComposePlan], opts: &UpOptions) -> Result<(), DockerError> {
    let mut problems = Vec::new();
    let mut earlier = Vec::new();
    for plan in plans {
        let project = dep.project(plan, opts.project.as_deref());
        let running = running_services(&project)?;
        let services = plan.services.iter().map(|&i| &dep.system.services[i]);
        let stand_in_problems = services
            .filter(|_| opts.stand_ins)
            .flat_map(standin::unhonourable);
        let found = busy_ports(dep, plan, &running)
            .into_iter()
            .chain(network_problems(dep, plan, &project, &earlier))
            .chain(stand_in_problems);
        problems.extend(found.map(|p| format!("{}: {p}", plan.file_name)));
        earlier.extend(plan.phase);
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(DockerError::Other(format!(
        "cannot start; nothing was started:\n  {}",
        problems.join("\n  ")
    )))
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

/// Running services of `plan` whose container still mounts an older secret
/// file or secret-bearing config file (see `secret_check::stale_mounts`):
/// Compose would leave them as they are.
fn stale_secret_mounts(
    dep: &Deployment,
    plan: &ComposePlan,
    project: &str,
) -> Result<Vec<String>, DockerError> {
    // Only a service that mounts a secret file can go stale this way: ask
    // the engine nothing when the phase has none.
    let mounts_secrets = |i: &usize| {
        let s = &dep.system.services[*i];
        crate::render::delivery::mounts(&dep.system, s)
            .iter()
            .any(|m| m.secret)
    };
    if !plan.services.iter().any(mounts_secrets) {
        return Ok(Vec::new());
    }
    let found = super::probe::containers(&[project.to_string()])?;
    let mut stale = Vec::new();
    for &i in &plan.services {
        let s = &dep.system.services[i];
        let running = found.get(&s.name).into_iter().flatten();
        for c in running.filter(|c| c.running) {
            if super::secret_check::stale_mounts(dep, s, &c.started_at)? {
                stale.push(s.name.clone());
                break;
            }
        }
    }
    Ok(stale)
}

pub fn run(dep: &Deployment, opts: &UpOptions) -> Result<(), DockerError> {
    let plans = dep.plans(opts.phase.as_deref())?;
    preflight(dep, &plans, opts)?;
    let standins: Option<StandIns> = if opts.stand_ins {
        Some(standin::prepare(dep)?)
    } else {
        None
    };
    let progress = Progress::new(plans.len(), "phases");
    for plan in &plans {
        let project = dep.project(plan, opts.project.as_deref());
        progress.message(&plan.file_name);
        let mut files = vec![dep.compose_path(plan)];
        if let Some(s) = &standins {
            files.push(standin::write_override(dep, plan, &project, s)?);
        }
        progress.line(&format!("==> {} (project {project})", plan.file_name));
        let stale = stale_secret_mounts(dep, plan, &project)?;
        if !stale.is_empty() {
            progress.line(&format!(
                "    recreating {} (a secret file they mount changed)",
                stale.join(", ")
            ));
            let recreate = Cmd::compose(&project, &files)
                .args([
                    "up",
                    "-d",
                    "--wait",
                    "--wait-timeout",
                    "600",
                    "--force-recreate",
                ])
                .args(&stale);
            progress.suspend(|| recreate.run_visible())?;
        }
        let up =
            Cmd::compose(&project, &files).args(["up", "-d", "--wait", "--wait-timeout", "600"]);
        if let Err(e) = progress.suspend(|| up.run_visible()) {
            let _ = progress.suspend(|| print_status(&project));
            return Err(e);
        }
        progress.suspend(|| print_status(&project))?;
        progress.inc();
    }
    Ok(())
}
