//! ARP (RFC 826, the kernel's `arp_process`), run on the control core for what workers
//! punt: answer requests for our addresses, and say what the neighbour table learns.
//!
//! Like Linux with `arp_ignore = 0`, any of our addresses is answered on any interface,
//! and address probes (sender 0.0.0.0, RFC 5227) are answered to defend the address.
//! Any other request is answered only if Linux would route an IP packet from the sender
//! to the target (`ip_route_input_noref(skb, tip, sip, ...)` must give `RTN_LOCAL`), so a
//! martian sender (127/8, 224/4, 255.255.255.255, one of our own addresses, which
//! covers gratuitous ARP for our address) is ignored. Everything else may only update an
//! entry the table already has (`arp_accept = 0`).

use crate::drop::DropReason;
use crate::fib::FlowKey;
use crate::iface::IfIndex;
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf};
use crate::route::{martian, validate_source, InputRoute};
use crate::snapshot::Snapshot;
use crate::wire::arp::{op, ArpPacket};
use crate::wire::ethernet::{ethertype, EthernetFrame};
use crate::wire::EthernetAddress;
use std::net::Ipv4Addr;

const ETH: usize = EthernetFrame::<&[u8]>::HEADER_LEN;
const ARP_LEN: usize = ArpPacket::<&[u8]>::HEADER_LEN;
/// An Ethernet ARP frame as we send it (42 bytes; the NIC pads it).
pub const FRAME_LEN: usize = ETH + ARP_LEN;

/// What an ARP frame does besides a possible reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpIn {
    /// A request for us, to answer: the reply is in the packet, for the interface it came
    /// in on, and is counted `arp_replies` by whoever sends it. `learn`: the sender, whose
    /// entry is made or refreshed STALE first (`neigh_event_ns`); if the table has no room
    /// for it, Linux sends no reply. None for an address probe.
    Answered {
        learn: Option<(Ipv4Addr, EthernetAddress)>,
    },
    /// Not for us to answer: the sender's entry, if the table has one, is updated,
    /// REACHABLE for a unicast reply to us and STALE otherwise; `garp`: a gratuitous ARP,
    /// which may change the MAC at once. Not counted yet: `arp_updates` if an entry
    /// changed, else `arp_ignored`.
    Update {
        sip: Ipv4Addr,
        sha: EthernetAddress,
        reachable: bool,
        garp: bool,
    },
    /// Malformed or ignored, counted.
    Dropped,
}

/// `arp_process` on a frame received on `in_if` with layer-2 destination `l2`.
pub fn arp_process<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
    l2: L2Dest,
) -> ArpIn {
    let Some(arp) = pkt
        .data()
        .get(ETH..)
        .and_then(|b| ArpPacket::new_checked(b).ok())
    else {
        ctx.drop(DropReason::ArpMalformed);
        return ArpIn::Dropped;
    };
    let (operation, sip, tip, sha) = (
        arp.operation(),
        arp.sender_proto_addr(),
        arp.target_proto_addr(),
        arp.sender_hw_addr(),
    );
    if !matches!(operation, op::REQUEST | op::REPLY)
        || !sha.is_unicast()
        || tip.is_multicast()
        || tip.is_loopback()
    {
        ctx.drop(DropReason::ArpIgnored);
        return ArpIn::Dropped;
    }
    let for_us = operation == op::REQUEST && sip != tip && snap.is_local(tip);
    if for_us && !bad_sender(snap, in_if, sip, tip) {
        let learn = (!sip.is_unspecified()).then_some((sip, sha));
        reply(snap, pkt, in_if, sip, tip, sha);
        return ArpIn::Answered { learn };
    }
    if sip.is_unspecified() {
        ctx.drop(DropReason::ArpIgnored);
        return ArpIn::Dropped;
    }
    ArpIn::Update {
        sip,
        sha,
        reachable: operation == op::REPLY && l2 == L2Dest::Host,
        garp: sip == tip,
    }
}

/// Turns the request in `pkt` into its reply, in place.
fn reply<P: PacketBuf>(
    snap: &Snapshot,
    pkt: &mut P,
    in_if: IfIndex,
    sip: Ipv4Addr,
    tip: Ipv4Addr,
    sha: EthernetAddress,
) {
    let mac = snap.ifaces[in_if as usize].mac;
    pkt.truncate(FRAME_LEN);
    write(pkt.data_mut(), op::REPLY, mac, tip, sha, sha, sip);
}

/// Writes an Ethernet + ARP frame (`arp_create`) into the first [`FRAME_LEN`] bytes.
pub fn write(
    frame: &mut [u8],
    operation: u16,
    sha: EthernetAddress,
    sip: Ipv4Addr,
    dst: EthernetAddress,
    tha: EthernetAddress,
    tip: Ipv4Addr,
) {
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.set_dst_addr(dst);
    eth.set_src_addr(sha);
    eth.set_ethertype(ethertype::ARP);
    let mut arp = ArpPacket::new_unchecked(&mut frame[ETH..FRAME_LEN]);
    arp.set_ethernet_ipv4();
    arp.set_operation(operation);
    arp.set_sender_hw_addr(sha);
    arp.set_sender_proto_addr(sip);
    arp.set_target_hw_addr(tha);
    arp.set_target_proto_addr(tip);
}

/// Writes the request `arp_solicit` sends for `target` out of `iface`: broadcast, or
/// unicast to `mac` when probing a known neighbour; the target MAC is zero. The source
/// address is the interface's address on the target's subnet, else its first one
/// (`inet_select_addr(dev, target, RT_SCOPE_LINK)`). False if `iface` has no address.
pub fn write_request(
    snap: &Snapshot,
    frame: &mut [u8],
    iface: IfIndex,
    target: Ipv4Addr,
    mac: Option<EthernetAddress>,
) -> bool {
    let i = &snap.ifaces[iface as usize];
    let Some(sip) = i
        .addrs
        .iter()
        .find(|a| a.contains(target))
        .or(i.addrs.first())
        .map(|a| a.addr)
    else {
        return false;
    };
    let dst = mac.unwrap_or(EthernetAddress::BROADCAST);
    write(
        frame,
        op::REQUEST,
        i.mac,
        sip,
        dst,
        EthernetAddress([0; 6]),
        target,
    );
    true
}

/// Writes the gratuitous ARP announcing `addr` on `iface` (a broadcast request with
/// sender = target = `addr`, as Linux sends when an address comes up).
pub fn write_gratuitous(snap: &Snapshot, frame: &mut [u8], iface: IfIndex, addr: Ipv4Addr) {
    let mac = snap.ifaces[iface as usize].mac;
    write(
        frame,
        op::REQUEST,
        mac,
        addr,
        EthernetAddress::BROADCAST,
        EthernetAddress([0; 6]),
        addr,
    );
}

/// A request for our address `tip` that `arp_process` does not answer because of its
/// sender `sip`. Sender 0.0.0.0 is a duplicate address probe, answered before any route
/// lookup (`if (sip == 0) { ... arp_send(ARPOP_REPLY, ...) }`). Any other sender must
/// pass `ip_route_input_noref(skb, tip, sip, 0, dev)`, whose source checks are the ones
/// IPv4 input applies ([`martian`], `ip_route_input_slow` + `fib_validate_source`): an
/// error there means no reply: a martian, or a sender the reverse path filter of `in_if`
/// refuses ([`validate_source`] of a local input route). Class E senders (240/4 but not
/// 255.255.255.255) pass, as in Linux.
#[inline]
fn bad_sender(snap: &Snapshot, in_if: IfIndex, sip: Ipv4Addr, tip: Ipv4Addr) -> bool {
    if sip.is_unspecified() {
        return false;
    }
    let key = FlowKey {
        daddr: tip,
        saddr: sip,
        iif: Some(in_if),
        tos: 0,
        mark: 0,
    };
    martian(snap, sip, tip).is_some() || validate_source(snap, &key, &InputRoute::Local).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icmp_limit::RateLimiter;
    use crate::iface::{IfAddr, Iface};
    use crate::packet::{VecBuf, Verdict};
    use crate::snapshot::Settings;
    use crate::stats::{LcoreStats, Stat};
    use crate::wire::EthernetAddress;

    const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
    const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
    const OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
    const OTHER_OF_OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);

    fn snap() -> Snapshot {
        let iface = |name: &str, port_id, mac, addr| Iface {
            name: name.into(),
            port_id,
            mac: EthernetAddress(mac),
            mtu: 1500,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        Snapshot::with_ifaces(
            vec![
                iface("p0", 0, OUR_MAC, OURS),
                iface("p1", 1, [0x02, 0, 0, 0, 0, 0x02], OTHER_OF_OURS),
            ],
            Settings::default(),
        )
    }

    /// A broadcast who-has `tip` from `sip` at HOST_MAC, as a 42-byte frame.
    #[rustfmt::skip]
    fn request(sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend(HOST_MAC);
        f.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend(HOST_MAC);
        f.extend(sip.octets());
        f.extend([0; 6]);
        f.extend(tip.octets());
        f
    }

    /// (verdict, arp_replies, arp_ignored, output frame)
    fn run(sip: Ipv4Addr, tip: Ipv4Addr) -> (Verdict, u64, u64, Vec<u8>) {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let mut pkt = VecBuf::new(&request(sip, tip));
        // As the control core does with an empty neighbour table: an update changes
        // nothing, so the frame is ignored.
        let v = match arp_process(&s, &mut ctx, &mut pkt, 0, L2Dest::Broadcast) {
            ArpIn::Answered { .. } => {
                ctx.stats.inc(Stat::ArpReplies);
                Verdict::Tx(0)
            }
            ArpIn::Update { .. } => ctx.drop(DropReason::ArpIgnored),
            ArpIn::Dropped => Verdict::Drop,
        };
        let d = stats.snapshot();
        assert_eq!(d.total_drops(), d.dropped(DropReason::ArpIgnored));
        let frame = pkt.data().to_vec();
        (
            v,
            d.get(Stat::ArpReplies),
            d.dropped(DropReason::ArpIgnored),
            frame,
        )
    }

    #[test]
    fn answers_a_request_for_our_address() {
        let sender = Ipv4Addr::new(10, 0, 1, 2);
        let (v, replies, ignored, f) = run(sender, OURS);
        assert_eq!((v, replies, ignored), (Verdict::Tx(0), 1, 0));
        let mut want = HOST_MAC.to_vec();
        want.extend(OUR_MAC);
        want.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        want.extend(OUR_MAC);
        want.extend(OURS.octets());
        want.extend(HOST_MAC);
        want.extend(sender.octets());
        assert_eq!(f, want);
    }

    #[test]
    fn learns_from_requests_for_us_but_not_from_probes() {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let sender = Ipv4Addr::new(10, 0, 1, 2);
        let mut pkt = VecBuf::new(&request(sender, OURS));
        let got = arp_process(&s, &mut ctx, &mut pkt, 0, L2Dest::Broadcast);
        let learn = Some((sender, EthernetAddress(HOST_MAC)));
        assert_eq!(got, ArpIn::Answered { learn });
        let mut pkt = VecBuf::new(&request(Ipv4Addr::UNSPECIFIED, OURS));
        let got = arp_process(&s, &mut ctx, &mut pkt, 0, L2Dest::Broadcast);
        assert_eq!(got, ArpIn::Answered { learn: None });
        // A request for someone else, or a gratuitous one, may only update an entry.
        let other = Ipv4Addr::new(10, 0, 1, 3);
        let mut pkt = VecBuf::new(&request(sender, other));
        let got = arp_process(&s, &mut ctx, &mut pkt, 0, L2Dest::Broadcast);
        let sha = EthernetAddress(HOST_MAC);
        let want = ArpIn::Update {
            sip: sender,
            sha,
            reachable: false,
            garp: false,
        };
        assert_eq!(got, want);
        let mut pkt = VecBuf::new(&request(sender, sender));
        let got = arp_process(&s, &mut ctx, &mut pkt, 0, L2Dest::Broadcast);
        let want = ArpIn::Update {
            sip: sender,
            sha,
            reachable: false,
            garp: true,
        };
        assert_eq!(got, want);
    }

    #[test]
    fn unicast_replies_make_entries_reachable() {
        let s = snap();
        let stats = LcoreStats::new(0);
        let mut ctx = LcoreCtx::new(&stats, RateLimiter::new(1000, 50, 1));
        let sender = Ipv4Addr::new(10, 0, 1, 2);
        let mut frame = request(sender, OURS);
        frame[..6].copy_from_slice(&OUR_MAC);
        frame[21] = 2; // reply
        let sha = EthernetAddress(HOST_MAC);
        for (l2, reachable) in [(L2Dest::Host, true), (L2Dest::Broadcast, false)] {
            let mut pkt = VecBuf::new(&frame);
            let got = arp_process(&s, &mut ctx, &mut pkt, 0, l2);
            let want = ArpIn::Update {
                sip: sender,
                sha,
                reachable,
                garp: false,
            };
            assert_eq!(got, want);
        }
    }

    #[test]
    fn writes_requests_as_arp_solicit() {
        let s = snap();
        let mut f = [0u8; FRAME_LEN];
        let target = Ipv4Addr::new(10, 0, 2, 9);
        assert!(write_request(&s, &mut f, 1, target, None));
        let mut want = vec![0xff; 6];
        want.extend([
            0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1,
        ]);
        want.extend([0x02, 0, 0, 0, 0, 0x02]);
        want.extend(OTHER_OF_OURS.octets());
        want.extend([0; 6]);
        want.extend(target.octets());
        assert_eq!(f.to_vec(), want);
        let mac = EthernetAddress(HOST_MAC);
        assert!(write_request(&s, &mut f, 1, target, Some(mac)));
        assert_eq!(f[..6], HOST_MAC);
    }

    #[test]
    fn answers_probes_and_unusual_but_valid_senders() {
        for sip in [
            // RFC 5227 probe: arp_process answers it before any route lookup.
            Ipv4Addr::UNSPECIFIED,
            // Off-link and class E senders: ip_route_input_slow does not refuse them.
            Ipv4Addr::new(192, 0, 2, 7),
            Ipv4Addr::new(240, 0, 0, 1),
            Ipv4Addr::new(254, 255, 255, 255),
        ] {
            let (v, replies, ignored, _) = run(sip, OURS);
            assert_eq!(
                (v, replies, ignored),
                (Verdict::Tx(0), 1, 0),
                "sender {sip}"
            );
        }
    }

    #[test]
    fn ignores_martian_senders() {
        for sip in [
            // ipv4_is_loopback(saddr) -> martian_source (route_localnet = 0).
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::new(127, 1, 2, 3),
            // ipv4_is_multicast(saddr) -> martian_source.
            Ipv4Addr::new(224, 0, 0, 1),
            Ipv4Addr::new(239, 255, 255, 250),
            // ipv4_is_lbcast(saddr) -> martian_source.
            Ipv4Addr::BROADCAST,
            // fib_validate_source: one of our addresses (here another port's) or
            // subnet broadcasts.
            OTHER_OF_OURS,
            Ipv4Addr::new(10, 0, 1, 255),
            Ipv4Addr::new(10, 0, 2, 255),
        ] {
            let (v, replies, ignored, _) = run(sip, OURS);
            assert_eq!((v, replies, ignored), (Verdict::Drop, 0, 1), "sender {sip}");
        }
        // Gratuitous ARP for our address (sender = target = ours) stays ignored.
        assert_eq!(run(OURS, OURS).2, 1);
    }

    #[test]
    fn martian_sender_check_does_not_answer_others() {
        // The target must still be ours, whatever the sender.
        for tip in [Ipv4Addr::new(10, 0, 1, 99), Ipv4Addr::new(10, 0, 1, 255)] {
            let (v, _, ignored, _) = run(Ipv4Addr::new(10, 0, 1, 2), tip);
            assert_eq!((v, ignored), (Verdict::Drop, 1), "target {tip}");
        }
    }
}
