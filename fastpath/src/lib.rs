//! fastpath: the data plane of a DPDK IPv4 router, after the Linux kernel's routing code.
//!
//! Map, top-down along a packet's path (kernel file -> module). A module uses only modules
//! below it, never one above (`tests/layering.rs` checks this):
//! - `worker`: the per-lcore poll loop: rx burst, process, tx buffers, drain; `fwd_gate`:
//!   testpmd's `start`/`stop` and `port start`/`port stop` as the workers see them.
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
//! - `route` (route.c): input route decisions, martians and the source check
//!   (`fib_validate_source`: rp_filter, redirects), FIB result -> next hop ->
//!   [`route::Dst`], one per next hop (interface, source MAC, MTU, gateway or on-link, the
//!   gateway's neighbour), a nexthop exception filled in, and `dst_mtu`.
//! - `dst_cache` (route.c's `nhc_pcpu_rth_output`): each lcore's dst per next hop, checked
//!   against the snapshot's genid. `fnhe` (route.c's `fib_nh_exception`): the bounded
//!   per-next-hop exception tables (PMTU, redirects) the control core learns.
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
//!
//! Routing caches: `rt_genid` / `rt_genid_bump_ipv4` -> [`snapshot::Snapshot::genid`]
//! (bumped by every publish: `control/src/router.rs`); `rt_cache_valid` +
//! `nhc_pcpu_rth_output` + `rt_cache_route` -> [`dst_cache::DstCache::get`];
//! `fib_nh_exception` -> [`fnhe::Fnhe`] in [`fnhe::Exceptions`] (`nhc_exceptions`);
//! `find_exception` -> [`fnhe::Exceptions::find`]; `update_or_create_fnhe` ->
//! [`fnhe::Exceptions::update_or_create`]; `rt_bind_exception` / `fill_route_from_fnhe` ->
//! [`route::exception_dst`] / [`route::apply_exception`]; `FNHE_HASH_SIZE`,
//! `FNHE_RECLAIM_DEPTH` -> [`fnhe::FNHE_HASH_SIZE`], [`fnhe::FNHE_RECLAIM_DEPTH`];
//! `ip_dst_mtu_maybe_forward` -> [`route::dst_mtu_forward`]; `ip_mtu_locked` ->
//! [`route::Dst::mtu_locked`]; `ip_extract_route_hint` / `ip_can_use_hint` -> the hint pass
//! of [`pipeline::process_burst`]; `fib_validate_source` / `__fib_validate_source` ->
//! [`route::validate_source`]; `IN_DEV_RPFILTER` -> [`snapshot::Snapshot::rp_filter`];
//! `__ip_rt_update_pmtu`, `__ip_do_redirect`, `icmp_err` -> `control/src/exceptions.rs`
//! (`Learner`), fed by [`punt::Punt::Icmp`] from [`local`].
#![deny(unsafe_code)]

pub mod arp;
pub mod capture;
pub mod conntrack;
#[allow(unsafe_code)]
pub mod dpdk;
pub mod drop;
pub mod dst_cache;
pub mod fib;
pub mod flow_offload;
pub mod flowtable;
pub mod fnhe;
pub mod fwd_gate;
pub mod icmp;
pub mod icmp_limit;
pub mod iface;
pub mod ip_forward;
pub mod ip_input;
pub mod latency;
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
