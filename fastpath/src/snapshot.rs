//! The immutable state workers read: interfaces, FIB (tables + rules), next hops,
//! neighbours, settings. The control core builds a new version and publishes it through
//! [`crate::rcu::Rcu`]; cloning one is cheap (tables are shared immutable versions).

use crate::conntrack::CtTimeouts;
use crate::fib::{Change, Fib, Prefix, RouteType, TABLE_LOCAL, TABLE_MAIN};
use crate::fnhe::Exceptions;
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
    /// Per-destination ICMP limit in ms (`net.ipv4.icmp_ratelimit`), see [`crate::icmp_limit`].
    pub icmp_ratelimit: u32,
    /// The ICMP types it applies to (`net.ipv4.icmp_ratemask`).
    pub icmp_ratemask: u32,
    /// Ignore echo requests to broadcast addresses (`net.ipv4.icmp_echo_ignore_broadcasts`).
    pub icmp_echo_ignore_broadcasts: bool,
    /// ECMP hash: 0 = L3 (addresses), 1 = L3+L4 (`net.ipv4.fib_multipath_hash_policy`).
    pub fib_multipath_hash_policy: u8,
    /// ICMP redirects (`net.ipv4.conf.all.send_redirects`); an interface sends them when
    /// this or its own [`DevConf::send_redirects`] is set (`IN_DEV_TX_REDIRECTS`).
    pub send_redirects: bool,
    /// Forwarded packets are checked against a learned PMTU, not only the device MTU
    /// (`net.ipv4.ip_forward_use_pmtu`, default false).
    pub ip_forward_use_pmtu: bool,
    /// Reverse path filter of every interface (`net.ipv4.conf.all.rp_filter`): 0 off, 1
    /// strict, 2 loose; an interface uses the larger of this and its own
    /// ([`Snapshot::rp_filter`], `IN_DEV_RPFILTER`).
    pub rp_filter: u8,
    /// Workers keep a dst per next hop ([`crate::dst_cache`]); off, every packet's dst
    /// is built anew (to measure what the cache buys; no Linux knob).
    pub dst_cache: bool,
    /// Route hints across a burst ([`crate::pipeline::process_burst`]); off, every
    /// packet is looked up (to measure what they buy; no Linux knob).
    pub route_hints: bool,
    /// The flowtable of established flows ([`crate::flowtable`], nftables' `flow add
    /// @ft`); off, no connection is tracked.
    pub flowtable: bool,
    /// Connections each worker tracks at most (`net.netfilter.nf_conntrack_max`, per
    /// worker here).
    pub nf_conntrack_max: u32,
    /// Conntrack and flowtable timeouts.
    pub conntrack: CtTimeouts,
    /// Longest sleep of an idle worker, us (0: busy polling).
    pub idle_sleep_us: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ip_default_ttl: 64,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            icmp_ratelimit: 1000,
            icmp_ratemask: 6168,
            icmp_echo_ignore_broadcasts: true,
            fib_multipath_hash_policy: 0,
            send_redirects: true,
            ip_forward_use_pmtu: false,
            rp_filter: 0,
            dst_cache: true,
            route_hints: true,
            flowtable: true,
            nf_conntrack_max: 65536,
            conntrack: CtTimeouts::default(),
            idle_sleep_us: 100,
        }
    }
}

/// Per-interface settings (the kernel's `in_device->cnf`, `net.ipv4.conf.<dev>.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevConf {
    /// `net.ipv4.conf.<dev>.send_redirects` (default true, as `conf.default`).
    pub send_redirects: bool,
    /// `net.ipv4.conf.<dev>.rp_filter` (default 0).
    pub rp_filter: u8,
}

impl Default for DevConf {
    fn default() -> Self {
        DevConf {
            send_redirects: true,
            rp_filter: 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Generation id (the kernel's `rt_genid`): bumped by every published change, so any
    /// decision cached under an older value is stale.
    pub genid: u64,
    pub ifaces: Vec<Iface>,
    pub fib: Fib,
    pub nexthops: NexthopTable,
    pub neigh: NeighTable,
    /// Nexthop exceptions (PMTU, redirects), learned by the control core.
    pub exceptions: Exceptions,
    pub settings: Settings,
    /// Per-interface settings, by [`IfIndex`]; an interface without an entry has the
    /// defaults ([`Snapshot::devconf`]).
    pub devconf: Vec<DevConf>,
}

/// What `fib_add_ifaddr` adds for one interface address: the connected route (main) and
/// the local and broadcast /32s (local table).
pub fn interface_routes(
    iface: IfIndex,
    a: &crate::iface::IfAddr,
    nexthops: &mut NexthopTable,
) -> Vec<(u32, Prefix, RouteType)> {
    let nh = nexthops.intern(Nexthop {
        iface,
        gateway: None,
    });
    let mut v = vec![
        (
            TABLE_MAIN,
            Prefix::new(a.network(), a.prefix_len),
            RouteType::Unicast(nh),
        ),
        (TABLE_LOCAL, Prefix::new(a.addr, 32), RouteType::Local),
    ];
    if let Some(b) = a.broadcast() {
        v.push((TABLE_LOCAL, Prefix::new(b, 32), RouteType::Broadcast));
        v.push((
            TABLE_LOCAL,
            Prefix::new(a.network(), 32),
            RouteType::Broadcast,
        ));
    }
    v
}

impl Snapshot {
    /// A snapshot with interfaces, their interface routes, the default rules, and nothing
    /// else (tests and tools; the control core builds through its RIB).
    pub fn with_ifaces(ifaces: Vec<Iface>, settings: Settings) -> Snapshot {
        let mut s = Snapshot {
            ifaces,
            settings,
            ..Default::default()
        };
        let mut routes = Vec::new();
        for (i, iface) in s.ifaces.iter().enumerate() {
            for a in &iface.addrs {
                routes.extend(interface_routes(i as IfIndex, a, &mut s.nexthops));
            }
        }
        for (t, p, rt) in routes {
            s.add_route(t, p, rt);
        }
        s
    }

    /// Adds or replaces one route in table `table` (slow path: one change per call).
    pub fn add_route(&mut self, table: u32, p: Prefix, rt: RouteType) {
        let id = self.fib.storage_table(table);
        let t = self.fib.table(id).cloned().unwrap_or_default();
        self.fib.set_table(
            id,
            t.update(&[Change::Insert {
                addr: p.addr,
                len: p.len,
                value: rt.encode(),
            }]),
        );
    }

    /// Whether `addr` is one of our addresses.
    pub fn is_local(&self, addr: Ipv4Addr) -> bool {
        self.ifaces
            .iter()
            .any(|i| i.addrs.iter().any(|a| a.addr == addr))
    }

    /// Whether `addr` is one of our addresses or the network/broadcast address of one of
    /// our subnets (what `fib_validate_source` rejects as a source).
    #[inline]
    pub fn is_local_or_broadcast(&self, addr: Ipv4Addr) -> bool {
        self.ifaces.iter().any(|i| {
            i.addrs.iter().any(|a| {
                a.addr == addr
                    || (a.broadcast().is_some()
                        && (a.broadcast() == Some(addr) || a.network() == addr))
            })
        })
    }

    /// The settings of interface `iface`.
    #[inline]
    pub fn devconf(&self, iface: IfIndex) -> DevConf {
        self.devconf
            .get(iface as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Whether interface `iface` sends ICMP redirects (`IN_DEV_TX_REDIRECTS`: the kernel's
    /// `IN_DEV_ORCONF`, `conf.all` or the interface's own setting).
    #[inline]
    pub fn tx_redirects(&self, iface: IfIndex) -> bool {
        self.settings.send_redirects || self.devconf(iface).send_redirects
    }

    /// The reverse path filter of interface `iface`: the larger of `all` and its own
    /// (`IN_DEV_RPFILTER` = `IN_DEV_MAXCONF`).
    #[inline]
    pub fn rp_filter(&self, iface: IfIndex) -> u8 {
        self.settings.rp_filter.max(self.devconf(iface).rp_filter)
    }

    /// The interface with this DPDK port id.
    pub fn iface_by_port(&self, port_id: u16) -> Option<IfIndex> {
        self.ifaces
            .iter()
            .position(|i| i.port_id == port_id)
            .map(|i| i as IfIndex)
    }

    pub fn iface_by_name(&self, name: &str) -> Option<IfIndex> {
        self.ifaces
            .iter()
            .position(|i| i.name == name)
            .map(|i| i as IfIndex)
    }
}
