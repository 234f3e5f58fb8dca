//! Turns a validated [`conf::Config`] into the data plane's [`Snapshot`]: interfaces,
//! connected/local routes, static routes, route files, neighbours, settings.
//!
//! A tiny RIB decides between routes for the same prefix: lower metric wins, and on a tie
//! the earlier source (interface routes, then `routes`, then route files in order), as the
//! kernel refuses a second route with the same prefix and metric. The full RIB (with
//! promotion on delete) comes with the LC-trie FIB.

use conf::{Config, RouteTarget};
use fastpath::fib::{Prefix, RouteType};
use fastpath::iface::{IfAddr, IfIndex, Iface};
use fastpath::nexthop::Nexthop;
use fastpath::snapshot::{Settings, Snapshot};
use fastpath::wire::EthernetAddress;
use rustc_hash::FxHashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What loading took, for the start-up report and BENCHMARKS.md.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub static_routes: usize,
    pub file_routes: usize,
    pub file_time: Duration,
    pub shadowed: usize,
}

/// Builds the snapshot. Interfaces get their configured MAC (or zero until the port is
/// probed) and DPDK port id 0 until [`set_port`] fills them in.
pub fn compile(cfg: &Config) -> Result<(Snapshot, LoadReport), conf::ConfError> {
    let ifaces = cfg
        .ports
        .iter()
        .map(|p| Iface {
            name: p.name.clone(),
            port_id: 0,
            mac: EthernetAddress(p.mac.map(|m| m.0).unwrap_or_default()),
            mtu: p.mtu,
            addrs: p.addresses.iter().map(|a| IfAddr::new(a.addr(), a.prefix_len())).collect(),
        })
        .collect();
    let s = &cfg.settings;
    let settings = Settings {
        ip_default_ttl: s.ip_default_ttl,
        icmp_msgs_per_sec: s.icmp_msgs_per_sec,
        icmp_msgs_burst: s.icmp_msgs_burst,
        icmp_echo_ignore_broadcasts: s.icmp_echo_ignore_broadcasts,
    };
    let mut snap = Snapshot::with_ifaces(ifaces, settings);
    // Interface routes have metric 0 and come first, so nothing with the same prefix
    // replaces them.
    let mut rib = Rib { metrics: snap.fib.routes().into_iter().map(|(p, _)| (p, 0)).collect(), shadowed: 0 };
    let mut report = LoadReport::default();

    for n in &cfg.neighbors {
        let i = cfg.port_index(&n.port).expect("validated") as IfIndex;
        snap.neigh.insert(i, n.address, EthernetAddress(n.mac.0));
    }
    for r in &cfg.routes {
        let rt = match &r.target {
            RouteTarget::Via { gateway, dev } => {
                let iface = dev.as_deref().and_then(|d| cfg.port_index(d)).or_else(|| cfg.port_for_gateway(*gateway)).expect("validated");
                RouteType::Unicast(snap.nexthops.intern(Nexthop { iface: iface as IfIndex, gateway: Some(*gateway) }))
            }
            RouteTarget::Dev(dev) => {
                let iface = cfg.port_index(dev).expect("validated") as IfIndex;
                RouteType::Unicast(snap.nexthops.intern(Nexthop { iface, gateway: None }))
            }
            RouteTarget::Blackhole => RouteType::Blackhole,
            RouteTarget::Unreachable => RouteType::Unreachable,
            RouteTarget::Prohibit => RouteType::Prohibit,
        };
        rib.offer(&mut snap, Prefix::new(r.prefix.addr(), r.prefix.prefix_len()), r.metric, rt);
        report.static_routes += 1;
    }
    let t = Instant::now();
    for rf in &cfg.route_files {
        let mut by_gw: FxHashMap<Ipv4Addr, RouteType> = FxHashMap::default();
        for gw in &rf.via {
            let iface = cfg.port_for_gateway(*gw).expect("validated") as IfIndex;
            by_gw.insert(*gw, RouteType::Unicast(snap.nexthops.intern(Nexthop { iface, gateway: Some(*gw) })));
        }
        report.file_routes += conf::route_file::read(rf, |net, gw| {
            rib.offer(&mut snap, Prefix::new(net.addr(), net.prefix_len()), rf.metric, by_gw[&gw]);
        })?;
    }
    report.file_time = t.elapsed();
    report.shadowed = rib.shadowed;
    Ok((snap, report))
}

/// Fills in what probing a port tells: its DPDK port id and, unless configured, its MAC.
pub fn set_port(snap: &mut Snapshot, iface: IfIndex, port_id: u16, device_mac: [u8; 6]) {
    let i = &mut snap.ifaces[iface as usize];
    i.port_id = port_id;
    if i.mac == EthernetAddress::default() {
        i.mac = EthernetAddress(device_mac);
    }
}

struct Rib {
    metrics: FxHashMap<Prefix, u32>,
    shadowed: usize,
}

impl Rib {
    fn offer(&mut self, snap: &mut Snapshot, p: Prefix, metric: u32, rt: RouteType) {
        match self.metrics.get(&p) {
            Some(&m) if m <= metric => self.shadowed += 1,
            _ => {
                self.metrics.insert(p, metric);
                snap.fib.insert(p, rt);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CFG: &str = r#"
ports:
  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }
  - { name: p1, device: net_null1, mac: "02:00:00:00:00:02", addresses: [10.0.2.1/24] }
neighbors:
  - { address: 10.0.1.2, mac: "02:00:00:00:01:02", port: p0 }
routes:
  - { prefix: 198.51.100.0/24, via: 10.0.2.2 }
  - { prefix: 198.51.100.0/24, via: 10.0.1.2, metric: 10 }
  - { prefix: 0.0.0.0/0, via: 10.0.1.2 }
  - { prefix: 203.0.113.0/24, type: blackhole }
  - { prefix: 10.0.1.0/24, via: 10.0.2.2, metric: 5 }
"#;

    fn lookup(s: &Snapshot, a: &str) -> RouteType {
        s.fib.lookup(a.parse().unwrap()).unwrap().1
    }

    #[test]
    fn routes_metrics_and_interface_routes() {
        let cfg = Config::from_str(CFG, Path::new("t.yaml")).unwrap();
        let (s, rep) = compile(&cfg).unwrap();
        assert_eq!(rep.static_routes, 5);
        assert_eq!(rep.shadowed, 2, "metric 10 duplicate and the connected /24 override");
        let RouteType::Unicast(nh) = lookup(&s, "198.51.100.1") else { panic!() };
        assert_eq!(*s.nexthops.get(nh), Nexthop { iface: 1, gateway: Some("10.0.2.2".parse().unwrap()) });
        let RouteType::Unicast(nh) = lookup(&s, "10.0.1.77") else { panic!() };
        assert_eq!(*s.nexthops.get(nh), Nexthop { iface: 0, gateway: None }, "connected route kept");
        assert_eq!(lookup(&s, "10.0.1.1"), RouteType::Local);
        assert_eq!(lookup(&s, "10.0.2.255"), RouteType::Broadcast);
        assert_eq!(lookup(&s, "203.0.113.9"), RouteType::Blackhole);
        assert_eq!(s.ifaces[1].mac, EthernetAddress([2, 0, 0, 0, 0, 2]));
        assert_eq!(s.neigh.lookup(0, "10.0.1.2".parse().unwrap()), Some(EthernetAddress([2, 0, 0, 0, 1, 2])));
    }
}
