//! The punt path (DESIGN.md section 2): what a worker hands to the control core along with
//! a packet it cannot finish itself, through its bounded ring ([`crate::dpdk::ring`]).
//! A full ring drops and counts (`punt_ring_full`); a worker never waits for the control
//! core.

use crate::iface::IfIndex;
use std::net::Ipv4Addr;

/// Why a packet goes to the control core, and what it needs to finish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Punt {
    /// An ARP frame received on `in_if` (`arp_rcv`): the control core answers it and
    /// learns from it (`arp_process`).
    Arp { in_if: IfIndex },
    /// An IPv4 packet ready for `out_if` except for its Ethernet header: neighbour
    /// `nexthop` is not resolved (`neigh_resolve_output` -> `__neigh_event_send`), so the
    /// packet waits in that neighbour's queue. When it leaves, a packet over `mtu` (DF
    /// clear: a DF one over the MTU never gets here) is fragmented. `forwarded`: a
    /// forwarded packet, counted once its fate is known (`forwarded` or a drop); else one
    /// we originated (an ICMP error or reply), counted when it was made.
    Resolve {
        out_if: IfIndex,
        nexthop: Ipv4Addr,
        mtu: u16,
        forwarded: bool,
    },
    /// An ICMP fragmentation needed or redirect addressed to us, received on `in_if`,
    /// about an echo reply we sent ([`crate::local`]): the control core learns a nexthop
    /// exception from it, or not.
    Icmp { in_if: IfIndex },
}

impl Punt {
    /// Whether the packet still waits for its one count (a received packet whose outcome
    /// the control core decides).
    #[inline]
    pub fn uncounted(&self) -> bool {
        match *self {
            Punt::Arp { .. } | Punt::Icmp { .. } => true,
            Punt::Resolve { forwarded, .. } => forwarded,
        }
    }
}
