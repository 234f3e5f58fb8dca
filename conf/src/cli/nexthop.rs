//! `nexthop add|del|replace ...` in iproute2's syntax (see [`crate::cli`]).

use std::net::Ipv4Addr;

use super::{set_once, Words, ADD_DEL_REPLACE};
use crate::check::WEIGHT_MAX;
use crate::config::{NexthopConf, NexthopKind};

/// Parses `[add|replace] id N (via ADDR [dev PORT] | dev PORT | blackhole | group
/// ID[,WEIGHT]/ID[,WEIGHT]...)`, as `ip nexthop add` takes them. Group weights are
/// 1..=256 (default 1). Whether the id is new, ports exist, the gateway is reachable
/// and members exist is for [`Config::check_nexthop`](crate::Config::check_nexthop).
pub fn parse_nexthop(words: &[&str]) -> Result<NexthopConf, String> {
    let (mut w, _) = Words::new("nexthop", &ADD_DEL_REPLACE, words);
    let mut id = None;
    let mut via: Option<Ipv4Addr> = None;
    let mut dev: Option<String> = None;
    let mut blackhole = false;
    let mut group: Option<Vec<(u32, u16)>> = None;
    while let Some(word) = w.next() {
        match word {
            "id" => {
                let v = w.value("id", "a number from 1 to 4294967295")?;
                let n = w.u32("id", v, 1)?;
                set_once(&w, &mut id, "id", n)?;
            }
            "via" => {
                let mut a = w.value("via", "a gateway address")?;
                if a == "inet" {
                    a = w.value("via inet", "a gateway address")?;
                }
                let gw = w.address("via", a)?;
                set_once(&w, &mut via, "via", gw)?;
            }
            "dev" => {
                let v = w.value("dev", "a port name")?;
                set_once(&w, &mut dev, "dev", v.to_string())?;
            }
            "blackhole" => {
                if blackhole {
                    return Err(w.twice("blackhole"));
                }
                blackhole = true;
            }
            "group" => {
                let v = w.value("group", "members like 1,3/2")?;
                let g = members(&w, v)?;
                set_once(&w, &mut group, "group", g)?;
            }
            _ => {
                return Err(w.err(format!(
                    "unknown keyword \"{word}\" (this router takes id, via, dev, blackhole, group)"
                )))
            }
        }
    }
    let Some(id) = id else {
        return Err(w.err("no id given (id N, from 1 to 4294967295)"));
    };
    let kind = match (group, blackhole, via, dev) {
        (Some(_), _, Some(_), _) | (Some(_), _, _, Some(_)) => {
            return Err(w.err("a group has no `via` or `dev` of its own; its members have them"))
        }
        (Some(_), true, _, _) => {
            return Err(w.err("a group cannot be a blackhole; make a member one"))
        }
        (Some(g), false, None, None) => NexthopKind::Group(g),
        (None, true, Some(_), _) => {
            return Err(w.err("a blackhole nexthop has no gateway; remove `via` or `blackhole`"))
        }
        (None, true, None, Some(_)) => {
            return Err(w.err("a blackhole nexthop has no port; remove `dev` or `blackhole`"))
        }
        (None, true, None, None) => NexthopKind::Blackhole,
        (None, false, Some(gateway), dev) => NexthopKind::Via { gateway, dev },
        (None, false, None, Some(d)) => NexthopKind::Dev(d),
        (None, false, None, None) => {
            return Err(w.err(format!(
                "nexthop {id} needs via ADDR, dev PORT, blackhole, or group ID[,WEIGHT]/..."
            )))
        }
    };
    Ok(NexthopConf { id, kind })
}

/// `1,3/2`: members 1 (weight 3) and 2 (weight 1).
fn members(w: &Words, v: &str) -> Result<Vec<(u32, u16)>, String> {
    let mut out = Vec::new();
    for m in v.split('/') {
        let (id, weight) = match m.split_once(',') {
            Some((i, wt)) => (i, Some(wt)),
            None => (m, None),
        };
        let id = w.u32("group member id", id, 1)?;
        let weight = match weight {
            Some(wt) => {
                let n = w.number("group member weight", wt, 1, WEIGHT_MAX.into())?;
                u16::try_from(n).unwrap_or(WEIGHT_MAX)
            }
            None => 1,
        };
        out.push((id, weight));
    }
    Ok(out)
}

/// Parses `[del|delete] id N` (`ip nexthop del id N`) into the id.
pub fn parse_nexthop_id(words: &[&str]) -> Result<u32, String> {
    let (mut w, _) = Words::new("nexthop", &ADD_DEL_REPLACE, words);
    match (w.next(), w.next(), w.peek()) {
        (Some("id"), Some(v), None) => w.u32("id", v, 1),
        (Some("id"), None, _) => Err(w.err("`id` needs a value (a number from 1 to 4294967295)")),
        _ => Err(w.err("expected `id N`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    fn ok(line: &str) -> NexthopConf {
        parse_nexthop(&words(line)).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(line: &str) -> String {
        match parse_nexthop(&words(line)) {
            Ok(n) => panic!("{line}: expected an error, got {n:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(
            ok("add id 1 via 10.0.1.2 dev p0"),
            NexthopConf {
                id: 1,
                kind: NexthopKind::Via {
                    gateway: "10.0.1.2".parse().unwrap(),
                    dev: Some("p0".into())
                }
            }
        );
        assert_eq!(
            ok("id 2 via 10.0.1.2").kind,
            NexthopKind::Via {
                gateway: "10.0.1.2".parse().unwrap(),
                dev: None
            }
        );
        assert_eq!(ok("add dev p1 id 3").kind, NexthopKind::Dev("p1".into()));
        assert_eq!(ok("replace id 4 blackhole").kind, NexthopKind::Blackhole);
        assert_eq!(
            ok("add id 10 group 1,3/2/7,256").kind,
            NexthopKind::Group(vec![(1, 3), (2, 1), (7, 256)])
        );
        assert_eq!(ok("add id 4294967295 group 1").id, u32::MAX);
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("add via 10.0.1.2"),
            "nexthop add: no id given (id N, from 1 to 4294967295)"
        );
        assert_eq!(
            err("add id 0 blackhole"),
            "nexthop add: id 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            err("add id x blackhole"),
            "nexthop add: id \"x\" is not a number"
        );
        assert_eq!(
            err("add id 1 id 2 blackhole"),
            "nexthop add: `id` is given twice"
        );
        assert_eq!(
            err("add id 1"),
            "nexthop add: nexthop 1 needs via ADDR, dev PORT, blackhole, or group ID[,WEIGHT]/..."
        );
        assert_eq!(
            err("add id 1 via 10.0.1.300"),
            "nexthop add: via `10.0.1.300` is not an IPv4 address (expected four numbers 0-255 like \
             10.0.1.2)"
        );
        assert_eq!(
            err("add id 1 blackhole via 10.0.1.2"),
            "nexthop add: a blackhole nexthop has no gateway; remove `via` or `blackhole`"
        );
        assert_eq!(
            err("add id 1 blackhole dev p0"),
            "nexthop add: a blackhole nexthop has no port; remove `dev` or `blackhole`"
        );
        assert_eq!(
            err("add id 1 group 2/3 dev p0"),
            "nexthop add: a group has no `via` or `dev` of its own; its members have them"
        );
        assert_eq!(
            err("add id 1 group 2 blackhole"),
            "nexthop add: a group cannot be a blackhole; make a member one"
        );
        assert_eq!(
            err("add id 1 group 2,0/3"),
            "nexthop add: group member weight 0 is out of range (1 to 256)"
        );
        assert_eq!(
            err("add id 1 group 2,257"),
            "nexthop add: group member weight 257 is out of range (1 to 256)"
        );
        assert_eq!(
            err("add id 1 group 2//3"),
            "nexthop add: group member id \"\" is not a number"
        );
        assert_eq!(
            err("add id 1 group a,2"),
            "nexthop add: group member id \"a\" is not a number"
        );
        assert_eq!(
            err("add id 1 via 10.0.1.2 onlink"),
            "nexthop add: unknown keyword \"onlink\" (this router takes id, via, dev, blackhole, group)"
        );
        assert_eq!(
            err("add id 1 dev"),
            "nexthop add: `dev` needs a value (a port name)"
        );
    }

    #[test]
    fn ids_for_del() {
        assert_eq!(parse_nexthop_id(&["del", "id", "7"]), Ok(7));
        assert_eq!(parse_nexthop_id(&["id", "7"]), Ok(7));
        assert_eq!(
            parse_nexthop_id(&["del", "id", "0"]).unwrap_err(),
            "nexthop del: id 0 is out of range (1 to 4294967295)"
        );
        assert_eq!(
            parse_nexthop_id(&["del", "id"]).unwrap_err(),
            "nexthop del: `id` needs a value (a number from 1 to 4294967295)"
        );
        assert_eq!(
            parse_nexthop_id(&["del", "7"]).unwrap_err(),
            "nexthop del: expected `id N`"
        );
        assert_eq!(
            parse_nexthop_id(&["del", "id", "7", "dev"]).unwrap_err(),
            "nexthop del: expected `id N`"
        );
    }
}
