//! Compose files: one per phase, and the master.

use askama::Template;

use super::{probe_command, service_labels, template_error, RenderError};
use crate::escape::{comment, compose_list, compose_str};
use crate::plan::{relative_path, ComposePlan, NetworkUse};
use crate::system::{Protocol, System};

/// A port published on the host.
struct PortView {
    target: u16,
    published: String,
    host_ip: Option<String>,
    protocol: &'static str,
    name: Option<String>,
}

struct HealthView {
    test: String,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

struct VolumeView {
    source: String,
    target: String,
    read_only: bool,
}

struct ServiceView {
    name: String,
    comments: Vec<String>,
    image: String,
    platform: String,
    command: Option<String>,
    user: String,
    run_as_root: Option<String>,
    restart: &'static str,
    writable_root: Option<String>,
    tmpfs: Vec<String>,
    cap_add: Vec<(String, String)>,
    pids_limit: u32,
    env_files: Vec<String>,
    environment: Vec<(String, String)>,
    ports: Vec<PortView>,
    /// Container ports other services use but the host does not: `ports:`
    /// would publish them on a random host port.
    expose: Vec<String>,
    networks: Vec<String>,
    depends_on: Vec<(String, &'static str)>,
    healthcheck: Option<HealthView>,
    volumes: Vec<VolumeView>,
    limits: Vec<(&'static str, String)>,
    reservation: Option<String>,
    labels: Vec<(String, String)>,
}

struct NetworkView {
    key: String,
    comment: Option<String>,
    name: String,
    external: bool,
    driver: String,
    internal: bool,
    /// An IPv6 subnet: Docker ignores it unless the network enables IPv6.
    ipv6: bool,
    subnet: String,
    gateway: Option<String>,
    labels: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "compose.yml", escape = "none")]
struct ComposeTemplate {
    header: Vec<String>,
    project: String,
    services: Vec<ServiceView>,
    networks: Vec<NetworkView>,
    volumes: Vec<(String, String)>,
}

fn kv(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (compose_str(k), compose_str(v)))
        .collect()
}

pub fn render(system: &System, plan: &ComposePlan) -> Result<String, RenderError> {
    let mut header = Vec::new();
    match plan.phase {
        Some(p) => {
            let phase = &system.phases[p];
            header.push(format!(
                "Phase {} of {}: {}",
                p + 1,
                system.phases.len(),
                phase.name
            ));
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
                header.push(
                    "Deploy the earlier phases first; this file attaches to their networks.".into(),
                );
            }
        }
        None => {
            header.push(format!(
                "Master: every service of {}, in one project.",
                system.name
            ));
            if let Some(d) = &system.description {
                header.push(comment(d));
            }
        }
    }
    header.push(format!(
        "Run: docker compose -f {} up -d --wait",
        plan.file_name
    ));

    let services = plan
        .services
        .iter()
        .map(|&i| service_view(system, plan, i))
        .collect();

    let networks = plan
        .networks
        .iter()
        .map(|&(n, usage)| {
            let net = &system.networks[n];
            let plane = &system.planes[net.plane];
            let mut comment = Some(match usage {
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
            });
            if comment.as_deref() == Some("") {
                comment = None;
            }
            NetworkView {
                key: net.key.clone(),
                comment,
                name: compose_str(&net.name),
                external: matches!(usage, NetworkUse::External { .. }),
                driver: net.driver.clone(),
                internal: net.internal,
                ipv6: net.subnet.addr.is_ipv6(),
                subnet: net.subnet.to_string(),
                gateway: net.gateway.map(|g| g.to_string()),
                labels: kv(&[
                    ("lucid-gen.system".into(), system.name.clone()),
                    ("lucid-gen.plane".into(), plane.name.clone()),
                ]),
            }
        })
        .collect();

    let volumes = plan
        .volumes
        .iter()
        .map(|v| (v.clone(), compose_str(&format!("{}-{}", system.name, v))))
        .collect();

    let t = ComposeTemplate {
        header,
        project: compose_str(&plan.project),
        services,
        networks,
        volumes,
    };
    let mut text = t.render().map_err(template_error("compose.yml"))?;
    text.push('\n');
    Ok(text)
}

fn service_view(system: &System, plan: &ComposePlan, index: usize) -> ServiceView {
    let s = &system.services[index];
    let mut comments = Vec::new();
    if let Some(d) = &s.description {
        comments.push(comment(d));
    }
    comments.push(format!(
        "plane {}, phase {}",
        system.planes[s.plane].name, system.phases[s.phase].name
    ));
    let mut depends_on = Vec::new();
    for &d in &s.depends_on {
        let dep = &system.services[d];
        if plan.holds(d) {
            let condition = if dep.health.is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            depends_on.push((dep.name.clone(), condition));
        } else {
            comments.push(format!(
                "needs {} from phase {} ({}), deployed earlier",
                dep.name, system.phases[dep.phase].name, system.phases[dep.phase].compose_file
            ));
        }
    }
    let env_files = s
        .env_files
        .iter()
        .map(|f| {
            let path = format!("{}/{}", system.output.env_dir, system.env_files[*f].file);
            compose_str(&relative_path(&system.output.compose_dir, &path))
        })
        .collect();
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
        .map(|p| compose_str(&format!("{}/{}", p.container.0, protocol(p))))
        .collect();
    let healthcheck = s.health.as_ref().map(|h| {
        let mut test = vec!["CMD".to_string()];
        test.extend(probe_command(s).unwrap_or_default());
        HealthView {
            test: compose_list(&test),
            interval: h.interval.clone(),
            timeout: h.timeout.clone(),
            retries: h.retries,
            start_period: h.start_period.clone(),
        }
    });
    let mut limits = Vec::new();
    if let Some(cpus) = s.resources.cpus {
        limits.push(("cpus", compose_str(&cpus.to_string())));
    }
    if let Some(memory) = &s.resources.memory {
        limits.push(("memory", compose_str(memory)));
    }
    ServiceView {
        name: s.name.clone(),
        comments,
        image: compose_str(&s.image),
        platform: compose_str(&system.platform),
        command: (!s.command.is_empty()).then(|| compose_list(&s.command)),
        user: compose_str(&s.user),
        run_as_root: s.security.run_as_root.as_deref().map(comment),
        writable_root: s.security.writable_root.as_deref().map(comment),
        tmpfs: s.security.tmpfs.iter().map(|t| compose_str(t)).collect(),
        cap_add: s
            .security
            .cap_add
            .iter()
            .map(|(cap, reason)| (cap.clone(), comment(reason)))
            .collect(),
        pids_limit: s.security.pids_limit,
        restart: s.restart.as_compose(),
        env_files,
        environment: s
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), compose_str(v)))
            .collect(),
        ports,
        expose,
        networks: s
            .networks
            .iter()
            .map(|n| system.networks[*n].key.clone())
            .collect(),
        depends_on,
        healthcheck,
        volumes: s
            .volumes
            .iter()
            .map(|v| VolumeView {
                source: v.name.clone(),
                target: compose_str(&v.target),
                read_only: v.read_only,
            })
            .collect(),
        limits,
        reservation: s
            .resources
            .memory_reservation
            .as_ref()
            .map(|m| compose_str(m)),
        labels: kv(&service_labels(system, s)),
    }
}
