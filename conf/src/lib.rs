//! # conf: fastpath's YAML configuration
//!
//! Loads, checks and dumps the router's config file. No DPDK here and no other
//! workspace crate: `control` calls [`Config::load`] and turns the result into
//! data-plane state, and calls [`route_file::read`] to stream bulk routes into the FIB.
//!
//! ## Schema
//!
//! ```yaml
//! ports:                      # required, at least one; index = port id
//!   - name: p0                # required; 1-15 of A-Z a-z 0-9 _ - .
//!     device: 0000:01:00.0    # required; PCI address or vdev devargs (net_pcap0,rx_pcap=...)
//!     mac: 02:00:00:00:00:01  # optional, unicast; default: the port's own
//!     mtu: 1500               # 68..=9000
//!     addresses: [10.0.1.1/24]  # address/len; host bits are the address
//!     rx_desc: 1024           # ring sizes, 64..=16384
//!     tx_desc: 1024
//!     rx_queues: 2            # 1..=64, default one per worker lcore (testpmd's --rxq);
//!                             #   RSS with a symmetric key when more than one
//!     send_redirects: true    # conf.<dev>.send_redirects; redirects go if this or settings'
//!     rp_filter: 0            # conf.<dev>.rp_filter, 0 off, 1 strict, 2 loose; max with settings'
//!     accept_redirects: true  # conf.<dev>.accept_redirects; taken only if settings' is on too
//!     secure_redirects: true  # conf.<dev>.*; either this or settings' (shared_media off only)
//!     shared_media: true      # conf.<dev>.*; either this or settings'
//!     retrans_time_ms: 100    # optional neigh.<dev>.* of its own: base_reachable_time_ms,
//!                             #   delay_first_probe_time, retrans_time_ms, ucast_solicit,
//!                             #   mcast_solicit, gc_stale_time, unres_qlen (see settings)
//! neighbors:                  # static ARP entries (PERMANENT); the others come from ARP
//!   - { address: 10.0.1.2, mac: "02:00:00:00:01:02", port: p0 }
//! tables:                     # named user tables (iproute2's rt_tables); any number
//!   - { id: 100, name: isp2 }   #   1..=2^32-1 is a table without being named here;
//!                             #   local 255, main 254, default 253 are built in
//! nexthops:                   # `ip nexthop` objects, ids 1..=2^32-1
//!   - { id: 1, via: 10.0.1.2, dev: p0 }                  # gateway (dev optional)
//!   - { id: 2, dev: p1 }                                 # on-link
//!   - { id: 3, blackhole: true }
//!   - { id: 10, group: [{ id: 1, weight: 3 }, { id: 2 }] }  # ECMP group, weights 1..=256
//! routes:                     # `ip route` in YAML
//!   - { prefix: 198.51.100.0/24, via: 10.0.1.2 }          # gateway (port found from subnets)
//!   - { prefix: 198.51.101.0/24, via: 10.0.1.2, dev: p0 } # gateway through a given port
//!   - { prefix: 192.0.2.0/24, dev: p1 }                   # directly connected
//!   - { prefix: 203.0.113.0/24, type: blackhole }         # or unreachable, prohibit
//!   - { prefix: 0.0.0.0/0, via: 10.0.1.2, metric: 10 }    # lower metric wins
//!   - { prefix: 10.1.0.0/16, via: [10.0.1.2, 10.0.2.2] }  # ECMP, equal weights
//!   - { prefix: 10.2.0.0/16, via: [{ address: 10.0.1.2, weight: 3, dev: p0 }, { address: 10.0.2.2 }] }
//!   - { prefix: 10.3.0.0/16, nhid: 10 }                   # a nexthop object
//!   - { prefix: 0.0.0.0/0, via: 10.0.2.2, table: isp2 }   # table: name or number, default main
//! route_files:                # bulk routes, see route_file
//!   - { path: tables/dfz.txt.xz, via: [10.0.1.2, 10.0.2.2], metric: 0, table: main }
//! rules:                      # `ip rule`; 0 local, 32766 main, 32767 default are implicit
//!   - { pref: 100, from: 10.0.0.0/8, to: 192.0.2.0/24, iif: p0, tos: 0x10,
//!       fwmark: "0x1/0xff", table: isp2 }                 # every selector optional
//!   - { to: 198.51.100.0/24, type: prohibit }  # no pref: (lowest pref in use) - 1, as Linux
//! settings:                   # all optional; kernel sysctl names
//!   ip_default_ttl: 64
//!   icmp_msgs_per_sec: 1000
//!   icmp_msgs_burst: 50
//!   icmp_ratelimit: 1000      # ms per error to one host after a burst of 6; 0 = off
//!   icmp_ratemask: 6168       # the ICMP types it limits (bit per type)
//!   icmp_echo_ignore_broadcasts: true
//!   fib_multipath_hash_policy: 0  # ECMP hash: 0 = L3 (addresses), 1 = L3+L4 (+ proto, ports)
//!   send_redirects: true      # conf.all.send_redirects (ICMP redirects, with the port's)
//!   rp_filter: 0              # conf.all.rp_filter: reverse path filter, 0 off, 1 strict, 2 loose
//!   accept_redirects: false   # conf.all.accept_redirects (off: forwarding turns it off in Linux)
//!   secure_redirects: true    # conf.all.secure_redirects
//!   shared_media: true        # conf.all.shared_media
//!   ip_forward_use_pmtu: false  # forwarded packets checked against a learned PMTU
//!   min_pmtu: 552             # route.min_pmtu: lower frag-needed MTUs lock the PMTU at this
//!   mtu_expires: 600          # route.mtu_expires: s a learned PMTU lasts
//!   gc_timeout: 300           # route.gc_timeout: s a redirect's gateway lasts
//!   dst_cache: true           # per-lcore dst per next hop (false: to measure what it buys)
//!   route_hints: true         # route hints across a burst (false: likewise)
//!   flowtable: true           # flowtable of established TCP/UDP flows, with conntrack
//!   nf_conntrack_max: 65536   # connections per worker, 1..=16777216, allocated at start
//!   nf_conntrack_tcp_loose: true  # pick up TCP connections mid-stream
//!   nf_flowtable_tcp_timeout: 30  # s idle before an offloaded flow leaves the flowtable
//!   nf_flowtable_udp_timeout: 30
//!   nf_conntrack_tcp_timeout_syn_sent: 120  # s idle before a connection is removed, per
//!   nf_conntrack_tcp_timeout_syn_recv: 60   #   state (net.netfilter.*); unreplied TCP at
//!   nf_conntrack_tcp_timeout_established: 432000  # most syn_sent's
//!   nf_conntrack_tcp_timeout_fin_wait: 120  #   every closing state
//!   nf_conntrack_tcp_timeout_close: 10      #   after an RST
//!   nf_conntrack_udp_timeout: 30            #   UDP without a reply
//!   nf_conntrack_udp_timeout_stream: 120    #   UDP with one
//!   burst: 32                 # rx burst, 1..=256
//!   mbufs: 8191               # mempool size, >= 512
//!   base_reachable_time_ms: 30000  # neighbours (ARP), as net.ipv4.neigh.default.*:
//!   delay_first_probe_time: 5 #   REACHABLE for 0.5-1.5x base; DELAY s before probing
//!   retrans_time_ms: 1000     #   between requests for one neighbour
//!   ucast_solicit: 3          #   probes of a known neighbour, then FAILED
//!   mcast_solicit: 3          #   broadcast requests for an unknown one
//!   gc_stale_time: 60         #   s an unused entry is kept (above gc_thresh1)
//!   gc_thresh1: 128           #   table bounds: no GC below, GC on add above
//!   gc_thresh2: 512
//!   gc_thresh3: 1024          #   the most dynamic entries
//!   unres_qlen: 101           #   packets held per unresolved neighbour
//!   arp_notify: true          # gratuitous ARP for each address when its port starts
//!   idle_sleep_us: 100        # a worker with no packets backs off to sleeps of at most
//!                             #   this (0..=10000; 0 = busy polling)
//!   metrics_listen: 127.0.0.1:9111  # Prometheus endpoint (GET /metrics); default off
//! ```
//!
//! Route prefixes must be canonical (`10.0.0.1/24` is an error that suggests
//! `10.0.0.0/24`). Route-file paths are relative to the config file's directory.
//!
//! Routes: a `via` list of one is a plain `via`; of two or more, a
//! [`RouteTarget::Multipath`] whose gateways must be distinct (a route-level `dev` is
//! then ambiguous: give each entry its own). `nhid` excludes `via`, `dev` and a
//! non-unicast `type`. Duplicate routes are the same (table, prefix, metric).
//!
//! Nexthops: exactly one of `via` (with optional `dev`), `dev`, `blackhole: true`,
//! `group`. Group members must be defined earlier in the list (as `ip nexthop
//! add` needs them to exist), be single nexthops, and appear once; a blackhole member
//! must be alone (Linux's rule).
//!
//! Rules: exactly one action, `table` (lookup) or `type` (blackhole, unreachable,
//! prohibit). `pref` 0 is an error (Linux keeps it for the `lookup local` rule); a rule
//! without `pref` gets one less than the lowest pref among the default rule 32766 and
//! the rules above it in the file, which is what the kernel's `fib_default_rule_pref`
//! gives a rule added without one. Selectors that select everything (`from: all`,
//! 0.0.0.0/0, `tos: 0`, `fwmark: 0`) are stored as none, as Linux stores them; `tos`
//! must leave the ECN bits zero and `fwmark` must lie within its mask. A rule equal to
//! an earlier one or to a default rule is an error (`ip rule add` says EEXIST).
//!
//! The running appliance's commands use the same types and checks: [`cli`] parses
//! iproute2's syntax, and [`Config::check_route`], [`Config::check_rule`] and
//! [`Config::check_nexthop`] check against the running config.
//!
//! ## Errors
//!
//! Every error is a [`ConfError`] printed as `file:line:column: message`, and the first
//! one stops loading. Loading runs in two passes, after a cheap pass 0:
//!
//! | file | job |
//! |---|---|
//! | `limits.rs` | pass 0: size and bracket-nesting limits on the raw text, so hostile input fails fast |
//! | `schema.rs` | pass 1: serde types; one-node checks (types, unknown keys, address syntax) with serde_yaml's positions |
//! | `validate/` | pass 2: ranges, duplicates, subnets, references, which keys go together |
//! | `check.rs` | the semantic checks YAML and the CLI share ([`Config::check_route`], ...) |
//! | `cli.rs`, `cli/` | iproute2-syntax parsers for `route`, `rule`, `nexthop` commands |
//! | `locate.rs` | path (`routes[3].via`) to line:column for pass-2 errors |
//! | `route_file.rs` | streaming prefix files, plain or xz |
//! | `mac.rs` | [`MacAddr`] |
//! | `net.rs` | IPv4 parsing and address-class checks |
//! | `config.rs` | the checked types ([`Config`] and its parts) |
//!
//! ## Glossary (kernel term -> here)
//!
//! `fib_config`/`rtmsg` -> [`RouteConf`]; `rtm_type` (RTN_UNICAST, RTN_BLACKHOLE,
//! RTN_UNREACHABLE, RTN_PROHIBIT) -> [`RouteTarget`]; `fib_nh` gateway and device ->
//! [`RouteTarget::Via`]; RTA_MULTIPATH `rtnexthop`s -> [`RouteTarget::Multipath`] of
//! [`NexthopSpec`]; `struct nexthop` (RTA_NH_ID) -> [`NexthopConf`] /
//! [`RouteTarget::Nhid`]; `rtm_table`/RTA_TABLE -> [`RouteConf::table`]; `fib_rule` /
//! `fib4_rule` -> [`RuleConf`], FR_ACT_* -> [`RuleAction`]; `neighbour` (permanent ARP
//! entry) -> [`NeighborConf`]; `in_ifaddr` -> [`PortConf::addresses`];
//! `ipv4_devconf`/sysctls -> [`Settings`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
pub mod cli;
mod config;
mod error;
pub mod limits;
mod locate;
pub mod mac;
mod net;
mod quote;
pub mod route_file;
mod schema;
mod validate;

pub use config::{
    default_rules, Config, NeighborConf, NexthopConf, NexthopKind, NexthopSpec, PortConf,
    PortNeigh, RouteConf, RouteFileConf, RouteTarget, RuleAction, RuleConf, Settings, TableConf,
    PREF_DEFAULT, PREF_MAIN, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN,
};
pub use error::ConfError;
pub use ipnet::Ipv4Net;
pub use mac::MacAddr;
pub use quote::{clip, quote, shorten, MESSAGE_MAX};

#[cfg(test)]
pub(crate) mod testdir {
    //! Scratch directories for tests (no tempfile dependency).

    use std::path::PathBuf;

    /// A fresh, empty directory unique to this process and `name`.
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("conf-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::{Path, PathBuf};

    use super::*;

    const PCAP: &str = include_str!("../examples/pcap.yaml");

    /// The repo root; `../shared/data` beside it holds the tables.
    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Where [`PCAP`] lives: its route file is relative to this.
    fn example() -> PathBuf {
        repo().join("conf/examples/pcap.yaml")
    }

    fn data_dir() -> PathBuf {
        let d = repo().join("../shared/data");
        assert!(
            d.join("rv2-20240406.ipv4.pfx-origin.txt.xz").is_file(),
            "test data missing: expected {}/rv2-20240406.ipv4.pfx-origin.txt.xz (shared/data beside the repo)",
            d.display()
        );
        d
    }

    #[test]
    fn pcap_example_loads() {
        data_dir();
        let c = Config::from_str(PCAP, &example()).unwrap();
        assert_eq!(c.ports.len(), 2);
        let p0 = &c.ports[0];
        assert_eq!(p0.name, "p0");
        assert_eq!(
            p0.device,
            "net_pcap0,rx_pcap=/tmp/in0.pcap,tx_pcap=/tmp/out0.pcap"
        );
        assert_eq!(p0.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!((p0.mtu, p0.rx_desc, p0.tx_desc), (1500, 1024, 1024));
        assert_eq!(p0.addresses[0].addr(), Ipv4Addr::new(10, 0, 1, 1));
        assert_eq!(p0.addresses[0].trunc().to_string(), "10.0.1.0/24");
        assert_eq!(c.ports[1].mac, None);
        assert_eq!(c.neighbors[1].mac, MacAddr([2, 0, 0, 0, 2, 2]));
        assert_eq!(c.routes.len(), 3);
        assert_eq!(c.routes[1].prefix.to_string(), "0.0.0.0/0");
        assert_eq!(c.routes[2].target, RouteTarget::Blackhole);
        let rf = &c.route_files[0];
        assert_eq!(
            rf.via,
            [Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(10, 0, 2, 2)]
        );
        assert_eq!(
            rf.path.canonicalize().unwrap(),
            data_dir()
                .join("rv2-20240406.ipv4.pfx-origin.txt.xz")
                .canonicalize()
                .unwrap()
        );
        assert_eq!(c.port_for_gateway(Ipv4Addr::new(10, 0, 2, 2)), Some(1));
        assert_eq!(c.port_for_gateway(Ipv4Addr::new(10, 0, 3, 2)), None);
        assert_eq!(c.settings, Settings::default());
    }

    #[test]
    fn pcap_example_loads_from_disk_relative_to_the_file() {
        // <tmp>/main/conf/examples/pcap.yaml with <tmp>/shared -> the real shared/, like
        // the repo layout.
        let tmp = testdir::temp_dir("pcap_from_disk");
        std::fs::create_dir_all(tmp.join("main/conf/examples")).unwrap();
        std::os::unix::fs::symlink(data_dir().join(".."), tmp.join("shared")).unwrap();
        let file = tmp.join("main/conf/examples/pcap.yaml");
        std::fs::write(&file, PCAP).unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.path, file);
        assert_eq!(
            c.route_files[0].path,
            tmp.join("main/conf/examples/../../../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz")
        );
        let e = Config::load(&tmp.join("main/none.yaml")).unwrap_err();
        assert!(matches!(e, ConfError::Io { .. }), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}: ", tmp.join("main/none.yaml").display())),
            "{e}"
        );
    }

    #[test]
    fn to_yaml_round_trips() {
        let file = example();
        let c = Config::from_str(PCAP, &file).unwrap();
        let text = c.to_yaml();
        assert!(text.contains("mac: 02:00:00:00:00:01"), "{text}");
        assert!(text.contains("type: blackhole"), "{text}");
        assert!(text.contains("ip_default_ttl: 64"), "{text}");
        let again = Config::from_str(&text, &file).unwrap();
        assert_eq!(again, c);
        assert_eq!(again.to_yaml(), text);
    }

    #[test]
    fn to_yaml_covers_every_route_target() {
        let text = format!(
            "{}routes:\n  - {{ prefix: 10.9.0.0/16, via: 10.0.1.2, dev: p0, metric: 3 }}\n  - {{ prefix: 10.8.0.0/16, dev: p1 }}\n\
             \x20 - {{ prefix: 10.7.0.0/16, type: unreachable }}\n  - {{ prefix: 10.6.0.0/16, type: prohibit }}\n",
            validate::testutil::BASE
        );
        let c = Config::from_str(&text, Path::new("x.yaml")).unwrap();
        assert_eq!(
            Config::from_str(&c.to_yaml(), Path::new("x.yaml")).unwrap(),
            c
        );
    }

    /// Every new object in one file: tables, nexthops, ECMP via lists, nhid, tables on
    /// routes and route files, rules with every selector, the hash policy.
    const FIB: &str = "\
tables:
  - { id: 100, name: isp2 }
  - { id: 200, name: lab }
nexthops:
  - { id: 1, via: 10.0.1.2, dev: p0 }
  - { id: 2, via: 10.0.2.2 }
  - { id: 3, dev: p1 }
  - { id: 4, blackhole: true }
  - { id: 10, group: [{ id: 1, weight: 3 }, 2] }
routes:
  - { prefix: 10.1.0.0/16, via: [10.0.1.2, { address: 10.0.2.2, weight: 2, dev: p1 }] }
  - { prefix: 10.2.0.0/16, via: [10.0.1.2], table: isp2, metric: 5 }
  - { prefix: 10.3.0.0/16, nhid: 10, table: 300 }
  - { prefix: 10.4.0.0/16, dev: p0, table: local }
  - { prefix: 0.0.0.0/0, type: unreachable, table: lab }
rules:
  - { pref: 100, from: 10.0.0.0/8, to: 192.0.2.0/24, iif: p0, tos: 0x10, fwmark: \"0x1/0xff\", table: isp2 }
  - { from: 172.16.0.0/12, table: 300 }
  - { fwmark: 7, type: blackhole }
  - { pref: 40000, to: 198.51.100.0/24, type: prohibit }
  - { pref: 40001, iif: p1, type: unreachable }
settings:
  fib_multipath_hash_policy: 1
";

    #[test]
    fn to_yaml_round_trips_fib_objects() {
        let file = Path::new("x.yaml");
        let text = format!("{}{FIB}", validate::testutil::BASE);
        let c = Config::from_str(&text, file).unwrap();
        assert_eq!(c.tables.len(), 2);
        assert_eq!(c.nexthops.len(), 5);
        assert_eq!(
            c.rules.iter().map(|r| r.pref).collect::<Vec<_>>(),
            [100, 99, 98, 40000, 40001]
        );
        assert_eq!(c.settings.fib_multipath_hash_policy, 1);
        let dump = c.to_yaml();
        for want in [
            "table: isp2",
            "table: 300",
            "table: main",
            "nhid: 10",
            "weight: 3",
            "blackhole: true",
            "fwmark: 0x1/0xff",
            "fwmark: 0x7/0xffffffff",
            "pref: 99",
            "from: 172.16.0.0/12",
            "type: prohibit",
            "fib_multipath_hash_policy: 1",
        ] {
            assert!(dump.contains(want), "{want} not in\n{dump}");
        }
        let again = Config::from_str(&dump, file).unwrap();
        assert_eq!(again, c);
        assert_eq!(again.to_yaml(), dump);
        // Without the new keys nothing new is written.
        let plain = Config::from_str(PCAP, &example()).unwrap().to_yaml();
        for key in ["tables:", "nexthops:", "rules:", "nhid"] {
            assert!(!plain.contains(key), "{key} in\n{plain}");
        }
    }

    #[test]
    fn errors_are_send_sync_and_std_errors() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<ConfError>();
    }
}
