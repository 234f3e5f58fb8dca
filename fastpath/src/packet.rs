//! The packet as every stage sees it: the buffer the pipeline edits ([`PacketBuf`]), where
//! it was addressed at layer 2 ([`L2Dest`]) and what becomes of it ([`Verdict`]).
//!
//! The buffer is a contiguous frame (Ethernet header at offset 0, [`ETH`] bytes, then
//! IPv4) with headroom in front, so headers can be rewritten in place and ICMP errors built
//! in the offending packet's own buffer (no allocation on the packet path). `Mbuf`
//! implements it on DPDK; [`VecBuf`] implements it for tests without EAL.

use crate::iface::IfIndex;
use crate::wire::ethernet::EthernetFrame;

/// Length of the Ethernet header every frame starts with; the IPv4 header follows it.
pub const ETH: usize = EthernetFrame::<&[u8]>::HEADER_LEN;

/// What to do with a packet after processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of this interface (its headers are already rewritten).
    Tx(IfIndex),
    /// Free it (the reason is already counted).
    Drop,
}

/// Where the frame was addressed at layer 2 (the kernel's `skb->pkt_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2Dest {
    /// Our station MAC (`PACKET_HOST`).
    Host,
    /// ff:ff:ff:ff:ff:ff (`PACKET_BROADCAST`).
    Broadcast,
}

/// A contiguous, resizable-at-both-ends packet buffer.
pub trait PacketBuf {
    fn data(&self) -> &[u8];
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the packet by `n` bytes at the front (into the headroom). False if no room.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front. False if the packet is shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the end. False if the packet is shorter.
    fn trim(&mut self, n: usize) -> bool;

    #[inline]
    fn len(&self) -> usize {
        self.data().len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shortens the packet to `len` bytes (no-op if already that short).
    #[inline]
    fn truncate(&mut self, len: usize) {
        let cur = self.len();
        if cur > len {
            self.trim(cur - len);
        }
    }
}

/// Headroom of a [`VecBuf`], as DPDK's default `RTE_PKTMBUF_HEADROOM`.
pub const HEADROOM: usize = 128;

/// A heap packet buffer with DPDK-like headroom, for tests and tools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecBuf {
    buf: Vec<u8>,
    start: usize,
}

impl VecBuf {
    pub fn new(frame: &[u8]) -> VecBuf {
        let mut buf = vec![0u8; HEADROOM];
        buf.extend_from_slice(frame);
        VecBuf {
            buf,
            start: HEADROOM,
        }
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.start += n;
        true
    }
    fn trim(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.buf.truncate(self.buf.len() - n);
        true
    }
}
