//! Which compose files exist and what each one holds ([`ComposeFile`]).
//!
//! Pure and total over a valid [`System`]. Each phase gets a compose file
//! that works on its own: it defines the networks its phase is the first
//! to use and refers to the others as `external` (they were created by an
//! earlier phase, which is deployed first). Dependencies on
//! services of earlier phases cannot be expressed in a file that does not
//! hold those services, so they become comments; the master file holds
//! every service, network and dependency.

use crate::system::System;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkUse {
    /// This file creates the network.
    Define,
    /// An earlier phase created it; this file only attaches to it.
    External { owner: usize },
}

/// One compose file to render.
#[derive(Debug, Clone)]
pub struct ComposeFile {
    pub file_name: String,
    /// Compose project name.
    pub project: String,
    /// The phase it deploys; `None` for the master file.
    pub phase: Option<usize>,
    /// Indices into `System::services`, in model order (ascending:
    /// `holds` relies on it).
    pub services: Vec<usize>,
    /// Indices into `System::networks` with how this file uses each.
    pub networks: Vec<(usize, NetworkUse)>,
    /// Volume names used by the file's services, first use first.
    pub volumes: Vec<String>,
    /// The group it deploys (`phase` is then `None`).
    pub group: Option<usize>,
    /// The profiles file (`output.profiles_compose`): the master's
    /// services, each under its phase's and the later phases' profiles.
    pub profiles: bool,
}

impl ComposeFile {
    pub fn holds(&self, service: usize) -> bool {
        // Speed: `services` is ascending, so a binary search (a linear
        // `contains` made the 10,000-service master file quadratic).
        self.services.binary_search(&service).is_ok()
    }
}

/// The first phase (in deploy order) with a service on each network.
pub fn network_owners(system: &System) -> Vec<Option<usize>> {
    system
        .networks
        .iter()
        .enumerate()
        .map(|(n, _)| {
            system
                .services
                .iter()
                .filter(|s| s.networks.contains(&n))
                .map(|s| s.phase)
                .min()
        })
        .collect()
}

/// Every compose file: one per phase, in deploy order, then the master.
pub fn phases_and_master(system: &System) -> Vec<ComposeFile> {
    let owners = network_owners(system);
    let mut plans = Vec::new();
    for (phase_idx, phase) in system.phases.iter().enumerate() {
        let services: Vec<usize> = (0..system.services.len())
            .filter(|i| system.services[*i].phase == phase_idx)
            .collect();
        let networks = (0..system.networks.len())
            .filter(|n| {
                services
                    .iter()
                    .any(|s| system.services[*s].networks.contains(n))
            })
            .map(|n| match owners[n] {
                Some(owner) if owner < phase_idx => (n, NetworkUse::External { owner }),
                _ => (n, NetworkUse::Define),
            })
            .collect();
        plans.push(ComposeFile {
            file_name: phase.compose_file.clone(),
            project: format!("{}-{}", system.name, phase.name),
            phase: Some(phase_idx),
            volumes: volumes_of(system, &services),
            services,
            networks,
            group: None,
            profiles: false,
        });
    }
    let all: Vec<usize> = (0..system.services.len()).collect();
    plans.push(ComposeFile {
        file_name: system.output.master_compose.clone(),
        project: system.name.clone(),
        phase: None,
        volumes: volumes_of(system, &all),
        services: all,
        networks: (0..system.networks.len())
            .map(|n| (n, NetworkUse::Define))
            .collect(),
        group: None,
        profiles: false,
    });
    plans
}

/// Every compose file of `system`: the phases', the master, the profiles
/// file when the model asks for it, then the groups'.
pub fn every(system: &System) -> Vec<ComposeFile> {
    let mut plans = phases_and_master(system);
    plans.extend(profiles(system));
    plans.extend(groups(system));
    plans
}

/// The profiles file (`output.profiles_compose`), if asked for: the
/// master's services, networks and volumes under another file name, each
/// service under Compose profiles (its phase's and every later phase's).
pub fn profiles(system: &System) -> Option<ComposeFile> {
    let file = system.output.profiles_compose.as_ref()?;
    let mut plan = phases_and_master(system).pop()?;
    plan.file_name = file.clone();
    plan.profiles = true;
    Some(plan)
}

/// One compose file per group. Like the master, a group file works on its
/// own: it holds the group's services and every service they wait for
/// ([`group_services`]), and creates every network they join.
pub fn groups(system: &System) -> Vec<ComposeFile> {
    (system.groups.iter().enumerate())
        .map(|(g, group)| {
            let services = group_services(system, &group.services);
            let networks = (0..system.networks.len())
                .filter(|n| (services.iter()).any(|s| system.services[*s].networks.contains(n)))
                .map(|n| (n, NetworkUse::Define))
                .collect();
            ComposeFile {
                file_name: group.compose_file.clone(),
                project: format!("{}-{}", system.name, group.name),
                phase: None,
                volumes: volumes_of(system, &services),
                services,
                networks,
                group: Some(g),
                profiles: false,
            }
        })
        .collect()
}

/// `listed` and, transitively, every service they depend on, the target
/// of each initialisation step and the steps that initialise each (a
/// service's dependants wait for those), ascending.
pub fn group_services(system: &System, listed: &[usize]) -> Vec<usize> {
    let mut held = vec![false; system.services.len()];
    let mut todo: Vec<usize> = listed.to_vec();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut held[i], true) {
            continue;
        }
        let s = &system.services[i];
        todo.extend(&s.depends_on);
        todo.extend(s.initializes);
        let steps = system.services.iter().enumerate();
        todo.extend(
            steps
                .filter(|(_, t)| t.initializes == Some(i))
                .map(|(j, _)| j),
        );
    }
    (0..held.len()).filter(|i| held[*i]).collect()
}

fn volumes_of(system: &System, services: &[usize]) -> Vec<String> {
    let mut volumes: Vec<String> = Vec::new();
    // Speed: a set for "seen", not `volumes.contains` (quadratic).
    let mut seen = std::collections::HashSet::new();
    for s in services {
        for v in &system.services[*s].volumes {
            if seen.insert(v.name.as_str()) {
                volumes.push(v.name.clone());
            }
        }
    }
    volumes
}

/// The path of `to` (relative to the output root) as seen from directory
/// `from` (also relative to the output root).
pub fn relative_path(from: &str, to: &str) -> String {
    let from: Vec<&str> = from
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let to_parts: Vec<&str> = to
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to_parts[common..]);
    if from.len() == common {
        format!("./{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path("configs/docker", "configs/environment/.env.a"),
            "../environment/.env.a"
        );
        assert_eq!(relative_path("docker", "env/.env"), "../env/.env");
        assert_eq!(relative_path("a", "a/.env"), "./.env");
        assert_eq!(relative_path("a/b/c", "x/.env"), "../../../x/.env");
    }
}
