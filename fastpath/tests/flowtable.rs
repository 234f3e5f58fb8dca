//! The flowtable on the packet path without EAL: TCP and UDP connections through
//! [`fastpath::pipeline`] on [`VecBuf`]s, with the clock and the snapshot in the test's
//! hands, for what the pcap tests cannot sequence: a route change (genid bump) moving an
//! offloaded flow at once, rp_filter checked again after one, expiry, and floods that
//! must not evict established flows. Every output frame is checked against what the
//! normal path sends (TTL, checksum by the RFC 1071 oracle, MACs, egress port).
//!
//! ```text
//!  A 10.0.1.2 --- p0 10.0.1.1 [router] p1 10.0.2.1 --- B 10.0.2.2 --- S 198.51.100.7
//!                                      p2 10.0.3.1 --- C 10.0.3.2 ---/
//! ```

use fastpath::conntrack::CtTimeouts;
use fastpath::fib::{Prefix, RouteType, TABLE_MAIN};
use fastpath::flowtable::Flows;
use fastpath::icmp_limit::RateLimiter;
use fastpath::iface::{IfAddr, IfIndex, Iface};
use fastpath::lcore::LcoreCtx;
use fastpath::nexthop::Nexthop;
use fastpath::packet::{PacketBuf, VecBuf, Verdict};
use fastpath::pipeline::{process, process_burst, BurstScratch};
use fastpath::snapshot::{Settings, Snapshot};
use fastpath::stats::{LcoreStats, Stat};
use fastpath::wire::EthernetAddress;
use std::net::Ipv4Addr;

#[allow(dead_code)]
mod common;
use common::csum;

const HZ: u64 = 1_000_000_000;
const MAC: [[u8; 6]; 3] = [[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 3]];
const MAC_A: [u8; 6] = [2, 0, 0, 0, 1, 2];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 2, 2];
const MAC_C: [u8; 6] = [2, 0, 0, 0, 3, 2];
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const C: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
const S: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

fn iface(name: &str, mac: [u8; 6], addr: Ipv4Addr) -> Iface {
    Iface {
        name: name.into(),
        port_id: 0,
        mac: EthernetAddress(mac),
        mtu: 1500,
        addrs: vec![IfAddr::new(addr, 24)],
    }
}

fn route_via(s: &mut Snapshot, net: Ipv4Addr, len: u8, iface: IfIndex, gw: Ipv4Addr) {
    let nh = s.nexthops.intern(Nexthop {
        iface,
        gateway: Some(gw),
    });
    s.add_route(TABLE_MAIN, Prefix::new(net, len), RouteType::Unicast(nh));
}

fn net(settings: Settings) -> Snapshot {
    let ifaces = vec![
        iface("p0", MAC[0], Ipv4Addr::new(10, 0, 1, 1)),
        iface("p1", MAC[1], Ipv4Addr::new(10, 0, 2, 1)),
        iface("p2", MAC[2], Ipv4Addr::new(10, 0, 3, 1)),
    ];
    let mut s = Snapshot::with_ifaces(ifaces, settings);
    s.neigh.insert(0, A, EthernetAddress(MAC_A));
    s.neigh.insert(1, B, EthernetAddress(MAC_B));
    s.neigh.insert(2, C, EthernetAddress(MAC_C));
    route_via(&mut s, Ipv4Addr::new(198, 51, 100, 0), 24, 1, B);
    s.genid = 1;
    s
}

/// The same network after `ip route replace 198.51.100.0/24 via 10.0.3.2`: a new
/// snapshot, so a new genid.
fn moved(old: &Snapshot) -> Snapshot {
    let mut s = old.clone();
    route_via(&mut s, Ipv4Addr::new(198, 51, 100, 0), 24, 2, C);
    s.genid += 1;
    s
}

/// An Ethernet + IPv4 + TCP (or UDP) frame to the router's port `to_port`.
fn frame(
    to_port: usize,
    src_mac: [u8; 6],
    l4: (u8, Ipv4Addr, Ipv4Addr, u16, u16, u8),
    len: usize,
) -> Vec<u8> {
    let (proto, src, dst, sport, dport, flags) = l4;
    let l4len = if proto == 6 { 20 } else { 8 };
    let total = 20 + l4len + len;
    let mut f = Vec::new();
    f.extend_from_slice(&MAC[to_port]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    if proto == 6 {
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        f.extend_from_slice(&((8 + len) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    }
    f.extend(std::iter::repeat_n(0xab, len));
    f
}

fn tcp_a(flags: u8) -> Vec<u8> {
    frame(0, MAC_A, (6, A, S, 40000, 80, flags), 10)
}

fn tcp_s(port: usize, gw_mac: [u8; 6], flags: u8) -> Vec<u8> {
    frame(port, gw_mac, (6, S, A, 80, 40000, flags), 10)
}

/// The frame the router sends for `input` out of `port` to `dst_mac`: TTL - 1, the
/// header checksum recomputed by the oracle, the port's MAC as source.
fn forwarded(input: &[u8], port: usize, dst_mac: [u8; 6]) -> Vec<u8> {
    let mut f = input.to_vec();
    f[..6].copy_from_slice(&dst_mac);
    f[6..12].copy_from_slice(&MAC[port]);
    f[14 + 8] -= 1;
    f[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let c = csum(&f[14..34]);
    f[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    f
}

struct Lcore {
    stats: &'static LcoreStats,
    ctx: LcoreCtx<'static>,
}

impl Lcore {
    fn new(capacity: u32, timeouts: CtTimeouts) -> Lcore {
        let stats: &'static LcoreStats = Box::leak(Box::new(LcoreStats::new(1)));
        let mut ctx = LcoreCtx::new(stats, RateLimiter::new(1_000_000, 1_000_000, HZ));
        ctx.flows = Flows::new(capacity, timeouts, HZ);
        ctx.now = 1000 * HZ;
        Lcore { stats, ctx }
    }

    fn get(&self, s: Stat) -> u64 {
        self.stats.snapshot().get(s)
    }

    /// One frame through `process`: the verdict and the frame as it leaves.
    fn run(&mut self, snap: &Snapshot, f: &[u8], in_if: IfIndex) -> (Verdict, Vec<u8>) {
        let mut pkt = VecBuf::new(f);
        let v = process(snap, &mut self.ctx, &mut pkt, in_if);
        (v, pkt.data().to_vec())
    }

    /// Sends `f` in on `in_if` and asserts it leaves `out` towards `mac`, byte-exact.
    #[track_caller]
    fn expect_fwd(&mut self, snap: &Snapshot, f: &[u8], in_if: IfIndex, out: usize, mac: [u8; 6]) {
        let (v, got) = self.run(snap, f, in_if);
        assert_eq!(v, Verdict::Tx(out as IfIndex));
        assert_eq!(got, forwarded(f, out, mac));
    }

    /// The three-way handshake of A:40000 -> S:80 through B, then established.
    fn handshake(&mut self, snap: &Snapshot) {
        self.expect_fwd(snap, &tcp_a(SYN), 0, 1, MAC_B);
        self.expect_fwd(snap, &tcp_s(1, MAC_B, SYN | ACK), 1, 0, MAC_A);
        self.expect_fwd(snap, &tcp_a(ACK), 0, 1, MAC_B);
        assert_eq!(self.get(Stat::FlowOffloads), 1);
    }
}

#[test]
fn offloaded_after_the_handshake_and_hits_both_ways_byte_exact() {
    let snap = net(Settings::default());
    let mut l = Lcore::new(1024, CtTimeouts::default());
    l.handshake(&snap);
    assert_eq!(l.get(Stat::FlowHits), 0);
    for _ in 0..3 {
        l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
        l.expect_fwd(&snap, &tcp_s(1, MAC_B, ACK), 1, 0, MAC_A);
    }
    assert_eq!(l.get(Stat::FlowHits), 6);
    assert_eq!(l.get(Stat::Forwarded), 9);
    // The same packets in bursts take the same decisions.
    let mut s = BurstScratch::default();
    let mut pkts: Vec<VecBuf> = (0..8).map(|_| VecBuf::new(&tcp_a(ACK))).collect();
    let mut v = [Verdict::Drop; 8];
    process_burst(&snap, &mut l.ctx, &mut pkts, 0, &mut v, &mut s);
    for (p, v) in pkts.iter().zip(v) {
        assert_eq!(v, Verdict::Tx(1));
        assert_eq!(p.data(), forwarded(&tcp_a(ACK), 1, MAC_B));
    }
    assert_eq!(l.get(Stat::FlowHits), 14);
    // FIN: torn down, forwarded by the normal path, never offloaded again.
    l.expect_fwd(&snap, &tcp_a(FIN | ACK), 0, 1, MAC_B);
    assert_eq!(l.get(Stat::FlowTeardownFin), 1);
    l.expect_fwd(&snap, &tcp_s(1, MAC_B, ACK), 1, 0, MAC_A);
    l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
    assert_eq!(l.get(Stat::FlowHits), 14);
    assert_eq!(l.get(Stat::FlowOffloads), 1);
}

#[test]
fn a_route_change_moves_an_offloaded_flow_at_once() {
    let snap = net(Settings::default());
    let mut l = Lcore::new(1024, CtTimeouts::default());
    l.handshake(&snap);
    l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
    assert_eq!(l.get(Stat::FlowHits), 1);
    // The very next packet after the change goes the new way, by the normal path.
    let new = moved(&snap);
    l.expect_fwd(&new, &tcp_a(ACK), 0, 2, MAC_C);
    assert_eq!(l.get(Stat::FlowTeardownGenid), 1);
    assert_eq!(l.get(Stat::FlowHits), 1);
    // S's replies now come in through C: the connection follows (its reply tuple moved
    // to p2), and is offloaded again once both ways passed under the new genid.
    l.expect_fwd(&new, &tcp_s(2, MAC_C, ACK), 2, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowOffloads), 2);
    l.expect_fwd(&new, &tcp_a(ACK), 0, 2, MAC_C);
    l.expect_fwd(&new, &tcp_s(2, MAC_C, ACK), 2, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowHits), 3);
    assert_eq!(l.ctx.flows.table.len(), 1);
}

#[test]
fn rp_filter_is_checked_again_after_a_genid_bump() {
    let snap = net(Settings {
        rp_filter: 1,
        ..Settings::default()
    });
    let mut l = Lcore::new(1024, CtTimeouts::default());
    l.handshake(&snap);
    l.expect_fwd(&snap, &tcp_s(1, MAC_B, ACK), 1, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowHits), 1);
    // S's prefix moves to p2: strict rp_filter now refuses S's packets on p1.
    let new = moved(&snap);
    let (v, _) = l.run(&new, &tcp_s(1, MAC_B, ACK), 1);
    assert_eq!(v, Verdict::Drop);
    assert_eq!(
        l.stats
            .snapshot()
            .dropped(fastpath::drop::DropReason::RpFilter),
        1
    );
    assert_eq!(l.get(Stat::FlowTeardownGenid), 1);
    assert_eq!(l.get(Stat::FlowHits), 1);
}

#[test]
fn idle_flows_leave_the_flowtable_then_the_table() {
    let t = CtTimeouts {
        flowtable_tcp: 30,
        tcp_established: 100,
        udp: 5,
        ..CtTimeouts::default()
    };
    let snap = net(Settings::default());
    let mut l = Lcore::new(64, t);
    l.handshake(&snap);
    // Idle past the flowtable's 30 s: the next packet is torn down, goes the normal
    // path and is offloaded again at once (still established both ways).
    l.ctx.now += 31 * HZ;
    l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
    assert_eq!(l.get(Stat::FlowTeardownTimeout), 1);
    assert_eq!(l.get(Stat::FlowOffloads), 2);
    l.expect_fwd(&snap, &tcp_s(1, MAC_B, ACK), 1, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowHits), 1);
    // A UDP query answered within the unreplied timeout (5 s) opens a connection; one
    // answered later does not (its first packet is forgotten).
    let (q, r) = udp_pair(5000);
    l.expect_fwd(&snap, &q, 0, 1, MAC_B);
    l.ctx.now += 6 * HZ;
    l.expect_fwd(&snap, &r, 1, 0, MAC_A);
    assert_eq!((l.ctx.flows.table.len(), l.get(Stat::FlowNew)), (1, 1));
    let (q, r) = udp_pair(5001);
    l.expect_fwd(&snap, &q, 0, 1, MAC_B);
    l.ctx.now += 4 * HZ;
    l.expect_fwd(&snap, &r, 1, 0, MAC_A);
    assert_eq!((l.ctx.flows.table.len(), l.get(Stat::FlowNew)), (2, 2));
    // The expiry sweep takes the TCP one out of the flowtable after 30 s and out of the
    // table after 100 s, the UDP one (replied: udp_stream, 120 s) after 120 s.
    let sweep = |l: &mut Lcore| {
        for _ in 0..64 {
            l.ctx.flows.gc(l.ctx.now, l.stats);
        }
    };
    l.ctx.now += 31 * HZ;
    sweep(&mut l);
    assert_eq!(l.ctx.flows.offloaded, 0);
    assert_eq!(l.get(Stat::FlowTeardownTimeout), 2);
    l.ctx.now += 70 * HZ;
    sweep(&mut l);
    assert_eq!(l.ctx.flows.table.len(), 1);
    assert_eq!(l.get(Stat::FlowExpired), 1);
    l.ctx.now += 20 * HZ;
    sweep(&mut l);
    assert!(l.ctx.flows.table.is_empty());
    assert_eq!(l.get(Stat::FlowExpired), 2);
}

/// A UDP query from A:`sport` to S:53 and its answer.
fn udp_pair(sport: u16) -> (Vec<u8>, Vec<u8>) {
    (
        frame(0, MAC_A, (17, A, S, sport, 53, 0), 10),
        frame(1, MAC_B, (17, S, A, 53, sport, 0), 10),
    )
}

#[test]
fn half_open_connections_do_not_evict_established_ones() {
    let snap = net(Settings::default());
    let mut l = Lcore::new(8, CtTimeouts::default());
    l.handshake(&snap);
    // 100 handshakes stopped after the SYN-ACK, each one a connection (replied, not
    // established): they take the free slots, then each other's.
    for p in 0..100u16 {
        let syn = frame(0, MAC_A, (6, A, S, 1000 + p, 80, SYN), 0);
        let syn_ack = frame(1, MAC_B, (6, S, A, 80, 1000 + p, SYN | ACK), 0);
        l.expect_fwd(&snap, &syn, 0, 1, MAC_B);
        l.expect_fwd(&snap, &syn_ack, 1, 0, MAC_A);
    }
    assert_eq!(l.get(Stat::FlowNew), 101);
    assert_eq!(l.get(Stat::FlowEvictions), 93);
    assert_eq!(l.ctx.flows.table.len(), 8);
    l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
    l.expect_fwd(&snap, &tcp_s(1, MAC_B, ACK), 1, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowHits), 2);
}

#[test]
fn floods_do_not_evict_established_flows() {
    let snap = net(Settings::default());
    let mut l = Lcore::new(64, CtTimeouts::default());
    l.handshake(&snap);
    let mut x = 0x9e37_79b9u32;
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        // SYNs and UDP from random sources, each forwarded as usual.
        let src = Ipv4Addr::from(0x0a00_0100 | (x % 250 + 3));
        let (proto, flags) = if i % 2 == 0 { (6, SYN) } else { (17, 0) };
        let f = frame(0, MAC_A, (proto, src, S, (x >> 8) as u16, 80, flags), 0);
        let (v, _) = l.run(&snap, &f, 0);
        assert_eq!(v, Verdict::Tx(1));
        if i % 1000 == 0 {
            l.expect_fwd(&snap, &tcp_a(ACK), 0, 1, MAC_B);
        }
    }
    // One-way packets are only noted as first packets: the table holds the one
    // connection, nothing was evicted.
    assert_eq!(l.get(Stat::FlowEvictions) + l.get(Stat::FlowNew), 1);
    assert_eq!(l.ctx.flows.table.len(), 1);
    assert_eq!(l.get(Stat::FlowHits), 20);
    assert_eq!(
        l.get(Stat::FlowTeardownGenid) + l.get(Stat::FlowTeardownTimeout),
        0
    );
    // An RST closes it: torn down, not offloaded again.
    l.expect_fwd(&snap, &tcp_s(1, MAC_B, RST | ACK), 1, 0, MAC_A);
    assert_eq!(l.get(Stat::FlowTeardownRst), 1);
    assert_eq!(l.ctx.flows.offloaded, 0);
}
