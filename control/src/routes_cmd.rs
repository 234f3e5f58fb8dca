//! Text of the routing commands: `route show`, `route get`, `rule show`, `show fib stats`
//! (iproute2's layout).

use crate::rib::{Rib, RibRoute};
use fastpath::fib::{
    FlowKey, Prefix, RouteType, Rule, RuleAction, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN,
};
use fastpath::route::{resolve, select_nexthop};
use fastpath::snapshot::Snapshot;
use std::fmt::Write;
use std::net::Ipv4Addr;

pub fn table_name(id: u32) -> String {
    match id {
        TABLE_LOCAL => "local".into(),
        TABLE_MAIN => "main".into(),
        TABLE_DEFAULT => "default".into(),
        n => n.to_string(),
    }
}

/// `ip route`'s words for where a route goes: "via 10.0.1.2 dev p0", "dev p0 scope link",
/// "nexthop via A dev p0 weight 1 nexthop via B ...".
pub fn describe_route(snap: &Snapshot, rt: RouteType) -> String {
    let nh = |id: u32| {
        let n = snap.nexthops.get(id);
        let dev = &snap.ifaces[n.iface as usize].name;
        match n.gateway {
            Some(g) => format!("via {g} dev {dev}"),
            None => format!("dev {dev} scope link"),
        }
    };
    match rt {
        RouteType::Unicast(id) => nh(id),
        RouteType::Multipath(g) => snap
            .nexthops
            .group(g)
            .members
            .iter()
            .map(|&(id, w)| format!("nexthop {} weight {w}", nh(id)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// One route in `ip route` words; `table` is printed unless it is main or `None`.
fn line(snap: &Snapshot, table: Option<u32>, p: Prefix, r: &RibRoute) -> String {
    let mut s = String::new();
    if !matches!(r.route, RouteType::Unicast(_) | RouteType::Multipath(_)) {
        let _ = write!(s, "{} ", r.route.name());
    }
    let _ = write!(s, "{p}");
    let d = describe_route(snap, r.route);
    if !d.is_empty() {
        let _ = write!(s, " {d}");
    }
    if let Some(t) = table.filter(|&t| t != TABLE_MAIN) {
        let _ = write!(s, " table {}", table_name(t));
    }
    let _ = write!(s, " proto {}", r.source.name());
    if r.metric != 0 {
        let _ = write!(s, " metric {}", r.metric);
    }
    s
}

/// `route show [table T] [PREFIX]`: best routes first per prefix; alternatives marked.
pub fn show(out: &mut String, rib: &Rib, snap: &Snapshot, table: u32, only: Option<Prefix>) {
    let mut n = 0usize;
    let routes = match only {
        Some(p) => rib.routes_of(table, p),
        None => rib.routes(table),
    };
    for (p, r, best) in routes {
        let _ = writeln!(
            out,
            "{}{}",
            line(snap, Some(table), p, &r),
            if best {
                ""
            } else {
                " (not installed: better route exists)"
            }
        );
        n += 1;
    }
    if n == 0 {
        let _ = writeln!(
            out,
            "no routes{}",
            only.map(|p| format!(" for {p}")).unwrap_or_default()
        );
    }
}

/// `route get`: the rule, table, route and next hop the data plane would use.
pub fn get(out: &mut String, rib: &Rib, snap: &Snapshot, key: &FlowKey) -> Result<(), String> {
    let (rule, res) = snap.fib.explain(key);
    let Some(res) = res else {
        let why = match rule {
            Some(pref) => format!("rule {pref} is unreachable"),
            None => "no rule found a route".into(),
        };
        let _ = writeln!(
            out,
            "{}: no route: network unreachable ({why}; ICMP net unreachable)",
            key.daddr
        );
        return Ok(());
    };
    // Which RIB table holds the prefix (local lives in main's storage while merged).
    let (table, prefix, rr) = [res.table, TABLE_LOCAL]
        .iter()
        .filter_map(|&t| {
            rib.lookup(t, key.daddr)
                .filter(|(_, r)| r.route == res.route)
                .map(|(p, r)| (t, p, r))
        })
        .max_by_key(|(_, p, _)| p.len)
        .map(|(t, p, r)| (t, Some(p), Some(r)))
        .unwrap_or((res.table, None, None));
    let rule = snap.fib.rules().iter().find(|r| r.pref == res.rule);
    let _ = write!(out, "{}", key.daddr);
    if key.saddr != Ipv4Addr::UNSPECIFIED {
        let _ = write!(out, " from {}", key.saddr);
    }
    if let Some(i) = key.iif {
        let _ = write!(out, " iif {}", snap.ifaces[i as usize].name);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "    rule {}: {}",
        res.rule,
        rule.map(rule_text_selectors).unwrap_or_default()
    );
    match (prefix, rr) {
        (Some(p), Some(r)) => {
            let _ = writeln!(
                out,
                "    table {} route {}",
                table_name(table),
                line(snap, None, p, &r)
            );
        }
        _ => {
            let _ = writeln!(out, "    {} (from the rule's action)", res.route.name());
        }
    }
    match select_nexthop(snap, res.route, key, || None) {
        Some(nh) => {
            let n = snap.nexthops.get(nh);
            let iface = &snap.ifaces[n.iface as usize];
            let neighbor = n.gateway.unwrap_or(key.daddr);
            let lladdr = resolve(snap, nh, key.daddr)
                .map_or("none: no neighbour, dropped".to_string(), |d| {
                    d.dst_mac.to_string()
                });
            let _ = writeln!(
                out,
                "    nexthop {} dev {} mtu {} lladdr {lladdr}",
                neighbor, iface.name, iface.mtu
            );
        }
        None => {
            let what = match res.route {
                RouteType::Local => "delivered locally (ICMP echo answered)",
                RouteType::Broadcast => "broadcast: delivered locally",
                RouteType::Blackhole => "dropped silently",
                RouteType::Unreachable => "dropped, ICMP host unreachable",
                RouteType::Prohibit => "dropped, ICMP administratively prohibited",
                _ => "",
            };
            let _ = writeln!(out, "    {what}");
        }
    }
    Ok(())
}

fn rule_text_selectors(r: &Rule) -> String {
    let mut s = String::new();
    match r.from {
        Some(p) => {
            let _ = write!(s, "from {p}");
        }
        None => s.push_str("from all"),
    }
    if let Some(p) = r.to {
        let _ = write!(s, " to {p}");
    }
    if let Some(t) = r.tos {
        let _ = write!(s, " tos {t:#04x}");
    }
    if let Some((m, mask)) = r.fwmark {
        let _ = write!(s, " fwmark {m:#x}/{mask:#x}");
    }
    match r.action {
        RuleAction::Lookup(t) => {
            let _ = write!(s, " lookup {}", table_name(t));
        }
        RuleAction::Blackhole => s.push_str(" blackhole"),
        RuleAction::Unreachable => s.push_str(" unreachable"),
        RuleAction::Prohibit => s.push_str(" prohibit"),
    }
    s
}

/// `rule show` (`ip rule` layout).
pub fn rules(out: &mut String, snap: &Snapshot) {
    for r in snap.fib.rules() {
        let mut sel = rule_text_selectors(r);
        if let Some(i) = r.iif {
            sel = sel.replacen(
                " lookup",
                &format!(" iif {} lookup", snap.ifaces[i as usize].name),
                1,
            );
        }
        let _ = writeln!(out, "{}:\t{sel}", r.pref);
    }
}

/// `show fib stats`.
pub fn fib_stats(out: &mut String, rib: &Rib, snap: &Snapshot) {
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    let fib = &snap.fib;
    let _ = writeln!(out, "FIB version (genid) {}", snap.genid);
    let _ = writeln!(
        out,
        "rules: {} ({}), next hops: {}, groups: {}",
        fib.rules().len(),
        if fib.default_rules_only() {
            "defaults only: local merged into main, route hints usable"
        } else {
            "policy routing: tables separate"
        },
        snap.nexthops.len(),
        snap.nexthops.groups_len()
    );
    for id in fib.table_ids() {
        let t = fib.table(id).expect("listed");
        let _ = writeln!(
            out,
            "table {:<8} {:>9} prefixes  {:>8.1} MiB",
            table_name(id),
            t.len(),
            mib(t.memory_bytes())
        );
        for l in t.stats().to_string().lines() {
            let _ = writeln!(out, "    {l}");
        }
    }
    for id in rib.table_ids() {
        let _ = writeln!(
            out,
            "rib table {:<4} {:>9} prefixes with a route",
            table_name(id),
            rib.len(id)
        );
    }
    let _ = writeln!(
        out,
        "total {} prefixes in the FIB, {:.1} MiB",
        fib.len(),
        mib(fib.memory_bytes())
    );
}
