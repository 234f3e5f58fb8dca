//! Parsers for the running appliance's `route`, `rule` and `nexthop` commands, in
//! iproute2's syntax, producing the same types as the YAML ([`RouteConf`],
//! [`RuleConf`], [`NexthopConf`]) so that both go through the same checks.
//!
//! The parsers judge syntax and ranges only: keywords, numbers, addresses, prefixes,
//! which keywords go together. What needs the running config (ports exist, gateways
//! are reachable, `nhid` and group members exist, the rule is new) is checked by the
//! caller with [`Config::check_route`](crate::Config::check_route),
//! [`Config::check_rule`](crate::Config::check_rule) and
//! [`Config::check_nexthop`](crate::Config::check_nexthop), which apply exactly the
//! checks YAML loading does. Table names are resolved with the `_in` variants, given
//! the config's [`tables`](crate::Config::tables); the plain variants know only the
//! reserved names (`local`, `main`, `default`) and numbers.
//!
//! Words are what follows `route`, `rule` or `nexthop` on the command line, optionally
//! starting with the verb (`add`, `del`/`delete`, `replace`), which then appears in
//! messages. Errors are one line, `route add: metric "x" is not a number`.
//!
//! ```text
//! route add 10.0.0.0/8 via 10.0.1.2 [dev p0] [metric 10] [table isp2]
//! route add 10.0.0.0/8 dev p1
//! route add 10.0.0.0/8 nexthop via 10.0.1.2 weight 3 nexthop via 10.0.2.2 dev p1
//! route add 10.0.0.0/8 via 10.0.1.2 weight 3 via 10.0.2.2     (shorthand for the above)
//! route add 10.0.0.0/8 nhid 10
//! route add blackhole 10.0.0.0/8      route add 10.0.0.0/8 type prohibit
//! rule add pref 100 from 10.0.0.0/8 iif p0 tos 0x10 fwmark 0x1/0xff lookup isp2
//! rule add to 192.0.2.0/24 blackhole
//! nexthop add id 1 via 10.0.1.2 dev p0     nexthop add id 3 blackhole
//! nexthop add id 10 group 1,3/2
//! ```
//!
//! As in iproute2: a prefix may be `default` (or `all`, `any`) for 0.0.0.0/0, and a bare
//! address is a /32; `metric` may be spelled `priority` or `preference`, `dev` `oif`,
//! `pref` `priority`/`preference`, `table` `lookup`, `tos` `dsfield`, and a rule's `iif`
//! `dev`; a rule's `tos` is hexadecimal with or without `0x` (`tos 10` is 0x10, as
//! iproute2 reads it) or one of `default`, `lowdelay`, `throughput`, `reliability`.

mod nexthop;
mod route;
mod rule;

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

pub use nexthop::{parse_nexthop, parse_nexthop_id};
pub use route::{parse_route, parse_route_in, parse_route_match, RouteMatch};
pub use rule::{parse_rule, parse_rule_in, parse_rule_match, RuleMatch};

use crate::config::{resolve_table, TableConf};
#[cfg(doc)]
use crate::config::{NexthopConf, RouteConf, RuleConf};
use crate::net;

/// A command's words, read left to right.
struct Words<'a> {
    /// `route add`, `rule`, ...: starts every message.
    ctx: String,
    words: &'a [&'a str],
    pos: usize,
}

impl<'a> Words<'a> {
    /// Takes a leading verb (one of `verbs`, as `(word, normalized)`) off `words`.
    fn new(object: &str, verbs: &[(&str, &str)], words: &'a [&'a str]) -> (Self, Option<String>) {
        let verb = words
            .first()
            .and_then(|w| verbs.iter().find(|(v, _)| v == w))
            .map(|(_, n)| (*n).to_string());
        let ctx = match &verb {
            Some(v) => format!("{object} {v}"),
            None => object.to_string(),
        };
        let pos = usize::from(verb.is_some());
        (Words { ctx, words, pos }, verb)
    }

    fn next(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos).copied();
        self.pos += usize::from(w.is_some());
        w
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).copied()
    }

    /// The word after keyword `key`; `what` says what it should be.
    fn value(&mut self, key: &str, what: &str) -> Result<&'a str, String> {
        self.next()
            .ok_or_else(|| self.err(format!("`{key}` needs a value ({what})")))
    }

    fn err(&self, m: impl fmt::Display) -> String {
        format!("{}: {m}", self.ctx)
    }

    /// A number in `lo..=hi`, decimal or `0x` hex, for keyword `key`.
    fn number(&self, key: &str, s: &str, lo: u64, hi: u64) -> Result<u64, String> {
        let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
        let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) if digits(h, 16) => u64::from_str_radix(h, 16).unwrap_or(u64::MAX),
            None if digits(s, 10) => s.parse().unwrap_or(u64::MAX),
            _ => return Err(self.err(format!("{key} \"{s}\" is not a number"))),
        };
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(self.err(format!("{key} {s} is out of range ({lo} to {hi})")))
        }
    }

    fn u32(&self, key: &str, s: &str, lo: u32) -> Result<u32, String> {
        let v = self.number(key, s, lo.into(), u32::MAX.into())?;
        Ok(u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn address(&self, key: &str, s: &str) -> Result<Ipv4Addr, String> {
        net::parse_addr(s).map_err(|m| self.err(format!("{key} {m}")))
    }

    /// A prefix as iproute2 reads one: `default`/`all`/`any` is 0.0.0.0/0, a bare
    /// address is a /32; it must be canonical.
    fn prefix(&self, key: &str, s: &str) -> Result<Ipv4Net, String> {
        let p = match s {
            "default" | "all" | "any" => Ipv4Net::default(),
            _ if s.contains('/') => net::parse_net(s).map_err(|m| self.err(format!("{key}{m}")))?,
            _ => match s.parse::<Ipv4Addr>() {
                Ok(a) => Ipv4Net::from(a),
                Err(_) => {
                    return Err(self.err(format!(
                        "{key}\"{s}\" is not a prefix (like 10.0.0.0/8 or default) or an address"
                    )))
                }
            },
        };
        net::canonical(p).map_err(|m| self.err(format!("{key}{m}")))?;
        Ok(p)
    }

    fn table(&self, tables: &[TableConf], s: &str) -> Result<u32, String> {
        resolve_table(tables, s).map_err(|m| self.err(m))
    }

    /// An error for keyword `key` given twice.
    fn twice(&self, key: &str) -> String {
        self.err(format!("`{key}` is given twice"))
    }
}

/// `Some(v)` into `slot`, or the "given twice" error.
fn set_once<T>(w: &Words, slot: &mut Option<T>, key: &str, v: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(w.twice(key));
    }
    *slot = Some(v);
    Ok(())
}

/// Verbs that may lead the words, and what they are reported as.
const ADD_DEL: [(&str, &str); 3] = [("add", "add"), ("del", "del"), ("delete", "del")];
const ADD_DEL_REPLACE: [(&str, &str); 4] = [
    ("add", "add"),
    ("del", "del"),
    ("delete", "del"),
    ("replace", "replace"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_and_numbers() {
        let ws = ["add", "metric", "x"];
        let (w, verb) = Words::new("route", &ADD_DEL_REPLACE, &ws);
        assert_eq!(verb.as_deref(), Some("add"));
        assert_eq!(w.ctx, "route add");
        assert_eq!(
            w.number("metric", "x", 0, 9).unwrap_err(),
            "route add: metric \"x\" is not a number"
        );
        assert_eq!(
            w.number("metric", "10", 0, 9).unwrap_err(),
            "route add: metric 10 is out of range (0 to 9)"
        );
        assert_eq!(
            w.number("metric", "99999999999999999999999", 0, 9)
                .unwrap_err(),
            "route add: metric 99999999999999999999999 is out of range (0 to 9)"
        );
        assert_eq!(w.number("m", "0x1F", 0, 99), Ok(31));
        assert_eq!(
            w.number("m", "-1", 0, 99).unwrap_err(),
            "route add: m \"-1\" is not a number"
        );
        let ws = ["delete", "x"];
        let (w, verb) = Words::new("rule", &ADD_DEL, &ws);
        assert_eq!((verb.as_deref(), w.ctx.as_str()), (Some("del"), "rule del"));
        let ws = ["x"];
        let (mut w, verb) = Words::new("rule", &ADD_DEL, &ws);
        assert_eq!((verb, w.ctx.as_str()), (None, "rule"));
        assert_eq!(w.next(), Some("x"));
        assert_eq!(w.next(), None);
        assert_eq!(
            w.value("tos", "a number").unwrap_err(),
            "rule: `tos` needs a value (a number)"
        );
    }

    /// A command parsed here and checked with `Config::check_*` gets the verdict, and the
    /// words, that the same object gets in YAML.
    #[test]
    fn commands_check_like_yaml() {
        use crate::validate::testutil::{err, load, BASE};
        let extra = "tables: [{ id: 100, name: isp2 }]\nnexthops:\n  - { id: 1, via: 10.0.1.2 }\n";
        let mut c = load(&format!("{BASE}{extra}")).unwrap();
        let words = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();

        let (r, _) =
            parse_route_in(&words("add 10.9.0.0/16 via 10.0.9.9 table isp2"), &c.tables).unwrap();
        let cli = c.check_route(&r).unwrap_err();
        let yaml = err(&format!(
            "{BASE}{extra}routes:\n  - {{ prefix: 10.9.0.0/16, via: 10.0.9.9, table: isp2 }}\n"
        ));
        assert_eq!(format!("lab.yaml:15:33: {cli}"), yaml);
        let (r, _) = parse_route_in(
            &words("add 10.9.0.0/16 via 10.0.1.2 weight 2 via 10.0.2.2"),
            &c.tables,
        )
        .unwrap();
        assert_eq!(c.check_route(&r), Ok(()));
        let (r, _) = parse_route(&words("add 10.9.0.0/16 nhid 2")).unwrap();
        assert_eq!(
            c.check_route(&r).unwrap_err(),
            "route 10.9.0.0/16: nexthop id 2 does not exist (nexthops: 1)"
        );

        let mut r = parse_rule_in(&words("add from 10.0.0.0/8 lookup isp2"), &c.tables).unwrap();
        assert_eq!(r.pref, 0);
        r.pref = c.next_rule_pref().unwrap();
        assert_eq!(r.pref, 32765);
        assert_eq!(c.check_rule(&r), Ok(()));
        c.rules.push(r.clone());
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule pref 32765 from 10.0.0.0/8 lookup isp2 already exists"
        );
        assert_eq!(c.next_rule_pref(), Some(32764));
        let r = parse_rule(&words("add pref 9 iif p7 blackhole")).unwrap();
        assert_eq!(
            c.check_rule(&r).unwrap_err(),
            "rule iif `p7`: no such port (ports: p0, p1)"
        );

        let n = parse_nexthop(&words("add id 5 group 1,2/9")).unwrap();
        assert_eq!(
            c.check_nexthop(&n).unwrap_err(),
            "nexthop 5: member 9 does not exist (nexthops: 1)"
        );
        let n = parse_nexthop(&words("add id 5 via 10.0.2.2 dev p1")).unwrap();
        assert_eq!(c.check_nexthop(&n), Ok(()));
    }

    #[test]
    fn prefixes_like_iproute2() {
        let (w, _) = Words::new("route", &ADD_DEL, &[]);
        assert_eq!(w.prefix("", "default").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(w.prefix("", "10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(
            w.prefix("", "10.1.0.0/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            w.prefix("", "10.1.2.3/16").unwrap_err(),
            "route: prefix 10.1.2.3/16 has host bits set, did you mean 10.1.0.0/16?"
        );
        assert_eq!(
            w.prefix("from ", "10.1.2.300/16").unwrap_err(),
            "route: from invalid prefix `10.1.2.300/16`: `10.1.2.300` is not an IPv4 address"
        );
        assert_eq!(
            w.prefix("", "vai").unwrap_err(),
            "route: \"vai\" is not a prefix (like 10.0.0.0/8 or default) or an address"
        );
    }
}
