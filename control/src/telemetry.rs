//! fastpath's DPDK telemetry commands, beside DPDK's own (`/ethdev/stats,0`, ...):
//! `dpdk-telemetry.py` (or any client of the telemetry socket,
//! `/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2`) runs them on a live instance. Each
//! answers the families of one [`Group`] of [`crate::metrics`], asked of the control core
//! like a scrape: a family without labels is a number, one with labels a dictionary
//! keyed by its label values (`lcore`, `port`, `reason`, `state`, joined by `_`; a
//! quantile as `p50` ... `p999`, `max`: DPDK takes only `[A-Za-z0-9_/]` in names), summed
//! over lcores for `/fastpath/stats` and `/fastpath/drops`. Latency is in nanoseconds.
//! Telemetry is on unless EAL is given `--no-telemetry`.

use crate::ctl::{ask_metrics, Request};
use crate::metrics::{Family, Group, Kind};
use fastpath::dpdk::telemetry::{self, Value};
use std::collections::BTreeMap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

/// The commands: name, group, help.
pub const COMMANDS: &[(&str, Group, &str)] = &[
    (
        "/fastpath/stats",
        Group::Stats,
        "Forwarding counters, totals over the lcores and per lcore. Takes no parameters",
    ),
    (
        "/fastpath/drops",
        Group::Drops,
        "Drops by reason, totals and per lcore. Takes no parameters",
    ),
    (
        "/fastpath/ports",
        Group::Ports,
        "Per port NIC counters and link. Takes no parameters",
    ),
    (
        "/fastpath/fib",
        Group::Fib,
        "FIB prefixes, tables, memory, next hops, genid. Takes no parameters",
    ),
    (
        "/fastpath/neigh",
        Group::Neigh,
        "Neighbours by state, held packets. Takes no parameters",
    ),
    (
        "/fastpath/flows",
        Group::Flows,
        "Tracked and offloaded connections per worker. Takes no parameters",
    ),
    (
        "/fastpath/latency",
        Group::Latency,
        "Latency percentiles per worker, ns. Takes no parameters",
    ),
    (
        "/fastpath/memory",
        Group::Memory,
        "Mbufs and process memory. Takes no parameters",
    ),
];

/// Registers every command; each asks the control core through `tx`.
pub fn register(tx: Sender<Request>) -> Result<(), String> {
    let tx = Arc::new(Mutex::new(tx));
    for &(cmd, group, help) in COMMANDS {
        let tx = tx.clone();
        let h: telemetry::Handler = Arc::new(move |_params: &str| {
            let tx = tx.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match ask_metrics(&tx, TIMEOUT) {
                Some(f) => dict(&f, group),
                None => vec![(
                    "error".into(),
                    Value::Str("control core not answering".into()),
                )],
            }
        });
        telemetry::register(cmd, help, h)?;
    }
    Ok(())
}

/// The answer of a group's command.
pub fn dict(families: &[Family], group: Group) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let totals = matches!(group, Group::Stats | Group::Drops);
    let mut per_lcore: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for f in families.iter().filter(|f| f.group == group) {
        let name = f.name.strip_suffix("_total").unwrap_or(&f.name);
        // Latency in ns here (Prometheus has it in seconds).
        let name = &name.replace("_seconds", "_ns");
        let scale = if f.kind == Kind::Summary { 1e9 } else { 1.0 };
        if totals {
            // Totals keyed by the labels other than lcore; per lcore in "lcore_N".
            let mut sums: BTreeMap<String, u64> = BTreeMap::new();
            for s in &f.samples {
                let key = key(name, s.labels.iter().filter(|(k, _)| *k != "lcore"));
                *sums.entry(key.clone()).or_default() += s.value as u64;
                if let Some((_, l)) = s.labels.iter().find(|(k, _)| *k == "lcore") {
                    if s.value != 0.0 {
                        per_lcore
                            .entry(format!("lcore_{l}"))
                            .or_default()
                            .push((key, Value::U64(s.value as u64)));
                    }
                }
            }
            out.extend(sums.into_iter().map(|(k, v)| (k, Value::U64(v))));
            continue;
        }
        match f.samples.as_slice() {
            [s] if s.labels.is_empty() => out.push((name.to_owned(), Value::U64(s.value as u64))),
            samples => {
                let inner = samples
                    .iter()
                    .map(|s| {
                        let k = s.labels.iter().map(|(l, v)| match (*l, v.as_str()) {
                            ("quantile", q) => match q {
                                "0.5" => "p50",
                                "0.9" => "p90",
                                "0.99" => "p99",
                                "0.999" => "p999",
                                _ => "max",
                            }
                            .to_owned(),
                            (_, v) => v.to_owned(),
                        });
                        let k = format!("{}{}", k.collect::<Vec<_>>().join("_"), s.suffix);
                        let scale = if s.suffix == "_count" { 1.0 } else { scale };
                        (k, Value::U64((s.value * scale).round() as u64))
                    })
                    .collect();
                out.push((name.to_owned(), Value::Dict(inner)));
            }
        }
    }
    out.extend(per_lcore.into_iter().map(|(k, v)| (k, Value::Dict(v))));
    out
}

/// `name` alone, or `name` and the label values: `drops` + reason -> `ttl_exceeded`.
fn key<'a>(name: &str, labels: impl Iterator<Item = &'a (&'static str, String)>) -> String {
    let v: Vec<&str> = labels.map(|(_, v)| v.as_str()).collect();
    if v.is_empty() {
        name.to_owned()
    } else {
        v.join("_")
    }
}
