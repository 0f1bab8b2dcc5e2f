//! Variants and replicas: the top-level `variants` (one rendering of every
//! compose file each), what each service adds per variant (environment and
//! volumes only, so nothing else can differ between variants), and
//! `replicas`, which may not publish a fixed host port.

use crate::diagnostic::Kind;
use crate::model::raw;
use std::net::IpAddr;

use crate::system::{suffixed_file_name, HostPort, PortMapping, ServiceVariant, Variant};

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

/// Every path the service mounts something at in every variant: its
/// volumes, config files and secret files (`/run/secrets/NAME` unless
/// given a `target`).
fn mounted(s: &raw::ServiceDef) -> Vec<String> {
    let volumes = (s.volumes.iter().map(|v| v.target.clone()))
        .chain(s.binds.iter().map(|b| b.target.clone()));
    let configs = s.config_files.iter().map(|f| f.target.clone());
    let files = (s.secrets.iter())
        .filter(|u| u.delivery != raw::DeliveryDef::Env)
        .map(|u| (u.target.clone()).unwrap_or_else(|| format!("/run/secrets/{}", u.name)));
    let tmpfs = (s.security.tmpfs.clone()).unwrap_or_else(|| vec!["/tmp".to_string()]);
    (volumes.chain(configs).chain(files).chain(tmpfs))
        .filter_map(|t| names::mount_point(&t).ok())
        .collect()
}

impl<'a> Validator<'a> {
    /// The top-level `variants`, in the order written.
    pub(super) fn variants(&mut self, m: &Merged<'a>) -> Vec<Variant> {
        let mut out = Vec::new();
        for (name, d) in &m.variants {
            self.check_name("variant", name, &d.here());
            let v = d.def;
            if let Some(suffix) = &v.compose_suffix {
                let fits = !suffix.is_empty()
                    && (suffix.bytes())
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !fits {
                    let kind = Kind::VariantSuffix {
                        suffix: suffix.clone(),
                    };
                    self.report(&d.at(&p().key("compose_suffix")), kind);
                }
            }
            out.push(Variant {
                name: name.clone(),
                description: v.description.clone(),
                compose_suffix: v.compose_suffix.clone(),
                build: v.build,
            });
        }
        self.variant_file_clashes(m, &out);
        out
    }

    /// No two variants write a compose file of the same name (every
    /// phase's and the master's, suffixed).
    fn variant_file_clashes(&mut self, m: &Merged<'a>, variants: &[Variant]) {
        let master = (m.system.as_ref())
            .map(|s| s.def.output.master_compose.clone())
            .unwrap_or_default();
        let profiles = (m.system.as_ref()).and_then(|s| s.def.output.profiles_compose.as_ref());
        let files: Vec<&String> = (m.phases.values().map(|p| &p.def.compose_file))
            .chain([&master])
            .chain(profiles)
            .collect();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            for file in &files {
                let name = suffixed_file_name(file, v.compose_suffix.as_deref());
                match seen.iter().find(|(f, j)| *f == name && *j != i) {
                    Some((_, j)) => {
                        let kind = Kind::VariantFileClash {
                            variant: v.name.clone(),
                            file: name,
                            other: variants[*j].name.clone(),
                        };
                        self.report_at_key(&m.variants[i].here(), kind);
                        break;
                    }
                    None => seen.push((name, i)),
                }
            }
        }
    }

    /// A variant's mount (a volume or a bind, listed at `at`) at a path the
    /// service already mounts something at in every variant.
    fn mounted_twice<'t>(
        &mut self,
        s: &raw::ServiceDef,
        service: &str,
        variant: &str,
        at: &super::location::At,
        targets: impl Iterator<Item = &'t str>,
    ) {
        let every = mounted(s);
        for (i, target) in targets.enumerate() {
            let normal = names::mount_point(target).ok();
            if normal.is_some_and(|n| every.contains(&n)) {
                let kind = Kind::VariantVolumeTwice {
                    service: service.to_string(),
                    variant: variant.to_string(),
                    target: target.to_string(),
                };
                let tat = super::location::At {
                    file: at.file,
                    path: at.path.index(i).key("target"),
                };
                self.report(&tat, kind);
            }
        }
    }

    /// One entry per declared variant: what this service adds in it.
    pub(super) fn service_variants(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &Def<'_, raw::ServiceDef>,
    ) -> Vec<ServiceVariant> {
        let mut out = vec![ServiceVariant::default(); m.variants.len()];
        for (key, add) in &d.def.variants {
            let at = d.at(&p().key("variants").key(key.as_str()));
            let index = m.variants.get_index_of(key.as_str());
            if index.is_none() {
                let kind = self.unknown_variant(m, key);
                self.report_at_key(&at, kind);
            }
            let environment = self.environment_map(&at.key("environment"), &add.environment);
            for (k, _) in &environment {
                if d.def.environment.contains_key(k) {
                    let kind = Kind::VariantEnvironmentTwice {
                        service: name.to_string(),
                        variant: key.clone(),
                        name: k.clone(),
                    };
                    self.report_at_key(&at.key("environment").key(k), kind);
                }
            }
            let volumes = self.volume_list(&at.key("volumes"), &add.volumes);
            let targets = volumes.iter().map(|v| v.target.as_str());
            self.mounted_twice(d.def, name, key, &at.key("volumes"), targets);
            let binds = self.bind_list(name, &at.key("binds"), &add.binds);
            let targets = binds.iter().map(|b| b.target.as_str());
            self.mounted_twice(d.def, name, key, &at.key("binds"), targets);
            let ports = self.variant_ports(d, name, key, &at.key("ports"));
            if add.dev_stage {
                let builds = index.map(|i| m.variants[i].def.build);
                self.dev_stage(d, name, key, builds, &at.key("dev_stage"));
            }
            if let Some(i) = index {
                out[i] = ServiceVariant {
                    environment,
                    volumes,
                    binds,
                    ports,
                    dev_stage: add.dev_stage,
                };
            }
        }
        out
    }

    /// `dev_stage`: the service's build has a `dev_entrypoint` and the
    /// variant builds (`builds`, `None` for an unknown variant).
    fn dev_stage(
        &mut self,
        d: &Def<'_, raw::ServiceDef>,
        name: &str,
        variant: &str,
        builds: Option<bool>,
        at: &At,
    ) {
        let (service, variant) = (name.to_string(), variant.to_string());
        let has_stage = (d.def.build.as_ref()).is_some_and(|b| !b.dev_entrypoint.is_empty());
        if !has_stage {
            let kind = Kind::DevStageWithoutDevEntrypoint { service, variant };
            self.report_at_key(at, kind);
        } else if builds == Some(false) {
            self.report_at_key(at, Kind::DevStageInPullingVariant { service, variant });
        }
    }

    /// A variant's `ports`: each a port the service declares without a
    /// host port, published once, and never on a replicated service.
    fn variant_ports(
        &mut self,
        d: &Def<'_, raw::ServiceDef>,
        service: &str,
        variant: &str,
        at: &super::location::At,
    ) -> Vec<(usize, HostPort, Option<IpAddr>)> {
        let adds = &d.def.variants[variant].ports;
        let mut out: Vec<(usize, HostPort, Option<IpAddr>)> = Vec::new();
        for (i, add) in adds.iter().enumerate() {
            let pat = |k: &str| super::location::At {
                file: at.file,
                path: at.path.index(i).key(k),
            };
            let container = self.port(add.container, &pat("container"), "container port");
            let host = HostPort(self.port(add.host, &pat("host"), "host port"));
            let host_ip = (add.host_ip.as_ref()).and_then(|ip| match ip.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    self.report(&pat("host_ip"), Kind::HostIpNotIp { ip: ip.clone() });
                    None
                }
            });
            let declared = (d.def.ports.iter())
                .position(|p| p.container == add.container && p.protocol == add.protocol);
            let why = match declared {
                None => Some("is not one of the ports the service declares"),
                Some(j) if d.def.ports[j].host.is_some() => {
                    Some("the service publishes in every variant already (its `ports` give it a host port)")
                }
                Some(j) if out.iter().any(|(k, _, _)| *k == j) => {
                    Some("this variant already publishes")
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                let kind = Kind::VariantPort {
                    service: service.to_string(),
                    variant: variant.to_string(),
                    port: container,
                    why: why.to_string(),
                };
                self.report(&pat("container"), kind);
            } else if let Some(j) = declared {
                out.push((j, host, host_ip));
            }
            if d.def.replicas.is_some_and(|r| r > 1) {
                let kind = Kind::ReplicatedHostPort {
                    service: service.to_string(),
                    replicas: d.def.replicas.unwrap_or(1),
                    port: host.0,
                };
                self.report(&pat("host"), kind);
            }
        }
        out
    }

    /// `replicas` (default 1): at least one, never for a one-shot job, and
    /// no fixed host port when more than one.
    pub(super) fn replicas(
        &mut self,
        name: &str,
        d: &Def<'_, raw::ServiceDef>,
        ports: &[PortMapping],
    ) -> u32 {
        let Some(replicas) = d.def.replicas else {
            return 1;
        };
        let at = d.at(&p().key("replicas"));
        let service = name.to_string();
        if replicas == 0 {
            self.report(&at, Kind::ZeroReplicas { service });
            return 1;
        }
        if replicas > 1 && (d.def.run_once || d.def.initializes.is_some()) {
            let why = format!("cannot run {replicas} replicas: it runs once");
            self.report(&at, Kind::OneShot { service, why });
            return replicas;
        }
        let host_mode =
            (d.def.swarm.as_ref()).is_some_and(|s| s.endpoint_mode == raw::EndpointMode::Dnsrr);
        if replicas > 1 && !host_mode {
            for port in ports.iter().filter_map(|p| p.host) {
                let kind = Kind::ReplicatedHostPort {
                    service: name.to_string(),
                    replicas,
                    port: port.0,
                };
                self.report(&at, kind);
            }
        }
        replicas
    }
}

impl<'a> Validator<'a> {
    /// `only_in_variants`: declared variants, each once (indices).
    pub(super) fn only_in_variants(
        &mut self,
        m: &Merged<'a>,
        name: &str,
        d: &Def<'_, raw::ServiceDef>,
    ) -> Vec<usize> {
        let Some(names) = &d.def.only_in_variants else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, variant) in names.iter().enumerate() {
            let at = d.at(&p().key("only_in_variants").index(i));
            match m.variants.get_index_of(variant.as_str()) {
                None => {
                    let kind = self.unknown_variant(m, variant);
                    self.report(&at, kind);
                }
                Some(v) if out.contains(&v) => {
                    let kind = Kind::OnlyInVariants {
                        service: name.to_string(),
                        why: format!("lists variant `{variant}` twice"),
                    };
                    self.report(&at, kind);
                }
                Some(v) => out.push(v),
            }
        }
        if names.is_empty() {
            let kind = Kind::OnlyInVariants {
                service: name.to_string(),
                why: "lists no variant, so it would exist in none".into(),
            };
            self.report_at_key(&d.at(&p().key("only_in_variants")), kind);
        }
        out
    }

    /// `unknown-variant` for a name the top-level `variants` lacks, with a
    /// "did you mean" or the names it has.
    pub(super) fn unknown_variant(&self, m: &Merged<'a>, name: &str) -> Kind {
        let names: Vec<&str> = m.variants.keys().map(String::as_str).collect();
        let hint = match super::names::suggest(name, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => "declare it under the top-level `variants`".into(),
            None => format!("declare it, or use one of: {}", names.join(", ")),
        };
        Kind::UnknownVariant {
            name: name.to_string(),
            hint,
        }
    }
}
