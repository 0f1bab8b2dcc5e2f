//! `env-conflict` seen from a service: a plain variable that would replace
//! a secret's value in the container. Compose lets the service's own
//! `environment` win over its env files, and a later env file win over an
//! earlier one.

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn env_conflicts(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            for secret in &sys.secrets {
                // The last env file of the service that carries the secret.
                let Some(last) = s
                    .env_files
                    .iter()
                    .rposition(|f| secret.env_files.contains(f))
                else {
                    continue;
                };
                let carrier = &sys.env_files[s.env_files[last]].key;
                let name = secret.name.as_str();
                if s.environment.iter().any(|(k, _)| k == name) {
                    self.report_at_key(
                        &m.services[si].at(&p().key("environment").key(name)),
                        Kind::EnvironmentReplacesSecret {
                            service: s.name.clone(),
                            name: name.to_string(),
                            carrier: carrier.clone(),
                        },
                    );
                }
                for (pos, f) in s.env_files.iter().enumerate().skip(last + 1) {
                    let later = &sys.env_files[*f];
                    if later.vars.iter().any(|(k, _)| k == name) {
                        let at = m.env_files[*f].at(&p().key("vars").key(name));
                        let svc_at = m.services[si].at(&p().key("env_files").index(pos));
                        let read_at = self.value_loc(&svc_at);
                        self.report_at_key(
                            &at,
                            Kind::LaterEnvFileReplacesSecret {
                                name: name.to_string(),
                                file: later.key.clone(),
                                carrier: carrier.clone(),
                                service: s.name.clone(),
                                read_at,
                            },
                        );
                    }
                }
            }
        }
    }

    /// `empty-phase`: a phase no service belongs to would get a compose
    /// file without services, which Compose refuses.
    pub(super) fn empty_phases(&mut self, m: &Merged<'a>, sys: &System) {
        for (i, phase) in sys.phases.iter().enumerate() {
            if !sys.services.iter().any(|s| s.phase == i) {
                self.report_at_key(
                    &m.phases[i].here(),
                    Kind::EmptyPhase {
                        phase: phase.name.clone(),
                    },
                );
            }
        }
    }
}
