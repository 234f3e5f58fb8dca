//! EAL bring-up and lcore management. EAL can be initialised once per process.

use super::{diag, DpdkError};
use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Initialises EAL with `args` (`args[0]` is the program name, the rest EAL options as
/// given on the command line before `--`). Fails if EAL was already initialised.
///
/// A failure names its cause where DPDK's return value does not (see [`super::diag`]), and
/// is a usage error ([`DpdkError::usage`]) when the options are at fault: lcores the
/// machine lacks, a `--vdev` with a missing file or an unknown driver, a file prefix held
/// by another process.
pub fn init(args: &[String]) -> Result<(), DpdkError> {
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(DpdkError::with_errno(
            "rte_eal_init: EAL already initialised in this process",
            EALREADY,
        ));
    }
    // EAL does not fail for a --vdev whose driver cannot attach it (the port is missing
    // later, with a stale errno): check what can be checked before it starts.
    for v in diag::option_values(args, "", "--vdev") {
        if let Some(why) = diag::devargs_problem(v, diag::iface_exists) {
            return Err(DpdkError::usage(format!("EAL option --vdev {v}: {why}")));
        }
    }
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| {
            CString::new(a.as_str())
                .map_err(|_| DpdkError::usage(format!("EAL argument {a:?} contains a NUL byte")))
        })
        .collect::<Result<_, _>>()?;
    // rte_eal_init may permute argv; it only needs the pointers to stay valid during the call.
    let mut argv: Vec<*mut std::ffi::c_char> =
        cargs.iter().map(|c| c.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv holds argc valid NUL-terminated strings (owned by `cargs`, alive for the
    // call) followed by NULL; EAL has not been initialised in this process (checked above).
    let ret = unsafe { dpdk_sys::rte_eal_init(cargs.len() as c_int, argv.as_mut_ptr()) };
    if ret < 0 {
        let errno = super::rte_errno(); // before anything else can set it
        return Err(init_failure(args, errno));
    }
    Ok(())
}

const EALREADY: i32 = 114;
const EINVAL: i32 = 22;
const ENODEV: i32 = 19;
const ENOMEM: i32 = 12;
const EACCES: i32 = 13;
const EEXIST: i32 = 17;

/// Why `rte_eal_init` failed with `rte_errno` = `errno` (its `EAL:` lines, printed above,
/// say it in DPDK's words; this says it in one line, and whether the options are at fault).
fn init_failure(args: &[String], errno: i32) -> DpdkError {
    let see = "EAL's reason is in its messages above";
    match errno {
        EINVAL => DpdkError::usage(
            diag::lcores_problem(args, dpdk_sys::RTE_MAX_LCORE, diag::lcore_present)
                .unwrap_or_else(|| format!("rte_eal_init: invalid EAL options ({see})")),
        ),
        ENODEV => {
            let devices = diag::option_values(args, "", "--vdev")
                .into_iter()
                .map(|v| ("--vdev", v))
                .chain(
                    diag::option_values(args, "-a", "--allow")
                        .into_iter()
                        .map(|v| ("-a", v)),
                );
            for (opt, v) in devices {
                if diag::bus_of(v).is_err() {
                    let name = v.split(',').next().unwrap_or(v);
                    return DpdkError::usage(format!(
                        "EAL option {opt} {v}: no such driver: nothing in DPDK takes the name {name} ({})",
                        diag::known_drivers()
                    ));
                }
            }
            DpdkError::usage(format!(
                "rte_eal_init: a device option (--vdev, -a, -b) cannot be used ({see})"
            ))
        }
        _ => {
            if let Some(e) = prefix_taken(args) {
                return e;
            }
            let hint = match errno {
                ENOMEM => " (not enough memory: lower -m, or give EAL hugepages)",
                EACCES => " (hugepages need root; without them add --no-huge)",
                _ => "",
            };
            if errno == 0 {
                DpdkError::with_errno(format!("rte_eal_init failed ({see})"), 0)
            } else {
                DpdkError::with_errno(format!("rte_eal_init ({see}){hint}"), errno)
            }
        }
    }
}

/// With shared config, EAL's primary process holds a lock on `<runtime dir>/config` for
/// as long as it runs; a second one with the same `--file-prefix` cannot get it, and
/// `rte_eal_init` returns -1 without setting `rte_errno`.
fn prefix_taken(args: &[String]) -> Option<DpdkError> {
    if args
        .iter()
        .any(|a| a == "--no-shconf" || a == "--in-memory")
    {
        return None;
    }
    // SAFETY: returns a pointer to EAL's static NUL-terminated path (empty if not yet set).
    let dir = unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_eal_get_runtime_dir()) }
        .to_string_lossy()
        .into_owned();
    if dir.is_empty() {
        return None;
    }
    let config = std::path::Path::new(&dir).join("config");
    let (pid, name) = diag::lock_owner(&config)?;
    let prefix = dir.rsplit('/').next().unwrap_or(&dir);
    Some(DpdkError::usage(format!(
        "another DPDK process ({name}, pid {pid}) holds file prefix {prefix} ({}): give this one its own --file-prefix, or --no-shconf",
        config.display()
    )))
}

/// Releases EAL resources (hugepage/no-huge memory, shared config) and removes this
/// process's runtime directory (`/var/run/dpdk/<file-prefix>`) if EAL left it empty.
/// Call once, last.
pub fn cleanup() {
    // SAFETY: returns a pointer to EAL's static NUL-terminated path; copied at once.
    let dir = unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_eal_get_runtime_dir()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: called once at exit after every port is closed and every worker has returned.
    unsafe {
        dpdk_sys::rte_eal_cleanup();
    }
    // Only an empty directory is removed: another process may share the prefix.
    let _ = std::fs::remove_dir(dir);
}

/// The main lcore (the control core).
pub fn main_lcore() -> u32 {
    // SAFETY: reads EAL configuration set up by rte_eal_init.
    unsafe { dpdk_sys::rte_get_main_lcore() }
}

/// The calling thread's lcore id (`u32::MAX` on a non-EAL thread).
pub fn lcore_id() -> u32 {
    // SAFETY: reads a per-thread variable.
    unsafe { dpdk_sys::shim_lcore_id() }
}

/// Worker lcores enabled by `-l`/`-c`, in order, without the main lcore.
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    let mut i: u32 = u32::MAX; // -1: start of iteration
    loop {
        // SAFETY: iterates EAL's lcore table; skip_main = 1, wrap = 0.
        i = unsafe { dpdk_sys::rte_get_next_lcore(i, 1, 0) };
        if i >= dpdk_sys::RTE_MAX_LCORE {
            return out;
        }
        out.push(i);
    }
}

/// NUMA socket of an lcore.
pub fn lcore_socket(lcore: u32) -> i32 {
    // SAFETY: reads EAL's lcore table; out-of-range ids return SOCKET_ID_ANY-like values.
    unsafe { dpdk_sys::rte_lcore_to_socket_id(lcore) as i32 }
}

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `launch` for exactly this one call.
    let job: Box<Job> = unsafe { Box::from_raw(arg.cast::<Job>()) };
    job()
}

/// Runs `f` on worker lcore `lcore` (which must be idle). The result is collected by
/// [`wait_all`].
pub fn launch(lcore: u32, f: impl FnOnce() -> i32 + Send + 'static) -> Result<(), DpdkError> {
    let job: Box<Job> = Box::new(Box::new(f));
    let arg = Box::into_raw(job).cast::<c_void>();
    // SAFETY: trampoline takes back ownership of `arg` exactly once when the lcore runs it;
    // on failure the lcore never runs it, so we reclaim it here.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
    if ret != 0 {
        // SAFETY: the launch failed, so `arg` was not handed over; reclaim and drop it.
        drop(unsafe { Box::from_raw(arg.cast::<Job>()) });
        return Err(DpdkError::new(
            format!("rte_eal_remote_launch on lcore {lcore}"),
            ret,
        ));
    }
    Ok(())
}

/// Waits until every worker lcore has returned from its job.
pub fn wait_all() {
    // SAFETY: blocks on EAL's lcore states; called from the main lcore only.
    unsafe {
        dpdk_sys::rte_eal_mp_wait_lcore();
    }
}

/// Probes a device from devargs (`net_pcap0,rx_pcap=...` or a PCI address), returning its
/// ethdev port id. A device that already exists (given to EAL with `--vdev`/`-a`) is reused.
///
/// Errors name the cause and are usage errors unless memory ran out: a driver name DPDK
/// does not know, a device that is not there, a file or interface its arguments name that
/// does not exist, or whatever the driver logged when it refused the device.
pub fn probe_device(devargs: &str) -> Result<u16, DpdkError> {
    let name = devargs.split(',').next().unwrap_or(devargs).trim();
    if let Some(port) = port_by_name(name) {
        return Ok(port);
    }
    if let Some(why) = diag::devargs_problem(devargs, diag::iface_exists) {
        return Err(DpdkError::usage(format!("device {name}: {why}")));
    }
    let c = CString::new(devargs)
        .map_err(|_| DpdkError::usage(format!("device {devargs:?} contains a NUL byte")))?;
    let bus = diag::bus_of(devargs).map_err(|_| {
        DpdkError::usage(format!(
            "device {name}: no such driver: nothing in DPDK takes this name ({})",
            diag::known_drivers()
        ))
    })?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let (ret, log) = diag::capture_log(|| unsafe { dpdk_sys::rte_dev_probe(c.as_ptr()) });
    if ret < 0 && ret != -EEXIST {
        let said = diag::driver_lines(&log);
        return Err(match -ret {
            ENODEV => DpdkError::usage(format!(
                "device {name}: no such device on the {bus} bus{}",
                if bus == "pci" {
                    " (is the NIC bound to vfio-pci? does EAL have --no-pci or -b?)"
                } else {
                    ""
                }
            )),
            ENOMEM => DpdkError::with_errno(
                format!(
                    "device {name}: out of memory attaching it{}",
                    said.map(|s| format!(" ({s})")).unwrap_or_default()
                ),
                ENOMEM,
            ),
            e => {
                let why = said.unwrap_or_else(|| {
                    if e > 1 {
                        // SAFETY: rte_strerror returns a NUL-terminated string; copied at once.
                        unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_strerror(e)) }
                            .to_string_lossy()
                            .into_owned()
                    } else {
                        "it gave no reason".into()
                    }
                });
                DpdkError::usage(format!("device {devargs}: its driver refused it: {why}"))
            }
        });
    }
    // Whatever the driver had to say on success (warnings) goes where DPDK's log goes.
    eprint!("{log}");
    port_by_name(name).ok_or_else(|| {
        DpdkError::usage(format!(
            "device {devargs}: probed, but no ethdev port named {name} appeared (is it a network device?)"
        ))
    })
}

/// The ethdev port id of a device name (`net_pcap0`, `0000:01:00.0`).
pub fn port_by_name(name: &str) -> Option<u16> {
    let c = CString::new(name).ok()?;
    let mut port: u16 = 0;
    // SAFETY: `c` is NUL-terminated and `port` is a valid out-pointer.
    let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c.as_ptr(), &mut port) };
    (ret == 0).then_some(port)
}
