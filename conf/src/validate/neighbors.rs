//! Checks on `neighbors` (static ARP entries): the port exists, the address is a
//! host on one of that port's subnets and not the router's own, no duplicates.

use super::ports::{check_mac, port_ref};
use super::{issue, Issue, Validator};
use crate::check::{own_address, port_summary};
use crate::config::{Config, NeighborConf};
use crate::locate::node;
use crate::net;
use crate::schema::RawNeighbor;

pub(super) fn neighbors(
    v: &Validator,
    c: &Config,
    raw: Vec<RawNeighbor>,
) -> Result<Vec<NeighborConf>, Issue> {
    let mut out: Vec<NeighborConf> = Vec::with_capacity(raw.len());
    for (i, n) in raw.into_iter().enumerate() {
        let address = n.address.0;
        let port = port_ref(c, &n.port, node!["neighbors", i, "port"], "neighbor port")?;
        let p = &c.ports[port];
        let at = node!["neighbors", i, "address"];
        let Some(subnet) = p.addresses.iter().find(|s| s.contains(&address)) else {
            return Err(issue(
                at,
                format!(
                    "neighbor {address} is not on a subnet of port {} ({})",
                    p.name,
                    port_summary(p)
                ),
            ));
        };
        if let Some(owner) = own_address(c, address) {
            return Err(issue(
                at,
                format!("neighbor {address} is this router's own address on port {owner}"),
            ));
        }
        if let Some(which) = net::network_or_broadcast(address, *subnet) {
            return Err(issue(
                at,
                format!(
                    "neighbor {address} is the {which} address of {}",
                    subnet.trunc()
                ),
            ));
        }
        if let Some(j) = out
            .iter()
            .position(|m| m.address == address && m.port == n.port)
        {
            let line = v.line_of(&node!["neighbors", j]);
            return Err(issue(
                at,
                format!(
                    "duplicate neighbor {address} on port {} (first defined at line {line})",
                    n.port
                ),
            ));
        }
        check_mac(n.mac, node!["neighbors", i, "mac"])?;
        out.push(NeighborConf {
            address,
            mac: n.mac,
            port: n.port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, BASE};

    #[test]
    fn neighbor_unknown_port() {
        let e = err(&BASE.replace("port: p1 }", "port: p9 }"));
        assert_eq!(
            e,
            "lab.yaml:10:58: neighbor port `p9`: no such port (ports: p0, p1)"
        );
    }

    #[test]
    fn neighbor_not_on_port_subnet() {
        let e = err(&BASE.replace("10.0.2.2, mac", "10.0.1.3, mac"));
        assert_eq!(
            e,
            "lab.yaml:10:16: neighbor 10.0.1.3 is not on a subnet of port p1 (p1 10.0.2.1/24)"
        );
    }

    #[test]
    fn neighbor_own_or_broadcast_address() {
        let e = err(&BASE.replace("10.0.2.2, mac", "10.0.2.1, mac"));
        assert_eq!(
            e,
            "lab.yaml:10:16: neighbor 10.0.2.1 is this router's own address on port p1"
        );
        let e = err(&BASE.replace("10.0.2.2, mac", "10.0.2.255, mac"));
        assert_eq!(
            e,
            "lab.yaml:10:16: neighbor 10.0.2.255 is the broadcast address of 10.0.2.0/24"
        );
    }

    #[test]
    fn duplicate_neighbor() {
        let e = err(&format!(
            "{BASE}  - {{ address: 10.0.1.2, mac: \"02:00:00:00:01:03\", port: p0 }}\n"
        ));
        assert_eq!(
            e,
            "lab.yaml:11:16: duplicate neighbor 10.0.1.2 on port p0 (first defined at line 9)"
        );
    }

    #[test]
    fn neighbor_bad_mac_and_missing_mac() {
        let e = err(&BASE.replace("02:00:00:00:02:02", "ff:ff:ff:ff:ff:ff"));
        assert_eq!(
            e,
            "lab.yaml:10:31: MAC ff:ff:ff:ff:ff:ff is a multicast address (low bit of the first octet set); give a unicast MAC"
        );
        let e = err(&BASE.replace("mac: \"02:00:00:00:02:02\", ", ""));
        assert_eq!(e, "lab.yaml:10:5: neighbors[1]: missing field `mac`");
    }

    #[test]
    fn neighbor_bad_address() {
        let e = err(&BASE.replace("10.0.2.2, mac", "10.0.2.256, mac"));
        assert_eq!(e, "lab.yaml:10:16: neighbors[1].address: `10.0.2.256` is not an IPv4 address (expected four numbers 0-255 like 10.0.1.2)");
    }
}
