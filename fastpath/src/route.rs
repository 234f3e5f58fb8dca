//! Route decisions (the kernel's `route.c`): the source and destination checks of an
//! input route ([`martian`], used by IPv4 input and by ARP), from a FIB result to a next
//! hop, and from a next hop to its [`Dst`]: output interface, source MAC, MTU, gateway or
//! on-link. A dst is per next hop, as the kernel caches one per `fib_nh`
//! (`nhc_pcpu_rth_output`, `nhc_rth_input`), so it holds nothing that depends on the
//! packet's destination: the neighbour (the MAC the frame goes to) is resolved per packet
//! at output ([`crate::output`], the kernel's `ip_finish_output2` -> `neigh_output`).

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey, RouteType};
use crate::iface::IfIndex;
use crate::nexthop::{multipath_hash, NhId};
use crate::snapshot::Snapshot;
use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Where and how to send a packet through one next hop (the kernel's `rtable`, whose
/// `dst_entry` is the output half). Built by [`nexthop_dst`]; read the MTU with
/// [`dst_mtu`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst {
    /// The output interface (`dst->dev`).
    pub iface: IfIndex,
    /// Its station MAC, the frame's source (`dev->dev_addr`).
    pub src_mac: EthernetAddress,
    /// The gateway (`rt_gw4` with `rt_uses_gateway`), or None when the destination is
    /// on-link and is its own neighbour.
    pub gateway: Option<Ipv4Addr>,
    /// The path MTU: the device's for now; a PMTU exception will lower it.
    mtu: u16,
}

impl Dst {
    /// The neighbour a packet to `daddr` is handed to (`rt_nexthop`): the gateway, or
    /// `daddr` itself when on-link.
    #[inline]
    pub fn nexthop(&self, daddr: Ipv4Addr) -> Ipv4Addr {
        self.gateway.unwrap_or(daddr)
    }
}

/// The MTU of a dst (the kernel's `dst_mtu`; for forwarded packets,
/// `ip_dst_mtu_maybe_forward(dst, true)`): what `ip_forward` checks a packet against.
#[inline]
pub fn dst_mtu(dst: &Dst) -> u16 {
    dst.mtu
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

/// What the input route of a packet that is forwarded through `nh` says about ICMP
/// redirects, as `__mkroute_input`: `Ok(true)` when it leaves by the interface it came in
/// on (`key.iif`), that interface sends redirects ([`Snapshot::tx_redirects`]), and the
/// source is directly connected there (`IPSKB_DOREDIRECT`). `ip_forward` then sends one
/// (see [`crate::icmp::send_redirect`]).
///
/// Whether the source is directly connected is `fib_validate_source`'s answer, which
/// Linux computes in full only in this case (out = in with redirects on; rp_filter is 0):
/// the reverse route (to the source, from the destination, `iif` the output interface)
/// must use the interface through a next hop without a gateway (`nhc_scope` host). No
/// reverse route, or a blackhole, unreachable or prohibit one (whose `fib_lookup` fails
/// the same way: `last_resort`), is no redirect; a local or broadcast one makes the
/// source a martian (`Err(MartianSource)`), which [`martian`] has already refused for
/// every such route this FIB has. When the reverse route does not use the
/// interface, Linux looks again bound to it (`flowi4_oif`); this takes that answer to be
/// whether one of the interface's subnets holds the source (a more specific route through
/// a gateway there would say no in Linux).
///
/// The gateway is not checked: `shared_media` is 1 in Linux by default (`conf.all` and
/// `conf.default`), which skips `inet_addr_onlink`, and there is no such knob here.
#[inline]
pub fn input_redirect(snap: &Snapshot, key: &FlowKey, nh: NhId) -> Result<bool, DropReason> {
    let Some(in_if) = key.iif else {
        return Ok(false);
    };
    if snap.nexthops.get(nh).iface != in_if || !snap.tx_redirects(in_if) {
        return Ok(false);
    }
    let reverse = FlowKey {
        daddr: key.saddr,
        saddr: key.daddr,
        iif: Some(in_if),
        tos: key.tos,
        mark: 0,
    };
    let Some(res) = snap.fib.lookup(&reverse) else {
        return Ok(false);
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
                return Ok(false);
            };
            let on_dev = members
                .iter()
                .any(|&(m, _)| snap.nexthops.get(m).iface == in_if);
            (*snap.nexthops.get(first), on_dev)
        }
        RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit => return Ok(false),
        RouteType::Local | RouteType::Broadcast => return Err(DropReason::MartianSource),
    };
    Ok(if dev_match {
        first.gateway.is_none()
    } else {
        snap.ifaces[in_if as usize]
            .addrs
            .iter()
            .any(|a| a.contains(key.saddr))
    })
}

/// The [`Dst`] of next hop `nh` (`rt_set_nexthop`: device, gateway, MTU). The same for
/// every destination reached through `nh`. Caller holds a snapshot reference.
#[inline]
pub fn nexthop_dst(snap: &Snapshot, nh: NhId) -> Dst {
    let nh = snap.nexthops.get(nh);
    let iface = &snap.ifaces[nh.iface as usize];
    Dst {
        iface: nh.iface,
        src_mac: iface.mac,
        gateway: nh.gateway,
        mtu: iface.mtu,
    }
}

/// Output route for a packet we originate to `daddr` (an ICMP error or reply): the
/// [`Dst`] and the source address to use (`ip_route_output_key` with saddr unset; the
/// lookup has no input interface, like Linux's `iif lo`). The neighbour is resolved when
/// the packet is sent ([`crate::output::ip_finish_output2`]).
#[inline]
pub fn route_output(snap: &Snapshot, daddr: Ipv4Addr) -> Option<(Dst, Ipv4Addr)> {
    let key = FlowKey::new(daddr);
    let rt = snap.fib.lookup(&key)?.route;
    let nh = select_nexthop(snap, rt, &key, || None)?;
    let dst = nexthop_dst(snap, nh);
    let src = snap.ifaces[dst.iface as usize].source_for(dst.nexthop(daddr))?;
    Some((dst, src))
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
    if saddr.octets()[0] == 0 {
        return Some(DropReason::MartianSource);
    }
    if daddr.octets()[0] == 0 || daddr.is_loopback() {
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
        let (d, src) = route_output(&s, Ipv4Addr::new(10, 0, 2, 9)).unwrap();
        assert_eq!(
            (d.iface, d.gateway, src),
            (1, None, Ipv4Addr::new(10, 0, 2, 1))
        );
        assert_eq!(route_output(&s, Ipv4Addr::new(192, 0, 2, 1)), None);
    }
}
