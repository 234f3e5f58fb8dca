//! The neighbour table (the kernel's `neighbour`/ARP cache): next-hop IPv4 address on an
//! interface -> MAC. Static entries from configuration for now; resolution comes later.

use crate::iface::IfIndex;
use crate::wire::EthernetAddress;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default)]
pub struct NeighTable {
    map: FxHashMap<(IfIndex, u32), EthernetAddress>,
}

impl NeighTable {
    pub fn insert(&mut self, iface: IfIndex, addr: Ipv4Addr, mac: EthernetAddress) {
        self.map.insert((iface, u32::from(addr)), mac);
    }

    #[inline]
    pub fn lookup(&self, iface: IfIndex, addr: Ipv4Addr) -> Option<EthernetAddress> {
        self.map.get(&(iface, u32::from(addr))).copied()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries sorted by interface then address, for display.
    pub fn entries(&self) -> Vec<(IfIndex, Ipv4Addr, EthernetAddress)> {
        let mut v: Vec<_> = self
            .map
            .iter()
            .map(|(&(i, a), &m)| (i, Ipv4Addr::from(a), m))
            .collect();
        v.sort();
        v
    }
}
