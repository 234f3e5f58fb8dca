//! Storage of one worker's connections: a fixed array of [`Flow`]s allocated once, a
//! hash of both tuples of each (chained through the entries, `nf_conntrack_hash`'s
//! shape), and the list of the connections not established yet, oldest first, which is
//! where a new connection takes its slot when the array is full (`early_drop`, which
//! only ever takes unassured entries). Nothing here allocates after [`FlowTable::new`].
//!
//! The hash is keyed at random per table (aHash), so a sender cannot choose tuples that
//! share a chain.

use super::Tuple;
use crate::conntrack::{CtState, Dir};
use crate::iface::IfIndex;
use crate::neigh::NeighEntry;

const NIL: u32 = u32::MAX;

/// What forwarding decided for one direction of a flow, as its last packet through the
/// normal path left: enough to forward the next one at once (`flow_offload_tuple`'s
/// output part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRoute {
    /// The genid the decision was made under.
    pub genid: u64,
    pub out: IfIndex,
    /// The MTU forwarding checked against (`dst_mtu_forward`).
    pub mtu: u16,
    /// The neighbour the frame goes to, marked used as `neigh_output` would.
    pub neigh: Option<NeighEntry>,
    /// Destination then source MAC.
    pub eth: [u8; 12],
}

/// One tracked connection and, once offloaded, its flowtable entry.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Original and reply tuple, each with the interface it arrives on.
    pub tuple: [Tuple; 2],
    /// Per direction, the route its last normal-path packet took.
    pub route: [Option<FlowRoute>; 2],
    pub state: CtState,
    /// A packet of the reply direction was seen (`IPS_SEEN_REPLY`).
    pub replied: bool,
    /// In the flowtable: packets skip the route lookup (`IPS_OFFLOAD`).
    pub offloaded: bool,
    /// TSC of the first packet and of the last one.
    pub created: u64,
    pub last: u64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Next node in the hash chain of each tuple.
    chain: [u32; 2],
    /// Neighbours in the list of unestablished connections (NIL at the ends); `listed`
    /// says whether it is in it.
    prev: u32,
    next: u32,
    listed: bool,
    live: bool,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            tuple: [Tuple::default(); 2],
            route: [None; 2],
            state: CtState::Udp,
            replied: false,
            offloaded: false,
            created: 0,
            last: 0,
            packets: [0; 2],
            bytes: [0; 2],
            chain: [NIL; 2],
            prev: NIL,
            next: NIL,
            listed: false,
            live: false,
        }
    }
}

/// Where a new connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Into a free slot.
    Free(u32),
    /// Into the slot of the oldest unestablished connection, which is gone.
    Evicted(u32),
    /// Nowhere: every slot holds an established connection.
    Full,
}

/// One worker's connections.
pub struct FlowTable {
    flows: Vec<Flow>,
    free: Vec<u32>,
    /// Heads of the hash chains; a node is `flow * 2 + direction`.
    heads: Vec<u32>,
    /// One bit per bucket, set while its chain is not empty: a lookup of a tuple that is
    /// not there (every packet of one-way traffic) reads this (16 KiB for 65536
    /// connections, in L1/L2) instead of missing the cache on `heads`.
    occupied: Vec<u64>,
    mask: usize,
    hasher: ahash::RandomState,
    /// Key of [`Self::pending_hash`].
    pending_key: [u64; 2],
    /// The unestablished connections, least recently used first.
    oldest: u32,
    newest: u32,
    live: u32,
    additions: u64,
}

impl FlowTable {
    /// A table for at most `capacity` connections, all its memory allocated now.
    pub fn new(capacity: u32) -> FlowTable {
        let buckets = (capacity.max(1) as usize * 2).next_power_of_two();
        let hasher = ahash::RandomState::new();
        let pending_key = [hasher.hash_one(1u64), hasher.hash_one(2u64)];
        FlowTable {
            flows: vec![Flow::default(); capacity as usize],
            free: (0..capacity).rev().collect(),
            heads: vec![NIL; buckets],
            occupied: vec![0; buckets.div_ceil(64)],
            mask: buckets - 1,
            hasher,
            pending_key,
            oldest: NIL,
            newest: NIL,
            live: 0,
            additions: 0,
        }
    }

    pub fn capacity(&self) -> u32 {
        self.flows.len() as u32
    }

    /// Connections in the table.
    pub fn len(&self) -> u32 {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Bytes a table for `capacity` connections holds (with its [`super::Pending`]), all
    /// allocated at creation.
    pub fn memory_for(capacity: u32) -> usize {
        let c = capacity as usize;
        let buckets = (c.max(1) * 2).next_power_of_two();
        c * (std::mem::size_of::<Flow>() + 4)
            + buckets * 4
            + buckets.div_ceil(64) * 8
            + super::Pending::memory_for(capacity)
    }

    /// The table's keyed hash of `t`.
    #[inline]
    pub fn hash(&self, t: &Tuple) -> u64 {
        self.hasher.hash_one(t)
    }

    /// A keyed hash of the connection `t` belongs to, the same for both of its
    /// directions and whatever the interfaces ([`super::Pending`]'s index): one folded
    /// multiply (ahash's mixing step) of the two endpoints in order, keyed.
    #[inline]
    pub fn pending_hash(&self, t: &Tuple) -> u64 {
        let a = (t.saddr as u64) << 16 | t.sport as u64;
        let b = (t.daddr as u64) << 16 | t.dport as u64;
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let [k0, k1] = self.pending_key;
        let p = ((lo ^ k0) as u128) * ((hi << 8 | t.proto as u64) ^ k1) as u128;
        p as u64 ^ (p >> 64) as u64
    }

    #[inline]
    fn bucket(&self, t: &Tuple) -> usize {
        self.hash(t) as usize & self.mask
    }

    /// The connection `t` is a tuple of, and which direction.
    #[inline]
    pub fn find(&self, t: &Tuple) -> Option<(u32, Dir)> {
        self.find_hashed(t, self.hash(t))
    }

    /// [`Self::find`] for `t` of [`Self::hash`] `hash`.
    #[inline]
    pub fn find_hashed(&self, t: &Tuple, hash: u64) -> Option<(u32, Dir)> {
        let b = hash as usize & self.mask;
        if self.occupied[b / 64] & 1 << (b % 64) == 0 {
            return None;
        }
        let mut n = self.heads[b];
        while n != NIL {
            let (i, d) = (n >> 1, (n & 1) as usize);
            let f = &self.flows[i as usize];
            if f.tuple[d] == *t {
                return Some((i, if d == 0 { Dir::Original } else { Dir::Reply }));
            }
            n = f.chain[d];
        }
        None
    }

    #[inline]
    pub fn get(&self, i: u32) -> &Flow {
        &self.flows[i as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, i: u32) -> &mut Flow {
        &mut self.flows[i as usize]
    }

    /// Adds a connection (`orig`, `reply`) first seen at `now`, not established: into a
    /// free slot, else in place of the least recently used unestablished one.
    pub fn insert(&mut self, orig: Tuple, reply: Tuple, state: CtState, now: u64) -> Insert {
        let (i, how) = match self.free.pop() {
            Some(i) => (i, Insert::Free(i)),
            None if self.oldest != NIL => {
                let i = self.oldest;
                self.remove(i);
                self.free.pop();
                (i, Insert::Evicted(i))
            }
            None => return Insert::Full,
        };
        self.flows[i as usize] = Flow {
            tuple: [orig, reply],
            state,
            created: now,
            last: now,
            live: true,
            ..Flow::default()
        };
        self.link(i, 0);
        self.link(i, 1);
        self.live += 1;
        self.list_push(i);
        how
    }

    /// Removes connection `i`; its slot becomes free.
    pub fn remove(&mut self, i: u32) {
        if !self.flows[i as usize].live {
            return;
        }
        self.unlink(i, 0);
        self.unlink(i, 1);
        self.list_unlink(i);
        self.flows[i as usize].live = false;
        self.flows[i as usize].offloaded = false;
        self.live -= 1;
        self.free.push(i);
    }

    /// Moves direction `d` of connection `i` to arrive on `iif`.
    pub fn rekey(&mut self, i: u32, d: usize, iif: IfIndex) {
        self.unlink(i, d);
        self.flows[i as usize].tuple[d].iif = iif;
        self.link(i, d);
    }

    /// How many times a tuple was added (a connection inserted or moved): a tuple not
    /// found stays not found while this is unchanged.
    #[inline]
    pub fn additions(&self) -> u64 {
        self.additions
    }

    fn link(&mut self, i: u32, d: usize) {
        self.additions += 1;
        let b = self.bucket(&self.flows[i as usize].tuple[d]);
        self.flows[i as usize].chain[d] = self.heads[b];
        self.heads[b] = i * 2 + d as u32;
        self.occupied[b / 64] |= 1 << (b % 64);
    }

    fn unlink(&mut self, i: u32, d: usize) {
        let node = i * 2 + d as u32;
        let b = self.bucket(&self.flows[i as usize].tuple[d]);
        let next = self.flows[i as usize].chain[d];
        if self.heads[b] == node {
            self.heads[b] = next;
            if next == NIL {
                self.occupied[b / 64] &= !(1 << (b % 64));
            }
            return;
        }
        let mut n = self.heads[b];
        while n != NIL {
            let link = &mut self.flows[(n >> 1) as usize].chain[(n & 1) as usize];
            if *link == node {
                *link = next;
                return;
            }
            n = *link;
        }
    }

    /// Marks use of connection `i` for eviction order: an established one leaves the
    /// list of evictable ones for good (until it stops being established), an
    /// unestablished one becomes the newest.
    #[inline]
    pub fn used(&mut self, i: u32, established: bool) {
        let listed = self.flows[i as usize].listed;
        if established {
            if listed {
                self.list_unlink(i);
            }
        } else if !listed || self.newest != i {
            self.list_unlink(i);
            self.list_push(i);
        }
    }

    fn list_push(&mut self, i: u32) {
        let f = &mut self.flows[i as usize];
        f.prev = self.newest;
        f.next = NIL;
        f.listed = true;
        if self.newest != NIL {
            self.flows[self.newest as usize].next = i;
        } else {
            self.oldest = i;
        }
        self.newest = i;
    }

    fn list_unlink(&mut self, i: u32) {
        let f = &mut self.flows[i as usize];
        if !f.listed {
            return;
        }
        let (p, n) = (f.prev, f.next);
        f.listed = false;
        f.prev = NIL;
        f.next = NIL;
        if p != NIL {
            self.flows[p as usize].next = n;
        } else {
            self.oldest = n;
        }
        if n != NIL {
            self.flows[n as usize].prev = p;
        } else {
            self.newest = p;
        }
    }

    /// Whether slot `i` holds a connection.
    #[inline]
    pub fn is_live(&self, i: u32) -> bool {
        self.flows[i as usize].live
    }

    /// The live connections with their slot.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Flow)> {
        self.flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.live)
            .map(|(i, f)| (i as u32, f))
    }

    /// How many connections are in the evictable list (for tests).
    #[cfg(test)]
    fn listed(&self) -> usize {
        let (mut n, mut i) = (0, self.oldest);
        while i != NIL {
            n += 1;
            i = self.flows[i as usize].next;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u32) -> Tuple {
        Tuple {
            saddr: n,
            daddr: 0x0a00_0002,
            sport: 1000,
            dport: 80,
            proto: 6,
            iif: 0,
        }
    }

    #[test]
    fn both_tuples_find_their_connection() {
        let mut ft = FlowTable::new(4);
        let o = t(1);
        let r = o.reply(1);
        assert_eq!(ft.insert(o, r, CtState::SynSent, 5), Insert::Free(0));
        assert_eq!(ft.find(&o), Some((0, Dir::Original)));
        assert_eq!(ft.find(&r), Some((0, Dir::Reply)));
        // The same 5-tuple on another input interface is another flow.
        assert_eq!(ft.find(&o.reply(1).reply(3)), None);
        ft.remove(0);
        assert_eq!(ft.find(&o), None);
        assert_eq!(ft.find(&r), None);
        assert!(ft.is_empty());
    }

    #[test]
    fn the_pending_hash_is_the_connections_whichever_the_direction() {
        let ft = FlowTable::new(4);
        let o = t(1);
        assert_eq!(ft.pending_hash(&o), ft.pending_hash(&o.reply(1)));
        assert_eq!(ft.pending_hash(&o), ft.pending_hash(&o.reply(1).reply(2)));
        let mut other = o;
        other.sport += 1;
        assert_ne!(ft.pending_hash(&o), ft.pending_hash(&other));
        other = o;
        other.proto = 17;
        assert_ne!(ft.pending_hash(&o), ft.pending_hash(&other));
        // Swapping only the ports (or only the addresses) is another connection.
        other = o;
        (other.sport, other.dport) = (o.dport, o.sport);
        assert_ne!(ft.pending_hash(&o), ft.pending_hash(&other));
        // Keyed: another table hashes differently.
        assert_ne!(ft.pending_hash(&o), FlowTable::new(4).pending_hash(&o));
    }

    #[test]
    fn full_table_evicts_the_oldest_unestablished_only() {
        let mut ft = FlowTable::new(3);
        for n in 0..3 {
            ft.insert(t(n), t(n).reply(1), CtState::SynSent, n as u64);
        }
        // Flow 1 becomes established; flow 0 is used again (now the newest).
        ft.used(1, true);
        ft.used(0, false);
        assert_eq!(ft.listed(), 2);
        // The oldest unestablished is now flow 2.
        assert_eq!(
            ft.insert(t(10), t(10).reply(1), CtState::SynSent, 9),
            Insert::Evicted(2)
        );
        assert_eq!(ft.find(&t(2)), None);
        assert!(ft.find(&t(10)).is_some());
        assert_eq!(
            ft.insert(t(11), t(11).reply(1), CtState::SynSent, 9),
            Insert::Evicted(0)
        );
        assert_eq!(
            ft.insert(t(12), t(12).reply(1), CtState::SynSent, 9),
            Insert::Evicted(2)
        );
        // All established: nothing can be evicted.
        for i in 0..3 {
            ft.used(i, true);
        }
        assert_eq!(
            ft.insert(t(13), t(13).reply(1), CtState::SynSent, 9),
            Insert::Full
        );
        assert_eq!(ft.find(&t(1)), Some((1, Dir::Original)));
        assert_eq!(ft.len(), 3);
    }

    #[test]
    fn random_churn_keeps_chains_and_list_consistent() {
        let mut ft = FlowTable::new(64);
        let mut seed = 0x1234_5678u32;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut model = std::collections::HashMap::new();
        for step in 0..20_000u64 {
            let n = rnd() % 200;
            match ft.find(&t(n)) {
                Some((i, _)) if rnd() % 3 == 0 => {
                    ft.remove(i);
                    model.remove(&n);
                }
                Some((i, _)) => ft.used(i, rnd() % 2 == 0),
                None => match ft.insert(t(n), t(n).reply(1), CtState::SynSent, step) {
                    Insert::Free(i) => {
                        model.insert(n, i);
                    }
                    Insert::Evicted(i) => {
                        model.retain(|_, v| *v != i);
                        model.insert(n, i);
                    }
                    Insert::Full => {}
                },
            }
            assert_eq!(ft.len() as usize, model.len());
        }
        for (n, i) in &model {
            assert_eq!(ft.find(&t(*n)), Some((*i, Dir::Original)));
            assert_eq!(ft.find(&t(*n).reply(1)), Some((*i, Dir::Reply)));
        }
        assert_eq!(ft.iter().count(), model.len());
    }
}
