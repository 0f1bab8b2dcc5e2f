//! The model as written: serde types mirroring the YAML one to one.
//!
//! Every struct refuses unknown keys, every map keeps the author's order
//! (`IndexMap`), and nothing here is checked beyond its YAML type: names are
//! not resolved, ports not range-checked. `validate` is the only way from
//! these types to the strict [`crate::system::System`].
//!
//! A model is a directory of `*.yaml` files; each file is a [`Fragment`]
//! holding any of the top-level sections. Fragments are merged; a name
//! defined in two files is an error.

use indexmap::IndexMap;
use serde::Deserialize;

pub use super::raw_build::{BuildDef, CopyDef, Stack};
pub use super::raw_env::RequiredEnvDef;
pub use super::raw_hosts::{AfterDeployDef, GithubDeployDef, HostDef, ImageArrival};
pub use super::raw_mounts::{BindDef, VariantPortDef};
pub use super::raw_swarm::*;

/// One model file: any subset of the top-level sections.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    pub system: Option<SystemDef>,
    #[serde(default)]
    pub planes: IndexMap<String, PlaneDef>,
    #[serde(default)]
    pub networks: IndexMap<String, NetworkDef>,
    #[serde(default)]
    pub phases: IndexMap<String, PhaseDef>,
    #[serde(default)]
    pub env_files: IndexMap<String, EnvFileDef>,
    #[serde(default)]
    pub secrets: IndexMap<String, SecretDef>,
    #[serde(default)]
    pub images: IndexMap<String, ImageDef>,
    #[serde(default)]
    pub external_services: IndexMap<String, ExternalServiceDef>,
    #[serde(default)]
    pub services: IndexMap<String, ServiceDef>,
    /// Sets of services, each with its own compose file that works alone.
    #[serde(default)]
    pub groups: IndexMap<String, GroupDef>,
    /// Renderings of the whole model that differ only in environment,
    /// volumes and whether Compose builds or pulls: each compose file is
    /// written once per variant. The first variant is the one `up`, `test`,
    /// `plan` and `down` use.
    #[serde(default)]
    pub variants: IndexMap<String, VariantDef>,
    /// Machines the system is deployed to over SSH (`up --host NAME`).
    #[serde(default)]
    pub hosts: IndexMap<String, HostDef>,
}

impl Fragment {
    /// Gives back the room deserializing left in each section's map.
    /// Memory: a map grows to its hash table's capacity (about 1.8 times
    /// the entries), and a raw service is large inline (`ServiceDef`), so
    /// at 10,000 services the slack alone was 14 MB.
    pub fn shrink_to_fit(&mut self) {
        self.planes.shrink_to_fit();
        self.networks.shrink_to_fit();
        self.phases.shrink_to_fit();
        self.env_files.shrink_to_fit();
        self.secrets.shrink_to_fit();
        self.images.shrink_to_fit();
        self.external_services.shrink_to_fit();
        self.services.shrink_to_fit();
        self.services.values_mut().for_each(super::shrink_service);
        self.groups.shrink_to_fit();
        self.variants.shrink_to_fit();
        self.hosts.shrink_to_fit();
    }
}

/// `groups.<name>:` — a set of services with a compose file of its own
/// that works alone: it also holds every service they depend on
/// (transitively) and creates every network they join.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    #[serde(default)]
    pub description: Option<String>,
    /// File name of the group's compose file (in `output.compose_dir`).
    pub compose_file: String,
    /// The services the group is for; their dependencies come along.
    pub services: Vec<String>,
}

/// `variants.<name>:` — one rendering of every compose file.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Inserted before the extension of every compose file name:
    /// `prod` turns `docker-compose.yml` into `docker-compose.prod.yml`.
    /// Without it the variant keeps the phases' file names.
    #[serde(default)]
    pub compose_suffix: Option<String>,
    /// Services with a `build` get a Compose `build:` section in this
    /// variant's files (from `${SOURCE_DIR}` and the generated Dockerfile
    /// under `${GENERATED_DIR}`); otherwise Compose pulls `image`.
    #[serde(default)]
    pub build: bool,
}

/// `services.<name>.variants.<variant>:` — what this service adds in one
/// variant; everything else is the same in every variant.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceVariantDef {
    /// Variables added to the service's `environment` in this variant
    /// (never one the service already sets).
    #[serde(default)]
    pub environment: IndexMap<String, String>,
    /// Named volumes added in this variant.
    #[serde(default)]
    pub volumes: Vec<VolumeDef>,
    /// Host paths mounted in this variant (see the service's `binds`).
    #[serde(default)]
    pub binds: Vec<BindDef>,
    /// Declared ports published on the host in this variant only.
    #[serde(default)]
    pub ports: Vec<VariantPortDef>,
    /// Builds and runs the `dev` stage of the service's build (its
    /// `dev_entrypoint`) instead of the runtime, tagged `<tag>-dev`; the
    /// variant must build (`build: true`).
    #[serde(default)]
    pub dev_stage: bool,
}

/// `external_services.<name>:` — a service outside the model (a managed
/// database): no container, its address and port come from the
/// environment Compose runs in. Services may `depends_on` it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalServiceDef {
    /// The variable holding its host name or address.
    pub host_env: String,
    /// The variable holding its port (or give a fixed `port`).
    #[serde(default)]
    pub port_env: Option<String>,
    /// A fixed port (or let the operator give it in `port_env`).
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `system:` — what the whole model is, and where its output goes.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemDef {
    /// Short name; the master compose project and the label prefix.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Target platform of every image and container, e.g. `linux/arm64`.
    pub platform: String,
    pub registry: RegistryDef,
    #[serde(default)]
    pub output: OutputDef,
    /// Labels put on every service.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// Compose linter rules (compose-lint ids such as `CL-0019`) accepted
    /// for every service, each with its reason.
    #[serde(default)]
    pub lint_exceptions: IndexMap<String, String>,
    /// Continuous integration rendered from the model.
    #[serde(default)]
    pub ci: Option<CiDef>,
    /// `compose` (default) or `swarm`: Swarm also gets stack files.
    #[serde(default)]
    pub mode: DeployMode,
    /// Swarm mode: how what a stack cannot carry is translated, where
    /// the model says so (by default each is refused).
    #[serde(default)]
    pub swarm: Option<super::raw_swarm::SystemSwarmDef>,
}

/// How service images are named: `<namespace>/<service>:<tag>`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryDef {
    pub namespace: String,
    pub tag: String,
    /// More tags `build` puts on every built image (compose files keep
    /// using `tag`), e.g. `["1.4.0", "${GITHUB_SHA}"]`; `${NAME}` is read
    /// from the environment at build time.
    #[serde(default)]
    pub extra_tags: Vec<String>,
}

/// `system.ci:` — workflows rendered from the model.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiDef {
    #[serde(default)]
    pub github: Option<GithubDef>,
}

/// `system.ci.github:` — a GitHub Actions workflow that, on every push to
/// `branch`, builds and pushes every built image with every tag, then
/// deploys over SSH (with `deploy`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GithubDef {
    /// File name, written to `.github/workflows/` in the output directory.
    pub workflow_file: String,
    /// The workflow's name; default `Build and deploy`.
    #[serde(default)]
    pub name: Option<String>,
    /// Pushes to this branch run it; default `main`.
    #[serde(default)]
    pub branch: Option<String>,
    /// The output directory, relative to the repository root; default
    /// `generated`.
    #[serde(default)]
    pub output_dir: Option<String>,
    /// The root of the build contexts (`--source`), relative to the
    /// repository root; default `.`.
    #[serde(default)]
    pub source_dir: Option<String>,
    /// Repository secrets with the registry's user name and password; by
    /// default the job's own `GITHUB_TOKEN` (ghcr.io).
    #[serde(default)]
    pub username_secret: Option<String>,
    #[serde(default)]
    pub password_secret: Option<String>,
    #[serde(default)]
    pub deploy: Option<GithubDeployDef>,
}

/// Where generated files go, relative to the output directory.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutputDef {
    pub env_dir: String,
    pub compose_dir: String,
    pub dockerfile_dir: String,
    /// File name of the compose file that holds every service.
    pub master_compose: String,
    /// File name of an optional further compose file that also holds every
    /// service, each under Compose profiles: its phase's and every later
    /// phase's, so `docker compose --profile <phase> up` starts that phase
    /// and the phases before it (a profile per stage). None by default.
    pub profiles_compose: Option<String>,
    /// Secret-bearing files: each service's secrets env file, the secret
    /// files containers mount and config files that hold a secret. Kept
    /// out of git; mounted ones are mode 0444 in a directory of mode 0700.
    pub secrets_dir: String,
    /// Config files without secrets, one directory per service.
    pub config_dir: String,
}

impl Default for OutputDef {
    fn default() -> Self {
        OutputDef {
            env_dir: "configs/environment".into(),
            compose_dir: "configs/docker".into(),
            dockerfile_dir: "dockerfiles".into(),
            master_compose: "docker-compose.master.yml".into(),
            profiles_compose: None,
            secrets_dir: "secrets".into(),
            config_dir: "configs/files".into(),
        }
    }
}

/// `planes.<name>:` — a security zone; each network belongs to one.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaneDef {
    #[serde(default)]
    pub description: Option<String>,
    /// No service of another plane may join this plane's networks, and this
    /// plane's services join other planes only through `bridges`.
    #[serde(default)]
    pub isolated: bool,
    /// Planes whose networks this plane's services may also join.
    #[serde(default)]
    pub may_join: Vec<String>,
    /// The only services of an isolated plane allowed onto another plane.
    #[serde(default)]
    pub bridges: Vec<BridgeDef>,
    /// Terms that must not appear (case-insensitively) in the names,
    /// environment, images or build sources of this plane's services.
    #[serde(default)]
    pub forbidden_terms: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BridgeDef {
    pub service: String,
    pub to: String,
    pub reason: String,
    /// Narrows the bridge to these networks of plane `to`; every network
    /// of `to` when absent.
    #[serde(default)]
    pub networks: Option<Vec<String>>,
}

/// `networks.<key>:` — a Docker network.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    pub plane: String,
    /// Docker's name for the network; defaults to the key.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_driver")]
    pub driver: String,
    pub subnet: String,
    #[serde(default)]
    pub gateway: Option<String>,
    /// No route out of the host (Docker `internal: true`).
    #[serde(default)]
    pub internal: bool,
    /// Swarm mode: the overlay encrypts traffic between nodes (IPsec).
    #[serde(default)]
    pub encrypted: bool,
    #[serde(default)]
    pub description: Option<String>,
}

fn default_driver() -> String {
    "bridge".into()
}

/// `phases.<name>:` — a deployment step with its own compose and env file.
/// Phases deploy in the order they are written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Key of the env file (in `env_files`) this phase's services read.
    pub env_file: String,
    /// File name of this phase's compose file.
    pub compose_file: String,
}

/// `env_files.<key>:` — one generated env file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvFileDef {
    /// File name, e.g. `.env.foundation`.
    pub file: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Plain variables, in order. Never secrets: those reach each service
    /// that declares them on their own (`services.*.secrets`).
    #[serde(default)]
    pub vars: IndexMap<String, String>,
}

/// `secrets.<NAME>:` — a random value generated once and kept in the store
/// (`bytes`), a value the operator supplies (`from_env`, `from_file`),
/// read on every run and never stored, or a value composed from other
/// secrets (`template`). Exactly one of the four.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Random bytes before encoding.
    #[serde(default)]
    pub bytes: Option<u32>,
    /// The operator supplies the value in this environment variable.
    #[serde(default)]
    pub from_env: Option<String>,
    /// The operator supplies the value in this file (relative to the
    /// working directory; one trailing line break is dropped).
    #[serde(default)]
    pub from_file: Option<String>,
    /// The value composed from other secrets: `${NAME}` inserts secret
    /// `NAME` as it is, `${NAME:url}` percent-encoded (for a URL's
    /// userinfo); every other character is literal. Derived on every run,
    /// never stored; changes whenever a secret it names does.
    #[serde(default)]
    pub template: Option<String>,
    /// How a generated value (`bytes`) is written; only with `bytes`.
    #[serde(default)]
    pub encoding: Option<Encoding>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    #[default]
    Base64,
    Base64url,
    Hex,
}

/// `images.<key>:` — an image that is built but not run itself: a base that
/// services build on.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageDef {
    #[serde(default)]
    pub description: Option<String>,
    /// Full reference, e.g. `example/base:python-distroless-arm64`.
    pub image: String,
    pub build: BuildDef,
    /// `uid:gid` of the image's `USER` (never root); default `65532:65532`.
    /// Services built on it set their own.
    #[serde(default)]
    pub user: Option<String>,
}

/// `services.<name>:` — one container.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDef {
    #[serde(default)]
    pub description: Option<String>,
    pub phase: String,
    pub plane: String,
    /// Image reference; defaults to `<namespace>/<name>:<tag>`.
    #[serde(default)]
    pub image: Option<String>,
    /// How the image is built; a service without one runs a published image.
    #[serde(default)]
    pub build: Option<Box<BuildDef>>,
    /// Networks it joins; a one-shot job may join none.
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub ports: Vec<PortDef>,
    /// Services that must be up (healthy, when they have a health check)
    /// before this one starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub health: Option<HealthDef>,
    /// Per-service variables, written into the compose file (never secrets).
    #[serde(default)]
    pub environment: IndexMap<String, String>,
    /// Env files this service reads; defaults to its phase's env file.
    #[serde(default)]
    pub env_files: Option<Vec<String>>,
    /// Secrets this container receives, and nothing else: `NAME` as an
    /// environment variable, `{ name: NAME, as: file }` as the file
    /// `/run/secrets/NAME` (or `target`), `as: file-env` the same file plus
    /// `NAME_FILE` holding its path.
    #[serde(default)]
    pub secrets: Vec<SecretUseDef>,
    /// Files rendered from the model and mounted read-only.
    #[serde(default)]
    pub config_files: Vec<ConfigFileDef>,
    /// Replaces the image's entrypoint (exec form).
    #[serde(default)]
    pub entrypoint: Vec<String>,
    /// A one-shot job: runs to completion once per deployment, is never
    /// restarted, and services that depend on it wait until it exits 0.
    #[serde(default)]
    pub run_once: bool,
    /// Makes this a one-shot initialisation step of that service: it runs
    /// once the service is healthy, inside its network namespace (so it
    /// reaches the service on 127.0.0.1), and the service's dependants wait
    /// until it exits 0. It runs the service's image unless it names one.
    #[serde(default)]
    pub initializes: Option<String>,
    /// Runs this one-shot job (`run_once` or `initializes`) once its phase
    /// is up and healthy, instead of holding the phase up: nothing waits
    /// for it. Compose starts it only when named (profile `after-up`);
    /// `lucid-gen up` and `deploy` run it after the phase's `up --wait`
    /// and fail the phase unless it exits 0.
    #[serde(default)]
    pub after_up: bool,
    #[serde(default)]
    pub volumes: Vec<VolumeDef>,
    /// Host paths mounted into the container, read-only by default.
    #[serde(default)]
    pub binds: Vec<BindDef>,
    /// Host devices passed through (same path inside): path → reason.
    #[serde(default)]
    pub devices: IndexMap<String, String>,
    #[serde(default)]
    pub resources: Option<ResourcesDef>,
    /// `uid:gid` the container runs as.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub restart: Option<Restart>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// Exceptions to the hardened defaults, each with its reason.
    #[serde(default)]
    pub security: SecurityDef,
    /// Compose linter rules accepted for this service: id → reason.
    #[serde(default)]
    pub lint_exceptions: IndexMap<String, String>,
    /// Runs Docker's init (tini) as PID 1, which reaps zombies and passes
    /// signals on to the service's process.
    #[serde(default)]
    pub init: bool,
    /// Variables the operator must set where Compose runs (the shell or a
    /// `.env` beside the compose file): name → what it is, or
    /// `{ what, from }` when the operator sets another variable (`from`)
    /// that this container receives as `name` (one NODE_ID per service:
    /// `NODE_ID: { from: ORACLE_NODE_ID, what: ... }`). Compose refuses to
    /// start the service while one is unset or empty.
    #[serde(default)]
    pub required_env: IndexMap<String, RequiredEnvDef>,
    /// How many containers run this service (Compose `deploy.replicas`);
    /// default 1. A replicated service publishes no fixed host port.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Placement, update, rollback and restart policy in swarm mode.
    #[serde(default)]
    pub swarm: Option<Box<ServiceSwarmDef>>,
    /// Per-variant additions (see the top-level `variants`).
    #[serde(default)]
    pub variants: IndexMap<String, ServiceVariantDef>,
    /// The variants this service exists in; default every one.
    #[serde(default)]
    pub only_in_variants: Option<Vec<String>>,
}

/// One secret a service receives, and how.
#[derive(Debug)]
pub struct SecretUseDef {
    pub name: String,
    pub delivery: DeliveryDef,
    /// Where a file secret is mounted; default `/run/secrets/NAME`.
    pub target: Option<String>,
}

/// How a secret reaches a container.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryDef {
    /// An environment variable of the same name.
    #[default]
    Env,
    /// A read-only file.
    File,
    /// A read-only file, and `NAME_FILE` holding its path.
    FileEnv,
}

/// The long form of a secret use: `{ name, as, target }`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SecretUseMap {
    name: String,
    /// `env` (default), `file` or `file-env`.
    #[serde(default, rename = "as")]
    delivery: DeliveryDef,
    #[serde(default)]
    target: Option<String>,
}

/// The schema of a secret use: a name, or the long form.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum SecretUseSchema {
    /// The secret's name: delivered as an environment variable.
    Name(String),
    Full(SecretUseMap),
}

impl schemars::JsonSchema for SecretUseDef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretUseDef".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        SecretUseSchema::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for SecretUseDef {
    /// `NAME`, or `{ name: NAME, as: file, target: /path }`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SecretUseDef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a secret name, or a map with `name`, `as` and `target`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretUseDef, E> {
                Ok(SecretUseDef {
                    name: v.to_string(),
                    delivery: DeliveryDef::Env,
                    target: None,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<SecretUseDef, A::Error> {
                let m = SecretUseMap::deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                Ok(SecretUseDef {
                    name: m.name,
                    delivery: m.delivery,
                    target: m.target,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `config_files:` — a file rendered from the model and mounted read-only.
/// `content` may name model values: `{{ secret NAME }}`,
/// `{{ secret-file NAME }}`, `{{ tor-hashed-password NAME }}`,
/// `{{ port SERVICE PORT }}`, `{{ host SERVICE }}`, `{{ subnet NETWORK }}`,
/// `{{ platform }}`, `{{ system }}`, and `{{ "text" }}` for literal text.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFileDef {
    /// Absolute path inside the container.
    pub target: String,
    pub content: String,
}

/// `security:` — every service runs hardened unless this says otherwise:
/// read-only root filesystem with a tmpfs `/tmp`, all capabilities
/// dropped, `no-new-privileges`, a PID limit, a non-root user.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityDef {
    /// Why the root filesystem must stay writable (makes it writable).
    #[serde(default)]
    pub writable_root: Option<String>,
    /// Writable scratch directories on the read-only root; default `[/tmp]`.
    #[serde(default)]
    pub tmpfs: Option<Vec<String>>,
    /// Capabilities added back after dropping all: name → reason.
    #[serde(default)]
    pub cap_add: IndexMap<String, String>,
    /// Why the service must run as root (required for user `0`/`root`).
    #[serde(default)]
    pub run_as_root: Option<String>,
    /// Most processes the container may run; default 256.
    #[serde(default)]
    pub pids_limit: Option<u32>,
    /// Why a service of an isolated plane publishes host ports (a host
    /// port reaches the plane around its isolation).
    #[serde(default)]
    pub host_ports: Option<String>,
    /// Why a service of an isolated plane is given host `devices`.
    #[serde(default)]
    pub devices_on_isolated_plane: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortDef {
    /// Port inside the container.
    pub container: u32,
    /// Port published on the host; unpublished when absent.
    #[serde(default)]
    pub host: Option<u32>,
    #[serde(default)]
    pub protocol: Protocol,
    /// Host address to bind; all addresses when absent.
    #[serde(default)]
    pub host_ip: Option<String>,
    /// What the port is for, e.g. `rpc`, `p2p`.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`, as Docker writes it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// `health:` — exactly one of `http`, `tcp` or `exec`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthDef {
    /// HTTP path probed on `port`, e.g. `/health`.
    #[serde(default)]
    pub http: Option<String>,
    /// Probe that `port` accepts TCP connections.
    #[serde(default)]
    pub tcp: bool,
    /// A command run in the container (exec form, no shell).
    #[serde(default)]
    pub exec: Option<Vec<String>>,
    /// Container port probed; defaults to the service's first port.
    #[serde(default)]
    pub port: Option<u32>,
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default = "default_timeout")]
    pub timeout: String,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_start_period")]
    pub start_period: String,
    /// Restart the container once the check has failed `retries` times in
    /// a row (failures in `start_period` before a first success do not
    /// count), as Swarm replaces an unhealthy task: Docker's restart
    /// policy only restarts a container whose process exits, so the
    /// compose files run the check through a `/bin/sh` wrapper that then
    /// stops it (SIGTERM to PID 1, SIGKILL at the next check if it still
    /// runs). Needs `init: true`, `restart` `unless-stopped` or `always`,
    /// and a shell in the image.
    #[serde(default)]
    pub restart_when_unhealthy: bool,
}

fn default_interval() -> String {
    "30s".into()
}
fn default_timeout() -> String {
    "10s".into()
}
fn default_retries() -> u32 {
    3
}
fn default_start_period() -> String {
    "40s".into()
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeDef {
    /// Named volume, created by Compose.
    pub name: String,
    /// Mount point inside the container.
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesDef {
    /// Memory limit, e.g. `1g`, `512m`.
    #[serde(default)]
    pub memory: Option<String>,
    /// CPU limit in cores, e.g. `1.5`.
    #[serde(default)]
    pub cpus: Option<f64>,
    /// Memory the service is guaranteed (a reservation).
    #[serde(default)]
    pub memory_reservation: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    No,
    Always,
    OnFailure,
    #[default]
    UnlessStopped,
}

impl Restart {
    pub fn as_compose(self) -> &'static str {
        match self {
            Restart::No => "\"no\"",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::UnlessStopped => "unless-stopped",
        }
    }
}
