//! One chunk: the prefixes /19../32 under one root slot, as a Poptrie of 6-bit strides
//! (encoding, lookup walk, decoding of its stored prefixes). Layout in the module doc of
//! [`super`]; everything here works on a chunk's words inside a segment and is position
//! independent (offsets are relative to the chunk's first node).

use super::ROOT_BITS;

/// Words of a node: vector (2), leafvec (2), leaf_base, child_base.
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
    ((slot << (32 - ROOT_BITS)) | (suffix << (32 - ROOT_BITS - d)), (ROOT_BITS + d) as u8)
}

/// Appends a chunk for `pfx` (sorted depth-first, lengths 19..=32, all under one slot) to
/// `out`; positions no prefix covers get `inherited`. Returns the offset of its first
/// node in `out` (the chunk starts one word before, at its header).
pub(super) fn encode(out: &mut Vec<u32>, pfx: &[Pfx], inherited: u32) -> usize {
    let hdr = out.len();
    out.push(0);
    let node0 = out.len();
    out.extend_from_slice(&[0; NODE_WORDS]);
    build_node(out, node0, node0, pfx, ROOT_BITS, inherited);
    let lookup_words = out.len() - node0;
    debug_assert!(lookup_words < 1 << 16 && pfx.len() < 1 << 15);
    for pair in pfx.chunks(2) {
        let k1 = pair.get(1).map_or(0, key);
        out.push(key(&pair[0]) as u32 | (k1 as u32) << 16);
    }
    out.extend(pfx.iter().map(|p| p.value));
    out[hdr] = lookup_words as u32 | (pfx.len() as u32) << 16;
    node0
}

/// Builds the node at `out[at..at + 6]` for the prefixes `pfx` (depth-first, all longer
/// than `b` and inside the node's range), appending its leaves and child nodes.
fn build_node(out: &mut Vec<u32>, node0: usize, at: usize, pfx: &[Pfx], b: u32, inherited: u32) {
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
            out.push(val);
            last = Some(val);
        }
    }
    let child_base = out.len() - node0;
    out.resize(out.len() + NODE_WORDS * vector.count_ones() as usize, 0);
    out[at..at + NODE_WORDS].copy_from_slice(&[
        vector as u32,
        (vector >> 32) as u32,
        leafvec as u32,
        (leafvec >> 32) as u32,
        leaf_base as u32,
        child_base as u32,
    ]);
    // Children: the prefixes longer than this stride, grouped by position (contiguous in
    // depth-first order).
    let mut rest = pfx;
    let mut c = 0;
    while let Some(i) = rest.iter().position(|p| p.len as u32 > lim) {
        let v = pos(rest[i].addr, b);
        let n = rest[i..].iter().take_while(|p| p.len as u32 > lim && pos(p.addr, b) == v).count();
        let child_at = node0 + child_base + NODE_WORDS * c;
        build_node(out, node0, child_at, &rest[i..i + n], lim, leaf[v]);
        rest = &rest[i + n..];
        c += 1;
    }
}

/// Reads the node at `at`: (vector, leafvec, leaf_base, child_base).
#[inline(always)]
fn node(seg: &[u32], at: usize) -> (u64, u64, usize, usize) {
    let n: &[u32; NODE_WORDS] = seg[at..at + NODE_WORDS].try_into().expect("node words");
    (n[0] as u64 | (n[1] as u64) << 32, n[2] as u64 | (n[3] as u64) << 32, n[4] as usize, n[5] as usize)
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
            at = node0 + child_base + NODE_WORDS * (vector & ((1u64 << v) - 1)).count_ones() as usize;
            shift = shift.wrapping_sub(6) & 63;
        } else {
            let i = (leafvec & (u64::MAX >> (63 - v))).count_ones() as usize;
            return seg[node0 + leaf_base + i - 1];
        }
    }
}

/// The first level of [`walk`] without branches, for the bulk lookup: the leaf value
/// at the address's position in the chunk's first node, and whether that position is a
/// child instead (then the value is meaningless but was read from inside the chunk).
#[inline(always)]
pub(super) fn first_step(seg: &[u32], node0: usize, addr: u32) -> (u32, bool) {
    let (vector, leafvec, leaf_base, _) = node(seg, node0);
    let v = (addr >> 8) & 63;
    let i = (leaf_base + (leafvec & (u64::MAX >> (63 - v))).count_ones() as usize).saturating_sub(1);
    (seg[node0 + i], vector >> v & 1 != 0)
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
            at = node0 + child_base + NODE_WORDS * (vector & ((1u64 << v) - 1)).count_ones() as usize;
            shift = shift.wrapping_sub(6) & 63;
        } else {
            let i = (leafvec & (u64::MAX >> (63 - v))).count_ones() as usize;
            return (seg[node0 + leaf_base + i - 1], accesses + 1);
        }
    }
}

/// A chunk's header fields: (lookup words, number of prefixes).
#[inline]
fn header(seg: &[u32], node0: usize) -> (usize, usize) {
    let h = seg[node0 - 1];
    ((h & 0xffff) as usize, (h >> 16) as usize)
}

/// Total words of the chunk at `node0` (header, lookup words, stored prefixes).
pub(super) fn words(seg: &[u32], node0: usize) -> usize {
    let (lookup, n) = header(seg, node0);
    1 + lookup + n.div_ceil(2) + n
}

/// Lookup words (nodes and leaves) of the chunk at `node0`.
pub(super) fn lookup_words(seg: &[u32], node0: usize) -> usize {
    header(seg, node0).0
}

/// Number of prefixes stored in the chunk at `node0`.
pub(super) fn prefix_count(seg: &[u32], node0: usize) -> usize {
    header(seg, node0).1
}

/// The stored keys and values of the chunk at `node0`.
fn stored(seg: &[u32], node0: usize) -> (&[u32], &[u32]) {
    let (lookup, n) = header(seg, node0);
    let keys = node0 + lookup;
    let vals = keys + n.div_ceil(2);
    (&seg[keys..vals], &seg[vals..vals + n])
}

#[inline]
fn key_at(keys: &[u32], i: usize) -> u16 {
    (keys[i / 2] >> (16 * (i % 2))) as u16
}

/// Appends the prefixes of the chunk at `node0` under `slot` to `out`, depth-first.
pub(super) fn decode(seg: &[u32], node0: usize, slot: u32, out: &mut Vec<Pfx>) {
    let (keys, vals) = stored(seg, node0);
    out.extend(vals.iter().enumerate().map(|(i, &value)| {
        let (addr, len) = unkey(slot, key_at(keys, i));
        Pfx { addr, len, value }
    }));
}

/// Exact match of a stored prefix in the chunk at `node0` under `slot`.
pub(super) fn get(seg: &[u32], node0: usize, slot: u32, addr: u32, len: u8) -> Option<u32> {
    let (keys, vals) = stored(seg, node0);
    let (mut lo, mut hi) = (0, vals.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match unkey(slot, key_at(keys, mid)).cmp(&(addr, len)) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(vals[mid]),
        }
    }
    None
}

/// (nodes, leaves) of the chunk at `node0`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fib::lctrie::NO_ROUTE;

    #[test]
    fn key_roundtrip_every_length() {
        let slot = 0x2_abcd & ((1 << ROOT_BITS) - 1);
        for len in 19..=32u8 {
            let addr = (slot << 14) | (0x3fff & (u32::MAX << (32 - len as u32)));
            let p = Pfx { addr, len, value: 1 };
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
            Pfx { addr: base, len: 20, value: 1 },
            Pfx { addr: base | 0x100, len: 24, value: 2 },
            Pfx { addr: base | 0x101, len: 32, value: 3 },
            Pfx { addr: base | 0x2000, len: 19, value: 4 },
        ];
        let mut out = vec![7, 7, 7];
        let n0 = encode(&mut out, &pfx, 9);
        assert_eq!(n0, 4);
        let w = |a: u32| walk(&out, n0, base | a);
        assert_eq!(w(0), 1);
        assert_eq!(w(0x100), 2);
        assert_eq!(w(0x101), 3);
        assert_eq!(w(0x102), 2);
        assert_eq!(w(0x1000), 9);
        assert_eq!(w(0x3fff), 4);
        assert_eq!(words(&out, n0), out.len() - 3);
        let mut back = Vec::new();
        decode(&out, n0, slot, &mut back);
        assert_eq!(back, pfx);
        assert_eq!(get(&out, n0, slot, base | 0x101, 32), Some(3));
        assert_eq!(get(&out, n0, slot, base | 0x101, 31), None);
        assert_eq!(walk(&encode_alone(&pfx[..1], NO_ROUTE), 1, base | 0x3000), NO_ROUTE);
    }

    fn encode_alone(pfx: &[Pfx], inherited: u32) -> Vec<u32> {
        let mut out = Vec::new();
        encode(&mut out, pfx, inherited);
        out
    }
}
