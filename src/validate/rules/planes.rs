//! `plane-isolation` across services: a service joins a network of another
//! plane only when the planes' `may_join` or bridges allow it.

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
                    let bridged = home
                        .bridges
                        .iter()
                        .any(|b| b.service == s.name && b.to == other.name);
                    if bridged {
                        continue;
                    }
                    Kind::LeavesIsolatedPlane {
                        service,
                        plane,
                        network,
                        other_plane,
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
