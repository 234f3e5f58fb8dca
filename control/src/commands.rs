//! The command language (testpmd's words where testpmd has them), executed on the control
//! core. Bad input gives a one-line error; nothing here can stop a running instance except
//! `quit`.

use crate::dataplane::Dataplane;
use crate::reply::{error, Cursor, Reply};
use crate::router::Router;
use crate::routing::{Handled, Routing};
use crate::show::{self, LastShow};
use conf::{quote, Config};
use fastpath::dpdk::port;
use fastpath::stats::StatsSnapshot;
use std::fmt::Write;
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

/// Everything the commands read or change. Owned by the control core.
pub struct Control {
    pub routing: Routing,
    pub dp: Dataplane,
    last_show: Vec<Option<LastShow>>,
    fwd_base: Vec<StatsSnapshot>,
}

impl Control {
    pub fn new(cfg: Config, dp: Dataplane, router: Router) -> Control {
        let n = dp.ports.len();
        let fwd_base = vec![StatsSnapshot::default(); dp.stats.len()];
        Control {
            routing: Routing::new(cfg, router),
            dp,
            last_show: vec![None; n],
            fwd_base,
        }
    }

    /// Runs one command line. None: the answer comes later from [`Control::poll`] (a
    /// `route load` has started reading its file).
    pub fn execute(&mut self, line: &str) -> Option<Reply> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match self.routing.dispatch(&words) {
            Ok(Handled::Reply(r)) => Some(r),
            Ok(Handled::Later) => None,
            Ok(Handled::NotMine) => Some(self.dispatch(&words).unwrap_or_else(error)),
            Err(e) => Some(error(e)),
        }
    }

    /// The answer to a `route load`, once there is one.
    pub fn poll(&mut self) -> Option<Reply> {
        self.routing.poll()
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
                    self.routing.cancel_load();
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
        self.routing.resume(c)
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
                    show::port_info(
                        &mut out,
                        i,
                        &self.dp.ports[i],
                        &self.routing.router.work.ifaces[i],
                    );
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
            ["show", "memory"] => {
                let snap = &self.routing.router.work;
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
        let by_name = self
            .routing
            .router
            .work
            .iface_by_name(which)
            .map(usize::from);
        match which.parse::<usize>().ok().or(by_name) {
            Some(i) if i < n => Ok(vec![i]),
            Some(i) => Err(format!("no port {i}: ports are 0..{}", n.saturating_sub(1))),
            None => Err(format!(
                "expected \"all\", a port number or a port name, got {}",
                quote(which)
            )),
        }
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
