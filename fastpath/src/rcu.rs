//! RCU publication of immutable state (DESIGN.md section 2), quiescent-state based.
//!
//! The control core (the only writer) publishes a new version with one atomic pointer
//! swap ([`Rcu::publish`]). Each worker holds a [`Reader`] and calls [`Reader::quiescent`]
//! once per burst: that is its quiescent state, and also where it picks up the newest
//! version (one relaxed load when nothing changed). A retired version stays allocated
//! until every reader has moved past it; the control core then frees it in
//! [`Rcu::reclaim`], so a worker never pays for freeing a large structure.
//!
//! Built on `arc-swap` (no `unsafe` here): the grace period is observed as the retired
//! version's reference count falling back to the control core's own reference.

use arc_swap::{ArcSwap, Cache};
use std::sync::{Arc, Mutex};

/// A published value of type `T`. Shared: control rw, dataplane ro.
pub struct Rcu<T> {
    current: ArcSwap<T>,
    /// Versions replaced but possibly still read. Touched by the control core only (the
    /// mutex is never contended; it makes `Rcu` Sync).
    retired: Mutex<Vec<Arc<T>>>,
}

impl<T> Rcu<T> {
    pub fn new(value: T) -> Rcu<T> {
        Rcu {
            current: ArcSwap::from_pointee(value),
            retired: Mutex::new(Vec::new()),
        }
    }

    /// The current version (control side).
    pub fn load(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Publishes `value`: readers see it from their next quiescent state on. The old
    /// version is retired, not freed.
    pub fn publish(&self, value: T) {
        self.publish_arc(Arc::new(value));
    }

    pub fn publish_arc(&self, value: Arc<T>) {
        let old = self.current.swap(value);
        self.retired.lock().expect("rcu retired list").push(old);
    }

    /// Frees every retired version no reader still uses; returns how many are still
    /// waiting for a grace period. Called by the control core periodically.
    pub fn reclaim(&self) -> usize {
        let mut r = self.retired.lock().expect("rcu retired list");
        r.retain(|v| Arc::strong_count(v) > 1);
        r.len()
    }

    /// A reader handle for one worker.
    pub fn reader(self: &Arc<Self>) -> Reader<T> {
        Reader {
            cache: Cache::new(RcuRef(self.clone())),
        }
    }
}

/// Lets `arc_swap::Cache` read through an `Arc<Rcu<T>>`.
pub struct RcuRef<T>(Arc<Rcu<T>>);

impl<T> std::ops::Deref for RcuRef<T> {
    type Target = ArcSwap<T>;
    fn deref(&self) -> &ArcSwap<T> {
        &self.0.current
    }
}

/// One worker's view: the version it is using, refreshed at each quiescent state.
pub struct Reader<T> {
    cache: Cache<RcuRef<T>, Arc<T>>,
}

impl<T> Reader<T> {
    /// Reports a quiescent state (nothing read before this call is used after it) and
    /// returns the newest version, to use until the next call.
    #[inline]
    pub fn quiescent(&mut self) -> &Arc<T> {
        self.cache.load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_version_freed_only_after_every_reader_moved_on() {
        let rcu = Arc::new(Rcu::new(1u32));
        let mut a = rcu.reader();
        let mut b = rcu.reader();
        assert_eq!(**a.quiescent(), 1);
        assert_eq!(**b.quiescent(), 1);
        rcu.publish(2);
        assert_eq!(rcu.reclaim(), 1, "a and b still hold version 1");
        assert_eq!(**a.quiescent(), 2);
        assert_eq!(rcu.reclaim(), 1, "b still holds version 1");
        assert_eq!(**b.quiescent(), 2);
        assert_eq!(rcu.reclaim(), 0);
        assert_eq!(*rcu.load(), 2);
    }

    #[test]
    fn readers_on_threads_see_every_publish_eventually() {
        let rcu = Arc::new(Rcu::new(0u64));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (mut r, stop) = (rcu.reader(), stop.clone());
                std::thread::spawn(move || {
                    let mut last = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let v = **r.quiescent();
                        assert!(v >= last, "versions go forward");
                        last = v;
                    }
                    last
                })
            })
            .collect();
        for v in 1..=1000 {
            rcu.publish(v);
            rcu.reclaim();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for h in handles {
            assert_eq!(h.join().unwrap(), 1000);
        }
    }
}
