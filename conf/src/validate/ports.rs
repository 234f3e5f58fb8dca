//! Checks on `ports`: names, devices, MACs, MTU and ring sizes, interface addresses
//! and their subnets; and the port lookups the other checks share.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{in_range, issue, Issue, Validator};
use crate::check;
use crate::config::{Config, PortConf, PortNeigh};
use crate::locate::node;
use crate::mac::MacAddr;
use crate::net;
use crate::schema::RawPort;

/// Longest port name (Linux's IFNAMSIZ less the NUL).
const NAME_MAX: usize = 15;

pub(super) fn ports(v: &Validator, raw: Vec<RawPort>) -> Result<Vec<PortConf>, Issue> {
    if raw.is_empty() {
        return Err(issue(
            node!["ports"],
            "no ports defined (a router needs at least one)",
        ));
    }
    let mut out: Vec<PortConf> = Vec::with_capacity(raw.len());
    let mut devices: HashMap<String, usize> = HashMap::new();
    for (i, p) in raw.into_iter().enumerate() {
        check_name(&p.name, i)?;
        if let Some(j) = out.iter().position(|q| q.name == p.name) {
            let line = v.line_of(&node!["ports", j, "name"]);
            return Err(issue(
                node!["ports", i, "name"],
                format!(
                    "duplicate port name `{}` (first defined at line {line})",
                    p.name
                ),
            ));
        }
        if p.device.trim().is_empty() {
            return Err(issue(
                node!["ports", i, "device"],
                "port device is empty (give a PCI address or vdev devargs)",
            ));
        }
        if let Some(at) = p.device.bytes().position(|b| b.is_ascii_control()) {
            // DPDK takes devargs as a C string: a NUL would cut it short unseen.
            return Err(issue(
                node!["ports", i, "device"],
                format!(
                    "port device {} has a control character ({:#04x}) at byte {}",
                    crate::quote(&p.device),
                    p.device.as_bytes()[at],
                    at + 1
                ),
            ));
        }
        if let Some(&j) = devices.get(&device_key(&p.device)) {
            let line = v.line_of(&node!["ports", j, "device"]);
            return Err(issue(
                node!["ports", i, "device"],
                format!(
                    "device `{}` is already used by port {} (line {line})",
                    device_key(&p.device),
                    out[j].name
                ),
            ));
        }
        devices.insert(device_key(&p.device), i);
        if let Some(mac) = p.mac {
            check_mac(mac, node!["ports", i, "mac"])?;
        }
        let port = PortConf {
            mtu: in_range(p.mtu, 68, 9000, node!["ports", i, "mtu"], "mtu")?,
            rx_desc: in_range(
                p.rx_desc,
                64,
                16384,
                node!["ports", i, "rx_desc"],
                "rx_desc",
            )?,
            tx_desc: in_range(
                p.tx_desc,
                64,
                16384,
                node!["ports", i, "tx_desc"],
                "tx_desc",
            )?,
            rx_queues: p
                .rx_queues
                .map(|q| in_range(q, 1, 64, node!["ports", i, "rx_queues"], "rx_queues"))
                .transpose()?,
            addresses: addresses(&out, i, &p)?,
            name: p.name,
            send_redirects: p.send_redirects,
            rp_filter: in_range(
                p.rp_filter,
                0,
                2,
                node!["ports", i, "rp_filter"],
                "rp_filter",
            )?,
            accept_redirects: p.accept_redirects,
            secure_redirects: p.secure_redirects,
            shared_media: p.shared_media,
            neigh: PortNeigh {
                base_reachable_time_ms: p
                    .base_reachable_time_ms
                    .map(|v| {
                        in_range(
                            v,
                            1,
                            86400000,
                            node!["ports", i, "base_reachable_time_ms"],
                            "base_reachable_time_ms",
                        )
                    })
                    .transpose()?,
                delay_first_probe_time: p
                    .delay_first_probe_time
                    .map(|v| {
                        in_range(
                            v,
                            0,
                            3600,
                            node!["ports", i, "delay_first_probe_time"],
                            "delay_first_probe_time",
                        )
                    })
                    .transpose()?,
                retrans_time_ms: p
                    .retrans_time_ms
                    .map(|v| {
                        in_range(
                            v,
                            1,
                            3600000,
                            node!["ports", i, "retrans_time_ms"],
                            "retrans_time_ms",
                        )
                    })
                    .transpose()?,
                ucast_solicit: p
                    .ucast_solicit
                    .map(|v| {
                        in_range(
                            v,
                            0,
                            255,
                            node!["ports", i, "ucast_solicit"],
                            "ucast_solicit",
                        )
                    })
                    .transpose()?,
                mcast_solicit: p
                    .mcast_solicit
                    .map(|v| {
                        in_range(
                            v,
                            0,
                            255,
                            node!["ports", i, "mcast_solicit"],
                            "mcast_solicit",
                        )
                    })
                    .transpose()?,
                gc_stale_time: p
                    .gc_stale_time
                    .map(|v| {
                        in_range(
                            v,
                            1,
                            86400,
                            node!["ports", i, "gc_stale_time"],
                            "gc_stale_time",
                        )
                    })
                    .transpose()?,
                unres_qlen: p
                    .unres_qlen
                    .map(|v| in_range(v, 0, 65535, node!["ports", i, "unres_qlen"], "unres_qlen"))
                    .transpose()?,
            },
            device: p.device,
            mac: p.mac,
        };
        out.push(port);
    }
    Ok(out)
}

fn check_name(name: &str, i: usize) -> Result<(), Issue> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if !ok {
        return Err(issue(
            node!["ports", i, "name"],
            format!(
                "port name `{}` must be 1 to {NAME_MAX} characters from A-Z a-z 0-9 _ - .",
                name.escape_debug()
            ),
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        // The commands take `N` as port number N (`show port info 1`), as testpmd does.
        return Err(issue(
            node!["ports", i, "name"],
            format!("port name `{name}` is all digits: commands would read it as a port number"),
        ));
    }
    Ok(())
}

/// The DPDK device a `device` string names: the part before the first comma (vdev
/// args follow it), lowercased, with the PCI domain `0000:` added when left out.
fn device_key(device: &str) -> String {
    let name = device
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let b = name.as_bytes();
    let short_bdf = b.len() == 7
        && b[2] == b':'
        && b[5] == b'.'
        && [0, 1, 3, 4, 6].iter().all(|&k| b[k].is_ascii_hexdigit());
    if short_bdf {
        format!("0000:{name}")
    } else {
        name
    }
}

pub(super) fn check_mac(mac: MacAddr, at: impl Into<Vec<crate::locate::Seg>>) -> Result<(), Issue> {
    if mac.is_zero() {
        Err(issue(
            at,
            "MAC 00:00:00:00:00:00 is all zeros; give a unicast MAC",
        ))
    } else if mac.is_multicast() {
        Err(issue(at, format!("MAC {mac} is a multicast address (low bit of the first octet set); give a unicast MAC")))
    } else {
        Ok(())
    }
}

/// Check port `i`'s addresses against each other and against earlier ports.
fn addresses(earlier: &[PortConf], i: usize, p: &RawPort) -> Result<Vec<Ipv4Net>, Issue> {
    let mut out: Vec<Ipv4Net> = Vec::with_capacity(p.addresses.len());
    for (j, a) in p.addresses.iter().enumerate() {
        let (a, at) = (a.0, node!["ports", i, "addresses", j]);
        if a.prefix_len() == 0 {
            return Err(issue(
                at,
                format!("address {a}: a /0 cannot be an interface subnet"),
            ));
        }
        if let Some(why) = net::not_host_address(a.addr()) {
            return Err(issue(
                at,
                format!("address {a} {why}; an interface needs a unicast address"),
            ));
        }
        if let Some(which) = net::network_or_broadcast(a.addr(), a) {
            let hint = Ipv4Net::new(Ipv4Addr::from(u32::from(a.network()) + 1), a.prefix_len())
                .unwrap_or(a);
            return Err(issue(
                at,
                format!(
                    "address {a} is the {which} address of {}; use a host address such as {hint}",
                    a.trunc()
                ),
            ));
        }
        if let Some(b) = out.iter().find(|b| b.addr() == a.addr()) {
            return Err(issue(
                at,
                format!(
                    "address {} is already on port {} (as {b})",
                    a.addr(),
                    p.name
                ),
            ));
        }
        for q in earlier {
            if let Some(b) = q.addresses.iter().find(|b| net::overlaps(a, **b)) {
                return Err(issue(
                    at,
                    format!(
                        "address {a} overlaps {b} on port {} (subnets {} and {}); a subnet can be on one port only",
                        q.name,
                        a.trunc(),
                        b.trunc()
                    ),
                ));
            }
        }
        out.push(a);
    }
    Ok(out)
}

/// `port: X` must name a port; the message lists the ports.
pub(super) fn port_ref(
    c: &Config,
    name: &str,
    at: impl Into<Vec<crate::locate::Seg>>,
    what: &str,
) -> Result<usize, Issue> {
    check::port_named(c, name, what).map_err(|m| issue(at, m))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, load, BASE};
    use super::*;

    /// BASE with its first port's block replaced.
    fn with_p0(p0: &str) -> String {
        BASE.replacen(
            "  - name: p0\n    device: 0000:01:00.0\n    addresses: [10.0.1.1/24]\n",
            p0,
            1,
        )
    }

    #[test]
    fn port_fields() {
        let c = load(&with_p0("  - name: p0\n    device: 01:00.0\n    mac: 02:00:00:00:00:01\n    mtu: 9000\n    rx_desc: 4096\n    addresses: [10.0.1.1/24, 10.0.3.1/31]\n")).unwrap();
        let p = &c.ports[0];
        assert_eq!(p.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!((p.mtu, p.rx_desc, p.tx_desc), (9000, 4096, 1024));
        assert_eq!(p.addresses[1].to_string(), "10.0.3.1/31");
    }

    #[test]
    fn device_keys() {
        assert_eq!(device_key("01:00.0"), "0000:01:00.0");
        assert_eq!(device_key("0000:01:00.0"), "0000:01:00.0");
        assert_eq!(device_key("net_pcap0,rx_pcap=a.pcap"), "net_pcap0");
        assert_eq!(device_key("Net_Tap0"), "net_tap0");
    }

    #[test]
    fn missing_name_and_device() {
        assert_eq!(
            err(&with_p0("  - device: x\n")),
            "lab.yaml:2:5: ports[0]: missing field `name`"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n")),
            "lab.yaml:2:5: ports[0]: missing field `device`"
        );
    }

    #[test]
    fn unknown_port_key() {
        let e = err(&with_p0("  - name: p0\n    device: x\n    mtux: 1\n"));
        assert!(
            e.starts_with(
                "lab.yaml:4:5: ports[0]: unknown field `mtux`, expected one of `name`, `device`"
            ),
            "{e}"
        );
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    mtu: big\n")),
            "lab.yaml:4:10: ports[0].mtu: invalid type: string \"big\", expected u64"
        );
    }

    #[test]
    fn bad_name() {
        assert_eq!(
            err(&with_p0("  - name: p 0\n    device: x\n")),
            "lab.yaml:2:11: port name `p 0` must be 1 to 15 characters from A-Z a-z 0-9 _ - ."
        );
    }

    #[test]
    fn duplicate_port_name() {
        let e = err(&BASE.replace("name: p1", "name: p0"));
        assert_eq!(
            e,
            "lab.yaml:5:11: duplicate port name `p0` (first defined at line 2)"
        );
    }

    #[test]
    fn duplicate_device() {
        let e = err(&BASE.replace("device: 0000:01:00.1", "device: 01:00.0"));
        assert_eq!(
            e,
            "lab.yaml:6:13: device `0000:01:00.0` is already used by port p0 (line 3)"
        );
    }

    #[test]
    fn bad_mac() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    mac: 02:00:00:00:00:zz\n")),
            "lab.yaml:4:10: ports[0].mac: invalid MAC address `02:00:00:00:00:zz`: not a hex digit \
             (expected six hex groups like 02:00:00:00:00:01)"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    mac: 01:00:5e:00:00:01\n")),
            "lab.yaml:4:10: MAC 01:00:5e:00:00:01 is a multicast address (low bit of the first octet set); give a unicast MAC"
        );
        assert_eq!(
            err(&with_p0(
                "  - name: p0\n    device: x\n    mac: 00:00:00:00:00:00\n"
            )),
            "lab.yaml:4:10: MAC 00:00:00:00:00:00 is all zeros; give a unicast MAC"
        );
    }

    #[test]
    fn mtu_range() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    mtu: 67\n")),
            "lab.yaml:4:10: mtu 67 is out of range (68 to 9000)"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    mtu: 9001\n")),
            "lab.yaml:4:10: mtu 9001 is out of range (68 to 9000)"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    tx_desc: 8\n")),
            "lab.yaml:4:14: tx_desc 8 is out of range (64 to 16384)"
        );
    }

    #[test]
    fn bad_prefixes() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    addresses: [10.0.1.1/24, 10.0.0.300/24]\n")),
            "lab.yaml:4:30: ports[0].addresses[1]: invalid prefix `10.0.0.300/24`: `10.0.0.300` is not an IPv4 address"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    addresses: [10.0.0.0/33]\n")),
            "lab.yaml:4:17: ports[0].addresses[0]: invalid prefix `10.0.0.0/33`: prefix length 33 is out of range (0 to 32)"
        );
    }

    #[test]
    fn network_and_broadcast_addresses() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    addresses: [10.0.1.0/24]\n")),
            "lab.yaml:4:17: address 10.0.1.0/24 is the network address of 10.0.1.0/24; use a host address such as 10.0.1.1/24"
        );
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    addresses:\n      - 10.0.1.255/24\n")),
            "lab.yaml:5:9: address 10.0.1.255/24 is the broadcast address of 10.0.1.0/24; use a host address such as 10.0.1.1/24"
        );
        // /31 and /32 have no network or broadcast address to avoid.
        let c = load(&with_p0(
            "  - name: p0\n    device: x\n    addresses: [10.0.1.0/31, 10.0.1.9/32]\n",
        ));
        assert!(c.is_err_and(|e| e.contains("neighbor 10.0.1.2 is not on a subnet of port p0")));
    }

    #[test]
    fn non_unicast_and_slash_zero_addresses() {
        assert_eq!(
            err(&with_p0("  - name: p0\n    device: x\n    addresses: [127.0.0.1/8]\n")),
            "lab.yaml:4:17: address 127.0.0.1/8 is a loopback address; an interface needs a unicast address"
        );
        assert_eq!(
            err(&with_p0(
                "  - name: p0\n    device: x\n    addresses: [10.0.0.1/0]\n"
            )),
            "lab.yaml:4:17: address 10.0.0.1/0: a /0 cannot be an interface subnet"
        );
    }

    #[test]
    fn overlapping_subnets_across_ports() {
        let e = err(&BASE.replace("[10.0.2.1/24]", "[10.0.1.7/24]"));
        assert_eq!(
            e,
            "lab.yaml:7:17: address 10.0.1.7/24 overlaps 10.0.1.1/24 on port p0 (subnets 10.0.1.0/24 and \
             10.0.1.0/24); a subnet can be on one port only"
        );
        let e = err(&BASE.replace("[10.0.2.1/24]", "[10.0.2.1/24, 10.0.0.1/16]"));
        assert!(e.starts_with("lab.yaml:7:30: address 10.0.0.1/16 overlaps 10.0.1.1/24 on port p0 (subnets 10.0.0.0/16 and 10.0.1.0/24)"), "{e}");
    }

    #[test]
    fn same_address_twice_on_a_port() {
        assert_eq!(
            err(&with_p0(
                "  - name: p0\n    device: x\n    addresses: [10.0.1.1/24, 10.0.1.1/25]\n"
            )),
            "lab.yaml:4:30: address 10.0.1.1 is already on port p0 (as 10.0.1.1/24)"
        );
    }

    #[test]
    fn no_ports() {
        assert_eq!(
            err("ports: []\n"),
            "lab.yaml:1:8: no ports defined (a router needs at least one)"
        );
    }
}
