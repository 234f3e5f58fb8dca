//! testpmd's `start`/`stop` for the workers: whether they poll their RX queues, and
//! which ports are stopped (`port stop`), with the handshake that lets the control core
//! know when no worker touches what it is about to change.
//!
//! A worker reads [`FwdGate::epoch`] then [`FwdGate::paused`] at the top of every pass of
//! its loop. While paused it polls no RX queue but still does the rest of a pass: its RCU
//! quiescent state, what the control core handed it to send (dropped for a stopped
//! port), its tx buffers, its flow requests; then it acknowledges the epoch it read
//! ([`FwdGate::ack`]) and backs off for [`PAUSED_BACKOFF`]. The control core, after any
//! change (pause, a port marked stopped), bumps the epoch and waits until every worker
//! has acknowledged it ([`FwdGate::wait`]): that worker then began a whole pass after
//! the change, so the pass it was in when the change came (the one that might still
//! have received a burst, or sent on the port) is over. Every access is `SeqCst`: the
//! control core's store of the change and its bump of the epoch, and the worker's loads
//! of the epoch and then of the state, are then one total order, and a worker that read
//! the new epoch also reads the new state.
//!
//! Shared: control rw (`paused`, `stopped_ports`, `epoch`), each worker rw its own
//! `acked` slot (indexed by lcore id), the rest ro.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// How long a paused worker sleeps between two passes (it spins when forwarding).
pub const PAUSED_BACKOFF: Duration = Duration::from_millis(1);

/// At most this many ports can be marked stopped (one bit each).
pub const MAX_PORTS: usize = 64;

/// See the module doc.
#[derive(Debug)]
pub struct FwdGate {
    paused: AtomicBool,
    /// Bit i: interface i is stopped; nothing is sent on it.
    stopped_ports: AtomicU64,
    epoch: AtomicU64,
    /// Per lcore id: the last epoch its worker acknowledged (u64::MAX: not a worker).
    acked: Box<[AtomicU64]>,
}

impl FwdGate {
    /// A gate for workers on `lcores`, forwarding (not paused), every port started.
    pub fn new(lcores: &[u32]) -> FwdGate {
        let n = lcores.iter().max().map_or(0, |&l| l as usize + 1);
        let acked: Box<[AtomicU64]> = (0..n).map(|_| AtomicU64::new(u64::MAX)).collect();
        for &l in lcores {
            acked[l as usize].store(0, SeqCst);
        }
        FwdGate {
            paused: AtomicBool::new(false),
            stopped_ports: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            acked,
        }
    }

    // --- worker side

    /// The epoch, read first at the top of a pass.
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch.load(SeqCst)
    }

    /// Whether forwarding is stopped: no RX this pass. Read after [`FwdGate::epoch`].
    #[inline]
    pub fn paused(&self) -> bool {
        self.paused.load(SeqCst)
    }

    /// Whether interface `i` is stopped (nothing may be sent on it).
    #[inline]
    pub fn port_stopped(&self, i: usize) -> bool {
        i < MAX_PORTS && self.stopped_ports.load(SeqCst) & (1 << i) != 0
    }

    /// At the end of a paused pass: the worker on `lcore` has done a whole pass under
    /// the state of `epoch`.
    #[inline]
    pub fn ack(&self, lcore: u32, epoch: u64) {
        if let Some(a) = self.acked.get(lcore as usize) {
            a.store(epoch, SeqCst);
        }
    }

    // --- control side

    /// Stops (true) or resumes (false) the workers' RX; [`FwdGate::wait`] tells when a
    /// stop has taken effect.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, SeqCst);
    }

    /// Marks interface `i` stopped or started. Only while paused; [`FwdGate::wait`]
    /// tells when no worker can still be sending on it.
    pub fn set_port_stopped(&self, i: usize, stopped: bool) {
        if i >= MAX_PORTS {
            return;
        }
        if stopped {
            self.stopped_ports.fetch_or(1 << i, SeqCst);
        } else {
            self.stopped_ports.fetch_and(!(1 << i), SeqCst);
        }
    }

    /// Waits until every worker has done a whole paused pass since this call began
    /// (workers run on other lcores; a stopped worker never answers), at most `timeout`;
    /// false if some worker did not. Meaningful only while paused: a forwarding worker
    /// does not acknowledge.
    pub fn wait(&self, timeout: Duration) -> bool {
        let e = self.epoch.fetch_add(1, SeqCst) + 1;
        let end = Instant::now() + timeout;
        loop {
            let done = self
                .acked
                .iter()
                .map(|a| a.load(SeqCst))
                .all(|a| a == u64::MAX || a >= e);
            if done {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// A worker loop shaped like `worker::run`: counts what it "receives" while the gate
    /// is open, and checks that it never sends on a stopped port.
    fn worker(g: Arc<FwdGate>, lcore: u32, rx: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
        while !stop.load(SeqCst) {
            let e = g.epoch();
            let paused = g.paused();
            if !paused {
                rx.fetch_add(1, SeqCst);
                assert!(!g.port_stopped(0), "forwarding with a stopped port");
            }
            if paused {
                g.ack(lcore, e);
                std::thread::yield_now();
            }
        }
    }

    #[test]
    fn wait_returns_once_no_worker_receives_any_more() {
        let g = Arc::new(FwdGate::new(&[1, 3]));
        let rx = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = [1, 3]
            .into_iter()
            .map(|l| {
                let (g, rx, stop) = (g.clone(), rx.clone(), stop.clone());
                std::thread::spawn(move || worker(g, l, rx, stop))
            })
            .collect();
        for _ in 0..200 {
            g.set_paused(true);
            assert!(g.wait(Duration::from_secs(5)));
            let n = rx.load(SeqCst);
            g.set_port_stopped(0, true);
            assert!(g.wait(Duration::from_secs(5)));
            std::thread::sleep(Duration::from_micros(50));
            assert_eq!(rx.load(SeqCst), n, "a worker received after the stop");
            g.set_port_stopped(0, false);
            g.set_paused(false);
        }
        stop.store(true, SeqCst);
        for h in hs {
            h.join().unwrap();
        }
    }

    #[test]
    fn a_worker_that_does_not_pass_is_waited_for_until_the_timeout() {
        let g = FwdGate::new(&[2]);
        g.set_paused(true);
        g.ack(2, g.epoch());
        assert!(
            !g.wait(Duration::from_millis(5)),
            "an ack from before the call"
        );
        assert!(!g.port_stopped(70) && !g.port_stopped(1));
        g.set_port_stopped(1, true);
        assert!(g.port_stopped(1) && !g.port_stopped(0));
    }
}
