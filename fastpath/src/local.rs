//! Local delivery (the kernel's `ip_local_deliver_finish`): what is addressed to us.
//!
//! There is no local stack, so everything but ICMP is refused as Linux refuses it when no
//! socket listens, and counted as `local_unhandled`:
//! - UDP to any port gets ICMP port unreachable (`__udp4_lib_rcv`), unless its length or
//!   checksum is wrong (a zero checksum means none, RFC 768);
//! - TCP gets a reset (`tcp_v4_send_reset`), unless it is a reset itself or its checksum is
//!   wrong: RST with seq = the segment's ack when it has ACK, else RST|ACK with seq 0 and
//!   ack = seq + SYN + FIN + data; window 0, DF set, IP id 0, the segment's TOS;
//! - other protocols (IGMP aside, which Linux takes silently) get ICMP protocol
//!   unreachable (`ip_protocol_deliver_rcu`);
//! - ICMP fragmentation needed and redirects that quote an echo reply we sent go to the
//!   control core ([`Punt::Icmp`]), which may learn a nexthop exception from them; other
//!   ICMP but echo requests is `local_unhandled`.
//!
//! None of these answers a broadcast destination, and ICMP errors none a link-layer
//! broadcast frame (`icmp_send`).

use crate::drop::DropReason;
use crate::icmp::{echo_reply, push_reply, send_error_from, write_headers_for};
use crate::iface::IfIndex;
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::punt::Punt;
use crate::route::route_output;
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::checksum;
use crate::wire::icmp::{msg_type, unreach_code, Icmpv4Packet};
use crate::wire::ipv4::{protocol, Ipv4Packet, Ipv4Repr};
use crate::wire::l4::{self, tcp_field, tcp_flags, udp_field, TCP_MIN_HEADER_LEN, UDP_HEADER_LEN};
use crate::wire::{read_u16, read_u32, write_u16, write_u32};

const IP_HDR: usize = Ipv4Packet::<&[u8]>::MIN_HEADER_LEN;
const ICMP_HDR: usize = Icmpv4Packet::<&[u8]>::HEADER_LEN;
/// IGMP, which Linux handles without answering.
const IGMP: u8 = 2;

/// Delivers a packet addressed to us. `broadcast`: the destination was a broadcast
/// address; `l2`: how the frame was addressed.
pub fn local_input<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
    l2: L2Dest,
    broadcast: bool,
) -> Verdict {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    // No reassembly: a fragment's payload cannot be read as ICMP.
    if ip.more_frags() || ip.frag_offset() != 0 {
        return ctx.drop(DropReason::LocalFragment);
    }
    let proto = ip.protocol();
    if proto == protocol::ICMP && ip.payload().first() == Some(&msg_type::ECHO_REQUEST) {
        if broadcast && snap.settings.icmp_echo_ignore_broadcasts {
            return ctx.drop(DropReason::Broadcast);
        }
        let icmp = ip.payload();
        if icmp.len() < ICMP_HDR || checksum::checksum(icmp) != 0 {
            return ctx.drop(DropReason::IcmpMalformed);
        }
        return echo_reply(snap, ctx, pkt, broadcast);
    }
    if broadcast {
        return ctx.drop(DropReason::Broadcast);
    }
    let (src, dst, seg) = (ip.src_addr(), ip.dst_addr(), ip.payload());
    if proto == protocol::ICMP && teaches_route(snap, seg) {
        return Verdict::Punt(Punt::Icmp { in_if });
    }
    let answer = match proto {
        protocol::UDP => udp_ok(src, dst, seg).then_some(unreach_code::PORT),
        protocol::TCP => {
            if tcp_wants_reset(src, dst, seg) {
                ctx.stats.drop(DropReason::LocalUnhandled);
                return tcp_reset(snap, ctx, pkt);
            }
            None
        }
        protocol::ICMP | IGMP => None,
        _ => Some(unreach_code::PROTO),
    };
    ctx.stats.drop(DropReason::LocalUnhandled);
    match answer {
        // From the address the packet was sent to (`__icmp_send` with RTCF_LOCAL).
        Some(code) => send_error_from(
            snap,
            ctx,
            pkt,
            l2,
            msg_type::DEST_UNREACHABLE,
            code,
            0,
            Some(dst),
        ),
        None => Verdict::Drop,
    }
}

/// An ICMP fragmentation needed or redirect that the control core learns from
/// (`icmp_unreach` / `icmp_redirect` -> `icmp_socket_deliver` -> `icmp_err`): a right
/// checksum, a quoted IPv4 header (IHL 5 at least) with the 8 bytes after it, quoting an
/// ICMP echo reply from one of our addresses: the only packet of ours Linux's `icmp_err`
/// learns from (`ipv4_update_pmtu`, `ipv4_redirect`) without a socket. (The other packets
/// we originate are ICMP errors, about which no ICMP error is sent, and TCP resets, which
/// Linux's `tcp_v4_err` only takes for a socket.)
fn teaches_route(snap: &Snapshot, icmp: &[u8]) -> bool {
    if icmp.len() < ICMP_HDR + IP_HDR {
        return false;
    }
    let (typ, code) = (icmp[0], icmp[1]);
    let wanted = (typ == msg_type::DEST_UNREACHABLE && code & 15 == unreach_code::FRAG_NEEDED)
        || typ == msg_type::REDIRECT;
    if !wanted || checksum::checksum(icmp) != 0 {
        return false;
    }
    let quoted = &icmp[ICMP_HDR..];
    let ihl = usize::from(quoted[0] & 0x0f) * 4;
    if ihl < IP_HDR || quoted.len() < ihl + 8 {
        return false;
    }
    let q = Ipv4Packet::new_unchecked(quoted);
    q.protocol() == protocol::ICMP
        && quoted[ihl] == msg_type::ECHO_REPLY
        && snap.is_local(q.src_addr())
}

/// A UDP datagram Linux would take to the socket lookup: length within the packet, and a
/// right checksum or none.
fn udp_ok(src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr, seg: &[u8]) -> bool {
    if seg.len() < UDP_HEADER_LEN {
        return false;
    }
    let len = usize::from(read_u16(seg, udp_field::LENGTH));
    if len < UDP_HEADER_LEN || len > seg.len() {
        return false;
    }
    read_u16(seg, udp_field::CHECKSUM) == 0 || l4::checksum_ok(src, dst, protocol::UDP, &seg[..len])
}

/// A TCP segment that gets a reset: well formed, right checksum, not a reset.
fn tcp_wants_reset(src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr, seg: &[u8]) -> bool {
    if seg.len() < TCP_MIN_HEADER_LEN {
        return false;
    }
    let doff = usize::from(seg[tcp_field::DOFF] >> 4) * 4;
    doff >= TCP_MIN_HEADER_LEN
        && doff <= seg.len()
        && seg[tcp_field::FLAGS] & tcp_flags::RST == 0
        && l4::checksum_ok(src, dst, protocol::TCP, seg)
}

/// Turns the segment into the reset `tcp_v4_send_reset` sends for it, in place.
fn tcp_reset<P: PacketBuf>(snap: &Snapshot, ctx: &mut LcoreCtx, pkt: &mut P) -> Verdict {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    let (peer, us, tos, hlen) = (ip.src_addr(), ip.dst_addr(), ip.tos(), ip.header_len());
    let seg = ip.payload();
    let flags = seg[tcp_field::FLAGS];
    let doff = usize::from(seg[tcp_field::DOFF] >> 4) * 4;
    let (sport, dport) = (
        read_u16(seg, tcp_field::SRC_PORT),
        read_u16(seg, tcp_field::DST_PORT),
    );
    let (seq, ack) = if flags & tcp_flags::ACK != 0 {
        (read_u32(seg, tcp_field::ACK), None)
    } else {
        let data = (seg.len() - doff) as u32;
        let len =
            data + u32::from(flags & tcp_flags::SYN != 0) + u32::from(flags & tcp_flags::FIN != 0);
        (0, Some(read_u32(seg, tcp_field::SEQ).wrapping_add(len)))
    };
    let Some((dst, _)) = route_output(snap, peer, ctx.now) else {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return Verdict::Drop;
    };
    // The new 20-byte IP header ends where the old one did; no TCP options, no data.
    pkt.adj(hlen - IP_HDR);
    pkt.truncate(ETH + IP_HDR + TCP_MIN_HEADER_LEN);
    let repr = Ipv4Repr {
        src_addr: us,
        dst_addr: peer,
        protocol: protocol::TCP,
        payload_len: TCP_MIN_HEADER_LEN,
        ttl: snap.settings.ip_default_ttl,
        tos,
        ident: 0,
        dont_frag: true,
    };
    let tcp = write_headers_for(pkt.data_mut(), &repr);
    let tcp = &mut tcp[..TCP_MIN_HEADER_LEN];
    write_u16(tcp, tcp_field::SRC_PORT, dport);
    write_u16(tcp, tcp_field::DST_PORT, sport);
    write_u32(tcp, tcp_field::SEQ, seq);
    write_u32(tcp, tcp_field::ACK, ack.unwrap_or(0));
    tcp[tcp_field::DOFF] = (TCP_MIN_HEADER_LEN as u8 / 4) << 4;
    tcp[tcp_field::FLAGS] = tcp_flags::RST | if ack.is_some() { tcp_flags::ACK } else { 0 };
    write_u16(tcp, tcp_field::WINDOW, 0);
    write_u16(tcp, tcp_field::CHECKSUM, 0);
    write_u16(tcp, tcp_field::URGENT, 0);
    let sum = l4::checksum_of(us, peer, protocol::TCP, tcp);
    write_u16(tcp, tcp_field::CHECKSUM, sum);
    ctx.stats.inc(Stat::TcpResets);
    push_reply(snap, pkt, &dst)
}
