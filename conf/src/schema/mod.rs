//! The YAML schema: serde types that mirror the file one to one.
//!
//! Pass 1 of loading deserializes the text into [`RawConfig`]. Everything that can be
//! judged from one node alone is judged here, inside serde, so that serde_yaml puts the
//! node's line and column on the error: unknown keys (`deny_unknown_fields`
//! everywhere), wrong types, missing required keys, malformed addresses, prefixes and
//! MACs, unknown route types. Ranges and cross-references are checked in
//! [`crate::validate`]. Numbers that have a range are read as `u64` here so that an
//! out-of-range value gets a range message there, not a bare "expected u16".
//!
//! The same types serialize the canonical dump ([`dump::to_yaml`]). The FIB objects
//! beyond plain routes (tables, via lists, nexthops, rules) are in [`fib`].

mod dump;
mod fib;

pub(crate) use dump::to_yaml;
pub(crate) use fib::{
    RawHop, RawMember, RawNexthop, RawRule, RawTable, RawVia, RuleType, TableRef,
};

use std::fmt;
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::Settings;
use crate::mac::MacAddr;
use crate::net;

/// The whole file.
#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `ports:` and optionally `neighbors:`, `tables:`, `nexthops:`, \
                 `routes:`, `route_files:`, `rules:`, `settings:`"
)]
pub(crate) struct RawConfig {
    pub ports: Vec<RawPort>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub neighbors: Vec<RawNeighbor>,
    #[serde(
        default,
        deserialize_with = "null_is_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tables: Vec<RawTable>,
    #[serde(
        default,
        deserialize_with = "null_is_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub nexthops: Vec<RawNexthop>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub routes: Vec<RawRoute>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub route_files: Vec<RawRouteFile>,
    #[serde(
        default,
        deserialize_with = "null_is_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub settings: RawSettings,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a port like { name: p0, device: 0000:01:00.0 }"
)]
pub(crate) struct RawPort {
    pub name: String,
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    #[serde(default = "default_mtu")]
    pub mtu: u64,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub addresses: Vec<Net>,
    #[serde(default = "default_desc")]
    pub rx_desc: u64,
    #[serde(default = "default_desc")]
    pub tx_desc: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_queues: Option<u64>,
    #[serde(default = "default_true")]
    pub send_redirects: bool,
    #[serde(default)]
    pub rp_filter: u64,
    #[serde(default = "default_true")]
    pub accept_redirects: bool,
    #[serde(default = "default_true")]
    pub secure_redirects: bool,
    #[serde(default = "default_true")]
    pub shared_media: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_reachable_time_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_first_probe_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrans_time_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ucast_solicit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_solicit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gc_stale_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unres_qlen: Option<u64>,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a neighbor like { address: 10.0.1.2, mac: \"02:00:00:00:01:02\", port: p0 }"
)]
pub(crate) struct RawNeighbor {
    pub address: Addr,
    pub mac: MacAddr,
    pub port: String,
}

/// `type:` of a route; `unicast` (the default) needs `via` or `dev`.
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RouteType {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl RouteType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
        }
    }
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a route like { prefix: 10.0.0.0/8, via: 10.0.1.2 }"
)]
pub(crate) struct RawRoute {
    pub prefix: Net,
    /// One gateway, or a list (ECMP when it has two or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<RawVia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhid: Option<u64>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RouteType>,
    #[serde(default)]
    pub metric: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableRef>,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(
    deny_unknown_fields,
    expecting = "a route file like { path: routes.txt.xz, via: [10.0.1.2] }"
)]
pub(crate) struct RawRouteFile {
    pub path: PathBuf,
    /// A list, or a single address for one gateway.
    #[serde(deserialize_with = "one_or_many")]
    pub via: Vec<Addr>,
    #[serde(default)]
    pub metric: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableRef>,
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(deny_unknown_fields, default, expecting = "a mapping of settings")]
pub(crate) struct RawSettings {
    pub ip_default_ttl: u64,
    pub icmp_msgs_per_sec: u32,
    pub icmp_msgs_burst: u32,
    pub icmp_ratelimit: u32,
    pub icmp_ratemask: u32,
    pub icmp_echo_ignore_broadcasts: bool,
    pub burst: u64,
    pub mbufs: u64,
    pub fib_multipath_hash_policy: u64,
    pub base_reachable_time_ms: u64,
    pub delay_first_probe_time: u64,
    pub retrans_time_ms: u64,
    pub ucast_solicit: u64,
    pub mcast_solicit: u64,
    pub gc_stale_time: u64,
    pub gc_thresh1: u64,
    pub gc_thresh2: u64,
    pub gc_thresh3: u64,
    pub unres_qlen: u64,
    pub arp_notify: bool,
    pub send_redirects: bool,
    pub rp_filter: u64,
    pub accept_redirects: bool,
    pub secure_redirects: bool,
    pub shared_media: bool,
    pub ip_forward_use_pmtu: bool,
    pub min_pmtu: u64,
    pub mtu_expires: u64,
    pub gc_timeout: u64,
    pub dst_cache: bool,
    pub route_hints: bool,
    pub flowtable: bool,
    pub nf_conntrack_max: u64,
    pub nf_conntrack_tcp_timeout_syn_sent: u64,
    pub nf_conntrack_tcp_timeout_syn_recv: u64,
    pub nf_conntrack_tcp_timeout_established: u64,
    pub nf_conntrack_tcp_timeout_fin_wait: u64,
    pub nf_conntrack_tcp_timeout_close: u64,
    pub nf_conntrack_udp_timeout: u64,
    pub nf_conntrack_udp_timeout_stream: u64,
    pub nf_flowtable_tcp_timeout: u64,
    pub nf_flowtable_udp_timeout: u64,
    pub nf_conntrack_tcp_loose: bool,
    pub idle_sleep_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings::from(&Settings::default())
    }
}

impl From<&Settings> for RawSettings {
    fn from(s: &Settings) -> Self {
        RawSettings {
            ip_default_ttl: s.ip_default_ttl.into(),
            icmp_msgs_per_sec: s.icmp_msgs_per_sec,
            icmp_msgs_burst: s.icmp_msgs_burst,
            icmp_ratelimit: s.icmp_ratelimit,
            icmp_ratemask: s.icmp_ratemask,
            icmp_echo_ignore_broadcasts: s.icmp_echo_ignore_broadcasts,
            burst: s.burst.into(),
            mbufs: s.mbufs.into(),
            fib_multipath_hash_policy: s.fib_multipath_hash_policy.into(),
            base_reachable_time_ms: s.base_reachable_time_ms.into(),
            delay_first_probe_time: s.delay_first_probe_time.into(),
            retrans_time_ms: s.retrans_time_ms.into(),
            ucast_solicit: s.ucast_solicit.into(),
            mcast_solicit: s.mcast_solicit.into(),
            gc_stale_time: s.gc_stale_time.into(),
            gc_thresh1: s.gc_thresh1.into(),
            gc_thresh2: s.gc_thresh2.into(),
            gc_thresh3: s.gc_thresh3.into(),
            unres_qlen: s.unres_qlen.into(),
            arp_notify: s.arp_notify,
            send_redirects: s.send_redirects,
            rp_filter: s.rp_filter.into(),
            accept_redirects: s.accept_redirects,
            secure_redirects: s.secure_redirects,
            shared_media: s.shared_media,
            ip_forward_use_pmtu: s.ip_forward_use_pmtu,
            min_pmtu: s.min_pmtu.into(),
            mtu_expires: s.mtu_expires.into(),
            gc_timeout: s.gc_timeout.into(),
            dst_cache: s.dst_cache,
            route_hints: s.route_hints,
            flowtable: s.flowtable,
            nf_conntrack_max: s.nf_conntrack_max.into(),
            nf_conntrack_tcp_timeout_syn_sent: s.nf_conntrack_tcp_timeout_syn_sent.into(),
            nf_conntrack_tcp_timeout_syn_recv: s.nf_conntrack_tcp_timeout_syn_recv.into(),
            nf_conntrack_tcp_timeout_established: s.nf_conntrack_tcp_timeout_established.into(),
            nf_conntrack_tcp_timeout_fin_wait: s.nf_conntrack_tcp_timeout_fin_wait.into(),
            nf_conntrack_tcp_timeout_close: s.nf_conntrack_tcp_timeout_close.into(),
            nf_conntrack_udp_timeout: s.nf_conntrack_udp_timeout.into(),
            nf_conntrack_udp_timeout_stream: s.nf_conntrack_udp_timeout_stream.into(),
            nf_flowtable_tcp_timeout: s.nf_flowtable_tcp_timeout.into(),
            nf_flowtable_udp_timeout: s.nf_flowtable_udp_timeout.into(),
            nf_conntrack_tcp_loose: s.nf_conntrack_tcp_loose,
            idle_sleep_us: s.idle_sleep_us.into(),
            metrics_listen: s.metrics_listen.map(|a| a.to_string()),
        }
    }
}

fn default_mtu() -> u64 {
    1500
}

fn default_true() -> bool {
    true
}

fn default_desc() -> u64 {
    1024
}

/// `key:` with no value (YAML null) means an empty list.
fn null_is_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A sequence, or one scalar standing for a sequence of one.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Addr>, D::Error> {
    struct V(PhantomData<Addr>);
    impl<'de> Visitor<'de> for V {
        type Value = Vec<Addr>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of IPv4 addresses like [10.0.1.2, 10.0.2.2]")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<Addr>, E> {
            Ok(vec![Addr(net::parse_addr(v).map_err(E::custom)?)])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Addr>, A::Error> {
            let mut out = Vec::new();
            while let Some(a) = seq.next_element()? {
                out.push(a);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(PhantomData))
}

/// An IPv4 address in the file (`10.0.1.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addr(pub Ipv4Addr);

/// An IPv4 prefix in the file (`10.0.1.1/24`), host bits kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net(pub Ipv4Net);

/// A string visitor that parses with `parse`, so the error is raised inside the node.
struct Parse<T>(&'static str, fn(&str) -> Result<T, String>);

impl<T> Visitor<'_> for Parse<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Addr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse("an IPv4 address like 10.0.1.2", |s| {
            net::parse_addr(s).map(Addr)
        }))
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Parse("an IPv4 prefix like 10.0.1.0/24", |s| {
            net::parse_net(s).map(Net)
        }))
    }
}

impl Serialize for Addr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Result<RawConfig, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn minimal_and_defaults() {
        let r = raw("ports:\n  - { name: p0, device: x }\n").unwrap();
        assert_eq!(r.ports[0].mtu, 1500);
        assert_eq!((r.ports[0].rx_desc, r.ports[0].tx_desc), (1024, 1024));
        assert!(r.neighbors.is_empty() && r.routes.is_empty() && r.route_files.is_empty());
        assert_eq!(r.settings.ip_default_ttl, 64);
    }

    #[test]
    fn null_lists_are_empty() {
        let r = raw("ports:\n  - { name: p0, device: x, addresses: }\nroutes:\nneighbors: ~\n")
            .unwrap();
        assert!(r.routes.is_empty() && r.neighbors.is_empty() && r.ports[0].addresses.is_empty());
    }

    #[test]
    fn via_scalar_or_list() {
        let r = raw("ports: []\nroute_files:\n  - { path: a, via: 10.0.0.1 }\n  - { path: b, via: [10.0.0.1, 10.0.0.2] }\n")
            .unwrap();
        assert_eq!(r.route_files[0].via.len(), 1);
        assert_eq!(r.route_files[1].via.len(), 2);
    }

    #[test]
    fn custom_errors_carry_the_node_position() {
        // An error raised by our own visitor is placed at the node being parsed.
        let e = serde_yaml::from_str::<RawConfig>(
            "ports: []\nroutes:\n  - { prefix: 10.0.0.300/24, via: 10.0.0.1 }\n",
        )
        .unwrap_err();
        let loc = e.location().unwrap();
        assert_eq!((loc.line(), loc.column()), (3, 15));
        assert!(
            e.to_string()
                .contains("`10.0.0.300` is not an IPv4 address"),
            "{e}"
        );
    }

    #[test]
    fn route_types() {
        let r = raw("ports: []\nroutes:\n  - { prefix: 10.0.0.0/8, type: prohibit }\n").unwrap();
        assert_eq!(r.routes[0].kind, Some(RouteType::Prohibit));
        let e = raw("ports: []\nroutes:\n  - { prefix: 10.0.0.0/8, type: drop }\n").unwrap_err();
        assert!(
            e.contains("unknown variant `drop`, expected one of `unicast`, `blackhole`"),
            "{e}"
        );
        assert_eq!(RouteType::Unreachable.name(), "unreachable");
    }
}
