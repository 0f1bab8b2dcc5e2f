//! `Subnet`: an IP network of the strict model, and the address arithmetic
//! the network rules and the checks need (overlap, containment, gateway).

use std::net::IpAddr;

/// An IP network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Subnet {
    fn bits(self) -> (u128, u8) {
        match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    /// Whether the two networks share any address.
    pub fn overlaps(self, other: Subnet) -> bool {
        let ((a, width), (b, other_width)) = (self.bits(), other.bits());
        if width != other_width {
            return false;
        }
        let prefix = self.prefix.min(other.prefix);
        let shift = u32::from(width - prefix);
        let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
        (a & mask) == (b & mask)
    }

    /// The network's first host address (the gateway Docker's IPAM
    /// picks when none is given); `None` for IPv6.
    pub fn first_host(self) -> Option<IpAddr> {
        let IpAddr::V4(a) = self.addr else {
            return None;
        };
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0);
        Some(IpAddr::V4(((u32::from(a) & mask) + 1).into()))
    }

    pub fn contains(self, ip: IpAddr) -> bool {
        self.overlaps(Subnet {
            addr: ip,
            prefix: match ip {
                IpAddr::V4(_) => 32,
                IpAddr::V6(_) => 128,
            },
        })
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}
