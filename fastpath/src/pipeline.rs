//! One packet, or a burst, through the data plane: L2 filter, then ARP (to the control
//! core, [`crate::punt`]) or IPv4 ([`crate::ip_input`] -> [`crate::ip_forward`], local delivery in [`crate::local`],
//! or an error from [`crate::icmp`], each sent by [`crate::output`]). This is the top of
//! the packet path below the worker: it uses the stages, and they use nothing of it.
//!
//! Every stage returns a [`Verdict`]; every packet that is not sent is counted under one
//! [`DropReason`]. Packets we answer (ARP replies, echo replies, ICMP errors) are rewritten
//! in their own buffer and sent: no allocation on the packet path.

use crate::drop::DropReason;
use crate::fib::{FibResult, FlowKey};
use crate::iface::IfIndex;
use crate::ip_input::{Pre, Routable};
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf, Verdict};
use crate::punt::Punt;
use crate::snapshot::Snapshot;
use crate::stats::Stage;
use crate::wire::ethernet::{ethertype, EthernetFrame};

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
            let res = snap.fib.lookup(&r.key);
            crate::ip_input::dispatch(snap, ctx, pkt, &r, res)
        }
    }
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
    keys: Vec<FlowKey>,
    addrs: Vec<u32>,
    vals: Vec<u32>,
    res: Vec<Option<FibResult>>,
}

impl Default for BurstScratch {
    fn default() -> Self {
        let n = crate::dpdk::mbuf::MAX_BURST;
        BurstScratch {
            idx: Vec::with_capacity(n),
            routable: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            addrs: vec![0; n],
            vals: vec![0; n],
            res: vec![None; n],
        }
    }
}

/// Processes a burst received on `in_if` in three passes, as `ip_list_rcv` does for a
/// list: classify every packet, look all routable ones up at once (the FIB's bulk lookup
/// overlaps their memory accesses), then forward or answer each. Same outcome per packet
/// as [`process`]. `verdicts` gets one entry per packet. Each pass is one stage of the
/// sampled cycle accounting.
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
    s.keys.clear();
    for (i, pkt) in pkts.iter_mut().enumerate() {
        verdicts[i] = match classify(snap, ctx, pkt, in_if) {
            Pre::Done(v) => v,
            Pre::Route(r) => {
                s.idx.push(i);
                s.keys.push(r.key);
                s.routable.push(r);
                Verdict::Drop
            }
        };
    }
    ctx.mark(Stage::Parse);
    let n = s.keys.len();
    snap.fib
        .lookup_burst(&s.keys, &mut s.addrs, &mut s.vals, &mut s.res[..n]);
    ctx.mark(Stage::Lookup);
    for j in 0..n {
        let i = s.idx[j];
        verdicts[i] = crate::ip_input::dispatch(snap, ctx, &mut pkts[i], &s.routable[j], s.res[j]);
    }
    ctx.mark(Stage::Rewrite);
}
