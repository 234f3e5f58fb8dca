//! The update storage of the prefixes /0../18: one map per length, each split into shards
//! by the top address bits and shared shard by shard between versions, so that a small
//! update copies the few shards it touches (a /16../18 map of a full table holds tens of
//! thousands of prefixes: copying it whole per batch cost as much as a tenth of the
//! batch). Control core only.

use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Shards per length: the top 6 address bits.
const SHARD_BITS: u32 = 6;

/// The prefixes of one length, keyed by `key` (the prefix bits right-aligned), in shards
/// chosen by the network address.
#[derive(Clone)]
pub(super) struct LenMap {
    shards: Vec<Arc<FxHashMap<u32, u32>>>,
}

impl Default for LenMap {
    fn default() -> LenMap {
        LenMap {
            shards: vec![Arc::default(); 1 << SHARD_BITS],
        }
    }
}

#[inline]
fn shard(addr: u32) -> usize {
    (addr >> (32 - SHARD_BITS)) as usize
}

impl LenMap {
    pub fn get(&self, addr: u32, key: u32) -> Option<u32> {
        self.shards[shard(addr)].get(&key).copied()
    }

    /// Sets (`Some`) or removes (`None`) the value of a prefix; returns whether it was
    /// there. Copies its shard if another version shares it.
    pub fn set(&mut self, addr: u32, key: u32, value: Option<u32>) -> bool {
        let m = Arc::make_mut(&mut self.shards[shard(addr)]);
        match value {
            Some(v) => m.insert(key, v).is_some(),
            None => m.remove(&key).is_some(),
        }
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|m| m.len()).sum()
    }

    /// (key, value) of every prefix, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.shards
            .iter()
            .flat_map(|m| m.iter().map(|(&k, &v)| (k, v)))
    }

    /// Heap bytes (hashbrown: a (key, value) slot and a control byte per bucket).
    pub fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|m| m.capacity() * 9 * 8 / 7 + 64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_copies_only_its_shard() {
        let mut a = LenMap::default();
        a.set(0x0a00_0000, 0x0a00, Some(1));
        a.set(0xc000_0000, 0xc000, Some(2));
        let mut b = a.clone();
        assert!(b.set(0x0a00_0000, 0x0a00, None));
        assert!(!b.set(0x0a00_0000, 0x0a00, None));
        assert_eq!(
            (a.get(0x0a00_0000, 0x0a00), b.get(0x0a00_0000, 0x0a00)),
            (Some(1), None)
        );
        assert!(Arc::ptr_eq(
            &a.shards[shard(0xc000_0000)],
            &b.shards[shard(0xc000_0000)]
        ));
        assert!(!Arc::ptr_eq(
            &a.shards[shard(0x0a00_0000)],
            &b.shards[shard(0x0a00_0000)]
        ));
        assert_eq!((a.len(), b.len()), (2, 1));
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![(0xc000, 2)]);
    }
}
