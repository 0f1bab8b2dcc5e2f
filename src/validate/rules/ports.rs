//! `port-clash` across services: a host port published twice for one
//! protocol and an overlapping address.

use std::collections::HashMap;

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

impl<'a> Validator<'a> {
    pub(super) fn port_clashes(&mut self, m: &Merged<'a>, sys: &System) {
        // Speed: published ports grouped by (host port, protocol), first
        // published first, so only candidates are scanned (one flat list
        // made this quadratic in the number of published ports).
        type Published<'s> = Vec<(usize, usize, &'s PortMapping)>;
        let mut published: HashMap<(HostPort, Protocol), Published> = HashMap::new();
        for (si, s) in sys.services.iter().enumerate() {
            for (pi, port) in s.ports.iter().enumerate() {
                let Some(host) = port.host else { continue };
                if host.0 == 0 {
                    continue;
                }
                let same = published.entry((host, port.protocol)).or_default();
                let clash = same.iter().find(|(_, _, q)| {
                    q.host == Some(host)
                        && q.protocol == port.protocol
                        && (q.host_ip.is_none()
                            || port.host_ip.is_none()
                            || q.host_ip == port.host_ip)
                });
                if let Some((sj, pj, _)) = clash {
                    let other = &sys.services[*sj];
                    let loc = self
                        .value_loc(&m.services[*sj].at(&p().key("ports").index(*pj).key("host")));
                    let proto = match port.protocol {
                        Protocol::Tcp => "tcp",
                        Protocol::Udp => "udp",
                    };
                    self.report(
                        &m.services[si].at(&p().key("ports").index(pi).key("host")),
                        Kind::HostPortClash {
                            port: host.0,
                            protocol: proto,
                            service: s.name.clone(),
                            other: other.name.clone(),
                            first_at: loc,
                        },
                    );
                } else {
                    same.push((si, pi, port));
                }
            }
        }
    }
}
