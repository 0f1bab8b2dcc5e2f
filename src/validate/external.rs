//! The `external_services` section: services outside the model (a managed
//! database) that services may depend on. Each needs a valid variable for
//! its host and exactly one of a fixed port or a port variable, and no
//! model service may share its name.

use crate::diagnostic::Kind;
use crate::system::{ExternalPort, ExternalService};

use super::location::p;
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
            self.env_name(&d.at(&p().key("host_env")), &e.host_env);
            let port = match (&e.port_env, e.port) {
                (Some(var), None) => {
                    self.env_name(&d.at(&p().key("port_env")), var);
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
