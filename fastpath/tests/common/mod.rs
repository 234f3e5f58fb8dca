//! Oracles shared by the integration tests: an RFC 1071 checksum independent of the
//! crate's, and the frames of the committed pcap fixtures.

/// RFC 1071 over `data` (odd length padded with a zero byte), independent of the crate's.
pub fn csum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The frames of a classic little-endian pcap file (as the fixtures are written).
pub fn pcap_frames(file: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(file[..4], [0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let n = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(file[at + 16..at + 16 + n].to_vec());
        at += 16 + n;
    }
    assert_eq!(at, file.len());
    frames
}
