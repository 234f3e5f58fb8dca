//! Classic libpcap files (the format `net_pcap` and tcpdump read): a 24-byte global
//! header, then a 16-byte record header before each frame. Little-endian, microsecond
//! timestamps, linktype 1 (Ethernet). Frames are stored without the FCS, so a 64-byte
//! frame on the wire is 60 bytes here.

use std::io::{self, Write};

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// Snapshot length written in the header; no frame here is longer.
pub const SNAPLEN: u32 = 65535;

/// Writes frames to a pcap stream.
pub struct PcapWriter<W: Write> {
    out: W,
    count: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC_USEC.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out, count: 0 })
    }

    /// Appends one frame; its timestamp is its index in microseconds (the replay ignores
    /// timestamps, this only keeps tools like tshark happy).
    pub fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        let (sec, usec) = (
            (self.count / 1_000_000) as u32,
            (self.count % 1_000_000) as u32,
        );
        let len = frame.len() as u32;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&usec.to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes()); // captured
        h[12..16].copy_from_slice(&len.to_le_bytes()); // on the wire (without FCS)
        self.out.write_all(&h)?;
        self.out.write_all(frame)?;
        self.count += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(&[0xaa; 60]).unwrap();
        let v = w.finish().unwrap();
        assert_eq!(v.len(), 24 + 16 + 60);
        assert_eq!(&v[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(v[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(v[32..36].try_into().unwrap()), 60);
        assert_eq!(u32::from_le_bytes(v[36..40].try_into().unwrap()), 60);
    }
}
