//! The fuzz targets: each takes any bytes, and panics only on a broken invariant (or a
//! crash of the code under test). `fuzz_targets/<name>.rs` hands them to libFuzzer;
//! `tests/replay.rs` replays the committed corpus through [`run`].

use crate::frames;
use crate::harness::{run_records, Harness};
use crate::net::{self, DESTS, MAC, PEER, PEER_MAC, ROUTER};
use crate::records;
use std::net::Ipv4Addr;
use std::path::Path;

/// Every target, by name (the directory of its corpus).
pub const TARGETS: &[&str] = &[
    "pipeline",
    "ipv4_options",
    "icmp_in",
    "arp",
    "config",
    "route_file",
    "cli",
];

/// Runs target `name` on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "pipeline" => pipeline(data),
        "ipv4_options" => ipv4_options(data),
        "icmp_in" => icmp_in(data),
        "arp" => arp(data),
        "config" => config(data),
        "route_file" => route_file(data),
        "cli" => cli(data),
        _ => panic!("no fuzz target {name}"),
    }
}

/// Any bytes as received frames (see [`records`]) on any port, after a warm-up that
/// leaves an offloaded TCP flow, a UDP stream and a PMTU exception in place.
pub fn pipeline(data: &[u8]) {
    run_records(data, true);
}

/// Little-endian cursor over the input, zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) << 8 | u16::from(self.u8())
    }
    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) << 16 | u32::from(self.u16())
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// An address: one of the network's (routers, peers, destinations) or any.
    fn addr(&mut self) -> Ipv4Addr {
        let sel = self.u8();
        match sel % 8 {
            0 | 1 => ROUTER[usize::from(sel / 8) % 3],
            2 => PEER[usize::from(sel / 8) % 3],
            3..=5 => DESTS[usize::from(sel / 8) % DESTS.len()],
            6 => Ipv4Addr::new(10, 0, (sel / 8) % 4, self.u8()),
            _ => Ipv4Addr::from(self.u32()),
        }
    }
}

/// IPv4 headers with any options (up to 40 bytes, any contents) and any TTL, TOS and
/// fragment word, to every kind of destination, from every port; well-formed otherwise
/// (lengths, header checksum), so the options code decides. Several packets an input.
pub fn ipv4_options(data: &[u8]) {
    let (ws, cs) = crate::harness::stats();
    let mut h = Harness::new(&ws, &cs);
    let mut b = Bytes(data);
    while !b.is_empty() {
        let sel = b.u8();
        let port = usize::from(sel % 3);
        let src = if sel & 0x80 != 0 {
            b.addr()
        } else {
            PEER[port]
        };
        let dst = b.addr();
        let ttl = b.u8();
        let tos = b.u8();
        let frag = b.u16() & if sel & 0x40 != 0 { 0xffff } else { 0x4000 };
        let olen = usize::from(b.u8() % 41);
        let opts = b.take(olen).to_vec();
        let proto_sel = b.u8();
        let plen = usize::from(b.u8());
        let (proto, payload) = match proto_sel % 4 {
            0 => (1, frames::icmp_msg(8, 0, 0x0001_0001, b.take(plen))),
            1 => (17, {
                let mut u = vec![0x9c, 0x40, 0, 53];
                u.extend((8 + plen as u16).to_be_bytes());
                u.extend([0, 0]);
                u.extend(b.take(plen));
                u
            }),
            2 => (6, {
                let mut t = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02];
                t.extend([0xff, 0xff, 0, 0, 0, 0]);
                t
            }),
            _ => (proto_sel, b.take(plen).to_vec()),
        };
        let ip = frames::ipv4(src, dst, proto, ttl, tos, frag, &opts, &payload);
        let dmac = if sel & 0x20 != 0 {
            [0xff; 6]
        } else {
            MAC[port]
        };
        let f = frames::eth(dmac, PEER_MAC[port], 0x0800, &ip);
        h.burst(&[&f], port as u16);
        if sel & 0x10 != 0 {
            h.advance(50_000_000);
            h.tick();
        }
    }
    h.finish();
}

/// ICMP errors addressed to us (frag needed, redirects, any other type and code) about
/// packets we sent or not, from any neighbour, each followed by a packet to the quoted
/// destination and one that draws an ICMP error towards it, so what was learnt (a PMTU,
/// a new gateway) is used at once.
pub fn icmp_in(data: &[u8]) {
    let (ws, cs) = crate::harness::stats();
    let mut h = Harness::new(&ws, &cs);
    let mut b = Bytes(data);
    while !b.is_empty() {
        let sel = b.u8();
        let port = usize::from(sel % 3);
        let (typ, code) = match (sel >> 2) % 4 {
            0 => (3, 4),
            1 => (5, b.u8() % 4),
            2 => (3, b.u8()),
            _ => (b.u8(), b.u8()),
        };
        let rest = match typ {
            3 => u32::from(b.u16()),
            5 => u32::from(b.addr()),
            _ => b.u32(),
        };
        let outer_src = if sel & 0x10 != 0 {
            b.addr()
        } else {
            PEER[port]
        };
        let outer_dst = if sel & 0x20 != 0 {
            b.addr()
        } else {
            ROUTER[port]
        };
        let q_src = if sel & 0x40 != 0 {
            b.addr()
        } else {
            ROUTER[port]
        };
        let q_dst = b.addr();
        let q_proto = if sel & 0x80 != 0 { b.u8() } else { 1 };
        let q_len = b.u16();
        let mut l4 = [0u8, 0, 0, 0, 0, 1, 0, 1];
        let t = b.take(8);
        l4[..t.len()].copy_from_slice(t);
        let quoted = frames::ipv4_header(q_src, q_dst, q_proto, 64, q_len, &l4);
        let f = frames::icmp(port, outer_src, outer_dst, typ, code, rest, &quoted);
        h.burst(&[&f], port as u16);
        // Use what was learnt: forward to the quoted destination (DF set and clear), and
        // make an ICMP error go back to it (time exceeded).
        let big = 1200;
        let fwd_df = frames::tcp(MAC[0], PEER_MAC[0], net::HOST_A, q_dst, 1, 2, 0x02, big);
        let mut fwd = frames::udp(MAC[0], PEER_MAC[0], net::HOST_A, q_dst, 1, 2, big);
        fwd[20] &= !0x40;
        let mut back = frames::udp(MAC[1], PEER_MAC[1], q_dst, net::HOST_A, 3, 4, 300);
        back[22] = 1;
        // Header checksums after the edits.
        for f in [&mut fwd, &mut back] {
            f[24..26].copy_from_slice(&[0, 0]);
            let c = crate::harness::csum(&f[14..34]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
        }
        h.burst(&[&fwd_df, &fwd], 0);
        h.burst(&[&back], 1);
        if sel & 0x08 != 0 {
            h.advance(1_000_000_000 << (b.u8() % 12));
            h.tick();
        }
    }
    h.finish();
}

/// ARP requests, replies and garbage-ish ARP (any op, sender and target, to our MAC, a
/// broadcast or another host), mixed with packets that need a neighbour resolved and
/// time passing, so entries go through every NUD state, queues fill and the table hits
/// `gc_thresh3`.
pub fn arp(data: &[u8]) {
    let (ws, cs) = crate::harness::stats();
    let mut h = Harness::new(&ws, &cs);
    let mut b = Bytes(data);
    while !b.is_empty() {
        let sel = b.u8();
        let port = usize::from(sel % 3);
        match (sel >> 2) % 8 {
            0..=4 => {
                let op = match b.u8() % 4 {
                    0 => 1,
                    1 => 2,
                    _ => b.u16(),
                };
                let mac_sel = b.u8();
                let sha = match mac_sel % 4 {
                    0 => PEER_MAC[port],
                    1 => [2, 0, 0, 9, mac_sel, b.u8()],
                    2 => {
                        let mut m = [0u8; 6];
                        let t = b.take(6);
                        m[..t.len()].copy_from_slice(t);
                        m
                    }
                    _ => MAC[port],
                };
                let spa = b.addr();
                let tpa = b.addr();
                let dmac = match b.u8() % 3 {
                    0 => [0xff; 6],
                    1 => MAC[port],
                    _ => [2, 0, 0, 0, 9, 9],
                };
                let f = frames::arp(dmac, op, sha, spa, [0; 6], tpa);
                h.burst(&[&f], port as u16);
            }
            5 | 6 => {
                // A packet to an on-link address of p1 or p2: resolution, hold queue.
                let dst = Ipv4Addr::new(10, 0, 2 + (sel >> 5) % 2, b.u8());
                let f = frames::udp(MAC[0], PEER_MAC[0], net::HOST_A, dst, 7, 9, 32);
                h.burst(&[&f], 0);
            }
            _ => {
                h.advance(1_000_000 << (b.u8() % 37).min(20));
                h.tick();
            }
        }
    }
    h.finish();
}

/// Any text as the YAML config: an error is one `file:line:column: message` line (no
/// panic); an accepted config compiles (route files left out: they name files) and
/// survives `show config` (its YAML) read back as the same config.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match conf::Config::from_str(&text, Path::new("f.yaml")) {
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "error of more than one line: {msg:?}");
        }
        Ok(mut cfg) => {
            cfg.route_files.clear();
            let yaml = cfg.to_yaml();
            let again = conf::Config::from_str(&yaml, &cfg.path)
                .unwrap_or_else(|e| panic!("show config does not read back: {e}\n{yaml}"));
            assert_eq!(again, cfg, "show config read back differs\n{yaml}");
            let _ = control::compile::compile(&cfg);
        }
    }
}

/// Any bytes as a route file: every route handed on is a canonical prefix via one of the
/// gateways, as many as the count returned, and an error is one line naming
/// `file:line:column`.
pub fn route_file(data: &[u8]) {
    let via = [net::GW_B, net::HOST_C, net::GW_B2];
    let mut n = 0usize;
    let r = conf::route_file::read_from(data, Path::new("r.txt"), &via, |p, gw| {
        assert_eq!(p, p.trunc(), "a prefix with host bits");
        assert!(via.contains(&gw));
        n += 1;
    });
    match r {
        Ok(count) => assert_eq!(count, n),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("r.txt"), "{msg}");
            assert!(!msg.contains('\n'), "error of more than one line: {msg:?}");
        }
    }
}

const CLI_CONFIG: &str = r#"
ports:
  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }
  - { name: p1, device: net_null1, addresses: [10.0.2.1/24] }
tables: [{ id: 100, name: isp2 }]
nexthops:
  - { id: 1, via: 10.0.1.2 }
routes:
  - { prefix: 0.0.0.0/0, via: 10.0.1.2 }
  - { prefix: 0.0.0.0/0, via: 10.0.2.2, table: isp2 }
  - { prefix: 198.51.100.0/24, nhid: 1 }
rules:
  - { pref: 100, from: 192.0.2.0/24, table: isp2 }
"#;

/// Any text as CLI lines (the routing commands: `route`, `rule`, `nexthop`, `show`),
/// run in order on one running state: errors are one line; after every line the
/// router's snapshot answers a lookup; at the end `show config` reads back as the
/// running config.
pub fn cli(data: &[u8]) {
    use control::reply::Reply;
    use control::routing::{Handled, Routing};
    // Compiled once (a build of the three tables costs more than the lines that follow).
    static BASE: std::sync::OnceLock<(conf::Config, control::router::Router)> =
        std::sync::OnceLock::new();
    let (cfg, router) = BASE.get_or_init(|| {
        let cfg = conf::Config::from_str(CLI_CONFIG, Path::new("cli.yaml")).expect("config");
        let (router, _) = control::compile::compile(&cfg).expect("compile");
        (cfg, router)
    });
    let mut r = Routing::new(cfg.clone(), router.clone());
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // `route load` reads files by name: not from fuzz input.
        if words.len() >= 2 && matches!(words[1], "load") {
            continue;
        }
        match r.dispatch(&words) {
            Err(e) => assert!(
                !e.trim_end().contains('\n'),
                "error of more than one line: {e:?}"
            ),
            Ok(Handled::Reply(mut reply)) => {
                let mut pieces = 0;
                while let Reply::Part { cursor, .. } = reply {
                    pieces += 1;
                    assert!(pieces < 100_000, "an answer that never ends");
                    reply = r.resume(cursor);
                }
            }
            Ok(Handled::Later) => r.cancel_load(),
            Ok(Handled::NotMine) => {}
        }
        let _ = r
            .router
            .work
            .fib
            .lookup(&fastpath::fib::FlowKey::new(Ipv4Addr::new(198, 51, 100, 1)));
    }
    let yaml = r.cfg.to_yaml();
    let again = conf::Config::from_str(&yaml, &r.cfg.path)
        .unwrap_or_else(|e| panic!("show config does not read back: {e}\n{yaml}"));
    assert_eq!(again, r.cfg, "show config read back differs\n{yaml}");
}

/// A seed of one frame on one port for the packet targets.
pub fn seed_frame(port: u8, frame: &[u8]) -> Vec<u8> {
    records::one(port, frame)
}
