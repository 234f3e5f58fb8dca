//! The validated configuration handed to the control plane: [`Config`] and its parts.
//!
//! These types hold checked values only (a [`Config`] comes from [`Config::load`] or
//! [`Config::from_str`], which validate everything but the contents of route files).
//! Their YAML form is in [`crate::schema`]; the checks are in [`crate::validate`].

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::error::ConfError;
use crate::mac::MacAddr;

/// A whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The config file (as given to [`Config::load`]).
    pub path: PathBuf,
    /// DPDK ports, in file order; an index into this is a port id for the control plane.
    pub ports: Vec<PortConf>,
    /// Static ARP entries.
    pub neighbors: Vec<NeighborConf>,
    /// Static routes.
    pub routes: Vec<RouteConf>,
    /// Bulk routes read from prefix files by [`crate::route_file::read`].
    pub route_files: Vec<RouteFileConf>,
    /// Global knobs (`settings:`).
    pub settings: Settings,
}

/// One port (`ports[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConf {
    /// Name used by routes, neighbors and the CLI (`p0`).
    pub name: String,
    /// PCI address (`0000:01:00.0`) or vdev devargs (`net_pcap0,rx_pcap=...`).
    pub device: String,
    /// MAC to set; `None` keeps the port's own.
    pub mac: Option<MacAddr>,
    /// IP MTU, 68..=9000 (default 1500).
    pub mtu: u16,
    /// Interface addresses with their subnet: `10.0.1.1/24` is address 10.0.1.1 on
    /// 10.0.1.0/24 (host bits kept; `addr()` is the address, `trunc()` the subnet).
    pub addresses: Vec<Ipv4Net>,
    /// RX ring size (default 1024).
    pub rx_desc: u16,
    /// TX ring size (default 1024).
    pub tx_desc: u16,
}

/// A static neighbor (ARP) entry (`neighbors[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighborConf {
    /// Inside one of the port's subnets.
    pub address: Ipv4Addr,
    /// Unicast, non-zero.
    pub mac: MacAddr,
    /// Name of a port in [`Config::ports`].
    pub port: String,
}

/// Where a route sends packets (the kernel's route types, `ip route` syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// `via: GW` (optionally `dev: PORT`): forward to a gateway.
    Via {
        /// The next hop; some port can reach it (through `dev` when given).
        gateway: Ipv4Addr,
        /// The port to use, when the config names one.
        dev: Option<String>,
    },
    /// `dev: PORT` without `via`: the destination is directly connected on that port.
    Dev(String),
    /// `type: blackhole`: drop silently.
    Blackhole,
    /// `type: unreachable`: drop, ICMP destination unreachable (host unreachable).
    Unreachable,
    /// `type: prohibit`: drop, ICMP destination unreachable (administratively prohibited).
    Prohibit,
}

/// A static route (`routes[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConf {
    /// Canonical (no host bits set).
    pub prefix: Ipv4Net,
    /// Where it goes.
    pub target: RouteTarget,
    /// Lower wins among routes for the same prefix (default 0).
    pub metric: u32,
}

/// A file of prefixes to route (`route_files[i]`), read by [`crate::route_file::read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFileConf {
    /// Resolved against the config file's directory; existed at load time.
    pub path: PathBuf,
    /// Gateways to spread the prefixes over (at least one, each reachable).
    pub via: Vec<Ipv4Addr>,
    /// Metric of every route from the file (default 0).
    pub metric: u32,
}

/// Global knobs (`settings:`); names follow the kernel's sysctls where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// TTL of packets the router originates (`net.ipv4.ip_default_ttl`), 1..=255, default 64.
    pub ip_default_ttl: u8,
    /// ICMP error rate limit, tokens per second (`net.ipv4.icmp_msgs_per_sec`), default 1000.
    pub icmp_msgs_per_sec: u32,
    /// ICMP error burst (`net.ipv4.icmp_msgs_burst`), default 50.
    pub icmp_msgs_burst: u32,
    /// Ignore echo requests to broadcast addresses
    /// (`net.ipv4.icmp_echo_ignore_broadcasts`), default true.
    pub icmp_echo_ignore_broadcasts: bool,
    /// RX burst size, 1..=256, default 32.
    pub burst: u16,
    /// Mbuf pool size, at least 512, default 8191 (2^n - 1 suits the mempool ring).
    pub mbufs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ip_default_ttl: 64,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            icmp_echo_ignore_broadcasts: true,
            burst: 32,
            mbufs: 8191,
        }
    }
}

impl Config {
    /// Read, parse and validate a config file. Route files are checked to exist but not
    /// read; see [`crate::route_file::read`].
    pub fn load(path: &Path) -> Result<Config, ConfError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfError::io(path, e))?;
        Config::from_str(&text, path)
    }

    /// Parse and validate config text. `path` is used in messages and to resolve
    /// relative route-file paths; it need not exist.
    #[allow(clippy::should_implement_trait)] // takes a path too; not `FromStr`
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfError> {
        crate::validate::build(text, path)
    }

    /// The config in canonical form (every default spelled out, route-file paths
    /// resolved), for `show config`. Loading it again gives an equal config.
    pub fn to_yaml(&self) -> String {
        crate::schema::to_yaml(self)
    }

    /// Which port (index into [`Config::ports`]) a gateway is reachable through: the
    /// port with an address whose subnet contains it (longest prefix wins, the first
    /// port on a tie), or, failing that, the port of a neighbor entry with that address.
    /// `None` if unreachable.
    pub fn port_for_gateway(&self, gw: Ipv4Addr) -> Option<usize> {
        let mut best: Option<(usize, u8)> = None;
        for (i, port) in self.ports.iter().enumerate() {
            for a in &port.addresses {
                if a.contains(&gw) && best.map_or(true, |(_, len)| a.prefix_len() > len) {
                    best = Some((i, a.prefix_len()));
                }
            }
        }
        best.map(|(i, _)| i).or_else(|| {
            let n = self.neighbors.iter().find(|n| n.address == gw)?;
            self.port_index(&n.port)
        })
    }

    /// Index of the port called `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.ports.iter().position(|p| p.name == name)
    }

    /// Whether port `port` (an index) reaches `gw`: one of its subnets contains it, or a
    /// neighbor entry on that port has that address.
    pub fn port_reaches(&self, port: usize, gw: Ipv4Addr) -> bool {
        let Some(p) = self.ports.get(port) else {
            return false;
        };
        p.addresses.iter().any(|a| a.contains(&gw))
            || self
                .neighbors
                .iter()
                .any(|n| n.address == gw && n.port == p.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, addrs: &[&str]) -> PortConf {
        PortConf {
            name: name.into(),
            device: format!("dev-{name}"),
            mac: None,
            mtu: 1500,
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            rx_desc: 1024,
            tx_desc: 1024,
        }
    }

    fn config(ports: Vec<PortConf>, neighbors: Vec<NeighborConf>) -> Config {
        Config {
            path: "t.yaml".into(),
            ports,
            neighbors,
            routes: vec![],
            route_files: vec![],
            settings: Settings::default(),
        }
    }

    #[test]
    fn gateway_longest_prefix_wins() {
        let c = config(
            vec![port("p0", &["10.0.0.1/16"]), port("p1", &["10.0.1.1/24"])],
            vec![],
        );
        assert_eq!(c.port_for_gateway("10.0.1.9".parse().unwrap()), Some(1));
        assert_eq!(c.port_for_gateway("10.0.2.9".parse().unwrap()), Some(0));
        assert_eq!(c.port_for_gateway("10.9.2.9".parse().unwrap()), None);
    }

    #[test]
    fn gateway_through_neighbor_entry() {
        let n = NeighborConf {
            address: "192.0.2.7".parse().unwrap(),
            mac: MacAddr([2, 0, 0, 0, 0, 7]),
            port: "p1".into(),
        };
        let c = config(vec![port("p0", &["10.0.0.1/16"]), port("p1", &[])], vec![n]);
        assert_eq!(c.port_for_gateway("192.0.2.7".parse().unwrap()), Some(1));
        assert!(c.port_reaches(1, "192.0.2.7".parse().unwrap()));
        assert!(!c.port_reaches(0, "192.0.2.7".parse().unwrap()));
        assert!(!c.port_reaches(7, "192.0.2.7".parse().unwrap()));
        assert_eq!(c.port_index("p1"), Some(1));
    }

    #[test]
    fn default_settings() {
        let s = Settings::default();
        assert_eq!(
            (s.ip_default_ttl, s.icmp_msgs_per_sec, s.icmp_msgs_burst),
            (64, 1000, 50)
        );
        assert!(s.icmp_echo_ignore_broadcasts);
        assert_eq!((s.burst, s.mbufs), (32, 8191));
    }
}
