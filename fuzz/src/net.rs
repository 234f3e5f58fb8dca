//! The network every packet target runs against, built the way the appliance builds it:
//! a YAML config (ports, static neighbours, routes of every type, an ECMP route, a
//! nexthop object, policy rules, a second table) plus a route file, compiled by
//! `control::compile` into the first snapshot. Small bounds (conntrack slots, neighbour
//! table, hold queues) so that a fuzz input of a few frames can reach them.
//!
//! ```text
//!   A 10.0.1.2 --- p0 10.0.1.1/24 [router] p1 10.0.2.1/24, 10.0.22.1/24 --- B 10.0.2.2, B2 10.0.22.2
//!                                          p2 10.0.3.1/24 (MTU 1000) --- C 10.0.3.2
//! ```
//!
//! The route file: `FASTPATH_FUZZ_TABLE` names one (e.g. the full RouteViews table in
//! `../shared/data`); without it, 4096 prefixes drawn from a fixed seed are written to a
//! temporary file (a realistic length profile: mostly /24, /16-/23, some longer).

use conf::Config;
use fastpath::snapshot::Snapshot;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const MAC: [[u8; 6]; 3] = [[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 3]];
pub const MAC_A: [u8; 6] = [2, 0, 0, 0, 1, 2];
pub const MAC_B: [u8; 6] = [2, 0, 0, 0, 2, 2];
pub const MAC_B2: [u8; 6] = [2, 0, 0, 0, 0x22, 2];
pub const MAC_C: [u8; 6] = [2, 0, 0, 0, 3, 2];
/// The router's first address on each port.
pub const ROUTER: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 1, 1),
    Ipv4Addr::new(10, 0, 2, 1),
    Ipv4Addr::new(10, 0, 3, 1),
];
pub const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
pub const GW_B: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
pub const GW_B2: Ipv4Addr = Ipv4Addr::new(10, 0, 22, 2);
pub const HOST_C: Ipv4Addr = Ipv4Addr::new(10, 0, 3, 2);
/// The neighbour behind each port a frame comes from (its MAC as the frame's source).
pub const PEER_MAC: [[u8; 6]; 3] = [MAC_A, MAC_B, MAC_C];
pub const PEER: [Ipv4Addr; 3] = [HOST_A, GW_B, HOST_C];
/// Destinations with a route of each kind (for the builders of the structured targets).
pub const DESTS: [Ipv4Addr; 10] = [
    Ipv4Addr::new(198, 51, 100, 7), // via B
    Ipv4Addr::new(100, 100, 5, 5),  // via B2
    Ipv4Addr::new(203, 0, 113, 9),  // via C (MTU 1000)
    Ipv4Addr::new(192, 0, 2, 1),    // blackhole
    Ipv4Addr::new(192, 0, 2, 65),   // unreachable
    Ipv4Addr::new(192, 0, 2, 129),  // prohibit
    Ipv4Addr::new(192, 0, 2, 200),  // ECMP B / C
    Ipv4Addr::new(10, 9, 1, 1),     // via 10.0.2.9, no neighbour
    Ipv4Addr::new(10, 0, 2, 50),    // on-link p1, no neighbour
    Ipv4Addr::new(172, 16, 0, 1),   // nhid 1, or table 100 for sources of 10.0.1.128/25
];

/// Conntrack slots of the one lcore (`nf_conntrack_max`).
pub const CONNTRACK_MAX: u32 = 8;
/// Neighbour table bound for non-static entries (`gc_thresh3`).
pub const GC_THRESH3: u32 = 16;
/// Packets held for unresolved neighbours, in all (the control core's `hold_max`).
pub const HOLD_MAX: usize = 8;

fn config_text(route_file: &Path) -> String {
    format!(
        r#"
ports:
  - {{ name: p0, device: net_null0, mac: "02:00:00:00:00:01", addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: net_null1, mac: "02:00:00:00:00:02", addresses: [10.0.2.1/24, 10.0.22.1/24] }}
  - {{ name: p2, device: net_null2, mac: "02:00:00:00:00:03", mtu: 1000, addresses: [10.0.3.1/24], rp_filter: 1 }}
neighbors:
  - {{ address: 10.0.1.2, mac: "02:00:00:00:01:02", port: p0 }}
  - {{ address: 10.0.2.2, mac: "02:00:00:00:02:02", port: p1 }}
  - {{ address: 10.0.22.2, mac: "02:00:00:00:22:02", port: p1 }}
  - {{ address: 10.0.3.2, mac: "02:00:00:00:03:02", port: p2 }}
tables: [{{ id: 100, name: isp2 }}]
nexthops:
  - {{ id: 1, via: 10.0.3.2 }}
routes:
  - {{ prefix: 198.51.100.0/24, via: 10.0.2.2 }}
  - {{ prefix: 100.100.0.0/16, via: 10.0.22.2 }}
  - {{ prefix: 203.0.113.0/24, via: 10.0.3.2 }}
  - {{ prefix: 10.9.0.0/16, via: 10.0.2.9 }}
  - {{ prefix: 192.0.2.0/26, type: blackhole }}
  - {{ prefix: 192.0.2.64/26, type: unreachable }}
  - {{ prefix: 192.0.2.128/26, type: prohibit }}
  - {{ prefix: 192.0.2.192/26, via: [10.0.2.2, 10.0.3.2] }}
  - {{ prefix: 172.16.0.0/12, nhid: 1 }}
  - {{ prefix: 0.0.0.0/0, via: 10.0.2.2, table: isp2 }}
rules:
  - {{ pref: 100, from: 10.0.1.128/25, table: isp2 }}
  - {{ pref: 200, iif: p2, to: 198.51.100.128/25, type: prohibit }}
  - {{ pref: 300, tos: 0x10, to: 100.100.0.0/16, type: blackhole }}
route_files:
  - {{ path: {}, via: [10.0.2.2, 10.0.3.2, 10.0.22.2] }}
settings:
  flowtable: true
  nf_conntrack_max: {CONNTRACK_MAX}
  gc_thresh1: 4
  gc_thresh2: 8
  gc_thresh3: {GC_THRESH3}
  unres_qlen: 3
  icmp_msgs_per_sec: 1000
  icmp_msgs_burst: 50
"#,
        route_file.display()
    )
}

/// 4096 prefixes from a fixed seed, one a line (`prefix origin-AS`), as a route file.
fn synthetic_table() -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = match x % 100 {
            0..=59 => 24,
            60..=71 => 22,
            72..=82 => 23,
            83..=88 => 21,
            89..=93 => 20,
            94..=96 => 16,
            97 => 19,
            98 => 28,
            _ => 32,
        };
        let addr = ((x >> 32) as u32) & (u32::MAX << (32 - len));
        let first = addr >> 24;
        // Public unicast only, and clear of the config's own prefixes.
        if first == 0 || first == 10 || first == 127 || first >= 224 || first == 172 || first == 192
        {
            continue;
        }
        if seen.insert((addr, len)) {
            out.push_str(&format!(
                "{}/{} {}\n",
                Ipv4Addr::from(addr),
                len,
                (x >> 8) as u16
            ));
        }
    }
    out
}

fn route_file() -> PathBuf {
    if let Some(p) = std::env::var_os("FASTPATH_FUZZ_TABLE") {
        return PathBuf::from(p);
    }
    let p = std::env::temp_dir().join(format!("fastpath-fuzz-{}.routes", std::process::id()));
    std::fs::write(&p, synthetic_table()).expect("write the synthetic route file");
    p
}

/// The config and the first snapshot (compiled once per process).
pub fn base() -> &'static (Config, Snapshot) {
    static BASE: OnceLock<(Config, Snapshot)> = OnceLock::new();
    BASE.get_or_init(|| {
        let rf = route_file();
        let cfg = Config::from_str(&config_text(&rf), Path::new("fuzz.yaml")).expect("config");
        let (router, _) = control::compile::compile(&cfg).expect("compile");
        if std::env::var_os("FASTPATH_FUZZ_TABLE").is_none() {
            let _ = std::fs::remove_file(&rf);
        }
        let mut snap = router.work;
        snap.genid = 1;
        (cfg, snap)
    })
}
