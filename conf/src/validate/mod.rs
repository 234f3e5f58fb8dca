//! Pass 2 of loading: turn the raw schema into a checked [`Config`].
//!
//! Pass 1 ([`crate::schema`]) has already rejected anything wrong with one node by
//! itself. Here go the checks that need ranges or other nodes: duplicates, overlapping
//! subnets, references to ports, reachability of gateways. Each check that fails names
//! the offending node by path (`routes[3].via`) in an [`Issue`]; [`crate::locate`]
//! turns the path into a line and column, so every error reads
//! `file:line:column: message`. The first problem stops loading.
//!
//! Order: ports ([`ports`]), neighbors ([`neighbors`]), tables ([`tables`]), nexthop
//! objects ([`nexthops`]), routes and route files ([`routes`]), rules ([`rules`]), then
//! settings; each may refer to what comes before it.

mod neighbors;
mod nexthops;
mod ports;
mod routes;
mod rules;
mod tables;

use std::path::Path;

use crate::config::{resolve_table, Config, Settings, TABLE_MAIN};
use crate::error::ConfError;
use crate::locate::{self, node, Seg};
use crate::schema::{RawConfig, RawSettings, TableRef};

/// A problem at a node.
#[derive(Debug)]
pub(crate) struct Issue {
    path: Vec<Seg>,
    message: String,
}

pub(crate) fn issue(path: impl Into<Vec<Seg>>, message: impl Into<String>) -> Issue {
    Issue {
        path: path.into(),
        message: message.into(),
    }
}

/// The text being checked, for finding where things are.
pub(crate) struct Validator<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Validator<'_> {
    /// The line a node starts on, for "first defined at line N".
    fn line_of(&self, path: &[Seg]) -> usize {
        locate::locate_nearest(self.text, path).0
    }

    fn error(&self, i: Issue) -> ConfError {
        let (line, column) = locate::locate_nearest(self.text, &i.path);
        ConfError::at(self.file, line, column, i.message)
    }
}

/// Parse and check `text`; `file` names it in errors and anchors relative paths.
pub(crate) fn build(text: &str, file: &Path) -> Result<Config, ConfError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(ConfError::File {
            file: file.to_path_buf(),
            message: "the config is empty (it needs at least a `ports:` list)".into(),
        });
    }
    let raw: RawConfig =
        serde_yaml::from_str(text).map_err(|e| ConfError::from_yaml(file, text, &e))?;
    let v = Validator { text, file };
    check(&v, raw).map_err(|i| v.error(i))
}

fn check(v: &Validator, raw: RawConfig) -> Result<Config, Issue> {
    let mut c = Config {
        path: v.file.to_path_buf(),
        ports: ports::ports(v, raw.ports)?,
        neighbors: vec![],
        routes: vec![],
        route_files: vec![],
        tables: vec![],
        nexthops: vec![],
        rules: vec![],
        settings: Settings::default(),
    };
    c.neighbors = neighbors::neighbors(v, &c, raw.neighbors)?;
    c.tables = tables::tables(v, raw.tables)?;
    c.nexthops = nexthops::nexthops(v, &c, raw.nexthops)?;
    c.routes = routes::routes(v, &c, raw.routes)?;
    c.route_files = routes::route_files(v, &c, raw.route_files)?;
    c.rules = rules::rules(v, &c, raw.rules)?;
    c.settings = settings(raw.settings)?;
    Ok(c)
}

/// A `table:` key: absent is `main`; else a number or a known name. `what` starts the
/// message (`route`).
pub(crate) fn table_ref(
    c: &Config,
    t: Option<&TableRef>,
    at: impl Into<Vec<Seg>>,
    what: &str,
) -> Result<u32, Issue> {
    match t {
        None => Ok(TABLE_MAIN),
        Some(t) => {
            resolve_table(&c.tables, &t.word()).map_err(|m| issue(at, format!("{what} {m}")))
        }
    }
}

/// `value` as a `T` if it is within `lo..=hi`, else an issue at `at`.
pub(crate) fn in_range<T: TryFrom<u64>>(
    value: u64,
    lo: u64,
    hi: u64,
    at: impl Into<Vec<Seg>>,
    what: &str,
) -> Result<T, Issue> {
    if (lo..=hi).contains(&value) {
        if let Ok(v) = T::try_from(value) {
            return Ok(v);
        }
    }
    Err(issue(
        at,
        format!("{what} {value} is out of range ({lo} to {hi})"),
    ))
}

fn settings(s: RawSettings) -> Result<Settings, Issue> {
    Ok(Settings {
        ip_default_ttl: in_range(
            s.ip_default_ttl,
            1,
            255,
            node!["settings", "ip_default_ttl"],
            "ip_default_ttl",
        )?,
        icmp_msgs_per_sec: s.icmp_msgs_per_sec,
        icmp_msgs_burst: s.icmp_msgs_burst,
        icmp_ratelimit: s.icmp_ratelimit,
        icmp_ratemask: s.icmp_ratemask,
        icmp_echo_ignore_broadcasts: s.icmp_echo_ignore_broadcasts,
        send_redirects: s.send_redirects,
        rp_filter: in_range(
            s.rp_filter,
            0,
            2,
            node!["settings", "rp_filter"],
            "rp_filter",
        )?,
        accept_redirects: s.accept_redirects,
        secure_redirects: s.secure_redirects,
        shared_media: s.shared_media,
        ip_forward_use_pmtu: s.ip_forward_use_pmtu,
        min_pmtu: in_range(
            s.min_pmtu,
            68,
            65535,
            node!["settings", "min_pmtu"],
            "min_pmtu",
        )?,
        mtu_expires: in_range(
            s.mtu_expires,
            1,
            u32::MAX.into(),
            node!["settings", "mtu_expires"],
            "mtu_expires",
        )?,
        gc_timeout: in_range(
            s.gc_timeout,
            1,
            u32::MAX.into(),
            node!["settings", "gc_timeout"],
            "gc_timeout",
        )?,
        dst_cache: s.dst_cache,
        route_hints: s.route_hints,
        flowtable: s.flowtable,
        nf_conntrack_max: in_range(
            s.nf_conntrack_max,
            1,
            1 << 24,
            node!["settings", "nf_conntrack_max"],
            "nf_conntrack_max",
        )?,
        nf_conntrack_tcp_timeout_syn_sent: in_range(
            s.nf_conntrack_tcp_timeout_syn_sent,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_tcp_timeout_syn_sent"],
            "nf_conntrack_tcp_timeout_syn_sent",
        )?,
        nf_conntrack_tcp_timeout_syn_recv: in_range(
            s.nf_conntrack_tcp_timeout_syn_recv,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_tcp_timeout_syn_recv"],
            "nf_conntrack_tcp_timeout_syn_recv",
        )?,
        nf_conntrack_tcp_timeout_established: in_range(
            s.nf_conntrack_tcp_timeout_established,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_tcp_timeout_established"],
            "nf_conntrack_tcp_timeout_established",
        )?,
        nf_conntrack_tcp_timeout_fin_wait: in_range(
            s.nf_conntrack_tcp_timeout_fin_wait,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_tcp_timeout_fin_wait"],
            "nf_conntrack_tcp_timeout_fin_wait",
        )?,
        nf_conntrack_tcp_timeout_close: in_range(
            s.nf_conntrack_tcp_timeout_close,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_tcp_timeout_close"],
            "nf_conntrack_tcp_timeout_close",
        )?,
        nf_conntrack_udp_timeout: in_range(
            s.nf_conntrack_udp_timeout,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_udp_timeout"],
            "nf_conntrack_udp_timeout",
        )?,
        nf_conntrack_udp_timeout_stream: in_range(
            s.nf_conntrack_udp_timeout_stream,
            1,
            u32::MAX.into(),
            node!["settings", "nf_conntrack_udp_timeout_stream"],
            "nf_conntrack_udp_timeout_stream",
        )?,
        nf_flowtable_tcp_timeout: in_range(
            s.nf_flowtable_tcp_timeout,
            1,
            u32::MAX.into(),
            node!["settings", "nf_flowtable_tcp_timeout"],
            "nf_flowtable_tcp_timeout",
        )?,
        nf_flowtable_udp_timeout: in_range(
            s.nf_flowtable_udp_timeout,
            1,
            u32::MAX.into(),
            node!["settings", "nf_flowtable_udp_timeout"],
            "nf_flowtable_udp_timeout",
        )?,
        nf_conntrack_tcp_loose: s.nf_conntrack_tcp_loose,
        idle_sleep_us: in_range(
            s.idle_sleep_us,
            0,
            10_000,
            node!["settings", "idle_sleep_us"],
            "idle_sleep_us",
        )?,
        metrics_listen: match &s.metrics_listen {
            None => None,
            Some(a) => Some(a.parse().map_err(|_| {
                issue(
                    node!["settings", "metrics_listen"],
                    format!("metrics_listen {}: expected ADDRESS:PORT", crate::quote(a)),
                )
            })?),
        },
        burst: in_range(s.burst, 1, 256, node!["settings", "burst"], "burst")?,
        mbufs: in_range(
            s.mbufs,
            512,
            u32::MAX.into(),
            node!["settings", "mbufs"],
            "mbufs",
        )?,
        fib_multipath_hash_policy: match s.fib_multipath_hash_policy {
            p @ (0 | 1) => p as u8,
            p => {
                return Err(issue(
                    node!["settings", "fib_multipath_hash_policy"],
                    format!(
                        "fib_multipath_hash_policy {p} is not supported (0 = L3: source and \
                         destination address; 1 = L3+L4: also protocol and ports)"
                    ),
                ))
            }
        },
        base_reachable_time_ms: in_range(
            s.base_reachable_time_ms,
            1,
            86400000,
            node!["settings", "base_reachable_time_ms"],
            "base_reachable_time_ms",
        )?,
        delay_first_probe_time: in_range(
            s.delay_first_probe_time,
            0,
            3600,
            node!["settings", "delay_first_probe_time"],
            "delay_first_probe_time",
        )?,
        retrans_time_ms: in_range(
            s.retrans_time_ms,
            1,
            3600000,
            node!["settings", "retrans_time_ms"],
            "retrans_time_ms",
        )?,
        ucast_solicit: in_range(
            s.ucast_solicit,
            0,
            255,
            node!["settings", "ucast_solicit"],
            "ucast_solicit",
        )?,
        mcast_solicit: in_range(
            s.mcast_solicit,
            0,
            255,
            node!["settings", "mcast_solicit"],
            "mcast_solicit",
        )?,
        gc_stale_time: in_range(
            s.gc_stale_time,
            1,
            86400,
            node!["settings", "gc_stale_time"],
            "gc_stale_time",
        )?,
        gc_thresh1: in_range(
            s.gc_thresh1,
            0,
            1048576,
            node!["settings", "gc_thresh1"],
            "gc_thresh1",
        )?,
        gc_thresh2: in_range(
            s.gc_thresh2,
            0,
            1048576,
            node!["settings", "gc_thresh2"],
            "gc_thresh2",
        )?,
        gc_thresh3: in_range(
            s.gc_thresh3,
            1,
            1048576,
            node!["settings", "gc_thresh3"],
            "gc_thresh3",
        )?,
        unres_qlen: in_range(
            s.unres_qlen,
            0,
            65535,
            node!["settings", "unres_qlen"],
            "unres_qlen",
        )?,
        arp_notify: s.arp_notify,
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A two-port base config for error tests, and a helper that expects an error.

    use std::path::Path;

    use crate::config::Config;

    /// Lines 1-10; tests append at line 11 or later.
    pub(crate) const BASE: &str = "\
ports:
  - name: p0
    device: 0000:01:00.0
    addresses: [10.0.1.1/24]
  - name: p1
    device: 0000:01:00.1
    addresses: [10.0.2.1/24]
neighbors:
  - { address: 10.0.1.2, mac: \"02:00:00:00:01:02\", port: p0 }
  - { address: 10.0.2.2, mac: \"02:00:00:00:02:02\", port: p1 }
";

    pub(crate) fn load(text: &str) -> Result<Config, String> {
        Config::from_str(text, Path::new("lab.yaml")).map_err(|e| e.to_string())
    }

    /// The error for `text`, which must fail.
    pub(crate) fn err(text: &str) -> String {
        match load(text) {
            Ok(c) => panic!("expected an error, loaded {c:#?}"),
            Err(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{err, load, BASE};

    #[test]
    fn base_loads() {
        let c = load(BASE).unwrap();
        assert_eq!(c.ports.len(), 2);
        assert_eq!(c.neighbors.len(), 2);
        assert_eq!(c.settings, crate::Settings::default());
    }

    #[test]
    fn empty_file() {
        assert_eq!(
            err("# nothing\n\n"),
            "lab.yaml: the config is empty (it needs at least a `ports:` list)"
        );
    }

    #[test]
    fn yaml_syntax_error_has_location() {
        let e = err("ports: [\n");
        assert!(e.starts_with("lab.yaml:2:1: "), "{e}");
    }

    #[test]
    fn unknown_top_level_key() {
        let e = err(&format!("{BASE}rutes: []\n"));
        assert_eq!(
            e,
            "lab.yaml:11:1: unknown field `rutes`, expected one of `ports`, `neighbors`, `tables`, `nexthops`, \
             `routes`, `route_files`, `rules`, `settings`"
        );
    }

    #[test]
    fn wrong_shapes() {
        assert_eq!(
            err("- p0\n"),
            "lab.yaml:1:1: invalid type: sequence, expected a mapping with `ports:` and optionally `neighbors:`, \
             `tables:`, `nexthops:`, `routes:`, `route_files:`, `rules:`, `settings:`"
        );
        assert_eq!(
            err("ports: [p0]\n"),
            "lab.yaml:1:9: ports[0]: invalid type: string \"p0\", expected a port like { name: p0, device: 0000:01:00.0 }"
        );
    }

    #[test]
    fn missing_ports() {
        assert_eq!(err("routes: []\n"), "lab.yaml:1:1: missing field `ports`");
    }

    #[test]
    fn settings_defaults_and_values() {
        let c = load(&format!("{BASE}settings:\n  ip_default_ttl: 255\n  burst: 64\n  icmp_echo_ignore_broadcasts: false\n")).unwrap();
        assert_eq!(c.settings.ip_default_ttl, 255);
        assert_eq!(c.settings.burst, 64);
        assert!(!c.settings.icmp_echo_ignore_broadcasts);
        assert_eq!(c.settings.mbufs, 8191);
    }

    #[test]
    fn neighbour_parameters_per_port() {
        let text = BASE.replace(
            "    addresses: [10.0.1.1/24]\n",
            "    addresses: [10.0.1.1/24]\n    retrans_time_ms: 100\n    unres_qlen: 3\n",
        );
        let c = load(&format!("{text}settings:\n  retrans_time_ms: 500\n")).unwrap();
        assert_eq!(c.settings.retrans_time_ms, 500);
        assert_eq!(c.ports[0].neigh.retrans_time_ms, Some(100));
        assert_eq!(c.ports[0].neigh.unres_qlen, Some(3));
        assert_eq!(c.ports[1].neigh, Default::default());
        let dump = c.to_yaml();
        assert_eq!(dump.matches("retrans_time_ms: 100").count(), 1, "{dump}");
        let bad = BASE.replace(
            "    addresses: [10.0.1.1/24]\n",
            "    addresses: [10.0.1.1/24]\n    retrans_time_ms: 0\n",
        );
        assert!(
            err(&bad).contains("retrans_time_ms 0 is out of range (1 to 3600000)"),
            "{}",
            err(&bad)
        );
    }

    #[test]
    fn send_redirects_global_and_per_port() {
        let c = load(BASE).unwrap();
        assert!(c.settings.send_redirects);
        assert!(c.ports.iter().all(|p| p.send_redirects));
        let text = BASE.replace(
            "    addresses: [10.0.1.1/24]\n",
            "    addresses: [10.0.1.1/24]\n    send_redirects: false\n",
        );
        let c = load(&format!("{text}settings:\n  send_redirects: false\n")).unwrap();
        assert!(!c.settings.send_redirects);
        assert_eq!(
            c.ports.iter().map(|p| p.send_redirects).collect::<Vec<_>>(),
            [false, true]
        );
        // `show config` spells both out, and reads back the same.
        let dump = c.to_yaml();
        assert_eq!(dump.matches("send_redirects: false").count(), 2, "{dump}");
        assert_eq!(dump.matches("send_redirects: true").count(), 1, "{dump}");
        assert_eq!(load(&dump).unwrap().to_yaml(), dump);
        assert_eq!(
            err(&format!("{BASE}settings:\n  send_redirects: 2\n")),
            "lab.yaml:12:19: settings.send_redirects: invalid type: integer `2`, expected a boolean"
        );
    }

    #[test]
    fn settings_ranges() {
        assert_eq!(
            err(&format!("{BASE}settings:\n  ip_default_ttl: 0\n")),
            "lab.yaml:12:19: ip_default_ttl 0 is out of range (1 to 255)"
        );
        assert_eq!(
            err(&format!("{BASE}settings:\n  burst: 512\n")),
            "lab.yaml:12:10: burst 512 is out of range (1 to 256)"
        );
        assert_eq!(
            err(&format!("{BASE}settings:\n  mbufs: 10\n")),
            "lab.yaml:12:10: mbufs 10 is out of range (512 to 4294967295)"
        );
    }

    #[test]
    fn multipath_hash_policy() {
        assert_eq!(load(BASE).unwrap().settings.fib_multipath_hash_policy, 0);
        let c = load(&format!(
            "{BASE}settings:\n  fib_multipath_hash_policy: 1\n"
        ))
        .unwrap();
        assert_eq!(c.settings.fib_multipath_hash_policy, 1);
        assert_eq!(
            err(&format!(
                "{BASE}settings:\n  fib_multipath_hash_policy: 2\n"
            )),
            "lab.yaml:12:30: fib_multipath_hash_policy 2 is not supported (0 = L3: source and \
             destination address; 1 = L3+L4: also protocol and ports)"
        );
        assert_eq!(
            err(&format!("{BASE}settings:\n  fib_multipath_hash_policy: l4\n")),
            "lab.yaml:12:30: settings.fib_multipath_hash_policy: invalid type: string \"l4\", expected u64"
        );
    }

    #[test]
    fn settings_unknown_key_and_type() {
        assert_eq!(
            err(&format!("{BASE}settings:\n  ttl: 3\n")),
            "lab.yaml:12:3: settings: unknown field `ttl`, expected one of `ip_default_ttl`, `icmp_msgs_per_sec`, \
             `icmp_msgs_burst`, `icmp_ratelimit`, `icmp_ratemask`, `icmp_echo_ignore_broadcasts`, `burst`, `mbufs`, \
             `fib_multipath_hash_policy`, `base_reachable_time_ms`, `delay_first_probe_time`, `retrans_time_ms`, \
             `ucast_solicit`, `mcast_solicit`, `gc_stale_time`, `gc_thresh1`, `gc_thresh2`, `gc_thresh3`, `unres_qlen`, `arp_notify`, \
             `send_redirects`, `rp_filter`, `accept_redirects`, `secure_redirects`, `shared_media`, \
             `ip_forward_use_pmtu`, `min_pmtu`, `mtu_expires`, `gc_timeout`, `dst_cache`, `route_hints`, \
             `flowtable`, `nf_conntrack_max`, `nf_conntrack_tcp_timeout_syn_sent`, `nf_conntrack_tcp_timeout_syn_recv`, `nf_conntrack_tcp_timeout_established`, `nf_conntrack_tcp_timeout_fin_wait`, `nf_conntrack_tcp_timeout_close`, `nf_conntrack_udp_timeout`, `nf_conntrack_udp_timeout_stream`, `nf_flowtable_tcp_timeout`, `nf_flowtable_udp_timeout`, `nf_conntrack_tcp_loose`, `idle_sleep_us`, `metrics_listen`"
        );
        assert_eq!(
            err(&format!("{BASE}settings:\n  icmp_echo_ignore_broadcasts: maybe\n")),
            "lab.yaml:12:32: settings.icmp_echo_ignore_broadcasts: invalid type: string \"maybe\", expected a boolean"
        );
    }
}
