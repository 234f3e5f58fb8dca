//! Interfaces as the data plane sees them (the kernel's `net_device` + `in_device`): port,
//! station MAC, MTU and IPv4 addresses. Built by control, read-only in a snapshot.

use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Index of an interface in the snapshot (not the DPDK port id).
pub type IfIndex = u16;

/// An address configured on an interface (`in_ifaddr`): 10.0.1.1/24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfAddr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl IfAddr {
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> IfAddr {
        IfAddr {
            addr,
            prefix_len: prefix_len.min(32),
        }
    }

    pub fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Directed broadcast of the subnet, if it has one (not for /31 and /32, RFC 3021).
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        (self.prefix_len < 31).then(|| Ipv4Addr::from(u32::from(self.addr) | !self.mask()))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & self.mask() == 0
    }
}

/// One interface. Shared: control rw (builds a new snapshot), dataplane ro.
#[derive(Debug, Clone)]
pub struct Iface {
    pub name: String,
    /// DPDK ethdev port id.
    pub port_id: u16,
    pub mac: EthernetAddress,
    pub mtu: u16,
    pub addrs: Vec<IfAddr>,
}

impl Iface {
    /// Source address for a packet leaving this interface towards `peer` (the next hop
    /// or the destination when on-link), as `inet_select_addr`: the address whose subnet
    /// contains the peer, else the primary (first) address.
    pub fn source_for(&self, peer: Ipv4Addr) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .find(|a| a.contains(peer))
            .or(self.addrs.first())
            .map(|a| a.addr)
    }
}
