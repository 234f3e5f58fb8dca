//! IPv4 options (RFC 791 section 3.1): just enough of a walk to tell the forwarding path
//! which options a packet carries. The kernel's `net/ipv4/ip_options.c` does the full
//! job (`ip_options_compile()`); here only the framing is validated.

use super::super::{Error, Result};

/// IP option types (RFC 791 section 3.1; router alert RFC 2113).
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
    /// Stream identifier (obsolete).
    pub const STREAM_ID: u8 = 136;
    /// Strict source and record route.
    pub const SSRR: u8 = 137;
    /// Router alert (RFC 2113).
    pub const ROUTER_ALERT: u8 = 148;
}

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
    /// Router alert (148), RFC 2113: the packet wants the control plane's attention.
    pub has_router_alert: bool,
    /// Any other option besides EOL/NOP (forwarded untouched, RFC 1812 5.3.13.1).
    pub has_other: bool,
}

/// Walk an options area (RFC 791 section 3.1): EOL (0) ends the list, NOP (1) is one
/// octet, every other option is `type, length, data` with `length` counting the type and
/// length octets. `Err(Malformed)` when a length octet is missing, below 2, or runs past
/// the end; the contents of the options are not validated (Linux
/// `ip_options_compile()` does that for options it processes).
pub fn scan_options(opts: &[u8]) -> Result<OptionsSummary> {
    let mut summary = OptionsSummary::default();
    let mut at = 0;
    while let Some(&kind) = opts.get(at) {
        match kind {
            option_type::EOL => break,
            option_type::NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let len = usize::from(*opts.get(at + 1).ok_or(Error::Malformed)?);
        if len < 2 || len > opts.len() - at {
            return Err(Error::Malformed);
        }
        match kind {
            option_type::LSRR | option_type::SSRR => summary.has_source_route = true,
            option_type::RR => summary.has_record_route = true,
            option_type::TS => summary.has_timestamp = true,
            option_type::ROUTER_ALERT => summary.has_router_alert = true,
            _ => summary.has_other = true,
        }
        at += len;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                has_router_alert: true,
                has_other: true,
                ..none
            })
        );

        // Malformed: missing length, length < 2, length past the end.
        assert_eq!(scan_options(&[0x83]), Err(Error::Malformed));
        assert_eq!(scan_options(&[1, 0x83]), Err(Error::Malformed));
        assert_eq!(scan_options(&[0x83, 0]), Err(Error::Malformed));
        assert_eq!(scan_options(&[0x83, 1, 0, 0]), Err(Error::Malformed));
        assert_eq!(scan_options(&[0x07, 10, 4, 0]), Err(Error::Malformed));
        assert_eq!(
            scan_options(&[0x94, 4, 0, 0, 0x83, 7, 4]),
            Err(Error::Malformed)
        );
    }
}
