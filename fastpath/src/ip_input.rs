//! IPv4 receive (the kernel's `ip_rcv_core` and `ip_route_input_slow`): header validation
//! per RFC 1812 5.2.2, martian filtering per RFC 1812 5.3.7 as Linux does it, options,
//! then the route lookup that sends the packet to forwarding, local delivery or a reject.

use crate::drop::DropReason;
use crate::iface::IfIndex;
use crate::packet::PacketBuf;
use crate::pipeline::{L2Dest, LcoreCtx, Verdict};
use crate::fib::FlowKey;
use crate::route::{route_input, InputRoute};
use crate::wire::l4;
use crate::snapshot::Snapshot;
use crate::stats::Stage;
use crate::wire::ethernet::EthernetFrame;
use crate::wire::icmp::msg_type;
use crate::wire::ipv4::{Ipv4Error, Ipv4Packet};
use std::net::Ipv4Addr;

pub(crate) const ETH: usize = EthernetFrame::<&[u8]>::HEADER_LEN;

/// Validates, filters and routes one IPv4 packet (Ethernet header at offset 0).
pub fn input<P: PacketBuf>(snap: &Snapshot, ctx: &mut LcoreCtx, pkt: &mut P, in_if: IfIndex, l2: L2Dest) -> Verdict {
    let avail = pkt.len() - ETH;
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if let Err(e) = ip.check_header(avail) {
        return ctx.drop(match e {
            Ipv4Error::Truncated => DropReason::ShortFrame,
            Ipv4Error::BadVersion => DropReason::BadVersion,
            Ipv4Error::BadIhl => DropReason::BadIhl,
            Ipv4Error::BadTotalLength => DropReason::BadTotalLength,
            Ipv4Error::BadChecksum => DropReason::BadChecksum,
        });
    }
    let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
    // Link-layer padding is not part of the packet (pskb_trim_rcsum).
    let total_len = ip.total_len() as usize;
    pkt.truncate(ETH + total_len);
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if ip.header_len() > Ipv4Packet::<&[u8]>::MIN_HEADER_LEN {
        match ip.scan_options() {
            Err(_) => return ctx.drop(DropReason::BadOptions),
            Ok(o) if o.has_source_route => return ctx.drop(DropReason::SourceRoute),
            Ok(_) => {}
        }
    }
    if let Some(reason) = martian(snap, saddr, daddr) {
        return ctx.drop(reason);
    }
    // Limited broadcast, and 0.0.0.0 -> 0.0.0.0, are broadcast input (brd_input).
    if daddr.is_broadcast() || (saddr.is_unspecified() && daddr.is_unspecified()) {
        return crate::icmp::local_input(snap, ctx, pkt, in_if, true);
    }
    ctx.mark(Stage::Parse);
    let key = FlowKey { daddr, saddr, iif: Some(in_if), tos: ip.tos(), mark: 0 };
    let not_first_fragment = ip.frag_offset() != 0 || ip.more_frags();
    let l4 = || if not_first_fragment { None } else { l4::ports(ip.protocol(), ip.payload()).map(|(s, d)| (ip.protocol(), s, d)) };
    let route = route_input(snap, &key, l4);
    ctx.mark(Stage::Lookup);
    match route {
        InputRoute::Forward(nh) => crate::ip_forward::forward(snap, ctx, pkt, nh, l2),
        InputRoute::Local => crate::icmp::local_input(snap, ctx, pkt, in_if, false),
        InputRoute::Broadcast => crate::icmp::local_input(snap, ctx, pkt, in_if, true),
        InputRoute::Reject(reason, code) => {
            ctx.stats.drop(reason);
            if let Some(code) = code {
                crate::icmp::send_error(snap, ctx, pkt, l2, msg_type::DEST_UNREACHABLE, code, 0)
            } else {
                Verdict::Drop
            }
        }
    }
}

/// Source and destination checks of `ip_route_input_slow` (route_localnet = 0,
/// accept_local = 0), in the kernel's order.
#[inline]
fn martian(snap: &Snapshot, saddr: Ipv4Addr, daddr: Ipv4Addr) -> Option<DropReason> {
    if saddr.is_multicast() || saddr.is_broadcast() {
        return Some(DropReason::MartianSource);
    }
    if daddr.is_broadcast() || (saddr.is_unspecified() && daddr.is_unspecified()) {
        // Limited broadcast: local input, but the source is still validated (brd_input).
        return (!saddr.is_unspecified() && snap.is_local_or_broadcast(saddr)).then_some(DropReason::MartianSource);
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
