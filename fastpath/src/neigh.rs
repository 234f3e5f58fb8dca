//! The neighbour table as workers see it (the usable part of the kernel's `arp_tbl`):
//! next-hop IPv4 address on an interface -> MAC, for every entry whose state lets packets
//! out (PERMANENT, NOARP, REACHABLE, STALE, DELAY, PROBE). The control core owns the
//! state machine (resolution, aging, probes) and publishes this view with the snapshot;
//! anything not in it must be resolved, which the worker leaves to the control core
//! (a [`crate::punt::Punt::Resolve`]).
//!
//! Use is reported back without a message: each entry has a flag in a shared array that
//! a worker sets when it sends to the entry (the kernel's `neigh->used`), and the control
//! core clears on its next tick. That is how a STALE entry in use moves to DELAY and then
//! PROBE, as `__neigh_event_send` does, and how idle entries are found for GC.

use crate::iface::IfIndex;
use crate::wire::EthernetAddress;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

/// What `neigh_output` does with a packet for a neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighOutput {
    /// The entry is usable (`NUD_VALID`: a STALE entry still forwards): the frame goes to
    /// this MAC (`neigh_hh_output`).
    Reachable(EthernetAddress),
    /// No usable entry: the packet must wait for resolution (`neigh_resolve_output` ->
    /// `__neigh_event_send` queues it and sends an ARP request), on the control core.
    MustResolve,
}

/// One usable entry: its MAC and its slot in the use flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighEntry {
    pub mac: EthernetAddress,
    pub slot: u32,
}

/// Shared between the control core and workers (dataplane writes `true`, control clears).
pub type UseFlags = Arc<[AtomicBool]>;

#[derive(Debug, Clone, Default)]
pub struct NeighTable {
    map: Arc<FxHashMap<(IfIndex, u32), NeighEntry>>,
    used: Option<UseFlags>,
}

impl NeighTable {
    /// A table of these entries, whose use is reported in `used` (slots index it).
    pub fn new(map: FxHashMap<(IfIndex, u32), NeighEntry>, used: UseFlags) -> NeighTable {
        debug_assert!(map.values().all(|e| (e.slot as usize) < used.len()));
        NeighTable {
            map: Arc::new(map),
            used: Some(used),
        }
    }

    /// Adds an entry whose use is not tracked (tests and tools; the control core builds
    /// the table with [`NeighTable::new`]).
    pub fn insert(&mut self, iface: IfIndex, addr: Ipv4Addr, mac: EthernetAddress) {
        let e = NeighEntry {
            mac,
            slot: u32::MAX,
        };
        Arc::make_mut(&mut self.map).insert((iface, u32::from(addr)), e);
    }

    #[inline]
    pub fn lookup(&self, iface: IfIndex, addr: Ipv4Addr) -> Option<EthernetAddress> {
        self.entry(iface, addr).map(|e| e.mac)
    }

    /// The usable entry of `addr` on `iface`, without marking it used (a dst keeps it).
    #[inline]
    pub fn entry(&self, iface: IfIndex, addr: Ipv4Addr) -> Option<NeighEntry> {
        self.map.get(&(iface, u32::from(addr))).copied()
    }

    /// Number of usable entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// What to do with a packet for neighbour `nexthop` on `iface` (the lookup of
    /// `ip_neigh_for_gw`, then `neigh_output`); a usable entry is marked used. Caller
    /// holds a snapshot reference.
    #[inline]
    pub fn neigh_output(&self, iface: IfIndex, nexthop: Ipv4Addr) -> NeighOutput {
        match self.map.get(&(iface, u32::from(nexthop))) {
            Some(e) => {
                self.touch(e);
                NeighOutput::Reachable(e.mac)
            }
            None => NeighOutput::MustResolve,
        }
    }

    /// Sets the entry's use flag unless it is set already (a read, and a write at most
    /// once per control tick): `neigh_output` through a dst that holds the entry.
    #[inline(always)]
    pub fn touch(&self, e: &NeighEntry) {
        if let Some(flag) = self.used.as_ref().and_then(|u| u.get(e.slot as usize)) {
            if !flag.load(Relaxed) {
                flag.store(true, Relaxed);
            }
        }
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

    #[test]
    fn output_marks_the_entry_used() {
        let used: UseFlags = (0..4).map(|_| AtomicBool::new(false)).collect();
        let mac = EthernetAddress([2, 0, 0, 0, 2, 2]);
        let mut map = FxHashMap::default();
        map.insert(
            (1, u32::from(Ipv4Addr::new(10, 0, 2, 2))),
            NeighEntry { mac, slot: 2 },
        );
        let t = NeighTable::new(map, used.clone());
        t.neigh_output(1, Ipv4Addr::new(10, 0, 2, 3));
        assert!(used.iter().all(|f| !f.load(Relaxed)));
        t.neigh_output(1, Ipv4Addr::new(10, 0, 2, 2));
        let set: Vec<bool> = used.iter().map(|f| f.load(Relaxed)).collect();
        assert_eq!(set, [false, false, true, false]);
    }
}
