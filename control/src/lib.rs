//! # control: the control core of fastpath
//!
//! Owns every mutable object (config, RIB, rules, next-hop objects, the snapshot being
//! prepared), brings the data plane up on EAL and down again, and runs the command
//! language for the `fastpath>` prompt, the control socket and `--cmdline-file`. The
//! `fastpath` binary (`main.rs`) parses arguments, starts this, and reports.
//!
//! | file | job |
//! |---|---|
//! | `event_loop.rs` | the one loop: requests, `route load` answers, RCU reclaim, stops |
//! | `commands.rs` | the command language: port and forwarding commands, `help`, `quit` |
//! | `routing.rs` | the routing commands on [`routing::Routing`] (testable without EAL) |
//! | `change_cmd.rs` | `route add/del/replace`, `rule add/del`, `nexthop add/del/show` |
//! | `load.rs` | `route load`, all or nothing, read on a thread of its own |
//! | `routes_cmd.rs` | text of `route show/get`, `rule show`, `show fib stats` |
//! | `reply.rs` | answers, whole or in pieces ([`reply::Cursor`]) |
//! | `ctl.rs` | the control socket, bounded; `ask` for the prompt and socket threads |
//! | `repl.rs` | the interactive prompt |
//! | `router.rs`, `rib.rs` | the RIB and the snapshot being prepared, publication (RCU) |
//! | `compile.rs` | config -> router at start; route targets -> FIB route types |
//! | `dataplane.rs` | EAL bring-up and shutdown of ports, pool and workers |
//! | `show.rs` | testpmd-layout port and forwarding counters |
//! | `neigh.rs` | the neighbour state machine (neighbour.c): NUD states, timers, queues, GC |
//! | `slowpath.rs` | punted packets: ARP (arp.c), held packets, ARP requests, host unreachable |
//! | `neigh_cmd.rs` | `neigh show/add/replace/del/flush` |
//! | `capture_cmd.rs` | `capture start/stop/status`: in-app pcapng capture |
//! | `metrics.rs` | the metric families (counters, gauges, latency) for monitoring |
//! | `http.rs` | the Prometheus endpoint (`GET /metrics`) |
//! | `telemetry.rs` | fastpath's DPDK telemetry commands (`/fastpath/*`) |
//! | `testpmd_cmd.rs` | testpmd's `start`/`stop`, `port start/stop`, xstats, `show config rxtx/cores/fwd` |
//! | `complete.rs` | TAB completion of the command words at the prompt |

pub mod capture_cmd;
pub mod change_cmd;
pub mod commands;
pub mod compile;
pub mod complete;
pub mod ctl;
pub mod dataplane;
pub mod event_loop;
pub mod exceptions;
pub mod flows_cmd;
pub mod http;
pub mod load;
pub mod metrics;
pub mod neigh;
pub mod neigh_cmd;
pub mod repl;
pub mod reply;
pub mod rib;
pub mod router;
pub mod routes_cmd;
pub mod routing;
pub mod show;
pub mod slowpath;
pub mod telemetry;
pub mod testpmd_cmd;
