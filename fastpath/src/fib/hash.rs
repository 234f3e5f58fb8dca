//! The interim table: one hash map per prefix length, probed from the longest length
//! present down. Simple and obviously correct; the LC-trie replaces it behind the same API
//! (`from_routes`, `lookup`, `update` returning a new version, `get`, `len`).
//!
//! Keys are stored byte-swapped: FxHash multiplies, so a masked address with k trailing
//! zero bits would hash to k zero low bits, and hashbrown picks buckets from the low bits:
//! every /16 would share one probe chain. Swapped, the significant octets come first.

use super::{mask, Change, NO_ROUTE};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Longest-prefix-match table over u32 values. Immutable; `update` makes a new version.
#[derive(Debug, Clone, Default)]
pub struct HashTable {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    by_len: Vec<FxHashMap<u32, u32>>,
    /// Prefix lengths that have at least one route, longest first.
    lens: Vec<u8>,
    count: usize,
}

impl Default for Inner {
    fn default() -> Self {
        Inner { by_len: vec![FxHashMap::default(); 33], lens: Vec::new(), count: 0 }
    }
}

impl Inner {
    fn apply(&mut self, c: &Change) {
        match *c {
            Change::Insert { addr, len, value } => {
                if self.by_len[len as usize].insert(key(addr, len), value).is_none() {
                    self.count += 1;
                    if !self.lens.contains(&len) {
                        self.lens.push(len);
                        self.lens.sort_unstable_by(|a, b| b.cmp(a));
                    }
                }
            }
            Change::Remove { addr, len } => {
                if self.by_len[len as usize].remove(&key(addr, len)).is_some() {
                    self.count -= 1;
                    if self.by_len[len as usize].is_empty() {
                        self.lens.retain(|&l| l != len);
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn key(addr: u32, len: u8) -> u32 {
    (addr & mask(len)).swap_bytes()
}

impl HashTable {
    pub fn new() -> HashTable {
        HashTable::default()
    }

    pub fn from_routes(routes: &[(u32, u8, u32)]) -> HashTable {
        let mut inner = Inner::default();
        for &(addr, len, value) in routes {
            inner.apply(&Change::Insert { addr, len, value });
        }
        HashTable { inner: Arc::new(inner) }
    }

    /// A new version with `changes` applied (this one is unchanged).
    pub fn update(&self, changes: &[Change]) -> HashTable {
        let mut inner = (*self.inner).clone();
        for c in changes {
            inner.apply(c);
        }
        HashTable { inner: Arc::new(inner) }
    }

    /// Longest-prefix match; [`NO_ROUTE`] if nothing matches.
    #[inline]
    pub fn lookup(&self, addr: u32) -> u32 {
        let i = &self.inner;
        i.lens.iter().find_map(|&len| i.by_len[len as usize].get(&key(addr, len)).copied()).unwrap_or(NO_ROUTE)
    }

    pub fn lookup_bulk(&self, addrs: &[u32], out: &mut [u32]) {
        for (a, o) in addrs.iter().zip(out) {
            *o = self.lookup(*a);
        }
    }

    /// Exact match.
    pub fn get(&self, addr: u32, len: u8) -> Option<u32> {
        self.inner.by_len[len as usize].get(&key(addr, len)).copied()
    }

    pub fn len(&self) -> usize {
        self.inner.count
    }

    pub fn is_empty(&self) -> bool {
        self.inner.count == 0
    }

    /// Heap bytes held (hash tables at their capacity: key, value, control byte).
    pub fn memory_bytes(&self) -> usize {
        self.inner.by_len.iter().map(|m| m.capacity() * 9).sum()
    }
}
