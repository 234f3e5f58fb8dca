//! The flowtable of established flows (nftables' flowtable, `nf_flow_table_core.c`)
//! over the worker's own connection tracking ([`crate::conntrack`]): the per-worker
//! state ([`Flows`]: the bounded table of connections, the offloaded count, incremental
//! expiry, flush and dump), what each direction of an offloaded flow forwards with
//! ([`FlowRoute`]), and the control core's window on it ([`FlowCtl`]). The packet-path
//! hooks are in [`crate::flow_offload`].
//!
//! A connection enters the table at its first reply ([`Pending`] holds a tag of each
//! unanswered first packet until then), so one-way floods of SYNs or of random sources
//! never reach it. The table is bounded ([`table::FlowTable`]): a new connection takes a
//! free slot, else the slot of the least recently used one not established (a handshake
//! not completed, a closing connection), else none (it is forwarded untracked and counted
//! as `flow_table_full`). An offloaded flow idle for `nf_flowtable_*_timeout` leaves
//! the flowtable and stays tracked; a connection idle past its state's timeout is
//! removed.

mod ctl;
mod pending;
mod table;

pub use ctl::{FlowCtl, FlowInfo, FlowOp};
pub use pending::Pending;
pub use table::{Flow, FlowRoute, FlowTable, Insert};

use crate::conntrack::CtTimeouts;
use crate::iface::IfIndex;
use crate::stats::{LcoreStats, Stat};

/// A connection tuple in one direction: the 5-tuple and the interface it comes in on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tuple {
    pub saddr: u32,
    pub daddr: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub iif: IfIndex,
}

/// Two words into the hasher rather than six fields: one round each.
impl std::hash::Hash for Tuple {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64((self.saddr as u64) << 32 | self.daddr as u64);
        h.write_u64(
            (self.sport as u64) << 48
                | (self.dport as u64) << 32
                | (self.proto as u64) << 16
                | self.iif as u64,
        );
    }
}

impl Tuple {
    /// The tuple of the other direction, arriving on `iif`.
    pub fn reply(&self, iif: IfIndex) -> Tuple {
        Tuple {
            saddr: self.daddr,
            daddr: self.saddr,
            sport: self.dport,
            dport: self.sport,
            proto: self.proto,
            iif,
        }
    }
}

/// Why an offloaded flow left the flowtable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    /// Its decision was made under an older genid.
    Genid,
    Fin,
    Rst,
    /// Idle for the flowtable timeout, or its connection expired.
    Timeout,
    /// `flush flows`.
    Flush,
}

impl Teardown {
    const fn stat(self) -> Stat {
        match self {
            Teardown::Genid => Stat::FlowTeardownGenid,
            Teardown::Fin => Stat::FlowTeardownFin,
            Teardown::Rst => Stat::FlowTeardownRst,
            Teardown::Timeout => Stat::FlowTeardownTimeout,
            Teardown::Flush => Stat::FlowTeardownFlush,
        }
    }
}

/// What forwarding leaves for [`crate::flow_offload::track`] about a packet it forwards (set once the packet
/// passed its TTL and MTU checks, so never for one answered with an ICMP error): the
/// MTU it checked and the next hop (whose neighbour the frame goes to).
#[derive(Debug, Clone, Copy)]
pub struct FwdNote {
    pub mtu: u16,
    pub nexthop: std::net::Ipv4Addr,
}

/// One worker's connections and flowtable, with the timeouts in TSC ticks.
pub struct Flows {
    pub table: FlowTable,
    /// First packets not answered yet ([`Pending`]).
    pub pending: Pending,
    pub timeouts: CtTimeouts,
    hz: u64,
    /// Offloaded connections now.
    pub offloaded: u32,
    /// Next slot the incremental expiry looks at.
    gc_next: u32,
}

/// Slots looked at for expiry per pass of the worker loop.
pub const GC_PER_PASS: u32 = 8;

impl Default for Flows {
    fn default() -> Self {
        Flows::new(0, CtTimeouts::default(), 1)
    }
}

impl Flows {
    /// Room for `capacity` connections, allocated now.
    pub fn new(capacity: u32, timeouts: CtTimeouts, hz: u64) -> Flows {
        Flows {
            table: FlowTable::new(capacity),
            pending: Pending::new(capacity),
            timeouts,
            hz,
            offloaded: 0,
            gc_next: 0,
        }
    }

    /// `now` in seconds.
    #[inline]
    pub fn secs(&self, now: u64) -> u32 {
        (now / self.hz.max(1)) as u32
    }

    #[inline]
    pub fn ticks(&self, secs: u32) -> u64 {
        (secs as u64).saturating_mul(self.hz)
    }

    /// Whether connection `f` has been idle past its state's timeout at `now`.
    #[inline]
    pub fn expired(&self, f: &Flow, now: u64) -> bool {
        now.saturating_sub(f.last) > self.ticks(self.timeouts.idle(f.state, f.replied))
    }

    /// Takes connection `i` out of the flowtable (it stays tracked).
    pub fn teardown(&mut self, i: u32, why: Teardown, stats: &LcoreStats) {
        let f = self.table.get_mut(i);
        if f.offloaded {
            f.offloaded = false;
            self.offloaded -= 1;
            stats.inc(why.stat());
        }
    }

    /// Removes connection `i` (tearing its offload down first).
    pub fn remove(&mut self, i: u32, why: Teardown, stats: &LcoreStats) {
        self.teardown(i, why, stats);
        self.table.remove(i);
    }

    /// Looks at the next [`GC_PER_PASS`] slots: a connection idle past its timeout is
    /// removed (`flow_expired`), an offloaded one idle past the flowtable's leaves it
    /// (`nf_flow_offload_gc_step`).
    pub fn gc(&mut self, now: u64, stats: &LcoreStats) {
        let cap = self.table.capacity();
        if cap == 0 || self.table.is_empty() {
            return;
        }
        for _ in 0..GC_PER_PASS.min(cap) {
            let i = self.gc_next;
            self.gc_next = if i + 1 >= cap { 0 } else { i + 1 };
            if !self.table.is_live(i) {
                continue;
            }
            let f = self.table.get(i);
            if self.expired(f, now) {
                self.remove(i, Teardown::Timeout, stats);
                stats.inc(Stat::FlowExpired);
            } else if f.offloaded
                && now.saturating_sub(f.last)
                    > self.ticks(self.timeouts.flowtable(f.tuple[0].proto))
            {
                self.teardown(i, Teardown::Timeout, stats);
            }
        }
    }

    /// Removes every connection (`flush flows`).
    pub fn flush(&mut self, stats: &LcoreStats) {
        let live: Vec<u32> = self.table.iter().map(|(i, _)| i).collect();
        for i in live {
            self.remove(i, Teardown::Flush, stats);
        }
        self.pending.clear();
    }

    /// What `show flows` shows of each connection, at `now`.
    pub fn dump(&self, now: u64, out: &mut Vec<FlowInfo>) {
        let secs = |t: u64| now.saturating_sub(t) / self.hz.max(1);
        out.extend(self.table.iter().map(|(_, f)| FlowInfo {
            tuple: f.tuple,
            state: f.state,
            replied: f.replied,
            offloaded: f.offloaded,
            packets: f.packets,
            bytes: f.bytes,
            age_secs: secs(f.created),
            idle_secs: secs(f.last),
        }));
    }
}
