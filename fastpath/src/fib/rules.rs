//! Policy rules (the kernel's `fib_rules.c`/`fib4_rules.c`, `ip rule`): each rule has a
//! priority (pref), selectors and an action. Matching follows `fib4_rule_match`: an absent
//! selector matches everything.

use super::{Prefix, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};
use crate::iface::IfIndex;
use std::net::Ipv4Addr;

pub const PREF_LOCAL: u32 = 0;
pub const PREF_MAIN: u32 = 32766;
pub const PREF_DEFAULT: u32 = 32767;

/// The TOS bits a rule compares (`IPTOS_RT_MASK`).
pub const IPTOS_RT_MASK: u8 = 0x1c;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Look the destination up in this table; if nothing matches, go on to the next rule.
    Lookup(u32),
    /// Drop silently (EINVAL).
    Blackhole,
    /// Drop with ICMP net unreachable, as for no route (ENETUNREACH).
    Unreachable,
    /// Drop with ICMP administratively prohibited (EACCES).
    Prohibit,
}

/// One rule. Shared: control rw (builds a new FIB), dataplane ro.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub pref: u32,
    pub from: Option<Prefix>,
    pub to: Option<Prefix>,
    /// Input interface; packets we originate have none (Linux's `iif lo`).
    pub iif: Option<IfIndex>,
    pub tos: Option<u8>,
    /// (mark, mask).
    pub fwmark: Option<(u32, u32)>,
    pub action: RuleAction,
}

impl Rule {
    pub fn lookup(pref: u32, table: u32) -> Rule {
        Rule {
            pref,
            from: None,
            to: None,
            iif: None,
            tos: None,
            fwmark: None,
            action: RuleAction::Lookup(table),
        }
    }

    #[inline]
    pub fn matches(&self, k: &FlowKey) -> bool {
        if let Some(p) = self.from {
            if !p.contains(u32::from(k.saddr)) {
                return false;
            }
        }
        if let Some(p) = self.to {
            if !p.contains(u32::from(k.daddr)) {
                return false;
            }
        }
        if let Some(i) = self.iif {
            if k.iif != Some(i) {
                return false;
            }
        }
        if let Some(t) = self.tos {
            if t != k.tos & IPTOS_RT_MASK {
                return false;
            }
        }
        if let Some((mark, mask)) = self.fwmark {
            if (mark ^ k.mark) & mask != 0 {
                return false;
            }
        }
        true
    }
}

/// Linux's three rules: 0 lookup local, 32766 lookup main, 32767 lookup default.
pub fn default_rules() -> Vec<Rule> {
    vec![
        Rule::lookup(PREF_LOCAL, TABLE_LOCAL),
        Rule::lookup(PREF_MAIN, TABLE_MAIN),
        Rule::lookup(PREF_DEFAULT, TABLE_DEFAULT),
    ]
}

/// What a route lookup keys on (the kernel's `flowi4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub daddr: Ipv4Addr,
    pub saddr: Ipv4Addr,
    pub iif: Option<IfIndex>,
    pub tos: u8,
    pub mark: u32,
}

impl FlowKey {
    pub fn new(daddr: Ipv4Addr) -> FlowKey {
        FlowKey {
            daddr,
            saddr: Ipv4Addr::UNSPECIFIED,
            iif: None,
            tos: 0,
            mark: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fib::{Change, Fib, RouteType, Table};

    fn pfx(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap())
    }

    fn table(routes: &[(&str, RouteType)]) -> Table {
        let r: Vec<(u32, u8, u32)> = routes
            .iter()
            .map(|(p, rt)| (pfx(p).addr, pfx(p).len, rt.encode()))
            .collect();
        Table::from_routes(&r)
    }

    fn key(d: &str, s: &str, iif: Option<IfIndex>, tos: u8) -> FlowKey {
        FlowKey {
            daddr: d.parse().unwrap(),
            saddr: s.parse().unwrap(),
            iif,
            tos,
            mark: 0,
        }
    }

    /// Cases checked by hand against `ip rule` + `ip route get` on Linux 6.18.44 (veth ports,
    /// rp_filter 0): same routes and rules, same answers:
    ///   ip route add 0/0 via GW_MAIN; ip route add 10.9.0.0/16 via GW3 table 100
    ///   ip route add 0/0 via GW_100 table 100
    ///   ip rule add pref 100 from 192.168.1.0/24 table 100
    ///   ip rule add pref 200 to 203.0.113.0/24 prohibit
    ///   ip rule add pref 300 iif p1 tos 0x10 table 100
    ///   ip rule add pref 400 from 198.51.100.0/24 table 200   (table 200 empty)
    ///   ip rule add pref 500 to 198.18.0.0/15 unreachable     (ENETUNREACH: no route)
    fn policy_fib() -> Fib {
        let mut rules = default_rules();
        rules.push(Rule {
            from: Some(pfx("192.168.1.0/24")),
            ..Rule::lookup(100, 100)
        });
        rules.push(Rule {
            to: Some(pfx("203.0.113.0/24")),
            action: RuleAction::Prohibit,
            ..Rule::lookup(200, 0)
        });
        rules.push(Rule {
            iif: Some(1),
            tos: Some(0x10),
            ..Rule::lookup(300, 100)
        });
        rules.push(Rule {
            from: Some(pfx("198.51.100.0/24")),
            ..Rule::lookup(400, 200)
        });
        rules.push(Rule {
            to: Some(pfx("198.18.0.0/15")),
            action: RuleAction::Unreachable,
            ..Rule::lookup(500, 0)
        });
        let mut f = Fib::new(rules);
        f.set_table(TABLE_LOCAL, table(&[("10.0.0.1/32", RouteType::Local)]));
        f.set_table(
            TABLE_MAIN,
            table(&[
                ("0.0.0.0/0", RouteType::Unicast(0)),
                ("10.0.0.0/24", RouteType::Unicast(2)),
            ]),
        );
        f.set_table(
            100,
            table(&[
                ("0.0.0.0/0", RouteType::Unicast(1)),
                ("10.9.0.0/16", RouteType::Unicast(3)),
            ]),
        );
        f
    }

    #[test]
    fn rules_in_pref_order_like_ip_route_get() {
        let f = policy_fib();
        assert!(!f.default_rules_only());
        let get = |k: FlowKey| f.lookup(&k).map(|r| (r.route, r.table, r.rule));
        // local rule 0 wins for our own address, whatever the source.
        assert_eq!(
            get(key("10.0.0.1", "192.168.1.5", Some(0), 0)),
            Some((RouteType::Local, TABLE_LOCAL, 0))
        );
        // from 192.168.1.0/24 -> table 100.
        assert_eq!(
            get(key("8.8.8.8", "192.168.1.5", Some(0), 0)),
            Some((RouteType::Unicast(1), 100, 100))
        );
        // the prohibit rule applies to other sources.
        assert_eq!(
            get(key("203.0.113.9", "10.0.0.5", Some(0), 0)),
            Some((RouteType::Prohibit, 0, 200))
        );
        // ...but rule 100 comes first for 192.168.1.0/24.
        assert_eq!(
            get(key("203.0.113.9", "192.168.1.5", Some(0), 0)),
            Some((RouteType::Unicast(1), 100, 100))
        );
        // iif + tos: only with both (tos compared under IPTOS_RT_MASK, ECN bits ignored).
        assert_eq!(
            get(key("10.9.1.1", "10.0.0.5", Some(1), 0x12)),
            Some((RouteType::Unicast(3), 100, 300))
        );
        assert_eq!(
            get(key("10.9.1.1", "10.0.0.5", Some(0), 0x10)),
            Some((RouteType::Unicast(0), TABLE_MAIN, PREF_MAIN))
        );
        assert_eq!(
            get(key("10.9.1.1", "10.0.0.5", None, 0x10)),
            Some((RouteType::Unicast(0), TABLE_MAIN, PREF_MAIN))
        );
        // an unreachable rule is "no route" (net unreachable), and explain names it.
        assert_eq!(get(key("198.18.3.4", "10.0.0.5", Some(0), 0)), None);
        assert_eq!(
            f.explain(&key("198.18.3.4", "10.0.0.5", Some(0), 0)),
            (Some(500), None)
        );
        // an empty table falls through to the next rule (main).
        assert_eq!(
            get(key("10.0.0.7", "198.51.100.1", Some(0), 0)),
            Some((RouteType::Unicast(2), TABLE_MAIN, PREF_MAIN))
        );
    }

    #[test]
    fn no_rule_gives_a_route_is_no_route() {
        let mut f = Fib::new(vec![Rule::lookup(5, 100)]);
        f.set_table(100, table(&[("10.0.0.0/8", RouteType::Unicast(0))]));
        assert_eq!(f.lookup(&key("11.0.0.1", "1.1.1.1", None, 0)), None);
        assert!(f.lookup(&key("10.0.0.1", "1.1.1.1", None, 0)).is_some());
    }

    #[test]
    fn fwmark_with_mask() {
        let r = Rule {
            fwmark: Some((0x10, 0xf0)),
            ..Rule::lookup(1, 1)
        };
        let mut k = key("1.1.1.1", "2.2.2.2", None, 0);
        assert!(!r.matches(&k));
        k.mark = 0x1f;
        assert!(r.matches(&k));
    }

    #[test]
    fn default_rules_merge_local_into_main() {
        let mut f = Fib::default();
        assert!(f.default_rules_only());
        assert_eq!(f.storage_table(TABLE_LOCAL), TABLE_MAIN);
        f.set_table(
            TABLE_MAIN,
            table(&[
                ("10.0.0.1/32", RouteType::Local),
                ("0.0.0.0/0", RouteType::Unicast(0)),
            ]),
        );
        f.set_table(
            TABLE_DEFAULT,
            table(&[("0.0.0.0/0", RouteType::Unicast(9))]),
        );
        let k = key("10.0.0.1", "1.1.1.1", None, 0);
        assert_eq!(f.lookup(&k).unwrap().route, RouteType::Local);
        let t = f
            .table(TABLE_MAIN)
            .unwrap()
            .update(&[Change::Remove { addr: 0, len: 0 }]);
        f.set_table(TABLE_MAIN, t);
        assert_eq!(
            f.lookup(&key("8.8.8.8", "1.1.1.1", None, 0)).unwrap(),
            FibResult {
                route: RouteType::Unicast(9),
                table: TABLE_DEFAULT,
                rule: PREF_DEFAULT
            }
        );
    }

    use crate::fib::FibResult;
}
