//! `port-clash` across services: a host port published twice for one
//! protocol on overlapping addresses (no `host_ip`, `0.0.0.0` and `::` bind
//! every address), every clashing pair reported; and `plane-isolation` for
//! a service of an isolated plane that publishes a host port without a
//! stated reason.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diagnostic::Rule;
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
        let ip = |p: &PortMapping| {
            p.host_ip
                .map_or("every address".to_string(), |ip| ip.to_string())
        };
        let loc = self.value_loc(&m.services[sj].at(&p().key("ports").index(pj).key("host")));
        let proto = match port.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        self.error(
            Rule::PortClash,
            &m.services[si].at(&p().key("ports").index(pi).key("host")),
            format!(
                "host port {}/{proto} of `{}` (on {}) is already published by `{}` (on {}, {loc})",
                port.host.map_or(0, |h| h.0),
                s.name,
                ip(port),
                other.name,
                ip(&other.ports[pj]),
            ),
            "pick a free host port, bind the two to different specific `host_ip`s (no `host_ip`, `0.0.0.0` and `::` take every address), or leave one unpublished (containers reach each other by service name)",
        );
    }

    /// A host port reaches an isolated plane around its isolation: only
    /// with `security.host_ports` stating why.
    fn isolated_host_ports(&mut self, m: &Merged<'a>, sys: &System) {
        for (si, s) in sys.services.iter().enumerate() {
            let d = &m.services[si];
            let isolated = sys.planes.get(s.plane).is_some_and(|pl| pl.isolated);
            let published = s.ports.iter().position(|p| p.host.is_some());
            match (isolated, published, &d.def.security.host_ports) {
                (true, Some(pi), None) => self.error(
                    Rule::PlaneIsolation,
                    &d.at(&p().key("ports").index(pi).key("host")),
                    format!(
                        "`{}` of isolated plane `{}` publishes host port {}, which reaches the plane around its isolation",
                        s.name,
                        sys.planes[s.plane].name,
                        s.ports[pi].host.map_or(0, |h| h.0),
                    ),
                    "leave the port unpublished, or state why the host may reach it in `security.host_ports`",
                ),
                (_, _, Some(_)) if !isolated || published.is_none() => self.error(
                    Rule::SecurityException,
                    &d.at(&p().key("security").key("host_ports")),
                    format!(
                        "`{}` states a reason for host_ports but is not a service of an isolated plane publishing a host port",
                        s.name
                    ),
                    "remove `security.host_ports`; only a service of an isolated plane that publishes a host port needs it",
                ),
                _ => {}
            }
        }
    }
}
