//! IPv4 forwarding (the kernel's `ip_forward`): only frames addressed to our MAC, TTL,
//! the dst's MTU with DF (RFC 1191), then TTL decrement with an incremental checksum
//! (RFC 1624), this hop recorded in Record Route and Timestamp options (RFC 1812
//! 5.3.13.5-6, `ip_forward_options`), an ICMP redirect to a source that could have sent
//! the packet to the next hop itself (RFC 1812 5.2.7.2, `ip_rt_send_redirect`), and
//! output ([`crate::output`]: neighbour, MAC rewrite, and fragmentation of what is larger
//! than the MTU without DF).

use crate::drop::DropReason;
use crate::flowtable::FwdNote;
use crate::iface::IfIndex;
use crate::lcore::LcoreCtx;
use crate::nexthop::NhId;
use crate::output::ip_finish_output2;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::route::{dst_mtu_forward, exception_dst};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::icmp::{msg_type, unreach_code};
use crate::wire::ipv4::{forward_options, Ipv4Packet, OptionsSummary, Recorded};
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

/// What input found that forwarding needs (the kernel's `IPCB(skb)`: its `flags` and
/// `opt`), from [`crate::ip_input::dispatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipcb {
    /// The interface the packet came in on (`skb->dev`).
    pub iif: IfIndex,
    /// `IPSKB_DOREDIRECT`: see [`crate::route::validate_source`].
    pub redirect: bool,
    /// The options when they have a Record Route or Timestamp to record this hop in
    /// (`rr_needaddr`, `ts_needtime`, ...; None otherwise).
    pub record: Option<OptionsSummary>,
}

/// Forwards a packet through next hop `nh`, as `ip_forward` -> `ip_forward_finish` ->
/// `ip_output`. The dst is this lcore's cached one for `nh` ([`crate::dst_cache`]) with the
/// destination's nexthop exception filled in, if any (a redirect's gateway, a PMTU); the
/// MTU is [`dst_mtu_forward`]'s (the device's, unless `ip_forward_use_pmtu` or a locked
/// PMTU say otherwise). A packet larger than that with DF set gets ICMP fragmentation
/// needed (`ip_exceeds_mtu`); without DF it is forwarded in fragments: the verdict is
/// [`Verdict::Fragment`], and
/// [`crate::output::ip_fragment`] counts it when it splits it (`ip_finish_output` ->
/// `ip_fragment`).
///
/// A Record Route or Timestamp option gets this hop ([`record_options`]) and the header
/// checksum is computed anew. `cb.redirect` is the input route's `IPSKB_DOREDIRECT`
/// ([`crate::route::validate_source`]): a packet that passes these checks then gets a
/// redirect to its source naming the next hop (`rt_nexthop`: the gateway, or the
/// destination when on-link), unless the source is in its backoff
/// ([`crate::icmp_limit::RedirectPeers`], `redirects_suppressed`). Linux has already
/// refused source-routed packets (accept_source_route 0), so its `!opt->srr` always holds
/// here. The verdict is then [`Verdict::Redirect`], and the packet is forwarded all the
/// same. (Linux sends the redirect even when the neighbour then fails; with static
/// neighbours only, such a packet is dropped here without one.)
#[inline]
pub fn forward<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    nh: NhId,
    l2: L2Dest,
    cb: Ipcb,
) -> Verdict {
    if l2 != L2Dest::Host {
        return ctx.drop(DropReason::L2BroadcastForward);
    }
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if ip.ttl() <= 1 {
        ctx.stats.drop(DropReason::TtlExceeded);
        return crate::icmp::send_error(snap, ctx, pkt, l2, msg_type::TIME_EXCEEDED, 0, 0);
    }
    let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
    let (dst, _) = ctx.dst_cache.get(snap, nh, ctx.stats);
    let dst = exception_dst(snap, nh, dst, daddr, ctx.now);
    let mtu = dst_mtu_forward(snap, &dst);
    let too_big = ip.total_len() > mtu;
    if too_big && ip.dont_frag() {
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
    ctx.fwd = Some(FwdNote {
        mtu,
        nexthop: dst.nexthop(daddr),
    });
    Ipv4Packet::new_unchecked(&mut pkt.data_mut()[ETH..]).decrement_ttl();
    if let Some(summary) = cb.record {
        record_options(snap, pkt, &summary, &dst, cb.iif, saddr, daddr);
    }
    let redirect = cb.redirect && {
        let allow = ctx.redirect_peers.allow(saddr, ctx.now);
        if !allow {
            ctx.stats.inc(Stat::RedirectsSuppressed);
        }
        allow
    };
    match ip_finish_output2(snap, pkt, &dst, true) {
        Ok(()) if redirect => {
            if !too_big {
                ctx.stats.inc(Stat::Forwarded);
            }
            Verdict::Redirect {
                gw: dst.nexthop(daddr),
                out: dst.iface,
                mtu: if too_big { mtu } else { 0 },
            }
        }
        // Every fragment goes to the same neighbour: its header is written once, here,
        // and copied into each.
        Ok(()) if too_big => Verdict::Fragment(dst.iface, mtu),
        Ok(()) => {
            ctx.stats.inc(Stat::Forwarded);
            Verdict::Tx(dst.iface)
        }
        // Held by the control core until the neighbour resolves; counted there. A
        // redirect due for it is not sent (Linux sends it before output).
        Err(punt) => Verdict::Punt(punt),
    }
}

/// Records this hop in the Record Route and Timestamp options of a forwarded packet
/// ([`forward_options`]) and recomputes its header checksum, as Linux's
/// `__ip_options_compile` on input and `ip_forward_options` (then `ip_send_check`):
/// Record Route gets the egress address (`ip_rt_get_source`: the route's preferred
/// source, the egress interface's address towards the next hop); a timestamp with
/// addresses gets the address towards the source (`fib_compute_spec_dst`: the source of
/// the route back, else the ingress interface's), which Linux 6.18 leaves there; a
/// prespecified address is ours when it is not a unicast one to `inet_addr_type` (our
/// addresses and broadcasts, 0.0.0.0, 255.255.255.255, multicast). The time is milliseconds
/// since midnight UT (`inet_current_timestamp`), read only for such packets.
#[cold]
fn record_options<P: PacketBuf>(
    snap: &Snapshot,
    pkt: &mut P,
    summary: &OptionsSummary,
    dst: &crate::route::Dst,
    iif: IfIndex,
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
) {
    let egress = snap.ifaces[dst.iface as usize]
        .source_for(dst.nexthop(daddr))
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let spec_dst = crate::route::output_nexthop(snap, saddr)
        .and_then(|(_, d)| snap.ifaces[d.iface as usize].source_for(d.nexthop(saddr)))
        .or_else(|| snap.ifaces.get(iif as usize)?.source_for(saddr))
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        (d.as_secs() % 86_400) as u32 * 1000 + d.subsec_millis()
    });
    let rec = Recorded {
        egress,
        spec_dst,
        now_ms,
    };
    let is_ours = |a: Ipv4Addr| {
        snap.is_local_or_broadcast(a) || a.is_unspecified() || a.is_broadcast() || a.is_multicast()
    };
    let mut ip = Ipv4Packet::new_unchecked(&mut pkt.data_mut()[ETH..]);
    if forward_options(ip.options_mut(), summary, &rec, is_ours) {
        ip.fill_checksum();
    }
}
