//! The validated configuration handed to the control plane: [`Config`] and its parts.
//!
//! These types hold checked values only (a [`Config`] comes from [`Config::load`] or
//! [`Config::from_str`], which validate everything but the contents of route files).
//! Their YAML form is in [`crate::schema`]; the checks are in [`crate::validate`].

use std::io::Read;
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
    /// Named user tables (`tables:`); the reserved `local` (255), `main` (254) and
    /// `default` (253) are implicit and not listed.
    pub tables: Vec<TableConf>,
    /// Nexthop objects (`nexthops:`, `ip nexthop`), in file order.
    pub nexthops: Vec<NexthopConf>,
    /// Policy rules (`rules:`, `ip rule`) in file order, every `pref` filled in. Linux's
    /// three default rules are implicit and not listed (see [`default_rules`]).
    pub rules: Vec<RuleConf>,
    /// Global knobs (`settings:`).
    pub settings: Settings,
}

/// Linux's `local` table (RT_TABLE_LOCAL): local and broadcast addresses.
pub const TABLE_LOCAL: u32 = 255;
/// Linux's `main` table (RT_TABLE_MAIN): where routes go unless they say `table:`.
pub const TABLE_MAIN: u32 = 254;
/// Linux's `default` table (RT_TABLE_DEFAULT), looked up last and usually empty.
pub const TABLE_DEFAULT: u32 = 253;
/// Pref of Linux's default `lookup main` rule.
pub const PREF_MAIN: u32 = 32766;
/// Pref of Linux's default `lookup default` rule.
pub const PREF_DEFAULT: u32 = 32767;

/// The reserved table names and ids, as in iproute2's `rt_tables`.
pub(crate) const RESERVED_TABLES: [(&str, u32); 3] = [
    ("local", TABLE_LOCAL),
    ("main", TABLE_MAIN),
    ("default", TABLE_DEFAULT),
];

/// A named routing table (`tables[i]`), like a line of iproute2's `rt_tables`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableConf {
    /// 1..=2^32-1, not 253, 254 or 255 (those are `default`, `main`, `local`).
    pub id: u32,
    /// A letter or `_`, then letters, digits, `_ - .`; not `local`, `main`, `default`,
    /// `unspec` or `all`.
    pub name: String,
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
    /// RX queues (testpmd's `--rxq`), 1..=64; default one per worker lcore, as many as
    /// the device has. Queue q of every port is polled by worker q mod workers when all
    /// ports have the same number, so with RSS both directions of a flow meet on one
    /// worker.
    pub rx_queues: Option<u16>,
    /// ICMP redirects from this port (`net.ipv4.conf.<dev>.send_redirects`), default
    /// true. The port sends them when this or [`Settings::send_redirects`] is set, as
    /// Linux's `IN_DEV_ORCONF`: turning them off takes both.
    pub send_redirects: bool,
    /// Reverse path filter of this port (`net.ipv4.conf.<dev>.rp_filter`): 0 off
    /// (default), 1 strict, 2 loose; the port uses the larger of this and
    /// [`Settings::rp_filter`], as Linux's `IN_DEV_MAXCONF`.
    pub rp_filter: u8,
    /// Redirects received on this port may be accepted
    /// (`net.ipv4.conf.<dev>.accept_redirects`, default true): only if
    /// [`Settings::accept_redirects`] is on too (a router's `IN_DEV_RX_REDIRECTS` is
    /// `IN_DEV_ANDCONF` while forwarding).
    pub accept_redirects: bool,
    /// Accept redirects only to a gateway of a default route on this port
    /// (`net.ipv4.conf.<dev>.secure_redirects`, default true; `IN_DEV_ORCONF` with
    /// [`Settings::secure_redirects`]); applies when `shared_media` is off.
    pub secure_redirects: bool,
    /// The port's subnets share one medium (`net.ipv4.conf.<dev>.shared_media`, default
    /// true; `IN_DEV_ORCONF`): a redirect's new gateway need not be on the old one's
    /// subnet, only unicast.
    pub shared_media: bool,
    /// This port's own neighbour parameters (`net.ipv4.neigh.<dev>.*`); each one not
    /// given is the `settings` one.
    pub neigh: PortNeigh,
}

/// Per-port neighbour parameters, under the names of [`Settings`]' (None: the global).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortNeigh {
    /// [`Settings::base_reachable_time_ms`] for this port.
    pub base_reachable_time_ms: Option<u32>,
    /// [`Settings::delay_first_probe_time`] for this port.
    pub delay_first_probe_time: Option<u32>,
    /// [`Settings::retrans_time_ms`] for this port.
    pub retrans_time_ms: Option<u32>,
    /// [`Settings::ucast_solicit`] for this port.
    pub ucast_solicit: Option<u32>,
    /// [`Settings::mcast_solicit`] for this port.
    pub mcast_solicit: Option<u32>,
    /// [`Settings::gc_stale_time`] for this port.
    pub gc_stale_time: Option<u32>,
    /// [`Settings::unres_qlen`] for this port.
    pub unres_qlen: Option<u32>,
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
    /// `via: [A, B, ...]` with two or more gateways: ECMP over weighted nexthops
    /// (`ip route add P nexthop via A weight 1 nexthop via B weight 2`). A flow stays on
    /// one member ([`Settings::fib_multipath_hash_policy`] picks the hash). Gateways are
    /// distinct, each reachable like [`RouteTarget::Via`]'s; a list of one is a `Via`.
    Multipath(Vec<NexthopSpec>),
    /// `nhid: N`: use nexthop object N of [`Config::nexthops`] (`ip route add P nhid N`).
    Nhid(u32),
}

/// One member of a [`RouteTarget::Multipath`] route (`nexthop via A dev P weight W`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NexthopSpec {
    /// The gateway; some port reaches it (port `dev` when given).
    pub gateway: Ipv4Addr,
    /// The port to use, when the config names one.
    pub dev: Option<String>,
    /// Share of flows relative to the other members, 1..=256 (default 1).
    pub weight: u16,
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
    /// The table it goes in, 1..=2^32-1 (default [`TABLE_MAIN`], 254).
    pub table: u32,
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
    /// The table every route from the file goes in (default [`TABLE_MAIN`], 254).
    pub table: u32,
}

/// A nexthop object (`nexthops[i]`, `ip nexthop add id N ...`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NexthopConf {
    /// 1..=2^32-1, unique.
    pub id: u32,
    /// What it is.
    pub kind: NexthopKind,
}

/// The kinds of nexthop object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NexthopKind {
    /// `via: GW` (optionally `dev: PORT`): a gateway, reachable like a route's.
    Via {
        /// The gateway.
        gateway: Ipv4Addr,
        /// The port to use, when the config names one.
        dev: Option<String>,
    },
    /// `dev: PORT` alone: on-link, the destination itself is the next hop.
    Dev(String),
    /// `blackhole: true`: drop silently.
    Blackhole,
    /// `group: [{ id, weight }, ...]`: ECMP over single nexthops (no nested groups),
    /// as `(member id, weight 1..=256)` in the order given. A blackhole member must be
    /// the only member (Linux's rule).
    Group(Vec<(u32, u16)>),
}

/// A policy rule (`rules[i]`, `ip rule add ...`): if a packet matches every selector
/// given, apply the action; rules are tried in increasing `pref` (ties in the order
/// added). `None` selectors match everything.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleConf {
    /// Priority, 1..=2^32-1 in a config (0 is Linux's `lookup local` rule).
    pub pref: u32,
    /// Source prefix, canonical; `from all` (or 0.0.0.0/0) is `None`.
    pub from: Option<Ipv4Net>,
    /// Destination prefix, canonical; `to all` (or 0.0.0.0/0) is `None`.
    pub to: Option<Ipv4Net>,
    /// Input port name.
    pub iif: Option<String>,
    /// The IPv4 TOS/DS field must equal this (ECN bits, the low two, are zero); 0 is
    /// `None`, as in Linux.
    pub tos: Option<u8>,
    /// `(mark, mask)`: `skb mark & mask == mark`; bits of `mark` are within `mask`.
    /// Without a mask the mask is 0xffffffff; `fwmark 0` alone matches everything and
    /// is `None`, as in Linux.
    pub fwmark: Option<(u32, u32)>,
    /// What to do with a matching packet.
    pub action: RuleAction,
}

/// A rule's action (`FR_ACT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table: T` / `lookup T`: look the destination up in table T; if no route there
    /// matches (or it is a `throw`), go on with the next rule.
    Lookup(u32),
    /// `type: blackhole`: drop silently.
    Blackhole,
    /// `type: unreachable`: drop, ICMP network unreachable.
    Unreachable,
    /// `type: prohibit`: drop, ICMP administratively prohibited.
    Prohibit,
}

/// Linux's three default rules, which every config has implicitly and which are not in
/// [`Config::rules`]: `0: from all lookup local`, `32766: from all lookup main`,
/// `32767: from all lookup default`.
pub fn default_rules() -> Vec<RuleConf> {
    [
        (0, TABLE_LOCAL),
        (PREF_MAIN, TABLE_MAIN),
        (PREF_DEFAULT, TABLE_DEFAULT),
    ]
    .into_iter()
    .map(|(pref, table)| RuleConf {
        pref,
        from: None,
        to: None,
        iif: None,
        tos: None,
        fwmark: None,
        action: RuleAction::Lookup(table),
    })
    .collect()
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
    /// Per-destination ICMP limit (`net.ipv4.icmp_ratelimit`): ms between errors to one
    /// host after a burst of 6; 0 = none. Default 1000.
    pub icmp_ratelimit: u32,
    /// ICMP types that limit applies to, one bit per type (`net.ipv4.icmp_ratemask`),
    /// default 6168 (destination unreachable, source quench, time exceeded, parameter
    /// problem); frag-needed is never limited.
    pub icmp_ratemask: u32,
    /// Ignore echo requests to broadcast addresses
    /// (`net.ipv4.icmp_echo_ignore_broadcasts`), default true.
    pub icmp_echo_ignore_broadcasts: bool,
    /// RX burst size, 1..=256, default 32.
    pub burst: u16,
    /// Mbuf pool size, at least 512, default 8191 (2^n - 1 suits the mempool ring).
    pub mbufs: u32,
    /// What the ECMP flow hash covers (`net.ipv4.fib_multipath_hash_policy`): 0 = L3
    /// (source and destination address), 1 = L3+L4 (also protocol and ports).
    /// Default 0; Linux's 2 and 3 (inner headers, custom fields) are not supported.
    pub fib_multipath_hash_policy: u8,
    /// Base of a neighbour's REACHABLE time in ms, randomised 0.5-1.5x (`net.ipv4.neigh.default.base_reachable_time_ms`), default 30000.
    pub base_reachable_time_ms: u32,
    /// Seconds a used STALE neighbour waits in DELAY before it is probed (`delay_first_probe_time`), default 5.
    pub delay_first_probe_time: u32,
    /// Ms between ARP requests for one neighbour (`retrans_time_ms`), default 1000.
    pub retrans_time_ms: u32,
    /// Unicast probes of a known neighbour before it fails (`ucast_solicit`), default 3.
    pub ucast_solicit: u32,
    /// Broadcast requests for an unknown neighbour before it fails (`mcast_solicit`), default 3.
    pub mcast_solicit: u32,
    /// Seconds an unused neighbour entry is kept once above gc_thresh1 (`gc_stale_time`), default 60.
    pub gc_stale_time: u32,
    /// Below this many entries, none is collected (`net.ipv4.neigh.default.gc_thresh1`), default 128.
    pub gc_thresh1: u32,
    /// Above this many, a new entry collects old ones first (`gc_thresh2`), default 512.
    pub gc_thresh2: u32,
    /// The most dynamic entries (`gc_thresh3`), default 1024.
    pub gc_thresh3: u32,
    /// Packets one unresolved neighbour holds (`unres_qlen`), default 101.
    pub unres_qlen: u32,
    /// Announce each address with a gratuitous ARP when its port starts
    /// (`net.ipv4.conf.all.arp_notify`; Linux's default is off, ours on).
    pub arp_notify: bool,
    /// ICMP redirects (`net.ipv4.conf.all.send_redirects`), default true; see
    /// [`PortConf::send_redirects`].
    pub send_redirects: bool,
    /// Reverse path filter of every port (`net.ipv4.conf.all.rp_filter`), 0 off
    /// (default), 1 strict, 2 loose; see [`PortConf::rp_filter`]. Off, a load
    /// generator's one-way streams from any source are forwarded.
    pub rp_filter: u8,
    /// Accept ICMP redirects (`net.ipv4.conf.all.accept_redirects`), default false: Linux
    /// clears it when forwarding is turned on. A port accepts them when this and its
    /// [`PortConf::accept_redirects`] are both on.
    pub accept_redirects: bool,
    /// `net.ipv4.conf.all.secure_redirects`, default true; see [`PortConf::secure_redirects`].
    pub secure_redirects: bool,
    /// `net.ipv4.conf.all.shared_media`, default true; see [`PortConf::shared_media`].
    pub shared_media: bool,
    /// Forwarded packets are checked against a learned path MTU
    /// (`net.ipv4.ip_forward_use_pmtu`), default false: the device MTU.
    pub ip_forward_use_pmtu: bool,
    /// Lowest path MTU learned (`net.ipv4.route.min_pmtu`), 68..=65535, default 552: a
    /// frag-needed below it locks the PMTU at it.
    pub min_pmtu: u16,
    /// Seconds a learned PMTU lasts (`net.ipv4.route.mtu_expires`), default 600.
    pub mtu_expires: u32,
    /// Seconds a redirect's gateway lasts (`net.ipv4.route.gc_timeout`), default 300.
    pub gc_timeout: u32,
    /// The per-lcore dst cache, default true; false builds every packet's dst anew (to
    /// measure what the cache buys).
    pub dst_cache: bool,
    /// Route hints across a burst, default true; false looks every packet up (to
    /// measure what they buy).
    pub route_hints: bool,
    /// The flowtable fastpath of established TCP and UDP flows, with the connection
    /// tracking it needs (nftables' `flow add @ft`), default true.
    pub flowtable: bool,
    /// Connections each worker tracks at most (`net.netfilter.nf_conntrack_max`, per
    /// worker here), 1..=16777216, default 65536; allocated at start.
    pub nf_conntrack_max: u32,
    /// Idle seconds of TCP connections with only a SYN seen (`net.netfilter.nf_conntrack_tcp_timeout_syn_sent`), default 120.
    pub nf_conntrack_tcp_timeout_syn_sent: u32,
    /// Idle seconds of TCP connections whose SYN-ACK was seen (`net.netfilter.nf_conntrack_tcp_timeout_syn_recv`), default 60.
    pub nf_conntrack_tcp_timeout_syn_recv: u32,
    /// Idle seconds of established TCP connections (`net.netfilter.nf_conntrack_tcp_timeout_established`), default 432000.
    pub nf_conntrack_tcp_timeout_established: u32,
    /// Idle seconds of TCP connections closing after a FIN (`net.netfilter.nf_conntrack_tcp_timeout_fin_wait`), default 120.
    pub nf_conntrack_tcp_timeout_fin_wait: u32,
    /// Idle seconds of TCP connections after an RST (`net.netfilter.nf_conntrack_tcp_timeout_close`), default 10.
    pub nf_conntrack_tcp_timeout_close: u32,
    /// Idle seconds of UDP flows without a reply (`net.netfilter.nf_conntrack_udp_timeout`), default 30.
    pub nf_conntrack_udp_timeout: u32,
    /// Idle seconds of UDP flows with a reply (`net.netfilter.nf_conntrack_udp_timeout_stream`), default 120.
    pub nf_conntrack_udp_timeout_stream: u32,
    /// Idle seconds of offloaded TCP flows, before they leave the flowtable (`net.netfilter.nf_flowtable_tcp_timeout`), default 30.
    pub nf_flowtable_tcp_timeout: u32,
    /// Idle seconds of offloaded UDP flows, before they leave the flowtable (`net.netfilter.nf_flowtable_udp_timeout`), default 30.
    pub nf_flowtable_udp_timeout: u32,
    /// Pick up TCP connections first seen mid-stream (`net.netfilter.nf_conntrack_tcp_loose`),
    /// default true.
    pub nf_conntrack_tcp_loose: bool,
    /// Longest sleep, in microseconds, of a worker that finds no packets (it backs off
    /// from pauses to sleeps growing to this bound, as l3fwd-power and grout do);
    /// 0..=10000, default 100; 0 = busy polling. A sleeping worker's rx ring must hold
    /// what arrives meanwhile: 100 us at 10 Mpps fills 1000 descriptors.
    pub idle_sleep_us: u32,
    /// Where the Prometheus metrics endpoint listens (`GET /metrics`); default none (off).
    pub metrics_listen: Option<std::net::SocketAddr>,
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
            burst: 32,
            mbufs: 8191,
            fib_multipath_hash_policy: 0,
            base_reachable_time_ms: 30000,
            delay_first_probe_time: 5,
            retrans_time_ms: 1000,
            ucast_solicit: 3,
            mcast_solicit: 3,
            gc_stale_time: 60,
            gc_thresh1: 128,
            gc_thresh2: 512,
            gc_thresh3: 1024,
            unres_qlen: 101,
            arp_notify: true,
            send_redirects: true,
            rp_filter: 0,
            accept_redirects: false,
            secure_redirects: true,
            shared_media: true,
            ip_forward_use_pmtu: false,
            min_pmtu: 552,
            mtu_expires: 600,
            gc_timeout: 300,
            dst_cache: true,
            route_hints: true,
            flowtable: true,
            nf_conntrack_max: 65536,
            nf_conntrack_tcp_timeout_syn_sent: 120,
            nf_conntrack_tcp_timeout_syn_recv: 60,
            nf_conntrack_tcp_timeout_established: 432000,
            nf_conntrack_tcp_timeout_fin_wait: 120,
            nf_conntrack_tcp_timeout_close: 10,
            nf_conntrack_udp_timeout: 30,
            nf_conntrack_udp_timeout_stream: 120,
            nf_flowtable_tcp_timeout: 30,
            nf_flowtable_udp_timeout: 30,
            nf_conntrack_tcp_loose: true,
            idle_sleep_us: 100,
            metrics_listen: None,
        }
    }
}

impl Config {
    /// Read, parse and validate a config file. Route files are checked to exist but not
    /// read; see [`crate::route_file::read`].
    /// A file over [`crate::limits::MAX_BYTES`] is refused without reading it all.
    pub fn load(path: &Path) -> Result<Config, ConfError> {
        let io = |e| ConfError::io(path, e);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(crate::limits::MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() > crate::limits::MAX_BYTES {
            let len = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
            return Err(crate::limits::too_big(path, len));
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        Config::from_str(&text, path)
    }

    /// Parse and validate config text. `path` is used in messages and to resolve
    /// relative route-file paths; it need not exist. The size and nesting limits of
    /// [`crate::limits`] are checked first, so hostile text fails fast.
    #[allow(clippy::should_implement_trait)] // takes a path too; not `FromStr`
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfError> {
        crate::limits::check(text, path)?;
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
                if a.contains(&gw) && best.is_none_or(|(_, len)| a.prefix_len() > len) {
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

    /// The name of table `id` as iproute2 prints it: `local`, `main`, `default`, a name
    /// from [`Config::tables`], or else the number.
    pub fn table_name(&self, id: u32) -> String {
        table_name(&self.tables, id)
    }

    /// The id of the table written `name_or_number`: a reserved name (`local` 255,
    /// `main` 254, `default` 253), a name from [`Config::tables`], or a decimal number
    /// 1..=2^32-1 (any number is a table; it need not be declared). `None` otherwise.
    pub fn table_id(&self, name_or_number: &str) -> Option<u32> {
        resolve_table(&self.tables, name_or_number).ok()
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

/// See [`Config::table_name`].
pub(crate) fn table_name(tables: &[TableConf], id: u32) -> String {
    RESERVED_TABLES
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(n, _)| (*n).to_string())
        .or_else(|| tables.iter().find(|t| t.id == id).map(|t| t.name.clone()))
        .unwrap_or_else(|| id.to_string())
}

/// A table written as a name or a number (see [`Config::table_id`]), or why not.
pub(crate) fn resolve_table(tables: &[TableConf], word: &str) -> Result<u32, String> {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
        return match word.parse::<u32>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!("table {word} is out of range (1 to 4294967295)")),
        };
    }
    if let Some((_, id)) = RESERVED_TABLES.iter().find(|(n, _)| *n == word) {
        return Ok(*id);
    }
    if let Some(t) = tables.iter().find(|t| t.name == word) {
        return Ok(t.id);
    }
    let names: Vec<&str> = RESERVED_TABLES
        .iter()
        .map(|(n, _)| *n)
        .chain(tables.iter().map(|t| t.name.as_str()))
        .collect();
    Err(format!(
        "table `{word}` is not a number or a table name ({})",
        names.join(", ")
    ))
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
            rx_queues: None,
            send_redirects: true,
            rp_filter: 0,
            accept_redirects: true,
            secure_redirects: true,
            shared_media: true,
            neigh: PortNeigh::default(),
        }
    }

    fn config(ports: Vec<PortConf>, neighbors: Vec<NeighborConf>) -> Config {
        Config {
            path: "t.yaml".into(),
            ports,
            neighbors,
            routes: vec![],
            route_files: vec![],
            tables: vec![],
            nexthops: vec![],
            rules: vec![],
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
