//! Checks on `routes` and `route_files`: canonical prefixes, tables, duplicates, route
//! types, via lists (ECMP), `nhid`, and that every gateway is reachable through some
//! port. The checks that the CLI shares live in [`crate::check`]; here is what only the
//! YAML form has (which keys go together) and the mapping of a fault to its node.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use super::{in_range, issue, table_ref, Issue, Validator};
use crate::check::{self, Part, WEIGHT_MAX};
use crate::config::{Config, NexthopSpec, RouteConf, RouteFileConf, RouteTarget};
use crate::locate::{node, Seg};
use crate::net;
use crate::schema::{RawRoute, RawRouteFile, RawVia, RouteType};

pub(super) fn routes(
    v: &Validator,
    c: &Config,
    raw: Vec<RawRoute>,
) -> Result<Vec<RouteConf>, Issue> {
    let mut out = Vec::with_capacity(raw.len());
    let mut seen: HashMap<(u32, Ipv4Net, u32), usize> = HashMap::new();
    for (i, r) in raw.into_iter().enumerate() {
        let prefix = r.prefix.0;
        net::canonical(prefix)
            .map_err(|m| issue(node!["routes", i, "prefix"], format!("route {m}")))?;
        let table = table_ref(c, r.table.as_ref(), node!["routes", i, "table"], "route")?;
        if let Some(&j) = seen.get(&(table, prefix, r.metric)) {
            let line = v.line_of(&node!["routes", j]);
            let in_table = if table == crate::TABLE_MAIN {
                String::new()
            } else {
                format!(" table {}", c.table_name(table))
            };
            return Err(issue(
                node!["routes", i, "prefix"],
                format!(
                    "duplicate route {prefix}{in_table} metric {} (first defined at line {line})",
                    r.metric
                ),
            ));
        }
        seen.insert((table, prefix, r.metric), i);
        let route = RouteConf {
            prefix,
            target: target(i, &r)?,
            metric: r.metric,
            table,
        };
        check::route(c, &route).map_err(|f| issue(fault_path(i, &r, f.part), f.message))?;
        out.push(route);
    }
    Ok(out)
}

/// The node of `routes[i]` that a [`check::route`] fault is about.
fn fault_path(i: usize, r: &RawRoute, part: Part) -> Vec<Seg> {
    let list = matches!(r.via, Some(RawVia::List(_)));
    let mut at: Vec<Seg> = node!["routes", i].to_vec();
    match part {
        Part::Prefix => at.push("prefix".into()),
        Part::Table => at.push("table".into()),
        Part::Nhid => at.push("nhid".into()),
        Part::Dev if r.dev.is_some() || !list => at.push("dev".into()),
        // A list of one with the port inside the entry.
        Part::Dev => at.extend(node!["via", 0, "dev"]),
        Part::Via(_) if !list => at.push("via".into()),
        Part::Via(j) => at.extend(node!["via", j]),
        Part::HopDev(j) => at.extend(node!["via", j, "dev"]),
        Part::HopWeight(j) => at.extend(node!["via", j, "weight"]),
        _ => {}
    }
    at
}

/// What the route's keys say it does; which keys may go together is judged here, the
/// rest in [`check::route`].
fn target(i: usize, r: &RawRoute) -> Result<RouteTarget, Issue> {
    let kind = r.kind.unwrap_or(RouteType::Unicast);
    let prefix = r.prefix.0;
    if let Some(id) = r.nhid {
        let what = "the nexthop object gives the gateways and ports";
        for (key, present) in [("via", r.via.is_some()), ("dev", r.dev.is_some())] {
            if present {
                return Err(issue(
                    node!["routes", i, key],
                    format!("route {prefix}: `nhid` and `{key}` cannot go together ({what}); remove one"),
                ));
            }
        }
        if kind != RouteType::Unicast {
            return Err(issue(
                node!["routes", i, "type"],
                format!(
                    "route {prefix}: `nhid` and `type: {}` cannot go together (a route with a \
                     nexthop object is unicast); remove one",
                    kind.name()
                ),
            ));
        }
        let id = in_range(id, 1, u32::MAX.into(), node!["routes", i, "nhid"], "nhid")?;
        return Ok(RouteTarget::Nhid(id));
    }
    if kind != RouteType::Unicast {
        let name = kind.name();
        if r.via.is_some() {
            return Err(issue(
                node!["routes", i, "via"],
                format!(
                    "route {prefix}: a {name} route has no gateway; remove `via` or `type: {name}`"
                ),
            ));
        }
        if r.dev.is_some() {
            return Err(issue(
                node!["routes", i, "dev"],
                format!(
                    "route {prefix}: a {name} route has no port; remove `dev` or `type: {name}`"
                ),
            ));
        }
        return Ok(match kind {
            RouteType::Blackhole => RouteTarget::Blackhole,
            RouteType::Unreachable => RouteTarget::Unreachable,
            _ => RouteTarget::Prohibit,
        });
    }
    match (&r.via, &r.dev) {
        (None, None) => Err(issue(
            node!["routes", i],
            format!(
                "route {prefix} needs `via` (a gateway), `dev` (a port), `nhid` (a nexthop \
                 object), or a `type` (blackhole, unreachable, prohibit)"
            ),
        )),
        (None, Some(d)) => Ok(RouteTarget::Dev(d.clone())),
        (Some(RawVia::One(gw)), dev) => Ok(RouteTarget::Via {
            gateway: gw.0,
            dev: dev.clone(),
        }),
        (Some(RawVia::List(hops)), dev) => {
            let mut out = Vec::with_capacity(hops.len());
            for (j, h) in hops.iter().enumerate() {
                let weight = match h.weight {
                    Some(w) => in_range(
                        w,
                        1,
                        WEIGHT_MAX.into(),
                        node!["routes", i, "via", j, "weight"],
                        "weight",
                    )?,
                    None => 1,
                };
                out.push(NexthopSpec {
                    gateway: h.address.0,
                    dev: h.dev.clone(),
                    weight,
                });
            }
            match (out.len(), dev) {
                (0, _) => Err(issue(
                    node!["routes", i, "via"],
                    format!("route {prefix}: `via` is an empty list; give at least one gateway"),
                )),
                (1, Some(_)) if out[0].dev.is_some() => Err(issue(
                    node!["routes", i, "dev"],
                    format!(
                        "route {prefix}: `dev` is given twice, on the route and in its `via` entry; remove one"
                    ),
                )),
                (1, dev) => {
                    let h = out.remove(0);
                    Ok(RouteTarget::Via {
                        gateway: h.gateway,
                        dev: h.dev.or_else(|| dev.clone()),
                    })
                }
                (n, Some(d)) => Err(issue(
                    node!["routes", i, "dev"],
                    format!(
                        "route {prefix}: `dev: {d}` on a route with {n} gateways is ambiguous; give \
                         each its port in the list, like via: [{{ address: {}, dev: {d} }}, ...]",
                        out[0].gateway
                    ),
                )),
                (_, None) => Ok(RouteTarget::Multipath(out)),
            }
        }
    }
}

pub(super) fn route_files(
    v: &Validator,
    c: &Config,
    raw: Vec<RawRouteFile>,
) -> Result<Vec<RouteFileConf>, Issue> {
    let dir = v.file.parent().unwrap_or(Path::new(""));
    let mut out = Vec::with_capacity(raw.len());
    for (i, f) in raw.into_iter().enumerate() {
        let path = resolve(dir, &f.path, node!["route_files", i, "path"])?;
        if f.via.is_empty() {
            return Err(issue(
                node!["route_files", i, "via"],
                "route file needs at least one gateway in `via` (like via: [10.0.1.2])",
            ));
        }
        for (j, gw) in f.via.iter().enumerate() {
            check::gateway(c, gw.0, None, "route file")
                .map_err(|m| issue(node!["route_files", i, "via", j], m))?;
        }
        let table = table_ref(
            c,
            f.table.as_ref(),
            node!["route_files", i, "table"],
            "route file",
        )?;
        out.push(RouteFileConf {
            path,
            via: f.via.iter().map(|a| a.0).collect(),
            metric: f.metric,
            table,
        });
    }
    Ok(out)
}

/// `p` relative to the config file's directory; it must be an existing file.
fn resolve(dir: &Path, p: &Path, at: impl Into<Vec<Seg>>) -> Result<PathBuf, Issue> {
    let full = dir.join(p);
    let shown = if full == p {
        String::new()
    } else {
        format!(" (resolved to {})", full.display())
    };
    match std::fs::metadata(&full) {
        Ok(m) if m.is_file() => Ok(full),
        Ok(_) => Err(issue(
            at,
            format!("route file `{}` is not a regular file{shown}", p.display()),
        )),
        Err(e) => Err(issue(
            at,
            format!("route file `{}`: {e}{shown}", p.display()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::testutil::{err, load, BASE};
    use super::*;

    fn routes(lines: &str) -> String {
        format!("{BASE}routes:\n{lines}")
    }

    #[test]
    fn targets() {
        let c = load(&routes(
            "  - { prefix: 198.51.100.0/24, via: 10.0.2.2 }\n\
             \x20 - { prefix: 0.0.0.0/0, via: 10.0.1.2, metric: 10 }\n\
             \x20 - { prefix: 203.0.113.0/24, type: blackhole }\n\
             \x20 - { prefix: 203.0.113.0/25, type: unreachable }\n\
             \x20 - { prefix: 203.0.113.128/25, type: prohibit }\n\
             \x20 - { prefix: 192.0.2.0/24, dev: p1 }\n\
             \x20 - { prefix: 192.0.3.0/24, via: 10.0.1.9, dev: p0, type: unicast }\n",
        ))
        .unwrap();
        let t: Vec<&RouteTarget> = c.routes.iter().map(|r| &r.target).collect();
        assert_eq!(
            *t[0],
            RouteTarget::Via {
                gateway: Ipv4Addr::new(10, 0, 2, 2),
                dev: None
            }
        );
        assert_eq!(c.routes[1].metric, 10);
        assert_eq!(*t[2], RouteTarget::Blackhole);
        assert_eq!(*t[3], RouteTarget::Unreachable);
        assert_eq!(*t[4], RouteTarget::Prohibit);
        assert_eq!(*t[5], RouteTarget::Dev("p1".into()));
        assert_eq!(
            *t[6],
            RouteTarget::Via {
                gateway: Ipv4Addr::new(10, 0, 1, 9),
                dev: Some("p0".into())
            }
        );
    }

    #[test]
    fn missing_prefix() {
        assert_eq!(
            err(&routes("  - { via: 10.0.2.2 }\n")),
            "lab.yaml:12:5: routes[0]: missing field `prefix`"
        );
    }

    #[test]
    fn bad_route_prefixes() {
        assert_eq!(
            err(&routes("  - { prefix: 10.0.0.300/24, via: 10.0.2.2 }\n")),
            "lab.yaml:12:15: routes[0].prefix: invalid prefix `10.0.0.300/24`: `10.0.0.300` is not an IPv4 address"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.0.0.0/33, via: 10.0.2.2 }\n")),
            "lab.yaml:12:15: routes[0].prefix: invalid prefix `10.0.0.0/33`: prefix length 33 is out of range (0 to 32)"
        );
    }

    #[test]
    fn host_bits_set() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.1/24, via: 10.0.2.2 }\n")),
            "lab.yaml:12:15: route prefix 10.9.0.1/24 has host bits set, did you mean 10.9.0.0/24?"
        );
    }

    #[test]
    fn duplicate_route() {
        let e = err(&routes(
            "  - { prefix: 10.9.0.0/24, via: 10.0.2.2 }\n  - { prefix: 10.9.0.0/24, via: 10.0.1.2, metric: 5 }\n  - prefix: 10.9.0.0/24\n    via: 10.0.1.2\n",
        ));
        assert_eq!(
            e,
            "lab.yaml:14:13: duplicate route 10.9.0.0/24 metric 0 (first defined at line 12)"
        );
    }

    #[test]
    fn unreachable_via() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, via: 10.9.9.9 }\n")),
            "lab.yaml:12:33: route via 10.9.9.9: no port has an address on a subnet containing it \
             (ports: p0 10.0.1.1/24, p1 10.0.2.1/24)"
        );
    }

    #[test]
    fn via_through_wrong_dev() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, via: 10.0.1.2, dev: p1 }\n")),
            "lab.yaml:12:33: route via 10.0.1.2 dev p1: port p1 has no address on a subnet containing it \
             and no neighbor entry for it (p1 10.0.2.1/24)"
        );
    }

    #[test]
    fn via_own_address() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, via: 10.0.1.1 }\n")),
            "lab.yaml:12:33: route via 10.0.1.1: that is this router's own address on port p0"
        );
    }

    #[test]
    fn dev_names_no_port() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, dev: p7 }\n")),
            "lab.yaml:12:33: route dev `p7`: no such port (ports: p0, p1)"
        );
    }

    #[test]
    fn via_with_blackhole() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, type: blackhole, via: 10.0.1.2 }\n")),
            "lab.yaml:12:50: route 10.9.0.0/16: a blackhole route has no gateway; remove `via` or `type: blackhole`"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, type: prohibit, dev: p0 }\n")),
            "lab.yaml:12:49: route 10.9.0.0/16: a prohibit route has no port; remove `dev` or `type: prohibit`"
        );
    }

    #[test]
    fn unknown_type_and_key() {
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, type: drop }\n")),
            "lab.yaml:12:34: routes[0].type: unknown variant `drop`, expected one of `unicast`, `blackhole`, \
             `unreachable`, `prohibit`"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, gw: 10.0.1.2 }\n")),
            "lab.yaml:12:28: routes[0]: unknown field `gw`, expected one of `prefix`, `via`, `dev`, `nhid`, `type`, \
             `metric`, `table`"
        );
    }

    #[test]
    fn no_target() {
        assert_eq!(
            err(&routes("  - prefix: 10.9.0.0/16\n    metric: 3\n")),
            "lab.yaml:12:5: route 10.9.0.0/16 needs `via` (a gateway), `dev` (a port), `nhid` (a nexthop \
             object), or a `type` (blackhole, unreachable, prohibit)"
        );
    }

    #[test]
    fn tables() {
        let c = load(&format!(
            "{BASE}tables: [{{ id: 100, name: isp2 }}]\nroutes:\n\
             \x20 - {{ prefix: 10.9.0.0/16, via: 10.0.1.2 }}\n\
             \x20 - {{ prefix: 10.9.0.0/16, via: 10.0.1.2, table: isp2 }}\n\
             \x20 - {{ prefix: 10.9.0.0/16, via: 10.0.1.2, table: 7 }}\n\
             \x20 - {{ prefix: 10.9.0.0/16, type: blackhole, table: local }}\n\
             \x20 - {{ prefix: 10.9.0.0/16, type: blackhole, table: \"100\", metric: 1 }}\n"
        ))
        .unwrap();
        let t: Vec<u32> = c.routes.iter().map(|r| r.table).collect();
        assert_eq!(t, [254, 100, 7, 255, 100]);
        let dup = format!(
            "{BASE}tables: [{{ id: 100, name: isp2 }}]\nroutes:\n\
             \x20 - {{ prefix: 10.9.0.0/16, via: 10.0.1.2, table: isp2 }}\n\
             \x20 - {{ prefix: 10.9.0.0/16, via: 10.0.2.2, table: 100 }}\n"
        );
        assert_eq!(
            err(&dup),
            "lab.yaml:14:15: duplicate route 10.9.0.0/16 table isp2 metric 0 (first defined at line 13)"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, type: prohibit, table: isp9 }\n")),
            "lab.yaml:12:51: route table `isp9` is not a number or a table name (local, main, default)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.9.0.0/16, type: prohibit, table: 0 }\n"
            )),
            "lab.yaml:12:51: route table 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.9.0.0/16, type: prohibit, table: 4294967296 }\n"
            )),
            "lab.yaml:12:51: route table 4294967296 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.9.0.0/16, type: prohibit, table: [1] }\n")),
            "lab.yaml:12:51: routes[0].table: invalid type: sequence, expected a table number or name \
             like 100, main or isp2"
        );
    }

    fn hop(gw: &str, dev: Option<&str>, weight: u16) -> NexthopSpec {
        NexthopSpec {
            gateway: gw.parse().unwrap(),
            dev: dev.map(String::from),
            weight,
        }
    }

    #[test]
    fn via_lists() {
        let c = load(&routes(
            "  - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.2.2] }\n\
             \x20 - prefix: 10.2.0.0/16\n    via:\n      - {{ address: 10.0.1.2, weight: 3, dev: p0 }}\n      - address: 10.0.2.2\n      - 10.0.2.3\n\
             \x20 - { prefix: 10.3.0.0/16, via: [10.0.1.2] }\n\
             \x20 - { prefix: 10.4.0.0/16, via: [{ address: 10.0.1.2, dev: p0, weight: 9 }] }\n\
             \x20 - { prefix: 10.5.0.0/16, via: [10.0.2.2], dev: p1 }\n"
                .replace("{{", "{")
                .replace("}}", "}")
                .as_str(),
        ))
        .unwrap();
        let t: Vec<&RouteTarget> = c.routes.iter().map(|r| &r.target).collect();
        assert_eq!(
            *t[0],
            RouteTarget::Multipath(vec![hop("10.0.1.2", None, 1), hop("10.0.2.2", None, 1)])
        );
        assert_eq!(
            *t[1],
            RouteTarget::Multipath(vec![
                hop("10.0.1.2", Some("p0"), 3),
                hop("10.0.2.2", None, 1),
                hop("10.0.2.3", None, 1)
            ])
        );
        // A list of one is a plain `via` (its weight means nothing).
        let via = |gw: &str, dev: Option<&str>| RouteTarget::Via {
            gateway: gw.parse().unwrap(),
            dev: dev.map(String::from),
        };
        assert_eq!(*t[2], via("10.0.1.2", None));
        assert_eq!(*t[3], via("10.0.1.2", Some("p0")));
        assert_eq!(*t[4], via("10.0.2.2", Some("p1")));
    }

    #[test]
    fn via_list_errors() {
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, via: [] }\n")),
            "lab.yaml:12:33: route 10.1.0.0/16: `via` is an empty list; give at least one gateway"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.2.2, 10.0.1.2] }\n"
            )),
            "lab.yaml:12:54: route 10.1.0.0/16: gateway 10.0.1.2 is listed twice in `via`"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.9.2] }\n"
            )),
            "lab.yaml:12:44: route via 10.0.9.2: no port has an address on a subnet containing it \
             (ports: p0 10.0.1.1/24, p1 10.0.2.1/24)"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, via: [10.0.1.2, { address: 10.0.2.2, dev: p0 }] }\n")),
            "lab.yaml:12:44: route via 10.0.2.2 dev p0: port p0 has no address on a subnet containing \
             it and no neighbor entry for it (p0 10.0.1.1/24)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [10.0.1.2, { address: 10.0.2.2, dev: p4 }] }\n"
            )),
            "lab.yaml:12:70: route dev `p4`: no such port (ports: p0, p1)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [{ address: 10.0.2.2, dev: p4 }] }\n"
            )),
            "lab.yaml:12:60: route dev `p4`: no such port (ports: p0, p1)"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, via: [10.0.1.2, { address: 10.0.2.2, weight: 257 }] }\n")),
            "lab.yaml:12:73: weight 257 is out of range (1 to 256)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [{ address: 10.0.2.2, weight: 0 }] }\n"
            )),
            "lab.yaml:12:63: weight 0 is out of range (1 to 256)"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.2.2], dev: p0 }\n")),
            "lab.yaml:12:60: route 10.1.0.0/16: `dev: p0` on a route with 2 gateways is ambiguous; \
             give each its port in the list, like via: [{ address: 10.0.1.2, dev: p0 }, ...]"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, via: [{ address: 10.0.1.2, dev: p0 }], dev: p0 }\n")),
            "lab.yaml:12:72: route 10.1.0.0/16: `dev` is given twice, on the route and in its `via` \
             entry; remove one"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [{ address: 10.0.1.2, wieght: 2 }] }\n"
            )),
            "lab.yaml:12:55: routes[0].via[0]: unknown field `wieght`, expected one of `address`, \
             `weight`, `dev`"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.2] }\n"
            )),
            "lab.yaml:12:44: routes[0].via[1]: `10.0.2` is not an IPv4 address (expected four \
             numbers 0-255 like 10.0.1.2)"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: [{ weight: 2 }] }\n"
            )),
            "lab.yaml:12:34: routes[0].via[0]: missing field `address`"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, via: { address: 10.0.1.2 } }\n"
            )),
            "lab.yaml:12:33: routes[0].via: invalid type: map, expected a gateway address like \
             10.0.1.2, or a list of them like [10.0.1.2, 10.0.2.2]"
        );
        assert_eq!(
            err(&routes(
                "  - { prefix: 10.1.0.0/16, type: blackhole, via: [10.0.1.2] }\n"
            )),
            "lab.yaml:12:50: route 10.1.0.0/16: a blackhole route has no gateway; remove `via` or \
             `type: blackhole`"
        );
    }

    #[test]
    fn nhid() {
        let nh = "nexthops:\n  - { id: 1, via: 10.0.1.2 }\n  - { id: 2, group: [1] }\n";
        let c = load(&format!(
            "{BASE}{nh}routes:\n  - {{ prefix: 10.1.0.0/16, nhid: 2 }}\n  - {{ prefix: 10.2.0.0/16, nhid: 1, type: unicast }}\n"
        ))
        .unwrap();
        assert_eq!(c.routes[0].target, RouteTarget::Nhid(2));
        assert_eq!(c.routes[1].target, RouteTarget::Nhid(1));
        let e = |line: &str| err(&format!("{BASE}{nh}routes:\n{line}"));
        assert_eq!(
            e("  - { prefix: 10.1.0.0/16, nhid: 3 }\n"),
            "lab.yaml:15:34: route 10.1.0.0/16: nexthop id 3 does not exist (nexthops: 1, 2)"
        );
        assert_eq!(
            e("  - { prefix: 10.1.0.0/16, nhid: 0 }\n"),
            "lab.yaml:15:34: nhid 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            e("  - { prefix: 10.1.0.0/16, nhid: 1, via: 10.0.1.2 }\n"),
            "lab.yaml:15:42: route 10.1.0.0/16: `nhid` and `via` cannot go together (the nexthop \
             object gives the gateways and ports); remove one"
        );
        assert_eq!(
            e("  - { prefix: 10.1.0.0/16, nhid: 1, dev: p0 }\n"),
            "lab.yaml:15:42: route 10.1.0.0/16: `nhid` and `dev` cannot go together (the nexthop \
             object gives the gateways and ports); remove one"
        );
        assert_eq!(
            e("  - { prefix: 10.1.0.0/16, nhid: 1, type: blackhole }\n"),
            "lab.yaml:15:43: route 10.1.0.0/16: `nhid` and `type: blackhole` cannot go together (a \
             route with a nexthop object is unicast); remove one"
        );
        assert_eq!(
            err(&routes("  - { prefix: 10.1.0.0/16, nhid: 1 }\n")),
            "lab.yaml:12:34: route 10.1.0.0/16: nexthop id 1 does not exist (no nexthops are defined)"
        );
    }

    /// A real file to point route files at: this source file.
    const SELF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/routes.rs");

    fn files(lines: &str) -> String {
        format!("{BASE}route_files:\n{lines}")
    }

    #[test]
    fn route_file_ok_and_relative_path() {
        let c = load(&files(&format!(
            "  - {{ path: {SELF}, via: [10.0.1.2, 10.0.2.2], metric: 20 }}\n"
        )))
        .unwrap();
        assert_eq!(c.route_files[0].path, Path::new(SELF));
        assert_eq!(
            c.route_files[0].via,
            [Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2)]
        );
        assert_eq!(c.route_files[0].metric, 20);
        // Relative to the config file's directory, not to the working directory.
        let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/x.yaml");
        let c = Config::from_str(
            &files("  - { path: validate/routes.rs, via: 10.0.1.2 }\n"),
            &cfg,
        )
        .unwrap();
        assert_eq!(
            c.route_files[0].path,
            Path::new(env!("CARGO_MANIFEST_DIR")).join("src/validate/routes.rs")
        );
    }

    #[test]
    fn route_file_tables() {
        let c = load(&format!(
            "{BASE}tables: [{{ id: 100, name: isp2 }}]\nroute_files:\n  - {{ path: {SELF}, via: 10.0.1.2, table: isp2 }}\n  - {{ path: {SELF}, via: 10.0.1.2 }}\n"
        ))
        .unwrap();
        assert_eq!((c.route_files[0].table, c.route_files[1].table), (100, 254));
        let e = err(&files(&format!(
            "  - {{ path: {SELF}, via: 10.0.1.2, table: isp2 }}\n"
        )));
        assert_eq!(
            e,
            format!(
                "lab.yaml:12:{}: route file table `isp2` is not a number or a table name (local, main, default)",
                37 + SELF.len()
            )
        );
    }

    #[test]
    fn route_file_missing_keys() {
        assert_eq!(
            err(&files("  - { via: [10.0.1.2] }\n")),
            "lab.yaml:12:5: route_files[0]: missing field `path`"
        );
        assert_eq!(
            err(&files(&format!("  - {{ path: {SELF} }}\n"))),
            "lab.yaml:12:5: route_files[0]: missing field `via`"
        );
    }

    #[test]
    fn route_file_not_found() {
        let e = err(&files("  - { path: nope/x.txt.xz, via: [10.0.1.2] }\n"));
        assert_eq!(
            e,
            "lab.yaml:12:13: route file `nope/x.txt.xz`: No such file or directory (os error 2)"
        );
        let cfg = Path::new("/etc/fastpath/lab.yaml");
        let e =
            Config::from_str(&files("  - { path: x.txt, via: [10.0.1.2] }\n"), cfg).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/fastpath/lab.yaml:12:13: route file `x.txt`: No such file or directory (os error 2) \
             (resolved to /etc/fastpath/x.txt)"
        );
        let e = err(&files("  - { path: /, via: [10.0.1.2] }\n"));
        assert_eq!(e, "lab.yaml:12:13: route file `/` is not a regular file");
    }

    #[test]
    fn route_file_empty_via() {
        assert_eq!(
            err(&files(&format!("  - {{ path: {SELF}, via: [] }}\n"))),
            format!("lab.yaml:12:{}: route file needs at least one gateway in `via` (like via: [10.0.1.2])", 20 + SELF.len())
        );
    }

    #[test]
    fn route_file_unreachable_via() {
        let e = err(&files(&format!(
            "  - path: {SELF}\n    via:\n      - 10.0.1.2\n      - 10.9.9.9\n"
        )));
        assert_eq!(
            e,
            "lab.yaml:15:9: route file via 10.9.9.9: no port has an address on a subnet containing it \
             (ports: p0 10.0.1.1/24, p1 10.0.2.1/24)"
        );
    }

    #[test]
    fn route_file_bad_via_address() {
        let e = err(&files(&format!(
            "  - path: {SELF}\n    via: [10.0.1.2, 10.0.1]\n"
        )));
        assert_eq!(
            e,
            "lab.yaml:13:21: route_files[0].via[1]: `10.0.1` is not an IPv4 address (expected four numbers 0-255 like 10.0.1.2)"
        );
    }
}
