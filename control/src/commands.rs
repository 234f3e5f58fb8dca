//! The command language (testpmd's words where testpmd has them), executed on the control
//! core. Bad input gives a one-line error; nothing here can stop a running instance except
//! `quit`.

use crate::dataplane::Dataplane;
use crate::show::{self, LastShow};
use conf::Config;
use fastpath::dpdk::port;
use fastpath::fib::RouteType;
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
  show config                            the running configuration as YAML
  show memory                            FIB size, mbuf pool usage, process memory
  show neigh                             static neighbours
  route get ADDR                         the route, next hop and neighbour ADDR uses
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
    last_show: Vec<Option<LastShow>>,
    fwd_base: Vec<StatsSnapshot>,
}

impl Control {
    pub fn new(cfg: Config, dp: Dataplane) -> Control {
        let n = dp.ports.len();
        let fwd_base = vec![StatsSnapshot::default(); dp.stats.len()];
        Control { cfg, dp, last_show: vec![None; n], fwd_base }
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
            ["quit"] | ["exit"] => return Ok(Reply { text: String::new(), quit: true }),
            ["show", "port", "info", which] => {
                for i in self.ports(which)? {
                    show::port_info(&mut out, i, &self.dp.ports[i], &self.dp.shared.snapshot.ifaces[i]);
                }
            }
            ["show", "port", "stats", which] => {
                for i in self.ports(which)? {
                    let s = port::stats(self.dp.ports[i].info.port_id);
                    show::port_stats(&mut out, i, &s, self.last_show[i].as_ref());
                    self.last_show[i] = Some(LastShow { at: Instant::now(), stats: s });
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
                let snap = &self.dp.shared.snapshot;
                let mib = |b: usize| b as f64 / (1 << 20) as f64;
                let _ = writeln!(out, "FIB: {} prefixes, {} next hops, {:.1} MiB", snap.fib.len(), snap.nexthops.len(), mib(snap.fib.memory_bytes()));
                let _ = writeln!(out, "mbuf pool: {} mbufs, {} in use (rings, caches, in flight)", self.dp.pool.size(), self.dp.pool.in_use());
                let _ = writeln!(out, "process: {}", show::memory_status());
            }
            ["show", "neigh"] => {
                let snap = &self.dp.shared.snapshot;
                for (i, addr, mac) in snap.neigh.entries() {
                    let _ = writeln!(out, "{addr} dev {} lladdr {mac} PERMANENT", snap.ifaces[i as usize].name);
                }
            }
            ["route", "get", addr] => {
                let a: Ipv4Addr = addr.parse().map_err(|_| format!("route get: {addr:?} is not an IPv4 address"))?;
                out.push_str(&self.route_get(a));
            }
            _ => return Err(self.unknown(w)),
        }
        Ok(Reply::ok(out))
    }

    /// Counters since the last `clear fwd stats`, per lcore.
    pub fn fwd_stats(&self) -> Vec<(u32, StatsSnapshot)> {
        self.dp.stats.iter().zip(&self.fwd_base).map(|(s, b)| (s.lcore, s.snapshot().since(b))).collect()
    }

    fn ports(&self, which: &str) -> Result<Vec<usize>, String> {
        let n = self.dp.ports.len();
        if which == "all" {
            return Ok((0..n).collect());
        }
        let by_name = self.dp.shared.snapshot.iface_by_name(which).map(usize::from);
        match which.parse::<usize>().ok().or(by_name) {
            Some(i) if i < n => Ok(vec![i]),
            Some(i) => Err(format!("no port {i}: ports are 0..{}", n - 1)),
            None => Err(format!("expected \"all\", a port number or a port name, got {which:?}")),
        }
    }

    fn route_get(&self, a: Ipv4Addr) -> String {
        let snap = &self.dp.shared.snapshot;
        let Some((prefix, rt)) = snap.fib.lookup(a) else {
            return format!("{a}: no route (network unreachable)\n");
        };
        match rt {
            RouteType::Unicast(nh) => {
                let nhd = snap.nexthops.get(nh);
                let iface = &snap.ifaces[nhd.iface as usize];
                let via = nhd.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
                let neigh = nhd.gateway.unwrap_or(a);
                let mac = snap.neigh.lookup(nhd.iface, neigh).map_or("none (no neighbour: dropped)".to_string(), |m| m.to_string());
                format!("{a} route {prefix}{via} dev {} mtu {} lladdr {mac}\n", iface.name, iface.mtu)
            }
            RouteType::Local => format!("local {a} route {prefix} (delivered locally)\n"),
            RouteType::Broadcast => format!("broadcast {a} route {prefix} (delivered locally)\n"),
            RouteType::Blackhole => format!("blackhole {a} route {prefix}\n"),
            RouteType::Unreachable => format!("unreachable {a} route {prefix}\n"),
            RouteType::Prohibit => format!("prohibit {a} route {prefix}\n"),
        }
    }

    fn unknown(&self, w: &[&str]) -> String {
        let known = ["help", "show", "clear", "route", "quit", "exit"];
        if known.contains(&w[0]) {
            format!("bad arguments for {:?}: see \"help\"", w.join(" "))
        } else {
            format!("unknown command {:?}: see \"help\"", w[0])
        }
    }
}
