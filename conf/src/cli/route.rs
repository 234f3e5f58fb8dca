//! `route add|del|replace ...` in iproute2's syntax (see [`crate::cli`]).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{set_once, Words, ADD_DEL_REPLACE};
use crate::check::WEIGHT_MAX;
use crate::config::{NexthopSpec, RouteConf, RouteTarget, TableConf, TABLE_MAIN};

/// Parses `[add|del|delete|replace] [to] [TYPE] PREFIX [via ADDR [dev PORT] [weight W]]...
/// | [nexthop via ADDR [dev PORT] [weight W]]... | [dev PORT] | [nhid N] [type TYPE]
/// [metric N] [table T]` into a route and the verb, if the words start with one
/// (`delete` is reported as `del`; the caller acts on it). TYPE is `unicast`,
/// `blackhole`, `unreachable` or `prohibit`, before the prefix as in iproute2
/// (`blackhole 10.0.0.0/8`) or after `type` anywhere. `table` takes a number or
/// `local`/`main`/`default`; see [`parse_route_in`] for named user tables.
///
/// Two or more gateways make a [`RouteTarget::Multipath`]; one is a
/// [`RouteTarget::Via`] (its weight, if given, means nothing). In the `via A via B`
/// shorthand, a `dev` or `weight` belongs to the `via` before it; a `dev` before any
/// `via` is the route's, which is ambiguous (an error) with two or more gateways.
pub fn parse_route(words: &[&str]) -> Result<(RouteConf, Option<String>), String> {
    parse_route_in(words, &[])
}

/// [`parse_route`], resolving `table NAME` against `tables` (a config's
/// [`Config::tables`](crate::Config::tables)) as well.
pub fn parse_route_in(
    words: &[&str],
    tables: &[TableConf],
) -> Result<(RouteConf, Option<String>), String> {
    let (mut w, verb) = Words::new("route", &ADD_DEL_REPLACE, words);
    let p = parse(&mut w, tables)?;
    let prefix = p.prefix.ok_or_else(|| w.err(NO_PREFIX))?;
    let target = match target(&w, &p, prefix)? {
        Some(t) => t,
        None => {
            return Err(w.err(format!(
                "route {prefix} needs via ADDR, dev PORT, nexthop via ADDR ..., nhid N, or a type \
                 (blackhole, unreachable, prohibit)"
            )))
        }
    };
    let route = RouteConf {
        prefix,
        target,
        metric: p.metric.unwrap_or(0),
        table: p.table.unwrap_or(TABLE_MAIN),
    };
    Ok((route, verb))
}

/// Which routes a `route del` names, as the kernel matches them (`fib_table_delete`):
/// the prefix and table always; the metric, the route type and the gateways and ports
/// only when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch {
    /// The prefix, exactly.
    pub prefix: Ipv4Net,
    /// The table (main unless given).
    pub table: u32,
    /// The metric when given and not 0 (Linux reads `metric 0` as "any").
    pub metric: Option<u32>,
    /// What the route does, when any of `via`, `dev`, `nexthop`, `nhid` or a type was
    /// given; see [`RouteMatch::matches`].
    pub target: Option<RouteTarget>,
}

impl RouteMatch {
    /// Whether `r` is a route this names. A target pattern matches a route of the same
    /// kind, where a `via` without `dev` matches that gateway on any port, and `dev P`
    /// alone matches a route through port P that names it (`dev P` or `via G dev P`).
    /// Multipath routes match when their nexthops are the same, in the same order.
    pub fn matches(&self, r: &RouteConf) -> bool {
        self.prefix == r.prefix
            && self.table == r.table
            && self.metric.is_none_or(|m| m == r.metric)
            && self
                .target
                .as_ref()
                .is_none_or(|t| target_matches(t, &r.target))
    }
}

fn target_matches(pattern: &RouteTarget, t: &RouteTarget) -> bool {
    match (pattern, t) {
        (RouteTarget::Via { gateway, dev }, RouteTarget::Via { gateway: g, dev: d }) => {
            gateway == g && (dev.is_none() || dev == d)
        }
        (RouteTarget::Dev(p), RouteTarget::Dev(d)) => p == d,
        (RouteTarget::Dev(p), RouteTarget::Via { dev: Some(d), .. }) => p == d,
        (a, b) => a == b,
    }
}

/// Parses `route del` words (the same syntax as [`parse_route`], with everything but
/// the prefix optional) into what they select.
pub fn parse_route_match(words: &[&str], tables: &[TableConf]) -> Result<RouteMatch, String> {
    let (mut w, _) = Words::new("route", &ADD_DEL_REPLACE, words);
    let p = parse(&mut w, tables)?;
    let prefix = p.prefix.ok_or_else(|| w.err(NO_PREFIX))?;
    Ok(RouteMatch {
        prefix,
        table: p.table.unwrap_or(TABLE_MAIN),
        metric: p.metric.filter(|&m| m != 0),
        target: target(&w, &p, prefix)?,
    })
}

const NO_PREFIX: &str = "no prefix given (like 10.0.0.0/8, 192.0.2.1 or default)";

/// Route types (`rtm_type`) a route may have here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Unicast => "unicast",
            Kind::Blackhole => "blackhole",
            Kind::Unreachable => "unreachable",
            Kind::Prohibit => "prohibit",
        }
    }
}

/// `Some(Ok(kind))` for a route type this router has, `Some(Err(()))` for one of
/// iproute2's others, `None` for any other word.
fn kind_of(word: &str) -> Option<Result<Kind, ()>> {
    match word {
        "unicast" => Some(Ok(Kind::Unicast)),
        "blackhole" => Some(Ok(Kind::Blackhole)),
        "unreachable" => Some(Ok(Kind::Unreachable)),
        "prohibit" => Some(Ok(Kind::Prohibit)),
        "local" | "broadcast" | "anycast" | "multicast" | "throw" | "nat" => Some(Err(())),
        _ => None,
    }
}

/// One gateway as written (`via A dev P weight W`, or one `nexthop ...`).
#[derive(Default)]
struct Hop {
    gateway: Option<Ipv4Addr>,
    dev: Option<String>,
    weight: Option<u16>,
}

/// Everything the words said.
#[derive(Default)]
struct Parsed {
    prefix: Option<Ipv4Net>,
    kind: Option<Kind>,
    hops: Vec<Hop>,
    /// `nexthop` was used (else `via` starts a hop).
    nexthop_form: bool,
    dev: Option<String>,
    metric: Option<u32>,
    table: Option<u32>,
    nhid: Option<u32>,
}

const KEYWORDS: &str = "via, dev, weight, nexthop, nhid, metric, table, type";

fn parse(w: &mut Words, tables: &[TableConf]) -> Result<Parsed, String> {
    let mut p = Parsed::default();
    while let Some(word) = w.next() {
        match word {
            "to" if p.prefix.is_none() => {}
            "via" => {
                let mut a = w.value("via", "a gateway address")?;
                if a == "inet" {
                    a = w.value("via inet", "a gateway address")?;
                }
                let gw = w.address("via", a)?;
                if p.nexthop_form {
                    let hop = p.hops.last_mut().expect("nexthop_form has a hop");
                    if hop.gateway.is_some() {
                        return Err(w.err(
                            "a `nexthop` has one `via`; start the next gateway with `nexthop`",
                        ));
                    }
                    hop.gateway = Some(gw);
                } else {
                    p.hops.push(Hop {
                        gateway: Some(gw),
                        ..Hop::default()
                    });
                }
            }
            "dev" | "oif" => {
                let d = w.value(word, "a port name")?.to_string();
                match p.hops.last_mut() {
                    Some(hop) => set_once(w, &mut hop.dev, "dev", d)?,
                    None => set_once(w, &mut p.dev, "dev", d)?,
                }
            }
            "weight" => {
                let v = w.value("weight", "1 to 256")?;
                let n = w.number("weight", v, 1, WEIGHT_MAX.into())?;
                let weight = u16::try_from(n).unwrap_or(WEIGHT_MAX);
                match p.hops.last_mut() {
                    Some(hop) => set_once(w, &mut hop.weight, "weight", weight)?,
                    None => {
                        return Err(w.err("`weight` belongs after a `via` or inside a `nexthop`"))
                    }
                }
            }
            "nexthop" => {
                if !p.nexthop_form && !p.hops.is_empty() {
                    return Err(w.err(
                        "give the gateways either as `via A via B` or as `nexthop via A nexthop \
                         via B`, not both",
                    ));
                }
                p.nexthop_form = true;
                p.hops.push(Hop::default());
            }
            "metric" | "priority" | "preference" => {
                let v = w.value(word, "a number")?;
                let m = w.u32(word, v, 0)?;
                set_once(w, &mut p.metric, "metric", m)?;
            }
            "table" => {
                let v = w.value("table", "a number or a table name")?;
                let t = w.table(tables, v)?;
                set_once(w, &mut p.table, "table", t)?;
            }
            "nhid" => {
                let v = w.value("nhid", "a nexthop id")?;
                let id = w.u32("nhid", v, 1)?;
                set_once(w, &mut p.nhid, "nhid", id)?;
            }
            "type" => {
                let v = w.value("type", "unicast, blackhole, unreachable or prohibit")?;
                match kind_of(v) {
                    Some(Ok(k)) => set_kind(w, &mut p, k)?,
                    Some(Err(())) => return Err(unsupported_type(w, v)),
                    None => {
                        return Err(w.err(format!(
                            "unknown route type \"{v}\" (unicast, blackhole, unreachable, prohibit)"
                        )))
                    }
                }
            }
            _ if p.prefix.is_none() => match kind_of(word) {
                Some(Ok(k)) => set_kind(w, &mut p, k)?,
                Some(Err(())) => return Err(unsupported_type(w, word)),
                None => p.prefix = Some(w.prefix("", word)?),
            },
            _ => {
                return Err(w.err(format!(
                    "unknown keyword \"{word}\" (this router takes {KEYWORDS})"
                )))
            }
        }
    }
    Ok(p)
}

fn set_kind(w: &Words, p: &mut Parsed, k: Kind) -> Result<(), String> {
    match p.kind {
        Some(old) if old != k => Err(w.err(format!(
            "two route types given ({} and {}); give one",
            old.name(),
            k.name()
        ))),
        _ => {
            p.kind = Some(k);
            Ok(())
        }
    }
}

fn unsupported_type(w: &Words, t: &str) -> String {
    w.err(format!(
        "route type {t} is not supported (unicast, blackhole, unreachable, prohibit)"
    ))
}

/// What the route does, if the words say (`None`: nothing but maybe `type unicast`).
fn target(w: &Words, p: &Parsed, prefix: Ipv4Net) -> Result<Option<RouteTarget>, String> {
    let kind = p.kind.unwrap_or(Kind::Unicast);
    if let Some(id) = p.nhid {
        let why = "the nexthop object gives the gateways and ports";
        if !p.hops.is_empty() {
            return Err(w.err(format!(
                "`nhid` and `via`/`nexthop` cannot go together ({why})"
            )));
        }
        if p.dev.is_some() {
            return Err(w.err(format!("`nhid` and `dev` cannot go together ({why})")));
        }
        if kind != Kind::Unicast {
            return Err(w.err(format!(
                "`nhid` and type {} cannot go together (a route with a nexthop object is unicast)",
                kind.name()
            )));
        }
        return Ok(Some(RouteTarget::Nhid(id)));
    }
    if kind != Kind::Unicast {
        let name = kind.name();
        if !p.hops.is_empty() {
            return Err(w.err(format!(
                "a {name} route has no gateway; remove `via`/`nexthop` or the type"
            )));
        }
        if p.dev.is_some() {
            return Err(w.err(format!(
                "a {name} route has no port; remove `dev` or the type"
            )));
        }
        return Ok(Some(match kind {
            Kind::Blackhole => RouteTarget::Blackhole,
            Kind::Unreachable => RouteTarget::Unreachable,
            _ => RouteTarget::Prohibit,
        }));
    }
    match p.hops.as_slice() {
        [] => Ok(p.dev.clone().map(RouteTarget::Dev)),
        [hop] => {
            let dev = match (&hop.dev, &p.dev) {
                (Some(_), Some(_)) => return Err(w.twice("dev")),
                (a, b) => a.clone().or_else(|| b.clone()),
            };
            match (hop.gateway, dev) {
                (Some(gateway), dev) => Ok(Some(RouteTarget::Via { gateway, dev })),
                // `nexthop dev P` alone: a one-path route through a port.
                (None, Some(d)) => Ok(Some(RouteTarget::Dev(d))),
                (None, None) => Err(w.err("`nexthop` needs `via ADDR` or `dev PORT`")),
            }
        }
        hops => {
            if let Some(d) = &p.dev {
                return Err(w.err(format!(
                    "`dev {d}` before the gateways is ambiguous with {} of them; put a `dev` \
                     after each `via`",
                    hops.len()
                )));
            }
            let mut out = Vec::with_capacity(hops.len());
            for h in hops {
                let Some(gateway) = h.gateway else {
                    return Err(w.err(format!(
                        "route {prefix}: every `nexthop` of a multipath route needs `via ADDR`"
                    )));
                };
                out.push(NexthopSpec {
                    gateway,
                    dev: h.dev.clone(),
                    weight: h.weight.unwrap_or(1),
                });
            }
            Ok(Some(RouteTarget::Multipath(out)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> RouteConf {
        let words: Vec<&str> = line.split_whitespace().collect();
        match parse_route_in(&words, &tables()) {
            Ok((r, _)) => r,
            Err(e) => panic!("{line}: {e}"),
        }
    }

    fn err(line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        match parse_route_in(&words, &tables()) {
            Ok(r) => panic!("{line}: expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    fn tables() -> Vec<TableConf> {
        vec![TableConf {
            id: 100,
            name: "isp2".into(),
        }]
    }

    fn via(gw: &str, dev: Option<&str>) -> RouteTarget {
        RouteTarget::Via {
            gateway: gw.parse().unwrap(),
            dev: dev.map(String::from),
        }
    }

    fn hop(gw: &str, dev: Option<&str>, weight: u16) -> NexthopSpec {
        NexthopSpec {
            gateway: gw.parse().unwrap(),
            dev: dev.map(String::from),
            weight,
        }
    }

    #[test]
    fn verbs() {
        let (r, verb) = parse_route(&["add", "10.0.0.0/8", "via", "10.0.1.2"]).unwrap();
        assert_eq!(verb.as_deref(), Some("add"));
        assert_eq!(r.target, via("10.0.1.2", None));
        assert_eq!((r.metric, r.table), (0, 254));
        for (word, want) in [("del", "del"), ("delete", "del"), ("replace", "replace")] {
            let (_, verb) = parse_route(&[word, "default", "dev", "p0"]).unwrap();
            assert_eq!(verb.as_deref(), Some(want));
        }
        let (r, verb) = parse_route(&["default", "dev", "p0"]).unwrap();
        assert_eq!((verb, r.target), (None, RouteTarget::Dev("p0".into())));
        assert_eq!(r.prefix.to_string(), "0.0.0.0/0");
    }

    #[test]
    fn single_gateway_and_dev_forms() {
        let r = ok("add 10.0.0.0/8 via 10.0.1.2 dev p0 metric 10 table 100");
        assert_eq!(r.target, via("10.0.1.2", Some("p0")));
        assert_eq!((r.metric, r.table), (10, 100));
        let r = ok("add to 10.0.0.0/8 dev p0 via inet 10.0.1.2 preference 7 table isp2");
        assert_eq!(r.target, via("10.0.1.2", Some("p0")));
        assert_eq!((r.metric, r.table), (7, 100));
        let r = ok("add 192.0.2.1 oif p1 priority 3 table local");
        assert_eq!(r.prefix.to_string(), "192.0.2.1/32");
        assert_eq!(r.target, RouteTarget::Dev("p1".into()));
        assert_eq!((r.metric, r.table), (3, 255));
        // One `nexthop` is a plain route.
        assert_eq!(
            ok("add 10.0.0.0/8 nexthop via 10.0.1.2 weight 5").target,
            via("10.0.1.2", None)
        );
        assert_eq!(
            ok("add 10.0.0.0/8 nexthop dev p1").target,
            RouteTarget::Dev("p1".into())
        );
    }

    #[test]
    fn ecmp_forms() {
        let want = RouteTarget::Multipath(vec![
            hop("10.0.1.2", None, 3),
            hop("10.0.2.2", Some("p1"), 1),
        ]);
        assert_eq!(
            ok("add 10.0.0.0/8 nexthop via 10.0.1.2 weight 3 nexthop via 10.0.2.2 dev p1").target,
            want
        );
        assert_eq!(
            ok("add 10.0.0.0/8 nexthop weight 3 via 10.0.1.2 nexthop dev p1 via 10.0.2.2").target,
            want
        );
        assert_eq!(
            ok("add 10.0.0.0/8 via 10.0.1.2 weight 3 via 10.0.2.2 dev p1").target,
            want
        );
        let r = ok("add 10.0.0.0/8 nexthop via 10.0.1.2 nexthop via 10.0.2.2 metric 4 table isp2");
        assert_eq!((r.metric, r.table), (4, 100));
        assert_eq!(
            r.target,
            RouteTarget::Multipath(vec![hop("10.0.1.2", None, 1), hop("10.0.2.2", None, 1)])
        );
    }

    #[test]
    fn types_and_nhid() {
        for line in [
            "add blackhole 10.0.0.0/8",
            "add type blackhole 10.0.0.0/8",
            "add 10.0.0.0/8 type blackhole",
            "add to blackhole 10.0.0.0/8 metric 2",
        ] {
            assert_eq!(ok(line).target, RouteTarget::Blackhole, "{line}");
        }
        assert_eq!(
            ok("add unreachable default").target,
            RouteTarget::Unreachable
        );
        assert_eq!(
            ok("add 10.0.0.0/8 type prohibit table 9").target,
            RouteTarget::Prohibit
        );
        assert_eq!(
            ok("add unicast 10.0.0.0/8 dev p0").target,
            RouteTarget::Dev("p0".into())
        );
        assert_eq!(ok("add 10.0.0.0/8 nhid 7").target, RouteTarget::Nhid(7));
        assert_eq!(
            ok("add 10.0.0.0/8 nhid 7 type unicast").target,
            RouteTarget::Nhid(7)
        );
    }

    #[test]
    fn number_errors() {
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 metric x"),
            "route add: metric \"x\" is not a number"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 metric 4294967296"),
            "route add: metric 4294967296 is out of range (0 to 4294967295)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 metric"),
            "route add: `metric` needs a value (a number)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 weight 0 via 10.0.2.2"),
            "route add: weight 0 is out of range (1 to 256)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 weight 257"),
            "route add: weight 257 is out of range (1 to 256)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nhid 0"),
            "route add: nhid 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 table 0"),
            "route add: table 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 table isp3"),
            "route add: table `isp3` is not a number or a table name (local, main, default, isp2)"
        );
        assert_eq!(
            parse_route(&["10.0.0.0/8", "dev", "p0", "table", "isp2"]).unwrap_err(),
            "route: table `isp2` is not a number or a table name (local, main, default)"
        );
    }

    #[test]
    fn address_and_prefix_errors() {
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1"),
            "route add: via `10.0.1` is not an IPv4 address (expected four numbers 0-255 like 10.0.1.2)"
        );
        assert_eq!(
            err("add 10.0.0.1/8 via 10.0.1.2"),
            "route add: prefix 10.0.0.1/8 has host bits set, did you mean 10.0.0.0/8?"
        );
        assert_eq!(
            err("add 10.0.0.0/33 via 10.0.1.2"),
            "route add: invalid prefix `10.0.0.0/33`: prefix length 33 is out of range (0 to 32)"
        );
        assert_eq!(
            err("add via 10.0.1.2"),
            "route add: no prefix given (like 10.0.0.0/8, 192.0.2.1 or default)"
        );
        assert_eq!(
            err("add"),
            "route add: no prefix given (like 10.0.0.0/8, 192.0.2.1 or default)"
        );
        assert_eq!(
            err("add vai 10.0.1.2"),
            "route add: \"vai\" is not a prefix (like 10.0.0.0/8 or default) or an address"
        );
    }

    #[test]
    fn keyword_errors() {
        assert_eq!(
            err("add 10.0.0.0/8 vai 10.0.1.2"),
            "route add: unknown keyword \"vai\" (this router takes via, dev, weight, nexthop, nhid, \
             metric, table, type)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 proto static"),
            "route add: unknown keyword \"proto\" (this router takes via, dev, weight, nexthop, nhid, \
             metric, table, type)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 10.1.0.0/16 via 10.0.1.2"),
            "route add: unknown keyword \"10.1.0.0/16\" (this router takes via, dev, weight, nexthop, \
             nhid, metric, table, type)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 metric 1 metric 2"),
            "route add: `metric` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 table 1 table 1"),
            "route add: `table` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 dev p1"),
            "route add: `dev` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 via 10.0.1.2 dev p1"),
            "route add: `dev` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 dev p0 dev p1"),
            "route add: `dev` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 weight 2 via 10.0.1.2"),
            "route add: `weight` belongs after a `via` or inside a `nexthop`"
        );
    }

    #[test]
    fn combination_errors() {
        assert_eq!(
            err("add 10.0.0.0/8"),
            "route add: route 10.0.0.0/8 needs via ADDR, dev PORT, nexthop via ADDR ..., nhid N, or a \
             type (blackhole, unreachable, prohibit)"
        );
        assert_eq!(
            err("add unicast 10.0.0.0/8 metric 3"),
            "route add: route 10.0.0.0/8 needs via ADDR, dev PORT, nexthop via ADDR ..., nhid N, or a \
             type (blackhole, unreachable, prohibit)"
        );
        assert_eq!(
            err("add blackhole 10.0.0.0/8 via 10.0.1.2"),
            "route add: a blackhole route has no gateway; remove `via`/`nexthop` or the type"
        );
        assert_eq!(
            err("add 10.0.0.0/8 type prohibit dev p0"),
            "route add: a prohibit route has no port; remove `dev` or the type"
        );
        assert_eq!(
            err("add blackhole 10.0.0.0/8 type unreachable"),
            "route add: two route types given (blackhole and unreachable); give one"
        );
        assert_eq!(
            err("add throw 10.0.0.0/8"),
            "route add: route type throw is not supported (unicast, blackhole, unreachable, prohibit)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 type drop"),
            "route add: unknown route type \"drop\" (unicast, blackhole, unreachable, prohibit)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nhid 3 via 10.0.1.2"),
            "route add: `nhid` and `via`/`nexthop` cannot go together (the nexthop object gives the \
             gateways and ports)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nhid 3 dev p0"),
            "route add: `nhid` and `dev` cannot go together (the nexthop object gives the gateways \
             and ports)"
        );
        assert_eq!(
            err("add blackhole 10.0.0.0/8 nhid 3"),
            "route add: `nhid` and type blackhole cannot go together (a route with a nexthop object \
             is unicast)"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nhid 3 nhid 4"),
            "route add: `nhid` is given twice"
        );
        assert_eq!(
            err("add 10.0.0.0/8 via 10.0.1.2 nexthop via 10.0.2.2"),
            "route add: give the gateways either as `via A via B` or as `nexthop via A nexthop via B`, \
             not both"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nexthop via 10.0.1.2 via 10.0.2.2"),
            "route add: a `nexthop` has one `via`; start the next gateway with `nexthop`"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nexthop via 10.0.1.2 nexthop dev p1"),
            "route add: route 10.0.0.0/8: every `nexthop` of a multipath route needs `via ADDR`"
        );
        assert_eq!(
            err("add 10.0.0.0/8 nexthop"),
            "route add: `nexthop` needs `via ADDR` or `dev PORT`"
        );
        assert_eq!(
            err("add 10.0.0.0/8 dev p0 via 10.0.1.2 via 10.0.2.2"),
            "route add: `dev p0` before the gateways is ambiguous with 2 of them; put a `dev` after \
             each `via`"
        );
    }

    fn m(line: &str) -> RouteMatch {
        let words: Vec<&str> = line.split_whitespace().collect();
        parse_route_match(&words, &tables()).unwrap()
    }

    #[test]
    fn del_matches_like_the_kernel() {
        let r = ok("add 10.0.0.0/8 via 10.0.1.2 dev p0 metric 5 table isp2");
        assert!(m("del 10.0.0.0/8 table isp2").matches(&r));
        assert!(m("del 10.0.0.0/8 table 100 metric 5").matches(&r));
        assert!(m("del 10.0.0.0/8 table 100 metric 0").matches(&r));
        assert!(m("del 10.0.0.0/8 table 100 via 10.0.1.2").matches(&r));
        assert!(m("del 10.0.0.0/8 table 100 dev p0").matches(&r));
        assert!(m("del 10.0.0.0/8 table 100 via 10.0.1.2 dev p0").matches(&r));
        assert!(!m("del 10.0.0.0/8").matches(&r), "other table");
        assert!(!m("del 10.0.0.0/8 table 100 metric 6").matches(&r));
        assert!(!m("del 10.0.0.0/8 table 100 via 10.0.1.3").matches(&r));
        assert!(!m("del 10.0.0.0/8 table 100 dev p1").matches(&r));
        assert!(!m("del 10.0.0.0/8 table 100 type blackhole").matches(&r));
        assert!(!m("del 10.0.0.0/16 table 100").matches(&r));
        let b = ok("add blackhole 10.0.0.0/8");
        assert!(m("del blackhole 10.0.0.0/8").matches(&b));
        assert!(m("del 10.0.0.0/8").matches(&b));
        assert!(!m("del unreachable 10.0.0.0/8").matches(&b));
        assert_eq!(m("del default").target, None);
        assert_eq!(
            parse_route_match(&["del", "metric", "3"], &[]).unwrap_err(),
            "route del: no prefix given (like 10.0.0.0/8, 192.0.2.1 or default)"
        );
    }
}
