//! Swarm stack files (`system.mode: swarm`): one per phase, for `docker
//! stack deploy`. Built from the phase's compose plan and its service
//! views; what a stack file cannot carry is translated (restart →
//! `deploy.restart_policy`, platform → placement constraints, `tmpfs` →
//! tmpfs volumes) or dropped with a comment saying so.

use std::collections::BTreeMap;

use askama::Template;

use super::super::{delivery, template_error, RenderError};
use super::{network_view, service_view, NetworkView, ServiceView};
use crate::compose_files::{ComposeFile, NetworkUse};
use crate::escape::{comment, compose_str, yaml_key, Comment, Yaml};
use crate::system::{EndpointMode, Protocol, Restart, Service, System, UpdatePolicy};

/// The stack file of phase `phase`, relative to the compose directory.
pub fn file_name(system: &System, phase: usize) -> String {
    format!("stack.{}.yml", system.phases[phase].name)
}

/// A published port: ingress (through the routing mesh) or host mode.
struct StackPort {
    target: u16,
    published: u16,
    protocol: &'static str,
    mode: &'static str,
}

/// A secret or config mount with its owner and mode.
struct StackMount {
    source: Yaml,
    target: Yaml,
    /// (uid, gid) of the service's user; `None`: validation refused it.
    owner: Option<(Yaml, Yaml)>,
}

struct PolicyView {
    parallelism: u32,
    /// Omitted when `0s` (Swarm's default, and what `docker stack config`
    /// drops).
    delay: Option<Yaml>,
    order: &'static str,
    failure_action: &'static str,
    monitor: Yaml,
}

/// `docker stack deploy` reads an env file's lines verbatim — a value's
/// quotes, which Compose strips, stay part of it (docker/cli's
/// `ParseEnvFile`) — so a stack file carries the variables themselves:
/// the env files' in order, each later one winning, then the service's
/// own `environment`, which wins over them all (Compose's precedence).
/// (Swarm mode refuses a secret in the environment, so no value here is
/// one.)
fn inline_env_files(system: &System, s: &Service, base: &mut ServiceView) {
    let mut vars: indexmap::IndexMap<&str, &str> = indexmap::IndexMap::new();
    for f in &s.env_files {
        for (k, v) in &system.env_files[*f].vars {
            vars.insert(k, v);
        }
    }
    let own: Vec<String> = (base.environment.iter())
        .map(|(k, _)| k.to_string())
        .collect();
    let mut env: Vec<(Yaml, Yaml)> = (vars.into_iter())
        .map(|(k, v)| (yaml_key(k), compose_str(v)))
        .filter(|(k, _)| !own.contains(&k.to_string()))
        .collect();
    env.append(&mut base.environment);
    base.environment = env;
    base.env_files.clear();
}

struct StackService {
    base: ServiceView,
    /// What the model says that the stack file cannot carry.
    losses: Vec<Comment>,
    ports: Vec<StackPort>,
    secrets: Vec<StackMount>,
    configs: Vec<StackMount>,
    constraints: Vec<Yaml>,
    endpoint_mode: &'static str,
    restart_condition: &'static str,
    restart_delay: Yaml,
    restart_max_attempts: Option<u32>,
    restart_window: Option<Yaml>,
    /// `update_config` then `rollback_config`.
    policies: Vec<(&'static str, PolicyView)>,
}

struct StackNetwork {
    base: NetworkView,
    encrypted: bool,
    /// Said where the model's gateway is left out.
    gateway: Option<Comment>,
}

#[derive(Template)]
#[template(path = "stack.yml", escape = "none")]
struct StackTemplate {
    header: Vec<Comment>,
    services: Vec<StackService>,
    networks: Vec<StackNetwork>,
    volumes: Vec<(Yaml, Yaml)>,
    /// Top-level `secrets:` and `configs:`: versioned key → file.
    secrets: Vec<(Yaml, Yaml)>,
    configs: Vec<(Yaml, Yaml)>,
}

/// Renders the stack file of the phase `plan` deploys. `versioned` maps a
/// mount key (secret name or config key) to its content-hashed name.
pub fn render(
    system: &System,
    plan: &ComposeFile,
    versioned: &BTreeMap<String, String>,
) -> Result<String, RenderError> {
    let name_of = |key: &str| {
        versioned
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    };
    let shared = super::Shared::new(system);
    // `swarm.leave_out`: one-shot steps the operator runs, named in the
    // header.
    let full = plan;
    let mut kept = plan.clone();
    kept.services
        .retain(|&i| system.services[i].swarm.leave_out.is_none());
    let plan = &kept;
    let services = (plan.services.iter())
        .map(|&i| stack_service(system, full, &shared, i, &name_of))
        .collect();
    let networks = (plan.networks.iter())
        .map(|&(n, usage)| StackNetwork {
            base: network_view(system, n, usage),
            encrypted: system.networks[n].encrypted && usage == NetworkUse::Define,
            gateway: (system.networks[n].gateway)
                .filter(|_| usage == NetworkUse::Define)
                .map(|g| comment(&format!("gateway {g} (the subnet's first address) is left to Swarm, which picks the same: a stack file has no IPAM gateway"))),
        })
        .collect();
    let volumes = (plan.volumes.iter())
        .map(|v| (yaml_key(v), compose_str(&format!("{}-{}", system.name, v))))
        .collect();
    let (mut secrets, mut configs) = (Vec::new(), Vec::new());
    for (key, file) in super::mounted_file_paths(system, plan, delivery::stack_mounts) {
        let list = match file.1 {
            true => &mut secrets,
            false => &mut configs,
        };
        list.push((yaml_key(&name_of(&key)), file.0));
    }
    let phase = plan.phase.unwrap_or_default();
    let t = StackTemplate {
        header: header(system, full, phase),
        services,
        networks,
        volumes,
        secrets,
        configs,
    };
    let mut text = t.render().map_err(template_error("stack.yml"))?;
    text.push('\n');
    Ok(text)
}

fn header(system: &System, plan: &ComposeFile, phase: usize) -> Vec<Comment> {
    let p = &system.phases[phase];
    let mut header = vec![comment(&format!(
        "Swarm stack, phase {} of {}: {}",
        phase + 1,
        system.phases.len(),
        p.name
    ))];
    if let Some(d) = &p.description {
        header.push(comment(d));
    }
    header.push(comment(
        "Swarm ignores depends_on: deploy the phases in order, each once the one before is healthy.",
    ));
    header.push(comment(
        "Secrets and configs are named by a keyed hash of their content: a rotation deploys new ones (Swarm cannot change one in place).",
    ));
    for &i in &plan.services {
        let s = &system.services[i];
        if let Some(reason) = &s.swarm.leave_out {
            header.push(comment(&format!(
                "Left out (swarm.leave_out): {}, {}",
                s.name, reason
            )));
        }
    }
    header.push(comment(&format!(
        "Run: docker stack deploy --detach=false --resolve-image never -c {} {}",
        file_name(system, phase),
        plan.project
    )));
    header
}

fn stack_service(
    system: &System,
    plan: &ComposeFile,
    shared: &super::Shared,
    index: usize,
    name_of: &dyn Fn(&str) -> String,
) -> StackService {
    let s = &system.services[index];
    let mut base = service_view(system, plan, shared, index);
    // Swarm ignores depends_on: the phase order is the only ordering.
    let deps = super::waits_for(system, &shared.steps, index);
    let (waits, left) = split_left_out(system, plan, &deps, &mut base);
    let name = |d: &usize| system.services[*d].name.as_str();
    let waits: Vec<&str> = waits.iter().map(name).collect();
    let mut losses = losses(&base, s);
    if !left.is_empty() {
        losses.push(comment(&format!(
            "needs {}, left out of the stacks (swarm.leave_out: see the header of its phase's stack)",
            left.iter().map(name).collect::<Vec<_>>().join(", ")
        )));
    }
    if !waits.is_empty() {
        losses.push(comment(&format!(
            "starts without waiting for {} (same phase; Swarm ignores depends_on): it must retry until they answer",
            waits.join(", ")
        )));
    }
    base.depends_on.clear();
    plain_health_check(s, &mut base, &mut losses);
    inline_env_files(system, s, &mut base);
    env_secret_files(system, s, &mut base, &mut losses);
    let swarm = &s.swarm;
    let mut constraints: Vec<Yaml> = (swarm.placement.iter())
        .map(|(k, v)| compose_str(&format!("node.labels.{k} == {v}")))
        .collect();
    let mut platform = system.platform.split('/');
    if let Some(os) = platform.next() {
        constraints.push(compose_str(&format!("node.platform.os == {os}")));
    }
    if let Some(arch) = platform.next().map(swarm_arch) {
        constraints.push(compose_str(&format!("node.platform.arch == {arch}")));
    }
    let owner = owner(s);
    let mount = |secret: bool| {
        (delivery::stack_mounts(system, s).into_iter())
            .filter(|m| m.secret == secret)
            .map(|m| StackMount {
                source: yaml_key(&name_of(&m.key)),
                target: compose_str(&m.target),
                owner: owner.clone(),
            })
            .collect()
    };
    let ports = stack_ports(system, s, &mut losses);
    StackService {
        losses,
        ports,
        secrets: mount(true),
        configs: mount(false),
        constraints,
        endpoint_mode: swarm.endpoint_mode.name(),
        restart_condition: match s.restart {
            Restart::No => "none",
            Restart::OnFailure => "on-failure",
            Restart::Always | Restart::UnlessStopped => "any",
        },
        restart_delay: compose_str(&swarm.restart_delay),
        restart_max_attempts: swarm.restart_max_attempts,
        restart_window: swarm.restart_window.as_deref().map(compose_str),
        policies: vec![
            ("update_config", policy(&swarm.update)),
            ("rollback_config", policy(&swarm.rollback)),
        ],
        base,
    }
}

/// `restart_when_unhealthy`: Swarm replaces an unhealthy task itself, so
/// a stack file runs the plain probe, and says why.
fn plain_health_check(s: &Service, base: &mut ServiceView, losses: &mut Vec<Comment>) {
    if s.health.as_ref().is_some_and(|h| h.restart_when_unhealthy) {
        base.healthcheck = super::health_view(s, false);
        losses.push(comment(
            "restart_when_unhealthy: Swarm replaces a task whose health check fails itself, so the check runs as the model writes it, without the compose files' restarting wrapper",
        ));
    }
}

/// The services `deps` names that this stack waits for (same phase) and
/// those left out of the stacks (`swarm.leave_out`, any phase): an
/// earlier phase's left-out step was never deployed there either, so the
/// compose note "needs X from phase P, deployed earlier" goes.
fn split_left_out(
    system: &System,
    plan: &ComposeFile,
    deps: &[usize],
    base: &mut ServiceView,
) -> (Vec<usize>, Vec<usize>) {
    let out: (Vec<usize>, Vec<usize>) = (deps.iter().copied())
        .filter(|&d| plan.holds(d) || system.services[d].swarm.leave_out.is_some())
        .partition(|&d| system.services[d].swarm.leave_out.is_none());
    for &d in out.1.iter().filter(|&&d| !plan.holds(d)) {
        let said = format!("needs {} from phase ", system.services[d].name);
        base.comments.retain(|c| !c.to_string().starts_with(&said));
    }
    out
}

/// Published ports: through the ingress routing mesh, or in host mode on
/// the task's node for `endpoint_mode: dnsrr`.
/// A port the compose files publish on a loopback address is left out
/// where the model says so (`system.swarm.loopback_ports: unpublished`;
/// validation refuses it otherwise), and said in `losses`.
fn stack_ports(system: &System, s: &Service, losses: &mut Vec<Comment>) -> Vec<StackPort> {
    let unpublished = system.swarm.loopback_ports == crate::model::raw::LoopbackPorts::Unpublished;
    (s.ports.iter())
        .filter_map(|p| {
            if let Some(ip) = p.host_ip.filter(|ip| ip.is_loopback() && unpublished) {
                losses.push(comment(&format!(
                    "port {} is not published (the compose files bind it to {ip}; Swarm cannot bind one address): reach it on the service's overlays",
                    p.container.0
                )));
                return None;
            }
            Some(StackPort {
                target: p.container.0,
                published: p.host?.0,
                protocol: match p.protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                },
                mode: match s.swarm.endpoint_mode {
                    EndpointMode::Dnsrr => "host",
                    EndpointMode::Vip => "ingress",
                },
            })
        })
        .collect()
}

/// `system.swarm.env_secrets: file-env`: each secret the compose files
/// deliver in the environment is mounted (see `delivery::stack_mounts`)
/// and `<NAME>_FILE` names the file.
fn env_secret_files(
    system: &System,
    s: &Service,
    base: &mut ServiceView,
    losses: &mut Vec<Comment>,
) {
    if !delivery::env_secrets_as_files(system) {
        return;
    }
    let env: Vec<usize> = (s.secrets.iter())
        .filter(|u| u.delivery == crate::system::Delivery::Env)
        .map(|u| u.secret)
        .collect();
    for &i in &env {
        let name = format!("{}_FILE", system.secrets[i].name);
        let target = delivery::stack_env_secret_target(system, i);
        base.environment
            .push((yaml_key(&name), compose_str(&target)));
    }
    if !env.is_empty() {
        let names: Vec<&str> = env
            .iter()
            .map(|&i| system.secrets[i].name.as_str())
            .collect();
        losses.push(comment(&format!(
            "secrets {} come as files here, not in the environment (system.swarm.env_secrets: file-env): the program reads <NAME>_FILE",
            names.join(", ")
        )));
    }
}

/// Comments for what the compose file says and a stack file cannot.
fn losses(base: &ServiceView, s: &Service) -> Vec<Comment> {
    let mut out = vec![comment(
        "not carried by Swarm: no-new-privileges (docker stack deploy ignores security_opt)",
    )];
    if !base.expose.is_empty() {
        out.push(comment(
            "expose is dropped: on an overlay every container port is reachable from the service's networks",
        ));
    }
    if s.ports.iter().any(|p| p.name.is_some() && p.host.is_some()) {
        out.push(comment(
            "port names are dropped: a stack file's ports have none",
        ));
    }
    if base.build.is_some() {
        out.push(comment(
            "build is dropped: Swarm never builds; load the image on every node first",
        ));
    }
    if !s.devices.is_empty() {
        out.push(comment(
            "devices are dropped: a Swarm service cannot be given host devices (docker stack deploy ignores them)",
        ));
    }
    out
}

/// Docker's `node.platform.arch` spelling of an OCI architecture.
fn swarm_arch(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}

/// The numeric (uid, gid) of `s`'s user; validation refuses a service
/// that mounts files without one (`swarm-secret-owner`).
fn owner(s: &Service) -> Option<(Yaml, Yaml)> {
    let (uid, gid) = s.numeric_owner()?;
    Some((compose_str(uid), compose_str(gid)))
}

fn policy(p: &UpdatePolicy) -> PolicyView {
    PolicyView {
        parallelism: p.parallelism,
        delay: (p.delay != "0s").then(|| compose_str(&p.delay)),
        order: p.order.name(),
        failure_action: p.failure_action.name(),
        monitor: compose_str(&p.monitor),
    }
}
