//! Docker work as data: a [`Plan`] is a list of named [`Step`]s that a
//! pure function (`up::plan`, `down::plan`) computes from the workspace
//! without touching an engine; [`run`] is the one runner that carries
//! them out on a [`Target`], and [`Plan`]'s `Display` is what `--dry-run`
//! prints. Decisions only the engine can answer (is a port held by this
//! project's own container, did a mounted secret go stale, is a project
//! there to take down) are steps of their own, decided when they run.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use super::deploy::{self, run::DeployState, HostAction, HostCheck};
use super::progress::Progress;
use super::routes;
use super::standin::{self, StandIns};
use super::target::Target;
use super::{inventory, Cmd, DockerError, ErrorKind, Workspace};
use crate::compose_files::ComposeFile;
use crate::system::{Protocol, Subnet};

/// What a command would do, in order.
pub struct Plan {
    /// What the plan does, e.g. `up: 3 phases`.
    pub title: String,
    pub steps: Vec<Step>,
}

/// One named step.
pub struct Step {
    pub name: String,
    pub action: Action,
}

/// What a step does.
pub enum Action {
    /// Checks that must all pass before anything changes; every problem
    /// is reported, then nothing is started.
    Preflight(Vec<Precheck>),
    /// Build the stand-in images (for `platform`) and write each phase's
    /// override.
    StandIns {
        overrides: Vec<StandInOverride>,
        platform: String,
    },
    /// Recreate the running services of `project` whose container still
    /// mounts an older secret file than the output holds.
    RecreateStaleSecrets {
        project: String,
        files: Vec<PathBuf>,
        /// Services (indices) that mount a secret file: the candidates.
        services: Vec<usize>,
    },
    /// Build images, up to `jobs` at once.
    Build {
        images: Vec<ImageBuild>,
        jobs: usize,
    },
    /// Run a command visibly (`notes`: what the plan also says about it).
    Run { cmd: Cmd, notes: Vec<String> },
    /// Run a compose command visibly; print the project's status after it
    /// (also when it failed).
    Compose { cmd: Cmd, project: String },
    /// Start a one-shot job run after its phase is up (`start`), then
    /// wait at most `deadline` seconds until it exits 0.
    AfterUp {
        start: Cmd,
        project: String,
        service: String,
        deadline: u64,
    },
    /// `compose down` a project; with `if_present`, only when it has
    /// containers (the master file's project, used or not).
    Down {
        cmd: Cmd,
        project: String,
        if_present: bool,
    },
    /// No container of `project` may still run.
    NothingLeft { project: String },
    /// What only a host over SSH needs (releases, images, switch, prune),
    /// with the host's directory.
    Host { dir: String, action: HostAction },
    /// What only a swarm has (stack deploy and its wait, stack removal,
    /// node images).
    Swarm(super::swarm::SwarmAction),
}

/// One check before anything starts.
pub enum Precheck {
    /// A host port the phase publishes is free (or held by the service's
    /// own running container in `project`).
    PortFree {
        file: String,
        project: String,
        service: String,
        ip: IpAddr,
        port: u16,
        protocol: Protocol,
    },
    /// A network the phase attaches to exists, or an earlier phase of this
    /// run creates it.
    NetworkExists {
        file: String,
        network: String,
        owner_phase: String,
        created_earlier: bool,
    },
    /// A network the phase creates belongs to no other project.
    NetworkOwned {
        file: String,
        network: String,
        project: String,
    },
    /// No interface of the host but the engine's own routes addresses
    /// inside the subnet of a bridge network the phase creates
    /// ([`routes`](super::routes)).
    SubnetUnrouted {
        file: String,
        network: String,
        subnet: Subnet,
    },
    /// A problem found while planning (a stand-in that cannot answer a
    /// health check, a Dockerfile the builder cannot build): always fails.
    Known(String),
    /// A check only a host over SSH has (its lock, engine, platform, disk).
    Host(HostCheck),
}

/// One image to build, and the command that builds it.
pub struct ImageBuild {
    /// The image reference it is tagged with.
    pub image: String,
    /// `base image <key>`, `service <name>`, …
    pub what: String,
    pub cmd: Cmd,
    /// With the legacy builder, which reads only a context's own
    /// `.dockerignore`: the context to send packed, without what the
    /// rendered `Dockerfile.dockerignore` lists.
    pub packed: Option<PackedContext>,
}

/// A build context sent as a tar on standard input (`docker build -f
/// .lucid-gen.Dockerfile … -`), packed when the build runs.
pub struct PackedContext {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    pub ignore: PathBuf,
}

/// The stand-in override of one phase: where it is written.
pub struct StandInOverride {
    pub plan: ComposeFile,
    pub project: String,
    pub path: PathBuf,
}

impl fmt::Display for Plan {
    /// The plan as `--dry-run` prints it: a numbered line per step, its
    /// details indented below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({} steps)", self.title, self.steps.len())?;
        for (n, step) in self.steps.iter().enumerate() {
            writeln!(f, "{:>3}. {}", n + 1, step.name)?;
            for line in step.action.details() {
                writeln!(f, "       {line}")?;
            }
        }
        Ok(())
    }
}

impl Action {
    /// How many images the step builds.
    fn images(step: &Step) -> usize {
        match &step.action {
            Action::Build { images, .. } => images.len(),
            _ => 0,
        }
    }

    /// What the step does, one line each (commands as shell lines).
    fn details(&self) -> Vec<String> {
        match self {
            Action::Preflight(checks) => checks.iter().map(Precheck::to_string).collect(),
            Action::StandIns { overrides, .. } => {
                let mut lines = vec!["build one stand-in image per service".to_string()];
                lines.extend(overrides.iter().map(|o| {
                    format!(
                        "write {} (images for {})",
                        o.path.display(),
                        o.plan.file_name
                    )
                }));
                lines
            }
            Action::RecreateStaleSecrets { project, .. } => vec![format!(
                "recreate the services of {project} whose container mounts an older secret file"
            )],
            Action::Build { images, .. } => images.iter().map(|b| b.cmd.to_string()).collect(),
            Action::Run { cmd, notes } => {
                let mut lines: Vec<String> = notes.iter().map(|n| format!("# {n}")).collect();
                lines.push(cmd.to_string());
                lines
            }
            Action::Compose { cmd, .. } => vec![cmd.to_string()],
            Action::AfterUp {
                start,
                service,
                deadline,
                ..
            } => vec![
                start.to_string(),
                format!("wait until {service} exits 0 (at most {deadline} s)"),
            ],
            Action::Down {
                cmd,
                project,
                if_present,
            } => match if_present {
                true => vec![format!("if {project} has containers: {cmd}")],
                false => vec![cmd.to_string()],
            },
            Action::NothingLeft { project } => {
                vec![format!("no container of {project} is still running")]
            }
            Action::Host { dir, action } => action.details(dir),
            Action::Swarm(action) => action.details(),
        }
    }
}

impl fmt::Display for Precheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precheck::PortFree {
                file,
                service,
                ip,
                port,
                protocol,
                ..
            } => write!(
                f,
                "{file}: host port {port}/{} on {ip} free for `{service}`",
                protocol.name()
            ),
            Precheck::NetworkExists {
                file,
                network,
                owner_phase,
                ..
            } => write!(
                f,
                "{file}: network `{network}` exists (phase `{owner_phase}` creates it)"
            ),
            Precheck::NetworkOwned {
                file,
                network,
                project,
            } => write!(
                f,
                "{file}: network `{network}` is new or already project {project}'s"
            ),
            Precheck::SubnetUnrouted {
                file,
                network,
                subnet,
            } => write!(
                f,
                "{file}: no interface of the host outside the engine routes inside {subnet} (network `{network}`)"
            ),
            Precheck::Known(problem) => write!(f, "FAILS: {problem}"),
            Precheck::Host(check) => write!(f, "{check}"),
        }
    }
}

/// `--dry-run` prints the plan; otherwise [`run`] carries it out.
pub fn show_or_run(
    plan: &Plan,
    dry_run: bool,
    ws: &Workspace,
    target: &Target,
) -> Result<(), DockerError> {
    match dry_run {
        true => {
            crate::out!("{plan}");
            Ok(())
        }
        false => run(plan, ws, target),
    }
}

/// Runs `plan` on `target`, step by step, stopping at the first failure
/// (which names its step).
///
/// On a host, a failure once `current` was switched rolls the host back
/// to the previous release before the error is returned
/// (`deploy::run::roll_back`); the host's lock is released at the end.
pub fn run(plan: &Plan, ws: &Workspace, target: &Target) -> Result<(), DockerError> {
    let progress = Progress::new(plan.steps.len(), "steps");
    let mut state = DeployState::default();
    for (n, step) in plan.steps.iter().enumerate() {
        progress.message(&step.name);
        let result = run_step(step, ws, target, &progress, &mut state);
        if let Err(mut e) = result {
            if let ErrorKind::Builds { not_built, .. } = &mut *e.kind {
                *not_built = plan.steps[n + 1..].iter().map(Action::images).sum();
            }
            let e = e.during(&step.name);
            // A failed stack goes back through Swarm (its own step), never
            // through `compose up` of the previous release.
            return Err(match state.switched && !state.swarm {
                true => {
                    progress.suspend(|| deploy::run::roll_back(ws, target, step, e, &mut state))
                }
                false => e,
            });
        }
        progress.inc();
    }
    Ok(())
}

fn run_step(
    step: &Step,
    ws: &Workspace,
    target: &Target,
    progress: &Progress,
    state: &mut DeployState,
) -> Result<(), DockerError> {
    match &step.action {
        Action::Preflight(checks) => progress.suspend(|| all_prechecks(ws, target, checks, state)),
        Action::StandIns {
            overrides,
            platform,
        } => {
            state.standins = Some(progress.suspend(|| stand_ins(ws, overrides, platform))?);
            Ok(())
        }
        Action::Host { action, .. } => {
            progress.suspend(|| deploy::run::host_step(ws, target, action, state))
        }
        Action::Swarm(action) => {
            state.swarm = true;
            progress.line(&format!("==> {}", step.name));
            progress.suspend(|| super::swarm::step(ws, target, action, state))
        }
        Action::RecreateStaleSecrets {
            project,
            files,
            services,
        } => recreate_stale_secrets(ws, target, progress, (project, files, services)),
        Action::Build { images, jobs } => {
            progress.line(&format!("==> {}", step.name));
            super::build::run_parallel(images, *jobs, progress)
        }
        Action::Run { cmd, .. } => progress.suspend(|| cmd.run_visible()),
        Action::Compose { cmd, project } => {
            progress.line(&format!("==> {}", step.name));
            let result = progress.suspend(|| cmd.run_visible());
            let status = progress.suspend(|| print_status(target, project));
            state.phases_up.push(project.clone());
            result.and(status)
        }
        Action::AfterUp { .. } => super::after_up::run(step, target, progress),
        Action::Down {
            cmd,
            project,
            if_present,
        } => {
            if *if_present && inventory::container_ids(target, project)?.is_empty() {
                return Ok(());
            }
            progress.line(&format!("==> {}", step.name));
            progress.suspend(|| cmd.run_visible())
        }
        Action::NothingLeft { project } => {
            let left = inventory::running_services(target, project)?;
            match left.is_empty() {
                true => Ok(()),
                false => Err(ErrorKind::StillRunning {
                    project: project.clone(),
                    services: left,
                }
                .into()),
            }
        }
    }
}

/// A [`Action::RecreateStaleSecrets`] step: the services of the project
/// whose container mounts an older secret file, recreated.
fn recreate_stale_secrets(
    ws: &Workspace,
    target: &Target,
    progress: &Progress,
    (project, files, services): (&str, &[PathBuf], &[usize]),
) -> Result<(), DockerError> {
    let stale = stale_secret_mounts(ws, target, project, services)?;
    if stale.is_empty() {
        return Ok(());
    }
    progress.line(&format!(
        "    recreating {} (a secret file they mount changed)",
        stale.join(", ")
    ));
    let recreate = (target.compose(project, files))
        .args(UP_ARGS)
        .arg("600")
        .arg("--force-recreate")
        .args(&stale);
    progress.suspend(|| recreate.run_visible())
}

/// A preflight step: the host's own checks (on a host), then the
/// engine's unless the host's engine is unusable; every problem at once.
fn all_prechecks(
    ws: &Workspace,
    target: &Target,
    checks: &[Precheck],
    state: &mut DeployState,
) -> Result<(), DockerError> {
    let mut problems = deploy::run::preflight(ws, target, checks, state)?;
    if !state.engine_unusable {
        problems.extend(preflight(checks, target)?);
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(ErrorKind::Preflight { problems }.into()),
    }
}

/// The stand-in images for `platform`, and each phase's override.
fn stand_ins(
    ws: &Workspace,
    overrides: &[StandInOverride],
    platform: &str,
) -> Result<StandIns, DockerError> {
    let standins = standin::prepare(ws, platform)?;
    for o in overrides {
        standin::write_override(ws, &o.plan, &o.path, &standins)?;
    }
    Ok(standins)
}

/// `compose up`'s arguments: detached, health-gated, with a deadline.
/// (the deadline in seconds follows).
pub const UP_ARGS: [&str; 4] = ["up", "-d", "--wait", "--wait-timeout"];

/// `compose down` of a project, the jobs run after its phase is up
/// (profile `after-up`, which `down` alone would leave) included.
pub const DOWN_ARGS: [&str; 6] = [
    "--profile",
    crate::render::AFTER_UP_PROFILE,
    "down",
    "--remove-orphans",
    "--timeout",
    "20",
];

/// Every engine check of a preflight step (the host's own are
/// `deploy::run::preflight`'s); all problems at once.
fn preflight(checks: &[Precheck], target: &Target) -> Result<Vec<String>, DockerError> {
    let mut problems = Vec::new();
    let mut running: Vec<(String, Vec<String>)> = Vec::new();
    let mut host_routes = None;
    for check in checks {
        let problem = match check {
            Precheck::PortFree {
                file,
                project,
                service,
                ip,
                port,
                protocol,
            } => {
                if !running.iter().any(|(p, _)| p == project) {
                    let services = inventory::running_services(target, project)?;
                    running.push((project.clone(), services));
                }
                let own = (running.iter().find(|(p, _)| p == project))
                    .is_some_and(|(_, list)| list.contains(service));
                match own {
                    true => None, // Its own container holds the port.
                    false => target.port_free(*ip, *port, *protocol).err().map(|e| {
                        format!(
                            "{file}: host port {port}/{} on {ip} for `{service}`: {e}",
                            protocol.name()
                        )
                    }),
                }
            }
            Precheck::NetworkExists {
                file,
                network,
                owner_phase,
                created_earlier,
            } => (!created_earlier && inventory::network_project(target, network).is_none())
                .then(|| {
                    format!(
                        "{file}: network `{network}` does not exist: bring up phase `{owner_phase}` first"
                    )
                }),
            Precheck::NetworkOwned {
                file,
                network,
                project,
            } => match inventory::network_project(target, network) {
                Some(owner) if owner != *project => Some(format!(
                    "{file}: network `{network}` already exists and belongs to {}: another stack on this \
                     engine uses the name; take it down first",
                    if owner.is_empty() {
                        "no compose project".to_string()
                    } else {
                        format!("project `{owner}`")
                    }
                )),
                _ => None,
            },
            Precheck::SubnetUnrouted {
                file,
                network,
                subnet,
            } => {
                let (all, bridges) = match &host_routes {
                    Some(read) => read,
                    None => host_routes.insert(read_routes(target)?),
                };
                let clashes = routes::clashes(*subnet, all, bridges);
                (!clashes.is_empty()).then(|| route_clash(file, network, *subnet, &clashes))
            }
            Precheck::Known(problem) => Some(problem.clone()),
            Precheck::Host(_) => None,
        };
        problems.extend(problem);
    }
    Ok(problems)
}

/// The host's routes (none when they cannot be read there) and the
/// engine's bridges, read once per preflight.
fn read_routes(target: &Target) -> Result<(Vec<routes::Route>, Vec<String>), DockerError> {
    Ok(match routes::host_routes(target)? {
        Some(all) => (all, routes::engine_bridges(target)?),
        None => (Vec::new(), Vec::new()),
    })
}

/// Why a network cannot be created where routes of other interfaces
/// lead, and how to clear it.
fn route_clash(file: &str, network: &str, subnet: Subnet, clashes: &[&routes::Route]) -> String {
    let found: Vec<String> = (clashes.iter())
        .map(|r| format!("{} through `{}`", r.net, r.iface))
        .collect();
    let (it, iface) = match clashes {
        [one] => ("that interface", one.iface.as_str()),
        _ => ("those interfaces", "IFACE"),
    };
    format!(
        "{file}: network `{network}` ({subnet}): the host already routes {}, and no network of \
         this engine owns {it}, so the network's containers could not be reached: remove {it} \
         if left over (`ip link del {iface}` removes a bridge of an engine that was killed) or \
         give the network another subnet in the model",
        found.join(", ")
    )
}

/// Prints each service's state and health.
pub fn print_status(target: &Target, project: &str) -> Result<(), DockerError> {
    let out = (target.docker())
        .args(["ps", "-a", "--filter"])
        .arg(Target::project_filter(project))
        .args([
            "--format",
            "{{.Label \"com.docker.compose.service\"}}\t{{.Status}}",
        ])
        .run()?;
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    for line in lines {
        let (service, status) = line.split_once('\t').unwrap_or((line, ""));
        crate::outln!("  {service:<34} {status}");
    }
    Ok(())
}

/// Running services among `services` whose container still mounts an
/// older secret file or secret-bearing config file (see
/// `secret_check::stale_mounts`): Compose would leave them as they are.
fn stale_secret_mounts(
    ws: &Workspace,
    target: &Target,
    project: &str,
    services: &[usize],
) -> Result<Vec<String>, DockerError> {
    let found = inventory::containers(target, &[project.to_string()])?;
    let mut stale = Vec::new();
    for &i in services {
        let s = &ws.system.services[i];
        let running = found.get(&s.name).into_iter().flatten();
        for c in running.filter(|c| c.running) {
            if super::stale_mounts::stale_mounts(ws, target, s, &c.started_at)? {
                stale.push(s.name.clone());
                break;
            }
        }
    }
    Ok(stale)
}
