//! Next hops (the kernel's `fib_nh` and `ip nexthop` objects): an output interface and,
//! unless the destination is on-link, a gateway. Routes refer to them by [`NhId`];
//! identical next hops are shared. ECMP routes refer to a [`NexthopGroup`], whose member
//! is chosen by a flow hash (`fib_select_multipath`), so a flow stays on one member.

use crate::iface::IfIndex;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

pub type NhId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nexthop {
    pub iface: IfIndex,
    /// None: on-link (connected route), the destination itself is the neighbour.
    pub gateway: Option<Ipv4Addr>,
}

/// Weighted members; `buckets` spreads the hash space over them in proportion to weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexthopGroup {
    pub members: Vec<(NhId, u16)>,
    buckets: Box<[NhId]>,
}

impl NexthopGroup {
    /// A group of `(member, weight)`; weights 1..=256. Panics on an empty group.
    pub fn new(members: Vec<(NhId, u16)>) -> NexthopGroup {
        assert!(!members.is_empty(), "empty next-hop group");
        let buckets = members
            .iter()
            .flat_map(|&(nh, w)| std::iter::repeat_n(nh, w.max(1) as usize))
            .collect();
        NexthopGroup { members, buckets }
    }

    /// The member for a flow hash (hash-threshold over the weight buckets).
    #[inline]
    pub fn select(&self, hash: u32) -> NhId {
        self.buckets[((hash as u64 * self.buckets.len() as u64) >> 32) as usize]
    }
}

/// Interned next hops and groups.
#[derive(Debug, Clone, Default)]
pub struct NexthopTable {
    list: Vec<Nexthop>,
    index: FxHashMap<Nexthop, NhId>,
    groups: Vec<NexthopGroup>,
    group_index: FxHashMap<Vec<(NhId, u16)>, u32>,
}

impl NexthopTable {
    /// The id of `nh`, adding it if new.
    pub fn intern(&mut self, nh: Nexthop) -> NhId {
        *self.index.entry(nh).or_insert_with(|| {
            self.list.push(nh);
            (self.list.len() - 1) as NhId
        })
    }

    /// The id of a group with these members, adding it if new.
    pub fn intern_group(&mut self, members: Vec<(NhId, u16)>) -> u32 {
        if let Some(&g) = self.group_index.get(&members) {
            return g;
        }
        self.groups.push(NexthopGroup::new(members.clone()));
        let g = (self.groups.len() - 1) as u32;
        self.group_index.insert(members, g);
        g
    }

    #[inline]
    pub fn get(&self, id: NhId) -> &Nexthop {
        &self.list[id as usize]
    }

    #[inline]
    pub fn group(&self, id: u32) -> &NexthopGroup {
        &self.groups[id as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn groups_len(&self) -> usize {
        self.groups.len()
    }
}

/// The flow hash for ECMP (`fib_multipath_hash`): policy 0 hashes (saddr, daddr), policy 1
/// also (protocol, source port, destination port) when `ports` is given (not for fragments).
#[inline]
pub fn multipath_hash(saddr: Ipv4Addr, daddr: Ipv4Addr, l4: Option<(u8, u16, u16)>) -> u32 {
    let mut h = (u64::from(u32::from(saddr)) << 32) | u64::from(u32::from(daddr));
    if let Some((proto, sport, dport)) = l4 {
        h ^= (u64::from(proto) << 32 | u64::from(sport) << 16 | u64::from(dport))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    // murmur3's 64-bit finaliser: every input bit affects every output bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_shares_identical_nexthops() {
        let mut t = NexthopTable::default();
        let a = t.intern(Nexthop {
            iface: 0,
            gateway: Some(Ipv4Addr::new(10, 0, 1, 2)),
        });
        let b = t.intern(Nexthop {
            iface: 1,
            gateway: None,
        });
        let c = t.intern(Nexthop {
            iface: 0,
            gateway: Some(Ipv4Addr::new(10, 0, 1, 2)),
        });
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(b).iface, 1);
        assert_eq!(
            t.intern_group(vec![(a, 1), (b, 2)]),
            t.intern_group(vec![(a, 1), (b, 2)])
        );
    }

    #[test]
    fn weights_spread_flows_and_a_flow_stays_put() {
        let g = NexthopGroup::new(vec![(7, 1), (9, 3)]);
        let mut counts = [0u32; 2];
        for i in 0..40_000u32 {
            let s = Ipv4Addr::from(0x0a00_0000 + i);
            let h = multipath_hash(s, Ipv4Addr::new(198, 51, 100, 1), Some((17, 1000, 53)));
            let m = g.select(h);
            assert_eq!(
                m,
                g.select(multipath_hash(
                    s,
                    Ipv4Addr::new(198, 51, 100, 1),
                    Some((17, 1000, 53))
                ))
            );
            counts[(m == 9) as usize] += 1;
        }
        let share = counts[1] as f64 / 40_000.0;
        assert!(
            (0.72..0.78).contains(&share),
            "weight 3 of 4 should get ~75%, got {share}"
        );
    }

    #[test]
    fn l4_policy_separates_flows_between_the_same_hosts() {
        let (s, d) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let g = NexthopGroup::new(vec![(0, 1), (1, 1)]);
        let l3: std::collections::HashSet<_> = (0..64u16)
            .map(|_| g.select(multipath_hash(s, d, None)))
            .collect();
        let l4: std::collections::HashSet<_> = (0..64u16)
            .map(|p| g.select(multipath_hash(s, d, Some((6, 40000 + p, 80)))))
            .collect();
        assert_eq!(l3.len(), 1);
        assert_eq!(l4.len(), 2);
    }
}
