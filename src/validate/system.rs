//! The `system` section (name, platform, registry, output layout) and the
//! `phases` that split it into compose files.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Rule};
use crate::model::raw;
use crate::system::*;

use super::location::{p, At, Def};
use super::merge::Merged;
use super::names;
use super::Validator;

impl<'a> Validator<'a> {
    /// The `system` section, with every collection still empty.
    pub(super) fn system(&mut self, m: &Merged<'a>) -> Option<System> {
        let Some(def) = &m.system else {
            let location = self.files.first().map(|f| f.location(1, 1));
            self.diagnostics.push(
                Diagnostic::error(Rule::MissingSystem, "no file of the model has a `system:` section")
                    .at(location)
                    .help("add `system: { name, platform, registry: { namespace, tag } }` to one model file"),
            );
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
            services: Vec::new(),
        })
    }
    /// The system's name, platform and registry.
    fn system_names(&mut self, def: &Def<'a, raw::SystemDef>) {
        let s = def.def;
        if !names::is_project_name(&s.name) {
            self.error(
                Rule::InvalidName,
                &def.at(&p().key("name")),
                format!(
                    "system name `{}` is not a valid Compose project name",
                    s.name
                ),
                "use lowercase letters, digits, `-` and `_`, starting with a letter or digit",
            );
        }
        if !names::is_platform(&s.platform) {
            self.error(
                Rule::InvalidName,
                &def.at(&p().key("platform")),
                format!("platform `{}` is not of the form os/arch", s.platform),
                "write it as Docker does, e.g. `linux/arm64` or `linux/amd64`",
            );
        }
        if !names::is_image_ref(&format!("{}/x", s.registry.namespace)) {
            self.error(
                Rule::InvalidImage,
                &def.at(&p().key("registry").key("namespace")),
                format!(
                    "registry namespace `{}` is not a valid image path",
                    s.registry.namespace
                ),
                "use lowercase letters, digits and `-`, e.g. `pickme`",
            );
        }
        if !names::is_tag(&s.registry.tag) {
            self.error(
                Rule::InvalidImage,
                &def.at(&p().key("registry").key("tag")),
                format!("image tag `{}` is not a valid Docker tag", s.registry.tag),
                "use letters, digits, `_`, `.` and `-`, at most 128 characters",
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
        ] {
            if !names::is_relative_path(value) {
                self.error(
                    Rule::InvalidPath,
                    &def.at(&p().key("output").key(key)),
                    format!("output.{key} `{value}` must be a relative path inside the output directory"),
                    "use a path like `configs/docker`, without a leading `/` or `..`",
                );
            }
        }
        if !names::is_file_name(&o.master_compose) {
            self.error(
                Rule::InvalidPath,
                &def.at(&p().key("output").key("master_compose")),
                format!(
                    "output.master_compose `{}` must be a plain file name",
                    o.master_compose
                ),
                "use a name like `docker-compose.master.yml`",
            );
        }
        OutputLayout {
            env_dir: o.env_dir.clone(),
            compose_dir: o.compose_dir.clone(),
            dockerfile_dir: o.dockerfile_dir.clone(),
            master_compose: o.master_compose.clone(),
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
        }
        for (name, d) in &m.phases {
            self.check_name("phase", name, &d.here());
            let env_file = self.resolve(
                Rule::UnknownEnvFile,
                "env file",
                &d.def.env_file,
                &m.env_files,
                &d.at(&p().key("env_file")),
            );
            let at = d.at(&p().key("compose_file"));
            let file = &d.def.compose_file;
            if !names::is_file_name(file) || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
                self.error(
                    Rule::InvalidPath,
                    &at,
                    format!("compose file name `{file}` must be a plain `.yml` file name"),
                    "use a name like `docker-compose.foundation.yml`",
                );
            } else if let Some(first) = compose_files.insert(file.as_str(), at.clone()) {
                let loc = self.value_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &at,
                    format!("compose file `{file}` is already written for something else ({loc})"),
                    "give each phase its own compose file, distinct from the master",
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
