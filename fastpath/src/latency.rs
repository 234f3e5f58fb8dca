//! Per-lcore latency: the time each packet spends in the worker, from the return of the
//! rx burst that brought it to the end of the pass's tx (the TSC read after the last
//! `tx_burst`), in nanoseconds, kept in an HDR histogram (3 significant digits, 1 ns to
//! 60 s). Every pass that receives packets is timed (two TSC reads a burst, which the
//! loop takes anyway); each packet of a burst counts with its burst's time. The NIC's
//! own queueing is not in it.
//!
//! The worker records into its own histogram ([`Recorder`]) and merges it into the
//! shared one ([`Latency`]) every [`FLUSH_MS`] when the control core is not reading it
//! (`try_lock`: the worker never waits). `show latency` reads the shared ones.

use hdrhistogram::Histogram;
use std::sync::Mutex;

/// How often a worker merges what it recorded into the shared histogram.
pub const FLUSH_MS: u64 = 100;
/// The longest time recorded (longer ones are clamped to it), ns.
const MAX_NS: u64 = 60_000_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds")
}

/// One lcore's histogram, as the control core sees it. Shared: worker writes (merges),
/// control reads and clears.
#[derive(Debug)]
pub struct Latency(Mutex<Histogram<u64>>);

impl Default for Latency {
    fn default() -> Self {
        Latency(Mutex::new(histogram()))
    }
}

/// Percentiles of one or several lcores' histograms, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    pub samples: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean_ns: f64,
}

impl Latency {
    /// Forgets every sample (`clear fwd stats`).
    pub fn clear(&self) {
        self.lock().reset();
    }

    /// The percentiles of `all` merged (None if there is no sample).
    pub fn summary<'a>(all: impl IntoIterator<Item = &'a Latency>) -> Option<Summary> {
        let mut h = histogram();
        for l in all {
            // Same bounds: adding cannot fail.
            let _ = h.add(&*l.lock());
        }
        (!h.is_empty()).then(|| Summary {
            samples: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean_ns: h.mean(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Histogram<u64>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A worker's own histogram and TSC-to-ns conversion.
pub struct Recorder {
    local: Histogram<u64>,
    /// ns per TSC cycle, as a 32.32 fixed-point factor.
    ns_per_cycle: u64,
    flush_every: u64,
    last_flush: u64,
}

impl Recorder {
    pub fn new(tsc_hz: u64) -> Recorder {
        let hz = tsc_hz.max(1);
        Recorder {
            local: histogram(),
            ns_per_cycle: ((1_000_000_000u128 << 32) / hz as u128) as u64,
            flush_every: hz / 1000 * FLUSH_MS,
            last_flush: 0,
        }
    }

    /// Records `n` packets that spent `cycles` in the worker.
    #[inline]
    pub fn record(&mut self, cycles: u64, n: u64) {
        let ns = ((cycles as u128 * self.ns_per_cycle as u128) >> 32) as u64;
        let _ = self.local.record_n(ns.clamp(1, MAX_NS), n);
    }

    /// Merges into `shared` if [`FLUSH_MS`] have passed since the last merge at TSC `now`
    /// and the control core is not reading it.
    #[inline]
    pub fn maybe_flush(&mut self, now: u64, shared: &Latency) {
        if now.wrapping_sub(self.last_flush) < self.flush_every || self.local.is_empty() {
            return;
        }
        if let Ok(mut h) = shared.0.try_lock() {
            let _ = h.add(&self.local);
            self.local.reset();
            self.last_flush = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_ns_and_merges_into_the_shared_histogram() {
        // 2 GHz: 2 cycles a ns.
        let mut r = Recorder::new(2_000_000_000);
        let shared = Latency::default();
        for _ in 0..90 {
            r.record(2_000, 1); // 1 us
        }
        r.record(20_000, 9); // 10 us
        r.record(2_000_000, 1); // 1 ms
        assert_eq!(Latency::summary([&shared]), None, "nothing merged yet");
        r.maybe_flush(0, &shared);
        assert_eq!(Latency::summary([&shared]), None, "too early");
        r.maybe_flush(200_000_000, &shared); // 100 ms later
        let s = Latency::summary([&shared]).unwrap();
        assert_eq!(s.samples, 100);
        assert_eq!(s.p50, 1000);
        assert!((9990..=10010).contains(&s.p99), "{s:?}");
        assert!((999_000..=1_001_000).contains(&s.max), "{s:?}");
        let other = Latency::default();
        let mut r2 = Recorder::new(2_000_000_000);
        r2.record(200, 100); // 100 ns
        r2.maybe_flush(200_000_000, &other);
        assert_eq!(Latency::summary([&shared, &other]).unwrap().samples, 200);
        shared.clear();
        assert_eq!(Latency::summary([&shared]), None);
        assert_eq!(Latency::summary([&shared, &other]).unwrap().p50, 100);
    }
}
