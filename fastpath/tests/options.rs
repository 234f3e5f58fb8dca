//! Record Route and Timestamp options in forwarded packets (Linux's
//! `__ip_options_compile` on input, then `ip_forward_options`), against Linux: the inputs
//! of `tests/pcap/linux_options.py`, from 10.0.1.2 on p0 to 198.51.100.7 via 10.0.2.2 on
//! p1, go through [`fastpath::pipeline::process`], and what leaves p1 must be the bytes
//! Linux 6.18 sent in the same topology, but for the timestamps (the time of day) and so
//! the header checksum, which is checked on its own.

use fastpath::fib::{Prefix, RouteType, TABLE_MAIN};
use fastpath::icmp_limit::RateLimiter;
use fastpath::iface::{IfAddr, Iface};
use fastpath::lcore::LcoreCtx;
use fastpath::nexthop::Nexthop;
use fastpath::packet::{PacketBuf, VecBuf, Verdict};
use fastpath::pipeline::process;
use fastpath::snapshot::{Settings, Snapshot};
use fastpath::stats::{LcoreStats, Stat};
use fastpath::wire::EthernetAddress;
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

mod common;
use common::{csum, pcap_frames};

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
            iface("p0", [2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 1, 1)),
            iface("p1", [2, 0, 0, 0, 0, 2], Ipv4Addr::new(10, 0, 2, 1)),
        ],
        Settings::default(),
    );
    let gw = Ipv4Addr::new(10, 0, 2, 2);
    s.neigh.insert(
        0,
        Ipv4Addr::new(10, 0, 1, 2),
        EthernetAddress([2, 0, 0, 0, 1, 2]),
    );
    s.neigh.insert(1, gw, EthernetAddress([2, 0, 0, 0, 2, 2]));
    let nh = s.nexthops.intern(Nexthop {
        iface: 1,
        gateway: Some(gw),
    });
    s.add_route(
        TABLE_MAIN,
        Prefix::new(Ipv4Addr::new(198, 51, 100, 0), 24),
        RouteType::Unicast(nh),
    );
    s
}

/// Where a timestamp was written in a forwarded frame: the 4 bytes before the pointer
/// of each Timestamp option whose pointer moved from `input`'s (frame offsets).
fn written_timestamps(input: &[u8], out: &[u8]) -> Vec<usize> {
    let hl = usize::from(input[14] & 0x0f) * 4;
    let mut at = 34;
    let mut slots = Vec::new();
    while at < 14 + hl {
        match input[at] {
            0 => break,
            1 => at += 1,
            kind => {
                let len = usize::from(input[at + 1]);
                if kind == 0x44 && out[at + 2] != input[at + 2] {
                    slots.push(at + usize::from(out[at + 2]) - 5);
                }
                at += len;
            }
        }
    }
    slots
}

/// Milliseconds since midnight UT now (RFC 791).
fn now_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    ((d.as_secs() % 86_400) * 1000 + u64::from(d.subsec_millis())) as i64
}

#[test]
fn recorded_as_linux_records_them() {
    let s = net();
    let input = pcap_frames(include_bytes!(
        "../../tests/pcap/fixtures/linux_options.in.pcap"
    ));
    let linux = pcap_frames(include_bytes!(
        "../../tests/pcap/fixtures/linux_options.out.pcap"
    ));
    assert_eq!(input.len(), linux.len());
    let stats = LcoreStats::new(1);
    let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1_000_000_000));
    let mut stamped = 0;
    for (i, (frame, theirs)) in input.iter().zip(&linux).enumerate() {
        let before = now_ms();
        let mut pkt = VecBuf::new(frame);
        assert_eq!(
            process(&s, &mut ctx, &mut pkt, 0),
            Verdict::Tx(1),
            "frame {i}"
        );
        let ours = pkt.data().to_vec();
        let hl = usize::from(ours[14] & 0x0f) * 4;
        assert_eq!(csum(&ours[14..14 + hl]), 0, "frame {i}: header checksum");
        let (mut a, mut b) = (ours.clone(), theirs.clone());
        let slots = written_timestamps(frame, theirs);
        for &at in &slots {
            let t = i64::from(u32::from_be_bytes(ours[at..at + 4].try_into().unwrap()));
            let after = now_ms();
            assert!(
                (before..=after).contains(&t) || after < before,
                "frame {i}: timestamp {t} not between {before} and {after}"
            );
            a[at..at + 4].fill(0);
            b[at..at + 4].fill(0);
            stamped += 1;
        }
        if !slots.is_empty() {
            a[24..26].fill(0);
            b[24..26].fill(0);
        }
        assert_eq!(a, b, "frame {i} (id {:02x}{:02x})", frame[18], frame[19]);
    }
    assert_eq!(stamped, 4, "timestamps written");
    assert_eq!(stats.snapshot().get(Stat::Forwarded), input.len() as u64);
}
