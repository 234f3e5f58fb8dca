//! The command language (testpmd's words where testpmd has them), executed on the control
//! core. Bad input gives a one-line error; nothing here can stop a running instance except
//! `quit`.

use crate::dataplane::Dataplane;
use crate::router::Router;
use crate::show::{self, LastShow};
use crate::{change_cmd, routes_cmd};
use conf::Config;
use fastpath::dpdk::port;
use fastpath::fib::{FlowKey, Prefix, TABLE_MAIN};
use fastpath::stats::StatsSnapshot;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::Instant;

pub const HELP: &str = "\
Commands:
  help                                   this text
  show port info (all|N)                 port, driver, MAC, link, MTU, addresses, queues
  show port stats (all|N)                NIC counters and rates since the last show
  clear port stats (all|N)               reset NIC counters
  show fwd stats                         per-lcore forwarding counters and drop reasons
  clear fwd stats                        reset them
  show config                            the configuration as YAML (with rules and next hops
                                         changed since; routes: route show)
  show memory                            FIB size, mbuf pool usage, process memory
  show neigh                             static neighbours
  show fib stats                         tables, prefixes, memory, FIB version
  route show [table T] [PREFIX]          routes of a table (default main), iproute2 layout
  route get ADDR [from ADDR] [iif PORT] [tos N]
                                         the rule, table, route, next hop and MAC ADDR uses
  route add|replace PREFIX via ADDR [dev PORT] [metric N] [table T]
  route add PREFIX nexthop via A [weight W] nexthop via B [weight W] ...   (ECMP)
  route add PREFIX nhid N | dev PORT | type blackhole|unreachable|prohibit
  route del PREFIX [table T] [metric N] [via ADDR]
  route load FILE via ADDR [via ADDR ...] [table T] [metric N]
                                         a route file (.xz ok), like route_files
  rule show                              policy rules in priority order
  rule add [pref N] [from P] [to P] [iif PORT] [tos N] [fwmark M[/MASK]]
           (table T | blackhole | unreachable | prohibit)
  rule del [pref N] [selectors...]       the first rule matching all given
  nexthop add id N (via ADDR [dev PORT] | dev PORT | blackhole | group A[,W]/B[,W])
  nexthop del id N | nexthop show
  quit                                   stop forwarding, print final stats, exit
";

/// The result of one command.
pub struct Reply {
    pub text: String,
    pub quit: bool,
}

impl Reply {
    fn ok(text: String) -> Reply {
        Reply { text, quit: false }
    }
}

/// Everything the commands read or change. Owned by the control core.
pub struct Control {
    pub cfg: Config,
    pub dp: Dataplane,
    pub router: Router,
    last_show: Vec<Option<LastShow>>,
    fwd_base: Vec<StatsSnapshot>,
}

impl Control {
    pub fn new(cfg: Config, dp: Dataplane, router: Router) -> Control {
        let n = dp.ports.len();
        let fwd_base = vec![StatsSnapshot::default(); dp.stats.len()];
        Control {
            cfg,
            dp,
            router,
            last_show: vec![None; n],
            fwd_base,
        }
    }

    /// Runs one command line.
    pub fn execute(&mut self, line: &str) -> Reply {
        let words: Vec<&str> = line.split_whitespace().collect();
        match self.dispatch(&words) {
            Ok(r) => r,
            Err(e) => Reply::ok(format!("error: {e}\n")),
        }
    }

    fn dispatch(&mut self, w: &[&str]) -> Result<Reply, String> {
        let mut out = String::new();
        match w {
            [] => {}
            ["help"] | ["?"] => out.push_str(HELP),
            ["quit"] | ["exit"] => {
                return Ok(Reply {
                    text: String::new(),
                    quit: true,
                })
            }
            ["show", "port", "info", which] => {
                for i in self.ports(which)? {
                    show::port_info(&mut out, i, &self.dp.ports[i], &self.router.work.ifaces[i]);
                }
            }
            ["show", "port", "stats", which] => {
                for i in self.ports(which)? {
                    let s = port::stats(self.dp.ports[i].info.port_id);
                    show::port_stats(&mut out, i, &s, self.last_show[i].as_ref());
                    self.last_show[i] = Some(LastShow {
                        at: Instant::now(),
                        stats: s,
                    });
                }
            }
            ["clear", "port", "stats", which] => {
                for i in self.ports(which)? {
                    port::reset_stats(self.dp.ports[i].info.port_id).map_err(|e| e.to_string())?;
                    self.last_show[i] = None;
                    let _ = writeln!(out, "\n  NIC statistics for port {i} cleared");
                }
            }
            ["show", "fwd", "stats"] => show::fwd_stats(&mut out, &self.fwd_stats()),
            ["clear", "fwd", "stats"] => {
                self.fwd_base = self.dp.stats.iter().map(|s| s.snapshot()).collect();
                out.push_str("\n  Forward statistics cleared\n");
            }
            ["show", "config"] => out.push_str(&self.cfg.to_yaml()),
            ["show", "memory"] => {
                let snap = &self.router.work;
                let mib = |b: usize| b as f64 / (1 << 20) as f64;
                let _ = writeln!(
                    out,
                    "FIB: {} prefixes, {} next hops, {:.1} MiB",
                    snap.fib.len(),
                    snap.nexthops.len(),
                    mib(snap.fib.memory_bytes())
                );
                let _ = writeln!(
                    out,
                    "mbuf pool: {} mbufs, {} in use (rings, caches, in flight)",
                    self.dp.pool.size(),
                    self.dp.pool.in_use()
                );
                let _ = writeln!(out, "process: {}", show::memory_status());
            }
            ["show", "neigh"] => {
                let snap = &self.router.work;
                for (i, addr, mac) in snap.neigh.entries() {
                    let _ = writeln!(
                        out,
                        "{addr} dev {} lladdr {mac} PERMANENT",
                        snap.ifaces[i as usize].name
                    );
                }
            }
            ["show", "fib", "stats"] => {
                routes_cmd::fib_stats(&mut out, &self.router.rib, &self.router.work)
            }
            ["rule", "show"] | ["rule"] => routes_cmd::rules(&mut out, &self.router.work),
            ["route", verb @ ("add" | "replace" | "append"), rest @ ..] => {
                out = change_cmd::route_add(&self.cfg, &mut self.router, rest, *verb == "replace")?
            }
            ["route", "del" | "delete", rest @ ..] => {
                out = change_cmd::route_del(&self.cfg, &mut self.router, rest)?
            }
            ["route", "load", rest @ ..] => {
                out = change_cmd::route_load(&self.cfg, &mut self.router, rest)?
            }
            ["rule", "add", rest @ ..] => {
                out = change_cmd::rule_add(&mut self.cfg, &mut self.router, rest)?
            }
            ["rule", "del" | "delete", rest @ ..] => {
                out = change_cmd::rule_del(&mut self.cfg, &mut self.router, rest)?
            }
            ["nexthop", "add", rest @ ..] => {
                out = change_cmd::nexthop_add(&mut self.cfg, &mut self.router, rest)?
            }
            ["nexthop", "del" | "delete", rest @ ..] => {
                out = change_cmd::nexthop_del(&mut self.cfg, &mut self.router, rest)?
            }
            ["nexthop", "show"] | ["nexthop"] => out = change_cmd::nexthop_show(&self.router),
            ["route", "show", rest @ ..] | ["route", "list", rest @ ..] => {
                let (table, prefix) = parse_show(rest)?;
                routes_cmd::show(&mut out, &self.router.rib, &self.router.work, table, prefix);
            }
            ["route", "get", rest @ ..] => {
                let key = self.parse_get(rest)?;
                routes_cmd::get(&mut out, &self.router.rib, &self.router.work, &key)?;
            }
            _ => return Err(self.unknown(w)),
        }
        Ok(Reply::ok(out))
    }

    /// Counters since the last `clear fwd stats`, per lcore.
    pub fn fwd_stats(&self) -> Vec<(u32, StatsSnapshot)> {
        self.dp
            .stats
            .iter()
            .zip(&self.fwd_base)
            .map(|(s, b)| (s.lcore, s.snapshot().since(b)))
            .collect()
    }

    fn ports(&self, which: &str) -> Result<Vec<usize>, String> {
        let n = self.dp.ports.len();
        if which == "all" {
            return Ok((0..n).collect());
        }
        let by_name = self.router.work.iface_by_name(which).map(usize::from);
        match which.parse::<usize>().ok().or(by_name) {
            Some(i) if i < n => Ok(vec![i]),
            Some(i) => Err(format!("no port {i}: ports are 0..{}", n - 1)),
            None => Err(format!(
                "expected \"all\", a port number or a port name, got {which:?}"
            )),
        }
    }

    /// `ADDR [from ADDR] [iif PORT] [tos N]`.
    fn parse_get(&self, w: &[&str]) -> Result<FlowKey, String> {
        let addr = |s: &str| {
            s.parse::<Ipv4Addr>()
                .map_err(|_| format!("route get: {s:?} is not an IPv4 address"))
        };
        let (first, rest) = w
            .split_first()
            .ok_or("route get: which address? (route get ADDR [from ADDR] [iif PORT] [tos N])")?;
        let mut key = FlowKey::new(addr(first)?);
        let mut it = rest.iter();
        while let Some(k) = it.next() {
            let v = it
                .next()
                .ok_or_else(|| format!("route get: {k} needs a value"))?;
            match *k {
                "from" => key.saddr = addr(v)?,
                "iif" => {
                    key.iif = Some(
                        self.router
                            .work
                            .iface_by_name(v)
                            .ok_or_else(|| format!("route get: no port named {v:?}"))?,
                    )
                }
                "tos" => {
                    key.tos = parse_u8(v)
                        .ok_or_else(|| format!("route get: tos {v:?} is not a number 0..255"))?
                }
                _ => return Err(format!("route get: unknown keyword {k:?} (from, iif, tos)")),
            }
        }
        Ok(key)
    }

    fn unknown(&self, w: &[&str]) -> String {
        let known = [
            "help", "show", "clear", "route", "rule", "nexthop", "quit", "exit",
        ];
        if known.contains(&w[0]) {
            format!("bad arguments for {:?}: see \"help\"", w.join(" "))
        } else {
            format!("unknown command {:?}: see \"help\"", w[0])
        }
    }
}

/// `[table T] [PREFIX]` of `route show`.
fn parse_show(w: &[&str]) -> Result<(u32, Option<Prefix>), String> {
    let mut table = TABLE_MAIN;
    let mut prefix = None;
    let mut it = w.iter();
    while let Some(k) = it.next() {
        match *k {
            "table" => {
                let v = it.next().ok_or("route show: table needs a value")?;
                table = match *v {
                    "local" => fastpath::fib::TABLE_LOCAL,
                    "main" => TABLE_MAIN,
                    "default" => fastpath::fib::TABLE_DEFAULT,
                    n => n.parse().map_err(|_| {
                        format!("route show: table {n:?} is not a number or local/main/default")
                    })?,
                };
            }
            p => {
                prefix = Some(
                    parse_prefix(p)
                        .ok_or_else(|| format!("route show: {p:?} is not a prefix (A.B.C.D/N)"))?,
                )
            }
        }
    }
    Ok((table, prefix))
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
