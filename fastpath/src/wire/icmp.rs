//! ICMPv4 messages (RFC 792), with the router requirements of RFC 1812 section 4.3.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  rest of header: echo ident + seq, unused + next-hop MTU,     |
//! |  pointer + unused, or gateway address                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  data: echo payload, or the offending IP header + leading     |
//! |  payload bytes for error messages                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The checksum covers the whole ICMP message (header and data), RFC 792 "Checksum".

use core::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// ICMP message types (RFC 792; router messages RFC 1256).
pub mod msg_type {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Deprecated by RFC 6633, still an error type.
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const ROUTER_ADVERT: u8 = 9;
    pub const ROUTER_SOLICIT: u8 = 10;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;
    pub const TIMESTAMP: u8 = 13;
    pub const TIMESTAMP_REPLY: u8 = 14;
}

/// Destination Unreachable codes (RFC 792; RFC 1812 section 5.2.7.1).
pub mod unreach_code {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTO: u8 = 2;
    pub const PORT: u8 = 3;
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191).
    pub const FRAG_NEEDED: u8 = 4;
    pub const SOURCE_ROUTE_FAILED: u8 = 5;
    pub const NET_UNKNOWN: u8 = 6;
    pub const HOST_UNKNOWN: u8 = 7;
    pub const NET_PROHIBITED: u8 = 9;
    pub const HOST_PROHIBITED: u8 = 10;
    /// Communication administratively prohibited (RFC 1812 5.2.7.1).
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// Time Exceeded codes (RFC 792).
pub mod time_exceeded_code {
    /// TTL reached zero in transit (RFC 1812 5.3.1).
    pub const TTL: u8 = 0;
    pub const FRAG_REASSEMBLY: u8 = 1;
}

/// Parameter Problem codes (RFC 792; codes 1 and 2 from the IANA ICMP registry).
pub mod param_problem_code {
    /// The pointer (first byte of the rest of header) indicates the error.
    pub const POINTER: u8 = 0;
    pub const MISSING_OPTION: u8 = 1;
    pub const BAD_LENGTH: u8 = 2;
}

/// Redirect codes (RFC 792).
pub mod redirect_code {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const TOS_NET: u8 = 2;
    pub const TOS_HOST: u8 = 3;
}

/// True for ICMP error messages (Destination Unreachable, Source Quench, Redirect, Time
/// Exceeded, Parameter Problem): RFC 1812 section 4.3.2.7 forbids sending an ICMP error
/// about one of these. Unknown types are not errors. Linux `icmp_is_err()`.
pub const fn is_error(msg_type: u8) -> bool {
    matches!(
        msg_type,
        msg_type::DEST_UNREACHABLE
            | msg_type::SOURCE_QUENCH
            | msg_type::REDIRECT
            | msg_type::TIME_EXCEEDED
            | msg_type::PARAM_PROBLEM
    )
}

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const POINTER: usize = 4;
    pub const NEXT_HOP_MTU: usize = 6;
    pub const GATEWAY: Range<usize> = 4..8;
    pub const DATA: usize = 8;
}

/// A zero-copy view of an ICMPv4 message. The buffer is the whole message (an IP
/// payload, clamped to the total length): checksums cover all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Length of the fixed header (type, code, checksum, rest of header).
    pub const HEADER_LEN: usize = field::DATA;

    /// Wrap a buffer without checking its length. Accessors panic if it is shorter than
    /// [`Self::HEADER_LEN`]; use [`Self::new_checked`] for packet input.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wrap a buffer after [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Err(Truncated)` if the buffer is shorter than the 8-byte header. After `Ok`, no
    /// accessor panics.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type (see [`msg_type`]).
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Message code (see [`unreach_code`], [`time_exceeded_code`], ...).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field, as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Echo / echo reply identifier.
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo / echo reply sequence number.
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO)
    }

    /// Next-hop MTU of a Fragmentation Needed message (RFC 1191 section 4), bytes 6..8.
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// Pointer of a Parameter Problem message: offset of the offending octet in the
    /// quoted IP header (RFC 792).
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// Gateway address of a Redirect message (RFC 792).
    #[inline]
    pub fn gateway_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::GATEWAY];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// Bytes 4..8 as one word, whatever the type ("unused" must be zero in errors).
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST)
    }

    /// Everything after the 8-byte header (empty if the buffer is too short).
    #[inline]
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(field::DATA..).unwrap_or(&[])
    }

    /// True if the checksum over the whole buffer verifies. False for a buffer shorter
    /// than the header.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let data = self.buffer.as_ref();
        data.len() >= Self::HEADER_LEN && checksum::checksum(data) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Set the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Set the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Set the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT, value);
    }

    /// Set the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO, value);
    }

    /// Set the next-hop MTU (bytes 6..8; bytes 4..6 are left alone, set them to zero
    /// with [`Self::set_rest_of_header`] first).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::NEXT_HOP_MTU, value);
    }

    /// Set the Parameter Problem pointer (byte 4).
    #[inline]
    pub fn set_pointer(&mut self, value: u8) {
        self.buffer.as_mut()[field::POINTER] = value;
    }

    /// Set the Redirect gateway address.
    #[inline]
    pub fn set_gateway_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::GATEWAY].copy_from_slice(&addr.octets());
    }

    /// Set bytes 4..8 as one word.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::REST, value);
    }

    /// Everything after the header, mutable (empty if the buffer is too short).
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::DATA..)
            .unwrap_or(&mut [])
    }

    /// Compute the checksum over the whole buffer and store it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Icmpv4Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ECHO_REQUEST_FRAME;
    use super::*;

    #[test]
    fn parse_echo_request() {
        let p = Icmpv4Packet::new_checked(&ECHO_REQUEST_FRAME[34..]).unwrap();
        assert_eq!(p.msg_type(), msg_type::ECHO_REQUEST);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0xf3a1);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.rest_of_header(), 0x1234_0001);
        assert_eq!(p.data().len(), 56);
        assert_eq!(p.data()[..4], [0x65, 0x73, 0xa1, 0xb2]);
        assert!(p.verify_checksum());
        assert!(!is_error(p.msg_type()));
    }

    #[test]
    fn echo_request_to_reply() {
        let mut buf = [0u8; 64];
        buf.copy_from_slice(&ECHO_REQUEST_FRAME[34..]);
        let mut p = Icmpv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_msg_type(msg_type::ECHO_REPLY);
        p.fill_checksum();
        // Computed independently (Python).
        assert_eq!(p.checksum(), 0xfba1);
        assert!(p.verify_checksum());
        // The incremental way: the type/code word goes from 0x0800 to 0x0000.
        assert_eq!(checksum::update16(0xf3a1, 0x0800, 0x0000), 0xfba1);
    }

    #[test]
    fn build_time_exceeded() {
        // Time Exceeded quoting the echo request's IP header and first 8 ICMP bytes.
        let mut buf = [0xEEu8; 36];
        buf[8..].copy_from_slice(&ECHO_REQUEST_FRAME[14..42]);
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(msg_type::TIME_EXCEEDED);
        p.set_msg_code(time_exceeded_code::TTL);
        p.set_rest_of_header(0);
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xe728); // Python
        assert!(is_error(p.msg_type()));
        assert_eq!(buf[..8], [0x0b, 0x00, 0xe7, 0x28, 0, 0, 0, 0]);
    }

    #[test]
    fn build_frag_needed() {
        let mut buf = [0xEEu8; 36];
        buf[8..].copy_from_slice(&ECHO_REQUEST_FRAME[14..42]);
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(msg_type::DEST_UNREACHABLE);
        p.set_msg_code(unreach_code::FRAG_NEEDED);
        p.set_rest_of_header(0);
        p.set_next_hop_mtu(1400);
        p.fill_checksum();
        assert_eq!(p.next_hop_mtu(), 1400);
        assert_eq!(p.rest_of_header(), 0x0000_0578);
        assert_eq!(p.checksum(), 0xe9ac); // Python
        assert_eq!(p.data()[..2], [0x45, 0x00]);
    }

    #[test]
    fn other_rest_of_header_views() {
        let mut buf = [0u8; 8];
        let mut p = Icmpv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_gateway_addr(Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(p.gateway_addr(), Ipv4Addr::new(192, 0, 2, 254));
        p.set_pointer(9);
        p.set_echo_ident(0xaaaa);
        p.set_echo_seq_no(0xbbbb);
        p.set_checksum(0x1234);
        p.set_msg_code(param_problem_code::POINTER);
        assert_eq!(p.pointer(), 0xaa);
        assert!(p.data_mut().is_empty());
        assert_eq!(buf, [0, 0, 0x12, 0x34, 0xaa, 0xaa, 0xbb, 0xbb]);
    }

    #[test]
    fn truncated() {
        for len in 0..Icmpv4Packet::<&[u8]>::HEADER_LEN {
            let buf = &ECHO_REQUEST_FRAME[34..34 + len];
            assert_eq!(Icmpv4Packet::new_checked(buf), Err(Error::Truncated));
            assert!(!Icmpv4Packet::new_unchecked(buf).verify_checksum());
        }
    }

    #[test]
    fn error_types() {
        let errors: [u8; 5] = [3, 4, 5, 11, 12];
        for t in 0..=255u8 {
            assert_eq!(is_error(t), errors.contains(&t), "type {t}");
        }
    }
}
