//! The LC-trie against DPDK's `rte_lpm` on the full real table (998,042 prefixes):
//! 10 million addresses, half uniformly random, half inside random prefixes, zero
//! mismatches allowed. `rte_lpm` is the oracle (not `rte_fib`: DPDK 22.11's dir24_8 was
//! seen returning wrong next hops for some insertion orders).
//!
//! EAL can be initialised once per process, hence this file's own test binary with one
//! test. Building `rte_lpm` from the full table takes about a minute (its rule table is a
//! linear array per prefix length: 52-66 s measured on the development machine, 178 s
//! elsewhere); it runs with every `cargo test`, so CI checks the FIB against rte_lpm on each
//! change. `cargo bench -p fastpath --bench fib` runs the same cross-check on 33 million
//! addresses. Needs root (EAL).
//!
//! `cargo test -p fastpath --release --test fib_crosscheck`

#[path = "../src/fib/lctrie/testdata.rs"]
mod testdata;

use fastpath::dpdk::{eal, lpm::Lpm};
use fastpath::fib::lctrie::LcTrie;
use std::net::Ipv4Addr;
use std::time::Instant;

#[test]
fn fib_lctrie_matches_rte_lpm_on_full_table() {
    let routes = testdata::load_rv2().unwrap_or_else(|e| panic!("the real table is needed: {e}"));
    let args: Vec<String> = [
        "x",
        "--no-huge",
        "-m",
        "1024",
        "--no-pci",
        "--no-shconf",
        "-l",
        "0",
        "--log-level=*:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    eal::init(&args).expect("EAL init");

    let t0 = Instant::now();
    let mut lpm = Lpm::new("crosscheck", 1_100_000, 1 << 13).expect("rte_lpm_create");
    for &(a, l, v) in &routes {
        lpm.add(a, l, v)
            .unwrap_or_else(|e| panic!("{}/{l}: {e}", Ipv4Addr::from(a)));
    }
    eprintln!(
        "rte_lpm: {} prefixes in {:?} ({} tbl8 groups)",
        routes.len(),
        t0.elapsed(),
        lpm.tbl8_groups_used()
    );
    let t0 = Instant::now();
    let trie = LcTrie::from_routes(&routes);
    eprintln!("lctrie: {} prefixes in {:?}", trie.len(), t0.elapsed());

    let addrs = testdata::mixed_addresses(&routes, 10_000_000, 0xc405_5c4e);
    let (mut want, mut got) = (vec![0u32; 64], vec![0u32; 64]);
    let mut mismatches = 0usize;
    for burst in addrs.chunks(64) {
        lpm.lookup_bulk(burst, &mut want);
        trie.lookup_bulk(burst, &mut got);
        for (i, &a) in burst.iter().enumerate() {
            if want[i] != got[i] {
                if mismatches < 10 {
                    eprintln!(
                        "{}: rte_lpm {:#x}, lctrie {:#x}",
                        Ipv4Addr::from(a),
                        want[i],
                        got[i]
                    );
                }
                mismatches += 1;
            }
        }
    }
    eprintln!(
        "crosscheck rte_lpm: {} addresses, {mismatches} mismatches",
        addrs.len()
    );
    assert_eq!(mismatches, 0);
}
