//! The strict model: what `validate` hands to `plan` and `render`.
//!
//! Invariants (established by `validate`, relied on everywhere after it):
//! every reference is an index into a vector of `System` and points at
//! something that exists; names are Docker-safe; ports are in range and no
//! host port is published twice; the dependency graph is acyclic and never
//! points to a later phase; every secret a service uses reaches one of its
//! env files. Vectors keep the author's order; phases are in deploy order.

use std::net::IpAddr;

mod subnet;
pub use subnet::Subnet;

pub use crate::model::raw::{
    DeployMode, Encoding, EndpointMode, FailureAction, ImageArrival, NodeRole, Protocol, Restart,
    Stack, UpdateOrder,
};

#[derive(Debug, Clone)]
pub struct System {
    pub name: String,
    pub description: Option<String>,
    pub platform: String,
    pub registry_namespace: String,
    pub tag: String,
    pub output: OutputLayout,
    pub labels: Vec<(String, String)>,
    /// Linter rule id → why it is accepted for every service.
    pub lint_exceptions: Vec<(String, String)>,
    pub planes: Vec<Plane>,
    pub networks: Vec<Network>,
    pub phases: Vec<Phase>,
    pub env_files: Vec<EnvFile>,
    pub secrets: Vec<SecretSpec>,
    pub images: Vec<BaseImage>,
    /// Services outside the model: no container, an address and port from
    /// the environment.
    pub externals: Vec<ExternalService>,
    pub services: Vec<Service>,
    /// Sets of services with a compose file of their own.
    pub groups: Vec<Group>,
    /// Tags every built image also gets, besides `tag`.
    pub extra_tags: Vec<crate::tags::TagTemplate>,
    /// The GitHub Actions workflow, when the model asks for one.
    pub github: Option<crate::github_ci::GithubCi>,
    /// The model's variants, in the order written (empty: one rendering).
    pub variants: Vec<Variant>,
    /// The variant applied by [`System::with_variant`]: its file names,
    /// environment and volumes are already in place.
    pub variant: Option<usize>,
    /// Machines the system is deployed to over SSH (`up --host NAME`).
    pub hosts: Vec<DeployHost>,
    /// Compose (default) or Swarm: swarm mode also renders stack files.
    pub mode: DeployMode,
    /// `system.swarm`: the translations the model opts into.
    pub swarm: crate::model::raw::SystemSwarmDef,
}

/// A machine the system is deployed to over SSH (`hosts.<name>`).
#[derive(Debug, Clone)]
pub struct DeployHost {
    pub name: String,
    pub description: Option<String>,
    /// Host name or IP address: letters, digits, `.`, `-`, `:` only.
    pub address: String,
    /// A plain user name (letters, digits, `.`, `_`, `-`).
    pub user: String,
    pub port: u16,
    /// Absolute, plain path characters only, no `..`.
    pub directory: String,
    /// `os/arch`; the system's unless the host names its own.
    pub platform: String,
    /// Bytes the Docker root must have free before a deploy (0: no minimum).
    pub min_free_disk: u64,
    pub pin: HostKeyPin,
    pub images: ImageArrival,
    /// The phases it runs (indices, deploy order).
    pub phases: Vec<usize>,
    /// Releases kept for `rollback` (at least 1).
    pub keep_releases: u32,
    /// Seconds one phase may take to become healthy.
    pub deadline_secs: u64,
    /// The host as a Swarm node, when it is one.
    pub swarm: Option<SwarmNode>,
    /// Named steps run there once every phase is up (`after_deploy`).
    pub after_deploy: crate::model::raw::AfterDeployDef,
}

/// A host's role and labels as a Swarm node.
#[derive(Debug, Clone)]
pub struct SwarmNode {
    pub role: NodeRole,
    pub labels: Vec<(String, String)>,
}

/// How Swarm places, updates and restarts one service's tasks; every
/// field filled (lucid-gen's defaults where the model is silent).
#[derive(Debug, Clone)]
pub struct ServiceSwarm {
    /// Node label → value every node running a task must have.
    pub placement: Vec<(String, String)>,
    pub endpoint_mode: EndpointMode,
    pub update: UpdatePolicy,
    pub rollback: UpdatePolicy,
    /// Wait between restarts, restarts before giving up, watch window.
    pub restart_delay: String,
    pub restart_max_attempts: Option<u32>,
    pub restart_window: Option<String>,
    /// `leave_out`: not in the stack files, for this reason.
    pub leave_out: Option<String>,
}

/// Swarm's `update_config` or `rollback_config`.
#[derive(Debug, Clone)]
pub struct UpdatePolicy {
    pub parallelism: u32,
    pub delay: String,
    pub order: UpdateOrder,
    pub failure_action: FailureAction,
    pub monitor: String,
}

impl Default for ServiceSwarm {
    /// One task at a time, stop first, watched 30 s; a failed update
    /// rolls back, a failed rollback pauses; restarts 5 s apart.
    fn default() -> Self {
        let policy = |failure_action| UpdatePolicy {
            parallelism: 1,
            delay: "0s".into(),
            order: UpdateOrder::StopFirst,
            failure_action,
            monitor: "30s".into(),
        };
        ServiceSwarm {
            placement: Vec::new(),
            endpoint_mode: EndpointMode::Vip,
            update: policy(FailureAction::Rollback),
            rollback: policy(FailureAction::Pause),
            restart_delay: "5s".into(),
            restart_max_attempts: None,
            restart_window: None,
            leave_out: None,
        }
    }
}

impl ServiceSwarm {
    /// The defaults, allocated once and shared by every service that
    /// changes none of them.
    pub fn shared_default() -> std::sync::Arc<ServiceSwarm> {
        static DEFAULT: std::sync::LazyLock<std::sync::Arc<ServiceSwarm>> =
            std::sync::LazyLock::new(|| std::sync::Arc::new(ServiceSwarm::default()));
        DEFAULT.clone()
    }
}

/// The host key a [`DeployHost`] must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPin {
    /// `SHA256:` and 43 base64 characters, as `ssh-keygen -lf` prints it.
    Fingerprint(String),
    /// A known_hosts file, as written (`~/` and relative paths resolved
    /// when a command runs).
    KnownHosts(String),
}

/// A set of services with its own compose file, which also holds every
/// service they depend on (see `compose_files::groups`).
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub description: Option<String>,
    pub compose_file: String,
    /// The services the model lists (indices into `System::services`),
    /// each once, in the model's order.
    pub services: Vec<usize>,
}

/// The Dockerfile stage `build.dev_entrypoint` adds, and the suffix of its
/// image's tag.
pub const DEV_STAGE: &str = "dev";

/// One rendering of every compose file (`variants.<name>`).
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub description: Option<String>,
    /// Inserted before the extension of each compose file name.
    pub compose_suffix: Option<String>,
    /// Built services get a Compose `build:` section.
    pub build: bool,
}

/// What a service adds in one variant.
#[derive(Debug, Clone, Default)]
pub struct ServiceVariant {
    pub environment: Vec<(String, String)>,
    pub volumes: Vec<Volume>,
    pub binds: Vec<Bind>,
    /// Declared ports this variant publishes: (index in `ports`, host
    /// port, host address).
    pub ports: Vec<(usize, HostPort, Option<IpAddr>)>,
    /// Runs the build's `dev` stage (`dev_stage`).
    pub dev_stage: bool,
}

/// `docker-compose.yml` with suffix `prod`: `docker-compose.prod.yml`.
pub fn suffixed_file_name(file: &str, suffix: Option<&str>) -> String {
    let Some(suffix) = suffix else {
        return file.to_string();
    };
    match file.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{}.{suffix}{}", &file[..i], &file[i..]),
        None => format!("{file}.{suffix}"),
    }
}

impl System {
    /// The system as variant `v` renders it: compose file names (phases,
    /// master, groups) suffixed,
    /// every service's variant environment and volumes added after its own,
    /// config files whose text differs between variants filled in for `v`.
    pub fn with_variant(&self, v: usize) -> System {
        let mut sys = self.clone();
        let suffix = self.variants[v].compose_suffix.as_deref();
        for phase in &mut sys.phases {
            phase.compose_file = suffixed_file_name(&phase.compose_file, suffix);
        }
        sys.output.master_compose = suffixed_file_name(&sys.output.master_compose, suffix);
        if let Some(file) = &mut sys.output.profiles_compose {
            *file = suffixed_file_name(file, suffix);
        }
        for group in &mut sys.groups {
            group.compose_file = suffixed_file_name(&group.compose_file, suffix);
        }
        for s in &mut sys.services {
            if let Some(add) = s.variants.get(v) {
                s.environment.extend(add.environment.iter().cloned());
                s.volumes.extend(add.volumes.iter().cloned());
                s.binds.extend(add.binds.iter().cloned());
                for &(i, host, host_ip) in &add.ports {
                    s.ports[i].host = Some(host);
                    s.ports[i].host_ip = host_ip;
                }
                if let Some(b) = s.build.as_mut().filter(|_| add.dev_stage) {
                    b.target = Some(DEV_STAGE);
                }
            }
            for f in s.config_files.iter_mut().filter(|f| f.varies()) {
                f.variant = Some(self.variants[v].name.clone());
                for piece in &mut f.pieces {
                    if let Piece::PerVariant(texts) = piece {
                        *piece = Piece::Text(texts[v].clone());
                    }
                }
            }
        }
        sys.variant = Some(v);
        sys.drop_services_not_in(v);
        sys
    }

    /// Removes the services variant `v` does not have (`only_in_variants`),
    /// renumbering what refers to services by index. Validation refused a
    /// reference from a service `v` has to one it lacks.
    fn drop_services_not_in(&mut self, v: usize) {
        let keep: Vec<bool> = (self.services.iter())
            .map(|s| s.only_in.is_empty() || s.only_in.contains(&v))
            .collect();
        if keep.iter().all(|&k| k) {
            return;
        }
        let mut renumbered = vec![None; keep.len()];
        for (n, i) in (0..keep.len()).filter(|&i| keep[i]).enumerate() {
            renumbered[i] = Some(n);
        }
        let services = std::mem::take(&mut self.services);
        self.services = (services.into_iter().zip(&keep))
            .filter(|(_, &k)| k)
            .map(|(mut s, _)| {
                s.depends_on = s.depends_on.iter().filter_map(|&d| renumbered[d]).collect();
                s.initializes = s.initializes.and_then(|t| renumbered[t]);
                s
            })
            .collect();
        for g in &mut self.groups {
            g.services = g.services.iter().filter_map(|&i| renumbered[i]).collect();
        }
    }

    /// The system once per variant, each with the variant applied; empty
    /// when the model has no variants (or `self` is one already).
    pub fn variant_systems(&self) -> Vec<System> {
        match self.variant {
            Some(_) => Vec::new(),
            None => (0..self.variants.len())
                .map(|v| self.with_variant(v))
                .collect(),
        }
    }

    /// Whether compose files give built services a `build:` section.
    pub fn compose_builds(&self) -> bool {
        self.variant.is_some_and(|v| self.variants[v].build)
    }
}

/// A service outside the model (a managed database). Compose cannot start
/// or wait for it; its dependants receive where it is through variables
/// Compose fills from the environment it runs in.
#[derive(Debug, Clone)]
pub struct ExternalService {
    pub name: String,
    pub description: Option<String>,
    /// The variable holding its host name or address.
    pub host_env: String,
    pub port: ExternalPort,
}

/// Where an external service's port comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalPort {
    /// The operator sets this variable.
    Env(String),
    /// Fixed in the model.
    Fixed(u16),
}

/// Directories (relative to the output root) and the master file name.
#[derive(Debug, Clone)]
pub struct OutputLayout {
    pub env_dir: String,
    pub compose_dir: String,
    pub dockerfile_dir: String,
    pub master_compose: String,
    /// The compose file with a Compose profile per phase, when asked for.
    pub profiles_compose: Option<String>,
    pub secrets_dir: String,
    pub config_dir: String,
}

#[derive(Debug, Clone)]
pub struct Plane {
    pub name: String,
    pub description: Option<String>,
    pub isolated: bool,
    pub forbidden_terms: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Network {
    /// The key services use to refer to it.
    pub key: String,
    /// Docker's name for it, shared by every compose file.
    pub name: String,
    pub plane: usize,
    pub driver: String,
    pub subnet: Subnet,
    pub gateway: Option<IpAddr>,
    pub internal: bool,
    /// Swarm mode: an encrypted overlay.
    pub encrypted: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub description: Option<String>,
    pub env_file: usize,
    pub compose_file: String,
}

#[derive(Debug, Clone)]
pub struct EnvFile {
    pub key: String,
    pub file: String,
    pub description: Option<String>,
    pub vars: Vec<(String, String)>,
}

/// A secret: generated (its size and how it is written), or supplied by
/// the operator (`supplied`; then `bytes` and `encoding` only shape the
/// stand-in value a `Seeded` run derives for tests).
#[derive(Debug, Clone)]
pub struct SecretSpec {
    pub name: String,
    pub description: Option<String>,
    pub bytes: usize,
    pub encoding: Encoding,
    pub supplied: Option<Supplied>,
    /// Composed from other secrets (never generated, stored or rotated);
    /// every reference names a declared secret that is no template.
    pub template: Option<Vec<crate::secret_template::Part>>,
}

/// Where the operator supplies a secret's value: read on every `all`,
/// never generated, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supplied {
    /// An environment variable of the `lucid-gen` process.
    Env(String),
    /// A file (relative paths from the working directory).
    File(String),
}

#[derive(Debug, Clone)]
pub struct BaseImage {
    pub key: String,
    pub description: Option<String>,
    pub image: String,
    pub build: Build,
    /// `uid:gid` of its `USER`; `None`: 65532:65532.
    pub user: Option<String>,
}

/// Where the `version` stage of a Dockerfile writes the image's version.
pub const VERSION_IN_STAGE: &str = "/VERSION";

/// Where a `python` build's requirements file is copied in its builder stage.
pub const REQUIREMENTS_IN_BUILDER: &str = "/tmp/requirements.txt";

#[derive(Debug, Clone)]
pub struct Build {
    /// The template the Dockerfile is rendered from; `None` exactly when
    /// `dockerfile` names a hand-written one.
    pub stack: Option<Stack>,
    /// A hand-written Dockerfile, relative to `context`.
    pub dockerfile: Option<String>,
    pub context: String,
    pub builder: String,
    /// The runtime image reference, bases already resolved.
    pub runtime: String,
    /// The base in `System::images` the runtime is, if any.
    pub runtime_base: Option<usize>,
    pub packages: Vec<String>,
    /// A requirements file relative to `context` (`python`).
    pub requirements: Option<String>,
    /// Where the image holds its version, its tag (`build.version_file`).
    pub version_file: Option<String>,
    pub copy: Vec<(String, String)>,
    pub entrypoint: Vec<String>,
    /// The `dev` stage's process (`node`), empty for none.
    pub dev_entrypoint: Vec<String>,
    /// The stage Compose builds in this variant (`dev`), else the last.
    pub target: Option<&'static str>,
    pub workdir: Option<String>,
    /// The image carries the health probe program (`build.probe`).
    pub probe: bool,
}

/// A variable the operator sets where Compose runs (`required_env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredVar {
    /// The name the container receives.
    pub name: String,
    /// What it is (Compose's message while it is unset).
    pub what: String,
    /// The name Compose reads it from (`name` unless the model says `from`).
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub description: Option<String>,
    pub phase: usize,
    pub plane: usize,
    pub image: String,
    pub build: Option<Box<Build>>,
    pub networks: Vec<usize>,
    pub ports: Vec<PortMapping>,
    pub depends_on: Vec<usize>,
    /// External services this one needs (indices into `System::externals`);
    /// Compose cannot wait for them.
    pub external_deps: Vec<usize>,
    pub health: Option<HealthCheck>,
    pub environment: Vec<(String, String)>,
    pub env_files: Vec<usize>,
    /// The secrets this container receives, each once.
    pub secrets: Vec<SecretUse>,
    pub config_files: Vec<ConfigFile>,
    /// Replaces the image's entrypoint when not empty.
    pub entrypoint: Vec<String>,
    /// Runs once and exits; dependants wait for it to exit 0.
    pub run_once: bool,
    /// The service this one-shot step initialises (`run_once` is set).
    pub initializes: Option<usize>,
    /// A one-shot job run after its phase is up (`after_up`): under the
    /// `after-up` Compose profile, waited for by nothing.
    pub after_up: bool,
    pub volumes: Vec<Volume>,
    /// Host paths mounted into the container.
    pub binds: Vec<Bind>,
    /// Host devices passed through: (path, why).
    pub devices: Vec<(String, String)>,
    pub resources: Resources,
    /// The user the container runs as (the model's, or distroless nonroot);
    /// unused when `image_user` is set.
    pub user: String,
    pub restart: Restart,
    pub command: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub security: Security,
    /// Linter rule id → why it is accepted for this service.
    pub lint_exceptions: Vec<(String, String)>,
    /// Docker's init (tini) runs as PID 1.
    pub init: bool,
    /// Variables Compose takes from the environment it runs in and refuses
    /// to start without.
    pub required_env: Vec<RequiredVar>,
    /// A published image (no `build`) the model gives no `user`: it runs as
    /// its image's own USER, so the compose file sets none and `user` is
    /// unused.
    pub image_user: bool,
    /// Containers running this service (Compose `deploy.replicas`).
    pub replicas: u32,
    /// Placement, update, rollback and restart policy in swarm mode.
    /// Services without a `swarm:` share one default (memory: at 10,000
    /// services a copy each was 3.8 MB; see [`ServiceSwarm::shared_default`]).
    pub swarm: std::sync::Arc<ServiceSwarm>,
    /// One entry per `System::variants` (empty when there are none).
    pub variants: Vec<ServiceVariant>,
    /// The variants it exists in (indices); empty: every variant.
    pub only_in: Vec<usize>,
}

/// One secret a service receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub secret: usize,
    pub delivery: Delivery,
}

/// How a secret reaches a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// An environment variable named after the secret, from the service's
    /// own secrets env file.
    Env,
    /// A read-only file at `target`.
    File { target: String },
    /// The file, plus `NAME_FILE=target` in the environment.
    FileEnv { target: String },
}

impl Delivery {
    /// Where the secret's file is mounted, for file deliveries.
    pub fn target(&self) -> Option<&str> {
        match self {
            Delivery::Env => None,
            Delivery::File { target } | Delivery::FileEnv { target } => Some(target),
        }
    }
}

/// A file rendered from the model and mounted read-only into a service.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Absolute path inside the container.
    pub target: String,
    pub pieces: Vec<Piece>,
    /// The variant this copy is rendered for, in a system with the variant
    /// applied, when its text differs between variants ([`Piece::PerVariant`]).
    pub variant: Option<String>,
}

impl ConfigFile {
    /// Whether the rendered file holds a secret or a value derived from one.
    pub fn secret_bearing(&self) -> bool {
        (self.pieces.iter()).any(|p| matches!(p, Piece::Secret(_) | Piece::TorHashedPassword(_)))
    }

    /// Whether its text differs between variants: written once per variant.
    pub fn varies(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::PerVariant(_)))
    }
}

/// A part of a config file: text, or a secret filled in at render time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// The secret's value.
    Secret(usize),
    /// Tor's `HashedControlPassword` of the secret (salted, iterated SHA-1).
    TorHashedPassword(usize),
    /// Text that differs between variants (`{{ targets }}` over services
    /// some variants leave out), one per variant in model order.
    PerVariant(Vec<String>),
}

/// The default mount point of a secret file.
pub fn default_secret_target(name: &str) -> String {
    format!("/run/secrets/{name}")
}

/// The user every container runs as unless the model says otherwise:
/// distroless's `nonroot`.
pub const DEFAULT_USER: &str = "65532:65532";

/// Hardening of one service; every relaxation carries its reason.
#[derive(Debug, Clone)]
pub struct Security {
    /// `None`: read-only root. `Some(reason)`: writable, because reason.
    pub writable_root: Option<String>,
    pub tmpfs: Vec<String>,
    /// Capability (without `CAP_`) and why it is needed.
    pub cap_add: Vec<(String, String)>,
    pub run_as_root: Option<String>,
    pub pids_limit: u32,
}

/// A port published on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort(pub u16);

/// A port a container listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerPort(pub u16);

#[derive(Debug, Clone)]
pub struct PortMapping {
    pub container: ContainerPort,
    pub host: Option<HostPort>,
    pub protocol: Protocol,
    pub host_ip: Option<IpAddr>,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Probe {
    Http { port: ContainerPort, path: String },
    Tcp { port: ContainerPort },
    Exec(Vec<String>),
}

/// `Debug` (below) shows the check as `render::hashes` hashes it.
#[derive(Clone)]
pub struct HealthCheck {
    pub probe: Probe,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
    /// `start_period` in nanoseconds (0 when validation refused it).
    pub start_period_ns: u64,
    /// The compose files wrap the probe so that `retries` failures in a
    /// row stop the container and its restart policy starts it again
    /// (`render::probe::restarting_probe`).
    pub restart_when_unhealthy: bool,
}

/// The fields a check had before `restart_when_unhealthy`, as `derive`
/// writes them: services' `lucid-gen.hash.config` labels stay as they
/// were (`start_period_ns` is `start_period`; the flag is hashed apart,
/// only when set).
impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck")
            .field("probe", &self.probe)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("start_period", &self.start_period)
            .finish()
    }
}

/// A host path mounted into a container.
#[derive(Debug, Clone)]
pub struct Bind {
    pub source: BindSource,
    /// Mount point inside the container.
    pub target: String,
    /// `None`: read-only. `Some(reason)`: writable, because reason.
    pub read_write: Option<String>,
}

/// Where a bind mount's host path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindSource {
    /// An absolute host path, as written (`/proc`).
    Host(String),
    /// A path inside the source tree (`${SOURCE_DIR}`), relative.
    SourceTree(String),
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub memory_reservation: Option<String>,
}

impl Service {
    /// The raw secrets this container can read: those it declares, and those its
    /// config files hold (a derived value such as a hash is not the secret).
    pub fn received_secrets(&self) -> std::collections::BTreeSet<usize> {
        let mut out: std::collections::BTreeSet<usize> =
            self.secrets.iter().map(|u| u.secret).collect();
        for f in &self.config_files {
            for p in &f.pieces {
                if let Piece::Secret(i) = p {
                    out.insert(*i);
                }
            }
        }
        out
    }

    /// The numeric (uid, gid) the container runs as (`uid` alone: gid =
    /// uid), which Swarm secrets and configs are owned by; `None` for a
    /// published image's own user or a user given by name.
    pub fn numeric_owner(&self) -> Option<(&str, &str)> {
        if self.image_user {
            return None;
        }
        let (uid, gid) = self
            .user
            .split_once(':')
            .unwrap_or((&self.user, &self.user));
        let numeric = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        (numeric(uid) && numeric(gid)).then_some((uid, gid))
    }
}

impl System {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// Services of one phase, in model order.
    pub fn services_in(&self, phase: usize) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.phase == phase)
    }

    /// Base images in build waves, each in model order: an image builds
    /// only on images of earlier waves. `Err` names the images that build on
    /// each other in a ring (validation refuses those: `dependency-cycle`).
    pub fn base_image_waves(&self) -> Result<Vec<Vec<usize>>, Vec<&str>> {
        let mut built: Vec<usize> = Vec::new();
        let mut waves = Vec::new();
        while built.len() < self.images.len() {
            let wave: Vec<usize> = (0..self.images.len())
                .filter(|i| !built.contains(i))
                .filter(|&i| (self.images[i].build.runtime_base).is_none_or(|b| built.contains(&b)))
                .collect();
            if wave.is_empty() {
                return Err((0..self.images.len())
                    .filter(|i| !built.contains(i))
                    .map(|i| self.images[i].key.as_str())
                    .collect());
            }
            built.extend(&wave);
            waves.push(wave);
        }
        Ok(waves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Subnet {
        let (a, p) = s.split_once('/').unwrap();
        Subnet {
            addr: a.parse().unwrap(),
            prefix: p.parse().unwrap(),
        }
    }

    #[test]
    fn overlap() {
        assert!(net("172.20.0.0/16").overlaps(net("172.20.5.0/24")));
        assert!(net("172.20.5.0/24").overlaps(net("172.20.0.0/16")));
        assert!(!net("172.20.0.0/16").overlaps(net("172.21.0.0/16")));
        assert!(net("10.0.0.0/8").overlaps(net("10.255.0.0/16")));
        assert!(!net("10.0.0.0/8").overlaps(net("fd00::/8")));
        assert!(net("0.0.0.0/0").overlaps(net("192.168.1.0/24")));
        assert!(net("fd00::/64").overlaps(net("fd00::1/128")));
    }
}
