//! Just enough of the transport layer for flow hashing: the port pair.
//!
//! TCP (RFC 9293 section 3.1) and UDP (RFC 768) both start with a 16-bit source port and
//! a 16-bit destination port. The router never parses further.

use super::ipv4::protocol;
use super::read_u16;

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
