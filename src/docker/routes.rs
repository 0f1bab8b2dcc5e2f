//! Routes on the engine's host that a model network would clash with.
//!
//! Docker checks a network's subnet against its own networks, not against
//! the host's routing table: given a subnet, it creates the bridge even
//! when another interface of the host already routes addresses inside it
//! (a bridge left by an engine that was killed, a VPN's route). The
//! containers then come up healthy, but traffic to their addresses leaves
//! through that other interface, and connections to them time out. The
//! preflight of `up` and of a deploy to a host reads the host's routes
//! (`/proc/net/route`, `/proc/net/ipv6_route`: no `ip` needed) and names
//! every route inside a subnet the phase creates, through an interface no
//! network of the engine owns. A wider route (the default route, a VPN's
//! `/8`) is not a clash: the narrower bridge route wins.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::target::{Host, Target};
use super::DockerError;
use crate::regular_file::{self, Follow};
use crate::system::Subnet;

/// The most of a routing table read here (16 MiB: about 100,000 routes).
const MAX_TABLE_BYTES: u64 = 16 << 20;

/// One route of the host's main table: where it leads and through which
/// interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub net: Subnet,
    pub iface: String,
}

/// `RTF_UP` in the kernel's route flags: the route is in use.
const RTF_UP: u32 = 0x1;

/// The routes of `/proc/net/route`: a header line, then one line per
/// route, addresses as the hexadecimal of their bytes in host (little
/// endian) order.
pub fn parse_ipv4(text: &str) -> Vec<Route> {
    let route = |line: &str| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| u32::from_str_radix(cols.get(i)?, 16).ok();
        let (iface, dest, flags, mask) = (cols.first()?, hex(1)?, hex(3)?, hex(7)?);
        let mask = mask.swap_bytes();
        (flags & RTF_UP != 0 && mask.leading_ones() == mask.count_ones()).then(|| Route {
            net: Subnet {
                addr: IpAddr::V4(Ipv4Addr::from(dest.swap_bytes())),
                prefix: mask.count_ones() as u8,
            },
            iface: (*iface).to_string(),
        })
    };
    text.lines().skip(1).filter_map(route).collect()
}

/// The routes of `/proc/net/ipv6_route`: destination (32 hex digits, in
/// network order), its prefix length (hex), source, source prefix, next
/// hop, metric, reference count, use count, flags, interface.
pub fn parse_ipv6(text: &str) -> Vec<Route> {
    let route = |line: &str| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (dest, prefix, flags, iface) =
            (cols.first()?, cols.get(1)?, cols.get(8)?, cols.get(9)?);
        let flags = u32::from_str_radix(flags, 16).ok()?;
        let prefix = u8::from_str_radix(prefix, 16).ok().filter(|p| *p <= 128)?;
        (flags & RTF_UP != 0).then_some(())?;
        Some(Route {
            net: Subnet {
                addr: IpAddr::V6(Ipv6Addr::from(u128::from_str_radix(dest, 16).ok()?)),
                prefix,
            },
            iface: (*iface).to_string(),
        })
    };
    text.lines().filter_map(route).collect()
}

/// The routes that clash with `subnet`: inside it (as narrow or narrower),
/// through an interface that is neither loopback nor one of `bridges`
/// (the interfaces of the engine's own networks).
pub fn clashes<'r>(subnet: Subnet, routes: &'r [Route], bridges: &[String]) -> Vec<&'r Route> {
    (routes.iter())
        .filter(|r| r.net.prefix >= subnet.prefix && subnet.overlaps(r.net))
        .filter(|r| r.iface != "lo" && !bridges.contains(&r.iface))
        .collect()
}

/// The routes of the host the target's engine runs on; `None` when they
/// cannot be read there: the local engine runs on another machine (its
/// name is not this one's) or rootless (in a network namespace of its
/// own), or the host is not Linux.
pub fn host_routes(target: &Target) -> Result<Option<Vec<Route>>, DockerError> {
    let info = (target.docker())
        .args(["info", "--format", "{{.Name}} {{json .SecurityOptions}}"])
        .output()?;
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let (engine_host, options) = info.trim().split_once(' ').unwrap_or(("", ""));
    if engine_host.is_empty() || options.contains("name=rootless") {
        return Ok(None);
    }
    let (v4, v6) = match &target.host {
        Host::Local => {
            // A table too large to read (a router's) leaves the check out.
            let read = |path: &str| {
                regular_file::read_text(Path::new(path), Follow::Links, MAX_TABLE_BYTES)
                    .unwrap_or_default()
            };
            if read("/proc/sys/kernel/hostname").trim() != engine_host {
                return Ok(None);
            }
            (read("/proc/net/route"), read("/proc/net/ipv6_route"))
        }
        Host::Ssh(_) => {
            let text = target.shell(super::remote::ROUTES, &[]).run()?;
            let (v4, v6) = match text.strip_prefix("==\n") {
                Some(v6) => ("", v6),
                None => text.split_once("\n==\n").unwrap_or((&text, "")),
            };
            (v4.to_string(), v6.to_string())
        }
    };
    if v4.is_empty() && v6.is_empty() {
        return Ok(None);
    }
    let mut routes = parse_ipv4(&v4);
    routes.extend(parse_ipv6(&v6));
    Ok(Some(routes))
}

/// The interfaces of the engine's bridge networks: `br-` and the first
/// twelve digits of the network's id, or the name its options give
/// (`docker0`, `docker_gwbridge`).
pub fn engine_bridges(target: &Target) -> Result<Vec<String>, DockerError> {
    let ids = (target.docker())
        .args(["network", "ls", "--no-trunc", "--filter", "driver=bridge"])
        .args(["--format", "{{.ID}}"])
        .run()?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let named = (target.docker())
        .args(["network", "inspect", "--format"])
        .arg("{{.Id}} {{index .Options \"com.docker.network.bridge.name\"}}")
        .args(&ids)
        .run()?;
    Ok(named.lines().filter_map(bridge_of).collect())
}

/// The interface of one network from `ID NAME-OPTION`.
fn bridge_of(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let id = words.next()?;
    match words.next() {
        Some(name) if name != "<no" => Some(name.to_string()),
        _ => Some(format!("br-{}", id.get(..12)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(s: &str) -> Subnet {
        let (addr, prefix) = s.split_once('/').unwrap();
        Subnet {
            addr: addr.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
        }
    }

    fn route(net: &str, iface: &str) -> Route {
        Route {
            net: subnet(net),
            iface: iface.to_string(),
        }
    }

    #[test]
    fn ipv4_routes_are_read_from_the_kernel_table() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
            br-0123456789ab\t0014AC0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            down0\t000015AC\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(
            parse_ipv4(text),
            vec![
                route("0.0.0.0/0", "eth0"),
                route("172.17.0.0/16", "docker0"),
                route("10.172.20.0/24", "br-0123456789ab"),
            ]
        );
    }

    #[test]
    fn ipv6_routes_are_read_from_the_kernel_table() {
        let text = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n\
            fdab0000000000000000000000000000 30 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 80200001       lo\n\
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n\
            fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000000  docker0\n";
        assert_eq!(
            parse_ipv6(text),
            vec![route("fd00::/64", "eth0"), route("fdab::/48", "lo")]
        );
    }

    #[test]
    fn only_a_route_inside_the_subnet_through_a_foreign_interface_clashes() {
        let routes = [
            route("0.0.0.0/0", "eth0"),
            route("172.16.0.0/12", "tun0"),
            route("172.20.0.0/16", "br-f7f6aaaaaaaa"),
            route("172.20.5.0/24", "wg0"),
            route("172.20.0.0/16", "br-0123456789ab"),
            route("172.20.0.9/32", "lo"),
            route("172.21.0.0/16", "br-e481aaaaaaaa"),
        ];
        let bridges = ["br-0123456789ab".to_string(), "docker0".to_string()];
        let found = clashes(subnet("172.20.0.0/16"), &routes, &bridges);
        assert_eq!(found, vec![&routes[2], &routes[3]]);
        assert!(clashes(subnet("172.22.0.0/16"), &routes, &bridges).is_empty());
    }

    #[test]
    fn a_network_s_interface_is_br_and_its_id_unless_its_options_name_one() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            bridge_of(&format!("{id} <no value>")).unwrap(),
            "br-0123456789ab"
        );
        assert_eq!(bridge_of(&format!("{id} ")).unwrap(), "br-0123456789ab");
        assert_eq!(bridge_of(&format!("{id} docker0")).unwrap(), "docker0");
    }
}
