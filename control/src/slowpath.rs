//! What the control core does with the packets workers punt ([`Punt`]) and the packets it
//! sends itself: ARP (`arp_process`: replies, learning), packets waiting for a neighbour
//! (held in [`Neighbours`] and released, fragmented if needed, or answered with ICMP host
//! unreachable when resolution fails), ARP requests, gratuitous ARP.
//!
//! Generic over the buffer and the I/O ([`Io`]) so it runs in tests on plain buffers;
//! [`crate::dataplane`] gives it mbufs, the punt rings and a tx path per port.

use crate::neigh::{Action, Discard, Neighbours};
use fastpath::arp::{self, ArpIn, FRAME_LEN};
use fastpath::drop::DropReason;
use fastpath::iface::IfIndex;
use fastpath::lcore::LcoreCtx;
use fastpath::output::{ip_fragment, write_eth};
use fastpath::packet::{L2Dest, PacketBuf, Verdict};
use fastpath::punt::Punt;
use fastpath::snapshot::Snapshot;
use fastpath::stats::Stat;
use fastpath::wire::ethernet::{ethertype, EthernetFrame};
use fastpath::wire::icmp::{msg_type, unreach_code};
use std::time::Instant;

/// Where the slow path gets buffers and sends frames.
pub trait Io<P> {
    /// A new empty buffer, or None if the pool is exhausted.
    fn alloc(&mut self) -> Option<P>;
    /// Sends a finished frame out of `iface` (counted by the caller as `tx_packets`).
    fn send(&mut self, iface: IfIndex, pkt: P);
}

pub struct SlowPath<P> {
    pub neigh: Neighbours<P>,
    actions: Vec<Action<P>>,
}

impl<P: PacketBuf> SlowPath<P> {
    pub fn new(neigh: Neighbours<P>) -> Self {
        SlowPath {
            neigh,
            actions: Vec::new(),
        }
    }

    /// Finishes one punted packet.
    pub fn handle(
        &mut self,
        snap: &Snapshot,
        ctx: &mut LcoreCtx,
        io: &mut impl Io<P>,
        pkt: P,
        punt: Punt,
        now: Instant,
    ) {
        match punt {
            Punt::Arp { in_if } => self.arp(snap, ctx, io, pkt, in_if, now),
            Punt::Resolve {
                out_if, nexthop, ..
            } => self
                .neigh
                .resolve(out_if, nexthop, pkt, punt, now, &mut self.actions),
        }
        self.run(snap, ctx, io, now);
    }

    /// The timers of the neighbour table, and what they make due.
    pub fn tick(&mut self, snap: &Snapshot, ctx: &mut LcoreCtx, io: &mut impl Io<P>, now: Instant) {
        self.neigh.tick(now, &mut self.actions);
        self.run(snap, ctx, io, now);
    }

    /// Adds actions a CLI change of the table left, for the next [`SlowPath::run`].
    pub fn queue(&mut self, actions: Vec<Action<P>>) {
        self.actions.extend(actions);
    }

    /// Carries out what a neighbour-table operation left to do (its own
    /// [`Action`]s, in order, and those they cause).
    pub fn run(&mut self, snap: &Snapshot, ctx: &mut LcoreCtx, io: &mut impl Io<P>, now: Instant) {
        while !self.actions.is_empty() {
            let batch = std::mem::take(&mut self.actions);
            for a in batch {
                self.act(snap, ctx, io, a, now);
            }
        }
    }

    /// Sends a gratuitous ARP for every address of `iface` (a port comes up).
    pub fn announce(
        &mut self,
        snap: &Snapshot,
        ctx: &mut LcoreCtx,
        io: &mut impl Io<P>,
        iface: IfIndex,
    ) {
        for a in &snap.ifaces[iface as usize].addrs {
            if let Some(mut p) = frame(io) {
                arp::write_gratuitous(snap, p.data_mut(), iface, a.addr);
                ctx.stats.inc(Stat::ArpRequests);
                io.send(iface, p);
            }
        }
    }

    fn arp(
        &mut self,
        snap: &Snapshot,
        ctx: &mut LcoreCtx,
        io: &mut impl Io<P>,
        mut pkt: P,
        in_if: IfIndex,
        now: Instant,
    ) {
        let to_host = pkt.data().len() >= 6
            && EthernetFrame::new_unchecked(pkt.data()).dst_addr()
                == snap.ifaces[in_if as usize].mac;
        let l2 = if to_host {
            L2Dest::Host
        } else {
            L2Dest::Broadcast
        };
        match arp::arp_process(snap, ctx, &mut pkt, in_if, l2) {
            ArpIn::Answered { learn } => {
                if let Some((sip, sha)) = learn {
                    self.neigh.event_ns(in_if, sip, sha, now, &mut self.actions);
                }
                io.send(in_if, pkt);
            }
            ArpIn::Update {
                sip,
                sha,
                reachable,
                garp,
            } => {
                if self
                    .neigh
                    .arp_seen(in_if, sip, sha, reachable, garp, now, &mut self.actions)
                {
                    ctx.stats.inc(Stat::ArpUpdates);
                } else {
                    ctx.stats.drop(DropReason::ArpIgnored);
                }
            }
            ArpIn::Dropped => {}
        }
    }

    fn act(
        &mut self,
        snap: &Snapshot,
        ctx: &mut LcoreCtx,
        io: &mut impl Io<P>,
        a: Action<P>,
        now: Instant,
    ) {
        match a {
            Action::Solicit { iface, target, mac } => {
                if let Some(mut p) = frame(io) {
                    if arp::write_request(snap, p.data_mut(), iface, target, mac) {
                        ctx.stats.inc(Stat::ArpRequests);
                        io.send(iface, p);
                    }
                }
            }
            Action::Release { mut pkt, punt, mac } => {
                let Punt::Resolve {
                    out_if,
                    mtu,
                    forwarded,
                    ..
                } = punt
                else {
                    return;
                };
                let src = snap.ifaces[out_if as usize].mac;
                write_eth(pkt.data_mut(), mac, src, ethertype::IPV4);
                ctx.stats.inc(Stat::NeighReleased);
                if !forwarded {
                    io.send(out_if, pkt);
                } else if pkt.len() - fastpath::packet::ETH > mtu as usize {
                    // Only DF-clear packets are held over the MTU (ip_forward answered the
                    // others with frag-needed); ip_fragment counts it.
                    let _ = ip_fragment(ctx, pkt, mtu, |f| io.send(out_if, f));
                } else {
                    ctx.stats.inc(Stat::Forwarded);
                    io.send(out_if, pkt);
                }
            }
            Action::Failed { mut pkt, punt } => {
                ctx.stats.inc(Stat::UnresolvedDiscards);
                if !punt.uncounted() {
                    return;
                }
                ctx.stats.drop(DropReason::NoNeighbor);
                // arp_error_report -> icmp_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH).
                let v = fastpath::icmp::send_error(
                    snap,
                    ctx,
                    &mut pkt,
                    L2Dest::Host,
                    msg_type::DEST_UNREACHABLE,
                    unreach_code::HOST,
                    0,
                );
                self.emit(ctx, io, pkt, v, now);
            }
            Action::Discard { punt, why, .. } => {
                ctx.stats.inc(Stat::UnresolvedDiscards);
                if punt.uncounted() {
                    ctx.stats.drop(match why {
                        Discard::QueueFull => DropReason::NeighQueueFull,
                        Discard::TableFull => DropReason::NeighTableFull,
                    });
                }
            }
        }
    }

    /// Sends what a pipeline function made of a packet (an ICMP error).
    fn emit(&mut self, ctx: &mut LcoreCtx, io: &mut impl Io<P>, pkt: P, v: Verdict, now: Instant) {
        match v {
            Verdict::Tx(i) => io.send(i, pkt),
            Verdict::Fragment(i, mtu) => {
                let _ = ip_fragment(ctx, pkt, mtu, |f| io.send(i, f));
            }
            Verdict::Punt(
                punt @ Punt::Resolve {
                    out_if, nexthop, ..
                },
            ) => self
                .neigh
                .resolve(out_if, nexthop, pkt, punt, now, &mut self.actions),
            // An ICMP error never asks for a redirect or an ARP punt.
            Verdict::Punt(Punt::Arp { .. }) | Verdict::Redirect { .. } | Verdict::Drop => {}
        }
    }

    /// Everything still held (at shutdown), counted as Linux would when the neighbour
    /// goes: not sent.
    pub fn shutdown(&mut self, ctx: &mut LcoreCtx) {
        for (_, punt) in self.neigh.drain_held() {
            ctx.stats.inc(Stat::UnresolvedDiscards);
            if punt.uncounted() {
                ctx.stats.drop(DropReason::NoNeighbor);
            }
        }
    }
}

/// A new buffer sized for an ARP frame.
fn frame<P: PacketBuf>(io: &mut impl Io<P>) -> Option<P> {
    let mut p = io.alloc()?;
    p.append(FRAME_LEN).then_some(p)
}
