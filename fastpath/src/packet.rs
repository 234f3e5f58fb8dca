//! The packet as every stage sees it: the buffer the pipeline edits ([`PacketBuf`]), where
//! it was addressed at layer 2 ([`L2Dest`]) and what becomes of it ([`Verdict`]).
//!
//! The buffer is a contiguous frame (Ethernet header at offset 0, [`ETH`] bytes, then
//! IPv4) with headroom in front, so headers can be rewritten in place and ICMP errors built
//! in the offending packet's own buffer (no allocation on the packet path). The one
//! exception is IP fragmentation, whose extra fragments are new buffers from the packet's
//! own pool ([`PacketBuf::alloc_from_pool`]). `Mbuf` implements it on DPDK; [`VecBuf`]
//! implements it for tests without EAL.

use crate::iface::IfIndex;
use crate::punt::Punt;
use crate::wire::ethernet::EthernetFrame;
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::rc::Rc;

/// Length of the Ethernet header every frame starts with; the IPv4 header follows it.
pub const ETH: usize = EthernetFrame::<&[u8]>::HEADER_LEN;

/// What to do with a packet after processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of this interface (its headers are already rewritten).
    Tx(IfIndex),
    /// Larger than this MTU and DF clear: split it with [`crate::output::ip_fragment`]
    /// and send the fragments out of this interface, in order. Its headers are already
    /// rewritten; nothing is counted for it yet (`ip_fragment` counts it forwarded, or
    /// dropped if a buffer cannot be had).
    Fragment(IfIndex, u16),
    /// A packet we originate (an echo reply) larger than this path MTU: split it with
    /// [`crate::output::ip_fragment_local`] and send the fragments out of this interface.
    /// Its headers are written and it is counted already.
    FragmentLocal(IfIndex, u16),
    /// Hand it to the control core (its punt ring), which finishes it.
    Punt(Punt),
    /// Send its source an ICMP redirect naming `gw` ([`crate::icmp::send_redirect`]),
    /// then send the packet on as [`Verdict::Tx`] out of `out` would (`mtu` 0), or as
    /// [`Verdict::Fragment`] with `mtu`. Its headers are already rewritten, and the
    /// redirect quotes it as it leaves, as Linux's does.
    Redirect {
        gw: Ipv4Addr,
        out: IfIndex,
        mtu: u16,
    },
    /// Free it (the reason is already counted).
    Drop,
}

impl Verdict {
    /// What becomes of the packet itself: a [`Verdict::Redirect`] is sent on as a
    /// [`Verdict::Tx`] or [`Verdict::Fragment`]; any other verdict is itself.
    #[inline]
    pub fn forwarded(self) -> Verdict {
        match self {
            Verdict::Redirect { out, mtu: 0, .. } => Verdict::Tx(out),
            Verdict::Redirect { out, mtu, .. } => Verdict::Fragment(out, mtu),
            v => v,
        }
    }
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
    /// Grows the packet by `n` bytes at the end (into the tailroom). False if no room.
    fn append(&mut self, n: usize) -> bool;
    /// A new, empty buffer (headroom only) from the pool this one came from, or None if
    /// the pool is exhausted. Slow path: only IP fragmentation allocates.
    fn alloc_from_pool(&self) -> Option<Self>
    where
        Self: Sized;

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
    /// How many more buffers [`PacketBuf::alloc_from_pool`] may hand out (shared with
    /// them); None: no limit.
    pool: Option<Rc<Cell<usize>>>,
}

impl VecBuf {
    pub fn new(frame: &[u8]) -> VecBuf {
        let mut buf = vec![0u8; HEADROOM];
        buf.extend_from_slice(frame);
        VecBuf {
            buf,
            start: HEADROOM,
            pool: None,
        }
    }

    /// A buffer whose pool hands out `free` more buffers and then fails, as an exhausted
    /// mempool does (to test allocation failures).
    pub fn with_pool(frame: &[u8], free: usize) -> VecBuf {
        VecBuf {
            pool: Some(Rc::new(Cell::new(free))),
            ..VecBuf::new(frame)
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
    fn append(&mut self, n: usize) -> bool {
        self.buf.resize(self.buf.len() + n, 0);
        true
    }
    fn alloc_from_pool(&self) -> Option<VecBuf> {
        if let Some(free) = &self.pool {
            free.set(free.get().checked_sub(1)?);
        }
        Some(VecBuf {
            buf: vec![0u8; HEADROOM],
            start: HEADROOM,
            pool: self.pool.clone(),
        })
    }
}
