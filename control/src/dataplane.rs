//! Bring-up and shutdown of the data plane on EAL: mempool, ports (probed from the
//! config), queue mapping, worker lcores; and the orderly stop that ends with every mbuf
//! back in its pool.

use crate::compile::set_port;
use crate::router::Router;
use crate::slowpath::Io;
use anyhow::{Context, Result};
use conf::Config;
use fastpath::capture::Capture;
use fastpath::dpdk::mbuf::{Burst, Mbuf};
use fastpath::dpdk::mempool::Mempool;
use fastpath::dpdk::pcapng;
use fastpath::dpdk::port::{self, PortInfo, PortSetup};
use fastpath::dpdk::ring::{self, Consumer, Producer};
use fastpath::dpdk::{eal, tsc_hz, DpdkError};
use fastpath::flowtable::FlowCtl;
use fastpath::fwd_gate::FwdGate;
use fastpath::iface::IfIndex;
use fastpath::punt::Punt;
use fastpath::rcu::Rcu;
use fastpath::stats::{LcoreStats, Stat, MAX_RX_QUEUES};
use fastpath::worker::{self, RxQueue, Shared, WorkerConf, WorkerRings};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Per-lcore mempool cache (DESIGN.md section 6).
const MEMPOOL_CACHE: u32 = 256;
/// Slots of each worker's punt ring and of the control core's ring to worker 0.
const RING_SIZE: u32 = 512;
/// Mbufs for captured copies (`capture start`), apart from the packet pool.
const CAPTURE_MBUFS: u32 = 2047;

/// A bring-up failure caused by the command line or the config rather than by the run
/// (too few lcores for the ports, rings that do not fit `settings.mbufs`).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit status for a failed run: 2 (bad usage or config) when the cause is in the
/// options or the config (a [`UsageError`], or a [`DpdkError`] that says so: unknown
/// driver, missing device or pcap, bad lcore list, file prefix in use), else 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let usage = e
        .chain()
        .any(|c| c.is::<UsageError>() || c.downcast_ref::<DpdkError>().is_some_and(|d| d.usage));
    if usage {
        2
    } else {
        1
    }
}

/// A running data plane. Shared: control rw, workers ro (through `shared`).
pub struct Dataplane {
    pub shared: Arc<Shared>,
    pub ports: Vec<PortState>,
    pub workers: Vec<WorkerConf>,
    /// One per worker, then the control core's.
    pub stats: Vec<Arc<LcoreStats>>,
    pub pool: Mempool,
    /// What each worker punts.
    pub punts: Vec<Consumer<Punt>>,
    /// What each worker captured (`capture start`).
    pub captures: Vec<Consumer<u8>>,
    /// Per worker: requests about its flows, and its flowtable gauges.
    pub flows: Vec<Arc<FlowCtl>>,
    pub tx: ControlTx,
    /// The workers' loops, until [`Dataplane::launch`] starts them.
    pending: Vec<(u32, WorkerJob)>,
}

type WorkerJob = Box<dyn FnOnce() -> i32 + Send>;

/// How the control core sends: on its own tx queue of a port when the port has one more
/// than the workers use, else through worker 0, which sends on its own queue.
pub struct ControlTx {
    /// Per interface: (port id, the control core's queue and its burst), or None.
    queues: Vec<Option<(u16, u16, Burst)>>,
    to_worker: Producer<IfIndex>,
    stats: Arc<LcoreStats>,
    /// Which ports are stopped (`port stop`): nothing is sent on them.
    shared: Arc<Shared>,
}

impl ControlTx {
    /// Sends what was buffered.
    pub fn flush(&mut self) {
        for (port, queue, burst) in self.queues.iter_mut().flatten() {
            send(burst, *port, *queue, &self.stats);
        }
        self.flush_to_worker();
    }

    /// Hands worker 0 what was staged for it; what its ring has no room for is dropped.
    fn flush_to_worker(&mut self) {
        let stats = &self.stats;
        self.to_worker.flush(|m, _| {
            drop(m);
            stats.inc(Stat::TxDropped);
        });
    }
}

/// Sends a burst on the control core's queue, counting what went and what the queue
/// refused.
fn send(burst: &mut Burst, port: u16, queue: u16, stats: &LcoreStats) {
    let (sent, dropped) = burst.tx(port, queue);
    stats.add(Stat::TxPackets, sent as u64);
    stats.add(Stat::TxDropped, dropped as u64);
}

/// The slow path's I/O on the data plane: buffers from the pool, frames to [`ControlTx`].
pub struct DpIo<'a> {
    pub pool: &'a Mempool,
    pub tx: &'a mut ControlTx,
}

impl Io<Mbuf> for DpIo<'_> {
    fn alloc(&mut self) -> Option<Mbuf> {
        Mbuf::alloc(self.pool)
    }

    fn send(&mut self, iface: IfIndex, m: Mbuf) {
        let tx = &mut *self.tx;
        if tx.shared.fwd.port_stopped(iface as usize) {
            drop(m);
            tx.stats.inc(Stat::TxDropped);
            return;
        }
        match &mut tx.queues[iface as usize] {
            Some((port, queue, burst)) => {
                if burst.is_full() {
                    send(burst, *port, *queue, &tx.stats);
                }
                burst.push(m);
            }
            None => {
                // A full stage is flushed, after which the packet fits.
                let mut m = m;
                while let Err((back, _)) = tx.to_worker.push(m, iface) {
                    tx.flush_to_worker();
                    m = back;
                }
            }
        }
    }
}

/// A port as the control core knows it.
pub struct PortState {
    pub info: PortInfo,
    pub rx_queues: u16,
    pub tx_queues: u16,
    /// The RSS hash types asked of the device (0: none, the device spreads as it does).
    pub rss_hf: u64,
    /// The lcore polling each rx queue.
    pub rxq_lcores: Vec<u32>,
}

/// Probes and starts every port, and readies one worker per EAL worker lcore
/// ([`Dataplane::launch`] starts them).
pub fn start(cfg: &Config, router: &mut Router) -> Result<Dataplane> {
    let snap = &mut router.work;
    let lcores = eal::worker_lcores();
    if lcores.is_empty() {
        return Err(UsageError("no worker lcore: the main lcore is the control core, give at least two lcores (e.g. -l 0-1)".into()).into());
    }
    let nworkers = lcores.len() as u16;
    let burst = cfg.settings.burst as usize;

    // Probe every device before configuring any, so a bad device stops us early.
    let mut infos = Vec::new();
    for p in &cfg.ports {
        let id = eal::probe_device(&p.device).with_context(|| format!("port {}", p.name))?;
        let info = port::info(id).with_context(|| format!("port {}", p.name))?;
        if info.max_tx_queues < nworkers {
            return Err(UsageError(format!(
                "port {} ({}): {} can have {} tx queue(s) but each of the {nworkers} workers needs its own; use fewer worker lcores",
                p.name, p.device, info.driver, info.max_tx_queues
            ))
            .into());
        }
        infos.push(info);
    }

    let mut workers: Vec<WorkerConf> = lcores
        .iter()
        .enumerate()
        .map(|(i, &lcore)| WorkerConf {
            lcore,
            rx: Vec::new(),
            tx_queue: i as u16,
            burst,
        })
        .collect();
    let mut ports = Vec::new();
    let mut needed: u32 = 0;
    let mut rxqs = Vec::new();
    for (p, info) in cfg.ports.iter().zip(&infos) {
        let max = info.max_rx_queues.max(1);
        let n = match p.rx_queues {
            Some(n) if n > max => {
                return Err(UsageError(format!(
                    "port {} ({}): rx_queues {n} but {} has at most {max}",
                    p.name, p.device, info.driver
                ))
                .into())
            }
            Some(n) => n,
            None => nworkers.min(max),
        };
        rxqs.push(n);
    }
    // Queue q of every port on worker q mod W when all ports have the same number of
    // queues, so that the two directions of a flow, which a symmetric hash puts on the
    // same queue index of their ports, meet on one worker (its conntrack sees both);
    // else the queues are dealt out in turn, to spread single-queue ports.
    let aligned = rxqs.iter().all(|&n| n == rxqs[0]) && rxqs[0] > 1;
    let mut next = 0usize;
    for (i, ((p, info), &rx_queues)) in cfg.ports.iter().zip(&infos).zip(&rxqs).enumerate() {
        let mut rxq_lcores = Vec::new();
        for q in 0..rx_queues {
            let w = if aligned { q as usize } else { next } % nworkers as usize;
            next += 1;
            workers[w].rx.push(RxQueue {
                iface: i as IfIndex,
                port_id: info.port_id,
                queue: q,
            });
            rxq_lcores.push(workers[w].lcore);
        }
        // The control core's own queue, where the port has one to spare.
        let tx_queues = if info.max_tx_queues > nworkers {
            nworkers + 1
        } else {
            nworkers
        };
        needed += rx_queues as u32 * p.rx_desc as u32 + tx_queues as u32 * p.tx_desc as u32;
        ports.push(PortState {
            info: info.clone(),
            rx_queues,
            tx_queues,
            rss_hf: if rx_queues > 1 {
                port::rss::WANTED & info.rss_offloads
            } else {
                0
            },
            rxq_lcores,
        });
    }
    if let Some(w) = workers.iter().find(|w| w.rx.len() > MAX_RX_QUEUES) {
        return Err(UsageError(format!(
            "lcore {} would poll {} rx queues; at most {MAX_RX_QUEUES} per worker: use fewer rx_queues or more lcores",
            w.lcore,
            w.rx.len()
        ))
        .into());
    }
    // Rings full, plus every lcore cache full, plus a burst in flight per worker, plus
    // the punt rings.
    needed += (nworkers as u32 + 1) * (MEMPOOL_CACHE + 2 * burst as u32);
    needed += (nworkers as u32 + 1) * RING_SIZE;
    if cfg.settings.mbufs < needed {
        return Err(UsageError(format!("settings.mbufs = {} is too small for the configured rings and lcore caches: need at least {needed}", cfg.settings.mbufs)).into());
    }
    let socket = eal::lcore_socket(eal::main_lcore());
    let pool = Mempool::new("fastpath_mbufs", cfg.settings.mbufs, MEMPOOL_CACHE, socket)?;

    for (i, (p, st)) in cfg.ports.iter().zip(&ports).enumerate() {
        let id = st.info.port_id;
        let setup = PortSetup {
            rx_queues: st.rx_queues,
            tx_queues: st.tx_queues,
            rx_desc: p.rx_desc,
            tx_desc: p.tx_desc,
            mtu: p.mtu,
            mac: p.mac.map(|m| m.0),
            rss_hf: st.rss_hf,
            rss_key_len: st.info.hash_key_size,
        };
        port::configure(id, &setup, &pool).with_context(|| format!("port {}", p.name))?;
        port::start(id).with_context(|| format!("port {}", p.name))?;
        set_port(snap, i as IfIndex, id, port::mac(id)?);
    }

    router.publish();
    let rcu = Arc::new(Rcu::new(router.work.clone()));
    router.rcu = Some(rcu.clone());
    // Captured copies: a frame of the largest MTU, with its Ethernet header and a VLAN.
    let snaplen = cfg.ports.iter().map(|p| p.mtu as u32).max().unwrap_or(1500) + 18;
    let capture_pool = Mempool::with_data_room(
        "fastpath_capture",
        CAPTURE_MBUFS,
        0,
        pcapng::data_room(snaplen),
        socket,
    )?;
    let shared = Arc::new(Shared {
        snapshot: rcu,
        stop: AtomicBool::new(false),
        fwd: FwdGate::new(&lcores),
        tsc_hz: tsc_hz(),
        capture: Capture::new(cfg.ports.len(), capture_pool, snaplen, tsc_hz()),
    });
    let mut stats: Vec<Arc<LcoreStats>> = workers
        .iter()
        .map(|w| Arc::new(LcoreStats::new(w.lcore)))
        .collect();
    let (to_worker, from_control) = ring::channel::<IfIndex>("fp_ctl_tx", RING_SIZE, socket)?;
    let mut from_control = Some(from_control);
    let mut punts = Vec::new();
    let mut captures = Vec::new();
    let mut pending = Vec::new();
    let flows: Vec<Arc<FlowCtl>> = workers.iter().map(|_| Arc::default()).collect();
    for (i, (w, st)) in workers.iter().zip(&stats).enumerate() {
        let (punt, from) = ring::channel::<Punt>(&format!("fp_punt_{i}"), RING_SIZE, socket)?;
        punts.push(from);
        let (capture, from) = ring::channel::<u8>(&format!("fp_cap_{i}"), RING_SIZE, socket)?;
        captures.push(from);
        let rings = WorkerRings {
            punt,
            inject: if i == 0 { from_control.take() } else { None },
            flows: flows[i].clone(),
            capture,
        };
        let (w2, sh, st) = (w.clone(), shared.clone(), st.clone());
        pending.push((
            w.lcore,
            Box::new(move || worker::run(&w2, &sh, &st, rings)) as WorkerJob,
        ));
    }
    let control_stats = Arc::new(LcoreStats::new(eal::main_lcore()));
    stats.push(control_stats.clone());
    let queues = ports
        .iter()
        .map(|p| (p.tx_queues > nworkers).then(|| (p.info.port_id, nworkers, Burst::default())))
        .collect();
    Ok(Dataplane {
        shared: shared.clone(),
        ports,
        workers,
        stats,
        pool,
        punts,
        captures,
        flows,
        pending,
        tx: ControlTx {
            queues,
            to_worker,
            stats: control_stats,
            shared,
        },
    })
}

impl Dataplane {
    /// Starts the workers on their lcores, once the control core has published what
    /// they start with (so that no genid moves under them at start).
    pub fn launch(&mut self) -> Result<()> {
        for (lcore, job) in self.pending.drain(..) {
            eal::launch(lcore, job)?;
        }
        Ok(())
    }

    /// Stops the workers (they flush their tx buffers) and the ports.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        eal::wait_all();
        for p in &self.ports {
            if let Err(e) = port::stop(p.info.port_id) {
                eprintln!("warning: {e}");
            }
        }
    }

    /// Closes the ports (releasing the mbufs their rings hold) and returns how many mbufs
    /// are still out of the pool: 0 unless something leaked.
    pub fn close(self) -> (u32, u32) {
        // What is still in the punt and capture rings and control's buffers goes back
        // first.
        drop(self.punts);
        drop(self.captures);
        drop(self.tx);
        for p in &self.ports {
            if let Err(e) = port::close(p.info.port_id) {
                eprintln!("warning: {e}");
            }
        }
        let capture = self.shared.capture.pool();
        let r = (
            self.pool.in_use() + capture.in_use(),
            self.pool.size() + capture.size(),
        );
        drop(self.pool);
        r
    }
}
