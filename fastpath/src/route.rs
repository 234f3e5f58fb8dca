//! Route decisions (the kernel's `route.c`): from a FIB result to a [`Dst`], the complete
//! instruction for sending a packet out: interface, MACs, MTU, and the neighbour address.

use crate::drop::DropReason;
use crate::fib::RouteType;
use crate::iface::IfIndex;
use crate::nexthop::NhId;
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

/// Looks up `daddr`: forward through a next hop, deliver locally, or reject.
/// Caller holds a snapshot reference (read side of RCU).
#[inline]
pub fn route_input(snap: &Snapshot, daddr: Ipv4Addr) -> InputRoute {
    use crate::wire::icmp::unreach_code;
    match snap.fib.lookup(daddr).map(|(_, rt)| rt) {
        None => InputRoute::Reject(DropReason::NoRoute, Some(unreach_code::NET)),
        Some(RouteType::Local) => InputRoute::Local,
        Some(RouteType::Broadcast) => InputRoute::Broadcast,
        Some(RouteType::Blackhole) => InputRoute::Reject(DropReason::Blackhole, None),
        Some(RouteType::Unreachable) => InputRoute::Reject(DropReason::Unreachable, Some(unreach_code::HOST)),
        Some(RouteType::Prohibit) => InputRoute::Reject(DropReason::Prohibit, Some(unreach_code::ADMIN_PROHIBITED)),
        Some(RouteType::Unicast(nh)) => InputRoute::Forward(nh),
    }
}

/// The [`Dst`] for sending to `daddr` through next hop `nh`, if the neighbour is known.
#[inline]
pub fn resolve(snap: &Snapshot, nh: NhId, daddr: Ipv4Addr) -> Option<Dst> {
    let nh = snap.nexthops.get(nh);
    let neighbor = nh.gateway.unwrap_or(daddr);
    let iface = &snap.ifaces[nh.iface as usize];
    let dst_mac = snap.neigh.lookup(nh.iface, neighbor)?;
    Some(Dst { iface: nh.iface, src_mac: iface.mac, dst_mac, mtu: iface.mtu, neighbor })
}

/// Output route for a packet we originate to `daddr` (an ICMP error or reply): the
/// [`Dst`] and the source address to use (`ip_route_output_key` with saddr unset).
#[inline]
pub fn route_output(snap: &Snapshot, daddr: Ipv4Addr) -> Option<(Dst, Ipv4Addr)> {
    match snap.fib.lookup(daddr)?.1 {
        RouteType::Unicast(nh) => {
            let dst = resolve(snap, nh, daddr)?;
            let src = snap.ifaces[dst.iface as usize].source_for(dst.neighbor)?;
            Some((dst, src))
        }
        _ => None,
    }
}
