//! Checks on `routes` and `route_files`: canonical prefixes, duplicates, route types,
//! and that every gateway is reachable through some port.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use super::ports::{own_address, port_list, port_ref, port_summary};
use super::{issue, Issue, Validator};
use crate::config::{Config, RouteConf, RouteFileConf, RouteTarget};
use crate::locate::{node, Seg};
use crate::net;
use crate::schema::{RawRoute, RawRouteFile, RouteType};

pub(super) fn routes(
    v: &Validator,
    c: &Config,
    raw: Vec<RawRoute>,
) -> Result<Vec<RouteConf>, Issue> {
    let mut out = Vec::with_capacity(raw.len());
    let mut seen: HashMap<(Ipv4Net, u32), usize> = HashMap::new();
    for (i, r) in raw.into_iter().enumerate() {
        let prefix = r.prefix.0;
        net::canonical(prefix)
            .map_err(|m| issue(node!["routes", i, "prefix"], format!("route {m}")))?;
        if let Some(&j) = seen.get(&(prefix, r.metric)) {
            let line = v.line_of(&node!["routes", j]);
            return Err(issue(
                node!["routes", i, "prefix"],
                format!(
                    "duplicate route {prefix} metric {} (first defined at line {line})",
                    r.metric
                ),
            ));
        }
        seen.insert((prefix, r.metric), i);
        let target = target(c, i, &r)?;
        out.push(RouteConf {
            prefix,
            target,
            metric: r.metric,
        });
    }
    Ok(out)
}

fn target(c: &Config, i: usize, r: &RawRoute) -> Result<RouteTarget, Issue> {
    let kind = r.kind.unwrap_or(RouteType::Unicast);
    let prefix = r.prefix.0;
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
    let dev = match &r.dev {
        Some(d) => Some(port_ref(c, d, node!["routes", i, "dev"], "route dev")?),
        None => None,
    };
    match (r.via, dev) {
        (None, None) => Err(issue(
            node!["routes", i],
            format!(
                "route {prefix} needs `via` (a gateway), `dev` (a port), or a `type` \
                 (blackhole, unreachable, prohibit)"
            ),
        )),
        (None, Some(p)) => Ok(RouteTarget::Dev(c.ports[p].name.clone())),
        (Some(gw), dev) => {
            gateway(c, gw.0, dev, node!["routes", i, "via"], "route")?;
            Ok(RouteTarget::Via {
                gateway: gw.0,
                dev: r.dev.clone(),
            })
        }
    }
}

/// `gw` must be reachable (through port `dev` when given) and not one of our own
/// addresses. `what` starts the message ("route", "route file").
fn gateway(
    c: &Config,
    gw: Ipv4Addr,
    dev: Option<usize>,
    at: impl Into<Vec<Seg>>,
    what: &str,
) -> Result<usize, Issue> {
    if let Some(owner) = own_address(c, gw) {
        return Err(issue(
            at,
            format!("{what} via {gw}: that is this router's own address on port {owner}"),
        ));
    }
    match dev {
        Some(p) if c.port_reaches(p, gw) => Ok(p),
        Some(p) => {
            let port = &c.ports[p];
            Err(issue(
                at,
                format!(
                    "{what} via {gw} dev {}: port {} has no address on a subnet containing it \
                     and no neighbor entry for it ({})",
                    port.name,
                    port.name,
                    port_summary(port)
                ),
            ))
        }
        None => c.port_for_gateway(gw).ok_or_else(|| {
            issue(
                at,
                format!(
                    "{what} via {gw}: no port has an address on a subnet containing it (ports: {})",
                    port_list(&c.ports)
                ),
            )
        }),
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
            gateway(
                c,
                gw.0,
                None,
                node!["route_files", i, "via", j],
                "route file",
            )?;
        }
        out.push(RouteFileConf {
            path,
            via: f.via.iter().map(|a| a.0).collect(),
            metric: f.metric,
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
            "lab.yaml:12:28: routes[0]: unknown field `gw`, expected one of `prefix`, `via`, `dev`, `type`, `metric`"
        );
    }

    #[test]
    fn no_target() {
        assert_eq!(
            err(&routes("  - prefix: 10.9.0.0/16\n    metric: 3\n")),
            "lab.yaml:12:5: route 10.9.0.0/16 needs `via` (a gateway), `dev` (a port), or a `type` \
             (blackhole, unreachable, prohibit)"
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
