//! Ethernet MAC addresses (`02:00:00:00:00:01`) as they appear in the config.
//!
//! [`MacAddr`] parses `aa:bb:cc:dd:ee:ff` (or `-` separated, one or two hex digits a
//! group) and prints lowercase colon form. Its serde impl also takes the YAML 1.1
//! reading of an unquoted MAC whose groups are all decimal digits (`12:34:56:00:00:01`),
//! which a YAML 1.1 loader turns into a base-60 ("sexagesimal") integer: serde_yaml 0.9
//! is YAML 1.2 and hands us a string, but a config written for, or passed through, a
//! 1.1 tool must not change meaning. The integer is split back into six base-60
//! digits, each printed as two decimal digits and read as hex.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A 48-bit Ethernet address, most significant octet first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

/// Why a string is not a MAC address.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("invalid MAC address `{text}`: {why} (expected six hex groups like 02:00:00:00:00:01)")]
pub struct MacParseError {
    /// The text that failed to parse.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// 00:00:00:00:00:00
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The six octets.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Group bit (I/G, bit 0 of the first octet) set: multicast or broadcast.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 != 0
    }

    /// All octets zero.
    pub fn is_zero(self) -> bool {
        self == Self::ZERO
    }

    /// Usable as a port's or neighbor's own address: unicast and not all-zero.
    pub fn is_unicast(self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }

    /// Undo a YAML 1.1 sexagesimal reading of an all-decimal MAC (see the module doc).
    /// `None` when `v` cannot be such a reading (the first group is 1..=99 since YAML
    /// 1.1 requires a non-zero leading digit, the other five are 0..=59).
    pub fn from_sexagesimal(v: u64) -> Option<MacAddr> {
        const B5: u64 = 60 * 60 * 60 * 60 * 60;
        if !(B5..100 * B5).contains(&v) {
            return None;
        }
        let mut out = [0u8; 6];
        let mut groups = [0u64; 6];
        let mut r = v;
        for g in groups[1..].iter_mut().rev() {
            *g = r % 60;
            r /= 60;
        }
        groups[0] = r;
        for (o, g) in out.iter_mut().zip(groups) {
            // "dd" decimal digits read as hex: 59 -> 0x59
            *o = u8::try_from((g / 10) * 16 + g % 10).ok()?;
        }
        Some(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| MacParseError {
            text: s.to_string(),
            why,
        };
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut n = 0;
        for group in s.split(sep) {
            if n == 6 {
                return Err(err("more than six groups"));
            }
            if group.is_empty() || group.len() > 2 {
                return Err(err("each group is one or two hex digits"));
            }
            if !group.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err("not a hex digit"));
            }
            out[n] = u8::from_str_radix(group, 16).map_err(|_| err("not a hex digit"))?;
            n += 1;
        }
        if n != 6 {
            return Err(err("fewer than six groups"));
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct MacVisitor;

impl Visitor<'_> for MacVisitor {
    type Value = MacAddr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MAC address like 02:00:00:00:00:01")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<MacAddr, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<MacAddr, E> {
        MacAddr::from_sexagesimal(v).ok_or_else(|| {
            E::custom(format!(
                "invalid MAC address: found the integer {v}, expected a MAC address like \
                 02:00:00:00:00:01 (quote it)"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MacVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let m: MacAddr = "02:00:00:00:00:01".parse().unwrap();
        assert_eq!(m, MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(m.to_string(), "02:00:00:00:00:01");
        let m: MacAddr = "AA-bb-0c-d-EE-ff".parse().unwrap();
        assert_eq!(m.to_string(), "aa:bb:0c:0d:ee:ff");
        assert_eq!(format!("{m:?}"), "MacAddr(aa:bb:0c:0d:ee:ff)");
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:01:02",
            "02:00:00:00:00:0g",
            "002:0:0:0:0:1",
            "02::00:00:00:01",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad} parsed");
        }
        let e = "02:00:00:00:00:zz".parse::<MacAddr>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid MAC address `02:00:00:00:00:zz`: not a hex digit (expected six hex groups like 02:00:00:00:00:01)"
        );
    }

    #[test]
    fn flags() {
        assert!(MacAddr::BROADCAST.is_multicast());
        assert!(MacAddr([0x01, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert!(MacAddr::ZERO.is_zero());
        assert!(!MacAddr::ZERO.is_unicast());
        assert!(MacAddr([2, 0, 0, 0, 0, 1]).is_unicast());
    }

    #[test]
    fn yaml_unquoted_is_a_string_in_yaml_1_2() {
        let m: MacAddr = serde_yaml::from_str("02:00:00:00:00:01").unwrap();
        assert_eq!(m, MacAddr([2, 0, 0, 0, 0, 1]));
        // All-decimal groups with a non-zero lead: sexagesimal in YAML 1.1.
        let m: MacAddr = serde_yaml::from_str("12:34:56:00:00:01").unwrap();
        assert_eq!(m, MacAddr([0x12, 0x34, 0x56, 0, 0, 1]));
    }

    #[test]
    fn yaml_1_1_sexagesimal_integer_is_accepted() {
        // What a YAML 1.1 loader makes of `12:34:56:00:00:01`.
        let v = ((((12u64 * 60 + 34) * 60 + 56) * 60) * 60) * 60 + 1;
        let m: MacAddr = serde_yaml::from_str(&v.to_string()).unwrap();
        assert_eq!(m, MacAddr([0x12, 0x34, 0x56, 0, 0, 1]));
        assert_eq!(MacAddr::from_sexagesimal(v), Some(m));
        // Small integers are not MACs.
        let e = serde_yaml::from_str::<MacAddr>("12").unwrap_err();
        assert!(e.to_string().contains("found the integer 12"), "{e}");
    }

    #[test]
    fn serialize_as_string() {
        let s = serde_yaml::to_string(&MacAddr([2, 0, 0, 0, 0, 0x1e])).unwrap();
        assert_eq!(s.trim(), "02:00:00:00:00:1e");
        let back: MacAddr = serde_yaml::from_str(&s).unwrap();
        assert_eq!(back, MacAddr([2, 0, 0, 0, 0, 0x1e]));
    }
}
