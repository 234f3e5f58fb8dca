//! Owned mbufs and fixed-size bursts of them.
//!
//! [`Mbuf`] owns one single-segment packet buffer and exposes its data as a byte slice
//! (the pipeline works on [`crate::packet::PacketBuf`], which `Mbuf` implements).
//! [`Burst`] is a fixed array of mbuf pointers filled by `rx_burst` and drained by
//! `tx_burst` or freed in bulk: nothing on the packet path frees mbufs one by one.

use crate::packet::PacketBuf;
use std::ptr::NonNull;

/// Largest burst handled at once.
pub const MAX_BURST: usize = 256;

/// One owned packet buffer. Dropping it frees it (slow path only: the data path collects
/// mbufs into a [`Burst`] and frees them in bulk).
#[repr(transparent)]
pub struct Mbuf(NonNull<dpdk_sys::rte_mbuf>);

// SAFETY: an mbuf is owned by exactly one Mbuf value; moving that ownership between
// threads is how DPDK is used (rx on one lcore, tx on another).
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `ptr` must be a valid, single-owner mbuf that nobody else frees.
    pub unsafe fn from_raw(ptr: NonNull<dpdk_sys::rte_mbuf>) -> Mbuf {
        Mbuf(ptr)
    }

    /// Gives up ownership.
    pub fn into_raw(self) -> NonNull<dpdk_sys::rte_mbuf> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// The raw mbuf, still owned by `self`.
    pub(super) fn as_ptr(&self) -> *mut dpdk_sys::rte_mbuf {
        self.0.as_ptr()
    }

    /// Allocates an mbuf from `pool` (slow path).
    pub fn alloc(pool: &super::mempool::Mempool) -> Option<Mbuf> {
        // SAFETY: pool is a valid pktmbuf pool.
        NonNull::new(unsafe { dpdk_sys::shim_pktmbuf_alloc(pool.as_ptr()) }).map(Mbuf)
    }

    #[inline(always)]
    fn raw(&self) -> &dpdk_sys::rte_mbuf {
        // SAFETY: self owns a valid mbuf for its whole life.
        unsafe { self.0.as_ref() }
    }

    /// The port the mbuf was received on.
    #[inline]
    pub fn port(&self) -> u16 {
        self.raw().port
    }

    /// Whether the packet spans several segments (the pipeline handles one).
    #[inline]
    pub fn is_chained(&self) -> bool {
        self.raw().nb_segs != 1
    }
}

impl PacketBuf for Mbuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off points at data_len initialised bytes of the first
        // segment, owned by this mbuf for the lifetime of &self.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in data(); &mut self guarantees exclusive access.
        unsafe {
            let m = self.0.as_mut();
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        // SAFETY: valid owned mbuf; rte_pktmbuf_prepend checks headroom and returns NULL
        // without changing anything when there is not enough.
        n <= u16::MAX as usize
            && !unsafe { dpdk_sys::shim_pktmbuf_prepend(self.0.as_ptr(), n as u16) }.is_null()
    }

    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        // SAFETY: valid owned mbuf; rte_pktmbuf_adj checks the length first.
        n <= u16::MAX as usize
            && !unsafe { dpdk_sys::shim_pktmbuf_adj(self.0.as_ptr(), n as u16) }.is_null()
    }

    #[inline]
    fn trim(&mut self, n: usize) -> bool {
        // SAFETY: valid owned mbuf; rte_pktmbuf_trim checks the length first.
        n <= u16::MAX as usize
            && unsafe { dpdk_sys::shim_pktmbuf_trim(self.0.as_ptr(), n as u16) } == 0
    }

    #[inline]
    fn append(&mut self, n: usize) -> bool {
        // SAFETY: valid owned mbuf; rte_pktmbuf_append checks the tailroom and returns NULL
        // without changing anything when there is not enough.
        n <= u16::MAX as usize
            && !unsafe { dpdk_sys::shim_pktmbuf_append(self.0.as_ptr(), n as u16) }.is_null()
    }

    /// `rte_pktmbuf_alloc(m->pool)`: from the per-lcore cache of the pool this mbuf came
    /// from.
    #[inline]
    fn alloc_from_pool(&self) -> Option<Mbuf> {
        // SAFETY: self owns a valid mbuf, so its pool pointer is a valid pktmbuf pool, and
        // the pool outlives every mbuf taken from it (it is freed after ports and lcores
        // stop).
        NonNull::new(unsafe { dpdk_sys::shim_pktmbuf_alloc(self.raw().pool) }).map(Mbuf)
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and free it exactly once.
        unsafe { dpdk_sys::shim_pktmbuf_free(self.0.as_ptr()) }
    }
}

/// Up to [`MAX_BURST`] owned mbufs, filled by `rx` and emptied by `tx` or [`Burst::free`].
/// Dropping a burst frees what it still holds, in bulk.
pub struct Burst {
    ptrs: [*mut dpdk_sys::rte_mbuf; MAX_BURST],
    len: usize,
}

// SAFETY: the burst owns its mbufs (see Mbuf's Send).
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Burst {
            ptrs: [std::ptr::null_mut(); MAX_BURST],
            len: 0,
        }
    }
}

impl Burst {
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len == MAX_BURST
    }

    /// Receives up to `max` (<= MAX_BURST) packets from (port, queue) into an empty burst.
    #[inline]
    pub fn rx(&mut self, port: u16, queue: u16, max: usize) -> usize {
        debug_assert!(self.len == 0);
        let max = max.min(MAX_BURST) as u16;
        // SAFETY: ptrs has room for MAX_BURST >= max pointers; the queue is polled only by
        // this lcore (the worker owns its rx queues).
        let n = unsafe { dpdk_sys::shim_rx_burst(port, queue, self.ptrs.as_mut_ptr(), max) };
        self.len = n as usize;
        self.len
    }

    /// Takes the mbufs out one by one (the burst is left empty).
    #[inline]
    pub fn drain(&mut self) -> impl Iterator<Item = Mbuf> + '_ {
        let n = std::mem::take(&mut self.len);
        self.ptrs[..n].iter().map(|&p| {
            // SAFETY: the first `len` pointers are valid mbufs owned by the burst, each
            // handed out exactly once (len was reset to 0 above).
            unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) }
        })
    }

    /// Adds an mbuf; the caller checks `is_full` first.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) {
        debug_assert!(self.len < MAX_BURST);
        self.ptrs[self.len] = m.into_raw().as_ptr();
        self.len += 1;
    }

    /// Shows each mbuf of the burst to `f`, in order (they stay in the burst).
    #[inline]
    pub fn each(&self, mut f: impl FnMut(&Mbuf)) {
        for &p in &self.ptrs[..self.len] {
            // SAFETY: the first `len` pointers are valid mbufs owned by the burst; the
            // temporary Mbuf is never dropped, so ownership stays with the burst.
            let m =
                std::mem::ManuallyDrop::new(unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) });
            f(&m);
        }
    }

    /// Transmits on (port, queue) what the PMD accepts and frees the rest in bulk.
    /// Returns (sent, dropped).
    #[inline]
    pub fn tx(&mut self, port: u16, queue: u16) -> (usize, usize) {
        if self.len == 0 {
            return (0, 0);
        }
        // SAFETY: the first `len` pointers are owned mbufs; the PMD takes ownership of the
        // first `sent`; the tx queue is used only by this lcore.
        let sent = unsafe {
            dpdk_sys::shim_tx_burst(port, queue, self.ptrs.as_mut_ptr(), self.len as u16)
        } as usize;
        let unsent = self.len - sent;
        if unsent > 0 {
            // SAFETY: the unsent pointers are still ours; freed once, in bulk.
            unsafe {
                dpdk_sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr().add(sent), unsent as u32)
            };
        }
        self.len = 0;
        (sent, unsent)
    }

    /// Frees every mbuf in the burst, in bulk.
    #[inline]
    pub fn free(&mut self) {
        if self.len > 0 {
            // SAFETY: the first `len` pointers are owned mbufs, freed once.
            unsafe { dpdk_sys::rte_pktmbuf_free_bulk(self.ptrs.as_mut_ptr(), self.len as u32) };
            self.len = 0;
        }
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.free();
    }
}
