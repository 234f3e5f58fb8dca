//! The commands that change routing at run time (iproute2's syntax, parsed and checked by
//! `conf::cli` and `conf::Config::check_*` exactly as the YAML is): `route add|del|replace`,
//! `rule add|del`, `nexthop add|del|show`. Each change goes into the RIB (or
//! the rules) and is published at once as a new snapshot; workers switch at their next
//! burst without pausing.

use crate::compile;
use crate::rib::{RibRoute, Source};
use crate::router::Router;
use conf::Config;
use fastpath::fib::{Prefix, Rule};
use std::fmt::Write;

fn prefix(n: &conf::Ipv4Net) -> Prefix {
    Prefix::new(n.addr(), n.prefix_len())
}

/// The data-plane rules for the running config's rules plus Linux's defaults.
pub fn all_rules(cfg: &Config) -> Vec<Rule> {
    cfg.rules
        .iter()
        .map(|r| compile::rule(cfg, r))
        .chain(fastpath::fib::rules::default_rules())
        .collect()
}

/// `route add|replace ...`.
pub fn route_add(
    cfg: &Config,
    router: &mut Router,
    words: &[&str],
    replace: bool,
) -> Result<String, String> {
    let (rc, _) = conf::cli::parse_route_in(words, &cfg.tables)?;
    cfg.check_route(&rc)?;
    let route =
        compile::route_type(cfg, router, &rc.target).map_err(|e| format!("route add: {e}"))?;
    let r = RibRoute {
        metric: rc.metric,
        route,
        source: Source::Cli,
        nhid: compile::nhid(&rc.target),
    };
    let p = prefix(&rc.prefix);
    if replace {
        router.rib.replace(rc.table, p, r);
    } else {
        router
            .rib
            .add(rc.table, p, r)
            .map_err(|e| format!("route add: {e}"))?;
    }
    let n = router.commit();
    Ok(format!(
        "ok ({n} FIB change(s), genid {})\n",
        router.work.genid
    ))
}

/// `route del PREFIX [table T] [metric M] [via ...|dev ...|type ...]`.
pub fn route_del(cfg: &Config, router: &mut Router, words: &[&str]) -> Result<String, String> {
    let m = conf::cli::parse_route_match(words, &cfg.tables)?;
    let route = match &m.target {
        // A route through a port or gateway that does not exist cannot be there (ESRCH).
        Some(t) => Some(
            compile::route_type(cfg, router, t)
                .map_err(|e| format!("route del: no such route: {} {e}", m.prefix))?,
        ),
        None => None,
    };
    router
        .rib
        .del(m.table, prefix(&m.prefix), m.metric, route)
        .map_err(|e| format!("route del: {e}"))?;
    let n = router.commit();
    Ok(format!(
        "ok ({n} FIB change(s), genid {})\n",
        router.work.genid
    ))
}

/// `rule add ...`.
pub fn rule_add(cfg: &mut Config, router: &mut Router, words: &[&str]) -> Result<String, String> {
    let mut r = conf::cli::parse_rule_in(words, &cfg.tables)?;
    if r.pref == 0 {
        r.pref = cfg
            .next_rule_pref()
            .ok_or("rule add: no free pref below the existing rules: give pref N")?;
    }
    cfg.check_rule(&r)?;
    let text = cfg.format_rule(&r);
    cfg.rules.push(r);
    cfg.rules.sort_by_key(|r| r.pref);
    router.set_rules(all_rules(cfg));
    router.publish();
    Ok(format!("ok: {text} (genid {})\n", router.work.genid))
}

/// `rule del ...`: the first rule, in pref order, with every attribute given.
pub fn rule_del(cfg: &mut Config, router: &mut Router, words: &[&str]) -> Result<String, String> {
    let m = conf::cli::parse_rule_match(words, &cfg.tables)?;
    if m.is_empty() {
        return Err(
            "rule del: say which rule (pref N, from, to, iif, tos, fwmark, table, ...)".into(),
        );
    }
    let i = cfg.rules.iter().position(|r| m.matches(r)).ok_or_else(|| {
        if conf::default_rules().iter().any(|r| m.matches(r)) {
            "rule del: the default rules (0 local, 32766 main, 32767 default) stay".to_string()
        } else {
            format!(
                "rule del: no rule matches {}",
                conf::quote(&words.join(" "))
            )
        }
    })?;
    let r = cfg.rules.remove(i);
    router.set_rules(all_rules(cfg));
    router.publish();
    Ok(format!(
        "ok: deleted {} (genid {})\n",
        cfg.format_rule(&r),
        router.work.genid
    ))
}

/// `nexthop add id N ...`.
pub fn nexthop_add(
    cfg: &mut Config,
    router: &mut Router,
    words: &[&str],
) -> Result<String, String> {
    let n = conf::cli::parse_nexthop(words)?;
    cfg.check_nexthop(&n)?;
    let rt = compile::nexthop_object(cfg, router, &n).map_err(|e| e.to_string())?;
    router.nh_objects.insert(n.id, (n.clone(), rt));
    cfg.nexthops.push(n);
    Ok("ok\n".into())
}

/// `nexthop replace id N ...` (`ip nexthop replace`): the object gets its new definition,
/// every route that uses it follows at once (one publish, one genid). Refused while it is
/// a member of a group; an unknown id is added.
pub fn nexthop_replace(
    cfg: &mut Config,
    router: &mut Router,
    words: &[&str],
) -> Result<String, String> {
    let n = conf::cli::parse_nexthop(words)?;
    if !router.nh_objects.contains_key(&n.id) {
        return nexthop_add(cfg, router, words);
    }
    if let Some(g) = cfg.nexthops.iter().find(|g| in_group(g, n.id)) {
        return Err(format!(
            "nexthop replace: id {} is a member of group {}",
            n.id, g.id
        ));
    }
    let mut without = cfg.clone();
    without.nexthops.retain(|m| m.id != n.id);
    without.check_nexthop(&n)?;
    let rt = compile::nexthop_object(&without, router, &n).map_err(|e| e.to_string())?;
    router.nh_objects.insert(n.id, (n.clone(), rt));
    if let Some(slot) = cfg.nexthops.iter_mut().find(|m| m.id == n.id) {
        *slot = n.clone();
    }
    let routes = router.rib.set_nhid_route(n.id, rt);
    let changes = router.commit();
    Ok(format!(
        "ok: replaced nexthop {} and moved its {routes} route(s) ({changes} FIB change(s), genid {})\n",
        n.id, router.work.genid
    ))
}

/// Whether nexthop object `g` is a group with member `id`.
fn in_group(g: &conf::NexthopConf, id: u32) -> bool {
    matches!(&g.kind, conf::NexthopKind::Group(m) if m.iter().any(|(m, _)| *m == id))
}

/// `nexthop del id N`: the object and, as in Linux, the routes that use it. Refused
/// while it is a member of a group.
pub fn nexthop_del(
    cfg: &mut Config,
    router: &mut Router,
    words: &[&str],
) -> Result<String, String> {
    let id = conf::cli::parse_nexthop_id(words)?;
    if !router.nh_objects.contains_key(&id) {
        return Err(format!("nexthop del: no nexthop id {id}"));
    }
    if let Some(g) = cfg.nexthops.iter().find(|n| in_group(n, id)) {
        return Err(format!(
            "nexthop del: id {id} is a member of group {}",
            g.id
        ));
    }
    let routes = router.rib.del_nhid(id);
    router.nh_objects.remove(&id);
    cfg.nexthops.retain(|n| n.id != id);
    // The config's own routes through it went with them (`show config` stays loadable).
    cfg.routes
        .retain(|r| !matches!(r.target, conf::RouteTarget::Nhid(n) if n == id));
    let changes = router.commit();
    Ok(format!(
        "ok: deleted nexthop {id} and its {routes} route(s) ({changes} FIB change(s), genid {})\n",
        router.work.genid
    ))
}

/// `nexthop show` (`ip nexthop` layout).
pub fn nexthop_show(router: &Router) -> String {
    let mut out = String::new();
    for (id, (_, rt)) in &router.nh_objects {
        let d = crate::routes_cmd::describe_route(&router.work, *rt);
        let d = if d.is_empty() {
            rt.name().to_string()
        } else {
            d
        };
        let _ = writeln!(out, "id {id} {d}");
    }
    if out.is_empty() {
        out.push_str("no nexthop objects\n");
    }
    out
}
