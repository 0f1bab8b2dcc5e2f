//! `lucid-gen swarm plan|up|test|down`: a swarm-mode system as one Docker
//! Swarm stack per phase, through the same seam as `up`: a [`Target`] (the
//! local engine, which must already be a swarm manager, or the model's
//! manager host over SSH) and a [`Plan`] of named steps that `steps::run`
//! carries out. On a manager host the deploy's own steps are reused — its
//! preflight, the release of the generated files, the transfer of only the
//! missing image layers, the switch of `current` and the prune — and the
//! images also go to every worker a placement allows ([`SwarmAction`]).
//!
//! On the local engine, `--init` first makes the engine a one-node swarm
//! when it is in none, and `down` leaves that swarm again ([`init`]).
//!
//! Per phase, in order: `docker stack deploy --resolve-image never
//! --prune -c stack.<phase>.yml <stack>`, then lucid-gen itself waits
//! until every service of the stack runs all its replicas (a task with a
//! health check only counts once healthy) and no update is under way or
//! rolled back — `--detach=false`'s exit code is not trusted
//! (docker/cli#6752). If one service fails, every service the deploy
//! touched goes back (`docker service rollback`; one the deploy created is
//! removed): Swarm has no stack-level rollback (docker/cli#595).

mod changes;
mod init;
mod run;
mod test;

use std::path::PathBuf;

use super::deploy::{self, HostAction};
use super::steps::{Action, Plan, Step};
use super::target::Target;
use super::{Cmd, DockerError, ErrorKind, Workspace};
use crate::compose_files::ComposeFile;
use crate::system::{DeployHost, DeployMode, NodeRole};

pub use changes::run as changes;
pub use run::step;
pub use test::run as test;

/// The label `docker stack deploy` puts on every service, network, secret
/// and config of a stack (and every task's container).
pub const STACK_LABEL: &str = "com.docker.stack.namespace";

/// Seconds one stack may take to converge on the local engine.
const LOCAL_DEADLINE: u64 = 600;
/// Seconds `down` waits for a stack's objects to be gone.
const DOWN_DEADLINE: u64 = 180;

/// What `swarm up`, `plan` and `down` work on.
pub struct SwarmOptions {
    pub phase: Option<String>,
    pub stand_ins: bool,
    /// `swarm up --init`: a one-node swarm on the local engine if it is in
    /// none.
    pub init: bool,
}

/// What only a swarm step does.
pub enum SwarmAction {
    /// Make the local engine a one-node swarm, unless it is in one.
    Init(init::Init),
    /// Leave the local engine's swarm, if lucid-gen initialised it and no
    /// service is left.
    Leave(init::Leave),
    /// The engine is an active swarm manager; every placement some ready
    /// node satisfies (labels, platform).
    Manager { placements: Vec<Placement> },
    /// Build the stand-in images and write each stack's override
    /// (`image:` and health-check timing only).
    StandIns {
        overrides: Vec<(ComposeFile, PathBuf)>,
        platform: String,
        /// Each override's stack file, for the plan.
        files: Vec<String>,
    },
    /// The images of `services` onto a worker: only the layers it lacks.
    NodeImages {
        node: Box<DeployHost>,
        services: Vec<usize>,
    },
    /// `docker stack deploy`, then wait for convergence; a failure rolls
    /// back every service it touched.
    Deploy {
        stack: String,
        cmd: Cmd,
        services: Vec<String>,
        deadline: u64,
    },
    /// Remove the stack's secrets and configs no service uses any more
    /// (older content-hashed versions).
    PruneUnused { stack: String, file: PathBuf },
    /// `docker stack rm`, then wait until nothing labelled with the stack
    /// is left (services, tasks, networks, secrets, configs).
    Remove {
        stack: String,
        cmd: Cmd,
        deadline: u64,
    },
}

/// One service's placement, as a ready node must meet it.
pub struct Placement {
    pub service: String,
    pub labels: Vec<(String, String)>,
}

/// Where a swarm command runs: `--local` or a system without manager
/// hosts → this machine's engine; `--host NAME` → that manager host; by
/// default, the model's first manager host. Refuses a compose-mode system.
pub fn target(ws: &Workspace, host: Option<&str>, local: bool) -> Result<Target, DockerError> {
    if ws.system.mode != DeployMode::Swarm {
        return Err(ErrorKind::SwarmRefused {
            why: format!("system `{}` is `mode: compose`", ws.system.name),
            help: "set `system.mode: swarm` (then `lucid-gen check` names what a stack cannot \
                   carry), or use `up`, `test`, `plan` and `down` for Compose"
                .into(),
        }
        .into());
    }
    let managers: Vec<&DeployHost> = (ws.system.hosts.iter())
        .filter(|h| {
            h.swarm
                .as_ref()
                .is_some_and(|s| s.role == NodeRole::Manager)
        })
        .collect();
    match (host, local) {
        (_, true) => Ok(Target::LOCAL),
        (None, false) => Ok(match managers.first() {
            Some(m) => Target::ssh(m, &ws.model_dir),
            None => Target::LOCAL,
        }),
        (Some(name), false) => match managers.iter().find(|h| h.name == name) {
            Some(m) => Ok(Target::ssh(m, &ws.model_dir)),
            None => match ws.system.hosts.iter().any(|h| h.name == name) {
                true => Err(ErrorKind::BadOption {
                    option: "--host",
                    value: name.to_string(),
                    why: "is not a swarm manager in the model (`hosts.NAME.swarm.role: manager`)"
                        .into(),
                }
                .into()),
                false => deploy::target(ws, Some(name)),
            },
        },
    }
}

/// The stack name of a phase: its compose project.
fn stack(ws: &Workspace, phase: &ComposeFile) -> String {
    ws.project(phase, None)
}

/// A phase's stack file, where the target's engine reads it.
fn stack_path(ws: &Workspace, target: &Target, phase: &ComposeFile) -> PathBuf {
    let name = crate::render::stack_file_name(&ws.system, phase.phase.expect("a phase"));
    (target.files_root(ws))
        .join(&ws.system.output.compose_dir)
        .join(name)
}

/// The stand-in override of a stack: the local file, and where a host
/// reads it in its release.
fn override_paths(ws: &Workspace, target: &Target, stack: &str) -> (PathBuf, PathBuf) {
    let local = super::standin::override_path(ws, &format!("{stack}-stack"));
    let on_target = match target.remote() {
        None => local.clone(),
        Some(_) => (target.files_root(ws)).join(format!(".lucid-gen/standin/{stack}.yml")),
    };
    (local, on_target)
}

/// What `swarm up` would do, computed without an engine or a connection.
pub fn up_plan(ws: &Workspace, target: &Target, opts: &SwarmOptions) -> Result<Plan, DockerError> {
    let phases = ws.stack_plans(opts.phase.as_deref())?;
    let every = ws.stack_plans(None)?;
    let mut steps = Vec::new();
    if opts.stand_ins {
        let overrides = (every.iter())
            .map(|p| (p.clone(), override_paths(ws, target, &stack(ws, p)).0))
            .collect();
        steps.push(swarm_step(
            "stand-in images",
            SwarmAction::StandIns {
                overrides,
                platform: target.platform(ws).to_string(),
                files: every.iter().map(|p| stack_file(ws, p)).collect(),
            },
        ));
    }
    let deadline = match target.remote() {
        Some(r) => r.host.deadline_secs,
        None => LOCAL_DEADLINE,
    };
    let manager = swarm_step(
        &format!("swarm manager: {}", target.describe()),
        SwarmAction::Manager {
            placements: placements(ws, &phases),
        },
    );
    if opts.init {
        steps.push(init::init_step(ws, target)?);
    }
    match target.remote() {
        // Nothing is copied before the host and its swarm passed.
        Some(remote) => {
            let mut host = host_steps(ws, target, &remote.host, &every, opts);
            host.insert(1, manager);
            steps.extend(host);
        }
        None => steps.push(manager),
    }
    for phase in &phases {
        steps.extend(deploy_steps(ws, target, phase, opts, deadline));
    }
    if let Some(remote) = target.remote() {
        steps.push(host_step(
            &remote.host.directory,
            "prune",
            HostAction::Prune {
                keep: remote.host.keep_releases,
            },
        ));
    }
    let title = format!(
        "swarm up: {} stack(s) on {}{}",
        phases.len(),
        target.describe(),
        if opts.stand_ins { ", as stand-ins" } else { "" }
    );
    Ok(Plan { title, steps })
}

/// On a manager host: the deploy's preflight, release, images (the
/// manager's, then each worker's), switch.
fn host_steps(
    ws: &Workspace,
    target: &Target,
    host: &DeployHost,
    every: &[ComposeFile],
    opts: &SwarmOptions,
) -> Vec<Step> {
    let transfer = host.images == crate::system::ImageArrival::Transfer || opts.stand_ins;
    let mut steps = vec![Step {
        name: format!("preflight on {}", target.describe()),
        action: Action::Preflight(deploy::host_checks(target, transfer)),
    }];
    let stacks: Vec<(ComposeFile, String)> =
        (every.iter()).map(|p| (p.clone(), stack(ws, p))).collect();
    let overrides: Vec<(String, PathBuf)> = match opts.stand_ins {
        true => (stacks.iter())
            .map(|(_, s)| (s.clone(), override_paths(ws, target, s).0))
            .collect(),
        false => Vec::new(),
    };
    let (mut files, _) = deploy::release_files(ws, &stacks, &overrides);
    for (p, _) in &stacks {
        let rel = format!("{}/{}", ws.system.output.compose_dir, stack_file(ws, p));
        // Private like on this machine: its secret names are keyed with
        // the store.
        let mut file = deploy::output_file(ws, &rel);
        file.secret = true;
        files.push(file);
    }
    // No phase is brought up by Compose from this release: a failed
    // stack goes back through Swarm, not through `compose up`.
    steps.extend(deploy::release_and_images(
        host,
        files,
        Vec::new(),
        opts.stand_ins,
    ));
    for node in workers(ws, host) {
        let services = placeable(ws, node);
        steps.push(swarm_step(
            &format!("images on node `{}`", node.name),
            SwarmAction::NodeImages {
                node: Box::new(node.clone()),
                services,
            },
        ));
    }
    steps.push(host_step(
        &host.directory,
        "switch",
        HostAction::Switch { swarm: true },
    ));
    steps
}

/// The stack file's name of a phase.
fn stack_file(ws: &Workspace, phase: &ComposeFile) -> String {
    crate::render::stack_file_name(&ws.system, phase.phase.expect("a phase"))
}

/// The model's other swarm nodes (not `manager`).
fn workers<'a>(ws: &'a Workspace, manager: &'a DeployHost) -> Vec<&'a DeployHost> {
    (ws.system.hosts.iter())
        .filter(|h| h.swarm.is_some() && h.name != manager.name)
        .collect()
}

/// Services whose placement `node`'s labels satisfy: their images go there.
fn placeable(ws: &Workspace, node: &DeployHost) -> Vec<usize> {
    let labels = node.swarm.as_ref().map(|s| &s.labels[..]).unwrap_or(&[]);
    (ws.system.services.iter().enumerate())
        .filter(|(_, s)| {
            (s.swarm.placement.iter())
                .all(|(k, v)| labels.iter().any(|(nk, nv)| nk == k && nv == v))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Every service of `phases` with a placement.
fn placements(ws: &Workspace, phases: &[ComposeFile]) -> Vec<Placement> {
    (phases.iter().flat_map(|p| p.services.iter()))
        .map(|&i| &ws.system.services[i])
        .filter(|s| !s.swarm.placement.is_empty())
        .map(|s| Placement {
            service: s.name.clone(),
            labels: s.swarm.placement.clone(),
        })
        .collect()
}

/// One phase: deploy and wait, then drop what it no longer uses.
fn deploy_steps(
    ws: &Workspace,
    target: &Target,
    phase: &ComposeFile,
    opts: &SwarmOptions,
    deadline: u64,
) -> Vec<Step> {
    let stack = stack(ws, phase);
    let file = stack_path(ws, target, phase);
    let mut cmd = (target.docker())
        .args([
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "--prune",
            "-c",
        ])
        .arg(&file);
    if opts.stand_ins {
        cmd = cmd.arg("-c").arg(override_paths(ws, target, &stack).1);
    }
    if let Some(dir) = file.parent() {
        cmd = cmd.cwd(dir);
    }
    let services = (phase.services.iter())
        .map(|&i| ws.system.services[i].name.clone())
        .collect();
    vec![
        swarm_step(
            &format!("{} (stack {stack})", stack_file(ws, phase)),
            SwarmAction::Deploy {
                stack: stack.clone(),
                cmd: cmd.arg(&stack),
                services,
                deadline,
            },
        ),
        swarm_step(
            &format!("unused secrets and configs of {stack}"),
            SwarmAction::PruneUnused {
                stack,
                file: stack_path(ws, &Target::LOCAL, phase),
            },
        ),
    ]
}

/// What `swarm down` would do: each stack removed, later phases first.
pub fn down_plan(
    ws: &Workspace,
    target: &Target,
    opts: &SwarmOptions,
) -> Result<Plan, DockerError> {
    let phases = ws.stack_plans(opts.phase.as_deref())?;
    let mut steps = vec![swarm_step(
        &format!("swarm manager: {}", target.describe()),
        SwarmAction::Manager {
            placements: Vec::new(),
        },
    )];
    for phase in phases.iter().rev() {
        let stack = stack(ws, phase);
        steps.push(swarm_step(
            &format!("remove stack {stack}"),
            SwarmAction::Remove {
                cmd: target.docker().args(["stack", "rm"]).arg(&stack),
                stack,
                deadline: DOWN_DEADLINE,
            },
        ));
    }
    if target.remote().is_none() {
        steps.push(init::leave_step(target));
    }
    let title = format!(
        "swarm down: {} stack(s) on {}",
        phases.len(),
        target.describe()
    );
    Ok(Plan { title, steps })
}

/// A rendered stack file, parsed (as JSON values).
fn read_stack(file: &std::path::Path) -> Result<serde_json::Value, DockerError> {
    use crate::regular_file::{read_text, Follow};
    let text = read_text(file, Follow::Links, 8 << 20)
        .map_err(|e| super::io_error("read", file, e.into()))?;
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| ErrorKind::ToolOutput {
            command: format!("reading {}", file.display()),
            error: e.to_string(),
        })?;
    Ok(serde_json::to_value(&yaml).unwrap_or(serde_json::Value::Null))
}

fn swarm_step(name: &str, action: SwarmAction) -> Step {
    Step {
        name: name.to_string(),
        action: Action::Swarm(action),
    }
}

fn host_step(dir: &str, name: &str, action: HostAction) -> Step {
    Step {
        name: name.to_string(),
        action: Action::Host {
            dir: dir.to_string(),
            action,
        },
    }
}

impl SwarmAction {
    /// What the step does, one line each.
    pub fn details(&self) -> Vec<String> {
        match self {
            SwarmAction::Init(init) => init.details(),
            SwarmAction::Leave(leave) => leave.details(),
            SwarmAction::Manager { placements } => {
                let mut lines = vec![
                    "the engine is an active swarm manager (`swarm init` only with `swarm up --local --init`)"
                        .to_string(),
                ];
                lines.extend(placements.iter().map(|p| {
                    let labels: Vec<String> =
                        p.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!(
                        "a ready node has {} for `{}`",
                        labels.join(", "),
                        p.service
                    )
                }));
                lines
            }
            SwarmAction::StandIns {
                overrides, files, ..
            } => {
                let mut lines = vec!["build one stand-in image per service".to_string()];
                lines.extend(overrides.iter().zip(files).map(|((_, path), file)| {
                    format!("write {} (images for {file})", path.display())
                }));
                lines
            }
            SwarmAction::NodeImages { node, services } => vec![
                format!(
                    "send the images of {} service(s) placement allows there: only layers the node lacks",
                    services.len()
                ),
                format!("over ssh -p {} {}@{}", node.port, node.user, node.address),
            ],
            SwarmAction::Deploy { cmd, deadline, .. } => vec![
                "note the spec of every service of the stack".into(),
                cmd.to_string(),
                format!(
                    "wait (at most {deadline} s) until every service runs all its replicas, healthy, and no update is under way"
                ),
                "if one fails: `docker service rollback` every service the deploy changed, remove those it created".into(),
            ],
            SwarmAction::PruneUnused { stack, .. } => vec![format!(
                "remove secrets and configs of {stack} the stack file no longer names (older content-hashed versions)"
            )],
            SwarmAction::Remove { cmd, stack, deadline } => vec![
                format!(
                    "remove any probe service `swarm test` left on a network of {stack} (labelled {}={stack})",
                    crate::docker::checks::probe_service::LABEL
                ),
                cmd.to_string(),
                format!(
                    "wait (at most {deadline} s) until no service, task, network, secret or config labelled {STACK_LABEL}={stack} is left"
                ),
            ],
        }
    }
}
