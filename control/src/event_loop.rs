//! The control core's one loop: it answers the CLI, the control socket and
//! `--cmdline-file` (requests from their threads, one at a time), hands out the answer of
//! a `route load` once its file has been read, runs the slow path (punted packets,
//! neighbour timers: [`Control::slow_poll`]), reclaims the snapshots every worker has
//! moved past (RCU), and watches for a stop: `quit`, a signal, or idle ports. Later
//! periodic work (exception expiry, flow GC) belongs here too.

use crate::commands::Control;
use crate::ctl::{Command, Request};
use crate::reply::Reply;
use fastpath::dpdk::port;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// How long the loop waits for a request before its periodic work.
const TICK: Duration = Duration::from_millis(1);
/// The longest a command waits for every worker to use the state it changed.
const SYNC_TIMEOUT: Duration = Duration::from_millis(100);

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `quit` (its reply has been sent).
    Quit,
    /// `term` was set (SIGTERM, or SIGINT without the prompt).
    Signal,
    /// No port received anything for this long (`--idle-exit`).
    Idle(Duration),
}

/// Runs until a stop.
pub fn run(
    control: &mut Control,
    rx: &Receiver<Request>,
    term: &AtomicBool,
    idle: Option<Duration>,
) -> Stop {
    let mut last_rx = (u64::MAX, Instant::now());
    // Who waits for the answer of the `route load` in progress.
    let mut waiting: Option<Sender<Reply>> = None;
    // Punted packets left over: no waiting for a request.
    let mut busy = false;
    loop {
        match rx.recv_timeout(if busy { Duration::ZERO } else { TICK }) {
            Ok(Request {
                cmd: Command::Metrics(to),
                ..
            }) => {
                let _ = to.send(control.metrics());
            }
            Ok(Request { cmd, reply }) => {
                let genid = control.routing.router.work.genid;
                let r = match cmd {
                    Command::Line(line) => control.execute(&line),
                    Command::Resume(cursor) => Some(control.resume(cursor)),
                    Command::Metrics(_) => unreachable!("answered above"),
                };
                // A change is answered once every worker uses it.
                if control.routing.router.work.genid != genid {
                    control.routing.router.synchronize(SYNC_TIMEOUT);
                }
                match r {
                    Some(r) => {
                        let quit = matches!(r, Reply::Done { quit: true, .. });
                        let _ = reply.send(r);
                        if quit {
                            return Stop::Quit;
                        }
                    }
                    None => waiting = Some(reply),
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        busy = control.slow_poll();
        if let Some(r) = control.poll() {
            if let Some(w) = waiting.take() {
                let _ = w.send(r);
            }
        }
        // Free snapshots every worker has moved past (RCU grace period over).
        if let Some(rcu) = &control.routing.router.rcu {
            rcu.reclaim();
        }
        if term.load(Ordering::Relaxed) {
            return Stop::Signal;
        }
        if let Some(idle) = idle {
            let total: u64 = control
                .dp
                .ports
                .iter()
                .map(|p| port::stats(p.info.port_id).ipackets)
                .sum();
            if total != last_rx.0 {
                last_rx = (total, Instant::now());
            } else if last_rx.1.elapsed() >= idle {
                return Stop::Idle(idle);
            }
        }
    }
}
