//! Ethernet + IPv4 + UDP/TCP frames with correct checksums (RFC 791, 768, 793; the sum
//! of RFC 1071). Built here, independently of fastpath's own wire code.

use std::net::Ipv4Addr;

/// Ethernet header length.
pub const ETH_LEN: usize = 14;
/// IPv4 header length (no options).
pub const IP_LEN: usize = 20;
/// UDP header length.
pub const UDP_LEN: usize = 8;
/// TCP header length (no options).
pub const TCP_LEN: usize = 20;
/// Frame check sequence: counted in a frame's size on the wire, absent from pcap files.
pub const FCS_LEN: usize = 4;

/// Transport protocol of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// UDP (IP protocol 17).
    Udp,
    /// TCP (IP protocol 6), flags ACK|PSH, as mid-flow data segments.
    Tcp,
}

impl Proto {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Proto::Udp => 17,
            Proto::Tcp => 6,
        }
    }

    fn header_len(self) -> usize {
        match self {
            Proto::Udp => UDP_LEN,
            Proto::Tcp => TCP_LEN,
        }
    }
}

/// A flow's 5-tuple and the frame's L2 addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Destination MAC (the router's input port).
    pub dst_mac: [u8; 6],
    /// Source MAC (the sending host).
    pub src_mac: [u8; 6],
    /// IPv4 source.
    pub src: Ipv4Addr,
    /// IPv4 destination.
    pub dst: Ipv4Addr,
    /// L4 source port.
    pub sport: u16,
    /// L4 destination port.
    pub dport: u16,
    /// L4 protocol.
    pub proto: Proto,
}

/// Smallest frame (on the wire, FCS included) that holds the headers of `proto`
/// and is at least Ethernet's 64-byte minimum.
pub fn min_wire_size(proto: Proto) -> usize {
    (ETH_LEN + IP_LEN + proto.header_len() + FCS_LEN).max(64)
}

/// RFC 1071 one's-complement sum, folded, not inverted.
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum of `data` (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum16(data, 0))
}

/// Builds a frame of `wire_size` bytes on the wire (FCS included; the returned bytes
/// are `wire_size - 4`, as a capture stores them). `ident` goes into the IP ID and the
/// payload's first bytes. TTL 64, DF set, TOS 0.
pub fn build(flow: &Flow, wire_size: usize, ident: u32) -> Vec<u8> {
    assert!(
        wire_size >= min_wire_size(flow.proto),
        "frame of {wire_size} bytes is too small"
    );
    assert!(
        wire_size <= 1518,
        "frame of {wire_size} bytes is over the 1500-byte MTU"
    );
    let len = wire_size - FCS_LEN;
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&flow.dst_mac);
    f[6..12].copy_from_slice(&flow.src_mac);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());

    let ip_total = len - ETH_LEN;
    let ip = &mut f[ETH_LEN..ETH_LEN + IP_LEN];
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2..4].copy_from_slice(&(ip_total as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(ident as u16).to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF
    ip[8] = 64;
    ip[9] = flow.proto.number();
    ip[12..16].copy_from_slice(&flow.src.octets());
    ip[16..20].copy_from_slice(&flow.dst.octets());
    let c = checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());

    let l4_off = ETH_LEN + IP_LEN;
    let l4_len = len - l4_off;
    let hl = flow.proto.header_len();
    {
        let l4 = &mut f[l4_off..];
        l4[0..2].copy_from_slice(&flow.sport.to_be_bytes());
        l4[2..4].copy_from_slice(&flow.dport.to_be_bytes());
        match flow.proto {
            Proto::Udp => l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes()),
            Proto::Tcp => {
                l4[4..8].copy_from_slice(&ident.wrapping_mul(1460).to_be_bytes()); // seq
                l4[8..12].copy_from_slice(&1u32.to_be_bytes()); // ack
                l4[12] = 5 << 4; // data offset
                l4[13] = 0x18; // PSH|ACK
                l4[14..16].copy_from_slice(&65535u16.to_be_bytes()); // window
            }
        }
        // Payload: the ident, then a counting pattern.
        let payload = &mut l4[hl..];
        for (i, b) in payload.iter_mut().enumerate() {
            *b = if i < 4 {
                ident.to_be_bytes()[i]
            } else {
                i as u8
            };
        }
    }
    // L4 checksum over the pseudo-header and the segment.
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&flow.src.octets());
    pseudo[4..8].copy_from_slice(&flow.dst.octets());
    pseudo[9] = flow.proto.number();
    pseudo[10..12].copy_from_slice(&(l4_len as u16).to_be_bytes());
    let mut c = !fold(sum16(&f[l4_off..], sum16(&pseudo, 0)));
    if flow.proto == Proto::Udp && c == 0 {
        c = 0xffff; // RFC 768: a computed zero is sent as all ones
    }
    let at = l4_off + if flow.proto == Proto::Udp { 6 } else { 16 };
    f[at..at + 2].copy_from_slice(&c.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(proto: Proto) -> Flow {
        Flow {
            dst_mac: [2, 0, 0, 0, 0, 1],
            src_mac: [2, 0, 0, 0, 1, 2],
            src: Ipv4Addr::new(10, 0, 1, 2),
            dst: Ipv4Addr::new(1, 1, 1, 1),
            sport: 1024,
            dport: 53,
            proto,
        }
    }

    /// Verifying a checksum: the sum over the covered bytes, checksum included, is 0xffff.
    fn verifies(f: &[u8]) -> bool {
        let ip = &f[ETH_LEN..ETH_LEN + IP_LEN];
        let l4 = &f[ETH_LEN + IP_LEN..];
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&ip[12..16]);
        pseudo[4..8].copy_from_slice(&ip[16..20]);
        pseudo[9] = ip[9];
        pseudo[10..12].copy_from_slice(&(l4.len() as u16).to_be_bytes());
        fold(sum16(ip, 0)) == 0xffff && fold(sum16(l4, sum16(&pseudo, 0))) == 0xffff
    }

    #[test]
    fn sizes_and_checksums() {
        for proto in [Proto::Udp, Proto::Tcp] {
            for size in [64, 594, 1518] {
                let f = build(&flow(proto), size, 12345);
                assert_eq!(f.len(), size - 4);
                assert_eq!(u16::from_be_bytes([f[16], f[17]]) as usize, size - 4 - 14);
                assert_eq!(f[22], 64);
                assert!(verifies(&f), "{proto:?} {size}");
            }
        }
    }

    #[test]
    fn known_ip_checksum() {
        // The classic example header from RFC 1071 discussions (Wikipedia's IPv4 page).
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
    }
}
