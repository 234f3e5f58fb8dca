//! The `neigh` commands, in iproute2's shape (`ip neigh show|add|replace|del|flush`),
//! on the control core's neighbour table.

use crate::neigh::{Action, Neighbours, Nud};
use conf::quote;
use fastpath::iface::IfIndex;
use fastpath::snapshot::Snapshot;
use fastpath::wire::EthernetAddress;
use std::fmt::Write;
use std::net::Ipv4Addr;
use std::time::Instant;

/// Runs `neigh ...` (words after `neigh`); `out` gets the text. Packets the change
/// releases or fails are left in `actions` for the slow path.
pub fn run<P>(
    w: &[&str],
    snap: &Snapshot,
    neigh: &mut Neighbours<P>,
    now: Instant,
    actions: &mut Vec<Action<P>>,
) -> Result<String, String> {
    let mut out = String::new();
    match w {
        [] | ["show" | "list" | "ls"] => show(&mut out, snap, neigh, None),
        ["show" | "list" | "ls", "dev", port] => {
            let i = port_of(snap, port)?;
            show(&mut out, snap, neigh, Some(i))
        }
        [verb @ ("add" | "replace" | "change"), rest @ ..] => {
            let cmd = match *verb {
                "add" => "neigh add",
                "replace" => "neigh replace",
                _ => "neigh change",
            };
            let a = args(snap, rest, true).map_err(crate::routing::named(cmd))?;
            let exists = neigh.state(a.iface, a.addr).is_some();
            if *verb == "add" && exists {
                return Err("neigh add: entry exists (RTNETLINK answers: File exists)".into());
            }
            if *verb == "change" && !exists {
                return Err("neigh change: no such entry".into());
            }
            let mac = a.mac.expect("required");
            neigh.admin_set(a.iface, a.addr, mac, a.nud, now, actions);
            let name = &snap.ifaces[a.iface as usize].name;
            let _ = writeln!(
                out,
                "ok: {} dev {name} lladdr {mac} {}",
                a.addr,
                a.nud.name()
            );
        }
        ["del" | "delete", rest @ ..] => {
            let a = args(snap, rest, false).map_err(crate::routing::named("neigh del"))?;
            if !neigh.admin_del(a.iface, a.addr, actions) {
                return Err(format!(
                    "neigh del: no entry for {} dev {}",
                    a.addr, snap.ifaces[a.iface as usize].name
                ));
            }
            let name = &snap.ifaces[a.iface as usize].name;
            let _ = writeln!(out, "ok: deleted {} dev {name}", a.addr);
        }
        ["flush"] => {
            let n = neigh.flush(None, actions);
            let _ = writeln!(out, "{n} entries flushed");
        }
        ["flush", "dev", port] => {
            let n = neigh.flush(Some(port_of(snap, port)?), actions);
            let _ = writeln!(out, "{n} entries flushed");
        }
        _ => {
            return Err(format!(
                "bad arguments for {}: see \"help\"",
                quote(&format!("neigh {}", w.join(" ")))
            ))
        }
    }
    Ok(out)
}

/// `ip neigh show`'s lines: `10.0.1.2 dev p0 lladdr 02:00:00:00:01:02 REACHABLE`, and
/// `10.0.2.9 dev p1 INCOMPLETE` for an entry without a MAC; `(no neighbours)` when there
/// is none (an answer must not be empty on the control socket).
fn show<P>(out: &mut String, snap: &Snapshot, neigh: &Neighbours<P>, dev: Option<IfIndex>) {
    let start = out.len();
    for e in neigh.entries() {
        if dev.is_some_and(|d| d != e.iface) {
            continue;
        }
        let name = &snap.ifaces[e.iface as usize].name;
        let _ = write!(out, "{} dev {name}", e.addr);
        if let Some(mac) = e.mac.filter(|_| e.state != Nud::Failed) {
            let _ = write!(out, " lladdr {mac}");
        }
        let _ = writeln!(out, " {}", e.state.name());
    }
    if out.len() == start {
        out.push_str("(no neighbours)\n");
    }
}

struct Args {
    addr: Ipv4Addr,
    iface: IfIndex,
    mac: Option<EthernetAddress>,
    nud: Nud,
}

fn port_of(snap: &Snapshot, name: &str) -> Result<IfIndex, String> {
    snap.iface_by_name(name)
        .ok_or_else(|| format!("no port named {}", quote(name)))
}

/// `ADDR [lladdr MAC] dev PORT [nud STATE]`.
fn args(snap: &Snapshot, w: &[&str], need_mac: bool) -> Result<Args, String> {
    let (addr, mut rest) = match w.split_first() {
        Some((a, rest)) => (
            a.parse::<Ipv4Addr>()
                .map_err(|_| format!("expected an IPv4 address, got {}", quote(a)))?,
            rest,
        ),
        None => return Err("expected ADDR".into()),
    };
    let (mut iface, mut mac, mut nud) = (None, None, Nud::Permanent);
    while let [key, value, more @ ..] = rest {
        match *key {
            "dev" => iface = Some(port_of(snap, value)?),
            "lladdr" if need_mac => {
                let m: conf::MacAddr = value
                    .parse()
                    .map_err(|_| format!("expected a MAC address, got {}", quote(value)))?;
                let m = EthernetAddress(m.0);
                if !m.is_unicast() {
                    return Err(format!("lladdr {m} is not a unicast MAC"));
                }
                mac = Some(m);
            }
            "nud" if need_mac => {
                nud = match *value {
                    "permanent" => Nud::Permanent,
                    "noarp" => Nud::Noarp,
                    "reachable" => Nud::Reachable,
                    "stale" => Nud::Stale,
                    _ => {
                        return Err(format!(
                            "nud {}: expected permanent, noarp, reachable or stale",
                            quote(value)
                        ))
                    }
                }
            }
            _ => return Err(format!("unexpected {}", quote(key))),
        }
        rest = more;
    }
    if let [extra, ..] = rest {
        return Err(format!("{} needs a value", quote(extra)));
    }
    let iface = iface.ok_or("dev PORT is required")?;
    if need_mac && mac.is_none() {
        return Err("lladdr MAC is required".into());
    }
    Ok(Args {
        addr,
        iface,
        mac,
        nud,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastpath::iface::{IfAddr, Iface};
    use fastpath::snapshot::Settings;

    fn snap() -> Snapshot {
        let iface = |name: &str, addr| Iface {
            name: name.into(),
            port_id: 0,
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            addrs: vec![IfAddr::new(addr, 24)],
        };
        Snapshot::with_ifaces(
            vec![
                iface("p0", "10.0.1.1".parse().unwrap()),
                iface("p1", "10.0.2.1".parse().unwrap()),
            ],
            Settings::default(),
        )
    }

    #[test]
    fn add_show_del_flush_as_iproute2() {
        let s = snap();
        let now = Instant::now();
        let mut n: Neighbours<Vec<u8>> = Neighbours::new(Default::default(), 100, now);
        let mut a = Vec::new();
        let mut go = |w: &str, n: &mut Neighbours<Vec<u8>>| {
            let words: Vec<&str> = w.split_whitespace().collect();
            run(&words, &s, n, now, &mut a)
        };
        assert_eq!(
            go("add 10.0.1.2 lladdr 02:00:00:00:01:02 dev p0", &mut n).unwrap(),
            "ok: 10.0.1.2 dev p0 lladdr 02:00:00:00:01:02 PERMANENT\n"
        );
        go(
            "add 10.0.2.2 lladdr 02:00:00:00:02:02 dev p1 nud reachable",
            &mut n,
        )
        .unwrap();
        assert_eq!(
            go("show", &mut n).unwrap(),
            "10.0.1.2 dev p0 lladdr 02:00:00:00:01:02 PERMANENT\n\
             10.0.2.2 dev p1 lladdr 02:00:00:00:02:02 REACHABLE\n"
        );
        assert_eq!(
            go("show dev p1", &mut n).unwrap(),
            "10.0.2.2 dev p1 lladdr 02:00:00:00:02:02 REACHABLE\n"
        );
        assert!(go("add 10.0.1.2 lladdr 02:00:00:00:01:03 dev p0", &mut n)
            .unwrap_err()
            .contains("File exists"));
        go("replace 10.0.1.2 lladdr 02:00:00:00:01:03 dev p0", &mut n).unwrap();
        assert!(go("show dev p0", &mut n)
            .unwrap()
            .contains("01:03 PERMANENT"));
        // flush spares permanent entries, as `ip neigh flush` does.
        assert_eq!(go("flush", &mut n).unwrap(), "1 entries flushed\n");
        assert_eq!(
            go("del 10.0.1.2 dev p0", &mut n).unwrap(),
            "ok: deleted 10.0.1.2 dev p0\n"
        );
        assert_eq!(go("show", &mut n).unwrap(), "(no neighbours)\n");
        assert!(go("del 10.0.1.2 dev p0", &mut n).is_err());
        for bad in [
            "add 10.0.1.2 dev p0",
            "add 10.0.1.2 lladdr ff:ff:ff:ff:ff:ff dev p0",
            "add 10.0.1.2 lladdr 02:00:00:00:01:02",
            "add 10.0.1.2 lladdr 02:00:00:00:01:02 dev p9",
            "add nope lladdr 02:00:00:00:01:02 dev p0",
            "add 10.0.1.2 lladdr 02:00:00:00:01:02 dev p0 nud bogus",
            "add 10.0.1.2 lladdr 02:00:00:00:01:02 dev",
            "show dev p7",
            "frobnicate",
        ] {
            assert!(go(bad, &mut n).is_err(), "{bad}");
        }
    }
}
