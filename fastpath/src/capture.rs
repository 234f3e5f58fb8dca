//! In-app packet capture (`capture start PORT FILE [rx|tx|both] [count N]`): the control
//! core sets which interfaces and directions are captured; a worker copies each such
//! packet as it arrives (before anything is done to it) or leaves (as handed to the
//! NIC's queue: one the queue refuses is in the capture too, and counted `tx_dropped`;
//! what the control core sends on a queue of its own is not captured) into the
//! capture pool, formatted as a pcapng block ([`crate::dpdk::pcapng`]), and hands the
//! copy to the control core on its capture ring, which writes the file. Nothing is
//! captured, and it costs one relaxed load per burst, while no capture runs. A copy the
//! pool or the ring has no room for is counted (`capture_dropped`), never waited for.

use crate::dpdk::mbuf::Mbuf;
use crate::dpdk::mempool::Mempool;
use crate::dpdk::pcapng::{self, Direction};
use crate::dpdk::ring::Producer;
use crate::iface::IfIndex;
use crate::stats::{LcoreStats, Stat};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed, Ordering::SeqCst};

pub const RX: u8 = 1;
pub const TX: u8 = 2;

/// What is captured. Shared: control writes, workers read.
pub struct Capture {
    /// Per interface, the directions captured (`RX | TX`).
    ifaces: Vec<AtomicU8>,
    pool: Mempool,
    snaplen: u32,
    /// Wall clock (ns since the epoch) at TSC `base_tsc` (taken again at each capture's
    /// start, so that TSC drift does not add up), and ns per cycle (32.32).
    base_ns: AtomicU64,
    base_tsc: AtomicU64,
    ns_per_cycle: u64,
    /// The capture in progress: copies carry it, so that late ones of an earlier capture
    /// are told apart.
    session: AtomicU8,
}

impl Capture {
    /// For `n` interfaces, copies of at most `snaplen` bytes from `pool` (made with
    /// [`pcapng::data_room`]).
    pub fn new(n: usize, pool: Mempool, snaplen: u32, tsc_hz: u64) -> Capture {
        let c = Capture {
            ifaces: (0..n).map(|_| AtomicU8::new(0)).collect(),
            pool,
            snaplen,
            base_ns: AtomicU64::new(0),
            base_tsc: AtomicU64::new(0),
            ns_per_cycle: ((1_000_000_000u128 << 32) / tsc_hz.max(1) as u128) as u64,
            session: AtomicU8::new(0),
        };
        c.begin();
        c
    }

    /// Starts a new capture: a new session number (returned) and clock base. Call it
    /// before [`Capture::set`] asks for copies.
    pub fn begin(&self) -> u8 {
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.base_tsc.store(crate::dpdk::rdtsc(), Relaxed);
        self.base_ns.store(ns, Relaxed);
        self.session.fetch_add(1, SeqCst).wrapping_add(1)
    }

    /// Wall-clock ns since the epoch at TSC `tsc`.
    #[inline]
    fn ns(&self, tsc: u64) -> u64 {
        let d = tsc.wrapping_sub(self.base_tsc.load(Relaxed)) as u128 * self.ns_per_cycle as u128;
        self.base_ns.load(Relaxed) + (d >> 32) as u64
    }

    /// Captures `dirs` (`RX`, `TX`, both, or 0 for none) on `iface`.
    pub fn set(&self, iface: IfIndex, dirs: u8) {
        if let Some(d) = self.ifaces.get(iface as usize) {
            d.store(dirs, Relaxed);
        }
    }

    /// Whether `dir` of `iface` is captured.
    #[inline]
    pub fn wants(&self, iface: IfIndex, dir: u8) -> bool {
        self.ifaces
            .get(iface as usize)
            .is_some_and(|d| d.load(Relaxed) & dir != 0)
    }

    pub fn pool(&self) -> &Mempool {
        &self.pool
    }
}

/// A worker's end: the shared settings and its ring to the control core.
pub struct Tap<'a> {
    pub capture: &'a Capture,
    /// Copies, each with its capture's session number.
    pub ring: Producer<u8>,
}

impl Tap<'_> {
    /// Copies `m` (on DPDK port `port`, queue `queue`) going `dir` at TSC `now`.
    #[inline]
    pub fn copy(
        &mut self,
        m: &Mbuf,
        port: u16,
        queue: u16,
        dir: Direction,
        now: u64,
        stats: &LcoreStats,
    ) {
        let c = self.capture;
        let ns = c.ns(now);
        let Some(copy) = pcapng::copy(m, port, queue, &c.pool, c.snaplen, ns, dir) else {
            stats.inc(Stat::CaptureDropped);
            return;
        };
        // The ring stages a burst at a time: send it and try again.
        let session = c.session.load(Relaxed);
        if let Err((copy, session)) = self.ring.push(copy, session) {
            self.flush(stats);
            if self.ring.push(copy, session).is_err() {
                stats.inc(Stat::CaptureDropped);
            }
        }
    }

    /// Sends what is staged; what the ring refuses is counted and freed.
    #[inline]
    pub fn flush(&mut self, stats: &LcoreStats) {
        self.ring.flush(|m, _| {
            stats.inc(Stat::CaptureDropped);
            drop(m);
        });
    }
}
