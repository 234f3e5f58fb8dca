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
        let s = &cfg.settings;
        FnheParams {
            all: PortRedirects {
                accept_redirects: s.accept_redirects,
                secure_redirects: s.secure_redirects,
                shared_media: s.shared_media,
            },
            ports: cfg
                .ports
                .iter()
                .map(|p| PortRedirects {
                    accept_redirects: p.accept_redirects,
                    secure_redirects: p.secure_redirects,
                    shared_media: p.shared_media,
                })
                .collect(),
            min_pmtu: s.min_pmtu,
            mtu_expires: u64::from(s.mtu_expires) * tsc_hz,
            gc_timeout: u64::from(s.gc_timeout) * tsc_hz,
        }
    }

    /// Linux's defaults for a router (`accept_redirects` off), every port alike.
    pub fn defaults(tsc_hz: u64) -> FnheParams {
        let s = conf::Settings::default();
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
            || new_gw.octets()[0] == 0
        {
            return Learned::Rejected("new gateway is the old one, multicast, broadcast or 0/8");
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
