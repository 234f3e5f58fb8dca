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
//! of equal leaves stored once. A full Internet table takes about 3 memory accesses per
//! lookup and a few MiB, small enough to live in the last-level cache (DXR, M. Zec et al.,
//! "DXR: towards a billion routing lookups per second in software", CCR 42(5), 2012, makes
//! the same argument with range tables; we measured both shapes and kept Poptrie's).
//!
//! ```text
//!  address bit   0          11 12     17 18    23 24    29 30 31
//!                +-------------+---------+--------+--------+-----+
//!                |   top (12)  | root(6) | L1 (6) | L2 (6) |L3(2)|
//!                +-------------+---------+--------+--------+-----+
//!                 \______ root index (18) _____/
//!
//!  top[addr >> 20]    u32 x 4096: the answer of prefixes /0../12 (the fallback)
//!  root[addr >> 14]   u32 x 2^18: bit 31 clear: the answer of prefixes /13../18, or NONE
//!                                 bit 31 set:   a chunk (segment 13 bits, offset 18 bits)
//!  chunk              the prefixes /19../32 under one root slot, as a Poptrie:
//!     node (6 x u32): vector (u64: which of the 64 positions is an internal node)
//!                     leafvec (u64: where a run of equal leaves starts)
//!                     leaf_base, child_base (u32 offsets from the chunk's first node)
//!     v = next 6 bits; if vector bit v: child  = child_base + 6 * popcnt(vector below v)
//!                      else:            answer = leaves[leaf_base + popcnt(leafvec to v) - 1]
//!  an answer NO_ROUTE (or a NONE root entry) falls back to top[addr >> 20].
//! ```
//!
//! The three tiers bound the work of an update: a prefix /19../32 rebuilds the one chunk it
//! falls in; a /13../18 rebuilds at most the 32 chunks below it (their leaves inherit it);
//! a /0../12 rewrites at most 4096 `top` entries and no chunk at all.
//!
//! **Chunks and segments.** A chunk is a self-contained run of u32 words (offsets inside it
//! are relative to its first node), stored in a segment: an immutable `Arc<[u32]>` of about
//! 64 Ki words shared by every version that still uses it. Next to its lookup words a chunk
//! keeps the prefixes it was built from (the update storage: a u16 key and a u32 value per
//! prefix), so an update decodes the chunk, merges its changes, and appends a new chunk.
//! [`LcTrie::update`] is path copying: it copies the root array and the one segment being
//! appended to, shares every other segment with the previous version, and leaves `self`
//! untouched for the readers still using it (RCU, [`crate::rcu`]). Replaced chunks are
//! garbage in their old segments; once a third of a segment is garbage its live chunks are
//! moved (a memcpy: they are position independent) and the segment is dropped with the
//! last version using it.
//!
//! ```text
//!  chunk in a segment:  [hdr][node L1][leaves][L2 nodes..][their leaves][L3..][keys][values]
//!                              ^ root entry points here; hdr = lookup words | prefixes << 16
//! ```
//!
//! Glossary (kernel -> here): `key_vector`/`tnode` -> a chunk node; `fib_alias` leaf -> a leaf
//! value (the caller's route id); `tnode_free`/`call_rcu` -> segments retired by RCU.

mod build;
mod chunk;
#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

pub use build::TrieStats;

use std::sync::Arc;

/// The value returned by a lookup that no prefix matches.
pub const NO_ROUTE: u32 = u32::MAX;

/// Address bits resolved by the `top` table (prefixes /0../12).
const TOP_BITS: u32 = 12;
/// Address bits resolved by the root array (direct pointing).
const ROOT_BITS: u32 = 18;
/// Root entry flag: the entry is a chunk reference.
const CHUNK_BIT: u32 = 1 << 31;
/// Root entry: no /13../18 prefix covers this slot and there is no chunk.
const ROOT_NONE: u32 = CHUNK_BIT - 1;
/// Chunk reference: offset bits inside its segment.
const OFF_BITS: u32 = 18;
const OFF_MASK: u32 = (1 << OFF_BITS) - 1;
/// Chunk reference: segment id bits (8192 segments).
const SEG_BITS: u32 = 31 - OFF_BITS;
const SEG_MASK: u32 = (1 << SEG_BITS) - 1;

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
    /// 2^18 root entries (dataplane: ro).
    root: Arc<[u32]>,
    /// Chunk storage, indexed by segment id (dataplane: ro).
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
        let v = if e & CHUNK_BIT == 0 {
            if e == ROOT_NONE {
                NO_ROUTE
            } else {
                e
            }
        } else {
            let seg = &self.segs[((e >> OFF_BITS) & SEG_MASK) as usize];
            chunk::walk(seg, (e & OFF_MASK) as usize, addr)
        };
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
        assert!(out.len() >= addrs.len(), "lookup_bulk: out shorter than addrs");
        for (a, o) in addrs.chunks(BURST).zip(out.chunks_mut(BURST)) {
            self.lookup_burst(a, o);
        }
    }

    /// One burst of at most [`BURST`] addresses, without data-dependent branches: every
    /// address reads its root entry, a first chunk node (root entries that are not chunks
    /// read the dummy chunk of segment 0, L1-resident) and a leaf, and selects between
    /// the root's answer, the leaf and the `top` fallback with conditional moves. The few
    /// addresses whose first node points deeper (prefixes longer than /24) are finished
    /// afterwards by [`LcTrie::lookup`].
    #[inline]
    fn lookup_burst(&self, addrs: &[u32], out: &mut [u32]) {
        let n = addrs.len().min(BURST).min(out.len());
        let (addrs, out) = (&addrs[..n], &mut out[..n]);
        let (root, top, segs) = (&self.root[..], &self.top[..], &self.segs[..]);
        let mut deep = [0u8; BURST];
        let mut nd = 0;
        for (i, (&a, o)) in addrs.iter().zip(out.iter_mut()).enumerate() {
            let e = root[(a >> (32 - ROOT_BITS)) as usize];
            let is_chunk = e & CHUNK_BIT != 0;
            let r = if is_chunk { e } else { DUMMY_REF };
            let seg = &segs[((r >> OFF_BITS) & SEG_MASK) as usize][..];
            let (leaf, is_child) = chunk::first_step(seg, (r & OFF_MASK) as usize, a);
            let direct = if e == ROOT_NONE { NO_ROUTE } else { e };
            let v = if is_chunk { leaf } else { direct };
            let t = top[(a >> (32 - TOP_BITS)) as usize];
            *o = if v == NO_ROUTE { t } else { v };
            deep[nd] = i as u8;
            nd += is_child as usize;
        }
        for &i in &deep[..nd] {
            out[i as usize] = self.lookup(addrs[i as usize]);
        }
    }
}

/// Root-entry-shaped reference to the dummy chunk (segment 0, first node at word 1).
const DUMMY_REF: u32 = CHUNK_BIT | 1;

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
