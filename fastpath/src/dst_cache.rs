//! The per-lcore dst cache (the kernel's `nhc_pcpu_rth_output` and `nhc_rth_input`, filled
//! by `rt_cache_route`, checked by `rt_cache_valid`): each worker keeps, for every next
//! hop it has used, the [`Dst`] built for it (output interface, source MAC, MTU, gateway
//! and the gateway's neighbour entry) with the genid it was built under. A packet through
//! that next hop reuses it while the snapshot's genid is the same: one index into a dense
//! array, no hash lookup, no allocation. Any published change bumps the genid, and the
//! entry is rebuilt on its next use.
//!
//! Keyed by [`NhId`] only, so it holds at most one entry per next hop of the
//! configuration: nothing a sender puts in a packet can grow it (DESIGN.md section 5).
//! Owned by one lcore (dataplane rw), never shared.

use crate::nexthop::NhId;
use crate::route::{nexthop_dst, Dst};
use crate::snapshot::Snapshot;
use crate::stats::{LcoreStats, Stat};

/// Where a packet's dst came from (`route get` names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DstUse {
    /// Built under the current genid: reused.
    Hit,
    /// Never built on this lcore: built now.
    Miss,
    /// Built under an older genid: rebuilt now.
    Rebuilt,
}

impl DstUse {
    pub const fn name(self) -> &'static str {
        match self {
            DstUse::Hit => "hit",
            DstUse::Miss => "miss",
            DstUse::Rebuilt => "rebuilt",
        }
    }
}

/// One lcore's dsts, by next hop: each with the genid it was built under, None if never
/// built.
#[derive(Debug, Default)]
pub struct DstCache {
    slots: Vec<Option<(u64, Dst)>>,
}

impl DstCache {
    /// The dst of next hop `nh` under `snap` (`rt_cache_valid` on the cached one, else
    /// `rt_set_nexthop` + `rt_cache_route`), counted as a hit, a miss or a rebuild. The
    /// array grows to the number of next hops of the snapshot the first time one past
    /// its end is used (after a configuration change, never per packet).
    ///
    /// With the cache off (`settings.dst_cache`, for measuring it) every call builds the
    /// dst and counts a miss.
    #[inline]
    pub fn get(&mut self, snap: &Snapshot, nh: NhId, stats: &LcoreStats) -> (Dst, DstUse) {
        let i = nh as usize;
        if let Some(Some((genid, dst))) = self.slots.get(i) {
            if *genid == snap.genid {
                stats.inc(Stat::DstHits);
                return (*dst, DstUse::Hit);
            }
        }
        if !snap.settings.dst_cache {
            stats.inc(Stat::DstMisses);
            return (nexthop_dst(snap, nh), DstUse::Miss);
        }
        self.fill(snap, nh, stats)
    }

    #[cold]
    fn fill(&mut self, snap: &Snapshot, nh: NhId, stats: &LcoreStats) -> (Dst, DstUse) {
        let i = nh as usize;
        if i >= self.slots.len() {
            self.slots.resize(snap.nexthops.len().max(i + 1), None);
        }
        let how = if self.slots[i].is_some() {
            stats.inc(Stat::DstRebuilds);
            DstUse::Rebuilt
        } else {
            stats.inc(Stat::DstMisses);
            DstUse::Miss
        };
        let dst = nexthop_dst(snap, nh);
        self.slots[i] = Some((snap.genid, dst));
        (dst, how)
    }

    /// Next hops with a dst built (under any genid).
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::{IfAddr, Iface};
    use crate::nexthop::Nexthop;
    use crate::snapshot::Settings;
    use crate::wire::EthernetAddress;
    use std::net::Ipv4Addr;

    const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
    const GW_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 2, 2]);

    fn snap() -> (Snapshot, NhId) {
        let iface = |name: &str, mac, addr| Iface {
            name: name.into(),
            port_id: 0,
            mac: EthernetAddress(mac),
            mtu: 1500,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        let mut s = Snapshot::with_ifaces(
            vec![
                iface("p0", [2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 1, 1)),
                iface("p1", [2, 0, 0, 0, 0, 2], Ipv4Addr::new(10, 0, 2, 1)),
            ],
            Settings::default(),
        );
        let nh = s.nexthops.intern(Nexthop {
            iface: 1,
            gateway: Some(GW),
        });
        s.neigh.insert(1, GW, GW_MAC);
        (s, nh)
    }

    fn counts(st: &LcoreStats) -> [u64; 3] {
        let s = st.snapshot();
        [
            s.get(Stat::DstHits),
            s.get(Stat::DstMisses),
            s.get(Stat::DstRebuilds),
        ]
    }

    #[test]
    fn built_once_then_reused_until_the_genid_moves() {
        let (mut s, nh) = snap();
        let st = LcoreStats::new(1);
        let mut c = DstCache::default();
        let (d, how) = c.get(&s, nh, &st);
        assert_eq!(how, DstUse::Miss);
        assert_eq!(d.neigh.map(|e| e.mac), Some(GW_MAC));
        assert_eq!(c.get(&s, nh, &st).1, DstUse::Hit);
        assert_eq!(c.get(&s, nh, &st).1, DstUse::Hit);
        assert_eq!(counts(&st), [2, 1, 0]);
        s.genid += 1;
        assert_eq!(c.get(&s, nh, &st).1, DstUse::Rebuilt);
        assert_eq!(c.get(&s, nh, &st).1, DstUse::Hit);
        assert_eq!(counts(&st), [3, 1, 1]);
        assert_eq!(c.len(), 1);
    }

    /// Every kind of change the control core publishes reaches a cached dst through the
    /// genid: what the rebuilt dst holds is the new state, never the cached one. (The
    /// control core bumps the genid on every publish: route, rule and next-hop changes,
    /// neighbour changes, interface changes, exceptions, settings; see
    /// `control/src/router.rs`.)
    #[test]
    fn every_change_under_a_new_genid_is_seen_and_none_without_one() {
        type Change = fn(&mut Snapshot);
        type Seen = fn(&Dst) -> bool;
        let changes: [(&str, Change, Seen); 5] = [
            (
                "neighbour MAC",
                |s| s.neigh.insert(1, GW, EthernetAddress([2, 0, 0, 0, 9, 9])),
                |d| d.neigh.map(|e| e.mac) == Some(EthernetAddress([2, 0, 0, 0, 9, 9])),
            ),
            (
                "neighbour gone",
                |s| s.neigh = Default::default(),
                |d| d.neigh.is_none(),
            ),
            ("MTU", |s| s.ifaces[1].mtu = 1400, |d| d.dev_mtu() == 1400),
            (
                "MAC",
                |s| s.ifaces[1].mac = EthernetAddress([2, 0, 0, 0, 0, 7]),
                |d| d.src_mac == EthernetAddress([2, 0, 0, 0, 0, 7]),
            ),
            (
                "address",
                |s| s.ifaces[1].addrs = vec![IfAddr::new(Ipv4Addr::new(10, 0, 2, 9), 24)],
                // The dst holds no address; what it holds is unchanged and rebuilt.
                |d| d.iface == 1,
            ),
        ];
        for (what, change, seen) in changes {
            let (mut s, nh) = snap();
            let st = LcoreStats::new(1);
            let mut c = DstCache::default();
            c.get(&s, nh, &st);
            change(&mut s);
            // Same genid: the cache may not notice (the control core never publishes a
            // change without a bump).
            assert_eq!(c.get(&s, nh, &st).1, DstUse::Hit, "{what}");
            s.genid += 1;
            let (d, how) = c.get(&s, nh, &st);
            assert_eq!(how, DstUse::Rebuilt, "{what}");
            assert!(seen(&d), "{what}: {d:?}");
        }
    }

    #[test]
    fn bounded_by_the_number_of_nexthops() {
        let (s, nh) = snap();
        let st = LcoreStats::new(1);
        let mut c = DstCache::default();
        for _ in 0..10_000 {
            c.get(&s, nh, &st);
        }
        assert!(c.slots.len() <= s.nexthops.len());
    }
}
