//! testpmd's forwarding commands, with testpmd's words and layouts (app/test-pmd:
//! `start_packet_forwarding`, `stop_packet_forwarding`, `fwd_stats_display`,
//! `start_port`/`stop_port`, config.c's `nic_xstats_display`, `rxtx_config_display`,
//! `fwd_lcores_config_display`, `pkt_fwd_config_display`), adapted to a router: the
//! forwarding mode is [`FWD_MODE`], and a stream is one (port, rx queue) a worker polls,
//! routed to whichever port the FIB picks.
//!
//! - `stop`: the workers stop polling RX ([`fastpath::fwd_gate`]); once each has finished
//!   the pass it was in, the forward statistics since the last `start` (or since launch:
//!   forwarding starts at once, as testpmd's `--auto-start`) are printed, from the NIC
//!   counters as testpmd does.
//! - `start`: the counters' baseline is taken and the workers poll again.
//! - `port stop|start (N|all)`: `rte_eth_dev_stop`/`rte_eth_dev_start`, only while
//!   forwarding is stopped; nothing is sent on a stopped port.
//! - `port config mtu (N|all) VALUE` (testpmd's `port_mtu_set`): the device's MTU and
//!   the one the pipeline enforces, at once, while forwarding.
//! - `show|clear port xstats (N|all)`, `show config rxtx|cores|fwd`.
//!
//! What testpmd prints on stderr for a refused command is an `error:` reply here.

use crate::commands::Control;
use crate::dataplane::Dataplane;
use crate::reply::Reply;
use fastpath::dpdk::eal;
use fastpath::dpdk::port::{self, PortStats, QueueInfo};
use fastpath::stats::{Stat, StatsSnapshot};
use std::fmt::Write;
use std::time::Duration;

/// The forwarding mode's name, where testpmd says `io` or `mac`.
pub const FWD_MODE: &str = "ipv4-routing";

/// The longest a command waits for the workers to finish their pass.
const WAIT: Duration = Duration::from_secs(2);

const FWD_BORDER: &str = "----------------------";
const ACC_BORDER: &str = "+++++++++++++++";

/// Whether forwarding runs, since when the counters count, which ports are stopped.
/// Owned by the control core.
pub struct FwdState {
    running: bool,
    /// Per port: the NIC counters when forwarding last started (testpmd's `port->stats`).
    base: Vec<PortStats>,
    /// Per lcore (workers, then the control core): their counters then.
    lcore_base: Vec<StatsSnapshot>,
    /// Per port: stopped by `port stop`.
    stopped: Vec<bool>,
}

impl FwdState {
    /// Forwarding as it is at launch: running, counting from now.
    pub fn new(dp: &Dataplane) -> FwdState {
        let mut s = FwdState {
            running: true,
            base: Vec::new(),
            lcore_base: Vec::new(),
            stopped: vec![false; dp.ports.len()],
        };
        s.rebase_all(dp);
        s
    }

    fn rebase_all(&mut self, dp: &Dataplane) {
        self.base = dp
            .ports
            .iter()
            .map(|p| port::stats(p.info.port_id))
            .collect();
        self.lcore_base = dp.stats.iter().map(|s| s.snapshot()).collect();
    }

    /// After port `i`'s NIC counters were reset (`clear port stats|xstats`): they count
    /// from zero again, and so does its forward statistics (as testpmd's
    /// `nic_stats_clear`).
    pub fn rebase(&mut self, i: usize, dp: &Dataplane) {
        if let (Some(b), Some(p)) = (self.base.get_mut(i), dp.ports.get(i)) {
            *b = port::stats(p.info.port_id);
        }
    }
}

/// Runs the commands of this module; anything else is an unknown command.
pub fn dispatch(c: &mut Control, w: &[&str]) -> Result<Reply, String> {
    let text = match w {
        ["start"] => start(c)?,
        ["stop"] => stop(c)?,
        ["port", "stop", which] => port_stop(c, which)?,
        ["port", "start", which] => port_start(c, which)?,
        ["port", "config", "mtu", which, value] => port_mtu(c, which, value)?,
        ["show", "port", "xstats", which] => {
            let mut out = String::new();
            for i in c.ports(which)? {
                match port::xstats(c.dp.ports[i].info.port_id) {
                    Ok(x) => xstats_text(&mut out, i, &x),
                    Err(e) => return Err(format!("port {i}: {e}")),
                }
            }
            out
        }
        ["clear", "port", "xstats", which] => {
            let mut out = String::new();
            for i in c.ports(which)? {
                let id = c.dp.ports[i].info.port_id;
                port::reset_xstats(id).map_err(|e| e.to_string())?;
                c.testpmd.rebase(i, &c.dp);
                c.last_show[i] = None;
                let _ = writeln!(out, "\n  NIC extended statistics for port {i} cleared");
            }
            out
        }
        ["show", "config", "rxtx"] => rxtx_config(c),
        ["show", "config", "cores"] => cores_config(c),
        ["show", "config", "fwd"] => fwd_config(c),
        _ => return Err(c.unknown(w)),
    };
    Ok(Reply::ok(text))
}

/// `start` (testpmd's `start_packet_forwarding`).
fn start(c: &mut Control) -> Result<String, String> {
    if let Some(i) = c.testpmd.stopped.iter().position(|&s| s) {
        return Err(format!(
            "Not all ports were started: port {i} ({}) is stopped (port start {i}, or port start all)",
            c.routing.router.work.ifaces[i].name
        ));
    }
    if c.testpmd.running {
        return Err("Packet forwarding already started".into());
    }
    let mut out = fwd_config(c);
    out.push_str(&rxtx_config(c));
    c.testpmd.rebase_all(&c.dp);
    c.dp.shared.fwd.set_paused(false);
    c.testpmd.running = true;
    Ok(out)
}

/// `stop` (testpmd's `stop_packet_forwarding`, then `fwd_stats_display`).
fn stop(c: &mut Control) -> Result<String, String> {
    if !c.testpmd.running {
        return Err("Packet forwarding not started".into());
    }
    let mut out = String::from("Telling cores to stop...");
    let gate = &c.dp.shared.fwd;
    gate.set_paused(true);
    c.testpmd.running = false;
    out.push_str("\nWaiting for lcores to finish...\n");
    if !gate.wait(WAIT) {
        return Err(format!(
            "forwarding is stopped, but a worker did not finish its pass within {} s",
            WAIT.as_secs()
        ));
    }
    let ports: Vec<PortStats> =
        c.dp.ports
            .iter()
            .zip(&c.testpmd.base)
            .map(|(p, b)| since(&port::stats(p.info.port_id), b))
            .collect();
    let lcores =
        c.dp.stats
            .iter()
            .zip(&c.testpmd.lcore_base)
            .fold(StatsSnapshot::default(), |t, (s, b)| {
                t.plus(&s.snapshot().since(b))
            });
    fwd_stats_text(&mut out, &ports, &lcores);
    out.push_str("\nDone.\n");
    Ok(out)
}

/// NIC counters since `b` (saturating: a driver may reset behind our back).
fn since(s: &PortStats, b: &PortStats) -> PortStats {
    PortStats {
        ipackets: s.ipackets.saturating_sub(b.ipackets),
        opackets: s.opackets.saturating_sub(b.opackets),
        ibytes: s.ibytes.saturating_sub(b.ibytes),
        obytes: s.obytes.saturating_sub(b.obytes),
        imissed: s.imissed.saturating_sub(b.imissed),
        ierrors: s.ierrors.saturating_sub(b.ierrors),
        oerrors: s.oerrors.saturating_sub(b.oerrors),
        rx_nombuf: s.rx_nombuf.saturating_sub(b.rx_nombuf),
    }
}

/// testpmd's `fwd_stats_display`: a block per port (RX-dropped: the NIC's missed
/// packets; TX-dropped: its output errors), then the accumulated block, whose TX-dropped
/// also counts what the router's tx queues refused (testpmd's own `tx_dropped`), then
/// what the router did with the packets (the reasons: `show fwd stats`).
pub fn fwd_stats_text(out: &mut String, ports: &[PortStats], lcores: &StatsSnapshot) {
    let row = |out: &mut String, dir: &str, pkts: u64, dropped: u64| {
        let _ = writeln!(
            out,
            "  {dir}-packets: {pkts:<14} {dir}-dropped: {dropped:<14}{dir}-total: {}",
            pkts + dropped
        );
    };
    let mut total = PortStats::default();
    for (i, s) in ports.iter().enumerate() {
        total.ipackets += s.ipackets;
        total.imissed += s.imissed;
        total.opackets += s.opackets;
        total.oerrors += s.oerrors;
        total.rx_nombuf += s.rx_nombuf;
        let _ = writeln!(
            out,
            "\n  {FWD_BORDER} Forward statistics for port {i:<2} {FWD_BORDER}"
        );
        row(out, "RX", s.ipackets, s.imissed);
        if s.ierrors + s.rx_nombuf > 0 {
            let _ = writeln!(out, "  RX-error: {}", s.ierrors);
            let _ = writeln!(out, "  RX-nombufs: {:<14}", s.rx_nombuf);
        }
        row(out, "TX", s.opackets, s.oerrors);
        let _ = writeln!(out, "  {FWD_BORDER}{}{FWD_BORDER}", "-".repeat(32));
    }
    let _ = writeln!(
        out,
        "\n  {ACC_BORDER} Accumulated forward statistics for all ports{ACC_BORDER}"
    );
    row(out, "RX", total.ipackets, total.imissed);
    let tx_dropped = total.oerrors + lcores.get(Stat::TxDropped);
    row(out, "TX", total.opackets, tx_dropped);
    if total.rx_nombuf > 0 {
        let _ = writeln!(out, "  RX-nombufs: {:<14}", total.rx_nombuf);
    }
    let _ = writeln!(out, "  {ACC_BORDER}{}{ACC_BORDER}", "+".repeat(46));
    let _ = writeln!(
        out,
        "\n  Routed: forwarded {} - dropped {} - to the control core {} (reasons: show fwd stats)",
        lcores.get(Stat::Forwarded),
        lcores.total_drops(),
        lcores.get(Stat::Punted)
    );
}

/// The largest MTU a port may get: a frame (with a VLAN tag) must fit in one mbuf, since
/// scatter is not enabled.
const MAX_MTU: u16 = port::MAX_FRAME_MTU;

/// `port config mtu (N|all) VALUE` (testpmd's `port_mtu_set`). The device gets the new MTU
/// and the workers use it from their next burst (a new snapshot, so every cached dst is
/// rebuilt with it). Going down, the pipeline's MTU changes first and then the device's,
/// going up the other way round, so that nothing larger than the device takes is sent.
fn port_mtu(c: &mut Control, which: &str, value: &str) -> Result<String, String> {
    let ports = c.ports(which)?;
    let mtu = match value.parse::<u16>() {
        Ok(m) if (68..=MAX_MTU).contains(&m) => m,
        _ => {
            return Err(format!(
                "port config mtu: {} is not an MTU (68 to {MAX_MTU})",
                conf::quote(value)
            ))
        }
    };
    for &i in &ports {
        let info = &c.dp.ports[i].info;
        if mtu < info.min_mtu || mtu > info.max_mtu {
            return Err(format!(
                "Set MTU failed: port {i}: MTU {mtu} is out of the device's range ({} to {})",
                info.min_mtu, info.max_mtu
            ));
        }
    }
    let mut out = String::new();
    for i in ports {
        let old = c.routing.router.work.ifaces[i].mtu;
        let id = c.dp.ports[i].info.port_id;
        let set_sw = |c: &mut Control, m: u16| {
            c.routing.router.work.ifaces[i].mtu = m;
            c.routing.cfg.ports[i].mtu = m;
            c.routing.router.publish();
            c.routing.router.synchronize(WAIT);
        };
        if mtu < old {
            set_sw(c, mtu);
        }
        // Drivers that cannot change their MTU (pcap) keep forwarding with the pipeline's,
        // as at start (port::configure).
        match port::set_mtu(id, mtu) {
            Ok(()) => {}
            Err(e) if e.errno == 95 => {}
            Err(e) => {
                if mtu < old {
                    set_sw(c, old);
                }
                return Err(format!("Set MTU failed: port {i}: {e}"));
            }
        }
        if mtu > old {
            set_sw(c, mtu);
        }
        let name = &c.routing.router.work.ifaces[i].name;
        let _ = writeln!(out, "port {i} ({name}): MTU {old} -> {mtu}");
    }
    Ok(out)
}

/// `port stop (N|all)` (testpmd's `stop_port`).
fn port_stop(c: &mut Control, which: &str) -> Result<String, String> {
    let ports = c.ports(which)?;
    if c.testpmd.running {
        let i = ports[0];
        return Err(format!(
            "Please stop forwarding first: port {i} ({}) is being forwarded (stop, then port stop {which})",
            c.routing.router.work.ifaces[i].name
        ));
    }
    if let Some(i) = ports.iter().find(|&&i| i >= fastpath::fwd_gate::MAX_PORTS) {
        return Err(format!(
            "port stop: port {i}: only the first {} ports can be stopped",
            fastpath::fwd_gate::MAX_PORTS
        ));
    }
    let mut out = String::from("Stopping ports...\n");
    let gate = &c.dp.shared.fwd;
    let todo: Vec<usize> = ports
        .into_iter()
        .filter(|&i| !c.testpmd.stopped[i])
        .collect();
    for &i in &todo {
        gate.set_port_stopped(i, true);
    }
    // No worker is still sending on them once each has begun a pass since.
    if !todo.is_empty() && !gate.wait(WAIT) {
        for &i in &todo {
            gate.set_port_stopped(i, false);
        }
        return Err(format!(
            "a worker did not finish its pass within {} s: no port stopped",
            WAIT.as_secs()
        ));
    }
    for i in todo {
        match port::stop(c.dp.ports[i].info.port_id) {
            Ok(()) => c.testpmd.stopped[i] = true,
            Err(e) => {
                gate.set_port_stopped(i, false);
                let _ = writeln!(out, "Port {i} can not be set into stopped: {e}");
            }
        }
    }
    link_statuses(&mut out, &c.dp);
    out.push_str("Done\n");
    Ok(out)
}

/// `port start (N|all)` (testpmd's `start_port`).
fn port_start(c: &mut Control, which: &str) -> Result<String, String> {
    let ports = c.ports(which)?;
    let mut out = String::new();
    let mut started = 0;
    let todo: Vec<usize> = ports
        .into_iter()
        .filter(|&i| c.testpmd.stopped[i])
        .collect();
    for i in todo {
        let id = c.dp.ports[i].info.port_id;
        if let Err(e) = port::start(id) {
            let _ = writeln!(out, "Fail to start port {i}: {e}");
            continue;
        }
        c.testpmd.stopped[i] = false;
        c.dp.shared.fwd.set_port_stopped(i, false);
        started += 1;
        let _ = writeln!(out, "Port {i}: {}", c.routing.router.work.ifaces[i].mac);
    }
    if started == 0 && out.is_empty() {
        return Err("Please stop the ports first".into());
    }
    link_statuses(&mut out, &c.dp);
    out.push_str("Done\n");
    Ok(out)
}

/// testpmd's `check_all_ports_link_status`, without the wait for links to come up.
fn link_statuses(out: &mut String, dp: &Dataplane) {
    out.push_str("Checking link statuses...\n");
    for (i, p) in dp.ports.iter().enumerate() {
        let _ = writeln!(out, "Port {i} {}", port::link_text(p.info.port_id));
    }
}

/// testpmd's `nic_xstats_display`.
pub fn xstats_text(out: &mut String, idx: usize, xstats: &[(String, u64)]) {
    let _ = writeln!(out, "###### NIC extended statistics for port {idx:<2}");
    for (name, value) in xstats {
        let _ = writeln!(out, "{name}: {value}");
    }
}

/// testpmd's `rxtx_config_display` (the first queue of each port, as testpmd).
fn rxtx_config(c: &Control) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {FWD_MODE} packet forwarding packets/burst={}",
        c.routing.cfg.settings.burst
    );
    let _ = writeln!(
        out,
        "  nb forwarding cores={} - nb forwarding ports={}",
        c.dp.workers.len(),
        c.dp.ports.len()
    );
    for (i, (st, p)) in c.dp.ports.iter().zip(&c.routing.cfg.ports).enumerate() {
        let id = st.info.port_id;
        let (rx_off, tx_off) = port::offloads(id);
        let _ = writeln!(
            out,
            "  port {i}: RX queue number: {} Tx queue number: {}",
            st.rx_queues, st.tx_queues
        );
        let _ = writeln!(out, "    Rx offloads=0x{rx_off:x} Tx offloads=0x{tx_off:x}");
        let rx = port::rx_queue_info(id, 0).unwrap_or(QueueInfo {
            nb_desc: p.rx_desc,
            ..QueueInfo::default()
        });
        let tx = port::tx_queue_info(id, 0).unwrap_or(QueueInfo {
            nb_desc: p.tx_desc,
            ..QueueInfo::default()
        });
        queue_text(&mut out, "RX", &rx);
        queue_text(&mut out, "TX", &tx);
    }
    out
}

fn queue_text(out: &mut String, dir: &str, q: &QueueInfo) {
    let _ = writeln!(out, "    {dir} queue: 0");
    let _ = writeln!(
        out,
        "      {dir} desc={} - {dir} free threshold={}",
        q.nb_desc, q.free_thresh
    );
    let _ = writeln!(
        out,
        "      {dir} threshold registers: pthresh={} hthresh={}  wthresh={}",
        q.pthresh, q.hthresh, q.wthresh
    );
    if dir == "RX" {
        let _ = writeln!(out, "      RX Offloads=0x{:x}", q.offloads);
    } else {
        let _ = writeln!(
            out,
            "      TX offloads=0x{:x} - TX RS bit threshold={}",
            q.offloads, q.rs_thresh
        );
    }
}

/// testpmd's `fwd_lcores_config_display`, and the control core.
fn cores_config(c: &Control) -> String {
    let mut out = String::from("List of forwarding lcores:");
    for w in &c.dp.workers {
        let _ = write!(out, " {:>2}", w.lcore);
    }
    let _ = writeln!(
        out,
        "\nControl lcore: {} (CLI, control socket, ARP and neighbours)",
        eal::main_lcore()
    );
    out
}

/// testpmd's `pkt_fwd_config_display`: per worker lcore, the (port, rx queue) streams it
/// polls; each is routed, so its TX port is whichever the FIB picks, on the worker's own
/// tx queue.
fn fwd_config(c: &Control) -> String {
    let mut out = String::new();
    let streams: usize = c.dp.workers.iter().map(|w| w.rx.len()).sum();
    let _ = writeln!(
        out,
        "{FWD_MODE} packet forwarding - ports={} - cores={} - streams={streams} - NUMA support disabled, MP allocation mode: native",
        c.dp.ports.len(),
        c.dp.workers.len()
    );
    for w in &c.dp.workers {
        let _ = write!(
            out,
            "Logical Core {} (socket {}) forwards packets on {} streams:",
            w.lcore,
            eal::lcore_socket(w.lcore).max(0),
            w.rx.len()
        );
        for q in &w.rx {
            // A vdev has no socket (-1): testpmd then says the first, 0.
            let socket = c.dp.ports[q.iface as usize].info.socket.max(0);
            let _ = write!(
                out,
                "\n  RX P={}/Q={} (socket {socket}) -> TX routed/Q={} (the FIB picks the port)",
                q.iface, q.queue, w.tx_queue
            );
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_blocks_in_testpmds_layout() {
        let p0 = PortStats {
            ipackets: 10,
            imissed: 2,
            opackets: 1,
            ..PortStats::default()
        };
        let p1 = PortStats {
            opackets: 9,
            oerrors: 1,
            ..PortStats::default()
        };
        let mut out = String::new();
        fwd_stats_text(&mut out, &[p0, p1], &StatsSnapshot::default());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            "  ---------------------- Forward statistics for port 0  ----------------------"
        );
        assert_eq!(
            lines[2],
            "  RX-packets: 10             RX-dropped: 2             RX-total: 12"
        );
        assert_eq!(
            lines[3],
            "  TX-packets: 1              TX-dropped: 0             TX-total: 1"
        );
        assert_eq!(lines[4], format!("  {}", "-".repeat(76)));
        assert_eq!(
            lines[8],
            "  TX-packets: 9              TX-dropped: 1             TX-total: 10"
        );
        assert_eq!(
            lines[11],
            "  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++"
        );
        assert_eq!(
            lines[12],
            "  RX-packets: 10             RX-dropped: 2             RX-total: 12"
        );
        assert_eq!(
            lines[13],
            "  TX-packets: 10             TX-dropped: 1             TX-total: 11"
        );
        assert_eq!(lines[14], format!("  {}", "+".repeat(76)));
    }

    #[test]
    fn rx_errors_get_their_lines() {
        let p = PortStats {
            ierrors: 3,
            rx_nombuf: 4,
            ..PortStats::default()
        };
        let mut out = String::new();
        fwd_stats_text(&mut out, &[p], &StatsSnapshot::default());
        assert!(out.contains("\n  RX-error: 3\n  RX-nombufs: 4             \n"));
    }

    #[test]
    fn xstats_as_testpmd() {
        let mut out = String::new();
        xstats_text(&mut out, 1, &[("rx_good_packets".into(), 5)]);
        assert_eq!(
            out,
            "###### NIC extended statistics for port 1 \nrx_good_packets: 5\n"
        );
    }
}
