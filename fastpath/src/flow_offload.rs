//! The flowtable's hooks on the packet path (nftables' `flow add @ft` and
//! `nf_flow_offload_ip_hook`, `net/netfilter/nf_flow_table_ip.c`), over the per-worker
//! state of [`crate::flowtable`].
//!
//! Every TCP or UDP packet without IP options or fragmentation is tracked after the
//! normal path has decided it ([`track`]): its connection (keyed on the 5-tuple and the
//! input interface, both directions) moves through its states, and a forwarded packet
//! records what forwarding decided for its direction (output interface, MACs, MTU,
//! genid). A connection enters the table at its first reply (the first packet is only
//! noted in [`crate::flowtable::Pending`]). Once it is established both ways and both
//! directions hold a decision made under the current genid, it is offloaded
//! (`flow_offload_add`).
//!
//! From then on, right after L2 and the IPv4 header checks, a packet of the flow is
//! forwarded at once ([`offload_hit`]): TTL decrement with an incremental checksum and
//! the recorded MACs. No rules, no trie, no exception, no dst, no rp_filter (the flow
//! passed it on the normal path, and anything that could change the answer bumps the
//! genid). As in nftables, these take the normal path instead: a decision older than
//! the genid (the entry is torn down: a route change moves the flow at once), TCP FIN or
//! RST (torn down; conntrack then sees the close), TTL <= 1, and a packet larger than
//! the recorded MTU whatever its DF bit; IP options and fragments never get here.

use crate::conntrack::{ct_new, ct_next, established, CtState, Dir, TCP, UDP};
use crate::flowtable::{FlowRoute, FlowTable, Insert, Teardown, Tuple};
use crate::ip_input::Routable;
use crate::lcore::LcoreCtx;
use crate::packet::{L2Dest, PacketBuf, Verdict, ETH};
use crate::punt::Punt;
use crate::snapshot::Snapshot;
use crate::stats::Stat;
use crate::wire::ipv4::Ipv4Packet;
use crate::wire::l4::tcp_flags;

/// A packet that may belong to a tracked flow: unicast to us, TCP or UDP with its
/// header in the first (and only) fragment, no IP options.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub tuple: Tuple,
    /// The flowtable's hash of `tuple`.
    pub hash: u64,
    /// TCP flags (0 for UDP).
    pub flags: u8,
    /// [`FlowTable::additions`] when [`offload_hit`] did not find the tuple: [`track`]
    /// need not look again if nothing was added since.
    pub missed_at: Option<u64>,
    /// [`FlowTable::pending_hash`], once a miss made it needed (and prefetched its slot).
    pub pending_at: Option<u64>,
}

/// Whether a validated packet is a [`Candidate`] (`nf_flow_tuple_ip`'s checks), hashed
/// for `table`.
#[inline]
pub fn candidate(r: &Routable, frame: &[u8], table: &FlowTable) -> Option<Candidate> {
    if r.l2 != L2Dest::Host || r.record.is_some() || r.bad_options.is_some() {
        return None;
    }
    let ip = Ipv4Packet::new_unchecked(&frame[ETH..]);
    if ip.header_len() != Ipv4Packet::<&[u8]>::MIN_HEADER_LEN
        || ip.more_frags()
        || ip.frag_offset() != 0
    {
        return None;
    }
    let l4 = ip.payload();
    let proto = ip.protocol();
    let flags = match proto {
        TCP if l4.len() >= 20 => l4[13],
        UDP if l4.len() >= 8 => 0,
        _ => return None,
    };
    let tuple = Tuple {
        saddr: r.key.saddr.into(),
        daddr: r.key.daddr.into(),
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        proto,
        iif: r.iif(),
    };
    Some(Candidate {
        tuple,
        hash: table.hash(&tuple),
        flags,
        missed_at: None,
        pending_at: None,
    })
}

/// The flowtable's fast path for a [`Candidate`] packet (`nf_flow_offload_ip_hook`):
/// the verdict if it was forwarded at once, None if it takes the normal path (not
/// offloaded, torn down now, or one of the cases the normal path must see).
#[inline]
pub fn offload_hit<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &mut P,
    c: &mut Candidate,
) -> Option<Verdict> {
    let now = ctx.now;
    let flows = &mut ctx.flows;
    let Some((i, dir)) = flows.table.find_hashed(&c.tuple, c.hash) else {
        // Not a connection yet: track() will look in `pending`.
        c.missed_at = Some(flows.table.additions());
        let at = flows.table.pending_hash(&c.tuple);
        flows.pending.prefetch(at);
        c.pending_at = Some(at);
        return None;
    };
    let f = flows.table.get(i);
    if !f.offloaded {
        return None;
    }
    let d = dir as usize;
    let why = match f.route[d] {
        _ if c.flags & tcp_flags::RST != 0 => Some(Teardown::Rst),
        _ if c.flags & tcp_flags::FIN != 0 => Some(Teardown::Fin),
        Some(r) if r.genid == snap.genid => None,
        _ => Some(Teardown::Genid),
    };
    if let Some(why) = why {
        flows.teardown(i, why, ctx.stats);
        return None;
    }
    if now.saturating_sub(f.last) > flows.ticks(flows.timeouts.flowtable(c.tuple.proto)) {
        flows.teardown(i, Teardown::Timeout, ctx.stats);
        return None;
    }
    let route = f.route[d]?;
    let mut ip = Ipv4Packet::new_unchecked(&mut pkt.data_mut()[ETH..]);
    let len = ip.total_len();
    if ip.ttl() <= 1 || len > route.mtu {
        return None;
    }
    ip.decrement_ttl();
    pkt.data_mut()[..12].copy_from_slice(&route.eth);
    if let Some(e) = &route.neigh {
        snap.neigh.touch(e);
    }
    let f = flows.table.get_mut(i);
    f.last = now;
    f.packets[d] += 1;
    f.bytes[d] += len as u64;
    ctx.stats.inc(Stat::FlowHits);
    ctx.stats.inc(Stat::Forwarded);
    Some(Verdict::Tx(route.out))
}

/// Connection tracking of a [`Candidate`] packet after the normal path decided
/// `verdict` (`nf_conntrack_in`, then `flow add @ft` for an established connection).
/// Every packet of a known connection moves its state, whatever becomes of it (as Linux's
/// conntrack sees it in PREROUTING, before `ip_forward` answers a TTL or MTU problem with
/// an ICMP error): a FIN answered with time exceeded still closes. Only a packet that was
/// forwarded (`ctx.fwd` set: sent, fragmented, redirected or waiting for its neighbour)
/// can open a connection (Linux confirms a new one only once it leaves), and only one
/// sent as it is records its direction's decision from the frame (MACs) and `ctx.fwd`
/// (MTU, next hop).
pub fn track<P: PacketBuf>(
    snap: &Snapshot,
    ctx: &mut LcoreCtx,
    pkt: &P,
    c: &Candidate,
    verdict: &Verdict,
) {
    let fwd = ctx.fwd.take().and_then(|note| match *verdict {
        Verdict::Tx(out) => Some((note, out, true)),
        Verdict::Redirect { out, .. } | Verdict::Fragment(out, _) => Some((note, out, false)),
        Verdict::Punt(Punt::Resolve {
            out_if,
            forwarded: true,
            ..
        }) => Some((note, out_if, false)),
        _ => None,
    });
    let now = ctx.now;
    let stats = ctx.stats;
    let flows = &mut ctx.flows;
    let found = match c.missed_at {
        Some(at) if at == flows.table.additions() => None,
        _ => flows.table.find_hashed(&c.tuple, c.hash),
    };
    let found = match found {
        Some((i, _)) if flows.expired(flows.table.get(i), now) => {
            flows.remove(i, Teardown::Timeout, stats);
            stats.inc(Stat::FlowExpired);
            None
        }
        found => found,
    };
    let (i, dir) = match found {
        Some((i, dir)) => {
            let f = flows.table.get_mut(i);
            let was = f.state;
            f.state = ct_next(was, dir, c.flags);
            if dir == Dir::Reply {
                f.replied = true;
            } else if f.state == CtState::SynSent && was != CtState::SynSent {
                // Reopened by a new SYN: a new connection in the same slot.
                f.replied = false;
                f.route = [None; 2];
            }
            (i, dir)
        }
        None => {
            let Some((_, out, _)) = fwd else {
                return;
            };
            // A reply to a first packet noted in `pending` starts the connection: in the
            // state that first packet would have opened it in, moved by this reply. Any
            // other packet is noted there as a first packet.
            let orig = c.tuple.reply(out);
            let secs = flows.secs(now);
            let t = flows.timeouts;
            // Unreplied, TCP gets at most syn_sent's timeout (CtTimeouts::idle).
            let unreplied = if c.tuple.proto == TCP {
                t.tcp_syn_sent
            } else {
                t.udp
            };
            let at = c
                .pending_at
                .unwrap_or_else(|| flows.table.pending_hash(&c.tuple));
            let first = flows
                .pending
                .take(at, flows.table.hash(&orig), secs, unreplied);
            let Some(state) = first
                .and_then(|f| ct_new(c.tuple.proto, f, t.tcp_loose))
                .map(|s| ct_next(s, Dir::Reply, c.flags))
            else {
                flows.pending.put(at, c.hash, c.flags, secs);
                return;
            };
            let i = match flows.table.insert(orig, c.tuple, state, now) {
                Insert::Free(i) => i,
                Insert::Evicted(i) => {
                    stats.inc(Stat::FlowEvictions);
                    i
                }
                Insert::Full => {
                    stats.inc(Stat::FlowTableFull);
                    return;
                }
            };
            stats.inc(Stat::FlowNew);
            flows.table.get_mut(i).replied = true;
            (i, Dir::Reply)
        }
    };
    let d = dir as usize;
    let other = 1 - d;
    // The other direction arrives where this one leaves: follow a route change.
    if let Some((_, out, _)) = fwd {
        if flows.table.get(i).tuple[other].iif != out {
            let mut t = flows.table.get(i).tuple[other];
            t.iif = out;
            if let Some((j, _)) = flows.table.find(&t) {
                flows.remove(j, Teardown::Genid, stats);
            }
            flows.table.rekey(i, other, out);
        }
    }
    let len = Ipv4Packet::new_unchecked(&pkt.data()[ETH..]).total_len();
    let f = flows.table.get_mut(i);
    f.last = now;
    f.packets[d] += 1;
    f.bytes[d] += len as u64;
    // A packet fragmented, redirected or waiting for its neighbour leaves the last
    // decision as it was.
    if let Some((note, out, true)) = fwd {
        let mut eth = [0; 12];
        eth.copy_from_slice(&pkt.data()[..12]);
        f.route[d] = Some(FlowRoute {
            genid: snap.genid,
            out,
            mtu: note.mtu,
            neigh: snap.neigh.entry(out, note.nexthop),
            eth,
        });
    }
    let est = established(f.state, f.replied);
    let current = |r: &Option<FlowRoute>| r.is_some_and(|r| r.genid == snap.genid);
    if f.offloaded && !est {
        let why = if f.state == CtState::Close {
            Teardown::Rst
        } else {
            Teardown::Fin
        };
        flows.teardown(i, why, stats);
    } else if !f.offloaded && est && current(&f.route[0]) && current(&f.route[1]) {
        f.offloaded = true;
        flows.offloaded += 1;
        stats.inc(Stat::FlowOffloads);
    }
    flows.table.used(i, est);
}
