//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! The checksum is the ones'-complement of the ones'-complement sum of the data taken as
//! 16-bit big-endian words (RFC 791 section 3.1, RFC 1071 section 1). Three steps, named
//! after the kernel's helpers:
//!
//! * [`sum`] (`csum_partial`): the ones'-complement sum, returned already reduced to 16
//!   bits (`0..=0xFFFF`) in a `u32`, so callers may add up to 65 537 partial sums in a
//!   `u32` without overflow (e.g. a pseudo-header and a payload) and [`fold`] the total;
//! * [`fold`] (`csum_fold` without the final negation): end-around carries back into 16
//!   bits;
//! * [`checksum`]: `!fold(sum(data))`, the value to store in a header.
//!
//! Verification (RFC 1071 section 1): the sum over the data *including* its checksum field
//! folds to `0xFFFF`, i.e. `checksum(data) == 0`.
//!
//! When a router rewrites one field it updates the checksum instead of recomputing it,
//! with [`update16`] / [`update32`] (RFC 1624 eqn. 3, the kernel's `csum_replace2/4`).

/// Ones'-complement sum of `data` as 16-bit big-endian words, reduced to `0..=0xFFFF`.
///
/// An odd trailing byte is padded with a zero low byte (RFC 1071 section 4.1). When
/// summing a packet in pieces, only the last piece may have an odd length.
///
/// The result is `0` only for data that is all zero; otherwise it is in `1..=0xFFFF`
/// (ones'-complement "negative zero" `0xFFFF` stands for a sum congruent to zero), which
/// is exactly what a word-by-word reference implementation produces after [`fold`].
///
/// Speed: eight bytes at a time into a 64-bit accumulator with end-around carry. This is
/// valid because 2^16 - 1 divides 2^64 - 1 (RFC 1071 section 2(C), "parallel summation").
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc = add_end_around(acc, word);
    }
    // The tail as whole 16-bit words in their lanes (a copy into a zero-padded u64 would
    // cost a memcpy call and a store-forwarding stall, measured on the IPv4 header check);
    // an odd trailing byte is the high byte of a word, as required.
    let mut rest = chunks.remainder();
    if let [a, b, c, d, tail @ ..] = rest {
        acc = add_end_around(acc, u64::from(u32::from_be_bytes([*a, *b, *c, *d])));
        rest = tail;
    }
    if let [a, b, tail @ ..] = rest {
        acc = add_end_around(acc, u64::from(u16::from_be_bytes([*a, *b])));
        rest = tail;
    }
    if let [a] = rest {
        acc = add_end_around(acc, u64::from(*a) << 8);
    }
    // 64 -> 16 bits: the four 16-bit lanes sum to at most 4 * 0xFFFF (fits 18 bits).
    let lanes = (acc >> 48) + ((acc >> 32) & 0xFFFF) + ((acc >> 16) & 0xFFFF) + (acc & 0xFFFF);
    // `lanes` < 2^18, so the cast is lossless; fold leaves it in 0..=0xFFFF.
    u32::from(fold(lanes as u32))
}

#[inline(always)]
fn add_end_around(acc: u64, word: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(word);
    // On overflow `s` <= 2^64 - 2, so adding the carry back cannot overflow again.
    s + u64::from(carry)
}

/// Fold a 32-bit ones'-complement sum into 16 bits by adding the carries back in.
///
/// Two rounds suffice for any `u32`: the first leaves at most `0x1FFFE`, the second at
/// most `0xFFFF`. Not negated: see [`checksum`].
#[inline]
pub const fn fold(sum: u32) -> u16 {
    let s = (sum & 0xFFFF) + (sum >> 16);
    let s = (s & 0xFFFF) + (s >> 16);
    s as u16
}

/// The Internet checksum of `data`: `!fold(sum(data))`.
///
/// Over a header whose checksum field is zero this is the value to store; over a header
/// including a correct checksum field it is `0`.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// RFC 1624 section 3 eqn. 3: the new checksum after one 16-bit word of the covered data
/// changes from `old` to `new`:
///
/// ```text
/// HC' = ~(~HC + ~m + m')
/// ```
///
/// Unlike eqn. 2 (`HC - ~m - m'`) this never yields the "negative zero" `0xFFFF` where a
/// full recomputation yields `0x0000` (RFC 1624 section 3/4): the sum inside the
/// brackets is folded as a ones'-complement sum, which is `0` only when all three terms
/// are, i.e. never for a checksum that came from real header data. Hence the result is
/// bit-identical to recomputing the checksum from scratch. The kernel's `csum_replace2`.
#[inline]
pub const fn update16(check: u16, old: u16, new: u16) -> u16 {
    let s = (!check) as u32 + (!old) as u32 + new as u32;
    !fold(s)
}

/// [`update16`] for a 32-bit field (an IPv4 address): both halves at once. The kernel's
/// `csum_replace4`.
#[inline]
pub const fn update32(check: u16, old: u32, new: u32) -> u16 {
    let s =
        (!check) as u32 + (!(old >> 16) & 0xFFFF) + (!old & 0xFFFF) + (new >> 16) + (new & 0xFFFF);
    !fold(s)
}

#[cfg(test)]
mod tests {
    use super::super::tests::XorShift;
    use super::*;

    /// Reference: RFC 1071 section 4.1, one 16-bit word at a time, folded.
    fn oracle_sum(data: &[u8]) -> u32 {
        let mut s: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            s += u32::from(data[i]) << 8 | u32::from(data[i + 1]);
            s = (s & 0xFFFF) + (s >> 16);
            i += 2;
        }
        if i < data.len() {
            s += u32::from(data[i]) << 8;
            s = (s & 0xFFFF) + (s >> 16);
        }
        s
    }

    #[test]
    fn rfc1071_numerical_example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2, checksum 220d.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), 0x220d);
    }

    #[test]
    fn ipv4_header_example() {
        // A classic textbook header (Wikipedia "IPv4 header checksum"), checksum b861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(fold(sum(&hdr)), 0xFFFF);
        assert_eq!(checksum(&hdr), 0);
        hdr[10] = 0;
        hdr[11] = 0;
        assert_eq!(checksum(&hdr), 0xb861);
    }

    #[test]
    fn odd_lengths_and_empty() {
        assert_eq!(sum(&[]), 0);
        assert_eq!(checksum(&[]), 0xFFFF);
        assert_eq!(sum(&[0x01]), 0x0100);
        // abcd + ef00 = 1_9acd -> 9ace
        assert_eq!(sum(&[0xab, 0xcd, 0xef]), 0x9ace);
        // Nine bytes: the 8-byte loop plus a one-byte tail. 0xFFFF words are -0, so
        // the sum is the tail word 0xff00.
        assert_eq!(sum(&[0xff; 9]), 0xff00);
        assert_eq!(sum(&[0xff; 10]), 0xFFFF);
        assert_eq!(sum(&[0; 9]), 0);
    }

    #[test]
    fn fold_bounds() {
        assert_eq!(fold(0), 0);
        assert_eq!(fold(0xFFFF), 0xFFFF);
        assert_eq!(fold(0x1_0000), 0x0001);
        assert_eq!(fold(0x1_FFFE), 0xFFFF);
        assert_eq!(fold(u32::MAX), 0xFFFF);
    }

    #[test]
    fn sum_matches_oracle() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut buf = [0u8; 300];
        for round in 0..2000 {
            rng.fill(&mut buf);
            if round % 7 == 0 {
                // Long runs of 0xFF stress the end-around carries.
                buf.iter_mut().for_each(|b| *b = 0xFF);
                buf[rng.below(300)] = rng.next_u64() as u8;
            }
            let start = rng.below(9);
            let len = rng.below(buf.len() - start);
            let data = &buf[start..start + len];
            assert_eq!(sum(data), oracle_sum(data), "len {len} start {start}");
        }
    }

    #[test]
    fn rfc1624_example() {
        // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555, m' = 0x3285 -> HC' = 0x0000.
        assert_eq!(update16(0xDD2F, 0x5555, 0x3285), 0x0000);
        // Eqn. 2 (HC - ~m - m', subtracting by adding the complement) yields -0 here:
        // HC + m + ~m' = 0xDD2F + 0x5555 + 0xCD7A = 0x1_FFFE -> 0xFFFF.
        let eqn2 = fold(0xDD2F + 0x5555 + u32::from(!0x3285u16));
        assert_eq!(eqn2, 0xFFFF);
        // And the full recomputation agrees with eqn. 3: a header whose only non-zero
        // words are m and a word making the checksum HC.
        // sum = 0x5555 + w must equal !0xDD2F = 0x22D0  =>  w = 0x22D0 - 0x5555 (1's c.)
        let w = fold(0x22D0 + u32::from(!0x5555u16));
        let mut data = [0x55, 0x55, (w >> 8) as u8, w as u8];
        assert_eq!(checksum(&data), 0xDD2F);
        data[0] = 0x32;
        data[1] = 0x85;
        assert_eq!(checksum(&data), 0x0000);
    }

    #[test]
    fn update_matches_recompute() {
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        let mut buf = [0u8; 40];
        for _ in 0..20_000 {
            rng.fill(&mut buf);
            buf[0] = 0x45; // a never-zero word, as in any real header
            let before = checksum(&buf);

            // 16-bit field at an even offset.
            let at = 2 + 2 * rng.below(19);
            let old = u16::from_be_bytes([buf[at], buf[at + 1]]);
            let new = match rng.below(4) {
                0 => 0,
                1 => 0xFFFF,
                _ => rng.next_u64() as u16,
            };
            buf[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let after = checksum(&buf);
            assert_eq!(update16(before, old, new), after);

            // 32-bit field at an even offset.
            let at = 2 + 2 * rng.below(18);
            let old = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
            let new = rng.next_u64() as u32;
            buf[at..at + 4].copy_from_slice(&new.to_be_bytes());
            assert_eq!(update32(after, old, new), checksum(&buf));
        }
    }
}
