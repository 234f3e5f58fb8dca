//! IPv4 output (the kernel's `ip_output.c`): the last step of every packet we send,
//! forwarded or originated. The route is decided by then (a [`Dst`]: interface, source
//! MAC, MTU, gateway); here the neighbour of that dst for the packet's destination is
//! looked up and, if it is reachable, the Ethernet header is written
//! (`ip_finish_output2` -> `neigh_output`), and a forwarded packet larger than the MTU is
//! split into fragments ([`ip_fragment`], `ip_do_fragment`).
//!
//! A packet whose neighbour is not resolved goes to the control core, which holds it
//! until the neighbour answers ([`Punt::Resolve`]).

use crate::drop::DropReason;
use crate::lcore::LcoreCtx;
use crate::neigh::NeighOutput;
use crate::packet::{PacketBuf, ETH};
use crate::punt::Punt;
use crate::route::{dst_mtu, dst_mtu_forward, Dst};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::ethernet::{ethertype, EthernetFrame};
use crate::wire::ipv4::{fragment_options, Ipv4Packet};
use crate::wire::EthernetAddress;

const IP_HDR: usize = Ipv4Packet::<&[u8]>::MIN_HEADER_LEN;
/// The largest Ethernet + IPv4 header (60 bytes of IPv4 with options).
const MAX_HDR: usize = ETH + Ipv4Packet::<&[u8]>::MAX_HEADER_LEN;

/// Hands an IPv4 packet (Ethernet header room at offset 0, IPv4 header after it) to the
/// neighbour of `dst` for its destination (`rt_nexthop(rt, ip_hdr(skb)->daddr)`), as
/// `ip_finish_output2`: when the neighbour is usable the Ethernet header is written and
/// the packet is ready for `dst.iface`; otherwise it must wait for resolution on the
/// control core, and the answer is the [`Punt`] that sends it there (`forwarded` says who
/// counts it, see [`Punt::Resolve`]). Caller holds a snapshot reference.
#[inline]
pub fn ip_finish_output2<P: PacketBuf>(
    snap: &Snapshot,
    pkt: &mut P,
    dst: &Dst,
    forwarded: bool,
) -> Result<(), Punt> {
    // A gateway's neighbour comes with the dst (valid under its genid); an on-link
    // destination is its own neighbour, looked up for each packet.
    if let Some(e) = &dst.neigh {
        snap.neigh.touch(e);
        write_eth(pkt.data_mut(), e.mac, dst.src_mac, ethertype::IPV4);
        return Ok(());
    }
    let daddr = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]).dst_addr();
    let nexthop = dst.nexthop(daddr);
    match snap.neigh.neigh_output(dst.iface, nexthop) {
        NeighOutput::Reachable(mac) => {
            write_eth(pkt.data_mut(), mac, dst.src_mac, ethertype::IPV4);
            Ok(())
        }
        NeighOutput::MustResolve => Err(Punt::Resolve {
            out_if: dst.iface,
            nexthop,
            mtu: if forwarded {
                dst_mtu_forward(snap, dst)
            } else {
                dst_mtu(dst)
            },
            forwarded,
        }),
    }
}

/// Writes the Ethernet header of a frame we send (`dev_hard_header`).
#[inline(always)]
pub fn write_eth(
    frame: &mut [u8],
    dst_mac: EthernetAddress,
    src_mac: EthernetAddress,
    ethertype: u16,
) {
    let mut eth = EthernetFrame::new_unchecked(frame);
    eth.set_dst_addr(dst_mac);
    eth.set_src_addr(src_mac);
    eth.set_ethertype(ethertype);
}

/// Splits a forwarded IPv4 packet larger than `mtu` (DF clear) into fragments and hands
/// them to `emit` in order, as the kernel's `ip_do_fragment` (its slow path,
/// `ip_frag_init` + `ip_frag_next`) with `ip_finish_output2` as the output. The packet's
/// headers are final already (TTL decremented once, Ethernet header written): each
/// fragment starts with a copy of them, and then:
///
/// - carries `mtu - header length` bytes of data rounded down to a multiple of 8 (offsets
///   are in 8-byte units, RFC 791 section 3.2), the last one what is left;
/// - has the offset of its data, counted from the packet's own offset (a fragment can be
///   fragmented again), and MF set, except on the last one, which keeps the packet's MF;
/// - keeps the identification, the TOS and the header length; its total length and header
///   checksum are its own;
/// - keeps all the options if it is the first; the later ones of a packet that was not
///   itself a later fragment have the options without the copied flag overwritten by NOPs
///   ([`fragment_options`], `ip_options_fragment`); a later fragment's options were fixed
///   by whoever fragmented it first, and are copied as they are, as Linux does.
///
/// The packet becomes the last fragment (its header moved in front of the last piece of
/// data); the others are new buffers from its pool, the only allocation on the forwarding
/// path, and only for packets that need it. If one cannot be had, the packet is counted as
/// `frag_no_mbuf` and given back (`Err`) for the caller to free; fragments already handed
/// to `emit` stay sent, as in Linux, which outputs each fragment as it makes it. On
/// success the packet counts as `forwarded` and `frag_oks`, and each fragment as
/// `frag_creates`.
pub fn ip_fragment<P: PacketBuf>(
    ctx: &LcoreCtx,
    pkt: P,
    mtu: u16,
    emit: impl FnMut(P),
) -> Result<(), P> {
    fragment(ctx, pkt, mtu, true, emit)
}

/// [`ip_fragment`] for a packet we originate (an echo reply larger than the path MTU,
/// which Linux's ICMP socket sends in fragments: `IP_PMTUDISC_DONT`): already counted
/// when it was made, so it counts only as `frag_oks` (and its fragments as
/// `frag_creates`), or as `tx_dropped` when a buffer cannot be had.
pub fn ip_fragment_local<P: PacketBuf>(
    ctx: &LcoreCtx,
    pkt: P,
    mtu: u16,
    emit: impl FnMut(P),
) -> Result<(), P> {
    fragment(ctx, pkt, mtu, false, emit)
}

fn fragment<P: PacketBuf>(
    ctx: &LcoreCtx,
    mut pkt: P,
    mtu: u16,
    forwarded: bool,
    mut emit: impl FnMut(P),
) -> Result<(), P> {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    let hlen = ip.header_len();
    let total = usize::from(ip.total_len());
    let mut offset = usize::from(ip.frag_offset());
    let not_last_frag = ip.more_frags();
    let hdr = ETH + hlen;
    if total <= usize::from(mtu) {
        if forwarded {
            ctx.stats.inc(Stat::Forwarded);
        }
        emit(pkt);
        return Ok(());
    }
    // Data per fragment (ip_frag_init: mtu - hlen). Ports have an MTU of at least 68 and
    // a header has at most 60 bytes, so there is room for one 8-byte unit at least.
    let room = usize::from(mtu).saturating_sub(hlen).max(8);
    // The header of the fragments after the first.
    let mut later = [0u8; MAX_HDR];
    later[..hdr].copy_from_slice(&pkt.data()[..hdr]);
    let mut left = total - hlen;
    let mut ptr = hlen;
    let mut first = true;
    let mut created = 0u64;
    loop {
        // ip_frag_next: as much as fits; all but the last a multiple of 8 bytes.
        let mut len = left.min(room);
        if len < left {
            len &= !7;
        } else {
            break;
        }
        let Some(mut frag) = pkt.alloc_from_pool() else {
            return Err(fail(ctx, created, forwarded, pkt));
        };
        if !frag.append(hdr + len) {
            drop(frag);
            return Err(fail(ctx, created, forwarded, pkt));
        }
        let (src, dst) = (pkt.data(), frag.data_mut());
        dst[..hdr].copy_from_slice(if first { &src[..hdr] } else { &later[..hdr] });
        dst[hdr..].copy_from_slice(&src[ETH + ptr..ETH + ptr + len]);
        set_fragment(&mut dst[ETH..], hlen + len, offset, true);
        if first && offset == 0 {
            fragment_options(&mut later[ETH + IP_HDR..hdr]);
        }
        first = false;
        emit(frag);
        created += 1;
        left -= len;
        ptr += len;
        offset += len;
    }
    // The last fragment is the packet itself: its data are in place, the header goes
    // right in front of them.
    let start = ptr - hlen;
    pkt.data_mut()[start..start + hdr].copy_from_slice(&later[..hdr]);
    pkt.adj(start);
    pkt.truncate(hdr + left);
    set_fragment(
        &mut pkt.data_mut()[ETH..],
        hlen + left,
        offset,
        not_last_frag,
    );
    emit(pkt);
    created += 1;
    if forwarded {
        ctx.stats.inc(Stat::Forwarded);
    }
    ctx.stats.inc(Stat::FragOks);
    ctx.stats.add(Stat::FragCreates, created);
    Ok(())
}

/// Counts a datagram that could not be fragmented and the fragments of it already sent.
#[cold]
fn fail<P>(ctx: &LcoreCtx, created: u64, forwarded: bool, pkt: P) -> P {
    ctx.stats.add(Stat::FragCreates, created);
    if forwarded {
        ctx.stats.drop(DropReason::FragNoMbuf);
    } else {
        ctx.stats.inc(Stat::TxDropped);
    }
    pkt
}

/// Sets a fragment's total length, offset (in bytes) and MF, clears DF, and recomputes
/// its header checksum (`ip_send_check`). An offset past the 13-bit field (a datagram
/// over 64 KiB, which no receiver reassembles) wraps within the field.
#[inline]
fn set_fragment(ip: &mut [u8], total_len: usize, offset: usize, more: bool) {
    let mut ip = Ipv4Packet::new_unchecked(ip);
    ip.set_total_len(total_len as u16);
    ip.clear_flags();
    ip.set_more_frags(more);
    ip.set_frag_offset((offset & 0xfff8) as u16);
    ip.fill_checksum();
}
