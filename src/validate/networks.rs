//! The `networks` section: Docker names, planes, subnets, gateways and
//! drivers; two subnets that overlap are `subnet-overlap`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diagnostic::Kind;
use crate::model::raw;
use crate::system::*;

use super::common::Ref;
use super::location::{p, At};
use super::merge::Merged;
use super::Validator;

impl<'a> Validator<'a> {
    pub(super) fn networks(&mut self, m: &Merged<'a>) -> Vec<Network> {
        let mut out: Vec<Network> = Vec::new();
        let mut docker_names: HashMap<String, (At, bool)> = HashMap::new();
        for (key, d) in &m.networks {
            let n = d.def;
            self.check_name("network", key, &d.here());
            let name = n.name.clone().unwrap_or_else(|| key.clone());
            if n.name.is_some() {
                self.check_name("network", &name, &d.at(&p().key("name")));
            }
            // Where the Docker name is written: its `name`, else the key.
            let named_at = match n.name {
                Some(_) => (d.at(&p().key("name")), false),
                None => (d.here(), true),
            };
            if let Some((first, at_key)) = docker_names.insert(name.clone(), named_at.clone()) {
                let first_at = match at_key {
                    true => self.key_loc(&first),
                    false => self.value_loc(&first),
                };
                let name = name.clone();
                match named_at {
                    (at, true) => {
                        self.report_at_key(&at, Kind::NetworkNameTwice { name, first_at })
                    }
                    (at, false) => self.report(&at, Kind::NetworkNameTwice { name, first_at }),
                }
            }
            let plane = self.resolve(Ref::Plane, &n.plane, &m.planes, &d.at(&p().key("plane")));
            let subnet_at = d.at(&p().key("subnet"));
            let subnet = self.subnet(&n.subnet, &subnet_at);
            let gateway = self.gateway(n, subnet, &d.at(&p().key("gateway")));
            if !matches!(
                n.driver.as_str(),
                "bridge" | "overlay" | "macvlan" | "ipvlan"
            ) {
                self.report(
                    &d.at(&p().key("driver")),
                    Kind::UnknownDriver {
                        driver: n.driver.clone(),
                    },
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
                encrypted: n.encrypted,
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
                self.report(
                    at,
                    Kind::GatewayOutside {
                        gateway: g.clone(),
                        subnet: n.subnet.clone(),
                    },
                );
                None
            }
            Err(_) => {
                self.report(at, Kind::GatewayNotIp { gateway: g.clone() });
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
                self.report(
                    subnet_at,
                    Kind::SubnetOverlap {
                        subnet: subnet.to_string(),
                        network: key.to_string(),
                        other_subnet: other.subnet.to_string(),
                        other: other_key.clone(),
                        other_at: loc,
                    },
                );
            }
        }
    }

    pub(super) fn subnet(&mut self, text: &str, at: &At) -> Option<Subnet> {
        let Some((addr, prefix)) = text.split_once('/') else {
            self.report(
                at,
                Kind::SubnetNoPrefix {
                    subnet: text.to_string(),
                },
            );
            return None;
        };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            self.report(
                at,
                Kind::SubnetAddress {
                    addr: addr.to_string(),
                    subnet: text.to_string(),
                },
            );
            return None;
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                self.report(
                    at,
                    Kind::SubnetPrefix {
                        prefix: prefix.to_string(),
                        subnet: text.to_string(),
                        max,
                    },
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
            self.report(
                at,
                Kind::SubnetHostBits {
                    subnet: text.to_string(),
                    prefix,
                },
            );
            return None;
        }
        Some(subnet)
    }
}
