//! Checks on `nexthops` (nexthop objects, `ip nexthop`): ids in range and unique, which
//! keys go together, and (in [`crate::check::nexthop`], shared with the CLI) ports,
//! gateways and group members. A group's members come before it in the list, as
//! `ip nexthop add` needs them to exist (and as the control plane builds them).

use super::{in_range, issue, Issue, Validator};
use crate::check::{self, Part, WEIGHT_MAX};
use crate::config::{Config, NexthopConf, NexthopKind};
use crate::locate::{node, Seg};
use crate::schema::RawNexthop;

pub(super) fn nexthops(
    v: &Validator,
    c: &Config,
    raw: Vec<RawNexthop>,
) -> Result<Vec<NexthopConf>, Issue> {
    let mut out: Vec<NexthopConf> = Vec::with_capacity(raw.len());
    for (i, n) in raw.iter().enumerate() {
        let at_id = node!["nexthops", i, "id"];
        let id: u32 = in_range(n.id, 1, u32::MAX.into(), at_id, "nexthop id")?;
        if let Some(j) = out.iter().position(|o| o.id == id) {
            let line = v.line_of(&node!["nexthops", j]);
            return Err(issue(
                at_id,
                format!("duplicate nexthop id {id} (first defined at line {line})"),
            ));
        }
        let nh = NexthopConf {
            id,
            kind: kind(i, id, n)?,
        };
        if let NexthopKind::Group(members) = &nh.kind {
            later_member(v, i, id, members, &out, &raw)?;
        }
        check::nexthop(c, &nh, &out).map_err(|f| issue(fault_path(i, n, f.part), f.message))?;
        out.push(nh);
    }
    Ok(out)
}

/// A group's members must come before it, as `ip nexthop add` needs them to exist;
/// name the line of one that comes after.
fn later_member(
    v: &Validator,
    i: usize,
    id: u32,
    members: &[(u32, u16)],
    earlier: &[NexthopConf],
    raw: &[RawNexthop],
) -> Result<(), Issue> {
    for (j, &(m, _)) in members.iter().enumerate() {
        if m == id || earlier.iter().any(|e| e.id == m) {
            continue;
        }
        if let Some(k) = raw.iter().skip(i + 1).position(|r| r.id == u64::from(m)) {
            let line = v.line_of(&node!["nexthops", i + 1 + k]);
            return Err(issue(
                node!["nexthops", i, "group", j, "id"],
                format!(
                    "nexthop {id}: member {m} is defined after the group (line {line}); define \
                     members first, as `ip nexthop add` needs them to exist"
                ),
            ));
        }
    }
    Ok(())
}

/// The node of `nexthops[i]` that a [`check::nexthop`] fault is about.
fn fault_path(i: usize, r: &RawNexthop, part: Part) -> Vec<Seg> {
    let mut at: Vec<Seg> = node!["nexthops", i].to_vec();
    match part {
        Part::Id => at.push("id".into()),
        Part::Via(_) => at.push("via".into()),
        Part::Dev => at.push("dev".into()),
        Part::Member(j) => at.extend(node!["group", j, "id"]),
        Part::MemberWeight(j) => at.extend(node!["group", j, "weight"]),
        Part::Whole if r.group.is_some() => at.push("group".into()),
        _ => {}
    }
    at
}

fn kind(i: usize, id: u32, n: &RawNexthop) -> Result<NexthopKind, Issue> {
    let not_with = |key: &'static str, what: &str, why: &str| {
        issue(
            node!["nexthops", i, key],
            format!("nexthop {id}: {what} has no `{key}`{why}; remove one"),
        )
    };
    if let Some(members) = &n.group {
        if n.via.is_some() {
            return Err(not_with("via", "a group", " (its members have gateways)"));
        }
        if n.dev.is_some() {
            return Err(not_with("dev", "a group", " (its members have ports)"));
        }
        if n.blackhole {
            return Err(not_with(
                "blackhole",
                "a group",
                " (a member can be a blackhole)",
            ));
        }
        if members.is_empty() {
            return Err(issue(
                node!["nexthops", i, "group"],
                format!("nexthop {id}: `group` is empty; list at least one member"),
            ));
        }
        let mut out = Vec::with_capacity(members.len());
        for (j, m) in members.iter().enumerate() {
            let mid: u32 = in_range(
                m.id,
                1,
                u32::MAX.into(),
                node!["nexthops", i, "group", j, "id"],
                "nexthop id",
            )?;
            let weight: u16 = match m.weight {
                Some(w) => in_range(
                    w,
                    1,
                    WEIGHT_MAX.into(),
                    node!["nexthops", i, "group", j, "weight"],
                    "weight",
                )?,
                None => 1,
            };
            out.push((mid, weight));
        }
        return Ok(NexthopKind::Group(out));
    }
    if n.blackhole {
        if n.via.is_some() {
            return Err(not_with("via", "a blackhole nexthop", ""));
        }
        if n.dev.is_some() {
            return Err(not_with("dev", "a blackhole nexthop", ""));
        }
        return Ok(NexthopKind::Blackhole);
    }
    match (&n.via, &n.dev) {
        (Some(gw), dev) => Ok(NexthopKind::Via {
            gateway: gw.0,
            dev: dev.clone(),
        }),
        (None, Some(d)) => Ok(NexthopKind::Dev(d.clone())),
        (None, None) => Err(issue(
            node!["nexthops", i],
            format!(
                "nexthop {id} needs `via` (a gateway), `dev` (a port), `blackhole: true`, or \
                 `group` (a list of nexthop ids)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, load, BASE};
    use super::*;

    fn nexthops(lines: &str) -> String {
        format!("{BASE}nexthops:\n{lines}")
    }

    #[test]
    fn kinds() {
        let c = load(&nexthops(
            "  - { id: 1, via: 10.0.1.2 }\n\
             \x20 - { id: 2, via: 10.0.2.2, dev: p1 }\n\
             \x20 - { id: 3, dev: p0 }\n\
             \x20 - { id: 4, blackhole: true }\n\
             \x20 - { id: 10, group: [{ id: 1, weight: 3 }, 2] }\n\
             \x20 - { id: 5, group: [4] }\n\
             \x20 - { id: 4294967295, dev: p1, blackhole: false }\n",
        ))
        .unwrap();
        let k: Vec<&NexthopKind> = c.nexthops.iter().map(|n| &n.kind).collect();
        assert_eq!(*k[4], NexthopKind::Group(vec![(1, 3), (2, 1)]));
        assert_eq!(
            *k[0],
            NexthopKind::Via {
                gateway: "10.0.1.2".parse().unwrap(),
                dev: None
            }
        );
        assert_eq!(
            *k[1],
            NexthopKind::Via {
                gateway: "10.0.2.2".parse().unwrap(),
                dev: Some("p1".into())
            }
        );
        assert_eq!(*k[2], NexthopKind::Dev("p0".into()));
        assert_eq!(*k[3], NexthopKind::Blackhole);
        assert_eq!(*k[5], NexthopKind::Group(vec![(4, 1)]));
        assert_eq!(c.nexthops[6].id, u32::MAX);
    }

    #[test]
    fn id_errors() {
        assert_eq!(
            err(&nexthops("  - { id: 0, dev: p0 }\n")),
            "lab.yaml:12:11: nexthop id 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&nexthops(
                "  - { id: 1, dev: p0 }\n  - { id: 1, dev: p1 }\n"
            )),
            "lab.yaml:13:11: duplicate nexthop id 1 (first defined at line 12)"
        );
        assert_eq!(
            err(&nexthops("  - { dev: p0 }\n")),
            "lab.yaml:12:5: nexthops[0]: missing field `id`"
        );
    }

    #[test]
    fn key_combinations() {
        assert_eq!(
            err(&nexthops("  - { id: 1 }\n")),
            "lab.yaml:12:5: nexthop 1 needs `via` (a gateway), `dev` (a port), `blackhole: true`, \
             or `group` (a list of nexthop ids)"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, blackhole: true, via: 10.0.1.2 }\n")),
            "lab.yaml:12:36: nexthop 1: a blackhole nexthop has no `via`; remove one"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, blackhole: true, dev: p0 }\n")),
            "lab.yaml:12:36: nexthop 1: a blackhole nexthop has no `dev`; remove one"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, group: [2], via: 10.0.1.2 }\n")),
            "lab.yaml:12:31: nexthop 1: a group has no `via` (its members have gateways); remove one"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, group: [2], blackhole: true }\n")),
            "lab.yaml:12:37: nexthop 1: a group has no `blackhole` (a member can be a blackhole); remove one"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, group: [] }\n")),
            "lab.yaml:12:21: nexthop 1: `group` is empty; list at least one member"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, gruop: [] }\n")),
            "lab.yaml:12:14: nexthops[0]: unknown field `gruop`, expected one of `id`, `via`, `dev`, \
             `blackhole`, `group`"
        );
    }

    #[test]
    fn gateway_and_port_errors() {
        assert_eq!(
            err(&nexthops("  - { id: 1, via: 10.0.9.2 }\n")),
            "lab.yaml:12:19: nexthop 1 via 10.0.9.2: no port has an address on a subnet containing \
             it (ports: p0 10.0.1.1/24, p1 10.0.2.1/24)"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, via: 10.0.1.2, dev: p1 }\n")),
            "lab.yaml:12:19: nexthop 1 via 10.0.1.2 dev p1: port p1 has no address on a subnet \
             containing it and no neighbor entry for it (p1 10.0.2.1/24)"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, dev: eth0 }\n")),
            "lab.yaml:12:19: nexthop 1 dev `eth0`: no such port (ports: p0, p1)"
        );
        assert_eq!(
            err(&nexthops("  - { id: 1, via: 10.0.1.1 }\n")),
            "lab.yaml:12:19: nexthop 1 via 10.0.1.1: that is this router's own address on port p0"
        );
    }

    #[test]
    fn group_errors() {
        let base = "  - { id: 1, via: 10.0.1.2 }\n  - { id: 2, blackhole: true }\n";
        let g = |line: &str| err(&nexthops(&format!("{base}{line}")));
        assert_eq!(
            g("  - { id: 3, group: [1, 7] }\n"),
            "lab.yaml:14:25: nexthop 3: member 7 does not exist (nexthops: 1, 2)"
        );
        assert_eq!(
            g("  - { id: 3, group: [1, 4] }\n  - { id: 4, via: 10.0.2.2 }\n"),
            "lab.yaml:14:25: nexthop 3: member 4 is defined after the group (line 15); define members \
             first, as `ip nexthop add` needs them to exist"
        );
        assert_eq!(
            g("  - { id: 3, group: [{ id: 1 }, { id: 1, weight: 2 }] }\n"),
            "lab.yaml:14:39: nexthop 3: member 1 is listed twice"
        );
        assert_eq!(
            g("  - { id: 3, group: [1, 3] }\n"),
            "lab.yaml:14:25: nexthop 3: a group cannot contain itself"
        );
        assert_eq!(
            g("  - { id: 3, group: [1] }\n  - { id: 4, group: [3] }\n"),
            "lab.yaml:15:22: nexthop 4: member 3 is a group, and groups cannot be nested"
        );
        assert_eq!(
            g("  - { id: 3, group: [1, 2] }\n"),
            "lab.yaml:14:25: nexthop 3: member 2 is a blackhole nexthop, which must be the only \
             member of a group (as in Linux)"
        );
        assert_eq!(
            g("  - { id: 3, group: [{ id: 1, weight: 257 }] }\n"),
            "lab.yaml:14:39: weight 257 is out of range (1 to 256)"
        );
        assert_eq!(
            g("  - { id: 3, group: [{ id: 1, weight: 0 }] }\n"),
            "lab.yaml:14:39: weight 0 is out of range (1 to 256)"
        );
        assert_eq!(
            g("  - { id: 3, group: [0] }\n"),
            "lab.yaml:14:22: nexthop id 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            g("  - { id: 3, group: [{ id: 1, wieght: 2 }] }\n"),
            "lab.yaml:14:31: nexthops[2].group[0]: unknown field `wieght`, expected `id` or `weight`"
        );
        assert_eq!(
            g("  - { id: 3, group: 1 }\n"),
            "lab.yaml:14:21: nexthops[2].group: invalid type: integer `1`, expected a list of group \
             members like [{ id: 1, weight: 2 }, { id: 2 }]"
        );
    }
}
