//! Wire formats: zero-copy views over packet bytes, and the checksums they need.
//!
//! Every header is a view `Xxx<T: AsRef<[u8]>>` over a byte buffer (an mbuf's data, a
//! test array), in the style of smoltcp's `wire` module:
//!
//! * field offsets live in a private `mod field { ... }` per file;
//! * `new_unchecked` wraps any buffer; `new_checked` (= `new_unchecked` + `check_len`)
//!   proves once that every accessor of the fixed header is in bounds, so accessors
//!   never panic afterwards. Variable parts (`payload()`, IPv4 `options()`) are clamped
//!   to the buffer, so they never panic either;
//! * getters sit on `impl<T: AsRef<[u8]>>`, setters on `impl<T: AsMut<[u8]>>`; the hot
//!   path edits headers in place through the view (e.g. [`Ipv4Packet::decrement_ttl`]);
//! * a small `Copy` `Repr` with `parse`/`emit` exists where building packets needs it.
//!
//! Nothing here allocates, locks, or uses `unsafe`; malformed input yields an `Err`,
//! never a panic.
//!
//! # Map
//!
//! | file          | job                                                                   |
//! |---------------|-----------------------------------------------------------------------|
//! | `mod.rs`      | [`Error`], [`EthernetAddress`], re-exports                            |
//! | `checksum.rs` | RFC 1071 Internet checksum, RFC 1624 incremental update               |
//! | `ethernet.rs` | [`EthernetFrame`] (IEEE 802.3 / Ethernet II), [`ethertype`]           |
//! | `arp.rs`      | [`ArpPacket`] for Ethernet/IPv4 ARP (RFC 826), [`arp::op`]            |
//! | `ipv4.rs`     | [`Ipv4Packet`] (RFC 791), RFC 1812 5.2.2 header checks, TTL decrement |
//! | `ipv4/options.rs` | [`scan_options`]: Linux's receive checks of IPv4 options; [`fragment_options`] |
//! | `icmp.rs`     | [`Icmpv4Packet`] (RFC 792), message types and codes                   |
//! | `l4.rs`       | [`l4::ports`]: TCP/UDP ports for flow hashing                         |
//!
//! # Glossary (kernel term -> Rust type -> file)
//!
//! | kernel                      | here                              | file          |
//! |-----------------------------|-----------------------------------|---------------|
//! | `struct ethhdr`             | [`EthernetFrame`]                 | `ethernet.rs` |
//! | `struct arphdr`             | [`ArpPacket`]                     | `arp.rs`      |
//! | `struct iphdr`              | [`Ipv4Packet`]                    | `ipv4.rs`     |
//! | `ip_rcv_core()` checks      | [`Ipv4Packet::check_header`]      | `ipv4.rs`     |
//! | `ip_decrease_ttl()`         | [`Ipv4Packet::decrement_ttl`]     | `ipv4.rs`     |
//! | `__ip_options_compile()`    | [`scan_options`] (checks only)    | `ipv4/options.rs` |
//! | `ip_options_fragment()`     | [`fragment_options`]              | `ipv4/options.rs` |
//! | `struct icmphdr`            | [`Icmpv4Packet`]                  | `icmp.rs`     |
//! | `icmp_is_err()`             | [`icmp::is_error`]                | `icmp.rs`     |
//! | `csum_partial()`            | [`checksum::sum`]                 | `checksum.rs` |
//! | `csum_fold()`               | [`checksum::fold`]                | `checksum.rs` |
//! | `csum_replace2/4()`         | [`checksum::update16`]/[`checksum::update32`] | `checksum.rs` |

#![forbid(unsafe_code)]

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmp;
pub mod ipv4;
pub mod l4;

pub use self::arp::{ArpPacket, ArpRepr};
pub use self::ethernet::{ethertype, EthernetFrame, EthernetRepr};
pub use self::icmp::Icmpv4Packet;
pub use self::ipv4::{
    fragment_options, scan_options, Ipv4Error, Ipv4Packet, Ipv4Repr, OptionsError, OptionsSummary,
};

/// Why a view could not be built or a `Repr` parsed.
///
/// Deliberately tiny and `Copy`: the fast path maps it onto a drop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header (or a length field) says it must be.
    Truncated,
    /// A field holds a value this parser does not accept.
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
        })
    }
}

impl std::error::Error for Error {}

/// Result of the wire layer.
pub type Result<T> = core::result::Result<T, Error>;

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Build an address from the first six bytes of `data`.
    ///
    /// # Panics
    /// If `data` is shorter than six bytes; views only call it on checked ranges.
    pub fn from_bytes(data: &[u8]) -> EthernetAddress {
        let mut bytes = [0; 6];
        bytes.copy_from_slice(&data[..6]);
        EthernetAddress(bytes)
    }

    /// The six octets, in transmission order.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// All ones.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The I/G bit (least significant bit of the first octet) is set. Broadcast counts as
    /// multicast, as in IEEE 802.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Neither multicast nor broadcast.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// The U/L bit (second least significant bit of the first octet) is set.
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(bytes: [u8; 6]) -> Self {
        EthernetAddress(bytes)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Read a big-endian `u16` at `data[at..at + 2]`. Panics only if out of bounds, which
/// the views rule out in `check_len`.
#[inline]
pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Write a big-endian `u16` at `data[at..at + 2]`.
#[inline]
pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Read a big-endian `u32` at `data[at..at + 4]`.
#[inline]
pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Write a big-endian `u32` at `data[at..at + 4]`.
#[inline]
pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::ipv4::protocol as ip_proto;
    use super::*;

    /// Tiny xorshift64* PRNG for tests (no dependencies).
    pub(crate) struct XorShift(pub u64);

    impl XorShift {
        pub(crate) fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
        pub(crate) fn fill(&mut self, buf: &mut [u8]) {
            for b in buf {
                *b = self.next_u64() as u8;
            }
        }
    }

    /// `ping -c1 10.0.1.2` from 10.0.0.2 as it arrives on the router's port
    /// 02:00:00:00:00:01: Ethernet II + IPv4 (20 bytes, DF, TTL 64, checksum 0x0960) +
    /// ICMP echo request (id 0x1234, seq 1, 56 data bytes, checksum 0xf3a1).
    /// Checksums computed once with an independent Python script.
    #[rustfmt::skip]
    pub(crate) const ECHO_REQUEST_FRAME: [u8; 98] = [
        // Ethernet: dst, src, ethertype IPv4
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
        // IPv4 @14: 45 00 | len 84 | id 1c46 | DF | ttl 64 | icmp | ck 0960 | src | dst
        0x45, 0x00, 0x00, 0x54, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x09, 0x60,
        0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x01, 0x02,
        // ICMP @34: type 8 code 0 | ck f3a1 | id 1234 | seq 0001 | data
        0x08, 0x00, 0xf3, 0xa1, 0x12, 0x34, 0x00, 0x01,
        0x65, 0x73, 0xa1, 0xb2, 0x00, 0x00, 0x00, 0x00, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
        0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
        0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
        0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// "Who has 10.0.0.1? Tell 10.0.0.2", broadcast, padded to the 60-byte minimum.
    #[rustfmt::skip]
    pub(crate) const ARP_REQUEST_FRAME: [u8; 60] = [
        // Ethernet: dst broadcast, src, ethertype ARP
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
        // ARP @14: htype 1 | ptype 0800 | hlen 6 | plen 4 | op 1 (request)
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        // sha 02:00:00:00:00:02, spa 10.0.0.2, tha 00:..:00, tpa 10.0.0.1
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01,
        // Ethernet padding
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    /// Touch every accessor of every checked view that builds over `frame`; the point
    /// is that nothing panics, whatever the length.
    fn walk_frame(frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            assert!(frame.len() < EthernetFrame::<&[u8]>::HEADER_LEN);
            return;
        };
        let _ = (eth.dst_addr(), eth.src_addr(), eth.ethertype());
        let l3 = eth.payload();
        let l3_len = l3.len();

        if let Ok(arp) = ArpPacket::new_checked(l3) {
            let _ = (
                arp.operation(),
                arp.sender_hw_addr(),
                arp.sender_proto_addr(),
            );
            let _ = (
                arp.target_hw_addr(),
                arp.target_proto_addr(),
                ArpRepr::parse(&arp),
            );
        }

        let unchecked = Ipv4Packet::new_unchecked(l3);
        let header = unchecked.check_header(l3_len);
        let _ = unchecked.verify_checksum();
        if let Ok(ip) = Ipv4Packet::new_checked(l3) {
            let _ = (
                ip.version(),
                ip.header_len(),
                ip.dscp_ecn(),
                ip.total_len(),
                ip.ident(),
            );
            let _ = (ip.dont_frag(), ip.more_frags(), ip.frag_offset(), ip.ttl());
            let _ = (ip.protocol(), ip.checksum(), ip.src_addr(), ip.dst_addr());
            let _ = (ip.options(), ip.scan_options(), ip.verify_checksum());
            let _ = Ipv4Repr::parse(&ip);
            let l4 = ip.payload();
            let _ = l4::ports(ip.protocol(), l4);
            let _ = l4::ports(ip_proto::UDP, l4);
            if let Ok(icmp) = Icmpv4Packet::new_checked(l4) {
                let _ = (icmp.msg_type(), icmp.msg_code(), icmp.checksum());
                let _ = (icmp.echo_ident(), icmp.echo_seq_no(), icmp.next_hop_mtu());
                let _ = (icmp.rest_of_header(), icmp.pointer(), icmp.gateway_addr());
                let _ = (icmp.data(), icmp.verify_checksum());
            }
            // The same views over a mutable copy, including the in-place edits.
            let mut copy = [0u8; 128];
            copy[..l3_len].copy_from_slice(l3);
            let mut ip = Ipv4Packet::new_checked(&mut copy[..l3_len]).unwrap();
            ip.decrement_ttl();
            ip.fill_checksum();
            let _ = (ip.options_mut().len(), ip.payload_mut().len());
        } else {
            assert!(header.is_err());
        }
    }

    #[test]
    fn every_prefix_of_fixtures_is_safe() {
        for n in 0..=ECHO_REQUEST_FRAME.len() {
            let prefix = &ECHO_REQUEST_FRAME[..n];
            walk_frame(prefix);
            // Layer by layer, the checked constructors say exactly when a prefix suffices.
            assert_eq!(EthernetFrame::new_checked(prefix).is_ok(), n >= 14);
            let l3 = prefix.get(14..).unwrap_or(&[]);
            assert_eq!(Ipv4Packet::new_checked(l3).is_ok(), n >= 34);
            let expected = match n {
                _ if n < 34 => Err(Ipv4Error::Truncated),
                _ if n < 98 => Err(Ipv4Error::BadTotalLength),
                _ => Ok(()),
            };
            assert_eq!(
                Ipv4Packet::new_unchecked(l3).check_header(l3.len()),
                expected,
                "n {n}"
            );
            let l4 = prefix.get(34..).unwrap_or(&[]);
            assert_eq!(Icmpv4Packet::new_checked(l4).is_ok(), n >= 42);
            assert_eq!(Icmpv4Packet::new_unchecked(l4).verify_checksum(), n == 98);
        }
        for n in 0..=ARP_REQUEST_FRAME.len() {
            let prefix = &ARP_REQUEST_FRAME[..n];
            walk_frame(prefix);
            let l3 = prefix.get(14..).unwrap_or(&[]);
            assert_eq!(ArpPacket::new_checked(l3).is_ok(), n >= 42);
        }
    }

    #[test]
    fn random_frames_are_safe() {
        let mut rng = XorShift(7);
        let mut frame = [0u8; 128];
        for _ in 0..20_000 {
            rng.fill(&mut frame);
            // Bias towards plausible headers so the deeper layers get exercised.
            frame[12..14].copy_from_slice(&[0x08, if rng.below(4) == 0 { 0x06 } else { 0x00 }]);
            if rng.below(2) == 0 {
                frame[14] = 0x45;
                frame[23] = [1, 6, 17][rng.below(3)];
            }
            if rng.below(2) == 0 {
                frame[14..20].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04]);
            }
            walk_frame(&frame[..rng.below(frame.len() + 1)]);
        }
    }

    #[test]
    fn ethernet_address_display_and_classes() {
        let a = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
        assert_eq!(format!("{a}"), "02:00:00:00:00:01");
        assert_eq!(format!("{a:?}"), "02:00:00:00:00:01");
        assert!(a.is_unicast() && a.is_local() && !a.is_multicast() && !a.is_broadcast());

        let b = EthernetAddress::BROADCAST;
        assert_eq!(b.to_string(), "ff:ff:ff:ff:ff:ff");
        assert!(b.is_broadcast() && b.is_multicast() && !b.is_unicast());

        let m = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
        assert!(m.is_multicast() && !m.is_broadcast() && !m.is_unicast());

        assert_eq!(EthernetAddress::default(), EthernetAddress([0; 6]));
        assert_eq!(
            EthernetAddress::from_bytes(&[1, 2, 3, 4, 5, 6, 7]).0,
            [1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn error_display() {
        assert_eq!(Error::Truncated.to_string(), "truncated packet");
        assert_eq!(Error::Malformed.to_string(), "malformed packet");
    }
}
