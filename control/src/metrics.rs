//! What fastpath exports for monitoring, built on the control core from its counters and
//! state: one list of metric families, which the Prometheus endpoint ([`crate::http`])
//! renders as Prometheus text and DPDK telemetry ([`crate::telemetry`]) as dictionaries.
//!
//! Names follow Prometheus' conventions: `fastpath_` prefix, `_total` on counters, base
//! units (`_bytes`, `_seconds`). Counters count since start (`clear` commands do not
//! reset them, except `clear port stats`, which resets the NIC's own counters: a reset
//! Prometheus handles as a restart). Per-lcore counters are labelled `lcore`, ports
//! `port` (the configured name), drops `reason` (the names of `show fwd stats`).

use crate::commands::Control;
use fastpath::dpdk::port;
use fastpath::drop::DropReason;
use fastpath::latency::Latency;
use fastpath::stats::Stat;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Which telemetry command a family belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Stats,
    Drops,
    Ports,
    Fib,
    Neigh,
    Flows,
    Latency,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Summary,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        }
    }
}

/// One sample: its labels (name, value) and value. A summary's samples carry a
/// `quantile` label, or a name suffix (`_sum`, `_count`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family: `name` without the `fastpath_` prefix (counters end in `_total`).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub group: Group,
    pub samples: Vec<Sample>,
}

impl Family {
    fn new(group: Group, kind: Kind, name: impl Into<String>, help: impl Into<String>) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            group,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) -> &mut Self {
        self.samples.push(Sample {
            suffix: "",
            labels,
            value,
        });
        self
    }

    fn one(mut self, value: f64) -> Self {
        self.add(Vec::new(), value);
        self
    }
}

/// The counter name of an event: `forwarded` -> `forwarded_total`; packet counters
/// named `*_packets` keep their name (`rx_packets_total`).
fn counter_name(name: &str) -> String {
    format!("{name}_total")
}

impl Control {
    /// Every metric family, as of now.
    pub fn metrics(&self) -> Vec<Family> {
        let mut out = Vec::new();
        let lcore = |l: u32| vec![("lcore", l.to_string())];
        let snaps: Vec<_> = self
            .dp
            .stats
            .iter()
            .map(|s| (s.lcore, s.snapshot()))
            .collect();
        for &s in Stat::ALL {
            let help = match s.doc() {
                "" => format!("{} (show fwd stats)", s.name()),
                doc => doc.to_owned(),
            };
            let mut f = Family::new(Group::Stats, Kind::Counter, counter_name(s.name()), help);
            for (l, snap) in &snaps {
                f.add(lcore(*l), snap.get(s) as f64);
            }
            out.push(f);
        }
        let mut drops = Family::new(
            Group::Drops,
            Kind::Counter,
            "drops_total",
            "Packets dropped, by lcore and reason",
        );
        for (l, snap) in &snaps {
            for &r in DropReason::ALL {
                let mut labels = lcore(*l);
                labels.push(("reason", r.name().to_owned()));
                drops.add(labels, snap.dropped(r) as f64);
            }
        }
        out.push(drops);
        self.port_metrics(&mut out);
        let snap = &self.routing.router.work;
        out.push(
            Family::new(
                Group::Fib,
                Kind::Gauge,
                "fib_prefixes",
                "Prefixes in the FIB",
            )
            .one(snap.fib.len() as f64),
        );
        out.push(
            Family::new(
                Group::Fib,
                Kind::Gauge,
                "fib_tables",
                "Routing tables in the FIB",
            )
            .one(snap.fib.table_ids().count() as f64),
        );
        out.push(
            Family::new(
                Group::Fib,
                Kind::Gauge,
                "fib_memory_bytes",
                "Memory of the FIB",
            )
            .one(snap.fib.memory_bytes() as f64),
        );
        out.push(
            Family::new(Group::Fib, Kind::Gauge, "nexthops", "Next hops in use")
                .one(snap.nexthops.len() as f64),
        );
        out.push(
            Family::new(
                Group::Fib,
                Kind::Gauge,
                "genid",
                "Routing generation id (moves on every change that invalidates cached decisions)",
            )
            .one(snap.genid as f64),
        );
        let mut neigh = Family::new(
            Group::Neigh,
            Kind::Gauge,
            "neighbours",
            "Neighbour (ARP) entries, by state",
        );
        let entries = self.slow.neigh.entries();
        for state in crate::neigh::Nud::ALL {
            let n = entries.iter().filter(|e| e.state == *state).count();
            neigh.add(vec![("state", state.name().to_lowercase())], n as f64);
        }
        out.push(neigh);
        out.push(
            Family::new(
                Group::Neigh,
                Kind::Gauge,
                "neighbour_held_packets",
                "Packets waiting for a neighbour to resolve",
            )
            .one(self.slow.neigh.held() as f64),
        );
        let mut flows = Family::new(
            Group::Flows,
            Kind::Gauge,
            "flows",
            "Connections tracked, per worker",
        );
        let mut offloaded = Family::new(
            Group::Flows,
            Kind::Gauge,
            "flows_offloaded",
            "Connections in the flowtable, per worker",
        );
        for (w, c) in self.dp.workers.iter().zip(&self.dp.flows) {
            flows.add(lcore(w.lcore), c.flows.load(Ordering::Relaxed) as f64);
            offloaded.add(lcore(w.lcore), c.offloaded.load(Ordering::Relaxed) as f64);
        }
        out.push(flows);
        out.push(offloaded);
        let mut lat = Family::new(
            Group::Latency,
            Kind::Summary,
            "latency_seconds",
            "Time packets spend in the worker, rx burst to tx (since the last clear fwd stats)",
        );
        for s in &self.dp.stats[..self.dp.workers.len()] {
            let Some(sum) = Latency::summary([&s.latency]) else {
                continue;
            };
            for (q, v) in [
                ("0.5", sum.p50),
                ("0.9", sum.p90),
                ("0.99", sum.p99),
                ("0.999", sum.p999),
                ("1", sum.max),
            ] {
                let mut labels = lcore(s.lcore);
                labels.push(("quantile", q.to_owned()));
                lat.add(labels, v as f64 / 1e9);
            }
            lat.samples.push(Sample {
                suffix: "_sum",
                labels: lcore(s.lcore),
                value: sum.mean_ns * sum.samples as f64 / 1e9,
            });
            lat.samples.push(Sample {
                suffix: "_count",
                labels: lcore(s.lcore),
                value: sum.samples as f64,
            });
        }
        out.push(lat);
        out.push(
            Family::new(
                Group::Memory,
                Kind::Gauge,
                "mbufs",
                "Mbufs in the packet pool",
            )
            .one(self.dp.pool.size() as f64),
        );
        out.push(
            Family::new(
                Group::Memory,
                Kind::Gauge,
                "mbufs_in_use",
                "Mbufs taken from the pool (rings, caches, in flight)",
            )
            .one(self.dp.pool.in_use() as f64),
        );
        out.push(
            Family::new(
                Group::Memory,
                Kind::Gauge,
                "resident_memory_bytes",
                "Resident set size of the process",
            )
            .one(resident_bytes() as f64),
        );
        out
    }

    fn port_metrics(&self, out: &mut Vec<Family>) {
        let ifaces = &self.routing.router.work.ifaces;
        let stats: Vec<_> = self
            .dp
            .ports
            .iter()
            .map(|p| port::stats(p.info.port_id))
            .collect();
        type Get = fn(&port::PortStats) -> u64;
        let counters: [(&str, &str, Get); 8] = [
            ("port_rx_packets_total", "Packets the NIC received", |s| {
                s.ipackets
            }),
            ("port_tx_packets_total", "Packets the NIC sent", |s| {
                s.opackets
            }),
            ("port_rx_bytes_total", "Bytes the NIC received", |s| {
                s.ibytes
            }),
            ("port_tx_bytes_total", "Bytes the NIC sent", |s| s.obytes),
            (
                "port_rx_missed_total",
                "Packets the NIC dropped: no room in the rx queue",
                |s| s.imissed,
            ),
            ("port_rx_errors_total", "Erroneous packets received", |s| {
                s.ierrors
            }),
            (
                "port_tx_errors_total",
                "Packets the NIC failed to send",
                |s| s.oerrors,
            ),
            (
                "port_rx_nombuf_total",
                "Receive failures for want of an mbuf",
                |s| s.rx_nombuf,
            ),
        ];
        for (name, help, get) in counters {
            let mut f = Family::new(Group::Ports, Kind::Counter, name, help);
            for (i, s) in stats.iter().enumerate() {
                f.add(vec![("port", ifaces[i].name.clone())], get(s) as f64);
            }
            out.push(f);
        }
        let mut up = Family::new(
            Group::Ports,
            Kind::Gauge,
            "port_link_up",
            "1 if the port's link is up",
        );
        for (i, p) in self.dp.ports.iter().enumerate() {
            let l = port::link(p.info.port_id);
            up.add(
                vec![("port", ifaces[i].name.clone())],
                u8::from(l.up) as f64,
            );
        }
        out.push(up);
    }
}

fn resident_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Prometheus' text exposition format (version 0.0.4).
pub fn prometheus_text(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP fastpath_{} {}", f.name, escape_help(&f.help));
        let _ = writeln!(out, "# TYPE fastpath_{} {}", f.name, f.kind.name());
        for s in &f.samples {
            let _ = write!(out, "fastpath_{}{}", f.name, s.suffix);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(s.value));
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let mut f = Family::new(
            Group::Drops,
            Kind::Counter,
            "drops_total",
            "Drops\nby reason",
        );
        f.add(vec![("lcore", "1".into()), ("reason", "a\"b".into())], 3.0);
        let g = Family::new(Group::Latency, Kind::Gauge, "x_seconds", "x").one(0.25);
        assert_eq!(
            prometheus_text(&[f, g]),
            "# HELP fastpath_drops_total Drops\\nby reason\n\
             # TYPE fastpath_drops_total counter\n\
             fastpath_drops_total{lcore=\"1\",reason=\"a\\\"b\"} 3\n\
             # HELP fastpath_x_seconds x\n\
             # TYPE fastpath_x_seconds gauge\n\
             fastpath_x_seconds 0.25\n"
        );
    }
}
