//! Nexthop exceptions (the kernel's `fib_nh_exception`, route.c): per next hop, what is
//! known about single destinations reached through it that differs from the next hop's
//! own [`crate::route::Dst`]: a path MTU learned from ICMP fragmentation needed, or a
//! gateway learned from an ICMP redirect. The control core creates and expires them
//! ([`Exceptions::update_or_create`], `update_or_create_fnhe`); workers look them up for
//! every packet routed through a next hop that has any ([`Exceptions::find`],
//! `find_exception`), and build the packet's dst from the next hop's with the exception
//! filled in ([`crate::route::exception_dst`], `rt_bind_exception` ->
//! `fill_route_from_fnhe`).
//!
//! Bounded as the kernel's, so that no amount of ICMP grows them: a next hop's table has
//! [`FNHE_HASH_SIZE`] buckets (allocated with its first exception), each bucket a chain
//! of at most [`FNHE_RECLAIM_DEPTH`] to twice that (the kernel randomises the depth);
//! a new entry in a full chain replaces the oldest. Buckets are chosen by a keyed hash
//! (SipHash with a random key, as `fnhe_hashfun`), so a sender cannot aim at one.
//! Expired entries are ignored on lookup and reaped by the control core
//! ([`Exceptions::reap`]).
//!
//! The tables are immutable once published: the control core changes its own copy, in
//! which only the touched bucket and the next hop's bucket array are new (the other
//! buckets are shared), and publishes it with the snapshot.

use crate::nexthop::NhId;
use rustc_hash::FxHashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Buckets per next hop (`FNHE_HASH_SIZE`).
pub const FNHE_HASH_SIZE: usize = 2048;
/// Chain depth before the oldest entry is reused (`FNHE_RECLAIM_DEPTH`); the limit of a
/// chain is drawn between this and twice it, as the kernel does against side channels.
pub const FNHE_RECLAIM_DEPTH: usize = 5;

/// One exception (`struct fib_nh_exception`). Times are TSC cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnhe {
    pub daddr: Ipv4Addr,
    /// The gateway a redirect named (`fnhe_gw`).
    pub gw: Option<Ipv4Addr>,
    /// The path MTU (`fnhe_pmtu`), 0 if none.
    pub pmtu: u16,
    /// The PMTU was below `min_pmtu` and is locked at it (`fnhe_mtu_locked`): no later
    /// frag-needed changes it, and forwarded packets use it too.
    pub mtu_locked: bool,
    /// When it expires (`fnhe_expires`): one deadline for both, the last update's.
    pub expires: u64,
    /// When it was last updated (`fnhe_stamp`): the oldest of a full chain is reused.
    pub stamp: u64,
}

impl Fnhe {
    /// Whether it still applies at `now`.
    #[inline]
    pub fn valid(&self, now: u64) -> bool {
        now < self.expires
    }
}

/// What a new or updated exception sets: a gateway, a PMTU, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FnheUpdate {
    pub gw: Option<Ipv4Addr>,
    /// (PMTU, locked).
    pub pmtu: Option<(u16, bool)>,
}

/// The exception table of one next hop (`nhc_exceptions`).
#[derive(Debug, Clone)]
struct NhExceptions {
    buckets: Box<[Arc<Vec<Fnhe>>]>,
}

/// Every next hop's exceptions. Shared: control rw (its own copy), dataplane ro.
#[derive(Debug, Clone)]
pub struct Exceptions {
    by_nh: FxHashMap<NhId, Arc<NhExceptions>>,
    key: RandomState,
    /// Exceptions held, valid or not yet reaped.
    len: usize,
}

impl Default for Exceptions {
    fn default() -> Self {
        Exceptions {
            by_nh: FxHashMap::default(),
            key: RandomState::new(),
            len: 0,
        }
    }
}

impl Exceptions {
    /// The bucket of `daddr` (`fnhe_hashfun`).
    #[inline]
    fn bucket(&self, daddr: Ipv4Addr) -> usize {
        (self.key.hash_one(u32::from(daddr)) >> (64 - FNHE_HASH_SIZE.trailing_zeros())) as usize
    }

    /// The exception for `daddr` through next hop `nh`, if one applies at `now`
    /// (`find_exception`). Nothing to look at, and no hash computed, when `nh` has none.
    #[inline]
    pub fn find(&self, nh: NhId, daddr: Ipv4Addr, now: u64) -> Option<&Fnhe> {
        if self.by_nh.is_empty() {
            return None;
        }
        let t = self.by_nh.get(&nh)?;
        t.buckets[self.bucket(daddr)]
            .iter()
            .find(|e| e.daddr == daddr)
            .filter(|e| e.valid(now))
    }

    /// Creates or updates the exception for `daddr` through `nh` (`update_or_create_fnhe`):
    /// an existing one gets the new gateway and/or PMTU and the new deadline; a new one
    /// goes at the head of its chain, and when the chain is at its limit (drawn from
    /// `depth_draw`, 0..FNHE_RECLAIM_DEPTH) the oldest entries go first. An expired entry
    /// for `daddr` is updated like a live one, with what it held cleared first.
    pub fn update_or_create(
        &mut self,
        nh: NhId,
        daddr: Ipv4Addr,
        up: FnheUpdate,
        expires: u64,
        now: u64,
        depth_draw: usize,
    ) {
        let b = self.bucket(daddr);
        let t = self.by_nh.entry(nh).or_insert_with(|| {
            Arc::new(NhExceptions {
                buckets: (0..FNHE_HASH_SIZE).map(|_| Arc::new(Vec::new())).collect(),
            })
        });
        let chain = Arc::make_mut(&mut Arc::make_mut(t).buckets[b]);
        if let Some(e) = chain.iter_mut().find(|e| e.daddr == daddr) {
            if !e.valid(now) {
                (e.gw, e.pmtu, e.mtu_locked) = (None, 0, false);
            }
            if up.gw.is_some() {
                e.gw = up.gw;
            }
            if let Some((pmtu, locked)) = up.pmtu {
                e.pmtu = pmtu;
                e.mtu_locked = locked;
            }
            e.expires = expires;
            e.stamp = now;
            return;
        }
        let max_depth = FNHE_RECLAIM_DEPTH + depth_draw % FNHE_RECLAIM_DEPTH;
        while chain.len() > max_depth {
            let oldest = (0..chain.len())
                .min_by_key(|&i| chain[i].stamp)
                .expect("non-empty chain");
            chain.remove(oldest);
            self.len -= 1;
        }
        let (pmtu, mtu_locked) = up.pmtu.unwrap_or((0, false));
        chain.insert(
            0,
            Fnhe {
                daddr,
                gw: up.gw,
                pmtu,
                mtu_locked,
                expires,
                stamp: now,
            },
        );
        self.len += 1;
    }

    /// Removes what has expired at `now`; returns how many went. Next hops left without
    /// exceptions lose their table.
    pub fn reap(&mut self, now: u64) -> usize {
        let before = self.len;
        self.by_nh.retain(|_, t| {
            if t.buckets.iter().all(|c| c.iter().all(|e| e.valid(now))) {
                return true;
            }
            let t = Arc::make_mut(t);
            for c in t.buckets.iter_mut() {
                if c.iter().any(|e| !e.valid(now)) {
                    Arc::make_mut(c).retain(|e| e.valid(now));
                }
            }
            t.buckets.iter().any(|c| !c.is_empty())
        });
        self.len = self.by_nh.values().map(|t| t.count()).sum();
        before - self.len
    }

    /// Removes every exception (`route flush cache`, with the genid bump of the publish).
    pub fn clear(&mut self) -> usize {
        let n = self.len;
        self.by_nh.clear();
        self.len = 0;
        n
    }

    /// Removes the exceptions of next hops for which `keep` is false (a next hop gone).
    pub fn retain_nexthops(&mut self, mut keep: impl FnMut(NhId) -> bool) {
        self.by_nh.retain(|&nh, _| keep(nh));
        self.len = self.by_nh.values().map(|t| t.count()).sum();
    }

    /// Exceptions held (including expired ones not reaped yet).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Next hops with a table (each [`FNHE_HASH_SIZE`] buckets).
    pub fn tables(&self) -> usize {
        self.by_nh.len()
    }

    /// Every exception, by next hop, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (NhId, &Fnhe)> {
        self.by_nh.iter().flat_map(|(&nh, t)| {
            t.buckets
                .iter()
                .flat_map(move |c| c.iter().map(move |e| (nh, e)))
        })
    }

    /// Bytes held: bucket arrays and chains.
    pub fn memory(&self) -> usize {
        self.by_nh.len() * FNHE_HASH_SIZE * std::mem::size_of::<Arc<Vec<Fnhe>>>()
            + self.len * std::mem::size_of::<Fnhe>()
    }
}

impl NhExceptions {
    fn count(&self) -> usize {
        self.buckets.iter().map(|c| c.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000;

    fn pmtu(mtu: u16) -> FnheUpdate {
        FnheUpdate {
            gw: None,
            pmtu: Some((mtu, false)),
        }
    }

    #[test]
    fn find_only_through_its_nexthop_and_before_it_expires() {
        let mut x = Exceptions::default();
        let d = Ipv4Addr::new(198, 51, 100, 7);
        assert_eq!(x.find(0, d, 0), None);
        x.update_or_create(3, d, pmtu(1400), 600 * SEC, 0, 0);
        assert_eq!(x.find(3, d, 10).map(|e| e.pmtu), Some(1400));
        assert_eq!(x.find(2, d, 10), None);
        assert_eq!(x.find(3, Ipv4Addr::new(198, 51, 100, 8), 10), None);
        assert_eq!(x.find(3, d, 600 * SEC), None, "expired: ignored on lookup");
        assert_eq!(x.len(), 1);
        assert_eq!(x.reap(600 * SEC), 1);
        assert!(x.is_empty());
        assert_eq!(x.tables(), 0);
    }

    #[test]
    fn one_deadline_for_gateway_and_pmtu_the_last_update_sets_it() {
        let mut x = Exceptions::default();
        let d = Ipv4Addr::new(192, 0, 2, 9);
        let gw = Ipv4Addr::new(10, 0, 2, 3);
        x.update_or_create(
            1,
            d,
            FnheUpdate {
                gw: Some(gw),
                pmtu: None,
            },
            300 * SEC,
            0,
            0,
        );
        x.update_or_create(1, d, pmtu(1300), 700 * SEC, 100 * SEC, 0);
        let e = *x.find(1, d, 200 * SEC).unwrap();
        assert_eq!((e.gw, e.pmtu, e.expires), (Some(gw), 1300, 700 * SEC));
        // Expired, then updated: what it held is gone.
        x.update_or_create(1, d, pmtu(1200), 2000 * SEC, 1000 * SEC, 0);
        let e = *x.find(1, d, 1001 * SEC).unwrap();
        assert_eq!((e.gw, e.pmtu), (None, 1200));
        assert_eq!(x.len(), 1);
    }

    #[test]
    fn random_destinations_cannot_grow_a_nexthop_past_its_bound() {
        let mut x = Exceptions::default();
        let mut seed = 0x1234_5678_9abc_def0u64;
        for i in 0..200_000u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = Ipv4Addr::from(seed as u32);
            x.update_or_create(0, d, pmtu(1400), u64::MAX, i, seed as usize);
            // The newest is always there.
            assert!(x.find(0, d, i).is_some());
        }
        let bound = FNHE_HASH_SIZE * (2 * FNHE_RECLAIM_DEPTH);
        assert!(x.len() <= bound, "{} > {bound}", x.len());
        assert!(x.len() > FNHE_HASH_SIZE * FNHE_RECLAIM_DEPTH, "{}", x.len());
        assert_eq!(x.len(), x.iter().count());
        assert_eq!(x.tables(), 1);
    }

    #[test]
    fn a_full_chain_reuses_its_oldest_entry() {
        let mut x = Exceptions::default();
        // Destinations that share one bucket.
        let b0 = x.bucket(Ipv4Addr::new(10, 9, 0, 0));
        let same: Vec<Ipv4Addr> = (1..u32::MAX)
            .map(|i| Ipv4Addr::from(0x0a09_0000 + i))
            .filter(|&d| x.bucket(d) == b0)
            .take(FNHE_RECLAIM_DEPTH + 2)
            .collect();
        for (t, &d) in same.iter().enumerate() {
            x.update_or_create(0, d, pmtu(1400), u64::MAX, t as u64, 0);
        }
        // Depth limit 5 with draw 0: the chain holds 6 (the kernel removes while depth > max).
        assert_eq!(x.len(), FNHE_RECLAIM_DEPTH + 1);
        assert!(x.find(0, same[0], 0).is_none(), "the oldest went");
        assert!(same[1..].iter().all(|&d| x.find(0, d, 0).is_some()));
    }
}
