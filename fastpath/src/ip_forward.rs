//! IPv4 forwarding (the kernel's `ip_forward`): only frames addressed to our MAC, TTL,
//! MTU with DF (RFC 1191), neighbour, then TTL decrement with an incremental checksum
//! (RFC 1624) and the MAC rewrite.

use crate::drop::DropReason;
use crate::ip_input::ETH;
use crate::nexthop::NhId;
use crate::packet::PacketBuf;
use crate::pipeline::{write_eth, L2Dest, LcoreCtx, Verdict};
use crate::route::resolve;
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::ethernet::ethertype;
use crate::wire::icmp::{msg_type, unreach_code};
use crate::wire::ipv4::Ipv4Packet;

#[inline]
pub fn forward<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    nh: NhId,
    l2: L2Dest,
) -> Verdict {
    if l2 != L2Dest::Host {
        return ctx.drop(DropReason::L2BroadcastForward);
    }
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if ip.ttl() <= 1 {
        ctx.stats.drop(DropReason::TtlExceeded);
        return crate::icmp::send_error(snap, ctx, pkt, l2, msg_type::TIME_EXCEEDED, 0, 0);
    }
    let daddr = ip.dst_addr();
    let mtu = snap.ifaces[snap.nexthops.get(nh).iface as usize].mtu;
    if ip.total_len() > mtu {
        if ip.dont_frag() {
            ctx.stats.drop(DropReason::FragNeeded);
            return crate::icmp::send_error(
                snap,
                ctx,
                pkt,
                l2,
                msg_type::DEST_UNREACHABLE,
                unreach_code::FRAG_NEEDED,
                mtu as u32,
            );
        }
        return ctx.drop(DropReason::MtuExceeded);
    }
    let Some(dst) = resolve(snap, nh, daddr) else {
        return ctx.drop(DropReason::NoNeighbor);
    };
    let frame = pkt.data_mut();
    Ipv4Packet::new_unchecked(&mut frame[ETH..]).decrement_ttl();
    write_eth(frame, &dst, ethertype::IPV4);
    ctx.stats.inc(Stat::Forwarded);
    Verdict::Tx(dst.iface)
}
