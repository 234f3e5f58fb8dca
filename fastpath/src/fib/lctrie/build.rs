//! Building versions of the trie: the full build ([`LcTrie::from_routes`]), batched
//! updates by path copying ([`LcTrie::update`]), the segment arena with its compaction,
//! exact match, and statistics. Control core only: nothing here runs on a worker.

use super::chunk::{self, Pfx};
use super::{mask, Change, LcTrie, CHUNK_BIT, NO_ROUTE, OFF_BITS, OFF_MASK, ROOT_BITS, ROOT_NONE, SEG_MASK, TOP_BITS};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Longest prefix resolved by `top`.
const TOP_MAX: u8 = TOP_BITS as u8;
/// Longest prefix resolved by the root array (inherited by chunks).
const MID_MAX: u8 = ROOT_BITS as u8;
/// Root slots.
const SLOTS: usize = 1 << ROOT_BITS;
/// A segment is sealed once it holds this many words (a chunk may overrun it: the
/// largest possible chunk is about 95 Ki words, offsets have 18 bits).
const SEG_WORDS: usize = 1 << 16;
/// Root slots per mid bucket: a /13../18 prefix lies in one /13, i.e. one bucket.
const BUCKET_SHIFT: u32 = ROOT_BITS - TOP_BITS - 1;

/// Update storage and arena bookkeeping of one version (control core only).
#[derive(Clone)]
pub(super) struct Meta {
    /// Prefixes /0../12, one map per length: network address -> value.
    short: Arc<Vec<FxHashMap<u32, u32>>>,
    /// Prefixes /13../18 by /13 bucket (`addr >> 19`), depth-first in each bucket.
    mid: Arc<Vec<Option<Arc<[Pfx]>>>>,
    /// Live words (chunks still referenced by the root) per segment.
    live: Vec<u32>,
    /// Segment ids whose segment is empty, for reuse.
    free: Vec<u16>,
    /// The segment chunks are appended to.
    tail: usize,
    /// Number of prefixes.
    count: usize,
    /// Words of chunk lookup data (nodes and leaves) referenced by the root.
    lookup_words: usize,
    /// Prefixes stored in chunks.
    chunk_prefixes: usize,
    /// Chunks referenced by the root.
    chunks: usize,
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
    /// memory locations (root entry, chunk nodes, leaf, `top` fallback).
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
        for (k, n) in self.depth_histogram.iter().enumerate().filter(|(_, &n)| n > 0) {
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
        Op { addr: addr & mask(len), len, value: value.filter(|&v| v != NO_ROUTE) }
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
        let mut short = vec![FxHashMap::default(); TOP_MAX as usize + 1];
        let mut mid: Vec<Pfx> = Vec::new();
        let mut long: Vec<Pfx> = Vec::with_capacity(r.len());
        for (i, &(addr, len, value)) in r.iter().enumerate() {
            if r.get(i + 1).is_some_and(|n| (n.0, n.1) == (addr, len)) || value == NO_ROUTE {
                continue;
            }
            match len {
                0..=TOP_MAX => {
                    short[len as usize].insert(addr, value);
                }
                ..=MID_MAX => mid.push(Pfx { addr, len, value }),
                _ => long.push(Pfx { addr, len, value }),
            }
        }
        drop(r);
        let count = short.iter().map(|m| m.len()).sum::<usize>() + mid.len() + long.len();
        let top = top_from(&short);

        // Inherited answers of the root slots: paint /13../18 depth-first.
        let mut inherited = vec![NO_ROUTE; SLOTS];
        for p in &mid {
            let s = (p.addr >> (32 - ROOT_BITS)) as usize;
            inherited[s..s + (1 << (MID_MAX - p.len))].fill(p.value);
        }
        let mut buckets: Vec<Option<Arc<[Pfx]>>> = vec![None; SLOTS >> BUCKET_SHIFT];
        for group in mid.chunk_by(|a, b| bucket(a.addr) == bucket(b.addr)) {
            buckets[bucket(group[0].addr)] = Some(group.into());
        }

        let mut b = Builder::fresh();
        let mut root = vec![ROOT_NONE; SLOTS];
        let mut groups = long.chunk_by(|a, b| a.addr >> (32 - ROOT_BITS) == b.addr >> (32 - ROOT_BITS)).peekable();
        for (s, e) in root.iter_mut().enumerate() {
            *e = match groups.next_if(|g| (g[0].addr >> (32 - ROOT_BITS)) as usize == s) {
                Some(g) => b.place(g, inherited[s]),
                None => b.direct(inherited[s]),
            };
        }
        b.meta.short = Arc::new(short);
        b.meta.mid = Arc::new(buckets);
        b.meta.count = count;
        b.finish(top.into(), root)
    }

    /// A new version with `changes` applied in order (for the same prefix the last change
    /// wins). `self` is not modified and stays valid: readers may keep using it until they
    /// pass a quiescent state. Cost: the root array is copied (1 MiB), each root slot that
    /// changed gets a new chunk (only the slots under changed prefixes /13 and longer; a
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
        let mut b = Builder::resume(self);

        // /0../12: the short maps and `top`.
        let mut top = None;
        if ops.iter().any(|o| o.len <= TOP_MAX) {
            let short = Arc::make_mut(&mut b.meta.short);
            let mut dirty = vec![false; 1 << TOP_BITS];
            for o in ops.iter().filter(|o| o.len <= TOP_MAX) {
                let m = &mut short[o.len as usize];
                let had = match o.value {
                    Some(v) => m.insert(o.addr, v).is_some(),
                    None => m.remove(&o.addr).is_some(),
                };
                b.meta.count = b.meta.count + o.value.is_some() as usize - had as usize;
                let t = (o.addr >> (32 - TOP_BITS)) as usize;
                dirty[t..t + (1 << (TOP_MAX - o.len))].fill(true);
            }
            let mut t2 = self.top.to_vec();
            for (t, _) in dirty.iter().enumerate().filter(|(_, &d)| d) {
                t2[t] = short_lpm(short, (t as u32) << (32 - TOP_BITS));
            }
            top = Some(t2.into());
        }

        // /13../18: the mid buckets; every slot below a change is rebuilt.
        let mut dirty_slots: Vec<u32> = Vec::new();
        let mut mids: Vec<Op> = ops.iter().filter(|o| (TOP_MAX + 1..=MID_MAX).contains(&o.len)).copied().collect();
        if !mids.is_empty() {
            mids.sort_by_key(|o| bucket(o.addr)); // stable: batch order within a bucket
            let buckets = Arc::make_mut(&mut b.meta.mid);
            for group in mids.chunk_by(|a, b| bucket(a.addr) == bucket(b.addr)) {
                let bk = bucket(group[0].addr);
                let mut v: Vec<Pfx> = buckets[bk].as_deref().unwrap_or(&[]).to_vec();
                for o in group {
                    let at = v.binary_search_by_key(&(o.addr, o.len), Pfx::dfs);
                    match (at, o.value) {
                        (Ok(i), Some(value)) => v[i].value = value,
                        (Err(i), Some(value)) => {
                            v.insert(i, Pfx { addr: o.addr, len: o.len, value });
                            b.meta.count += 1;
                        }
                        (Ok(i), None) => {
                            v.remove(i);
                            b.meta.count -= 1;
                        }
                        (Err(_), None) => {}
                    }
                    let s = o.addr >> (32 - ROOT_BITS);
                    dirty_slots.extend(s..s + (1 << (MID_MAX - o.len)));
                }
                buckets[bk] = if v.is_empty() { None } else { Some(v.into()) };
            }
        }

        // /19../32: sorted depth-first (hence by slot), last change per prefix.
        let mut longs: Vec<(Op, usize)> =
            ops.iter().enumerate().filter(|(_, o)| o.len > MID_MAX).map(|(i, o)| (*o, i)).collect();
        longs.sort_unstable_by_key(|(o, i)| (o.addr, o.len, *i));
        let longs: Vec<Op> = longs
            .chunk_by(|a, b| (a.0.addr, a.0.len) == (b.0.addr, b.0.len))
            .map(|g| g[g.len() - 1].0)
            .collect();
        dirty_slots.extend(longs.iter().map(|o| o.addr >> (32 - ROOT_BITS)));
        dirty_slots.sort_unstable();
        dirty_slots.dedup();

        let mut root = self.root.to_vec();
        let mut groups = longs.chunk_by(|a, b| a.addr >> (32 - ROOT_BITS) == b.addr >> (32 - ROOT_BITS)).peekable();
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for &s in &dirty_slots {
            let ch = groups.next_if(|g| g[0].addr >> (32 - ROOT_BITS) == s).unwrap_or(&[]);
            old.clear();
            let e = root[s as usize];
            if e & CHUNK_BIT != 0 {
                let (seg, node0) = b.chunk_at(e);
                chunk::decode(seg, node0, s, &mut old);
                b.release(e);
            }
            new.clear();
            b.meta.count = (b.meta.count + merge(&old, ch, &mut new)) - old.len();
            let inherited = mid_lpm(&b.meta.mid, s);
            root[s as usize] = if new.is_empty() { b.direct(inherited) } else { b.place(&new, inherited) };
        }
        b.compact(&mut root);
        b.finish(top.unwrap_or_else(|| self.top.clone()), root)
    }

    /// Exact match: the value stored for this prefix.
    pub fn get(&self, addr: u32, len: u8) -> Option<u32> {
        let len = len.min(32);
        let addr = addr & mask(len);
        match len {
            0..=TOP_MAX => self.meta.short[len as usize].get(&addr).copied(),
            ..=MID_MAX => {
                let b = self.meta.mid[bucket(addr)].as_deref()?;
                b.binary_search_by_key(&(addr, len), Pfx::dfs).ok().map(|i| b[i].value)
            }
            _ => {
                let s = addr >> (32 - ROOT_BITS);
                let e = self.root[s as usize];
                if e & CHUNK_BIT == 0 {
                    return None;
                }
                let seg = &self.segs[((e >> OFF_BITS) & SEG_MASK) as usize];
                chunk::get(seg, (e & OFF_MASK) as usize, s, addr, len)
            }
        }
    }

    /// Every prefix as `(network, length, value)`, sorted by (network, length).
    pub fn routes(&self) -> Vec<(u32, u8, u32)> {
        let mut v: Vec<(u32, u8, u32)> = Vec::with_capacity(self.len());
        for (len, m) in self.meta.short.iter().enumerate() {
            v.extend(m.iter().map(|(&a, &val)| (a, len as u8, val)));
        }
        v.extend(self.meta.mid.iter().flatten().flat_map(|b| b.iter()).map(|p| (p.addr, p.len, p.value)));
        let mut pfx = Vec::new();
        for (s, &e) in self.root.iter().enumerate().filter(|(_, &e)| e & CHUNK_BIT != 0) {
            pfx.clear();
            let seg = &self.segs[((e >> OFF_BITS) & SEG_MASK) as usize];
            chunk::decode(seg, (e & OFF_MASK) as usize, s as u32, &mut pfx);
            v.extend(pfx.iter().map(|p| (p.addr, p.len, p.value)));
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
        let seg_words: usize = self.segs.iter().map(|s| s.len()).sum();
        let live_words: usize = m.live.iter().map(|&w| w as usize).sum();
        let lookup = 4 * (self.top.len() + self.root.len() + m.lookup_words);
        let chunk_store = 4 * (live_words - m.lookup_words);
        let short: usize = m.short.iter().map(|h| h.capacity() * 9).sum();
        let mid = m.mid.len() * std::mem::size_of::<Option<Arc<[Pfx]>>>()
            + m.mid.iter().flatten().map(|b| 16 + std::mem::size_of_val(&**b)).sum::<usize>();
        let arena = self.segs.len() * (16 + 16) + m.live.len() * 4;
        (lookup, chunk_store + short + mid + arena, 4 * (seg_words - live_words))
    }

    /// Shape, memory and the depth histogram. Walks the whole table (milliseconds).
    pub fn stats(&self) -> TrieStats {
        let (lookup_bytes, update_bytes, garbage_bytes) = self.memory();
        let mut st = TrieStats {
            prefixes: self.len(),
            chunks: self.meta.chunks,
            segments: self.segs.iter().filter(|s| !s.is_empty()).count(),
            lookup_bytes,
            update_bytes,
            garbage_bytes,
            ..TrieStats::default()
        };
        let mut hist = [0usize; 8];
        let mut depth = |addr: u32| hist[(self.lookup_counted(addr).1 as usize).min(7)] += 1;
        self.meta.short.iter().flat_map(|m| m.keys()).for_each(|&a| depth(a));
        self.meta.mid.iter().flatten().flat_map(|b| b.iter()).for_each(|p| depth(p.addr));
        let mut pfx = Vec::new();
        for (s, &e) in self.root.iter().enumerate() {
            if e & CHUNK_BIT != 0 {
                let seg = &self.segs[((e >> OFF_BITS) & SEG_MASK) as usize];
                let node0 = (e & OFF_MASK) as usize;
                let (n, l) = chunk::shape(seg, node0);
                st.nodes += n;
                st.leaves += l;
                pfx.clear();
                chunk::decode(seg, node0, s as u32, &mut pfx);
                pfx.iter().for_each(|p| depth(p.addr));
            }
        }
        st.depth_histogram = hist;
        st
    }

    /// [`LcTrie::lookup`] that also counts the memory locations read.
    pub(super) fn lookup_counted(&self, addr: u32) -> (u32, u32) {
        let e = self.root[(addr >> (32 - ROOT_BITS)) as usize];
        let (v, k) = if e & CHUNK_BIT == 0 {
            (if e == ROOT_NONE { NO_ROUTE } else { e }, 1)
        } else {
            let seg = &self.segs[((e >> OFF_BITS) & SEG_MASK) as usize];
            let (v, k) = chunk::walk_counted(seg, (e & OFF_MASK) as usize, addr);
            (v, k + 1)
        };
        if v == NO_ROUTE {
            (self.top[(addr >> (32 - TOP_BITS)) as usize], k + 1)
        } else {
            (v, k)
        }
    }
}

/// The mid bucket of an address (its /13).
#[inline]
fn bucket(addr: u32) -> usize {
    (addr >> (32 - ROOT_BITS + BUCKET_SHIFT)) as usize
}

/// The `top` table from the short maps: each entry is the longest /0../12 match.
fn top_from(short: &[FxHashMap<u32, u32>]) -> Vec<u32> {
    (0..1u32 << TOP_BITS).map(|t| short_lpm(short, t << (32 - TOP_BITS))).collect()
}

/// Longest match of `addr` among the prefixes /0../12.
fn short_lpm(short: &[FxHashMap<u32, u32>], addr: u32) -> u32 {
    (0..=TOP_MAX).rev().find_map(|l| short[l as usize].get(&(addr & mask(l))).copied()).unwrap_or(NO_ROUTE)
}

/// Longest match of root slot `s` among the prefixes /13../18 (what its chunk inherits).
fn mid_lpm(mid: &[Option<Arc<[Pfx]>>], s: u32) -> u32 {
    let addr = s << (32 - ROOT_BITS);
    let b = mid[(s >> BUCKET_SHIFT) as usize].as_deref().unwrap_or(&[]);
    // Depth-first order: the last covering prefix is the longest.
    b.iter().rev().find(|p| addr & mask(p.len) == p.addr).map_or(NO_ROUTE, |p| p.value)
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
                    out.push(Pfx { addr: c.0, len: c.1, value });
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
                    out.push(Pfx { addr: ch[j].addr, len: ch[j].len, value });
                }
                j += 1;
            }
        }
    }
    out.len()
}

/// A version under construction: its arena (segments, the open one as a Vec) and meta.
struct Builder {
    segs: Vec<Arc<[u32]>>,
    /// The words of segment `open_id` once `loaded`; until then `segs[open_id]` is
    /// still the previous version's (shared) segment.
    open: Vec<u32>,
    open_id: usize,
    loaded: bool,
    meta: Meta,
    empty: Arc<[u32]>,
}

impl Builder {
    fn fresh() -> Builder {
        let empty: Arc<[u32]> = Arc::from(Vec::new());
        // Segment 0 holds only the dummy chunk (no prefix, answers NO_ROUTE) that the bulk
        // lookup reads for root entries that are not chunks; it is never compacted.
        let mut dummy = Vec::new();
        let node0 = chunk::encode(&mut dummy, &[], NO_ROUTE);
        debug_assert_eq!(CHUNK_BIT | node0 as u32, super::DUMMY_REF);
        Builder {
            segs: vec![dummy.as_slice().into(), empty.clone()],
            open: Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4),
            open_id: 1,
            loaded: true,
            meta: Meta {
                short: Arc::new(vec![FxHashMap::default(); TOP_MAX as usize + 1]),
                mid: Arc::new(vec![None; SLOTS >> BUCKET_SHIFT]),
                live: vec![dummy.len() as u32, 0],
                free: Vec::new(),
                tail: 1,
                count: 0,
                lookup_words: 0,
                chunk_prefixes: 0,
                chunks: 0,
            },
            empty,
        }
    }

    /// Continues the arena of `t`: every segment is shared; the tail is copied (so new
    /// chunks can be appended while the old version keeps the original) only when the
    /// first chunk is written.
    fn resume(t: &LcTrie) -> Builder {
        let meta = (*t.meta).clone();
        let empty: Arc<[u32]> = Arc::from(Vec::new());
        let open_id = meta.tail;
        Builder { segs: t.segs.clone(), open: Vec::new(), open_id, loaded: false, meta, empty }
    }

    /// Makes the open segment writable (copies the shared tail once).
    fn load(&mut self) {
        if !self.loaded {
            self.open = Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4);
            self.open.extend_from_slice(&self.segs[self.open_id]);
            self.loaded = true;
        }
    }

    /// The words of segment `id` as this builder sees them.
    fn seg(&self, id: usize) -> &[u32] {
        if id == self.open_id && self.loaded {
            &self.open
        } else {
            &self.segs[id]
        }
    }

    /// The segment and first-node offset of a chunk reference (the open segment is
    /// snapshotted: chunks are only read before they are released).
    fn chunk_at(&self, e: u32) -> (&[u32], usize) {
        (self.seg(((e >> OFF_BITS) & SEG_MASK) as usize), (e & OFF_MASK) as usize)
    }

    /// Seals the open segment and opens a new one if it is full.
    fn make_room(&mut self) {
        self.load();
        if self.open.len() < SEG_WORDS {
            return;
        }
        let words = std::mem::replace(&mut self.open, Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4));
        self.segs[self.open_id] = words.into();
        self.open_id = match self.meta.free.pop() {
            Some(id) => id as usize,
            None => {
                self.segs.push(self.empty.clone());
                self.meta.live.push(0);
                self.segs.len() - 1
            }
        };
        assert!(self.open_id <= SEG_MASK as usize, "LcTrie: more than {} segments", SEG_MASK + 1);
    }

    fn entry(&self, node0: usize) -> u32 {
        assert!(node0 <= OFF_MASK as usize, "LcTrie: segment offset overflow");
        CHUNK_BIT | (self.open_id as u32) << OFF_BITS | node0 as u32
    }

    /// Builds a chunk in the open segment; returns its root entry.
    fn place(&mut self, pfx: &[Pfx], inherited: u32) -> u32 {
        self.make_room();
        let start = self.open.len();
        let node0 = chunk::encode(&mut self.open, pfx, inherited);
        self.account(node0, start);
        self.entry(node0)
    }

    /// Accounts for the chunk just appended at `open[start..]` (first node at `node0`).
    fn account(&mut self, node0: usize, start: usize) {
        let words = self.open.len() - start;
        self.meta.live[self.open_id] += words as u32;
        self.meta.lookup_words += chunk::lookup_words(&self.open, node0);
        self.meta.chunk_prefixes += chunk::prefix_count(&self.open, node0);
        self.meta.chunks += 1;
    }

    /// The root entry answering `inherited` for a whole slot (a one-leaf chunk when the
    /// value does not fit a root entry).
    fn direct(&mut self, inherited: u32) -> u32 {
        match inherited {
            NO_ROUTE => ROOT_NONE,
            v if v < ROOT_NONE => v,
            v => self.place(&[], v),
        }
    }

    /// Forgets the chunk `e` (it becomes garbage in its segment).
    fn release(&mut self, e: u32) {
        let id = ((e >> OFF_BITS) & SEG_MASK) as usize;
        let node0 = (e & OFF_MASK) as usize;
        let seg = self.seg(id);
        let (words, lookup, n) = (chunk::words(seg, node0), chunk::lookup_words(seg, node0), chunk::prefix_count(seg, node0));
        self.meta.live[id] -= words as u32;
        self.meta.lookup_words -= lookup;
        self.meta.chunk_prefixes -= n;
        self.meta.chunks -= 1;
    }

    /// Compaction: a sealed segment more than a third garbage has its live chunks copied
    /// to the open segment and is dropped (freed with the last version that uses it).
    fn compact(&mut self, root: &mut [u32]) {
        let victims: Vec<usize> = (0..self.segs.len())
            .filter(|&id| {
                id != self.open_id
                    && !self.segs[id].is_empty()
                    && (self.meta.live[id] as usize) * 3 < self.segs[id].len() * 2
            })
            .collect();
        if victims.is_empty() {
            return;
        }
        let mut is_victim = vec![false; self.segs.len()];
        victims.iter().for_each(|&v| is_victim[v] = true);
        if victims.iter().any(|&v| self.meta.live[v] > 0) {
            for e in root.iter_mut().filter(|e| **e & CHUNK_BIT != 0) {
                let id = ((*e >> OFF_BITS) & SEG_MASK) as usize;
                if !is_victim[id] {
                    continue;
                }
                let seg = self.segs[id].clone();
                let node0 = (*e & OFF_MASK) as usize;
                self.release(*e);
                self.make_room();
                let start = self.open.len();
                self.open.extend_from_slice(&seg[node0 - 1..node0 - 1 + chunk::words(&seg, node0)]);
                let new0 = start + 1;
                self.account(new0, start);
                *e = self.entry(new0);
            }
        }
        for v in victims {
            debug_assert_eq!(self.meta.live[v], 0);
            self.segs[v] = self.empty.clone();
            self.meta.live[v] = 0;
            self.meta.free.push(v as u16);
        }
    }

    fn finish(mut self, top: Arc<[u32]>, root: Vec<u32>) -> LcTrie {
        if self.loaded {
            let open = std::mem::take(&mut self.open);
            self.segs[self.open_id] = open.into();
        }
        self.meta.tail = self.open_id;
        LcTrie { top, root: root.into(), segs: self.segs, meta: Arc::new(self.meta) }
    }
}
