//! IPv4 headers (RFC 791 section 3.1) and what a router does to them: the receive checks
//! of RFC 1812 section 5.2.2 ([`Ipv4Packet::check_header`]), the TTL decrement with an
//! RFC 1624 incremental checksum update ([`Ipv4Packet::decrement_ttl`]), and the checks
//! Linux applies to received options ([`scan_options`]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |0|D|M|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (IHL > 5)          |    Padding    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;
use core::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, write_u16, Error, Result};

mod options;
pub use self::options::{
    forward_options, fragment_options, option_type, scan_options, OptionsError, OptionsSummary,
    Recorded,
};

/// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
pub mod protocol {
    /// Internet Control Message Protocol (RFC 792).
    pub const ICMP: u8 = 1;
    /// Transmission Control Protocol (RFC 9293).
    pub const TCP: u8 = 6;
    /// User Datagram Protocol (RFC 768).
    pub const UDP: u8 = 17;
}

mod field {
    use core::ops::Range;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
    pub const OPTIONS: usize = 20;

    /// Flags and fragment offset share the 16-bit word at `FLG_OFF`.
    pub const FLAG_DF: u16 = 0x4000;
    pub const FLAG_MF: u16 = 0x2000;
    pub const OFFSET_MASK: u16 = 0x1FFF;
}

/// Why [`Ipv4Packet::check_header`] rejected a header, one variant per drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Error {
    /// Fewer than 20 bytes (RFC 1812 5.2.2 check 1).
    Truncated,
    /// Version is not 4 (check 3).
    BadVersion,
    /// IHL below 5, or the header it announces is longer than the bytes available
    /// (check 4).
    BadIhl,
    /// Total length below the header length, or above the bytes the link layer
    /// delivered (check 5).
    BadTotalLength,
    /// The header checksum does not verify (check 2).
    BadChecksum,
}

impl fmt::Display for Ipv4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ipv4Error::Truncated => "IPv4 packet shorter than 20 bytes",
            Ipv4Error::BadVersion => "IP version is not 4",
            Ipv4Error::BadIhl => "IPv4 header length below 20 or beyond the packet",
            Ipv4Error::BadTotalLength => "IPv4 total length below header length or beyond frame",
            Ipv4Error::BadChecksum => "IPv4 header checksum mismatch",
        })
    }
}

impl std::error::Error for Ipv4Error {}

impl From<Ipv4Error> for Error {
    fn from(e: Ipv4Error) -> Error {
        match e {
            Ipv4Error::Truncated => Error::Truncated,
            _ => Error::Malformed,
        }
    }
}

/// A zero-copy view of an IPv4 packet (header, options, payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Length of a header without options (IHL = 5).
    pub const MIN_HEADER_LEN: usize = field::OPTIONS;
    /// Length of a header with the most options (IHL = 15).
    pub const MAX_HEADER_LEN: usize = 60;

    /// Wrap a buffer without checking it. Fixed-field accessors panic if it is shorter
    /// than 20 bytes; use [`Self::new_checked`] for packet input.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wrap a buffer after [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Check that the fixed header and the options the IHL announces are in the buffer:
    /// `Truncated` if the buffer is shorter than 20 bytes or than the header length,
    /// `Malformed` if IHL < 5. After `Ok`, no accessor panics.
    ///
    /// It checks neither version, total length nor checksum: that is
    /// [`Self::check_header`], which names each failure for the drop counters.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < Self::MIN_HEADER_LEN {
            Err(Error::Malformed)
        } else if header_len > len {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The receive checks of RFC 1812 section 5.2.2, as Linux `ip_rcv_core()` applies
    /// them, returning the first failure in this order:
    ///
    /// 1. [`Ipv4Error::Truncated`]: fewer than 20 bytes;
    /// 2. [`Ipv4Error::BadVersion`]: version != 4;
    /// 3. [`Ipv4Error::BadIhl`]: IHL < 5, or header longer than the bytes available;
    /// 4. [`Ipv4Error::BadTotalLength`]: total length < header length, or >
    ///    `frame_payload_len`;
    /// 5. [`Ipv4Error::BadChecksum`].
    ///
    /// The order deliberately checks lengths before the checksum (RFC 1812 lists the
    /// checksum second, Linux checks it after IHL but before total length): all lengths
    /// are settled before any byte is summed. Only the counter charged for a packet with
    /// several faults differs.
    ///
    /// `frame_payload_len` is the number of bytes the link layer delivered after its own
    /// header (e.g. mbuf packet length - 14); it may be larger than `total_len`
    /// (Ethernet padding) and larger than this view's buffer (multi-segment mbufs), but
    /// the IP header itself must be in the buffer. Never panics, even on a view made with
    /// [`Self::new_unchecked`] over a short buffer.
    pub fn check_header(&self, frame_payload_len: usize) -> core::result::Result<(), Ipv4Error> {
        let data = self.buffer.as_ref();
        if frame_payload_len < Self::MIN_HEADER_LEN || data.len() < Self::MIN_HEADER_LEN {
            return Err(Ipv4Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Ipv4Error::BadVersion);
        }
        let header_len = self.header_len();
        if header_len < Self::MIN_HEADER_LEN || header_len > frame_payload_len.min(data.len()) {
            return Err(Ipv4Error::BadIhl);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len || total_len > frame_payload_len {
            return Err(Ipv4Error::BadTotalLength);
        }
        if checksum::checksum(&data[..header_len]) != 0 {
            return Err(Ipv4Error::BadChecksum);
        }
        Ok(())
    }

    /// Version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included: 0..=60.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0F) * 4
    }

    /// The second octet: DSCP (6 bits) and ECN (2 bits) (RFC 2474, RFC 3168).
    #[inline]
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Same as [`Self::dscp_ecn`], under its RFC 791 name.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.dscp_ecn()
    }

    /// Differentiated services code point (RFC 2474).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.dscp_ecn() >> 2
    }

    /// Explicit congestion notification bits (RFC 3168).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.dscp_ecn() & 0x03
    }

    /// Total length of the datagram, header included, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT)
    }

    /// Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & field::FLAG_DF != 0
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & field::FLAG_MF != 0
    }

    /// Fragment offset **in bytes** (the 13-bit field times 8): 0..=65528.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (read_u16(self.buffer.as_ref(), field::FLG_OFF) & field::OFFSET_MASK) << 3
    }

    /// True for any fragment, first or not (MF set or offset non-zero).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        read_u16(self.buffer.as_ref(), field::FLG_OFF) & (field::FLAG_MF | field::OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload (see [`protocol`]).
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    /// Header checksum field, as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(d[0], d[1], d[2], d[3])
    }

    /// The options area, bytes 20..header_len, clamped to the buffer (empty if IHL <= 5).
    #[inline]
    pub fn options(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = self.header_len().min(data.len());
        data.get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// [`scan_options`] over [`Self::options`]: `Err` carries the parameter problem's
    /// pointer (an offset from the start of this header).
    pub fn scan_options(&self) -> core::result::Result<OptionsSummary, OptionsError> {
        scan_options(self.options())
    }

    /// True if the checksum over the `header_len` header bytes verifies. False if the
    /// header length is below 20 or beyond the buffer. Never panics, even unchecked.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let data = self.buffer.as_ref();
        let Some(&ver_ihl) = data.first() else {
            return false;
        };
        let header_len = usize::from(ver_ihl & 0x0F) * 4;
        match data.get(..header_len) {
            Some(header) if header_len >= Self::MIN_HEADER_LEN => checksum::checksum(header) == 0,
            _ => false,
        }
    }

    /// The payload: bytes `header_len..total_len`, clamped to the buffer (so Ethernet
    /// padding is excluded and a lying total length cannot make it panic).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(data.len());
        data.get(self.header_len()..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Set the version field.
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0F) | (value << 4);
    }

    /// Set the header length, in bytes (stored as `value / 4`; must be a multiple of 4
    /// in 20..=60 to make sense).
    #[inline]
    pub fn set_header_len(&mut self, value: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xF0) | ((value / 4) as u8 & 0x0F);
    }

    /// Set the DSCP/ECN octet.
    #[inline]
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Same as [`Self::set_dscp_ecn`].
    #[inline]
    pub fn set_tos(&mut self, value: u8) {
        self.set_dscp_ecn(value);
    }

    /// Set the total length, in bytes.
    #[inline]
    pub fn set_total_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, value);
    }

    /// Set the identification.
    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT, value);
    }

    fn update_flg_off(&mut self, f: impl FnOnce(u16) -> u16) {
        let data = self.buffer.as_mut();
        let word = read_u16(data, field::FLG_OFF);
        write_u16(data, field::FLG_OFF, f(word));
    }

    /// Clear the three flag bits (reserved, DF, MF), keeping the offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        self.update_flg_off(|w| w & field::OFFSET_MASK);
    }

    /// Set or clear Don't Fragment.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.update_flg_off(|w| {
            if value {
                w | field::FLAG_DF
            } else {
                w & !field::FLAG_DF
            }
        });
    }

    /// Set or clear More Fragments.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.update_flg_off(|w| {
            if value {
                w | field::FLAG_MF
            } else {
                w & !field::FLAG_MF
            }
        });
    }

    /// Set the fragment offset, **in bytes** (stored as `value / 8`; the low three bits
    /// are dropped).
    #[inline]
    pub fn set_frag_offset(&mut self, value: u16) {
        self.update_flg_off(|w| (w & !field::OFFSET_MASK) | (value >> 3));
    }

    /// Set the TTL (the checksum is not updated: see [`Self::decrement_ttl`]).
    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Set the protocol.
    #[inline]
    pub fn set_protocol(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Set the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Set the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The options area, mutable, clamped as in [`Self::options`].
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len().min(self.buffer.as_ref().len());
        self.buffer
            .as_mut()
            .get_mut(field::OPTIONS..end)
            .unwrap_or(&mut [])
    }

    /// The payload, mutable, clamped as in [`Self::payload`].
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        self.buffer.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }

    /// Compute the header checksum over `header_len` bytes (clamped to the buffer) and
    /// store it (RFC 791 section 3.1).
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len().min(self.buffer.as_ref().len());
        let sum = checksum::checksum(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(sum);
    }

    /// Decrement the TTL by one and patch the checksum incrementally (RFC 1812 section
    /// 5.3.1; RFC 1624), as the kernel's `ip_decrease_ttl()`:
    ///
    /// ```text
    /// check += htons(0x0100); check += (check >= 0xFFFF);   // then --ttl
    /// ```
    ///
    /// TTL is the high byte of the 16-bit word at offset 8, so the word drops by 0x0100
    /// and the (complemented) checksum rises by 0x0100, with the end-around carry. The
    /// result is bit-identical to [`Self::fill_checksum`] (0xFEFF becomes 0x0000, never
    /// the negative zero 0xFFFF) as long as the stored checksum was correct.
    ///
    /// The caller must have dropped packets with TTL <= 1 first (and sent Time
    /// Exceeded); on a TTL of 0 this does nothing, so it can never wrap to 255.
    #[inline]
    pub fn decrement_ttl(&mut self) {
        let data = self.buffer.as_mut();
        let ttl = data[field::TTL];
        if ttl == 0 {
            return;
        }
        data[field::TTL] = ttl - 1;
        let check = u32::from(read_u16(data, field::CHECKSUM)) + 0x0100;
        let check = check + u32::from(check >= 0xFFFF);
        write_u16(data, field::CHECKSUM, check as u16);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Ipv4Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of an unfragmented IPv4 header without options, for building packets
/// (ICMP errors and replies originated by the router).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: u8,
    /// Payload length in bytes (total length - 20).
    pub payload_len: usize,
    pub ttl: u8,
    /// DSCP/ECN octet.
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
}

impl Ipv4Repr {
    /// Read a header that passes [`Ipv4Packet::check_header`] (with the buffer length as
    /// the frame length). Options are skipped (`payload_len` excludes them); fragments
    /// are `Malformed` since this struct cannot describe them.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr> {
        packet.check_header(packet.buffer.as_ref().len())?;
        if packet.is_fragment() {
            return Err(Error::Malformed);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// Header length emitted: always 20.
    pub const fn buffer_len(&self) -> usize {
        field::OPTIONS
    }

    /// Write a 20-byte header (IHL 5, no fragmentation, the given DF) with a correct
    /// checksum. The payload is not touched. A `payload_len` above 65515 is clamped to
    /// a total length of 65535; the caller sizes its payload.
    ///
    /// # Panics
    /// If the packet's buffer is shorter than 20 bytes (the caller owns the output
    /// buffer).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total_len = u16::try_from(field::OPTIONS + self.payload_len).unwrap_or(u16::MAX);
        packet.set_version(4);
        packet.set_header_len(field::OPTIONS);
        packet.set_dscp_ecn(self.tos);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        packet.update_flg_off(|_| 0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{XorShift, ECHO_REQUEST_FRAME};
    use super::*;

    fn echo_ip() -> [u8; 84] {
        let mut ip = [0u8; 84];
        ip.copy_from_slice(&ECHO_REQUEST_FRAME[14..]);
        ip
    }

    /// Textbook header (Wikipedia "IPv4 header checksum"): UDP, 192.168.0.1 ->
    /// 192.168.0.199, total length 115, checksum 0xb861.
    #[rustfmt::skip]
    const TEXTBOOK_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
        0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    #[test]
    fn parse_echo_request() {
        let ip = echo_ip();
        let p = Ipv4Packet::new_checked(&ip[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.tos(), 0);
        assert_eq!(p.total_len(), 84);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), protocol::ICMP);
        assert_eq!(p.checksum(), 0x0960);
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 1, 2));
        assert!(p.options().is_empty());
        assert_eq!(p.scan_options(), Ok(OptionsSummary::default()));
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 64);
        assert_eq!(p.payload()[..4], [0x08, 0x00, 0xf3, 0xa1]);
        assert_eq!(p.check_header(84), Ok(()));
        // Ethernet padding after the datagram is accepted and excluded from payload().
        let mut padded = [0u8; 100];
        padded[..84].copy_from_slice(&ip);
        let p = Ipv4Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.check_header(100), Ok(()));
        assert_eq!(p.payload().len(), 64);
    }

    #[test]
    fn parse_textbook_header() {
        let p = Ipv4Packet::new_checked(&TEXTBOOK_HEADER[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.total_len(), 115);
        assert_eq!(p.protocol(), protocol::UDP);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 168, 0, 199));
        // Only the header is here: total length runs past the bytes we have.
        assert_eq!(p.check_header(20), Err(Ipv4Error::BadTotalLength));
        assert_eq!(p.check_header(115), Ok(()));
        assert!(p.payload().is_empty());
    }

    #[test]
    fn check_len_errors() {
        let ip = echo_ip();
        assert_eq!(Ipv4Packet::new_checked(&ip[..19]), Err(Error::Truncated));
        let mut bad = ip;
        bad[0] = 0x44; // IHL 4
        assert_eq!(Ipv4Packet::new_checked(&bad[..]), Err(Error::Malformed));
        bad[0] = 0x46; // IHL 6 but only 20 bytes
        assert_eq!(Ipv4Packet::new_checked(&bad[..20]), Err(Error::Truncated));
        assert!(Ipv4Packet::new_checked(&bad[..24]).is_ok());
    }

    #[test]
    fn check_header_each_error_and_order() {
        let ip = echo_ip();
        let check = |b: &[u8], n: usize| Ipv4Packet::new_unchecked(b).check_header(n);

        assert_eq!(check(&ip[..19], 84), Err(Ipv4Error::Truncated));
        assert_eq!(check(&ip, 19), Err(Ipv4Error::Truncated));
        assert_eq!(check(&[], 0), Err(Ipv4Error::Truncated));

        let mut b = ip;
        b[0] = 0x65; // version 6
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadVersion));
        b[0] = 0x63; // version 6 and IHL 3: version first
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadVersion));

        let mut b = ip;
        b[0] = 0x44; // IHL 4
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadIhl));
        b[0] = 0x4f; // IHL 15 = 60 bytes, more than the 24 available
        assert_eq!(check(&b[..24], 24), Err(Ipv4Error::BadIhl));
        b[2] = 0; // and a bad total length: IHL first
        b[3] = 0;
        assert_eq!(check(&b[..24], 24), Err(Ipv4Error::BadIhl));

        let mut b = ip;
        b[3] = 19; // total length < header length
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadTotalLength));
        b[3] = 85; // total length > frame
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadTotalLength));
        b[11] ^= 1; // and a bad checksum: total length first
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadTotalLength));

        let mut b = ip;
        b[11] ^= 1;
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadChecksum));
        let mut b = ip;
        b[8] = 63; // TTL changed without updating the checksum
        assert_eq!(check(&b, 84), Err(Ipv4Error::BadChecksum));

        assert_eq!(Error::from(Ipv4Error::Truncated), Error::Truncated);
        assert_eq!(Error::from(Ipv4Error::BadChecksum), Error::Malformed);
        assert_eq!(
            Ipv4Error::BadIhl.to_string(),
            "IPv4 header length below 20 or beyond the packet"
        );
    }

    #[test]
    fn decrement_ttl_fixture() {
        let mut ip = echo_ip();
        let mut p = Ipv4Packet::new_checked(&mut ip[..]).unwrap();
        p.decrement_ttl();
        assert_eq!(p.ttl(), 63);
        // Computed independently (Python) over the header with TTL 63.
        assert_eq!(p.checksum(), 0x0a60);
        assert!(p.verify_checksum());
        assert_eq!(ip[8..12], [0x3f, 0x01, 0x0a, 0x60]);
    }

    #[test]
    fn decrement_ttl_zero_is_noop() {
        let mut ip = echo_ip();
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
        p.set_ttl(0);
        p.fill_checksum();
        let before = p.checksum();
        p.decrement_ttl();
        assert_eq!((p.ttl(), p.checksum()), (0, before));
    }

    #[test]
    fn decrement_ttl_carry_to_zero() {
        // Choose the identification so that the checksum is exactly 0xFEFF: the
        // decrement must give 0x0000 (what a full recompute gives), never 0xFFFF.
        let mut ip = echo_ip();
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..20]);
        p.set_ident(0);
        p.fill_checksum();
        // checksum = !S; want !S' = 0xFEFF, i.e. S' = 0x0100 = S + ident (1's compl.).
        let s = !p.checksum();
        let ident = checksum::fold(0x0100 + u32::from(!s));
        p.set_ident(ident);
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xFEFF);
        p.decrement_ttl();
        assert_eq!(p.checksum(), 0x0000);
        assert!(p.verify_checksum());
        p.fill_checksum();
        assert_eq!(p.checksum(), 0x0000);
    }

    #[test]
    fn decrement_ttl_matches_full_recompute() {
        let mut rng = XorShift(0x0123_4567_89AB_CDEF);
        let mut buf = [0u8; 60];
        for _ in 0..50_000 {
            rng.fill(&mut buf);
            let ihl = 5 + rng.below(11);
            buf[0] = 0x40 | ihl as u8;
            let hl = ihl * 4;
            let mut p = Ipv4Packet::new_checked(&mut buf[..hl]).unwrap();
            p.set_ttl(1 + rng.below(255) as u8);
            p.fill_checksum();
            let ttl = p.ttl();

            p.decrement_ttl();
            let incremental = p.checksum();
            p.fill_checksum();
            assert_eq!(
                incremental,
                p.checksum(),
                "ttl {ttl} header {:02x?}",
                &buf[..hl]
            );
            assert_eq!(buf[8], ttl - 1);
        }
    }

    #[test]
    fn build_with_setters() {
        let mut buf = [0xFFu8; 24];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_tos(0xb8); // EF, not-ECT
        p.set_total_len(24);
        p.set_ident(0xbeef);
        p.clear_flags();
        p.set_frag_offset(1480);
        p.set_more_frags(true);
        p.set_dont_frag(false);
        p.set_ttl(1);
        p.set_protocol(protocol::UDP);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst_addr(Ipv4Addr::new(198, 51, 100, 7));
        p.options_mut().copy_from_slice(&[0x94, 0x04, 0x00, 0x00]); // router alert
        p.fill_checksum();
        assert_eq!((p.dscp(), p.ecn()), (46, 0));
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert!(p.verify_checksum());
        assert!(p.payload_mut().is_empty());
        let summary = p.scan_options().unwrap();
        assert!(summary.has_router_alert && !summary.has_source_route);
        // Flags/offset word: MF | 1480/8 = 0x2000 | 0x00b9.
        assert_eq!(
            buf[..12],
            [0x46, 0xb8, 0x00, 0x18, 0xbe, 0xef, 0x20, 0xb9, 0x01, 0x11, buf[10], buf[11]]
        );
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_more_frags(false);
        p.set_dont_frag(true);
        assert_eq!(p.frag_offset(), 1480);
        p.set_frag_offset(0);
        assert!(p.dont_frag() && !p.is_fragment());
    }

    #[test]
    fn repr_emit_matches_fixture() {
        let repr = Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 2),
            dst_addr: Ipv4Addr::new(10, 0, 1, 2),
            protocol: protocol::ICMP,
            payload_len: 64,
            ttl: 64,
            tos: 0,
            ident: 0x1c46,
            dont_frag: true,
        };
        let mut buf = [0xAAu8; 20];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, ECHO_REQUEST_FRAME[14..34]);
        assert_eq!(repr.buffer_len(), 20);

        let ip = echo_ip();
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&ip[..])),
            Ok(repr)
        );
    }

    #[test]
    fn repr_parse_errors() {
        let ip = echo_ip();
        let parse = |b: &[u8]| Ipv4Repr::parse(&Ipv4Packet::new_unchecked(b));
        assert_eq!(parse(&ip[..10]), Err(Error::Truncated));
        assert_eq!(parse(&ip[..40]), Err(Error::Malformed)); // total length beyond
        let mut b = ip;
        b[11] ^= 0xff;
        assert_eq!(parse(&b), Err(Error::Malformed));
        let mut b = ip;
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_more_frags(true);
        p.fill_checksum();
        assert_eq!(parse(&b), Err(Error::Malformed));
    }

    #[test]
    fn options_through_the_view() {
        // LSRR: type 131, len 7, pointer 4, one address; then EOL. IHL 7.
        let lsrr = [0x83, 7, 4, 192, 0, 2, 1, 0];
        let mut buf = [0u8; 28];
        buf[..20].copy_from_slice(&ECHO_REQUEST_FRAME[14..34]);
        buf[20..].copy_from_slice(&lsrr);
        buf[0] = 0x47;
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.options(), &lsrr[..]);
        assert!(p.scan_options().unwrap().has_source_route);
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = XorShift(42);
        let mut buf = [0u8; 80];
        for _ in 0..20_000 {
            rng.fill(&mut buf);
            if rng.below(2) == 0 {
                buf[0] = 0x40 | (buf[0] & 0x0F);
            }
            let len = rng.below(buf.len() + 1);
            let data = &buf[..len];
            let frame_len = rng.below(100);
            let unchecked = Ipv4Packet::new_unchecked(data);
            let _ = unchecked.check_header(frame_len);
            let _ = unchecked.verify_checksum();
            let _ = scan_options(data);
            if let Ok(p) = Ipv4Packet::new_checked(data) {
                assert!(p.header_len() >= 20 && p.header_len() <= len);
                let _ = (
                    p.version(),
                    p.tos(),
                    p.total_len(),
                    p.ident(),
                    p.frag_offset(),
                );
                let _ = (
                    p.ttl(),
                    p.protocol(),
                    p.checksum(),
                    p.src_addr(),
                    p.dst_addr(),
                );
                let _ = (
                    p.options(),
                    p.payload(),
                    p.scan_options(),
                    p.verify_checksum(),
                );
                if p.check_header(frame_len).is_ok() {
                    assert!(p.verify_checksum());
                }
                if p.check_header(frame_len.min(len)).is_ok() {
                    assert_eq!(
                        p.payload().len(),
                        usize::from(p.total_len()) - p.header_len()
                    );
                }
            }
        }
    }
}
