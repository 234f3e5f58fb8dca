//! The canonical dump of a validated config ([`to_yaml`]): every default spelled out
//! (metrics, tables, rule prefs, weights), tables by name where they have one.

use super::{
    Addr, Net, RawConfig, RawHop, RawMember, RawNeighbor, RawNexthop, RawPort, RawRoute,
    RawRouteFile, RawRule, RawSettings, RawTable, RawVia, RouteType, RuleType, TableRef,
};
use crate::config::{Config, NexthopKind, RouteTarget, RuleAction};
use crate::schema::fib::{Fwmark, Selector};

/// The canonical dump of a validated config.
pub(crate) fn to_yaml(c: &Config) -> String {
    let raw = RawConfig {
        ports: c
            .ports
            .iter()
            .map(|p| RawPort {
                name: p.name.clone(),
                device: p.device.clone(),
                mac: p.mac,
                mtu: p.mtu.into(),
                addresses: p.addresses.iter().copied().map(Net).collect(),
                rx_desc: p.rx_desc.into(),
                tx_desc: p.tx_desc.into(),
                rx_queues: p.rx_queues.map(u64::from),
                send_redirects: p.send_redirects,
                rp_filter: p.rp_filter.into(),
                accept_redirects: p.accept_redirects,
                secure_redirects: p.secure_redirects,
                shared_media: p.shared_media,
                base_reachable_time_ms: p.neigh.base_reachable_time_ms.map(u64::from),
                delay_first_probe_time: p.neigh.delay_first_probe_time.map(u64::from),
                retrans_time_ms: p.neigh.retrans_time_ms.map(u64::from),
                ucast_solicit: p.neigh.ucast_solicit.map(u64::from),
                mcast_solicit: p.neigh.mcast_solicit.map(u64::from),
                gc_stale_time: p.neigh.gc_stale_time.map(u64::from),
                unres_qlen: p.neigh.unres_qlen.map(u64::from),
            })
            .collect(),
        neighbors: c
            .neighbors
            .iter()
            .map(|n| RawNeighbor {
                address: Addr(n.address),
                mac: n.mac,
                port: n.port.clone(),
            })
            .collect(),
        tables: c
            .tables
            .iter()
            .map(|t| RawTable {
                id: t.id.into(),
                name: t.name.clone(),
            })
            .collect(),
        nexthops: c.nexthops.iter().map(nexthop).collect(),
        routes: c.routes.iter().map(|r| route(c, r)).collect(),
        route_files: c
            .route_files
            .iter()
            .map(|f| RawRouteFile {
                path: f.path.clone(),
                via: f.via.iter().copied().map(Addr).collect(),
                metric: f.metric,
                table: Some(table(c, f.table)),
            })
            .collect(),
        rules: c.rules.iter().map(|r| rule(c, r)).collect(),
        settings: RawSettings::from(&c.settings),
    };
    // Serializing plain structs of strings and numbers cannot fail.
    serde_yaml::to_string(&raw).unwrap_or_else(|e| format!("# cannot dump config: {e}\n"))
}

/// A table by name when it has one, else by number.
fn table(c: &Config, id: u32) -> TableRef {
    let name = c.table_name(id);
    if name.bytes().all(|b| b.is_ascii_digit()) {
        TableRef::Id(id.into())
    } else {
        TableRef::Name(name)
    }
}

fn route(c: &Config, r: &crate::config::RouteConf) -> RawRoute {
    let mut raw = RawRoute {
        prefix: Net(r.prefix),
        via: None,
        dev: None,
        nhid: None,
        kind: None,
        metric: r.metric,
        table: Some(table(c, r.table)),
    };
    match &r.target {
        RouteTarget::Via { gateway, dev } => {
            raw.via = Some(RawVia::One(Addr(*gateway)));
            raw.dev.clone_from(dev);
        }
        RouteTarget::Dev(d) => raw.dev = Some(d.clone()),
        RouteTarget::Multipath(hops) => {
            raw.via = Some(RawVia::List(
                hops.iter()
                    .map(|h| RawHop {
                        address: Addr(h.gateway),
                        weight: Some(h.weight.into()),
                        dev: h.dev.clone(),
                    })
                    .collect(),
            ));
        }
        RouteTarget::Nhid(id) => raw.nhid = Some((*id).into()),
        RouteTarget::Blackhole => raw.kind = Some(RouteType::Blackhole),
        RouteTarget::Unreachable => raw.kind = Some(RouteType::Unreachable),
        RouteTarget::Prohibit => raw.kind = Some(RouteType::Prohibit),
    }
    raw
}

fn nexthop(n: &crate::config::NexthopConf) -> RawNexthop {
    let mut raw = RawNexthop {
        id: n.id.into(),
        via: None,
        dev: None,
        blackhole: false,
        group: None,
    };
    match &n.kind {
        NexthopKind::Via { gateway, dev } => {
            raw.via = Some(Addr(*gateway));
            raw.dev.clone_from(dev);
        }
        NexthopKind::Dev(d) => raw.dev = Some(d.clone()),
        NexthopKind::Blackhole => raw.blackhole = true,
        NexthopKind::Group(members) => {
            raw.group = Some(
                members
                    .iter()
                    .map(|&(id, w)| RawMember {
                        id: id.into(),
                        weight: Some(w.into()),
                    })
                    .collect(),
            );
        }
    }
    raw
}

fn rule(c: &Config, r: &crate::config::RuleConf) -> RawRule {
    let (table, kind) = match r.action {
        RuleAction::Lookup(t) => (Some(table(c, t)), None),
        RuleAction::Blackhole => (None, Some(RuleType::Blackhole)),
        RuleAction::Unreachable => (None, Some(RuleType::Unreachable)),
        RuleAction::Prohibit => (None, Some(RuleType::Prohibit)),
    };
    RawRule {
        pref: Some(r.pref.into()),
        from: r.from.map(|n| Selector(Some(n))),
        to: r.to.map(|n| Selector(Some(n))),
        iif: r.iif.clone(),
        tos: r.tos.map(u64::from),
        fwmark: r.fwmark.map(|m| Fwmark(Some(m))),
        table,
        kind,
    }
}
