//! Per-lcore counters. Each worker is the only writer of its own [`LcoreStats`] (so a
//! counter is a plain load + store, no atomic read-modify-write); the control core reads
//! them at any time (relaxed loads) and keeps baselines for `clear`.
//!
//! Accounting invariant, checked by tests: every received packet ends in exactly one of
//! `forwarded`, `arp_replies`, `arp_updates`, `echo_replies`, `icmp_errors_in` or a
//! [`DropReason`] (a packet answered with an ICMP error counts under the reason it was not
//! forwarded; a fragmented one is one `forwarded`, whatever the number of fragments it
//! became). A packet a worker punts (`punted`, not an end) gets its one count on the
//! control core, whose counters are part of the totals. The caches' counters
//! ([`Stat::is_cache`]) say how a decision was reached, not what became of a packet.

use crate::drop::DropReason;
use crate::latency::Latency;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// A per-lcore event counter (not a drop reason).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Stat {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Stat {
            pub const ALL: &'static [Stat] = &[$(Stat::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();

            pub const fn name(self) -> &'static str {
                match self {
                    $(Stat::$variant => $name,)*
                }
            }

            /// Its doc comment, on one line ("" if it has none).
            pub fn doc(self) -> &'static str {
                match self {
                    $(Stat::$variant => concat!("" $(, $doc)*).trim_start(),)*
                }
            }
        }
    };
}

stats! {
    RxPackets => "rx_packets",
    RxBursts => "rx_bursts",
    TxPackets => "tx_packets",
    /// Packets the output queue did not accept (freed in bulk).
    TxDropped => "tx_dropped",
    Forwarded => "forwarded",
    /// Forwarded datagrams that were fragmented (IPSTATS_MIB_FRAGOKS); each also counts
    /// as `forwarded`.
    FragOks => "frag_oks",
    /// Fragments sent (IPSTATS_MIB_FRAGCREATES); each is a `tx_packets` of its own.
    FragCreates => "frag_creates",
    ArpReplies => "arp_replies",
    /// ARP frames whose only effect was a neighbour update (replies, gratuitous ARP).
    ArpUpdates => "arp_updates",
    /// ARP requests sent: solicitations (`arp_solicit`) and gratuitous ARP.
    ArpRequests => "arp_requests",
    /// Packets handed to the control core (ARP, packets waiting for a neighbour).
    Punted => "punted",
    /// Packets that waited for a neighbour and left once it resolved.
    NeighReleased => "neigh_released",
    /// Packets that waited for a neighbour and were dropped: its queue overflowed, it
    /// failed, or the router stopped (Linux's `unresolved_discards`, plus the failures).
    UnresolvedDiscards => "unresolved_discards",
    EchoReplies => "echo_replies",
    /// TCP resets sent for segments addressed to us (no listener, `tcp_v4_send_reset`).
    TcpResets => "tcp_resets",
    /// ICMP errors sent.
    IcmpErrors => "icmp_errors",
    /// ICMP errors not sent: over the rate limit (icmp_msgs_per_sec).
    IcmpRateLimited => "icmp_rate_limited",
    /// ICMP errors, redirects or replies not sent: no route or neighbour back to the
    /// source (or, for a redirect, no free mbuf).
    IcmpNoRouteBack => "icmp_no_route_back",
    /// ICMP errors never sent about this packet (RFC 1812 4.3.2.7: about an ICMP error,
    /// a non-first fragment, a link-layer broadcast, or an IP broadcast destination).
    IcmpSuppressed => "icmp_suppressed",
    /// ICMP redirects sent (`ip_rt_send_redirect`), each about a packet that was also
    /// forwarded.
    RedirectsSent => "redirects_sent",
    /// ICMP redirects not sent because the source host is in its backoff (20 ms << n
    /// after the n-th, none after 9 until 20.48 s of silence).
    RedirectsSuppressed => "redirects_suppressed",
    /// ICMP fragmentation needed and redirects addressed to us about a packet we sent,
    /// taken by the control core (`icmp_unreach`, `icmp_redirect`): each ends here,
    /// whether it taught anything (`pmtu_updates`, `redirects_accepted`) or not.
    IcmpErrorsIn => "icmp_errors_in",
    /// Nexthop exceptions created or lowered by a fragmentation needed
    /// (`__ip_rt_update_pmtu`).
    PmtuUpdates => "pmtu_updates",
    /// ICMP redirects that set a nexthop exception's gateway (`__ip_do_redirect`).
    RedirectsAccepted => "redirects_accepted",
    /// ICMP redirects refused by `__ip_do_redirect`'s rules (or `accept_redirects` off).
    RedirectsRejected => "redirects_rejected",
    /// Packets whose dst came from this lcore's dst cache, built under the current genid.
    DstHits => "dst_hits",
    /// Dsts built for a next hop this lcore had not used yet.
    DstMisses => "dst_misses",
    /// Dsts rebuilt because the genid moved since they were built.
    DstRebuilds => "dst_rebuilds",
    /// Packets routed by the previous packet's lookup in their burst (same destination
    /// and TOS: `ip_can_use_hint`), with no FIB lookup of their own.
    HintHits => "hint_hits",
    /// Connections the flowtable's conntrack started tracking.
    FlowNew => "flow_new",
    /// Connections established both ways that entered the flowtable (`flow_offload_add`).
    FlowOffloads => "flow_offloads",
    /// Packets forwarded by the flowtable, with no route lookup (each also `forwarded`).
    FlowHits => "flow_hits",
    /// Offloaded flows torn down because the genid moved since their decision.
    FlowTeardownGenid => "flow_teardown_genid",
    /// Offloaded flows torn down by a TCP FIN.
    FlowTeardownFin => "flow_teardown_fin",
    /// Offloaded flows torn down by a TCP RST.
    FlowTeardownRst => "flow_teardown_rst",
    /// Offloaded flows idle for the flowtable timeout (or whose connection expired).
    FlowTeardownTimeout => "flow_teardown_timeout",
    /// Offloaded flows removed by `flush flows`.
    FlowTeardownFlush => "flow_teardown_flush",
    /// Connections removed after their state's idle timeout.
    FlowExpired => "flow_expired",
    /// Unestablished connections replaced by a new one in a full table.
    FlowEvictions => "flow_evictions",
    /// New connections not tracked: the table was full of established ones.
    FlowTableFull => "flow_table_full",
    /// Sleeps of an idle worker (`settings.idle_sleep_us`).
    IdleSleeps => "idle_sleeps",
    /// Packets `capture` could not copy: its pool or ring was full.
    CaptureDropped => "capture_dropped",
}

impl Stat {
    /// The routing caches' counters: how a decision was reached (`dst_hits`, ...), not
    /// what became of a packet.
    pub const fn is_cache(self) -> bool {
        matches!(
            self,
            Stat::DstHits | Stat::DstMisses | Stat::DstRebuilds | Stat::HintHits
        ) || self.is_flow()
    }

    /// The flowtable's counters (`flow_*`), also about decisions, not packets' ends.
    pub const fn is_flow(self) -> bool {
        matches!(
            self,
            Stat::FlowNew
                | Stat::FlowOffloads
                | Stat::FlowHits
                | Stat::FlowTeardownGenid
                | Stat::FlowTeardownFin
                | Stat::FlowTeardownRst
                | Stat::FlowTeardownTimeout
                | Stat::FlowTeardownFlush
                | Stat::FlowExpired
                | Stat::FlowEvictions
                | Stat::FlowTableFull
        )
    }
}

/// Pipeline stages timed by the sampled cycle accounting (`show fwd stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Stage {
    /// `rx_burst`, per packet received.
    Rx,
    /// L2 filter, IPv4 validation, martian checks.
    Parse,
    /// Rules, table lookup, next-hop selection.
    Lookup,
    /// TTL, MTU, neighbour, header rewrite (or building a reply).
    Rewrite,
    /// `tx_burst` and freeing, per packet received.
    Tx,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Rx,
        Stage::Parse,
        Stage::Lookup,
        Stage::Rewrite,
        Stage::Tx,
    ];
    pub const COUNT: usize = 5;

    pub const fn name(self) -> &'static str {
        match self {
            Stage::Rx => "rx",
            Stage::Parse => "parse",
            Stage::Lookup => "lookup",
            Stage::Rewrite => "rewrite",
            Stage::Tx => "tx",
        }
    }
}

/// Rx queues one worker may poll, each with its packet counter.
pub const MAX_RX_QUEUES: usize = 16;

/// A single-writer counter.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning lcore may call this.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// Counters of one worker lcore. Shared: dataplane rw (the owning lcore), control ro.
#[derive(Debug)]
#[repr(align(64))]
pub struct LcoreStats {
    pub lcore: u32,
    events: [Counter; Stat::COUNT],
    drops: [Counter; DropReason::COUNT],
    /// Cycles spent per stage in sampled bursts, and the packets those bursts carried.
    stage_cycles: [Counter; Stage::COUNT],
    sampled_packets: Counter,
    /// Packets received per polled rx queue, in the worker's order (`WorkerConf::rx`).
    rx_queues: [Counter; MAX_RX_QUEUES],
    /// Time packets spend in the worker ([`crate::latency`]).
    pub latency: Latency,
}

impl LcoreStats {
    pub fn new(lcore: u32) -> LcoreStats {
        LcoreStats {
            lcore,
            events: std::array::from_fn(|_| Counter::default()),
            drops: std::array::from_fn(|_| Counter::default()),
            stage_cycles: std::array::from_fn(|_| Counter::default()),
            sampled_packets: Counter::default(),
            rx_queues: std::array::from_fn(|_| Counter::default()),
            latency: Latency::default(),
        }
    }

    /// Counts `n` packets received on the worker's `i`-th rx queue.
    #[inline(always)]
    pub fn add_rx_queue(&self, i: usize, n: u64) {
        if let Some(c) = self.rx_queues.get(i) {
            c.add(n);
        }
    }

    /// Adds one sampled burst's stage cycles.
    pub fn add_sample(&self, cycles: &[u64; Stage::COUNT], packets: u64) {
        for (c, v) in self.stage_cycles.iter().zip(cycles) {
            c.add(*v);
        }
        self.sampled_packets.add(packets);
    }

    #[inline(always)]
    pub fn add(&self, s: Stat, n: u64) {
        self.events[s as usize].add(n);
    }

    #[inline(always)]
    pub fn inc(&self, s: Stat) {
        self.add(s, 1);
    }

    #[inline(always)]
    pub fn drop(&self, reason: DropReason) {
        self.drops[reason as usize].add(1);
    }

    #[inline(always)]
    pub fn drop_n(&self, reason: DropReason, n: u64) {
        self.drops[reason as usize].add(n);
    }

    /// A plain-value copy for display and arithmetic.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: std::array::from_fn(|i| self.events[i].get()),
            drops: std::array::from_fn(|i| self.drops[i].get()),
            stage_cycles: std::array::from_fn(|i| self.stage_cycles[i].get()),
            sampled_packets: self.sampled_packets.get(),
            rx_queues: std::array::from_fn(|i| self.rx_queues[i].get()),
        }
    }
}

/// Counter values at one moment; subtract a baseline to get a delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub events: [u64; Stat::COUNT],
    pub drops: [u64; DropReason::COUNT],
    pub stage_cycles: [u64; Stage::COUNT],
    pub sampled_packets: u64,
    pub rx_queues: [u64; MAX_RX_QUEUES],
}

impl Default for StatsSnapshot {
    fn default() -> Self {
        StatsSnapshot {
            events: [0; Stat::COUNT],
            drops: [0; DropReason::COUNT],
            stage_cycles: [0; Stage::COUNT],
            sampled_packets: 0,
            rx_queues: [0; MAX_RX_QUEUES],
        }
    }
}

impl StatsSnapshot {
    pub fn get(&self, s: Stat) -> u64 {
        self.events[s as usize]
    }

    pub fn dropped(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    /// Mean cycles per packet of a stage over the sampled bursts (None before any sample).
    pub fn cycles_per_packet(&self, s: Stage) -> Option<u64> {
        (self.sampled_packets > 0).then(|| self.stage_cycles[s as usize] / self.sampled_packets)
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// `self - base`, counter by counter.
    pub fn since(&self, base: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            events: std::array::from_fn(|i| self.events[i].wrapping_sub(base.events[i])),
            drops: std::array::from_fn(|i| self.drops[i].wrapping_sub(base.drops[i])),
            stage_cycles: std::array::from_fn(|i| {
                self.stage_cycles[i].wrapping_sub(base.stage_cycles[i])
            }),
            sampled_packets: self.sampled_packets.wrapping_sub(base.sampled_packets),
            rx_queues: std::array::from_fn(|i| self.rx_queues[i].wrapping_sub(base.rx_queues[i])),
        }
    }

    /// `self + o`, counter by counter.
    pub fn plus(&self, o: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            events: std::array::from_fn(|i| self.events[i].wrapping_add(o.events[i])),
            drops: std::array::from_fn(|i| self.drops[i].wrapping_add(o.drops[i])),
            stage_cycles: std::array::from_fn(|i| {
                self.stage_cycles[i].wrapping_add(o.stage_cycles[i])
            }),
            sampled_packets: self.sampled_packets.wrapping_add(o.sampled_packets),
            rx_queues: std::array::from_fn(|i| self.rx_queues[i].wrapping_add(o.rx_queues[i])),
        }
    }
}
