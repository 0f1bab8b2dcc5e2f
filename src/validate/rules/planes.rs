//! `plane-isolation` across services: a service joins a network of another
//! plane only when the planes' `may_join` or bridges allow it (a bridge
//! narrowed by `networks` only onto those).

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn plane_isolation(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            let home = &m.planes.get_index(s.plane).map(|(_, d)| d.def);
            let Some(home) = home else { continue };
            for (i, n) in s.networks.iter().enumerate() {
                let net = &sys.networks[*n];
                if net.plane == s.plane {
                    continue;
                }
                let other = &sys.planes[net.plane];
                let own = &sys.planes[s.plane];
                let at = m.services[si].at(&p().key("networks").index(i));
                let (service, plane, network, other_plane) = (
                    s.name.clone(),
                    own.name.clone(),
                    net.key.clone(),
                    other.name.clone(),
                );
                let kind = if other.isolated {
                    Kind::JoinsIsolatedPlane {
                        service,
                        plane,
                        network,
                        other_plane,
                    }
                } else if own.isolated {
                    let bridge =
                        (home.bridges.iter()).find(|b| b.service == s.name && b.to == other.name);
                    match bridge.map(|b| b.networks.as_ref()) {
                        Some(None) => continue,
                        Some(Some(allowed)) if allowed.contains(&network) => continue,
                        Some(Some(allowed)) => Kind::OutsideBridge {
                            service,
                            plane,
                            network,
                            other_plane,
                            allowed: allowed_list(allowed),
                        },
                        None => Kind::LeavesIsolatedPlane {
                            service,
                            plane,
                            network,
                            other_plane,
                        },
                    }
                } else if home.may_join.contains(&other.name) {
                    continue;
                } else {
                    Kind::JoinsUnlistedPlane {
                        service,
                        plane,
                        network,
                        other_plane,
                    }
                };
                self.report(&at, kind);
            }
        }
    }
}

/// `a`, `b` and `c`, each in backticks; "no network" for none.
fn allowed_list(networks: &[String]) -> String {
    let quoted: Vec<String> = networks.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => "no network".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
