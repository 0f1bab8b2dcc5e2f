//! The `system` section (name, platform, registry, output layout) and the
//! `phases` that split it into compose files.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Kind};
use crate::model::raw;
use crate::system::*;

use super::common::Ref;
use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    /// The `system` section, with every collection still empty.
    pub(super) fn system(&mut self, m: &Merged<'a>) -> Option<System> {
        let Some(def) = &m.system else {
            let location = self.files.first().map(|f| f.location(1, 1));
            self.diagnostics
                .push(Diagnostic::new(Kind::MissingSystem {}).at(location));
            return None;
        };
        let s = def.def;
        self.system_names(def);
        let output = self.output_layout(def);
        let labels = self.labels(&s.labels, &def.at(&p().key("labels")));
        let lint_exceptions =
            self.lint_exceptions(&s.lint_exceptions, &def.at(&p().key("lint_exceptions")));
        Some(System {
            name: s.name.clone(),
            description: s.description.clone(),
            platform: s.platform.clone(),
            registry_namespace: s.registry.namespace.clone(),
            tag: s.registry.tag.clone(),
            output,
            labels,
            lint_exceptions,
            planes: Vec::new(),
            networks: Vec::new(),
            phases: Vec::new(),
            env_files: Vec::new(),
            secrets: Vec::new(),
            images: Vec::new(),
            externals: Vec::new(),
            services: Vec::new(),
            groups: Vec::new(),
            extra_tags: self.extra_tags(def),
            github: self.github_ci(def),
            mode: s.mode,
            swarm: s.swarm.clone().unwrap_or_default(),
            variants: Vec::new(),
            variant: None,
            hosts: Vec::new(),
        })
    }
    /// The system's name, platform and registry.
    fn system_names(&mut self, def: &Def<'a, raw::SystemDef>) {
        let s = def.def;
        if !names::is_project_name(&s.name) {
            self.report(
                &def.at(&p().key("name")),
                Kind::InvalidProjectName {
                    name: s.name.clone(),
                },
            );
        }
        if !names::is_platform(&s.platform) {
            self.report(
                &def.at(&p().key("platform")),
                Kind::InvalidPlatform {
                    platform: s.platform.clone(),
                },
            );
        }
        if !names::is_image_ref(&format!("{}/x", s.registry.namespace)) {
            self.report(
                &def.at(&p().key("registry").key("namespace")),
                Kind::InvalidNamespace {
                    namespace: s.registry.namespace.clone(),
                },
            );
        }
        if !names::is_tag(&s.registry.tag) {
            self.report(
                &def.at(&p().key("registry").key("tag")),
                Kind::InvalidTag {
                    tag: s.registry.tag.clone(),
                },
            );
        }
    }

    /// Where the outputs go: relative directories and a plain master file name.
    fn output_layout(&mut self, def: &Def<'a, raw::SystemDef>) -> OutputLayout {
        let o = &def.def.output;
        for (key, value) in [
            ("env_dir", &o.env_dir),
            ("compose_dir", &o.compose_dir),
            ("dockerfile_dir", &o.dockerfile_dir),
            ("secrets_dir", &o.secrets_dir),
            ("config_dir", &o.config_dir),
        ] {
            if !names::is_relative_path(value) {
                self.report(
                    &def.at(&p().key("output").key(key)),
                    Kind::OutputDirNotRelative {
                        key,
                        value: value.clone(),
                    },
                );
            }
        }
        self.secrets_dir_apart(def);
        let files = [("master_compose", Some(&o.master_compose))];
        let files = files
            .into_iter()
            .chain([("profiles_compose", o.profiles_compose.as_ref())]);
        for (key, value) in files.filter_map(|(k, v)| Some((k, v?))) {
            if !names::is_file_name(value) {
                let kind = Kind::MasterComposeName {
                    key,
                    value: value.clone(),
                };
                self.report(&def.at(&p().key("output").key(key)), kind);
            }
        }
        OutputLayout {
            env_dir: o.env_dir.clone(),
            compose_dir: o.compose_dir.clone(),
            dockerfile_dir: o.dockerfile_dir.clone(),
            master_compose: o.master_compose.clone(),
            profiles_compose: o.profiles_compose.clone(),
            secrets_dir: o.secrets_dir.clone(),
            config_dir: o.config_dir.clone(),
        }
    }

    /// No other output directory equal to or inside `output.secrets_dir`,
    /// and `output.config_dir` (whose paths the model's config targets
    /// shape, at any depth) not holding it either. Otherwise a plain file
    /// and a secret-bearing one can land on one path from one model
    /// version to the next, and `all --check` would show the secret's old
    /// contents as the plain file's diff. (Env files, compose files and
    /// Dockerfiles sit at a fixed depth below their directory, shallower
    /// than any secret-bearing file below a secrets directory they hold.)
    fn secrets_dir_apart(&mut self, def: &Def<'a, raw::SystemDef>) {
        let o = &def.def.output;
        let parts = |dir: &str| -> Vec<String> {
            (dir.split('/'))
                .filter(|p| !p.is_empty() && *p != ".")
                .map(str::to_lowercase)
                .collect()
        };
        let secrets = parts(&o.secrets_dir);
        let d = raw::OutputDef::default();
        for (key, value, default) in [
            ("env_dir", &o.env_dir, &d.env_dir),
            ("compose_dir", &o.compose_dir, &d.compose_dir),
            ("dockerfile_dir", &o.dockerfile_dir, &d.dockerfile_dir),
            ("config_dir", &o.config_dir, &d.config_dir),
        ] {
            let other = parts(value);
            let how = if other == secrets {
                "is"
            } else if other.starts_with(&secrets) {
                "is inside"
            } else if key == "config_dir" && secrets.starts_with(&other) {
                "holds"
            } else {
                continue;
            };
            let kind = Kind::OutputDirsOverlap {
                key,
                value: value.clone(),
                how,
                secrets_dir: o.secrets_dir.clone(),
            };
            // At the directory the model moved (a default one is not
            // written anywhere).
            let at = match value == default {
                true => "secrets_dir",
                false => key,
            };
            self.report(&def.at(&p().key("output").key(at)), kind);
        }
    }

    pub(super) fn phases(&mut self, m: &Merged<'a>) -> Vec<Phase> {
        let mut out = Vec::new();
        let mut compose_files: HashMap<&str, At> = HashMap::new();
        if let Some(system) = &m.system {
            compose_files.insert(
                system.def.output.master_compose.as_str(),
                system.at(&p().key("output").key("master_compose")),
            );
            if let Some(file) = &system.def.output.profiles_compose {
                let at = system.at(&p().key("output").key("profiles_compose"));
                if let Some(first) = compose_files.insert(file.as_str(), at.clone()) {
                    let first_at = self.value_loc(&first);
                    let file = file.clone();
                    self.report(&at, Kind::ComposeFileTwice { file, first_at });
                }
            }
        }
        for (name, d) in &m.phases {
            self.check_name("phase", name, &d.here());
            let env_file = self.resolve(
                Ref::EnvFile,
                &d.def.env_file,
                &m.env_files,
                &d.at(&p().key("env_file")),
            );
            let at = d.at(&p().key("compose_file"));
            let file = &d.def.compose_file;
            if !names::is_file_name(file) || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
                self.report(&at, Kind::ComposeFileName { file: file.clone() });
            } else if let Some(first) = compose_files.insert(file.as_str(), at.clone()) {
                let loc = self.value_loc(&first);
                self.report(
                    &at,
                    Kind::ComposeFileTwice {
                        file: file.clone(),
                        first_at: loc,
                    },
                );
            }
            out.push(Phase {
                name: name.clone(),
                description: d.def.description.clone(),
                env_file: env_file.unwrap_or(0),
                compose_file: file.clone(),
            });
        }
        out
    }
}
