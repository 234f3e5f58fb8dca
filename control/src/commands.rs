//! The command language (testpmd's words where testpmd has them), executed on the control
//! core. Bad input gives a one-line error; nothing here can stop a running instance except
//! `quit`.

use crate::dataplane::Dataplane;
use crate::load::Load;
use crate::router::Router;
use crate::show::{self, LastShow};
use crate::{change_cmd, load, routes_cmd};
use conf::{quote, Config};
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

/// The answer to a command, whole or a piece at a time.
#[derive(Debug)]
pub enum Reply {
    /// The whole answer, or its last piece; `quit`: stop once it is out.
    Done { text: String, quit: bool },
    /// A piece of a long answer; [`Control::resume`] with the cursor gives the next.
    Part { text: String, cursor: Cursor },
}

impl Reply {
    fn ok(text: String) -> Reply {
        Reply::Done { text, quit: false }
    }
}

/// Where a long listing stopped: `route show` resumes after the last prefix it showed.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    table: u32,
    after: Prefix,
}

/// Prefixes per piece of a `route show` (about 80 KB of text).
const SHOW_CHUNK: usize = 1024;

/// Everything the commands read or change. Owned by the control core.
pub struct Control {
    pub cfg: Config,
    pub dp: Dataplane,
    pub router: Router,
    last_show: Vec<Option<LastShow>>,
    fwd_base: Vec<StatsSnapshot>,
    /// A `route load` reading its file.
    load: Option<Load>,
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
            load: None,
        }
    }

    /// Runs one command line. None: the answer comes later from [`Control::poll`] (a
    /// `route load` has started reading its file).
    pub fn execute(&mut self, line: &str) -> Option<Reply> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["route", "load", rest @ ..] = words.as_slice() {
            if let Some(l) = &self.load {
                return Some(error(format!(
                    "route load: one is running already ({})",
                    l.progress()
                )));
            }
            return match load::start(&self.cfg, &mut self.router, rest) {
                Ok(l) => {
                    self.load = Some(l);
                    None
                }
                Err(e) => Some(error(e)),
            };
        }
        Some(self.dispatch(&words).unwrap_or_else(error))
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

    /// Runs `line` to the end, waiting for a `route load` (unless `stop` says to give up:
    /// then None) and reading every piece of a long answer; hands the text to `out`.
    /// Returns whether it was `quit`.
    pub fn run(
        &mut self,
        line: &str,
        stop: impl Fn() -> bool,
        mut out: impl FnMut(&str),
    ) -> Option<bool> {
        let mut reply = match self.execute(line) {
            Some(r) => r,
            None => loop {
                if let Some(r) = self.poll() {
                    break r;
                }
                if stop() {
                    self.load = None;
                    return None;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            },
        };
        loop {
            match reply {
                Reply::Done { text, quit } => {
                    out(&text);
                    return Some(quit);
                }
                Reply::Part { text, cursor } => {
                    out(&text);
                    reply = self.resume(cursor);
                }
            }
        }
    }

    /// The next piece of a long answer.
    pub fn resume(&mut self, c: Cursor) -> Reply {
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

    fn dispatch(&mut self, w: &[&str]) -> Result<Reply, String> {
        let mut out = String::new();
        match w {
            [] => {}
            ["help"] | ["?"] => out.push_str(HELP),
            ["quit"] | ["exit"] => {
                return Ok(Reply::Done {
                    text: "Stopping forwarding.\n".into(),
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
                routes_cmd::fib_stats(&mut out, &self.cfg, &self.router.rib, &self.router.work)
            }
            ["rule", "show"] | ["rule"] => routes_cmd::rules(&mut out, &self.cfg),
            ["route", verb @ ("add" | "replace" | "append"), rest @ ..] => {
                out = change_cmd::route_add(&self.cfg, &mut self.router, rest, *verb == "replace")?
            }
            ["route", "del" | "delete", rest @ ..] => {
                out = change_cmd::route_del(&self.cfg, &mut self.router, rest)?
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
                let (table, prefix) = parse_show(&self.cfg, rest)?;
                let Some(p) = prefix else {
                    return Ok(self.route_show(table, None));
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
                );
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
            Some(i) => Err(format!("no port {i}: ports are 0..{}", n.saturating_sub(1))),
            None => Err(format!(
                "expected \"all\", a port number or a port name, got {}",
                quote(which)
            )),
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

    fn unknown(&self, w: &[&str]) -> String {
        let known = [
            "help", "show", "clear", "route", "rule", "nexthop", "quit", "exit",
        ];
        match w.first() {
            Some(first) if known.contains(first) => {
                format!("bad arguments for {}: see \"help\"", quote(&w.join(" ")))
            }
            first => format!(
                "unknown command {}: see \"help\"",
                quote(first.unwrap_or(&""))
            ),
        }
    }
}

/// A one-line error reply, cut to a sane length whatever it quotes.
fn error(e: String) -> Reply {
    Reply::ok(format!("error: {}\n", conf::clip(&e)))
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
            p => {
                prefix = Some(parse_prefix(p).ok_or_else(|| {
                    format!("route show: {} is not a prefix (A.B.C.D/N)", quote(p))
                })?)
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
