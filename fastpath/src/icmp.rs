//! ICMP (the kernel's `icmp.c`): errors about packets we cannot forward or take
//! (`icmp_send`), redirects about packets we forward ([`send_redirect`]) and echo replies
//! (`icmp_echo`, for `local.rs`). Their rate limits are in [`crate::icmp_limit`].
//!
//! Errors and replies are built in the offending packet's own buffer: for an error, the
//! packet is cut to what is quoted and 28 bytes (IPv4 + ICMP headers) are prepended into
//! the headroom, so the quoted header lands right after the new ICMP header. A redirect
//! goes beside the packet it is about, which is still forwarded: it is built in a new
//! buffer from the packet's pool.

use crate::drop::DropReason;
use crate::iface::IfIndex;
use crate::lcore::LcoreCtx;
use crate::output::ip_finish_output2;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::route::{dst_mtu, route_output, Dst};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::icmp::{self as wicmp, msg_type, redirect_code, unreach_code, Icmpv4Packet};
use crate::wire::ipv4::{protocol, Ipv4Packet, Ipv4Repr};
use std::net::Ipv4Addr;

const IP_HDR: usize = Ipv4Packet::<&[u8]>::MIN_HEADER_LEN;
const ICMP_HDR: usize = Icmpv4Packet::<&[u8]>::HEADER_LEN;
/// An ICMP error is at most 576 bytes of IPv4, and no more than the egress MTU (RFC 1812
/// 4.3.2.3, as Linux's `__icmp_send`).
const MAX_ERROR_LEN: usize = 576;
/// Precedence "internetwork control" for errors (RFC 1812 4.3.2.5).
const IPTOS_PREC_INTERNETCONTROL: u8 = 0xc0;
const IPTOS_TOS_MASK: u8 = 0x1e;
/// Highest ICMP type Linux knows (`NR_ICMP_TYPES`); errors are not sent about unknown types.
const NR_ICMP_TYPES: u8 = 18;

/// Replaces the packet (Ethernet + IPv4 at offset 0) by an ICMP error about it and returns
/// where to send it, as `icmp_send`. The caller has already counted why the original was
/// not forwarded. The source is the address of the interface the error leaves from.
pub fn send_error<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    l2: L2Dest,
    typ: u8,
    code: u8,
    info: u32,
) -> Verdict {
    send_error_from(snap, ctx, pkt, l2, typ, code, info, None)
}

/// [`send_error`] with the error's source address chosen by the caller: `Some(addr)` for
/// a packet that was addressed to us (`__icmp_send` with `RTCF_LOCAL` sends from the
/// packet's destination, `iph->daddr`), `None` for the egress interface's address.
#[allow(clippy::too_many_arguments)]
pub fn send_error_from<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    l2: L2Dest,
    typ: u8,
    code: u8,
    info: u32,
    src: Option<Ipv4Addr>,
) -> Verdict {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if l2 != L2Dest::Host || !may_send_about(&ip) {
        ctx.stats.inc(Stat::IcmpSuppressed);
        return Verdict::Drop;
    }
    if !rate_allow(snap, ctx, ip.src_addr(), typ, code) {
        ctx.stats.inc(Stat::IcmpRateLimited);
        return Verdict::Drop;
    }
    let orig_src = ip.src_addr();
    let Some((dst, egress_src)) = route_output(snap, orig_src, ctx.now) else {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return Verdict::Drop;
    };
    let src = src.unwrap_or(egress_src);
    let tos = (ip.tos() & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL;
    // min(dst MTU, 576) as __icmp_send sizes its room.
    let room = (dst_mtu(&dst) as usize)
        .min(MAX_ERROR_LEN)
        .saturating_sub(IP_HDR + ICMP_HDR);
    let quote = (ip.total_len() as usize).min(room);
    pkt.truncate(ETH + quote);
    if !pkt.prepend(IP_HDR + ICMP_HDR) {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return Verdict::Drop;
    }
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: orig_src,
        protocol: protocol::ICMP,
        payload_len: ICMP_HDR + quote,
        ttl: snap.settings.ip_default_ttl,
        tos,
        ident: ctx.next_ident(),
        dont_frag: false,
    };
    let mut icmp = write_headers(pkt.data_mut(), &repr);
    icmp.set_msg_type(typ);
    icmp.set_msg_code(code);
    icmp.set_rest_of_header(info);
    icmp.fill_checksum();
    ctx.stats.inc(Stat::IcmpErrors);
    push_reply(snap, pkt, &dst)
}

/// RFC 1812 4.3.2.7, as `__icmp_send`: no ICMP error about a non-first fragment, or
/// about an ICMP error (including a truncated ICMP whose type cannot be read). (Nor about
/// a link-layer broadcast, which only the caller knows.)
#[inline]
fn may_send_about(ip: &Ipv4Packet<&[u8]>) -> bool {
    let about_icmp_error = ip.protocol() == protocol::ICMP
        && ip
            .payload()
            .first()
            .is_none_or(|&t| wicmp::is_error(t) || t > NR_ICMP_TYPES);
    ip.frag_offset() == 0 && !about_icmp_error
}

/// Whether the ICMP rate limits let a message of `typ`/`code` to `dst` go. Neither
/// applies to a type outside `icmp_ratemask`, to frag-needed (PMTU discovery must not
/// stall) or to an unknown type (`icmpv4_mask_allow`): by default redirects are never
/// limited but by their own backoff. Otherwise the destination host's limit
/// (`icmpv4_xrlim_allow`) comes first, then the lcore's bucket (`icmp_global_allow`); an
/// error the host's limit stops costs no global token, as in Linux.
#[inline]
fn rate_allow(snap: &Snapshot, ctx: &mut LcoreCtx, dst: Ipv4Addr, typ: u8, code: u8) -> bool {
    let exempt = typ > NR_ICMP_TYPES
        || typ == msg_type::DEST_UNREACHABLE && code == unreach_code::FRAG_NEEDED
        || snap.settings.icmp_ratemask & (1 << typ) == 0;
    exempt || ctx.icmp_peers.allow(dst, typ, code, ctx.now) && ctx.icmp_limit.allow(ctx.now)
}

/// An ICMP redirect for host (RFC 792 type 5 code 1; RFC 1812 5.2.7.2) to the source of
/// `pkt`, a packet being forwarded back out of the interface it came in on, naming `gw`
/// as the better first hop: the kernel's `ip_rt_send_redirect` ->
/// `icmp_send(skb, ICMP_REDIRECT, ICMP_REDIR_HOST, gw)`, once the caller has applied the
/// backoff ([`crate::icmp_limit::RedirectPeers`]).
///
/// Returns the redirect and the interface to send it from; `pkt` is untouched and goes on.
/// As Linux's, it quotes the packet as it is forwarded (TTL decremented, header checksum
/// updated, up to a 576-byte redirect), comes from the egress address towards the source,
/// with TTL `ip_default_ttl`, TOS 0xc0 with the packet's TOS bits, DF clear. None goes
/// about a non-first fragment or an ICMP error (`icmp_suppressed`); the ICMP rate limits
/// apply only if `icmp_ratemask` has type 5 ([`rate_allow`]); without a route, neighbour
/// or buffer it is not sent (`icmp_no_route_back`). Counted as `redirects_sent`.
pub fn send_redirect<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &P,
    gw: Ipv4Addr,
) -> Option<(P, IfIndex)> {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if !may_send_about(&ip) {
        ctx.stats.inc(Stat::IcmpSuppressed);
        return None;
    }
    let orig_src = ip.src_addr();
    if !rate_allow(snap, ctx, orig_src, msg_type::REDIRECT, redirect_code::HOST) {
        ctx.stats.inc(Stat::IcmpRateLimited);
        return None;
    }
    let Some((dst, src)) = route_output(snap, orig_src, ctx.now) else {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return None;
    };
    let room = (dst_mtu(&dst) as usize)
        .min(MAX_ERROR_LEN)
        .saturating_sub(IP_HDR + ICMP_HDR);
    let quote = (ip.total_len() as usize)
        .min(room)
        .min(pkt.len().saturating_sub(ETH));
    let hdrs = ETH + IP_HDR + ICMP_HDR;
    let Some(mut r) = pkt.alloc_from_pool() else {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return None;
    };
    if !r.append(hdrs + quote) {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return None;
    }
    r.data_mut()[hdrs..].copy_from_slice(&pkt.data()[ETH..ETH + quote]);
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: orig_src,
        protocol: protocol::ICMP,
        payload_len: ICMP_HDR + quote,
        ttl: snap.settings.ip_default_ttl,
        tos: (ip.tos() & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL,
        ident: ctx.next_ident(),
        dont_frag: false,
    };
    let mut icmp = write_headers(r.data_mut(), &repr);
    icmp.set_msg_type(msg_type::REDIRECT);
    icmp.set_msg_code(redirect_code::HOST);
    icmp.set_gateway_addr(gw);
    icmp.fill_checksum();
    // The source is on-link and just sent us a packet; if its neighbour is not resolved
    // yet, the redirect is not sent (it travels with no packet to wait in a queue).
    if push_reply(snap, &mut r, &dst) != Verdict::Tx(dst.iface) {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return None;
    }
    ctx.stats.inc(Stat::RedirectsSent);
    Some((r, dst.iface))
}

/// Sends a packet we built through `dst` (`icmp_push_reply` -> `ip_push_pending_frames`,
/// which ends in [`ip_finish_output2`]): out of `dst.iface`, or to the control core to
/// wait for the neighbour.
#[inline]
pub(crate) fn push_reply<P: PacketBuf>(snap: &Snapshot, pkt: &mut P, dst: &Dst) -> Verdict {
    match ip_finish_output2(snap, pkt, dst, false) {
        Ok(()) => Verdict::Tx(dst.iface),
        Err(punt) => Verdict::Punt(punt),
    }
}

/// Writes the IPv4 header of a packet we originate in front of its ICMP message, and
/// returns a view of that message. The Ethernet header is written at output.
fn write_headers<'a>(frame: &'a mut [u8], repr: &Ipv4Repr) -> Icmpv4Packet<&'a mut [u8]> {
    Icmpv4Packet::new_unchecked(write_headers_for(frame, repr))
}

/// Writes the IPv4 header of a packet we originate (after the room for the Ethernet
/// header) and returns what follows it, where its payload goes.
pub(crate) fn write_headers_for<'a>(frame: &'a mut [u8], repr: &Ipv4Repr) -> &'a mut [u8] {
    repr.emit(&mut Ipv4Packet::new_unchecked(
        &mut frame[ETH..ETH + IP_HDR],
    ));
    &mut frame[ETH + IP_HDR..]
}

/// Turns an echo request into its reply in place (`icmp_echo` + `icmp_reply`): source is
/// the address that was pinged (or the egress address for a broadcast ping), IP options
/// are not echoed; a reply over the path MTU is [`Verdict::FragmentLocal`].
pub(crate) fn echo_reply<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    broadcast: bool,
) -> Verdict {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    let (orig_src, pinged, tos, hlen) = (ip.src_addr(), ip.dst_addr(), ip.tos(), ip.header_len());
    let icmp_len = ip.total_len() as usize - hlen;
    let Some((dst, egress_src)) = route_output(snap, orig_src, ctx.now) else {
        ctx.stats.inc(Stat::IcmpNoRouteBack);
        return ctx.drop(DropReason::NoRouteBack);
    };
    // Drop the request's options: the new 20-byte header ends where the old one did.
    pkt.adj(hlen - IP_HDR);
    let repr = Ipv4Repr {
        src_addr: if broadcast { egress_src } else { pinged },
        dst_addr: orig_src,
        protocol: protocol::ICMP,
        payload_len: icmp_len,
        ttl: snap.settings.ip_default_ttl,
        tos,
        ident: ctx.next_ident(),
        dont_frag: false,
    };
    let mut icmp = write_headers(pkt.data_mut(), &repr);
    icmp.set_msg_type(msg_type::ECHO_REPLY);
    // A full sum, not RFC 1624's update: an all-zero reply must carry 0xffff, which the
    // incremental form cannot produce (RFC 1624 section 3).
    icmp.fill_checksum();
    ctx.stats.inc(Stat::EchoReplies);
    // Larger than the path MTU (a PMTU exception): sent in fragments, as Linux's ICMP
    // socket (IP_PMTUDISC_DONT) builds it to dst_mtu.
    match push_reply(snap, pkt, &dst) {
        Verdict::Tx(out) if repr.payload_len + IP_HDR > usize::from(dst_mtu(&dst)) => {
            Verdict::FragmentLocal(out, dst_mtu(&dst))
        }
        v => v,
    }
}
