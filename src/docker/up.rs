//! `lucid-gen up`: starts the system phase by phase, each health-gated
//! with `docker compose up -d --wait`. [`plan`] computes the steps without
//! an engine: first one preflight step checking, for every selected phase
//! before any starts, that every host port it publishes is free, every
//! network it attaches to exists (or an earlier selected phase creates
//! it), no network it creates already belongs to another stack, and, with
//! `--stand-ins`, that every service's stand-in can answer its health
//! check; then the stand-in images, then per phase the recreation of
//! services whose mounted secret went stale and the phase itself.
//! `--dry-run` prints that plan; [`run`] hands it to the runner.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::standin;
use super::steps::{self, Action, Plan, Precheck, StandInOverride, Step, UP_ARGS};
use super::target::Target;
use super::{DockerError, Workspace};
use crate::compose_files::{ComposeFile, NetworkUse};

pub struct UpOptions {
    pub phase: Option<String>,
    pub stand_ins: bool,
    /// Compose project prefix; default: the names in the compose files.
    pub project: Option<String>,
}

/// What `up` would do, computed without an engine (on a host: see
/// `deploy::plan`, which adds the release steps around the same ones).
pub fn plan(ws: &Workspace, target: &Target, opts: &UpOptions) -> Result<Plan, DockerError> {
    if target.remote().is_some() {
        return super::deploy::plan(ws, target, opts);
    }
    let plans = ws.plans(opts.phase.as_deref())?;
    let projects: Vec<(ComposeFile, String)> = (plans.iter())
        .map(|p| (p.clone(), ws.project(p, opts.project.as_deref())))
        .collect();
    let overrides = standin_overrides(ws, &projects, opts);
    let override_paths: Vec<Option<PathBuf>> = (0..plans.len())
        .map(|i| overrides.get(i).map(|o| o.path.clone()))
        .collect();
    let phase_steps = phase_steps(ws, target, &plans, &override_paths, opts, 600);
    let mut steps = vec![Step {
        name: format!("preflight on {}", target.describe()),
        action: Action::Preflight(prechecks(ws, &plans, opts)),
    }];
    if opts.stand_ins {
        steps.push(Step {
            name: "stand-in images".into(),
            action: Action::StandIns {
                overrides,
                platform: ws.system.platform.clone(),
            },
        });
    }
    steps.extend(phase_steps);
    let title = format!(
        "up: {} phase(s) on {}{}",
        plans.len(),
        target.describe(),
        if opts.stand_ins { ", as stand-ins" } else { "" }
    );
    Ok(Plan { title, steps })
}

/// With `--stand-ins`, where each phase's override is written here.
pub(super) fn standin_overrides(
    ws: &Workspace,
    projects: &[(ComposeFile, String)],
    opts: &UpOptions,
) -> Vec<StandInOverride> {
    match opts.stand_ins {
        false => Vec::new(),
        true => (projects.iter())
            .map(|(p, project)| StandInOverride {
                path: standin::override_path(ws, project),
                plan: p.clone(),
                project: project.clone(),
            })
            .collect(),
    }
}

/// Per phase: the recreation of services whose mounted secret went stale
/// (only phases that mount one), then `compose up -d --wait` with
/// `deadline` seconds, on `target`, with each phase's override (if any).
pub(super) fn phase_steps(
    ws: &Workspace,
    target: &Target,
    plans: &[ComposeFile],
    overrides: &[Option<PathBuf>],
    opts: &UpOptions,
    deadline: u64,
) -> Vec<Step> {
    let mut phase_steps = Vec::new();
    for (i, phase) in plans.iter().enumerate() {
        let project = ws.project(phase, opts.project.as_deref());
        let mut files = vec![target.compose_path(ws, phase)];
        files.extend(overrides.get(i).cloned().flatten());
        let secret_mounts = secret_mounting_services(ws, phase);
        if !secret_mounts.is_empty() {
            phase_steps.push(Step {
                name: format!("secrets of {}", phase.file_name),
                action: Action::RecreateStaleSecrets {
                    project: project.clone(),
                    files: files.clone(),
                    services: secret_mounts,
                },
            });
        }
        let after_up = super::after_up::steps(ws, target, phase, &project, &files, deadline);
        phase_steps.push(Step {
            name: format!("{} (project {project})", phase.file_name),
            action: Action::Compose {
                cmd: target
                    .compose(&project, &files)
                    .args(UP_ARGS)
                    .arg(deadline.to_string()),
                project,
            },
        });
        phase_steps.extend(after_up);
    }
    phase_steps
}

/// `lucid-gen up`: the plan, run.
pub fn run(ws: &Workspace, target: &Target, opts: &UpOptions) -> Result<(), DockerError> {
    steps::run(&plan(ws, target, opts)?, ws, target)
}

/// Services of `phase` that mount a secret file (or secret-bearing config
/// file): the only ones a rotation can leave stale; with none, the engine
/// is asked nothing.
fn secret_mounting_services(ws: &Workspace, phase: &ComposeFile) -> Vec<usize> {
    (phase.services.iter().copied())
        .filter(|&i| {
            let s = &ws.system.services[i];
            (crate::render::delivery::mounts(&ws.system, s).iter()).any(|m| m.secret)
        })
        .collect()
}

/// Every check the preflight step runs, phase by phase: host ports, the
/// networks each phase attaches to and creates, and (with stand-ins) the
/// health checks a stand-in cannot answer.
pub(super) fn prechecks(ws: &Workspace, plans: &[ComposeFile], opts: &UpOptions) -> Vec<Precheck> {
    let mut checks = Vec::new();
    let mut earlier = Vec::new();
    for phase in plans {
        let project = ws.project(phase, opts.project.as_deref());
        let file = &phase.file_name;
        for s in phase.services.iter().map(|&i| &ws.system.services[i]) {
            for p in &s.ports {
                let Some(host) = p.host else { continue };
                checks.push(Precheck::PortFree {
                    file: file.clone(),
                    project: project.clone(),
                    service: s.name.clone(),
                    ip: p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    port: host.0,
                    protocol: p.protocol,
                });
            }
        }
        for (n, usage) in &phase.networks {
            let network = ws.system.networks[*n].name.clone();
            checks.push(match usage {
                NetworkUse::External { owner } => Precheck::NetworkExists {
                    file: file.clone(),
                    network: network.clone(),
                    owner_phase: ws.system.phases[*owner].name.clone(),
                    created_earlier: earlier.contains(owner),
                },
                NetworkUse::Define => Precheck::NetworkOwned {
                    file: file.clone(),
                    network: network.clone(),
                    project: project.clone(),
                },
            });
            let defined = &ws.system.networks[*n];
            if matches!(usage, NetworkUse::Define) && defined.driver == "bridge" {
                checks.push(Precheck::SubnetUnrouted {
                    file: file.clone(),
                    network,
                    subnet: defined.subnet,
                });
            }
        }
        if opts.stand_ins {
            let services = phase.services.iter().map(|&i| &ws.system.services[i]);
            let problems = services.flat_map(standin::unhonourable);
            checks.extend(problems.map(|problem| Precheck::Known(format!("{file}: {problem}"))));
        }
        earlier.extend(phase.phase);
    }
    checks
}
