//! Text of the routing commands: `route show`, `route get`, `rule show`, `show fib stats`
//! (iproute2's layout).

use crate::rib::{Rib, RibRoute};
use conf::Config;
use fastpath::drop::DropReason;
use fastpath::dst_cache::DstCache;
use fastpath::fib::{FlowKey, Prefix, RouteType, TABLE_LOCAL, TABLE_MAIN};
use fastpath::route::{apply_exception, martian, nexthop_dst, select_nexthop, Dst};
use fastpath::snapshot::Snapshot;
use fastpath::stats::LcoreStats;
use std::fmt::Write;
use std::net::Ipv4Addr;

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
fn line(cfg: &Config, snap: &Snapshot, table: Option<u32>, p: Prefix, r: &RibRoute) -> String {
    let mut s = String::new();
    if !matches!(r.route, RouteType::Unicast(_) | RouteType::Multipath(_)) {
        let _ = write!(s, "{} ", r.route.name());
    }
    let _ = write!(s, "{p}");
    if let Some(id) = r.nhid {
        let _ = write!(s, " nhid {id}");
    }
    let d = describe_route(snap, r.route);
    if !d.is_empty() {
        let _ = write!(s, " {d}");
    }
    if let Some(t) = table.filter(|&t| t != TABLE_MAIN) {
        let _ = write!(s, " table {}", cfg.table_name(t));
    }
    let _ = write!(s, " proto {}", r.source.name());
    if r.metric != 0 {
        let _ = write!(s, " metric {}", r.metric);
    }
    s
}

/// Lines of `route show` for `routes` of `table` (best first per prefix, from
/// [`Rib::routes_after`] or [`Rib::routes_of`]); alternatives are marked.
pub fn show(
    out: &mut String,
    cfg: &Config,
    snap: &Snapshot,
    table: u32,
    routes: &[(Prefix, RibRoute, bool)],
) {
    for (p, r, best) in routes {
        let mark = if *best {
            ""
        } else {
            " (not installed: better route exists)"
        };
        let _ = writeln!(out, "{}{mark}", line(cfg, snap, Some(table), *p, r));
    }
}

/// What the data plane does with a destination it never routes, as `route get` says it:
/// the drop reason and what Linux's `ip route get ... iif` answers.
fn unrouted(reason: DropReason) -> &'static str {
    match reason {
        DropReason::MartianDestination => {
            "martian destination: dropped (martian_destination; Linux: Invalid argument)"
        }
        DropReason::MartianSource => {
            "martian source: dropped (martian_source; Linux: Invalid argument)"
        }
        DropReason::Multicast => {
            "multicast: dropped, no multicast routing (multicast; Linux: Invalid argument)"
        }
        _ => "dropped",
    }
}

/// `route get`: the route line as iproute2 prints it (with a `cache` line for the
/// destination's nexthop exception), then the rule, table, route and next hop the data
/// plane would use, and how this lcore reached it (its dst cache for the next hop, whether
/// a route hint could carry the decision); or, for a destination (or source) it never
/// routes, what it does instead. `cache` is the control lcore's own dst cache (`stats` its
/// counters) and `now` the TSC, for the exceptions' remaining lifetime.
#[allow(clippy::too_many_arguments)]
pub fn get(
    out: &mut String,
    cfg: &Config,
    rib: &Rib,
    snap: &Snapshot,
    key: &FlowKey,
    cache: &mut DstCache,
    stats: &LcoreStats,
    now: u64,
    tsc_hz: u64,
) {
    let (saddr, daddr) = (key.saddr, key.daddr);
    // The data plane's checks before any lookup (route::martian). Without `from`,
    // only the destination's: what happens to it whatever the source.
    let reason = if saddr.is_unspecified() {
        if daddr.is_broadcast() {
            None
        } else if daddr.is_unspecified() || daddr.is_loopback() {
            Some(DropReason::MartianDestination)
        } else {
            daddr.is_multicast().then_some(DropReason::Multicast)
        }
    } else {
        martian(snap, saddr, daddr)
    };
    if let Some(reason) = reason {
        let _ = writeln!(out, "{}: {}", header(snap, key), unrouted(reason));
        return;
    }
    if daddr.is_broadcast() {
        let _ = writeln!(
            out,
            "broadcast {}: limited broadcast: delivered locally, never forwarded",
            header(snap, key)
        );
        return;
    }
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
        return;
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
    let nh = select_nexthop(snap, res.route, key, || None);
    match nh {
        Some(nh) => {
            let (dst, how) = cache.get(snap, nh, stats);
            let fnhe = snap.exceptions.find(nh, key.daddr, now);
            let dst = fnhe.map_or(dst, |e| apply_exception(e, dst));
            iproute2_get(out, snap, key, &dst, fnhe.map(|e| e.expires), now, tsc_hz);
            let _ = writeln!(
                out,
                "    dst cache {} (genid {}, control lcore; workers: show fwd stats)",
                how.name(),
                snap.genid
            );
        }
        None => {
            let _ = writeln!(out, "{}", header(snap, key));
        }
    }
    let hint = if !snap.fib.default_rules_only() {
        "not usable: policy rules"
    } else {
        match res.route {
            RouteType::Local | RouteType::Broadcast => "not usable: local or broadcast route",
            RouteType::Multipath(_) => "not usable: multipath route",
            _ => "usable: packets after the first to it in a burst skip the lookup",
        }
    };
    let _ = writeln!(out, "    route hint {hint}");
    // The configured rule behind the data plane's, printed by conf's one rule formatter.
    let hit = snap.fib.rules().iter().find(|r| r.pref == res.rule);
    let defaults = conf::default_rules();
    let rule = cfg
        .rules
        .iter()
        .chain(&defaults)
        .find(|r| r.pref == res.rule && hit == Some(&crate::compile::rule(cfg, r)));
    match rule {
        Some(r) => {
            let _ = writeln!(
                out,
                "    rule {}",
                cfg.format_rule(r).replacen(":\t", ": ", 1)
            );
        }
        None => {
            let _ = writeln!(out, "    rule {}", res.rule);
        }
    }
    match (prefix, rr) {
        (Some(p), Some(r)) => {
            let _ = writeln!(
                out,
                "    table {} route {}",
                cfg.table_name(table),
                line(cfg, snap, None, p, &r)
            );
        }
        _ => {
            let _ = writeln!(out, "    {} (from the rule's action)", res.route.name());
        }
    }
    match nh {
        Some(nh) => {
            let n = snap.nexthops.get(nh);
            let iface = &snap.ifaces[n.iface as usize];
            let neighbor = n.gateway.unwrap_or(key.daddr);
            let dst = nexthop_dst(snap, nh);
            // A lookup, not a use: `route get` does not move the entry's state.
            let lladdr = match snap.neigh.lookup(dst.iface, dst.nexthop(key.daddr)) {
                Some(mac) => mac.to_string(),
                None => "none yet: resolved by ARP when a packet needs it (neigh show)".to_string(),
            };
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
}

/// `ip route get`'s answer for a forwarded destination: `D [from S] via G dev P src A`,
/// then its `cache` line: `<redirected>` for a redirect's gateway, `expires Nsec` and
/// `mtu [lock] M` for an exception, `iif P` for an input route.
fn iproute2_get(
    out: &mut String,
    snap: &Snapshot,
    key: &FlowKey,
    dst: &Dst,
    expires: Option<u64>,
    now: u64,
    tsc_hz: u64,
) {
    let mut l = key.daddr.to_string();
    if !key.saddr.is_unspecified() {
        let _ = write!(l, " from {}", key.saddr);
    }
    if let Some(gw) = dst.gateway {
        let _ = write!(l, " via {gw}");
    }
    let iface = &snap.ifaces[dst.iface as usize];
    let _ = write!(l, " dev {}", iface.name);
    if key.iif.is_none() {
        if let Some(src) = iface.source_for(dst.nexthop(key.daddr)) {
            let _ = write!(l, " src {src}");
        }
    }
    let mut c = String::from("    cache");
    if dst.redirected {
        c.push_str(" <redirected>");
    }
    if let Some(at) = expires {
        let _ = write!(c, " expires {}sec", at.saturating_sub(now) / tsc_hz.max(1));
    }
    if dst.pmtu != 0 {
        let lock = if dst.mtu_locked { "lock " } else { "" };
        let _ = write!(c, " mtu {lock}{}", dst.pmtu);
    }
    if let Some(i) = key.iif {
        let _ = write!(c, " iif {}", snap.ifaces[i as usize].name);
    }
    let _ = writeln!(out, "{l}\n{c}");
}

/// `route show cache` (`ip route show cache`): every nexthop exception as `ip route get`
/// prints its destination, with its remaining lifetime; expired ones not yet reaped are
/// left out.
pub fn show_cache(out: &mut String, snap: &Snapshot, now: u64, tsc_hz: u64) {
    let mut all: Vec<_> = snap
        .exceptions
        .iter()
        .filter(|(_, e)| e.valid(now))
        .collect();
    all.sort_by_key(|(nh, e)| (e.daddr, *nh));
    for (nh, e) in &all {
        let dst = apply_exception(e, nexthop_dst(snap, *nh));
        iproute2_get(
            out,
            snap,
            &FlowKey::new(e.daddr),
            &dst,
            Some(e.expires),
            now,
            tsc_hz,
        );
    }
    let _ = writeln!(
        out,
        "{} exception(s) on {} next hop(s), {} bytes (genid {})",
        all.len(),
        snap.exceptions.tables(),
        snap.exceptions.memory(),
        snap.genid
    );
}

/// `8.8.8.8 from 10.0.1.2 iif p0`: the question `route get` answers.
fn header(snap: &Snapshot, key: &FlowKey) -> String {
    let mut s = key.daddr.to_string();
    if key.saddr != Ipv4Addr::UNSPECIFIED {
        let _ = write!(s, " from {}", key.saddr);
    }
    if let Some(i) = key.iif {
        let _ = write!(s, " iif {}", snap.ifaces[i as usize].name);
    }
    s
}

/// `rule show` (`ip rule` layout, table names as iproute2 prints them with rt_tables):
/// the running rules and Linux's defaults, in pref order, by conf's one rule formatter.
pub fn rules(out: &mut String, cfg: &Config) {
    let mut all: Vec<&conf::RuleConf> = cfg.rules.iter().collect();
    let defaults = conf::default_rules();
    all.extend(&defaults);
    all.sort_by_key(|r| r.pref);
    for r in all {
        let _ = writeln!(out, "{}", cfg.format_rule(r));
    }
}

/// `show fib stats`.
pub fn fib_stats(out: &mut String, cfg: &Config, rib: &Rib, snap: &Snapshot) {
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
            cfg.table_name(id),
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
            cfg.table_name(id),
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
