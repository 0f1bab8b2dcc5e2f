//! The `services` section: each service's references, ports, secrets,
//! volumes, resources and user; its security and health checks have their
//! own files.

use std::net::IpAddr;

use indexmap::IndexMap;

use crate::allocator::Disposal;
use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::*;

use super::common::Ref;
use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

type ServiceDef<'a> = Def<'a, raw::ServiceDef>;

/// The smallest memory limit Docker accepts (6 MiB).
const MIN_MEMORY: f64 = 6.0 * 1024.0 * 1024.0;

impl<'a> Validator<'a> {
    /// Builds every service of `m`, in its order, from `raw` (each file's
    /// raw services, in file order), dropping each raw service once built.
    /// A later definition of a name (reported when merging) is skipped.
    ///
    /// Memory: raw services are dropped on the [`Disposal`] thread, and
    /// their pages given back after each file's, so the built services do
    /// not fill the holes they leave and pin the parser's pages (issue 25).
    pub(super) fn services(
        &mut self,
        m: &Merged<'a>,
        raw: Vec<IndexMap<String, raw::ServiceDef>>,
    ) -> Vec<Service> {
        let mut services = Vec::with_capacity(m.services.len());
        let disposal = Disposal::new();
        for (file, section) in raw.into_iter().enumerate() {
            for (name, def) in section {
                if let Some(merged) = m.services.get(&name).filter(|d| d.file == file) {
                    let d = Def {
                        file,
                        path: merged.path.clone(),
                        def: &def,
                    };
                    let s = self.service(m, &name, &d);
                    self.distinct_mounts(&d, &s);
                    services.push(s);
                }
                disposal.discard((name, def));
            }
            disposal.release();
        }
        services
    }

    fn service(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'_>) -> Service {
        let s = d.def;
        let at = |k: &str| d.at(&p().key(k));
        self.check_name("service", name, &d.here());
        let phase = self.resolve(Ref::Phase, &s.phase, &m.phases, &at("phase"));
        let plane = self.resolve(Ref::Plane, &s.plane, &m.planes, &at("plane"));
        let image = self.service_image(m, name, d);
        let build = s
            .build
            .as_ref()
            .map(|b| self.build_def(m, b, &at("build"), None));
        let networks = self.service_networks(m, name, d);
        let ports = self.service_ports(d);
        let (depends_on, external_deps) = self.service_depends_on(m, d);
        let health = s
            .health
            .as_ref()
            .and_then(|h| self.health(name, h, s, &ports, &at("health")));
        let environment = self.service_environment(d);
        let env_files = self.service_env_files(m, d, phase);
        let secrets = self.service_secrets(m, name, d);
        let config_files = self.config_files(m, name, d, &secrets);
        let initializes = s
            .initializes
            .as_ref()
            .and_then(|t| self.resolve(Ref::Service, t, &m.services, &at("initializes")));
        let run_once = s.run_once || s.initializes.is_some();
        if run_once {
            self.one_shot(name, d);
        }
        let volumes = self.service_volumes(d);
        let isolated = plane.is_some_and(|i| m.planes[i].def.isolated);
        let devices = self.devices(name, s, &at("devices"), isolated.then_some(&*s.plane));
        let resources = self.service_resources(d);
        self.service_user(d);
        let labels = self.labels(&s.labels, &at("labels"));
        self.labels_apart_from_system(m, &s.labels, &at("labels"));
        let security = self.security(name, s, &at("security"), &at("user"));
        let required_env = self.required_env(d);
        self.service_warnings(name, d, &resources);
        let replicas = self.replicas(name, d, &ports);
        Service {
            name: name.to_string(),
            description: s.description.clone(),
            phase: phase.unwrap_or(0),
            plane: plane.unwrap_or(0),
            image,
            build: build.map(Box::new),
            networks,
            ports,
            depends_on,
            external_deps,
            health,
            environment,
            env_files,
            secrets,
            config_files,
            entrypoint: s.entrypoint.clone(),
            run_once,
            initializes,
            after_up: s.after_up && run_once,
            volumes,
            binds: self.bind_list(name, &at("binds"), &s.binds),
            devices,
            resources,
            user: s.user.clone().unwrap_or_else(|| DEFAULT_USER.to_string()),
            restart: restart_policy(run_once, s.restart),
            command: s.command.clone(),
            labels,
            security,
            lint_exceptions: self.lint_exceptions(&s.lint_exceptions, &at("lint_exceptions")),
            init: s.init,
            required_env,
            image_user: s.build.is_none() && s.user.is_none(),
            replicas,
            swarm: self.service_swarm(d),
            variants: self.service_variants(m, name, d),
            only_in: self.only_in_variants(m, name, d),
        }
    }

    /// The service's image: as written, or `<namespace>/<name>:<tag>`.
    fn service_image(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'_>) -> String {
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
                    self.report_at_key(
                        &d.here(),
                        Kind::DefaultImageInvalid {
                            service: name.to_string(),
                            image: image.clone(),
                        },
                    );
                }
                image
            }
        }
    }

    fn service_networks(&mut self, m: &Merged<'a>, name: &str, d: &ServiceDef<'_>) -> Vec<usize> {
        let s = d.def;
        let mut networks = Vec::new();
        // A one-shot job may have no network (it gets none), and an
        // initialisation step lives in its target's network namespace.
        if s.networks.is_empty() && !s.run_once && s.initializes.is_none() {
            self.report(
                &d.at(&p().key("networks")),
                Kind::NoNetwork {
                    service: name.to_string(),
                },
            );
        }
        for (i, net) in s.networks.iter().enumerate() {
            let net_at = d.at(&p().key("networks").index(i));
            if let Some(n) = self.resolve(Ref::Network, net, &m.networks, &net_at) {
                if networks.contains(&n) {
                    self.report(
                        &net_at,
                        Kind::NetworkListedTwice {
                            network: net.clone(),
                        },
                    );
                } else {
                    networks.push(n);
                }
            }
        }
        networks
    }

    fn service_ports(&mut self, d: &ServiceDef<'_>) -> Vec<PortMapping> {
        let mut ports = Vec::new();
        for (i, port) in d.def.ports.iter().enumerate() {
            let mapping = self.port_mapping(d, i, port);
            if ports.iter().any(|q: &PortMapping| {
                q.container == mapping.container && q.protocol == mapping.protocol
            }) && mapping.container.0 != 0
            {
                self.report(
                    &d.at(&p().key("ports").index(i).key("container")),
                    Kind::ContainerPortTwice {
                        port: mapping.container.0,
                    },
                );
            }
            ports.push(mapping);
        }
        ports
    }

    fn port_mapping(&mut self, d: &ServiceDef<'_>, i: usize, port: &raw::PortDef) -> PortMapping {
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
                    self.report(&pat("host_ip"), Kind::HostIpNotIp { ip: ip.clone() });
                    None
                }
            });
        if host_ip.is_some() && host.is_none() {
            self.report(&pat("host_ip"), Kind::HostIpUnpublished {});
        }
        PortMapping {
            container,
            host,
            protocol: port.protocol,
            host_ip,
            name: port.name.clone(),
        }
    }

    /// The services and the external services `d` depends on.
    fn service_depends_on(
        &mut self,
        m: &Merged<'a>,
        d: &ServiceDef<'_>,
    ) -> (Vec<usize>, Vec<usize>) {
        let mut depends_on = Vec::new();
        let mut external = Vec::new();
        for (i, dep) in d.def.depends_on.iter().enumerate() {
            if let Some(j) = m.externals.get_index_of(dep.as_str()) {
                external.push(j);
            } else if let Some(j) = self.resolve(
                Ref::Service,
                dep,
                &m.services,
                &d.at(&p().key("depends_on").index(i)),
            ) {
                depends_on.push(j);
            }
        }
        (depends_on, external)
    }

    fn service_environment(&mut self, d: &ServiceDef<'_>) -> Vec<(String, String)> {
        self.environment_map(&d.at(&p().key("environment")), &d.def.environment)
    }

    /// The variables of an `environment` mapping at `at`, each checked.
    pub(super) fn environment_map(
        &mut self,
        at: &At,
        map: &indexmap::IndexMap<String, String>,
    ) -> Vec<(String, String)> {
        let mut environment = Vec::with_capacity(map.len());
        for (k, v) in map {
            let at = at.key(k);
            self.env_name(&at, k);
            // A key of the compose file's `environment:` mapping, read as YAML.
            if let Some(reads_as) = names::yaml_misread(k) {
                self.report_at_key(
                    &at,
                    Kind::YamlMisreadEnvName {
                        name: k.clone(),
                        reads_as,
                    },
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
        d: &ServiceDef<'_>,
        phase: Option<usize>,
    ) -> Vec<usize> {
        match &d.def.env_files {
            Some(list) => list
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    self.resolve(
                        Ref::EnvFile,
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

    fn service_volumes(&mut self, d: &ServiceDef<'_>) -> Vec<Volume> {
        self.volume_list(&d.at(&p().key("volumes")), &d.def.volumes)
    }

    /// The named volumes of a `volumes` list at `at`, each checked.
    pub(super) fn volume_list(&mut self, at: &At, list: &[raw::VolumeDef]) -> Vec<Volume> {
        let mut volumes = Vec::new();
        for (i, vol) in list.iter().enumerate() {
            let vat = |k: &str| At {
                file: at.file,
                path: at.path.index(i).key(k),
            };
            if !names::is_docker_name(&vol.name) {
                self.report(
                    &vat("name"),
                    Kind::InvalidVolumeName {
                        name: vol.name.clone(),
                    },
                );
            } else if let Some(reads_as) = names::yaml_misread(&vol.name) {
                self.report(
                    &vat("name"),
                    Kind::YamlMisreadName {
                        what: "volume",
                        name: vol.name.clone(),
                        reads_as,
                    },
                );
            }
            self.mount_point("volume target", &vol.target, &vat("target"));
            volumes.push(Volume {
                name: vol.name.clone(),
                target: vol.target.clone(),
                read_only: vol.read_only,
            });
        }
        volumes
    }

    fn service_resources(&mut self, d: &ServiceDef<'_>) -> Resources {
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
                self.report(&at("memory_reservation"), Kind::ReservationAboveLimit {});
            }
        }
        if let Some(c) = r.cpus {
            // Docker's smallest CPU share is 0.01 (a 1 ms quota per 100 ms
            // period); below it, Compose's nano-CPU count rounds to 0,
            // which means unlimited.
            if !(c.is_finite() && (0.01..=1024.0).contains(&c)) {
                self.report(
                    &at("cpus"),
                    Kind::Cpus {
                        cpus: format!("{c:?}"),
                    },
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
        let value = v.to_string();
        let Some(bytes) = names::byte_size(v) else {
            self.report(at, Kind::MemorySize { value });
            return None;
        };
        if bytes >= names::MAX_BYTES {
            self.report(at, Kind::MemoryTooLarge { value });
            return None;
        }
        if min.is_some_and(|min| bytes < min) {
            self.report(at, Kind::MemoryBelowMinimum { value });
        }
        Some(bytes)
    }

    fn service_user(&mut self, d: &ServiceDef<'_>) {
        if let Some(u) = &d.def.user {
            if !names::is_user(u) {
                self.report(
                    &d.at(&p().key("user")),
                    Kind::InvalidUser { user: u.clone() },
                );
            }
        }
    }

    /// Warnings about what a service lacks: a health check, limits.
    fn service_warnings(&mut self, name: &str, d: &ServiceDef<'_>, resources: &Resources) {
        // A one-shot job reports by its exit status instead.
        let job = d.def.run_once || d.def.initializes.is_some();
        if d.def.health.is_none() && !job {
            self.report_at_key(
                &d.here(),
                Kind::MissingHealthCheck {
                    service: name.to_string(),
                },
            );
        }
        if resources.memory.is_none() || resources.cpus.is_none() {
            self.report_at_key(
                &d.here(),
                Kind::MissingLimits {
                    service: name.to_string(),
                },
            );
        }
    }
}

/// A one-shot job never restarts; any other service as the model says
/// (`unless-stopped` unless it says otherwise).
fn restart_policy(run_once: bool, restart: Option<Restart>) -> Restart {
    match run_once {
        true => Restart::No,
        false => restart.unwrap_or_default(),
    }
}
