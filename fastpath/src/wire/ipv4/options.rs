//! IPv4 options (RFC 791 section 3.1): the receive-side checks of the kernel's
//! `__ip_options_compile()` (`net/ipv4/ip_options.c`, called with an skb), so that a packet
//! Linux refuses with an ICMP parameter problem is refused here too, with the same pointer.
//! What a router records in the options of a packet it forwards (our address in Record
//! Route, our clock and maybe address in Timestamp) is [`forward_options`]'s, at the
//! offsets [`scan_options`] found (the kernel's `ip_options_compile` on input and
//! `ip_forward_options`). When a forwarded packet is fragmented, the options of its later
//! fragments are [`fragment_options`]'s (the kernel's `ip_options_fragment`).

use core::fmt;
use core::net::Ipv4Addr;

use super::super::Error;

/// IP option types (RFC 791 section 3.1; router alert RFC 2113; CIPSO: the kernel's
/// `IPOPT_CIPSO`, draft-ietf-cipso-ipsecurity).
pub mod option_type {
    /// End of option list; the rest of the options area is padding.
    pub const EOL: u8 = 0;
    /// No operation (single octet, used for alignment).
    pub const NOP: u8 = 1;
    /// Record route.
    pub const RR: u8 = 7;
    /// Internet timestamp.
    pub const TS: u8 = 68;
    /// Security (RFC 1108).
    pub const SECURITY: u8 = 130;
    /// Loose source and record route.
    pub const LSRR: u8 = 131;
    /// Commercial IP security option (CIPSO).
    pub const CIPSO: u8 = 134;
    /// Stream identifier (obsolete).
    pub const STREAM_ID: u8 = 136;
    /// Strict source and record route.
    pub const SSRR: u8 = 137;
    /// Router alert (RFC 2113).
    pub const ROUTER_ALERT: u8 = 148;

    /// The copied flag (RFC 791 section 3.1, the kernel's `IPOPT_COPIED`): an option with
    /// it set is copied into every fragment, one without it only into the first.
    #[inline]
    pub const fn copied(kind: u8) -> bool {
        kind & 0x80 != 0
    }
}

/// Timestamp flags (the low nibble of the timestamp option's fourth octet, RFC 791).
/// Flag 0 (`IPOPT_TS_TSONLY`, timestamps only) needs no name here.
mod ts_flag {
    /// Address and timestamp pairs (`IPOPT_TS_TSANDADDR`).
    pub const TSANDADDR: u8 = 1;
    /// Pre-specified addresses (`IPOPT_TS_PRESPEC`).
    pub const PRESPEC: u8 = 3;
}

/// Offset of the options area from the start of the IPv4 header.
const OPTIONS_OFFSET: usize = 20;

/// What [`scan_options`] found in an options area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptionsSummary {
    /// Loose or strict source route (LSRR 131, SSRR 137): RFC 1812 5.3.13.4 requires
    /// processing them or, by configuration, dropping the packet.
    pub has_source_route: bool,
    /// Record route (7), RFC 1812 5.3.13.5.
    pub has_record_route: bool,
    /// Internet timestamp (68), RFC 1812 5.3.13.6.
    pub has_timestamp: bool,
    /// Where the record route starts in the options area (the kernel's `opt->rr`, less
    /// the 20-byte header), for [`forward_options`].
    pub record_route_at: Option<u8>,
    /// Where the timestamp starts in the options area (`opt->ts`, less 20).
    pub timestamp_at: Option<u8>,
    /// Router alert (148), RFC 2113: the packet wants the control plane's attention.
    pub has_router_alert: bool,
    /// Any other option besides EOL/NOP (forwarded untouched, RFC 1812 5.3.13.1).
    pub has_other: bool,
}

/// An options area Linux refuses: the ICMP parameter problem it sends points at
/// [`Self::pointer`] (`pp_ptr - iph` in `__ip_options_compile()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionsError {
    /// Offset of the offending octet from the start of the IPv4 header (20..=59), the
    /// value of the parameter problem's pointer (RFC 792).
    pub pointer: u8,
}

impl OptionsError {
    /// The error for octet `at` of the options area.
    #[inline]
    fn at(at: usize) -> OptionsError {
        // `at` < 40 (the options area is at most 40 bytes), so this cannot truncate.
        OptionsError {
            pointer: (OPTIONS_OFFSET + at) as u8,
        }
    }

    /// The ICMP parameter problem's 32-bit "rest of header": the pointer in the first
    /// octet, the other three zero (`htonl(pointer << 24)` in the kernel).
    #[inline]
    pub const fn icmp_info(self) -> u32 {
        (self.pointer as u32) << 24
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad IPv4 option at header offset {}", self.pointer)
    }
}

impl std::error::Error for OptionsError {}

impl From<OptionsError> for Error {
    fn from(_: OptionsError) -> Error {
        Error::Malformed
    }
}

/// Walk an options area (RFC 791 section 3.1) and check it as Linux checks a received
/// packet's options (`__ip_options_compile()` with an skb), in the same order, returning
/// the first octet Linux would point at:
///
/// * framing: EOL (0) ends the list, NOP (1) is one octet; any other option is `type,
///   length, data` with `length` counting the type and length octets. A missing length
///   octet, a length below 2 or past the end of the area points at the **type** octet;
/// * Record Route: a second one points at its type; length < 3 at its length; pointer < 4,
///   or a pointer inside the option (`pointer <= length`) without room for an address
///   (`pointer + 3 > length`) at its pointer;
/// * Timestamp: a second one points at its type; length < 4 at its length; pointer < 5,
///   or a pointer inside the option without room for its entry (4 octets, 8 for the
///   address flags 1 and 3) at its pointer; a full option (pointer > length) whose
///   overflow counter is already 15 at the flags octet (except with flag 3, which Linux
///   leaves alone);
/// * LSRR/SSRR: length < 3 at the length; pointer < 4 at the pointer; a second source route
///   (either kind) at its type;
/// * Router Alert: length < 4 at the length (any value is accepted);
/// * CIPSO: always refused, as a kernel with NetLabel and no CIPSO DOI configured refuses it
///   (`cipso_v4_validate()`: length < 8 points at the length, otherwise the unknown DOI at
///   octet 2). Distribution kernels are built with `CONFIG_NETLABEL=y`;
/// * anything else (security, stream id, unknown types) is accepted as it is framed.
///
/// Flag values 2 and 4..=15 of a timestamp are accepted, as Linux accepts them on
/// receive. Bytes after EOL are never looked at. Never panics, allocates nothing.
pub fn scan_options(opts: &[u8]) -> Result<OptionsSummary, OptionsError> {
    use option_type::*;
    let mut summary = OptionsSummary::default();
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            EOL => break,
            NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        // `l < 2`, then `optlen < 2 || optlen > l`: pp_ptr = optptr.
        let len = usize::from(*opts.get(at + 1).ok_or(OptionsError::at(at))?);
        if len < 2 || len > opts.len() - at {
            return Err(OptionsError::at(at));
        }
        let opt = &opts[at..at + len];
        let fail = |octet: usize| Err(OptionsError::at(at + octet));
        match kind {
            LSRR | SSRR => {
                if len < 3 {
                    return fail(1);
                }
                if opt[2] < 4 {
                    return fail(2);
                }
                // "NB: cf RFC-1812 5.2.4.1": only one source route, checked last.
                if summary.has_source_route {
                    return fail(0);
                }
                summary.has_source_route = true;
            }
            RR => {
                if summary.has_record_route {
                    return fail(0);
                }
                if len < 3 {
                    return fail(1);
                }
                let pointer = usize::from(opt[2]);
                if pointer < 4 || (pointer <= len && pointer + 3 > len) {
                    return fail(2);
                }
                summary.has_record_route = true;
                summary.record_route_at = Some(at as u8);
            }
            TS => {
                if summary.has_timestamp {
                    return fail(0);
                }
                if len < 4 {
                    return fail(1);
                }
                let (pointer, flags) = (usize::from(opt[2]), opt[3]);
                if pointer < 5 {
                    return fail(2);
                }
                if pointer <= len {
                    // Octets the next entry needs: an address and a timestamp, or
                    // a timestamp (flag 0, and the flags Linux accepts unchecked).
                    let entry = match flags & 0x0F {
                        ts_flag::TSANDADDR | ts_flag::PRESPEC => 8,
                        _ => 4,
                    };
                    if pointer + entry - 1 > len {
                        return fail(2);
                    }
                } else if flags & 0x0F != ts_flag::PRESPEC && flags >> 4 == 15 {
                    return fail(3);
                }
                summary.has_timestamp = true;
                summary.timestamp_at = Some(at as u8);
            }
            ROUTER_ALERT => {
                if len < 4 {
                    return fail(1);
                }
                summary.has_router_alert = true;
            }
            CIPSO => return fail(if len < 8 { 1 } else { 2 }),
            _ => summary.has_other = true,
        }
        at += len;
    }
    Ok(summary)
}

/// What [`forward_options`] records, besides the offsets [`scan_options`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Our address towards where the packet goes (`ip_rt_get_source`: the preferred
    /// source of its route, the egress interface's address), for Record Route.
    pub egress: Ipv4Addr,
    /// Our address towards where it came from (`fib_compute_spec_dst`), which Linux puts
    /// in a timestamp with addresses (flag 1) on input and leaves there.
    pub spec_dst: Ipv4Addr,
    /// The time: milliseconds since midnight UT (RFC 791, `inet_current_timestamp`).
    pub now_ms: u32,
}

/// Records this hop in the options of a forwarded packet, in place, as Linux does for a
/// packet it forwards (the `skb`/`rt` branches of `__ip_options_compile`, then
/// `ip_forward_options`), for the options area `opts` that [`scan_options`] accepted and
/// described in `summary`:
///
/// * Record Route with room (pointer <= length): [`Recorded::egress`] at the pointer,
///   pointer + 4 (RFC 791; RFC 1812 5.3.13.5). A full one is left alone.
/// * Timestamp with room: flag 0 (timestamps only): the time at the pointer, pointer + 4;
///   flag 1 (address and timestamp): [`Recorded::spec_dst`] then the time, pointer + 8;
///   flag 3 (prespecified addresses): when the address at the pointer is one of ours
///   (`is_ours`: Linux's `inet_addr_type` is not unicast), the time after it, pointer + 8,
///   else nothing. Other flags: nothing. A full one (pointer > length) gets its overflow
///   counter (high nibble of octet 4) one up, but with flag 3 (RFC 791 3.1; a counter
///   at 15 was refused by [`scan_options`]).
///
/// Returns whether anything changed (the header checksum is then the caller's to
/// recompute). Never panics: offsets outside `opts` are ignored.
pub fn forward_options(
    opts: &mut [u8],
    summary: &OptionsSummary,
    rec: &Recorded,
    is_ours: impl Fn(Ipv4Addr) -> bool,
) -> bool {
    let mut changed = false;
    if let Some(at) = summary.record_route_at {
        changed |= record_route(opts, usize::from(at), rec.egress);
    }
    if let Some(at) = summary.timestamp_at {
        changed |= timestamp(opts, usize::from(at), rec, is_ours);
    }
    changed
}

/// Writes `addr` at `opts[at..at + 4]` if it fits.
fn put(opts: &mut [u8], at: usize, bytes: [u8; 4]) -> bool {
    match opts.get_mut(at..at + 4) {
        Some(dst) => {
            dst.copy_from_slice(&bytes);
            true
        }
        None => false,
    }
}

fn record_route(opts: &mut [u8], at: usize, egress: Ipv4Addr) -> bool {
    let (Some(&len), Some(&ptr)) = (opts.get(at + 1), opts.get(at + 2)) else {
        return false;
    };
    if ptr > len || ptr < 4 || !put(opts, at + usize::from(ptr) - 1, egress.octets()) {
        return false;
    }
    opts[at + 2] = ptr + 4;
    true
}

fn timestamp(
    opts: &mut [u8],
    at: usize,
    rec: &Recorded,
    is_ours: impl Fn(Ipv4Addr) -> bool,
) -> bool {
    let (Some(&len), Some(&ptr), Some(&flags)) =
        (opts.get(at + 1), opts.get(at + 2), opts.get(at + 3))
    else {
        return false;
    };
    if ptr < 5 {
        return false;
    }
    let slot = at + usize::from(ptr) - 1;
    let now = rec.now_ms.to_be_bytes();
    if ptr > len {
        let overflow = flags >> 4;
        if flags & 0x0F == ts_flag::PRESPEC || overflow == 15 {
            return false;
        }
        opts[at + 3] = (flags & 0x0F) | ((overflow + 1) << 4);
        return true;
    }
    let advance = match flags & 0x0F {
        0 if put(opts, slot, now) => 4,
        ts_flag::TSANDADDR if opts.len() >= slot + 8 => {
            put(opts, slot, rec.spec_dst.octets());
            put(opts, slot + 4, now);
            8
        }
        ts_flag::PRESPEC if opts.len() >= slot + 8 => {
            let addr = Ipv4Addr::new(opts[slot], opts[slot + 1], opts[slot + 2], opts[slot + 3]);
            if !is_ours(addr) {
                return false;
            }
            put(opts, slot + 4, now);
            8
        }
        _ => return false,
    };
    opts[at + 2] = ptr + advance;
    true
}

/// Turns the options area of a first fragment into the one of the fragments that follow
/// it, in place, as the kernel's `ip_options_fragment`: every option without the copied
/// flag (RFC 791 section 3.2: only copied options go into every fragment) is overwritten
/// by NOPs over its whole length, so the header keeps its length and its 32-bit padding;
/// copied options, NOPs and everything from EOL on stay as they are. A malformed length
/// stops the walk (the options were checked on input, so it does not happen).
pub fn fragment_options(opts: &mut [u8]) {
    use option_type::*;
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            EOL => return,
            NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(at + 1) else {
            return;
        };
        let len = usize::from(len);
        if len < 2 || len > opts.len() - at {
            return;
        }
        if !copied(kind) {
            opts[at..at + len].fill(NOP);
        }
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux 6.18 forwarding these options from 10.0.1.2 (in on 10.0.1.1) out of 10.0.2.1,
    /// as captured (the time it wrote was 0x029a9e0d).
    #[test]
    fn forward_options_as_linux_records_them() {
        let rec = Recorded {
            egress: Ipv4Addr::new(10, 0, 2, 1),
            spec_dst: Ipv4Addr::new(10, 0, 1, 1),
            now_ms: 0x029a_9e0d,
        };
        let ours = |a: Ipv4Addr| a == rec.egress || a == rec.spec_dst;
        let t = [0x02, 0x9a, 0x9e, 0x0d];
        #[rustfmt::skip]
        let cases: [(&[u8], &[u8], bool); 8] = [
            // Record route with room for three: the egress address.
            (&[7, 15, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
             &[7, 15, 8, 10, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], true),
            // Full: left alone.
            (&[7, 7, 8, 0, 0, 0, 0, 0], &[7, 7, 8, 0, 0, 0, 0, 0], false),
            // Timestamps only.
            (&[0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
             &[0x44, 12, 9, 0, t[0], t[1], t[2], t[3], 0, 0, 0, 0], true),
            // Full: the overflow counter.
            (&[0x44, 8, 9, 0, 1, 2, 3, 4], &[0x44, 8, 9, 0x10, 1, 2, 3, 4], true),
            // Address and timestamp: the address towards the source.
            (&[0x44, 20, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
             &[0x44, 20, 13, 1, 10, 0, 1, 1, t[0], t[1], t[2], t[3], 0, 0, 0, 0, 0, 0, 0, 0],
             true),
            // Prespecified, ours first: one timestamp, for the first.
            (&[0x44, 20, 5, 3, 10, 0, 1, 1, 0, 0, 0, 0, 10, 0, 2, 1, 0, 0, 0, 0],
             &[0x44, 20, 13, 3, 10, 0, 1, 1, t[0], t[1], t[2], t[3], 10, 0, 2, 1, 0, 0, 0, 0],
             true),
            // Prespecified, someone else's: nothing.
            (&[0x44, 12, 5, 3, 9, 9, 9, 9, 0, 0, 0, 0], &[0x44, 12, 5, 3, 9, 9, 9, 9, 0, 0, 0, 0],
             false),
            // Prespecified and full: no overflow counted.
            (&[0x44, 12, 13, 3, 9, 9, 9, 9, 1, 1, 1, 1],
             &[0x44, 12, 13, 3, 9, 9, 9, 9, 1, 1, 1, 1], false),
        ];
        for (input, want, changed) in cases {
            let mut o = input.to_vec();
            let summary = scan_options(&o).unwrap();
            assert_eq!(
                forward_options(&mut o, &summary, &rec, ours),
                changed,
                "{input:?}"
            );
            assert_eq!(o, want, "{input:?}");
        }
        // Both, after other options: each at its own offset.
        let mut o = vec![
            1, 0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0x44, 8, 5, 0, 0, 0, 0, 0,
        ];
        let summary = scan_options(&o).unwrap();
        assert_eq!(
            (summary.record_route_at, summary.timestamp_at),
            (Some(5), Some(12))
        );
        assert!(forward_options(&mut o, &summary, &rec, ours));
        assert_eq!(
            o[5..],
            [7, 7, 8, 10, 0, 2, 1, 0x44, 8, 9, 0, t[0], t[1], t[2], t[3]]
        );
        // No options to record: nothing changes.
        let mut o = vec![0x94, 4, 0, 0];
        let summary = scan_options(&o).unwrap();
        assert!(!forward_options(&mut o, &summary, &rec, ours));
    }

    #[test]
    fn fragment_options_keeps_copied_ones_and_nops_the_rest() {
        use option_type::copied;
        // Router alert (copied), a full record route (not copied), NOP, security (copied),
        // timestamp (not copied), EOL, padding.
        #[rustfmt::skip]
        let mut o = [
            0x94, 4, 0, 0,
            7, 7, 8, 10, 0, 1, 2,
            1,
            0x82, 3, 0xab,
            0x44, 8, 9, 0, 1, 2, 3, 4,
            0, 0x07, 0,
        ];
        fragment_options(&mut o);
        #[rustfmt::skip]
        let want = [
            0x94, 4, 0, 0,
            1, 1, 1, 1, 1, 1, 1,
            1,
            0x82, 3, 0xab,
            1, 1, 1, 1, 1, 1, 1, 1,
            0, 0x07, 0,
        ];
        assert_eq!(o, want);
        assert!(copied(option_type::LSRR) && copied(option_type::ROUTER_ALERT));
        assert!(!copied(option_type::RR) && !copied(option_type::TS));
        // A bad length stops the walk where it is.
        let mut o = [7, 3, 4, 0x44, 1, 5, 0, 0];
        fragment_options(&mut o);
        assert_eq!(o, [1, 1, 1, 0x44, 1, 5, 0, 0]);
    }

    /// The pointer Linux puts in the parameter problem for this options area.
    fn pointer(opts: &[u8]) -> Option<u8> {
        scan_options(opts).err().map(|e| e.pointer)
    }

    #[test]
    fn options_scan() {
        let none = OptionsSummary::default();
        assert_eq!(scan_options(&[]), Ok(none));
        assert_eq!(scan_options(&[1, 1, 1, 0]), Ok(none));
        // Anything after EOL is padding, even garbage.
        assert_eq!(scan_options(&[0, 0x83, 0]), Ok(none));
        // LSRR: type 131, len 7, pointer 4, one address; then EOL.
        let lsrr = [0x83, 7, 4, 192, 0, 2, 1, 0];
        assert_eq!(
            scan_options(&lsrr),
            Ok(OptionsSummary {
                has_source_route: true,
                ..none
            })
        );
        let ssrr = [1, 0x89, 7, 4, 192, 0, 2, 1];
        assert!(scan_options(&ssrr).unwrap().has_source_route);
        let mixed = [7, 3, 4, 0x44, 4, 5, 0, 0x94, 4, 0, 0, 0x82, 2];
        assert_eq!(
            scan_options(&mixed),
            Ok(OptionsSummary {
                has_record_route: true,
                has_timestamp: true,
                record_route_at: Some(0),
                timestamp_at: Some(3),
                has_router_alert: true,
                has_other: true,
                ..none
            })
        );
    }

    #[test]
    fn framing_errors_point_at_the_type() {
        // Missing length, length < 2, length past the end: pp_ptr = optptr.
        assert_eq!(pointer(&[0x83]), Some(20));
        assert_eq!(pointer(&[1, 0x83]), Some(21));
        assert_eq!(pointer(&[1, 1, 1, 0x44]), Some(23));
        assert_eq!(pointer(&[0x83, 0]), Some(20));
        assert_eq!(pointer(&[0x83, 1, 0, 0]), Some(20));
        assert_eq!(pointer(&[0x07, 1, 0, 0]), Some(20));
        assert_eq!(pointer(&[0x07, 10, 4, 0]), Some(20));
        assert_eq!(pointer(&[0x44, 9, 5, 0]), Some(20));
        assert_eq!(pointer(&[0x94, 4, 0, 0, 0x83, 7, 4]), Some(24));
        // Unknown and obsolete options are only framed.
        assert_eq!(pointer(&[0x82, 2, 0x88, 4, 0, 1, 0x9e, 2, 0, 0]), None);
        assert!(scan_options(&[0x88, 4, 0, 1]).unwrap().has_other);
        let e = scan_options(&[0x83]).unwrap_err();
        assert_eq!(Error::from(e), Error::Malformed);
        assert_eq!(e.to_string(), "bad IPv4 option at header offset 20");
    }

    #[test]
    fn router_alert_shorter_than_4() {
        // RFC 2113: type 148, length 4, value 0. Linux: optlen < 4 -> pp_ptr = optptr + 1.
        assert_eq!(pointer(&[0x94, 4, 0, 0]), None);
        assert_eq!(pointer(&[0x94, 2, 0, 0]), Some(21));
        assert_eq!(pointer(&[0x94, 3, 0, 0]), Some(21));
        assert_eq!(pointer(&[1, 0x94, 3, 0]), Some(22));
        // A non-zero value is accepted (Linux just does not flag it as router alert).
        assert_eq!(pointer(&[0x94, 4, 0, 1]), None);
        // Two router alerts are not refused.
        assert_eq!(pointer(&[0x94, 4, 0, 0, 0x94, 4, 0, 0]), None);
    }

    #[test]
    fn record_route() {
        // Length < 3 points at the length, pointer < 4 at the pointer.
        assert_eq!(pointer(&[7, 2, 0, 0]), Some(21));
        assert_eq!(pointer(&[7, 3, 3, 0]), Some(22));
        assert_eq!(pointer(&[7, 3, 0, 0]), Some(22));
        // Length 3 with pointer 4: an empty, full option (pointer > length) is fine.
        assert_eq!(pointer(&[7, 3, 4, 0]), None);
        // Pointer inside the option but no room for 4 octets.
        assert_eq!(pointer(&[7, 7, 5, 0, 0, 0, 0, 0]), Some(22));
        assert_eq!(pointer(&[7, 6, 4, 0, 0, 0, 0, 0]), Some(22));
        // Room for one address; then full (pointer 8 > length 7); then far past it.
        assert_eq!(pointer(&[7, 7, 4, 0, 0, 0, 0, 0]), None);
        assert_eq!(pointer(&[7, 7, 8, 10, 0, 0, 1, 0]), None);
        assert_eq!(pointer(&[7, 7, 200, 10, 0, 0, 1, 0]), None);
        // Pointer 7 of length 11: 7 + 3 <= 11 (Linux does not check alignment).
        assert_eq!(pointer(&[7, 11, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        // A second record route points at its type, whatever its own contents.
        assert_eq!(pointer(&[7, 3, 4, 7, 3, 4, 0, 0]), Some(23));
        assert_eq!(pointer(&[7, 3, 4, 1, 7, 1, 0, 0]), Some(24));
        // ... but framing is checked first.
        assert_eq!(pointer(&[7, 3, 4, 7, 9, 4, 0, 0]), Some(23));
    }

    #[test]
    fn timestamp() {
        // Length < 4 points at the length, pointer < 5 at the pointer.
        assert_eq!(pointer(&[0x44, 2, 5, 0]), Some(21));
        assert_eq!(pointer(&[0x44, 3, 5, 0]), Some(21));
        assert_eq!(pointer(&[0x44, 4, 4, 0]), Some(22));
        // Length 4, pointer 5: full and empty, fine.
        assert_eq!(pointer(&[0x44, 4, 5, 0]), None);
        // Timestamps only: room for 4 octets at the pointer.
        assert_eq!(pointer(&[0x44, 8, 5, 0, 0, 0, 0, 0]), None);
        assert_eq!(pointer(&[0x44, 8, 6, 0, 0, 0, 0, 0]), Some(22));
        assert_eq!(pointer(&[0x44, 7, 5, 0, 0, 0, 0, 0]), Some(22));
        // Address + timestamp (flag 1) and prespecified (flag 3) need 8 octets.
        let mut ts = [0x44, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(pointer(&ts), None);
        ts[1] = 11;
        assert_eq!(pointer(&ts[..11]), Some(22));
        ts[3] = 3;
        assert_eq!(pointer(&ts[..11]), Some(22));
        ts[1] = 12;
        assert_eq!(pointer(&ts), None);
        // Flags 2 and 4..15 are accepted on receive.
        assert_eq!(pointer(&[0x44, 8, 5, 2, 0, 0, 0, 0]), None);
        assert_eq!(pointer(&[0x44, 8, 5, 0x0f, 0, 0, 0, 0]), None);
        // Full: an overflow counter of 15 can not count this hop (flags octet)...
        assert_eq!(pointer(&[0x44, 8, 9, 0xf0, 0, 0, 0, 0]), Some(23));
        assert_eq!(pointer(&[0x44, 8, 9, 0xf1, 0, 0, 0, 0]), Some(23));
        assert_eq!(pointer(&[0x44, 8, 9, 0xe0, 0, 0, 0, 0]), None);
        // ... except with prespecified addresses, which Linux leaves alone.
        assert_eq!(pointer(&[0x44, 12, 13, 0xf3, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        // The overflow counter is not looked at while there is room.
        assert_eq!(pointer(&[0x44, 8, 5, 0xf0, 0, 0, 0, 0]), None);
        // A second timestamp points at its type.
        assert_eq!(pointer(&[0x44, 4, 5, 0, 0x44, 4, 5, 0]), Some(24));
        assert_eq!(pointer(&[1, 0x44, 4, 5, 0, 0x44, 2, 0]), Some(25));
    }

    #[test]
    fn source_routes() {
        // Length < 3 at the length, pointer < 4 at the pointer.
        assert_eq!(pointer(&[0x83, 2, 0, 0]), Some(21));
        assert_eq!(pointer(&[0x89, 3, 3, 0]), Some(22));
        // Linux checks a second source route's length and pointer before refusing it.
        assert_eq!(pointer(&[0x83, 3, 4, 0x89, 3, 4, 0, 0]), Some(23));
        assert_eq!(pointer(&[0x83, 3, 4, 0x89, 3, 3, 0, 0]), Some(25));
        assert_eq!(pointer(&[0x83, 3, 4, 0x83, 2, 0, 0, 0]), Some(24));
        // The pointer past the addresses is not an error here (ip_options_rcv_srr's job).
        assert_eq!(pointer(&[0x83, 7, 8, 192, 0, 2, 1, 0]), None);
    }

    #[test]
    fn cipso_is_refused() {
        // cipso_v4_validate(): length < 8 at the length, otherwise the DOI (octet 2).
        assert_eq!(pointer(&[0x86, 6, 0, 0, 0, 1, 0, 0]), Some(21));
        assert_eq!(pointer(&[0x86, 8, 0, 0, 0, 1, 0, 0]), Some(22));
        assert_eq!(pointer(&[1, 0x86, 10, 0, 0, 0, 3, 1, 2, 0, 0, 0]), Some(23));
        // Framing still comes first.
        assert_eq!(pointer(&[0x86, 12, 0, 0]), Some(20));
    }

    #[test]
    fn the_first_error_wins() {
        // A short router alert after a second record route: the record route is first.
        assert_eq!(pointer(&[7, 3, 4, 7, 3, 4, 0x94, 2]), Some(23));
        // An error after EOL is padding, not an error.
        assert_eq!(pointer(&[7, 3, 4, 0, 0x94, 2, 0, 0]), None);
        // The icmp "rest of header" carries the pointer in its first octet.
        assert_eq!(
            scan_options(&[1, 0x94, 2, 0]).unwrap_err().icmp_info(),
            0x1600_0000
        );
    }
}
