//! The `external_services` section: services outside the model (a managed
//! database) that services may depend on. Each needs a valid variable for
//! its host and exactly one of a fixed port or a port variable, and no
//! model service may share its name.

use crate::diagnostic::Kind;
use crate::escape;
use crate::system::{ExternalPort, ExternalService, System};

use super::location::{p, At};
use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn externals(&mut self, m: &Merged<'a>) -> Vec<ExternalService> {
        let mut out = Vec::new();
        for (name, d) in &m.externals {
            let e = d.def;
            self.check_name("external service", name, &d.here());
            if let Some(service) = m.services.get(name) {
                let first_at = self.key_loc(&service.here());
                self.report_at_key(
                    &d.here(),
                    Kind::DefinedTwice {
                        section: "external_services".into(),
                        name: name.clone(),
                        first_at,
                    },
                );
            }
            self.compose_variable(&d.at(&p().key("host_env")), &e.host_env);
            let port = match (&e.port_env, e.port) {
                (Some(var), None) => {
                    self.compose_variable(&d.at(&p().key("port_env")), var);
                    ExternalPort::Env(var.clone())
                }
                (None, Some(port)) => {
                    let at = d.at(&p().key("port"));
                    ExternalPort::Fixed(self.port(u32::from(port), &at, "port"))
                }
                _ => {
                    let name = name.clone();
                    self.report_at_key(&d.here(), Kind::ExternalPortSource { name });
                    ExternalPort::Fixed(0)
                }
            };
            out.push(ExternalService {
                name: name.clone(),
                description: e.description.clone(),
                host_env: e.host_env.clone(),
                port,
            });
        }
        out
    }
}

impl<'a> Validator<'a> {
    /// A variable a dependant's compose `environment:` takes from where
    /// Compose runs: checked with the escaper render writes it with.
    fn compose_variable(&mut self, at: &At, name: &str) {
        if let Err(escape::Unrepresentable(why)) = escape::compose_required_variable(name, "") {
            let (name, why) = (name.to_string(), why.to_string());
            self.report(at, Kind::ComposeVariable { name, why });
        }
    }

    /// A service's own `environment` may not set a variable Compose fills
    /// with where one of its external services is.
    pub(super) fn external_env_conflicts(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            for e in s.external_deps.iter().map(|&e| &sys.externals[e]) {
                let port = match &e.port {
                    ExternalPort::Env(var) => Some(var),
                    ExternalPort::Fixed(_) => None,
                };
                for var in std::iter::once(&e.host_env).chain(port) {
                    if s.environment.iter().any(|(k, _)| k == var) {
                        self.report_at_key(
                            &m.services[si].at(&p().key("environment").key(var.as_str())),
                            Kind::EnvironmentReplacesExternal {
                                service: s.name.clone(),
                                name: var.clone(),
                                external: e.name.clone(),
                            },
                        );
                    }
                }
            }
        }
    }
}
