//! The thin safe layer over `dpdk-sys`: EAL bring-up and lcores ([`eal`], with `diag`
//! naming the cause when bring-up fails), the packet
//! mempool ([`mempool`]), owned mbufs and bursts ([`mbuf`]), and ethdev ports ([`port`]).
//!
//! This module and `dpdk-sys` are the only places with `unsafe`; every block states the
//! invariant it relies on in a `// SAFETY:` comment. Everything above it (wire formats, FIB,
//! pipeline) is safe Rust that builds and tests without EAL.

mod diag;
pub mod eal;
pub mod lpm;
pub mod mbuf;
pub mod mempool;
pub mod pcapng;
pub mod port;
pub mod ring;
pub mod telemetry;

use std::ffi::CStr;
use std::fmt;

/// A failed DPDK call: what was attempted and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError {
    /// What failed; when the cause is known, it says the cause too (and `errno` is 0).
    pub what: String,
    /// The (positive) errno DPDK reported, or 0 when `what` names the cause itself.
    pub errno: i32,
    /// The cause is in what the user gave (a device, an EAL option, a file prefix another
    /// process holds), not in the run: a program exits with its usage status for it.
    pub usage: bool,
}

impl DpdkError {
    /// Builds an error from a DPDK return value (negative errno) or from `rte_errno` when
    /// the call reports failure another way (`ret` = 0 or -1). Call it right after the
    /// failing call, before anything else can set `rte_errno`.
    pub(crate) fn new(what: impl Into<String>, ret: i32) -> Self {
        let errno = if ret < -1 { -ret } else { rte_errno() };
        DpdkError::with_errno(what, errno)
    }

    /// A runtime failure with a known errno.
    pub(crate) fn with_errno(what: impl Into<String>, errno: i32) -> Self {
        DpdkError {
            what: what.into(),
            errno,
            usage: false,
        }
    }

    /// A usage or config error whose message names the cause.
    pub(crate) fn usage(what: impl Into<String>) -> Self {
        DpdkError {
            what: what.into(),
            errno: 0,
            usage: true,
        }
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.errno == 0 {
            return f.write_str(&self.what);
        }
        // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated
        // string, valid at least until the next call on this thread; we copy it at once.
        let msg = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(self.errno)) };
        write!(
            f,
            "{}: {} (errno {})",
            self.what,
            msg.to_string_lossy(),
            self.errno
        )
    }
}

impl std::error::Error for DpdkError {}

/// The calling thread's `rte_errno`.
pub fn rte_errno() -> i32 {
    // SAFETY: reads a per-thread integer; no preconditions.
    unsafe { dpdk_sys::shim_errno() }
}

/// The time-stamp counter (cycles since an arbitrary start), for cheap timing on lcores.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: reads the TSC; no preconditions.
    unsafe { dpdk_sys::shim_rdtsc() }
}

/// TSC frequency in Hz, as measured by EAL at start. Valid after [`eal::init`].
pub fn tsc_hz() -> u64 {
    // SAFETY: returns a value computed during rte_eal_init; harmless if called before.
    unsafe { dpdk_sys::rte_get_tsc_hz() }
}

/// Hints the CPU to fetch the cache line holding `*p` into all cache levels (the FIB's
/// bulk lookup stages its memory accesses with it). A hint only: never faults.
#[inline(always)]
pub fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 does not access memory architecturally and cannot fault, whatever
    // the address (here a valid reference anyway); SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (p as *const T).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
