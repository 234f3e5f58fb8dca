//! `fastpath-gen`: benchmark traffic and l3fwd rule files from a real routing table.
//!
//! ```text
//! fastpath-gen pcap --table T.xz --profile sampled --size 64 --count 65536 --seed 1 --out sampled-64.pcap
//! fastpath-gen l3fwd-rules --table T.xz --port 1 --out rules.cfg
//! ```

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use conf::MacAddr;
use fastpath_bench::frame::Flow;
use fastpath_bench::pcap::PcapWriter;
use fastpath_bench::table::Table;
use fastpath_bench::traffic::{size_class, Generator, Profile, Protos, Sizes, Spec, Summary};

#[derive(Parser)]
#[command(
    name = "fastpath-gen",
    about = "Benchmark traffic (pcap) and l3fwd rule files from a real routing table"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a pcap of IPv4 UDP/TCP frames whose destinations the table routes.
    Pcap {
        /// Route file (prefix per line, optional origin AS; plain or .xz).
        #[arg(long)]
        table: PathBuf,
        /// Destination and flow model.
        #[arg(long, value_enum, default_value = "sampled")]
        profile: Profile,
        /// Frame sizes: 64 (60 bytes in the pcap) or imix (64/594/1518 in 7:4:1).
        #[arg(long, value_enum, default_value = "64")]
        size: Sizes,
        /// L4 protocols.
        #[arg(long, value_enum, default_value = "udp")]
        proto: Protos,
        /// Frames to write (many-flows: default = --flows).
        #[arg(long)]
        count: Option<u64>,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Flows for few-flows (default 4) and many-flows (default 1048576).
        #[arg(long)]
        flows: Option<u64>,
        /// few-flows: consecutive packets of one flow.
        #[arg(long, default_value_t = 16)]
        run: u64,
        /// Destination MAC (the router's input port).
        #[arg(long, default_value = "02:00:00:00:00:01")]
        dst_mac: MacAddr,
        /// Source MAC (the sending host).
        #[arg(long, default_value = "02:00:00:00:01:02")]
        src_mac: MacAddr,
        /// Write each frame's reply instead: addresses and ports swapped, the MACs as
        /// given (the frames a two-way profile sends into the router's other port).
        #[arg(long)]
        reply: bool,
        /// Output pcap.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write l3fwd's --rule_ipv4 file: every prefix of the table to one port.
    L3fwdRules {
        /// Route file.
        #[arg(long)]
        table: PathBuf,
        /// l3fwd port id every route goes out of.
        #[arg(long, default_value_t = 1)]
        port: u8,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Pcap {
            table,
            profile,
            size,
            proto,
            count,
            seed,
            flows,
            run,
            dst_mac,
            src_mac,
            reply,
            out,
        } => {
            let t = Table::read(&table)?;
            let flows = flows.unwrap_or(match profile {
                Profile::ManyFlows => 1 << 20,
                _ => 4,
            });
            let count = count.unwrap_or(if profile == Profile::ManyFlows {
                flows
            } else {
                65536
            });
            if count == 0 {
                bail!("--count must be at least 1");
            }
            let spec = Spec {
                profile,
                sizes: size,
                protos: proto,
                count,
                seed,
                flows,
                run,
                dst_mac: dst_mac.0,
                src_mac: src_mac.0,
            };
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut w = PcapWriter::new(BufWriter::with_capacity(1 << 20, file))?;
            let mut sum = Summary::default();
            let (mut dsts, mut tuples) = (HashSet::new(), HashSet::new());
            let mut g = Generator::new(&t, spec);
            let mut i = 0u32;
            while let Some((flow, wire)) = g.next_flow() {
                if !t.covers(u32::from(flow.dst)) {
                    bail!(
                        "internal error: destination {} is not routed by the table",
                        flow.dst
                    );
                }
                let flow = if reply {
                    Flow {
                        src: flow.dst,
                        dst: flow.src,
                        sport: flow.dport,
                        dport: flow.sport,
                        ..flow
                    }
                } else {
                    flow
                };
                w.write(&fastpath_bench::frame::build(&flow, wire, i))?;
                i = i.wrapping_add(1);
                sum.frames += 1;
                sum.wire_bytes += wire as u64;
                sum.by_size[size_class(wire)] += 1;
                dsts.insert(flow.dst);
                tuples.insert((
                    flow.src,
                    flow.dst,
                    flow.sport,
                    flow.dport,
                    flow.proto.number(),
                ));
            }
            w.finish()?;
            sum.distinct_dsts = dsts.len() as u64;
            sum.distinct_flows = tuples.len() as u64;
            println!(
                "{}: {} frames ({:?} {:?} {:?} seed {}), wire bytes {} (avg {:.1}), sizes 64/594/1518: {}/{}/{}, distinct destinations {}, distinct 5-tuples {}; table {} prefixes covering {} addresses",
                out.display(),
                sum.frames,
                profile,
                size,
                proto,
                seed,
                sum.wire_bytes,
                sum.wire_bytes as f64 / sum.frames as f64,
                sum.by_size[0],
                sum.by_size[1],
                sum.by_size[2],
                sum.distinct_dsts,
                sum.distinct_flows,
                t.prefixes.len(),
                t.covered()
            );
        }
        Cmd::L3fwdRules { table, port, out } => {
            let t = Table::read(&table)?;
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            t.write_l3fwd_rules(&mut w, port)?;
            std::io::Write::flush(&mut w)?;
            println!(
                "{}: {} routes to port {port}",
                out.display(),
                t.prefixes.len()
            );
        }
    }
    Ok(())
}
