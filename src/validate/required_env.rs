//! A service's `required_env`: variables the operator sets where Compose
//! runs. Each name must be one Compose interpolates (checked with the
//! escaper render writes `${NAME:?…}` with), and nothing else may set the
//! same variable in that container: its own `environment`, an external
//! service's address or a secret it receives as a variable. With `from`,
//! Compose reads another name (one per service: `ORACLE_NODE_ID`) and the
//! container still receives the entry's own.

use crate::diagnostic::Kind;
use crate::escape;
use crate::model::raw;
use crate::system::{Delivery, ExternalPort, RequiredVar, System};

use super::location::{p, Def};
use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    /// The service's required variables. The name the container receives
    /// and the one Compose reads (`from`) must both be names Compose can
    /// interpolate.
    pub(super) fn required_env(&mut self, d: &Def<'_, raw::ServiceDef>) -> Vec<RequiredVar> {
        let mut out = Vec::new();
        for (name, def) in &d.def.required_env {
            let at = d.at(&p().key("required_env").key(name.as_str()));
            let from = def.from.clone().unwrap_or_else(|| name.clone());
            let mut ok = true;
            for var in [name, &from] {
                if let Err(escape::Unrepresentable(why)) =
                    escape::compose_required_variable(var, &def.what)
                {
                    let (name, why) = (var.clone(), why.to_string());
                    self.report_at_key(&at, Kind::ComposeVariable { name, why });
                    ok = false;
                    break;
                }
            }
            if ok {
                out.push(RequiredVar {
                    name: name.clone(),
                    what: def.what.clone(),
                    from,
                });
            }
        }
        out
    }

    /// `env-conflict`: a required variable something else also sets.
    pub(super) fn required_env_conflicts(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            for name in s.required_env.iter().map(|r| &r.name) {
                let Some(other) = other_setter(sys, si, name) else {
                    continue;
                };
                self.report_at_key(
                    &m.services[si].at(&p().key("required_env").key(name.as_str())),
                    Kind::RequiredEnvSetTwice {
                        service: s.name.clone(),
                        name: name.clone(),
                        other,
                    },
                );
            }
        }
    }
}

/// What else sets variable `name` in service `si`'s container, if anything.
fn other_setter(sys: &System, si: usize, name: &str) -> Option<String> {
    let s = &sys.services[si];
    if s.environment.iter().any(|(k, _)| k == name) {
        return Some("its own `environment`".to_string());
    }
    for e in s.external_deps.iter().map(|&e| &sys.externals[e]) {
        let port = match &e.port {
            ExternalPort::Env(var) => Some(var.as_str()),
            ExternalPort::Fixed(_) => None,
        };
        if e.host_env == name || port == Some(name) {
            return Some(format!("external service `{}`", e.name));
        }
    }
    for u in &s.secrets {
        let secret = &sys.secrets[u.secret].name;
        let sets = match u.delivery {
            Delivery::Env => secret == name,
            Delivery::FileEnv { .. } => format!("{secret}_FILE") == name,
            Delivery::File { .. } => false,
        };
        if sets {
            return Some(format!("secret `{secret}`"));
        }
    }
    None
}
