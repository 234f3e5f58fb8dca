//! The routing commands (`route`, `rule`, `nexthop`, `show fib stats`, `show config`,
//! `show neigh`) on the control core's routing state: the config as it runs and the
//! [`Router`]. No EAL here, so they are tested without one.

use crate::load::{self, Load};
use crate::reply::{error, Cursor, Reply};
use crate::router::Router;
use crate::{change_cmd, routes_cmd};
use conf::{quote, Config};
use fastpath::dst_cache::DstCache;
use fastpath::fib::{FlowKey, Prefix, TABLE_MAIN};
use fastpath::stats::LcoreStats;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Prefixes per piece of a `route show` (about 80 KB of text).
const SHOW_CHUNK: usize = 1024;

/// The running routing state and the `route load` in progress.
pub struct Routing {
    pub cfg: Config,
    pub router: Router,
    load: Option<Load>,
    /// The control lcore's own dst cache, which `route get` goes through, and its
    /// counters.
    dst_cache: DstCache,
    dst_stats: LcoreStats,
    /// TSC frequency (the exceptions' lifetimes are in cycles).
    pub tsc_hz: u64,
}

/// What [`Routing::dispatch`] made of a command.
pub enum Handled {
    Reply(Reply),
    /// A `route load` started: its answer comes from [`Routing::poll`].
    Later,
    /// Not a routing command.
    NotMine,
}

impl Routing {
    pub fn new(cfg: Config, router: Router) -> Routing {
        Routing {
            cfg,
            router,
            load: None,
            dst_cache: DstCache::default(),
            dst_stats: LcoreStats::new(u32::MAX),
            tsc_hz: 1,
        }
    }

    /// Runs a routing command.
    pub fn dispatch(&mut self, w: &[&str]) -> Result<Handled, String> {
        let mut out = String::new();
        match w {
            ["route", "load", rest @ ..] => {
                if let Some(l) = &self.load {
                    return Err(format!(
                        "route load: one is running already ({})",
                        l.progress()
                    ));
                }
                self.load = Some(load::start(&self.cfg, &mut self.router, rest)?);
                return Ok(Handled::Later);
            }
            ["show", "config"] => out.push_str(&self.cfg.to_yaml()),
            ["show", "fib", "stats"] => {
                routes_cmd::fib_stats(&mut out, &self.cfg, &self.router.rib, &self.router.work)
            }
            ["rule", "show"] | ["rule"] => routes_cmd::rules(&mut out, &self.cfg),
            ["route", verb @ ("add" | "replace" | "append"), rest @ ..] => {
                let cmd = match *verb {
                    "add" => "route add",
                    "replace" => "route replace",
                    _ => "route append",
                };
                out = change_cmd::route_add(&self.cfg, &mut self.router, rest, *verb == "replace")
                    .map_err(named(cmd))?
            }
            ["route", "del" | "delete", rest @ ..] => {
                out = change_cmd::route_del(&self.cfg, &mut self.router, rest)
                    .map_err(named("route del"))?
            }
            ["rule", "add", rest @ ..] => {
                out = change_cmd::rule_add(&mut self.cfg, &mut self.router, rest)
                    .map_err(named("rule add"))?
            }
            ["rule", "del" | "delete", rest @ ..] => {
                out = change_cmd::rule_del(&mut self.cfg, &mut self.router, rest)
                    .map_err(named("rule del"))?
            }
            ["nexthop", "add", rest @ ..] => {
                out = change_cmd::nexthop_add(&mut self.cfg, &mut self.router, rest)
                    .map_err(named("nexthop add"))?
            }
            ["nexthop", "replace", rest @ ..] => {
                out = change_cmd::nexthop_replace(&mut self.cfg, &mut self.router, rest)
                    .map_err(named("nexthop replace"))?
            }
            ["nexthop", "del" | "delete", rest @ ..] => {
                out = change_cmd::nexthop_del(&mut self.cfg, &mut self.router, rest)
                    .map_err(named("nexthop del"))?
            }
            ["nexthop", "show"] | ["nexthop"] => out = change_cmd::nexthop_show(&self.router),
            ["route", "show" | "list", "cache"] | ["show", "exceptions"] => {
                let now = fastpath::dpdk::rdtsc();
                routes_cmd::show_cache(&mut out, &self.router.work, now, self.tsc_hz);
            }
            ["route", "show", rest @ ..] | ["route", "list", rest @ ..] => {
                let (table, prefix) = parse_show(&self.cfg, rest)?;
                let Some(p) = prefix else {
                    return Ok(Handled::Reply(self.route_show(table, None)));
                };
                let routes = self.router.rib.routes_of(table, p);
                routes_cmd::show(&mut out, &self.cfg, &self.router.work, table, &routes);
                if routes.is_empty() {
                    let _ = writeln!(out, "no routes for {p}");
                }
            }
            ["route", "get", rest @ ..] => {
                let key = self.parse_get(rest)?;
                routes_cmd::get(
                    &mut out,
                    &self.cfg,
                    &self.router.rib,
                    &self.router.work,
                    &key,
                    &mut self.dst_cache,
                    &self.dst_stats,
                    fastpath::dpdk::rdtsc(),
                    self.tsc_hz,
                );
            }
            _ => return Ok(Handled::NotMine),
        }
        Ok(Handled::Reply(Reply::ok(out)))
    }

    /// The answer to a `route load` once its file has been read (and its routes
    /// published, or nothing changed on an error).
    pub fn poll(&mut self) -> Option<Reply> {
        let done = self.load.as_mut()?.finish(&mut self.router)?;
        self.load = None;
        Some(match done {
            Ok(text) => Reply::ok(text),
            Err(e) => error(e),
        })
    }

    /// Gives up a `route load` in progress (nothing of it is applied).
    pub fn cancel_load(&mut self) {
        self.load = None;
    }

    /// The next piece of a long answer.
    pub fn resume(&self, c: Cursor) -> Reply {
        self.route_show(c.table, Some(c.after))
    }

    /// One piece of `route show` (the table's routes after `after`).
    fn route_show(&self, table: u32, after: Option<Prefix>) -> Reply {
        let mut text = String::new();
        let (routes, last) = self.router.rib.routes_after(table, after, SHOW_CHUNK);
        routes_cmd::show(&mut text, &self.cfg, &self.router.work, table, &routes);
        if after.is_none() && routes.is_empty() {
            text.push_str("no routes\n");
        }
        match last {
            Some(after) => Reply::Part {
                text,
                cursor: Cursor { table, after },
            },
            None => Reply::ok(text),
        }
    }

    /// `ADDR [from ADDR] [iif PORT] [tos N]`.
    fn parse_get(&self, w: &[&str]) -> Result<FlowKey, String> {
        let addr = |s: &str| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| format!("route get: {} is not an IPv4 address", quote(s)))
        };
        let (first, rest) = w
            .split_first()
            .ok_or("route get: which address? (route get ADDR [from ADDR] [iif PORT] [tos N])")?;
        let mut key = FlowKey::new(addr(first)?);
        let mut it = rest.iter();
        while let Some(k) = it.next() {
            let v = it
                .next()
                .ok_or_else(|| format!("route get: {} needs a value", quote(k)))?;
            match *k {
                "from" => key.saddr = addr(v)?,
                "iif" => {
                    key.iif = Some(
                        self.router
                            .work
                            .iface_by_name(v)
                            .ok_or_else(|| format!("route get: no port named {}", quote(v)))?,
                    )
                }
                "tos" => {
                    key.tos = parse_u8(v).ok_or_else(|| {
                        format!("route get: tos {} is not a number 0..255", quote(v))
                    })?
                }
                _ => {
                    return Err(format!(
                        "route get: unknown keyword {} (from, iif, tos)",
                        quote(k)
                    ))
                }
            }
        }
        Ok(key)
    }
}

/// `[table T] [PREFIX]` of `route show`; T is a number or a table name.
fn parse_show(cfg: &Config, w: &[&str]) -> Result<(u32, Option<Prefix>), String> {
    let mut table = TABLE_MAIN;
    let mut prefix = None;
    let mut it = w.iter();
    while let Some(k) = it.next() {
        match *k {
            "table" => {
                let v = it.next().ok_or("route show: table needs a value")?;
                table = cfg.table_id(v).ok_or_else(|| {
                    format!("route show: table {}: no such table (a number, local, main, default or a name from `tables`)", quote(v))
                })?;
            }
            "cache" if w.len() > 1 => {
                let extra = w.iter().find(|x| **x != "cache").unwrap_or(&"cache");
                return Err(format!(
                    "route show cache: takes no arguments, got {}",
                    quote(extra)
                ));
            }
            p if prefix.is_some() => {
                return Err(format!(
                    "route show: one prefix at most, got {} after it",
                    quote(p)
                ))
            }
            p => {
                prefix = Some(parse_prefix(p).ok_or_else(|| {
                    format!("route show: {} is not a prefix (A.B.C.D/N)", quote(p))
                })?)
            }
        }
    }
    Ok((table, prefix))
}

/// Names the whole command in an error of a parser it shares with others: `route: no
/// prefix given` becomes `route add: no prefix given`, a message without the command's
/// name gets it in front.
pub fn named(cmd: &'static str) -> impl Fn(String) -> String {
    move |e| {
        if e.starts_with(cmd) {
            return e;
        }
        let noun = cmd.split(' ').next().unwrap_or(cmd);
        match e.strip_prefix(noun).and_then(|r| r.strip_prefix(": ")) {
            Some(rest) => format!("{cmd}: {rest}"),
            None => format!("{cmd}: {e}"),
        }
    }
}

fn parse_prefix(s: &str) -> Option<Prefix> {
    if s == "default" {
        return Some(Prefix { addr: 0, len: 0 });
    }
    let (a, l) = s.split_once('/').unwrap_or((s, "32"));
    let len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
    Some(Prefix::new(a.parse().ok()?, len))
}

fn parse_u8(s: &str) -> Option<u8> {
    match s.strip_prefix("0x") {
        Some(h) => u8::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CFG: &str = r#"
ports:
  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }
  - { name: p1, device: net_null1, addresses: [10.0.2.1/24] }
tables: [{ id: 100, name: isp2 }]
routes:
  - { prefix: 0.0.0.0/0, via: 10.0.1.2 }
  - { prefix: 0.0.0.0/0, via: 10.0.2.2, table: isp2 }
rules:
  - { pref: 100, from: 192.0.2.0/24, table: isp2 }
  - { pref: 200, iif: p1, to: 198.51.100.0/24, type: blackhole }
  - { pref: 300, fwmark: 1, table: isp2 }
"#;

    fn routing() -> Routing {
        let cfg = Config::from_str(CFG, Path::new("t.yaml")).unwrap();
        let (router, _) = crate::compile::compile(&cfg).unwrap();
        Routing::new(cfg, router)
    }

    /// The whole answer to `line`, waiting for a load; Err for an error.
    fn run(r: &mut Routing, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut reply = match r.dispatch(&words)? {
            Handled::Reply(reply) => reply,
            Handled::NotMine => panic!("{line}: not a routing command"),
            Handled::Later => loop {
                if let Some(reply) = r.poll() {
                    break reply;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            },
        };
        let mut text = String::new();
        loop {
            match reply {
                Reply::Done { text: t, .. } => {
                    text.push_str(&t);
                    break;
                }
                Reply::Part { text: t, cursor } => {
                    text.push_str(&t);
                    reply = r.resume(cursor);
                }
            }
        }
        match text.strip_prefix("error: ") {
            Some(e) => Err(e.trim_end().to_string()),
            None => Ok(text),
        }
    }

    #[test]
    fn routes_through_nothing_are_errors_not_panics() {
        let mut r = routing();
        for line in [
            "route del 8.8.8.0/24 via 8.8.8.8",
            "route del 8.8.8.0/24 dev p9",
            "route del 8.8.8.0/24 via 255.255.255.255",
            "route del 8.8.8.0/24 nexthop via 8.8.8.8 nexthop via 10.0.1.2",
            "route del 8.8.8.0/24 nhid 3",
            "route replace 8.8.8.0/24 via 8.8.8.8",
            "route add 10.200.0.0/16 via 10.0.1.255",
        ] {
            let e = run(&mut r, line).unwrap_err();
            assert!(e.starts_with("route "), "{line}: {e}");
        }
        assert_eq!(
            run(&mut r, "route del 8.8.8.0/24 via 8.8.8.8").unwrap_err(),
            "route del: no such route: 8.8.8.0/24 via 8.8.8.8: no port reaches it"
        );
    }

    #[test]
    fn rules_and_tables_print_as_iproute2() {
        let mut r = routing();
        assert_eq!(
            run(&mut r, "rule show").unwrap(),
            "0:\tfrom all lookup local\n\
             100:\tfrom 192.0.2.0/24 lookup isp2\n\
             200:\tfrom all to 198.51.100.0/24 iif p1 blackhole\n\
             300:\tfrom all fwmark 0x1 lookup isp2\n\
             32766:\tfrom all lookup main\n\
             32767:\tfrom all lookup default\n"
        );
        assert_eq!(
            run(&mut r, "route show table isp2").unwrap(),
            "default via 10.0.2.2 dev p1 table isp2 proto static\n"
        );
        let get = run(&mut r, "route get 8.8.8.8 from 192.0.2.1 iif p0").unwrap();
        assert!(
            get.contains("rule 100: from 192.0.2.0/24 lookup isp2"),
            "{get}"
        );
        assert!(
            get.contains("table isp2 route default via 10.0.2.2"),
            "{get}"
        );
        assert!(run(&mut r, "show fib stats")
            .unwrap()
            .contains("table isp2"));
    }

    #[test]
    fn route_get_says_what_the_data_plane_does_with_martians() {
        let mut r = routing();
        for (q, says) in [
            ("127.0.0.1", "127.0.0.1: martian destination: dropped"),
            ("224.0.0.5", "224.0.0.5: multicast: dropped"),
            ("0.0.0.0", "0.0.0.0: martian destination: dropped"),
            (
                "8.8.8.8 from 10.0.2.1 iif p0",
                "8.8.8.8 from 10.0.2.1 iif p0: martian source",
            ),
            (
                "255.255.255.255",
                "broadcast 255.255.255.255: limited broadcast",
            ),
        ] {
            let out = run(&mut r, &format!("route get {q}")).unwrap();
            assert!(
                out.starts_with(says) && !out.contains(" via "),
                "{q}: {out}"
            );
        }
    }

    /// `rt_genid_bump_ipv4`: every change a command publishes moves the genid, so every
    /// lcore's cached dsts are rebuilt on their next use; a command that changes nothing
    /// leaves it. (Neighbour and exception changes are published by the control core's
    /// event loop, `Control::publish_learned`, each with a bump of its own.)
    #[test]
    fn every_published_change_bumps_the_genid_and_no_cached_dst_survives_it() {
        let mut r = routing();
        r.router.publish();
        run(&mut r, "nexthop add id 7 via 10.0.2.2").unwrap();
        let get = |r: &mut Routing| run(r, "route get 198.51.100.7").unwrap();
        assert!(get(&mut r).contains("dst cache miss"), "{}", get(&mut r));
        assert!(get(&mut r).contains("dst cache hit"));
        for cmd in [
            "route add 198.51.100.0/25 via 10.0.2.2",
            "route replace 198.51.100.0/25 via 10.0.1.2",
            "route del 198.51.100.0/25",
            "rule add pref 50 from 192.0.2.0/24 table main",
            "rule del pref 50",
            "route add 198.51.100.0/25 nhid 7",
            "nexthop replace id 7 via 10.0.1.2",
            "nexthop del id 7",
        ] {
            let before = r.router.work.genid;
            run(&mut r, cmd).unwrap();
            assert_eq!(r.router.work.genid, before + 1, "{cmd}");
            // Rebuilt, or built for the first time if the route now uses another next hop.
            let out = get(&mut r);
            assert!(
                out.contains("dst cache rebuilt") || out.contains("dst cache miss"),
                "{cmd}: {out}"
            );
            assert!(get(&mut r).contains("dst cache hit"), "{cmd}");
        }
        let before = r.router.work.genid;
        assert!(run(&mut r, "route del 198.51.100.0/25").is_err());
        run(&mut r, "route show").unwrap();
        assert_eq!(
            r.router.work.genid, before,
            "nothing changed, nothing bumped"
        );
    }

    #[test]
    fn nexthop_del_goes_with_its_routes_only() {
        let mut r = routing();
        run(&mut r, "nexthop add id 5 via 10.0.1.2").unwrap();
        run(&mut r, "route add 198.18.0.0/15 nhid 5").unwrap();
        let show = run(&mut r, "route show 198.18.0.0/15").unwrap();
        assert_eq!(show, "198.18.0.0/15 nhid 5 via 10.0.1.2 dev p0 proto cli\n");
        let out = run(&mut r, "nexthop del id 5").unwrap();
        assert!(
            out.starts_with("ok: deleted nexthop 5 and its 1 route(s)"),
            "{out}"
        );
        assert_eq!(
            run(&mut r, "route show 198.18.0.0/15").unwrap(),
            "no routes for 198.18.0.0/15\n"
        );
        assert!(run(&mut r, "route show")
            .unwrap()
            .contains("default via 10.0.1.2"));
    }

    #[test]
    fn nexthop_del_takes_the_configs_routes_through_it_too() {
        let text = CFG.replace(
            "routes:\n",
            "nexthops: [{ id: 7, via: 10.0.1.2 }]\nroutes:\n  - { prefix: 198.51.100.0/24, nhid: 7 }\n",
        );
        let cfg = Config::from_str(&text, Path::new("t.yaml")).unwrap();
        let (router, _) = crate::compile::compile(&cfg).unwrap();
        let mut r = Routing::new(cfg, router);
        let out = run(&mut r, "nexthop del id 7").unwrap();
        assert!(out.contains("and its 1 route(s)"), "{out}");
        let yaml = r.cfg.to_yaml();
        assert!(!yaml.contains("nhid"), "{yaml}");
        assert_eq!(Config::from_str(&yaml, &r.cfg.path).unwrap(), r.cfg);
    }

    #[test]
    fn a_route_load_is_all_or_nothing() {
        let mut r = routing();
        let dir = std::env::temp_dir().join(format!("fastpath-routing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, "203.0.113.0/25\n203.0.113.128/25\n203.0.113.7/25\n").unwrap();
        let genid = r.router.work.genid;
        let e = run(
            &mut r,
            &format!("route load {} via 10.0.2.2", bad.display()),
        )
        .unwrap_err();
        assert!(
            e.contains("bad.txt:3:1:") && e.ends_with("nothing was loaded"),
            "{e}"
        );
        assert_eq!(r.router.work.genid, genid, "nothing published");
        run(&mut r, "route add 192.0.2.0/24 via 10.0.2.2").unwrap();
        assert_eq!(
            run(&mut r, "route show 203.0.113.0/25").unwrap(),
            "no routes for 203.0.113.0/25\n"
        );
        for path in ["/dev/zero", "/tmp"] {
            let e = run(&mut r, &format!("route load {path} via 10.0.2.2")).unwrap_err();
            assert!(e.contains("not a regular file"), "{e}");
        }
        std::fs::write(&bad, "203.0.113.0/25\n203.0.113.128/25\n").unwrap();
        let out = run(
            &mut r,
            &format!("route load {} via 10.0.2.2", bad.display()),
        )
        .unwrap();
        assert!(out.starts_with("loaded 2 routes"), "{out}");
        assert!(run(&mut r, "route show")
            .unwrap()
            .contains("203.0.113.128/25 via 10.0.2.2 dev p1 proto file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_long_listing_comes_in_pieces_that_add_up() {
        let mut r = routing();
        for i in 0..3000u32 {
            let p = std::net::Ipv4Addr::from(0x0b00_0000 + (i << 8));
            run(&mut r, &format!("route add {p}/24 via 10.0.1.2")).unwrap();
        }
        let first = match r.dispatch(&["route", "show"]).unwrap() {
            Handled::Reply(Reply::Part { text, .. }) => text,
            _ => panic!("3000 routes fit in no single piece"),
        };
        assert_eq!(first.lines().count(), SHOW_CHUNK);
        let all = run(&mut r, "route show").unwrap();
        assert_eq!(
            all.lines().count(),
            3000 + 3,
            "the routes, the default and two connected"
        );
    }
}
