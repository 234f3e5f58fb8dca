//! Connection tracking of forwarded TCP and UDP flows, reduced to what the flowtable
//! needs (the kernel's `nf_conntrack_proto_tcp.c` and `nf_conntrack_proto_udp.c`): a
//! state per connection, moved by the TCP flags of each direction, and the idle timeout
//! of each state. No sequence-window tracking: a connection here only decides whether
//! its packets may skip the route lookup, never whether they pass.
//!
//! TCP follows `tcp_conntracks` for the states it keeps: a SYN opens (`SYN_SENT`), the
//! reply's SYN-ACK answers (`SYN_RECV`), the opener's ACK establishes; a FIN from either
//! side starts the close (`FIN_WAIT` and the later closing states are one state here),
//! an RST closes (`CLOSE`), and a new SYN on a closed connection reopens it. With
//! `nf_conntrack_tcp_loose` (default 1) a connection first seen mid-stream (an ACK
//! without SYN) is picked up as established, as Linux does after a restart. A UDP flow
//! is established once a reply is seen. Only an established connection that has seen
//! its reply is [`CtState::established`]: that is what the flowtable offloads and what
//! eviction spares.

use crate::wire::l4::tcp_flags;

/// IP protocol numbers tracked.
pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtState {
    /// TCP: SYN seen from the opener, nothing else (`SYN_SENT`).
    SynSent,
    /// TCP: the reply's SYN-ACK seen (`SYN_RECV`).
    SynRecv,
    /// TCP: handshake completed, or picked up mid-stream (`ESTABLISHED`).
    Established,
    /// TCP: a FIN seen from either side (`FIN_WAIT` .. `TIME_WAIT`).
    Closing,
    /// TCP: an RST seen (`CLOSE`).
    Close,
    /// UDP.
    Udp,
}

impl CtState {
    pub const fn name(self) -> &'static str {
        match self {
            CtState::SynSent => "syn_sent",
            CtState::SynRecv => "syn_recv",
            CtState::Established => "established",
            CtState::Closing => "closing",
            CtState::Close => "close",
            CtState::Udp => "udp",
        }
    }
}

/// Which way a packet goes on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// The way of the first packet (`IP_CT_DIR_ORIGINAL`).
    Original = 0,
    Reply = 1,
}

/// The idle timeouts of each state, in seconds, under the kernel's sysctl names
/// (`net.netfilter.nf_conntrack_*`, `nf_flowtable_*`), and the other knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtTimeouts {
    pub tcp_syn_sent: u32,
    pub tcp_syn_recv: u32,
    pub tcp_established: u32,
    /// The closing states after a FIN (`nf_conntrack_tcp_timeout_fin_wait`).
    pub tcp_fin_wait: u32,
    /// After an RST (`nf_conntrack_tcp_timeout_close`).
    pub tcp_close: u32,
    /// UDP without a reply (`nf_conntrack_udp_timeout`).
    pub udp: u32,
    /// UDP with a reply (`nf_conntrack_udp_timeout_stream`).
    pub udp_stream: u32,
    /// Idle offloaded TCP flows leave the flowtable after this
    /// (`nf_flowtable_tcp_timeout`).
    pub flowtable_tcp: u32,
    /// The same for UDP (`nf_flowtable_udp_timeout`).
    pub flowtable_udp: u32,
    /// Pick up TCP connections mid-stream (`nf_conntrack_tcp_loose`).
    pub tcp_loose: bool,
}

impl Default for CtTimeouts {
    /// Linux's defaults.
    fn default() -> Self {
        CtTimeouts {
            tcp_syn_sent: 120,
            tcp_syn_recv: 60,
            tcp_established: 432_000,
            tcp_fin_wait: 120,
            tcp_close: 10,
            udp: 30,
            udp_stream: 120,
            flowtable_tcp: 30,
            flowtable_udp: 30,
            tcp_loose: true,
        }
    }
}

impl CtTimeouts {
    /// The idle timeout of a connection in `state`, replied or not, in seconds. An
    /// unreplied connection never gets more than `tcp_syn_sent`, whatever its TCP state
    /// (one picked up mid-stream is not kept for days before its reply).
    pub fn idle(&self, state: CtState, replied: bool) -> u32 {
        let t = match state {
            CtState::SynSent => self.tcp_syn_sent,
            CtState::SynRecv => self.tcp_syn_recv,
            CtState::Established => self.tcp_established,
            CtState::Closing => self.tcp_fin_wait,
            CtState::Close => self.tcp_close,
            CtState::Udp if replied => self.udp_stream,
            CtState::Udp => self.udp,
        };
        if replied || state == CtState::Udp {
            t
        } else {
            t.min(self.tcp_syn_sent)
        }
    }

    /// The flowtable's idle timeout for a flow of protocol `proto`.
    pub fn flowtable(&self, proto: u8) -> u32 {
        if proto == TCP {
            self.flowtable_tcp
        } else {
            self.flowtable_udp
        }
    }
}

/// The state a connection starts in, from its first packet (`tcp_new`, `udp_packet`):
/// None if that packet does not open one (a lone SYN-ACK, FIN or RST, or an ACK without
/// `loose`).
pub fn ct_new(proto: u8, flags: u8, loose: bool) -> Option<CtState> {
    if proto == UDP {
        return Some(CtState::Udp);
    }
    let (syn, ack) = (flags & tcp_flags::SYN != 0, flags & tcp_flags::ACK != 0);
    if flags & (tcp_flags::RST | tcp_flags::FIN) != 0 {
        None
    } else if syn && !ack {
        Some(CtState::SynSent)
    } else if !syn && loose {
        Some(CtState::Established)
    } else {
        None
    }
}

/// The state after a packet with TCP `flags` going `dir` on a connection in `state`
/// (`tcp_packet`'s state table for the transitions kept here). UDP stays UDP.
pub fn ct_next(state: CtState, dir: Dir, flags: u8) -> CtState {
    use CtState::*;
    if state == Udp {
        return Udp;
    }
    let has = |f: u8| flags & f != 0;
    if has(tcp_flags::RST) {
        return Close;
    }
    let (syn, ack) = (has(tcp_flags::SYN), has(tcp_flags::ACK));
    if has(tcp_flags::FIN) {
        // A FIN before the handshake completed is not a close (Linux marks it invalid).
        return match state {
            Established | Closing => Closing,
            s => s,
        };
    }
    match (state, dir) {
        // A new SYN on a finished connection reopens it (TIME_WAIT/CLOSE -> SYN_SENT).
        (Closing | Close, Dir::Original) if syn && !ack => SynSent,
        (SynSent, Dir::Reply) if syn && ack => SynRecv,
        (SynRecv, Dir::Original) if ack && !syn => Established,
        (s, _) => s,
    }
}

/// Whether a connection in `state` that has `replied` is established in both directions:
/// the only kind the flowtable takes and eviction spares (`IPS_ASSURED`-like).
pub fn established(state: CtState, replied: bool) -> bool {
    replied && matches!(state, CtState::Established | CtState::Udp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp_flags::{ACK, FIN, PSH, RST, SYN};
    use CtState::*;
    use Dir::*;

    fn run(first: u8, steps: &[(Dir, u8)]) -> (CtState, bool) {
        let mut s = ct_new(TCP, first, true).unwrap();
        let mut replied = false;
        for &(d, f) in steps {
            s = ct_next(s, d, f);
            replied |= d == Reply;
        }
        (s, replied)
    }

    #[test]
    fn handshake_establishes_only_after_the_third_packet() {
        assert_eq!(ct_new(TCP, SYN, true), Some(SynSent));
        assert_eq!(run(SYN, &[(Reply, SYN | ACK)]), (SynRecv, true));
        assert!(!established(SynRecv, true));
        let (s, r) = run(SYN, &[(Reply, SYN | ACK), (Original, ACK)]);
        assert_eq!(s, Established);
        assert!(established(s, r));
    }

    #[test]
    fn out_of_order_handshake_packets_do_not_establish() {
        // The opener's ACK before any SYN-ACK.
        assert_eq!(run(SYN, &[(Original, ACK)]).0, SynSent);
        // A SYN-ACK from the opener's side.
        assert_eq!(run(SYN, &[(Original, SYN | ACK)]).0, SynSent);
        // The reply acks without SYN.
        assert_eq!(run(SYN, &[(Reply, ACK)]).0, SynSent);
    }

    #[test]
    fn fin_and_rst_close() {
        let est = [(Reply, SYN | ACK), (Original, ACK)];
        let mut steps = est.to_vec();
        steps.push((Reply, FIN | ACK));
        assert_eq!(run(SYN, &steps).0, Closing);
        steps.push((Original, ACK | PSH));
        assert_eq!(run(SYN, &steps).0, Closing, "a closing flow stays closing");
        let mut steps = est.to_vec();
        steps.push((Original, RST));
        assert_eq!(run(SYN, &steps).0, Close);
        assert!(!established(Close, true) && !established(Closing, true));
        // FIN during the handshake does not close.
        assert_eq!(run(SYN, &[(Original, FIN)]).0, SynSent);
        // RST at any time does.
        assert_eq!(run(SYN, &[(Reply, RST | ACK)]).0, Close);
    }

    #[test]
    fn syn_reopens_a_finished_connection() {
        assert_eq!(ct_next(Close, Original, SYN), SynSent);
        assert_eq!(ct_next(Closing, Original, SYN), SynSent);
        assert_eq!(ct_next(Closing, Reply, SYN), Closing);
        assert_eq!(ct_next(Established, Original, SYN), Established);
    }

    #[test]
    fn what_opens_a_connection() {
        assert_eq!(ct_new(TCP, SYN | ACK, true), None);
        assert_eq!(ct_new(TCP, RST, true), None);
        assert_eq!(ct_new(TCP, FIN | ACK, true), None);
        assert_eq!(ct_new(TCP, ACK, true), Some(Established), "loose pick-up");
        assert_eq!(ct_new(TCP, ACK, false), None);
        assert_eq!(ct_new(UDP, 0, false), Some(Udp));
        // Picked up mid-stream: established only once the reply is seen.
        assert!(!established(Established, false));
        assert!(established(Established, true));
        assert!(!established(Udp, false) && established(Udp, true));
    }

    #[test]
    fn timeouts_by_state() {
        let t = CtTimeouts::default();
        assert_eq!(t.idle(SynSent, false), 120);
        assert_eq!(t.idle(SynRecv, true), 60);
        assert_eq!(t.idle(Established, true), 432_000);
        assert_eq!(t.idle(Established, false), 120, "unreplied pick-up");
        assert_eq!(t.idle(Closing, true), 120);
        assert_eq!(t.idle(Close, true), 10);
        assert_eq!(t.idle(Udp, false), 30);
        assert_eq!(t.idle(Udp, true), 120);
        assert_eq!(t.flowtable(TCP), 30);
        assert_eq!(t.flowtable(UDP), 30);
    }
}
