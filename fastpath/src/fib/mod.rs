//! The FIB (the kernel's `fib_frontend.c`, `fib_rules.c` and the tables of `fib_trie.c`):
//! numbered tables of longest-prefix-match routes, and the policy rules (RPDB) that pick
//! which tables a packet is looked up in.
//!
//! As in Linux, while only the three default rules exist (0 lookup local, 32766 lookup
//! main, 32767 lookup default) the local table is merged into main (`fib_unmerge` undoes
//! that when a rule is added), so the common case is one lookup. [`Fib::default_rules_only`]
//! tells the pipeline it may reuse a decision across packets with the same destination.
//!
//! A table maps a prefix to a [`RouteType`] encoded in a u32 (3-bit type, 29-bit id).

pub mod lctrie;
pub mod rules;

/// A routing table: the LC-trie (see [`lctrie`]).
pub use lctrie::LcTrie as Table;
pub use lctrie::{Change, NO_ROUTE};
pub use rules::{FlowKey, Rule, RuleAction};

use crate::nexthop::NhId;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The standard tables (`rt_class_t`).
pub const TABLE_DEFAULT: u32 = 253;
pub const TABLE_MAIN: u32 = 254;
pub const TABLE_LOCAL: u32 = 255;

/// What a route does with a matching packet (the kernel's `RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteType {
    /// Forward through a next hop.
    Unicast(NhId),
    /// Forward through one member of a next-hop group, chosen by flow hash (ECMP).
    Multipath(u32),
    /// One of our addresses: deliver locally.
    Local,
    /// A directed broadcast address of one of our subnets: deliver locally.
    Broadcast,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP host unreachable.
    Unreachable,
    /// Drop with ICMP administratively prohibited.
    Prohibit,
}

const ID_BITS: u32 = 29;
const ID_MASK: u32 = (1 << ID_BITS) - 1;

impl RouteType {
    /// Largest next-hop or group id a route can carry.
    pub const MAX_ID: u32 = ID_MASK;

    /// The table value: type in the top 3 bits, id below. Never [`NO_ROUTE`].
    pub const fn encode(self) -> u32 {
        match self {
            RouteType::Unicast(nh) => nh & ID_MASK,
            RouteType::Multipath(g) => (1 << ID_BITS) | (g & ID_MASK),
            RouteType::Local => 2 << ID_BITS,
            RouteType::Broadcast => 3 << ID_BITS,
            RouteType::Blackhole => 4 << ID_BITS,
            RouteType::Unreachable => 5 << ID_BITS,
            RouteType::Prohibit => 6 << ID_BITS,
        }
    }

    /// Inverse of [`RouteType::encode`]; None for [`NO_ROUTE`].
    #[inline(always)]
    pub const fn decode(v: u32) -> Option<RouteType> {
        let id = v & ID_MASK;
        Some(match v >> ID_BITS {
            0 => RouteType::Unicast(id),
            1 => RouteType::Multipath(id),
            2 => RouteType::Local,
            3 => RouteType::Broadcast,
            4 => RouteType::Blackhole,
            5 => RouteType::Unreachable,
            6 => RouteType::Prohibit,
            _ => return None,
        })
    }

    /// iproute2's word for the type.
    pub const fn name(self) -> &'static str {
        match self {
            RouteType::Unicast(_) | RouteType::Multipath(_) => "unicast",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
        }
    }
}

/// A prefix: network address (host bits zero) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: u32,
    pub len: u8,
}

/// Hashes the address byte-swapped, so that multiplicative hashers (FxHash) see the
/// significant octets in the low bits: masked addresses end in zero bits, which would put
/// every /16 in the same hashbrown probe chain.
impl std::hash::Hash for Prefix {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.len) << 32 | u64::from(self.addr.swap_bytes()));
    }
}

impl Prefix {
    /// Builds a prefix, clearing host bits.
    pub fn new(addr: Ipv4Addr, len: u8) -> Prefix {
        let len = len.min(32);
        Prefix {
            addr: u32::from(addr) & mask(len),
            len,
        }
    }

    #[inline]
    pub fn contains(&self, a: u32) -> bool {
        a & mask(self.len) == self.addr
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.len == 0 {
            return f.write_str("default");
        }
        write!(f, "{}/{}", Ipv4Addr::from(self.addr), self.len)
    }
}

#[inline(always)]
pub const fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// The outcome of a FIB lookup: the route, and which rule and table gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibResult {
    pub route: RouteType,
    pub table: u32,
    pub rule: u32,
}

/// Tables and rules: everything a route lookup reads. Cheap to clone (tables are
/// shared, immutable versions).
#[derive(Debug, Clone)]
pub struct Fib {
    /// Tables by id, sorted; absent tables are empty.
    tables: Vec<(u32, Table)>,
    /// Rules by ascending pref (the three defaults included).
    rules: Arc<[Rule]>,
    default_only: bool,
}

impl Default for Fib {
    fn default() -> Self {
        Fib::new(rules::default_rules())
    }
}

impl Fib {
    /// An empty FIB with these rules (sorted by pref here). While they are exactly the
    /// defaults, local routes belong in the main table (see the module doc).
    pub fn new(mut rules: Vec<Rule>) -> Fib {
        rules.sort_by_key(|r| r.pref);
        let default_only = rules == rules::default_rules();
        Fib {
            tables: Vec::new(),
            rules: rules.into(),
            default_only,
        }
    }

    /// Whether only the default rules exist: local lives in main, and a lookup depends on
    /// the destination alone (what `ip_extract_route_hint` checks).
    #[inline(always)]
    pub fn default_rules_only(&self) -> bool {
        self.default_only
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The table that holds routes of table `id` (local is merged into main while only
    /// the default rules exist).
    pub fn storage_table(&self, id: u32) -> u32 {
        if self.default_only && id == TABLE_LOCAL {
            TABLE_MAIN
        } else {
            id
        }
    }

    #[inline]
    pub fn table(&self, id: u32) -> Option<&Table> {
        self.tables
            .binary_search_by_key(&id, |t| t.0)
            .ok()
            .map(|i| &self.tables[i].1)
    }

    /// Replaces table `id` (a new version built by the caller).
    pub fn set_table(&mut self, id: u32, t: Table) {
        match self.tables.binary_search_by_key(&id, |t| t.0) {
            Ok(i) => self.tables[i].1 = t,
            Err(i) => self.tables.insert(i, (id, t)),
        }
    }

    /// Table ids present, ascending.
    pub fn table_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.tables.iter().map(|t| t.0)
    }

    /// Total prefixes over all tables.
    pub fn len(&self) -> usize {
        self.tables.iter().map(|t| t.1.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn memory_bytes(&self) -> usize {
        self.tables.iter().map(|t| t.1.memory_bytes()).sum()
    }

    #[inline(always)]
    fn lookup_in(&self, table: u32, daddr: u32) -> Option<RouteType> {
        RouteType::decode(self.table(table)?.lookup(daddr))
    }

    /// Destination-only lookup for the default rules: main (with local merged in), then
    /// default. Only meaningful when [`Fib::default_rules_only`].
    #[inline(always)]
    pub fn lookup_default(&self, daddr: u32) -> Option<FibResult> {
        if let Some(route) = self.lookup_in(TABLE_MAIN, daddr) {
            return Some(FibResult {
                route,
                table: TABLE_MAIN,
                rule: rules::PREF_MAIN,
            });
        }
        self.lookup_in(TABLE_DEFAULT, daddr).map(|route| FibResult {
            route,
            table: TABLE_DEFAULT,
            rule: rules::PREF_DEFAULT,
        })
    }

    /// Looks up a burst of keys into `out` (same length). With only the default rules this
    /// is one bulk lookup in main, whose memory accesses overlap across the burst (the
    /// default table only for misses); otherwise rule by rule per key. `addrs` and `vals`
    /// are the caller's scratch space, at least as long as `keys`.
    pub fn lookup_burst(
        &self,
        keys: &[FlowKey],
        addrs: &mut [u32],
        vals: &mut [u32],
        out: &mut [Option<FibResult>],
    ) {
        let n = keys.len();
        let main = self.table(TABLE_MAIN).filter(|_| self.default_only);
        let Some(main) = main else {
            for (k, o) in keys.iter().zip(out.iter_mut()) {
                *o = self.lookup(k);
            }
            return;
        };
        for (k, a) in keys.iter().zip(addrs.iter_mut()) {
            *a = u32::from(k.daddr);
        }
        main.lookup_bulk(&addrs[..n], &mut vals[..n]);
        for i in 0..n {
            out[i] = match RouteType::decode(vals[i]) {
                Some(route) => Some(FibResult {
                    route,
                    table: TABLE_MAIN,
                    rule: rules::PREF_MAIN,
                }),
                None => self
                    .lookup_in(TABLE_DEFAULT, addrs[i])
                    .map(|route| FibResult {
                        route,
                        table: TABLE_DEFAULT,
                        rule: rules::PREF_DEFAULT,
                    }),
            };
        }
    }

    /// `fib_lookup`: the rules in pref order; the first that matches and yields a route
    /// (or is itself a blackhole/unreachable/prohibit rule) decides. None: no route, which
    /// includes an `unreachable` rule (the kernel's `fib4_rule_action` returns ENETUNREACH
    /// for it, as for a missing route, while an unreachable *route* is EHOSTUNREACH).
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<FibResult> {
        if self.default_only {
            return self.lookup_default(u32::from(key.daddr));
        }
        self.decide(key).1
    }

    /// [`Fib::lookup`], also telling which rule decided (None: no rule did, e.g. every
    /// matching lookup rule found nothing). For `route get`.
    pub fn explain(&self, key: &FlowKey) -> (Option<u32>, Option<FibResult>) {
        self.decide(key)
    }

    #[inline]
    fn decide(&self, key: &FlowKey) -> (Option<u32>, Option<FibResult>) {
        let daddr = u32::from(key.daddr);
        for r in self.rules.iter() {
            if !r.matches(key) {
                continue;
            }
            let (route, table) = match r.action {
                RuleAction::Lookup(t) => match self.lookup_in(t, daddr) {
                    Some(route) => (route, t),
                    None => continue,
                },
                RuleAction::Blackhole => (RouteType::Blackhole, 0),
                RuleAction::Unreachable => return (Some(r.pref), None),
                RuleAction::Prohibit => (RouteType::Prohibit, 0),
            };
            return (
                Some(r.pref),
                Some(FibResult {
                    route,
                    table,
                    rule: r.pref,
                }),
            );
        }
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn route_type_encoding_round_trips() {
        for rt in [
            RouteType::Unicast(0),
            RouteType::Unicast(RouteType::MAX_ID),
            RouteType::Multipath(7),
            RouteType::Local,
            RouteType::Broadcast,
            RouteType::Blackhole,
            RouteType::Unreachable,
            RouteType::Prohibit,
        ] {
            assert_ne!(rt.encode(), NO_ROUTE);
            assert_eq!(RouteType::decode(rt.encode()), Some(rt));
        }
        assert_eq!(RouteType::decode(NO_ROUTE), None);
    }

    #[test]
    fn prefix_display_and_host_bits() {
        assert_eq!(
            Prefix::new("10.1.2.3".parse().unwrap(), 8).to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            Prefix::new("1.2.3.4".parse().unwrap(), 0).to_string(),
            "default"
        );
    }

    fn oracle_lookup(routes: &[(u32, u8, u32)], a: u32) -> u32 {
        routes
            .iter()
            .filter(|r| a & mask(r.1) == r.0)
            .max_by_key(|r| r.1)
            .map_or(NO_ROUTE, |r| r.2)
    }

    proptest! {
        #[test]
        fn table_matches_naive_oracle(ops in proptest::collection::vec((any::<bool>(), any::<u32>(), 0u8..=32, 0u32..8), 0..200),
                                      probes in proptest::collection::vec(any::<u32>(), 1..100)) {
            let mut t = Table::new();
            let mut oracle: Vec<(u32, u8, u32)> = Vec::new();
            for (insert, a, len, v) in ops {
                let addr = a & mask(len);
                oracle.retain(|r| (r.0, r.1) != (addr, len));
                if insert {
                    oracle.push((addr, len, v));
                    t = t.update(&[Change::Insert { addr, len, value: v }]);
                } else {
                    t = t.update(&[Change::Remove { addr, len }]);
                }
            }
            prop_assert_eq!(t.len(), oracle.len());
            for a in probes {
                prop_assert_eq!(t.lookup(a), oracle_lookup(&oracle, a));
            }
        }
    }
}
