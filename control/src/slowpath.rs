//! What the control core does with the packets workers punt ([`Punt`]) and the packets it
//! sends itself: ARP (`arp_process`: replies, learning), packets waiting for a neighbour
//! (held in [`Neighbours`] and released, fragmented if needed, or answered with ICMP host
//! unreachable when resolution fails), ARP requests, gratuitous ARP.
//!
//! Generic over the buffer and the I/O ([`Io`]) so it runs in tests on plain buffers;
//! [`crate::dataplane`] gives it mbufs, the punt rings and a tx path per port.

use crate::exceptions::{Learned, Learner};
use crate::neigh::{Action, Discard, Neighbours};
use fastpath::arp::{self, ArpIn, FRAME_LEN};
use fastpath::drop::DropReason;
use fastpath::iface::IfIndex;
use fastpath::lcore::LcoreCtx;
use fastpath::output::{ip_fragment, ip_fragment_local, write_eth};
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
    /// Nexthop exceptions, learned from the ICMP errors punted to us.
    pub fnhe: Learner,
    actions: Vec<Action<P>>,
}

impl<P: PacketBuf> SlowPath<P> {
    pub fn new(neigh: Neighbours<P>, fnhe: Learner) -> Self {
        SlowPath {
            neigh,
            fnhe,
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
            Punt::Icmp { in_if } => {
                let learned = self.fnhe.icmp_in(
                    snap,
                    &mut self.neigh,
                    in_if,
                    pkt.data(),
                    ctx.now,
                    now,
                    &mut self.actions,
                );
                ctx.stats.inc(Stat::IcmpErrorsIn);
                match learned {
                    Learned::Pmtu { .. } => ctx.stats.inc(Stat::PmtuUpdates),
                    Learned::Redirect { .. } => ctx.stats.inc(Stat::RedirectsAccepted),
                    Learned::Rejected(_) => ctx.stats.inc(Stat::RedirectsRejected),
                    Learned::Resolving | Learned::Nothing(_) => {}
                }
            }
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
                    if !self.neigh.event_ns(in_if, sip, sha, now, &mut self.actions) {
                        // arp_process answers only once neigh_event_ns made the entry.
                        ctx.stats.drop(DropReason::NeighTableFull);
                        return;
                    }
                }
                ctx.stats.inc(Stat::ArpReplies);
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
                    // One of ours (an echo reply over the path MTU: fragmented).
                    let _ = ip_fragment_local(ctx, pkt, mtu, |f| io.send(out_if, f));
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
            Verdict::FragmentLocal(i, mtu) => {
                let _ = ip_fragment_local(ctx, pkt, mtu, |f| io.send(i, f));
            }
            Verdict::Punt(
                punt @ Punt::Resolve {
                    out_if, nexthop, ..
                },
            ) => self
                .neigh
                .resolve(out_if, nexthop, pkt, punt, now, &mut self.actions),
            // An ICMP error never asks for a redirect, an ARP or ICMP punt.
            Verdict::Punt(Punt::Arp { .. } | Punt::Icmp { .. })
            | Verdict::Redirect { .. }
            | Verdict::Drop => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neigh::{NeighParams, Neighbours};
    use fastpath::icmp_limit::RateLimiter;
    use fastpath::iface::{IfAddr, Iface};
    use fastpath::packet::VecBuf;
    use fastpath::snapshot::Settings;
    use fastpath::stats::LcoreStats;
    use fastpath::wire::EthernetAddress;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    const MAC0: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const MAC1: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
    const MAC_A: [u8; 6] = [2, 0, 0, 0, 1, 2];
    const HOST_B: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 9);
    const MAC_B: [u8; 6] = [2, 0, 0, 0, 2, 9];

    #[derive(Default)]
    struct Wire(Vec<(IfIndex, Vec<u8>)>);

    impl Io<VecBuf> for Wire {
        fn alloc(&mut self) -> Option<VecBuf> {
            Some(VecBuf::new(&[]))
        }
        fn send(&mut self, iface: IfIndex, pkt: VecBuf) {
            self.0.push((iface, pkt.data().to_vec()));
        }
    }

    fn snap() -> Snapshot {
        let iface = |name: &str, mac, addr| Iface {
            name: name.into(),
            port_id: 0,
            mac: EthernetAddress(mac),
            mtu: 1500,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        let mut s = Snapshot::with_ifaces(
            vec![
                iface("p0", MAC0, Ipv4Addr::new(10, 0, 1, 1)),
                iface("p1", MAC1, Ipv4Addr::new(10, 0, 2, 1)),
            ],
            Settings::default(),
        );
        s.neigh.insert(0, HOST_A, EthernetAddress(MAC_A));
        s
    }

    fn learner() -> Learner {
        Learner::new(crate::exceptions::FnheParams::defaults(1_000_000))
    }

    fn arp(op: u16, sha: [u8; 6], sip: Ipv4Addr, tip: Ipv4Addr, dst: [u8; 6]) -> VecBuf {
        let mut f = vec![0u8; FRAME_LEN];
        arp::write(
            &mut f,
            op,
            EthernetAddress(sha),
            sip,
            EthernetAddress(dst),
            EthernetAddress([0; 6]),
            tip,
        );
        VecBuf::new(&f)
    }

    /// A UDP packet from HOST_A to HOST_B as a worker punts it: TTL already decremented.
    fn held() -> (VecBuf, Punt) {
        let mut f = vec![0u8; 14];
        let ip = [
            0x45, 0, 0, 29, 0x12, 0x34, 0, 0, 63, 17, 0, 0, 10, 0, 1, 2, 10, 0, 2, 9, 0x9c, 0x40,
            0, 9, 0, 9, 0, 0, 0x55,
        ];
        f.extend(ip);
        let mut p = fastpath::wire::ipv4::Ipv4Packet::new_unchecked(&mut f[14..]);
        p.fill_checksum();
        let punt = Punt::Resolve {
            out_if: 1,
            nexthop: HOST_B,
            mtu: 1500,
            forwarded: true,
        };
        (VecBuf::new(&f), punt)
    }

    #[test]
    fn resolves_releases_and_answers_as_arp_process() {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let t0 = Instant::now();
        let mut sp = SlowPath::new(Neighbours::new(NeighParams::default(), 100, t0), learner());
        let mut w = Wire::default();
        let (pkt, punt) = held();
        sp.handle(&s, &mut ctx, &mut w, pkt, punt, t0);
        // A broadcast who-has HOST_B from p1's address.
        assert_eq!(w.0.len(), 1);
        assert_eq!(w.0[0].0, 1);
        assert_eq!(&w.0[0].1[..6], &[0xff; 6]);
        assert_eq!(&w.0[0].1[38..42], &HOST_B.octets());
        // HOST_B answers: the held packet leaves with its MAC, counted forwarded.
        let reply = arp(2, MAC_B, HOST_B, Ipv4Addr::new(10, 0, 2, 1), MAC1);
        sp.handle(&s, &mut ctx, &mut w, reply, Punt::Arp { in_if: 1 }, t0);
        assert_eq!(w.0.len(), 2);
        assert_eq!(w.0[1].0, 1);
        assert_eq!(&w.0[1].1[..12], &[MAC_B, MAC1].concat()[..]);
        let d = stats.snapshot();
        assert_eq!((d.get(Stat::Forwarded), d.get(Stat::ArpUpdates)), (1, 1));
        // A request for us from HOST_A is answered.
        let req = arp(1, MAC_A, HOST_A, Ipv4Addr::new(10, 0, 1, 1), [0xff; 6]);
        sp.handle(&s, &mut ctx, &mut w, req, Punt::Arp { in_if: 0 }, t0);
        assert_eq!(w.0.len(), 3);
        assert_eq!((w.0[2].0, &w.0[2].1[..6]), (0, &MAC_A[..]));
        assert_eq!(stats.snapshot().get(Stat::ArpReplies), 1);
    }

    #[test]
    fn failed_resolution_sends_host_unreachable_to_the_source() {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let t0 = Instant::now();
        let mut sp = SlowPath::new(Neighbours::new(NeighParams::default(), 100, t0), learner());
        let mut w = Wire::default();
        let (pkt, punt) = held();
        sp.handle(&s, &mut ctx, &mut w, pkt, punt, t0);
        let mut t = t0;
        while t < t0 + Duration::from_millis(3100) {
            t += Duration::from_millis(10);
            sp.tick(&s, &mut ctx, &mut w, t);
        }
        let requests = w.0.iter().filter(|(_, f)| f[12..14] == [8, 6]).count();
        assert_eq!(requests, 3);
        let (iface, err) = w.0.last().unwrap();
        assert_eq!(*iface, 0);
        assert_eq!(&err[..6], &MAC_A);
        // ICMP type 3 code 1 from p0's address to HOST_A, quoting TTL 63.
        assert_eq!((err[14 + 20], err[14 + 21]), (3, 1));
        assert_eq!(&err[14 + 12..14 + 20], &[10, 0, 1, 1, 10, 0, 1, 2]);
        assert_eq!(err[14 + 28 + 8], 63);
        let d = stats.snapshot();
        assert_eq!(d.dropped(DropReason::NoNeighbor), 1);
        assert_eq!(d.get(Stat::IcmpErrors), 1);
    }

    #[test]
    fn no_reply_when_the_table_has_no_room_for_the_asker() {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let t0 = Instant::now();
        let params = NeighParams {
            gc_thresh3: 1,
            gc_thresh2: 1,
            ..NeighParams::default()
        };
        let mut sp = SlowPath::new(Neighbours::new(params, 100, t0), learner());
        let mut w = Wire::default();
        let (pkt, punt) = held();
        sp.handle(&s, &mut ctx, &mut w, pkt, punt, t0);
        let n = w.0.len();
        let req = arp(1, MAC_A, HOST_A, Ipv4Addr::new(10, 0, 1, 1), [0xff; 6]);
        sp.handle(&s, &mut ctx, &mut w, req, Punt::Arp { in_if: 0 }, t0);
        assert_eq!(w.0.len(), n, "no reply");
        assert_eq!(stats.snapshot().dropped(DropReason::NeighTableFull), 1);
        assert_eq!(stats.snapshot().get(Stat::ArpReplies), 0);
    }
}
