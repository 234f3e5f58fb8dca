//! Ethdev ports: configuration (one rx queue per polling worker, one tx queue per worker),
//! start/stop/close, MAC, MTU, link, and the NIC counters testpmd shows.

use super::mempool::Mempool;
use super::DpdkError;
use std::ffi::{c_char, CStr};

/// How to set up a port.
#[derive(Debug, Clone)]
pub struct PortSetup {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_desc: u16,
    pub tx_desc: u16,
    pub mtu: u16,
    /// Station MAC to program; None keeps the device's own.
    pub mac: Option<[u8; 6]>,
    /// RSS hash types to spread the rx queues on, with the symmetric key (only those
    /// the device has; 0 leaves the spreading to the device).
    pub rss_hf: u64,
    /// The device's key length, for the key.
    pub rss_key_len: u8,
}

/// Static facts about a port.
#[derive(Debug, Clone)]
pub struct PortInfo {
    pub port_id: u16,
    pub name: String,
    pub driver: String,
    pub socket: i32,
    pub max_rx_queues: u16,
    pub max_tx_queues: u16,
    pub min_mtu: u16,
    pub max_mtu: u16,
    /// RSS: the hash types the device can spread on (`flow_type_rss_offloads`), its key
    /// length and redirection table size (0 when it has none).
    pub rss_offloads: u64,
    pub hash_key_size: u8,
    pub reta_size: u16,
}

/// RSS hash types (`RTE_ETH_RSS_*`, not in the bindings: they are `RTE_BIT64` macros).
pub mod rss {
    pub const IPV4: u64 = 1 << 2;
    pub const NONFRAG_IPV4_TCP: u64 = 1 << 4;
    pub const NONFRAG_IPV4_UDP: u64 = 1 << 5;
    /// What the router asks for: IPv4 TCP and UDP on addresses and ports, other IPv4
    /// (and fragments) on addresses.
    pub const WANTED: u64 = IPV4 | NONFRAG_IPV4_TCP | NONFRAG_IPV4_UDP;

    /// The names of the types in `hf` the router asks for, testpmd's words.
    pub fn names(hf: u64) -> Vec<&'static str> {
        [
            (IPV4, "ipv4"),
            (NONFRAG_IPV4_TCP, "ipv4-tcp"),
            (NONFRAG_IPV4_UDP, "ipv4-udp"),
        ]
        .iter()
        .filter(|(b, _)| hf & b != 0)
        .map(|&(_, n)| n)
        .collect()
    }

    /// A Toeplitz key of `len` bytes that hashes both directions of a flow alike: 0x6d5a
    /// repeated (Woo and Park, "Scalable TCP Session Monitoring with Symmetric
    /// Receive-side Scaling"): the hash of (src, dst, sport, dport) then equals that of
    /// (dst, src, dport, sport).
    pub fn symmetric_key(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| if i % 2 == 0 { 0x6d } else { 0x5a })
            .collect()
    }
}

/// Link state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    pub up: bool,
    pub speed_mbps: u32,
    pub full_duplex: bool,
}

/// The NIC's counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    pub rx_nombuf: u64,
}

fn check(what: impl FnOnce() -> String, ret: i32) -> Result<(), DpdkError> {
    if ret < 0 {
        Err(DpdkError::new(what(), ret))
    } else {
        Ok(())
    }
}

/// Reads a port's static facts.
pub fn info(port_id: u16) -> Result<PortInfo, DpdkError> {
    let mut di = dpdk_sys::rte_eth_dev_info::default();
    // SAFETY: `di` is a valid out-parameter for the call.
    check(|| format!("rte_eth_dev_info_get({port_id})"), unsafe {
        dpdk_sys::rte_eth_dev_info_get(port_id, &mut di)
    })?;
    let mut name = [0 as c_char; 64];
    // SAFETY: `name` has room for RTE_ETH_NAME_MAX_LEN (64) bytes, as the API requires.
    let rc = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(port_id, name.as_mut_ptr()) };
    check(|| format!("rte_eth_dev_get_name_by_port({port_id})"), rc)?;
    let driver = if di.driver_name.is_null() {
        String::new()
    } else {
        // SAFETY: driver_name is a static NUL-terminated string owned by the driver.
        unsafe { CStr::from_ptr(di.driver_name) }
            .to_string_lossy()
            .into_owned()
    };
    Ok(PortInfo {
        port_id,
        // SAFETY: rte_eth_dev_get_name_by_port wrote a NUL-terminated string into `name`.
        name: unsafe { CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
        driver,
        // SAFETY: plain query on a valid port.
        socket: unsafe { dpdk_sys::rte_eth_dev_socket_id(port_id) },
        max_rx_queues: di.max_rx_queues,
        max_tx_queues: di.max_tx_queues,
        min_mtu: di.min_mtu,
        max_mtu: di.max_mtu,
        rss_offloads: di.flow_type_rss_offloads,
        hash_key_size: di.hash_key_size,
        reta_size: di.reta_size,
    })
}

/// Configures queues, RSS, MTU and MAC of a stopped port; rx queues take mbufs from `pool`.
pub fn configure(port_id: u16, setup: &PortSetup, pool: &Mempool) -> Result<(), DpdkError> {
    let mut conf = dpdk_sys::rte_eth_conf::default();
    conf.rxmode.mtu = setup.mtu as u32;
    let mut key = rss::symmetric_key(setup.rss_key_len as usize);
    if setup.rx_queues > 1 && setup.rss_hf != 0 {
        conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
        let rss = &mut conf.rx_adv_conf.rss_conf;
        rss.rss_hf = setup.rss_hf;
        if !key.is_empty() {
            rss.rss_key = key.as_mut_ptr();
            rss.rss_key_len = setup.rss_key_len;
        }
    }
    // SAFETY: `conf` is a valid, fully initialised configuration for the call.
    let rc = unsafe {
        dpdk_sys::rte_eth_dev_configure(port_id, setup.rx_queues, setup.tx_queues, &conf)
    };
    check(
        || {
            format!(
                "configuring port {port_id} with {} rx / {} tx queues",
                setup.rx_queues, setup.tx_queues
            )
        },
        rc,
    )?;
    let (mut nrx, mut ntx) = (setup.rx_desc, setup.tx_desc);
    // SAFETY: valid out-pointers; the port is configured.
    let rc = unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &mut nrx, &mut ntx) };
    check(|| format!("adjusting descriptors of port {port_id}"), rc)?;
    // SAFETY: plain query on a valid port.
    let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(port_id) } as u32;
    for q in 0..setup.rx_queues {
        // SAFETY: NULL rx_conf selects the driver's defaults; `pool` outlives the port
        // (the owner closes ports before dropping the pool).
        let rc = unsafe {
            dpdk_sys::rte_eth_rx_queue_setup(
                port_id,
                q,
                nrx,
                socket,
                std::ptr::null(),
                pool.as_ptr(),
            )
        };
        check(|| format!("setting up rx queue {q} of port {port_id}"), rc)?;
    }
    for q in 0..setup.tx_queues {
        // SAFETY: NULL tx_conf selects the driver's defaults.
        let rc =
            unsafe { dpdk_sys::rte_eth_tx_queue_setup(port_id, q, ntx, socket, std::ptr::null()) };
        check(|| format!("setting up tx queue {q} of port {port_id}"), rc)?;
    }
    // Drivers that cannot change their MTU (pcap, af_packet on some kernels) still forward:
    // the pipeline enforces the configured MTU in software.
    // SAFETY: plain call on a configured port.
    let ret = unsafe { dpdk_sys::rte_eth_dev_set_mtu(port_id, setup.mtu) };
    if ret < 0 && ret != -95 {
        check(
            || format!("setting MTU {} on port {port_id}", setup.mtu),
            ret,
        )?;
    }
    if let Some(mac) = setup.mac {
        let mut addr = dpdk_sys::rte_ether_addr { addr_bytes: mac };
        // SAFETY: `addr` is a valid MAC for the duration of the call.
        let ret = unsafe { dpdk_sys::rte_eth_dev_default_mac_addr_set(port_id, &mut addr) };
        if ret < 0 {
            // The pipeline filters on the configured MAC itself; promiscuous mode makes the
            // NIC deliver frames for it when the NIC cannot be told about it.
            set_promiscuous(port_id, true)?;
        }
    }
    Ok(())
}

/// The RSS hash types and key the port uses now (`rte_eth_dev_rss_hash_conf_get`), or
/// None where the device cannot say (af_packet, tap, ring: their queues are spread by the
/// kernel or not at all).
pub fn rss_conf(port_id: u16, key_len: u8) -> Option<(u64, Vec<u8>)> {
    // Room for the longest key `rss_key_len` can describe: some drivers copy their own
    // key length whatever the device info said (net_null: 40 bytes, hash_key_size 0).
    let mut key = vec![0u8; 256];
    let mut c = dpdk_sys::rte_eth_rss_conf {
        rss_key: key.as_mut_ptr(),
        rss_key_len: key_len,
        rss_hf: 0,
    };
    // SAFETY: `c` points at `key`, 256 bytes, more than any key a u8 length can give.
    let rc = unsafe { dpdk_sys::rte_eth_dev_rss_hash_conf_get(port_id, &mut c) };
    key.truncate(key_len as usize);
    (rc == 0).then_some((c.rss_hf, key))
}

pub fn set_promiscuous(port_id: u16, on: bool) -> Result<(), DpdkError> {
    // SAFETY: plain calls on a valid port.
    let ret = unsafe {
        if on {
            dpdk_sys::rte_eth_promiscuous_enable(port_id)
        } else {
            dpdk_sys::rte_eth_promiscuous_disable(port_id)
        }
    };
    check(
        || format!("setting promiscuous mode on port {port_id}"),
        ret,
    )
}

pub fn promiscuous(port_id: u16) -> bool {
    // SAFETY: plain query on a valid port.
    unsafe { dpdk_sys::rte_eth_promiscuous_get(port_id) == 1 }
}

pub fn start(port_id: u16) -> Result<(), DpdkError> {
    // SAFETY: the port is configured with its queues set up.
    check(|| format!("starting port {port_id}"), unsafe {
        dpdk_sys::rte_eth_dev_start(port_id)
    })
}

/// Stops a port. The caller makes sure no other lcore polls or sends on it meanwhile
/// (workers joined, or paused with the port marked stopped: `fwd_gate`).
pub fn stop(port_id: u16) -> Result<(), DpdkError> {
    // SAFETY: no lcore polls or sends on the port any more (the caller's guarantee above);
    // a stopped port's burst functions are ethdev's dummies until it is started again.
    check(|| format!("stopping port {port_id}"), unsafe {
        dpdk_sys::rte_eth_dev_stop(port_id)
    })
}

/// Closes a stopped port, releasing its queues (and the mbufs they hold).
pub fn close(port_id: u16) -> Result<(), DpdkError> {
    // SAFETY: the port is stopped and nothing uses it any more.
    check(|| format!("closing port {port_id}"), unsafe {
        dpdk_sys::rte_eth_dev_close(port_id)
    })
}

/// The largest MTU whose frames (Ethernet header and a VLAN tag) fit in one mbuf of the
/// default data room: scatter is not enabled.
pub const MAX_FRAME_MTU: u16 =
    (dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE - dpdk_sys::RTE_PKTMBUF_HEADROOM - 22) as u16;

/// Sets a port's MTU (`rte_eth_dev_set_mtu`), started or not: the driver refuses what
/// it cannot do (a negative errno, e.g. -ENOTSUP or -EINVAL).
pub fn set_mtu(port_id: u16, mtu: u16) -> Result<(), DpdkError> {
    // SAFETY: plain call on a configured port; ethdev checks the value against the
    // device's limits.
    check(|| format!("setting MTU {mtu} on port {port_id}"), unsafe {
        dpdk_sys::rte_eth_dev_set_mtu(port_id, mtu)
    })
}

/// The port's current station MAC.
pub fn mac(port_id: u16) -> Result<[u8; 6], DpdkError> {
    let mut addr = dpdk_sys::rte_ether_addr::default();
    // SAFETY: `addr` is a valid out-parameter.
    check(|| format!("reading MAC of port {port_id}"), unsafe {
        dpdk_sys::rte_eth_macaddr_get(port_id, &mut addr)
    })?;
    Ok(addr.addr_bytes)
}

pub fn link(port_id: u16) -> Link {
    let mut l = dpdk_sys::rte_eth_link::default();
    // SAFETY: `l` is a valid out-parameter; nowait never blocks.
    let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(port_id, &mut l) };
    if ret < 0 {
        return Link::default();
    }
    Link {
        up: l.link_status() == 1,
        speed_mbps: l.link_speed,
        full_duplex: l.link_duplex() == 1,
    }
}

pub fn stats(port_id: u16) -> PortStats {
    let mut s = dpdk_sys::rte_eth_stats::default();
    // SAFETY: `s` is a valid out-parameter.
    if unsafe { dpdk_sys::rte_eth_stats_get(port_id, &mut s) } < 0 {
        return PortStats::default();
    }
    PortStats {
        ipackets: s.ipackets,
        opackets: s.opackets,
        ibytes: s.ibytes,
        obytes: s.obytes,
        imissed: s.imissed,
        ierrors: s.ierrors,
        oerrors: s.oerrors,
        rx_nombuf: s.rx_nombuf,
    }
}

pub fn reset_stats(port_id: u16) -> Result<(), DpdkError> {
    // SAFETY: plain call on a valid port.
    check(|| format!("resetting stats of port {port_id}"), unsafe {
        dpdk_sys::rte_eth_stats_reset(port_id)
    })
}

/// The device's extended statistics (`rte_eth_xstats_get_names`, `rte_eth_xstats_get`):
/// name and value, in the device's order.
pub fn xstats(port_id: u16) -> Result<Vec<(String, u64)>, DpdkError> {
    // The count can grow between the calls (a queue set up meanwhile): ask again then.
    for _ in 0..4 {
        // SAFETY: a NULL array of size 0 asks only for the count.
        let n = unsafe { dpdk_sys::rte_eth_xstats_get_names(port_id, std::ptr::null_mut(), 0) };
        check(|| format!("counting xstats of port {port_id}"), n)?;
        let n = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name { name: [0; 64] }; n];
        // SAFETY: `names` has room for `n` entries, the size passed.
        let got =
            unsafe { dpdk_sys::rte_eth_xstats_get_names(port_id, names.as_mut_ptr(), n as u32) };
        check(|| format!("reading xstats names of port {port_id}"), got)?;
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n];
        // SAFETY: `values` has room for `n` entries, the size passed.
        let vals = unsafe { dpdk_sys::rte_eth_xstats_get(port_id, values.as_mut_ptr(), n as u32) };
        check(|| format!("reading xstats of port {port_id}"), vals)?;
        if got as usize != n || vals as usize != n {
            continue;
        }
        let name = |id: u64| {
            names.get(id as usize).map_or_else(
                || format!("xstat_{id}"),
                |x| {
                    let mut b = x.name;
                    b[63] = 0;
                    // SAFETY: `b` ends with a NUL (set above), so the string ends in it.
                    let c = unsafe { CStr::from_ptr(b.as_ptr()) };
                    c.to_string_lossy().into_owned()
                },
            )
        };
        return Ok(values.iter().map(|v| (name(v.id), v.value)).collect());
    }
    Err(DpdkError::with_errno(
        format!("xstats of port {port_id} kept changing"),
        0,
    ))
}

/// Resets the extended statistics (and, on most drivers, the basic ones with them).
pub fn reset_xstats(port_id: u16) -> Result<(), DpdkError> {
    // SAFETY: plain call on a valid port.
    check(|| format!("resetting xstats of port {port_id}"), unsafe {
        dpdk_sys::rte_eth_xstats_reset(port_id)
    })
}

/// The link as testpmd prints it (`rte_eth_link_to_str`): "Link up at 10 Gbps FDX
/// Autoneg", "Link down".
pub fn link_text(port_id: u16) -> String {
    let mut l = dpdk_sys::rte_eth_link::default();
    // SAFETY: `l` is a valid out-parameter; nowait never blocks.
    if unsafe { dpdk_sys::rte_eth_link_get_nowait(port_id, &mut l) } < 0 {
        return "Link status unknown".into();
    }
    let mut buf = [0 as c_char; dpdk_sys::RTE_ETH_LINK_MAX_STR_LEN as usize];
    // SAFETY: `buf` has the size passed; `l` is initialised.
    let rc = unsafe { dpdk_sys::rte_eth_link_to_str(buf.as_mut_ptr(), buf.len(), &l) };
    if rc < 0 {
        return "Link status unknown".into();
    }
    // SAFETY: rte_eth_link_to_str wrote a NUL-terminated string into `buf`.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// One queue's setup as the driver reports it (`rte_eth_rx_queue_info_get`,
/// `rte_eth_tx_queue_info_get`); what testpmd's `show config rxtx` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueInfo {
    pub nb_desc: u16,
    pub free_thresh: u16,
    pub pthresh: u8,
    pub hthresh: u8,
    pub wthresh: u8,
    pub offloads: u64,
    /// TX only: the RS bit threshold.
    pub rs_thresh: u16,
}

/// RX queue `queue`'s setup, or None where the driver does not say.
pub fn rx_queue_info(port_id: u16, queue: u16) -> Option<QueueInfo> {
    let mut q = dpdk_sys::rte_eth_rxq_info::default();
    // SAFETY: `q` is a valid out-parameter.
    let rc = unsafe { dpdk_sys::rte_eth_rx_queue_info_get(port_id, queue, &mut q) };
    (rc == 0).then_some(QueueInfo {
        nb_desc: q.nb_desc,
        free_thresh: q.conf.rx_free_thresh,
        pthresh: q.conf.rx_thresh.pthresh,
        hthresh: q.conf.rx_thresh.hthresh,
        wthresh: q.conf.rx_thresh.wthresh,
        offloads: q.conf.offloads,
        rs_thresh: 0,
    })
}

/// TX queue `queue`'s setup, or None where the driver does not say.
pub fn tx_queue_info(port_id: u16, queue: u16) -> Option<QueueInfo> {
    let mut q = dpdk_sys::rte_eth_txq_info::default();
    // SAFETY: `q` is a valid out-parameter.
    let rc = unsafe { dpdk_sys::rte_eth_tx_queue_info_get(port_id, queue, &mut q) };
    (rc == 0).then_some(QueueInfo {
        nb_desc: q.nb_desc,
        free_thresh: q.conf.tx_free_thresh,
        pthresh: q.conf.tx_thresh.pthresh,
        hthresh: q.conf.tx_thresh.hthresh,
        wthresh: q.conf.tx_thresh.wthresh,
        offloads: q.conf.offloads,
        rs_thresh: q.conf.tx_rs_thresh,
    })
}

/// The port-wide RX and TX offloads it was configured with (`rte_eth_dev_conf_get`).
pub fn offloads(port_id: u16) -> (u64, u64) {
    let mut c = dpdk_sys::rte_eth_conf::default();
    // SAFETY: `c` is a valid out-parameter.
    if unsafe { dpdk_sys::rte_eth_dev_conf_get(port_id, &mut c) } != 0 {
        return (0, 0);
    }
    (c.rxmode.offloads, c.txmode.offloads)
}
