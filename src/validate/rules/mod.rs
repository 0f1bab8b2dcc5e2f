//! Rules that look at the whole built model at once, one file per family:
//! host ports, dependencies, plane isolation, forbidden terms, env
//! conflicts and empty phases, output paths, values render's escapers
//! would refuse (`writable`); unused secrets are here. References that
//! failed to resolve were already reported by the section resolvers.

mod dependencies;
mod env_conflicts;
mod forbidden_terms;
mod one_shot;
mod outputs;
mod planes;
mod ports;
mod variants;
mod writable;

use crate::diagnostic::Kind;
use crate::render::output_paths;
use crate::system::System;

use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    /// Rules that look at several services at once. Runs on the built
    /// system; references that failed to resolve were already reported.
    pub(super) fn cross_checks(&mut self, m: &Merged<'a>, sys: &mut System) {
        self.port_clashes(m, sys);
        self.dependencies(m, sys);
        self.plane_isolation(m, sys);
        self.forbidden_terms(m, sys);
        self.env_conflicts(m, sys);
        self.external_env_conflicts(m, sys);
        self.required_env_conflicts(m, sys);
        self.variant_rules(m, sys);
        self.empty_phases(m, sys);
        // Every path the run would write, named once for both output rules.
        let outputs = output_paths(sys);
        self.output_collisions(m, sys, &outputs);
        self.one_shot_targets(m, sys);
        self.one_shots_waited_for(m, sys);
        self.after_up_misused(m);
        // Warn on unused secrets.
        for (i, secret) in sys.secrets.iter().enumerate() {
            let hashed = |s: &crate::system::Service| {
                (s.config_files.iter().flat_map(|f| &f.pieces))
                    .any(|p| *p == crate::system::Piece::TorHashedPassword(i))
            };
            let used = |s: &crate::system::Service| s.received_secrets().contains(&i) || hashed(s);
            // Named by a template: used wherever that one is.
            let composed = |t: usize| {
                let parts = sys.secrets[t].template.as_deref().unwrap_or_default();
                crate::secret_template::references(parts).any(|n| n == secret.name)
                    && sys
                        .services
                        .iter()
                        .any(|s| s.received_secrets().contains(&t))
            };
            if !sys.services.iter().any(used) && !(0..sys.secrets.len()).any(composed) {
                let d = &m.secrets[i];
                self.report_at_key(
                    &d.here(),
                    Kind::UnusedSecret {
                        secret: secret.name.clone(),
                    },
                );
            }
        }
        self.gitignored_secrets(m, sys, &outputs);
        self.dockerfile_labels(m, sys);
    }
}
