//! Where chunks live: segments of u32 words shared between versions, the builder that
//! makes a new version by path copying, and compaction. Control core only.
//!
//! Segments come in pairs with one id: the lookup segment holds chunks' lookup records
//! (what workers read, kept dense so a full table's nodes and leaves stay cache-resident),
//! the store segment their store records (the prefixes, read only by updates). A chunk's
//! two records are always in the pair with the same id. Pair 0 is special: its lookup
//! segment holds the const chunks, one single-leaf chunk per value that a whole root slot
//! answers (NO_ROUTE first), shared by every such slot, so that every root entry is a
//! chunk reference and the lookup has a single shape.
//!
//! A reference is `pair id << OFF_BITS | word offset`. A version's segments are immutable
//! (`Arc<[u32]>`); a builder appends to one open pair, copied from the previous version's
//! tail only when it first writes. A released chunk becomes garbage. When garbage reaches
//! a third of all segment words, the sealed pairs with more garbage than average have
//! their chunks copied to the open pair (records are position independent) and are
//! dropped with the last version using them: each compaction copies about one to two live
//! words per garbage word it frees, so its cost is proportional to the updates that made
//! the garbage.

use super::chunk::{self, Pfx, Scratch};
use super::{LcTrie, NO_ROUTE, OFF_BITS, OFF_MASK, SEG_LIMIT};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// A pair is sealed once either of its segments holds this many words (64 KiB; a chunk
/// may overrun it: the largest possible lookup record is about 46 Ki words, offsets have
/// 20 bits). Small enough that copying the open pair per batch is cheap.
const SEG_WORDS: usize = 1 << 14;

/// Per-version bookkeeping of the segment pairs.
#[derive(Clone, Debug, Default)]
pub(super) struct ArenaMeta {
    /// Words still referenced, per pair: lookup and store segment.
    pub live: Vec<(u32, u32)>,
    /// Ids of dropped pairs, for reuse.
    pub free: Vec<u16>,
    /// The pair new records are appended to.
    pub tail: usize,
}

#[inline]
fn split(r: u32) -> (usize, usize) {
    ((r >> OFF_BITS) as usize, (r & OFF_MASK) as usize)
}

/// Chunk bookkeeping of one version (control core only).
#[derive(Clone, Debug, Default)]
pub(super) struct ChunkMeta {
    pub arena: ArenaMeta,
    /// The store segments (the lookup segments are in [`LcTrie`] itself).
    pub ssegs: Vec<Arc<[u32]>>,
    /// Const chunks: value -> root entry.
    pub consts: Arc<FxHashMap<u32, u32>>,
    /// Chunks (excluding const chunks), their node and leaf words, their prefixes.
    pub chunks: usize,
    pub lookup_words: usize,
    pub prefixes: usize,
}

impl ChunkMeta {
    /// (lookup words incl. the const segment, store words incl. headers, garbage words).
    pub fn words(&self, lsegs: &[Arc<[u32]>]) -> (usize, usize, usize) {
        let (l_live, s_live) = self
            .arena
            .live
            .iter()
            .skip(1)
            .fold((0, 0), |(l, s), &(a, b)| (l + a as usize, s + b as usize));
        let total: usize = lsegs
            .iter()
            .skip(1)
            .chain(self.ssegs.iter().skip(1))
            .map(|s| s.len())
            .sum();
        (
            self.lookup_words + lsegs[0].len(),
            s_live + self.chunks,
            total - l_live - s_live,
        )
    }
}

/// The records of root entry `e` of a finished version: (lookup segment, node0, store
/// segment, store record), or None for a const chunk.
pub(super) fn records(t: &LcTrie, e: u32) -> Option<(&[u32], usize, &[u32], usize)> {
    let (id, node0) = split(e);
    if id == 0 {
        return None;
    }
    let l = &t.segs[id][..];
    Some((
        l,
        node0,
        &t.meta.chunks.ssegs[id][..],
        (l[node0 - 1] & OFF_MASK) as usize,
    ))
}

/// A version under construction: the segment pairs and the chunk bookkeeping.
pub(super) struct Builder {
    lsegs: Vec<Arc<[u32]>>,
    ssegs: Vec<Arc<[u32]>>,
    meta: ArenaMeta,
    /// The words of pair `meta.tail` once `loaded`; until then the segments are still the
    /// previous version's (shared) ones.
    lopen: Vec<u32>,
    sopen: Vec<u32>,
    loaded: bool,
    consts: Arc<FxHashMap<u32, u32>>,
    chunks: usize,
    lookup_words: usize,
    prefixes: usize,
    sc: Scratch,
    empty: Arc<[u32]>,
}

impl Builder {
    /// An empty arena: the const segment with the NO_ROUTE chunk, and an open pair.
    pub fn fresh() -> Builder {
        let empty: Arc<[u32]> = Arc::from(Vec::new());
        let mut b = Builder {
            lsegs: vec![empty.clone(), empty.clone()],
            ssegs: vec![empty.clone(), empty.clone()],
            meta: ArenaMeta {
                live: vec![(0, 0); 2],
                free: Vec::new(),
                tail: 1,
            },
            lopen: Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4),
            sopen: Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4),
            loaded: true,
            consts: Arc::new(FxHashMap::default()),
            chunks: 0,
            lookup_words: 0,
            prefixes: 0,
            sc: Scratch::default(),
            empty,
        };
        let r = b.const_ref(NO_ROUTE);
        debug_assert_eq!(r, super::NONE_REF);
        b
    }

    /// Continues the arena of `t`; nothing is copied until something is written.
    pub fn resume(t: &LcTrie) -> Builder {
        let m = &t.meta.chunks;
        Builder {
            lsegs: t.segs.clone(),
            ssegs: m.ssegs.clone(),
            meta: m.arena.clone(),
            lopen: Vec::new(),
            sopen: Vec::new(),
            loaded: false,
            consts: m.consts.clone(),
            chunks: m.chunks,
            lookup_words: m.lookup_words,
            prefixes: m.prefixes,
            sc: Scratch::default(),
            empty: Arc::from(Vec::new()),
        }
    }

    /// Makes the open pair writable (copies the shared tail once).
    fn load(&mut self) {
        if !self.loaded {
            let t = self.meta.tail;
            self.lopen = Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4);
            self.lopen.extend_from_slice(&self.lsegs[t]);
            self.sopen = Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4);
            self.sopen.extend_from_slice(&self.ssegs[t]);
            self.loaded = true;
        }
    }

    /// Pair `id` as this builder sees it.
    fn pair(&self, id: usize) -> (&[u32], &[u32]) {
        if id == self.meta.tail && self.loaded {
            (&self.lopen, &self.sopen)
        } else {
            (&self.lsegs[id], &self.ssegs[id])
        }
    }

    /// Loads the open pair, sealing it and opening another if it is full.
    fn make_room(&mut self) {
        self.load();
        if self.lopen.len() < SEG_WORDS && self.sopen.len() < SEG_WORDS {
            return;
        }
        self.seal();
        self.meta.tail = match self.meta.free.pop() {
            Some(id) => id as usize,
            None => {
                self.lsegs.push(self.empty.clone());
                self.ssegs.push(self.empty.clone());
                self.meta.live.push((0, 0));
                self.lsegs.len() - 1
            }
        };
        assert!(
            self.meta.tail < SEG_LIMIT,
            "LcTrie: more than {SEG_LIMIT} segment pairs"
        );
        self.lopen = Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4);
        self.sopen = Vec::with_capacity(SEG_WORDS + SEG_WORDS / 4);
    }

    /// Freezes the open pair into the version's segments.
    fn seal(&mut self) {
        if self.loaded {
            let t = self.meta.tail;
            self.lsegs[t] = std::mem::take(&mut self.lopen).into();
            self.ssegs[t] = std::mem::take(&mut self.sopen).into();
        }
    }

    /// The reference of offset `off` in the open pair.
    fn reference(&self, off: usize) -> u32 {
        assert!(off <= OFF_MASK as usize, "LcTrie: segment offset overflow");
        (self.meta.tail as u32) << OFF_BITS | off as u32
    }

    /// The root entry of a slot that answers `v` everywhere: its const chunk (made the
    /// first time the value is seen, in a copy of the const segment).
    fn const_ref(&mut self, v: u32) -> u32 {
        if let Some(&r) = self.consts.get(&v) {
            return r;
        }
        let mut seg0 = self.lsegs[0].to_vec();
        let (node0, _) = chunk::encode(&mut seg0, &mut Vec::new(), &[], v, &mut self.sc);
        self.lsegs[0] = seg0.into();
        let r = node0 as u32;
        Arc::make_mut(&mut self.consts).insert(v, r);
        r
    }

    /// Builds a chunk for `pfx` (or uses a const chunk if there is none); returns its
    /// root entry.
    pub fn place(&mut self, pfx: &[Pfx], inherited: u32) -> u32 {
        if pfx.is_empty() {
            return self.const_ref(inherited);
        }
        self.make_room();
        let (l0, s0) = (self.lopen.len(), self.sopen.len());
        let (node0, srec) = chunk::encode(
            &mut self.lopen,
            &mut self.sopen,
            pfx,
            inherited,
            &mut self.sc,
        );
        self.lopen[node0 - 1] = self.reference(srec);
        let live = &mut self.meta.live[self.meta.tail];
        live.0 += (self.lopen.len() - l0) as u32;
        live.1 += (self.sopen.len() - s0) as u32;
        self.chunks += 1;
        self.lookup_words += self.lopen.len() - node0;
        self.prefixes += pfx.len();
        self.reference(node0)
    }

    /// Prefetches the lookup record of chunk `e` (its header and first node).
    pub fn prefetch_lookup(&self, e: u32) {
        let (id, node0) = split(e);
        if let Some(w) = self.pair(id).0.get(node0 - 1) {
            crate::dpdk::prefetch(w);
        }
    }

    /// Prefetches the store record of chunk `e` (reads its header).
    pub fn prefetch_store(&self, e: u32) {
        let (id, node0) = split(e);
        if id != 0 {
            let (l, s) = self.pair(id);
            if let Some(w) = l
                .get(node0 - 1)
                .and_then(|&h| s.get((h & OFF_MASK) as usize))
            {
                crate::dpdk::prefetch(w);
            }
        }
    }

    /// Appends the prefixes of the chunk `e` of root slot `slot` to `out` (none for a
    /// const chunk) and forgets the chunk (it becomes garbage in its pair).
    pub fn take(&mut self, e: u32, slot: u32, out: &mut Vec<Pfx>) {
        let (id, node0) = split(e);
        if id == 0 {
            return;
        }
        let (l, s) = self.pair(id);
        let n0 = out.len();
        let (lw, sw) = chunk::decode(l, node0, s, (l[node0 - 1] & OFF_MASK) as usize, slot, out);
        let live = &mut self.meta.live[id];
        live.0 -= lw as u32;
        live.1 -= sw as u32;
        self.chunks -= 1;
        self.lookup_words -= lw - 1;
        self.prefixes -= out.len() - n0;
    }

    /// Compaction (see the module doc), and of the const segment. Returns whether any root
    /// entry was rewritten.
    pub fn compact(&mut self, root: &mut [u32]) -> bool {
        let consts = self.compact_consts(root);
        let t = self.meta.tail;
        let size = |b: &Builder, id: usize| {
            let (l, s) = b.pair(id);
            l.len() + s.len()
        };
        let live = |b: &Builder, id: usize| b.meta.live[id].0 as usize + b.meta.live[id].1 as usize;
        let ids = 1..self.lsegs.len();
        let total: usize = ids.clone().map(|id| size(self, id)).sum();
        let garbage = total - ids.clone().map(|id| live(self, id)).sum::<usize>();
        if garbage * 3 < total || garbage < SEG_WORDS {
            return consts;
        }
        // Pairs with more garbage than average: garbage/size >= garbage_total/total.
        let victims: Vec<bool> = (0..self.lsegs.len())
            .map(|id| {
                let sz = size(self, id);
                id != 0 && id != t && sz > 0 && (sz - live(self, id)) * total >= garbage * sz
            })
            .collect();
        for e in root.iter_mut() {
            let (id, node0) = split(*e);
            if !victims.get(id).copied().unwrap_or(false) {
                continue;
            }
            let (l, s) = (self.lsegs[id].clone(), self.ssegs[id].clone());
            let srec = (l[node0 - 1] & OFF_MASK) as usize;
            let (lw, sw) = (
                chunk::lookup_record_words(&l, node0),
                chunk::store_record_words(&s, srec),
            );
            self.make_room();
            let (la, sa) = (self.lopen.len(), self.sopen.len());
            self.lopen.extend_from_slice(&l[node0 - 1..node0 - 1 + lw]);
            self.sopen.extend_from_slice(&s[srec..srec + sw]);
            self.lopen[la] = self.reference(sa);
            let nt = self.meta.tail;
            self.meta.live[nt].0 += lw as u32;
            self.meta.live[nt].1 += sw as u32;
            self.meta.live[id].0 -= lw as u32;
            self.meta.live[id].1 -= sw as u32;
            *e = self.reference(la + 1);
        }
        for (id, _) in victims.iter().enumerate().filter(|(_, &v)| v) {
            debug_assert_eq!(self.meta.live[id], (0, 0));
            self.lsegs[id] = self.empty.clone();
            self.ssegs[id] = self.empty.clone();
            self.meta.live[id] = (0, 0);
            self.meta.free.push(id as u16);
        }
        true
    }

    /// Rebuilds the const segment when most of its chunks are no longer referenced (values
    /// that came and went).
    fn compact_consts(&mut self, root: &mut [u32]) -> bool {
        if self.consts.len() < 64 {
            return false;
        }
        let used: FxHashSet<u32> = root
            .iter()
            .copied()
            .filter(|&e| e >> OFF_BITS == 0)
            .collect();
        if used.len() * 2 >= self.consts.len() {
            return false;
        }
        let old: FxHashMap<u32, u32> = self.consts.iter().map(|(&v, &r)| (r, v)).collect();
        self.lsegs[0] = self.empty.clone();
        self.consts = Arc::new(FxHashMap::default());
        self.const_ref(NO_ROUTE);
        let mut remap = FxHashMap::default();
        for r in used {
            let v = old[&r];
            remap.insert(r, self.const_ref(v));
        }
        for e in root.iter_mut().filter(|e| **e >> OFF_BITS == 0) {
            *e = remap[e];
        }
        true
    }

    /// The lookup segments and the chunk bookkeeping of the finished version.
    pub fn finish(mut self) -> (Vec<Arc<[u32]>>, ChunkMeta) {
        self.seal();
        let meta = ChunkMeta {
            arena: self.meta,
            ssegs: self.ssegs,
            consts: self.consts,
            chunks: self.chunks,
            lookup_words: self.lookup_words,
            prefixes: self.prefixes,
        };
        (self.lsegs, meta)
    }
}

#[cfg(test)]
pub(super) fn const_count(t: &LcTrie) -> usize {
    t.meta.chunks.consts.len()
}
