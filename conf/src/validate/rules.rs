//! Checks on `rules` (policy rules, `ip rule`): exactly one action, prefs (a missing
//! one is chosen as Linux would, in file order), selectors, and no duplicates of each
//! other or of Linux's default rules. The checks the CLI shares are in
//! [`crate::check::rule`].

use super::{in_range, issue, table_ref, Issue, Validator};
use crate::check::{self, Dup, Part};
use crate::config::{Config, RuleAction, RuleConf};
use crate::locate::{node, Seg};
use crate::schema::{RawRule, RuleType};

pub(super) fn rules(v: &Validator, c: &Config, raw: Vec<RawRule>) -> Result<Vec<RuleConf>, Issue> {
    let mut out: Vec<RuleConf> = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let action =
            match (&r.table, r.kind) {
                (Some(_), Some(_)) => {
                    return Err(issue(
                        node!["rules", i, "type"],
                        "rule: give either `table` (look up a table) or `type` (blackhole, \
                     unreachable, prohibit), not both",
                    ))
                }
                (None, None) => return Err(issue(
                    node!["rules", i],
                    "rule needs an action: `table: T` to look up table T, or `type: blackhole`, \
                     `type: unreachable` or `type: prohibit`",
                )),
                (Some(t), None) => {
                    RuleAction::Lookup(table_ref(c, Some(t), node!["rules", i, "table"], "rule")?)
                }
                (None, Some(RuleType::Blackhole)) => RuleAction::Blackhole,
                (None, Some(RuleType::Unreachable)) => RuleAction::Unreachable,
                (None, Some(RuleType::Prohibit)) => RuleAction::Prohibit,
            };
        let pref = match r.pref {
            Some(p) => in_range(
                p,
                0,
                u32::MAX.into(),
                node!["rules", i, "pref"],
                "rule pref",
            )?,
            None => check::next_rule_pref(&out).ok_or_else(|| {
                issue(
                    node!["rules", i],
                    "rule needs a `pref`: Linux would give it one less than the lowest pref in \
                     use, which is 1, and 0 is reserved for the local table",
                )
            })?,
        };
        let tos: u8 = match r.tos {
            Some(t) => in_range(t, 0, 255, node!["rules", i, "tos"], "rule tos")?,
            None => 0,
        };
        let rule = RuleConf {
            pref,
            from: check::selector(r.from.and_then(|s| s.0)),
            to: check::selector(r.to.and_then(|s| s.0)),
            iif: r.iif,
            tos: (tos != 0).then_some(tos),
            fwmark: r.fwmark.and_then(|m| m.0),
            action,
        };
        check::rule(c, &rule).map_err(|f| issue(fault_path(i, f.part), f.message))?;
        match check::duplicate_rule(&out, &rule) {
            None => {}
            Some(Dup::Default) => {
                return Err(issue(
                    node!["rules", i],
                    check::default_dup_message(&c.tables, &rule),
                ))
            }
            Some(Dup::Earlier(j)) => {
                let line = v.line_of(&node!["rules", j]);
                return Err(issue(
                    node!["rules", i],
                    format!(
                        "duplicate rule {} (first defined at line {line})",
                        check::describe_rule(&c.tables, &rule)
                    ),
                ));
            }
        }
        out.push(rule);
    }
    Ok(out)
}

/// The node of `rules[i]` that a [`check::rule`] fault is about.
fn fault_path(i: usize, part: Part) -> Vec<Seg> {
    let key = match part {
        Part::Pref => "pref",
        Part::From => "from",
        Part::To => "to",
        Part::Iif => "iif",
        Part::Tos => "tos",
        Part::Fwmark => "fwmark",
        Part::Table => "table",
        _ => return node!["rules", i].to_vec(),
    };
    node!["rules", i, key].to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, load, BASE};
    use super::*;
    use crate::default_rules;

    fn rules(lines: &str) -> String {
        format!("{BASE}tables: [{{ id: 100, name: isp2 }}]\nrules:\n{lines}")
    }

    fn prefs(c: &Config) -> Vec<u32> {
        c.rules.iter().map(|r| r.pref).collect()
    }

    #[test]
    fn selectors_and_actions() {
        let c = load(&rules(
            "  - { pref: 100, from: 10.0.0.0/8, to: 192.0.2.0/24, iif: p0, tos: 0x10, fwmark: \"0x1/0xff\", table: isp2 }\n\
             \x20 - { pref: 101, from: all, to: 0.0.0.0/0, tos: 0, fwmark: 0, table: 7 }\n\
             \x20 - { pref: 102, fwmark: 16, type: blackhole }\n\
             \x20 - { pref: 103, table: main }\n\
             \x20 - { pref: 104, type: unreachable }\n\
             \x20 - { pref: 105, type: prohibit }\n",
        ))
        .unwrap();
        let r = &c.rules;
        assert_eq!(
            r[0],
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
        // `all`, 0.0.0.0/0, tos 0 and fwmark 0 select nothing, as in Linux.
        assert_eq!(
            (r[1].from, r[1].to, r[1].tos, r[1].fwmark, r[1].action),
            (None, None, None, None, RuleAction::Lookup(7))
        );
        assert_eq!(r[2].fwmark, Some((16, u32::MAX)));
        assert_eq!(r[2].action, RuleAction::Blackhole);
        assert_eq!(r[3].action, RuleAction::Lookup(254));
        assert_eq!(r[4].action, RuleAction::Unreachable);
        assert_eq!(r[5].action, RuleAction::Prohibit);
        assert_eq!(default_rules().len(), 3);
    }

    #[test]
    fn missing_prefs_are_chosen_like_linux() {
        // Each rule without a pref gets (lowest pref in use other than 0) - 1, counting
        // the default rule at 32766 and the rules above it in the file.
        let c = load(&rules(
            "  - { table: 1 }\n  - { table: 2 }\n  - { pref: 40000, table: 3 }\n  - { pref: 500, table: 4 }\n  - { table: 5 }\n",
        ))
        .unwrap();
        assert_eq!(prefs(&c), [32765, 32764, 40000, 500, 499]);
        assert_eq!(
            err(&rules("  - { pref: 1, table: 1 }\n  - { table: 2 }\n")),
            "lab.yaml:14:5: rule needs a `pref`: Linux would give it one less than the lowest pref \
             in use, which is 1, and 0 is reserved for the local table"
        );
    }

    #[test]
    fn pref_errors() {
        assert_eq!(
            err(&rules("  - { pref: 0, table: main }\n")),
            "lab.yaml:13:13: rule pref 0 is reserved: Linux keeps pref 0 for the rule that looks up \
             the local table; use a pref from 1 to 4294967295"
        );
        assert_eq!(
            err(&rules("  - { pref: 4294967296, table: main }\n")),
            "lab.yaml:13:13: rule pref 4294967296 is out of range (0 to 4294967295)"
        );
    }

    #[test]
    fn action_errors() {
        assert_eq!(
            err(&rules("  - { pref: 5, from: 10.0.0.0/8 }\n")),
            "lab.yaml:13:5: rule needs an action: `table: T` to look up table T, or `type: blackhole`, \
             `type: unreachable` or `type: prohibit`"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, table: 5, type: blackhole }\n")),
            "lab.yaml:13:32: rule: give either `table` (look up a table) or `type` (blackhole, \
             unreachable, prohibit), not both"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, table: isp3 }\n")),
            "lab.yaml:13:23: rule table `isp3` is not a number or a table name (local, main, default, isp2)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, table: 0 }\n")),
            "lab.yaml:13:23: rule table 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, table: -3 }\n")),
            "lab.yaml:13:23: rules[0].table: table -3 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, type: goto }\n")),
            "lab.yaml:13:22: rules[0].type: unknown variant `goto`, expected one of `blackhole`, \
             `unreachable`, `prohibit`"
        );
    }

    #[test]
    fn selector_errors() {
        assert_eq!(
            err(&rules("  - { pref: 5, from: 10.0.0.1/8, table: 5 }\n")),
            "lab.yaml:13:22: rule `from` prefix 10.0.0.1/8 has host bits set, did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, to: 10.0.0.1, table: 5 }\n")),
            "lab.yaml:13:20: rules[0].to: `10.0.0.1` has no prefix length (write it like 10.0.0.1/24)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, iif: p5, table: 5 }\n")),
            "lab.yaml:13:21: rule iif `p5`: no such port (ports: p0, p1)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, tos: 256, table: 5 }\n")),
            "lab.yaml:13:21: rule tos 256 is out of range (0 to 255)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, tos: 0x11, table: 5 }\n")),
            "lab.yaml:13:21: rule tos 0x11 sets ECN bits (0x03), which Linux does not match on; did you mean 0x10?"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, fwmark: \"0x3/0x1\", table: 5 }\n")),
            "lab.yaml:13:24: rule fwmark 0x3/0x1 has bits outside the mask, did you mean 0x1/0x1?"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, fwmark: \"1/x\", table: 5 }\n")),
            "lab.yaml:13:24: rules[0].fwmark: fwmark `1/x`: `x` is not a number from 0 to 0xffffffff \
             (decimal or 0x hex)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, fwmark: 4294967296, table: 5 }\n")),
            "lab.yaml:13:24: rules[0].fwmark: fwmark 4294967296 is out of range (0 to 4294967295)"
        );
        assert_eq!(
            err(&rules("  - { pref: 5, oif: p0, table: 5 }\n")),
            "lab.yaml:13:16: rules[0]: unknown field `oif`, expected one of `pref`, `from`, `to`, \
             `iif`, `tos`, `fwmark`, `table`, `type`"
        );
    }

    #[test]
    fn duplicates() {
        assert_eq!(
            err(&rules(
                "  - { pref: 5, from: 10.0.0.0/8, table: isp2 }\n  - { pref: 6, from: 10.0.0.0/8, table: isp2 }\n  - { pref: 5, from: 10.0.0.0/8, table: 100 }\n"
            )),
            "lab.yaml:15:5: duplicate rule pref 5 from 10.0.0.0/8 lookup isp2 (first defined at line 13)"
        );
        assert_eq!(
            err(&rules("  - { pref: 32767, table: default }\n")),
            "lab.yaml:13:5: rule pref 32767 from all lookup default is one of Linux's default rules, \
             which are always there"
        );
        // Same pref, different selector or action: fine, as in Linux.
        let c = load(&rules(
            "  - { pref: 5, table: 1 }\n  - { pref: 5, table: 2 }\n  - { pref: 32766, table: 1 }\n",
        ))
        .unwrap();
        assert_eq!(prefs(&c), [5, 5, 32766]);
    }
}
