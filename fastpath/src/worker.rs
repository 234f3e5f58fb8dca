//! The per-lcore poll loop (l3fwd's and grout's shape): rx burst on each owned queue ->
//! process every packet -> buffer by output interface (a packet to fragment is split here,
//! its fragments buffered in order; an ICMP redirect about a packet is buffered before
//! it), or punt it to the control core -> tx; drops are freed in bulk after each burst,
//! tx buffers (with what the control core gave this worker to send) are drained after
//! every pass over the queues. The snapshot is
//! re-read once per pass, which is also this lcore's RCU quiescent state.
//!
//! One pass in [`SAMPLE_EVERY`] that receives packets is timed per stage with the TSC
//! (`show fwd stats`: cycles per packet for rx, parse, lookup, rewrite, tx).
//!
//! While forwarding is stopped (`stop`, [`FwdGate`]) a pass polls no RX queue, sends
//! nothing on a stopped port, acknowledges the gate's epoch and sleeps a little.

use crate::capture::{Capture, Tap};
use crate::dpdk::mbuf::{Burst, Mbuf, MAX_BURST};
use crate::dpdk::pcapng::Direction;
use crate::dpdk::rdtsc;
use crate::dpdk::ring::{Consumer, Producer};
use crate::drop::DropReason;
use crate::flowtable::{FlowCtl, Flows};
use crate::fwd_gate::{FwdGate, PAUSED_BACKOFF};
use crate::icmp_limit::{PeerLimiter, RateLimiter};
use crate::iface::IfIndex;
use crate::latency::Recorder;
use crate::lcore::LcoreCtx;
use crate::output::{ip_fragment, ip_fragment_local};
use crate::packet::Verdict;
use crate::pipeline::{process_burst, redirect_first, BurstScratch};
use crate::punt::Punt;
use crate::rcu::Rcu;
use crate::snapshot::Snapshot;
use crate::stats::{LcoreStats, Stage, Stat};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One pass in this many (that receives packets) is timed per stage.
pub const SAMPLE_EVERY: u64 = 64;

/// Empty passes a worker polls flat out before it backs off.
const IDLE_SPIN: u32 = 256;
/// Then empty passes with a pause instruction each, before it sleeps.
const IDLE_PAUSE: u32 = 1024;

/// A worker's back-off when it finds no packets (l3fwd-power's and grout's idea): busy
/// polling at first, then pauses, then sleeps doubling from 1 us up to
/// `settings.idle_sleep_us`; the first packet brings it back to busy polling.
#[derive(Debug, Default)]
struct Idle {
    empty: u32,
    sleep_us: u32,
}

impl Idle {
    #[inline]
    fn pass(&mut self, received: bool, max_us: u32, stats: &LcoreStats) {
        if received || max_us == 0 {
            self.empty = 0;
            self.sleep_us = 0;
            return;
        }
        self.empty = self.empty.saturating_add(1);
        if self.empty <= IDLE_SPIN {
            return;
        }
        if self.empty <= IDLE_SPIN + IDLE_PAUSE {
            std::hint::spin_loop();
            return;
        }
        self.sleep_us = (self.sleep_us * 2).clamp(1, max_us);
        stats.inc(Stat::IdleSleeps);
        std::thread::sleep(std::time::Duration::from_micros(self.sleep_us.into()));
    }
}

/// One (port, rx queue) a worker polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxQueue {
    pub iface: IfIndex,
    pub port_id: u16,
    pub queue: u16,
}

/// What one worker owns: its rx queues, and tx queue `tx_queue` on every port.
#[derive(Debug, Clone)]
pub struct WorkerConf {
    pub lcore: u32,
    pub rx: Vec<RxQueue>,
    pub tx_queue: u16,
    pub burst: usize,
}

/// A worker's rings to and from the control core.
pub struct WorkerRings {
    /// What it punts (ARP, packets waiting for a neighbour).
    pub punt: Producer<Punt>,
    /// Packets the control core sends out of ports that have no tx queue for it, each
    /// with its output interface; this worker sends them on its own queue.
    pub inject: Option<Consumer<IfIndex>>,
    /// The control core's requests about this worker's flows.
    pub flows: Arc<FlowCtl>,
    /// Copies of captured packets (`capture start`).
    pub capture: Producer<u8>,
}

/// State shared by control and workers. Shared: control rw, dataplane ro.
pub struct Shared {
    pub snapshot: Arc<Rcu<Snapshot>>,
    pub stop: AtomicBool,
    /// `start`/`stop` and `port start`/`port stop`.
    pub fwd: FwdGate,
    pub tsc_hz: u64,
    /// What `capture` asks the workers to copy.
    pub capture: Capture,
}

/// Cost of one rdtsc on this core, to subtract from timed intervals.
fn rdtsc_overhead() -> u64 {
    let mut best = u64::MAX;
    for _ in 0..1000 {
        let a = rdtsc();
        let b = rdtsc();
        best = best.min(b - a);
    }
    best
}

/// Runs the loop until `shared.stop` is set; returns 0.
pub fn run(conf: &WorkerConf, shared: &Shared, stats: &LcoreStats, rings: WorkerRings) -> i32 {
    let WorkerRings {
        mut punt,
        mut inject,
        flows,
        capture,
    } = rings;
    let mut reader = shared.snapshot.reader();
    let nifaces = reader.quiescent().ifaces.len();
    let s = reader.quiescent().settings;
    let mut ctx = LcoreCtx::new(
        stats,
        RateLimiter::new(s.icmp_msgs_per_sec, s.icmp_msgs_burst, shared.tsc_hz),
    );
    ctx.icmp_peers = PeerLimiter::new(s.icmp_ratelimit, s.icmp_ratemask, shared.tsc_hz);
    ctx.clock.overhead = rdtsc_overhead();
    if s.flowtable {
        ctx.flows = Flows::new(s.nf_conntrack_max, s.conntrack, shared.tsc_hz);
    }
    let burst = conf.burst.clamp(1, MAX_BURST);
    let mut rx = Burst::default();
    let mut drops = Burst::default();
    let mut tx = TxSide {
        bufs: (0..nifaces).map(|_| Burst::default()).collect(),
        queue: conf.tx_queue,
        tap: Tap {
            capture: &shared.capture,
            ring: capture,
        },
    };
    let mut pkts: Vec<Mbuf> = Vec::with_capacity(MAX_BURST);
    let mut injected: Vec<(Mbuf, IfIndex)> = Vec::with_capacity(MAX_BURST);
    let mut verdicts = [Verdict::Drop; MAX_BURST];
    let mut scratch = BurstScratch::default();
    let mut passes: u64 = 0;
    let mut idle = Idle::default();
    let mut latency = Recorder::new(shared.tsc_hz);
    // Per rx queue, when its burst of this pass arrived and how many packets it had.
    let mut arrived: Vec<(u64, u64)> = vec![(0, 0); conf.rx.len()];

    while !shared.stop.load(Ordering::Relaxed) {
        let snap: &Snapshot = reader.quiescent();
        let epoch = shared.fwd.epoch();
        let paused = shared.fwd.paused();
        let polled: &[RxQueue] = if paused { &[] } else { &conf.rx };
        passes += 1;
        ctx.clock.on = passes.is_multiple_of(SAMPLE_EVERY);
        ctx.clock.acc = [0; Stage::COUNT];
        let mut received = 0u64;
        for (qi, q) in polled.iter().enumerate() {
            ctx.clock.start();
            let n = rx.rx(q.port_id, q.queue, burst);
            if n == 0 {
                continue;
            }
            stats.add_rx_queue(qi, n as u64);
            ctx.mark(Stage::Rx);
            received += n as u64;
            ctx.now = rdtsc();
            arrived[qi] = (ctx.now, n as u64);
            stats.add(Stat::RxPackets, n as u64);
            stats.inc(Stat::RxBursts);
            let tap_rx = shared.capture.wants(q.iface, crate::capture::RX);
            for m in rx.drain() {
                if tap_rx {
                    tx.tap
                        .copy(&m, q.port_id, q.queue, Direction::Rx, ctx.now, stats);
                }
                if m.is_chained() {
                    ctx.drop(DropReason::ChainedMbuf);
                    drops.push(m);
                } else {
                    pkts.push(m);
                }
            }
            process_burst(
                snap,
                &mut ctx,
                &mut pkts,
                q.iface,
                &mut verdicts,
                &mut scratch,
            );
            for (m, v) in pkts.drain(..).zip(verdicts.iter()) {
                let (v, redirect) = redirect_first(snap, &mut ctx, &m, *v);
                if let Some((r, out)) = redirect {
                    tx.enqueue(r, snap, out, stats);
                }
                match v {
                    Verdict::Tx(out) => tx.enqueue(m, snap, out, stats),
                    Verdict::Fragment(out, mtu) => {
                        let sent = ip_fragment(&ctx, m, mtu, |f| tx.enqueue(f, snap, out, stats));
                        if let Err(m) = sent {
                            drops.push(m);
                        }
                    }
                    Verdict::FragmentLocal(out, mtu) => {
                        let sent =
                            ip_fragment_local(&ctx, m, mtu, |f| tx.enqueue(f, snap, out, stats));
                        if let Err(m) = sent {
                            drops.push(m);
                        }
                    }
                    Verdict::Punt(p) => {
                        stats.inc(Stat::Punted);
                        if let Err((m, p)) = punt.push(m, p) {
                            punt_full(stats, p);
                            drops.push(m);
                        }
                    }
                    // A redirect's packet is Tx or Fragment by now (redirect_first).
                    Verdict::Redirect { .. } | Verdict::Drop => drops.push(m),
                }
            }
            punt.flush(|m, p| {
                punt_full(stats, p);
                drops.push(m);
            });
            drops.free();
            ctx.mark(Stage::Tx);
        }
        ctx.clock.start();
        let mut sent_injected = false;
        if let Some(inject) = &mut inject {
            sent_injected = inject.dequeue(&mut injected, MAX_BURST) > 0;
            for (m, out) in injected.drain(..) {
                if paused && shared.fwd.port_stopped(out as usize) {
                    stats.add(Stat::TxDropped, 1);
                    drops.push(m);
                    continue;
                }
                tx.enqueue(m, snap, out, stats);
            }
            drops.free();
        }
        tx.flush(snap, stats);
        ctx.mark(Stage::Tx);
        ctx.now = rdtsc();
        if received > 0 {
            for (at, n) in arrived.iter_mut().filter(|a| a.1 > 0) {
                latency.record(ctx.now.wrapping_sub(*at), *n);
                *n = 0;
            }
        }
        latency.maybe_flush(ctx.now, &stats.latency);
        ctx.flows.gc(ctx.now, stats);
        flows.serve(&mut ctx.flows, ctx.now, stats);
        if ctx.clock.on && received > 0 {
            stats.add_sample(&ctx.clock.acc, received);
        }
        if paused {
            shared.fwd.ack(conf.lcore, epoch);
            std::thread::sleep(PAUSED_BACKOFF);
        } else {
            idle.pass(
                received > 0 || sent_injected,
                snap.settings.idle_sleep_us,
                stats,
            );
        }
    }
    0
}

/// Counts a punted packet the ring had no room for: as a drop if it was still to be
/// counted, else only as not sent.
#[inline]
fn punt_full(stats: &LcoreStats, p: Punt) {
    if p.uncounted() {
        stats.drop(DropReason::PuntRingFull);
    } else {
        stats.add(Stat::TxDropped, 1);
    }
}

/// A worker's output: a buffer per interface for its tx queue, and the capture tap
/// that copies what leaves when `capture` asks for it.
struct TxSide<'a> {
    bufs: Vec<Burst>,
    queue: u16,
    tap: Tap<'a>,
}

impl TxSide<'_> {
    /// Adds `m` to the buffer of `out`, sending the buffer first if it is full.
    #[inline]
    fn enqueue(&mut self, m: Mbuf, snap: &Snapshot, out: IfIndex, stats: &LcoreStats) {
        if self.bufs[out as usize].is_full() {
            self.send(snap, out, stats);
        }
        self.bufs[out as usize].push(m);
    }

    /// Sends the buffer of `out` (copying it first if `capture` asks for it).
    #[inline]
    fn send(&mut self, snap: &Snapshot, out: IfIndex, stats: &LcoreStats) {
        let buf = &mut self.bufs[out as usize];
        if buf.is_empty() {
            return;
        }
        let port = snap.ifaces[out as usize].port_id;
        if self.tap.capture.wants(out, crate::capture::TX) {
            let (tap, queue, now) = (&mut self.tap, self.queue, rdtsc());
            buf.each(|m| tap.copy(m, port, queue, Direction::Tx, now, stats));
        }
        let (sent, dropped) = buf.tx(port, self.queue);
        stats.add(Stat::TxPackets, sent as u64);
        if dropped > 0 {
            stats.add(Stat::TxDropped, dropped as u64);
        }
    }

    /// Sends every buffer, and the captured copies to the control core.
    #[inline]
    fn flush(&mut self, snap: &Snapshot, stats: &LcoreStats) {
        for out in 0..self.bufs.len() {
            self.send(snap, out as IfIndex, stats);
        }
        self.tap.flush(stats);
    }
}
