//! `capture start PORT FILE [rx|tx|both] [count N]`, `capture stop`, `capture status`:
//! the in-app pcapng capture ([`fastpath::capture`]) for runs where `dpdk-dumpcap`
//! cannot attach (`--no-shconf`, `--no-huge`). One capture at a time; the workers' copies
//! are written on the control core as they come, and the file is closed at `count`
//! packets, at `capture stop`, or at exit. A file readable by tshark and Wireshark: one
//! interface block per port (named by DPDK), packets with their direction.

use crate::commands::Control;
use conf::quote;
use fastpath::capture::{RX, TX};
use fastpath::dpdk::mbuf::Mbuf;
use fastpath::dpdk::pcapng::Writer;
use fastpath::iface::IfIndex;
use fastpath::stats::Stat;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long `capture stop` waits for copies still on their way from the workers.
const DRAIN: Duration = Duration::from_millis(20);

/// A capture in progress.
pub struct Session {
    writer: Writer,
    iface: IfIndex,
    dirs: u8,
    path: PathBuf,
    limit: Option<u64>,
    written: u64,
    bytes: usize,
    started: Instant,
    dropped_at_start: u64,
}

/// The control core's side: the session, and buffers for draining the rings.
#[derive(Default)]
pub struct Captures {
    pub session: Option<Session>,
    buf: Vec<(Mbuf, ())>,
    copies: Vec<Mbuf>,
}

const USAGE: &str =
    "capture start PORT FILE [rx|tx|both] [count N] | capture stop | capture status";

fn dirs_name(d: u8) -> &'static str {
    match d {
        RX => "rx",
        TX => "tx",
        _ => "rx+tx",
    }
}

impl Control {
    /// `capture ...`.
    pub fn capture_cmd(&mut self, w: &[&str]) -> Result<String, String> {
        match w {
            ["start", port, file, rest @ ..] => self.capture_start(port, file, rest),
            ["stop"] => match self.capture_stop() {
                Some(s) => Ok(s),
                None => Err("capture stop: no capture is running".into()),
            },
            ["status"] => Ok(match &self.captures.session {
                Some(s) => format!(
                    "capture: {} {} to {}: {} packet(s), {} bytes written in {:.1} s{}\n",
                    self.routing.router.work.ifaces[s.iface as usize].name,
                    dirs_name(s.dirs),
                    s.path.display(),
                    s.written,
                    s.bytes,
                    s.started.elapsed().as_secs_f64(),
                    s.limit.map(|n| format!(" (count {n})")).unwrap_or_default()
                ),
                None => "capture: none running\n".into(),
            }),
            _ => Err(format!("usage: {USAGE}")),
        }
    }

    fn capture_start(&mut self, port: &str, file: &str, rest: &[&str]) -> Result<String, String> {
        if let Some(s) = &self.captures.session {
            return Err(format!(
                "a capture to {} is running: capture stop first",
                s.path.display()
            ));
        }
        let iface = self.ports(port)?;
        let [iface] = iface[..] else {
            return Err("capture start: one port at a time (a number or a name)".into());
        };
        let (mut dirs, mut limit) = (RX | TX, None);
        let mut words = rest.iter();
        while let Some(&word) = words.next() {
            match word {
                "rx" => dirs = RX,
                "tx" => dirs = TX,
                "both" => dirs = RX | TX,
                "count" => {
                    let n = words
                        .next()
                        .ok_or("capture start: count needs a number of packets")?;
                    limit = Some(n.parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!(
                            "capture start: count: expected a positive number, got {}",
                            quote(n)
                        )
                    })?);
                }
                w => {
                    return Err(format!(
                        "capture start: unexpected {}; usage: {USAGE}",
                        quote(w)
                    ))
                }
            }
        }
        let path = PathBuf::from(file);
        let writer = Writer::create(&path).map_err(|e| format!("capture start: {}", e.what))?;
        // Copies left from an earlier capture go first.
        self.capture_drain(false);
        let iface = iface as IfIndex;
        self.captures.session = Some(Session {
            writer,
            iface,
            dirs,
            path,
            limit,
            written: 0,
            bytes: 0,
            started: Instant::now(),
            dropped_at_start: self.capture_dropped(),
        });
        self.dp.shared.capture.set(iface, dirs);
        Ok(format!(
            "capture: {} {} to {}{}\n",
            self.routing.router.work.ifaces[iface as usize].name,
            dirs_name(dirs),
            file,
            limit
                .map(|n| format!(", {n} packet(s)"))
                .unwrap_or_default()
        ))
    }

    /// Ends the capture: no more copies, what is on its way written, the file closed.
    /// Its summary, or None if none was running.
    pub fn capture_stop(&mut self) -> Option<String> {
        let iface = self.captures.session.as_ref()?.iface;
        self.dp.shared.capture.set(iface, 0);
        std::thread::sleep(DRAIN);
        self.capture_drain(true);
        self.capture_finish()
    }

    fn capture_finish(&mut self) -> Option<String> {
        let s = self.captures.session.take()?;
        self.dp.shared.capture.set(s.iface, 0);
        let dropped = self.capture_dropped() - s.dropped_at_start;
        Some(format!(
            "capture: {} packet(s), {} bytes written to {} ({} not copied: capture pool or ring full)\n",
            s.written,
            s.bytes,
            s.path.display(),
            dropped
        ))
    }

    fn capture_dropped(&self) -> u64 {
        self.dp
            .stats
            .iter()
            .map(|s| s.snapshot().get(Stat::CaptureDropped))
            .sum()
    }

    /// Takes the workers' copies: writes them while a capture runs and `write` (up to
    /// its count, which ends it), frees them otherwise. The event loop's turn.
    pub fn capture_drain(&mut self, write: bool) {
        let c = &mut self.captures;
        for ring in &mut self.dp.captures {
            while ring.dequeue(&mut c.buf, fastpath::dpdk::mbuf::MAX_BURST) > 0 {
                c.copies.extend(c.buf.drain(..).map(|(m, ())| m));
            }
        }
        if c.copies.is_empty() {
            return;
        }
        let Some(s) = c.session.as_mut().filter(|_| write) else {
            c.copies.clear();
            return;
        };
        if let Some(limit) = s.limit {
            c.copies.truncate((limit - s.written) as usize);
        }
        let n = c.copies.len() as u64;
        match s.writer.write(&mut c.copies) {
            Ok(bytes) => {
                s.written += n;
                s.bytes += bytes;
            }
            Err(e) => {
                eprintln!("capture: {}: {e}; capture stopped", s.path.display());
                let _ = self.capture_finish();
                return;
            }
        }
        if s.limit.is_some_and(|l| s.written >= l) {
            let iface = s.iface;
            self.dp.shared.capture.set(iface, 0);
            if let Some(msg) = self.capture_finish() {
                println!("{}", msg.trim_end());
            }
        }
    }
}
