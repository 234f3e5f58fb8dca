//! Building versions of the trie: the full build ([`LcTrie::from_routes`]), batched
//! updates by path copying ([`LcTrie::update`]), exact match, and statistics. Control core
//! only: nothing here runs on a worker.

use super::arena::{self, Builder, ChunkMeta};
use super::chunk::{self, Pfx};
use super::spare::RootSpare;
use super::{mask, Change, LcTrie, NO_ROUTE, OFF_BITS, ROOT_BITS, SLOTS, TOP_BITS};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Longest prefix resolved by `top`.
const TOP_MAX: u8 = TOP_BITS as u8;
/// Prefixes resolved by the root array (inherited by chunks).
const MID_MIN: u8 = TOP_MAX + 1;
const MID_MAX: u8 = ROOT_BITS as u8;

/// Update storage and bookkeeping of one version (control core only).
#[derive(Clone)]
pub(super) struct Meta {
    /// Prefixes /0../18, one map per length, each shared between versions until a change
    /// touches that length. Keyed by [`pkey`] (the prefix bits right-aligned: FxHash of
    /// network addresses, whose low bits are zero, would put them all in one bucket).
    maps: Vec<Arc<FxHashMap<u32, u32>>>,
    /// Number of prefixes.
    count: usize,
    /// Chunks: store segments, arena bookkeeping, const chunks.
    pub chunks: ChunkMeta,
    /// The root array the next update may recycle.
    spare: Arc<RootSpare>,
}

/// A snapshot of the trie's shape and memory (`show fib stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrieStats {
    pub prefixes: usize,
    /// Chunks (root slots with prefixes longer than /18).
    pub chunks: usize,
    /// Poptrie nodes in all chunks.
    pub nodes: usize,
    /// Leaves (runs of equal answers) in all chunks.
    pub leaves: usize,
    pub segments: usize,
    /// What a lookup reads: `top`, the root array, chunk nodes and leaves.
    pub lookup_bytes: usize,
    /// What only updates read: chunk headers and stored prefixes, the /0../18 stores.
    pub update_bytes: usize,
    /// Replaced chunks not yet compacted away.
    pub garbage_bytes: usize,
    /// `depth_histogram[k]`: prefixes whose lookup (of their first address) reads k
    /// memory locations (root entry, chunk nodes and leaf, `top` fallback; a const chunk
    /// counts as none: it is shared and L1-resident).
    pub depth_histogram: [usize; 8],
}

impl std::fmt::Display for TrieStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: usize| b as f64 / (1 << 20) as f64;
        writeln!(
            f,
            "prefixes {}  chunks {}  nodes {}  leaves {}  segments {}",
            self.prefixes, self.chunks, self.nodes, self.leaves, self.segments
        )?;
        writeln!(
            f,
            "memory: lookup {:.2} MiB, update storage {:.2} MiB, garbage {:.2} MiB, total {:.2} MiB",
            mib(self.lookup_bytes),
            mib(self.update_bytes),
            mib(self.garbage_bytes),
            mib(self.lookup_bytes + self.update_bytes + self.garbage_bytes)
        )?;
        write!(f, "memory accesses per lookup (prefixes):")?;
        for (k, n) in self
            .depth_histogram
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
        {
            write!(f, " {k}:{n}")?;
        }
        Ok(())
    }
}

/// A normalised change: network address, length, new value (None: remove).
#[derive(Clone, Copy)]
struct Op {
    addr: u32,
    len: u8,
    value: Option<u32>,
}

impl Op {
    fn new(addr: u32, len: u8, value: Option<u32>) -> Op {
        let len = len.min(32);
        Op {
            addr: addr & mask(len),
            len,
            value: value.filter(|&v| v != NO_ROUTE),
        }
    }
}

impl LcTrie {
    /// An empty table.
    pub fn new() -> LcTrie {
        LcTrie::from_routes(&[])
    }

    /// Builds a table from `(network address, length, value)` routes. Host bits are
    /// cleared, lengths above 32 count as 32; for duplicates the last one wins, and a
    /// [`NO_ROUTE`] value removes the prefix.
    pub fn from_routes(routes: &[(u32, u8, u32)]) -> LcTrie {
        let mut r: Vec<(u32, u8, u32)> = routes
            .iter()
            .map(|&(a, l, v)| {
                let l = l.min(32);
                (a & mask(l), l, v)
            })
            .collect();
        // Stable: equal prefixes keep their input order, so the last one is the survivor.
        r.sort_by_key(|&(a, l, _)| (a, l));
        let mut maps = vec![FxHashMap::default(); MID_MAX as usize + 1];
        let mut mid: Vec<Pfx> = Vec::new();
        let mut long: Vec<Pfx> = Vec::with_capacity(r.len());
        for (i, &(addr, len, value)) in r.iter().enumerate() {
            if r.get(i + 1).is_some_and(|n| (n.0, n.1) == (addr, len)) || value == NO_ROUTE {
                continue;
            }
            match len {
                0..=TOP_MAX => {
                    maps[len as usize].insert(pkey(addr, len), value);
                }
                MID_MIN..=MID_MAX => {
                    maps[len as usize].insert(pkey(addr, len), value);
                    mid.push(Pfx { addr, len, value });
                }
                _ => long.push(Pfx { addr, len, value }),
            }
        }
        drop(r);
        let maps: Vec<Arc<FxHashMap<u32, u32>>> = maps.into_iter().map(Arc::new).collect();
        let count = maps.iter().map(|m| m.len()).sum::<usize>() + long.len();
        let top: Vec<u32> = (0..1u32 << TOP_BITS)
            .map(|t| short_lpm(&maps, t << (32 - TOP_BITS)))
            .collect();

        // Inherited answers of the root slots: paint /13../18 depth-first.
        let mut inherited = vec![NO_ROUTE; SLOTS];
        for p in &mid {
            let s = (p.addr >> (32 - ROOT_BITS)) as usize;
            inherited[s..s + (1 << (MID_MAX - p.len))].fill(p.value);
        }

        let mut b = Builder::fresh();
        let mut root = vec![0; SLOTS];
        let mut groups = long
            .chunk_by(|a, b| slot(a.addr) == slot(b.addr))
            .peekable();
        // Most slots have no long prefix and the answer of the slot before: the same
        // const chunk, without a hash lookup (a small table is 2^18 of them).
        let mut last_const = None;
        for (s, e) in root.iter_mut().enumerate() {
            let g = groups
                .next_if(|g| slot(g[0].addr) as usize == s)
                .unwrap_or(&[]);
            *e = match last_const {
                Some((v, r)) if g.is_empty() && v == inherited[s] => r,
                _ => b.place(g, inherited[s]),
            };
            if g.is_empty() {
                last_const = Some((inherited[s], *e));
            }
        }
        let meta = Meta {
            maps,
            count,
            chunks: ChunkMeta::default(),
            spare: Arc::default(),
        };
        LcTrie::assemble(b, top.into(), root.into(), meta)
    }

    /// The finished version from a builder, its tables and its meta.
    fn assemble(b: Builder, top: Arc<[u32]>, root: Arc<[u32]>, mut meta: Meta) -> LcTrie {
        let (segs, chunks) = b.finish();
        meta.chunks = chunks;
        LcTrie {
            top,
            root,
            segs,
            meta: Arc::new(meta),
        }
    }

    /// A new version with `changes` applied in order (for the same prefix the last change
    /// wins). `self` is not modified and stays valid: readers may keep using it until they
    /// pass a quiescent state. Cost: the root array is copied (1 MiB; only the slots the
    /// previous update changed when its buffer can be recycled, [`RootSpare`]), each root
    /// slot that changed gets a new chunk (only the slots under changed prefixes /13 and longer; a
    /// /0../12 change touches only the 16 KiB `top` table), and every other chunk is shared.
    pub fn update(&self, changes: &[Change]) -> LcTrie {
        if changes.is_empty() {
            return self.clone();
        }
        let ops: Vec<Op> = changes
            .iter()
            .map(|c| match *c {
                Change::Insert { addr, len, value } => Op::new(addr, len, Some(value)),
                Change::Remove { addr, len } => Op::new(addr, len, None),
            })
            .collect();
        let mut meta = (*self.meta).clone();

        // /0../18: the per-length maps, in batch order. A /0../12 change rewrites its `top`
        // entries; a /13../18 change rebuilds every root slot below it.
        let mut top_dirty: Option<Vec<bool>> = None;
        let mut dirty_slots: Vec<u32> = Vec::new();
        for o in ops.iter().filter(|o| o.len <= MID_MAX) {
            let m = Arc::make_mut(&mut meta.maps[o.len as usize]);
            let k = pkey(o.addr, o.len);
            let had = match o.value {
                Some(v) => m.insert(k, v).is_some(),
                None => m.remove(&k).is_some(),
            };
            meta.count = meta.count + o.value.is_some() as usize - had as usize;
            if o.len <= TOP_MAX {
                let t = (o.addr >> (32 - TOP_BITS)) as usize;
                top_dirty.get_or_insert_with(|| vec![false; 1 << TOP_BITS])
                    [t..t + (1 << (TOP_MAX - o.len))]
                    .fill(true);
            } else {
                let s = slot(o.addr);
                dirty_slots.extend(s..s + (1 << (MID_MAX - o.len)));
            }
        }
        let top = match top_dirty {
            None => self.top.clone(),
            Some(dirty) => {
                let mut top = self.top.clone();
                let tm = Arc::make_mut(&mut top);
                for (t, _) in dirty.iter().enumerate().filter(|(_, &d)| d) {
                    tm[t] = short_lpm(&meta.maps, (t as u32) << (32 - TOP_BITS));
                }
                top
            }
        };

        // /19../32: sorted depth-first (hence by slot), last change per prefix.
        let mut longs: Vec<(Op, usize)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.len > MID_MAX)
            .map(|(i, o)| (*o, i))
            .collect();
        longs.sort_unstable_by_key(|(o, i)| (o.addr, o.len, *i));
        let longs: Vec<Op> = longs
            .chunk_by(|a, b| (a.0.addr, a.0.len) == (b.0.addr, b.0.len))
            .map(|g| g[g.len() - 1].0)
            .collect();
        dirty_slots.extend(longs.iter().map(|o| slot(o.addr)));
        dirty_slots.sort_unstable();
        dirty_slots.dedup();

        let mut b = Builder::resume(self);
        let mut root_arc = self.meta.spare.checkout(&self.root);
        let root = Arc::get_mut(&mut root_arc).expect("a checked-out root is not shared");
        let mut groups = longs
            .chunk_by(|a, b| slot(a.addr) == slot(b.addr))
            .peekable();
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for (k, &s) in dirty_slots.iter().enumerate() {
            // The chunks are cold: fetch the root entry, then the lookup record, then the
            // store record of the slots a few steps ahead.
            if let Some(&s2) = dirty_slots.get(k + 12) {
                crate::dpdk::prefetch(&root[s2 as usize]);
            }
            if let Some(&s1) = dirty_slots.get(k + 6) {
                b.prefetch_lookup(root[s1 as usize]);
            }
            if let Some(&s0) = dirty_slots.get(k + 3) {
                b.prefetch_store(root[s0 as usize]);
            }
            let ch = groups.next_if(|g| slot(g[0].addr) == s).unwrap_or(&[]);
            old.clear();
            let e = root[s as usize];
            b.take(e, s, &mut old);
            new.clear();
            meta.count = (meta.count + merge(&old, ch, &mut new)) - old.len();
            root[s as usize] = b.place(&new, mid_lpm(&meta.maps, s));
        }
        let rewrote = b.compact(root);
        meta.spare
            .checkin(&self.root, &root_arc, (!rewrote).then_some(dirty_slots));
        LcTrie::assemble(b, top, root_arc, meta)
    }

    /// Exact match: the value stored for this prefix.
    pub fn get(&self, addr: u32, len: u8) -> Option<u32> {
        let len = len.min(32);
        let addr = addr & mask(len);
        match len {
            0..=MID_MAX => self.meta.maps[len as usize].get(&pkey(addr, len)).copied(),
            _ => {
                let s = slot(addr);
                let (l, node0, st, srec) = arena::records(self, self.root[s as usize])?;
                chunk::get(l, node0, st, srec, s, addr, len)
            }
        }
    }

    /// Every prefix as `(network, length, value)`, sorted by (network, length).
    pub fn routes(&self) -> Vec<(u32, u8, u32)> {
        let mut v: Vec<(u32, u8, u32)> = Vec::with_capacity(self.len());
        for (len, m) in self.meta.maps.iter().enumerate() {
            v.extend(
                m.iter()
                    .map(|(&k, &val)| (unpkey(k, len as u8), len as u8, val)),
            );
        }
        let mut pfx = Vec::new();
        for (s, &e) in self.root.iter().enumerate() {
            if let Some((l, node0, st, srec)) = arena::records(self, e) {
                pfx.clear();
                chunk::decode(l, node0, st, srec, s as u32, &mut pfx);
                v.extend(pfx.iter().map(|p| (p.addr, p.len, p.value)));
            }
        }
        v.sort_unstable();
        v
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.meta.count
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    /// Heap bytes held by this version: the lookup structure, the prefix storage updates
    /// need, and garbage awaiting compaction ([`TrieStats`] has them apart).
    pub fn memory_bytes(&self) -> usize {
        let (lookup, update, garbage) = self.memory();
        lookup + update + garbage
    }

    /// (lookup, update storage, garbage) bytes.
    fn memory(&self) -> (usize, usize, usize) {
        let m = &self.meta;
        let (lw, sw, gw) = m.chunks.words(&self.segs);
        let lookup = 4 * (self.top.len() + self.root.len() + lw);
        // hashbrown: a (key, value) slot and a control byte per bucket.
        let maps: usize = m.maps.iter().map(|h| h.capacity() * 9 * 8 / 7 + 64).sum();
        let segs = (self.segs.len() + m.chunks.ssegs.len()) * (16 + 16 + 4)
            + m.chunks.consts.capacity() * 9;
        (lookup, 4 * sw + maps + segs, 4 * gw)
    }

    /// Shape, memory and the depth histogram. Walks the whole table (milliseconds).
    pub fn stats(&self) -> TrieStats {
        let (lookup_bytes, update_bytes, garbage_bytes) = self.memory();
        let mut st = TrieStats {
            prefixes: self.len(),
            chunks: self.meta.chunks.chunks,
            segments: self
                .segs
                .iter()
                .chain(&self.meta.chunks.ssegs)
                .filter(|s| !s.is_empty())
                .count(),
            lookup_bytes,
            update_bytes,
            garbage_bytes,
            ..TrieStats::default()
        };
        let mut hist = [0usize; 8];
        let mut depth = |addr: u32| hist[(self.lookup_counted(addr).1 as usize).min(7)] += 1;
        for (len, m) in self.meta.maps.iter().enumerate() {
            m.keys().for_each(|&k| depth(unpkey(k, len as u8)));
        }
        let mut pfx = Vec::new();
        for (s, &e) in self.root.iter().enumerate() {
            if let Some((l, node0, sseg, srec)) = arena::records(self, e) {
                let (n, lv) = chunk::shape(l, node0);
                st.nodes += n;
                st.leaves += lv;
                pfx.clear();
                chunk::decode(l, node0, sseg, srec, s as u32, &mut pfx);
                pfx.iter().for_each(|p| depth(p.addr));
            }
        }
        st.depth_histogram = hist;
        st
    }

    /// [`LcTrie::lookup`] that also counts the memory locations read: the root entry,
    /// chunk nodes and leaf (none for a const chunk: it is L1-resident), `top`.
    pub(super) fn lookup_counted(&self, addr: u32) -> (u32, u32) {
        let e = self.root[(addr >> (32 - ROOT_BITS)) as usize];
        let (v, k) = match e >> OFF_BITS {
            0 => (chunk::walk(&self.segs[0], e as usize, addr), 1),
            id => {
                let (v, k) = chunk::walk_counted(
                    &self.segs[id as usize],
                    (e & super::OFF_MASK) as usize,
                    addr,
                );
                (v, k + 1)
            }
        };
        if v == NO_ROUTE {
            (self.top[(addr >> (32 - TOP_BITS)) as usize], k + 1)
        } else {
            (v, k)
        }
    }
}

/// The root slot of an address.
#[inline]
fn slot(addr: u32) -> u32 {
    addr >> (32 - ROOT_BITS)
}

/// Key of a prefix /0../18 in its length's map: its `len` bits, right-aligned.
#[inline]
fn pkey(addr: u32, len: u8) -> u32 {
    addr.checked_shr(32 - len as u32).unwrap_or(0)
}

/// Inverse of [`pkey`].
#[inline]
fn unpkey(k: u32, len: u8) -> u32 {
    k.checked_shl(32 - len as u32).unwrap_or(0)
}

/// Longest match of `addr` among the prefixes /0../12.
fn short_lpm(maps: &[Arc<FxHashMap<u32, u32>>], addr: u32) -> u32 {
    (0..=TOP_MAX)
        .rev()
        .find_map(|l| maps[l as usize].get(&pkey(addr, l)).copied())
        .unwrap_or(NO_ROUTE)
}

/// Longest match of root slot `s` among the prefixes /13../18 (what its chunk inherits).
fn mid_lpm(maps: &[Arc<FxHashMap<u32, u32>>], s: u32) -> u32 {
    let addr = s << (32 - ROOT_BITS);
    (MID_MIN..=MID_MAX)
        .rev()
        .find_map(|l| maps[l as usize].get(&pkey(addr, l)).copied())
        .unwrap_or(NO_ROUTE)
}

/// Merges sorted changes into sorted prefixes; returns how many prefixes `out` has that
/// `old` had not (`out.len() - old.len()` may be negative: the caller subtracts).
fn merge(old: &[Pfx], ch: &[Op], out: &mut Vec<Pfx>) -> usize {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < ch.len() {
        let o = old.get(i).map(Pfx::dfs);
        let c = ch.get(j).map(|c| (c.addr, c.len));
        match (o, c) {
            (Some(o), Some(c)) if c <= o => {
                if let Some(value) = ch[j].value {
                    out.push(Pfx {
                        addr: c.0,
                        len: c.1,
                        value,
                    });
                }
                i += (c == o) as usize;
                j += 1;
            }
            (Some(_), _) => {
                out.push(old[i]);
                i += 1;
            }
            (None, _) => {
                if let Some(value) = ch[j].value {
                    out.push(Pfx {
                        addr: ch[j].addr,
                        len: ch[j].len,
                        value,
                    });
                }
                j += 1;
            }
        }
    }
    out.len()
}
