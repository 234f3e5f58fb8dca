//! The YAML forms of the FIB objects beyond a plain route: table references and
//! `tables:`, ECMP `via` lists, `nexthops:` and `rules:`.
//!
//! As in the rest of the schema, each type judges what one node shows by itself
//! (shape, unknown keys, address and mark syntax) inside serde, so the error carries
//! the node's position; ranges and references are checked in [`crate::validate`].

use std::fmt;

use ipnet::Ipv4Net;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::Addr;
use crate::net;

/// `table:` as written: a number (any string of digits counts too) or a name;
/// resolved against `tables:` in validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TableRef {
    Id(u64),
    Name(String),
}

impl TableRef {
    /// The text form, for [`crate::config::resolve_table`].
    pub(crate) fn word(&self) -> String {
        match self {
            TableRef::Id(n) => n.to_string(),
            TableRef::Name(s) => s.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for TableRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TableRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table number or name like 100, main or isp2")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TableRef, E> {
                Ok(TableRef::Id(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TableRef, E> {
                u64::try_from(v)
                    .map(TableRef::Id)
                    .map_err(|_| E::custom(format!("table {v} is out of range (1 to 4294967295)")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TableRef, E> {
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    // Too long for u64: still out of range, said in validation.
                    Ok(TableRef::Id(v.parse().unwrap_or(u64::MAX)))
                } else {
                    Ok(TableRef::Name(v.to_string()))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for TableRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TableRef::Id(n) => s.serialize_u64(*n),
            TableRef::Name(n) => s.serialize_str(n),
        }
    }
}

/// `tables[i]`.
#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { id: 100, name: isp2 }"
)]
pub(crate) struct RawTable {
    pub id: u64,
    pub name: String,
}

/// A route's `via:`: one address, or a list of addresses or `{ address, weight, dev }`.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub(crate) enum RawVia {
    One(Addr),
    List(Vec<RawHop>),
}

impl<'de> Deserialize<'de> for RawVia {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawVia;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a gateway address like 10.0.1.2, or a list of them like [10.0.1.2, 10.0.2.2]",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawVia, E> {
                net::parse_addr(v)
                    .map(|a| RawVia::One(Addr(a)))
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawVia, A::Error> {
                let mut out = Vec::new();
                while let Some(h) = seq.next_element_seed(HopSeed)? {
                    out.push(h);
                }
                Ok(RawVia::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of a `via:` list: `10.0.1.2` or `{ address: 10.0.1.2, weight: 3, dev: p0 }`.
#[derive(Deserialize, Debug, Clone)]
#[serde(
    deny_unknown_fields,
    expecting = "a gateway like { address: 10.0.1.2, weight: 2, dev: p0 }"
)]
pub(crate) struct RawHop {
    pub address: Addr,
    #[serde(default)]
    pub weight: Option<u64>,
    #[serde(default)]
    pub dev: Option<String>,
}

/// A bare address when that is all there is, else the mapping.
impl Serialize for RawHop {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.plain() {
            return self.address.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("address", &self.address)?;
        if let Some(w) = self.weight {
            m.serialize_entry("weight", &w)?;
        }
        if let Some(d) = &self.dev {
            m.serialize_entry("dev", d)?;
        }
        m.end()
    }
}

impl RawHop {
    /// Written as a bare address in a dump.
    pub(crate) fn plain(&self) -> bool {
        self.weight.is_none() && self.dev.is_none()
    }
}

/// A `via` list entry: an address alone, or the mapping form of [`RawHop`] (whose
/// derived `Deserialize` takes mappings only).
struct HopSeed;

impl<'de> de::DeserializeSeed<'de> for HopSeed {
    type Value = RawHop;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawHop, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HopSeed {
    type Value = RawHop;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a gateway address like 10.0.1.2 or { address: 10.0.1.2, weight: 2, dev: p0 }")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHop, E> {
        let address = Addr(net::parse_addr(v).map_err(E::custom)?);
        Ok(RawHop {
            address,
            weight: None,
            dev: None,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawHop, A::Error> {
        RawHop::deserialize(MapAccessDeserializer::new(map))
    }
}

/// `nexthops[i]`: a single nexthop (`via`/`dev`/`blackhole`) or a `group`.
#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a nexthop like { id: 1, via: 10.0.1.2 } or { id: 10, group: [{ id: 1 }, { id: 2 }] }"
)]
pub(crate) struct RawNexthop {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub blackhole: bool,
    #[serde(
        default,
        deserialize_with = "members",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<Vec<RawMember>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A group member: `{ id: 1, weight: 3 }`, or just the id.
#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a group member like { id: 1, weight: 2 }"
)]
pub(crate) struct RawMember {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u64>,
}

fn members<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<RawMember>>, D::Error> {
    struct Member;
    impl<'de> de::DeserializeSeed<'de> for Member {
        type Value = RawMember;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawMember, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Member {
        type Value = RawMember;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a group member like { id: 1, weight: 2 } or a nexthop id")
        }
        fn visit_u64<E: de::Error>(self, id: u64) -> Result<RawMember, E> {
            Ok(RawMember { id, weight: None })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawMember, A::Error> {
            RawMember::deserialize(MapAccessDeserializer::new(map))
        }
    }
    struct List;
    impl<'de> Visitor<'de> for List {
        type Value = Option<Vec<RawMember>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of group members like [{ id: 1, weight: 2 }, { id: 2 }]")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(m) = seq.next_element_seed(Member)? {
                out.push(m);
            }
            Ok(Some(out))
        }
    }
    d.deserialize_seq(List)
}

/// `type:` of a rule (the actions other than a table lookup).
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RuleType {
    Blackhole,
    Unreachable,
    Prohibit,
}

/// `rules[i]`.
#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule like { pref: 100, from: 10.0.0.0/8, table: 100 }"
)]
pub(crate) struct RawRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pref: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<Fwmark>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableRef>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RuleType>,
}

/// A rule's `from:`/`to:`: a prefix, or `all` (no selector, `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Selector(pub Option<Ipv4Net>);

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(super::Parse(
            "an IPv4 prefix like 10.0.0.0/8, or all",
            |s| {
                if s == "all" {
                    Ok(Selector(None))
                } else {
                    net::parse_net(s).map(|n| Selector(Some(n)))
                }
            },
        ))
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(n) => s.collect_str(&n),
            None => s.serialize_str("all"),
        }
    }
}

/// A rule's `fwmark:`: a number, or `"MARK/MASK"` (decimal or 0x hex), normalized as
/// Linux stores it ([`net::fwmark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fwmark(pub Option<(u32, u32)>);

impl<'de> Deserialize<'de> for Fwmark {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fwmark;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mark like 0x10 or \"0x1/0xff\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fwmark, E> {
                let mark = u32::try_from(v).map_err(|_| {
                    E::custom(format!("fwmark {v} is out of range (0 to 4294967295)"))
                })?;
                Ok(Fwmark(net::fwmark(mark, None)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fwmark, E> {
                Err(E::custom(format!(
                    "fwmark {v} is out of range (0 to 4294967295)"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fwmark, E> {
                net::parse_fwmark(v).map(Fwmark).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Fwmark {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some((mark, mask)) => s.collect_str(&format_args!("{mark:#x}/{mask:#x}")),
            None => s.serialize_u64(0),
        }
    }
}
