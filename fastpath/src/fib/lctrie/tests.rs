//! Tests of the LC-trie against a naive longest-prefix-match oracle: cases, property tests
//! under random insert/delete sequences, and the real 998k-prefix table.

use super::testdata::{self, Oracle, Rng};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The naive oracle: every prefix in a map, probed at every length.
#[derive(Clone, Default)]
struct Naive(BTreeMap<(u32, u8), u32>);

impl Naive {
    fn apply(&mut self, c: &Change) {
        match *c {
            Change::Insert { addr, len, value } if value != NO_ROUTE => {
                self.0.insert((addr & mask(len), len), value);
            }
            Change::Insert { addr, len, .. } | Change::Remove { addr, len } => {
                self.0.remove(&(addr & mask(len), len));
            }
        }
    }

    fn lookup(&self, a: u32) -> u32 {
        (0..=32u8)
            .rev()
            .find_map(|l| self.0.get(&(a & mask(l), l)).copied())
            .unwrap_or(NO_ROUTE)
    }

    fn routes(&self) -> Vec<(u32, u8, u32)> {
        self.0.iter().map(|(&(a, l), &v)| (a, l, v)).collect()
    }
}

fn ins(s: &str, value: u32) -> Change {
    let (addr, len) = parse(s);
    Change::Insert { addr, len, value }
}

fn del(s: &str) -> Change {
    let (addr, len) = parse(s);
    Change::Remove { addr, len }
}

fn parse(s: &str) -> (u32, u8) {
    let (a, l) = s.split_once('/').unwrap();
    (
        u32::from(a.parse::<std::net::Ipv4Addr>().unwrap()),
        l.parse().unwrap(),
    )
}

fn ip(s: &str) -> u32 {
    u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
}

/// Addresses worth probing around a prefix: its first and last address and their
/// neighbours outside it.
fn edges(addr: u32, len: u8) -> [u32; 4] {
    let last = addr | !mask(len);
    [addr, last, addr.wrapping_sub(1), last.wrapping_add(1)]
}

/// Checks `t` against `n` on the edges of every prefix of `n` and of `extra`, plus `probes`,
/// one by one and in bulk; also `get` and `len`.
fn check(t: &LcTrie, n: &Naive, extra: &[(u32, u8)], probes: &[u32]) -> Result<(), TestCaseError> {
    let mut addrs: Vec<u32> = probes.to_vec();
    for &(a, l) in n.0.keys().chain(extra) {
        addrs.extend(edges(a, l));
    }
    let mut bulk = vec![0; addrs.len()];
    t.lookup_bulk(&addrs, &mut bulk);
    for (&a, &b) in addrs.iter().zip(&bulk) {
        let want = n.lookup(a);
        prop_assert_eq!(t.lookup(a), want, "lookup {}", std::net::Ipv4Addr::from(a));
        prop_assert_eq!(b, want, "lookup_bulk {}", std::net::Ipv4Addr::from(a));
    }
    for &(a, l) in n.0.keys().chain(extra) {
        prop_assert_eq!(
            t.get(a, l),
            n.0.get(&(a, l)).copied(),
            "get {}/{}",
            std::net::Ipv4Addr::from(a),
            l
        );
    }
    prop_assert_eq!(t.len(), n.0.len());
    Ok(())
}

#[test]
fn empty_table_has_no_route() {
    let t = LcTrie::new();
    assert_eq!(t.lookup(0), NO_ROUTE);
    assert_eq!(t.lookup(u32::MAX), NO_ROUTE);
    assert_eq!(t.get(0, 0), None);
    assert!(t.is_empty());
    let mut out = [1; 3];
    t.lookup_bulk(&[1, 2, 3], &mut out);
    assert_eq!(out, [NO_ROUTE; 3]);
}

#[test]
fn longest_prefix_wins_at_every_tier() {
    let t = LcTrie::from_routes(&[
        (0, 0, 100),
        (ip("10.0.0.0"), 8, 8),
        (ip("10.1.0.0"), 16, 16),
        (ip("10.1.2.0"), 24, 24),
        (ip("10.1.2.128"), 25, 25),
        (ip("10.1.2.3"), 32, 32),
        (ip("10.1.64.0"), 18, 18),
    ]);
    assert_eq!(t.lookup(ip("10.1.2.3")), 32);
    assert_eq!(t.lookup(ip("10.1.2.4")), 24);
    assert_eq!(t.lookup(ip("10.1.2.200")), 25);
    assert_eq!(t.lookup(ip("10.1.3.0")), 16);
    assert_eq!(t.lookup(ip("10.1.64.1")), 18);
    assert_eq!(t.lookup(ip("10.2.0.0")), 8);
    assert_eq!(t.lookup(ip("11.0.0.0")), 100);
    assert_eq!(t.lookup(ip("255.255.255.255")), 100);
    assert_eq!(t.len(), 7);
    assert_eq!(t.get(ip("10.1.2.3"), 32), Some(32));
    assert_eq!(t.get(ip("10.1.2.3"), 31), None);
    assert_eq!(t.get(ip("10.1.0.0"), 16), Some(16));
    assert_eq!(t.get(0, 0), Some(100));
}

#[test]
fn host_routes_and_the_default_route() {
    let t = LcTrie::new().update(&[
        ins("0.0.0.0/0", 1),
        ins("255.255.255.255/32", 2),
        ins("0.0.0.0/32", 3),
    ]);
    assert_eq!(t.lookup(0), 3);
    assert_eq!(t.lookup(1), 1);
    assert_eq!(t.lookup(u32::MAX), 2);
    assert_eq!(t.lookup(u32::MAX - 1), 1);
    let t = t.update(&[del("0.0.0.0/0")]);
    assert_eq!(t.lookup(1), NO_ROUTE);
    assert_eq!(t.lookup(0), 3);
    assert_eq!(t.len(), 2);
}

#[test]
fn deleting_a_covering_prefix_and_reinserting_it() {
    let t = LcTrie::new().update(&[
        ins("10.0.0.0/8", 1),
        ins("10.1.0.0/16", 2),
        ins("10.1.1.0/24", 3),
    ]);
    let t2 = t.update(&[del("10.1.0.0/16")]);
    assert_eq!(t2.lookup(ip("10.1.1.1")), 3);
    assert_eq!(t2.lookup(ip("10.1.2.1")), 1, "falls back to the /8");
    let t3 = t2.update(&[del("10.0.0.0/8")]);
    assert_eq!(t3.lookup(ip("10.1.2.1")), NO_ROUTE);
    assert_eq!(t3.lookup(ip("10.1.1.1")), 3);
    let t4 = t3.update(&[ins("10.1.0.0/16", 7), ins("10.0.0.0/8", 8)]);
    assert_eq!(t4.lookup(ip("10.1.2.1")), 7);
    assert_eq!(t4.lookup(ip("10.2.2.1")), 8);
    assert_eq!(t4.lookup(ip("10.1.1.255")), 3);
    // Every old version still answers as it did.
    assert_eq!(t.lookup(ip("10.1.2.1")), 2);
    assert_eq!(t2.lookup(ip("10.1.2.1")), 1);
    assert_eq!(t3.lookup(ip("10.1.2.1")), NO_ROUTE);
}

#[test]
fn last_change_for_a_prefix_wins_within_a_batch() {
    let t = LcTrie::new().update(&[
        ins("10.1.1.0/24", 1),
        del("10.1.1.0/24"),
        ins("10.1.1.0/24", 2),
        ins("10.9.0.0/16", 5),
        del("10.9.0.0/16"),
    ]);
    assert_eq!(t.lookup(ip("10.1.1.1")), 2);
    assert_eq!(t.lookup(ip("10.9.0.1")), NO_ROUTE);
    assert_eq!(t.len(), 1);
    let t = LcTrie::from_routes(&[
        (ip("10.1.1.0"), 24, 1),
        (ip("10.1.1.0"), 24, 2),
        (ip("10.1.2.0"), 24, 3),
        (ip("10.1.2.0"), 24, NO_ROUTE),
    ]);
    assert_eq!(t.lookup(ip("10.1.1.1")), 2);
    assert_eq!(t.lookup(ip("10.1.2.1")), NO_ROUTE);
    assert_eq!(t.len(), 1);
}

#[test]
fn host_bits_are_cleared() {
    let t = LcTrie::from_routes(&[(ip("10.1.2.3"), 16, 1)]);
    assert_eq!(t.get(ip("10.1.0.0"), 16), Some(1));
    assert_eq!(t.lookup(ip("10.1.200.1")), 1);
}

#[test]
fn values_that_do_not_fit_a_root_entry() {
    // Values with the top bit set (the FIB encodes blackhole, unreachable, prohibit so).
    let big = [0x8000_0000, 0xa000_0000, 0x7fff_ffff, NO_ROUTE - 1];
    for &v in &big {
        let t = LcTrie::new().update(&[
            ins("10.0.0.0/8", v),
            ins("10.1.0.0/16", v ^ 4),
            ins("10.1.1.0/24", v ^ 8),
        ]);
        assert_eq!(t.lookup(ip("10.2.0.0")), v);
        assert_eq!(t.lookup(ip("10.1.2.0")), v ^ 4);
        assert_eq!(t.lookup(ip("10.1.1.0")), v ^ 8);
        let t = t.update(&[del("10.1.1.0/24")]);
        assert_eq!(t.lookup(ip("10.1.1.0")), v ^ 4);
    }
}

#[test]
fn changing_a_short_prefix_rebuilds_no_chunk() {
    let routes: Vec<(u32, u8, u32)> = (0..4096u32)
        .map(|i| (ip("10.0.0.0") | i << 8, 24, i))
        .collect();
    let t = LcTrie::from_routes(&routes);
    let t2 = t.update(&[ins("0.0.0.0/0", 7), ins("10.0.0.0/8", 8)]);
    assert!(
        t.segs.iter().zip(&t2.segs).all(|(a, b)| Arc::ptr_eq(a, b)),
        "chunks shared"
    );
    assert_eq!(t2.lookup(ip("10.0.1.1")), 1);
    assert_eq!(t2.lookup(ip("10.200.0.1")), 8);
    assert_eq!(t2.lookup(ip("11.0.0.0")), 7);
}

#[test]
fn compaction_bounds_garbage() {
    let mut t = LcTrie::from_routes(
        &(0..20_000u32)
            .map(|i| (i << 12, 24, i % 7))
            .collect::<Vec<_>>(),
    );
    let base = t.memory_bytes();
    let mut rng = Rng(7);
    let mut n = Naive(
        t.routes()
            .into_iter()
            .map(|(a, l, v)| ((a, l), v))
            .collect(),
    );
    for round in 0..300 {
        let batch: Vec<Change> = (0..200)
            .map(|_| {
                let i = rng.below(20_000) as u32;
                if rng.below(2) == 0 {
                    Change::Insert {
                        addr: i << 12,
                        len: 24,
                        value: round,
                    }
                } else {
                    Change::Insert {
                        addr: i << 12 | 0x80,
                        len: 25,
                        value: round,
                    }
                }
            })
            .collect();
        batch.iter().for_each(|c| n.apply(c));
        t = t.update(&batch);
    }
    let st = t.stats();
    assert!(
        st.garbage_bytes * 2 <= st.lookup_bytes + st.update_bytes,
        "{st}"
    );
    assert!(
        t.memory_bytes() < base * 4,
        "{} vs {base}",
        t.memory_bytes()
    );
    check(&t, &n, &[], &[]).unwrap();
}

#[test]
fn stats_count_every_prefix() {
    let t = LcTrie::from_routes(&[
        (0, 0, 1),
        (ip("10.1.0.0"), 16, 2),
        (ip("10.1.1.0"), 24, 3),
        (ip("10.1.1.1"), 32, 4),
    ]);
    let st = t.stats();
    assert_eq!(st.prefixes, 4);
    assert_eq!(st.depth_histogram.iter().sum::<usize>(), 4);
    assert_eq!(st.chunks, 1);
    assert_eq!(st.nodes, 3, "L1, L2, L3 for the /32");
    assert!(st.to_string().contains("prefixes 4"));
}

/// Prefixes clustered so that they nest: a few bases, a random number of varying bits, and
/// lengths spread over the three tiers.
fn prefix() -> impl Strategy<Value = (u32, u8)> {
    let base = prop_oneof![
        Just(0x0a00_0000u32),
        Just(0xc0a8_0000),
        Just(0),
        Just(0xffff_ff00),
        any::<u32>()
    ];
    let len = prop_oneof![1 => 0u8..=12, 2 => 13u8..=18, 5 => 19u8..=32];
    (base, 0u32..=24, any::<u32>(), len).prop_map(|(b, k, r, l)| {
        let a = b ^ (r & ((1u64 << k) - 1) as u32);
        (a & mask(l), l)
    })
}

fn value() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 0u32..6, 1 => Just(0x8000_0000u32), 1 => Just(NO_ROUTE - 1)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random batches of inserts and deletes over a pool of nesting prefixes; after every
    /// batch the new version matches the oracle and the previous version still matches
    /// the previous oracle.
    #[test]
    fn fib_lctrie_matches_oracle_under_random_updates(
        pool in proptest::collection::vec(prefix(), 1..40),
        initial in proptest::collection::vec((any::<u8>(), value()), 0..30),
        batches in proptest::collection::vec(proptest::collection::vec((any::<u8>(), any::<bool>(), value()), 1..25), 1..12),
        probes in proptest::collection::vec(any::<u32>(), 0..20),
    ) {
        let pick = |i: u8| pool[i as usize % pool.len()];
        let routes: Vec<(u32, u8, u32)> = initial.iter().map(|&(i, v)| { let (a, l) = pick(i); (a, l, v) }).collect();
        let mut t = LcTrie::from_routes(&routes);
        let mut n = Naive::default();
        routes.iter().for_each(|&(addr, len, value)| n.apply(&Change::Insert { addr, len, value }));
        check(&t, &n, &pool, &probes)?;
        for batch in &batches {
            let changes: Vec<Change> = batch.iter().map(|&(i, insert, value)| {
                let (addr, len) = pick(i);
                if insert { Change::Insert { addr, len, value } } else { Change::Remove { addr, len } }
            }).collect();
            let (old_t, old_n) = (t.clone(), n.clone());
            t = t.update(&changes);
            changes.iter().for_each(|c| n.apply(c));
            check(&t, &n, &pool, &probes)?;
            check(&old_t, &old_n, &pool, &probes)?;
        }
        // The same table built from scratch answers the same.
        check(&LcTrie::from_routes(&n.routes()), &n, &pool, &probes)?;
    }
}

/// One long random sequence: 200k changes in batches of 1 to 5000 over 20k nesting
/// prefixes, checked against the oracle as it goes (and compaction running many times).
#[test]
fn fib_lctrie_long_random_sequence() {
    let mut rng = Rng(0x5eed);
    let bases = [0x0a00_0000u32, 0xc0a8_0000, 0x6440_0000, 0];
    let pool: Vec<(u32, u8)> = (0..20_000)
        .map(|_| {
            let len = match rng.below(10) {
                0 => rng.below(13) as u8,
                1 | 2 => 13 + rng.below(6) as u8,
                _ => 19 + rng.below(14) as u8,
            };
            let a = bases[rng.below(4)] ^ (rng.next_u32() >> rng.below(32));
            (a & mask(len), len)
        })
        .collect();
    let mut t = LcTrie::new();
    let mut n = Naive::default();
    let mut done = 0;
    let mut round = 0;
    while done < 200_000 {
        let size = [1, 10, 100, 1000, 5000][round % 5];
        let batch: Vec<Change> = (0..size)
            .map(|_| {
                let (addr, len) = pool[rng.below(pool.len())];
                if rng.below(3) == 0 {
                    Change::Remove { addr, len }
                } else {
                    Change::Insert {
                        addr,
                        len,
                        value: rng.below(1000) as u32,
                    }
                }
            })
            .collect();
        let old = t.clone();
        let probe: Vec<u32> = (0..64).map(|_| rng.next_u32()).collect();
        let before: Vec<u32> = probe.iter().map(|&a| old.lookup(a)).collect();
        t = t.update(&batch);
        batch.iter().for_each(|c| n.apply(c));
        assert_eq!(
            probe.iter().map(|&a| old.lookup(a)).collect::<Vec<_>>(),
            before,
            "old version changed"
        );
        done += size;
        round += 1;
        if round % 10 == 0 {
            let mut probes: Vec<u32> = (0..2000).map(|_| rng.next_u32()).collect();
            for _ in 0..2000 {
                let (a, l) = pool[rng.below(pool.len())];
                probes.extend(edges(a, l));
            }
            for a in probes {
                assert_eq!(t.lookup(a), n.lookup(a), "{}", std::net::Ipv4Addr::from(a));
            }
            assert_eq!(t.len(), n.0.len());
        }
    }
    check(&t, &n, &[], &[]).unwrap();
    let st = t.stats();
    assert!(
        st.garbage_bytes <= st.lookup_bytes + st.update_bytes,
        "{st}"
    );
}

/// The real table: build, then millions of lookups (half random, half inside prefixes)
/// against the per-length oracle; and the same after deleting and re-adding 100k prefixes.
#[test]
fn fib_lctrie_rv2_full_table_matches_oracle() {
    let routes = match testdata::load_rv2() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skipped: real table not available ({e})");
            return;
        }
    };
    let t0 = std::time::Instant::now();
    let t = LcTrie::from_routes(&routes);
    eprintln!(
        "rv2: {} prefixes built in {:?}\n{}",
        t.len(),
        t0.elapsed(),
        t.stats()
    );
    assert_eq!(t.len(), routes.len());
    let oracle = Oracle::new(&routes);
    eprintln!("rv2: oracle at {:?}", t0.elapsed());
    let n = if cfg!(debug_assertions) {
        200_000
    } else {
        10_000_000
    };
    let addrs = testdata::mixed_addresses(&routes, n, 42);
    let mut out = vec![0; addrs.len()];
    t.lookup_bulk(&addrs, &mut out);
    let mut bad = 0;
    for (&a, &got) in addrs.iter().zip(&out) {
        if got != oracle.lookup(a) {
            bad += 1;
            assert!(
                bad < 10,
                "{}: got {got}, want {}",
                std::net::Ipv4Addr::from(a),
                oracle.lookup(a)
            );
        }
    }
    assert_eq!(bad, 0);
    eprintln!("rv2: {n} lookups checked at {:?}", t0.elapsed());
    for &a in addrs.iter().step_by(97) {
        assert_eq!(t.lookup(a), oracle.lookup(a));
    }

    // Delete 100k random prefixes in batches, check, re-add them, check.
    let mut rng = Rng(9);
    let victims: Vec<(u32, u8, u32)> = (0..100_000)
        .map(|_| routes[rng.below(routes.len())])
        .collect();
    let mut t2 = t.clone();
    for b in victims.chunks(10_000) {
        t2 = t2.update(
            &b.iter()
                .map(|&(addr, len, _)| Change::Remove { addr, len })
                .collect::<Vec<_>>(),
        );
    }
    let mut left: rustc_hash::FxHashMap<(u32, u8), u32> =
        routes.iter().map(|&(a, l, v)| ((a, l), v)).collect();
    victims.iter().for_each(|&(a, l, _)| {
        left.remove(&(a, l));
    });
    assert_eq!(t2.len(), left.len());
    let rest: Vec<(u32, u8, u32)> = left.iter().map(|(&(a, l), &v)| (a, l, v)).collect();
    let o2 = Oracle::new(&rest);
    let probe = testdata::mixed_addresses(&routes, 1_000_000, 43);
    for &a in &probe {
        assert_eq!(
            t2.lookup(a),
            o2.lookup(a),
            "after deletes: {}",
            std::net::Ipv4Addr::from(a)
        );
    }
    for b in victims.chunks(1_000) {
        t2 = t2.update(
            &b.iter()
                .map(|&(addr, len, value)| Change::Insert { addr, len, value })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(t2.len(), routes.len());
    for &a in &probe {
        assert_eq!(
            t2.lookup(a),
            oracle.lookup(a),
            "after re-adding: {}",
            std::net::Ipv4Addr::from(a)
        );
    }
    // The first version is untouched by all of this.
    for &a in probe.iter().step_by(11) {
        assert_eq!(t.lookup(a), oracle.lookup(a));
    }
}

#[test]
fn const_chunks_of_values_that_went_away_are_compacted() {
    // /16s with ever new values: each value gets a const chunk while in use.
    let mut t = LcTrie::new();
    for round in 0..50u32 {
        let batch: Vec<Change> = (0..100u32)
            .map(|i| Change::Insert {
                addr: (10 << 24) | i << 16,
                len: 16,
                value: round * 1000 + i,
            })
            .collect();
        t = t.update(&batch);
    }
    assert!(
        super::arena::const_count(&t) < 4 * 100 + 64,
        "{}",
        super::arena::const_count(&t)
    );
    for i in 0..100u32 {
        assert_eq!(t.lookup((10 << 24) | i << 16 | 5), 49_000 + i);
    }
    assert_eq!(t.lookup(11 << 24), NO_ROUTE);
}

/// The largest possible chunk: every prefix /19../32 under one /18 (32766 of them), each
/// with its own value, so most are hidden under more-specifics and need extra words.
#[test]
fn fib_lctrie_largest_possible_chunk() {
    let base = ip("10.64.0.0");
    let mut routes = Vec::new();
    for len in 19..=32u8 {
        for i in 0..1u32 << (len - 18) {
            let addr = base | i << (32 - len);
            routes.push((addr, len, routes.len() as u32));
        }
    }
    routes.push((base, 18, 999_999));
    let t = LcTrie::from_routes(&routes);
    assert_eq!(t.len(), 32767);
    let n = Naive(routes.iter().map(|&(a, l, v)| ((a, l), v)).collect());
    for a in (0..1u32 << 14).map(|i| base | i) {
        assert_eq!(t.lookup(a), n.lookup(a));
    }
    assert_eq!(
        t.routes(),
        routes
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    // Rebuilt by an update, then emptied.
    let t2 = t.update(&[Change::Remove {
        addr: base | 5,
        len: 32,
    }]);
    let slash31 = routes
        .iter()
        .find(|r| (r.0, r.1) == (base | 4, 31))
        .unwrap()
        .2;
    assert_eq!(t2.lookup(base | 5), slash31, "falls back to the /31");
    let t3 = t2.update(
        &routes
            .iter()
            .map(|&(addr, len, _)| Change::Remove { addr, len })
            .collect::<Vec<_>>(),
    );
    assert!(t3.is_empty());
    assert_eq!(t3.lookup(base | 5), NO_ROUTE);
    let st = t3.stats();
    assert_eq!((st.chunks, st.nodes, st.leaves), (0, 0, 0));
}
