//! Parsing IPv4 addresses and prefixes from config text, with messages that say what
//! is wrong, plus the few address-class predicates validation needs.
//!
//! Used by the YAML schema ([`crate::schema`]) and by route files
//! ([`crate::route_file`]). Addresses follow `Ipv4Addr::from_str` (four decimal
//! octets, no leading zeros, so `010.0.0.1` is rejected rather than read as octal);
//! prefixes are `address/length` with a length of 0..=32 and host bits kept, as in
//! `10.0.1.1/24` for an interface address. [`canonical`] checks that a route prefix has
//! no host bits set.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Parse a dotted-quad IPv4 address.
pub(crate) fn parse_addr(s: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| {
        format!("`{s}` is not an IPv4 address (expected four numbers 0-255 like 10.0.1.2)")
    })
}

/// Parse `a.b.c.d/len`, keeping host bits.
pub(crate) fn parse_net(s: &str) -> Result<Ipv4Net, String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(format!("`{s}` has no prefix length (write it like {s}/24)"));
    };
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("invalid prefix `{s}`: `{addr}` is not an IPv4 address"))?;
    if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid prefix `{s}`: prefix length `{len}` is not a number from 0 to 32"
        ));
    }
    let len: u8 = len
        .parse()
        .map_err(|_| format!("invalid prefix `{s}`: bad prefix length"))?;
    Ipv4Net::new(addr, len)
        .map_err(|_| format!("invalid prefix `{s}`: prefix length {len} is out of range (0 to 32)"))
}

/// `Ok` if `net` has no host bits set, else the message for a route prefix.
pub(crate) fn canonical(net: Ipv4Net) -> Result<(), String> {
    if net.addr() == net.network() {
        Ok(())
    } else {
        Err(format!(
            "prefix {net} has host bits set, did you mean {}?",
            net.trunc()
        ))
    }
}

/// Why `a` cannot be a router's own (interface) address, if it cannot.
pub(crate) fn not_host_address(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if o[0] == 0 {
        Some("is in 0.0.0.0/8 (\"this network\")")
    } else if a.is_loopback() {
        Some("is a loopback address")
    } else if a.is_multicast() {
        Some("is a multicast address")
    } else if o[0] >= 240 {
        Some("is in the reserved or broadcast range 240.0.0.0/4")
    } else {
        None
    }
}

/// The network or broadcast address of `net`, for prefixes shorter than /31
/// (RFC 3021 lets both addresses of a /31 be used).
pub(crate) fn network_or_broadcast(a: Ipv4Addr, net: Ipv4Net) -> Option<&'static str> {
    if net.prefix_len() >= 31 {
        None
    } else if a == net.network() {
        Some("network")
    } else if a == net.broadcast() {
        Some("broadcast")
    } else {
        None
    }
}

/// Two prefixes share at least one address.
pub(crate) fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.trunc().contains(&b.network()) || b.trunc().contains(&a.network())
}

/// A `u32` in decimal or `0x` hex (as iproute2 reads marks; no octal).
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(h, 16).ok()
        }
        Some(_) => None,
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

/// A rule's `(mark, mask)` as Linux stores it: without a mask, all bits of a non-zero
/// mark are compared (0xffffffff); a zero mark with no (or a zero) mask compares
/// nothing, which is no selector at all (`None`).
pub(crate) fn fwmark(mark: u32, mask: Option<u32>) -> Option<(u32, u32)> {
    let mask = mask.unwrap_or(if mark == 0 { 0 } else { u32::MAX });
    (mark != 0 || mask != 0).then_some((mark, mask))
}

/// `MARK[/MASK]`, each decimal or `0x` hex, normalized by [`fwmark`].
pub(crate) fn parse_fwmark(s: &str) -> Result<Option<(u32, u32)>, String> {
    let (mark, mask) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let num = |t: &str| {
        parse_u32(t).ok_or_else(|| {
            format!("fwmark `{s}`: `{t}` is not a number from 0 to 0xffffffff (decimal or 0x hex)")
        })
    };
    Ok(fwmark(num(mark)?, mask.map(num).transpose()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        parse_net(s).unwrap()
    }

    #[test]
    fn parses() {
        assert_eq!(parse_addr("10.0.1.2").unwrap(), Ipv4Addr::new(10, 0, 1, 2));
        let n = net("10.0.1.1/24");
        assert_eq!(n.addr(), Ipv4Addr::new(10, 0, 1, 1));
        assert_eq!(n.prefix_len(), 24);
        assert_eq!(net("0.0.0.0/0").prefix_len(), 0);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_net("10.0.0.300/24").unwrap_err(),
            "invalid prefix `10.0.0.300/24`: `10.0.0.300` is not an IPv4 address"
        );
        assert_eq!(
            parse_net("10.0.0.0/33").unwrap_err(),
            "invalid prefix `10.0.0.0/33`: prefix length 33 is out of range (0 to 32)"
        );
        assert!(parse_net("10.0.0.0/+8")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_net("10.0.0.0/").unwrap_err().contains("not a number"));
        assert!(parse_net("10.0.0.0")
            .unwrap_err()
            .contains("no prefix length"));
        assert!(parse_addr("010.0.0.1").is_err());
        assert!(parse_addr("10.0.0").is_err());
    }

    #[test]
    fn canonical_hint() {
        assert!(canonical(net("10.0.0.0/24")).is_ok());
        assert_eq!(
            canonical(net("10.0.0.1/24")).unwrap_err(),
            "prefix 10.0.0.1/24 has host bits set, did you mean 10.0.0.0/24?"
        );
    }

    #[test]
    fn classes() {
        assert!(not_host_address(Ipv4Addr::new(10, 0, 0, 1)).is_none());
        assert!(not_host_address(Ipv4Addr::new(0, 1, 2, 3)).is_some());
        assert!(not_host_address(Ipv4Addr::new(127, 0, 0, 1)).is_some());
        assert!(not_host_address(Ipv4Addr::new(224, 0, 0, 5)).is_some());
        assert!(not_host_address(Ipv4Addr::new(255, 255, 255, 255)).is_some());
        let n = net("10.0.1.1/24");
        assert_eq!(
            network_or_broadcast(Ipv4Addr::new(10, 0, 1, 0), n),
            Some("network")
        );
        assert_eq!(
            network_or_broadcast(Ipv4Addr::new(10, 0, 1, 255), n),
            Some("broadcast")
        );
        assert_eq!(network_or_broadcast(Ipv4Addr::new(10, 0, 1, 1), n), None);
        assert_eq!(
            network_or_broadcast(Ipv4Addr::new(10, 0, 1, 0), net("10.0.1.0/31")),
            None
        );
    }

    #[test]
    fn numbers_and_marks() {
        assert_eq!(parse_u32("0x1f"), Some(31));
        assert_eq!(parse_u32("31"), Some(31));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        for bad in ["", "0x", "4294967296", "-1", "1f", "0x1g", "+3"] {
            assert_eq!(parse_u32(bad), None, "{bad}");
        }
        assert_eq!(parse_fwmark("0x1/0xff"), Ok(Some((1, 0xff))));
        assert_eq!(parse_fwmark("7"), Ok(Some((7, u32::MAX))));
        assert_eq!(parse_fwmark("0"), Ok(None));
        assert_eq!(parse_fwmark("0/0"), Ok(None));
        assert_eq!(parse_fwmark("0/0x3"), Ok(Some((0, 3))));
        assert_eq!(
            parse_fwmark("0x1/zz").unwrap_err(),
            "fwmark `0x1/zz`: `zz` is not a number from 0 to 0xffffffff (decimal or 0x hex)"
        );
    }

    #[test]
    fn overlap() {
        assert!(overlaps(net("10.0.1.1/24"), net("10.0.1.7/24")));
        assert!(overlaps(net("10.0.0.1/16"), net("10.0.1.7/24")));
        assert!(overlaps(net("10.0.1.7/24"), net("10.0.0.1/16")));
        assert!(!overlaps(net("10.0.1.1/24"), net("10.0.2.1/24")));
    }
}
