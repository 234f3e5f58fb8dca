//! `route load FILE via A [via B ...] [table T] [metric M]`: a route file, as in the
//! config's `route_files`, loaded all or nothing while the control core goes on.
//!
//! The file is read and parsed on a thread of its own, into a list; the control core
//! keeps answering commands meanwhile and, once the whole file has parsed, adds the list
//! to the RIB and publishes it in one commit. A bad line, a file that is not a regular
//! file or one with more than [`MAX_ROUTES`] routes changes nothing. One load runs at a
//! time; stopping the router drops a load in progress.

use crate::compile;
use crate::rib::{RibRoute, Source};
use crate::router::Router;
use conf::{quote, Config, Ipv4Net, RouteFileConf};
use fastpath::fib::{Prefix, RouteType};
use std::io::IsTerminal;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

/// Most routes one load may hold (16 times a full Internet table); the list costs
/// 9 bytes a route while it parses.
pub const MAX_ROUTES: usize = 16 << 20;

const USAGE: &str = "route load FILE via ADDR [via ADDR ...] [table T] [metric N]";

/// The parsed routes of a file: prefix and gateway.
type Parsed = Result<Vec<(Ipv4Net, Ipv4Addr)>, String>;

/// A load in progress.
pub struct Load {
    rf: RouteFileConf,
    /// The route each gateway of `via` gives.
    routes: Vec<(Ipv4Addr, RouteType)>,
    started: Instant,
    /// Routes parsed so far, for `show`ing progress.
    parsed: Arc<AtomicUsize>,
    /// Set when the load is dropped: the reader stops at its next line.
    cancel: Arc<AtomicBool>,
    result: Receiver<Parsed>,
}

impl Drop for Load {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Checks the command and starts reading the file.
pub fn start(cfg: &Config, router: &mut Router, words: &[&str]) -> Result<Load, String> {
    let (file, mut rest) = words.split_first().ok_or(format!("usage: {USAGE}"))?;
    let mut rf = RouteFileConf {
        path: file.into(),
        via: Vec::new(),
        metric: 0,
        table: fastpath::fib::TABLE_MAIN,
    };
    while let [k, v, tail @ ..] = rest {
        match *k {
            "via" => rf.via.push(
                v.parse()
                    .map_err(|_| format!("route load: {} is not an IPv4 address", quote(v)))?,
            ),
            "metric" => {
                rf.metric = v
                    .parse()
                    .map_err(|_| format!("route load: metric {} is not a number", quote(v)))?
            }
            "table" => {
                rf.table = cfg
                    .table_id(v)
                    .ok_or_else(|| format!("route load: unknown table {}", quote(v)))?
            }
            _ => {
                return Err(format!(
                    "route load: unknown keyword {}; usage: {USAGE}",
                    quote(k)
                ))
            }
        }
        rest = tail;
    }
    if !rest.is_empty() || rf.via.is_empty() {
        return Err(format!("usage: {USAGE}"));
    }
    let mut routes = Vec::with_capacity(rf.via.len());
    for gw in &rf.via {
        let r = compile::gateway_route(cfg, router, *gw, None)
            .map_err(|e| format!("route load: {e}"))?;
        routes.push((*gw, r));
    }
    // The file's kind is checked here too, so that the usual mistakes are answered at once.
    let meta = std::fs::metadata(&rf.path)
        .map_err(|e| format!("route load: {}: {e}", rf.path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "route load: {}: not a regular file: a route file must be a regular file",
            rf.path.display()
        ));
    }
    let parsed = Arc::new(AtomicUsize::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, result) = mpsc::sync_channel(1);
    {
        let (rf, parsed, cancel) = (rf.clone(), parsed.clone(), cancel.clone());
        thread::Builder::new()
            .name("route-load".into())
            .spawn(move || {
                let _ = tx.send(read(&rf, &parsed, &cancel));
            })
            .map_err(|e| format!("route load: cannot start the reader: {e}"))?;
    }
    Ok(Load {
        rf,
        routes,
        started: Instant::now(),
        parsed,
        cancel,
        result,
    })
}

/// Reads the whole file into a list (on the reader thread), with a progress line when
/// stderr is a terminal.
fn read(rf: &RouteFileConf, parsed: &AtomicUsize, cancel: &AtomicBool) -> Parsed {
    let tty = std::io::stderr().is_terminal();
    let t = Instant::now();
    let mut list = Vec::new();
    let mut too_many = false;
    conf::route_file::read_while(rf, |net, gw| {
        if list.len() == MAX_ROUTES {
            too_many = true;
            return false;
        }
        list.push((net, gw));
        if list.len() % 65536 == 0 {
            parsed.store(list.len(), Ordering::Relaxed);
            if tty {
                eprint!(
                    "\rroute load: {:>9} routes  {:>5.1} s",
                    list.len(),
                    t.elapsed().as_secs_f64()
                );
            }
        }
        !cancel.load(Ordering::Relaxed)
    })
    .map_err(|e| format!("route load: {e}; nothing was loaded"))?;
    if tty {
        eprintln!(
            "\rroute load: {:>9} routes  {:>5.1} s  read",
            list.len(),
            t.elapsed().as_secs_f64()
        );
    }
    if too_many {
        return Err(format!(
            "route load: {}: more than {MAX_ROUTES} routes; nothing was loaded",
            rf.path.display()
        ));
    }
    Ok(list)
}

impl Load {
    /// Routes parsed so far.
    pub fn progress(&self) -> String {
        format!(
            "route load of {} running: {} routes read in {:.1} s",
            self.rf.path.display(),
            self.parsed.load(Ordering::Relaxed),
            self.started.elapsed().as_secs_f64()
        )
    }

    /// Once the file has been read: adds its routes to the RIB, publishes, and returns
    /// the reply. None while the reader is still going.
    pub fn finish(&mut self, router: &mut Router) -> Option<Result<String, String>> {
        let list = match self.result.try_recv() {
            Ok(parsed) => parsed,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err("route load: the reader died".into()),
        };
        Some(list.map(|list| self.apply(router, &list)))
    }

    fn apply(&self, router: &mut Router, list: &[(Ipv4Net, Ipv4Addr)]) -> String {
        let read = self.started.elapsed();
        let (mut added, mut exists) = (0usize, 0usize);
        for &(net, gw) in list {
            let Some(&(_, route)) = self.routes.iter().find(|r| r.0 == gw) else {
                continue;
            };
            let r = RibRoute {
                metric: self.rf.metric,
                route,
                source: Source::File,
                nhid: None,
            };
            match router
                .rib
                .add(self.rf.table, Prefix::new(net.addr(), net.prefix_len()), r)
            {
                Ok(()) => added += 1,
                Err(_) => exists += 1,
            }
        }
        let changes = router.commit();
        format!(
            "loaded {} routes from {} in {:.2} s ({added} added, {exists} already present), \
             {changes} FIB changes published in {:.2} s, genid {}\n",
            list.len(),
            self.rf.path.display(),
            read.as_secs_f64(),
            (self.started.elapsed() - read).as_secs_f64(),
            router.work.genid
        )
    }
}
