//! One chunk: the prefixes /19../32 under one root slot, as a Poptrie of 6-bit strides
//! (encoding, lookup walk, decoding of its stored prefixes). Layout in the module doc of
//! [`super`]. A chunk has two position-independent records: its lookup record (a header
//! word, then nodes and leaves, offsets relative to the first node) in a lookup segment,
//! and its store record (the prefixes it was built from) in a store segment.
//!
//! ```text
//!  lookup record: [hdr = store ref][node 0][its leaves][child nodes][their leaves]...
//!                                   ^ node0: root entries point here
//!  store record:  [meta][keys: n x 1 or 2 bytes][vrefs: n x 1 or 2 bytes][extras]
//!                 meta = n (15 bits) | key width (1) << 15 | value width (2) << 16
//!                        | extras (14) << 18
//! ```
//!
//! A prefix's value is not stored again: `vref` is the offset (from node0) of a leaf that
//! already holds it, or, for a value no leaf holds (a prefix hidden under more-specifics),
//! `lookup words + i` for `extras[i]`. Keys and references take one byte when every one of
//! the chunk's fits (most chunks hold only /19../24 and fewer than 256 words), else two.
//! Chunks too large for u16 references (never seen in real tables) store their values as
//! u32 words instead (`wide`).

use super::ROOT_BITS;

/// Words of a node: vector (2), leafvec (2), leaf_base - 1, child_base.
pub(super) const NODE_WORDS: usize = 6;

/// A prefix of a chunk: network address, length 19..=32, value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pfx {
    pub addr: u32,
    pub len: u8,
    pub value: u32,
}

impl Pfx {
    /// Depth-first order: a prefix sorts before every prefix it contains.
    #[inline]
    pub fn dfs(&self) -> (u32, u8) {
        (self.addr, self.len)
    }
}

/// The 6-bit position of `addr` in a node whose stride starts at address bit `b` (18, 24
/// or 30; the last stride has 2 real bits, followed by 4 zero bits).
#[inline(always)]
fn pos(addr: u32, b: u32) -> usize {
    ((((addr as u64) << 4) >> (30 - b)) & 63) as usize
}

/// Storage key of a prefix: its position in a complete binary tree below the slot
/// (`1 << (len - 18) | the len - 18 bits after the slot`), below 2^15.
#[inline]
pub(super) fn key(p: &Pfx) -> u16 {
    let d = p.len as u32 - ROOT_BITS;
    ((1 << d) | ((p.addr >> (32 - p.len as u32)) & ((1 << d) - 1))) as u16
}

/// Inverse of [`key`] for a prefix under root slot `slot`.
#[inline]
pub(super) fn unkey(slot: u32, k: u16) -> (u32, u8) {
    let d = 15 - k.leading_zeros();
    let suffix = k as u32 & ((1 << d) - 1);
    (
        (slot << (32 - ROOT_BITS)) | (suffix << (32 - ROOT_BITS - d)),
        (ROOT_BITS + d) as u8,
    )
}

/// Reusable buffers for [`encode`].
#[derive(Default)]
pub(super) struct Scratch {
    /// (value, offset from node0) of every leaf written.
    leaves: Vec<(u32, u32)>,
    extras: Vec<u32>,
    vrefs: Vec<u16>,
}

/// Appends the lookup record of a chunk for `pfx` (sorted depth-first, lengths 19..=32,
/// all under one slot; positions no prefix covers get `inherited`) to `l`, and its store
/// record to `s`. Returns (node0 in `l`, store record start in `s`); the caller writes the
/// store reference into the header word `l[node0 - 1]`.
pub(super) fn encode(
    l: &mut Vec<u32>,
    s: &mut Vec<u32>,
    pfx: &[Pfx],
    inherited: u32,
    sc: &mut Scratch,
) -> (usize, usize) {
    l.push(0);
    let node0 = l.len();
    l.extend_from_slice(&[0; NODE_WORDS]);
    sc.leaves.clear();
    build_node(l, node0, node0, pfx, ROOT_BITS, inherited, &mut sc.leaves);
    let lookup_words = l.len() - node0;

    // Value references: a leaf holding each value, else an extra word. Few leaves (the
    // common case) are searched in place, many are sorted first.
    let few = sc.leaves.len() <= 16;
    if !few {
        sc.leaves.sort_unstable();
        sc.leaves.dedup_by_key(|x| x.0);
    }
    sc.extras.clear();
    sc.vrefs.clear();
    let mut wide = false;
    for p in pfx {
        let found = if few {
            sc.leaves.iter().find(|x| x.0 == p.value).map(|x| x.1)
        } else {
            sc.leaves
                .binary_search_by_key(&p.value, |x| x.0)
                .ok()
                .map(|i| sc.leaves[i].1)
        };
        let r = match found {
            Some(off) => off as usize,
            None => {
                sc.extras.push(p.value);
                lookup_words + sc.extras.len() - 1
            }
        };
        wide |= r > u16::MAX as usize;
        sc.vrefs.push(r as u16);
    }
    let n = pfx.len();
    debug_assert!(n < 1 << 15);
    let max_key = pfx.iter().map(key).max().unwrap_or(0);
    let kw = if max_key < 256 { 1 } else { 2 };
    let vw = if wide || sc.extras.len() >= 1 << 14 {
        4
    } else if lookup_words + sc.extras.len() <= 256 {
        1
    } else {
        2
    };
    let srec = s.len();
    let extras = if vw == 4 { 0 } else { sc.extras.len() };
    s.push(n as u32 | ((kw == 2) as u32) << 15 | (vw as u32 / 2) << 16 | (extras as u32) << 18);
    push_packed(s, pfx.iter().map(|p| key(p) as u32), n, kw);
    if vw == 4 {
        s.extend(pfx.iter().map(|p| p.value));
    } else {
        push_packed(s, sc.vrefs.iter().map(|&r| r as u32), n, vw);
        s.extend_from_slice(&sc.extras);
    }
    (node0, srec)
}

/// Appends `n` values of `w` bytes each (1, 2 or 4), packed into words.
fn push_packed(s: &mut Vec<u32>, mut it: impl Iterator<Item = u32>, n: usize, w: usize) {
    let per = 4 / w;
    for _ in 0..n.div_ceil(per) {
        let mut word = 0u32;
        for k in 0..per {
            word |= it.next().unwrap_or(0) << (8 * w * k);
        }
        s.push(word);
    }
}

/// Element `i` of an array of `w`-byte values packed into words.
#[inline]
fn packed_at(words: &[u32], i: usize, w: usize) -> u32 {
    let b = i * w;
    let v = words[b / 4] >> (8 * (b % 4));
    if w == 4 {
        v
    } else {
        v & ((1 << (8 * w)) - 1)
    }
}

/// Builds the node at `out[at..at + 6]` for the prefixes `pfx` (depth-first, all longer
/// than `b` and inside the node's range), appending its leaves and child nodes.
fn build_node(
    out: &mut Vec<u32>,
    node0: usize,
    at: usize,
    pfx: &[Pfx],
    b: u32,
    inherited: u32,
    leaves: &mut Vec<(u32, u32)>,
) {
    let lim = b + 6;
    let mut leaf = [inherited; 64];
    let mut vector = 0u64;
    // Leaf pushing: in depth-first order a prefix comes before the prefixes it contains,
    // so painting in that order leaves the longest match at every position.
    for p in pfx {
        let v = pos(p.addr, b);
        if (p.len as u32) <= lim {
            let n = 1usize << (lim - p.len as u32);
            leaf[v..v + n].fill(p.value);
        } else {
            vector |= 1 << v;
        }
    }
    let leaf_base = out.len() - node0;
    let mut leafvec = 0u64;
    let mut last = None;
    for (v, &val) in leaf.iter().enumerate() {
        if vector >> v & 1 == 0 && last != Some(val) {
            leafvec |= 1 << v;
            leaves.push((val, (out.len() - node0) as u32));
            out.push(val);
            last = Some(val);
        }
    }
    let child_base = out.len() - node0;
    out.resize(out.len() + NODE_WORDS * vector.count_ones() as usize, 0);
    // leaf_base - 1: the leaf of position v is at leaf_base - 1 + popcount(leafvec[0..=v]),
    // and for a child position that index still falls inside the chunk (at worst on the
    // node's last word), so the branch-free first step may read it.
    out[at..at + NODE_WORDS].copy_from_slice(&[
        vector as u32,
        (vector >> 32) as u32,
        leafvec as u32,
        (leafvec >> 32) as u32,
        (leaf_base - 1) as u32,
        child_base as u32,
    ]);
    // Children: the prefixes longer than this stride, grouped by position (contiguous in
    // depth-first order).
    let mut rest = pfx;
    let mut c = 0;
    while let Some(i) = rest.iter().position(|p| p.len as u32 > lim) {
        let v = pos(rest[i].addr, b);
        let n = rest[i..]
            .iter()
            .take_while(|p| p.len as u32 > lim && pos(p.addr, b) == v)
            .count();
        let child_at = node0 + child_base + NODE_WORDS * c;
        build_node(out, node0, child_at, &rest[i..i + n], lim, leaf[v], leaves);
        rest = &rest[i + n..];
        c += 1;
    }
}

/// Reads the node at `at`: (vector, leafvec, leaf_base - 1, child_base).
#[inline(always)]
fn node(seg: &[u32], at: usize) -> (u64, u64, usize, usize) {
    let n: &[u32; NODE_WORDS] = seg[at..at + NODE_WORDS].try_into().expect("node words");
    (
        n[0] as u64 | (n[1] as u64) << 32,
        n[2] as u64 | (n[3] as u64) << 32,
        n[4] as usize,
        n[5] as usize,
    )
}

/// Longest match for `addr` inside the chunk whose first node is `seg[node0]`; NO_ROUTE
/// when no prefix of the chunk (nor the inherited /13../18 answer) covers it.
#[inline(always)]
pub(super) fn walk(seg: &[u32], node0: usize, addr: u32) -> u32 {
    let key = (addr as u64) << 4;
    let mut at = node0;
    let mut shift = 12u32;
    loop {
        let (vector, leafvec, leaf_base, child_base) = node(seg, at);
        let v = (key >> shift) & 63;
        if vector >> v & 1 != 0 {
            at = node0
                + child_base
                + NODE_WORDS * (vector & ((1u64 << v) - 1)).count_ones() as usize;
            shift = shift.wrapping_sub(6) & 63;
        } else {
            return seg[node0 + leaf_base + (leafvec << (63 - v)).count_ones() as usize];
        }
    }
}

/// The first level of [`walk`] without branches, for the bulk lookup: the leaf value
/// at the address's position in the chunk's first node, and whether that position is a
/// child instead (then the value is meaningless but was read from inside the chunk).
#[inline(always)]
pub(super) fn first_step(seg: &[u32], node0: usize, addr: u32) -> (u32, bool) {
    let (vector, leafvec, leaf_base, _) = node(seg, node0);
    let s = !(addr >> 8) & 63; // 63 - v
    (
        seg[node0 + leaf_base + (leafvec << s).count_ones() as usize],
        ((vector << s) as i64) < 0,
    )
}

/// Like [`walk`], also counting the memory accesses (nodes and the leaf).
pub(super) fn walk_counted(seg: &[u32], node0: usize, addr: u32) -> (u32, u32) {
    let key = (addr as u64) << 4;
    let (mut at, mut shift, mut accesses) = (node0, 12u32, 0);
    loop {
        let (vector, leafvec, leaf_base, child_base) = node(seg, at);
        accesses += 1;
        let v = (key >> shift) & 63;
        if vector >> v & 1 != 0 {
            at = node0
                + child_base
                + NODE_WORDS * (vector & ((1u64 << v) - 1)).count_ones() as usize;
            shift = shift.wrapping_sub(6) & 63;
        } else {
            return (
                seg[node0 + leaf_base + (leafvec << (63 - v)).count_ones() as usize],
                accesses + 1,
            );
        }
    }
}

/// (nodes, leaves) of the chunk at `node0`; its lookup record has
/// `1 + NODE_WORDS * nodes + leaves` words.
pub(super) fn shape(seg: &[u32], node0: usize) -> (usize, usize) {
    fn visit(seg: &[u32], node0: usize, at: usize, acc: &mut (usize, usize)) {
        let (vector, leafvec, _, child_base) = node(seg, at);
        acc.0 += 1;
        acc.1 += leafvec.count_ones() as usize;
        for c in 0..vector.count_ones() as usize {
            visit(seg, node0, node0 + child_base + NODE_WORDS * c, acc);
        }
    }
    let mut acc = (0, 0);
    visit(seg, node0, node0, &mut acc);
    acc
}

/// Words of the lookup record (header included) of the chunk at `node0`.
pub(super) fn lookup_record_words(seg: &[u32], node0: usize) -> usize {
    let (nodes, leaves) = shape(seg, node0);
    1 + NODE_WORDS * nodes + leaves
}

/// A store record's layout (see the module doc).
struct Store<'a> {
    n: usize,
    /// Key and value widths in bytes (value width 4: the values themselves).
    kw: usize,
    vw: usize,
    keys: &'a [u32],
    vals: &'a [u32],
    extras: &'a [u32],
}

impl<'a> Store<'a> {
    fn at(s: &'a [u32], srec: usize) -> Store<'a> {
        let m = s[srec];
        let n = (m & 0x7fff) as usize;
        let kw = if m >> 15 & 1 != 0 { 2 } else { 1 };
        let vw = [1, 2, 4, 4][(m >> 16 & 3) as usize];
        let extras = (m >> 18) as usize;
        let keys = srec + 1;
        let vals = keys + (n * kw).div_ceil(4);
        let xs = vals + (n * vw).div_ceil(4);
        Store {
            n,
            kw,
            vw,
            keys: &s[keys..vals],
            vals: &s[vals..xs],
            extras: &s[xs..xs + extras],
        }
    }

    fn words(&self) -> usize {
        1 + self.keys.len() + self.vals.len() + self.extras.len()
    }

    fn key(&self, i: usize) -> u16 {
        packed_at(self.keys, i, self.kw) as u16
    }

    /// The value of prefix `i` of the chunk whose lookup record is at `l[node0 - 1..]`
    /// with `lookup_words` words after the header.
    fn value(&self, l: &[u32], node0: usize, lookup_words: usize, i: usize) -> u32 {
        let r = packed_at(self.vals, i, self.vw);
        if self.vw == 4 {
            r
        } else if (r as usize) < lookup_words {
            l[node0 + r as usize]
        } else {
            self.extras[r as usize - lookup_words]
        }
    }
}

/// Words of the store record at `srec`.
pub(super) fn store_record_words(s: &[u32], srec: usize) -> usize {
    Store::at(s, srec).words()
}

/// Appends the prefixes of the chunk under `slot` to `out`, depth-first. Returns the
/// words of its (lookup, store) records.
pub(super) fn decode(
    l: &[u32],
    node0: usize,
    s: &[u32],
    srec: usize,
    slot: u32,
    out: &mut Vec<Pfx>,
) -> (usize, usize) {
    let st = Store::at(s, srec);
    let lw = lookup_record_words(l, node0);
    out.reserve(st.n);
    for i in 0..st.n {
        let (addr, len) = unkey(slot, st.key(i));
        out.push(Pfx {
            addr,
            len,
            value: st.value(l, node0, lw - 1, i),
        });
    }
    (lw, st.words())
}

/// Exact match of a stored prefix of the chunk under `slot`.
pub(super) fn get(
    l: &[u32],
    node0: usize,
    s: &[u32],
    srec: usize,
    slot: u32,
    addr: u32,
    len: u8,
) -> Option<u32> {
    let st = Store::at(s, srec);
    let (mut lo, mut hi) = (0, st.n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match unkey(slot, st.key(mid)).cmp(&(addr, len)) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                return Some(st.value(l, node0, lookup_record_words(l, node0) - 1, mid))
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fib::lctrie::NO_ROUTE;

    #[test]
    fn key_roundtrip_every_length() {
        let slot = 0x2_abcd & ((1 << ROOT_BITS) - 1);
        for len in 19..=32u8 {
            let addr = (slot << 14) | (0x3fff & (u32::MAX << (32 - len as u32)));
            let p = Pfx {
                addr,
                len,
                value: 1,
            };
            let k = key(&p);
            assert!(k > 1 && k < 1 << 15);
            assert_eq!(unkey(slot, k), (addr, len), "len {len}");
        }
    }

    #[test]
    fn chunk_encode_walk_decode() {
        let slot = 0x12345;
        let base = slot << 14;
        let pfx = vec![
            Pfx {
                addr: base,
                len: 20,
                value: 1,
            },
            Pfx {
                addr: base | 0x100,
                len: 24,
                value: 2,
            },
            Pfx {
                addr: base | 0x100,
                len: 25,
                value: 7,
            }, // hidden under the two /26s
            Pfx {
                addr: base | 0x100,
                len: 26,
                value: 5,
            },
            Pfx {
                addr: base | 0x101,
                len: 32,
                value: 3,
            },
            Pfx {
                addr: base | 0x140,
                len: 26,
                value: 6,
            },
            Pfx {
                addr: base | 0x2000,
                len: 19,
                value: 4,
            },
        ];
        let (mut l, mut s) = (vec![7, 7, 7], vec![9]);
        let (n0, srec) = encode(&mut l, &mut s, &pfx, 9, &mut Scratch::default());
        assert_eq!((n0, srec), (4, 1));
        let w = |a: u32| walk(&l, n0, base | a);
        assert_eq!(w(0), 1);
        assert_eq!(w(0x100), 5);
        assert_eq!(w(0x101), 3);
        assert_eq!(w(0x141), 6);
        assert_eq!(w(0x180), 2);
        assert_eq!(w(0x1000), 9);
        assert_eq!(w(0x3fff), 4);
        for a in [0u32, 0x100, 0x141, 0x180, 0x1000, 0x3fff] {
            let (v, deep) = first_step(&l, n0, base | a);
            assert!(deep || v == w(a), "{a:#x}");
        }
        assert_eq!(lookup_record_words(&l, n0), l.len() - 3);
        assert_eq!(store_record_words(&s, srec), s.len() - 1);
        let mut back = Vec::new();
        decode(&l, n0, &s, srec, slot, &mut back);
        assert_eq!(back, pfx);
        assert_eq!(get(&l, n0, &s, srec, slot, base | 0x100, 25), Some(7));
        assert_eq!(get(&l, n0, &s, srec, slot, base | 0x101, 32), Some(3));
        assert_eq!(get(&l, n0, &s, srec, slot, base | 0x101, 31), None);
        let (mut l2, mut s2) = (Vec::new(), Vec::new());
        let (n0, _) = encode(
            &mut l2,
            &mut s2,
            &pfx[..1],
            NO_ROUTE,
            &mut Scratch::default(),
        );
        assert_eq!(walk(&l2, n0, base | 0x3000), NO_ROUTE);
    }
}
