//! IPv4 output (the kernel's `ip_output.c`): the last step of every packet we send,
//! forwarded or originated. The route is decided by then (a [`Dst`]: interface, source
//! MAC, MTU, gateway); here the neighbour of that dst for the packet's destination is
//! looked up and, if it is reachable, the Ethernet header is written
//! (`ip_finish_output2` -> `neigh_output`).
//!
//! Callers decide what an unreachable neighbour costs (forwarding counts `no_neighbor`,
//! an ICMP error `icmp_no_route_back`), so the answer is [`NeighOutput`] itself.

use crate::neigh::NeighOutput;
use crate::packet::{PacketBuf, ETH};
use crate::route::Dst;
use crate::snapshot::Snapshot;
use crate::wire::ethernet::{ethertype, EthernetFrame};
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::EthernetAddress;

/// Hands an IPv4 packet (Ethernet header room at offset 0, IPv4 header after it) to the
/// neighbour of `dst` for its destination (`rt_nexthop(rt, ip_hdr(skb)->daddr)`), as
/// `ip_finish_output2`: on [`NeighOutput::Reachable`] the Ethernet header is written and
/// the packet is ready for `dst.iface`; otherwise the packet is untouched and the caller
/// drops it (nothing queues it for resolution yet). Caller holds a snapshot reference.
#[inline]
pub fn ip_finish_output2<P: PacketBuf>(snap: &Snapshot, pkt: &mut P, dst: &Dst) -> NeighOutput {
    let daddr = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]).dst_addr();
    let n = snap.neigh.neigh_output(dst.iface, dst.nexthop(daddr));
    if let NeighOutput::Reachable(mac) = n {
        write_eth(pkt.data_mut(), mac, dst.src_mac, ethertype::IPV4);
    }
    n
}

/// Writes the Ethernet header of a frame we send (`dev_hard_header`).
#[inline(always)]
fn write_eth(frame: &mut [u8], dst_mac: EthernetAddress, src_mac: EthernetAddress, ethertype: u16) {
    let mut eth = EthernetFrame::new_unchecked(frame);
    eth.set_dst_addr(dst_mac);
    eth.set_src_addr(src_mac);
    eth.set_ethertype(ethertype);
}
