//! IPv4 forwarding (the kernel's `ip_forward`): only frames addressed to our MAC, TTL,
//! the dst's MTU with DF (RFC 1191), then TTL decrement with an incremental checksum
//! (RFC 1624), an ICMP redirect to a source that could have sent it to the next hop
//! itself (RFC 1812 5.2.7.2, `ip_rt_send_redirect`), and output ([`crate::output`]: neighbour, MAC rewrite, and fragmentation of
//! what is larger than the MTU without DF).

use crate::drop::DropReason;
use crate::lcore::LcoreCtx;
use crate::neigh::NeighOutput;
use crate::nexthop::NhId;
use crate::output::ip_finish_output2;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::route::{dst_mtu, nexthop_dst};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::icmp::{msg_type, unreach_code};
use crate::wire::ipv4::Ipv4Packet;

/// Forwards a packet through next hop `nh`, as `ip_forward` -> `ip_forward_finish` ->
/// `ip_output`. The MTU is the dst's (`dst_mtu`), where a PMTU exception can lower it. A
/// packet larger than that with DF set gets ICMP fragmentation needed (`ip_exceeds_mtu`);
/// without DF it is forwarded in fragments: the verdict is [`Verdict::Fragment`], and
/// [`crate::output::ip_fragment`] counts it when it splits it (`ip_finish_output` ->
/// `ip_fragment`).
///
/// `redirect` is the input route's `IPSKB_DOREDIRECT` ([`crate::route::input_redirect`]):
/// a packet that passes these checks then gets a redirect to its source naming the next
/// hop (`rt_nexthop`: the gateway, or the destination when on-link), unless the source
/// is in its backoff ([`crate::icmp_limit::RedirectPeers`], `redirects_suppressed`).
/// Linux has already refused source-routed packets (accept_source_route 0), so its
/// `!opt->srr` always holds here. The verdict is then [`Verdict::Redirect`], and the
/// packet is forwarded all the same.
#[inline]
pub fn forward<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    nh: NhId,
    l2: L2Dest,
    redirect: bool,
) -> Verdict {
    if l2 != L2Dest::Host {
        return ctx.drop(DropReason::L2BroadcastForward);
    }
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if ip.ttl() <= 1 {
        ctx.stats.drop(DropReason::TtlExceeded);
        return crate::icmp::send_error(snap, ctx, pkt, l2, msg_type::TIME_EXCEEDED, 0, 0);
    }
    let dst = nexthop_dst(snap, nh);
    let mtu = dst_mtu(&dst);
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
    let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
    Ipv4Packet::new_unchecked(&mut pkt.data_mut()[ETH..]).decrement_ttl();
    let redirect = redirect && {
        let allow = ctx.redirect_peers.allow(saddr, ctx.now);
        if !allow {
            ctx.stats.inc(Stat::RedirectsSuppressed);
        }
        allow
    };
    match ip_finish_output2(snap, pkt, &dst) {
        NeighOutput::Reachable(_) if redirect => {
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
        NeighOutput::Reachable(_) if too_big => Verdict::Fragment(dst.iface, mtu),
        NeighOutput::Reachable(_) => {
            ctx.stats.inc(Stat::Forwarded);
            Verdict::Tx(dst.iface)
        }
        // Static neighbours only: nothing would resolve it, so it is dropped.
        NeighOutput::MustResolve | NeighOutput::Failed => ctx.drop(DropReason::NoNeighbor),
    }
}
