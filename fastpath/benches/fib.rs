//! FIB benchmark: the LC-trie against DPDK's `rte_lpm` and `rte_fib` (dir24_8) on the real
//! 998k-prefix table, side by side in one process, same addresses, same core.
//!
//! `cargo bench -p fastpath --bench fib` (reads `<repo>/../shared/data/rv2-...txt.xz`).
//! Set `FIB_BENCH_QUICK=1` to skip `rte_lpm` (its build takes minutes) and shorten runs.
//!
//! The trie's nodes are popcount-compressed: built for the default x86-64 target,
//! `count_ones` is a dozen instructions; with POPCNT (`RUSTFLAGS="-C target-cpu=x86-64-v2"`,
//! the level DPDK itself is built for: `-march=corei7`) it is one. The run says which.
//!
//! Blocks: build, cross-check against `rte_lpm`, memory, bulk lookup (random and
//! prefix-sampled addresses), updates, lookup under churn; then one `ratio ...` line per
//! comparison for scripts (> 1 means the LC-trie is better, except where noted).

#[path = "../src/fib/lctrie/testdata.rs"]
mod testdata;

use fastpath::dpdk::{eal, lpm};
use fastpath::fib::lctrie::{Change, LcTrie, NO_ROUTE};
use fastpath::rcu::Rcu;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testdata::Rng;

/// Addresses per set (random, sampled).
const ADDRS: usize = 1 << 24;
/// Addresses per lookup call, as a worker's rx burst.
const BURST: usize = 32;
/// tbl8 groups for rte_lpm / rte_fib (the table needs a few thousand).
const TBL8S: u32 = 1 << 13;
/// rte_lpm rules / rte_fib routes (the table has 998,042).
const MAX_RULES: u32 = 1_100_000;

fn main() {
    // FIB_BENCH_QUICK=1: no rte_lpm, shorter runs; =lookup: also stop after the lookups.
    let quick_env = std::env::var("FIB_BENCH_QUICK").unwrap_or_default();
    let quick = !quick_env.is_empty() && quick_env != "0";
    let lookup_only = quick_env == "lookup";
    let cpus = num_cpus();
    let routes = match testdata::load_rv2() {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "fib bench: cannot read the real table: {e}\n(expected at {})",
                testdata::rv2_path().display()
            );
            std::process::exit(2);
        }
    };
    let args: Vec<String> = [
        "fib-bench",
        "--no-huge",
        "-m",
        "2048",
        "-l",
        "0-1",
        "--no-pci",
        "--no-shconf",
        "--log-level=*:error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Err(e) = eal::init(&args) {
        eprintln!("fib bench: EAL init failed: {e}");
        std::process::exit(2);
    }
    pin(0);
    println!(
        "table: {} ({} prefixes, next hop = origin AS mod {})",
        testdata::RV2,
        routes.len(),
        testdata::NEXTHOPS
    );
    println!(
        "machine: {} cpus; lookups on core 0{}",
        cpus,
        if quick {
            "; QUICK run (no rte_lpm)"
        } else {
            ""
        }
    );
    println!(
        "lctrie built {} POPCNT{}",
        if cfg!(target_feature = "popcnt") {
            "with"
        } else {
            "without"
        },
        if cfg!(target_feature = "popcnt") {
            ""
        } else {
            " (software popcount; RUSTFLAGS=\"-C target-cpu=x86-64-v2\" enables it)"
        }
    );

    // Addresses: uniformly random, and a random address inside a random prefix.
    let mut rng = Rng(0x00c0_ffee);
    let random: Vec<u32> = (0..ADDRS).map(|_| rng.next_u32()).collect();
    let sampled: Vec<u32> = (0..ADDRS)
        .map(|_| {
            let r = routes[rng.below(routes.len())];
            testdata::inside(&mut rng, r)
        })
        .collect();

    // ---- 1. build ----
    println!("\n== build: full table ({} prefixes) ==", routes.len());
    let rcu = Arc::new(Rcu::new(LcTrie::new()));
    let mut lc_build = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let t = LcTrie::from_routes(&routes);
        rcu.publish(t);
        lc_build.push(t0.elapsed().as_secs_f64());
        rcu.reclaim();
    }
    let lc_build = median(&mut lc_build);
    let trie = rcu.load();
    if quick_env == "update" {
        // FIB_BENCH_QUICK=update: only the batches of 100, for profiling an update.
        let mut idx: Vec<usize> = (0..routes.len()).collect();
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        let victims: Vec<(u32, u8, u32)> = idx[..500_000].iter().map(|&i| routes[i]).collect();
        for _ in 0..3 {
            let (r, _, _) = update_run(&trie, &victims, 100);
            println!("lctrie   batches of    100: {:>6.2} M changes/s", r / 1e6);
        }
        return;
    }
    println!(
        "lctrie   from_routes + publish   {:>9.3} s  (median of 5)",
        lc_build
    );

    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut fib = lpm::Fib::new("bench_fib", MAX_RULES, TBL8S).expect("rte_fib_create");
    for &(a, l, v) in &routes {
        fib.add(a, l, v as u64).expect("rte_fib_add");
    }
    let fib_build = t0.elapsed().as_secs_f64();
    let fib_rss = rss_bytes().saturating_sub(rss0);
    println!(
        "rte_fib  create + {} adds     {:>9.3} s",
        routes.len(),
        fib_build
    );

    let mut lpm_tab = None;
    let mut lpm_build = f64::NAN;
    let mut lpm_rss = 0;
    if !quick {
        let rss0 = rss_bytes();
        let t0 = Instant::now();
        let mut l = lpm::Lpm::new("bench_lpm", MAX_RULES, TBL8S).expect("rte_lpm_create");
        for &(a, len, v) in &routes {
            l.add(a, len, v).expect("rte_lpm_add");
        }
        lpm_build = t0.elapsed().as_secs_f64();
        lpm_rss = rss_bytes().saturating_sub(rss0);
        println!(
            "rte_lpm  create + {} adds     {:>9.3} s  (measured once)",
            routes.len(),
            lpm_build
        );
        lpm_tab = Some(l);
    } else {
        println!("rte_lpm  skipped (quick run)");
    }

    // ---- 2. cross-check ----
    println!("\n== cross-check ==");
    let mut crosscheck_failed = false;
    let mut lc_out = vec![0u32; BURST];
    let mut fib_out = vec![0u64; BURST];
    let mut lpm_out = vec![0u32; BURST];
    let mut fib_mismatch = 0usize;
    let mut lpm_mismatch = 0usize;
    let mut checked = 0usize;
    for set in [&random, &sampled] {
        for burst in set.chunks(BURST) {
            trie.lookup_bulk(burst, &mut lc_out);
            fib.lookup_bulk(burst, &mut fib_out);
            for i in 0..burst.len() {
                let f = if fib_out[i] == lpm::Fib::DEFAULT_NH {
                    NO_ROUTE
                } else {
                    fib_out[i] as u32
                };
                fib_mismatch += (f != lc_out[i]) as usize;
            }
            if let Some(l) = &lpm_tab {
                l.lookup_bulk(burst, &mut lpm_out);
                for i in 0..burst.len() {
                    if lpm_out[i] != lc_out[i] {
                        if lpm_mismatch < 5 {
                            eprintln!(
                                "MISMATCH {}: lctrie {} rte_lpm {}",
                                std::net::Ipv4Addr::from(burst[i]),
                                lc_out[i] as i64,
                                lpm_out[i] as i64
                            );
                        }
                        lpm_mismatch += 1;
                    }
                }
            }
            checked += burst.len();
        }
    }
    if lpm_tab.is_some() {
        println!("crosscheck rte_lpm: {checked} addresses, {lpm_mismatch} mismatches");
        crosscheck_failed = lpm_mismatch != 0;
    } else {
        println!("crosscheck rte_lpm: skipped (quick run)");
    }
    println!("(information only, rte_fib is not an oracle) rte_fib: {checked} addresses, {fib_mismatch} differ from lctrie");

    // ---- 3. memory ----
    println!("\n== memory ==");
    let st = trie.stats();
    let lc_bytes = trie.memory_bytes();
    println!("lctrie   {st}");
    println!(
        "lctrie   lookup structure {:.2} MiB; with update storage {:.2} MiB (memory_bytes)",
        mib(st.lookup_bytes),
        mib(lc_bytes)
    );
    let fib_bytes = fib.allocated_bytes();
    println!(
        "rte_fib  {:.2} MiB as configured (tbl24 64 MiB + {} tbl8 groups x 1 KiB + RIB pool {} nodes x 64 B); RSS grew {:.2} MiB during create+build",
        mib(fib_bytes),
        TBL8S + 1,
        MAX_RULES,
        mib(fib_rss)
    );
    let lpm_bytes = lpm_tab.as_ref().map_or(0, |l| l.memory_bytes());
    if let Some(l) = &lpm_tab {
        println!(
            "rte_lpm  {:.2} MiB = tbl24 64 MiB + {} tbl8 groups in use x 1 KiB + rules {} x 8 B (allocated with all {} tbl8 groups: {:.2} MiB); RSS grew {:.2} MiB during create+build",
            mib(lpm_bytes),
            l.tbl8_groups_used(),
            MAX_RULES,
            TBL8S,
            mib(l.allocated_bytes()),
            mib(lpm_rss)
        );
    }

    // ---- 4. lookup ----
    let reps = if quick { 3 } else { 5 };
    println!("\n== bulk lookup: M lookups/s, bursts of {BURST}, {ADDRS} addresses per pass, median of {reps} passes, core 0 ==");
    println!("{:<8} {:>10} {:>10}", "", "random", "sampled");
    let mut rates: Vec<[f64; 2]> = vec![[0.0; 2]; 3];
    for (k, set) in [&random, &sampled].into_iter().enumerate() {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); 3];
        for _ in 0..reps {
            samples[0].push(rate(set, |b, acc| {
                trie.lookup_bulk(b, &mut lc_out);
                *acc ^= fold32(&lc_out);
            }));
            samples[1].push(rate(set, |b, acc| {
                fib.lookup_bulk(b, &mut fib_out);
                *acc ^= fib_out.iter().fold(0, |x, &y| x ^ y as u32);
            }));
            if let Some(l) = &lpm_tab {
                samples[2].push(rate(set, |b, acc| {
                    l.lookup_bulk_raw(b, &mut lpm_out);
                    *acc ^= fold32(&lpm_out);
                }));
            }
        }
        for e in 0..3 {
            rates[e][k] = if samples[e].is_empty() {
                f64::NAN
            } else {
                median(&mut samples[e])
            };
        }
    }
    for (e, name) in ["lctrie", "rte_fib", "rte_lpm"].iter().enumerate() {
        println!("{:<8} {:>10.1} {:>10.1}", name, rates[e][0], rates[e][1]);
    }

    if lookup_only {
        return;
    }

    // ---- 5. updates ----
    println!("\n== updates: delete 500k random prefixes then re-add them (1M changes) ==");
    let mut idx: Vec<usize> = (0..routes.len()).collect();
    for i in (1..idx.len()).rev() {
        idx.swap(i, rng.below(i + 1));
    }
    let victims: Vec<(u32, u8, u32)> = idx[..500_000].iter().map(|&i| routes[i]).collect();
    let mut lc_update = Vec::new();
    for &bs in &[100usize, 1_000, 10_000] {
        let (r, secs, t) = update_run(&trie, &victims, bs);
        assert_eq!(t.len(), routes.len(), "update benchmark lost prefixes");
        println!(
            "lctrie   batches of {:>6}: {:>6.2} M changes/s  ({:.3} s, update + publish + reclaim; after: {:.2} MiB, garbage {:.2} MiB)",
            bs,
            r / 1e6,
            secs,
            mib(t.memory_bytes()),
            mib(t.stats().garbage_bytes)
        );
        lc_update.push((bs, r));
    }
    let t0 = Instant::now();
    for &(a, l, _) in &victims {
        fib.delete(a, l).expect("rte_fib_delete");
    }
    for &(a, l, v) in &victims {
        fib.add(a, l, v as u64).expect("rte_fib_add");
    }
    let fib_secs = t0.elapsed().as_secs_f64();
    let fib_update = 2.0 * victims.len() as f64 / fib_secs;
    println!(
        "rte_fib  one by one:         {:>6.2} M changes/s  ({:.3} s)",
        fib_update / 1e6,
        fib_secs
    );
    let lc_update_1k = lc_update
        .iter()
        .find(|(b, _)| *b == 1_000)
        .map_or(f64::NAN, |x| x.1);

    // ---- 6. lookup under churn ----
    let secs = if quick { 2.0 } else { 4.0 };
    println!("\n== lookup under churn: core 0 looks up (bursts of {BURST}, quiescent state per burst) while core 1 applies 100k updates/s (1k every 10 ms) ==");
    let crcu = Arc::new(Rcu::new((*trie).clone()));
    let mut churn_res = Vec::new();
    for (name, set) in [("random", &random), ("sampled", &sampled)] {
        let quiet = churn_lookup(&crcu, set, secs);
        let stop = Arc::new(AtomicBool::new(false));
        let applied = Arc::new(AtomicU64::new(0));
        let updater = {
            let (crcu, stop, applied, victims) =
                (crcu.clone(), stop.clone(), applied.clone(), victims.clone());
            std::thread::spawn(move || churn_updater(&crcu, &victims, &stop, &applied))
        };
        std::thread::sleep(Duration::from_millis(100));
        let a0 = applied.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let busy = churn_lookup(&crcu, set, secs);
        let upd_rate = (applied.load(Ordering::Relaxed) - a0) as f64 / t0.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let upd_busy = updater.join().expect("updater");
        println!(
            "{name:<8} quiet {:>7.1} M/s   under churn {:>7.1} M/s   ratio {:.3}   (updates applied {:.0}/s, updater busy {:.1}% of its core)",
            quiet,
            busy,
            busy / quiet,
            upd_rate,
            100.0 * upd_busy
        );
        churn_res.push(busy / quiet);
    }

    // ---- summary ----
    println!("\n== summary (ratios > 1: lctrie better; memory and build as other/lctrie; update uses batches of 1000, lookup-under-churn uses random addresses) ==");
    println!(
        "ratio lookup-random lctrie/rte_lpm = {:.2}",
        rates[0][0] / rates[2][0]
    );
    println!(
        "ratio lookup-random lctrie/rte_fib = {:.2}",
        rates[0][0] / rates[1][0]
    );
    println!(
        "ratio lookup-sampled lctrie/rte_lpm = {:.2}",
        rates[0][1] / rates[2][1]
    );
    println!(
        "ratio lookup-sampled lctrie/rte_fib = {:.2}",
        rates[0][1] / rates[1][1]
    );
    println!(
        "ratio memory rte_lpm/lctrie = {:.2}",
        if lpm_bytes > 0 {
            lpm_bytes as f64 / lc_bytes as f64
        } else {
            f64::NAN
        }
    );
    println!(
        "ratio memory rte_fib/lctrie = {:.2}",
        fib_bytes as f64 / lc_bytes as f64
    );
    println!("ratio build rte_lpm/lctrie = {:.2}", lpm_build / lc_build);
    println!("ratio build rte_fib/lctrie = {:.2}", fib_build / lc_build);
    println!(
        "ratio update lctrie/rte_fib = {:.2}",
        lc_update_1k / fib_update
    );
    println!(
        "ratio lookup-under-churn lctrie/quiet = {:.3}",
        churn_res[0]
    );
    if crosscheck_failed {
        eprintln!("FAILED: lctrie and rte_lpm disagree on {lpm_mismatch} addresses");
        std::process::exit(1);
    }
}

/// M lookups/s of one pass over `set` in bursts; `f` looks a burst up and folds the
/// results into the accumulator (so nothing is optimised away).
fn rate(set: &[u32], mut f: impl FnMut(&[u32], &mut u32)) -> f64 {
    let mut acc = 0u32;
    let t0 = Instant::now();
    for b in set.chunks_exact(BURST) {
        f(b, &mut acc);
    }
    let secs = t0.elapsed().as_secs_f64();
    black_box(acc);
    set.len() as f64 / secs / 1e6
}

fn fold32(v: &[u32]) -> u32 {
    v.iter().fold(0, |x, &y| x ^ y)
}

/// Lookup rate (M/s) over `secs` seconds: per burst, a quiescent state (which also picks up
/// the newest version) and a bulk lookup. Runs until `secs` have passed.
/// Deletes `victims` then re-adds them in batches of `bs`, each batch updated, published
/// and reclaimed: (changes per second, seconds, the final version).
fn update_run(trie: &LcTrie, victims: &[(u32, u8, u32)], bs: usize) -> (f64, f64, Arc<LcTrie>) {
    let urcu = Rcu::new(trie.clone());
    let t0 = Instant::now();
    for pass in 0..2 {
        for chunk in victims.chunks(bs) {
            let batch: Vec<Change> = chunk
                .iter()
                .map(|&(addr, len, value)| {
                    if pass == 0 {
                        Change::Remove { addr, len }
                    } else {
                        Change::Insert { addr, len, value }
                    }
                })
                .collect();
            let next = urcu.load().update(&batch);
            urcu.publish(next);
            urcu.reclaim();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    (2.0 * victims.len() as f64 / secs, secs, urcu.load())
}

fn churn_lookup(rcu: &Arc<Rcu<LcTrie>>, set: &[u32], secs: f64) -> f64 {
    let mut reader = rcu.reader();
    let mut out = [0u32; BURST];
    let mut acc = 0u32;
    let mut n = 0usize;
    let t0 = Instant::now();
    'outer: loop {
        for chunk in set.chunks_exact(BURST * 4096) {
            for b in chunk.chunks_exact(BURST) {
                let t = reader.quiescent();
                t.lookup_bulk(b, &mut out);
                acc ^= fold32(&out);
            }
            n += chunk.len();
            if t0.elapsed().as_secs_f64() >= secs {
                break 'outer;
            }
        }
    }
    black_box(acc);
    n as f64 / t0.elapsed().as_secs_f64() / 1e6
}

/// Core 1: every 10 ms, a batch of 1000 changes (deleting 1000 prefixes, then re-adding
/// them), published and reclaimed. Returns the fraction of time spent working.
fn churn_updater(
    rcu: &Arc<Rcu<LcTrie>>,
    victims: &[(u32, u8, u32)],
    stop: &AtomicBool,
    applied: &AtomicU64,
) -> f64 {
    pin(1);
    let period = Duration::from_millis(10);
    let t0 = Instant::now();
    let mut next = t0;
    let mut busy = Duration::ZERO;
    let mut k = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let w0 = Instant::now();
        let chunk = &victims[(k / 2 * 1000) % (victims.len() - 1000)..][..1000];
        let batch: Vec<Change> = chunk
            .iter()
            .map(|&(addr, len, value)| {
                if k & 1 == 0 {
                    Change::Remove { addr, len }
                } else {
                    Change::Insert { addr, len, value }
                }
            })
            .collect();
        let t = rcu.load().update(&batch);
        rcu.publish(t);
        rcu.reclaim();
        applied.fetch_add(1000, Ordering::Relaxed);
        busy += w0.elapsed();
        k += 1;
        next += period;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    // Leave the table complete.
    if k & 1 == 1 {
        let chunk = &victims[((k - 1) / 2 * 1000) % (victims.len() - 1000)..][..1000];
        let batch: Vec<Change> = chunk
            .iter()
            .map(|&(addr, len, value)| Change::Insert { addr, len, value })
            .collect();
        let t = rcu.load().update(&batch);
        rcu.publish(t);
    }
    busy.as_secs_f64() / t0.elapsed().as_secs_f64()
}

fn pin(core: usize) {
    if !core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        eprintln!("warning: could not pin to core {core}");
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mib(b: usize) -> f64 {
    b as f64 / (1 << 20) as f64
}

/// Resident set size of this process (bytes).
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}
