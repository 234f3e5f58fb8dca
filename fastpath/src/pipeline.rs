//! One packet, or a burst, through the data plane: L2 filter, then ARP (to the control
//! core, [`crate::punt`]) or IPv4 ([`crate::ip_input`] -> [`crate::ip_forward`], local delivery in [`crate::local`],
//! or an error from [`crate::icmp`], each sent by [`crate::output`]). This is the top of
//! the packet path below the worker: it uses the stages, and they use nothing of it.
//!
//! Every stage returns a [`Verdict`]; every packet that is not sent is counted under one
//! [`DropReason`]. Packets we answer (ARP replies, echo replies, ICMP errors) are rewritten
//! in their own buffer and sent: no allocation on the packet path.

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey, RouteType};
use crate::flow_offload::{self, Candidate};
use crate::iface::IfIndex;
use crate::ip_input::{Pre, Routable};
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf, Verdict};
use crate::punt::Punt;
use crate::snapshot::Snapshot;
use crate::stats::{Stage, Stat};
use crate::wire::ethernet::{ethertype, EthernetFrame};
use std::net::Ipv4Addr;

/// L2 filter and dispatch on ethertype, then everything up to the route lookup: ARP is
/// answered here; IPv4 is validated (`ip_input::validate`).
#[inline]
pub fn classify<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
) -> Pre {
    let data = pkt.data();
    if data.len() < EthernetFrame::<&[u8]>::HEADER_LEN {
        return Pre::Done(ctx.drop(DropReason::ShortFrame));
    }
    let eth = EthernetFrame::new_unchecked(data);
    let dmac = eth.dst_addr();
    let l2 = if dmac == snap.ifaces[in_if as usize].mac {
        L2Dest::Host
    } else if dmac.is_broadcast() {
        L2Dest::Broadcast
    } else if dmac.is_multicast() {
        return Pre::Done(ctx.drop(DropReason::L2Multicast));
    } else {
        return Pre::Done(ctx.drop(DropReason::OtherHost));
    };
    match eth.ethertype() {
        ethertype::IPV4 => crate::ip_input::validate(snap, ctx, pkt, in_if, l2),
        // Answered and learned from on the control core (`arp_process`).
        ethertype::ARP => Pre::Done(Verdict::Punt(Punt::Arp { in_if })),
        _ => Pre::Done(ctx.drop(DropReason::UnsupportedEthertype)),
    }
}

/// Processes one frame received on `in_if`.
#[inline]
pub fn process<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
) -> Verdict {
    match classify(snap, ctx, pkt, in_if) {
        Pre::Done(v) => v,
        Pre::Route(r) => {
            let cand = flow_candidate(snap, ctx, pkt, &r);
            if let Some(Err(v)) = cand {
                return v;
            }
            let res = snap.fib.lookup(&r.key);
            dispatch_tracked(snap, ctx, pkt, &r, res, cand.and_then(Result::ok))
        }
    }
}

/// The flowtable's part before the route lookup: None if the packet is not one it
/// tracks (or the flowtable is off), `Err(verdict)` if an offloaded flow forwarded it at
/// once, else `Ok` with what [`dispatch_tracked`] tracks it as.
#[inline]
fn flow_candidate<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    r: &Routable,
) -> Option<Result<Candidate, Verdict>> {
    if !flows_on(snap, ctx) {
        return None;
    }
    let mut c = flow_offload::candidate(r, pkt.data(), &ctx.flows.table)?;
    Some(match flow_offload::offload_hit(snap, ctx, pkt, &mut c) {
        Some(v) => Err(v),
        None => Ok(c),
    })
}

/// Whether packets are tracked (the flowtable is on and has room).
#[inline]
fn flows_on(snap: &Snapshot, ctx: &LcoreCtx) -> bool {
    snap.settings.flowtable && ctx.flows.table.capacity() > 0
}

/// [`crate::ip_input::dispatch`], then conntrack of a flowtable candidate.
#[inline]
fn dispatch_tracked<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    r: &Routable,
    res: Option<FibResult>,
    cand: Option<Candidate>,
) -> Verdict {
    ctx.fwd = None;
    let v = crate::ip_input::dispatch(snap, ctx, pkt, r, res);
    if let Some(c) = &cand {
        flow_offload::track(snap, ctx, pkt, c, &v);
    }
    v
}

/// What the worker does first with a packet's verdict: for a [`Verdict::Redirect`],
/// builds the ICMP redirect about it ([`crate::icmp::send_redirect`]), which is to be sent
/// before the packet, as Linux sends it before it outputs the packet. Returns what then
/// becomes of the packet ([`Verdict::forwarded`]) and the redirect with its interface.
#[inline]
pub fn redirect_first<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &P,
    verdict: Verdict,
) -> (Verdict, Option<(P, IfIndex)>) {
    match verdict {
        Verdict::Redirect { gw, .. } => (
            verdict.forwarded(),
            crate::icmp::send_redirect(snap, ctx, pkt, gw),
        ),
        v => (v, None),
    }
}

/// Scratch space of [`process_burst`], owned by one worker and reused (no allocation on the
/// packet path once made).
pub struct BurstScratch {
    idx: Vec<usize>,
    routable: Vec<Routable>,
    /// Per routable packet: what the flowtable tracks it as.
    cand: Vec<Option<Candidate>>,
    /// Per routable packet: the earlier one whose lookup it reuses (a route hint).
    hint: Vec<Option<usize>>,
    /// The routable packets that are looked up, and their keys.
    looked: Vec<usize>,
    keys: Vec<FlowKey>,
    addrs: Vec<u32>,
    vals: Vec<u32>,
    found: Vec<Option<FibResult>>,
    res: Vec<Option<FibResult>>,
}

impl Default for BurstScratch {
    fn default() -> Self {
        let n = crate::dpdk::mbuf::MAX_BURST;
        BurstScratch {
            idx: Vec::with_capacity(n),
            routable: Vec::with_capacity(n),
            cand: Vec::with_capacity(n),
            hint: Vec::with_capacity(n),
            looked: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            addrs: vec![0; n],
            vals: vec![0; n],
            found: vec![None; n],
            res: vec![None; n],
        }
    }
}

/// Whether the decision of a lookup can be reused by the next packets of the burst with
/// the same destination and TOS (`ip_extract_route_hint`): not for a local or broadcast
/// route, and not for a multipath one, whose member depends on the source.
#[inline]
fn hint_usable(res: &Option<FibResult>) -> bool {
    !matches!(
        res,
        Some(FibResult {
            route: RouteType::Local | RouteType::Broadcast | RouteType::Multipath(_),
            ..
        })
    )
}

/// Processes a burst received on `in_if` in three passes, as `ip_list_rcv` does for a
/// list: classify every packet, look all routable ones up at once (the FIB's bulk lookup
/// overlaps their memory accesses), then forward or answer each. Same outcome per packet
/// as [`process`]. `verdicts` gets one entry per packet. Each pass is one stage of the
/// sampled cycle accounting.
///
/// Route hints (`ip_list_rcv_finish` -> `ip_can_use_hint`): with the default rules only
/// (policy rules could tell packets to the same destination apart), a packet whose
/// destination and TOS are those of the previous routable packet of the burst is not
/// looked up: it takes that packet's FIB result, if that one may be reused
/// ([`hint_usable`]; else it is looked up after all), and counts as `hint_hits`. Only the
/// lookup is shared: the source checks (martians, rp_filter), the next-hop choice and
/// everything after are made for each packet.
pub fn process_burst<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkts: &mut [P],
    in_if: IfIndex,
    verdicts: &mut [Verdict],
    s: &mut BurstScratch,
) {
    debug_assert!(pkts.len() <= s.addrs.len() && verdicts.len() >= pkts.len());
    s.idx.clear();
    s.routable.clear();
    s.cand.clear();
    s.hint.clear();
    s.looked.clear();
    s.keys.clear();
    let hints = snap.settings.route_hints && snap.fib.default_rules_only();
    let flows = flows_on(snap, ctx);
    // The last looked-up packet: (destination, TOS, its index among the routable).
    let mut last: Option<(Ipv4Addr, u8, usize)> = None;
    for (i, pkt) in pkts.iter_mut().enumerate() {
        verdicts[i] = match classify(snap, ctx, pkt, in_if) {
            Pre::Done(v) => v,
            Pre::Route(r) => 'route: {
                // flow_candidate(), made in place (the candidate is not copied around).
                s.cand.push(if flows {
                    flow_offload::candidate(&r, pkt.data(), &ctx.flows.table)
                } else {
                    None
                });
                if let Some(c) = s.cand.last_mut().and_then(Option::as_mut) {
                    if let Some(v) = flow_offload::offload_hit(snap, ctx, pkt, c) {
                        s.cand.pop();
                        break 'route v;
                    }
                }
                let j = s.routable.len();
                let hint = match last {
                    Some((d, t, src)) if hints && d == r.key.daddr && t == r.key.tos => Some(src),
                    _ => None,
                };
                if hint.is_none() {
                    last = Some((r.key.daddr, r.key.tos, j));
                    s.looked.push(j);
                    s.keys.push(r.key);
                }
                s.hint.push(hint);
                s.idx.push(i);
                s.routable.push(r);
                Verdict::Drop
            }
        };
    }
    ctx.mark(Stage::Parse);
    let n = s.keys.len();
    snap.fib
        .lookup_burst(&s.keys, &mut s.addrs, &mut s.vals, &mut s.found[..n]);
    for (k, &j) in s.looked.iter().enumerate() {
        s.res[j] = s.found[k];
    }
    let mut hits = 0;
    for j in 0..s.routable.len() {
        if let Some(src) = s.hint[j] {
            s.res[j] = if hint_usable(&s.res[src]) {
                hits += 1;
                s.res[src]
            } else {
                snap.fib.lookup(&s.routable[j].key)
            };
        }
    }
    if hits > 0 {
        ctx.stats.add(Stat::HintHits, hits);
    }
    ctx.mark(Stage::Lookup);
    for j in 0..s.routable.len() {
        let i = s.idx[j];
        let (r, res, cand) = (&s.routable[j], s.res[j], s.cand[j]);
        verdicts[i] = dispatch_tracked(snap, ctx, &mut pkts[i], r, res, cand);
    }
    ctx.mark(Stage::Rewrite);
}
