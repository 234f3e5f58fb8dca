//! The command language (testpmd's words where testpmd has them), executed on the control
//! core. Bad input gives a one-line error; nothing here can stop a running instance except
//! `quit`.

use crate::capture_cmd::Captures;
use crate::dataplane::{Dataplane, DpIo};
use crate::exceptions::{FnheParams, Learner};
use crate::flows_cmd;
use crate::neigh::{NeighParams, Neighbours, Nud};
use crate::reply::{error, Cursor, Reply};
use crate::router::Router;
use crate::routing::{Handled, Routing};
use crate::show::{self, LastShow};
use crate::slowpath::SlowPath;
use conf::{quote, Config};
use fastpath::dpdk::mbuf::{Mbuf, MAX_BURST};
use fastpath::dpdk::{port, rdtsc};
use fastpath::drop::DropReason;
use fastpath::fib::{Prefix, TABLE_MAIN};
use fastpath::icmp_limit::{PeerLimiter, RateLimiter};
use fastpath::iface::IfIndex;
use fastpath::lcore::LcoreCtx;
use fastpath::punt::Punt;
use fastpath::stats::{LcoreStats, Stat, StatsSnapshot};
use fastpath::wire::EthernetAddress;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// How often the neighbour timers run.
const NEIGH_TICK: Duration = Duration::from_millis(10);
/// Punted packets one [`Control::slow_poll`] handles at most (as NAPI's `netdev_budget`):
/// under a flood the rings never empty, and the control socket must still get its turn.
const PUNT_BUDGET: usize = 64 * MAX_BURST;
/// How often expired nexthop exceptions are removed (they are ignored once expired).
const EXCEPTION_REAP: Duration = Duration::from_secs(1);

pub const HELP: &str = "\
Commands:
  help                                   this text
  show port info (all|N)                 port, driver, MAC, link, MTU, addresses, queues
  show port stats (all|N)                NIC counters and rates since the last show
  clear port stats (all|N)               reset NIC counters
  show port xstats (all|N)               the NIC's extended statistics (name: value)
  clear port xstats (all|N)              reset them
  start                                  start forwarding (it starts at launch, as
                                         testpmd's --auto-start)
  stop                                   stop forwarding: workers stop polling RX; prints
                                         the forward statistics since the last start
  port stop (all|N)                      stop a port (rte_eth_dev_stop); forwarding must
                                         be stopped first
  port start (all|N)                     start it again; start needs every port started
  port config mtu (all|N) VALUE          set the port's MTU (device and forwarding), at
                                         once, while forwarding
  show fwd stats                         per-lcore forwarding counters and drop reasons
  clear fwd stats                        reset them (and the latency histograms)
  show latency                           per worker: p50, p90, p99, p99.9, max of the time
                                         packets spend in it (rx to tx), microseconds
  show config                            the configuration as YAML (with rules and next hops
                                         changed since; routes: route show)
  show config rxtx                       forwarding mode, burst, queues and descriptors
  show config cores                      the forwarding lcores
  show config fwd                        each lcore's streams: the (port, RX queue) it polls
  show memory                            FIB size, mbuf pool, neighbours, process memory
  show neigh                             neighbours (= neigh show)
  show fib stats                         tables, prefixes, memory, FIB version
  show flows [N]                         the N (20) tracked connections with the most
                                         packets, conntrack -L layout; [OFFLOAD]: in the
                                         flowtable, forwarded without a route lookup
  show flowtable stats                   per worker: connections, offloaded, hits; the
                                         offload/teardown/eviction counters, timeouts
  flush flows                            drop every tracked connection and offload
  capture start PORT FILE [rx|tx|both] [count N]
                                         write PORT's packets to FILE (pcapng; both ways
                                         unless told), until count N or capture stop
  capture stop | capture status          end it (and say what was written) | how it goes
  route show [table T] [PREFIX]          routes of a table (default main), iproute2 layout
  route get ADDR [from ADDR] [iif PORT] [tos N]
                                         the route as `ip route get` prints it (cache line:
                                         exception), rule, table, next hop, MAC, caches used
  route show cache | show exceptions     nexthop exceptions (PMTU, redirects), lifetimes
  route flush cache                      drop every exception, invalidate every cached dst
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
  nexthop replace id N ...               new definition; its routes follow at once
  nexthop del id N | nexthop show
  neigh show [dev PORT]                  neighbours and their states (ip neigh)
  neigh add|replace ADDR lladdr MAC dev PORT [nud permanent|noarp|reachable|stale]
  neigh del ADDR dev PORT | neigh flush [dev PORT]
  quit | exit                            stop forwarding, print final stats, exit
";

/// The neighbour tunables of the config.
pub fn neigh_params(s: &conf::Settings) -> NeighParams {
    NeighParams {
        base_reachable_time_ms: s.base_reachable_time_ms,
        delay_first_probe_time: s.delay_first_probe_time,
        retrans_time_ms: s.retrans_time_ms,
        ucast_solicit: s.ucast_solicit,
        mcast_solicit: s.mcast_solicit,
        gc_stale_time: s.gc_stale_time,
        gc_thresh1: s.gc_thresh1,
        gc_thresh2: s.gc_thresh2,
        gc_thresh3: s.gc_thresh3,
        unres_qlen: s.unres_qlen,
    }
}

/// The neighbour table of a config at start: its tunables, each port's own, and the
/// static neighbours (permanent); at most `hold_max` packets held in all.
pub fn neighbours<P>(cfg: &Config, hold_max: usize, now: Instant) -> Neighbours<P> {
    let s = &cfg.settings;
    let mut neigh = Neighbours::new(neigh_params(s), hold_max, now);
    neigh.per_iface = cfg
        .ports
        .iter()
        .map(|p| port_neigh_params(s, &p.neigh))
        .collect();
    let mut none = Vec::new();
    for nb in &cfg.neighbors {
        let i = cfg.port_index(&nb.port).expect("validated") as IfIndex;
        let mac = EthernetAddress(nb.mac.0);
        neigh.admin_set(i, nb.address, mac, Nud::Permanent, now, &mut none);
    }
    neigh
}

/// A port's neighbour tunables: its own where it has them, else the config's.
pub fn port_neigh_params(s: &conf::Settings, p: &conf::PortNeigh) -> NeighParams {
    let d = neigh_params(s);
    NeighParams {
        base_reachable_time_ms: p.base_reachable_time_ms.unwrap_or(d.base_reachable_time_ms),
        delay_first_probe_time: p.delay_first_probe_time.unwrap_or(d.delay_first_probe_time),
        retrans_time_ms: p.retrans_time_ms.unwrap_or(d.retrans_time_ms),
        ucast_solicit: p.ucast_solicit.unwrap_or(d.ucast_solicit),
        mcast_solicit: p.mcast_solicit.unwrap_or(d.mcast_solicit),
        gc_stale_time: p.gc_stale_time.unwrap_or(d.gc_stale_time),
        unres_qlen: p.unres_qlen.unwrap_or(d.unres_qlen),
        ..d
    }
}

/// Everything the commands read or change. Owned by the control core.
pub struct Control {
    pub routing: Routing,
    pub dp: Dataplane,
    /// Punted packets, neighbours, and what the control core sends.
    pub slow: SlowPath<Mbuf>,
    /// The control core's own counters (the last of `dp.stats`) and ICMP limits.
    pub ctx: LcoreCtx<'static>,
    last_tick: Instant,
    /// When expired exceptions were last reaped.
    last_reap: Instant,
    punted: Vec<(Mbuf, Punt)>,
    pub(crate) last_show: Vec<Option<LastShow>>,
    fwd_base: Vec<StatsSnapshot>,
    /// `capture start`'s session.
    pub captures: Captures,
    /// `start`/`stop`, `port start`/`port stop` (testpmd_cmd.rs).
    pub(crate) testpmd: crate::testpmd_cmd::FwdState,
}

impl Control {
    /// Takes over the data plane: the config's static neighbours become PERMANENT
    /// entries, the workers start once that is published (no genid moves under them at
    /// start), and each port announces its addresses (gratuitous ARP).
    pub fn new(cfg: Config, dp: Dataplane, router: Router) -> anyhow::Result<Control> {
        let n = dp.ports.len();
        let fwd_base = vec![StatsSnapshot::default(); dp.stats.len()];
        let testpmd = crate::testpmd_cmd::FwdState::new(&dp);
        let now = Instant::now();
        let s = &cfg.settings;
        // One counter block for the life of the process; leaked so the context can
        // borrow it for 'static.
        let stats: &'static LcoreStats =
            Box::leak(Box::new(dp.stats.last().expect("control stats").clone()));
        let hz = fastpath::dpdk::tsc_hz();
        let mut ctx = LcoreCtx::new(
            stats,
            RateLimiter::new(s.icmp_msgs_per_sec, s.icmp_msgs_burst, hz),
        );
        ctx.icmp_peers = PeerLimiter::new(s.icmp_ratelimit, s.icmp_ratemask, hz);
        let neigh = neighbours(&cfg, (s.mbufs / 4) as usize, now);
        let fnhe = Learner::new(FnheParams::new(&cfg, hz));
        let mut routing = Routing::new(cfg, router);
        routing.tsc_hz = hz;
        let mut c = Control {
            routing,
            dp,
            slow: SlowPath::new(neigh, fnhe),
            ctx,
            last_tick: now,
            last_reap: now,
            punted: Vec::with_capacity(MAX_BURST),
            last_show: vec![None; n],
            fwd_base,
            captures: Captures::default(),
            testpmd,
        };
        c.publish_learned();
        c.dp.launch()?;
        if !c.routing.cfg.settings.arp_notify {
            return Ok(c);
        }
        let snap = &c.routing.router.work;
        let mut io = DpIo {
            pool: &c.dp.pool,
            tx: &mut c.dp.tx,
        };
        for i in 0..snap.ifaces.len() {
            c.slow.announce(snap, &mut c.ctx, &mut io, i as IfIndex);
        }
        c.dp.tx.flush();
        Ok(c)
    }

    /// Publishes the neighbour table and the exceptions if they changed (one snapshot,
    /// one genid, for all of it).
    fn publish_learned(&mut self) {
        let mut changed = false;
        if let Some(view) = self.slow.neigh.view() {
            self.routing.router.work.neigh = view;
            changed = true;
        }
        if std::mem::take(&mut self.slow.fnhe.dirty) {
            self.routing.router.work.exceptions = self.slow.fnhe.exceptions.clone();
            changed = true;
        }
        if changed {
            self.routing.router.publish();
        }
    }

    /// The slow path's turn in the event loop: punted packets (up to [`PUNT_BUDGET`] a ring), the
    /// neighbour timers when due, what that sends, expired exceptions once a second, and a
    /// new snapshot if the neighbours or the exceptions changed. True when the budget ran
    /// out with packets still punted (the loop comes back without waiting).
    pub fn slow_poll(&mut self) -> bool {
        let _ = self.capture_drain(true);
        let now = Instant::now();
        self.ctx.now = rdtsc();
        let router = &self.routing.router;
        self.slow.fnhe.default_route = router
            .rib
            .best(TABLE_MAIN, Prefix::new(Ipv4Addr::UNSPECIFIED, 0))
            .map(|r| r.route);
        if now >= self.last_reap + EXCEPTION_REAP {
            self.last_reap = now;
            self.slow.fnhe.reap(self.ctx.now);
        }
        let snap = &router.work;
        let mut io = DpIo {
            pool: &self.dp.pool,
            tx: &mut self.dp.tx,
        };
        let mut more = false;
        for ring in &mut self.dp.punts {
            let mut budget = PUNT_BUDGET;
            while budget > 0 && ring.dequeue(&mut self.punted, MAX_BURST.min(budget)) > 0 {
                budget -= self.punted.len();
                for (m, p) in self.punted.drain(..) {
                    self.slow.handle(snap, &mut self.ctx, &mut io, m, p, now);
                }
            }
            more |= budget == 0;
        }
        if now >= self.last_tick + NEIGH_TICK {
            self.last_tick = now;
            self.slow.tick(snap, &mut self.ctx, &mut io, now);
        }
        self.dp.tx.flush();
        self.publish_learned();
        more
    }

    /// After the workers stopped: what is still punted or held is dropped (and counted).
    pub fn slow_shutdown(&mut self) {
        for ring in &mut self.dp.punts {
            while ring.dequeue(&mut self.punted, MAX_BURST) > 0 {
                for (_, p) in self.punted.drain(..) {
                    if p.uncounted() {
                        match p {
                            Punt::Arp { .. } => self.ctx.stats.drop(DropReason::ArpIgnored),
                            Punt::Resolve { .. } => self.ctx.stats.drop(DropReason::NoNeighbor),
                            Punt::Icmp { .. } => self.ctx.stats.inc(Stat::IcmpErrorsIn),
                        }
                    }
                }
            }
        }
        self.slow.shutdown(&mut self.ctx);
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
                    self.testpmd.rebase(i, &self.dp);
                    let _ = writeln!(out, "\n  NIC statistics for port {i} cleared");
                }
            }
            ["show", "fwd", "stats"] => {
                show::fwd_stats(&mut out, &self.fwd_stats(), &self.rx_queue_names())
            }
            ["show", "latency"] => show::latency(&mut out, &self.dp.stats),
            ["capture", rest @ ..] => out.push_str(&self.capture_cmd(rest)?),
            ["show", "flows"] => {
                let snap = &self.routing.router.work;
                flows_cmd::show_flows(&mut out, &self.dp, snap, flows_cmd::DEFAULT_SHOWN)?
            }
            ["show", "flows", n] => {
                let n = n.parse().map_err(|_| {
                    format!("show flows: expected a number of flows, got {}", quote(n))
                })?;
                flows_cmd::show_flows(&mut out, &self.dp, &self.routing.router.work, n)?
            }
            ["show", "flowtable", "stats"] => {
                let stats = self.fwd_stats();
                flows_cmd::flowtable_stats(&mut out, &self.dp, &self.routing.router.work, &stats)
            }
            ["flush", "flows"] => flows_cmd::flush(&mut out, &self.dp)?,
            ["route", "flush", "cache"] => {
                let n = self.slow.fnhe.flush();
                self.publish_learned();
                let _ = writeln!(
                    out,
                    "ok: flushed {n} exception(s); every cached dst is stale (genid {})",
                    self.routing.router.work.genid
                );
            }
            ["show", "neigh"] | ["neigh"] => return self.neigh(&["show"]),
            ["neigh", rest @ ..] => return self.neigh(rest),
            ["clear", "fwd", "stats"] => {
                self.fwd_base = self.dp.stats.iter().map(|s| s.snapshot()).collect();
                for s in &self.dp.stats {
                    s.latency.clear();
                }
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
                let n = &self.slow.neigh;
                let _ = writeln!(
                    out,
                    "neighbours: {} entries (gc_thresh3 {}), {} packets held (at most {})",
                    n.len(),
                    n.params.gc_thresh3,
                    n.held(),
                    n.hold_max
                );
                let _ = writeln!(out, "process: {}", show::memory_status());
            }
            _ => return crate::testpmd_cmd::dispatch(self, w),
        }
        Ok(Reply::ok(out))
    }

    fn neigh(&mut self, w: &[&str]) -> Result<Reply, String> {
        let mut actions = Vec::new();
        let snap = &self.routing.router.work;
        let r = crate::neigh_cmd::run(w, snap, &mut self.slow.neigh, Instant::now(), &mut actions);
        self.slow.queue(actions);
        let mut io = DpIo {
            pool: &self.dp.pool,
            tx: &mut self.dp.tx,
        };
        self.slow.run(snap, &mut self.ctx, &mut io, Instant::now());
        self.dp.tx.flush();
        self.publish_learned();
        r.map(Reply::ok)
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

    /// Per worker, its rx queues as `port:queue`.
    fn rx_queue_names(&self) -> Vec<(u32, Vec<String>)> {
        let ifaces = &self.routing.router.work.ifaces;
        self.dp
            .workers
            .iter()
            .map(|w| {
                let names =
                    w.rx.iter()
                        .map(|q| format!("{}:{}", ifaces[q.iface as usize].name, q.queue));
                (w.lcore, names.collect())
            })
            .collect()
    }

    pub(crate) fn ports(&self, which: &str) -> Result<Vec<usize>, String> {
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

    pub(crate) fn unknown(&self, w: &[&str]) -> String {
        let known = [
            "help", "show", "clear", "route", "rule", "nexthop", "neigh", "flush", "capture",
            "quit", "exit", "start", "stop", "port",
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
