//! The real routing table for tests and benchmarks: CAIDA RouteViews prefix-to-AS
//! (`rv2-20240406.ipv4.pfx-origin.txt.xz`, 998,042 prefixes, see `shared/data/README.md`),
//! read with `conf::route_file` (next hop = origin AS mod [`NEXTHOPS`]), an oracle, and a
//! small deterministic random generator. Shared by the unit tests, `tests/fib_crosscheck.rs`
//! and `benches/fib.rs` (included there with `#[path]`); needs the `conf` and `xz2`
//! dev-dependencies.
#![allow(dead_code)]

use rustc_hash::FxHashMap as HashMap;
use std::io::BufReader;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Next hops the prefixes are spread over.
pub const NEXTHOPS: u32 = 16;
/// The table's file name under `shared/data`.
pub const RV2: &str = "rv2-20240406.ipv4.pfx-origin.txt.xz";

/// `<repo>/../shared/data/<RV2>`.
pub fn rv2_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(RV2)
}

/// Reads the rv2 table as `(network, length, origin AS mod 16)`, or an error saying what
/// is missing.
pub fn load_rv2() -> Result<Vec<(u32, u8, u32)>, String> {
    let path = rv2_path();
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let xz = xz2::read::XzDecoder::new_multi_decoder(BufReader::with_capacity(1 << 16, file));
    let via: Vec<Ipv4Addr> = (0..NEXTHOPS).map(Ipv4Addr::from).collect();
    let mut routes = Vec::with_capacity(1 << 20);
    conf::route_file::read_from(
        BufReader::with_capacity(1 << 16, xz),
        &path,
        &via,
        |net, gw| routes.push((u32::from(net.network()), net.prefix_len(), u32::from(gw))),
    )
    .map_err(|e| e.to_string())?;
    Ok(routes)
}

/// xorshift64*: deterministic, fast, good enough to pick addresses.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u32() as u64 * n as u64) >> 32) as usize
    }
}

/// A random address inside the prefix.
pub fn inside(rng: &mut Rng, (addr, len, _): (u32, u8, u32)) -> u32 {
    let host = if len == 0 {
        u32::MAX
    } else {
        u32::MAX >> len.min(31)
    };
    if len >= 32 {
        addr
    } else {
        addr | (rng.next_u32() & host)
    }
}

/// `n` addresses: the first half uniformly random, the second half inside random prefixes.
pub fn mixed_addresses(routes: &[(u32, u8, u32)], n: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed);
    let mut v: Vec<u32> = (0..n / 2).map(|_| rng.next_u32()).collect();
    v.extend((n / 2..n).map(|_| {
        let r = routes[rng.below(routes.len())];
        inside(&mut rng, r)
    }));
    v
}

/// The obviously correct longest-prefix match: one hash map per length, probed from the
/// longest length down; only the lengths that have a prefix overlapping the address's /16
/// are probed (a filter, so the answer is still that of the plain per-length probe).
pub struct Oracle {
    by_len: Vec<HashMap<u32, u32>>,
    /// Per /16: bit l set if some prefix of length l overlaps it.
    lens16: Vec<u64>,
}

impl Oracle {
    pub fn new(routes: &[(u32, u8, u32)]) -> Oracle {
        let mut by_len = vec![HashMap::default(); 33];
        let mut lens16 = vec![0u64; 1 << 16];
        for &(a, l, v) in routes {
            let a = a & mask(l);
            by_len[l as usize].insert(a.checked_shr(32 - l as u32).unwrap_or(0), v);
            let first = (a >> 16) as usize;
            let n = if l >= 16 { 1 } else { 1usize << (16 - l) };
            lens16[first..first + n]
                .iter_mut()
                .for_each(|m| *m |= 1 << l);
        }
        Oracle { by_len, lens16 }
    }

    pub fn lookup(&self, a: u32) -> u32 {
        let mut m = self.lens16[(a >> 16) as usize];
        while m != 0 {
            let l = 63 - m.leading_zeros() as u8;
            // Keyed by the prefix bits right-aligned (FxHash of aligned addresses clusters).
            if let Some(&v) =
                self.by_len[l as usize].get(&a.checked_shr(32 - l as u32).unwrap_or(0))
            {
                return v;
            }
            m &= !(1 << l);
        }
        u32::MAX
    }
}

pub fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len.min(32) as u32)
    }
}
