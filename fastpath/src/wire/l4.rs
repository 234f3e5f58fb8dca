//! Just enough of the transport layer for flow hashing (the port pair) and for refusing
//! what is addressed to us as Linux does without a listener: the UDP and TCP header
//! fields, their pseudo-header checksum (RFC 768, RFC 9293 section 3.1).
//!
//! TCP and UDP both start with a 16-bit source port and a 16-bit destination port.

use super::checksum;
use super::ipv4::protocol;
use super::read_u16;
use std::net::Ipv4Addr;

/// UDP header length (RFC 768).
pub const UDP_HEADER_LEN: usize = 8;
/// TCP header length without options (RFC 9293 section 3.1).
pub const TCP_MIN_HEADER_LEN: usize = 20;

/// Byte offsets of the UDP header.
pub mod udp_field {
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// Byte offsets of the TCP header.
pub mod tcp_field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    /// Data offset in the high nibble.
    pub const DOFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// TCP flag bits (byte 13).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// Ones'-complement sum of the IPv4 pseudo-header of a `len`-byte segment.
pub fn pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u32 {
    let mut ph = [0u8; 12];
    ph[0..4].copy_from_slice(&src.octets());
    ph[4..8].copy_from_slice(&dst.octets());
    ph[9] = proto;
    ph[10..12].copy_from_slice(&(len as u16).to_be_bytes());
    checksum::sum(&ph)
}

/// Whether the checksum of segment `seg` (header and data) is right.
pub fn checksum_ok(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8]) -> bool {
    checksum::fold(pseudo_sum(src, dst, proto, seg.len()) + checksum::sum(seg)) == 0xffff
}

/// The checksum to store in segment `seg`, whose checksum field is zero.
pub fn checksum_of(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8]) -> u16 {
    !checksum::fold(pseudo_sum(src, dst, proto, seg.len()) + checksum::sum(seg))
}

/// `(source port, destination port)` of a TCP or UDP header at the start of `l4`, or
/// `None` for other protocols or fewer than 4 bytes.
///
/// Only meaningful for the first fragment: the caller must not call it on an IPv4
/// fragment with a non-zero offset, whose payload is not a transport header (hash on
/// addresses and protocol alone there, as Linux `flow_dissector` does).
#[inline]
pub fn ports(protocol: u8, l4: &[u8]) -> Option<(u16, u16)> {
    match protocol {
        protocol::TCP | protocol::UDP if l4.len() >= 4 => Some((read_u16(l4, 0), read_u16(l4, 2))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_udp_ports() {
        // UDP 53124 -> 53 (DNS query), header only.
        let udp = [0xcf, 0x84, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00];
        assert_eq!(ports(protocol::UDP, &udp), Some((53124, 53)));
        // TCP 443 -> 50000, truncated right after the ports.
        let tcp = [0x01, 0xbb, 0xc3, 0x50];
        assert_eq!(ports(protocol::TCP, &tcp), Some((443, 50000)));
    }

    #[test]
    fn not_ports() {
        let bytes = [0x01, 0xbb, 0xc3, 0x50];
        assert_eq!(ports(protocol::ICMP, &bytes), None);
        assert_eq!(ports(132, &bytes), None);
        for len in 0..4 {
            assert_eq!(ports(protocol::TCP, &bytes[..len]), None);
            assert_eq!(ports(protocol::UDP, &bytes[..len]), None);
        }
    }
}
