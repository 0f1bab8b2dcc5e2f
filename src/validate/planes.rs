//! The `planes` section: isolation, `may_join` and bridges.

use crate::diagnostic::Rule;
use crate::system::*;

use super::location::{p, At};
use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn planes(&mut self, m: &Merged<'a>) -> Vec<Plane> {
        let mut out = Vec::new();
        for (name, d) in &m.planes {
            self.check_name("plane", name, &d.here());
            for (i, other) in d.def.may_join.iter().enumerate() {
                self.resolve(
                    Rule::UnknownPlane,
                    "plane",
                    other,
                    &m.planes,
                    &d.at(&p().key("may_join").index(i)),
                );
            }
            for (i, bridge) in d.def.bridges.iter().enumerate() {
                let at = d.at(&p().key("bridges").index(i));
                self.resolve(
                    Rule::UnknownPlane,
                    "plane",
                    &bridge.to,
                    &m.planes,
                    &At {
                        path: at.path.key("to"),
                        ..at.clone()
                    },
                );
                if let Some(s) = self.resolve(
                    Rule::UnknownDependency,
                    "service",
                    &bridge.service,
                    &m.services,
                    &At {
                        path: at.path.key("service"),
                        ..at.clone()
                    },
                ) {
                    let service = m.services[s].def;
                    if service.plane != *name {
                        self.error(
                            Rule::PlaneIsolation,
                            &At {
                                path: at.path.key("service"),
                                ..at.clone()
                            },
                            format!(
                                "bridge service `{}` belongs to plane `{}`, not `{name}`",
                                bridge.service, service.plane
                            ),
                            "a plane can only declare its own services as bridges",
                        );
                    }
                }
                if !d.def.isolated {
                    self.warning(
                        Rule::PlaneIsolation,
                        &at,
                        format!("plane `{name}` declares a bridge but is not isolated"),
                        "bridges only matter for `isolated: true` planes; use `may_join` otherwise",
                    );
                }
            }
            if d.def.isolated && !d.def.may_join.is_empty() {
                self.error(
                    Rule::PlaneIsolation,
                    &d.at(&p().key("may_join")),
                    format!("isolated plane `{name}` cannot have `may_join`"),
                    "an isolated plane reaches other planes only through `bridges`, one service at a time",
                );
            }
            out.push(Plane {
                name: name.clone(),
                description: d.def.description.clone(),
                isolated: d.def.isolated,
                forbidden_terms: d.def.forbidden_terms.clone(),
            });
        }
        out
    }
}
