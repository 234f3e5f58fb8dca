//! The packet mempool: one pool of mbufs with per-lcore caches (DESIGN.md section 6), so
//! workers allocate and free in bulk without touching the shared ring most of the time.

use super::DpdkError;
use std::ffi::CString;
use std::ptr::NonNull;

/// An `rte_mempool` of packet mbufs. Freed on drop; drop it only after every port using
/// it is closed.
pub struct Mempool {
    ptr: NonNull<dpdk_sys::rte_mempool>,
    size: u32,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores (per-lcore caches,
// lock-free ring); the handle is only a pointer.
unsafe impl Send for Mempool {}
// SAFETY: as above; every method is thread-safe in DPDK.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `size` mbufs with default data room (2048 + headroom), a
    /// per-lcore cache of `cache` mbufs, on NUMA `socket`.
    pub fn new(name: &str, size: u32, cache: u32, socket: i32) -> Result<Mempool, DpdkError> {
        let data_room = (dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE) as u16;
        Self::with_data_room(name, size, cache, data_room, socket)
    }

    /// [`Mempool::new`] with mbufs of `data_room` bytes (headroom included).
    pub fn with_data_room(
        name: &str,
        size: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::with_errno("mempool name contains NUL", 22))?;
        // SAFETY: cname is valid for the call; the parameters are plain values.
        let ptr = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), size, cache, 0, data_room, socket)
        };
        NonNull::new(ptr)
            .map(|ptr| Mempool { ptr, size })
            .ok_or_else(|| DpdkError::new(format!("creating mempool {name:?} of {size} mbufs"), 0))
    }

    pub fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.ptr.as_ptr()
    }

    /// Number of mbufs in the pool.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Mbufs currently allocated (in rings, in flight, or leaked). Counts the per-lcore
    /// caches as available.
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is valid while self lives; the count is read racily by design.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.ptr.as_ptr()) }
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // SAFETY: the pool was created by rte_pktmbuf_pool_create and is freed once; the
        // owner guarantees no port or lcore still uses it.
        unsafe { dpdk_sys::rte_mempool_free(self.ptr.as_ptr()) }
    }
}
