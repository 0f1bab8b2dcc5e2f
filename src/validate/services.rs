//! The `services` section: each service's references, ports, secrets,
//! volumes, resources and user; its security and health checks have their
//! own files.

use std::net::IpAddr;

use crate::diagnostic::Rule;
use crate::model::raw;
use crate::system::*;

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names::{self, suggest};
use super::Validator;

/// The smallest memory limit Docker accepts (6 MiB).
const MIN_MEMORY: f64 = 6.0 * 1024.0 * 1024.0;

type ServiceDef<'a> = Def<'a, raw::ServiceDef>;

impl<'a> Validator<'a> {
    pub(super) fn services(&mut self, m: &Merged<'a>) -> Vec<Service> {
        m.services
            .iter()
            .map(|(name, d)| self.service(m, name, d))
            .collect()
    }

    fn service(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'a>) -> Service {
        let s = d.def;
        let at = |k: &str| d.at(&p().key(k));
        self.check_name("service", name, &d.here());
        let phase = self.resolve(
            Rule::UnknownPhase,
            "phase",
            &s.phase,
            &m.phases,
            &at("phase"),
        );
        let plane = self.resolve(
            Rule::UnknownPlane,
            "plane",
            &s.plane,
            &m.planes,
            &at("plane"),
        );
        let image = self.service_image(m, name, d);
        let build = s
            .build
            .as_ref()
            .map(|b| self.build_def(m, b, &at("build"), None));
        let networks = self.service_networks(m, name, d);
        let ports = self.service_ports(d);
        let depends_on = self.service_depends_on(m, d);
        let health = s
            .health
            .as_ref()
            .and_then(|h| self.health(name, h, s, &ports, &at("health")));
        let environment = self.service_environment(d);
        let env_files = self.service_env_files(m, d, phase);
        let secrets = self.service_secrets(m, name, d, &env_files);
        let volumes = self.service_volumes(d);
        let resources = self.service_resources(d);
        self.service_user(d);
        let labels = self.labels(&s.labels, &at("labels"));
        let security = self.security(name, s, &at("security"), &at("user"));
        self.service_warnings(name, d, &resources);
        Service {
            name: name.to_string(),
            description: s.description.clone(),
            phase: phase.unwrap_or(0),
            plane: plane.unwrap_or(0),
            image,
            build,
            networks,
            ports,
            depends_on,
            health,
            environment,
            env_files,
            secrets,
            volumes,
            resources,
            user: s.user.clone().unwrap_or_else(|| DEFAULT_USER.to_string()),
            restart: s.restart.unwrap_or_default(),
            command: s.command.clone(),
            labels,
            security,
            lint_exceptions: self.lint_exceptions(&s.lint_exceptions, &at("lint_exceptions")),
        }
    }

    /// The service's image: as written, or `<namespace>/<name>:<tag>`.
    fn service_image(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'a>) -> String {
        match &d.def.image {
            Some(image) => {
                self.image_ref(image, &d.at(&p().key("image")));
                image.clone()
            }
            None => {
                let Some(sys) = &m.system else {
                    return String::new();
                };
                // Image paths are lowercase; service names need not be.
                let image = format!(
                    "{}/{}:{}",
                    sys.def.registry.namespace,
                    name.to_ascii_lowercase(),
                    sys.def.registry.tag
                );
                if names::is_docker_name(name) && !names::is_image_ref(&image) {
                    self.error_at_key(
                        Rule::InvalidImage,
                        &d.here(),
                        format!("the default image of `{name}`, `{image}`, is not a valid image reference"),
                        "set `image:` to a valid reference, or rename the service (image paths allow single `.`, `_`, `__` and `-` runs between letters and digits)",
                    );
                }
                image
            }
        }
    }

    fn service_networks(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'a>) -> Vec<usize> {
        let s = d.def;
        let mut networks = Vec::new();
        if s.networks.is_empty() {
            self.error(
                Rule::UnknownNetwork,
                &d.at(&p().key("networks")),
                format!("service `{name}` is on no network"),
                "list at least one network from `networks:`",
            );
        }
        for (i, net) in s.networks.iter().enumerate() {
            let net_at = d.at(&p().key("networks").index(i));
            if let Some(n) =
                self.resolve(Rule::UnknownNetwork, "network", net, &m.networks, &net_at)
            {
                if networks.contains(&n) {
                    self.error(
                        Rule::DuplicateDefinition,
                        &net_at,
                        format!("network `{net}` is listed twice"),
                        "list each network once",
                    );
                } else {
                    networks.push(n);
                }
            }
        }
        networks
    }

    fn service_ports(&mut self, d: &ServiceDef<'a>) -> Vec<PortMapping> {
        let mut ports = Vec::new();
        for (i, port) in d.def.ports.iter().enumerate() {
            let mapping = self.port_mapping(d, i, port);
            if ports.iter().any(|q: &PortMapping| {
                q.container == mapping.container && q.protocol == mapping.protocol
            }) && mapping.container.0 != 0
            {
                self.error(
                    Rule::PortClash,
                    &d.at(&p().key("ports").index(i).key("container")),
                    format!("container port {} is listed twice", mapping.container.0),
                    "list each container port once",
                );
            }
            ports.push(mapping);
        }
        ports
    }

    fn port_mapping(&mut self, d: &ServiceDef<'a>, i: usize, port: &raw::PortDef) -> PortMapping {
        let pat = |k: &str| d.at(&p().key("ports").index(i).key(k));
        let container =
            ContainerPort(self.port(port.container, &pat("container"), "container port"));
        let host = port
            .host
            .map(|h| HostPort(self.port(h, &pat("host"), "host port")));
        let host_ip = port
            .host_ip
            .as_ref()
            .and_then(|ip| match ip.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    self.error(
                        Rule::InvalidHostIp,
                        &pat("host_ip"),
                        format!("host_ip `{ip}` is not an IP address"),
                        "write an address such as 127.0.0.1, or leave it out to bind every address",
                    );
                    None
                }
            });
        if host_ip.is_some() && host.is_none() {
            self.error(
                Rule::InvalidHostIp,
                &pat("host_ip"),
                "host_ip is set but the port is not published".into(),
                "add `host:` or remove `host_ip:`",
            );
        }
        PortMapping {
            container,
            host,
            protocol: port.protocol,
            host_ip,
            name: port.name.clone(),
        }
    }

    fn service_depends_on(&mut self, m: &Merged<'a>, d: &ServiceDef<'a>) -> Vec<usize> {
        let mut depends_on = Vec::new();
        for (i, dep) in d.def.depends_on.iter().enumerate() {
            if let Some(j) = self.resolve(
                Rule::UnknownDependency,
                "service",
                dep,
                &m.services,
                &d.at(&p().key("depends_on").index(i)),
            ) {
                depends_on.push(j);
            }
        }
        depends_on
    }

    fn service_environment(&mut self, d: &ServiceDef<'a>) -> Vec<(String, String)> {
        let mut environment = Vec::new();
        for (k, v) in &d.def.environment {
            let at = d.at(&p().key("environment").key(k.as_str()));
            self.env_name(&at, k);
            // A key of the compose file's `environment:` mapping, read as YAML.
            if let Some(what) = names::yaml_misread(k) {
                self.error_at_key(
                    Rule::EnvName,
                    &at,
                    format!("environment variable `{k}` reads as {what} in YAML, not as a name"),
                    super::common::YAML_NAME_HELP,
                );
            }
            self.env_value(&at, k, v);
            environment.push((k.clone(), v.clone()));
        }
        environment
    }

    /// The env files the service reads: its own list, or its phase's file.
    fn service_env_files(
        &mut self,
        m: &Merged<'a>,
        d: &ServiceDef<'a>,
        phase: Option<usize>,
    ) -> Vec<usize> {
        match &d.def.env_files {
            Some(list) => list
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    self.resolve(
                        Rule::UnknownEnvFile,
                        "env file",
                        f,
                        &m.env_files,
                        &d.at(&p().key("env_files").index(i)),
                    )
                })
                .collect(),
            None => phase
                .and_then(|ph| m.env_files.get_index_of(&m.phases[ph].def.env_file))
                .into_iter()
                .collect::<Vec<_>>(),
        }
    }

    /// The service's secrets, each of which must reach one of `env_files`.
    fn service_secrets(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &ServiceDef<'a>,
        env_files: &[usize],
    ) -> Vec<usize> {
        let mut secrets = Vec::new();
        for (i, secret) in d.def.secrets.iter().enumerate() {
            let sat = d.at(&p().key("secrets").index(i));
            let Some(idx) = m.secrets.get_index_of(secret.as_str()) else {
                let help = match suggest(secret, m.secrets.keys().map(String::as_str)) {
                    Some(sug) => format!("did you mean `{sug}`? Otherwise declare it under `secrets:` with its size and env files"),
                    None => "declare it under `secrets:` with its size (`bytes`) and the env files that receive it".to_string(),
                };
                self.error(
                    Rule::UnknownSecret,
                    &sat,
                    format!("service `{name}` uses secret `{secret}`, which is not declared"),
                    help,
                );
                continue;
            };
            self.secret_delivered(m, name, secret, idx, env_files, &sat);
            secrets.push(idx);
        }
        secrets
    }

    fn secret_delivered(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        secret: &str,
        idx: usize,
        env_files: &[usize],
        sat: &At,
    ) {
        let delivered_to: Vec<usize> = m.secrets[idx]
            .def
            .env_files
            .iter()
            .filter_map(|f| m.env_files.get_index_of(f.as_str()))
            .collect();
        if !env_files.iter().any(|f| delivered_to.contains(f)) {
            let reads: Vec<&str> = env_files
                .iter()
                .map(|i| m.env_files.get_index(*i).unwrap().0.as_str())
                .collect();
            self.error(
                Rule::SecretNotDelivered,
                sat,
                format!(
                    "service `{name}` needs secret `{secret}`, but none of the env files it reads ({}) receives it",
                    if reads.is_empty() { "none".to_string() } else { reads.join(", ") }
                ),
                format!("add one of them to `secrets.{secret}.env_files`"),
            );
        }
    }

    fn service_volumes(&mut self, d: &ServiceDef<'a>) -> Vec<Volume> {
        let mut volumes = Vec::new();
        for (i, vol) in d.def.volumes.iter().enumerate() {
            let vat = |k: &str| d.at(&p().key("volumes").index(i).key(k));
            self.check_volume_name(&vol.name, &vat("name"));
            if !names::is_container_path(&vol.target) {
                self.error(
                    Rule::InvalidPath,
                    &vat("target"),
                    format!("volume target `{}` must be an absolute path", vol.target),
                    "e.g. `/data/db`",
                );
            }
            volumes.push(Volume {
                name: vol.name.clone(),
                target: vol.target.clone(),
                read_only: vol.read_only,
            });
        }
        volumes
    }

    fn service_resources(&mut self, d: &ServiceDef<'a>) -> Resources {
        let Some(r) = &d.def.resources else {
            return Resources::default();
        };
        let at = |k: &str| d.at(&p().key("resources").key(k));
        let limit = self.memory_size(r.memory.as_deref(), &at("memory"), Some(MIN_MEMORY));
        let reservation = self.memory_size(
            r.memory_reservation.as_deref(),
            &at("memory_reservation"),
            None,
        );
        if let (Some(limit), Some(reservation)) = (limit, reservation) {
            if reservation > limit {
                self.error(
                    Rule::InvalidResource,
                    &at("memory_reservation"),
                    "the memory reservation is above the memory limit".into(),
                    "Docker refuses a reservation larger than the limit; lower it or raise `memory`",
                );
            }
        }
        if let Some(c) = r.cpus {
            // Docker's smallest CPU share is 0.01 (a 1 ms quota per 100 ms
            // period); below it, Compose's nano-CPU count rounds to 0,
            // which means unlimited.
            if !(c.is_finite() && (0.01..=1024.0).contains(&c)) {
                self.error(
                    Rule::InvalidResource,
                    &at("cpus"),
                    format!("cpus `{c:?}` must be between 0.01 and 1024 cores"),
                    "Docker takes CPU shares from 0.01 of a core upwards, e.g. `0.5` or `2`",
                );
            }
        }
        Resources {
            memory: r.memory.clone(),
            cpus: r.cpus,
            memory_reservation: r.memory_reservation.clone(),
        }
    }

    /// A memory size in bytes, when it is one Compose can hold and, with
    /// `min`, one Docker accepts as a limit.
    fn memory_size(&mut self, value: Option<&str>, at: &At, min: Option<f64>) -> Option<f64> {
        let v = value?;
        let Some(bytes) = names::byte_size(v) else {
            self.error(
                Rule::InvalidResource,
                at,
                format!("`{v}` is not a memory size"),
                "write it as Compose does: `512m`, `1g`, `1.5g`",
            );
            return None;
        };
        if bytes >= names::MAX_BYTES {
            self.error(
                Rule::InvalidResource,
                at,
                format!("`{v}` is more bytes than Compose can hold"),
                "Compose stores sizes in a signed 64-bit integer: at most 8589934591g",
            );
            return None;
        }
        if min.is_some_and(|min| bytes < min) {
            self.error(
                Rule::InvalidResource,
                at,
                format!("memory limit `{v}` is below Docker's minimum of 6 MiB"),
                "Docker refuses to start a container with less; use at least `6m`",
            );
        }
        Some(bytes)
    }

    fn service_user(&mut self, d: &ServiceDef<'a>) {
        if let Some(u) = &d.def.user {
            if !names::is_user(u) {
                self.error(
                    Rule::InvalidName,
                    &d.at(&p().key("user")),
                    format!("user `{u}` is not `uid[:gid]` or a user name"),
                    "e.g. `65532:65532`",
                );
            }
        }
    }

    /// Warnings about what a service lacks: a health check, limits.
    fn service_warnings(&mut self, name: &str, d: &ServiceDef<'a>, resources: &Resources) {
        if d.def.health.is_none() {
            self.warning(
                Rule::MissingHealthCheck,
                &d.here(),
                format!("service `{name}` has no health check"),
                "add `health:` so dependants wait for it and `up --wait` can tell it is ready",
            );
        }
        if resources.memory.is_none() || resources.cpus.is_none() {
            self.warning(Rule::MissingLimits, &d.here(), format!("service `{name}` has no memory or CPU limit"), "add `resources: { memory: 256m, cpus: 0.5 }` so one service cannot starve the host");
        }
    }
}
