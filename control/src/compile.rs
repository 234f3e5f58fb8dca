//! Loads a validated [`conf::Config`] into a [`Router`]: interfaces and their routes,
//! neighbours, settings, static routes and route files into the RIB, then the FIB built
//! from it in one go.

use crate::rib::{RibError, RibRoute, Source};
use crate::router::Router;
use conf::{Config, NexthopKind, RouteTarget};
use fastpath::conntrack::CtTimeouts;
use fastpath::fib::{Prefix, RouteType, Rule, RuleAction};
use fastpath::iface::{IfAddr, IfIndex, Iface};
use fastpath::nexthop::Nexthop;
use fastpath::snapshot::{interface_routes, DevConf, Settings, Snapshot};
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
    pub build_time: Duration,
    /// Routes not installed because one with the same prefix and metric came first.
    pub shadowed: usize,
}

/// The snapshot's settings from the config's.
pub fn settings(s: &conf::Settings) -> Settings {
    Settings {
        ip_default_ttl: s.ip_default_ttl,
        icmp_msgs_per_sec: s.icmp_msgs_per_sec,
        icmp_msgs_burst: s.icmp_msgs_burst,
        icmp_ratelimit: s.icmp_ratelimit,
        icmp_ratemask: s.icmp_ratemask,
        icmp_echo_ignore_broadcasts: s.icmp_echo_ignore_broadcasts,
        fib_multipath_hash_policy: s.fib_multipath_hash_policy,
        send_redirects: s.send_redirects,
        ip_forward_use_pmtu: s.ip_forward_use_pmtu,
        rp_filter: s.rp_filter,
        dst_cache: s.dst_cache,
        route_hints: s.route_hints,
        flowtable: s.flowtable,
        nf_conntrack_max: s.nf_conntrack_max,
        conntrack: CtTimeouts {
            tcp_syn_sent: s.nf_conntrack_tcp_timeout_syn_sent,
            tcp_syn_recv: s.nf_conntrack_tcp_timeout_syn_recv,
            tcp_established: s.nf_conntrack_tcp_timeout_established,
            tcp_fin_wait: s.nf_conntrack_tcp_timeout_fin_wait,
            tcp_close: s.nf_conntrack_tcp_timeout_close,
            udp: s.nf_conntrack_udp_timeout,
            udp_stream: s.nf_conntrack_udp_timeout_stream,
            flowtable_tcp: s.nf_flowtable_tcp_timeout,
            flowtable_udp: s.nf_flowtable_udp_timeout,
            tcp_loose: s.nf_conntrack_tcp_loose,
        },
        idle_sleep_us: s.idle_sleep_us,
    }
}

/// Builds the router. Interfaces get their configured MAC (or zero until the port is
/// probed) and DPDK port id 0 until [`set_port`] fills them in.
pub fn compile(cfg: &Config) -> Result<(Router, LoadReport), conf::ConfError> {
    let ifaces: Vec<Iface> = cfg
        .ports
        .iter()
        .map(|p| Iface {
            name: p.name.clone(),
            port_id: 0,
            mac: EthernetAddress(p.mac.map(|m| m.0).unwrap_or_default()),
            mtu: p.mtu,
            addrs: p
                .addresses
                .iter()
                .map(|a| IfAddr::new(a.addr(), a.prefix_len()))
                .collect(),
        })
        .collect();
    let mut router = Router::new(Snapshot {
        ifaces,
        settings: settings(&cfg.settings),
        devconf: cfg
            .ports
            .iter()
            .map(|p| DevConf {
                send_redirects: p.send_redirects,
                rp_filter: p.rp_filter,
            })
            .collect(),
        ..Default::default()
    });
    let mut report = LoadReport::default();
    let mut offer =
        |router: &mut Router, table: u32, p: Prefix, r: RibRoute| match router.rib.add(table, p, r)
        {
            Ok(()) => {}
            Err(RibError::Exists(..)) => report.shadowed += 1,
            Err(e) => unreachable!("{e}"),
        };

    for i in 0..router.work.ifaces.len() {
        for a in router.work.ifaces[i].addrs.clone() {
            for (table, p, route) in interface_routes(i as IfIndex, &a, &mut router.work.nexthops) {
                offer(
                    &mut router,
                    table,
                    p,
                    RibRoute {
                        metric: 0,
                        route,
                        source: Source::Kernel,
                        nhid: None,
                    },
                );
            }
        }
    }
    for nh in &cfg.nexthops {
        let rt = nexthop_object(cfg, &mut router, nh).expect("validated");
        router.nh_objects.insert(nh.id, (nh.clone(), rt));
    }
    // Static neighbours are in the first snapshot already; the control core's table
    // (PERMANENT entries) replaces this view once it runs.
    for n in &cfg.neighbors {
        let i = cfg.port_index(&n.port).expect("validated") as IfIndex;
        router
            .work
            .neigh
            .insert(i, n.address, EthernetAddress(n.mac.0));
    }
    for r in &cfg.routes {
        let route = route_type(cfg, &mut router, &r.target).expect("validated");
        let p = Prefix::new(r.prefix.addr(), r.prefix.prefix_len());
        offer(
            &mut router,
            r.table,
            p,
            RibRoute {
                metric: r.metric,
                route,
                source: Source::Static,
                nhid: nhid(&r.target),
            },
        );
        report.static_routes += 1;
    }
    let t = Instant::now();
    for rf in &cfg.route_files {
        let mut by_gw: FxHashMap<Ipv4Addr, RouteType> = FxHashMap::default();
        for gw in &rf.via {
            by_gw.insert(
                *gw,
                gateway_route(cfg, &mut router, *gw, None).expect("validated"),
            );
        }
        report.file_routes += conf::route_file::read(rf, |net, gw| {
            let p = Prefix::new(net.addr(), net.prefix_len());
            offer(
                &mut router,
                rf.table,
                p,
                RibRoute {
                    metric: rf.metric,
                    route: by_gw[&gw],
                    source: Source::File,
                    nhid: None,
                },
            );
        })?;
    }
    report.file_time = t.elapsed();
    let rules = cfg
        .rules
        .iter()
        .map(|r| rule(cfg, r))
        .chain(fastpath::fib::rules::default_rules())
        .collect();
    let t = Instant::now();
    router.set_rules(rules);
    report.build_time = t.elapsed();
    Ok((router, report))
}

/// A unicast route through `gw` (out of `dev` when given, else the port that reaches it).
/// Fails, with the reason, when `dev` is not a port or no port reaches `gw`: the YAML and
/// `route add` have checked that already, `route del` has not (it only names a route).
pub fn gateway_route(
    cfg: &Config,
    router: &mut Router,
    gw: Ipv4Addr,
    dev: Option<&str>,
) -> Result<RouteType, String> {
    let iface = match dev {
        Some(d) => port(cfg, d)?,
        None => cfg
            .port_for_gateway(gw)
            .ok_or_else(|| format!("via {gw}: no port reaches it"))? as IfIndex,
    };
    Ok(RouteType::Unicast(router.work.nexthops.intern(Nexthop {
        iface,
        gateway: Some(gw),
    })))
}

fn port(cfg: &Config, dev: &str) -> Result<IfIndex, String> {
    cfg.port_index(dev)
        .map(|i| i as IfIndex)
        .ok_or_else(|| format!("dev {}: no such port", conf::quote(dev)))
}

/// A route to destinations on-link on port `dev`.
fn onlink_route(cfg: &Config, router: &mut Router, dev: &str) -> Result<RouteType, String> {
    Ok(RouteType::Unicast(router.work.nexthops.intern(Nexthop {
        iface: port(cfg, dev)?,
        gateway: None,
    })))
}

/// The FIB route type of a configured target, or why there is none (a port that does not
/// exist, a gateway no port reaches, an `nhid` that does not exist).
pub fn route_type(
    cfg: &Config,
    router: &mut Router,
    target: &RouteTarget,
) -> Result<RouteType, String> {
    Ok(match target {
        RouteTarget::Via { gateway, dev } => gateway_route(cfg, router, *gateway, dev.as_deref())?,
        RouteTarget::Dev(dev) => onlink_route(cfg, router, dev)?,
        RouteTarget::Multipath(list) => {
            let mut members = Vec::with_capacity(list.len());
            for n in list {
                if let RouteType::Unicast(nh) =
                    gateway_route(cfg, router, n.gateway, n.dev.as_deref())?
                {
                    members.push((nh, n.weight));
                }
            }
            RouteType::Multipath(router.work.nexthops.intern_group(members))
        }
        RouteTarget::Nhid(id) => {
            router
                .nh_objects
                .get(id)
                .ok_or_else(|| format!("nhid {id}: no such nexthop"))?
                .1
        }
        RouteTarget::Blackhole => RouteType::Blackhole,
        RouteTarget::Unreachable => RouteType::Unreachable,
        RouteTarget::Prohibit => RouteType::Prohibit,
    })
}

/// The next-hop object a route target names (`nhid N`).
pub fn nhid(target: &RouteTarget) -> Option<u32> {
    match target {
        RouteTarget::Nhid(id) => Some(*id),
        _ => None,
    }
}

/// What routes with `nhid` of this next-hop object become.
pub fn nexthop_object(
    cfg: &Config,
    router: &mut Router,
    nh: &conf::NexthopConf,
) -> Result<RouteType, String> {
    Ok(match &nh.kind {
        NexthopKind::Via { gateway, dev } => gateway_route(cfg, router, *gateway, dev.as_deref())?,
        NexthopKind::Dev(dev) => onlink_route(cfg, router, dev)?,
        NexthopKind::Blackhole => RouteType::Blackhole,
        NexthopKind::Group(members) => {
            let mut m = Vec::new();
            for (id, w) in members {
                match router.nh_objects.get(id).map(|o| o.1) {
                    Some(RouteType::Unicast(n)) => m.push((n, *w)),
                    _ => return Err(format!("group member {id} is not a single next hop")),
                }
            }
            RouteType::Multipath(router.work.nexthops.intern_group(m))
        }
    })
}

/// A data-plane rule from a configured one.
pub fn rule(cfg: &Config, r: &conf::RuleConf) -> Rule {
    let pfx = |n: &conf::Ipv4Net| Prefix::new(n.addr(), n.prefix_len());
    Rule {
        pref: r.pref,
        from: r.from.as_ref().map(pfx),
        to: r.to.as_ref().map(pfx),
        iif: r
            .iif
            .as_deref()
            .map(|n| cfg.port_index(n).expect("validated") as IfIndex),
        tos: r.tos,
        fwmark: r.fwmark,
        action: match r.action {
            conf::RuleAction::Lookup(t) => RuleAction::Lookup(t),
            conf::RuleAction::Blackhole => RuleAction::Blackhole,
            conf::RuleAction::Unreachable => RuleAction::Unreachable,
            conf::RuleAction::Prohibit => RuleAction::Prohibit,
        },
    }
}

/// Fills in what probing a port tells: its DPDK port id and, unless configured, its MAC.
pub fn set_port(snap: &mut Snapshot, iface: IfIndex, port_id: u16, device_mac: [u8; 6]) {
    let i = &mut snap.ifaces[iface as usize];
    i.port_id = port_id;
    if i.mac == EthernetAddress::default() {
        i.mac = EthernetAddress(device_mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastpath::fib::FlowKey;
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
  - { prefix: 10.0.1.0/24, via: 10.0.2.2 }
"#;

    use fastpath::fib::TABLE_MAIN;

    fn lookup(s: &Snapshot, a: &str) -> RouteType {
        s.fib
            .lookup(&FlowKey::new(a.parse().unwrap()))
            .unwrap()
            .route
    }

    #[test]
    fn routes_metrics_and_interface_routes() {
        let cfg = Config::from_str(CFG, Path::new("t.yaml")).unwrap();
        let (router, rep) = compile(&cfg).unwrap();
        let s = &router.work;
        assert_eq!(rep.static_routes, 5);
        assert_eq!(
            rep.shadowed, 1,
            "the connected /24 is there first with metric 0"
        );
        let RouteType::Unicast(nh) = lookup(s, "198.51.100.1") else {
            panic!()
        };
        assert_eq!(
            *s.nexthops.get(nh),
            Nexthop {
                iface: 1,
                gateway: Some("10.0.2.2".parse().unwrap())
            }
        );
        let RouteType::Unicast(nh) = lookup(s, "10.0.1.77") else {
            panic!()
        };
        assert_eq!(
            *s.nexthops.get(nh),
            Nexthop {
                iface: 0,
                gateway: None
            },
            "connected route kept"
        );
        assert_eq!(lookup(s, "10.0.1.1"), RouteType::Local);
        assert_eq!(lookup(s, "10.0.2.255"), RouteType::Broadcast);
        assert_eq!(lookup(s, "203.0.113.9"), RouteType::Blackhole);
        assert_eq!(s.ifaces[1].mac, EthernetAddress([2, 0, 0, 0, 0, 2]));
        let p = Prefix::new("198.51.100.0".parse().unwrap(), 24);
        assert_eq!(router.rib.routes_of(TABLE_MAIN, p).len(), 2);
    }
}
