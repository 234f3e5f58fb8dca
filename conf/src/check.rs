//! Semantic checks shared by YAML loading ([`crate::validate`]) and the running
//! appliance's commands ([`crate::cli`] parses, then [`Config::check_route`] and friends
//! check against the running config): ports exist, gateways are reachable, nexthop
//! objects and group members exist, prefixes are canonical, ranges hold.
//!
//! A failed check is a [`Fault`]: a one-line message and the [`Part`] of the object it
//! is about, which the YAML side turns into a node path (so the error points at the
//! `via` or `dev` at fault) and the CLI side ignores.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::config::{
    default_rules, table_name, Config, NexthopConf, NexthopKind, PortConf, RouteConf, RouteTarget,
    RuleAction, RuleConf, TableConf, PREF_MAIN,
};
use crate::net;

/// Which part of a route, nexthop or rule a [`Fault`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Whole,
    Prefix,
    Table,
    /// The route's or nexthop's own `dev`.
    Dev,
    /// The gateway of a single `via` (0) or of member `j` of a via list.
    Via(usize),
    HopDev(usize),
    HopWeight(usize),
    Nhid,
    Id,
    Member(usize),
    MemberWeight(usize),
    Pref,
    From,
    To,
    Iif,
    Tos,
    Fwmark,
}

/// What is wrong, and where.
#[derive(Debug)]
pub(crate) struct Fault {
    pub part: Part,
    pub message: String,
}

fn fault(part: Part, message: impl Into<String>) -> Fault {
    Fault {
        part,
        message: message.into(),
    }
}

/// Largest nexthop weight (Linux stores weight - 1 in a byte).
pub(crate) const WEIGHT_MAX: u16 = 256;

impl Config {
    /// Whether `r` could be added to this config: the checks YAML loading applies to a
    /// route (canonical prefix, table 1..=2^32-1, ports exist, every gateway reachable
    /// and not the router's own address, multipath gateways distinct with weights
    /// 1..=256, `nhid` names a nexthop object). Duplicates are not checked: `route add`
    /// of an existing (table, prefix, metric) is for the caller's RIB to refuse.
    pub fn check_route(&self, r: &RouteConf) -> Result<(), String> {
        route(self, r).map_err(|f| f.message)
    }

    /// Whether `n` could be added to this config: its id is new, and the checks YAML
    /// loading applies (ports exist, gateway reachable, group members exist, are not
    /// groups, are not repeated, weights 1..=256, a blackhole member is alone).
    pub fn check_nexthop(&self, n: &NexthopConf) -> Result<(), String> {
        if self.nexthops.iter().any(|m| m.id == n.id) {
            return Err(format!("nexthop id {} already exists", n.id));
        }
        nexthop(self, n, &self.nexthops).map_err(|f| f.message)
    }

    /// Whether `r` could be added to this config (`ip rule add`): pref 1..=2^32-1,
    /// canonical prefixes, `iif` a port, `tos` without ECN bits, `fwmark` within its
    /// mask, table 1..=2^32-1, and no equal rule already there (in
    /// [`Config::rules`] or Linux's defaults), as `ip rule add` refuses with EEXIST.
    /// A rule from [`crate::cli::parse_rule`] without `pref` has pref 0: fill it in
    /// with [`Config::next_rule_pref`] first.
    pub fn check_rule(&self, r: &RuleConf) -> Result<(), String> {
        rule(self, r).map_err(|f| f.message)?;
        match duplicate_rule(&self.rules, r) {
            None => Ok(()),
            Some(Dup::Default) => Err(default_dup_message(&self.tables, r)),
            Some(Dup::Earlier(_)) => Err(format!(
                "rule {} already exists",
                describe_rule(&self.tables, r)
            )),
        }
    }

    /// The pref Linux gives a rule added without one: one less than the lowest pref
    /// in use other than the `lookup local` rule at 0 (with only the default rules
    /// that is 32766, so 32765, then 32764, ...). Precisely, the kernel's
    /// `fib_default_rule_pref` takes the second rule of the sorted list (the first is
    /// the local rule) and returns its pref - 1. `None` when that would be 0, which a
    /// config cannot use.
    pub fn next_rule_pref(&self) -> Option<u32> {
        next_rule_pref(&self.rules)
    }

    /// `r` as `ip rule show` prints it (`100:\tfrom 10.0.0.0/8 lookup isp2`), with
    /// table names from this config.
    pub fn format_rule(&self, r: &RuleConf) -> String {
        let mut s = format!("{}:\t", r.pref);
        write_rule(&mut s, r, &|id| self.table_name(id)).expect("writing to a String");
        s
    }
}

/// `p0 10.0.1.1/24, p1 10.0.2.1/24`, for messages.
pub(crate) fn port_list(ports: &[PortConf]) -> String {
    ports
        .iter()
        .map(port_summary)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `p0 10.0.1.1/24 10.0.3.1/24`, or `p0 (no addresses)`.
pub(crate) fn port_summary(p: &PortConf) -> String {
    if p.addresses.is_empty() {
        format!("{} (no addresses)", p.name)
    } else {
        let addrs: Vec<String> = p.addresses.iter().map(|a| a.to_string()).collect();
        format!("{} {}", p.name, addrs.join(" "))
    }
}

/// If `a` is one of the router's own addresses, the port it is on.
pub(crate) fn own_address(c: &Config, a: Ipv4Addr) -> Option<&str> {
    c.ports
        .iter()
        .find(|p| p.addresses.iter().any(|n| n.addr() == a))
        .map(|p| p.name.as_str())
}

/// Why `gw` cannot be a gateway, if it cannot: Linux's `fib_check_nh_v4_gw` wants the
/// gateway's own route to be unicast, which rules out 0.0.0.0, loopback, multicast, the
/// limited broadcast and the broadcast address of a connected subnet (its local-table
/// `broadcast` route). The network address of a subnet is a unicast host to Linux.
fn not_unicast(c: &Config, gw: Ipv4Addr) -> Option<String> {
    if gw.is_unspecified() {
        return Some("0.0.0.0 is no host".into());
    }
    if gw.is_broadcast() {
        return Some("the limited broadcast address".into());
    }
    if gw.is_multicast() {
        return Some("a multicast address".into());
    }
    if gw.is_loopback() {
        return Some("a loopback address".into());
    }
    c.ports.iter().find_map(|p| {
        let a = p
            .addresses
            .iter()
            .find(|a| a.prefix_len() < 31 && a.broadcast() == gw)?;
        Some(format!("the broadcast address of port {} {a}", p.name))
    })
}

/// The index of port `name`; `what` starts the message (`route dev`).
pub(crate) fn port_named(c: &Config, name: &str, what: &str) -> Result<usize, String> {
    c.port_index(name).ok_or_else(|| {
        let names: Vec<&str> = c.ports.iter().map(|p| p.name.as_str()).collect();
        format!(
            "{what} `{name}`: no such port (ports: {})",
            names.join(", ")
        )
    })
}

/// `gw` must be reachable (through port `dev` when given) and not one of our own
/// addresses; returns the port. `what` starts the message (`route`, `nexthop 3`).
pub(crate) fn gateway(
    c: &Config,
    gw: Ipv4Addr,
    dev: Option<usize>,
    what: &str,
) -> Result<usize, String> {
    if let Some(why) = not_unicast(c, gw) {
        return Err(format!(
            "{what} via {gw}: invalid gateway: {why} (Linux: \"Nexthop has invalid gateway\")"
        ));
    }
    if let Some(owner) = own_address(c, gw) {
        return Err(format!(
            "{what} via {gw}: that is this router's own address on port {owner}"
        ));
    }
    match dev {
        Some(p) if c.port_reaches(p, gw) => Ok(p),
        Some(p) => {
            let port = &c.ports[p];
            Err(format!(
                "{what} via {gw} dev {}: port {} has no address on a subnet containing it \
                 and no neighbor entry for it ({})",
                port.name,
                port.name,
                port_summary(port)
            ))
        }
        None => c.port_for_gateway(gw).ok_or_else(|| {
            format!(
                "{what} via {gw}: no port has an address on a subnet containing it (ports: {})",
                port_list(&c.ports)
            )
        }),
    }
}

/// A gateway with an optional port, checked; `what` as in [`gateway`].
fn gateway_dev(
    c: &Config,
    gw: Ipv4Addr,
    dev: Option<&str>,
    (via_at, dev_at): (Part, Part),
    what: &str,
) -> Result<(), Fault> {
    let port = match dev {
        Some(d) => Some(port_named(c, d, &format!("{what} dev")).map_err(|m| fault(dev_at, m))?),
        None => None,
    };
    gateway(c, gw, port, what).map_err(|m| fault(via_at, m))?;
    Ok(())
}

pub(crate) fn table(id: u32, what: &str) -> Result<(), String> {
    if id == 0 {
        Err(format!("{what} table 0 is out of range (1 to 4294967295)"))
    } else {
        Ok(())
    }
}

/// See [`Config::check_route`].
pub(crate) fn route(c: &Config, r: &RouteConf) -> Result<(), Fault> {
    let prefix = r.prefix;
    net::canonical(prefix).map_err(|m| fault(Part::Prefix, format!("route {m}")))?;
    table(r.table, "route").map_err(|m| fault(Part::Table, m))?;
    match &r.target {
        RouteTarget::Via { gateway, dev } => gateway_dev(
            c,
            *gateway,
            dev.as_deref(),
            (Part::Via(0), Part::Dev),
            "route",
        ),
        RouteTarget::Dev(d) => port_named(c, d, "route dev")
            .map(|_| ())
            .map_err(|m| fault(Part::Dev, m)),
        RouteTarget::Multipath(hops) => {
            if hops.len() < 2 {
                return Err(fault(
                    Part::Via(0),
                    format!("route {prefix}: a multipath route needs at least two gateways"),
                ));
            }
            for (j, h) in hops.iter().enumerate() {
                if !(1..=WEIGHT_MAX).contains(&h.weight) {
                    return Err(fault(
                        Part::HopWeight(j),
                        format!(
                            "route via {}: weight {} is out of range (1 to {WEIGHT_MAX})",
                            h.gateway, h.weight
                        ),
                    ));
                }
                if hops[..j].iter().any(|g| g.gateway == h.gateway) {
                    return Err(fault(
                        Part::Via(j),
                        format!(
                            "route {prefix}: gateway {} is listed twice in `via`",
                            h.gateway
                        ),
                    ));
                }
                gateway_dev(
                    c,
                    h.gateway,
                    h.dev.as_deref(),
                    (Part::Via(j), Part::HopDev(j)),
                    "route",
                )?;
            }
            Ok(())
        }
        RouteTarget::Nhid(id) => {
            if c.nexthops.iter().any(|n| n.id == *id) {
                Ok(())
            } else {
                Err(fault(
                    Part::Nhid,
                    format!(
                        "route {prefix}: nexthop id {id} does not exist ({})",
                        nexthop_ids(&c.nexthops)
                    ),
                ))
            }
        }
        RouteTarget::Blackhole | RouteTarget::Unreachable | RouteTarget::Prohibit => Ok(()),
    }
}

/// `nexthops: 1, 2, 10` or `no nexthops are defined`, for messages.
fn nexthop_ids(known: &[NexthopConf]) -> String {
    if known.is_empty() {
        "no nexthops are defined".into()
    } else {
        let ids: Vec<String> = known.iter().map(|n| n.id.to_string()).collect();
        format!("nexthops: {}", ids.join(", "))
    }
}

/// Checks `n` against the config and the nexthops `known` (its group members must be
/// there); the caller checks that the id is new.
pub(crate) fn nexthop(c: &Config, n: &NexthopConf, known: &[NexthopConf]) -> Result<(), Fault> {
    let id = n.id;
    if id == 0 {
        return Err(fault(
            Part::Id,
            "nexthop id 0 is out of range (1 to 4294967295)",
        ));
    }
    let what = format!("nexthop {id}");
    match &n.kind {
        NexthopKind::Via { gateway, dev } => gateway_dev(
            c,
            *gateway,
            dev.as_deref(),
            (Part::Via(0), Part::Dev),
            &what,
        ),
        NexthopKind::Dev(d) => port_named(c, d, &format!("{what} dev"))
            .map(|_| ())
            .map_err(|m| fault(Part::Dev, m)),
        NexthopKind::Blackhole => Ok(()),
        NexthopKind::Group(members) => {
            if members.is_empty() {
                return Err(fault(
                    Part::Whole,
                    format!("{what}: a group needs at least one member"),
                ));
            }
            for (j, &(m, w)) in members.iter().enumerate() {
                if !(1..=WEIGHT_MAX).contains(&w) {
                    return Err(fault(
                        Part::MemberWeight(j),
                        format!(
                            "{what}: member {m} weight {w} is out of range (1 to {WEIGHT_MAX})"
                        ),
                    ));
                }
                let at = Part::Member(j);
                if m == id {
                    return Err(fault(at, format!("{what}: a group cannot contain itself")));
                }
                if members[..j].iter().any(|&(o, _)| o == m) {
                    return Err(fault(at, format!("{what}: member {m} is listed twice")));
                }
                let Some(member) = known.iter().find(|k| k.id == m) else {
                    return Err(fault(
                        at,
                        format!("{what}: member {m} does not exist ({})", nexthop_ids(known)),
                    ));
                };
                match member.kind {
                    NexthopKind::Group(_) => {
                        return Err(fault(
                            at,
                            format!("{what}: member {m} is a group, and groups cannot be nested"),
                        ))
                    }
                    NexthopKind::Blackhole if members.len() > 1 => {
                        return Err(fault(
                            at,
                            format!(
                                "{what}: member {m} is a blackhole nexthop, which must be the only \
                                 member of a group (as in Linux)"
                            ),
                        ))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

/// See [`Config::check_rule`]; everything but duplicates.
pub(crate) fn rule(c: &Config, r: &RuleConf) -> Result<(), Fault> {
    if r.pref == 0 {
        return Err(fault(
            Part::Pref,
            "rule pref 0 is reserved: Linux keeps pref 0 for the rule that looks up the local \
             table; use a pref from 1 to 4294967295",
        ));
    }
    for (p, part, key) in [(r.from, Part::From, "from"), (r.to, Part::To, "to")] {
        if let Some(p) = p {
            net::canonical(p).map_err(|m| fault(part, format!("rule `{key}` {m}")))?;
        }
    }
    if let Some(iif) = &r.iif {
        port_named(c, iif, "rule iif").map_err(|m| fault(Part::Iif, m))?;
    }
    if let Some(tos) = r.tos {
        tos_ok(tos).map_err(|m| fault(Part::Tos, format!("rule {m}")))?;
    }
    if let Some(mark) = r.fwmark {
        fwmark_ok(mark).map_err(|m| fault(Part::Fwmark, format!("rule {m}")))?;
    }
    if let RuleAction::Lookup(t) = r.action {
        table(t, "rule").map_err(|m| fault(Part::Table, m))?;
    }
    Ok(())
}

/// A rule's `from`/`to` as Linux stores it: 0.0.0.0/0 selects everything, which is
/// no selector at all.
pub(crate) fn selector(p: Option<Ipv4Net>) -> Option<Ipv4Net> {
    p.filter(|n| !(n.prefix_len() == 0 && n.addr().is_unspecified()))
}

/// The ECN bits (the low two) of a rule's TOS must be 0, as Linux requires.
pub(crate) fn tos_ok(tos: u8) -> Result<(), String> {
    if tos & 0x03 == 0 {
        Ok(())
    } else {
        Err(format!(
            "tos {tos:#04x} sets ECN bits (0x03), which Linux does not match on; did you mean {:#04x}?",
            tos & !0x03
        ))
    }
}

/// A mark with bits outside its mask could never match as written.
pub(crate) fn fwmark_ok((mark, mask): (u32, u32)) -> Result<(), String> {
    if mark & !mask == 0 {
        Ok(())
    } else {
        Err(format!(
            "fwmark {mark:#x}/{mask:#x} has bits outside the mask, did you mean {:#x}/{mask:#x}?",
            mark & mask
        ))
    }
}

/// A rule equal to an existing one.
pub(crate) enum Dup {
    /// One of Linux's default rules.
    Default,
    /// `rules[i]`.
    Earlier(usize),
}

pub(crate) fn duplicate_rule(rules: &[RuleConf], r: &RuleConf) -> Option<Dup> {
    if default_rules().contains(r) {
        return Some(Dup::Default);
    }
    rules.iter().position(|o| o == r).map(Dup::Earlier)
}

pub(crate) fn default_dup_message(tables: &[TableConf], r: &RuleConf) -> String {
    format!(
        "rule {} is one of Linux's default rules, which are always there",
        describe_rule(tables, r)
    )
}

/// See [`Config::next_rule_pref`].
pub(crate) fn next_rule_pref(rules: &[RuleConf]) -> Option<u32> {
    let lowest = rules
        .iter()
        .map(|r| r.pref)
        .filter(|&p| p > 0)
        .fold(PREF_MAIN, u32::min);
    (lowest > 1).then(|| lowest - 1)
}

/// `pref 100 from all to 10.0.0.0/8 lookup isp2`: the rule without its `N:\t`, in
/// `ip rule show`'s order and words.
pub(crate) fn describe_rule(tables: &[TableConf], r: &RuleConf) -> String {
    let mut s = format!("pref {} ", r.pref);
    write_rule(&mut s, r, &|id| table_name(tables, id)).expect("writing to a String");
    s
}

fn write_rule(f: &mut dyn fmt::Write, r: &RuleConf, table: &dyn Fn(u32) -> String) -> fmt::Result {
    let all = |p: Option<Ipv4Net>| p.map_or("all".to_string(), |p| p.to_string());
    write!(f, "from {}", all(r.from))?;
    if let Some(to) = r.to {
        write!(f, " to {to}")?;
    }
    if let Some(tos) = r.tos {
        write!(f, " tos {tos:#04x}")?;
    }
    match r.fwmark {
        Some((mark, u32::MAX)) => write!(f, " fwmark {mark:#x}")?,
        Some((mark, mask)) => write!(f, " fwmark {mark:#x}/{mask:#x}")?,
        None => {}
    }
    if let Some(iif) = &r.iif {
        write!(f, " iif {iif}")?;
    }
    match r.action {
        RuleAction::Lookup(t) => write!(f, " lookup {}", table(t)),
        RuleAction::Blackhole => f.write_str(" blackhole"),
        RuleAction::Unreachable => f.write_str(" unreachable"),
        RuleAction::Prohibit => f.write_str(" prohibit"),
    }
}

/// As `ip rule show` prints a rule: `32766:\tfrom all lookup main`. User tables print
/// as numbers; [`Config::format_rule`] prints their names.
impl fmt::Display for RuleConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:\t", self.pref)?;
        write_rule(f, self, &|id| table_name(&[], id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testutil::{load, BASE};
    use crate::NexthopSpec;

    fn cfg() -> Config {
        load(&format!(
            "{BASE}tables: [{{ id: 100, name: isp2 }}]\nnexthops:\n  - {{ id: 1, via: 10.0.1.2 }}\n  - {{ id: 2, blackhole: true }}\n"
        ))
        .unwrap()
    }

    fn rt(target: RouteTarget) -> RouteConf {
        RouteConf {
            prefix: "10.9.0.0/16".parse().unwrap(),
            target,
            metric: 0,
            table: 254,
        }
    }

    fn hop(gw: &str, weight: u16) -> NexthopSpec {
        NexthopSpec {
            gateway: gw.parse().unwrap(),
            dev: None,
            weight,
        }
    }

    #[test]
    fn check_route_messages() {
        let c = cfg();
        assert_eq!(c.check_route(&rt(RouteTarget::Nhid(1))), Ok(()));
        assert_eq!(
            c.check_route(&rt(RouteTarget::Nhid(7))).unwrap_err(),
            "route 10.9.0.0/16: nexthop id 7 does not exist (nexthops: 1, 2)"
        );
        let mp = |h: Vec<NexthopSpec>| rt(RouteTarget::Multipath(h));
        assert_eq!(
            c.check_route(&mp(vec![hop("10.0.1.2", 1), hop("10.0.2.2", 256)])),
            Ok(())
        );
        assert_eq!(
            c.check_route(&mp(vec![hop("10.0.1.2", 1), hop("10.0.1.2", 2)]))
                .unwrap_err(),
            "route 10.9.0.0/16: gateway 10.0.1.2 is listed twice in `via`"
        );
        assert_eq!(
            c.check_route(&mp(vec![hop("10.0.1.2", 0), hop("10.0.2.2", 1)]))
                .unwrap_err(),
            "route via 10.0.1.2: weight 0 is out of range (1 to 256)"
        );
        assert_eq!(
            c.check_route(&mp(vec![hop("10.0.1.2", 1)])).unwrap_err(),
            "route 10.9.0.0/16: a multipath route needs at least two gateways"
        );
        assert!(c
            .check_route(&mp(vec![hop("10.0.1.2", 1), hop("10.0.3.2", 1)]))
            .unwrap_err()
            .starts_with("route via 10.0.3.2: no port has an address"));
        let mut r = rt(RouteTarget::Blackhole);
        r.table = 0;
        assert_eq!(
            c.check_route(&r).unwrap_err(),
            "route table 0 is out of range (1 to 4294967295)"
        );
        r.table = 100;
        r.prefix = "10.9.0.1/16".parse().unwrap();
        assert_eq!(
            c.check_route(&r).unwrap_err(),
            "route prefix 10.9.0.1/16 has host bits set, did you mean 10.9.0.0/16?"
        );
        assert_eq!(
            c.check_route(&rt(RouteTarget::Dev("p3".into())))
                .unwrap_err(),
            "route dev `p3`: no such port (ports: p0, p1)"
        );
    }

    #[test]
    fn gateways_must_be_unicast_as_in_linux() {
        let c = cfg();
        let via = |gw: &str| {
            c.check_route(&rt(RouteTarget::Via {
                gateway: gw.parse().unwrap(),
                dev: None,
            }))
        };
        assert_eq!(
            via("10.0.1.255").unwrap_err(),
            "route via 10.0.1.255: invalid gateway: the broadcast address of port p0 10.0.1.1/24 \
             (Linux: \"Nexthop has invalid gateway\")"
        );
        for (gw, why) in [
            ("255.255.255.255", "the limited broadcast address"),
            ("224.0.0.5", "a multicast address"),
            ("127.0.0.1", "a loopback address"),
            ("0.0.0.0", "0.0.0.0 is no host"),
        ] {
            assert!(
                via(gw)
                    .unwrap_err()
                    .contains(&format!("invalid gateway: {why} (")),
                "{gw}"
            );
        }
        assert_eq!(
            via("10.0.1.0"),
            Ok(()),
            "the network address is a host to Linux"
        );
        assert_eq!(via("10.0.1.254"), Ok(()));
        let n = NexthopConf {
            id: 9,
            kind: NexthopKind::Via {
                gateway: "10.0.2.255".parse().unwrap(),
                dev: None,
            },
        };
        assert!(c
            .check_nexthop(&n)
            .unwrap_err()
            .starts_with("nexthop 9 via 10.0.2.255: invalid gateway"));
    }

    #[test]
    fn check_nexthop_messages() {
        let c = cfg();
        let nh = |id, kind| NexthopConf { id, kind };
        assert_eq!(
            c.check_nexthop(&nh(1, NexthopKind::Blackhole)).unwrap_err(),
            "nexthop id 1 already exists"
        );
        assert_eq!(
            c.check_nexthop(&nh(3, NexthopKind::Group(vec![(1, 1)]))),
            Ok(())
        );
        assert_eq!(
            c.check_nexthop(&nh(3, NexthopKind::Group(vec![(1, 1), (2, 1)])))
                .unwrap_err(),
            "nexthop 3: member 2 is a blackhole nexthop, which must be the only member of a group (as in Linux)"
        );
        assert_eq!(
            c.check_nexthop(&nh(3, NexthopKind::Group(vec![(1, 1), (4, 1)])))
                .unwrap_err(),
            "nexthop 3: member 4 does not exist (nexthops: 1, 2)"
        );
        assert_eq!(
            c.check_nexthop(&nh(3, NexthopKind::Group(vec![(1, 300)])))
                .unwrap_err(),
            "nexthop 3: member 1 weight 300 is out of range (1 to 256)"
        );
        assert_eq!(
            c.check_nexthop(&nh(3, NexthopKind::Dev("p9".into())))
                .unwrap_err(),
            "nexthop 3 dev `p9`: no such port (ports: p0, p1)"
        );
        assert_eq!(
            c.check_nexthop(&nh(
                3,
                NexthopKind::Via {
                    gateway: "10.0.2.2".parse().unwrap(),
                    dev: Some("p0".into())
                }
            ))
            .unwrap_err(),
            "nexthop 3 via 10.0.2.2 dev p0: port p0 has no address on a subnet containing it \
             and no neighbor entry for it (p0 10.0.1.1/24)"
        );
    }

    fn rule_to(pref: u32, action: RuleAction) -> RuleConf {
        RuleConf {
            pref,
            from: None,
            to: None,
            iif: None,
            tos: None,
            fwmark: None,
            action,
        }
    }

    #[test]
    fn check_rule_messages() {
        let mut c = cfg();
        let r = rule_to(100, RuleAction::Lookup(100));
        assert_eq!(c.check_rule(&r), Ok(()));
        c.rules.push(r.clone());
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule pref 100 from all lookup isp2 already exists"
        );
        assert_eq!(
            c.check_rule(&rule_to(32766, RuleAction::Lookup(254)))
                .unwrap_err(),
            "rule pref 32766 from all lookup main is one of Linux's default rules, which are always there"
        );
        assert!(c
            .check_rule(&rule_to(0, RuleAction::Blackhole))
            .unwrap_err()
            .starts_with("rule pref 0 is reserved"));
        let mut r = rule_to(5, RuleAction::Prohibit);
        r.tos = Some(0x11);
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule tos 0x11 sets ECN bits (0x03), which Linux does not match on; did you mean 0x10?"
        );
        r.tos = None;
        r.fwmark = Some((3, 1));
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule fwmark 0x3/0x1 has bits outside the mask, did you mean 0x1/0x1?"
        );
        r.fwmark = None;
        r.iif = Some("p8".into());
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule iif `p8`: no such port (ports: p0, p1)"
        );
        r.iif = None;
        r.from = Some("10.0.0.1/8".parse().unwrap());
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule `from` prefix 10.0.0.1/8 has host bits set, did you mean 10.0.0.0/8?"
        );
    }

    #[test]
    fn next_pref_like_linux() {
        let mut c = cfg();
        assert_eq!(c.next_rule_pref(), Some(32765));
        c.rules.push(rule_to(40000, RuleAction::Blackhole));
        assert_eq!(c.next_rule_pref(), Some(32765));
        c.rules.push(rule_to(200, RuleAction::Blackhole));
        assert_eq!(c.next_rule_pref(), Some(199));
        c.rules.push(rule_to(1, RuleAction::Blackhole));
        assert_eq!(c.next_rule_pref(), None);
    }

    #[test]
    fn rule_display_like_ip_rule_show() {
        let d: Vec<String> = default_rules().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            d,
            [
                "0:\tfrom all lookup local",
                "32766:\tfrom all lookup main",
                "32767:\tfrom all lookup default"
            ]
        );
        let r = RuleConf {
            pref: 100,
            from: Some("10.0.0.0/8".parse().unwrap()),
            to: Some("192.0.2.0/24".parse().unwrap()),
            iif: Some("p0".into()),
            tos: Some(0x10),
            fwmark: Some((1, 0xff)),
            action: RuleAction::Lookup(100),
        };
        assert_eq!(
            r.to_string(),
            "100:\tfrom 10.0.0.0/8 to 192.0.2.0/24 tos 0x10 fwmark 0x1/0xff iif p0 lookup 100"
        );
        assert_eq!(
            cfg().format_rule(&r),
            "100:\tfrom 10.0.0.0/8 to 192.0.2.0/24 tos 0x10 fwmark 0x1/0xff iif p0 lookup isp2"
        );
        let r = RuleConf {
            fwmark: Some((7, u32::MAX)),
            ..rule_to(9, RuleAction::Unreachable)
        };
        assert_eq!(r.to_string(), "9:\tfrom all fwmark 0x7 unreachable");
    }
}
