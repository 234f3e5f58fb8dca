//! The ICMP rate limits: per lcore ([`RateLimiter`], the kernel's `icmp_global_allow`),
//! per destination host ([`PeerLimiter`]), and the backoff of ICMP redirects per source
//! host ([`RedirectPeers`], the kernel's `ip_rt_send_redirect`).
//!
//! The per-destination ICMP rate limit (the kernel's `icmpv4_xrlim_allow` over
//! `inet_peer_xrlim_allow`): each destination host earns one token per millisecond up to
//! 6 × `icmp_ratelimit` ms of them (`XRLIM_BURST_FACTOR`), and an error costs
//! `icmp_ratelimit` ms, so a host gets a burst of 6 errors and then one per
//! `icmp_ratelimit` ms (1000 by default). Only the types in `icmp_ratemask` are limited
//! (6168: destination unreachable, source quench, time exceeded, parameter problem);
//! frag-needed never is (PMTU discovery must not stall).
//!
//! Linux keeps its peers in a tree it trims under memory pressure. Here each lcore has a
//! fixed table of [`SLOTS`] entries indexed by a hash of the destination: a flood from
//! random sources cannot grow it, it can only push other hosts out, which gives them a
//! fresh burst, as a peer the kernel has reclaimed gets.

use crate::wire::icmp::{msg_type, unreach_code};
use std::net::Ipv4Addr;

/// Entries per lcore.
pub const SLOTS: usize = 4096;
/// `XRLIM_BURST_FACTOR`.
const BURST_FACTOR: u64 = 6;

#[derive(Debug, Clone, Copy, Default)]
struct Peer {
    addr: u32,
    /// Tokens, in TSC ticks.
    tokens: u64,
    /// When they were last counted (TSC).
    last: u64,
    used: bool,
}

/// One lcore's table.
#[derive(Debug, Clone)]
pub struct PeerLimiter {
    peers: Box<[Peer]>,
    /// `icmp_ratelimit` in TSC ticks (0: no limit).
    cost: u64,
    /// `icmp_ratemask`.
    mask: u32,
}

impl PeerLimiter {
    /// `ratelimit_ms` and `ratemask` as Linux's sysctls; `hz` the TSC frequency.
    pub fn new(ratelimit_ms: u32, ratemask: u32, hz: u64) -> PeerLimiter {
        PeerLimiter {
            peers: vec![Peer::default(); SLOTS].into_boxed_slice(),
            cost: u64::from(ratelimit_ms) * hz / 1000,
            mask: ratemask,
        }
    }

    /// Whether an ICMP message of `typ`/`code` to `dst` may go at TSC time `now`.
    pub fn allow(&mut self, dst: Ipv4Addr, typ: u8, code: u8, now: u64) -> bool {
        if typ > 18 || typ == msg_type::DEST_UNREACHABLE && code == unreach_code::FRAG_NEEDED {
            return true;
        }
        if self.cost == 0 || self.mask & (1 << typ) == 0 {
            return true;
        }
        let addr = u32::from(dst);
        let p = &mut self.peers[slot(addr)];
        if !p.used || p.addr != addr {
            // A new peer starts with a full burst (inet_getpeer: rate_last = now - 60 s).
            *p = Peer {
                addr,
                tokens: BURST_FACTOR * self.cost,
                last: now,
                used: true,
            };
        }
        let tokens = (p.tokens + now.saturating_sub(p.last)).min(BURST_FACTOR * self.cost);
        p.last = now;
        if tokens >= self.cost {
            p.tokens = tokens - self.cost;
            true
        } else {
            p.tokens = tokens;
            false
        }
    }
}

/// The per-lcore limit of all ICMP errors (`icmp_global_allow`, `icmp_msgs_per_sec` and
/// `icmp_msgs_burst`): a token bucket on the TSC, `per_sec` messages per second, up to
/// `burst` at once.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    credit: u64,
    burst: u64,
    per_sec: u64,
    hz: u64,
    last: u64,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32, hz: u64) -> RateLimiter {
        RateLimiter {
            credit: burst as u64,
            burst: burst as u64,
            per_sec: per_sec as u64,
            hz: hz.max(1),
            last: 0,
        }
    }

    /// The TSC frequency it counts with.
    pub fn hz(&self) -> u64 {
        self.hz
    }

    /// Takes one token if there is one at time `now` (TSC cycles).
    #[inline]
    pub fn allow(&mut self, now: u64) -> bool {
        let elapsed = now.saturating_sub(self.last).min(self.hz);
        let earned = (u128::from(elapsed) * u128::from(self.per_sec) / u128::from(self.hz)) as u64;
        if earned > 0 {
            self.credit = (self.credit + earned).min(self.burst);
            self.last = now;
        }
        if self.credit == 0 {
            return false;
        }
        self.credit -= 1;
        true
    }
}

/// `ip_rt_redirect_number`: redirects sent to a host that keeps ignoring them.
pub const REDIRECT_NUMBER: u8 = 9;

#[derive(Debug, Clone, Copy, Default)]
struct RedirectPeer {
    addr: u32,
    /// When the last redirect was sent, or (once [`REDIRECT_NUMBER`] were) the last
    /// packet that would have had one (TSC; `rate_last`).
    last: u64,
    /// Redirects sent since the last reset (`n_redirects`).
    sent: u8,
    used: bool,
}

/// The backoff of ICMP redirects per source host, as the kernel's `ip_rt_send_redirect`
/// keeps it in the host's `inet_peer`: the first redirect goes at once; the next one only
/// when more than `ip_rt_redirect_load` (20 ms) << n has passed since the n-th, so the
/// gaps are 40 ms, 80 ms, ... 5.12 s; after [`REDIRECT_NUMBER`] of them the host gets no
/// more until it has sent nothing that would get one for `ip_rt_redirect_silence`
/// (20 ms << 10 = 20.48 s), and then it starts over. The kernel's jiffies are TSC ticks
/// here, and its `time_after` (strictly later) is kept.
///
/// One fixed table of [`SLOTS`] per lcore, indexed by a hash of the source, as
/// [`PeerLimiter`]: random sources cannot grow it; a host pushed out of its slot starts
/// over, as a host whose `inet_peer` the kernel has reclaimed does. Linux has one peer
/// per host for all CPUs; a host's packets normally reach one lcore (RSS), which then
/// keeps its backoff.
#[derive(Debug, Clone)]
pub struct RedirectPeers {
    peers: Box<[RedirectPeer]>,
    /// `ip_rt_redirect_load` (HZ / 50) in TSC ticks.
    load: u64,
    /// `ip_rt_redirect_silence` ((HZ / 50) << 10) in TSC ticks.
    silence: u64,
}

impl RedirectPeers {
    /// `hz`: the TSC frequency.
    pub fn new(hz: u64) -> RedirectPeers {
        let load = hz / 50;
        RedirectPeers {
            peers: vec![RedirectPeer::default(); SLOTS].into_boxed_slice(),
            load,
            silence: load << (REDIRECT_NUMBER + 1),
        }
    }

    /// Whether a redirect to `src` may go at TSC time `now`; counts it as sent if so.
    pub fn allow(&mut self, src: Ipv4Addr, now: u64) -> bool {
        let addr = u32::from(src);
        let p = &mut self.peers[slot(addr)];
        if !p.used || p.addr != addr {
            // inet_getpeer: a new peer starts with n_redirects 0 (its rate_last, 60 s
            // back, only makes the silence test below pass).
            *p = RedirectPeer {
                addr,
                last: now,
                sent: 0,
                used: true,
            };
        }
        let since = now.saturating_sub(p.last);
        if since > self.silence {
            p.sent = 0;
        }
        if p.sent >= REDIRECT_NUMBER {
            p.last = now;
            return false;
        }
        if p.sent == 0 || since > self.load << p.sent {
            p.last = now;
            p.sent += 1;
            return true;
        }
        false
    }
}

fn slot(addr: u32) -> usize {
    // Fibonacci hashing: the top bits of a multiply spread neighbouring addresses.
    (addr.wrapping_mul(0x9E37_79B9) >> (32 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: u64 = 1_000_000;
    const MS: u64 = HZ / 1000;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_of_six_then_one_per_ratelimit() {
        let mut l = PeerLimiter::new(1000, 6168, HZ);
        let sent = (0..10)
            .filter(|_| l.allow(a("192.0.2.1"), 11, 0, 0))
            .count();
        assert_eq!(sent, 6);
        assert!(!l.allow(a("192.0.2.1"), 3, 1, 999 * MS));
        assert!(l.allow(a("192.0.2.1"), 3, 1, 1000 * MS));
        assert!(!l.allow(a("192.0.2.1"), 3, 1, 1500 * MS));
        // Another host has its own bucket.
        assert!(l.allow(a("192.0.2.2"), 11, 0, 1500 * MS));
    }

    #[test]
    fn ratemask_and_frag_needed() {
        let mut l = PeerLimiter::new(1000, 6168, HZ);
        for _ in 0..100 {
            assert!(
                l.allow(a("192.0.2.1"), 3, 4, 0),
                "frag-needed is never limited"
            );
            assert!(
                l.allow(a("192.0.2.1"), 0, 0, 0),
                "echo replies are not in the mask"
            );
            assert!(
                l.allow(a("192.0.2.1"), 5, 1, 0),
                "redirects are not in 6168"
            );
        }
        let mut off = PeerLimiter::new(0, 6168, HZ);
        assert!(
            (0..100).all(|_| off.allow(a("192.0.2.1"), 11, 0, 0)),
            "icmp_ratelimit 0"
        );
    }

    /// When a host that sends one packet every `step` ms for `ms` ms gets redirects.
    fn redirects_at(step: u64, ms: u64) -> Vec<u64> {
        let mut r = RedirectPeers::new(HZ);
        (0..=ms / step)
            .map(|i| i * step)
            .filter(|&t| r.allow(a("10.0.1.3"), 1000 * MS + t * MS))
            .collect()
    }

    #[test]
    fn redirect_backoff_is_linux_schedule() {
        // Linux (tests/pcap/linux_redirects.py --timing, a packet every 10 ms): 9
        // redirects at 0, 51, 134, 298, 628, 1276, 2563, 5124, 10251 ms: each one more
        // than 20 ms << n after the n-th.
        assert_eq!(
            redirects_at(10, 30_000),
            [0, 50, 140, 310, 640, 1290, 2580, 5150, 10280]
        );
        // Every millisecond: strictly more than 40, 80, ... ms.
        assert_eq!(
            redirects_at(1, 12_000),
            [0, 41, 122, 283, 604, 1245, 2526, 5087, 10208]
        );
    }

    #[test]
    fn redirect_backoff_resets_after_silence() {
        let mut r = RedirectPeers::new(HZ);
        let h = a("10.0.1.3");
        let mut t = 0;
        let mut sent = 0;
        while sent < REDIRECT_NUMBER {
            t += 10 * MS;
            sent += u8::from(r.allow(h, t));
        }
        // Ignored nine times: nothing more while the host keeps sending, however long,
        // since every packet restarts the silence.
        for _ in 0..5000 {
            t += 10 * MS;
            assert!(!r.allow(h, t));
        }
        // 20.48 s of silence is not enough; strictly more is.
        assert!(!r.allow(h, t + 20_480 * MS));
        let t = t + 20_480 * MS;
        assert!(r.allow(h, t + 20_481 * MS));
        // And it starts over: the next one more than 40 ms later.
        let t = t + 20_481 * MS;
        assert!(!r.allow(h, t + 40 * MS));
        assert!(r.allow(h, t + 41 * MS));
        // Another host is not in that backoff.
        assert!(r.allow(a("10.0.1.4"), t + 42 * MS));
    }

    #[test]
    fn redirect_backoff_of_random_sources_is_bounded() {
        let mut r = RedirectPeers::new(HZ);
        let mut x = 0x2468_ace1u32;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            r.allow(Ipv4Addr::from(x), i);
        }
        assert_eq!(r.peers.len(), SLOTS);
    }

    #[test]
    fn random_sources_cannot_grow_it() {
        let mut l = PeerLimiter::new(1000, 6168, HZ);
        let mut x = 0x1234_5678u32;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            l.allow(Ipv4Addr::from(x), 11, 0, i);
        }
        assert_eq!(l.peers.len(), SLOTS);
    }
}
