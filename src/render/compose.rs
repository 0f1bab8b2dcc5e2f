//! Compose files: one per phase, one per group, and the master; in swarm
//! mode the phases' stack files too ([`stack`]).

pub mod stack;

use std::sync::OnceLock;

use askama::Template;

use super::probe::restarting_probe;
use super::{delivery, lint, probe_command, service_labels, template_error, RenderError};
use crate::compose_files::{relative_path, ComposeFile, NetworkUse};
use crate::escape::{
    comment, compose_list, compose_name, compose_port, compose_required_variable, compose_str,
    compose_variable_path, yaml_key, yaml_str, Comment, Yaml,
};
use crate::system::{
    BindSource, Delivery, ExternalPort, ExternalService, Protocol, Service, System,
};

/// A port published on the host.
struct PortView {
    target: u16,
    published: Yaml,
    host_ip: Option<Yaml>,
    protocol: &'static str,
    name: Option<Yaml>,
}

struct HealthView {
    test: Yaml,
    interval: Yaml,
    timeout: Yaml,
    retries: u32,
    start_period: Yaml,
}

struct VolumeView {
    /// `volume` (named) or `bind` (a host path).
    kind: &'static str,
    read_write: Option<Comment>,
    source: Yaml,
    target: Yaml,
    read_only: bool,
}

struct ServiceView {
    name: Yaml,
    comments: Vec<Comment>,
    image: Yaml,
    platform: Yaml,
    entrypoint: Option<Yaml>,
    command: Option<Yaml>,
    /// `None`: a published image keeps its own user.
    user: Option<Yaml>,
    /// Docker's init (tini) as PID 1.
    init: bool,
    run_as_root: Option<Comment>,
    restart: &'static str,
    writable_root: Option<Comment>,
    tmpfs: Vec<Yaml>,
    cap_add: Vec<(Yaml, Comment)>,
    /// `host:container` device and why.
    devices: Vec<(Yaml, Comment)>,
    /// Compose profiles (only in the profiles file): its phase and every
    /// later one.
    profiles: Vec<Yaml>,
    pids_limit: u32,
    env_files: Vec<Yaml>,
    environment: Vec<(Yaml, Yaml)>,
    ports: Vec<PortView>,
    /// Container ports other services use but the host does not: `ports:`
    /// would publish them on a random host port.
    expose: Vec<Yaml>,
    networks: Vec<Yaml>,
    /// `service:<target>` for an initialisation step, `none` for a job
    /// without networks.
    network_mode: Option<Yaml>,
    /// (compose name, mount point) of its secret files and secret-bearing
    /// config files, then of its plain config files.
    secrets: Vec<(Yaml, Yaml)>,
    configs: Vec<(Yaml, Yaml)>,
    depends_on: Vec<(Yaml, &'static str)>,
    healthcheck: Option<HealthView>,
    volumes: Vec<VolumeView>,
    limits: Vec<(&'static str, Yaml)>,
    reservation: Option<Yaml>,
    labels: Vec<(Yaml, Yaml)>,
    /// `deploy.replicas`, written only when not 1.
    replicas: Option<u32>,
    /// (context, dockerfile, target) in a variant that builds.
    build: Option<(Yaml, Yaml, Option<Yaml>)>,
    /// dclint findings the model accepts, written off above `image:` and
    /// `ports:` (see [`lint::written_off`]).
    image_written_off: Option<lint::WrittenOff>,
    ports_written_off: Option<lint::WrittenOff>,
}

struct NetworkView {
    key: Yaml,
    comment: Option<Comment>,
    name: Yaml,
    external: bool,
    driver: Yaml,
    internal: bool,
    /// An IPv6 subnet: Docker ignores it unless the network enables IPv6.
    ipv6: bool,
    subnet: Yaml,
    gateway: Option<Yaml>,
    labels: Vec<(Yaml, Yaml)>,
}

#[derive(Template)]
#[template(path = "compose.yml", escape = "none")]
struct ComposeTemplate<'a> {
    header: Vec<Comment>,
    project: Yaml,
    services: Services<'a>,
    networks: Vec<NetworkView>,
    volumes: Vec<(Yaml, Yaml)>,
    /// Top-level `secrets:` and `configs:`: compose name → file.
    secrets: Vec<(Yaml, Yaml)>,
    configs: Vec<(Yaml, Yaml)>,
}

/// The services of one compose file, each one's view made as the template
/// reaches it and dropped once written. Memory: the master compose file
/// of 10,000 services held all their views at once (about 20 MB) beside
/// its text.
struct Services<'a> {
    system: &'a System,
    plan: &'a ComposeFile,
    shared: &'a Shared,
}

impl Services<'_> {
    fn views(&self) -> impl Iterator<Item = ServiceView> + '_ {
        (self.plan.services.iter()).map(|&i| service_view(self.system, self.plan, self.shared, i))
    }
}

/// Label pairs. Compose interpolates values, not keys: a `$` in a key is
/// written as it is (`$$` would stay doubled).
fn kv(pairs: &[(String, String)]) -> Vec<(Yaml, Yaml)> {
    pairs
        .iter()
        .map(|(k, v)| (yaml_str(k), compose_str(v)))
        .collect()
}

/// What the compose files of one system share, computed once for all of
/// them: each service's initialisation steps, and each service's hash
/// digests (a service is in its phase's file and in the master), the first
/// file to need them computing them; each file spells them as labels.
pub struct Shared {
    steps: Vec<Vec<usize>>,
    digests: Vec<OnceLock<super::hashes::Digests>>,
}

impl Shared {
    pub fn new(system: &System) -> Shared {
        Shared {
            steps: initializers(system),
            digests: system.services.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    fn hash_labels(&self, system: &System, index: usize) -> Vec<(String, String)> {
        let digests = self.digests[index].get_or_init(|| {
            let inputs = super::hashes::service_inputs(system, &system.services[index]);
            super::hashes::digests(&inputs)
        });
        super::hashes::labels(digests)
    }
}

/// One compose file, with what the system's compose files share, into
/// `out`, piece by piece.
pub fn render_into(
    system: &System,
    plan: &ComposeFile,
    shared: &Shared,
    out: &mut dyn std::fmt::Write,
) -> Result<(), RenderError> {
    let services = Services {
        system,
        plan,
        shared,
    };
    let networks = plan
        .networks
        .iter()
        .map(|&(n, usage)| network_view(system, n, usage))
        .collect();
    let volumes = plan
        .volumes
        .iter()
        .map(|v| (yaml_key(v), compose_str(&format!("{}-{}", system.name, v))))
        .collect();
    let (secrets, configs) = mounted_files(system, plan);
    let t = ComposeTemplate {
        header: header(system, plan),
        project: compose_str(&plan.project),
        services,
        networks,
        volumes,
        secrets,
        configs,
    };
    t.render_into(out).map_err(template_error("compose.yml"))?;
    out.write_char('\n')
        .map_err(|e| template_error("compose.yml")(e.into()))
}

/// The top-level `secrets:` and `configs:` of a compose file: each file
/// one of its services mounts, once, by its path from the compose file.
/// (compose name, file) pairs of a top-level `secrets:` or `configs:`.
type Entries = Vec<(Yaml, Yaml)>;

fn mounted_files(system: &System, plan: &ComposeFile) -> (Entries, Entries) {
    let (mut secrets, mut configs) = (Vec::new(), Vec::new());
    for (key, (file, secret)) in mounted_file_paths(system, plan, delivery::mounts) {
        let list = if secret { &mut secrets } else { &mut configs };
        list.push((yaml_key(&key), file));
    }
    (secrets, configs)
}

/// Each file a service of `plan` mounts, once: (key, (its path from the
/// compose directory, whether it holds a secret)).
fn mounted_file_paths(
    system: &System,
    plan: &ComposeFile,
    mounts: fn(&System, &crate::system::Service) -> Vec<delivery::Mount>,
) -> Vec<(String, (Yaml, bool))> {
    let from_compose = |path: &std::path::Path| {
        let path = path.to_string_lossy();
        compose_str(&relative_path(&system.output.compose_dir, &path))
    };
    let mut out: Vec<(String, (Yaml, bool))> = Vec::new();
    for &i in &plan.services {
        for m in mounts(system, &system.services[i]) {
            // A secret file several services mount is listed once.
            if !out.iter().any(|(k, _)| *k == m.key) {
                out.push((m.key, (from_compose(&m.path), m.secret)));
            }
        }
    }
    out
}

/// The comment lines at the top of a compose file.
fn header(system: &System, plan: &ComposeFile) -> Vec<Comment> {
    let mut header = Vec::new();
    if let Some(g) = plan.group {
        header.extend(group_header(system, plan, g));
    }
    match plan.phase {
        _ if plan.group.is_some() => {}
        Some(p) => {
            let phase = &system.phases[p];
            header.push(comment(&format!(
                "Phase {} of {}: {}",
                p + 1,
                system.phases.len(),
                phase.name
            )));
            if let Some(d) = &phase.description {
                header.push(comment(d));
            }
            let earlier: Vec<&str> = plan
                .networks
                .iter()
                .filter_map(|(_, u)| match u {
                    NetworkUse::External { owner } => Some(system.phases[*owner].name.as_str()),
                    NetworkUse::Define => None,
                })
                .collect();
            if !earlier.is_empty() || p > 0 {
                header.push(comment(
                    "Deploy the earlier phases first; this file attaches to their networks.",
                ));
            }
        }
        None if plan.profiles => header.extend(profiles_header(system, plan)),
        None => {
            header.push(comment(&format!(
                "Master: every service of {}, in one project.",
                system.name
            )));
            if let Some(d) = &system.description {
                header.push(comment(d));
            }
        }
    }
    if !plan.profiles {
        header.push(comment(&format!(
            "Run: docker compose -f {} up -d --wait",
            plan.file_name
        )));
    }
    header
}

/// What the profiles file holds and how to start a stage of it.
fn profiles_header(system: &System, plan: &ComposeFile) -> Vec<Comment> {
    let first = (system.phases.first()).map_or("", |p| p.name.as_str());
    let mut header = vec![
        comment(&format!(
            "Profiles: every service of {}, in one project, a Compose profile per phase.",
            system.name
        )),
        comment(
            "A service is in its phase's profile and every later phase's: a phase's services need the earlier phases'.",
        ),
        comment(&format!(
            "Run: docker compose -f {} --profile {first} up -d --wait (a phase and the ones before it)",
            plan.file_name
        )),
    ];
    if let Some(d) = &system.description {
        header.push(comment(d));
    }
    header
}

/// What a group's file holds and why it works alone.
fn group_header(system: &System, plan: &ComposeFile, g: usize) -> Vec<Comment> {
    let group = &system.groups[g];
    let mut header = vec![comment(&format!("Group {}", group.name))];
    if let Some(d) = &group.description {
        header.push(comment(d));
    }
    let names = |services: &mut dyn Iterator<Item = &usize>| {
        (services.map(|&i| system.services[i].name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    header.push(comment(&format!(
        "Services: {}",
        names(&mut group.services.iter())
    )));
    let mut pulled = plan.services.iter().filter(|i| !group.services.contains(i));
    let pulled = names(&mut pulled);
    if !pulled.is_empty() {
        header.push(comment(&format!(
            "Also holds what they depend on, so the file works on its own: {pulled}"
        )));
    }
    header.push(comment(
        "It creates every network its services join: use it instead of the phase files or the master on an engine, not beside them.",
    ));
    header
}

fn network_view(system: &System, n: usize, usage: NetworkUse) -> NetworkView {
    let net = &system.networks[n];
    let plane = &system.planes[net.plane];
    let note = match usage {
        NetworkUse::Define => format!(
            "plane {}{}{}",
            plane.name,
            if plane.isolated { " (isolated)" } else { "" },
            net.description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ),
        NetworkUse::External { owner } => format!(
            "created by phase {} ({})",
            system.phases[owner].name, system.phases[owner].compose_file
        ),
    };
    NetworkView {
        key: yaml_key(&net.key),
        comment: Some(comment(&note)).filter(|c| !c.as_str().is_empty()),
        name: compose_str(&net.name),
        external: matches!(usage, NetworkUse::External { .. }),
        driver: compose_name(&net.driver),
        internal: net.internal,
        ipv6: net.subnet.addr.is_ipv6(),
        subnet: compose_name(&net.subnet.to_string()),
        gateway: net.gateway.map(|g| compose_name(&g.to_string())),
        labels: kv(&[
            ("lucid-gen.system".into(), system.name.clone()),
            ("lucid-gen.plane".into(), plane.name.clone()),
        ]),
    }
}

/// The notes under a service's name: the external services it needs, and
/// how a job run after its phase is up (`after_up`) is started.
fn notes(system: &System, s: &Service) -> Vec<Comment> {
    let mut notes: Vec<Comment> = (s.external_deps.iter())
        .map(|&e| comment(&external_note(&system.externals[e])))
        .collect();
    if s.after_up {
        notes.push(comment(&format!(
            "runs once phase {} is up (profile {AFTER_UP_PROFILE}, so `up` alone skips it): `lucid-gen up` runs it; by hand, `docker compose run --rm --no-deps {}`",
            system.phases[s.phase].name, s.name
        )));
    }
    notes
}

/// The Compose profile of the one-shot jobs run after their phase is up
/// (`after_up`): `up` without it leaves them out.
pub const AFTER_UP_PROFILE: &str = "after-up";

fn service_view(system: &System, plan: &ComposeFile, shared: &Shared, index: usize) -> ServiceView {
    let s = &system.services[index];
    let mut comments = Vec::new();
    if let Some(d) = &s.description {
        comments.push(comment(d));
    }
    comments.push(comment(&format!(
        "plane {}, phase {}",
        system.planes[s.plane].name, system.phases[s.phase].name
    )));
    let mut depends_on = Vec::new();
    for d in waits_for(system, &shared.steps, index) {
        let dep = &system.services[d];
        if plan.holds(d) {
            let condition = if dep.run_once {
                "service_completed_successfully"
            } else if dep.health.is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            depends_on.push((yaml_key(&dep.name), condition));
        } else {
            comments.push(comment(&format!(
                "needs {} from phase {} ({}), deployed earlier",
                dep.name, system.phases[dep.phase].name, system.phases[dep.phase].compose_file
            )));
        }
    }
    comments.extend(notes(system, s));
    let from_compose = |path: &std::path::Path| {
        compose_str(&relative_path(
            &system.output.compose_dir,
            &path.to_string_lossy(),
        ))
    };
    let mut env_files: Vec<Yaml> = s
        .env_files
        .iter()
        .map(|f| from_compose(&super::env_path(system, &system.env_files[*f].file)))
        .collect();
    // Read last: a secret is never replaced by a shared file's variable
    // (validation refuses the clash anyway).
    if delivery::has_env_secrets(s) {
        env_files.push(from_compose(&delivery::secrets_env_path(system, s)));
    }
    let (ports, expose) = port_views(s);
    let healthcheck = health_view(s, true);
    let mut limits = Vec::new();
    if let Some(cpus) = s.resources.cpus {
        limits.push(("cpus", compose_str(&cpus.to_string())));
    }
    if let Some(memory) = &s.resources.memory {
        limits.push(("memory", compose_str(memory)));
    }
    // A port without an interface is one dclint flags.
    let ports_written_off = (ports.iter().any(|p: &PortView| p.host_ip.is_none()))
        .then(|| lint::written_off(system, s, "no-unbound-port-interfaces"))
        .flatten();
    ServiceView {
        name: yaml_key(&s.name),
        comments,
        env_files,
        ports,
        ports_written_off,
        expose,
        depends_on,
        healthcheck,
        limits,
        profiles: match (s.after_up, plan.profiles) {
            (true, _) => vec![compose_str(AFTER_UP_PROFILE)],
            (false, true) => (system.phases[s.phase..].iter())
                .map(|p| compose_str(&p.name))
                .collect(),
            (false, false) => Vec::new(),
        },
        ..plain_view(system, s, &shared.hash_labels(system, index))
    }
}

/// The service's `healthcheck:`, its probe in exec form; with `restart`,
/// wrapped so that it restarts the container when the model says
/// `restart_when_unhealthy` (a compose file; a stack file runs the plain
/// probe, Swarm replacing an unhealthy task itself).
fn health_view(s: &Service, restart: bool) -> Option<HealthView> {
    let h = s.health.as_ref()?;
    let mut test = vec!["CMD".to_string()];
    let wrapped = restart.then(|| restarting_probe(s)).flatten();
    test.extend(wrapped.or_else(|| probe_command(s)).unwrap_or_default());
    Some(HealthView {
        test: compose_list(&test),
        interval: compose_name(&h.interval),
        timeout: compose_name(&h.timeout),
        retries: h.retries,
        start_period: compose_name(&h.start_period),
    })
}

/// The comment a dependant of an external service carries: Compose neither
/// starts nor waits for it.
fn external_note(e: &ExternalService) -> String {
    let port = match &e.port {
        ExternalPort::Env(var) => format!("${var}"),
        ExternalPort::Fixed(port) => port.to_string(),
    };
    format!(
        "needs external service {} at ${}:{port}, not a container: Compose cannot start or wait for it",
        e.name, e.host_env
    )
}

/// Per service, the one-shot steps that initialise it, in model order
/// (computed once per file, not once per dependency).
fn initializers(system: &System) -> Vec<Vec<usize>> {
    let mut by = vec![Vec::new(); system.services.len()];
    for (i, s) in system.services.iter().enumerate() {
        if let (Some(t), false) = (s.initializes, s.after_up) {
            by[t].push(i);
        }
    }
    by
}

/// The services `index` waits for: its dependencies, and the one-shot
/// initialisation steps of each (a dependency is ready once initialised);
/// `steps` is [`initializers`].
fn waits_for(system: &System, steps: &[Vec<usize>], index: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for &d in &system.services[index].depends_on {
        out.push(d);
        for &i in steps[d].iter().filter(|&&i| i != index) {
            if !out.contains(&i) {
                out.push(i);
            }
        }
    }
    if let Some(t) = system.services[index].initializes {
        if !out.contains(&t) {
            out.insert(0, t);
        }
    }
    out
}

/// Published ports, and the container ports only other services use.
fn port_views(s: &Service) -> (Vec<PortView>, Vec<Yaml>) {
    let protocol = |p: &crate::system::PortMapping| match p.protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    let ports = s
        .ports
        .iter()
        .filter_map(|p| {
            Some(PortView {
                target: p.container.0,
                published: compose_str(&p.host?.0.to_string()),
                host_ip: p.host_ip.map(|ip| compose_str(&ip.to_string())),
                protocol: protocol(p),
                name: p.name.as_ref().map(|n| compose_str(n)),
            })
        })
        .collect();
    let expose = s
        .ports
        .iter()
        .filter(|p| p.host.is_none())
        .map(|p| compose_port(p.container.0, protocol(p)))
        .collect();
    (ports, expose)
}

/// Where each external service `s` depends on is: its host (and port)
/// variable, each once, filled by Compose from the environment it runs in
/// and refused by Compose when unset. Validation ran the same escaper.
fn external_environment(system: &System, s: &Service) -> Vec<(Yaml, Yaml)> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for e in s.external_deps.iter().map(|&e| &system.externals[e]) {
        let port = match &e.port {
            ExternalPort::Env(var) => Some(var.as_str()),
            ExternalPort::Fixed(_) => None,
        };
        for var in std::iter::once(e.host_env.as_str()).chain(port) {
            if seen.contains(&var) {
                continue;
            }
            seen.push(var);
            let message = format!("set {var} to where external service {} is", e.name);
            if let Ok(value) = compose_required_variable(var, &message) {
                out.push((yaml_key(var), value));
            }
        }
    }
    out
}

/// The service's own variables, the variables saying where its external
/// services are, the variables the operator must set (`${NAME:?…}`), then
/// `NAME_FILE` for each secret it receives as `file-env`.
fn environment(system: &System, s: &Service) -> Vec<(Yaml, Yaml)> {
    let mut env: Vec<(Yaml, Yaml)> = (s.environment.iter())
        .map(|(k, v)| (yaml_key(k), compose_str(v)))
        .collect();
    env.extend(external_environment(system, s));
    for r in &s.required_env {
        // Validation ran the same escaper on both names.
        let message = format!("set {}: {}", r.from, r.what);
        if let Ok(value) = compose_required_variable(&r.from, &message) {
            env.push((yaml_key(&r.name), value));
        }
    }
    for u in &s.secrets {
        if let Delivery::FileEnv { target } = &u.delivery {
            let name = format!("{}_FILE", system.secrets[u.secret].name);
            env.push((yaml_key(&name), compose_str(target)));
        }
    }
    env
}

/// The service's mounts of one kind (secrets or configs): (compose name,
/// target).
fn mount_views(system: &System, s: &Service, secret: bool) -> Vec<(Yaml, Yaml)> {
    delivery::mounts(system, s)
        .into_iter()
        .filter(|m| m.secret == secret)
        .map(|m| (yaml_key(&m.key), compose_str(&m.target)))
        .collect()
}

/// A built service's `build:` in a variant that builds: the context under
/// `${SOURCE_DIR}`, the Dockerfile (a generated one under `${GENERATED_DIR}`,
/// absolute, since Compose reads it relative to the context).
fn build_view(system: &System, s: &Service) -> Option<(Yaml, Yaml, Option<Yaml>)> {
    let b = s.build.as_ref().filter(|_| system.compose_builds())?;
    let source = "set SOURCE_DIR to the source tree";
    let generated = "set GENERATED_DIR to the absolute path of the generated directory";
    let context = compose_variable_path("SOURCE_DIR", source, &b.context).ok()?;
    let dockerfile = match super::build_dockerfile(system, &s.name, false, b) {
        super::DockerfileAt::Generated(path) => {
            compose_variable_path("GENERATED_DIR", generated, &path.to_string_lossy()).ok()?
        }
        super::DockerfileAt::Source(_) => compose_str(b.dockerfile.as_deref()?),
    };
    Some((context, dockerfile, b.target.map(compose_str)))
}

/// The image a service's containers run: its `image`, or for a variant
/// building another stage of its Dockerfile (`dev_stage`), `<tag>-<stage>`,
/// so that stage never takes the name `build` and CI push.
fn run_image(s: &Service) -> String {
    match s.build.as_ref().and_then(|b| b.target) {
        Some(stage) => crate::tags::with_tag_suffix(&s.image, stage),
        None => s.image.clone(),
    }
}

/// Named volumes, then host paths (under `${SOURCE_DIR}` when inside the
/// source tree), read-only unless a reason says otherwise.
fn volume_views(s: &Service) -> Vec<VolumeView> {
    let named = s.volumes.iter().map(|v| VolumeView {
        kind: "volume",
        read_write: None,
        source: compose_name(&v.name),
        target: compose_str(&v.target),
        read_only: v.read_only,
    });
    let binds = s.binds.iter().map(|b| VolumeView {
        kind: "bind",
        read_write: b.read_write.as_deref().map(comment),
        source: match &b.source {
            BindSource::Host(path) => compose_str(path),
            BindSource::SourceTree(path) => {
                let message = "set SOURCE_DIR to the source tree";
                compose_variable_path("SOURCE_DIR", message, path)
                    .unwrap_or_else(|_| compose_str(path))
            }
        },
        target: compose_str(&b.target),
        read_only: b.read_write.is_none(),
    });
    named.chain(binds).collect()
}

/// The fields that are the model's values one to one; `service_view` fills
/// in the rest.
fn plain_view(system: &System, s: &Service, hash_labels: &[(String, String)]) -> ServiceView {
    ServiceView {
        name: yaml_key(&s.name),
        comments: Vec::new(),
        image: compose_str(&run_image(s)),
        platform: compose_str(&system.platform),
        entrypoint: (!s.entrypoint.is_empty()).then(|| compose_list(&s.entrypoint)),
        command: (!s.command.is_empty()).then(|| compose_list(&s.command)),
        user: (!s.image_user).then(|| compose_str(&s.user)),
        init: s.init,
        run_as_root: s.security.run_as_root.as_deref().map(comment),
        writable_root: s.security.writable_root.as_deref().map(comment),
        tmpfs: s.security.tmpfs.iter().map(|t| compose_str(t)).collect(),
        cap_add: s
            .security
            .cap_add
            .iter()
            .map(|(cap, reason)| (compose_name(cap), comment(reason)))
            .collect(),
        pids_limit: s.security.pids_limit,
        restart: s.restart.as_compose(),
        env_files: Vec::new(),
        environment: environment(system, s),
        ports: Vec::new(),
        expose: Vec::new(),
        networks: s
            .networks
            .iter()
            .map(|n| compose_name(&system.networks[*n].key))
            .collect(),
        network_mode: match s.initializes {
            Some(t) => Some(compose_str(&format!("service:{}", system.services[t].name))),
            None if s.networks.is_empty() => Some(compose_str("none")),
            None => None,
        },
        secrets: mount_views(system, s, true),
        configs: mount_views(system, s, false),
        depends_on: Vec::new(),
        healthcheck: None,
        volumes: volume_views(s),
        profiles: Vec::new(),
        devices: (s.devices.iter())
            .map(|(d, why)| (compose_str(&format!("{d}:{d}")), comment(why)))
            .collect(),
        limits: Vec::new(),
        reservation: s
            .resources
            .memory_reservation
            .as_ref()
            .map(|m| compose_str(m)),
        replicas: (s.replicas != 1).then_some(s.replicas),
        build: build_view(system, s),
        image_written_off: lint::written_off(system, s, "service-image-require-explicit-tag"),
        ports_written_off: None,
        // The content hashes `plan` compares: containers only, not images.
        labels: kv(&[service_labels(system, s).as_slice(), hash_labels].concat()),
    }
}
