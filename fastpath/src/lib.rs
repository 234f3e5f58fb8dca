//! fastpath: the data plane of a DPDK IPv4 router, after the Linux kernel's routing code.
//!
//! Map, top-down along a packet's path (kernel file -> module). A module uses only modules
//! below it, never one above (`tests/layering.rs` checks this):
//! - `worker`: the per-lcore poll loop: rx burst, process, tx buffers, drain.
//! - `pipeline`: a burst or one frame through the data plane: the L2 filter, then ARP to
//!   the control core (`punt`: what a worker hands it, through `dpdk::ring`) or `ip_input`
//!   (ip_input.c: validation, martians, options, then the route lookup and the dispatch
//!   on its result). `arp` (arp.c: `arp_process`, requests) runs on the control core.
//! - `ip_forward` (ip_forward.c) and `local` (ip_local_deliver: echo, and UDP/TCP/other
//!   refused as Linux does with no listener).
//! - `icmp` (icmp.c): errors and echo replies, built in the packet's own buffer.
//! - `output` (ip_output.c): `ip_finish_output2`, the neighbour of the dst resolved at
//!   output and the Ethernet header written; `ip_fragment` (`ip_do_fragment`), run by
//!   the worker for a [`packet::Verdict::Fragment`].
//! - `route` (route.c): input route decisions and martians, FIB result -> next hop ->
//!   [`route::Dst`], one per next hop (interface, source MAC, MTU, gateway or on-link),
//!   and `dst_mtu`.
//! - Shared by every stage: `lcore` ([`lcore::LcoreCtx`]: the lcore's counters, ICMP rate
//!   limiters from `icmp_limit`, IP ids, sampled cycle accounting); `packet`
//!   ([`packet::PacketBuf`], mbuf or test buffer; [`packet::L2Dest`]; [`packet::Verdict`]);
//!   `stats`, `drop`: counters and drop reasons.
//! - The state workers read: `snapshot` (what control publishes through `rcu`), `fib`
//!   (fib_trie.c: longest-prefix match and rules), `nexthop` (fib_semantics.c: `fib_nh`),
//!   `neigh` (neighbour.c: the table and `neigh_output`'s answer), `iface`
//!   (net_device/in_device).
//! - `wire/`: zero-copy header views (Ethernet, ARP, IPv4, ICMP) and checksums; `dpdk/`:
//!   the thin safe layer over `dpdk-sys` (the only `unsafe` in this crate).
//!
//! Glossary: `rtable`/`dst_entry` -> [`route::Dst`]; `dst_mtu` -> [`route::dst_mtu`];
//! `neigh_output` -> [`neigh::NeighTable::neigh_output`] ([`neigh::NeighOutput`]);
//! `ip_finish_output2` -> [`output::ip_finish_output2`]; `ip_do_fragment` ->
//! [`output::ip_fragment`]; `fib_nh` -> [`nexthop::Nexthop`];
//! `RTN_*` -> [`fib::RouteType`]; `skb->pkt_type` -> [`packet::L2Dest`];
//! `in_ifaddr` -> [`iface::IfAddr`]; `icmp_global_allow` -> [`icmp_limit::RateLimiter`];
//! `ip_rt_send_redirect` -> [`icmp::send_redirect`] with [`icmp_limit::RedirectPeers`];
//! `IPSKB_DOREDIRECT` -> [`route::validate_source`]; `in_device->cnf` -> [`snapshot::DevConf`];
//! `ip_list_rcv` -> [`pipeline::process_burst`].
#![deny(unsafe_code)]

pub mod arp;
#[allow(unsafe_code)]
pub mod dpdk;
pub mod drop;
pub mod dst_cache;
pub mod fib;
pub mod fnhe;
pub mod icmp;
pub mod icmp_limit;
pub mod iface;
pub mod ip_forward;
pub mod ip_input;
pub mod lcore;
pub mod local;
pub mod neigh;
pub mod nexthop;
pub mod output;
pub mod packet;
pub mod pipeline;
pub mod punt;
pub mod rcu;
pub mod route;
pub mod snapshot;
pub mod stats;
pub mod wire;
pub mod worker;
