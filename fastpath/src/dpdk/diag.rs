//! Naming why a bring-up step failed.
//!
//! DPDK often reports the cause of a failure poorly: `rte_eal_init` returns -1 with
//! `rte_errno` untouched (so `Success`) when another process holds its file prefix; a
//! device name no bus takes gives `-EFAULT` ("Bad address"); a driver whose probe fails
//! returns -1, so `rte_errno` is whatever an earlier call left there. The real cause is in
//! the arguments, in the system, or in a line the driver logged. The functions here look
//! there: files and interfaces named in devargs, lcores the machine lacks, the owner of
//! the file-prefix lock, the drivers DPDK has, and DPDK's log captured around a call.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;

/// Vdev drivers a port may name, tried one by one to list those this DPDK has (DPDK has
/// no public way to enumerate its drivers).
const VDEV_CANDIDATES: [&str; 12] = [
    "net_af_packet",
    "net_af_xdp",
    "net_pcap",
    "net_null",
    "net_ring",
    "net_tap",
    "net_tun",
    "net_vhost",
    "net_virtio_user",
    "net_memif",
    "net_bonding",
    "net_failsafe",
];

/// Runs `f` with DPDK's log going to memory; returns its result and what was logged.
/// Control core only, while no worker runs (the log stream is process-wide).
pub(crate) fn capture_log<T>(f: impl FnOnce() -> T) -> (T, String) {
    // SAFETY: no preconditions; fails (and we run uncaptured) if a capture is active.
    let started = unsafe { dpdk_sys::shim_log_capture_begin() } == 0;
    let r = f();
    if !started {
        return (r, String::new());
    }
    let mut buf = vec![0u8; 16 << 10];
    // SAFETY: `buf` has room for `buf.len()` bytes; the shim NUL-terminates within them.
    unsafe { dpdk_sys::shim_log_capture_end(buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    let text = CStr::from_bytes_until_nul(&buf)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    (r, text)
}

/// What a driver said in a captured log: its own lines, not EAL's generic ones
/// ("EAL: Driver cannot attach the device"), joined with "; ".
pub(crate) fn driver_lines(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("EAL:"))
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// The bus (`vdev`, `pci`) that takes `devargs`, or the negative errno when none does
/// (for a vdev: no driver's name is a prefix of the device name). Logs nothing.
pub(crate) fn bus_of(devargs: &str) -> Result<String, i32> {
    let c = CString::new(devargs).map_err(|_| -22)?;
    let mut bus = [0 as c_char; 64];
    let (ret, _) = capture_log(|| {
        // SAFETY: `c` is NUL-terminated; `bus` has room for `bus.len()` bytes.
        unsafe { dpdk_sys::shim_devargs_bus(c.as_ptr(), bus.as_mut_ptr(), bus.len()) }
    });
    if ret < 0 {
        return Err(ret);
    }
    // SAFETY: the shim wrote a NUL-terminated string into `bus`.
    Ok(unsafe { CStr::from_ptr(bus.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

/// "network vdev drivers here: net_af_packet, net_pcap, ...; or a PCI address", for
/// an unknown device name. Needs EAL's plugins loaded (during or after `rte_eal_init`).
pub(crate) fn known_drivers() -> String {
    let have: Vec<&str> = VDEV_CANDIDATES
        .iter()
        .copied()
        .filter(|d| bus_of(&format!("{d}0")).is_ok_and(|b| b == "vdev"))
        .collect();
    if have.is_empty() {
        "DPDK has none of the usual network vdev drivers; a PCI address such as 0000:01:00.0 names a NIC".into()
    } else {
        format!(
            "DPDK has these network vdev drivers: {}; a PCI address such as 0000:01:00.0 names a NIC",
            have.join(", ")
        )
    }
}

/// `devargs` split into the device name and its `key=value` arguments.
fn split_devargs(devargs: &str) -> (&str, Vec<(&str, &str)>) {
    let mut parts = devargs.split(',');
    let name = parts.next().unwrap_or("").trim();
    let kv = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    (name, kv)
}

fn is_driver(name: &str, driver: &str) -> bool {
    // Debian's DPDK also takes the old eth_ prefix (eth_pcap0).
    let short = driver.trim_start_matches("net_");
    name.starts_with(driver) || name.starts_with(&format!("eth_{short}"))
}

/// What is wrong with the files and interfaces `devargs` names, for the drivers whose
/// arguments are known here (`net_pcap`: `rx_pcap` must be readable, `tx_pcap` must be
/// creatable, `*iface*` must exist; `net_af_packet`: `iface` must exist). `iface_exists`
/// tells whether a network interface exists. `None` when nothing is wrong (or the driver
/// is not one of those).
pub fn devargs_problem(devargs: &str, iface_exists: impl Fn(&str) -> bool) -> Option<String> {
    let (name, kv) = split_devargs(devargs);
    let pcap = is_driver(name, "net_pcap");
    if !pcap && !is_driver(name, "net_af_packet") {
        return None;
    }
    for (k, v) in kv {
        match k {
            "rx_pcap" if pcap => {
                if let Err(e) = std::fs::File::open(v) {
                    return Some(format!("rx_pcap {v}: {}", io_cause(&e)));
                }
                if Path::new(v).is_dir() {
                    return Some(format!("rx_pcap {v}: is a directory, not a pcap file"));
                }
            }
            "tx_pcap" if pcap => {
                let dir = match Path::new(v).parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                if !dir.is_dir() {
                    return Some(format!(
                        "tx_pcap {v}: no directory {} to write it in",
                        dir.display()
                    ));
                }
                if Path::new(v).is_dir() {
                    return Some(format!("tx_pcap {v}: is a directory, not a pcap file"));
                }
            }
            "iface" | "rx_iface" | "rx_iface_in" | "tx_iface" if !iface_exists(v) => {
                return Some(format!("{k} {v}: no such network interface"));
            }
            _ => {}
        }
    }
    None
}

fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Whether network interface `name` exists in this network namespace.
pub(crate) fn iface_exists(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: `c` is NUL-terminated for the call.
    unsafe { dpdk_sys::shim_if_nametoindex(c.as_ptr()) != 0 }
}

/// The value of EAL option `short`/`long` in `args` (`-l 0-3`, `-l0-3`, `--lcores=...`),
/// every occurrence.
pub(crate) fn option_values<'a>(args: &'a [String], short: &str, long: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let long_eq = format!("{long}=");
        if a == short || a == long {
            if let Some(v) = it.next() {
                out.push(v.as_str());
            }
        } else if let Some(v) = a.strip_prefix(&long_eq).filter(|_| !long.is_empty()) {
            out.push(v);
        } else if !short.is_empty() && a.starts_with(short) && !a.starts_with("--") {
            out.push(&a[short.len()..]);
        }
    }
    out
}

/// The lcores of an EAL `-l` list (`0-3,8`), `None` if it does not parse.
fn parse_corelist(list: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for item in list.split(',') {
        let num = |s: &str| s.trim().parse::<u32>().ok();
        let (a, b) = match item.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(item)?, num(item)?),
        };
        let (a, b) = (a.min(b), a.max(b));
        if b - a > 1 << 16 {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}

/// The lcores of an EAL `-c` mask (`0x3`), `None` if it does not parse.
fn parse_coremask(mask: &str) -> Option<Vec<u32>> {
    let hex = mask.trim();
    let hex = hex
        .strip_prefix("0x")
        .or_else(|| hex.strip_prefix("0X"))
        .unwrap_or(hex);
    let mut out = Vec::new();
    for (i, c) in hex.chars().rev().enumerate() {
        let d = c.to_digit(16)?;
        for bit in 0..4 {
            if d & (1 << bit) != 0 {
                out.push((i * 4 + bit) as u32);
            }
        }
    }
    Some(out)
}

/// `0-3,8` for sorted lcores.
fn ranges(v: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// Whether this machine has lcore `n`, as EAL decides it (`eal_cpu_detected`).
pub(crate) fn lcore_present(n: u32) -> bool {
    Path::new(&format!("/sys/devices/system/cpu/cpu{n}/topology/core_id")).exists()
}

/// Why the lcores asked for with `-l` or `-c` cannot be had: some are not on this
/// machine (`present`), or beyond EAL's `max`. `None` if they all can (or the option is
/// absent or in a form not parsed here, such as `--lcores`).
pub fn lcores_problem(args: &[String], max: u32, present: impl Fn(u32) -> bool) -> Option<String> {
    let have: Vec<u32> = (0..max).filter(|&n| present(n)).collect();
    let asked = option_values(args, "-l", "")
        .into_iter()
        .map(|v| ("-l", v, parse_corelist(v)))
        .chain(
            option_values(args, "-c", "")
                .into_iter()
                .map(|v| ("-c", v, parse_coremask(v))),
        );
    for (opt, value, lcores) in asked {
        let Some(mut lcores) = lcores else { continue };
        lcores.sort_unstable();
        lcores.dedup();
        let missing: Vec<u32> = lcores
            .into_iter()
            .filter(|&n| n >= max || !present(n))
            .collect();
        if !missing.is_empty() {
            let what = if missing.len() == 1 {
                format!("lcore {} does not exist", missing[0])
            } else {
                format!("lcores {} do not exist", ranges(&missing))
            };
            return Some(format!(
                "EAL option {opt} {value}: {what} on this machine (it has {})",
                if have.is_empty() {
                    "none".into()
                } else {
                    ranges(&have)
                }
            ));
        }
    }
    None
}

/// The process holding EAL's lock on `config` (the runtime config of a file prefix):
/// its pid and name.
pub(crate) fn lock_owner(config: &Path) -> Option<(i32, String)> {
    let c = CString::new(config.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: `c` is NUL-terminated for the call.
    let pid = unsafe { dpdk_sys::shim_lock_owner(c.as_ptr()) };
    if pid <= 0 {
        return None;
    }
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    Some((pid, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn pcap_files() {
        let dir = std::env::temp_dir().join(format!("fastpath-diag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rx = dir.join("in.pcap");
        std::fs::write(&rx, b"").unwrap();
        let ok = |_: &str| true;
        let d = format!(
            "net_pcap0,rx_pcap={},tx_pcap={}/out.pcap",
            rx.display(),
            dir.display()
        );
        assert_eq!(devargs_problem(&d, ok), None);
        assert_eq!(
            devargs_problem("net_pcap0,rx_pcap=/nonexistent.pcap", ok).as_deref(),
            Some("rx_pcap /nonexistent.pcap: no such file")
        );
        assert_eq!(
            devargs_problem("eth_pcap1,tx_pcap=/nonexistent/out.pcap", ok).as_deref(),
            Some("tx_pcap /nonexistent/out.pcap: no directory /nonexistent to write it in")
        );
        assert_eq!(
            devargs_problem(&format!("net_pcap0,rx_pcap={}", dir.display()), ok),
            Some(format!(
                "rx_pcap {}: is a directory, not a pcap file",
                dir.display()
            ))
        );
        assert_eq!(
            devargs_problem("net_pcap0,iface=nope0", |i| i != "nope0").as_deref(),
            Some("iface nope0: no such network interface")
        );
        assert_eq!(
            devargs_problem("net_af_packet0,iface=nope0", |_| false).as_deref(),
            Some("iface nope0: no such network interface")
        );
        // Other drivers' arguments are theirs to judge.
        assert_eq!(devargs_problem("net_tap0,iface=nope0", |_| false), None);
        assert_eq!(devargs_problem("0000:01:00.0", |_| false), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lcores() {
        let two = |n: u32| n < 2;
        assert_eq!(lcores_problem(&args("fp -l 0-1 --no-huge"), 128, two), None);
        assert_eq!(
            lcores_problem(&args("fp -l 0-99"), 128, two).as_deref(),
            Some("EAL option -l 0-99: lcores 2-99 do not exist on this machine (it has 0-1)")
        );
        assert_eq!(
            lcores_problem(&args("fp -l0,3"), 128, two).as_deref(),
            Some("EAL option -l 0,3: lcore 3 does not exist on this machine (it has 0-1)")
        );
        assert_eq!(
            lcores_problem(&args("fp -c 0x13"), 128, two).as_deref(),
            Some("EAL option -c 0x13: lcore 4 does not exist on this machine (it has 0-1)")
        );
        assert_eq!(
            lcores_problem(&args("fp -l 0-1,200"), 128, |_| true).as_deref(),
            Some("EAL option -l 0-1,200: lcore 200 does not exist on this machine (it has 0-127)")
        );
        // Forms not parsed here are left to EAL's own message.
        assert_eq!(lcores_problem(&args("fp --lcores 0-99"), 128, two), None);
        assert_eq!(lcores_problem(&args("fp -l x"), 128, two), None);
        // App options after `--` are not EAL's.
        assert_eq!(lcores_problem(&args("fp -l 0 -- -l 9"), 128, two), None);
    }

    #[test]
    fn options() {
        let a = args("fp --vdev net_null0 --vdev=net_null1 -a 0000:01:00.0 --file-prefix x");
        assert_eq!(option_values(&a, "", "--vdev"), ["net_null0", "net_null1"]);
        assert_eq!(option_values(&a, "-a", "--allow"), ["0000:01:00.0"]);
        assert_eq!(option_values(&a, "", "--file-prefix"), ["x"]);
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }

    #[test]
    fn driver_lines_skip_eal() {
        let log = "open_single_rx_pcap(): Couldn't open /x.pcap: No such file\nEAL: Driver cannot attach the device (net_pcap0)\nEAL: Failed to attach device on primary process\n";
        assert_eq!(
            driver_lines(log).as_deref(),
            Some("open_single_rx_pcap(): Couldn't open /x.pcap: No such file")
        );
        assert_eq!(driver_lines("EAL: x\n"), None);
    }
}
