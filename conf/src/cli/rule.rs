//! `rule add|del ...` in iproute2's syntax (see [`crate::cli`]).

use ipnet::Ipv4Net;

use super::{set_once, Words, ADD_DEL};
use crate::check;
use crate::config::{RuleAction, RuleConf, TableConf};
use crate::net;

/// Parses `[add|del|delete] [pref|priority|preference N] [from PREFIX|all] [to
/// PREFIX|all] [iif|dev PORT] [tos|dsfield TOS] [fwmark MARK[/MASK]] (table|lookup T |
/// blackhole | unreachable | prohibit | type TYPE)`. `table` takes a number or
/// `local`/`main`/`default`; see [`parse_rule_in`] for named user tables.
///
/// Without `pref` the rule's pref is 0, which stands for "not given": fill it in with
/// [`Config::next_rule_pref`](crate::Config::next_rule_pref), as Linux does, before
/// [`Config::check_rule`](crate::Config::check_rule). An explicit `pref 0` is an error
/// (Linux's `lookup local` rule has it). Selectors that select everything (`from all`,
/// 0.0.0.0/0, `tos 0`, `fwmark 0`) are `None`, as Linux stores them.
pub fn parse_rule(words: &[&str]) -> Result<RuleConf, String> {
    parse_rule_in(words, &[])
}

/// [`parse_rule`], resolving `table NAME` against `tables` (a config's
/// [`Config::tables`](crate::Config::tables)) as well.
pub fn parse_rule_in(words: &[&str], tables: &[TableConf]) -> Result<RuleConf, String> {
    let (mut w, _) = Words::new("rule", &ADD_DEL, words);
    let m = parse(&mut w, tables)?;
    if m.pref == Some(0) {
        return Err(w.err(
            "pref 0 is reserved for Linux's `lookup local` rule; use 1 to 4294967295 (or leave \
             it out to get the next free pref below the others)",
        ));
    }
    let Some(action) = m.action else {
        return Err(
            w.err("no action given: table T (or lookup T), blackhole, unreachable or prohibit")
        );
    };
    Ok(RuleConf {
        pref: m.pref.unwrap_or(0),
        from: m.from,
        to: m.to,
        iif: m.iif,
        tos: m.tos,
        fwmark: m.fwmark,
        action,
    })
}

/// Which rules a `rule del` names, as the kernel matches them (`fib_nl_delrule`):
/// every attribute given must be equal, the others are free.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleMatch {
    /// `pref N` (0 allowed here: it names Linux's `lookup local` rule).
    pub pref: Option<u32>,
    /// `from PREFIX` (not `from all`).
    pub from: Option<Ipv4Net>,
    /// `to PREFIX` (not `to all`).
    pub to: Option<Ipv4Net>,
    /// `iif PORT`.
    pub iif: Option<String>,
    /// `tos T` (not 0).
    pub tos: Option<u8>,
    /// `fwmark M[/MASK]`, normalized as in [`RuleConf::fwmark`].
    pub fwmark: Option<(u32, u32)>,
    /// `table T`, `blackhole`, ...
    pub action: Option<RuleAction>,
}

impl RuleMatch {
    /// Whether `r` has every attribute given. Linux deletes the first rule, in pref
    /// order, that matches; with no attributes at all that is the `lookup local` rule,
    /// so a caller may want to refuse an empty match.
    pub fn matches(&self, r: &RuleConf) -> bool {
        fn eq<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.pref.is_none_or(|p| p == r.pref)
            && eq(&self.from, &r.from)
            && eq(&self.to, &r.to)
            && eq(&self.iif, &r.iif)
            && eq(&self.tos, &r.tos)
            && eq(&self.fwmark, &r.fwmark)
            && self.action.is_none_or(|a| a == r.action)
    }

    /// Nothing given: would match any rule.
    pub fn is_empty(&self) -> bool {
        *self == RuleMatch::default()
    }
}

/// Parses `rule del` words (the syntax of [`parse_rule`], everything optional).
pub fn parse_rule_match(words: &[&str], tables: &[TableConf]) -> Result<RuleMatch, String> {
    let (mut w, _) = Words::new("rule", &ADD_DEL, words);
    parse(&mut w, tables)
}

const KEYWORDS: &str =
    "pref, from, to, iif, tos, fwmark, table/lookup, blackhole, unreachable, prohibit";

/// iproute2's `rt_dsfield` names this accepts.
const TOS_NAMES: [(&str, u8); 4] = [
    ("default", 0),
    ("lowdelay", 0x10),
    ("throughput", 0x08),
    ("reliability", 0x04),
];

fn parse(w: &mut Words, tables: &[TableConf]) -> Result<RuleMatch, String> {
    let mut m = RuleMatch::default();
    // Whether a selector was written at all, for "given twice" (`from all` is None).
    let mut seen: Vec<&str> = Vec::new();
    let mut once = |w: &Words, key: &'static str| {
        if seen.contains(&key) {
            Err(w.twice(key))
        } else {
            seen.push(key);
            Ok(())
        }
    };
    while let Some(word) = w.next() {
        match word {
            "pref" | "priority" | "preference" | "order" => {
                let v = w.value(word, "a number")?;
                let p = w.u32("pref", v, 0)?;
                set_once(w, &mut m.pref, "pref", p)?;
            }
            "from" | "to" => {
                once(w, if word == "from" { "from" } else { "to" })?;
                let v = w.value(word, "a prefix or all")?;
                let p = check::selector(Some(w.prefix(&format!("{word} "), v)?));
                if word == "from" {
                    m.from = p;
                } else {
                    m.to = p;
                }
            }
            "iif" | "dev" => {
                let v = w.value(word, "a port name")?;
                set_once(w, &mut m.iif, "iif", v.to_string())?;
            }
            "tos" | "dsfield" => {
                once(w, "tos")?;
                let v = w.value(word, "a hex number like 0x10")?;
                let t = tos(w, v)?;
                m.tos = (t != 0).then_some(t);
            }
            "fwmark" => {
                once(w, "fwmark")?;
                let v = w.value("fwmark", "a mark like 0x1 or 0x1/0xff")?;
                m.fwmark = net::parse_fwmark(v).map_err(|e| w.err(e))?;
            }
            "table" | "lookup" => {
                let v = w.value(word, "a number or a table name")?;
                let t = w.table(tables, v)?;
                action(w, &mut m, RuleAction::Lookup(t))?;
            }
            "blackhole" => action(w, &mut m, RuleAction::Blackhole)?,
            "unreachable" => action(w, &mut m, RuleAction::Unreachable)?,
            "prohibit" => action(w, &mut m, RuleAction::Prohibit)?,
            "type" => {
                let v = w.value("type", "blackhole, unreachable or prohibit")?;
                let a = match v {
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    _ => {
                        return Err(w.err(format!(
                            "rule type \"{v}\" is not supported (blackhole, unreachable, prohibit, \
                             or table T for a lookup)"
                        )))
                    }
                };
                action(w, &mut m, a)?;
            }
            _ => {
                return Err(w.err(format!(
                    "unknown keyword \"{word}\" (this router takes {KEYWORDS})"
                )))
            }
        }
    }
    Ok(m)
}

fn action(w: &Words, m: &mut RuleMatch, a: RuleAction) -> Result<(), String> {
    if let Some(old) = m.action {
        return Err(w.err(format!(
            "two actions given ({} and {}); give one",
            action_name(old),
            action_name(a)
        )));
    }
    m.action = Some(a);
    Ok(())
}

fn action_name(a: RuleAction) -> String {
    match a {
        RuleAction::Lookup(t) => format!("lookup {t}"),
        RuleAction::Blackhole => "blackhole".into(),
        RuleAction::Unreachable => "unreachable".into(),
        RuleAction::Prohibit => "prohibit".into(),
    }
}

/// A TOS as iproute2 reads it (`rtnl_dsfield_a2n`): hexadecimal, `0x` optional, or a
/// name.
fn tos(w: &Words, v: &str) -> Result<u8, String> {
    if let Some((_, t)) = TOS_NAMES.iter().find(|(n, _)| *n == v) {
        return Ok(*t);
    }
    let hex = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .unwrap_or(v);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(w.err(format!(
            "tos \"{v}\" is not a hex number (like 0x10; iproute2 reads 10 as 0x10 too) or one of \
             default, lowdelay, throughput, reliability"
        )));
    }
    match u8::from_str_radix(hex, 16) {
        Ok(t) => Ok(t),
        Err(_) => Err(w.err(format!("tos {v} is out of range (0x00 to 0xff)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Vec<TableConf> {
        vec![TableConf {
            id: 100,
            name: "isp2".into(),
        }]
    }

    fn words(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    fn ok(line: &str) -> RuleConf {
        parse_rule_in(&words(line), &tables()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(line: &str) -> String {
        match parse_rule_in(&words(line), &tables()) {
            Ok(r) => panic!("{line}: expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_selector() {
        let r = ok("add pref 100 from 10.0.0.0/8 to 192.0.2.0/24 iif p0 tos 0x10 fwmark 0x1/0xff lookup isp2");
        assert_eq!(
            r,
            RuleConf {
                pref: 100,
                from: Some("10.0.0.0/8".parse().unwrap()),
                to: Some("192.0.2.0/24".parse().unwrap()),
                iif: Some("p0".into()),
                tos: Some(0x10),
                fwmark: Some((1, 0xff)),
                action: RuleAction::Lookup(100),
            }
        );
        // iproute2's synonyms, and how it reads tos and a bare address.
        let r = ok("priority 7 from 10.1.2.3 dev p1 dsfield 10 fwmark 5 table main");
        assert_eq!(r.pref, 7);
        assert_eq!(r.from.unwrap().to_string(), "10.1.2.3/32");
        assert_eq!((r.iif.as_deref(), r.tos), (Some("p1"), Some(0x10)));
        assert_eq!(r.fwmark, Some((5, u32::MAX)));
        assert_eq!(r.action, RuleAction::Lookup(254));
        assert_eq!(ok("preference 8 tos lowdelay table 5").tos, Some(0x10));
        assert_eq!(ok("pref 8 tos b8 table 5").tos, Some(0xb8));
    }

    #[test]
    fn everything_selectors_are_none() {
        let r = ok("from all to 0.0.0.0/0 tos 0 fwmark 0 lookup default");
        assert_eq!((r.from, r.to, r.tos, r.fwmark), (None, None, None, None));
        assert_eq!(r.pref, 0, "not given");
        assert_eq!(r.action, RuleAction::Lookup(253));
        assert_eq!(ok("from any to default unreachable").to, None);
    }

    #[test]
    fn actions() {
        assert_eq!(
            ok("to 192.0.2.0/24 blackhole").action,
            RuleAction::Blackhole
        );
        assert_eq!(ok("unreachable").action, RuleAction::Unreachable);
        assert_eq!(ok("type prohibit").action, RuleAction::Prohibit);
        assert_eq!(ok("lookup 4294967295").action, RuleAction::Lookup(u32::MAX));
        assert_eq!(
            err("add from 10.0.0.0/8"),
            "rule add: no action given: table T (or lookup T), blackhole, unreachable or prohibit"
        );
        assert_eq!(
            err("add table 5 blackhole"),
            "rule add: two actions given (lookup 5 and blackhole); give one"
        );
        assert_eq!(
            err("add type goto"),
            "rule add: rule type \"goto\" is not supported (blackhole, unreachable, prohibit, or \
             table T for a lookup)"
        );
        assert_eq!(
            err("add lookup isp3"),
            "rule add: table `isp3` is not a number or a table name (local, main, default, isp2)"
        );
        assert_eq!(
            err("add lookup 0"),
            "rule add: table 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            parse_rule(&["lookup", "isp2"]).unwrap_err(),
            "rule: table `isp2` is not a number or a table name (local, main, default)"
        );
    }

    #[test]
    fn value_errors() {
        assert_eq!(
            err("add pref 0 table 5"),
            "rule add: pref 0 is reserved for Linux's `lookup local` rule; use 1 to 4294967295 (or \
             leave it out to get the next free pref below the others)"
        );
        assert_eq!(
            err("add pref x table 5"),
            "rule add: pref \"x\" is not a number"
        );
        assert_eq!(
            err("add pref 4294967296 table 5"),
            "rule add: pref 4294967296 is out of range (0 to 4294967295)"
        );
        assert_eq!(
            err("add from 10.0.0.1/8 table 5"),
            "rule add: from prefix 10.0.0.1/8 has host bits set, did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            err("add to 10.0.0.0/40 table 5"),
            "rule add: to invalid prefix `10.0.0.0/40`: prefix length 40 is out of range (0 to 32)"
        );
        assert_eq!(
            err("add tos zz table 5"),
            "rule add: tos \"zz\" is not a hex number (like 0x10; iproute2 reads 10 as 0x10 too) or \
             one of default, lowdelay, throughput, reliability"
        );
        assert_eq!(
            err("add tos 0x100 table 5"),
            "rule add: tos 0x100 is out of range (0x00 to 0xff)"
        );
        assert_eq!(
            err("add fwmark 1/y table 5"),
            "rule add: fwmark `1/y`: `y` is not a number from 0 to 0xffffffff (decimal or 0x hex)"
        );
        assert_eq!(
            err("add table 5 fwmark"),
            "rule add: `fwmark` needs a value (a mark like 0x1 or 0x1/0xff)"
        );
    }

    #[test]
    fn keyword_errors() {
        assert_eq!(
            err("add not from 10.0.0.0/8 table 5"),
            "rule add: unknown keyword \"not\" (this router takes pref, from, to, iif, tos, fwmark, \
             table/lookup, blackhole, unreachable, prohibit)"
        );
        assert_eq!(
            err("add from all from 10.0.0.0/8 table 5"),
            "rule add: `from` is given twice"
        );
        assert_eq!(
            err("add pref 1 priority 2 table 5"),
            "rule add: `pref` is given twice"
        );
        assert_eq!(
            err("add iif p0 dev p1 table 5"),
            "rule add: `iif` is given twice"
        );
        assert_eq!(
            err("add tos 0 tos 0x10 table 5"),
            "rule add: `tos` is given twice"
        );
    }

    fn m(line: &str) -> RuleMatch {
        parse_rule_match(&words(line), &tables()).unwrap()
    }

    #[test]
    fn del_matches_like_the_kernel() {
        let mut r = ok("pref 100 from 10.0.0.0/8 fwmark 0x1/0xff lookup isp2");
        assert!(m("del pref 100").matches(&r));
        assert!(m("del from 10.0.0.0/8").matches(&r));
        assert!(m("del table 100").matches(&r));
        assert!(m("del fwmark 0x1/0xff lookup isp2").matches(&r));
        assert!(m("del from all lookup isp2").matches(&r));
        assert!(!m("del pref 101").matches(&r));
        assert!(!m("del to 10.0.0.0/8").matches(&r));
        assert!(!m("del fwmark 0x1").matches(&r));
        assert!(!m("del blackhole").matches(&r));
        assert!(m("del").is_empty() && m("del").matches(&r));
        assert!(!m("del pref 0").is_empty());
        r.pref = 0;
        assert!(m("del pref 0").matches(&r));
    }
}
