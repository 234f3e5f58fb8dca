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
    /// The workers' copies of this capture carry it ([`Capture::begin`]).
    id: u8,
}

/// The control core's side: the session, and buffers for draining the rings.
#[derive(Default)]
pub struct Captures {
    pub session: Option<Session>,
    buf: Vec<(Mbuf, u8)>,
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
        // Copies left from an earlier capture go first (and any late one is told apart
        // by its session).
        let _ = self.capture_drain(false);
        let iface = iface as IfIndex;
        let id = self.dp.shared.capture.begin();
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
            id,
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
        // The last drain may reach the count (or fail) and end it itself.
        self.capture_drain(true).or_else(|| self.capture_finish())
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

    /// Takes the workers' copies: writes those of the capture running when `write` (up
    /// to its count, which ends it), frees the others. The summary if that ended the
    /// capture. The event loop's turn.
    pub fn capture_drain(&mut self, write: bool) -> Option<String> {
        let c = &mut self.captures;
        let id = c.session.as_ref().filter(|_| write).map(|s| s.id);
        for ring in &mut self.dp.captures {
            while ring.dequeue(&mut c.buf, fastpath::dpdk::mbuf::MAX_BURST) > 0 {
                // A copy of an earlier capture (or with none to write to) is freed here.
                c.copies.extend(
                    c.buf
                        .drain(..)
                        .filter(|(_, s)| Some(*s) == id)
                        .map(|(m, _)| m),
                );
            }
        }
        if c.copies.is_empty() {
            return None;
        }
        let s = c.session.as_mut()?;
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
                return self.capture_finish();
            }
        }
        if s.limit.is_some_and(|l| s.written >= l) {
            let msg = self.capture_finish();
            if let Some(m) = &msg {
                println!("{}", m.trim_end());
            }
            return msg;
        }
        None
    }
}
