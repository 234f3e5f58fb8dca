//! fastpath: the data plane of a DPDK IPv4 router, after the Linux kernel's routing code.
//!
//! Map (kernel file -> module):
//! - `wire/`: zero-copy header views (Ethernet, ARP, IPv4, ICMP) and checksums.
//! - `packet`: the [`packet::PacketBuf`] the pipeline edits (mbuf or test buffer).
//! - `pipeline`: one frame through the data plane (L2 filter, dispatch), [`pipeline::Verdict`].
//! - `arp` (arp.c), `ip_input` (ip_input.c + route.c input checks), `ip_forward`
//!   (ip_forward.c), `icmp` (icmp.c: errors, echo, rate limit), `local`
//!   (ip_local_deliver: echo, and UDP/TCP/other refused as Linux does with no listener).
//! - `route` (route.c): FIB result -> next hop -> [`route::Dst`], one per next hop
//!   (interface, source MAC, MTU, gateway or on-link), and `dst_mtu`.
//! - `output` (ip_output.c): `ip_finish_output2`, the neighbour of the dst resolved at
//!   output and the Ethernet header written.
//! - `fib` (fib_trie.c): longest-prefix match; `nexthop` (fib_semantics.c: `fib_nh`);
//!   `neigh` (neighbour.c: the table and `neigh_output`'s answer); `iface`
//!   (net_device/in_device).
//! - `snapshot`: the immutable state control publishes and workers read.
//! - `worker`: the per-lcore poll loop; `stats`, `drop`: counters and drop reasons.
//! - `dpdk/`: the thin safe layer over `dpdk-sys` (the only `unsafe` in this crate).
//!
//! Glossary: `rtable`/`dst_entry` -> [`route::Dst`]; `dst_mtu` -> [`route::dst_mtu`];
//! `neigh_output` -> [`neigh::NeighTable::neigh_output`] ([`neigh::NeighOutput`]);
//! `ip_finish_output2` -> [`output::ip_finish_output2`]; `fib_nh` -> [`nexthop::Nexthop`];
//! `RTN_*` -> [`fib::RouteType`]; `skb->pkt_type` -> [`pipeline::L2Dest`];
//! `in_ifaddr` -> [`iface::IfAddr`].
#![deny(unsafe_code)]

pub mod arp;
#[allow(unsafe_code)]
pub mod dpdk;
pub mod drop;
pub mod fib;
pub mod icmp;
pub mod icmp_limit;
pub mod iface;
pub mod ip_forward;
pub mod ip_input;
pub mod local;
pub mod neigh;
pub mod nexthop;
pub mod output;
pub mod packet;
pub mod pipeline;
pub mod rcu;
pub mod route;
pub mod snapshot;
pub mod stats;
pub mod wire;
pub mod worker;
