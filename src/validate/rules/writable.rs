//! Values `render` writes through an escaper that may refuse them, checked
//! here with the same escaper on the same value, so that the user gets a
//! located error instead of render's internal one: the labels and the
//! description each built service's Dockerfile carries as `LABEL`s, and the
//! `.gitignore` line of every secret-bearing env file (at the path
//! [`render::output_paths`](crate::render::output_paths) gives it, the one
//! render lists). Build paths are checked where builds are resolved
//! (`images.rs`), env values where env files are (`env.rs`).

use crate::diagnostic::Kind;
use crate::escape::{self, Unrepresentable};
use crate::render::{OutputOrigin, PlannedOutput};
use crate::system::System;

use crate::validate::location::{p, At};
use crate::validate::merge::Merged;
use crate::validate::names;
use crate::validate::Validator;

impl Validator<'_> {
    /// Every label value and description a Dockerfile `LABEL` holds: the
    /// system's labels (on every built image), and each built service's
    /// own labels and description.
    pub(super) fn dockerfile_labels(&mut self, m: &Merged<'_>, sys: &System) {
        let built: Vec<usize> = (0..sys.services.len())
            .filter(|&i| sys.services[i].build.is_some())
            .collect();
        if let (Some(system), false) = (&m.system, built.is_empty()) {
            for (key, value) in &sys.labels {
                let at = system.at(&p().key("labels").key(key.as_str()));
                self.dockerfile_label(&at, value, || {
                    format!("system label `{key}`, which every built image carries,")
                });
            }
        }
        for i in built {
            let (s, d) = (&sys.services[i], &m.services[i]);
            if let Some(description) = &s.description {
                self.dockerfile_label(&d.at(&p().key("description")), description, || {
                    format!("the description of built service `{}`", s.name)
                });
            }
            for (key, value) in &s.labels {
                let at = d.at(&p().key("labels").key(key.as_str()));
                self.dockerfile_label(&at, value, || {
                    format!("label `{key}` of built service `{}`", s.name)
                });
            }
        }
    }

    fn dockerfile_label(&mut self, at: &At, value: &str, what: impl FnOnce() -> String) {
        // A NUL byte is already `LabelNul`, for every service.
        if value.contains('\0') {
            return;
        }
        if let Err(Unrepresentable(why)) = escape::docker_quoted(value) {
            self.report(at, Kind::DockerfileLabel { what: what(), why });
        }
    }

    /// The `.gitignore` line of each secret-bearing file. A config file's
    /// path holds its target (a refused target is already `invalid-path`
    /// there, and reported nowhere else); other names are plain, so a
    /// refusal comes from `output.secrets_dir`, reported once there.
    pub(super) fn gitignored_secrets(
        &mut self,
        m: &Merged<'_>,
        sys: &System,
        outputs: &[PlannedOutput],
    ) {
        let Some(system) = &m.system else { return };
        if !names::is_relative_path(&sys.output.secrets_dir) {
            return; // already `invalid-path`
        }
        let builds = outputs.iter().any(|o| {
            matches!(
                o.origin,
                OutputOrigin::BaseDockerfile(_) | OutputOrigin::ServiceDockerfile(_)
            )
        });
        if builds {
            if let Err(Unrepresentable(why)) =
                escape::dockerignore_dir_anywhere(&sys.output.secrets_dir)
            {
                let dir = sys.output.secrets_dir.clone();
                let at = system.at(&p().key("output").key("secrets_dir"));
                self.report(&at, Kind::DockerignoreUnwritable { dir, why });
            }
        }
        for out in outputs.iter().filter(|o| o.origin.secret_bearing(sys)) {
            let Err(Unrepresentable(why)) = escape::gitignore_path(&out.path) else {
                continue;
            };
            let path = out.path.display().to_string();
            if let OutputOrigin::ConfigFile(i, j) = out.origin {
                let target = &sys.services[i].config_files[j].target;
                if names::mount_point(target).is_ok() {
                    let at = self.origin_at(m, out.origin);
                    let from = "the config file's `target`";
                    let kind = Kind::EnvPathUnwritable { path, why, from };
                    self.report(&at.unwrap_or_else(|| system.here()), kind);
                }
                continue;
            }
            let at = system.at(&p().key("output").key("secrets_dir"));
            let from = "`output.secrets_dir`";
            self.report(&at, Kind::EnvPathUnwritable { path, why, from });
            return;
        }
    }
}
