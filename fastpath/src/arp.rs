//! ARP (RFC 826, the kernel's `arp_process`): answer requests for our addresses.
//!
//! Like Linux with `arp_ignore = 0`, any of our addresses is answered on any interface,
//! and address probes (sender 0.0.0.0, RFC 5227) are answered to defend the address.
//! Gratuitous ARP and replies are ignored for now: neighbours are static.

use crate::drop::DropReason;
use crate::iface::IfIndex;
use crate::packet::PacketBuf;
use crate::pipeline::{LcoreCtx, Verdict};
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::arp::{op, ArpPacket};
use crate::wire::ethernet::{ethertype, EthernetFrame};

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
    if arp.operation() != op::REQUEST || sip == tip || !snap.is_local(tip) || !sha.is_unicast() {
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
