//! DPDK's own longest-prefix-match tables, `rte_lpm` (DIR-24-8 with a rules table) and
//! `rte_fib` (dir24_8 over an `rte_rib`), wrapped for the FIB benchmark and the full-table
//! cross-check of [`crate::fib::lctrie`]. Not used on the packet path.
//!
//! Both need EAL (they allocate from its heap) and are freed on drop. Lookups go through
//! in bursts of at most [`BURST`] addresses (`rte_lpm_lookup_bulk` keeps a variable-length
//! array of `n` indexes on the stack).

use super::DpdkError;
use std::ffi::CString;
use std::ptr::NonNull;

/// Largest burst handed to DPDK's bulk lookups in one call.
pub const BURST: usize = 64;

/// `RTE_LPM_LOOKUP_SUCCESS`: set in a raw `rte_lpm` lookup result that matched.
pub const LPM_LOOKUP_SUCCESS: u32 = 0x0100_0000;
/// The next hop bits of a raw `rte_lpm` result (next hops are 24 bits).
pub const LPM_NH_MASK: u32 = 0x00ff_ffff;
/// Entries of `rte_lpm`'s tbl24, and of a tbl8 group.
const TBL24_ENTRIES: usize = 1 << 24;
const TBL8_GROUP_ENTRIES: usize = 256;

/// An `rte_lpm` table. Owned; freed on drop.
pub struct Lpm {
    raw: NonNull<dpdk_sys::rte_lpm>,
    max_rules: u32,
    number_tbl8s: u32,
}

impl Lpm {
    /// `rte_lpm_create(name, SOCKET_ID_ANY, {max_rules, number_tbl8s})`. `name` must be
    /// unique among the process's LPM tables.
    pub fn new(name: &str, max_rules: u32, number_tbl8s: u32) -> Result<Lpm, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::with_errno(format!("lpm name {name:?}"), 22))?;
        let config = dpdk_sys::rte_lpm_config {
            max_rules,
            number_tbl8s,
            flags: 0,
        };
        // SAFETY: `cname` is a valid NUL-terminated string and `config` a valid config, both
        // alive for the call; rte_lpm_create copies what it keeps. Needs EAL (its heap).
        let raw =
            unsafe { dpdk_sys::rte_lpm_create(cname.as_ptr(), dpdk_sys::SOCKET_ID_ANY, &config) };
        let raw = NonNull::new(raw)
            .ok_or_else(|| DpdkError::new(format!("rte_lpm_create({name})"), 0))?;
        Ok(Lpm {
            raw,
            max_rules,
            number_tbl8s,
        })
    }

    /// Adds (or replaces) a route; `next_hop` has 24 bits.
    pub fn add(&mut self, addr: u32, len: u8, next_hop: u32) -> Result<(), DpdkError> {
        // SAFETY: `raw` is a live table owned by self; &mut self excludes concurrent use.
        let r = unsafe { dpdk_sys::rte_lpm_add(self.raw.as_ptr(), addr, len, next_hop) };
        if r < 0 {
            return Err(DpdkError::new(format!("rte_lpm_add({addr:#x}/{len})"), r));
        }
        Ok(())
    }

    pub fn delete(&mut self, addr: u32, len: u8) -> Result<(), DpdkError> {
        // SAFETY: as in `add`.
        let r = unsafe { dpdk_sys::rte_lpm_delete(self.raw.as_ptr(), addr, len) };
        if r < 0 {
            return Err(DpdkError::new(
                format!("rte_lpm_delete({addr:#x}/{len})"),
                r,
            ));
        }
        Ok(())
    }

    /// Raw bulk lookup (`rte_lpm_lookup_bulk`): `out[i]` has [`LPM_LOOKUP_SUCCESS`] set and
    /// the next hop in its low 24 bits when `ips[i]` matched.
    ///
    /// # Panics
    /// If `out` is shorter than `ips`.
    #[inline]
    pub fn lookup_bulk_raw(&self, ips: &[u32], out: &mut [u32]) {
        assert!(out.len() >= ips.len());
        for (i, o) in ips.chunks(BURST).zip(out.chunks_mut(BURST)) {
            // SAFETY: `raw` is live; `i` and `o` are valid for i.len() <= BURST elements
            // (the stack array DPDK makes has that many entries); lookups only read the
            // table, which nothing modifies while &self is held.
            unsafe {
                dpdk_sys::shim_lpm_lookup_bulk(
                    self.raw.as_ptr(),
                    i.as_ptr(),
                    o.as_mut_ptr(),
                    i.len() as u32,
                )
            };
        }
    }

    /// Bulk lookup decoded: the next hop, or `u32::MAX` when no route matched.
    pub fn lookup_bulk(&self, ips: &[u32], out: &mut [u32]) {
        self.lookup_bulk_raw(ips, out);
        for o in out[..ips.len()].iter_mut() {
            *o = if *o & LPM_LOOKUP_SUCCESS != 0 {
                *o & LPM_NH_MASK
            } else {
                u32::MAX
            };
        }
    }

    /// tbl8 groups in use (those whose first entry has `valid_group` set).
    pub fn tbl8_groups_used(&self) -> usize {
        // SAFETY: `tbl8` points to `number_tbl8s * 256` entries allocated by rte_lpm_create
        // for the table's lifetime; we only read them, with no concurrent writer (&self).
        let tbl8 = unsafe { (*self.raw.as_ptr()).tbl8 };
        (0..self.number_tbl8s as usize)
            // SAFETY: g * 256 < number_tbl8s * 256, inside the allocation (see above).
            .filter(|g| unsafe { (*tbl8.add(g * TBL8_GROUP_ENTRIES)).valid_group() } != 0)
            .count()
    }

    /// Bytes of the table as configured and used: tbl24 (2^24 x 4 B), the tbl8 groups in
    /// use (256 x 4 B each), and the rules table (`max_rules` x 8 B, allocated at create).
    pub fn memory_bytes(&self) -> usize {
        4 * TBL24_ENTRIES
            + 4 * TBL8_GROUP_ENTRIES * self.tbl8_groups_used()
            + 8 * self.max_rules as usize
    }

    /// Bytes allocated at create: tbl24, every configured tbl8 group, the rules table.
    pub fn allocated_bytes(&self) -> usize {
        4 * TBL24_ENTRIES
            + 4 * TBL8_GROUP_ENTRIES * self.number_tbl8s as usize
            + 8 * self.max_rules as usize
    }
}

impl Drop for Lpm {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rte_lpm_create and is freed exactly once, here.
        unsafe { dpdk_sys::rte_lpm_free(self.raw.as_ptr()) };
    }
}

/// An `rte_fib` of type dir24_8 with 4-byte next hops. Owned; freed on drop.
pub struct Fib {
    raw: NonNull<dpdk_sys::rte_fib>,
    max_routes: u32,
    num_tbl8: u32,
}

impl Fib {
    /// Largest next hop of a dir24_8 table with 4-byte entries (one bit flags tbl8s).
    pub const MAX_NH: u64 = (1 << 31) - 1;
    /// What [`Fib::lookup_bulk`] returns where no route matches.
    pub const DEFAULT_NH: u64 = Fib::MAX_NH;

    /// `rte_fib_create(name, SOCKET_ID_ANY, {RTE_FIB_DIR24_8, default_nh = DEFAULT_NH,
    /// max_routes, dir24_8 {RTE_FIB_DIR24_8_4B, num_tbl8}})`.
    pub fn new(name: &str, max_routes: u32, num_tbl8: u32) -> Result<Fib, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::with_errno(format!("fib name {name:?}"), 22))?;
        let mut conf = dpdk_sys::rte_fib_conf {
            type_: dpdk_sys::RTE_FIB_DIR24_8,
            default_nh: Fib::DEFAULT_NH,
            max_routes: max_routes as i32,
            rib_ext_sz: 0,
            ..Default::default()
        };
        conf.__bindgen_anon_1.dir24_8 = dpdk_sys::rte_fib_conf__bindgen_ty_1__bindgen_ty_1 {
            nh_sz: dpdk_sys::RTE_FIB_DIR24_8_4B,
            num_tbl8,
        };
        // SAFETY: `cname` and `conf` are valid and alive for the call; rte_fib_create copies
        // what it keeps. Needs EAL.
        let raw =
            unsafe { dpdk_sys::rte_fib_create(cname.as_ptr(), dpdk_sys::SOCKET_ID_ANY, &mut conf) };
        let raw = NonNull::new(raw)
            .ok_or_else(|| DpdkError::new(format!("rte_fib_create({name})"), 0))?;
        Ok(Fib {
            raw,
            max_routes,
            num_tbl8,
        })
    }

    pub fn add(&mut self, addr: u32, len: u8, next_hop: u64) -> Result<(), DpdkError> {
        // SAFETY: `raw` is a live table owned by self; &mut self excludes concurrent use.
        let r = unsafe { dpdk_sys::rte_fib_add(self.raw.as_ptr(), addr, len, next_hop) };
        if r < 0 {
            return Err(DpdkError::new(format!("rte_fib_add({addr:#x}/{len})"), r));
        }
        Ok(())
    }

    pub fn delete(&mut self, addr: u32, len: u8) -> Result<(), DpdkError> {
        // SAFETY: as in `add`.
        let r = unsafe { dpdk_sys::rte_fib_delete(self.raw.as_ptr(), addr, len) };
        if r < 0 {
            return Err(DpdkError::new(
                format!("rte_fib_delete({addr:#x}/{len})"),
                r,
            ));
        }
        Ok(())
    }

    /// Bulk lookup (`rte_fib_lookup_bulk`): next hop, or [`Fib::DEFAULT_NH`].
    ///
    /// # Panics
    /// If `out` is shorter than `ips`.
    #[inline]
    pub fn lookup_bulk(&self, ips: &[u32], out: &mut [u64]) {
        assert!(out.len() >= ips.len());
        for (i, o) in ips.chunks(BURST).zip(out.chunks_mut(BURST)) {
            // SAFETY: `raw` is live; `i` and `o` are valid for i.len() elements; DPDK takes
            // `ips` as non-const but only reads it; nothing modifies the table meanwhile.
            unsafe {
                dpdk_sys::rte_fib_lookup_bulk(
                    self.raw.as_ptr(),
                    i.as_ptr().cast_mut(),
                    o.as_mut_ptr(),
                    i.len() as i32,
                )
            };
        }
    }

    /// Bytes as configured, estimated from DPDK 22.11's `dir24_8_create` and
    /// `rte_rib_create`: tbl24 (2^24 x 4 B), `num_tbl8 + 1` tbl8 groups (256 x 4 B), and the
    /// RIB's node pool (`max_routes` nodes of 64 B: a 40 B `rte_rib_node` plus mempool
    /// header and padding).
    pub fn allocated_bytes(&self) -> usize {
        4 * TBL24_ENTRIES
            + 4 * TBL8_GROUP_ENTRIES * (self.num_tbl8 as usize + 1)
            + 64 * self.max_routes as usize
    }
}

impl Drop for Fib {
    fn drop(&mut self) {
        // SAFETY: `raw` came from rte_fib_create and is freed exactly once, here.
        unsafe { dpdk_sys::rte_fib_free(self.raw.as_ptr()) };
    }
}
