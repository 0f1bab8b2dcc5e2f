//! The `planes` section: isolation, `may_join` and bridges (a bridge's
//! `networks`, when given, are networks of its plane `to`).

use crate::diagnostic::Kind;
use crate::model::raw::BridgeDef;
use crate::system::*;

use super::common::Ref;
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
                    Ref::Plane,
                    other,
                    &m.planes,
                    &d.at(&p().key("may_join").index(i)),
                );
            }
            for (i, bridge) in d.def.bridges.iter().enumerate() {
                let at = d.at(&p().key("bridges").index(i));
                self.resolve(
                    Ref::Plane,
                    &bridge.to,
                    &m.planes,
                    &At {
                        path: at.path.key("to"),
                        ..at.clone()
                    },
                );
                if let Some(s) = self.resolve(
                    Ref::Service,
                    &bridge.service,
                    &m.services,
                    &At {
                        path: at.path.key("service"),
                        ..at.clone()
                    },
                ) {
                    let service = m.services[s].def;
                    if service.plane != *name {
                        self.report(
                            &At {
                                path: at.path.key("service"),
                                ..at.clone()
                            },
                            Kind::BridgeOtherPlane {
                                service: bridge.service.clone(),
                                service_plane: service.plane.clone(),
                                plane: name.clone(),
                            },
                        );
                    }
                }
                self.bridge_networks(m, bridge, &at);
                if !d.def.isolated {
                    self.report_at_key(
                        &at,
                        Kind::BridgeNotIsolated {
                            plane: name.clone(),
                        },
                    );
                }
            }
            if d.def.isolated && !d.def.may_join.is_empty() {
                self.report(
                    &d.at(&p().key("may_join")),
                    Kind::IsolatedMayJoin {
                        plane: name.clone(),
                    },
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

impl<'a> Validator<'a> {
    /// A bridge's `networks`: at least one, each a network of plane `to`.
    fn bridge_networks(&mut self, m: &Merged<'a>, bridge: &BridgeDef, at: &At) {
        let Some(networks) = &bridge.networks else {
            return;
        };
        if networks.is_empty() {
            let (service, to) = (bridge.service.clone(), bridge.to.clone());
            self.report(&at.key("networks"), Kind::BridgeNoNetworks { service, to });
        }
        for (i, network) in networks.iter().enumerate() {
            let here = At {
                path: at.path.key("networks").index(i),
                ..at.clone()
            };
            let Some(n) = self.resolve(Ref::Network, network, &m.networks, &here) else {
                continue;
            };
            let network_plane = &m.networks[n].def.plane;
            if *network_plane != bridge.to && m.planes.contains_key(&bridge.to) {
                let kind = Kind::BridgeNetworkOtherPlane {
                    network: network.clone(),
                    network_plane: network_plane.clone(),
                    to: bridge.to.clone(),
                };
                self.report(&here, kind);
            }
        }
    }
}
