//! How the control core asks a worker about its flows without touching them: it posts a
//! request ([`FlowOp`]) with a sequence number, the worker serves it between two passes
//! of its loop (a dump into [`FlowCtl::take_dump`]'s buffer, or a flush) and posts the
//! same number back. The worker also publishes its gauges here after every pass. Shared:
//! control writes the request, the worker writes the rest.

use super::{Flows, Tuple};
use crate::conntrack::CtState;
use crate::stats::LcoreStats;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A request to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FlowOp {
    Dump = 1,
    Flush = 2,
}

/// One connection as `show flows` prints it.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    pub tuple: [Tuple; 2],
    pub state: CtState,
    pub replied: bool,
    pub offloaded: bool,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub age_secs: u64,
    pub idle_secs: u64,
}

/// A worker's end of the flow requests, and its gauges.
#[derive(Debug, Default)]
pub struct FlowCtl {
    /// `seq << 8 | op` of the last request (control writes).
    req: AtomicU64,
    /// The last request served (worker writes).
    done: AtomicU64,
    dump: Mutex<Vec<FlowInfo>>,
    /// Connections tracked and offloaded (worker writes).
    pub flows: AtomicU32,
    pub offloaded: AtomicU32,
}

impl FlowCtl {
    /// Posts `op` and waits up to `timeout` for the worker to serve it; false if it did
    /// not (stopped, or stuck).
    pub fn request(&self, op: FlowOp, timeout: Duration) -> bool {
        let seq = (self.req.load(Ordering::Relaxed) >> 8) + 1;
        let v = seq << 8 | op as u64;
        self.req.store(v, Ordering::Release);
        let end = Instant::now() + timeout;
        while self.done.load(Ordering::Acquire) != v {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        true
    }

    /// What the last served dump found.
    pub fn take_dump(&self) -> Vec<FlowInfo> {
        std::mem::take(&mut *self.dump.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Worker side, between passes: publishes the gauges and serves a pending request.
    /// Never blocks: if the dump buffer is busy, the request waits for the next pass.
    #[inline]
    pub fn serve(&self, flows: &mut Flows, now: u64, stats: &LcoreStats) {
        self.flows.store(flows.table.len(), Ordering::Relaxed);
        self.offloaded.store(flows.offloaded, Ordering::Relaxed);
        let v = self.req.load(Ordering::Acquire);
        if v == self.done.load(Ordering::Relaxed) {
            return;
        }
        self.serve_slow(v, flows, now, stats);
    }

    #[cold]
    fn serve_slow(&self, v: u64, flows: &mut Flows, now: u64, stats: &LcoreStats) {
        match v & 0xff {
            x if x == FlowOp::Dump as u64 => {
                let Ok(mut out) = self.dump.try_lock() else {
                    return;
                };
                out.clear();
                flows.dump(now, &mut out);
            }
            x if x == FlowOp::Flush as u64 => flows.flush(stats),
            _ => {}
        }
        self.done.store(v, Ordering::Release);
    }
}
