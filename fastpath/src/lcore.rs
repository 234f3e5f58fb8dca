//! Per-lcore state every stage of the pipeline works with besides the snapshot: the
//! lcore's counters, ICMP rate limiters and redirect backoff, IP identification and
//! sampled cycle accounting ([`LcoreCtx`]). Owned by one worker (dataplane rw, nobody else); handlers take it as
//! `&mut`, and nothing here knows about any handler.

use crate::dpdk::rdtsc;
use crate::drop::DropReason;
use crate::dst_cache::DstCache;
use crate::flowtable::{Flows, FwdNote};
use crate::icmp_limit::{PeerLimiter, RateLimiter, RedirectPeers};
use crate::packet::Verdict;
use crate::stats::{LcoreStats, Stage};

/// Sampled per-stage cycle accounting: when `on`, each [`LcoreCtx::mark`] charges the
/// cycles since the previous mark to a stage.
#[derive(Debug, Default, Clone)]
pub struct StageClock {
    pub on: bool,
    pub last: u64,
    pub acc: [u64; Stage::COUNT],
    /// Cost of one rdtsc, subtracted from every interval.
    pub overhead: u64,
}

impl StageClock {
    #[inline]
    pub fn start(&mut self) {
        if self.on {
            self.last = rdtsc();
        }
    }

    #[inline(always)]
    pub fn mark(&mut self, s: Stage) {
        if self.on {
            let now = rdtsc();
            self.acc[s as usize] += now.saturating_sub(self.last).saturating_sub(self.overhead);
            self.last = now;
        }
    }
}

/// Per-lcore state the pipeline needs besides the snapshot. Owned by one worker.
pub struct LcoreCtx<'a> {
    pub stats: &'a LcoreStats,
    pub icmp_limit: RateLimiter,
    /// Per-destination ICMP limit (Linux's defaults until the worker sets its own).
    pub icmp_peers: PeerLimiter,
    /// Backoff of ICMP redirects per source host (`ip_rt_send_redirect`).
    pub redirect_peers: RedirectPeers,
    /// This lcore's dst per next hop (`nhc_pcpu_rth_output`).
    pub dst_cache: DstCache,
    /// This lcore's connections and flowtable (empty until the worker sizes it).
    pub flows: Flows,
    /// What forwarding noted about the packet it just forwarded, for conntrack.
    pub fwd: Option<FwdNote>,
    /// IPv4 identification for packets we originate.
    pub ip_ident: u16,
    /// TSC at the start of the current burst.
    pub now: u64,
    pub clock: StageClock,
}

impl<'a> LcoreCtx<'a> {
    pub fn new(stats: &'a LcoreStats, icmp_limit: RateLimiter) -> Self {
        LcoreCtx {
            stats,
            icmp_peers: PeerLimiter::new(1000, 6168, icmp_limit.hz()),
            redirect_peers: RedirectPeers::new(icmp_limit.hz()),
            icmp_limit,
            dst_cache: DstCache::default(),
            flows: Flows::default(),
            fwd: None,
            ip_ident: (stats.lcore as u16).wrapping_mul(0x9e37),
            now: 0,
            clock: StageClock::default(),
        }
    }

    #[inline(always)]
    pub fn mark(&mut self, s: Stage) {
        self.clock.mark(s);
    }

    #[inline]
    pub(crate) fn next_ident(&mut self) -> u16 {
        self.ip_ident = self.ip_ident.wrapping_add(1);
        self.ip_ident
    }

    #[inline(always)]
    pub(crate) fn drop(&self, reason: DropReason) -> Verdict {
        self.stats.drop(reason);
        Verdict::Drop
    }
}
