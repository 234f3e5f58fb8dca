//! Frame builders for the structured targets and the warm-up: correct lengths and
//! checksums (by [`csum`], independent of the crate's), so that the fuzzed fields, not
//! the framing, decide what happens.

use crate::harness::csum;
use std::net::Ipv4Addr;

/// An Ethernet II frame, zero-padded to the 60-byte minimum as a NIC delivers it.
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend(src);
    f.extend(ethertype.to_be_bytes());
    f.extend(payload);
    f.resize(f.len().max(60), 0);
    f
}

/// An IPv4 packet: header (with `options`, padded to 32 bits with End) and payload.
#[allow(clippy::too_many_arguments)]
pub fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    tos: u8,
    frag: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut opts = options[..options.len().min(40)].to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    let hl = 20 + opts.len();
    let total = (hl + payload.len()) as u16;
    let mut b = vec![0x40 | (hl / 4) as u8, tos];
    b.extend(total.to_be_bytes());
    b.extend(0x1c46u16.to_be_bytes());
    b.extend(frag.to_be_bytes());
    b.extend([ttl, proto, 0, 0]);
    b.extend(src.octets());
    b.extend(dst.octets());
    b.extend(&opts);
    let c = csum(&b);
    b[10..12].copy_from_slice(&c.to_be_bytes());
    b.extend(payload);
    b
}

/// An IPv4 header with `total_len` and the first 8 bytes of its payload, as an ICMP
/// error quotes it.
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    total_len: u16,
    l4: &[u8],
) -> Vec<u8> {
    let mut b = ipv4(src, dst, proto, ttl, 0, 0, &[], &[]);
    b[2..4].copy_from_slice(&total_len.to_be_bytes());
    b[10..12].copy_from_slice(&[0, 0]);
    let c = csum(&b[..20]);
    b[10..12].copy_from_slice(&c.to_be_bytes());
    b.extend(l4);
    b
}

/// An ICMP message with a correct checksum.
pub fn icmp_msg(typ: u8, code: u8, rest: u32, data: &[u8]) -> Vec<u8> {
    let mut m = vec![typ, code, 0, 0];
    m.extend(rest.to_be_bytes());
    m.extend(data);
    let c = csum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An ICMP message from the neighbour on `port` (its MAC) to the router's MAC there.
pub fn icmp(
    port: usize,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    typ: u8,
    code: u8,
    rest: u32,
    data: &[u8],
) -> Vec<u8> {
    let ip = ipv4(src, dst, 1, 64, 0, 0, &[], &icmp_msg(typ, code, rest, data));
    eth(
        crate::net::MAC[port],
        crate::net::PEER_MAC[port],
        0x0800,
        &ip,
    )
}

fn l4_csum(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, seg: &[u8]) -> u16 {
    let mut p = src.octets().to_vec();
    p.extend(dst.octets());
    p.extend([0, proto]);
    p.extend((seg.len() as u16).to_be_bytes());
    p.extend(seg);
    csum(&p)
}

/// A TCP segment in a frame (`len` bytes of data).
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: u8,
    len: usize,
) -> Vec<u8> {
    let mut seg = sport.to_be_bytes().to_vec();
    seg.extend(dport.to_be_bytes());
    seg.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    seg.extend(std::iter::repeat_n(0xab, len));
    let c = l4_csum(src, dst, 6, &seg);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
    eth(
        dst_mac,
        src_mac,
        0x0800,
        &ipv4(src, dst, 6, 64, 0, 0x4000, &[], &seg),
    )
}

/// A UDP datagram in a frame (`len` bytes of data).
pub fn udp(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    len: usize,
) -> Vec<u8> {
    let mut seg = sport.to_be_bytes().to_vec();
    seg.extend(dport.to_be_bytes());
    seg.extend(((8 + len) as u16).to_be_bytes());
    seg.extend([0, 0]);
    seg.extend((0..len).map(|i| (i as u8) ^ 0x5a));
    let c = l4_csum(src, dst, 17, &seg);
    seg[6..8].copy_from_slice(&c.to_be_bytes());
    eth(
        dst_mac,
        src_mac,
        0x0800,
        &ipv4(src, dst, 17, 64, 0, 0, &[], &seg),
    )
}

/// An ARP frame (Ethernet, IPv4).
pub fn arp(
    dst_mac: [u8; 6],
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend(op.to_be_bytes());
    a.extend(sha);
    a.extend(spa.octets());
    a.extend(tha);
    a.extend(tpa.octets());
    eth(dst_mac, sha, 0x0806, &a)
}
