//! Ethernet II frames (RFC 894 for IPv4 over Ethernet; IEEE 802.3 clause 3.2).
//!
//! Only the 14-byte DIX header: destination, source, EtherType. The FCS is stripped by
//! the NIC. An 802.1Q tag shows up as [`ethertype::VLAN`]; this view does not look
//! inside it. Values below 0x0600 are 802.3 length fields, not EtherTypes, and match
//! no constant here.

use super::{read_u16, write_u16, Error, EthernetAddress, Result};

/// EtherType values (IEEE registry; RFC 894, RFC 826, IEEE 802.1Q, RFC 8200).
pub mod ethertype {
    /// Internet Protocol version 4 (RFC 894).
    pub const IPV4: u16 = 0x0800;
    /// Address Resolution Protocol (RFC 826).
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q VLAN tag (C-tag).
    pub const VLAN: u16 = 0x8100;
    /// Internet Protocol version 6 (RFC 2464).
    pub const IPV6: u16 = 0x86DD;
}

mod field {
    use core::ops::Range;

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: usize = 12;
    pub const PAYLOAD: usize = 14;
}

/// A zero-copy view of an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Length of the Ethernet II header: two addresses and the EtherType.
    pub const HEADER_LEN: usize = field::PAYLOAD;

    /// Wrap a buffer without checking its length. Accessors panic if it is shorter than
    /// [`Self::HEADER_LEN`]; use [`Self::new_checked`] for packet input.
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wrap a buffer, checking that the header fits ([`Self::check_len`]).
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Err(Truncated)` if the buffer is shorter than the header. After `Ok`, no accessor
    /// panics.
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

    /// Frame length needed for a payload of `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        Self::HEADER_LEN + payload_len
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    /// EtherType (see [`ethertype`]), host byte order.
    #[inline]
    pub fn ethertype(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ETHERTYPE)
    }

    /// Everything after the header, including any Ethernet padding (the network layer
    /// trims it with its own length field). Empty if the buffer is too short.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Set the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Set the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Set the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE, value);
    }

    /// Everything after the header, mutable (empty if the buffer is too short).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::PAYLOAD..)
            .unwrap_or(&mut [])
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for EthernetFrame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The header fields of an Ethernet II frame, for building frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    pub ethertype: u16,
}

impl EthernetRepr {
    /// Read the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Header length: [`EthernetFrame::HEADER_LEN`].
    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Write the header into `frame`.
    ///
    /// # Panics
    /// If the frame's buffer is shorter than [`EthernetFrame::HEADER_LEN`] (the caller
    /// sizes its own output buffers).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ARP_REQUEST_FRAME, ECHO_REQUEST_FRAME};
    use super::*;

    #[test]
    fn parse_echo_request_frame() {
        let frame = EthernetFrame::new_checked(&ECHO_REQUEST_FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress([0x02, 0, 0, 0, 0, 0x01]));
        assert_eq!(frame.src_addr(), EthernetAddress([0x02, 0, 0, 0, 0, 0x02]));
        assert_eq!(frame.ethertype(), ethertype::IPV4);
        assert_eq!(frame.payload().len(), 84);
        assert_eq!(frame.payload()[..2], [0x45, 0x00]);
    }

    #[test]
    fn parse_arp_frame() {
        let frame = EthernetFrame::new_checked(&ARP_REQUEST_FRAME[..]).unwrap();
        assert!(frame.dst_addr().is_broadcast());
        assert_eq!(frame.ethertype(), ethertype::ARP);
        assert_eq!(frame.payload().len(), 46);
    }

    #[test]
    fn truncated() {
        for len in 0..EthernetFrame::<&[u8]>::HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&ECHO_REQUEST_FRAME[..len]),
                Err(Error::Truncated)
            );
        }
        let frame = EthernetFrame::new_checked(&ECHO_REQUEST_FRAME[..14]).unwrap();
        assert!(frame.payload().is_empty());
    }

    #[test]
    fn build_in_place() {
        let mut buf = [0u8; 16];
        let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
        frame.set_dst_addr(EthernetAddress([0x02, 0, 0, 0, 0, 0x02]));
        frame.set_src_addr(EthernetAddress([0x02, 0, 0, 0, 0, 0x01]));
        frame.set_ethertype(ethertype::IPV6);
        frame.payload_mut().copy_from_slice(&[0xaa, 0xbb]);
        assert_eq!(
            buf,
            [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd, 0xaa, 0xbb]
        );
    }

    #[test]
    fn repr_round_trip() {
        let frame = EthernetFrame::new_checked(&ECHO_REQUEST_FRAME[..]).unwrap();
        let repr = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(repr.ethertype, ethertype::IPV4);
        let mut buf = [0u8; 14];
        let mut out = EthernetFrame::new_unchecked(&mut buf[..]);
        repr.emit(&mut out);
        assert_eq!(buf, ECHO_REQUEST_FRAME[..14]);
        assert_eq!(repr.buffer_len(), 14);
        assert_eq!(
            EthernetRepr::parse(&EthernetFrame::new_unchecked(&[0u8; 3][..])),
            Err(Error::Truncated)
        );
    }
}
