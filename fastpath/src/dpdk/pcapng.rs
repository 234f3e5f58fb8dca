//! Packet capture to pcapng files with DPDK's `rte_pcapng`: a worker copies a packet
//! into an mbuf of a capture pool already formatted as a pcapng enhanced packet block
//! ([`copy`]), the control core writes such copies to a file ([`Writer`]). Also
//! `rte_pdump_init`, which lets `dpdk-dumpcap` capture from a running instance that has
//! a shared config (a `--file-prefix`, no `--no-shconf`).

use super::mbuf::Mbuf;
use super::mempool::Mempool;
use super::DpdkError;
use crate::packet::PacketBuf;
use std::ffi::CString;
use std::os::fd::IntoRawFd;
use std::path::Path;
use std::ptr::NonNull;

/// Which way a captured packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Rx,
    Tx,
}

/// The data room a capture pool's mbufs need for packets of up to `snaplen` bytes.
pub fn data_room(snaplen: u32) -> u16 {
    // SAFETY: a pure computation.
    let n = unsafe { dpdk_sys::rte_pcapng_mbuf_size(snaplen) };
    n.min(u16::MAX as u32) as u16
}

/// A copy of `m` (at most `snaplen` bytes) from `pool`, formatted for [`Writer::write`],
/// stamped with `ns` (nanoseconds since the Unix epoch); None if the pool is empty.
///
/// The stamp is written into the block here: DPDK 22.11 converts a TSC value with a
/// multiplication that overflows seconds after start (years 2200+ in the file).
#[inline]
pub fn copy(
    m: &Mbuf,
    port: u16,
    queue: u16,
    pool: &Mempool,
    snaplen: u32,
    ns: u64,
    dir: Direction,
) -> Option<Mbuf> {
    let dir = match dir {
        Direction::Rx => dpdk_sys::RTE_PCAPNG_DIRECTION_IN,
        Direction::Tx => dpdk_sys::RTE_PCAPNG_DIRECTION_OUT,
    };
    // SAFETY: `m` is a valid mbuf only read here; `pool` is a valid pktmbuf pool whose
    // mbufs have `data_room(snaplen)` bytes; the copy is a new mbuf we own.
    let c = unsafe {
        dpdk_sys::rte_pcapng_copy(
            port,
            queue as u32,
            m.as_ptr(),
            pool.as_ptr(),
            snaplen,
            0,
            dir,
        )
    };
    // SAFETY: a fresh mbuf owned by nobody else.
    let mut c = NonNull::new(c).map(|p| unsafe { Mbuf::from_raw(p) })?;
    // The enhanced packet block: type 6, length, interface id, timestamp high and low
    // 32 bits (in the file's resolution, ns), host byte order as the section header.
    let d = c.data_mut();
    if d.len() >= 20 && u32::from_ne_bytes([d[0], d[1], d[2], d[3]]) == 6 {
        d[12..16].copy_from_slice(&((ns >> 32) as u32).to_ne_bytes());
        d[16..20].copy_from_slice(&(ns as u32).to_ne_bytes());
    }
    Some(c)
}

/// An open pcapng file (its section header and one interface block per DPDK port
/// written). Closed on drop.
pub struct Writer(NonNull<dpdk_sys::rte_pcapng>);

// SAFETY: the handle is used by one thread at a time (it moves with its owner).
unsafe impl Send for Writer {}

impl Writer {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Writer, DpdkError> {
        let file = std::fs::File::create(path).map_err(|e| {
            DpdkError::new(
                format!("{}: {e}", path.display()),
                e.raw_os_error().unwrap_or(0),
            )
        })?;
        let fd = file.into_raw_fd();
        let app = CString::new(concat!("fastpath ", env!("CARGO_PKG_VERSION"))).expect("no NUL");
        // SAFETY: `fd` is an open file we hand over (rte_pcapng_close closes it); the
        // strings are NUL-terminated and only read during the call; NULL is allowed for
        // the optional ones.
        let h = unsafe {
            dpdk_sys::rte_pcapng_fdopen(
                fd,
                std::ptr::null(),
                std::ptr::null(),
                app.as_ptr(),
                std::ptr::null(),
            )
        };
        match NonNull::new(h) {
            Some(h) => Ok(Writer(h)),
            None => {
                // SAFETY: fdopen failed, so the fd is still ours to close.
                unsafe { drop(<std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)) };
                Err(DpdkError::with_errno(
                    format!("rte_pcapng_fdopen({})", path.display()),
                    super::rte_errno(),
                ))
            }
        }
    }

    /// Writes the copies in `pkts` (made by [`copy`]) and frees them; the bytes written.
    pub fn write(&mut self, pkts: &mut Vec<Mbuf>) -> Result<usize, DpdkError> {
        let mut raw: Vec<*mut dpdk_sys::rte_mbuf> =
            pkts.drain(..).map(|m| m.into_raw().as_ptr()).collect();
        let mut written = 0usize;
        let mut err = None;
        for chunk in raw.chunks_mut(u16::MAX as usize) {
            // SAFETY: every pointer is a pcapng-formatted copy we own; the file is open.
            let n = unsafe {
                dpdk_sys::rte_pcapng_write_packets(
                    self.0.as_ptr(),
                    chunk.as_mut_ptr(),
                    chunk.len() as u16,
                )
            };
            if n < 0 {
                err = Some(DpdkError::with_errno(
                    "writing the capture file",
                    super::rte_errno(),
                ));
            } else {
                written += n as usize;
            }
        }
        // SAFETY: the copies are ours and written (or not) by now; freed once.
        unsafe { dpdk_sys::rte_pktmbuf_free_bulk(raw.as_mut_ptr(), raw.len() as u32) };
        err.map_or(Ok(written), Err)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // SAFETY: opened by rte_pcapng_fdopen, closed once (with its fd).
        unsafe { dpdk_sys::rte_pcapng_close(self.0.as_ptr()) }
    }
}

/// Lets `dpdk-dumpcap` (a secondary process) capture from this one: needs EAL's shared
/// config; fails (harmlessly) with `--no-shconf` or `--in-memory`.
pub fn pdump_init() -> Result<(), DpdkError> {
    // SAFETY: called on the main lcore after EAL init.
    let r = unsafe { dpdk_sys::rte_pdump_init() };
    if r < 0 {
        Err(DpdkError::with_errno("rte_pdump_init", super::rte_errno()))
    } else {
        Ok(())
    }
}
