//! Every way a packet can leave the pipeline without being forwarded has a name
//! (grout's habit): `DropReason` indexes per-lcore counters and is shown by
//! `show fwd stats`. Some reasons also produce an ICMP error (noted per variant).

macro_rules! drop_reasons {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Why a packet was not forwarded.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum DropReason {
            $($(#[$doc])* $variant,)*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case name used in counters and the CLI.
            pub const fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }
        }
    };
}

drop_reasons! {
    /// Frame shorter than an Ethernet header, or an IPv4 packet shorter than 20 bytes.
    ShortFrame => "short_frame",
    /// Destination MAC is neither ours nor broadcast.
    OtherHost => "other_host",
    /// Destination MAC is multicast (no multicast routing).
    L2Multicast => "l2_multicast",
    /// Neither IPv4 nor ARP.
    UnsupportedEthertype => "unsupported_ethertype",
    /// Packet spans several mbuf segments (scatter is not enabled).
    ChainedMbuf => "chained_mbuf",
    /// ARP that is not Ethernet/IPv4, or truncated.
    ArpMalformed => "arp_malformed",
    /// ARP request for an address that is not ours, or from a martian sender (127/8,
    /// 224/4, 255.255.255.255, one of our addresses: `arp_process` only
    /// answers when `ip_route_input` accepts sender -> target), gratuitous ARP, or an ARP
    /// reply (static neighbours only for now).
    ArpIgnored => "arp_ignored",
    /// IPv4 version field is not 4 (RFC 1812 5.2.2).
    BadVersion => "bad_version",
    /// IHL < 5 or the header runs past the frame.
    BadIhl => "bad_ihl",
    /// Total length smaller than the header or larger than the frame.
    BadTotalLength => "bad_total_length",
    /// Header checksum does not verify.
    BadChecksum => "bad_checksum",
    /// IP options Linux refuses (`__ip_options_compile`: bad framing, lengths or pointers,
    /// a second record route, timestamp or source route, CIPSO): ICMP parameter problem
    /// sent, pointing at the offending octet (none for a broadcast destination).
    BadOptions => "bad_options",
    /// Loose or strict source route (accept_source_route = 0, as Linux).
    SourceRoute => "source_route",
    /// Source is multicast, limited broadcast, 0.0.0.0 (but to a limited broadcast), 127/8,
    /// or one of our own addresses (Linux's `ipv4_is_zeronet` is 0.0.0.0 alone since 5.3).
    MartianSource => "martian_source",
    /// Destination is 0.0.0.0 or 127/8.
    MartianDestination => "martian_destination",
    /// Destination is multicast (no multicast routing).
    Multicast => "multicast",
    /// Frame was link-layer broadcast but not for us (ip_forward only forwards PACKET_HOST).
    L2BroadcastForward => "l2_broadcast_forward",
    /// No route: ICMP net unreachable sent.
    NoRoute => "no_route",
    /// Blackhole route: silent drop.
    Blackhole => "blackhole",
    /// Unreachable route: ICMP host unreachable sent.
    Unreachable => "unreachable",
    /// Prohibit route: ICMP administratively prohibited sent.
    Prohibit => "prohibit",
    /// TTL <= 1: ICMP time exceeded sent.
    TtlExceeded => "ttl_exceeded",
    /// Larger than the egress MTU with DF set: ICMP fragmentation needed sent (RFC 1191).
    FragNeeded => "frag_needed",
    /// Larger than the egress MTU without DF, and no buffer for a fragment (the mempool is
    /// exhausted): the datagram is dropped, fragments already sent stay sent, as Linux's
    /// `ip_do_fragment` on `-ENOMEM` (IPSTATS_MIB_FRAGFAILS).
    FragNoMbuf => "frag_no_mbuf",
    /// The next hop's neighbour did not resolve (FAILED: ICMP host unreachable sent, as
    /// Linux's `arp_error_report`), or was still unresolved at shutdown.
    NoNeighbor => "no_neighbor",
    /// Waiting for its neighbour and pushed out of the neighbour's full queue
    /// (`unres_qlen`; Linux's `unresolved_discards`), or over the held-packet bound.
    NeighQueueFull => "neigh_queue_full",
    /// No neighbour entry could be made: the table is at `gc_thresh3` and nothing in it
    /// can go (Linux's `table_fulls`).
    NeighTableFull => "neigh_table_full",
    /// For the control core, whose ring from this worker was full.
    PuntRingFull => "punt_ring_full",
    /// For us, but no local service handles it (only ICMP echo is answered).
    LocalUnhandled => "local_unhandled",
    /// For us and fragmented (no reassembly).
    LocalFragment => "local_fragment",
    /// To a broadcast address and not an echo we answer.
    Broadcast => "broadcast",
    /// ICMP message for us with a bad checksum or too short.
    IcmpMalformed => "icmp_malformed",
    /// Reverse path filter (`rp_filter` 1 strict: the route back to the source does not
    /// leave by the interface the packet came in on; 1 or 2: there is no unicast route
    /// back at all), as Linux's `fib_validate_source` (`IPReversePathFilter`).
    RpFilter => "rp_filter",
    /// A reply was due (echo) but there is no route or neighbour back to the source.
    NoRouteBack => "no_route_back",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert!(seen.insert(r.name()), "duplicate {}", r.name());
            assert!(r
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
            assert_eq!(DropReason::ALL[*r as usize], *r);
        }
    }
}
