//! The crate reads top-down along a packet's path (see the map in `src/lib.rs`): worker ->
//! pipeline -> arp / ip_input -> ip_forward / local -> icmp -> output -> route, over what
//! every stage shares (lcore, packet, stats, drop) and the state they read (snapshot, fib,
//! nexthop, neigh, iface). A module may use only modules below it; this test reads the
//! sources and fails on any `crate::` path (outside comments and `#[cfg(test)]` code)
//! that points at a module of the same rank or above.

use std::collections::BTreeMap;
use std::path::Path;

/// Rank of each module; a module may only use strictly lower ones. `dpdk` is split by
/// file: `dpdk::mbuf` implements `PacketBuf` and `dpdk::lpm` wraps `rte_lpm` for the FIB
/// benchmark, above `packet` and `fib`; the rest of `dpdk` is below everything but `wire`.
const RANKS: &[(&str, u32)] = &[
    ("worker", 100),
    ("pipeline", 90),
    ("arp", 80),
    ("ip_input", 80),
    ("ip_forward", 70),
    ("local", 70),
    ("icmp", 60),
    ("output", 50),
    ("lcore", 45),
    ("flow_offload", 85),
    ("dst_cache", 42),
    ("flowtable", 41),
    ("route", 40),
    ("snapshot", 30),
    ("dpdk::lpm", 30),
    ("fib", 20),
    ("fnhe", 16),
    ("conntrack", 14),
    ("nexthop", 15),
    ("neigh", 15),
    ("icmp_limit", 15),
    ("capture", 13),
    ("stats", 12),
    ("latency", 11),
    ("dpdk::pcapng", 11),
    ("dpdk::ring", 10),
    ("dpdk::mbuf", 9),
    ("packet", 8),
    ("punt", 7),
    ("iface", 5),
    ("rcu", 5),
    ("fwd_gate", 5),
    ("dpdk", 3),
    ("drop", 2),
    ("wire", 1),
];

/// The module a `crate::` path names: its first segment, or two for `dpdk`'s files.
fn target(path: &str) -> String {
    let mut seg = path.split("::");
    let first = seg.next().unwrap_or_default();
    match (first, seg.next()) {
        ("dpdk", Some(file)) if rank(&format!("dpdk::{file}")).is_some() => {
            format!("dpdk::{file}")
        }
        _ => first.to_string(),
    }
}

fn rank(module: &str) -> Option<u32> {
    RANKS.iter().find(|(m, _)| *m == module).map(|&(_, r)| r)
}

/// The code of a source file: comments and everything from `#[cfg(test)]` on dropped
/// (test modules sit at the end of a file here).
fn code(src: &str) -> String {
    let end = src.find("#[cfg(test)]").unwrap_or(src.len());
    src[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` path in `code`, as "a::b" (at most two segments).
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end].split("::").take(2).collect();
        out.push(path.join("::"));
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a source file belongs to, in [`RANKS`]' names.
fn module_of(src_dir: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src_dir).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [d, f, ..] if d == "dpdk" && rank(&format!("dpdk::{f}")).is_some() => {
            format!("dpdk::{f}")
        }
        [first, ..] => first.clone(),
        [] => unreachable!(),
    }
}

#[test]
fn no_module_uses_one_above_it() {
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src_dir, &mut files);
    files.sort();
    let mut bad = BTreeMap::new();
    let mut unranked = Vec::new();
    for f in &files {
        let me = module_of(&src_dir, f);
        if me == "lib" {
            continue;
        }
        let Some(my_rank) = rank(&me) else {
            unranked.push(me);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for p in crate_paths(&code(&text)) {
            let t = target(&p);
            if t == me || (me.starts_with("dpdk") && t == "dpdk") && my_rank > rank("dpdk").unwrap()
            {
                continue;
            }
            match rank(&t) {
                Some(r) if r < my_rank => {}
                _ => {
                    let rel = f.strip_prefix(&src_dir).unwrap().display();
                    bad.entry(format!("src/{rel} ({me})"))
                        .or_insert_with(Vec::new)
                        .push(t);
                }
            }
        }
    }
    assert!(
        unranked.is_empty(),
        "modules missing from RANKS: {unranked:?}"
    );
    assert!(
        bad.is_empty(),
        "modules using a module of the same rank or above: {bad:#?}"
    );
}
