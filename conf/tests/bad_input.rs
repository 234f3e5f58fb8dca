//! Bad input at the edges of the config (issue 12, part 4): every key of every section,
//! written with a wrong type, out of its range, twice, and misspelled. Each must be one
//! error of one line, `file:line:column: message`, that names the key (or the node the
//! key is in, for a key written twice) and says what is wrong.
//!
//! The tables are checked against the schema itself: the keys each section accepts are
//! read from the `unknown field ..., expected one of ...` error, so a key added to the
//! schema without a row here fails [`every_key_has_a_row`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use conf::Config;

/// Where a key goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Top,
    Port,
    Settings,
    Neighbor,
    Table,
    Nexthop,
    Member,
    Route,
    Hop,
    RouteFile,
    Rule,
}

use Section::*;

/// One key: a value that loads, and bad values with a piece of the message each must give.
struct Key {
    section: Section,
    key: &'static str,
    valid: &'static str,
    bad: &'static [(&'static str, &'static str)],
}

const fn k(
    section: Section,
    key: &'static str,
    valid: &'static str,
    bad: &'static [(&'static str, &'static str)],
) -> Key {
    Key {
        section,
        key,
        valid,
        bad,
    }
}

const TYPE: &str = "invalid type";
const RANGE: &str = "is out of range";
const BOOL: &[(&str, &str)] = &[
    ("2", "invalid type: integer `2`, expected a boolean"),
    (
        "maybe",
        "invalid type: string \"maybe\", expected a boolean",
    ),
    ("[]", "invalid type: sequence, expected a boolean"),
];
const U32: &[(&str, &str)] = &[
    ("-1", "invalid type: integer `-1`, expected u32"),
    (
        "4294967296",
        "invalid value: integer `4294967296`, expected u32",
    ),
    ("x", "invalid type: string \"x\", expected u32"),
    ("1.5", "invalid type: floating point `1.5`, expected u32"),
];
/// A number of seconds, at least 1 and at most 2^32-1.
const SECS: &[(&str, &str)] = &[
    ("0", "0 is out of range (1 to 4294967295)"),
    ("4294967296", "4294967296 is out of range (1 to 4294967295)"),
    ("x", TYPE),
];

/// Every key; the top-level ones are whole sections.
const KEYS: &[Key] = &[
    k(
        Top,
        "ports",
        "",
        &[
            ("{}", "ports: invalid type: map, expected a sequence"),
            ("[]", "no ports defined"),
        ],
    ),
    k(
        Top,
        "neighbors",
        "[]",
        &[(
            "3",
            "neighbors: invalid type: integer `3`, expected a sequence",
        )],
    ),
    k(
        Top,
        "tables",
        "[]",
        &[(
            "x",
            "tables: invalid type: string \"x\", expected a sequence",
        )],
    ),
    k(
        Top,
        "nexthops",
        "[]",
        &[("{}", "nexthops: invalid type: map, expected a sequence")],
    ),
    k(
        Top,
        "routes",
        "[]",
        &[(
            "true",
            "routes: invalid type: boolean `true`, expected a sequence",
        )],
    ),
    k(
        Top,
        "route_files",
        "[]",
        &[(
            "1",
            "route_files: invalid type: integer `1`, expected a sequence",
        )],
    ),
    k(
        Top,
        "rules",
        "[]",
        &[(
            "x",
            "rules: invalid type: string \"x\", expected a sequence",
        )],
    ),
    k(
        Top,
        "settings",
        "{}",
        &[(
            "[]",
            "settings: invalid type: sequence, expected a mapping of settings",
        )],
    ),
    // ports[]
    k(
        Port,
        "name",
        "p9",
        &[
            (
                "[p0]",
                "ports[1].name: invalid type: sequence, expected a string",
            ),
            ("p 0", "port name `p 0` must be 1 to 15 characters"),
            (
                "abcdefghijklmnop",
                "port name `abcdefghijklmnop` must be 1 to 15 characters",
            ),
            ("\"\"", "port name `` must be 1 to 15 characters"),
            ("\"p\\u0001\"", "port name `p\\u{1}` must be 1 to 15"),
            ("7", "port name `7` is all digits"),
            ("p0", "duplicate port name `p0`"),
        ],
    ),
    k(
        Port,
        "device",
        "net_null9",
        &[
            ("\"\"", "port device is empty"),
            (
                "{a: 1}",
                "ports[1].device: invalid type: map, expected a string",
            ),
            (
                "\"net_null1\\0,x=1\"",
                "port device \"net_null1\\0,x=1\" has a control character (0x00) at byte 10",
            ),
            ("net_null0", "device `net_null0` is already used by port p0"),
        ],
    ),
    k(
        Port,
        "mac",
        "02:00:00:00:00:09",
        &[
            ("02:00:00:00:00", "MAC"),
            ("01:00:5e:00:00:01", "is a multicast address"),
            ("00:00:00:00:00:00", "is all zeros"),
            ("[1]", TYPE),
        ],
    ),
    k(
        Port,
        "mtu",
        "9000",
        &[
            ("67", "mtu 67 is out of range (68 to 9000)"),
            ("9001", "mtu 9001 is out of range (68 to 9000)"),
            (
                "-1",
                "ports[1].mtu: invalid type: integer `-1`, expected u64",
            ),
            (
                "big",
                "ports[1].mtu: invalid type: string \"big\", expected u64",
            ),
            (
                "99999999999999999999999",
                "ports[1].mtu: invalid type: integer `99999999999999999999999` as u128",
            ),
        ],
    ),
    k(
        Port,
        "addresses",
        "[10.0.3.1/24]",
        &[
            (
                "10.0.3.1/24",
                "ports[1].addresses: invalid type: string \"10.0.3.1/24\", expected a sequence",
            ),
            (
                "[10.0.3.1/33]",
                "prefix length 33 is out of range (0 to 32)",
            ),
            ("[10.0.3.300/24]", "`10.0.3.300` is not an IPv4 address"),
            ("[10.0.1.9/24]", "10.0.1.9/24"),
        ],
    ),
    k(
        Port,
        "rx_desc",
        "512",
        &[
            ("63", "rx_desc 63 is out of range (64 to 16384)"),
            ("16385", "rx_desc 16385 is out of range"),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "tx_desc",
        "512",
        &[
            ("63", "tx_desc 63 is out of range (64 to 16384)"),
            ("16385", "tx_desc 16385 is out of range"),
            ("-5", TYPE),
        ],
    ),
    k(
        Port,
        "rx_queues",
        "2",
        &[
            ("0", "rx_queues 0 is out of range (1 to 64)"),
            ("65", "rx_queues 65 is out of range (1 to 64)"),
            ("all", TYPE),
        ],
    ),
    k(Port, "send_redirects", "false", BOOL),
    k(
        Port,
        "rp_filter",
        "2",
        &[
            ("3", "rp_filter 3 is out of range (0 to 2)"),
            ("strict", TYPE),
        ],
    ),
    k(Port, "accept_redirects", "false", BOOL),
    k(Port, "secure_redirects", "false", BOOL),
    k(Port, "shared_media", "false", BOOL),
    k(
        Port,
        "base_reachable_time_ms",
        "1000",
        &[
            (
                "0",
                "base_reachable_time_ms 0 is out of range (1 to 86400000)",
            ),
            ("86400001", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "delay_first_probe_time",
        "1",
        &[
            (
                "3601",
                "delay_first_probe_time 3601 is out of range (0 to 3600)",
            ),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "retrans_time_ms",
        "100",
        &[
            ("0", "retrans_time_ms 0 is out of range (1 to 3600000)"),
            ("3600001", RANGE),
            ("[]", TYPE),
        ],
    ),
    k(
        Port,
        "ucast_solicit",
        "1",
        &[
            ("256", "ucast_solicit 256 is out of range (0 to 255)"),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "mcast_solicit",
        "1",
        &[
            ("256", "mcast_solicit 256 is out of range (0 to 255)"),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "gc_stale_time",
        "10",
        &[
            ("0", "gc_stale_time 0 is out of range (1 to 86400)"),
            ("86401", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Port,
        "unres_qlen",
        "3",
        &[
            ("65536", "unres_qlen 65536 is out of range (0 to 65535)"),
            ("x", TYPE),
        ],
    ),
    // settings
    k(
        Settings,
        "ip_default_ttl",
        "255",
        &[
            ("0", "ip_default_ttl 0 is out of range (1 to 255)"),
            ("256", RANGE),
            ("x", TYPE),
        ],
    ),
    k(Settings, "icmp_msgs_per_sec", "10", U32),
    k(Settings, "icmp_msgs_burst", "10", U32),
    k(Settings, "icmp_ratelimit", "0", U32),
    k(Settings, "icmp_ratemask", "0", U32),
    k(Settings, "icmp_echo_ignore_broadcasts", "false", BOOL),
    k(
        Settings,
        "burst",
        "64",
        &[
            ("0", "burst 0 is out of range (1 to 256)"),
            ("257", "burst 257 is out of range (1 to 256)"),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "mbufs",
        "1024",
        &[
            ("511", "mbufs 511 is out of range (512 to 4294967295)"),
            ("4294967296", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "fib_multipath_hash_policy",
        "1",
        &[
            ("2", "fib_multipath_hash_policy 2 is not supported"),
            ("l4", TYPE),
        ],
    ),
    k(
        Settings,
        "base_reachable_time_ms",
        "1000",
        &[
            (
                "0",
                "base_reachable_time_ms 0 is out of range (1 to 86400000)",
            ),
            ("86400001", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "delay_first_probe_time",
        "0",
        &[
            (
                "3601",
                "delay_first_probe_time 3601 is out of range (0 to 3600)",
            ),
            ("-1", TYPE),
        ],
    ),
    k(
        Settings,
        "retrans_time_ms",
        "100",
        &[
            ("0", "retrans_time_ms 0 is out of range (1 to 3600000)"),
            ("3600001", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "ucast_solicit",
        "0",
        &[
            ("256", "ucast_solicit 256 is out of range (0 to 255)"),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "mcast_solicit",
        "0",
        &[
            ("256", "mcast_solicit 256 is out of range (0 to 255)"),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "gc_stale_time",
        "1",
        &[
            ("0", "gc_stale_time 0 is out of range (1 to 86400)"),
            ("86401", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "gc_thresh1",
        "0",
        &[
            (
                "1048577",
                "gc_thresh1 1048577 is out of range (0 to 1048576)",
            ),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "gc_thresh2",
        "0",
        &[
            (
                "1048577",
                "gc_thresh2 1048577 is out of range (0 to 1048576)",
            ),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "gc_thresh3",
        "1",
        &[
            ("0", "gc_thresh3 0 is out of range (1 to 1048576)"),
            ("1048577", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Settings,
        "unres_qlen",
        "0",
        &[
            ("65536", "unres_qlen 65536 is out of range (0 to 65535)"),
            ("x", TYPE),
        ],
    ),
    k(Settings, "arp_notify", "false", BOOL),
    k(Settings, "send_redirects", "false", BOOL),
    k(
        Settings,
        "rp_filter",
        "1",
        &[
            ("3", "rp_filter 3 is out of range (0 to 2)"),
            ("loose", TYPE),
        ],
    ),
    k(Settings, "accept_redirects", "true", BOOL),
    k(Settings, "secure_redirects", "false", BOOL),
    k(Settings, "shared_media", "false", BOOL),
    k(Settings, "ip_forward_use_pmtu", "true", BOOL),
    k(
        Settings,
        "min_pmtu",
        "68",
        &[
            ("67", "min_pmtu 67 is out of range (68 to 65535)"),
            ("65536", RANGE),
            ("x", TYPE),
        ],
    ),
    k(Settings, "mtu_expires", "1", SECS),
    k(Settings, "gc_timeout", "1", SECS),
    k(Settings, "dst_cache", "false", BOOL),
    k(Settings, "route_hints", "false", BOOL),
    k(Settings, "flowtable", "false", BOOL),
    k(
        Settings,
        "nf_conntrack_max",
        "1",
        &[
            ("0", "nf_conntrack_max 0 is out of range (1 to 16777216)"),
            ("16777217", RANGE),
            ("x", TYPE),
        ],
    ),
    k(Settings, "nf_conntrack_tcp_timeout_syn_sent", "1", SECS),
    k(Settings, "nf_conntrack_tcp_timeout_syn_recv", "1", SECS),
    k(Settings, "nf_conntrack_tcp_timeout_established", "1", SECS),
    k(Settings, "nf_conntrack_tcp_timeout_fin_wait", "1", SECS),
    k(Settings, "nf_conntrack_tcp_timeout_close", "1", SECS),
    k(Settings, "nf_conntrack_udp_timeout", "1", SECS),
    k(Settings, "nf_conntrack_udp_timeout_stream", "1", SECS),
    k(Settings, "nf_flowtable_tcp_timeout", "1", SECS),
    k(Settings, "nf_flowtable_udp_timeout", "1", SECS),
    k(Settings, "nf_conntrack_tcp_loose", "false", BOOL),
    k(
        Settings,
        "idle_sleep_us",
        "0",
        &[
            ("10001", "idle_sleep_us 10001 is out of range (0 to 10000)"),
            ("-1", TYPE),
        ],
    ),
    k(
        Settings,
        "metrics_listen",
        "127.0.0.1:9111",
        &[
            (
                "localhost:80",
                "metrics_listen \"localhost:80\": expected ADDRESS:PORT",
            ),
            ("9111", "expected ADDRESS:PORT"),
            ("[]", TYPE),
        ],
    ),
    // neighbors[]
    k(
        Neighbor,
        "address",
        "10.0.1.3",
        &[
            ("10.0.1.300", "`10.0.1.300` is not an IPv4 address"),
            ("10.0.9.3", "10.0.9.3"),
            ("[]", TYPE),
        ],
    ),
    k(
        Neighbor,
        "mac",
        "02:00:00:00:01:03",
        &[
            ("02:00:00:00:01", "MAC"),
            ("ff:ff:ff:ff:ff:ff", "multicast"),
            ("1", "found the integer 1, expected a MAC address"),
        ],
    ),
    k(
        Neighbor,
        "port",
        "p0",
        &[("p7", "`p7`: no such port"), ("[p0]", TYPE)],
    ),
    // tables[]
    k(
        Table,
        "id",
        "100",
        &[
            ("0", "table id 0 is out of range (1 to 4294967295)"),
            ("254", "table id 254 is reserved for `main`"),
            ("4294967296", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Table,
        "name",
        "isp2",
        &[
            ("main", "table name `main` is reserved"),
            (
                "\"9lives\"",
                "table name `9lives` must be 1 to 64 characters",
            ),
            ("[]", TYPE),
        ],
    ),
    // nexthops[]
    k(
        Nexthop,
        "id",
        "3",
        &[
            ("0", "nexthop id 0 is out of range (1 to 4294967295)"),
            ("4294967296", RANGE),
            ("x", TYPE),
        ],
    ),
    k(
        Nexthop,
        "via",
        "10.0.1.2",
        &[
            ("10.0.1.300", "`10.0.1.300` is not an IPv4 address"),
            ("10.0.1.255", "invalid gateway"),
            ("[10.0.1.2]", TYPE),
        ],
    ),
    k(
        Nexthop,
        "dev",
        "p0",
        &[("p7", "`p7`: no such port"), ("[p0]", TYPE)],
    ),
    k(Nexthop, "blackhole", "true", BOOL),
    k(
        Nexthop,
        "group",
        "[{ id: 1 }]",
        &[
            ("[{ id: 99 }]", "99"),
            ("[{ id: 1 }, { id: 1 }]", "member 1 is listed twice"),
            ("1", TYPE),
        ],
    ),
    // nexthops[].group[]
    k(Member, "id", "1", &[("0", "0"), ("x", TYPE)]),
    k(
        Member,
        "weight",
        "2",
        &[
            ("0", "weight 0 is out of range (1 to 256)"),
            ("257", "weight 257 is out of range (1 to 256)"),
            ("x", TYPE),
        ],
    ),
    // routes[]
    k(
        Route,
        "prefix",
        "10.9.0.0/16",
        &[
            ("10.9.0.1/16", "10.9.0.0/16"),
            ("10.9.0.0/33", "prefix length 33 is out of range"),
            ("[]", TYPE),
        ],
    ),
    k(
        Route,
        "via",
        "10.0.1.2",
        &[
            ("10.0.1.300", "`10.0.1.300` is not an IPv4 address"),
            ("10.0.9.2", "10.0.9.2"),
            ("255.255.255.255", "invalid gateway"),
            ("{}", TYPE),
        ],
    ),
    k(
        Route,
        "dev",
        "p0",
        &[("p7", "`p7`: no such port"), ("[p0]", TYPE)],
    ),
    k(
        Route,
        "nhid",
        "1",
        &[("0", "nhid 0"), ("77", "77"), ("x", TYPE)],
    ),
    k(
        Route,
        "type",
        "blackhole",
        &[
            ("drop", "unknown variant `drop`"),
            ("1", "routes[0].type: unknown variant `1`"),
        ],
    ),
    k(Route, "metric", "10", U32),
    k(
        Route,
        "table",
        "isp2",
        &[
            ("0", "table 0 is out of range (1 to 4294967295)"),
            ("4294967296", "out of range"),
            ("-1", "table -1 is out of range"),
            ("nosuch", "table `nosuch` is not a number or a table name"),
            ("[]", TYPE),
        ],
    ),
    // routes[].via[]
    k(
        Hop,
        "address",
        "10.0.1.2",
        &[
            ("10.0.1.300", "`10.0.1.300` is not an IPv4 address"),
            ("[]", TYPE),
        ],
    ),
    k(
        Hop,
        "weight",
        "2",
        &[
            ("0", "weight 0 is out of range (1 to 256)"),
            ("257", "weight 257 is out of range (1 to 256)"),
            ("x", TYPE),
        ],
    ),
    k(
        Hop,
        "dev",
        "p0",
        &[("p7", "`p7`: no such port"), ("[p0]", TYPE)],
    ),
    // route_files[]
    k(
        RouteFile,
        "path",
        "routes.txt",
        &[
            ("nosuch.txt", "nosuch.txt"),
            (".", "is not a regular file"),
            ("[]", TYPE),
        ],
    ),
    k(
        RouteFile,
        "via",
        "[10.0.1.2]",
        &[
            ("[]", "via"),
            ("10.0.1.300", "`10.0.1.300` is not an IPv4 address"),
            ("{}", TYPE),
        ],
    ),
    k(RouteFile, "metric", "1", U32),
    k(
        RouteFile,
        "table",
        "100",
        &[
            ("0", "table 0 is out of range (1 to 4294967295)"),
            ("nosuch", "table `nosuch` is not a number or a table name"),
        ],
    ),
    // rules[]
    k(
        Rule,
        "pref",
        "100",
        &[("0", "pref 0"), ("4294967296", "out of range"), ("x", TYPE)],
    ),
    k(
        Rule,
        "from",
        "10.0.0.0/8",
        &[
            ("10.0.0.1/8", "10.0.0.0/8"),
            ("10.0.0.300/8", "is not an IPv4 address"),
            ("[]", TYPE),
        ],
    ),
    k(
        Rule,
        "to",
        "10.0.0.0/8",
        &[
            ("10.0.0.0/40", "prefix length 40 is out of range"),
            ("[]", TYPE),
        ],
    ),
    k(
        Rule,
        "iif",
        "p1",
        &[("p7", "`p7`: no such port"), ("[]", TYPE)],
    ),
    k(
        Rule,
        "tos",
        "0x10",
        &[("256", "tos 256"), ("0x11", "ECN"), ("x", TYPE)],
    ),
    k(
        Rule,
        "fwmark",
        "\"0x1/0xff\"",
        &[
            ("-1", "fwmark -1 is out of range"),
            ("4294967296", "fwmark 4294967296 is out of range"),
            ("\"0x100/0xff\"", "mask"),
            ("[]", TYPE),
        ],
    ),
    k(
        Rule,
        "table",
        "main",
        &[
            ("0", "table 0 is out of range"),
            ("nosuch", "table `nosuch` is not a number or a table name"),
            ("{}", TYPE),
        ],
    ),
    k(
        Rule,
        "type",
        "prohibit",
        &[("lookup", "unknown variant `lookup`"), ("[]", TYPE)],
    ),
];

/// The other keys an item of `section` needs to load (a route needs a target, ...),
/// for the key being tested, as `key: value` pairs in order.
fn required(section: Section, key: &str) -> Vec<(&'static str, &'static str)> {
    let mut v = match section {
        Top | Settings => vec![],
        Port => vec![("name", "p9"), ("device", "net_null9")],
        Neighbor => vec![
            ("address", "10.0.1.3"),
            ("mac", "02:00:00:00:01:03"),
            ("port", "p0"),
        ],
        Table => vec![("id", "100"), ("name", "isp2")],
        Nexthop if matches!(key, "dev" | "blackhole" | "group") => vec![("id", "2")],
        Nexthop => vec![("id", "2"), ("via", "10.0.1.2")],
        Member => vec![("id", "1")],
        Route if matches!(key, "dev" | "nhid" | "type") => vec![("prefix", "10.9.0.0/16")],
        Route => vec![("prefix", "10.9.0.0/16"), ("via", "10.0.1.2")],
        Hop => vec![("address", "10.0.1.2")],
        RouteFile => vec![("path", "routes.txt"), ("via", "[10.0.1.2]")],
        Rule if matches!(key, "type") => vec![("pref", "100")],
        Rule => vec![("pref", "100"), ("table", "main")],
    };
    v.retain(|(k, _)| *k != key);
    v
}

/// A config whose one item of `section` (or `settings:`) holds `pairs` in block style,
/// one per line, in this order. The rest is a fixed base of two ports, a table and a
/// nexthop that the items may refer to.
fn config(section: Section, pairs: &[(&str, &str)]) -> String {
    let mut s =
        String::from("ports:\n  - name: p0\n    device: net_null0\n    addresses: [10.0.1.1/24]\n");
    let item = |indent: &str| -> String {
        let mut out = String::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            let lead = if i == 0 { "- " } else { "  " };
            out.push_str(&format!("{indent}{lead}{k}: {v}\n"));
        }
        out
    };
    match section {
        Port => s.push_str(&item("  ")),
        _ => s.push_str("  - name: p1\n    device: net_null1\n    addresses: [10.0.2.1/24]\n"),
    }
    let base_nexthop = "nexthops:\n  - { id: 1, via: 10.0.1.2 }\n";
    match section {
        Top => {
            // The top-level keys under test replace the base's.
            s.clear();
            let has_ports = pairs.iter().any(|(k, _)| *k == "ports");
            if !has_ports {
                s.push_str(
                    "ports:\n  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }\n",
                );
            }
            for (k, v) in pairs {
                s.push_str(&format!("{k}: {v}\n"));
            }
            return s;
        }
        Port => {}
        Settings => {
            s.push_str("settings:\n");
            for (k, v) in pairs {
                s.push_str(&format!("  {k}: {v}\n"));
            }
        }
        Neighbor => s.push_str(&format!("neighbors:\n{}", item("  "))),
        Table => s.push_str(&format!("tables:\n{}", item("  "))),
        Nexthop => s.push_str(&format!("{base_nexthop}{}", item("  "))),
        Member => s.push_str(&format!(
            "{base_nexthop}  - id: 2\n    group:\n{}",
            item("      ")
        )),
        Route => s.push_str(&format!(
            "tables: [{{ id: 100, name: isp2 }}]\n{base_nexthop}routes:\n{}",
            item("  ")
        )),
        Hop => s.push_str(&format!(
            "routes:\n  - prefix: 10.9.0.0/16\n    via:\n{}",
            item("      ")
        )),
        RouteFile => s.push_str(&format!("route_files:\n{}", item("  "))),
        Rule => s.push_str(&format!(
            "tables: [{{ id: 100, name: isp2 }}]\nrules:\n{}",
            item("  ")
        )),
    }
    s
}

/// A scratch directory with `routes.txt`, for the route-file paths.
fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("conf-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("routes.txt"), "192.0.2.0/24\n").unwrap();
    d
}

fn load(text: &str) -> Result<Config, String> {
    let file = dir().join("t.yaml");
    Config::from_str(text, &file).map_err(|e| e.to_string())
}

/// `e` is one `t.yaml:L:C: message` line of sane length; returns the message.
fn one_line(e: &str, text: &str) -> String {
    let file = dir().join("t.yaml");
    let prefix = format!("{}:", file.display());
    let rest = e
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{e:?} does not start with {prefix}\n{text}"));
    let mut parts = rest.splitn(3, ':');
    let (line, col) = (parts.next().unwrap(), parts.next().unwrap_or(""));
    assert!(
        line.parse::<usize>().is_ok() && col.parse::<usize>().is_ok(),
        "no line:column in {e:?}\n{text}"
    );
    assert!(!e.contains('\n'), "more than one line: {e:?}");
    assert!(e.len() < 2000, "{} bytes: {e:?}", e.len());
    parts.next().unwrap_or("").trim().to_string()
}

#[test]
fn the_base_and_every_valid_value_load() {
    for k in KEYS {
        if k.section == Top && k.key == "ports" {
            continue;
        }
        let mut pairs = required(k.section, k.key);
        pairs.push((k.key, k.valid));
        let text = config(k.section, &pairs);
        if let Err(e) = load(&text) {
            panic!(
                "{:?} {}: {} should load, got {e}\n{text}",
                k.section, k.key, k.valid
            );
        }
    }
}

#[test]
fn wrong_types_and_out_of_range_values() {
    let mut failures = Vec::new();
    for k in KEYS {
        for (bad, want) in k.bad {
            let mut pairs = required(k.section, k.key);
            pairs.push((k.key, bad));
            let text = config(k.section, &pairs);
            match load(&text) {
                Ok(_) => failures.push(format!("{:?} {}: {bad}: loaded", k.section, k.key)),
                Err(e) => {
                    let msg = one_line(&e, &text);
                    if !msg.contains(want) {
                        failures.push(format!(
                            "{:?} {}: {bad}: {msg:?} does not contain {want:?}",
                            k.section, k.key
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn keys_written_twice_are_errors_naming_the_key() {
    let mut failures = Vec::new();
    for k in KEYS {
        let mut pairs = required(k.section, k.key);
        pairs.push((k.key, k.valid));
        pairs.push((k.key, k.valid));
        let text = config(k.section, &pairs);
        match load(&text) {
            Ok(_) => failures.push(format!(
                "{:?} {}: loaded, last one winning",
                k.section, k.key
            )),
            Err(e) => {
                let msg = one_line(&e, &text);
                let want = format!("duplicate field `{}`", k.key);
                if !msg.contains(&want) {
                    failures.push(format!("{:?} {}: {msg:?}", k.section, k.key));
                }
                // It points at the second one, the last line written.
                let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
                let at = text.lines().nth(line - 1).unwrap_or("");
                let second = Some(text.lines().count());
                if Some(line) != second {
                    failures.push(format!(
                        "{:?} {}: points at line {line} ({at:?}), the second `{}` is on line {second:?}",
                        k.section, k.key, k.key
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The keys `section` accepts, as serde lists them for a misspelled one; also checks
/// that the misspelling is an error naming it.
fn accepted_keys(section: Section) -> BTreeSet<String> {
    let mut pairs = required(section, "");
    pairs.push(("bogus_key", "1"));
    let text = config(section, &pairs);
    let e = load(&text).expect_err("an unknown key loaded");
    let msg = one_line(&e, &text);
    let list = msg
        .strip_prefix("")
        .and_then(|m| m.split("unknown field `bogus_key`, expected ").nth(1))
        .unwrap_or_else(|| panic!("{section:?}: {msg:?}"));
    list.trim_start_matches("one of ")
        .split([',', ' '])
        .filter(|w| !w.is_empty() && *w != "or")
        .map(|k| k.trim_matches(|c| c == '`' || c == ' ').to_string())
        .collect()
}

#[test]
fn every_key_has_a_row() {
    for section in [
        Top, Port, Settings, Neighbor, Table, Nexthop, Member, Route, Hop, RouteFile, Rule,
    ] {
        let keys = accepted_keys(section);
        let rows: BTreeSet<String> = KEYS
            .iter()
            .filter(|k| k.section == section)
            .map(|k| k.key.to_string())
            .collect();
        assert_eq!(
            keys, rows,
            "{section:?}: keys the schema takes vs rows here"
        );
    }
}

#[test]
fn huge_values_are_not_echoed_whole() {
    let big = "x".repeat(10_000_000);
    for (section, key, value) in [
        (Port, "name", big.clone()),
        (Port, "mtu", format!("\"{big}\"")),
        // libyaml takes keys of at most 1024 characters.
        (Port, &big[..1000], "1".to_string()),
        (Route, "dev", big.clone()),
        (Table, "name", big.clone()),
    ] {
        let mut pairs = required(section, key);
        pairs.push((key, value.as_str()));
        let text = config(section, &pairs);
        let e = load(&text).expect_err("loaded");
        assert!(
            e.len() < 1000,
            "{section:?} {}: {} bytes: {}",
            &key[..key.len().min(10)],
            e.len(),
            &e[..300]
        );
        assert!(e.contains("… (100"), "{e}");
    }
}
