//! The input format of the packet targets: a sequence of records, so one input can be a
//! conversation (handshakes, resolutions, learnt exceptions) and not only one frame.
//!
//! ```text
//! ctl byte  0b11xx_xxxx: time passes, 1 ms << (ctl & 0x1f) (at most 2^20 ms); timers run
//!           otherwise: a burst on port (ctl & 3) % 3 of ((ctl >> 2) & 7) + 1 frames,
//!           each a big-endian u16 length then that many bytes (fewer at the end of
//!           the input)
//! ```
//!
//! A seed of one frame on port p is `[p, len >> 8, len & 0xff, frame...]` ([`one`]).

pub enum Rec<'a> {
    Advance(u64),
    Burst(u16, Vec<&'a [u8]>),
}

pub fn parse(mut data: &[u8]) -> Vec<Rec<'_>> {
    let mut out = Vec::new();
    while let Some((&ctl, rest)) = data.split_first() {
        data = rest;
        if ctl & 0xc0 == 0xc0 {
            out.push(Rec::Advance(1_000_000u64 << (ctl & 0x1f).min(20)));
            continue;
        }
        let n = usize::from((ctl >> 2) & 7) + 1;
        let mut frames = Vec::with_capacity(n);
        for _ in 0..n {
            if data.len() < 2 {
                data = &[];
                break;
            }
            let len = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
            frames.push(&data[2..2 + len]);
            data = &data[2 + len..];
        }
        out.push(Rec::Burst(u16::from(ctl & 3) % 3, frames));
    }
    out
}

/// The record of one frame on `port`.
pub fn one(port: u8, frame: &[u8]) -> Vec<u8> {
    let mut r = vec![port, (frame.len() >> 8) as u8, frame.len() as u8];
    r.extend(frame);
    r
}
