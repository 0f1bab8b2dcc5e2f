//! `plane-isolation` across services: a service joins a network of another
//! plane only when the planes' `may_join` or bridges allow it.

use crate::diagnostic::Rule;
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
                let (allowed, help) = if other.isolated {
                    (false, format!("plane `{}` is isolated: only its own services may join `{}`; move `{}` to that plane or off that network", other.name, net.key, s.name))
                } else if own.isolated {
                    let bridged = home
                        .bridges
                        .iter()
                        .any(|b| b.service == s.name && b.to == other.name);
                    (bridged, format!("plane `{}` is isolated; declare `{}` as a bridge to `{}` under `planes.{}.bridges` with a reason, or remove the network", own.name, s.name, other.name, own.name))
                } else {
                    (
                        home.may_join.contains(&other.name),
                        format!(
                            "add `{}` to `planes.{}.may_join`, or remove the network",
                            other.name, own.name
                        ),
                    )
                };
                if !allowed {
                    self.error(
                        Rule::PlaneIsolation,
                        &at,
                        format!(
                            "service `{}` of plane `{}` joins network `{}` of plane `{}`",
                            s.name, own.name, net.key, other.name
                        ),
                        help,
                    );
                }
            }
        }
    }
}
