//! IPv4 receive (the kernel's `ip_rcv_core`, `ip_route_input_slow` and `ip_rcv_options`):
//! header validation per RFC 1812 5.2.2, martian filtering per RFC 1812 5.3.7 as Linux does
//! it, options (after the martians, as Linux), then the route lookup that sends the packet
//! to forwarding, local delivery or a reject.

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey};
use crate::iface::IfIndex;
use crate::ip_forward::Ipcb;
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::route::{martian, route_input, validate_source, InputRoute};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::icmp::{msg_type, param_problem_code};
use crate::wire::ipv4::{Ipv4Error, Ipv4Packet, OptionsError, OptionsSummary};
use crate::wire::l4;

/// A validated packet waiting for its route lookup.
#[derive(Debug, Clone, Copy)]
pub struct Routable {
    pub key: FlowKey,
    pub l2: L2Dest,
    /// Options Linux refuses: the packet only waits for its route to know how to answer
    /// (see [`bad_options`]).
    pub bad_options: Option<OptionsError>,
    /// Options with a Record Route or Timestamp, which forwarding records this hop in.
    pub record: Option<OptionsSummary>,
}

impl Routable {
    /// The interface it came in on.
    #[inline]
    pub fn iif(&self) -> IfIndex {
        self.key.iif.unwrap_or_default()
    }
}

/// The outcome of validation: already decided, or needs a route lookup.
#[derive(Debug, Clone, Copy)]
pub enum Pre {
    Done(Verdict),
    Route(Routable),
}

/// Validates, filters and routes one IPv4 packet (Ethernet header at offset 0).
pub fn input<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
    l2: L2Dest,
) -> Verdict {
    match validate(snap, ctx, pkt, in_if, l2) {
        Pre::Done(v) => v,
        Pre::Route(r) => {
            let res = snap.fib.lookup(&r.key);
            dispatch(snap, ctx, pkt, &r, res)
        }
    }
}

/// Everything before the route lookup: header checks, padding, martians, options, and
/// limited broadcast (which needs no lookup).
pub fn validate<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
    l2: L2Dest,
) -> Pre {
    let avail = pkt.len() - ETH;
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    if let Err(e) = ip.check_header(avail) {
        return Pre::Done(ctx.drop(match e {
            Ipv4Error::Truncated => DropReason::ShortFrame,
            Ipv4Error::BadVersion => DropReason::BadVersion,
            Ipv4Error::BadIhl => DropReason::BadIhl,
            Ipv4Error::BadTotalLength => DropReason::BadTotalLength,
            Ipv4Error::BadChecksum => DropReason::BadChecksum,
        }));
    }
    let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
    // Link-layer padding is not part of the packet (pskb_trim_rcsum).
    let total_len = ip.total_len() as usize;
    pkt.truncate(ETH + total_len);
    if let Some(reason) = martian(snap, saddr, daddr) {
        return Pre::Done(ctx.drop(reason));
    }
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    let key = FlowKey {
        daddr,
        saddr,
        iif: Some(in_if),
        tos: ip.tos(),
        mark: 0,
    };
    // Options after the martian checks, as ip_rcv_finish_core() runs ip_rcv_options()
    // only once ip_route_input_noref() has accepted the addresses. Options Linux refuses
    // are answered after the route lookup, which says how (bad_options).
    let (mut bad, mut record) = (None, None);
    if ip.header_len() > Ipv4Packet::<&[u8]>::MIN_HEADER_LEN {
        match ip.scan_options() {
            Err(e) => bad = Some(e),
            Ok(o) if o.has_source_route => return Pre::Done(ctx.drop(DropReason::SourceRoute)),
            Ok(o) if o.has_record_route || o.has_timestamp => record = Some(o),
            Ok(_) => {}
        }
    }
    // Limited broadcast, and 0.0.0.0 -> 0.0.0.0, are broadcast input (brd_input).
    if daddr.is_broadcast() || (saddr.is_unspecified() && daddr.is_unspecified()) {
        if let Err(reason) = validate_source(snap, &key, &InputRoute::Broadcast) {
            return Pre::Done(ctx.drop(reason));
        }
        if let Some(e) = bad {
            return Pre::Done(bad_options(snap, ctx, pkt, l2, InputRoute::Broadcast, e));
        }
        return Pre::Done(crate::local::local_input(snap, ctx, pkt, in_if, l2, true));
    }
    Pre::Route(Routable {
        key,
        l2,
        bad_options: bad,
        record,
    })
}

/// Options that `__ip_options_compile` refuses: counted as `bad_options` and answered, as
/// `ip_options_compile` answers them, with an ICMP parameter problem (code 0) whose pointer
/// is the offending octet. Linux has routed the packet by then (`route`), and
/// `__icmp_send` goes by that route: nothing about a broadcast (`RTCF_BROADCAST`), from the
/// address the packet was sent to if it was for us (`RTCF_LOCAL`), else from the egress
/// address. Forwarded, rejected (blackhole, unreachable, prohibit) and unroutable packets
/// alike get the error, since `ip_rcv_options` runs before `ip_forward` or `ip_error`. The
/// usual suppressions (link-layer broadcast, non-first fragment, about an ICMP error) and
/// the rate limit apply. The quote is the packet as received.
#[cold]
fn bad_options<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    l2: L2Dest,
    route: InputRoute,
    e: OptionsError,
) -> Verdict {
    ctx.stats.drop(DropReason::BadOptions);
    let src = match route {
        InputRoute::Broadcast => {
            ctx.stats.inc(Stat::IcmpSuppressed);
            return Verdict::Drop;
        }
        InputRoute::Local => Some(Ipv4Packet::new_unchecked(&pkt.data()[ETH..]).dst_addr()),
        InputRoute::Forward(_) | InputRoute::Reject(..) => None,
    };
    crate::icmp::send_error_from(
        snap,
        ctx,
        pkt,
        l2,
        msg_type::PARAM_PROBLEM,
        param_problem_code::POINTER,
        e.icmp_info(),
        src,
    )
}

/// Everything after the route lookup `res` of a [`validate`]d packet: forward, deliver
/// locally, or reject (with the ICMP error the route type asks for).
pub fn dispatch<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    r: &Routable,
    res: Option<FibResult>,
) -> Verdict {
    let ip = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]);
    let not_first_fragment = ip.frag_offset() != 0 || ip.more_frags();
    let l4 = || {
        if not_first_fragment {
            None
        } else {
            l4::ports(ip.protocol(), ip.payload()).map(|(s, d)| (ip.protocol(), s, d))
        }
    };
    let route = route_input(snap, &r.key, res, l4);
    // The source check of the input route (rp_filter, and whether a packet leaving by
    // the interface it came in on gets a redirect), before any option is looked at.
    let redirect = match validate_source(snap, &r.key, &route) {
        Ok(redirect) => redirect,
        Err(reason) => return ctx.drop(reason),
    };
    if let Some(e) = r.bad_options {
        return bad_options(snap, ctx, pkt, r.l2, route, e);
    }
    match route {
        InputRoute::Forward(nh) => {
            let cb = Ipcb {
                iif: r.iif(),
                redirect,
                record: r.record,
            };
            crate::ip_forward::forward(snap, ctx, pkt, nh, r.l2, cb)
        }
        InputRoute::Local => crate::local::local_input(snap, ctx, pkt, r.iif(), r.l2, false),
        InputRoute::Broadcast => crate::local::local_input(snap, ctx, pkt, r.iif(), r.l2, true),
        InputRoute::Reject(reason, code) => {
            ctx.stats.drop(reason);
            if let Some(code) = code {
                crate::icmp::send_error(snap, ctx, pkt, r.l2, msg_type::DEST_UNREACHABLE, code, 0)
            } else {
                Verdict::Drop
            }
        }
    }
}
