//! ARP for IPv4 over Ethernet (RFC 826), the only combination a router port speaks.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Hardware type (1)        |     Protocol type (0x0800)    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HW len (6)   | Proto len (4) |          Operation            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Sender hardware address (6) ... | Sender protocol address (4)|
//! |  Target hardware address (6) ... | Target protocol address (4)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`ArpPacket::check_len`] rejects any other hardware/protocol combination as
//! `Malformed`, so after `new_checked` the fixed offsets below are the true ones.

use core::net::Ipv4Addr;

use super::{ethertype, read_u16, write_u16, Error, EthernetAddress, Result};

/// ARP operation codes (RFC 826).
pub mod op {
    pub const REQUEST: u16 = 1;
    pub const REPLY: u16 = 2;
}

/// Hardware type for Ethernet (RFC 826, IANA "Hardware Types").
pub const HTYPE_ETHERNET: u16 = 1;

mod field {
    use core::ops::Range;

    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
    pub const END: usize = 28;
}

/// A zero-copy view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn ipv4_at(data: &[u8], range: core::ops::Range<usize>) -> Ipv4Addr {
    let d = &data[range];
    Ipv4Addr::new(d[0], d[1], d[2], d[3])
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Length of an Ethernet/IPv4 ARP packet. Anything after it (Ethernet padding to
    /// 60 bytes) is ignored.
    pub const HEADER_LEN: usize = field::END;

    /// Wrap a buffer without checking it. Accessors panic if it is shorter than
    /// [`Self::HEADER_LEN`]; use [`Self::new_checked`] for packet input.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wrap a buffer after [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Err(Truncated)` if shorter than 28 bytes; `Err(Malformed)` unless hardware type
    /// is 1 (Ethernet), protocol type 0x0800 (IPv4), hardware length 6 and protocol
    /// length 4 (RFC 826: a receiver checks `ar$hrd`, `ar$pro` and the lengths first).
    /// After `Ok`, no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.hardware_type() != HTYPE_ETHERNET
            || self.protocol_type() != ethertype::IPV4
            || self.hardware_len() != 6
            || self.protocol_len() != 4
        {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (`ar$hrd`), 1 for Ethernet.
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    /// Protocol type (`ar$pro`), an EtherType: 0x0800 for IPv4.
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PTYPE)
    }

    /// Hardware address length (`ar$hln`), 6.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length (`ar$pln`), 4.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation (`ar$op`), see [`op`].
    #[inline]
    pub fn operation(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::OPER)
    }

    /// Sender hardware address (`ar$sha`).
    #[inline]
    pub fn sender_hw_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SHA])
    }

    /// Sender protocol address (`ar$spa`).
    #[inline]
    pub fn sender_proto_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::SPA)
    }

    /// Target hardware address (`ar$tha`); all zeros in a request.
    #[inline]
    pub fn target_hw_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::THA])
    }

    /// Target protocol address (`ar$tpa`).
    #[inline]
    pub fn target_proto_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Set the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE, value);
    }

    /// Set the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::PTYPE, value);
    }

    /// Set the hardware address length.
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Set the protocol address length.
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Write the four fixed fields for Ethernet/IPv4 (1, 0x0800, 6, 4).
    #[inline]
    pub fn set_ethernet_ipv4(&mut self) {
        self.set_hardware_type(HTYPE_ETHERNET);
        self.set_protocol_type(ethertype::IPV4);
        self.set_hardware_len(6);
        self.set_protocol_len(4);
    }

    /// Set the operation.
    #[inline]
    pub fn set_operation(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::OPER, value);
    }

    /// Set the sender hardware address.
    #[inline]
    pub fn set_sender_hw_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&addr.0);
    }

    /// Set the sender protocol address.
    #[inline]
    pub fn set_sender_proto_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    /// Set the target hardware address.
    #[inline]
    pub fn set_target_hw_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&addr.0);
    }

    /// Set the target protocol address.
    #[inline]
    pub fn set_target_proto_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for ArpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An Ethernet/IPv4 ARP message, for building requests and replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: u16,
    pub sender_hw_addr: EthernetAddress,
    pub sender_proto_addr: Ipv4Addr,
    pub target_hw_addr: EthernetAddress,
    pub target_proto_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Read a packet that passes [`ArpPacket::check_len`].
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_hw_addr: packet.sender_hw_addr(),
            sender_proto_addr: packet.sender_proto_addr(),
            target_hw_addr: packet.target_hw_addr(),
            target_proto_addr: packet.target_proto_addr(),
        })
    }

    /// The reply to this request from the owner of `target_proto_addr`, whose hardware
    /// address is `our_hw_addr` (RFC 826 "Packet Reception": swap sender and target,
    /// fill in our address, set the opcode to reply).
    pub const fn reply(&self, our_hw_addr: EthernetAddress) -> ArpRepr {
        ArpRepr {
            operation: op::REPLY,
            sender_hw_addr: our_hw_addr,
            sender_proto_addr: self.target_proto_addr,
            target_hw_addr: self.sender_hw_addr,
            target_proto_addr: self.sender_proto_addr,
        }
    }

    /// Length emitted: [`ArpPacket::HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        field::END
    }

    /// Write all 28 bytes.
    ///
    /// # Panics
    /// If the buffer is shorter than 28 bytes (the caller owns the output buffer).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_ethernet_ipv4();
        packet.set_operation(self.operation);
        packet.set_sender_hw_addr(self.sender_hw_addr);
        packet.set_sender_proto_addr(self.sender_proto_addr);
        packet.set_target_hw_addr(self.target_hw_addr);
        packet.set_target_proto_addr(self.target_proto_addr);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ARP_REQUEST_FRAME;
    use super::*;

    const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
    const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

    /// The reply 10.0.0.1 (02:00:00:00:00:01) sends to the fixture request.
    #[rustfmt::skip]
    const ARP_REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
    ];

    #[test]
    fn parse_request() {
        let p = ArpPacket::new_checked(&ARP_REQUEST_FRAME[14..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), op::REQUEST);
        assert_eq!(p.sender_hw_addr(), PEER_MAC);
        assert_eq!(p.sender_proto_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.target_hw_addr(), EthernetAddress([0; 6]));
        assert_eq!(p.target_proto_addr(), Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn build_reply() {
        let req =
            ArpRepr::parse(&ArpPacket::new_checked(&ARP_REQUEST_FRAME[14..]).unwrap()).unwrap();
        let reply = req.reply(OUR_MAC);
        let mut buf = [0xFFu8; 28];
        reply.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf, ARP_REPLY);
        assert_eq!(reply.buffer_len(), 28);
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..])),
            Ok(reply)
        );
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 28];
        let mut p = ArpPacket::new_unchecked(&mut buf[..]);
        p.set_ethernet_ipv4();
        p.set_operation(op::REPLY);
        p.set_sender_hw_addr(OUR_MAC);
        p.set_sender_proto_addr(Ipv4Addr::new(10, 0, 0, 1));
        p.set_target_hw_addr(PEER_MAC);
        p.set_target_proto_addr(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(buf, ARP_REPLY);
    }

    #[test]
    fn truncated_and_malformed() {
        let arp = &ARP_REQUEST_FRAME[14..];
        for len in 0..28 {
            assert_eq!(ArpPacket::new_checked(&arp[..len]), Err(Error::Truncated));
        }
        assert!(ArpPacket::new_checked(&arp[..28]).is_ok());
        for (at, value) in [(1, 6), (2, 0x86), (3, 0xdd), (4, 8), (5, 16)] {
            let mut bad = [0u8; 28];
            bad.copy_from_slice(&arp[..28]);
            bad[at] = value;
            assert_eq!(
                ArpPacket::new_checked(&bad[..]),
                Err(Error::Malformed),
                "byte {at}"
            );
            assert_eq!(
                ArpRepr::parse(&ArpPacket::new_unchecked(&bad[..])),
                Err(Error::Malformed)
            );
        }
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&arp[..3])),
            Err(Error::Truncated)
        );
    }
}
