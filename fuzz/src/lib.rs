//! Coverage-guided fuzz targets for every parser and decision of fastpath that takes
//! outside input (see `FUZZING.md` at the top of the checkout): the per-packet pipeline
//! on test buffers with the control core behind it, IPv4 options, ICMP errors to us
//! (PMTU and redirect learning), ARP and the neighbour table, the YAML config, route
//! files, and the CLI's routing commands.
//!
//! The targets are plain functions ([`targets::run`]), so the committed corpus is also
//! replayed by a normal test (`tests/replay.rs`); the libFuzzer binaries
//! (`fuzz_targets/`, feature `libfuzzer`) are built by `scripts/fuzz.sh`.

pub mod frames;
pub mod harness;
pub mod net;
pub mod records;
pub mod targets;
