//! ICMP redirects (Linux's `__mkroute_input` -> `ip_forward` -> `ip_rt_send_redirect`)
//! through the pipeline without EAL, against Linux: the inputs of
//! `tests/pcap/linux_redirects.py` go through [`fastpath::pipeline::process`] and
//! [`fastpath::pipeline::redirect_first`] (what the worker does with a verdict), and what
//! leaves p0 must be the bytes Linux 6.18 sent in the same topology, but for the IP id
//! and header checksum of the packets we originate. Then the decision's cases one by one
//! (send_redirects as `IN_DEV_ORCONF`, the source check, a fragmented packet) and the
//! backoff on the lcore's clock.

use fastpath::fib::{Prefix, RouteType, TABLE_MAIN};
use fastpath::icmp_limit::RateLimiter;
use fastpath::iface::{IfAddr, IfIndex, Iface};
use fastpath::lcore::LcoreCtx;
use fastpath::nexthop::Nexthop;
use fastpath::packet::{PacketBuf, VecBuf, Verdict};
use fastpath::pipeline::{process, redirect_first};
use fastpath::snapshot::{DevConf, Settings, Snapshot};
use fastpath::stats::{LcoreStats, Stat, StatsSnapshot};
use fastpath::wire::EthernetAddress;
use std::net::Ipv4Addr;

mod common;
use common::{csum, pcap_frames};

const HZ: u64 = 1_000_000_000;
const MS: u64 = HZ / 1000;
const MAC0: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC1: [u8; 6] = [2, 0, 0, 0, 0, 2];
const N0: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
const N0_MAC: [u8; 6] = [2, 0, 0, 0, 1, 2];

fn host_mac(last: u8) -> [u8; 6] {
    [2, 0, 0, 0, 1, last]
}

/// The topology of `linux_redirects.py`: p0 10.0.1.1/24 with the router 10.0.1.2 and
/// hosts 10.0.1.3..=11 as neighbours, p1 10.0.2.1/24 with 10.0.2.2; default via
/// 10.0.1.2, 198.51.100.0/24 via 10.0.2.2, and the reject routes of the pcap tests.
fn net() -> Snapshot {
    let iface = |name: &str, mac, addr| Iface {
        name: String::from(name),
        port_id: 0,
        mac: EthernetAddress(mac),
        mtu: 1500,
        addrs: vec![IfAddr::new(addr, 24)],
    };
    let mut s = Snapshot::with_ifaces(
        vec![
            iface("p0", MAC0, Ipv4Addr::new(10, 0, 1, 1)),
            iface("p1", MAC1, Ipv4Addr::new(10, 0, 2, 1)),
        ],
        Settings::default(),
    );
    s.neigh.insert(0, N0, EthernetAddress(N0_MAC));
    for i in 3..=11 {
        s.neigh
            .insert(0, Ipv4Addr::new(10, 0, 1, i), EthernetAddress(host_mac(i)));
    }
    s.neigh.insert(
        1,
        Ipv4Addr::new(10, 0, 2, 2),
        EthernetAddress([2, 0, 0, 0, 2, 2]),
    );
    let via = |s: &mut Snapshot, iface: IfIndex, gw: Ipv4Addr| {
        RouteType::Unicast(s.nexthops.intern(Nexthop {
            iface,
            gateway: Some(gw),
        }))
    };
    let default = via(&mut s, 0, N0);
    let b = via(&mut s, 1, Ipv4Addr::new(10, 0, 2, 2));
    for (net, len, rt) in [
        (Ipv4Addr::UNSPECIFIED, 0, default),
        (Ipv4Addr::new(198, 51, 100, 0), 24, b),
        (Ipv4Addr::new(203, 0, 113, 0), 24, RouteType::Blackhole),
        (Ipv4Addr::new(203, 0, 113, 128), 25, RouteType::Unreachable),
        (Ipv4Addr::new(192, 0, 2, 0), 24, RouteType::Prohibit),
    ] {
        s.add_route(TABLE_MAIN, Prefix::new(net, len), rt);
    }
    s
}

/// One lcore whose ICMP limits never bite, at TSC time `now`.
struct Lcore {
    stats: &'static LcoreStats,
    ctx: LcoreCtx<'static>,
}

impl Lcore {
    fn new() -> Lcore {
        let stats = Box::leak(Box::new(LcoreStats::new(1)));
        let mut ctx = LcoreCtx::new(stats, RateLimiter::new(1_000_000, 1_000_000, HZ));
        ctx.now = 1000 * MS;
        Lcore { stats, ctx }
    }

    /// One frame received on `in_if`: its verdict, and the frames the worker sends for
    /// it (port, bytes), in order; fragments are not split here.
    fn send(
        &mut self,
        s: &Snapshot,
        frame: &[u8],
        in_if: IfIndex,
    ) -> (Verdict, Vec<(IfIndex, Vec<u8>)>) {
        let mut pkt = VecBuf::new(frame);
        let verdict = process(s, &mut self.ctx, &mut pkt, in_if);
        let (then, redirect) = redirect_first(s, &mut self.ctx, &pkt, verdict);
        let mut out: Vec<_> = redirect
            .map(|(r, p)| (p, r.data().to_vec()))
            .into_iter()
            .collect();
        match then {
            Verdict::Tx(p) | Verdict::Fragment(p, _) | Verdict::FragmentLocal(p, _) => {
                out.push((p, pkt.data().to_vec()))
            }
            // Waiting for a neighbour on the control core: nothing leaves yet.
            Verdict::Drop | Verdict::Punt(_) => {}
            Verdict::Redirect { .. } => panic!("redirect_first left a redirect"),
        }
        (verdict, out)
    }

    fn counters(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}

// ---------------------------------------------------------------------------------------
// Oracle and builders
// ---------------------------------------------------------------------------------------

/// An Ethernet frame to p0 from `src_mac` with an IPv4/UDP packet of `data` bytes.
fn udp(src_mac: [u8; 6], src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, df: bool, data: usize) -> Vec<u8> {
    let total = 28 + data;
    let mut ip = vec![
        0x45,
        0,
        0,
        0,
        0x12,
        0x34,
        if df { 0x40 } else { 0 },
        0,
        ttl,
        17,
        0,
        0,
    ];
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&[0x9c, 0x40, 0x27, 0x0f]);
    ip.extend_from_slice(&((8 + data) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend((0..data).map(|i| i as u8));
    let mut f = MAC0.to_vec();
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[8, 0]);
    f.extend_from_slice(&ip);
    f
}

fn host(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 1, i)
}

const FAR: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);

/// A frame with the IP id and header checksum of an ICMP message we originate blanked
/// (Linux picks its ids otherwise; the checksum is checked here); forwarded frames are
/// kept whole.
fn masked(f: &[u8]) -> Vec<u8> {
    let mut f = f.to_vec();
    if f[23] == 1 && f[6..12] == MAC0 && f[26..30] == [10, 0, 1, 1] {
        assert_eq!(f[14], 0x45, "no options");
        assert_eq!(csum(&f[14..34]), 0, "IP header checksum");
        f[18..20].fill(0);
        f[24..26].fill(0);
    }
    f
}

// ---------------------------------------------------------------------------------------
// Against Linux
// ---------------------------------------------------------------------------------------

#[test]
fn redirects_are_linux_bytes() {
    let s = net();
    let input = pcap_frames(include_bytes!(
        "../../tests/pcap/fixtures/linux_redirect.in.pcap"
    ));
    let linux = pcap_frames(include_bytes!(
        "../../tests/pcap/fixtures/linux_redirect.out.pcap"
    ));
    let mut lc = Lcore::new();
    let mut ours = Vec::new();
    for f in &input {
        for (port, out) in lc.send(&s, f, 0).1 {
            assert_eq!(port, 0, "everything leaves by p0");
            ours.push(out);
        }
    }
    assert_eq!(ours.len(), linux.len(), "frames sent");
    for (i, (a, b)) in ours.iter().zip(&linux).enumerate() {
        assert_eq!(masked(a), masked(b), "frame {i}");
    }
    let d = lc.counters();
    assert_eq!(d.get(Stat::RedirectsSent), 4);
    // 10.0.1.9's ICMP error cost it a redirect of its backoff, then suppressed (as Linux:
    // ip_rt_send_redirect counts it before icmp_send refuses); 10.0.1.3's five more.
    assert_eq!(d.get(Stat::IcmpSuppressed), 1);
    assert_eq!(d.get(Stat::RedirectsSuppressed), 5);
}

// ---------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------

fn redirect_of(out: &[(IfIndex, Vec<u8>)]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    out.iter()
        .find(|(_, f)| f[23] == 1 && f[34] == 5)
        .map(|(_, f)| {
            assert_eq!(f[35], 1, "code: redirect for host");
            assert_eq!(csum(&f[34..]), 0, "ICMP checksum");
            let at = |i: usize| Ipv4Addr::new(f[i], f[i + 1], f[i + 2], f[i + 3]);
            (at(30), at(38))
        })
}

#[test]
fn names_the_gateway_or_the_destination() {
    let s = net();
    let mut lc = Lcore::new();
    let (v, out) = lc.send(&s, &udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
    assert_eq!(
        v,
        Verdict::Redirect {
            gw: N0,
            out: 0,
            mtu: 0
        }
    );
    assert_eq!(redirect_of(&out), Some((host(3), N0)));
    assert_eq!(out[1].1[..6], N0_MAC, "then forwarded to the gateway");
    let (_, out) = lc.send(&s, &udp(host_mac(4), host(4), host(5), 64, true, 10), 0);
    assert_eq!(
        redirect_of(&out),
        Some((host(4), host(5))),
        "on-link: the destination"
    );
    assert_eq!(out[1].1[..6], host_mac(5));
    let d = lc.counters();
    assert_eq!((d.get(Stat::RedirectsSent), d.get(Stat::Forwarded)), (2, 2));
}

#[test]
fn no_redirect_when_it_would_not_help() {
    let s = net();
    let mut lc = Lcore::new();
    // Out of another interface.
    let (v, _) = lc.send(
        &s,
        &udp(
            host_mac(3),
            host(3),
            Ipv4Addr::new(198, 51, 100, 7),
            64,
            true,
            10,
        ),
        0,
    );
    assert_eq!(v, Verdict::Tx(1));
    // A source behind a gateway (its route back is not directly connected).
    let (v, _) = lc.send(
        &s,
        &udp(N0_MAC, Ipv4Addr::new(172, 16, 1, 1), FAR, 64, true, 10),
        0,
    );
    assert_eq!(v, Verdict::Tx(0));
    // A source whose route back is a blackhole or prohibit: forwarded (Linux agrees).
    for src in [Ipv4Addr::new(203, 0, 113, 5), Ipv4Addr::new(192, 0, 2, 5)] {
        let (v, _) = lc.send(&s, &udp(N0_MAC, src, FAR, 64, true, 10), 0);
        assert_eq!(v, Verdict::Tx(0), "{src}");
    }
    // TTL 1: time exceeded, and the backoff is untouched.
    let (v, out) = lc.send(&s, &udp(host_mac(3), host(3), FAR, 1, true, 10), 0);
    assert_eq!((v, out[0].1[34]), (Verdict::Tx(0), 11));
    let d = lc.counters();
    assert_eq!(
        d.get(Stat::RedirectsSent) + d.get(Stat::RedirectsSuppressed),
        0
    );
    let (v, _) = lc.send(&s, &udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
    assert!(matches!(v, Verdict::Redirect { .. }));
}

#[test]
fn send_redirects_is_all_or_the_interface() {
    let cases = [
        (true, true, true),
        (false, true, true),
        (true, false, true),
        (false, false, false),
    ];
    for (all, dev, sent) in cases {
        let mut s = net();
        s.settings.send_redirects = all;
        s.devconf = vec![
            DevConf {
                send_redirects: dev,
                ..DevConf::default()
            },
            DevConf::default(),
        ];
        let mut lc = Lcore::new();
        let (v, out) = lc.send(&s, &udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
        assert_eq!(
            redirect_of(&out).is_some(),
            sent,
            "all={all} p0={dev}: {v:?}"
        );
        assert_eq!(lc.counters().get(Stat::Forwarded), 1);
    }
    // p1's setting says nothing about p0.
    let mut s = net();
    s.settings.send_redirects = false;
    s.devconf = vec![
        DevConf {
            send_redirects: false,
            ..DevConf::default()
        },
        DevConf::default(),
    ];
    let (v, _) = Lcore::new().send(&s, &udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
    assert_eq!(v, Verdict::Tx(0));
}

#[test]
fn a_fragmented_packet_gets_one_redirect_quoting_its_start() {
    let mut s = net();
    s.ifaces[0].mtu = 1000;
    let mut lc = Lcore::new();
    let f = udp(host_mac(3), host(3), FAR, 64, false, 1400);
    let (v, out) = lc.send(&s, &f, 0);
    assert_eq!(
        v,
        Verdict::Redirect {
            gw: N0,
            out: 0,
            mtu: 1000
        }
    );
    let r = &out[0].1;
    assert_eq!(r.len(), 14 + 576, "cut to 576 bytes");
    // The quote is the packet as it leaves: TTL 63, its checksum updated.
    assert_eq!(r[42 + 8], 63);
    assert_eq!(csum(&r[42..62]), 0);
    assert_eq!(r[62..], f[34..14 + 548]);
    assert_eq!(
        out[1].1.len(),
        f.len(),
        "the packet, to be fragmented by the worker"
    );
    // DF set instead: frag needed only, no redirect.
    let f = udp(host_mac(4), host(4), FAR, 64, true, 1400);
    let (v, out) = lc.send(&s, &f, 0);
    assert_eq!((v, out.len(), out[0].1[34]), (Verdict::Tx(0), 1, 3));
}

#[test]
fn the_backoff_is_per_source_on_the_lcore_clock() {
    let s = net();
    let mut lc = Lcore::new();
    let start = lc.ctx.now;
    let mut sent = Vec::new();
    for t in (0..12_000).step_by(10) {
        lc.ctx.now = start + t * MS;
        let (v, out) = lc.send(&s, &udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
        assert_eq!(v.forwarded(), Verdict::Tx(0), "always forwarded");
        if redirect_of(&out).is_some() {
            sent.push(t);
        }
        // Another host meanwhile gets its own first redirect.
        if t == 70 {
            let (_, out) = lc.send(&s, &udp(host_mac(4), host(4), FAR, 64, true, 10), 0);
            assert!(redirect_of(&out).is_some());
        }
    }
    // Linux, a packet every 10 ms (linux_redirects.py --timing): 0, 51, 134, 298, 628,
    // 1276, 2563, 5124, 10251 ms.
    assert_eq!(sent, [0, 50, 140, 310, 640, 1290, 2580, 5150, 10280]);
    let d = lc.counters();
    assert_eq!(d.get(Stat::RedirectsSent), 10);
    assert_eq!(d.get(Stat::RedirectsSuppressed), 1200 - 9);
    assert_eq!(d.get(Stat::Forwarded), 1201);
}

#[test]
fn no_mbuf_for_the_redirect_still_forwards() {
    let s = net();
    let mut lc = Lcore::new();
    let mut pkt = VecBuf::with_pool(&udp(host_mac(3), host(3), FAR, 64, true, 10), 0);
    let v = process(&s, &mut lc.ctx, &mut pkt, 0);
    let (then, redirect) = redirect_first(&s, &mut lc.ctx, &pkt, v);
    assert!(matches!(v, Verdict::Redirect { .. }));
    assert_eq!((then, redirect.is_none()), (Verdict::Tx(0), true));
    let d = lc.counters();
    assert_eq!(
        (
            d.get(Stat::Forwarded),
            d.get(Stat::RedirectsSent),
            d.get(Stat::IcmpNoRouteBack)
        ),
        (1, 0, 1)
    );
}
