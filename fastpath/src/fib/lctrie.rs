//! The LC-trie: longest-prefix match over IPv4 addresses for the FIB (the lookup engine of
//! the kernel's `fib_trie.c`), rebuilt for a modern CPU and for RCU publication.
//!
//! `fib_trie.c` is a level- and path-compressed trie (S. Nilsson and G. Karlsson, "IP-address
//! lookup using LC-tries", IEEE JSAC 17(6), 1999). Its nodes are pointer-linked and sized by
//! the data, so a lookup in a full table chases 5 to 7 pointers. This engine keeps the idea
//! (a wide stride where the table is dense, narrow ones below) but lays the trie out the
//! way Poptrie does (H. Asai and Y. Ohara, "Poptrie: A Compressed Trie with Population Count
//! for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM 2015): direct pointing on
//! the top 18 bits, then 6-bit strides whose 64 children are popcount-compressed, with
//! leaf pushing (every position holds the answer of the longest prefix covering it) and runs
//! of equal leaves stored once. A full Internet table needs 3 memory accesses for almost
//! every lookup and 4.3 MiB, small enough to stay in cache. (DXR, M. Zec, L. Rizzo and
//! M. Mikuc, "DXR: towards a billion routing lookups per second in software", CCR 42(5),
//! 2012, gets smaller with range tables, but a range search costs a binary search per
//! lookup; a Poptrie step is a fixed, branch-free sequence, which is what the bulk lookup
//! below is built on.)
//!
//! ```text
//!  address bit  0          11 12      17 18    23 24    29 30 31
//!               +-------------+----------+--------+--------+-----+
//!               |   top (12)  |          | L1 (6) | L2 (6) |L3(2)|
//!               +-------------+----------+--------+--------+-----+
//!               \___ root index (18) ____/
//!
//!  top[addr >> 20]   u32 x 4096: the answer of the prefixes /0../12 (the fallback)
//!  root[addr >> 14]  u32 x 2^18: a chunk reference (segment id 12 bits | offset 20 bits)
//!  chunk             the prefixes /19../32 under one root slot, leaf-pushed over the
//!                    answer of /13../18 for that slot, as Poptrie nodes:
//!    node (6 x u32)  vector  u64: which of the 64 positions are child nodes
//!                    leafvec u64: where a run of equal leaves starts
//!                    leaf_base - 1, child_base: u32 offsets from the chunk's first node
//!    v = the next 6 address bits (the last stride has 2 bits and 4 zero bits);
//!      vector bit v set: next node = child_base + 6 * popcount(vector below v)
//!      else:             answer = word[leaf_base - 1 + popcount(leafvec up to v)]
//!  answer NO_ROUTE: no prefix /13../32 matched: top[addr >> 20].
//! ```
//!
//! A root slot with no prefix /19../32 points to a *const chunk*: a one-leaf chunk shared by
//! every slot with that answer (one per distinct value, in segment 0), so every lookup has
//! the same shape and [`LcTrie::lookup_bulk`] needs no branch per address.
//!
//! The three tiers bound the work of an update: a prefix /19../32 rebuilds the one chunk it
//! falls in; a /13../18 rebuilds at most the 32 chunks below it (their leaves inherit it);
//! a /0../12 rewrites at most 4096 `top` entries and no chunk at all.
//!
//! **Chunks and segments** ([`arena`]). A chunk has a lookup record (a header word, nodes
//! and leaves; offsets relative to its first node, so it can be moved by a copy) in a
//! lookup segment, and a store record (the prefixes it was built from: the update storage,
//! about 2 bytes per prefix, see [`chunk`]) in the store segment of the same pair.
//! Segments are immutable `Arc<[u32]>` of about 16 Ki words, shared by every version that
//! still uses them. [`LcTrie::update`] is path copying: it copies the root array (1 MiB)
//! and the open segment pair, builds a new chunk for every root slot a change touches, and
//! shares everything else; `self` stays untouched for the readers still using it (RCU,
//! [`crate::rcu`]). Replaced chunks are garbage until compaction copies the live chunks out
//! of the pairs that hold the most garbage.
//!
//! ```text
//!  lookup record: [hdr = store ref][node L1][leaves][L2 nodes..][their leaves][L3..]
//!                                   ^ root entries point here
//!  store record:  [n, widths][keys: 1-2 bytes each][value refs: 1-2 bytes each][extras]
//! ```
//!
//! **Performance** (rv2 table, 998k prefixes; `cargo bench -p fastpath --bench fib`): build
//! 40 ms; 7.4 MiB (4.3 lookup, 3.1 update storage); bulk lookup about 1.5x `rte_lpm` on
//! random addresses. The bulk lookup costs about a dozen instructions more per address
//! without the POPCNT instruction, which the default x86-64 target lacks: built with
//! `-C target-cpu=x86-64-v2` (what DPDK's `-march=corei7` already requires) it is about
//! 30% faster.
//!
//! Glossary (kernel -> here): `key_vector`/`tnode` -> a chunk node; `fib_alias` leaf -> a leaf
//! value (the caller's route id); `tnode_free`/`call_rcu` -> segments retired by RCU.

mod arena;
mod build;
mod chunk;
mod spare;
#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

pub use build::TrieStats;

use crate::dpdk::prefetch;
use std::sync::Arc;

/// The value returned by a lookup that no prefix matches.
pub const NO_ROUTE: u32 = u32::MAX;

/// Address bits resolved by the `top` table (prefixes /0../12).
const TOP_BITS: u32 = 12;
/// Address bits resolved by the root array (direct pointing).
const ROOT_BITS: u32 = 18;
/// Root slots.
const SLOTS: usize = 1 << ROOT_BITS;
/// Chunk reference (root entry, store reference): word offset bits inside its segment.
const OFF_BITS: u32 = 20;
const OFF_MASK: u32 = (1 << OFF_BITS) - 1;
/// Segments per arena (the id takes the remaining 12 bits).
const SEG_LIMIT: usize = 1 << (32 - OFF_BITS);
/// Root entry of a slot nothing /13../32 covers: the NO_ROUTE const chunk (segment 0,
/// first node at word 1).
const NONE_REF: u32 = 1;

/// One change of a batch given to [`LcTrie::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Adds or replaces the prefix. `value` must not be [`NO_ROUTE`] (inserting it removes).
    Insert { addr: u32, len: u8, value: u32 },
    /// Removes the prefix if present.
    Remove { addr: u32, len: u8 },
}

/// A longest-prefix-match table from IPv4 prefixes to u32 values, immutable once built.
///
/// Every field is an `Arc` to immutable data: cloning is cheap, versions made by
/// [`LcTrie::update`] share what they did not change, and any version may be read from any
/// thread (`Send + Sync`). Writers: the control core only (it builds new versions).
#[derive(Clone)]
pub struct LcTrie {
    /// Answers of prefixes /0../12, 4096 entries (dataplane: ro).
    top: Arc<[u32]>,
    /// Root entries, 2^18 chunk references (dataplane: ro).
    root: Arc<[u32]>,
    /// Lookup segments, indexed by id; segment 0 holds the const chunks (dataplane: ro).
    segs: Vec<Arc<[u32]>>,
    /// Update storage and bookkeeping (control only).
    meta: Arc<build::Meta>,
}

impl Default for LcTrie {
    fn default() -> LcTrie {
        LcTrie::new()
    }
}

impl std::fmt::Debug for LcTrie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LcTrie")
            .field("prefixes", &self.len())
            .field("segments", &self.segs.len())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

impl LcTrie {
    /// Longest-prefix match: the value of the longest prefix containing `addr`, or
    /// [`NO_ROUTE`]. Lock-free and wait-free; any thread holding a reference may call it.
    #[inline]
    pub fn lookup(&self, addr: u32) -> u32 {
        let e = self.root[(addr >> (32 - ROOT_BITS)) as usize];
        let seg = &self.segs[(e >> OFF_BITS) as usize];
        let v = chunk::walk(seg, (e & OFF_MASK) as usize, addr);
        if v == NO_ROUTE {
            self.top[(addr >> (32 - TOP_BITS)) as usize]
        } else {
            v
        }
    }

    /// Looks up a whole burst: `out[i] = lookup(addrs[i])`. The lookups advance level by
    /// level together (all root entries, then all first nodes, ...), so the memory
    /// accesses of different addresses overlap instead of waiting for each other.
    ///
    /// # Panics
    /// If `out` is shorter than `addrs`.
    pub fn lookup_bulk(&self, addrs: &[u32], out: &mut [u32]) {
        assert!(
            out.len() >= addrs.len(),
            "lookup_bulk: out shorter than addrs"
        );
        for (a, o) in addrs.chunks(BURST).zip(out.chunks_mut(BURST)) {
            self.lookup_burst(a, o);
        }
    }

    /// One burst of at most [`BURST`] addresses in stages, without data-dependent
    /// branches: (1) prefetch every address's root entry; (2) read the root entries and
    /// prefetch each chunk's first node (two lines); (3) read the nodes and leaves and pick the leaf or
    /// the `top` fallback with a conditional move. The memory accesses of the whole burst
    /// overlap instead of waiting for each other. The few addresses whose first node
    /// points deeper (prefixes longer than /24) are finished by [`LcTrie::lookup`].
    #[inline]
    fn lookup_burst(&self, addrs: &[u32], out: &mut [u32]) {
        let n = addrs.len().min(BURST).min(out.len());
        let (addrs, out) = (&addrs[..n], &mut out[..n]);
        // Fixed-size views: indexes by address bits need no bounds checks.
        let root: &[u32; SLOTS] = self.root[..].try_into().expect("root has 2^18 entries");
        let top: &[u32; 1 << TOP_BITS] = self.top[..].try_into().expect("top has 4096 entries");
        let segs = &self.segs[..];
        for &a in addrs {
            prefetch(&root[(a >> (32 - ROOT_BITS)) as usize]);
        }
        let mut refs = [0u32; BURST];
        for (&a, r) in addrs.iter().zip(refs.iter_mut()) {
            let e = root[(a >> (32 - ROOT_BITS)) as usize];
            *r = e;
            // The node's line and the next: a node straddles lines 3 times in 8, and the
            // first node's leaves follow it.
            let seg = &segs[(e >> OFF_BITS) as usize];
            if let Some(w) = seg.get((e & OFF_MASK) as usize) {
                prefetch(w);
            }
            if let Some(w) = seg.get((e & OFF_MASK) as usize + 12) {
                prefetch(w);
            }
        }
        let mut deep = [0u8; BURST];
        let mut nd = 0;
        for (i, ((&a, o), &e)) in addrs.iter().zip(out.iter_mut()).zip(&refs).enumerate() {
            let seg = &segs[(e >> OFF_BITS) as usize][..];
            let (leaf, is_child) = chunk::first_step(seg, (e & OFF_MASK) as usize, a);
            let t = top[(a >> (32 - TOP_BITS)) as usize];
            *o = std::hint::select_unpredictable(leaf == NO_ROUTE, t, leaf);
            deep[nd & (BURST - 1)] = i as u8;
            nd += is_child as usize;
        }
        for &i in &deep[..nd] {
            out[i as usize] = self.lookup(addrs[i as usize]);
        }
    }
}

/// Addresses handled together by [`LcTrie::lookup_bulk`].
const BURST: usize = 64;

/// The netmask of a prefix length (0..=32).
#[inline(always)]
fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32) as u32)
    }
}
