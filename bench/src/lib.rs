//! # fastpath-bench: tools for the pipeline benchmark (issue 4)
//!
//! `scripts/bench-pipeline.sh` runs fastpath, `dpdk-testpmd` (io forwarding) and DPDK's
//! `l3fwd` (LPM) on the same I/O (`net_pcap` with `infinite_rx=1` in, `net_null` out) and
//! the same routing table. This crate makes what they are fed:
//!
//! - [`pcap`]: a classic libpcap file writer (linktype Ethernet, microsecond stamps);
//! - [`frame`]: IPv4 UDP and TCP frames with correct IP and L4 checksums;
//! - [`table`]: the real table read with conf's route-file parser, prefix sampling, and
//!   uniform sampling of the address space the table covers;
//! - [`traffic`]: the traffic profiles (`sampled`, `few-flows`, `many-flows`, `random`)
//!   and frame sizes (64 bytes, IMIX 7:4:1);
//! - [`rng`]: a small seeded generator (SplitMix64), so a seed gives the same bytes on
//!   every machine and toolchain.
//!
//! The `fastpath-gen` binary puts them together and also writes l3fwd's `--rule_ipv4` file.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod frame;
pub mod pcap;
pub mod rng;
pub mod table;
pub mod traffic;
