//! First packets that nothing has answered yet. A connection enters the table only once
//! both of its directions have been seen (at the first reply): until then the worker
//! keeps one 8-byte slot per unanswered first packet in a fixed, direct-mapped array,
//! indexed by a keyed hash of the connection that is the same for both directions
//! ([`super::FlowTable::pending_hash`]: a packet's look for its original and its own note
//! touch one cache line, prefetched during parsing) and tagged with the keyed hash of the
//! first packet's tuple; overwritten by whatever hashes there next. A
//! one-way stream or flood (random sources, SYNs) costs one store per packet and can
//! evict no connection; a reply finds its original's slot (tag, TCP flags, time) and the
//! connection starts as if its table entry had been made by that first packet (the
//! state after the original's flags, then the reply's). A slot older than the unreplied
//! timeout (`nf_conntrack_tcp_timeout_syn_sent`, `nf_conntrack_udp_timeout`) is ignored.
//! SYN cookies keep state in the same spirit: none until the peer answers.

/// Slot layout: hash tag (32 bits) | TCP flags (8) | time in seconds (24, wrapping).
pub struct Pending {
    slots: Vec<u64>,
    mask: usize,
}

use crate::wire::l4::tcp_flags::SYN;

const TIME_MASK: u32 = (1 << 24) - 1;

impl Pending {
    /// Room for `n` (rounded up to a power of two) unanswered first packets.
    pub fn new(n: u32) -> Pending {
        let n = (n.max(1) as usize).next_power_of_two();
        Pending {
            slots: vec![0; n],
            mask: n - 1,
        }
    }

    /// Bytes held for `n`.
    pub fn memory_for(n: u32) -> usize {
        (n.max(1) as usize).next_power_of_two() * 8
    }

    #[inline]
    fn tag(hash: u64) -> u64 {
        // Never 0, so that an empty slot matches nothing.
        (hash >> 32).max(1) << 32
    }

    /// Brings the slot of connection hash `at` into the cache.
    #[inline]
    pub fn prefetch(&self, at: u64) {
        crate::dpdk::prefetch(&self.slots[at as usize & self.mask]);
    }

    /// Notes a first packet (connection hash `at`, tuple hash `hash`, TCP `flags`) at
    /// `secs`. A SYN noted for the same tuple stays: the opener's later packets without
    /// SYN leave a connection in SYN_SENT (Linux's `tcp_conntrack` table marks them
    /// invalid).
    #[inline]
    pub fn put(&mut self, at: u64, hash: u64, flags: u8, secs: u32) {
        let slot = &mut self.slots[at as usize & self.mask];
        let noted_syn = *slot & !0xffff_ffff == Self::tag(hash) && (*slot >> 24) as u8 & SYN != 0;
        if noted_syn && flags & SYN == 0 {
            return;
        }
        *slot = Self::tag(hash) | (flags as u64) << 24 | (secs & TIME_MASK) as u64;
    }

    /// The TCP flags of the first packet of tuple hash `hash` (connection hash `at`), if
    /// noted no more than `timeout` seconds before `secs`; the slot is freed.
    #[inline]
    pub fn take(&mut self, at: u64, hash: u64, secs: u32, timeout: u32) -> Option<u8> {
        let slot = &mut self.slots[at as usize & self.mask];
        let v = *slot;
        if v & !0xffff_ffff != Self::tag(hash) {
            return None;
        }
        let flags = (v >> 24) as u8;
        let age = secs.wrapping_sub(v as u32) & TIME_MASK;
        *slot = 0;
        (age <= timeout).then_some(flags)
    }

    /// Forgets everything (`flush flows`).
    pub fn clear(&mut self) {
        self.slots.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_finds_its_first_packet_once_within_the_timeout() {
        let mut p = Pending::new(8);
        let h = 0xdead_beef_0000_0003;
        p.put(h, h, 0x02, 100);
        assert_eq!(p.take(h, h ^ (1 << 40), 100, 30), None, "other tag");
        assert_eq!(p.take(h, h, 110, 30), Some(0x02));
        assert_eq!(p.take(h, h, 110, 30), None, "taken");
        p.put(h, h, 0, 100);
        assert_eq!(p.take(h, h, 131, 30), None, "too old");
        // A later first packet in the same slot replaces it.
        p.put(h, h, 0x10, 100);
        let h2 = h + (1 << 32) + 8;
        p.put(h2, h2, 0x02, 100);
        assert_eq!(p.take(h, h, 100, 30), None);
        assert_eq!(p.take(h2, h2, 100, 30), Some(0x02));
        // A SYN is kept against the opener's later packets without SYN, not against a
        // new SYN nor another tuple.
        p.put(h, h, SYN, 200);
        p.put(h, h, 0x10, 201);
        assert_eq!(p.take(h, h, 201, 30), Some(SYN));
        p.put(h, h, SYN, 200);
        p.put(h, h, SYN | 0x08, 201);
        assert_eq!(p.take(h, h, 201, 30), Some(SYN | 0x08));
        // Time wraps at 2^24 s.
        p.put(h, h, 0, TIME_MASK);
        assert_eq!(p.take(h, h, TIME_MASK + 5, 30), Some(0));
    }
}
