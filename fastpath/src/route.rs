//! Route decisions (the kernel's `route.c`): the source and destination checks of an
//! input route ([`martian`], used by IPv4 input and by ARP), from a FIB result to a next
//! hop, and from a next hop to its [`Dst`]: output interface, source MAC, MTU, gateway or
//! on-link. A dst is per next hop, as the kernel caches one per `fib_nh`
//! (`nhc_pcpu_rth_output`, `nhc_rth_input`), so it holds nothing that depends on the
//! packet's destination: the neighbour (the MAC the frame goes to) is resolved per packet
//! at output ([`crate::output`], the kernel's `ip_finish_output2` -> `neigh_output`).

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey, RouteType};
use crate::fnhe::Fnhe;
use crate::iface::IfIndex;
use crate::neigh::NeighEntry;
use crate::nexthop::{multipath_hash, NhId};
use crate::snapshot::Snapshot;
use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Where and how to send a packet through one next hop (the kernel's `rtable`, whose
/// `dst_entry` is the output half). Built by [`nexthop_dst`], kept per next hop in each
/// lcore's [`crate::dst_cache::DstCache`], and filled in by a nexthop exception
/// ([`crate::fnhe::Fnhe::apply`]) for the destinations that have one. Read the MTU with
/// [`dst_mtu`] (our own packets) or [`dst_mtu_forward`] (forwarded ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst {
    /// The output interface (`dst->dev`).
    pub iface: IfIndex,
    /// Its station MAC, the frame's source (`dev->dev_addr`).
    pub src_mac: EthernetAddress,
    /// The gateway (`rt_gw4` with `rt_uses_gateway`), or None when the destination is
    /// on-link and is its own neighbour.
    pub gateway: Option<Ipv4Addr>,
    /// The gateway's neighbour entry when the dst was built, if it was usable then (the
    /// kernel keeps it in the neighbour's `hh_cache`): a dst built under the current
    /// genid still has the right MAC, since any neighbour change bumps it. None for
    /// on-link next hops (the neighbour is the destination, looked up per packet) and
    /// for an unresolved gateway.
    pub neigh: Option<NeighEntry>,
    /// The device MTU.
    mtu: u16,
    /// A path MTU from a nexthop exception (`rt_pmtu`), 0 if none.
    pub pmtu: u16,
    /// The PMTU is locked (below `min_pmtu`): forwarded packets use it too.
    pub mtu_locked: bool,
    /// The gateway comes from an ICMP redirect (`RTCF_REDIRECTED`).
    pub redirected: bool,
}

impl Dst {
    /// A dst through `gateway` (None: on-link) out of `iface` with device MTU `mtu`, no
    /// neighbour cached and no exception.
    pub fn new(
        iface: IfIndex,
        src_mac: EthernetAddress,
        gateway: Option<Ipv4Addr>,
        mtu: u16,
    ) -> Dst {
        Dst {
            iface,
            src_mac,
            gateway,
            neigh: None,
            mtu,
            pmtu: 0,
            mtu_locked: false,
            redirected: false,
        }
    }

    /// The neighbour a packet to `daddr` is handed to (`rt_nexthop`): the gateway, or
    /// `daddr` itself when on-link.
    #[inline]
    pub fn nexthop(&self, daddr: Ipv4Addr) -> Ipv4Addr {
        self.gateway.unwrap_or(daddr)
    }

    /// The device MTU, whatever the exceptions say.
    #[inline]
    pub fn dev_mtu(&self) -> u16 {
        self.mtu
    }
}

/// The MTU of a dst for packets we originate (the kernel's `dst_mtu`, `ipv4_mtu`): the
/// PMTU when an exception has one, else the device's.
#[inline]
pub fn dst_mtu(dst: &Dst) -> u16 {
    if dst.pmtu != 0 {
        dst.pmtu
    } else {
        dst.mtu
    }
}

/// The MTU a forwarded packet is checked against (`ip_dst_mtu_maybe_forward(dst, true)`):
/// the device's, unless `ip_forward_use_pmtu` is set or the PMTU is locked, as in Linux
/// (a router does not trust a PMTU learned from ICMP for others' packets).
#[inline]
pub fn dst_mtu_forward(snap: &Snapshot, dst: &Dst) -> u16 {
    if snap.settings.ip_forward_use_pmtu || dst.mtu_locked {
        dst_mtu(dst)
    } else {
        dst.mtu
    }
}

/// The outcome of an input route lookup (`ip_route_input_slow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRoute {
    /// Forward through this next hop (whose [`Dst`] `ip_forward` checks the packet
    /// against; the neighbour is resolved at output).
    Forward(NhId),
    Local,
    Broadcast,
    /// Not forwardable: the reason, and whether it asks for an ICMP destination
    /// unreachable with this code.
    Reject(DropReason, Option<u8>),
}

/// The next hop of a unicast or multipath route; `l4` gives (protocol, ports) for the
/// L3+L4 hash policy (None for fragments and non-TCP/UDP).
#[inline]
pub fn select_nexthop(
    snap: &Snapshot,
    rt: RouteType,
    key: &FlowKey,
    l4: impl FnOnce() -> Option<(u8, u16, u16)>,
) -> Option<NhId> {
    match rt {
        RouteType::Unicast(nh) => Some(nh),
        RouteType::Multipath(g) => {
            let l4 = if snap.settings.fib_multipath_hash_policy == 1 {
                l4()
            } else {
                None
            };
            Some(
                snap.nexthops
                    .group(g)
                    .select(multipath_hash(key.saddr, key.daddr, l4)),
            )
        }
        _ => None,
    }
}

/// What a received packet's FIB result `res` (of `key`) means: forward through a next hop,
/// deliver locally, or reject. Caller holds a snapshot reference (read side of RCU).
#[inline]
pub fn route_input(
    snap: &Snapshot,
    key: &FlowKey,
    res: Option<FibResult>,
    l4: impl FnOnce() -> Option<(u8, u16, u16)>,
) -> InputRoute {
    use crate::wire::icmp::unreach_code;
    let Some(res) = res else {
        return InputRoute::Reject(DropReason::NoRoute, Some(unreach_code::NET));
    };
    match res.route {
        RouteType::Local => InputRoute::Local,
        RouteType::Broadcast => InputRoute::Broadcast,
        RouteType::Blackhole => InputRoute::Reject(DropReason::Blackhole, None),
        RouteType::Unreachable => {
            InputRoute::Reject(DropReason::Unreachable, Some(unreach_code::HOST))
        }
        RouteType::Prohibit => {
            InputRoute::Reject(DropReason::Prohibit, Some(unreach_code::ADMIN_PROHIBITED))
        }
        rt @ (RouteType::Unicast(_) | RouteType::Multipath(_)) => {
            match select_nexthop(snap, rt, key, l4) {
                Some(nh) => InputRoute::Forward(nh),
                None => InputRoute::Reject(DropReason::NoRoute, Some(unreach_code::NET)),
            }
        }
    }
}

/// The source check of an input route (`fib_validate_source`), for a packet received on
/// `key.iif` whose route is `route`: Ok(true) when it is forwarded through `nh` back out of
/// the interface it came in on, that interface sends redirects
/// ([`Snapshot::tx_redirects`]), and the source is directly connected there
/// (`__mkroute_input`'s `IPSKB_DOREDIRECT`: `ip_forward` then sends a redirect, see
/// [`crate::icmp::send_redirect`]); Ok(false) when the packet goes on without one; Err
/// when it is dropped: `rp_filter`, or `martian_source` for a source whose route is local
/// or broadcast (which [`martian`] has already refused for every such route this FIB has).
///
/// Linux makes the full check only when the interface's `rp_filter` ([`Snapshot::rp_filter`])
/// is on, or for the redirect case (out = in with redirects on); otherwise nothing is
/// looked up. The full check (`__fib_validate_source`) looks up the reverse route: to the
/// source, from the destination (0 for a broadcast), `iif` the output interface of a
/// forwarded packet, none for local input (Linux's `iif lo`), with the packet's TOS:
/// - none, or a blackhole, unreachable or prohibit route (`fib_lookup` fails:
///   `last_resort`): dropped under rp_filter, else no redirect;
/// - a local or broadcast route: `martian_source`;
/// - a route one of whose next hops uses the input interface: accepted, and the source is
///   directly connected if the first next hop has no gateway (`nhc_scope` host);
/// - otherwise strict mode (1) drops; loose mode (2), and the redirect check, look again
///   bound to the interface (`flowi4_oif`), which this takes to be whether one of the
///   interface's subnets holds the source (a more specific route through a gateway there
///   would say no in Linux); the packet is accepted either way. An interface without
///   addresses goes to `last_resort` instead.
///
/// Every packet is checked, whatever cache decided its route (a hint or a cached dst
/// never skips it). The gateway is not checked for the redirect: `shared_media` is 1 in
/// Linux by default (`conf.all` and `conf.default`), which skips `inet_addr_onlink`.
#[inline]
pub fn validate_source(
    snap: &Snapshot,
    key: &FlowKey,
    route: &InputRoute,
) -> Result<bool, DropReason> {
    let Some(in_if) = key.iif else {
        return Ok(false);
    };
    let rpf = snap.rp_filter(in_if);
    let (oif, spec_dst) = match *route {
        InputRoute::Forward(nh) => {
            let out = snap.nexthops.get(nh).iface;
            if rpf == 0 && (out != in_if || !snap.tx_redirects(in_if)) {
                return Ok(false);
            }
            (Some(out), key.daddr)
        }
        InputRoute::Local if rpf != 0 => (None, key.daddr),
        // brd_input: a broadcast from 0.0.0.0 (a DHCP client) is not checked.
        InputRoute::Broadcast if rpf != 0 && !key.saddr.is_unspecified() => {
            (None, Ipv4Addr::UNSPECIFIED)
        }
        _ => return Ok(false),
    };
    let on_link = full_source_check(snap, key, in_if, oif, spec_dst, rpf)?;
    Ok(on_link && oif == Some(in_if) && snap.tx_redirects(in_if))
}

/// `__fib_validate_source`: Ok(whether the source is directly connected on `in_if`), or
/// the drop (see [`validate_source`]).
fn full_source_check(
    snap: &Snapshot,
    key: &FlowKey,
    in_if: IfIndex,
    oif: Option<IfIndex>,
    spec_dst: Ipv4Addr,
    rpf: u8,
) -> Result<bool, DropReason> {
    let last_resort = if rpf != 0 {
        Err(DropReason::RpFilter)
    } else {
        Ok(false)
    };
    let reverse = FlowKey {
        daddr: key.saddr,
        saddr: spec_dst,
        iif: oif,
        tos: key.tos,
        mark: 0,
    };
    let Some(res) = snap.fib.lookup(&reverse) else {
        return last_resort;
    };
    // FIB_RES_NHC: the first next hop of the route; dev_match: any of them on the interface.
    let (first, dev_match) = match res.route {
        RouteType::Unicast(nh) => {
            let nh = snap.nexthops.get(nh);
            (*nh, nh.iface == in_if)
        }
        RouteType::Multipath(g) => {
            let members = &snap.nexthops.group(g).members;
            let Some(&(first, _)) = members.first() else {
                return last_resort;
            };
            let on_dev = members
                .iter()
                .any(|&(m, _)| snap.nexthops.get(m).iface == in_if);
            (*snap.nexthops.get(first), on_dev)
        }
        RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit => return last_resort,
        RouteType::Local | RouteType::Broadcast => return Err(DropReason::MartianSource),
    };
    if dev_match {
        return Ok(first.gateway.is_none());
    }
    let addrs = &snap.ifaces[in_if as usize].addrs;
    if addrs.is_empty() {
        return last_resort;
    }
    if rpf == 1 {
        return Err(DropReason::RpFilter);
    }
    Ok(addrs.iter().any(|a| a.contains(key.saddr)))
}

/// The [`Dst`] of next hop `nh` (`rt_set_nexthop`: device, gateway, MTU; and the
/// gateway's neighbour, `rt_cache_route` keeps it with the dst). The same for every
/// destination reached through `nh`. Caller holds a snapshot reference.
#[inline]
pub fn nexthop_dst(snap: &Snapshot, nh: NhId) -> Dst {
    let nh = snap.nexthops.get(nh);
    let iface = &snap.ifaces[nh.iface as usize];
    let mut dst = Dst::new(nh.iface, iface.mac, nh.gateway, iface.mtu);
    dst.neigh = nh.gateway.and_then(|gw| snap.neigh.entry(nh.iface, gw));
    dst
}

/// The dst of a packet to `daddr` through `nh`: the next hop's, with its exception for
/// `daddr` filled in if one applies at `now` (`find_exception` + `rt_bind_exception`).
#[inline]
pub fn exception_dst(snap: &Snapshot, nh: NhId, dst: Dst, daddr: Ipv4Addr, now: u64) -> Dst {
    match snap.exceptions.find(nh, daddr, now) {
        Some(e) => apply_exception(e, dst),
        None => dst,
    }
}

/// `fill_route_from_fnhe`: the exception's gateway (a new neighbour: the cached one is
/// dropped and looked up at output) and PMTU, in a copy of the next hop's dst.
#[inline]
pub fn apply_exception(e: &Fnhe, mut dst: Dst) -> Dst {
    if let Some(gw) = e.gw {
        if dst.gateway != Some(gw) {
            dst.gateway = Some(gw);
            dst.neigh = None;
        }
        dst.redirected = true;
    }
    if e.pmtu != 0 {
        dst.pmtu = e.pmtu;
        dst.mtu_locked = e.mtu_locked;
    }
    dst
}

/// Output route for a packet we originate to `daddr` (an ICMP error or reply): the
/// [`Dst`] and the source address to use (`ip_route_output_key` with saddr unset; the
/// lookup has no input interface, like Linux's `iif lo`), with the destination's
/// exception applied at `now` (its PMTU sizes our packets, its gateway takes them). The
/// neighbour is resolved when the packet is sent ([`crate::output::ip_finish_output2`]).
#[inline]
pub fn route_output(snap: &Snapshot, daddr: Ipv4Addr, now: u64) -> Option<(Dst, Ipv4Addr)> {
    let (nh, dst) = output_nexthop(snap, daddr)?;
    let dst = exception_dst(snap, nh, dst, daddr, now);
    let src = snap.ifaces[dst.iface as usize].source_for(dst.nexthop(daddr))?;
    Some((dst, src))
}

/// The next hop of the output route to `daddr` and its dst, before exceptions.
#[inline]
pub fn output_nexthop(snap: &Snapshot, daddr: Ipv4Addr) -> Option<(NhId, Dst)> {
    let key = FlowKey::new(daddr);
    let rt = snap.fib.lookup(&key)?.route;
    let nh = select_nexthop(snap, rt, &key, || None)?;
    Some((nh, nexthop_dst(snap, nh)))
}

/// Source and destination checks of `ip_route_input_slow` (route_localnet = 0,
/// accept_local = 0), in the kernel's order.
#[inline]
pub fn martian(snap: &Snapshot, saddr: Ipv4Addr, daddr: Ipv4Addr) -> Option<DropReason> {
    if saddr.is_multicast() || saddr.is_broadcast() {
        return Some(DropReason::MartianSource);
    }
    if daddr.is_broadcast() || (saddr.is_unspecified() && daddr.is_unspecified()) {
        // Limited broadcast: local input, but the source is still validated (brd_input).
        return (!saddr.is_unspecified() && snap.is_local_or_broadcast(saddr))
            .then_some(DropReason::MartianSource);
    }
    // ipv4_is_zeronet: 0.0.0.0 only since Linux 5.3 (the rest of 0/8 is unicast).
    if saddr.is_unspecified() {
        return Some(DropReason::MartianSource);
    }
    if daddr.is_unspecified() || daddr.is_loopback() {
        return Some(DropReason::MartianDestination);
    }
    if saddr.is_loopback() {
        return Some(DropReason::MartianSource);
    }
    if daddr.is_multicast() {
        return Some(DropReason::Multicast);
    }
    // fib_validate_source: a source that is one of our local or broadcast addresses.
    if snap.is_local_or_broadcast(saddr) {
        return Some(DropReason::MartianSource);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::{IfAddr, Iface};
    use crate::nexthop::Nexthop;
    use crate::snapshot::Settings;

    fn snap() -> (Snapshot, NhId, NhId) {
        let iface = |name: &str, mac, mtu, addr| Iface {
            name: name.into(),
            port_id: 0,
            mac: EthernetAddress(mac),
            mtu,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        let mut s = Snapshot::with_ifaces(
            vec![
                iface("p0", [2, 0, 0, 0, 0, 1], 1500, Ipv4Addr::new(10, 0, 1, 1)),
                iface("p1", [2, 0, 0, 0, 0, 2], 1400, Ipv4Addr::new(10, 0, 2, 1)),
            ],
            Settings::default(),
        );
        let via = s.nexthops.intern(Nexthop {
            iface: 1,
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
        });
        let onlink = s.nexthops.intern(Nexthop {
            iface: 0,
            gateway: None,
        });
        (s, via, onlink)
    }

    #[test]
    fn dst_is_per_nexthop_and_the_neighbour_per_destination() {
        let (s, via, onlink) = snap();
        let d = nexthop_dst(&s, via);
        assert_eq!(d.iface, 1);
        assert_eq!(d.src_mac, EthernetAddress([2, 0, 0, 0, 0, 2]));
        assert_eq!(dst_mtu(&d), 1400);
        // Every destination through a gateway goes to the gateway (rt_nexthop).
        for daddr in [Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(8, 8, 8, 8)] {
            assert_eq!(d.nexthop(daddr), Ipv4Addr::new(10, 0, 2, 2));
        }
        // On-link, the destination is its own neighbour.
        let d = nexthop_dst(&s, onlink);
        assert_eq!((d.iface, d.gateway, dst_mtu(&d)), (0, None, 1500));
        let host = Ipv4Addr::new(10, 0, 1, 77);
        assert_eq!(d.nexthop(host), host);
    }

    #[test]
    fn route_output_needs_no_neighbour() {
        // No neighbour entries at all: the route back still exists, and its source is the
        // egress address towards the neighbour; whether the neighbour answers is decided
        // at output.
        let (s, _, _) = snap();
        let (d, src) = route_output(&s, Ipv4Addr::new(10, 0, 2, 9), 0).unwrap();
        assert_eq!(
            (d.iface, d.gateway, src),
            (1, None, Ipv4Addr::new(10, 0, 2, 1))
        );
        assert_eq!(route_output(&s, Ipv4Addr::new(192, 0, 2, 1), 0), None);
    }

    #[test]
    fn an_exception_fills_in_gateway_and_pmtu() {
        let (s, via, _) = snap();
        let d = nexthop_dst(&s, via);
        let e = Fnhe {
            daddr: Ipv4Addr::new(198, 51, 100, 1),
            gw: Some(Ipv4Addr::new(10, 0, 2, 3)),
            pmtu: 552,
            mtu_locked: true,
            expires: 1,
            stamp: 0,
        };
        let x = apply_exception(&e, d);
        assert_eq!(x.gateway, Some(Ipv4Addr::new(10, 0, 2, 3)));
        assert_eq!((x.pmtu, x.mtu_locked, x.redirected), (552, true, true));
        assert_eq!((dst_mtu(&x), x.dev_mtu()), (552, 1400));
        // Locked: forwarded packets use it too; unlocked, only with ip_forward_use_pmtu.
        assert_eq!(dst_mtu_forward(&s, &x), 552);
        let unlocked = Dst {
            mtu_locked: false,
            pmtu: 1300,
            ..x
        };
        assert_eq!(dst_mtu_forward(&s, &unlocked), 1400);
        let mut s2 = s.clone();
        s2.settings.ip_forward_use_pmtu = true;
        assert_eq!(dst_mtu_forward(&s2, &unlocked), 1300);
    }
}
