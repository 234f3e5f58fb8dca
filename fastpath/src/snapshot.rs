//! The immutable state workers read: interfaces, FIB, next hops, neighbours, settings.
//! The control core builds a snapshot and publishes it; workers never write to it.

use crate::fib::{Fib, Prefix, RouteType};
use crate::iface::{IfIndex, Iface};
use crate::neigh::NeighTable;
use crate::nexthop::{Nexthop, NexthopTable};
use std::net::Ipv4Addr;

/// Data-plane settings (the kernel's sysctl names where one exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// TTL of packets we originate (`net.ipv4.ip_default_ttl`).
    pub ip_default_ttl: u8,
    /// ICMP errors per second per lcore (`net.ipv4.icmp_msgs_per_sec`).
    pub icmp_msgs_per_sec: u32,
    /// Burst allowance of that limit (`net.ipv4.icmp_msgs_burst`).
    pub icmp_msgs_burst: u32,
    /// Ignore echo requests to broadcast addresses (`net.ipv4.icmp_echo_ignore_broadcasts`).
    pub icmp_echo_ignore_broadcasts: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { ip_default_ttl: 64, icmp_msgs_per_sec: 1000, icmp_msgs_burst: 50, icmp_echo_ignore_broadcasts: true }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub ifaces: Vec<Iface>,
    pub fib: Fib,
    pub nexthops: NexthopTable,
    pub neigh: NeighTable,
    pub settings: Settings,
}

impl Snapshot {
    /// A snapshot with interfaces and their connected, local and broadcast routes (the
    /// kernel's `fib_add_ifaddr`), and nothing else.
    pub fn with_ifaces(ifaces: Vec<Iface>, settings: Settings) -> Snapshot {
        let mut s = Snapshot { ifaces, fib: Fib::new(), settings, ..Default::default() };
        for i in 0..s.ifaces.len() {
            let addrs = s.ifaces[i].addrs.clone();
            for a in addrs {
                let nh = s.nexthops.intern(Nexthop { iface: i as IfIndex, gateway: None });
                s.fib.insert(Prefix::new(a.network(), a.prefix_len), RouteType::Unicast(nh));
            }
        }
        // Local and broadcast /32s go in after connected routes so that they win, as the
        // kernel's local table is consulted first.
        for i in 0..s.ifaces.len() {
            for a in s.ifaces[i].addrs.clone() {
                if let Some(b) = a.broadcast() {
                    s.fib.insert(Prefix::new(b, 32), RouteType::Broadcast);
                    s.fib.insert(Prefix::new(a.network(), 32), RouteType::Broadcast);
                }
                s.fib.insert(Prefix::new(a.addr, 32), RouteType::Local);
            }
        }
        s
    }

    /// Whether `addr` is one of our addresses.
    pub fn is_local(&self, addr: Ipv4Addr) -> bool {
        self.ifaces.iter().any(|i| i.addrs.iter().any(|a| a.addr == addr))
    }

    /// The interface with this DPDK port id.
    pub fn iface_by_port(&self, port_id: u16) -> Option<IfIndex> {
        self.ifaces.iter().position(|i| i.port_id == port_id).map(|i| i as IfIndex)
    }

    pub fn iface_by_name(&self, name: &str) -> Option<IfIndex> {
        self.ifaces.iter().position(|i| i.name == name).map(|i| i as IfIndex)
    }
}
