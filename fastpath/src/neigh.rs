//! The neighbour table (the kernel's `neighbour`/ARP cache): next-hop IPv4 address on an
//! interface -> MAC. Static entries from configuration for now; resolution comes later.
//!
//! The output step asks it what to do with a packet for a neighbour
//! ([`NeighTable::neigh_output`], the kernel's `neigh_output`), and the answer is one of
//! [`NeighOutput`]'s states, so ARP resolution can plug in without changing its callers.

use crate::iface::IfIndex;
use crate::wire::EthernetAddress;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

/// What `neigh_output` does with a packet for a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighOutput {
    /// The entry is usable (`NUD_CONNECTED`, and a STALE entry still forwards): the frame
    /// goes to this MAC (`neigh_hh_output`).
    Reachable(EthernetAddress),
    /// No usable entry: the packet must wait for resolution (`neigh_resolve_output` ->
    /// `__neigh_event_send` queues it and sends an ARP request). With static neighbours
    /// only, nothing resolves yet: callers drop the packet and count `no_neighbor`.
    MustResolve,
    /// Resolution failed (`NUD_FAILED`): the packet is dropped. Not produced while
    /// neighbours are static.
    Failed,
}

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

    /// What to do with a packet for neighbour `nexthop` on `iface` (the lookup of
    /// `ip_neigh_for_gw`, then `neigh_output`). A missing entry must be resolved.
    /// Caller holds a snapshot reference.
    #[inline]
    pub fn neigh_output(&self, iface: IfIndex, nexthop: Ipv4Addr) -> NeighOutput {
        match self.lookup(iface, nexthop) {
            Some(mac) => NeighOutput::Reachable(mac),
            None => NeighOutput::MustResolve,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neigh_output_reachable_or_must_resolve() {
        let mut t = NeighTable::default();
        let mac = EthernetAddress([2, 0, 0, 0, 2, 2]);
        let gw = Ipv4Addr::new(10, 0, 2, 2);
        t.insert(1, gw, mac);
        assert_eq!(t.neigh_output(1, gw), NeighOutput::Reachable(mac));
        // Entries are per interface: the same address elsewhere is unknown.
        assert_eq!(t.neigh_output(0, gw), NeighOutput::MustResolve);
        assert_eq!(
            t.neigh_output(1, Ipv4Addr::new(10, 0, 2, 3)),
            NeighOutput::MustResolve
        );
    }
}
