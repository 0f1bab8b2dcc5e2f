//! The `groups` section: sets of services, each with a compose file of its
//! own. A group names services that exist, each once, at least one; its
//! compose file is a plain `.yml` name no phase, the master or another
//! group writes; its name is no phase's (both would be one Compose
//! project). What the file holds besides the listed services is
//! `compose_files::groups`' job.

use std::collections::HashMap;

use crate::diagnostic::Kind;
use crate::system::Group;

use super::common::Ref;
use super::location::{p, At};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn groups(&mut self, m: &Merged<'a>) -> Vec<Group> {
        let mut files = self.compose_files_taken(m);
        let mut out = Vec::new();
        for (name, d) in &m.groups {
            self.check_name("group", name, &d.here());
            if m.phases.contains_key(name) {
                let project = match &m.system {
                    Some(s) => format!("{}-{name}", s.def.name),
                    None => name.clone(),
                };
                let group = name.clone();
                self.report_at_key(&d.here(), Kind::GroupNamedLikePhase { group, project });
            }
            let at = d.at(&p().key("compose_file"));
            let file = &d.def.compose_file;
            if !names::is_file_name(file) || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
                self.report(&at, Kind::ComposeFileName { file: file.clone() });
            } else if let Some(first) = files.get(file.as_str()) {
                let first_at = self.value_loc(first);
                let file = file.clone();
                self.report(&at, Kind::GroupComposeFileTwice { file, first_at });
            } else {
                files.insert(file.as_str(), at.clone());
            }
            let mut services: Vec<usize> = Vec::new();
            for (i, service) in d.def.services.iter().enumerate() {
                let at = d.at(&p().key("services").index(i));
                let Some(s) = self.resolve(Ref::Service, service, &m.services, &at) else {
                    continue;
                };
                if services.contains(&s) {
                    let (group, service) = (name.clone(), service.clone());
                    self.report(&at, Kind::GroupServiceTwice { group, service });
                } else {
                    services.push(s);
                }
            }
            if d.def.services.is_empty() {
                let group = name.clone();
                self.report(&d.at(&p().key("services")), Kind::EmptyGroup { group });
            }
            out.push(Group {
                name: name.clone(),
                description: d.def.description.clone(),
                compose_file: file.clone(),
                services,
            });
        }
        out
    }

    /// The compose files phases and the master write, and where each is
    /// named (two phases on one file were reported already).
    fn compose_files_taken(&self, m: &Merged<'a>) -> HashMap<&'a str, At> {
        let mut files = HashMap::new();
        for (_, d) in &m.phases {
            let file = d.def.compose_file.as_str();
            files.entry(file).or_insert(d.at(&p().key("compose_file")));
        }
        if let Some(system) = &m.system {
            let master = system.def.output.master_compose.as_str();
            files
                .entry(master)
                .or_insert(system.at(&p().key("output").key("master_compose")));
            if let Some(file) = &system.def.output.profiles_compose {
                let at = system.at(&p().key("output").key("profiles_compose"));
                files.entry(file.as_str()).or_insert(at);
            }
        }
        files
    }
}
