//! EAL bring-up and lcore management. EAL can be initialised once per process.

use super::DpdkError;
use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Initialises EAL with `args` (`args[0]` is the program name, the rest EAL options as
/// given on the command line before `--`). Fails if EAL was already initialised.
pub fn init(args: &[String]) -> Result<(), DpdkError> {
    if INITIALISED.swap(true, Ordering::SeqCst) {
        return Err(DpdkError {
            what: "rte_eal_init: EAL already initialised in this process".into(),
            errno: libc_ealready(),
        });
    }
    let cargs: Vec<CString> = args
        .iter()
        .map(|a| {
            CString::new(a.as_str()).map_err(|_| DpdkError {
                what: format!("EAL argument {a:?} contains a NUL byte"),
                errno: 22,
            })
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
        return Err(DpdkError::new("rte_eal_init", ret));
    }
    Ok(())
}

fn libc_ealready() -> i32 {
    114 // EALREADY on Linux
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
pub fn probe_device(devargs: &str) -> Result<u16, DpdkError> {
    let name = devargs.split(',').next().unwrap_or(devargs).trim();
    if let Some(port) = port_by_name(name) {
        return Ok(port);
    }
    let c = CString::new(devargs).map_err(|_| DpdkError {
        what: format!("device {devargs:?} contains a NUL byte"),
        errno: 22,
    })?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let ret = unsafe { dpdk_sys::rte_dev_probe(c.as_ptr()) };
    if ret < 0 && ret != -17 {
        return Err(DpdkError::new(format!("probing device {devargs:?}"), ret));
    }
    port_by_name(name).ok_or_else(|| DpdkError {
        what: format!("device {devargs:?} probed but no ethdev port named {name:?} appeared (is it a network device?)"),
        errno: 19,
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
