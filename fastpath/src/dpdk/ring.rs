//! Bounded single-producer/single-consumer rings of owned mbufs, each with a small
//! metadata value (a DPDK `rte_ring` of fixed-size elements, `RING_F_SP_ENQ |
//! RING_F_SC_DEQ`): the punt path from a worker to the control core, and the control
//! core's packets handed to a worker to send.
//!
//! [`channel`] gives one [`Producer`] and one [`Consumer`]; each is `Send` and not
//! `Clone`, so one thread enqueues and one dequeues, which is what the SP/SC flags
//! require. Neither side ever blocks: the producer stages packets and [`Producer::flush`]
//! gives back what the ring has no room for. Mbufs still in the ring when
//! both sides are gone are freed with it.

use super::mbuf::{Mbuf, MAX_BURST};
use super::DpdkError;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;

/// One ring element: an owned mbuf and its metadata.
#[repr(C)]
#[derive(Clone, Copy)]
struct Elem<M: Copy> {
    mbuf: *mut dpdk_sys::rte_mbuf,
    meta: M,
}

struct Inner {
    ring: NonNull<dpdk_sys::rte_ring>,
    esize: u32,
    /// Frees the mbufs left in the ring (knows the element type).
    drain: fn(NonNull<dpdk_sys::rte_ring>),
}

// SAFETY: the ring is a DPDK object usable from any thread; Producer and Consumer make
// sure only one thread enqueues and one dequeues.
unsafe impl Send for Inner {}
// SAFETY: as above; Inner itself is only used to free the ring once.
unsafe impl Sync for Inner {}

impl Drop for Inner {
    fn drop(&mut self) {
        (self.drain)(self.ring);
        // SAFETY: both sides are gone (this is the last reference), so nobody uses the
        // ring any more; it was created by rte_ring_create_elem and is freed once.
        unsafe { dpdk_sys::rte_ring_free(self.ring.as_ptr()) }
    }
}

/// Frees every mbuf left in a ring of `Elem<M>` (single consumer: called when no
/// Consumer exists any more).
fn drain_ring<M: Copy>(ring: NonNull<dpdk_sys::rte_ring>) {
    let mut buf: Vec<Elem<M>> = Vec::with_capacity(MAX_BURST);
    loop {
        // SAFETY: buf has room for MAX_BURST elements of the ring's element size; no
        // other consumer exists.
        let n = unsafe {
            dpdk_sys::shim_ring_dequeue_burst_elem(
                ring.as_ptr(),
                buf.as_mut_ptr().cast(),
                std::mem::size_of::<Elem<M>>() as u32,
                MAX_BURST as u32,
            )
        } as usize;
        if n == 0 {
            return;
        }
        // SAFETY: the ring wrote n initialised elements.
        unsafe { buf.set_len(n) };
        for e in buf.drain(..) {
            // SAFETY: every element holds an owned, valid mbuf, dequeued once.
            drop(unsafe { Mbuf::from_raw(NonNull::new_unchecked(e.mbuf)) });
        }
    }
}

/// Creates a ring named `name` (unique among rings, at most 31 bytes) holding up to
/// `size - 1` packets (`size` a power of two), on NUMA socket `socket`.
pub fn channel<M: Copy + Send>(
    name: &str,
    size: u32,
    socket: i32,
) -> Result<(Producer<M>, Consumer<M>), DpdkError> {
    let esize = std::mem::size_of::<Elem<M>>() as u32;
    assert!(
        esize.is_multiple_of(4),
        "ring element size must be a multiple of 4"
    );
    let cname = CString::new(name).map_err(|_| DpdkError::new(format!("ring {name:?}"), -22))?;
    // SAFETY: cname is a valid C string; DPDK copies the name.
    let ptr = unsafe {
        dpdk_sys::rte_ring_create_elem(
            cname.as_ptr(),
            esize,
            size,
            socket,
            dpdk_sys::RING_F_SP_ENQ | dpdk_sys::RING_F_SC_DEQ,
        )
    };
    let ring = NonNull::new(ptr).ok_or_else(|| {
        DpdkError::with_errno(format!("rte_ring_create_elem({name})"), super::rte_errno())
    })?;
    let inner = Arc::new(Inner {
        ring,
        esize,
        drain: drain_ring::<M>,
    });
    Ok((
        Producer {
            inner: inner.clone(),
            staged: Vec::with_capacity(MAX_BURST),
        },
        Consumer {
            inner,
            buf: Vec::with_capacity(MAX_BURST),
            _m: PhantomData,
        },
    ))
}

/// The enqueueing side of a ring.
pub struct Producer<M: Copy> {
    inner: Arc<Inner>,
    staged: Vec<Elem<M>>,
}

// SAFETY: staged holds owned mbufs (see Mbuf's Send); the ring is Send (Inner).
unsafe impl<M: Copy + Send> Send for Producer<M> {}

impl<M: Copy> Producer<M> {
    /// Stages a packet for the next [`Producer::flush`]; at most [`MAX_BURST`] can wait,
    /// and one more is given back.
    #[inline]
    pub fn push(&mut self, m: Mbuf, meta: M) -> Result<(), (Mbuf, M)> {
        if self.staged.len() == MAX_BURST {
            return Err((m, meta));
        }
        self.staged.push(Elem {
            mbuf: m.into_raw().as_ptr(),
            meta,
        });
        Ok(())
    }

    /// Enqueues what was staged; each packet the ring has no room for is handed to
    /// `refused` with its metadata (to be counted and freed in bulk by the caller).
    #[inline]
    pub fn flush(&mut self, mut refused: impl FnMut(Mbuf, M)) {
        let n = self.staged.len();
        if n == 0 {
            return;
        }
        // SAFETY: staged holds n elements of esize bytes; this is the only producer.
        let sent = unsafe {
            dpdk_sys::shim_ring_enqueue_burst_elem(
                self.inner.ring.as_ptr(),
                self.staged.as_ptr().cast(),
                self.inner.esize,
                n as u32,
            )
        } as usize;
        // The ring owns the first `sent` mbufs now; the rest are still ours.
        for e in self.staged.drain(..).skip(sent) {
            // SAFETY: an owned mbuf the ring did not take, handed out once.
            refused(
                unsafe { Mbuf::from_raw(NonNull::new_unchecked(e.mbuf)) },
                e.meta,
            );
        }
    }
}

impl<M: Copy> Drop for Producer<M> {
    fn drop(&mut self) {
        self.flush(|m, _| drop(m));
    }
}

/// The dequeueing side of a ring.
pub struct Consumer<M: Copy> {
    inner: Arc<Inner>,
    buf: Vec<Elem<M>>,
    _m: PhantomData<M>,
}

// SAFETY: buf holds owned mbufs only between a dequeue and its drain.
unsafe impl<M: Copy + Send> Send for Consumer<M> {}

impl<M: Copy> Consumer<M> {
    /// Moves up to `max` (at most [`MAX_BURST`]) packets out of the ring, oldest first,
    /// to the end of `out`. Returns how many.
    #[inline]
    pub fn dequeue(&mut self, out: &mut Vec<(Mbuf, M)>, max: usize) -> usize {
        // SAFETY: buf has capacity for MAX_BURST elements of esize bytes and is empty;
        // this is the only consumer.
        let n = unsafe {
            dpdk_sys::shim_ring_dequeue_burst_elem(
                self.inner.ring.as_ptr(),
                self.buf.as_mut_ptr().cast(),
                self.inner.esize,
                max.min(MAX_BURST) as u32,
            )
        } as usize;
        // SAFETY: the ring wrote n initialised elements.
        unsafe { self.buf.set_len(n) };
        out.extend(self.buf.drain(..).map(|e| {
            // SAFETY: each element holds an owned, valid mbuf, handed out once.
            (
                unsafe { Mbuf::from_raw(NonNull::new_unchecked(e.mbuf)) },
                e.meta,
            )
        }));
        n
    }
}
