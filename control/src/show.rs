//! Text output of the `show` commands, in testpmd's layout where testpmd has one.

use crate::dataplane::PortState;
use fastpath::dpdk::port::{self, PortStats};
use fastpath::drop::DropReason;
use fastpath::iface::Iface;
use fastpath::latency::{Latency, Summary};
use fastpath::stats::{LcoreStats, Stage, Stat, StatsSnapshot};
use std::fmt::Write;
use std::time::Instant;

const BORDER: &str = "########################";

/// testpmd's `show port info`.
pub fn port_info(out: &mut String, idx: usize, st: &PortState, iface: &Iface) {
    let id = st.info.port_id;
    let link = port::link(id);
    let _ = writeln!(
        out,
        "\n********************* Infos for port {idx:<2} *********************"
    );
    let _ = writeln!(out, "Name: {}", iface.name);
    let _ = writeln!(out, "MAC address: {}", iface.mac);
    let _ = writeln!(out, "Device name: {}", st.info.name);
    let _ = writeln!(out, "Driver name: {}", st.info.driver);
    let _ = writeln!(out, "DPDK port id: {id}");
    let _ = writeln!(out, "Connect to socket: {}", st.info.socket);
    let _ = writeln!(out, "Link status: {}", if link.up { "up" } else { "down" });
    let _ = writeln!(out, "Link speed: {}", speed(link.speed_mbps));
    let _ = writeln!(
        out,
        "Link duplex: {}",
        if link.full_duplex {
            "full-duplex"
        } else {
            "half-duplex"
        }
    );
    let _ = writeln!(out, "MTU: {}", iface.mtu);
    let _ = writeln!(
        out,
        "Promiscuous mode: {}",
        if port::promiscuous(id) {
            "enabled"
        } else {
            "disabled"
        }
    );
    let addrs: Vec<String> = iface
        .addrs
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix_len))
        .collect();
    let _ = writeln!(
        out,
        "IPv4 addresses: {}",
        if addrs.is_empty() {
            "none".into()
        } else {
            addrs.join(" ")
        }
    );
    let _ = writeln!(out, "Max possible RX queues: {}", st.info.max_rx_queues);
    let _ = writeln!(out, "Current number of RX queues: {}", st.rx_queues);
    let _ = writeln!(out, "Max possible TX queues: {}", st.info.max_tx_queues);
    let _ = writeln!(out, "Current number of TX queues: {}", st.tx_queues);
    let lcores: Vec<String> = st
        .rxq_lcores
        .iter()
        .enumerate()
        .map(|(q, l)| format!("{q}->{l}"))
        .collect();
    let _ = writeln!(out, "RX queue -> lcore: {}", lcores.join(" "));
    let _ = writeln!(out, "{}", rss_line(st));
}

/// How the port's rx queues are spread: RSS with our symmetric key, the device's own
/// spreading (af_packet and tap: the kernel's symmetric flow hash), or one queue.
fn rss_line(st: &PortState) -> String {
    let read = port::rss_conf(st.info.port_id, st.info.hash_key_size);
    if st.rx_queues <= 1 {
        return "RSS: off (one RX queue)".into();
    }
    if st.rss_hf == 0 {
        return format!(
            "RSS: not offered by {} (rss_hf 0x{:x}); the device spreads the {} queues itself",
            st.info.driver, st.info.rss_offloads, st.rx_queues
        );
    }
    let (hf, key) = read.unwrap_or((st.rss_hf, Vec::new()));
    let key = if key.is_empty() {
        "key not readable".to_owned()
    } else if key == port::rss::symmetric_key(key.len()) {
        format!("symmetric key ({} bytes)", key.len())
    } else {
        format!("key {} NOT symmetric", hex(&key))
    };
    format!(
        "RSS: on, {} queues, hash {}, {key}, RETA {} entries",
        st.rx_queues,
        port::rss::names(hf).join(" "),
        st.info.reta_size
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn speed(mbps: u32) -> String {
    match mbps {
        0 => "None".into(),
        u32::MAX => "Unknown".into(),
        m if m >= 1000 && m % 1000 == 0 => format!("{} Gbps", m / 1000),
        m => format!("{m} Mbps"),
    }
}

/// What the previous `show port stats` saw, for testpmd's "since last show" rates.
#[derive(Clone, Copy)]
pub struct LastShow {
    pub at: Instant,
    pub stats: PortStats,
}

/// testpmd's `show port stats`.
pub fn port_stats(out: &mut String, idx: usize, s: &PortStats, last: Option<&LastShow>) {
    let _ = writeln!(
        out,
        "\n  {BORDER} NIC statistics for port {idx:<2} {BORDER}"
    );
    let _ = writeln!(
        out,
        "  RX-packets: {:<10} RX-missed: {:<10} RX-bytes:  {}",
        s.ipackets, s.imissed, s.ibytes
    );
    let _ = writeln!(out, "  RX-errors: {}", s.ierrors);
    let _ = writeln!(out, "  RX-nombuf:  {:<10}", s.rx_nombuf);
    let _ = writeln!(
        out,
        "  TX-packets: {:<10} TX-errors: {:<10} TX-bytes:  {}",
        s.opackets, s.oerrors, s.obytes
    );
    let (rx_pps, rx_bps, tx_pps, tx_bps) = match last {
        Some(l) => {
            let dt = l.at.elapsed().as_secs_f64().max(1e-9);
            let rate = |now: u64, then: u64| (now.saturating_sub(then) as f64 / dt) as u64;
            (
                rate(s.ipackets, l.stats.ipackets),
                rate(s.ibytes, l.stats.ibytes) * 8,
                rate(s.opackets, l.stats.opackets),
                rate(s.obytes, l.stats.obytes) * 8,
            )
        }
        None => (0, 0, 0, 0),
    };
    let _ = writeln!(out, "\n  Throughput (since last show)");
    let _ = writeln!(out, "  Rx-pps: {rx_pps:>12}          Rx-bps: {rx_bps:>12}");
    let _ = writeln!(out, "  Tx-pps: {tx_pps:>12}          Tx-bps: {tx_bps:>12}");
    let _ = writeln!(out, "  {BORDER}############################{BORDER}");
}

/// `show fwd stats`: per-lcore summary, then totals and every non-zero drop reason.
/// `rx_queues` names each lcore's polled queues (`p0:1`), in its counters' order.
pub fn fwd_stats(
    out: &mut String,
    per_lcore: &[(u32, StatsSnapshot)],
    rx_queues: &[(u32, Vec<String>)],
) {
    let mut total = StatsSnapshot::default();
    let _ = writeln!(
        out,
        "\n  ---------------------- Forward statistics per lcore ----------------------"
    );
    for (lcore, s) in per_lcore {
        total = total.plus(s);
        let _ = writeln!(
            out,
            "  lcore {lcore:<3} RX-packets: {:<12} TX-packets: {:<12} forwarded: {:<12} dropped: {}",
            s.get(Stat::RxPackets),
            s.get(Stat::TxPackets),
            s.get(Stat::Forwarded),
            s.total_drops()
        );
        let cache = [
            Stat::DstHits,
            Stat::DstMisses,
            Stat::DstRebuilds,
            Stat::HintHits,
        ];
        if cache.iter().any(|&c| s.get(c) != 0) {
            let _ = writeln!(
                out,
                "            dst cache: hits {} misses {} rebuilds {}, route hints: {}",
                s.get(Stat::DstHits),
                s.get(Stat::DstMisses),
                s.get(Stat::DstRebuilds),
                s.get(Stat::HintHits)
            );
        }
        if let Some((_, names)) = rx_queues.iter().find(|(l, _)| l == lcore) {
            if names.len() > 1 {
                let q: Vec<String> = names
                    .iter()
                    .zip(&s.rx_queues)
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                let _ = writeln!(out, "            rx queues: {}", q.join(" "));
            }
        }
        if s.get(Stat::FlowNew) != 0 || s.get(Stat::FlowHits) != 0 {
            let _ = writeln!(
                out,
                "            flowtable: hits {} offloads {} new {} teardowns {} evictions {} full {}",
                s.get(Stat::FlowHits),
                s.get(Stat::FlowOffloads),
                s.get(Stat::FlowNew),
                s.get(Stat::FlowTeardownGenid)
                    + s.get(Stat::FlowTeardownFin)
                    + s.get(Stat::FlowTeardownRst)
                    + s.get(Stat::FlowTeardownTimeout)
                    + s.get(Stat::FlowTeardownFlush),
                s.get(Stat::FlowEvictions),
                s.get(Stat::FlowTableFull)
            );
        }
    }
    let _ = writeln!(out, "  Totals:");
    for &st in Stat::ALL {
        let v = total.get(st);
        if v != 0 || matches!(st, Stat::RxPackets | Stat::TxPackets | Stat::Forwarded) {
            let _ = writeln!(out, "    {}: {v}", st.name());
        }
    }
    let stages: Option<Vec<u64>> = Stage::ALL
        .iter()
        .map(|&s| total.cycles_per_packet(s))
        .collect();
    if let Some(c) = stages {
        let total_c: u64 = c.iter().sum();
        let io = c[Stage::Rx as usize] + c[Stage::Tx as usize];
        let parts: Vec<String> = Stage::ALL
            .iter()
            .zip(&c)
            .map(|(s, v)| format!("{}={v}", s.name()))
            .collect();
        let _ = writeln!(
            out,
            "  cycles/packet: {} total={total_c} excl-io={}",
            parts.join(" "),
            total_c - io
        );
    }
    let _ = writeln!(out, "  Drops:");
    for &r in DropReason::ALL {
        let v = total.dropped(r);
        if v != 0 {
            let _ = writeln!(out, "    {}: {v}", r.name());
        }
    }
    let _ = writeln!(
        out,
        "  --------------------------------------------------------------------------"
    );
}

/// VmRSS and VmHWM (peak) of this process, from /proc.
/// `show latency`: per worker lcore and over all of them, the percentiles of the time
/// packets spent in the worker since the last `clear fwd stats` ([`fastpath::latency`]).
pub fn latency(out: &mut String, stats: &[std::sync::Arc<LcoreStats>]) {
    let _ = writeln!(
        out,
        "Latency in the worker, rx burst to tx, per packet, in microseconds (since the last clear fwd stats):"
    );
    let _ = writeln!(
        out,
        "  {:<8} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "lcore", "packets", "p50", "p90", "p99", "p99.9", "max"
    );
    let row = |out: &mut String, name: &str, s: Option<Summary>| {
        let us = |ns: u64| format!("{:.2}", ns as f64 / 1000.0);
        let _ = match s {
            Some(s) => writeln!(
                out,
                "  {:<8} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9}",
                name,
                s.samples,
                us(s.p50),
                us(s.p90),
                us(s.p99),
                us(s.p999),
                us(s.max)
            ),
            None => writeln!(out, "  {name:<8} {:>12}", 0),
        };
    };
    // The control core's entry (the last) forwards nothing.
    let workers = &stats[..stats.len().saturating_sub(1)];
    for s in workers {
        row(out, &s.lcore.to_string(), Latency::summary([&s.latency]));
    }
    if workers.len() > 1 {
        row(
            out,
            "all",
            Latency::summary(workers.iter().map(|s| &s.latency)),
        );
    }
}

pub fn memory_status() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    format!("RSS {} (peak {})", get("VmRSS:"), get("VmHWM:"))
}
