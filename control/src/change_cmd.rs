//! The commands that change routing at run time (iproute2's syntax, parsed and checked by
//! `conf::cli` and `conf::Config::check_*` exactly as the YAML is): `route add|del|replace`,
//! `route load`, `rule add|del`, `nexthop add|del|show`. Each change goes into the RIB (or
//! the rules) and is published at once as a new snapshot; workers switch at their next
//! burst without pausing.

use crate::compile;
use crate::rib::{RibRoute, Source};
use crate::router::Router;
use conf::Config;
use fastpath::fib::{Prefix, Rule};
use std::fmt::Write;
use std::io::IsTerminal;
use std::time::Instant;

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
        compile::route_type(cfg, router, &rc.target).ok_or("route add: no such nexthop id")?;
    let r = RibRoute {
        metric: rc.metric,
        route,
        source: Source::Cli,
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
        Some(t) => {
            Some(compile::route_type(cfg, router, t).ok_or("route del: no such nexthop id")?)
        }
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

/// `route load FILE via A [via B ...] [table T] [metric M]`: a route file, as in the
/// config's `route_files`, with a progress bar on a terminal.
pub fn route_load(cfg: &Config, router: &mut Router, words: &[&str]) -> Result<String, String> {
    const USAGE: &str = "route load FILE via ADDR [via ADDR ...] [table T] [metric N]";
    let (file, mut rest) = words.split_first().ok_or(format!("usage: {USAGE}"))?;
    let mut rf = conf::RouteFileConf {
        path: file.into(),
        via: Vec::new(),
        metric: 0,
        table: fastpath::fib::TABLE_MAIN,
    };
    while let [k, v, tail @ ..] = rest {
        match *k {
            "via" => rf.via.push(
                v.parse()
                    .map_err(|_| format!("route load: {v:?} is not an IPv4 address"))?,
            ),
            "metric" => {
                rf.metric = v
                    .parse()
                    .map_err(|_| format!("route load: metric {v:?} is not a number"))?
            }
            "table" => {
                rf.table = cfg
                    .table_id(v)
                    .ok_or_else(|| format!("route load: unknown table {v:?}"))?
            }
            _ => return Err(format!("route load: unknown keyword {k:?}; usage: {USAGE}")),
        }
        rest = tail;
    }
    if !rest.is_empty() || rf.via.is_empty() {
        return Err(format!("usage: {USAGE}"));
    }
    if !rf.path.exists() {
        return Err(format!("route load: {}: no such file", rf.path.display()));
    }
    let mut routes = Vec::with_capacity(rf.via.len());
    for gw in &rf.via {
        if cfg.port_for_gateway(*gw).is_none() {
            return Err(format!("route load: via {gw}: no port can reach it"));
        }
        routes.push((*gw, compile::gateway_route(cfg, router, *gw, None)));
    }
    let tty = std::io::stderr().is_terminal();
    let t = Instant::now();
    let (mut added, mut exists) = (0usize, 0usize);
    let n = conf::route_file::read(&rf, |net, gw| {
        let route = routes
            .iter()
            .find(|r| r.0 == gw)
            .expect("gateway from via")
            .1;
        match router.rib.add(
            rf.table,
            prefix(&net),
            RibRoute {
                metric: rf.metric,
                route,
                source: Source::File,
            },
        ) {
            Ok(()) => added += 1,
            Err(_) => exists += 1,
        }
        if tty && (added + exists) % 50_000 == 0 {
            eprint!(
                "\rroute load: {:>9} routes  {:>5.1} s",
                added + exists,
                t.elapsed().as_secs_f64()
            );
        }
    })
    .map_err(|e| e.to_string())?;
    if tty {
        eprintln!(
            "\rroute load: {n:>9} routes  {:>5.1} s  done",
            t.elapsed().as_secs_f64()
        );
    }
    let read = t.elapsed();
    let changes = router.commit();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "loaded {n} routes from {} in {:.2} s ({added} added, {exists} already present), {changes} FIB changes published in {:.2} s, genid {}",
        rf.path.display(),
        read.as_secs_f64(),
        (t.elapsed() - read).as_secs_f64(),
        router.work.genid
    );
    Ok(out)
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
            "rule del: no such rule".to_string()
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

/// `nexthop del id N`: refused while a route in the RIB goes where it goes.
pub fn nexthop_del(
    cfg: &mut Config,
    router: &mut Router,
    words: &[&str],
) -> Result<String, String> {
    let id = conf::cli::parse_nexthop_id(words)?;
    let (_, rt) = *router
        .nh_objects
        .get(&id)
        .ok_or_else(|| format!("nexthop del: no nexthop id {id}"))?;
    let users = router
        .rib
        .table_ids()
        .iter()
        .map(|&t| {
            router
                .rib
                .routes(t)
                .iter()
                .filter(|r| r.1.route == rt)
                .count()
        })
        .sum::<usize>();
    if users > 0 {
        return Err(format!(
            "nexthop del: id {id} is in use by {users} route(s)"
        ));
    }
    if cfg
        .nexthops
        .iter()
        .any(|n| matches!(&n.kind, conf::NexthopKind::Group(m) if m.iter().any(|(g, _)| *g == id)))
    {
        return Err(format!("nexthop del: id {id} is a member of a group"));
    }
    router.nh_objects.remove(&id);
    cfg.nexthops.retain(|n| n.id != id);
    Ok("ok\n".into())
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
