//! The routing table the traffic is drawn from: prefixes read with
//! `conf::route_file::read_from` (the parser fastpath's route files go through), and
//! the address space they cover, as merged intervals for uniform sampling.

use std::fs::File;
use std::io::BufReader;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Context, Result};
use conf::Ipv4Net;

use crate::rng::Rng;

/// Prefixes of a route file, in file order, and the space they cover.
pub struct Table {
    /// `(network, length)` of every prefix.
    pub prefixes: Vec<(u32, u8)>,
    /// Disjoint, sorted, non-adjacent `[start, end]` intervals: the union of all prefixes.
    intervals: Vec<(u32, u32)>,
    /// `cum[i]`: addresses covered by `intervals[..i]`.
    cum: Vec<u64>,
}

fn first_last(net: u32, len: u8) -> (u32, u32) {
    let host = if len == 0 {
        u32::MAX
    } else {
        (1u32 << (32 - u32::from(len))).wrapping_sub(1)
    };
    (net, net | host)
}

impl Table {
    /// Reads a route file (plain or `.xz`) with fastpath's own parser,
    /// `conf::route_file::read_from`, so the traffic sees exactly the prefixes fastpath
    /// loads.
    pub fn read(path: &Path) -> Result<Table> {
        const BUF: usize = 1 << 16;
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut prefixes = Vec::with_capacity(1 << 20);
        let via = [Ipv4Addr::UNSPECIFIED];
        let push = |p: Ipv4Net, _| prefixes.push((u32::from(p.network()), p.prefix_len()));
        if path.extension().is_some_and(|e| e == "xz") {
            let xz = xz2::read::XzDecoder::new_multi_decoder(BufReader::with_capacity(BUF, file));
            conf::route_file::read_from(BufReader::with_capacity(BUF, xz), path, &via, push)
        } else {
            conf::route_file::read_from(BufReader::with_capacity(BUF, file), path, &via, push)
        }
        .with_context(|| format!("reading {}", path.display()))?;
        Ok(Table::from_prefixes(prefixes))
    }

    /// A table of the given `(network, length)` prefixes.
    pub fn from_prefixes(prefixes: Vec<(u32, u8)>) -> Table {
        let mut spans: Vec<(u32, u32)> = prefixes.iter().map(|&(n, l)| first_last(n, l)).collect();
        spans.sort_unstable();
        let mut intervals: Vec<(u32, u32)> = Vec::new();
        for (s, e) in spans {
            match intervals.last_mut() {
                Some(last) if u64::from(s) <= u64::from(last.1) + 1 => last.1 = last.1.max(e),
                _ => intervals.push((s, e)),
            }
        }
        let mut cum = Vec::with_capacity(intervals.len() + 1);
        let mut total = 0u64;
        for &(s, e) in &intervals {
            cum.push(total);
            total += u64::from(e - s) + 1;
        }
        cum.push(total);
        Table {
            prefixes,
            intervals,
            cum,
        }
    }

    /// Number of addresses some prefix covers.
    pub fn covered(&self) -> u64 {
        *self.cum.last().unwrap_or(&0)
    }

    /// Whether some prefix covers `a`.
    pub fn covers(&self, a: u32) -> bool {
        let i = self.intervals.partition_point(|&(s, _)| s <= a);
        i > 0 && a <= self.intervals[i - 1].1
    }

    /// `sampled`: a uniformly random prefix of the table, then a uniformly random
    /// address inside it. Weighs every prefix alike, so most draws land in /24s and
    /// longer (the deep end of a lookup), whatever their share of the address space.
    pub fn sample_prefix_address(&self, rng: &mut Rng) -> u32 {
        let (net, len) = self.prefixes[rng.below(self.prefixes.len() as u64) as usize];
        let (first, last) = first_last(net, len);
        first + rng.below(u64::from(last - first) + 1) as u32
    }

    /// `random`: uniformly random over the addresses the table covers (every address
    /// some prefix routes is equally likely; no draw falls outside the table, so every
    /// contender forwards every packet). Weighs prefixes by their size: mostly short ones.
    pub fn sample_covered_address(&self, rng: &mut Rng) -> u32 {
        let k = rng.below(self.covered());
        let i = self.cum.partition_point(|&c| c <= k) - 1;
        self.intervals[i].0 + (k - self.cum[i]) as u32
    }

    /// l3fwd's `--rule_ipv4` file: `R<prefix>/<len> <port>` for every prefix.
    pub fn write_l3fwd_rules(
        &self,
        out: &mut impl std::io::Write,
        port: u8,
    ) -> std::io::Result<()> {
        for &(n, l) in &self.prefixes {
            writeln!(out, "R{}/{} {}", Ipv4Addr::from(n), l, port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> (u32, u8) {
        let p: Ipv4Net = s.parse().unwrap();
        (u32::from(p.network()), p.prefix_len())
    }

    #[test]
    fn intervals_merge_nested_and_adjacent() {
        let t = Table::from_prefixes(vec![
            net("1.0.0.0/24"),
            net("1.0.0.128/25"),
            net("1.0.1.0/24"),
            net("9.0.0.0/8"),
        ]);
        assert_eq!(
            t.intervals,
            vec![(0x0100_0000, 0x0100_01ff), (0x0900_0000, 0x09ff_ffff)]
        );
        assert_eq!(t.covered(), 512 + (1 << 24));
        assert!(t.covers(0x0100_01ff) && !t.covers(0x0100_0200) && t.covers(0x0900_0000));
    }

    #[test]
    fn samples_are_covered() {
        let t = Table::from_prefixes(vec![net("1.0.0.0/24"), net("5.5.5.5/32"), net("9.0.0.0/8")]);
        let mut r = Rng::new(3, 0);
        for _ in 0..10_000 {
            assert!(t.covers(t.sample_covered_address(&mut r)));
            assert!(t.covers(t.sample_prefix_address(&mut r)));
        }
    }
}
