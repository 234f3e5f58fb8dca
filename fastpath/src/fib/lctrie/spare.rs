//! The root array of the version before last, recycled: an update copies 1 MiB of root
//! entries otherwise, which at batches of 100 changes cost as much as the changes
//! themselves. Control core only.
//!
//! Versions alternate between two root buffers, as a left-right pair. After an update from
//! version X to Y, the spare holds X's root and the slots Y changed. The next update, from
//! Y, takes the spare back once every reader has left X (the buffer is then uniquely
//! owned), copies those slots from Y, and has a private copy of Y's root for the price of
//! the changed slots. When it cannot (X is still read, the update is not from Y, or a
//! compaction rewrote the root wholesale) it copies the whole array, as before.

use std::sync::{Arc, Mutex, Weak};

/// Shared by the versions of one trie (cloned with their bookkeeping).
#[derive(Default)]
pub(super) struct RootSpare(Mutex<Option<Spare>>);

struct Spare {
    /// The root of the version before `next`.
    buf: Arc<[u32]>,
    /// The root made from it; weak, so that it never keeps a root from being recycled.
    next: Weak<[u32]>,
    /// The slots `next` changed; None: unknown (every slot).
    diff: Option<Vec<u32>>,
}

impl RootSpare {
    /// A uniquely owned copy of `root`, ready to be modified.
    pub fn checkout(&self, root: &Arc<[u32]>) -> Arc<[u32]> {
        let spare = self.0.lock().expect("root spare").take();
        if let Some(Spare {
            mut buf,
            next,
            diff: Some(diff),
        }) = spare
        {
            let from_root = std::ptr::eq(next.as_ptr(), Arc::as_ptr(root));
            drop(next);
            if let (true, Some(b)) = (from_root, Arc::get_mut(&mut buf)) {
                for &s in &diff {
                    b[s as usize] = root[s as usize];
                }
                return buf;
            }
        }
        Arc::from(&root[..])
    }

    /// Records that `new` was made from `prev` by changing the slots `diff` (None: any).
    pub fn checkin(&self, prev: &Arc<[u32]>, new: &Arc<[u32]>, diff: Option<Vec<u32>>) {
        *self.0.lock().expect("root spare") = Some(Spare {
            buf: prev.clone(),
            next: Arc::downgrade(new),
            diff,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycles_the_buffer_once_it_is_free_and_copies_otherwise() {
        let spare = RootSpare::default();
        let x: Arc<[u32]> = Arc::from(vec![1, 2, 3, 4]);
        let mut y = spare.checkout(&x);
        Arc::get_mut(&mut y).unwrap()[1] = 20;
        spare.checkin(&x, &y, Some(vec![1]));

        // x is still held here (a reader): a full copy.
        let z = spare.checkout(&y);
        assert_eq!(&z[..], &[1, 20, 3, 4]);
        assert!(!Arc::ptr_eq(&z, &x));

        // Once x is left to the spare alone, it is patched and returned.
        spare.checkin(&x, &y, Some(vec![1]));
        let x_ptr = Arc::as_ptr(&x);
        drop(x);
        let mut z = spare.checkout(&y);
        assert!(
            std::ptr::eq(Arc::as_ptr(&z), x_ptr),
            "the old buffer is reused"
        );
        assert_eq!(&z[..], &[1, 20, 3, 4]);
        Arc::get_mut(&mut z).unwrap()[3] = 40;

        // Not from the root it was recorded for, or an unknown diff: a copy.
        spare.checkin(&y, &z, Some(vec![3]));
        let other: Arc<[u32]> = Arc::from(vec![9, 9, 9, 9]);
        assert_eq!(&spare.checkout(&other)[..], &[9, 9, 9, 9]);
        spare.checkin(&y, &z, None);
        drop(y);
        assert_eq!(&spare.checkout(&z)[..], &[1, 20, 3, 40]);
    }
}
