//! Networks, planes, phases and env files of an imported project.
//!
//! Defaults, as the README's import section states them: networks that
//! share a service are one plane (a single plane is `app`; several are
//! named after their first network), none isolated — Compose has no
//! isolation to import. A network keeps Docker's name for it and gets a
//! subnet from 10.200.0.0/16 when Compose chose one at run time. Each
//! compose file given is a phase (the file that first defines a service
//! holds it); each phase gets an empty env file, and each `env_file` a
//! service names becomes a model env file of the same name.

use std::collections::BTreeMap;
use std::path::Path;

use super::compose::{literal, Network};
use super::draft::{EnvFileDraft, NetworkDraft, PhaseDraft, PlaneDraft};
use super::map::Mapper;
use crate::model::YamlPath;

/// The first subnet handed out: 10.200.0.0/24, then 10.200.1.0/24, ...
const FIRST_SUBNET: (u8, u8) = (10, 200);

impl Mapper<'_> {
    /// Networks and the planes they fall into.
    pub(super) fn networks(&mut self) {
        let project = self.input.project;
        let mut keys: Vec<String> = project.networks.keys().cloned().collect();
        let uses_fallback = (project.services.values()).any(|s| s.networks.is_none());
        if uses_fallback && !keys.iter().any(|k| k == "default") {
            keys.push("default".into());
        }
        let groups = connected(&keys, self);
        let mut taken: Vec<(u32, u32)> = (project.networks.values())
            .filter_map(|n| {
                n.ipam
                    .as_ref()?
                    .config
                    .first()?
                    .subnet
                    .as_deref()
                    .and_then(ipv4)
            })
            .collect();
        for (i, group) in groups.iter().enumerate() {
            let plane = match groups.len() {
                1 => "app".to_string(),
                _ => group[0].clone(),
            };
            self.draft.planes.push(PlaneDraft {
                name: plane.clone(),
                description: match i {
                    0 if groups.len() == 1 => "Every network of the imported project.".into(),
                    _ => format!("Networks {} and what joins them.", group.join(", ")),
                },
            });
            for key in group {
                self.plane_of.insert(key.clone(), plane.clone());
            }
        }
        for key in keys {
            let plane = self.plane_of[&key].clone();
            let net = self.network(&key, plane, &mut taken);
            self.draft.networks.push(net);
        }
    }

    fn network(&mut self, key: &str, plane: String, taken: &mut Vec<(u32, u32)>) -> NetworkDraft {
        let project = self.input.project;
        let fallback = Network {
            name: Some(format!("{}_{key}", project.name)),
            driver: None,
            internal: None,
            external: None,
            ipam: None,
            enable_ipv6: None,
            rest: Default::default(),
        };
        let n = project.networks.get(key).unwrap_or(&fallback);
        let path = YamlPath::root().key("networks").key(key);
        let mut comments = Vec::new();
        let pool = n.ipam.as_ref().and_then(|i| i.config.first());
        let subnet = match pool.and_then(|p| p.subnet.clone()) {
            Some(s) => s,
            None => {
                let s = next_subnet(taken);
                comments.push(format!(
                    "subnet {s}: chosen by lucid-gen import (Compose picked one at run time)"
                ));
                s
            }
        };
        if n.external == Some(true) {
            self.unmapped_at(None, path.key("external"), "the model creates every network it uses; this one is now created by the phase that first uses it");
        }
        let driver = n.driver.clone().filter(|d| d != "bridge");
        if let Some(d) = &driver {
            if !["overlay", "macvlan", "ipvlan"].contains(&d.as_str()) {
                self.unmapped_at(None, path.key("driver"), "the model's drivers are bridge, overlay, macvlan and ipvlan; this network is a bridge now");
            }
        }
        if let Some(ipam) = &n.ipam {
            self.rest(None, &path.key("ipam"), &ipam.rest);
            for (i, extra) in ipam.config.iter().enumerate().skip(1) {
                let _ = extra;
                self.unmapped_at(
                    None,
                    path.key("ipam").key("config").index(i),
                    "a model network has one subnet",
                );
            }
            if let Some(p) = pool {
                self.rest(None, &path.key("ipam").key("config").index(0), &p.rest);
            }
        }
        if n.enable_ipv6 == Some(true) && !subnet.contains(':') {
            self.unmapped_at(
                None,
                path.key("enable_ipv6"),
                "the model turns IPv6 on when a network's subnet is IPv6",
            );
        }
        self.rest(None, &path, &n.rest);
        NetworkDraft {
            key: key.to_string(),
            plane,
            name: n.name.as_deref().map(literal).filter(|name| name != key),
            driver: driver.filter(|d| ["overlay", "macvlan", "ipvlan"].contains(&d.as_str())),
            subnet,
            gateway: pool.and_then(|p| p.gateway.clone()),
            internal: n.internal == Some(true),
            comments,
        }
    }

    /// One phase per compose file given that defines a service; every
    /// service in the phase of the file that first defines it, moved
    /// earlier when something in an earlier phase depends on it.
    pub(super) fn phases(&mut self) -> BTreeMap<String, String> {
        let sources = self.input.sources;
        let project = self.input.project;
        let mut phase: BTreeMap<String, usize> = (project.services.keys())
            .map(|s| (s.clone(), sources.phase_of(s)))
            .collect();
        loop {
            let mut moved = false;
            for (name, s) in &project.services {
                for dep in s.depends_on.keys() {
                    let (mine, theirs) = (phase[name], phase.get(dep).copied().unwrap_or(0));
                    if theirs > mine {
                        phase.insert(dep.clone(), mine);
                        self.report.note(Some(dep), format!("in an earlier phase than the file that defines it: {name} depends on it"));
                        moved = true;
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let names = phase_names(&sources.given);
        for (i, file) in sources.given.iter().enumerate() {
            if !phase.values().any(|p| *p == i) {
                continue;
            }
            let name = names[i].clone();
            let file_name = file.file_name().and_then(|f| f.to_str()).unwrap_or("");
            let compose_file = match crate::validate::names::is_file_name(file_name) {
                true => file_name.to_string(),
                false => format!("docker-compose.{name}.yml"),
            };
            self.draft.env_files.push(EnvFileDraft {
                key: name.clone(),
                file: format!(".env.{name}"),
                description: format!(
                    "Shared variables of phase {name} (each service's own are in its environment)."
                ),
                vars: Vec::new(),
            });
            self.draft.phases.push(PhaseDraft {
                name: name.clone(),
                env_file: name,
                compose_file,
                description: format!("the services {} defines", sources.shown[i]),
            });
        }
        (phase.into_iter())
            .map(|(service, i)| (service, names[i].clone()))
            .collect()
    }

    /// Model env files for the `env_file`s services name; returns, per
    /// service, the keys it reads (in order).
    pub(super) fn env_files(&mut self) -> BTreeMap<String, Vec<String>> {
        let refs = &self.input.sources.env_files;
        let mut keys: Vec<(std::path::PathBuf, String)> = Vec::new();
        let mut per_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (r, vars) in refs.iter().zip(self.input.env_file_vars) {
            let key = match keys.iter().find(|(p, _)| *p == r.path) {
                Some((_, k)) => k.clone(),
                None => {
                    let key = self.env_file_key(&r.path);
                    // Moved secrets never reach a shared file.
                    let moved: Vec<&String> = self.moves.variables.values().collect();
                    let vars = vars
                        .iter()
                        .filter(|(k, _)| !moved.contains(k))
                        .filter_map(|(k, v)| Some((k.clone(), literal(v.as_deref()?))))
                        .collect();
                    self.draft.env_files.push(EnvFileDraft {
                        key: key.clone(),
                        file: key.clone(),
                        description: format!("From {} ({}).", r.shown, r.cite),
                        vars,
                    });
                    keys.push((r.path.clone(), key.clone()));
                    key
                }
            };
            let list = per_service.entry(r.service.clone()).or_default();
            if !list.contains(&key) {
                list.push(key);
            }
        }
        per_service
    }

    /// A model env file name for `path`: its file name when that is a
    /// plain name no other env file has.
    fn env_file_key(&self, path: &Path) -> String {
        let base: String = (path.file_name().and_then(|f| f.to_str()).unwrap_or("env"))
            .chars()
            .map(|c| match c.is_ascii_alphanumeric() || "._-".contains(c) {
                true => c,
                false => '-',
            })
            .collect();
        let base = base.trim_start_matches('.').to_string();
        let base = if base.is_empty() { "env".into() } else { base };
        let mut key = base.clone();
        let mut n = 2;
        while self
            .draft
            .env_files
            .iter()
            .any(|e| e.key == key || e.file == key)
        {
            key = format!("{base}-{n}");
            n += 1;
        }
        key
    }
}

/// Networks in groups that share a service, each group in network order.
fn connected(keys: &[String], m: &Mapper) -> Vec<Vec<String>> {
    let mut group: Vec<usize> = (0..keys.len()).collect();
    let find = |group: &Vec<usize>, mut i: usize| {
        while group[i] != i {
            i = group[i];
        }
        i
    };
    for s in m.input.project.services.values() {
        let joined: Vec<usize> = match &s.networks {
            Some(n) => n
                .keys()
                .filter_map(|k| keys.iter().position(|x| x == k))
                .collect(),
            None => keys
                .iter()
                .position(|k| k == "default")
                .into_iter()
                .collect(),
        };
        for pair in joined.windows(2) {
            let (a, b) = (find(&group, pair[0]), find(&group, pair[1]));
            group[a.max(b)] = a.min(b);
        }
    }
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let root = find(&group, i);
        match out.iter_mut().find(|(r, _)| *r == root) {
            Some((_, g)) => g.push(k.clone()),
            None => out.push((root, vec![k.clone()])),
        }
    }
    out.into_iter().map(|(_, g)| g).collect()
}

/// Phase names from file names: `compose.yaml` and `docker-compose.yml`
/// are `app`, `compose.monitoring.yaml` is `monitoring`, `db.yml` `db`;
/// repeats get `-2`, `-3`.
fn phase_names(files: &[std::path::PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        let stem = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let stem = stem.trim_end_matches(".yaml").trim_end_matches(".yml");
        let rest = ["docker-compose", "compose"]
            .iter()
            .find_map(|p| stem.strip_prefix(p))
            .unwrap_or(stem);
        let clean: String = (rest.chars())
            .map(|c| match c.is_ascii_alphanumeric() {
                true => c.to_ascii_lowercase(),
                false => '-',
            })
            .collect();
        let base = clean.trim_matches('-').to_string();
        let base = if base.is_empty() {
            "app".to_string()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// An IPv4 subnet as (first address, last address).
fn ipv4(cidr: &str) -> Option<(u32, u32)> {
    let (addr, bits) = cidr.split_once('/')?;
    let addr: core::net::Ipv4Addr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    let start = u32::from(addr) & mask;
    Some((start, start | !mask))
}

/// The next free /24 from 10.200.0.0, overlapping nothing taken.
fn next_subnet(taken: &mut Vec<(u32, u32)>) -> String {
    let base = u32::from_be_bytes([FIRST_SUBNET.0, FIRST_SUBNET.1, 0, 0]);
    let mut i = 0u32;
    loop {
        let start = base + (i << 8);
        let range = (start, start + 255);
        if !taken.iter().any(|(a, b)| *a <= range.1 && range.0 <= *b) {
            taken.push(range);
            let o = start.to_be_bytes();
            return format!("{}.{}.{}.0/24", o[0], o[1], o[2]);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_names_come_from_file_names() {
        let files: Vec<std::path::PathBuf> = [
            "a/compose.yaml",
            "b/compose.yaml",
            "docker-compose.prod.yml",
            "db.yml",
        ]
        .iter()
        .map(Into::into)
        .collect();
        assert_eq!(phase_names(&files), ["app", "app-2", "prod", "db"]);
    }

    #[test]
    fn subnets_avoid_the_taken_ones() {
        let mut taken = vec![ipv4("10.200.0.0/23").unwrap()];
        assert_eq!(next_subnet(&mut taken), "10.200.2.0/24");
        assert_eq!(next_subnet(&mut taken), "10.200.3.0/24");
    }
}
