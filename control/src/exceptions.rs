//! Learning nexthop exceptions on the control core (the kernel's `ipv4_update_pmtu` ->
//! `__ip_rt_update_pmtu`, and `ipv4_redirect` -> `__ip_do_redirect`, both reached from
//! `icmp_err` for an ICMP error quoting an echo reply we sent). Workers punt such ICMP
//! ([`fastpath::punt::Punt::Icmp`]); [`Learner::icmp_in`] decides, under Linux's rules,
//! whether it creates or changes an exception ([`fastpath::fnhe`]), and the control core
//! publishes the result with the next snapshot (a new genid). It also expires them
//! ([`Learner::reap`]) and flushes them (`route flush cache`).

use crate::neigh::{Action, Neighbours};
use fastpath::fib::{FlowKey, RouteType};
use fastpath::fnhe::{Exceptions, FnheUpdate};
use fastpath::iface::IfIndex;
use fastpath::nexthop::NhId;
use fastpath::packet::ETH;
use fastpath::route::{apply_exception, dst_mtu, nexthop_dst, select_nexthop, Dst};
use fastpath::snapshot::Snapshot;
use fastpath::wire::icmp::{msg_type, Icmpv4Packet};
use fastpath::wire::ipv4::Ipv4Packet;
use std::net::Ipv4Addr;
use std::time::Instant;

/// The redirect knobs of one port (`net.ipv4.conf.<dev>.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRedirects {
    pub accept_redirects: bool,
    pub secure_redirects: bool,
    pub shared_media: bool,
}

/// What exception learning is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnheParams {
    /// `conf.all.*` of the same names.
    pub all: PortRedirects,
    /// By [`IfIndex`].
    pub ports: Vec<PortRedirects>,
    /// `route.min_pmtu`.
    pub min_pmtu: u16,
    /// `route.mtu_expires`, in TSC cycles.
    pub mtu_expires: u64,
    /// `route.gc_timeout` (a redirect's lifetime), in TSC cycles.
    pub gc_timeout: u64,
}

impl FnheParams {
    pub fn new(cfg: &conf::Config, tsc_hz: u64) -> FnheParams {
        FnheParams {
            ports: cfg
                .ports
                .iter()
                .map(|p| PortRedirects {
                    accept_redirects: p.accept_redirects,
                    secure_redirects: p.secure_redirects,
                    shared_media: p.shared_media,
                })
                .collect(),
            ..FnheParams::from_settings(&cfg.settings, tsc_hz)
        }
    }

    /// Linux's defaults for a router (`accept_redirects` off), every port alike.
    pub fn defaults(tsc_hz: u64) -> FnheParams {
        FnheParams::from_settings(&conf::Settings::default(), tsc_hz)
    }

    /// The global knobs of `s`; ports take `all`'s until given their own.
    fn from_settings(s: &conf::Settings, tsc_hz: u64) -> FnheParams {
        FnheParams {
            all: PortRedirects {
                accept_redirects: s.accept_redirects,
                secure_redirects: s.secure_redirects,
                shared_media: s.shared_media,
            },
            ports: Vec::new(),
            min_pmtu: s.min_pmtu,
            mtu_expires: u64::from(s.mtu_expires) * tsc_hz,
            gc_timeout: u64::from(s.gc_timeout) * tsc_hz,
        }
    }

    fn port(&self, iface: IfIndex) -> PortRedirects {
        self.ports.get(iface as usize).copied().unwrap_or(self.all)
    }

    /// `IN_DEV_RX_REDIRECTS` of a forwarding device: `IN_DEV_ANDCONF`.
    fn rx_redirects(&self, iface: IfIndex) -> bool {
        self.all.accept_redirects && self.port(iface).accept_redirects
    }
}

/// What one ICMP error taught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learned {
    /// A PMTU exception for this destination, on as many next hops.
    Pmtu {
        daddr: Ipv4Addr,
        mtu: u16,
        locked: bool,
        nexthops: usize,
    },
    /// A redirect exception: `daddr` now goes through `gw`.
    Redirect { daddr: Ipv4Addr, gw: Ipv4Addr },
    /// A redirect refused by `__ip_do_redirect` (why).
    Rejected(&'static str),
    /// A redirect that may apply once the new gateway's neighbour resolves (an ARP
    /// request was sent; Linux's `neigh_event_send`): nothing yet.
    Resolving,
    /// Nothing to learn (why): a frag-needed that does not lower the MTU, no route, ...
    Nothing(&'static str),
}

/// The control core's copy of the exceptions and how it changes them.
pub struct Learner {
    pub exceptions: Exceptions,
    pub params: FnheParams,
    /// Changed since the last publish.
    pub dirty: bool,
    /// The main table's default route (`secure_redirects` accepts only its gateways),
    /// kept current by the control core.
    pub default_route: Option<RouteType>,
    rng: u64,
}

impl Learner {
    pub fn new(params: FnheParams) -> Learner {
        Learner {
            exceptions: Exceptions::default(),
            params,
            dirty: false,
            default_route: None,
            rng: 0x2545_f491_4f6c_dd1d ^ fastpath::dpdk::rdtsc(),
        }
    }

    /// A random draw for the chain-depth limit (`get_random_u32_below`).
    fn draw(&mut self) -> usize {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize
    }

    /// One punted ICMP error received on `in_if` (`frame`: Ethernet, IPv4, ICMP quoting
    /// an echo reply we sent; the worker has checked that much, see
    /// `fastpath::local`). `now` is the TSC.
    #[allow(clippy::too_many_arguments)]
    pub fn icmp_in<P>(
        &mut self,
        snap: &Snapshot,
        neigh: &mut Neighbours<P>,
        in_if: IfIndex,
        frame: &[u8],
        now: u64,
        clock: Instant,
        actions: &mut Vec<Action<P>>,
    ) -> Learned {
        let Some(outer) = frame.get(ETH..).map(Ipv4Packet::new_unchecked) else {
            return Learned::Nothing("truncated");
        };
        let icmp = Icmpv4Packet::new_unchecked(outer.payload());
        let quoted = Ipv4Packet::new_unchecked(&outer.payload()[8..]);
        let key = FlowKey {
            daddr: quoted.dst_addr(),
            saddr: quoted.src_addr(),
            iif: None,
            tos: quoted.tos(),
            mark: 0,
        };
        match icmp.msg_type() {
            msg_type::DEST_UNREACHABLE => {
                let mtu = icmp.rest_of_header() as u16;
                self.update_pmtu(snap, &key, mtu, now)
            }
            msg_type::REDIRECT => {
                let gw = icmp.gateway_addr();
                let (old_gw, code) = (outer.src_addr(), icmp.msg_code());
                self.do_redirect(
                    snap, neigh, in_if, &key, old_gw, code, gw, now, clock, actions,
                )
            }
            _ => Learned::Nothing("not a frag-needed or a redirect"),
        }
    }

    /// The output route of `key` (`__ip_route_output_key`): every next hop of its route
    /// (one, or each member of a multipath route), the one chosen for `key`, and its dst
    /// with its exception for `key.daddr` applied.
    fn output_route(&self, snap: &Snapshot, key: &FlowKey, now: u64) -> Option<(Vec<NhId>, Dst)> {
        let res = snap.fib.lookup(&FlowKey::new(key.daddr))?;
        let all = match res.route {
            RouteType::Unicast(nh) => vec![nh],
            RouteType::Multipath(g) => snap.nexthops.group(g).members.iter().map(|m| m.0).collect(),
            _ => return None,
        };
        let nh = select_nexthop(snap, res.route, key, || None)?;
        let dst = nexthop_dst(snap, nh);
        let dst = match self.exceptions.find(nh, key.daddr, now) {
            Some(e) => apply_exception(e, dst),
            None => dst,
        };
        Some((all, dst))
    }

    /// `__ip_rt_update_pmtu`: a frag-needed saying `mtu` for the path to `key.daddr`.
    /// Only lowers the MTU; below `min_pmtu` it locks the PMTU at `min_pmtu` (or the
    /// current MTU if that is lower); a locked PMTU is never changed; the same PMTU is
    /// not renewed in the first half of its lifetime. Every next hop of a multipath route
    /// gets it.
    fn update_pmtu(&mut self, snap: &Snapshot, key: &FlowKey, mtu: u16, now: u64) -> Learned {
        let Some((all, dst)) = self.output_route(snap, key, now) else {
            return Learned::Nothing("no route to the quoted destination");
        };
        if dst.mtu_locked {
            return Learned::Nothing("PMTU locked");
        }
        let old = dst_mtu(&dst);
        if old < mtu {
            return Learned::Nothing("not lower than the MTU in use");
        }
        let p = &self.params;
        let (mtu, locked) = if mtu < p.min_pmtu {
            (old.min(p.min_pmtu), true)
        } else {
            (mtu, false)
        };
        let renew_after = self
            .exceptions
            .find(all[0], key.daddr, now)
            .map_or(0, |e| e.expires.saturating_sub(p.mtu_expires / 2));
        if dst.pmtu == mtu && !locked && now < renew_after {
            return Learned::Nothing("PMTU already known");
        }
        let expires = now + p.mtu_expires;
        let up = FnheUpdate {
            gw: None,
            pmtu: Some((mtu, locked)),
        };
        for &nh in &all {
            let draw = self.draw();
            self.exceptions
                .update_or_create(nh, key.daddr, up, expires, now, draw);
        }
        self.dirty = true;
        Learned::Pmtu {
            daddr: key.daddr,
            mtu,
            locked,
            nexthops: all.len(),
        }
    }

    /// `__ip_do_redirect`: a redirect from `old_gw` (the ICMP's source) received on
    /// `in_if`, code `code`, naming `new_gw` for `key.daddr`.
    #[allow(clippy::too_many_arguments)]
    fn do_redirect<P>(
        &mut self,
        snap: &Snapshot,
        neigh: &mut Neighbours<P>,
        in_if: IfIndex,
        key: &FlowKey,
        old_gw: Ipv4Addr,
        code: u8,
        new_gw: Ipv4Addr,
        now: u64,
        clock: Instant,
        actions: &mut Vec<Action<P>>,
    ) -> Learned {
        // Network, host, and their TOS variants are all taken as host redirects.
        if code & 7 > 3 {
            return Learned::Nothing("unknown redirect code");
        }
        let Some((_, dst)) = self.output_route(snap, key, now) else {
            return Learned::Nothing("no route to the quoted destination");
        };
        if dst.gateway != Some(old_gw) {
            return Learned::Rejected("not from the current gateway");
        }
        if !self.params.rx_redirects(in_if) {
            return Learned::Rejected("accept_redirects is off");
        }
        if new_gw == old_gw
            || new_gw.is_multicast()
            || new_gw.is_broadcast()
            || new_gw.is_unspecified()
        {
            return Learned::Rejected(
                "new gateway is the old one, multicast, broadcast or 0.0.0.0",
            );
        }
        let (all, port) = (self.params.all, self.params.port(in_if));
        if !(all.shared_media || port.shared_media) {
            // inet_addr_onlink: one subnet of the port holds both gateways.
            let onlink = snap.ifaces[in_if as usize]
                .addrs
                .iter()
                .any(|a| a.contains(new_gw) && a.contains(old_gw));
            if !onlink {
                return Learned::Rejected("new gateway not on the old one's subnet");
            }
            if (all.secure_redirects || port.secure_redirects)
                && !default_gateway(snap, self.default_route, in_if, new_gw)
            {
                return Learned::Rejected("secure_redirects: new gateway is not a default gateway");
            }
        } else if !unicast(snap, new_gw) {
            return Learned::Rejected("new gateway is not a unicast address");
        }
        match neigh.event_send(dst.iface, new_gw, clock, actions) {
            Some(Some(_)) => {}
            Some(None) => return Learned::Resolving,
            None => return Learned::Nothing("neighbour table full"),
        }
        let Some(res) = snap.fib.lookup(&FlowKey::new(key.daddr)) else {
            return Learned::Nothing("no route to the quoted destination");
        };
        let Some(nh) = select_nexthop(snap, res.route, key, || None) else {
            return Learned::Nothing("no route to the quoted destination");
        };
        let draw = self.draw();
        let up = FnheUpdate {
            gw: Some(new_gw),
            pmtu: None,
        };
        self.exceptions.update_or_create(
            nh,
            key.daddr,
            up,
            now + self.params.gc_timeout,
            now,
            draw,
        );
        self.dirty = true;
        Learned::Redirect {
            daddr: key.daddr,
            gw: new_gw,
        }
    }

    /// Drops what has expired (the exception table's GC); true if anything went.
    pub fn reap(&mut self, now: u64) -> bool {
        let gone = self.exceptions.reap(now) > 0;
        self.dirty |= gone;
        gone
    }

    /// `route flush cache`: every exception goes; returns how many.
    pub fn flush(&mut self) -> usize {
        self.dirty = true;
        self.exceptions.clear()
    }
}

/// `inet_addr_type(net, addr) == RTN_UNICAST`: not one of our addresses or broadcasts,
/// and not in a blackhole, unreachable or prohibit route of the (merged) main table.
fn unicast(snap: &Snapshot, addr: Ipv4Addr) -> bool {
    if snap.is_local_or_broadcast(addr) {
        return false;
    }
    if !snap.fib.default_rules_only() {
        return true;
    }
    match snap.fib.lookup(&FlowKey::new(addr)) {
        None => true,
        Some(r) => matches!(r.route, RouteType::Unicast(_) | RouteType::Multipath(_)),
    }
}

/// `ip_fib_check_default(gw, dev) == 0`: the default route (0.0.0.0/0 of the main
/// table, `default`) goes through `gw` on `iface`.
fn default_gateway(
    snap: &Snapshot,
    default: Option<RouteType>,
    iface: IfIndex,
    gw: Ipv4Addr,
) -> bool {
    let nh_is = |nh: NhId| {
        let n = snap.nexthops.get(nh);
        n.iface == iface && n.gateway == Some(gw)
    };
    match default {
        Some(RouteType::Unicast(nh)) => nh_is(nh),
        Some(RouteType::Multipath(g)) => snap.nexthops.group(g).members.iter().any(|m| nh_is(m.0)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neigh::{NeighParams, Nud};
    use fastpath::fib::{Prefix, TABLE_MAIN};
    use fastpath::icmp_limit::RateLimiter;
    use fastpath::iface::{IfAddr, Iface};
    use fastpath::lcore::LcoreCtx;
    use fastpath::nexthop::Nexthop;
    use fastpath::packet::{PacketBuf, VecBuf, Verdict};
    use fastpath::snapshot::Settings;
    use fastpath::stats::LcoreStats;
    use fastpath::wire::ipv4::{protocol, Ipv4Repr};
    use fastpath::wire::EthernetAddress;

    const HZ: u64 = 1_000_000;
    const US: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
    const G2: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
    const G3: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
    const G3_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 2, 3]);
    const FAR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    /// p0 10.0.1.1/24, p1 10.0.2.1/24 (MTU 1500), 198.51.100.0/24 via 10.0.2.2, and a
    /// default route via 10.0.2.2 (secure_redirects' known gateway), a blackhole.
    fn snap() -> Snapshot {
        let iface = |name: &str, mac: u8, addr| Iface {
            name: name.into(),
            port_id: 0,
            mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
            mtu: 1500,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        let mut s = Snapshot::with_ifaces(
            vec![
                iface("p0", 1, Ipv4Addr::new(10, 0, 1, 1)),
                iface("p1", 2, US),
            ],
            Settings::default(),
        );
        let via = s.nexthops.intern(Nexthop {
            iface: 1,
            gateway: Some(G2),
        });
        s.add_route(TABLE_MAIN, Prefix::new(FAR, 24), RouteType::Unicast(via));
        s.add_route(
            TABLE_MAIN,
            Prefix::new(Ipv4Addr::new(203, 0, 113, 0), 24),
            RouteType::Blackhole,
        );
        s.neigh.insert(1, G2, EthernetAddress([2, 0, 0, 0, 2, 2]));
        s.neigh.insert(1, G3, G3_MAC);
        s.neigh.insert(
            0,
            Ipv4Addr::new(10, 0, 1, 2),
            EthernetAddress([2, 0, 0, 0, 1, 2]),
        );
        s
    }

    struct Lab {
        snap: Snapshot,
        neigh: Neighbours<VecBuf>,
        learner: Learner,
        actions: Vec<Action<VecBuf>>,
        t0: Instant,
    }

    fn lab(accept: bool) -> Lab {
        let t0 = Instant::now();
        let mut neigh = Neighbours::new(NeighParams::default(), 100, t0);
        let mut none = Vec::new();
        for (a, m) in [(G2, [2, 0, 0, 0, 2, 2]), (G3, G3_MAC.0)] {
            neigh.admin_set(1, a, EthernetAddress(m), Nud::Permanent, t0, &mut none);
        }
        let mut p = FnheParams::defaults(HZ);
        p.all.accept_redirects = accept;
        let mut learner = Learner::new(p);
        let snap = snap();
        learner.default_route = Some(RouteType::Unicast(snap.nexthops.len() as NhId - 1));
        Lab {
            snap,
            neigh,
            learner,
            actions: Vec::new(),
            t0,
        }
    }

    /// An ICMP error from `from` (type, code, rest of header) quoting our echo reply to
    /// `FAR`, as a worker punts it: Ethernet, IPv4, ICMP, quoted header + 8 bytes.
    fn icmp(from: Ipv4Addr, typ: u8, code: u8, rest: u32) -> Vec<u8> {
        let mut quoted = vec![0u8; 28];
        Ipv4Repr {
            src_addr: US,
            dst_addr: FAR,
            protocol: protocol::ICMP,
            payload_len: 64,
            ttl: 64,
            tos: 0,
            ident: 7,
            dont_frag: false,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut quoted[..20]));
        let mut f = vec![0u8; ETH + 20 + 8];
        f.extend(quoted);
        Ipv4Repr {
            src_addr: from,
            dst_addr: US,
            protocol: protocol::ICMP,
            payload_len: 8 + 28,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_frag: false,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
        let mut m = Icmpv4Packet::new_unchecked(&mut f[ETH + 20..]);
        m.set_msg_type(typ);
        m.set_msg_code(code);
        m.set_rest_of_header(rest);
        m.fill_checksum();
        f
    }

    impl Lab {
        fn send(&mut self, frame: &[u8], at_s: u64) -> Learned {
            self.learner.icmp_in(
                &self.snap,
                &mut self.neigh,
                1,
                frame,
                at_s * HZ,
                self.t0,
                &mut self.actions,
            )
        }
        fn frag_needed(&mut self, mtu: u16, at_s: u64) -> Learned {
            self.send(&icmp(G2, 3, 4, u32::from(mtu)), at_s)
        }
        fn redirect(&mut self, from: Ipv4Addr, code: u8, gw: Ipv4Addr) -> Learned {
            self.send(&icmp(from, 5, code, u32::from(gw)), 1)
        }
        /// The exception for FAR at `at_s`: (gateway, PMTU, locked).
        fn fnhe(&self, at_s: u64) -> Option<(Option<Ipv4Addr>, u16, bool)> {
            self.learner
                .exceptions
                .iter()
                .find(|(_, e)| e.daddr == FAR && e.valid(at_s * HZ))
                .map(|(_, e)| (e.gw, e.pmtu, e.mtu_locked))
        }
    }

    #[test]
    fn pmtu_only_lowers_and_locks_at_min_pmtu() {
        let mut l = lab(false);
        assert!(matches!(
            l.frag_needed(1400, 1),
            Learned::Pmtu {
                mtu: 1400,
                locked: false,
                ..
            }
        ));
        assert_eq!(l.fnhe(2), Some((None, 1400, false)));
        assert_eq!(
            l.frag_needed(1450, 2),
            Learned::Nothing("not lower than the MTU in use")
        );
        assert_eq!(
            l.frag_needed(1400, 3),
            Learned::Nothing("PMTU already known")
        );
        assert!(matches!(
            l.frag_needed(1300, 3),
            Learned::Pmtu { mtu: 1300, .. }
        ));
        // Below min_pmtu (552), and 0 (no MTU given): locked at 552.
        assert!(matches!(
            l.frag_needed(300, 4),
            Learned::Pmtu {
                mtu: 552,
                locked: true,
                ..
            }
        ));
        assert_eq!(l.fnhe(5), Some((None, 552, true)));
        assert_eq!(l.frag_needed(500, 5), Learned::Nothing("PMTU locked"));
        let mut l = lab(false);
        assert!(matches!(
            l.frag_needed(0, 1),
            Learned::Pmtu {
                mtu: 552,
                locked: true,
                ..
            }
        ));
    }

    #[test]
    fn pmtu_expires_after_mtu_expires_and_is_reaped() {
        let mut l = lab(false);
        l.frag_needed(1400, 10);
        assert!(l.fnhe(609).is_some());
        assert!(l.fnhe(610).is_none(), "600 s later it no longer applies");
        assert!(!l.learner.reap(609 * HZ));
        assert!(l.learner.reap(610 * HZ));
        assert!(l.learner.exceptions.is_empty());
        // Renewed only in the second half of its life.
        l.frag_needed(1400, 700);
        assert_eq!(
            l.frag_needed(1400, 999),
            Learned::Nothing("PMTU already known")
        );
        assert!(matches!(l.frag_needed(1400, 1001), Learned::Pmtu { .. }));
        assert!(l.fnhe(1600).is_some());
    }

    #[test]
    fn a_redirect_from_the_gateway_changes_it_until_gc_timeout() {
        let mut l = lab(true);
        assert_eq!(
            l.redirect(G2, 1, G3),
            Learned::Redirect { daddr: FAR, gw: G3 }
        );
        assert_eq!(l.fnhe(300), Some((Some(G3), 0, false)));
        assert!(l.fnhe(301).is_none(), "gc_timeout 300 s");
        // Now G3 is the gateway for FAR: a redirect from G2 is no longer from it.
        assert_eq!(
            l.redirect(G2, 1, G3),
            Learned::Rejected("not from the current gateway")
        );
        // Net and TOS redirects are taken as host redirects.
        let mut l = lab(true);
        assert!(matches!(l.redirect(G2, 0, G3), Learned::Redirect { .. }));
        let mut l = lab(true);
        assert!(matches!(l.redirect(G2, 3, G3), Learned::Redirect { .. }));
    }

    #[test]
    fn every_rejection_rule_of_ip_do_redirect() {
        let cases: [(&str, bool, Ipv4Addr, u8, Ipv4Addr, Learned); 9] = [
            (
                "accept_redirects off",
                false,
                G2,
                1,
                G3,
                Learned::Rejected("accept_redirects is off"),
            ),
            (
                "not from the gateway",
                true,
                G3,
                1,
                G3,
                Learned::Rejected("not from the current gateway"),
            ),
            (
                "unknown code",
                true,
                G2,
                4,
                G3,
                Learned::Nothing("unknown redirect code"),
            ),
            (
                "new = old",
                true,
                G2,
                1,
                G2,
                Learned::Rejected("new gateway is the old one, multicast, broadcast or 0.0.0.0"),
            ),
            (
                "multicast",
                true,
                G2,
                1,
                Ipv4Addr::new(224, 0, 0, 1),
                Learned::Rejected("new gateway is the old one, multicast, broadcast or 0.0.0.0"),
            ),
            (
                "limited broadcast",
                true,
                G2,
                1,
                Ipv4Addr::BROADCAST,
                Learned::Rejected("new gateway is the old one, multicast, broadcast or 0.0.0.0"),
            ),
            (
                "0.0.0.0",
                true,
                G2,
                1,
                Ipv4Addr::UNSPECIFIED,
                Learned::Rejected("new gateway is the old one, multicast, broadcast or 0.0.0.0"),
            ),
            (
                "our address",
                true,
                G2,
                1,
                US,
                Learned::Rejected("new gateway is not a unicast address"),
            ),
            (
                "blackhole",
                true,
                G2,
                1,
                Ipv4Addr::new(203, 0, 113, 1),
                Learned::Rejected("new gateway is not a unicast address"),
            ),
        ];
        for (what, accept, from, code, gw, want) in cases {
            let mut l = lab(accept);
            assert_eq!(l.redirect(from, code, gw), want, "{what}");
            assert!(l.learner.exceptions.is_empty(), "{what}: nothing learned");
            assert!(!l.learner.dirty, "{what}: nothing to publish");
        }
        // Our subnet's broadcast is ours too (not unicast).
        let mut l = lab(true);
        assert_eq!(
            l.redirect(G2, 1, Ipv4Addr::new(10, 0, 2, 255)),
            Learned::Rejected("new gateway is not a unicast address")
        );
        // The port's own accept_redirects off: IN_DEV_ANDCONF.
        let mut l = lab(true);
        l.learner.params.ports = vec![
            PortRedirects {
                accept_redirects: true,
                secure_redirects: true,
                shared_media: true,
            },
            PortRedirects {
                accept_redirects: false,
                secure_redirects: true,
                shared_media: true,
            },
        ];
        assert_eq!(
            l.redirect(G2, 1, G3),
            Learned::Rejected("accept_redirects is off")
        );
    }

    #[test]
    fn without_shared_media_the_new_gateway_must_be_on_link_and_under_secure_redirects_known() {
        let no_shared = |secure| PortRedirects {
            accept_redirects: true,
            secure_redirects: secure,
            shared_media: false,
        };
        let mut l = lab(true);
        l.learner.params.all = no_shared(false);
        l.learner.params.ports = vec![no_shared(false); 2];
        assert_eq!(
            l.redirect(G2, 1, Ipv4Addr::new(10, 0, 1, 9)),
            Learned::Rejected("new gateway not on the old one's subnet")
        );
        assert!(matches!(l.redirect(G2, 1, G3), Learned::Redirect { .. }));
        // secure_redirects: only a gateway of the default route (10.0.2.2 here).
        let mut l = lab(true);
        l.learner.params.all = no_shared(true);
        l.learner.params.ports = vec![no_shared(true); 2];
        let via_g2 = l.snap.nexthops.intern(Nexthop {
            iface: 1,
            gateway: Some(G2),
        });
        l.learner.default_route = Some(RouteType::Unicast(via_g2));
        assert_eq!(
            l.redirect(G2, 1, G3),
            Learned::Rejected("secure_redirects: new gateway is not a default gateway")
        );
    }

    #[test]
    fn an_unresolved_new_gateway_is_solicited_not_used() {
        let mut l = lab(true);
        let g4 = Ipv4Addr::new(10, 0, 2, 4);
        assert_eq!(l.redirect(G2, 1, g4), Learned::Resolving);
        assert!(l.learner.exceptions.is_empty());
        assert!(l
            .actions
            .iter()
            .any(|a| matches!(a, Action::Solicit { iface: 1, target, .. } if *target == g4)));
    }

    #[test]
    fn random_frag_needed_for_random_destinations_stays_bounded() {
        let mut l = lab(false);
        // Every destination behind the default route's next hop.
        let dflt = l.snap.nexthops.intern(Nexthop {
            iface: 1,
            gateway: Some(G2),
        });
        l.snap.add_route(
            TABLE_MAIN,
            Prefix::new(Ipv4Addr::UNSPECIFIED, 0),
            RouteType::Unicast(dflt),
        );
        let mut x = 0x9e37_79b9u32;
        for i in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let mut f = icmp(G2, 3, 4, 1400);
            // Quote a packet of ours to a random destination (the quoted daddr).
            let q = ETH + 28 + 16;
            f[q..q + 4].copy_from_slice(&x.to_be_bytes());
            l.learner
                .icmp_in(&l.snap, &mut l.neigh, 1, &f, i, l.t0, &mut l.actions);
        }
        let n = l.learner.exceptions.len();
        assert!(n <= 2 * 2048 * fastpath::fnhe::FNHE_RECLAIM_DEPTH, "{n}");
        assert!(l.learner.exceptions.tables() <= l.snap.nexthops.len());
    }

    /// What the learning changes in the data plane: the exception, published with the
    /// snapshot, sends forwarded packets to the redirect's gateway and sizes our ICMP
    /// errors by the PMTU.
    #[test]
    fn published_exceptions_change_what_the_data_plane_sends() {
        let mut l = lab(true);
        l.redirect(G2, 1, G3);
        l.frag_needed(300, 1);
        let mut snap = l.snap.clone();
        snap.exceptions = l.learner.exceptions.clone();
        snap.genid += 1;
        let stats = LcoreStats::new(1);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, HZ));
        ctx.now = 2 * HZ;
        // A UDP packet from 10.0.1.2 (p0) to FAR, 1000 bytes, DF clear.
        let mut f = vec![0u8; ETH + 1000];
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&[8, 0]);
        let repr = |len: usize, df| Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 1, 2),
            dst_addr: FAR,
            protocol: protocol::UDP,
            payload_len: len - 20,
            ttl: 64,
            tos: 0,
            ident: 9,
            dont_frag: df,
        };
        repr(1000, false).emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
        let mut pkt = VecBuf::new(&f);
        let v = fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 0);
        // The locked PMTU applies to forwarded packets too: fragmented at 552, to G3.
        assert_eq!(v, Verdict::Fragment(1, 552));
        assert_eq!(pkt.data()[..6], G3_MAC.0, "to the redirect's gateway");
        // With DF: frag-needed carrying 552.
        repr(1000, true).emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
        let mut pkt = VecBuf::new(&f);
        let v = fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 0);
        assert_eq!(v, Verdict::Tx(0));
        let err = Icmpv4Packet::new_unchecked(&pkt.data()[ETH + 20..]);
        assert_eq!((err.msg_type(), err.msg_code()), (3, 4));
        assert_eq!(err.rest_of_header() & 0xffff, 552);
        // Our own ICMP errors to FAR are sized by the PMTU: 552 bytes, not 576. And once it
        // has expired, forwarded packets go to G2 at the device MTU.
        let time_exceeded_len = |snap: &Snapshot, ctx: &mut LcoreCtx| {
            let mut f = vec![0u8; ETH + 1000];
            f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
            f[12..14].copy_from_slice(&[8, 0]);
            Ipv4Repr {
                src_addr: FAR,
                dst_addr: Ipv4Addr::new(10, 0, 1, 2),
                protocol: protocol::UDP,
                payload_len: 980,
                ttl: 1,
                tos: 0,
                ident: 3,
                dont_frag: false,
            }
            .emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
            let mut pkt = VecBuf::new(&f);
            let v = fastpath::pipeline::process(snap, ctx, &mut pkt, 1);
            assert_eq!(v, Verdict::Tx(1));
            assert_eq!(
                pkt.data()[..6],
                G3_MAC.0,
                "the error goes by the exception's gateway"
            );
            Ipv4Packet::new_unchecked(&pkt.data()[ETH..]).total_len()
        };
        assert_eq!(time_exceeded_len(&snap, &mut ctx), 552);
        // An echo reply to FAR over the PMTU goes in fragments (Linux's ICMP socket is
        // IP_PMTUDISC_DONT), counted once as an echo reply.
        let mut e = vec![0u8; ETH + 1000];
        e[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        e[12..14].copy_from_slice(&[8, 0]);
        Ipv4Repr {
            src_addr: FAR,
            dst_addr: US,
            protocol: protocol::ICMP,
            payload_len: 980,
            ttl: 60,
            tos: 0,
            ident: 4,
            dont_frag: false,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut e[ETH..ETH + 20]));
        let mut m = Icmpv4Packet::new_unchecked(&mut e[ETH + 20..]);
        m.set_msg_type(8);
        m.fill_checksum();
        let mut pkt = VecBuf::new(&e);
        assert_eq!(
            fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 1),
            Verdict::FragmentLocal(1, 552)
        );
        let mut frags = Vec::new();
        fastpath::output::ip_fragment_local(&ctx, pkt, 552, |f| frags.push(f)).unwrap();
        let lens: Vec<u16> = frags
            .iter()
            .map(|f| Ipv4Packet::new_unchecked(&f.data()[ETH..]).total_len())
            .collect();
        assert_eq!(lens, [548, 472]);
        let st = stats.snapshot();
        assert_eq!(
            (
                st.get(fastpath::stats::Stat::EchoReplies),
                st.get(fastpath::stats::Stat::Forwarded)
            ),
            (1, 0)
        );
        ctx.now = 302 * HZ;
        repr(1000, false).emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
        let mut pkt = VecBuf::new(&f);
        // One deadline for the entry, the last update's (the PMTU's, 600 s), as Linux's
        // fnhe_expires: the redirect's gateway lasts with it.
        assert_eq!(
            fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 0),
            Verdict::Fragment(1, 552)
        );
        assert_eq!(pkt.data()[..6], G3_MAC.0);
        ctx.now = 602 * HZ;
        let mut pkt = VecBuf::new(&f);
        assert_eq!(
            fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 0),
            Verdict::Tx(1)
        );
        // Without exceptions: straight through to G2 at the device MTU.
        snap.exceptions = Exceptions::default();
        snap.genid += 1;
        repr(1000, false).emit(&mut Ipv4Packet::new_unchecked(&mut f[ETH..ETH + 20]));
        let mut pkt = VecBuf::new(&f);
        assert_eq!(
            fastpath::pipeline::process(&snap, &mut ctx, &mut pkt, 0),
            Verdict::Tx(1)
        );
        assert_eq!(pkt.data()[..6], [2, 0, 0, 0, 2, 2]);
    }
}
