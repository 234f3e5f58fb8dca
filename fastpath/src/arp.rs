//! ARP (RFC 826, the kernel's `arp_process`): answer requests for our addresses.
//!
//! Like Linux with `arp_ignore = 0`, any of our addresses is answered on any interface,
//! and address probes (sender 0.0.0.0, RFC 5227) are answered to defend the address.
//! Any other request is answered only if Linux would route an IP packet from the sender
//! to the target (`ip_route_input_noref(skb, tip, sip, ...)` must give `RTN_LOCAL`), so a
//! martian sender (127/8, 224/4, 0/8, 255.255.255.255, one of our own addresses, which
//! covers gratuitous ARP for our address) is ignored. Gratuitous ARP and replies are
//! ignored for now: neighbours are static.

use crate::drop::DropReason;
use crate::iface::IfIndex;
use crate::lcore::LcoreCtx;
use crate::packet::{PacketBuf, Verdict};
use crate::route::martian;
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::arp::{op, ArpPacket};
use crate::wire::ethernet::{ethertype, EthernetFrame};
use std::net::Ipv4Addr;

const ETH: usize = EthernetFrame::<&[u8]>::HEADER_LEN;
const ARP_LEN: usize = ArpPacket::<&[u8]>::HEADER_LEN;

pub fn input<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    in_if: IfIndex,
) -> Verdict {
    let Ok(arp) = ArpPacket::new_checked(&pkt.data()[ETH..]) else {
        return ctx.drop(DropReason::ArpMalformed);
    };
    let (sip, tip, sha) = (
        arp.sender_proto_addr(),
        arp.target_proto_addr(),
        arp.sender_hw_addr(),
    );
    if arp.operation() != op::REQUEST
        || sip == tip
        || !snap.is_local(tip)
        || !sha.is_unicast()
        || bad_sender(snap, sip, tip)
    {
        return ctx.drop(DropReason::ArpIgnored);
    }
    let mac = snap.ifaces[in_if as usize].mac;
    pkt.truncate(ETH + ARP_LEN);
    let frame = pkt.data_mut();
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.set_dst_addr(sha);
    eth.set_src_addr(mac);
    eth.set_ethertype(ethertype::ARP);
    let mut arp = ArpPacket::new_unchecked(&mut frame[ETH..]);
    arp.set_operation(op::REPLY);
    arp.set_sender_hw_addr(mac);
    arp.set_sender_proto_addr(tip);
    arp.set_target_hw_addr(sha);
    arp.set_target_proto_addr(sip);
    ctx.stats.inc(Stat::ArpReplies);
    Verdict::Tx(in_if)
}

/// A request for our address `tip` that `arp_process` does not answer because of its
/// sender `sip`. Sender 0.0.0.0 is a duplicate address probe, answered before any route
/// lookup (`if (sip == 0) { ... arp_send(ARPOP_REPLY, ...) }`). Any other sender must
/// pass `ip_route_input_noref(skb, tip, sip, 0, dev)`, whose source checks are the ones
/// IPv4 input applies ([`martian`], `ip_route_input_slow` + `fib_validate_source`): an
/// error there means no reply. Class E senders (240/4 but not 255.255.255.255) pass, as
/// in Linux.
#[inline]
fn bad_sender(snap: &Snapshot, sip: Ipv4Addr, tip: Ipv4Addr) -> bool {
    !sip.is_unspecified() && martian(snap, sip, tip).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::icmp_limit::RateLimiter;
    use crate::iface::{IfAddr, Iface};
    use crate::packet::VecBuf;
    use crate::snapshot::Settings;
    use crate::stats::LcoreStats;
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
        let v = input(&s, &mut ctx, &mut pkt, 0);
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
            // ipv4_is_zeronet(saddr), not 0.0.0.0 itself -> martian_source.
            Ipv4Addr::new(0, 1, 2, 3),
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
