//! `env-conflict` seen from a service: a plain variable with the name of a
//! secret the service receives as a variable. The secret reaches the
//! container from the service's own secrets env file, read last, so it
//! would silently win over an env file's variable, and lose to the
//! service's `environment`.

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn env_conflicts(&mut self, m: &Merged<'a>, sys: &System) {
        self.secret_file_variables(m, sys);
        for s in &sys.services {
            for u in s.secrets.iter().filter(|u| u.delivery == Delivery::Env) {
                let name = sys.secrets[u.secret].name.as_str();
                if s.environment.iter().any(|(k, _)| k == name) {
                    self.report_at_key(
                        &m.services[s.name.as_str()].at(&p().key("environment").key(name)),
                        Kind::EnvironmentReplacesSecret {
                            service: s.name.clone(),
                            name: name.to_string(),
                        },
                    );
                }
                for (pos, f) in s.env_files.iter().enumerate() {
                    let file = &sys.env_files[*f];
                    if file.vars.iter().any(|(k, _)| k == name) {
                        let at = m.env_files[*f].at(&p().key("vars").key(name));
                        let svc_at =
                            m.services[s.name.as_str()].at(&p().key("env_files").index(pos));
                        let read_at = match m.services[s.name.as_str()].def.lists_env_files {
                            true => self.value_loc(&svc_at),
                            false => {
                                self.key_loc(&m.services[s.name.as_str()].at(&p().key("phase")))
                            }
                        };
                        self.report_at_key(
                            &at,
                            Kind::EnvConflict {
                                file: file.key.clone(),
                                name: name.to_string(),
                                service: s.name.clone(),
                                read_at,
                            },
                        );
                    }
                }
            }
        }
    }

    /// `NAME_FILE` of a `file-env` secret, which lucid-gen writes into the
    /// service's `environment:`, also set by the service's own (or its
    /// variant's) `environment` or by one of its external services.
    fn secret_file_variables(&mut self, m: &Merged<'a>, sys: &System) {
        for s in &sys.services {
            for u in &s.secrets {
                let Delivery::FileEnv { .. } = u.delivery else {
                    continue;
                };
                let secret = sys.secrets[u.secret].name.clone();
                let name = format!("{secret}_FILE");
                let conflict = |by: String| Kind::SetsSecretFileVariable {
                    service: s.name.clone(),
                    name: name.clone(),
                    secret: secret.clone(),
                    by,
                };
                if s.environment.iter().any(|(k, _)| *k == name) {
                    let at =
                        m.services[s.name.as_str()].at(&p().key("environment").key(name.as_str()));
                    self.report_at_key(&at, conflict(format!("`{}`'s environment", s.name)));
                }
                for &e in &s.external_deps {
                    let x = &sys.externals[e];
                    let port = match &x.port {
                        ExternalPort::Env(var) => Some((var, "port_env")),
                        ExternalPort::Fixed(_) => None,
                    };
                    let vars = std::iter::once((&x.host_env, "host_env")).chain(port);
                    for (_, key) in vars.filter(|(v, _)| **v == name) {
                        let at = m.externals[e].at(&p().key(key));
                        self.report(&at, conflict(format!("external service `{}`", x.name)));
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
