//! The `networks` section: Docker names, planes, subnets, gateways and
//! drivers; two subnets that overlap are `subnet-overlap`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diagnostic::Rule;
use crate::model::raw;
use crate::system::*;

use super::location::{p, At};
use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn networks(&mut self, m: &Merged<'a>) -> Vec<Network> {
        let mut out: Vec<Network> = Vec::new();
        let mut docker_names: HashMap<String, At> = HashMap::new();
        for (key, d) in &m.networks {
            let n = d.def;
            self.check_name("network", key, &d.here());
            let name = n.name.clone().unwrap_or_else(|| key.clone());
            if n.name.is_some() {
                self.check_name("network", &name, &d.at(&p().key("name")));
            }
            if let Some(first) = docker_names.insert(name.clone(), d.here()) {
                let loc = self.key_loc(&first);
                self.error(
                    Rule::DuplicateDefinition,
                    &d.here(),
                    format!("two networks are named `{name}` in Docker (first at {loc})"),
                    "give each network its own `name`",
                );
            }
            let plane = self.resolve(
                Rule::UnknownPlane,
                "plane",
                &n.plane,
                &m.planes,
                &d.at(&p().key("plane")),
            );
            let subnet_at = d.at(&p().key("subnet"));
            let subnet = self.subnet(&n.subnet, &subnet_at);
            let gateway = self.gateway(n, subnet, &d.at(&p().key("gateway")));
            if !matches!(
                n.driver.as_str(),
                "bridge" | "overlay" | "macvlan" | "ipvlan"
            ) {
                self.error(
                    Rule::InvalidName,
                    &d.at(&p().key("driver")),
                    format!("unknown network driver `{}`", n.driver),
                    "use one of bridge, overlay, macvlan, ipvlan",
                );
            }
            if let Some(subnet) = subnet {
                self.subnet_overlap(m, &out, key, subnet, &subnet_at);
            }
            out.push(Network {
                key: key.clone(),
                name,
                plane: plane.unwrap_or(0),
                driver: n.driver.clone(),
                subnet: subnet.unwrap_or(Subnet {
                    addr: IpAddr::from([0, 0, 0, 0]),
                    prefix: 32,
                }),
                gateway,
                internal: n.internal,
                description: n.description.clone(),
            });
        }
        out
    }

    /// The gateway, which must be an address inside the subnet.
    fn gateway(&mut self, n: &raw::NetworkDef, subnet: Option<Subnet>, at: &At) -> Option<IpAddr> {
        n.gateway.as_ref().and_then(|g| match g.parse::<IpAddr>() {
            Ok(ip) if subnet.is_none_or(|s| s.contains(ip)) => Some(ip),
            Ok(_) => {
                self.error(
                    Rule::SubnetInvalid,
                    at,
                    format!("gateway {g} is outside subnet {}", n.subnet),
                    "pick an address inside the subnet, usually its first",
                );
                None
            }
            Err(_) => {
                self.error(
                    Rule::SubnetInvalid,
                    at,
                    format!("gateway `{g}` is not an IP address"),
                    "write an address such as 172.20.0.1",
                );
                None
            }
        })
    }

    /// `subnet-overlap` against every network resolved before this one.
    fn subnet_overlap(
        &mut self,
        m: &Merged<'a>,
        out: &[Network],
        key: &str,
        subnet: Subnet,
        subnet_at: &At,
    ) {
        for (other, other_key) in out.iter().zip(m.networks.keys()) {
            if other.subnet.overlaps(subnet) {
                let loc = self.value_loc(&m.networks[other_key.as_str()].at(&p().key("subnet")));
                self.error(
                    Rule::SubnetOverlap,
                    subnet_at,
                    format!(
                        "subnet {subnet} of network `{key}` overlaps {} of network `{other_key}` ({loc})",
                        other.subnet
                    ),
                    "give each network a subnet of its own, e.g. the next free /16",
                );
            }
        }
    }

    pub(super) fn subnet(&mut self, text: &str, at: &At) -> Option<Subnet> {
        let help = "write it in CIDR notation, e.g. 172.20.0.0/16";
        let Some((addr, prefix)) = text.split_once('/') else {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("subnet `{text}` has no prefix length"),
                help,
            );
            return None;
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("`{addr}` in subnet `{text}` is not an IP address"),
                help,
            );
            return None;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                self.error(
                    Rule::SubnetInvalid,
                    at,
                    format!(
                        "prefix length `/{prefix}` of subnet `{text}` is out of range (0 to {max})"
                    ),
                    help,
                );
                return None;
            }
        };
        let subnet = Subnet { addr, prefix };
        // Host bits set usually means a typo in the address or the prefix.
        let host_bits_set = match addr {
            IpAddr::V4(a) => prefix < 32 && (u32::from(a) & (u32::MAX >> prefix)) != 0,
            IpAddr::V6(a) => prefix < 128 && (u128::from(a) & (u128::MAX >> prefix)) != 0,
        };
        if host_bits_set {
            self.error(
                Rule::SubnetInvalid,
                at,
                format!("subnet `{text}` has host bits set after the /{prefix} prefix"),
                "use the network address, e.g. 172.20.0.0/16 rather than 172.20.1.0/16",
            );
            return None;
        }
        Some(subnet)
    }
}
