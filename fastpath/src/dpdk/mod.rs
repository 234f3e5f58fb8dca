//! The thin safe layer over `dpdk-sys`: EAL bring-up and lcores ([`eal`]), the packet
//! mempool ([`mempool`]), owned mbufs and bursts ([`mbuf`]), and ethdev ports ([`port`]).
//!
//! This module and `dpdk-sys` are the only places with `unsafe`; every block states the
//! invariant it relies on in a `// SAFETY:` comment. Everything above it (wire formats, FIB,
//! pipeline) is safe Rust that builds and tests without EAL.

pub mod eal;
pub mod lpm;
pub mod mbuf;
pub mod mempool;
pub mod port;

use std::ffi::CStr;
use std::fmt;

/// A failed DPDK call: what was attempted and the (positive) errno DPDK reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkError {
    pub what: String,
    pub errno: i32,
}

impl DpdkError {
    /// Builds an error from a DPDK return value (negative errno) or from `rte_errno` when
    /// the call reports failure another way (`ret` = 0 or -1).
    pub(crate) fn new(what: impl Into<String>, ret: i32) -> Self {
        let errno = if ret < -1 { -ret } else { rte_errno() };
        DpdkError {
            what: what.into(),
            errno,
        }
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
