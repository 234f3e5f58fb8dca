//! One lcore and the control core, without EAL, as the worker and `control::commands`
//! run them: bursts through [`process_burst`], redirects first ([`redirect_first`]),
//! fragments split by [`ip_fragment`], punted packets finished by the control core's
//! [`SlowPath`] (ARP, neighbour resolution and hold queues, ICMP errors learnt as
//! nexthop exceptions), and what it learns published as a new snapshot (genid + 1).
//!
//! Every step is checked ([`Harness::burst`]), and [`Harness::finish`] checks the
//! totals: each received frame ended exactly once (`stats.rs`'s accounting invariant);
//! each frame sent is well-formed (Ethernet source = egress port, IPv4 header checksum,
//! total length = frame length - 14, TTL - 1 and addresses kept when forwarded, the ICMP
//! or TCP checksum of what we originate, fragments within their MTU, ARP layout); the
//! flowtable, neighbour table, hold queues and exception tables within their bounds.

use crate::net;
use control::exceptions::{FnheParams, Learner};
use control::slowpath::{Io, SlowPath};
use fastpath::flowtable::Flows;
use fastpath::fnhe::{FNHE_HASH_SIZE, FNHE_RECLAIM_DEPTH};
use fastpath::icmp_limit::{PeerLimiter, RateLimiter};
use fastpath::iface::IfIndex;
use fastpath::lcore::LcoreCtx;
use fastpath::output::{ip_fragment, ip_fragment_local};
use fastpath::packet::{PacketBuf, VecBuf, Verdict};
use fastpath::pipeline::{process_burst, redirect_first, BurstScratch};
use fastpath::snapshot::Snapshot;
use fastpath::stats::{LcoreStats, Stat, StatsSnapshot};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// TSC frequency of the harness: the clock counts nanoseconds.
pub const HZ: u64 = 1_000_000_000;
const ETH: usize = 14;

/// RFC 1071 over `data`, independent of the crate's.
pub fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The packets that end somewhere (`stats.rs`): forwarded, answered, learnt from, or
/// dropped under one reason.
pub fn ended(s: &StatsSnapshot) -> u64 {
    s.get(Stat::Forwarded)
        + s.get(Stat::ArpReplies)
        + s.get(Stat::ArpUpdates)
        + s.get(Stat::EchoReplies)
        + s.get(Stat::IcmpErrorsIn)
        + s.total_drops()
}

/// The control core's buffers and wire: every frame it sends, kept for the checks.
#[derive(Default)]
struct Wire(Vec<(IfIndex, Vec<u8>)>);

impl Io<VecBuf> for Wire {
    fn alloc(&mut self) -> Option<VecBuf> {
        Some(VecBuf::new(&[]))
    }
    fn send(&mut self, iface: IfIndex, pkt: VecBuf) {
        self.0.push((iface, pkt.data().to_vec()));
    }
}

/// What a frame sent was, as far as the checks go.
enum Sent<'a> {
    /// The packet itself, forwarded (or one fragment of it): the IP header it came in
    /// with.
    Forwarded(&'a [u8]),
    /// Something the worker or control core sent on the packet's behalf or its own.
    Other,
}

pub struct Harness<'s> {
    pub snap: Snapshot,
    pub ctx: LcoreCtx<'s>,
    ctl: LcoreCtx<'s>,
    worker_stats: &'s LcoreStats,
    ctl_stats: &'s LcoreStats,
    slow: SlowPath<VecBuf>,
    scratch: BurstScratch,
    t0: Instant,
    /// Frames received.
    pub rx: u64,
    /// Frames sent (every port, both cores).
    pub tx: u64,
}

impl<'s> Harness<'s> {
    /// The lcore and the control core on the network of [`net::base`], with static
    /// neighbours in the control core's table as the appliance starts them.
    pub fn new(worker_stats: &'s LcoreStats, ctl_stats: &'s LcoreStats) -> Harness<'s> {
        let (cfg, snap) = net::base();
        let s = &cfg.settings;
        let mut ctx = LcoreCtx::new(
            worker_stats,
            RateLimiter::new(s.icmp_msgs_per_sec, s.icmp_msgs_burst, HZ),
        );
        ctx.icmp_peers = PeerLimiter::new(s.icmp_ratelimit, s.icmp_ratemask, HZ);
        ctx.flows = Flows::new(s.nf_conntrack_max, snap.settings.conntrack, HZ);
        ctx.now = 1000 * HZ;
        let mut ctl = LcoreCtx::new(
            ctl_stats,
            RateLimiter::new(s.icmp_msgs_per_sec, s.icmp_msgs_burst, HZ),
        );
        ctl.now = ctx.now;
        let t0 = Instant::now();
        let neigh = control::commands::neighbours(cfg, net::HOLD_MAX, t0);
        let mut fnhe = Learner::new(FnheParams::new(cfg, HZ));
        fnhe.default_route = None;
        let mut h = Harness {
            snap: snap.clone(),
            ctx,
            ctl,
            worker_stats,
            ctl_stats,
            slow: SlowPath::new(neigh, fnhe),
            scratch: BurstScratch::default(),
            t0,
            rx: 0,
            tx: 0,
        };
        h.publish();
        h
    }

    fn instant(&self) -> Instant {
        self.t0 + Duration::from_nanos(self.ctx.now - 1000 * HZ)
    }

    /// Moves both clocks on by `ns`.
    pub fn advance(&mut self, ns: u64) {
        self.ctx.now += ns;
        self.ctl.now = self.ctx.now;
    }

    /// Publishes what the control core learnt (neighbours, exceptions), as
    /// `Control::publish_learned` does.
    fn publish(&mut self) {
        let mut changed = false;
        if let Some(view) = self.slow.neigh.view() {
            self.snap.neigh = view;
            changed = true;
        }
        if std::mem::take(&mut self.slow.fnhe.dirty) {
            self.snap.exceptions = self.slow.fnhe.exceptions.clone();
            changed = true;
        }
        if changed {
            self.snap.genid += 1;
        }
    }

    fn totals(&self) -> StatsSnapshot {
        self.worker_stats
            .snapshot()
            .plus(&self.ctl_stats.snapshot())
    }

    /// One burst received on `in_if`, through the worker then the control core. Panics
    /// on a broken invariant.
    pub fn burst(&mut self, frames: &[&[u8]], in_if: IfIndex) {
        if frames.is_empty() {
            return;
        }
        let before = self.totals();
        let mut pkts: Vec<VecBuf> = frames.iter().map(|f| VecBuf::new(f)).collect();
        let mut verdicts = vec![Verdict::Drop; pkts.len()];
        process_burst(
            &self.snap,
            &mut self.ctx,
            &mut pkts,
            in_if,
            &mut verdicts,
            &mut self.scratch,
        );
        self.rx += frames.len() as u64;
        let mut punted = Vec::new();
        let mut counted_now = 0u64;
        for ((pkt, &v), input) in pkts.into_iter().zip(&verdicts).zip(frames) {
            let orig_ip: &[u8] = input.get(ETH..).unwrap_or(&[]);
            let (v, redirect) = redirect_first(&self.snap, &mut self.ctx, &pkt, v);
            if let Some((r, out)) = redirect {
                self.check_sent(out, r.data(), Sent::Other, None);
            }
            match v {
                Verdict::Tx(out) => {
                    counted_now += 1;
                    // Forwarded, or an ICMP error, echo reply or reset written in the
                    // packet's own buffer: these have other addresses.
                    let d = pkt.data();
                    let fwd = d.len() >= ETH + 20
                        && orig_ip.len() >= 20
                        && d[ETH + 12..ETH + 20] == orig_ip[12..20];
                    let what = if fwd {
                        Sent::Forwarded(orig_ip)
                    } else {
                        Sent::Other
                    };
                    self.check_sent(out, d, what, None);
                }
                Verdict::Fragment(out, mtu) => {
                    counted_now += 1;
                    let mut frags = Vec::new();
                    let left = ip_fragment(&self.ctx, pkt, mtu, |f| frags.push(f.data().to_vec()));
                    assert!(
                        left.is_err() || !frags.is_empty(),
                        "fragmented into nothing"
                    );
                    for f in &frags {
                        self.check_sent(out, f, Sent::Forwarded(orig_ip), Some(mtu));
                    }
                }
                Verdict::FragmentLocal(out, mtu) => {
                    counted_now += 1;
                    let mut frags = Vec::new();
                    let _ =
                        ip_fragment_local(&self.ctx, pkt, mtu, |f| frags.push(f.data().to_vec()));
                    for f in &frags {
                        self.check_sent(out, f, Sent::Other, Some(mtu));
                    }
                }
                Verdict::Punt(p) => {
                    if !p.uncounted() {
                        counted_now += 1;
                    }
                    self.ctx.stats.inc(Stat::Punted);
                    punted.push((pkt, p));
                }
                Verdict::Redirect { .. } => panic!("redirect_first left a redirect"),
                Verdict::Drop => counted_now += 1,
            }
        }
        // The worker's share: every packet it finished counted once, no more.
        let after_worker = self.totals();
        assert_eq!(
            ended(&after_worker) - ended(&before),
            counted_now,
            "worker: packets ended != packets finished in a burst of {} ({:?})",
            frames.len(),
            verdicts
        );
        // The control core's turn, then its timers.
        let now = self.instant();
        let mut wire = Wire::default();
        for (pkt, p) in punted {
            self.slow
                .handle(&self.snap, &mut self.ctl, &mut wire, pkt, p, now);
        }
        self.slow.tick(&self.snap, &mut self.ctl, &mut wire, now);
        for (out, f) in std::mem::take(&mut wire.0) {
            self.check_sent(out, &f, Sent::Other, None);
        }
        self.publish();
        self.check_bounds();
        let t = self.totals();
        assert!(
            ended(&t) <= self.rx,
            "more ends ({}) than frames received ({})",
            ended(&t),
            self.rx
        );
        assert!(
            ended(&t) + self.slow.neigh.held() as u64 >= self.rx,
            "a frame neither ended nor held: {} ended, {} held, {} received",
            ended(&t),
            self.slow.neigh.held(),
            self.rx
        );
    }

    /// The timers only (time passing with no frame): held packets may fail or leave.
    pub fn tick(&mut self) {
        let now = self.instant();
        let mut wire = Wire::default();
        self.slow.tick(&self.snap, &mut self.ctl, &mut wire, now);
        for (out, f) in std::mem::take(&mut wire.0) {
            self.check_sent(out, &f, Sent::Other, None);
        }
        if self.slow.fnhe.reap(self.ctl.now) {
            self.slow.fnhe.dirty = true;
        }
        self.publish();
        self.check_bounds();
    }

    /// The end: what is still held is discarded (as at shutdown), then every frame
    /// received must have ended exactly once.
    pub fn finish(mut self) {
        self.slow.shutdown(&mut self.ctl);
        let t = self.totals();
        assert_eq!(
            ended(&t),
            self.rx,
            "accounting: {} frames received, {} ended ({t:?})",
            self.rx,
            ended(&t)
        );
        assert_eq!(self.slow.neigh.held(), 0);
    }

    fn check_bounds(&self) {
        let flows = &self.ctx.flows;
        assert!(flows.table.len() <= flows.table.capacity());
        assert!(flows.table.capacity() <= net::CONNTRACK_MAX);
        let n = &self.slow.neigh;
        let statics = net::base().0.neighbors.len();
        assert!(
            n.len() <= net::GC_THRESH3 as usize + statics,
            "neighbour table past gc_thresh3: {} entries",
            n.len()
        );
        assert!(n.held() <= n.hold_max, "held {} > {}", n.held(), n.hold_max);
        let x = &self.slow.fnhe.exceptions;
        assert!(x.tables() <= self.snap.nexthops.len());
        assert!(x.len() <= x.tables() * FNHE_HASH_SIZE * (FNHE_RECLAIM_DEPTH + 1));
    }

    /// Checks one frame sent out of `out`.
    fn check_sent(&mut self, out: IfIndex, f: &[u8], what: Sent, mtu: Option<u16>) {
        self.tx += 1;
        let snap = &self.snap;
        assert!(
            (out as usize) < snap.ifaces.len(),
            "Tx to a missing port {out}"
        );
        assert!(f.len() >= ETH, "frame shorter than Ethernet: {f:?}");
        assert_eq!(f[6..12], snap.ifaces[out as usize].mac.0, "source MAC");
        let ethertype = be16(f, 12);
        if ethertype == 0x0806 {
            assert!(matches!(what, Sent::Other), "forwarded an ARP frame");
            assert_eq!(f.len(), fastpath::arp::FRAME_LEN, "ARP frame length");
            assert_eq!(f[14..20], [0, 1, 8, 0, 6, 4], "ARP header");
            assert!(matches!(be16(f, 20), 1 | 2), "ARP op");
            assert_eq!(f[22..28], f[6..12], "ARP sender = Ethernet source");
            return;
        }
        assert_eq!(ethertype, 0x0800, "ethertype");
        let ip = &f[ETH..];
        assert!(ip.len() >= 20, "IPv4 shorter than a header");
        let hl = usize::from(ip[0] & 0xf) * 4;
        assert!(
            ip[0] >> 4 == 4 && hl >= 20 && hl <= ip.len(),
            "IPv4 version/IHL"
        );
        assert_eq!(csum(&ip[..hl]), 0, "IPv4 header checksum");
        assert_eq!(
            usize::from(be16(ip, 2)),
            ip.len(),
            "total length = frame - 14"
        );
        if let Some(mtu) = mtu {
            assert!(ip.len() <= usize::from(mtu), "fragment over its MTU {mtu}");
        }
        match what {
            Sent::Forwarded(orig) => {
                assert!(orig.len() >= 20, "forwarded a frame without an IPv4 header");
                assert_eq!(ip[8] + 1, orig[8], "TTL decremented by exactly one");
                assert_eq!(ip[12..20], orig[12..20], "addresses kept");
                assert_eq!(ip[9], orig[9], "protocol kept");
                assert_eq!(ip[4..6], orig[4..6], "identification kept");
                if mtu.is_none() {
                    assert_eq!(ip.len(), usize::from(be16(orig, 2)), "length kept");
                    assert_eq!(ip[hl..], orig[hl..ip.len()], "payload kept");
                }
            }
            // A held packet the control core released is someone else's: what it carries
            // is not ours to check.
            Sent::Other if !snap.is_local(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15])) => {}
            Sent::Other => {
                let frag = be16(ip, 6) & 0x3fff;
                // What we originate: ICMP (errors, echo replies, redirects) or TCP resets;
                // a fragment of an echo reply carries only part of the message.
                match ip[9] {
                    1 if frag == 0 => {
                        assert_eq!(csum(&ip[hl..]), 0, "ICMP checksum");
                        let typ = ip[hl];
                        if matches!(typ, 3 | 5 | 11 | 12) {
                            assert!(ip.len() <= 576, "ICMP error over 576 bytes");
                        }
                    }
                    1 => {}
                    6 => {
                        assert_eq!(frag, 0, "a fragmented reset");
                        let tcp = &ip[hl..];
                        let mut pseudo = ip[12..20].to_vec();
                        pseudo.extend([0, 6]);
                        pseudo.extend((tcp.len() as u16).to_be_bytes());
                        pseudo.extend(tcp);
                        assert_eq!(csum(&pseudo), 0, "TCP checksum of a reset");
                        assert_ne!(tcp[13] & 0x04, 0, "TCP we send is a reset");
                    }
                    p => panic!("we originated protocol {p}"),
                }
            }
        }
    }
}

/// A fresh pair of counter blocks (worker, control core).
pub fn stats() -> (LcoreStats, LcoreStats) {
    (LcoreStats::new(1), LcoreStats::new(0))
}

/// Flowtable entries and learnt state before the input: a TCP connection A -> S through
/// B established both ways (offloaded), a UDP stream, and a PMTU exception for C's side.
pub fn warm_up(h: &mut Harness) {
    let s = Ipv4Addr::new(198, 51, 100, 7);
    let a = net::HOST_A;
    let tcp = |from: usize, src, dst, sp, dp, flags| {
        crate::frames::tcp(
            net::MAC[from],
            net::PEER_MAC[from],
            src,
            dst,
            sp,
            dp,
            flags,
            0,
        )
    };
    h.burst(&[&tcp(0, a, s, 40000, 80, 0x02)], 0);
    h.burst(&[&tcp(1, s, a, 80, 40000, 0x12)], 1);
    h.burst(&[&tcp(0, a, s, 40000, 80, 0x10)], 0);
    h.burst(&[&tcp(1, s, a, 80, 40000, 0x10)], 1);
    let udp = crate::frames::udp(
        net::MAC[0],
        net::MAC_A,
        a,
        Ipv4Addr::new(203, 0, 113, 9),
        5000,
        53,
        64,
    );
    h.burst(&[&udp, &udp], 0);
    // A frag-needed from B about an echo reply we sent to S (a PMTU exception).
    let quoted =
        crate::frames::ipv4_header(net::ROUTER[1], s, 1, 64, 1400, &[0, 0, 0, 0, 0, 1, 0, 1]);
    let err = crate::frames::icmp(1, net::GW_B, net::ROUTER[1], 3, 4, 1200, &quoted);
    h.burst(&[&err], 1);
}

/// Runs records (see [`crate::records`]) through a fresh harness: bursts on ports, time
/// steps, and the totals checked at the end.
pub fn run_records(data: &[u8], warm: bool) {
    let (ws, cs) = stats();
    let mut h = Harness::new(&ws, &cs);
    if warm {
        warm_up(&mut h);
    }
    for rec in crate::records::parse(data) {
        match rec {
            crate::records::Rec::Advance(ns) => {
                h.advance(ns);
                h.tick();
            }
            crate::records::Rec::Burst(port, frames) => {
                let frames: Vec<&[u8]> = frames.to_vec();
                h.burst(&frames, port % 3);
            }
        }
    }
    h.finish();
}
