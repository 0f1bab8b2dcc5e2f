//! `lucid-gen up --host NAME` (alias `deploy`) and `rollback --host NAME`:
//! the system as numbered releases on a host over SSH, health-gated and
//! reversible. The steps are `up`'s own — the same preflight checks, the
//! same stand-in images, the same per-phase `compose up -d --wait` — run
//! on a [`Target`] whose commands cross one SSH connection, plus the
//! [`HostAction`]s only a host needs:
//!
//! 1. preflight ([`HostCheck`]): the host key against its pin, the host's
//!    deploy lock, Docker Engine and Compose there and usable, the tools
//!    the remote scripts need, the architecture, free disk against the
//!    model's minimum and twice the image bytes to send — all before
//!    anything is copied;
//! 2. the release's files into `DIR/releases/N.partial` (hard links to the
//!    current release, then only the files that changed);
//! 3. images: only the layers the host lacks ([`super::layers`]), or
//!    `docker compose pull` there;
//! 4. the manifest written, the release renamed into place and `current`
//!    switched to it (a link renamed over the old one);
//! 5. each phase up, health-gated with the host's deadline; a failure
//!    rolls the host back to the previous release ([`run::roll_back`]);
//! 6. releases beyond the kept count pruned, with images only they ran.

mod release;
pub mod run;

use std::path::PathBuf;

use super::steps::{Action, Plan, Precheck, Step};
use super::target::Target;
use super::up::{self, UpOptions};
use super::{DockerError, ErrorKind, Workspace};
use crate::compose_files::ComposeFile;
use crate::system::{DeployHost, ImageArrival};

pub use release::{files as release_files, Manifest, PhaseUp, ReleaseFile};

/// A plain (not secret-bearing) generated file at `rel` in the output
/// directory, as a release carries it.
pub(crate) fn output_file(ws: &Workspace, rel: &str) -> ReleaseFile {
    let rel = release::normal(rel);
    ReleaseFile {
        local: ws.out_dir.join(&rel),
        rel,
        secret: false,
        mounted: false,
    }
}

/// A step only a host has.
pub enum HostAction {
    /// Copy the release's files (those that changed) into the next
    /// release's directory.
    Release {
        files: Vec<ReleaseFile>,
        phases: Vec<PhaseUp>,
    },
    /// Send the images the phases run (only missing layers), or pull them
    /// there.
    Images { mode: ImageArrival, stand_ins: bool },
    /// Write the manifest, put the release in place, point `current` at it
    /// (`swarm`: the stacks deploy from it and go back through Swarm).
    Switch { swarm: bool },
    /// Remove releases beyond the newest `keep`, and images only they ran.
    Prune { keep: u32 },
    /// `after_deploy.prune_images`: `docker image prune -f` there.
    PruneImages,
    /// `rollback`: point `current` at an earlier release (`to`, or the one
    /// before the current), re-tag its images and bring its phases up.
    Revert { to: Option<u32> },
}

/// A preflight check only a host has.
pub enum HostCheck {
    /// The connection: how the host key is pinned (an unknown or changed
    /// key fails the step on its own, with the fingerprint offered).
    Connect(String),
    /// Nobody else deploys to the host now (its lock; a stale one named).
    Lock,
    /// Docker Engine ≥ 20.10 and Compose v2 ≥ 2.17, usable by the SSH user;
    /// the tools the release scripts need.
    Engine,
    /// The engine's architecture is the host's platform's.
    Platform,
    /// Free space on the Docker root: at least the model's minimum and
    /// twice the image bytes to send.
    FreeDisk { transfer: bool },
}

/// Where a command runs: the model's host `name` (not yet connected),
/// or this machine's engine without one.
pub fn target(ws: &Workspace, name: Option<&str>) -> Result<Target, DockerError> {
    match name {
        None => Ok(Target::LOCAL),
        Some(name) => Ok(Target::ssh(find(ws, name)?, &ws.model_dir)),
    }
}

fn find<'a>(ws: &'a Workspace, name: &str) -> Result<&'a DeployHost, DockerError> {
    (ws.system.hosts.iter().find(|h| h.name == name)).ok_or_else(|| {
        ErrorKind::UnknownHost {
            name: name.to_string(),
            known: ws.system.hosts.iter().map(|h| h.name.clone()).collect(),
        }
        .into()
    })
}

/// What `up --host` would do, computed without touching the host.
pub fn plan(ws: &Workspace, target: &Target, opts: &UpOptions) -> Result<Plan, DockerError> {
    let host = &target.remote().expect("a host target").host;
    let (phases, every) = host_phases(ws, host, opts)?;
    let projects: Vec<(_, String)> = (phases.iter())
        .map(|p| (p.clone(), ws.project(p, opts.project.as_deref())))
        .collect();
    let overrides = up::standin_overrides(ws, &every, opts);
    let local: Vec<(String, PathBuf)> = (overrides.iter())
        .map(|o| (o.project.clone(), o.path.clone()))
        .collect();
    let (files, ups) = release::files(ws, &every, &local);
    let mut steps = Vec::new();
    if opts.stand_ins {
        steps.push(Step {
            name: "stand-in images".into(),
            action: Action::StandIns {
                overrides,
                platform: host.platform.clone(),
            },
        });
    }
    let mut checks = host_checks(
        target,
        host.images == ImageArrival::Transfer || opts.stand_ins,
    );
    checks.extend(up::prechecks(ws, &phases, opts));
    steps.push(Step {
        name: format!("preflight on {}", target.describe()),
        action: Action::Preflight(checks),
    });
    steps.extend(release_and_images(host, files, ups, opts.stand_ins));
    steps.push(host_step(
        &host.directory,
        "switch",
        HostAction::Switch { swarm: false },
    ));
    let overrides: Vec<Option<PathBuf>> = (projects.iter())
        .map(|(_, project)| {
            (opts.stand_ins)
                .then(|| (target.files_root(ws)).join(format!(".lucid-gen/standin/{project}.yml")))
        })
        .collect();
    steps.extend(up::phase_steps(
        ws,
        target,
        &phases,
        &overrides,
        opts,
        host.deadline_secs,
    ));
    steps.extend(closing_steps(host));
    let title = format!(
        "up: {} phase(s) on {}, release in {}{}",
        phases.len(),
        target.describe(),
        host.directory,
        if opts.stand_ins { ", as stand-ins" } else { "" }
    );
    Ok(Plan { title, steps })
}

/// The release of the generated files to the host, then the images its
/// phases run: the steps `up --host` and `swarm up` share on a host.
pub(super) fn release_and_images(
    host: &DeployHost,
    files: Vec<ReleaseFile>,
    phases: Vec<PhaseUp>,
    stand_ins: bool,
) -> [Step; 2] {
    [
        host_step(
            &host.directory,
            "release files",
            HostAction::Release { files, phases },
        ),
        host_step(
            &host.directory,
            "images",
            HostAction::Images {
                mode: host.images,
                stand_ins,
            },
        ),
    ]
}

/// The steps after every phase is up: old releases pruned, then the
/// host's `after_deploy` steps.
fn closing_steps(host: &DeployHost) -> Vec<Step> {
    let mut steps = vec![host_step(
        &host.directory,
        "prune",
        HostAction::Prune {
            keep: host.keep_releases,
        },
    )];
    if host.after_deploy.prune_images {
        steps.push(host_step(
            &host.directory,
            "after deploy: prune images",
            HostAction::PruneImages,
        ));
    }
    steps
}

/// The phases to bring up (`--phase`, among the host's), and every phase
/// the host runs with its project: all go into the release.
#[allow(clippy::type_complexity)]
fn host_phases(
    ws: &Workspace,
    host: &DeployHost,
    opts: &UpOptions,
) -> Result<(Vec<ComposeFile>, Vec<(ComposeFile, String)>), DockerError> {
    let phases: Vec<_> = (ws.plans(opts.phase.as_deref())?.into_iter())
        .filter(|p| p.phase.is_some_and(|i| host.phases.contains(&i)))
        .collect();
    if phases.is_empty() {
        return Err(ErrorKind::BadOption {
            option: "--phase",
            value: opts.phase.clone().unwrap_or_default(),
            why: format!("is not a phase host `{}` runs", host.name),
        }
        .into());
    }
    let every: Vec<_> = (ws.plans(None)?.into_iter())
        .filter(|p| p.phase.is_some_and(|i| host.phases.contains(&i)))
        .map(|p| {
            let project = ws.project(&p, opts.project.as_deref());
            (p, project)
        })
        .collect();
    Ok((phases, every))
}

/// What `rollback --host` would do.
pub fn rollback_plan(target: &Target, to: Option<u32>) -> Plan {
    let host = &target.remote().expect("a host target").host;
    let steps = vec![
        Step {
            name: format!("preflight on {}", target.describe()),
            action: Action::Preflight(vec![
                Precheck::Host(HostCheck::Connect(connect_line(target))),
                Precheck::Host(HostCheck::Lock),
                Precheck::Host(HostCheck::Engine),
            ]),
        },
        host_step(&host.directory, "roll back", HostAction::Revert { to }),
    ];
    Plan {
        title: format!(
            "rollback on {}, releases in {}",
            target.describe(),
            host.directory
        ),
        steps,
    }
}

/// The host's own preflight checks (`transfer`: images are sent, so the
/// disk must hold twice their bytes).
pub(crate) fn host_checks(target: &Target, transfer: bool) -> Vec<Precheck> {
    vec![
        Precheck::Host(HostCheck::Connect(connect_line(target))),
        Precheck::Host(HostCheck::Lock),
        Precheck::Host(HostCheck::Engine),
        Precheck::Host(HostCheck::Platform),
        Precheck::Host(HostCheck::FreeDisk { transfer }),
    ]
}

/// How the connection is made, for the plan.
fn connect_line(target: &Target) -> String {
    let remote = target.remote().expect("a host target");
    let pin = match &remote.host.pin {
        crate::system::HostKeyPin::Fingerprint(fp) => format!("host key pinned to {fp}"),
        crate::system::HostKeyPin::KnownHosts(file) => format!("host key from known_hosts {file}"),
    };
    format!(
        "connect: {} (BatchMode, {pin}, one multiplexed connection for the whole run)",
        remote.ssh_line()
    )
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

impl HostAction {
    /// What the step does, one line each.
    pub fn details(&self, dir: &str) -> Vec<String> {
        match self {
            HostAction::Release { files, .. } => vec![
                format!(
                    "copy {} files into {dir}/releases/<next> (0700): only those whose SHA-256 \
                     differs from the current release's cross the wire, the rest are hard links",
                    files.len()
                ),
                "secrets env files 0600, mounted secret files 0444 in a 0700 directory".into(),
            ],
            HostAction::Images { mode: ImageArrival::Pull, stand_ins: false } => {
                vec!["docker compose pull, per phase, on the host (from the registry)".into()]
            }
            HostAction::Images { .. } => vec![
                "send the images the phases run: only layers the host lacks (docker save | docker load over SSH, gzip)".into(),
                "then check every image ID on the host against this engine's".into(),
            ],
            HostAction::Switch { swarm } => vec![
                format!("write {dir}/releases/<next>/{}", release::MANIFEST),
                format!("point {dir}/current at releases/<next> (a new link renamed over the old)"),
                match swarm {
                    false => "from here a failing step rolls the host back to the previous release",
                    true => "the stacks deploy from it; a failed stack is rolled back by Swarm, service by service",
                }
                .into(),
            ],
            HostAction::Prune { keep } => vec![format!(
                "keep the newest {keep} release(s); remove older and failed ones, and images only they ran"
            )],
            HostAction::PruneImages => vec![
                "docker image prune -f: remove dangling images (old layers no tag names any more)"
                    .into(),
            ],
            HostAction::Revert { to } => vec![
                match to {
                    Some(n) => format!("point {dir}/current at releases/{n}"),
                    None => format!("point {dir}/current at the release before the current one"),
                },
                "re-tag its images to the IDs it ran, bring its phases up (up -d --wait)".into(),
                "list the releases on the host".into(),
            ],
        }
    }
}

impl std::fmt::Display for HostCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostCheck::Connect(line) => write!(f, "{line}"),
            HostCheck::Lock => write!(f, "no other deploy holds the host's lock (a stale one is named and taken over)"),
            HostCheck::Engine => write!(f, "Docker Engine >= 20.10 and Compose v2 >= 2.17 there, usable by the SSH user; tar, flock and coreutils"),
            HostCheck::Platform => write!(f, "the engine's architecture is the host's platform"),
            HostCheck::FreeDisk { transfer: true } => write!(f, "free space on the Docker root >= the model's minimum and 2x the image bytes to send"),
            HostCheck::FreeDisk { transfer: false } => write!(f, "free space on the Docker root >= the model's minimum"),
        }
    }
}
