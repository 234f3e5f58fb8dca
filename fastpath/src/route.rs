//! Route decisions (the kernel's `route.c`): from a FIB result to a [`Dst`], the complete
//! instruction for sending a packet out: interface, MACs, MTU, and the neighbour address.

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey, RouteType};
use crate::iface::IfIndex;
use crate::nexthop::{multipath_hash, NhId};
use crate::snapshot::Snapshot;
use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Where and how to send a packet (the kernel's `dst_entry`/`rtable` for output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst {
    pub iface: IfIndex,
    pub src_mac: EthernetAddress,
    pub dst_mac: EthernetAddress,
    pub mtu: u16,
    /// The neighbour the frame is addressed to (gateway, or the destination when on-link).
    pub neighbor: Ipv4Addr,
}

/// The outcome of an input route lookup (`ip_route_input_slow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRoute {
    /// Forward through this next hop (resolved to a [`Dst`] after the TTL and MTU checks,
    /// as the kernel resolves the neighbour at output).
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

/// The [`Dst`] for sending to `daddr` through next hop `nh`, if the neighbour is known.
#[inline]
pub fn resolve(snap: &Snapshot, nh: NhId, daddr: Ipv4Addr) -> Option<Dst> {
    let nh = snap.nexthops.get(nh);
    let neighbor = nh.gateway.unwrap_or(daddr);
    let iface = &snap.ifaces[nh.iface as usize];
    let dst_mac = snap.neigh.lookup(nh.iface, neighbor)?;
    Some(Dst {
        iface: nh.iface,
        src_mac: iface.mac,
        dst_mac,
        mtu: iface.mtu,
        neighbor,
    })
}

/// Output route for a packet we originate to `daddr` (an ICMP error or reply): the
/// [`Dst`] and the source address to use (`ip_route_output_key` with saddr unset; the
/// lookup has no input interface, like Linux's `iif lo`).
#[inline]
pub fn route_output(snap: &Snapshot, daddr: Ipv4Addr) -> Option<(Dst, Ipv4Addr)> {
    let key = FlowKey::new(daddr);
    let rt = snap.fib.lookup(&key)?.route;
    let nh = select_nexthop(snap, rt, &key, || None)?;
    let dst = resolve(snap, nh, daddr)?;
    let src = snap.ifaces[dst.iface as usize].source_for(dst.neighbor)?;
    Some((dst, src))
}
