//! `port-clash` across services: a host port published twice for one
//! protocol on overlapping addresses (no `host_ip`, `0.0.0.0` and `::` bind
//! every address), every clashing pair reported; and `plane-isolation` for
//! a service of an isolated plane that publishes a host port without a
//! stated reason.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diagnostic::Kind;
use crate::system::*;

use crate::validate::location::p;
use crate::validate::merge::Merged;
use crate::validate::Validator;

/// Whether two bindings of one port and protocol take the same socket: an
/// absent or unspecified address (`0.0.0.0`, `::`) binds every address
/// (a dual-stack `::` covers IPv4 too), and an IPv4-mapped IPv6 address is
/// its IPv4 address.
fn addresses_overlap(a: Option<IpAddr>, b: Option<IpAddr>) -> bool {
    match (a.map(|a| a.to_canonical()), b.map(|b| b.to_canonical())) {
        (Some(a), Some(b)) => a == b || a.is_unspecified() || b.is_unspecified(),
        _ => true,
    }
}

/// Whether two services run together in some variant: not when each
/// exists only in variants the other does not (`only_in_variants`).
fn share_a_variant(a: &Service, b: &Service) -> bool {
    a.only_in.is_empty() || b.only_in.is_empty() || a.only_in.iter().any(|v| b.only_in.contains(v))
}

/// The address a port binds, in words.
fn address(port: &PortMapping) -> String {
    port.host_ip
        .map_or_else(|| "every address".to_string(), |ip| ip.to_string())
}

impl<'a> Validator<'a> {
    pub(super) fn port_clashes(&mut self, m: &Merged<'a>, sys: &System) {
        // Speed: published ports grouped by (host port, protocol), so only
        // candidates are compared; each new port is compared with every
        // earlier one of its group, so every clashing pair is reported
        // once, whatever the order of the files.
        type Published<'s> = Vec<(usize, usize, &'s PortMapping)>;
        let mut published: HashMap<(HostPort, Protocol), Published> = HashMap::new();
        for (si, s) in sys.services.iter().enumerate() {
            for (pi, port) in s.ports.iter().enumerate() {
                let Some(host) = port.host else { continue };
                if host.0 == 0 {
                    continue;
                }
                let same = published.entry((host, port.protocol)).or_default();
                let clashes: Vec<(usize, usize)> = same
                    .iter()
                    .filter(|(_, _, q)| addresses_overlap(q.host_ip, port.host_ip))
                    .filter(|(sj, _, _)| share_a_variant(s, &sys.services[*sj]))
                    .map(|(sj, pj, _)| (*sj, *pj))
                    .collect();
                same.push((si, pi, port));
                for (sj, pj) in clashes {
                    self.port_clash(m, sys, (si, pi), (sj, pj));
                }
            }
        }
        self.isolated_host_ports(m, sys);
    }

    /// Port `pi` of service `si` clashes with port `pj` of `sj`, published
    /// earlier.
    fn port_clash(
        &mut self,
        m: &Merged<'a>,
        sys: &System,
        (si, pi): (usize, usize),
        (sj, pj): (usize, usize),
    ) {
        let (s, other) = (&sys.services[si], &sys.services[sj]);
        let port = &s.ports[pi];
        // By name: a variant's system leaves out services (and renumbers).
        let (d, other_d) = (
            &m.services[s.name.as_str()],
            &m.services[other.name.as_str()],
        );
        let first_at = self.value_loc(&other_d.at(&p().key("ports").index(pj).key("host")));
        let protocol = match port.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        self.report(
            &d.at(&p().key("ports").index(pi).key("host")),
            Kind::HostPortClash {
                port: port.host.map_or(0, |h| h.0),
                protocol,
                service: s.name.clone(),
                address: address(port),
                other: other.name.clone(),
                other_address: address(&other.ports[pj]),
                first_at,
            },
        );
    }

    /// A host port reaches an isolated plane around its isolation: only
    /// with `security.host_ports` stating why.
    fn isolated_host_ports(&mut self, m: &Merged<'a>, sys: &System) {
        for s in &sys.services {
            let d = &m.services[s.name.as_str()];
            let isolated = sys.planes.get(s.plane).is_some_and(|pl| pl.isolated);
            let published = s.ports.iter().position(|p| p.host.is_some());
            match (isolated, published, &d.def.security.host_ports) {
                (true, Some(pi), None) => self.report(
                    &d.at(&p().key("ports").index(pi).key("host")),
                    Kind::IsolatedHostPort {
                        service: s.name.clone(),
                        plane: sys.planes[s.plane].name.clone(),
                        port: s.ports[pi].host.map_or(0, |h| h.0),
                    },
                ),
                (_, _, Some(_)) if !isolated || published.is_none() => self.report(
                    &d.at(&p().key("security").key("host_ports")),
                    Kind::HostPortsReasonUnneeded {
                        service: s.name.clone(),
                    },
                ),
                _ => {}
            }
        }
    }
}
