//! The FIB: longest-prefix match from destination address to a route type.
//!
//! This first version is a simple, obviously correct structure (one hash map per prefix
//! length, probed from the longest length present down); the LC-trie replaces it behind
//! the same interface.

use crate::nexthop::NhId;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;

/// What a route does with a matching packet (the kernel's `RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteType {
    /// Forward through a next hop.
    Unicast(NhId),
    /// One of our addresses: deliver locally.
    Local,
    /// A directed broadcast address of one of our subnets: deliver locally.
    Broadcast,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP host unreachable.
    Unreachable,
    /// Drop with ICMP administratively prohibited.
    Prohibit,
}

/// A prefix: network address (host bits zero) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: u32,
    pub len: u8,
}

impl Prefix {
    /// Builds a prefix, clearing host bits.
    pub fn new(addr: Ipv4Addr, len: u8) -> Prefix {
        let len = len.min(32);
        Prefix { addr: u32::from(addr) & mask(len), len }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.len)
    }
}

#[inline(always)]
fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// Longest-prefix-match table.
#[derive(Debug, Clone, Default)]
pub struct Fib {
    by_len: Vec<FxHashMap<u32, RouteType>>,
    /// Prefix lengths that have at least one route, longest first.
    lens: Vec<u8>,
    count: usize,
}

impl Fib {
    pub fn new() -> Fib {
        Fib { by_len: vec![FxHashMap::default(); 33], lens: Vec::new(), count: 0 }
    }

    /// Adds or replaces the route for `prefix`; returns the previous one.
    pub fn insert(&mut self, prefix: Prefix, rt: RouteType) -> Option<RouteType> {
        let old = self.by_len[prefix.len as usize].insert(prefix.addr, rt);
        if old.is_none() {
            self.count += 1;
            if !self.lens.contains(&prefix.len) {
                self.lens.push(prefix.len);
                self.lens.sort_unstable_by(|a, b| b.cmp(a));
            }
        }
        old
    }

    pub fn remove(&mut self, prefix: Prefix) -> Option<RouteType> {
        let old = self.by_len[prefix.len as usize].remove(&prefix.addr);
        if old.is_some() {
            self.count -= 1;
            if self.by_len[prefix.len as usize].is_empty() {
                self.lens.retain(|&l| l != prefix.len);
            }
        }
        old
    }

    /// Exact match.
    pub fn get(&self, prefix: Prefix) -> Option<RouteType> {
        self.by_len[prefix.len as usize].get(&prefix.addr).copied()
    }

    /// Longest-prefix match: the route and the prefix that matched.
    #[inline]
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<(Prefix, RouteType)> {
        let a = u32::from(addr);
        self.lens.iter().find_map(|&len| {
            let key = a & mask(len);
            self.by_len[len as usize].get(&key).map(|&rt| (Prefix { addr: key, len }, rt))
        })
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Approximate heap bytes held (hash tables at their capacity).
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(u32, RouteType)>() + 1;
        self.by_len.iter().map(|m| m.capacity() * slot).sum()
    }

    /// Every route, sorted by prefix.
    pub fn routes(&self) -> Vec<(Prefix, RouteType)> {
        let mut v: Vec<_> = self
            .by_len
            .iter()
            .enumerate()
            .flat_map(|(len, m)| m.iter().map(move |(&addr, &rt)| (Prefix { addr, len: len as u8 }, rt)))
            .collect();
        v.sort_by_key(|(p, _)| *p);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap())
    }

    #[test]
    fn longest_prefix_wins() {
        let mut f = Fib::new();
        f.insert(p("0.0.0.0/0"), RouteType::Unicast(0));
        f.insert(p("10.0.0.0/8"), RouteType::Unicast(1));
        f.insert(p("10.1.0.0/16"), RouteType::Blackhole);
        f.insert(p("10.1.2.3/32"), RouteType::Local);
        let l = |f: &Fib, s: &str| f.lookup(s.parse().unwrap()).map(|(_, r)| r);
        assert_eq!(l(&f, "10.1.2.3"), Some(RouteType::Local));
        assert_eq!(l(&f, "10.1.2.4"), Some(RouteType::Blackhole));
        assert_eq!(l(&f, "10.2.0.0"), Some(RouteType::Unicast(1)));
        assert_eq!(l(&f, "11.0.0.0"), Some(RouteType::Unicast(0)));
        assert_eq!(f.remove(p("0.0.0.0/0")), Some(RouteType::Unicast(0)));
        assert_eq!(l(&f, "11.0.0.0"), None);
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn prefix_new_clears_host_bits() {
        assert_eq!(p("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(p("1.2.3.4/0").to_string(), "0.0.0.0/0");
    }

    proptest! {
        #[test]
        fn matches_naive_oracle(routes in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u32..8), 0..200),
                                probes in proptest::collection::vec(any::<u32>(), 1..200)) {
            let mut f = Fib::new();
            let mut oracle: Vec<(Prefix, RouteType)> = Vec::new();
            for (a, l, nh) in routes {
                let pf = Prefix::new(Ipv4Addr::from(a), l);
                f.insert(pf, RouteType::Unicast(nh));
                oracle.retain(|(q, _)| *q != pf);
                oracle.push((pf, RouteType::Unicast(nh)));
            }
            for a in probes {
                let want = oracle.iter().filter(|(q, _)| a & mask(q.len) == q.addr).max_by_key(|(q, _)| q.len).copied();
                prop_assert_eq!(f.lookup(Ipv4Addr::from(a)), want);
            }
        }
    }
}
