//! The flowtable commands: `show flows [N]` (in `conntrack -L`'s layout), `show
//! flowtable stats`, `flush flows`. Each worker owns its connections; these ask it
//! through its [`FlowCtl`] and wait for the answer.

use crate::dataplane::Dataplane;
use fastpath::conntrack::{TCP, UDP};
use fastpath::flowtable::{FlowCtl, FlowInfo, FlowOp, FlowTable, Tuple};
use fastpath::snapshot::Snapshot;
use fastpath::stats::{Stat, StatsSnapshot};
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// How long a worker has to answer.
const ANSWER: Duration = Duration::from_millis(500);
/// Flows `show flows` prints by default.
pub const DEFAULT_SHOWN: usize = 20;

fn ask(ctl: &FlowCtl, op: FlowOp, lcore: u32) -> Result<(), String> {
    if ctl.request(op, ANSWER) {
        Ok(())
    } else {
        Err(format!("lcore {lcore} did not answer within {ANSWER:?}"))
    }
}

/// `show flows [N]`: the `n` connections with the most packets, over all workers.
pub fn show_flows(
    out: &mut String,
    dp: &Dataplane,
    snap: &Snapshot,
    n: usize,
) -> Result<(), String> {
    if !snap.settings.flowtable {
        out.push_str("flowtable off (settings.flowtable: false)\n");
        return Ok(());
    }
    let mut all: Vec<(u32, FlowInfo)> = Vec::new();
    for (w, ctl) in dp.workers.iter().zip(&dp.flows) {
        ask(ctl, FlowOp::Dump, w.lcore)?;
        all.extend(ctl.take_dump().into_iter().map(|f| (w.lcore, f)));
    }
    let offloaded = all.iter().filter(|(_, f)| f.offloaded).count();
    let _ = writeln!(
        out,
        "{} connection(s) tracked, {offloaded} offloaded; {} shown, most packets first",
        all.len(),
        n.min(all.len())
    );
    all.sort_by_key(|(_, f)| std::cmp::Reverse(f.packets[0] + f.packets[1]));
    let name = |i: u16| {
        snap.ifaces
            .get(i as usize)
            .map_or_else(|| i.to_string(), |f| f.name.clone())
    };
    for (lcore, f) in all.iter().take(n) {
        let side = |t: &Tuple, d: usize| {
            format!(
                "src={} dst={} sport={} dport={} iif={} packets={} bytes={}",
                Ipv4Addr::from(t.saddr),
                Ipv4Addr::from(t.daddr),
                t.sport,
                t.dport,
                name(t.iif),
                f.packets[d],
                f.bytes[d]
            )
        };
        let proto = match f.tuple[0].proto {
            TCP => "tcp",
            UDP => "udp",
            _ => "?",
        };
        let _ = writeln!(
            out,
            "{proto:<8}{:<3} {} {}{} {}{} lcore={lcore} age={}s idle={}s",
            f.tuple[0].proto,
            f.state.name().to_uppercase(),
            side(&f.tuple[0], 0),
            if f.replied { "" } else { " [UNREPLIED]" },
            side(&f.tuple[1], 1),
            if f.offloaded { " [OFFLOAD]" } else { "" },
            f.age_secs,
            f.idle_secs
        );
    }
    Ok(())
}

/// The flowtable's counters.
const COUNTERS: [Stat; 11] = [
    Stat::FlowNew,
    Stat::FlowOffloads,
    Stat::FlowHits,
    Stat::FlowTeardownGenid,
    Stat::FlowTeardownFin,
    Stat::FlowTeardownRst,
    Stat::FlowTeardownTimeout,
    Stat::FlowTeardownFlush,
    Stat::FlowExpired,
    Stat::FlowEvictions,
    Stat::FlowTableFull,
];

/// `show flowtable stats`: settings, per-worker occupancy and counters since the last
/// `clear fwd stats`, then totals.
pub fn flowtable_stats(
    out: &mut String,
    dp: &Dataplane,
    snap: &Snapshot,
    per_lcore: &[(u32, StatsSnapshot)],
) {
    let s = &snap.settings;
    let t = &s.conntrack;
    let _ = writeln!(
        out,
        "flowtable: {}, nf_conntrack_max {} per worker, timeouts: flowtable tcp {}s udp {}s, \
         tcp syn_sent {}s syn_recv {}s established {}s fin_wait {}s close {}s, udp {}s stream {}s",
        if s.flowtable { "on" } else { "off" },
        s.nf_conntrack_max,
        t.flowtable_tcp,
        t.flowtable_udp,
        t.tcp_syn_sent,
        t.tcp_syn_recv,
        t.tcp_established,
        t.tcp_fin_wait,
        t.tcp_close,
        t.udp,
        t.udp_stream
    );
    let mut total = StatsSnapshot::default();
    let cap = if s.flowtable { s.nf_conntrack_max } else { 0 };
    let mib = FlowTable::memory_for(cap) as f64 / (1 << 20) as f64;
    for (w, ctl) in dp.workers.iter().zip(&dp.flows) {
        let Some((_, st)) = per_lcore.iter().find(|(l, _)| *l == w.lcore) else {
            continue;
        };
        total = total.plus(st);
        let _ = writeln!(
            out,
            "  lcore {:<3} connections: {} of {cap} ({mib:.1} MiB), offloaded: {}, hits: {}",
            w.lcore,
            ctl.flows.load(Relaxed),
            ctl.offloaded.load(Relaxed),
            st.get(Stat::FlowHits)
        );
    }
    let _ = writeln!(out, "  Totals:");
    for c in COUNTERS {
        let _ = writeln!(out, "    {}: {}", c.name(), total.get(c));
    }
}

/// `flush flows`: every worker drops all its connections.
pub fn flush(out: &mut String, dp: &Dataplane) -> Result<(), String> {
    let mut n = 0;
    for (w, ctl) in dp.workers.iter().zip(&dp.flows) {
        n += ctl.flows.load(Relaxed);
        ask(ctl, FlowOp::Flush, w.lcore)?;
    }
    let _ = writeln!(out, "ok: flushed {n} connection(s)");
    Ok(())
}
