//! Traffic profiles: which destinations and flows, which frame sizes.
//!
//! | profile | destinations | 5-tuples |
//! |---|---|---|
//! | `sampled` | a random prefix of the table, then a random address in it, per packet | random per packet |
//! | `few-flows` | `flows` (4) destinations sampled as above | `flows` fixed tuples, sent in runs of `run` (16) packets: hint-friendly |
//! | `many-flows` | sampled as above, one per flow | `flows` (1M) distinct tuples, packet `i` belongs to flow `i mod flows` |
//! | `random` | uniform over the addresses the table covers | random per packet |
//! | `flood` | as `random` | random per packet, and the source uniform over every unicast address |
//!
//! Every destination is covered by the table, so every contender forwards every packet
//! (none goes to ICMP or back out of the input port). Sources are 10.0.1.2-10.0.1.254 (the
//! subnet of the router's input port, never its own 10.0.1.1), but for `flood`, whose
//! sources are drawn from the whole 32-bit space less what a router refuses as a martian
//! source (0/8, 127/8, 224/3, and the router's 10.0.1.0/24 and 10.0.2.0/24), with
//! rp_filter off: a flood no per-flow cache could hold; TTL 64, DF set.

use std::net::Ipv4Addr;

use crate::frame::{self, Flow, Proto};
use crate::rng::Rng;
use crate::table::Table;

/// How destinations and flows are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Per packet: a random prefix of the table, a random address inside it.
    Sampled,
    /// A handful of fixed flows, sent in runs (consecutive packets share a destination).
    FewFlows,
    /// Many distinct 5-tuples (1M by default), each with a prefix-sampled destination.
    ManyFlows,
    /// Per packet: uniformly random over the address space the table covers.
    Random,
    /// As `random`, and sources uniformly random over the unicast 32-bit space.
    Flood,
}

/// Frame sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sizes {
    /// 64 bytes on the wire (60 in the pcap).
    #[value(name = "64")]
    Min,
    /// Simple IMIX: 64, 594 and 1518 bytes in the ratio 7:4:1, drawn per packet.
    Imix,
}

/// L4 protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protos {
    /// All UDP.
    Udp,
    /// All TCP (PSH|ACK data segments).
    Tcp,
    /// UDP and TCP, half each (per packet, or per flow for the flow profiles).
    Mix,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Destination and flow model.
    pub profile: Profile,
    /// Frame sizes.
    pub sizes: Sizes,
    /// L4 protocols.
    pub protos: Protos,
    /// Frames to write.
    pub count: u64,
    /// Seed: the same spec and seed give the same file.
    pub seed: u64,
    /// Flows for `few-flows` and `many-flows`.
    pub flows: u64,
    /// Run length (consecutive packets of one flow) for `few-flows`.
    pub run: u64,
    /// Destination MAC: the router's input port.
    pub dst_mac: [u8; 6],
    /// Source MAC: the sending host.
    pub src_mac: [u8; 6],
}

/// Summary of what was generated.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Frames.
    pub frames: u64,
    /// Bytes on the wire, FCS included.
    pub wire_bytes: u64,
    /// Frames per wire size: 64, 594, 1518.
    pub by_size: [u64; 3],
    /// Distinct destinations.
    pub distinct_dsts: u64,
    /// Distinct 5-tuples.
    pub distinct_flows: u64,
}

const IMIX: [usize; 3] = [64, 594, 1518];
const DPORTS: [u16; 8] = [53, 80, 123, 443, 993, 5060, 8080, 51820];

/// Frames of a [`Spec`], one at a time.
pub struct Generator<'t> {
    table: &'t Table,
    spec: Spec,
    dst_rng: Rng,
    tuple_rng: Rng,
    size_rng: Rng,
    flows: Vec<Flow>,
    next: u64,
}

impl<'t> Generator<'t> {
    /// A generator; flow profiles draw their flows here.
    pub fn new(table: &'t Table, spec: Spec) -> Generator<'t> {
        let mut g = Generator {
            table,
            dst_rng: Rng::new(spec.seed, 1),
            tuple_rng: Rng::new(spec.seed, 2),
            size_rng: Rng::new(spec.seed, 3),
            flows: Vec::new(),
            next: 0,
            spec,
        };
        if matches!(g.spec.profile, Profile::FewFlows | Profile::ManyFlows) {
            let n = g.spec.flows.max(1);
            g.flows = (0..n).map(|k| g.flow_number(k)).collect();
        }
        g
    }

    fn proto(&mut self, k: u64) -> Proto {
        match self.spec.protos {
            Protos::Udp => Proto::Udp,
            Protos::Tcp => Proto::Tcp,
            Protos::Mix
                if matches!(
                    self.spec.profile,
                    Profile::Sampled | Profile::Random | Profile::Flood
                ) =>
            {
                if self.tuple_rng.next_u32() & 1 == 0 {
                    Proto::Udp
                } else {
                    Proto::Tcp
                }
            }
            Protos::Mix => {
                if k.is_multiple_of(2) {
                    Proto::Udp
                } else {
                    Proto::Tcp
                }
            }
        }
    }

    /// Flow `k` of a flow profile: source 10.0.1.(2 + k mod 253) and source port
    /// 1024 + (k / 253) mod 64512 make the tuples of the first 16M flows distinct
    /// whatever the destinations are.
    fn flow_number(&mut self, k: u64) -> Flow {
        let dst = self.table.sample_prefix_address(&mut self.dst_rng);
        let proto = self.proto(k);
        Flow {
            dst_mac: self.spec.dst_mac,
            src_mac: self.spec.src_mac,
            src: Ipv4Addr::new(10, 0, 1, 2 + (k % 253) as u8),
            dst: Ipv4Addr::from(dst),
            sport: 1024 + ((k / 253) % 64512) as u16,
            dport: DPORTS[self.tuple_rng.below(DPORTS.len() as u64) as usize],
            proto,
        }
    }

    fn random_flow(&mut self, dst: u32) -> Flow {
        let proto = self.proto(0);
        Flow {
            dst_mac: self.spec.dst_mac,
            src_mac: self.spec.src_mac,
            src: Ipv4Addr::new(10, 0, 1, 2 + self.tuple_rng.below(253) as u8),
            dst: Ipv4Addr::from(dst),
            sport: 1024 + self.tuple_rng.below(64512) as u16,
            dport: DPORTS[self.tuple_rng.below(DPORTS.len() as u64) as usize],
            proto,
        }
    }

    /// A source from the whole unicast space that no router refuses as a martian.
    fn flood_source(&mut self) -> Ipv4Addr {
        loop {
            let a = Ipv4Addr::from(self.tuple_rng.next_u32());
            let o = a.octets();
            let ours = o[0] == 10 && o[1] == 0 && (o[2] == 1 || o[2] == 2);
            if o[0] != 0 && o[0] != 127 && o[0] < 224 && !ours {
                return a;
            }
        }
    }

    /// The next frame's flow and wire size, or `None` after `count` frames.
    pub fn next_flow(&mut self) -> Option<(Flow, usize)> {
        if self.next >= self.spec.count {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let flow = match self.spec.profile {
            Profile::Sampled => {
                let d = self.table.sample_prefix_address(&mut self.dst_rng);
                self.random_flow(d)
            }
            Profile::Random => {
                let d = self.table.sample_covered_address(&mut self.dst_rng);
                self.random_flow(d)
            }
            Profile::Flood => {
                let d = self.table.sample_covered_address(&mut self.dst_rng);
                let mut f = self.random_flow(d);
                f.src = self.flood_source();
                f
            }
            Profile::FewFlows => {
                self.flows[((i / self.spec.run.max(1)) % self.flows.len() as u64) as usize]
            }
            Profile::ManyFlows => self.flows[(i % self.flows.len() as u64) as usize],
        };
        let size = match self.spec.sizes {
            Sizes::Min => 64,
            Sizes::Imix => match self.size_rng.below(12) {
                0..=6 => IMIX[0],
                7..=10 => IMIX[1],
                _ => IMIX[2],
            },
        };
        Some((flow, size.max(frame::min_wire_size(flow.proto))))
    }
}

impl Iterator for Generator<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let i = self.next;
        self.next_flow()
            .map(|(flow, size)| frame::build(&flow, size, i as u32))
    }
}

/// Wire size class index for [`Summary::by_size`].
pub fn size_class(wire: usize) -> usize {
    IMIX.iter().position(|&s| s == wire).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn table() -> Table {
        Table::from_prefixes(vec![
            (0x0100_0000, 24),
            (0x0200_0000, 16),
            (0x0900_0000, 8),
            (0x0505_0505, 32),
        ])
    }

    fn spec(profile: Profile) -> Spec {
        Spec {
            profile,
            sizes: Sizes::Min,
            protos: Protos::Udp,
            count: 4096,
            seed: 1,
            flows: 4,
            run: 16,
            dst_mac: [2, 0, 0, 0, 0, 1],
            src_mac: [2, 0, 0, 0, 1, 2],
        }
    }

    #[test]
    fn reproducible_and_seed_dependent() {
        let t = table();
        let a: Vec<_> = Generator::new(&t, spec(Profile::Sampled)).collect();
        let b: Vec<_> = Generator::new(&t, spec(Profile::Sampled)).collect();
        let c: Vec<_> = Generator::new(
            &t,
            Spec {
                seed: 2,
                ..spec(Profile::Sampled)
            },
        )
        .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn every_destination_is_routed() {
        let t = table();
        for p in [
            Profile::Sampled,
            Profile::FewFlows,
            Profile::ManyFlows,
            Profile::Random,
        ] {
            for (flow, _) in std::iter::from_fn({
                let mut g = Generator::new(&t, spec(p));
                move || g.next_flow()
            }) {
                assert!(t.covers(u32::from(flow.dst)), "{p:?} {}", flow.dst);
            }
        }
    }

    #[test]
    fn few_flows_come_in_runs_and_many_flows_are_distinct() {
        let t = table();
        let mut g = Generator::new(&t, spec(Profile::FewFlows));
        let v: Vec<Flow> = std::iter::from_fn(|| g.next_flow().map(|x| x.0)).collect();
        assert_eq!(v.iter().collect::<HashSet<_>>().len(), 4);
        assert!(v[..16].iter().all(|f| *f == v[0]) && v[16] != v[0]);

        let s = Spec {
            flows: 100_000,
            count: 100_000,
            protos: Protos::Mix,
            ..spec(Profile::ManyFlows)
        };
        let mut g = Generator::new(&t, s);
        let tuples: HashSet<_> = std::iter::from_fn(|| {
            g.next_flow()
                .map(|x| (x.0.src, x.0.dst, x.0.sport, x.0.dport, x.0.proto))
        })
        .collect();
        assert_eq!(tuples.len(), 100_000);
    }

    #[test]
    fn imix_ratio() {
        let t = table();
        let mut g = Generator::new(
            &t,
            Spec {
                sizes: Sizes::Imix,
                count: 120_000,
                ..spec(Profile::Sampled)
            },
        );
        let mut n = [0u64; 3];
        while let Some((_, s)) = g.next_flow() {
            n[size_class(s)] += 1;
        }
        assert!((n[0] as f64 / 70_000.0 - 1.0).abs() < 0.02, "{n:?}");
        assert!((n[1] as f64 / 40_000.0 - 1.0).abs() < 0.03, "{n:?}");
        assert!((n[2] as f64 / 10_000.0 - 1.0).abs() < 0.05, "{n:?}");
    }

    #[test]
    fn flood_sources_span_the_unicast_space_without_martians() {
        let t = table();
        let mut g = Generator::new(&t, spec(Profile::Flood));
        let mut first_octets = HashSet::new();
        while let Some((f, _)) = g.next_flow() {
            let o = f.src.octets();
            assert!(o[0] != 0 && o[0] != 127 && o[0] < 224, "{}", f.src);
            assert!(
                !(o[0] == 10 && o[1] == 0 && (o[2] == 1 || o[2] == 2)),
                "{}",
                f.src
            );
            first_octets.insert(o[0]);
        }
        assert!(first_octets.len() > 200, "{}", first_octets.len());
    }
}
