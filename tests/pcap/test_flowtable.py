"""The flowtable (fastpath/src/flowtable, conntrack.rs; nftables' ``flow add @ft``):
connections are tracked, established ones offloaded, and their packets then forwarded
by the flowtable (``flow_hits``) with exactly the bytes the normal path sends. Every
output frame is checked with the checkers of packets.py (what Linux sends as a router,
computed from the input), and the ``flow_*`` counters exactly.

Sequencing. net_pcap hands a port its whole pcap at once, so the order in which the two
directions of a connection are seen has to come from the worker's polling: with
``burst: 1`` the single worker polls p0's queue then p1's, one packet each per pass, so
the k-th frame of in0.pcap is processed before the k-th of in1.pcap, which is processed
before the (k+1)-th of in0.pcap. A script is a list of cases in the order they must be
processed; :func:`layout` puts each on the next slot of its port and fills a slot the
other port must skip with a frame for another MAC (``other_host``, dropped at once, see
packets.filler).
Clients are behind p0 (off-link 172.16.x.y, via the default route to
10.0.1.2), servers in 198.51.100.0/24 behind p1 (via 10.0.2.2): client -> server enters
p0 and leaves p1, replies the other way.

What is expected of each packet (per case, summed per run):

* A connection enters the table at its first reply (``flow_new``): until then a
  forwarded first packet is only a tag in a direct-mapped array (flowtable/pending.rs;
  every forwarded packet without a connection notes its tag again, the latest flags
  win), and a forwarded packet of the reverse tuple that finds it creates the
  connection in the state that first packet would have opened, moved by the reply. The
  reply records its direction's decision, the original direction's next forwarded
  packet records the other; established with both decisions, the connection is
  offloaded (``flow_offloads``) by that packet (itself forwarded normally).
* TCP: SYN (noted), SYN-ACK (``flow_new``, SYN_RECV), ACK establishes and offloads.
  UDP and loose mid-stream pick-ups: the first reply creates the connection
  established, the next packet of the original direction offloads. Later packets are
  hits: forwarded, TTL - 1, new MACs.
* Taken by the normal path, the flow staying offloaded: TTL <= 1 (time exceeded), a
  packet over the output MTU whatever DF (frag needed, or fragments), IP options (Record
  Route recorded as Linux does), fragments, and anything dropped before (bad header
  checksum, L2 broadcast).
* FIN or RST tears the offload down (``flow_teardown_fin/rst``): no more hits.
* No connection at all from one-way packets (a SYN and data never answered,
  unreplied UDP, lone SYN-ACK/FIN/RST), nor, with ``nf_conntrack_tcp_loose: false``,
  from a mid-stream pick-up. Not offloaded: a handshake that did not complete.
* ``flowtable: false``: no ``flow_*`` counter, outputs unchanged.
* ``nf_conntrack_max: 4``: unanswered SYNs take no slot; a new connection (a reply)
  evicts the least recently used unestablished one (a half-open handshake), never an
  established one; with 4 established, a new one is not tracked (``flow_table_full``)
  and is still forwarded.
"""

from __future__ import annotations

import itertools
import socket
import struct
from collections import Counter

import pytest
from scapy.layers.inet import IP, TCP, UDP, IPOption_RR
from scapy.packet import Raw
from scapy.utils import checksum

from fastpath_run import PORT_IP, PORT_MAC, assert_clean_exit, run_router
from packets import (
    NEIGH_MAC, Case, Checker, Out, _ip_ids, assert_bytes, check_case, check_forwarded,
    check_icmp_error, counter_diff, filler, fragmented, frame, inputs_of,
    ip_header_checksum_ok, ip_packet, marker, unexpected_outputs,
)

FLOW_COUNTERS = (
    "flow_new flow_offloads flow_hits flow_teardown_genid flow_teardown_fin "
    "flow_teardown_rst flow_teardown_timeout flow_teardown_flush flow_expired "
    "flow_evictions flow_table_full"
).split()

P1_MTU = 1280
_fillers = itertools.count()


# --------------------------------------------------------------------------- checkers


def check_record_route(in_frame: bytes, out_port: int) -> Checker:
    """Linux ip_forward_options, as test_options.py expects it: the outgoing interface's
    address written at the Record Route pointer, pointer + 4, TTL - 1, header checksum
    recomputed, the rest unchanged."""
    ip = bytearray(ip_packet(in_frame))
    ihl = (ip[0] & 0x0F) * 4
    assert ip[20] == 7, "the test packet starts its options with Record Route"
    ptr = ip[22]
    ip[20 + ptr - 1 : 20 + ptr + 3] = socket.inet_aton(PORT_IP[out_port])
    ip[22] = ptr + 4
    ip[8] -= 1
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", checksum(bytes(ip[:ihl])))
    want = (bytes.fromhex(NEIGH_MAC[out_port].replace(":", ""))
            + bytes.fromhex(PORT_MAC[out_port].replace(":", "")) + b"\x08\x00" + bytes(ip))

    def check(out: bytes) -> None:
        assert_bytes("forwarded frame with Record Route", out, want)
        assert ip_header_checksum_ok(out[14:]), "bad IP header checksum"
    return check


# --------------------------------------------------------------------------- scripts


def ip_id_for_checksum(pkt: IP, want: int) -> int:
    """The IP id that gives ``pkt``'s header the checksum ``want``."""
    hdr = bytearray(bytes(pkt)[:20])
    hdr[4:6] = hdr[10:12] = b"\0\0"
    c0 = checksum(bytes(hdr))          # ~S0
    x = (~want & 0xFFFF) + c0          # S0 + x = ~want (one's complement)
    return (x & 0xFFFF) + (x >> 16)


class Script:
    """Cases in the order the worker must process them (see the module doc)."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case


class Conn:
    """One connection between a client behind p0 ("a") and a server behind p1 ("b").
    Each method adds one case to the script: a packet from ``frm`` and what it must
    cause; ``flow`` are the flow_* counters it bumps."""

    def __init__(self, sc: Script, tag: str, client: str, server: str, cport: int,
                 sport: int = 443, udp: bool = False) -> None:
        self.sc, self.tag, self.udp = sc, tag, udp
        self.client, self.server, self.cport, self.sport = client, server, cport, sport
        self.seq = {"a": 1_000_000 + cport, "b": 7_000_000 + cport}
        self.n = itertools.count(1)

    # -- packets

    def ip(self, frm: str, flags: str = "A", *, data: bytes = b"", ttl: int = 64,
           df: bool = True, tos: int = 0, total: int | None = None,
           ip_id: int | None = None, options=None, mf: bool = False, frag: int = 0):
        a = frm == "a"
        src, dst = (self.client, self.server) if a else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if a else (self.sport, self.cport)
        ip_id = next(_ip_ids) if ip_id is None else ip_id
        ipflags = ("DF" if df else "") + ("+MF" if mf else "")
        ip = IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags=ipflags.strip("+") or 0,
                frag=frag, options=options or [])
        hl = len(ip)  # with options
        if self.udp:
            l4 = UDP(sport=sp, dport=dp)
            l4len = 8
        else:
            other = "b" if a else "a"
            l4 = TCP(sport=sp, dport=dp, seq=self.seq[frm],
                     ack=self.seq[other] if "A" in flags else 0, flags=flags, window=64000)
            l4len = 20
        if total is not None:
            data = marker(f"{self.tag}-{frm}", total - hl - l4len)
        elif not data and self.udp:
            data = marker(f"{self.tag}-{frm}", 24)
        if not self.udp:
            self.seq[frm] += len(data) + ("S" in flags) + ("F" in flags)
        return ip / l4 / Raw(data), ip_id

    def _frame(self, frm, **kw):
        pkt, ip_id = self.ip(frm, **kw)
        port = 0 if frm == "a" else 1
        return frame(port, pkt), port, ip_id

    def _name(self, label):
        return f"{self.tag}_{next(self.n):02d}_{label}"

    # -- cases

    def fwd(self, label: str, frm: str, flags: str = "A", *, hit: bool = False,
            flow: dict | None = None, pad_to: int = 0, **kw) -> Case:
        """Forwarded to the other side, bytes as Linux's ip_forward."""
        f, port, ip_id = self._frame(frm, flags=flags, **kw)
        if len(f) < pad_to:
            f += b"\xa5" * (pad_to - len(f))
        out = 1 - port
        counters = {"forwarded": 1, **(flow or {})}
        if hit:
            counters["flow_hits"] = 1
        return self.sc.add(Case(self._name(label), f, port, counters,
                                [Out(out, check_forwarded(f, out, NEIGH_MAC[out]))],
                                ("ipid", ip_id)))

    def fwd_frame(self, label: str, f: bytes, port: int, ip_id: int, check=None, *,
                  hit: bool = False, flow: dict | None = None) -> Case:
        out = 1 - port
        counters = {"forwarded": 1, **(flow or {})}
        if hit:
            counters["flow_hits"] = 1
        check = check or check_forwarded(f, out, NEIGH_MAC[out])
        return self.sc.add(Case(self._name(label), f, port, counters, [Out(out, check)],
                                ("ipid", ip_id)))

    def icmp(self, label: str, frm: str, counter: str, icmp_type: int, code: int,
             rest: bytes = b"\0\0\0\0", flags: str = "PA", **kw) -> Case:
        """Answered with an ICMP error back out of the input port."""
        f, port, ip_id = self._frame(frm, flags=flags, **kw)
        return self.sc.add(Case(self._name(label), f, port, {counter: 1, "icmp_errors": 1},
                                [Out(port, check_icmp_error(f, port, icmp_type=icmp_type,
                                                            code=code, rest=rest))],
                                ("ipid", ip_id)))

    def fragmented(self, label: str, frm: str, flags: str = "PA", *, total: int) -> Case:
        f, port, ip_id = self._frame(frm, flags=flags, total=total, df=False)
        counters, outs = fragmented(f, 1 - port, P1_MTU if port == 0 else 1500)
        return self.sc.add(Case(self._name(label), f, port, counters, outs, ("ipid", ip_id)))

    def dropped(self, label: str, f: bytes, port: int, ip_id: int, counter: str) -> Case:
        return self.sc.add(Case(self._name(label), f, port, {counter: 1}, [], ("ipid", ip_id)))

    def handshake(self, *, offload: bool = True, new: bool = True) -> None:
        """SYN (noted, or reopening a finished connection), SYN-ACK (creates the
        connection: ``new``), ACK (records the original direction: offloads)."""
        self.fwd("syn", "a", "S")
        self.fwd("syn_ack", "b", "SA", flow={"flow_new": 1} if new else None)
        self.fwd("ack", "a", "A", flow={"flow_offloads": 1} if offload else None)


def layout(script: list[Case]) -> list[Case]:
    """The cases with fillers so that, with burst 1, they are processed in this order
    (slot 2k + port is the k-th frame of that port's pcap)."""
    out, cur = [], -1
    for c in script:
        s = cur + 1 if (cur + 1) % 2 == c.port else cur + 2
        if s == cur + 2:
            out.append(filler((cur + 1) % 2, f"filler_{next(_fillers)}"))
        out.append(c)
        cur = s
    return out


# --------------------------------------------------------------------------- scenarios

SRV = "198.51.100.{}"
CLI = "172.16.60.{}"


def tcp_offload(sc: Script) -> None:
    """1. Handshake, then data both ways: the connection created on the SYN-ACK, offloaded
    on the ACK, every later packet a hit,
    including the checksum carry case, TOS, TTL 2, padded frames and packets of exactly
    the output MTU."""
    c = Conn(sc, "tcp_offload", CLI.format(1), SRV.format(61), 40001)
    c.handshake()
    c.fwd("data_a", "a", "PA", data=marker("d1", 100), hit=True)
    c.fwd("data_b", "b", "PA", data=marker("d2", 300), hit=True)
    c.fwd("ack_a", "a", "A", hit=True)
    c.fwd("data_b_1000", "b", "PA", data=marker("d3", 1000), hit=True)
    c.fwd("tos_a", "a", "PA", data=marker("d4", 10), tos=0x28, hit=True)
    c.fwd("ttl2_a", "a", "PA", data=marker("d5", 10), ttl=2, hit=True)
    c.fwd("ttl2_b", "b", "PA", data=marker("d6", 10), ttl=2, hit=True)
    c.fwd("padded_ack_a", "a", "A", pad_to=60, hit=True)
    c.fwd("padded_ack_b", "b", "A", pad_to=60, hit=True)
    # Header checksum 0xFEFF: TTL - 1 must give 0x0000 as a full recompute does.
    probe, _ = c.ip("a", "PA", data=b"carry", ip_id=0)
    c.seq["a"] -= 5
    ip_id = ip_id_for_checksum(probe, 0xFEFF)
    pkt, _ = c.ip("a", "PA", data=b"carry", ip_id=ip_id)
    assert IP(bytes(pkt)).chksum == 0xFEFF
    f = frame(0, pkt)
    c.fwd_frame("checksum_carry_a", f, 0, ip_id, hit=True)
    c.fwd("mtu_1280_a", "a", "PA", total=P1_MTU, hit=True)
    c.fwd("mtu_1500_b", "b", "PA", total=1500, hit=True)
    c.fwd("data_a_last", "a", "PA", data=marker("d7", 50), hit=True)


def tcp_fin(sc: Script) -> None:
    """2. FIN from the client tears the offload down; the close and the half-closed
    server's data take the normal path; a new SYN after the close (TIME_WAIT) reopens the
    connection in the same entry (no ``flow_new``: the entry is there, and a SYN-ACK
    finds it), offloaded again after its handshake."""
    c = Conn(sc, "tcp_fin", CLI.format(2), SRV.format(62), 40002)
    c.handshake()
    c.fwd("data_a", "a", "PA", data=marker("f1", 100), hit=True)
    c.fwd("data_b", "b", "PA", data=marker("f2", 100), hit=True)
    c.fwd("fin_a", "a", "FA", flow={"flow_teardown_fin": 1})
    c.fwd("ack_b", "b", "A")
    c.fwd("data_b_half_closed", "b", "PA", data=marker("f3", 200))
    c.fwd("ack_a", "a", "A")
    c.fwd("fin_b", "b", "FA")
    c.fwd("last_ack_a", "a", "A")
    c.fwd("late_ack_b", "b", "A")
    # Port reuse after TIME_WAIT: conntrack takes the SYN as a new connection.
    c.seq = {"a": 3_000_000, "b": 4_000_000}
    c.handshake(new=False)
    c.fwd("reopened_data_a", "a", "PA", data=marker("f4", 30), hit=True)
    c.fwd("reopened_data_b", "b", "PA", data=marker("f5", 30), hit=True)


def tcp_rst(sc: Script) -> None:
    """3. RST (server side, then RST-ACK from a client) tears the offload down; later
    packets of the connection take the normal path."""
    c = Conn(sc, "tcp_rst", CLI.format(3), SRV.format(63), 40003)
    c.handshake()
    c.fwd("data_a", "a", "PA", data=marker("r1", 100), hit=True)
    c.fwd("data_b", "b", "PA", data=marker("r2", 100), hit=True)
    c.fwd("rst_b", "b", "R", flow={"flow_teardown_rst": 1})
    c.fwd("data_a_after_rst", "a", "PA", data=marker("r3", 20))
    c.fwd("data_b_after_rst", "b", "PA", data=marker("r4", 20))
    c.fwd("rst_a_again", "a", "R")
    d = Conn(sc, "tcp_rst_ack", CLI.format(4), SRV.format(63), 40004)
    d.handshake()
    d.fwd("data_b", "b", "PA", data=marker("r5", 10), hit=True)
    d.fwd("rst_ack_a", "a", "RA", flow={"flow_teardown_rst": 1})
    d.fwd("data_b_after_rst", "b", "PA", data=marker("r6", 10))


def udp_offload(sc: Script) -> None:
    """4. UDP: the queries are only noted; the first reply creates the connection
    established (recording the reply direction), the next query records the original
    direction and offloads (both forwarded normally), then hits both ways; a flow never
    answered never gets a connection."""
    u = Conn(sc, "udp", CLI.format(5), SRV.format(64), 40005, 53, udp=True)
    u.fwd("query_1", "a")
    u.fwd("query_2", "a")
    u.fwd("reply_1", "b", flow={"flow_new": 1})
    u.fwd("query_3", "a", flow={"flow_offloads": 1})
    u.fwd("reply_2", "b", hit=True)
    u.fwd("big_reply", "b", total=1500, hit=True)
    u.fwd("query_ttl2", "a", ttl=2, hit=True)
    u.fwd("query_4", "a", hit=True)
    v = Conn(sc, "udp_unreplied", CLI.format(6), SRV.format(64), 40006, 514, udp=True)
    v.fwd("first", "a")
    for i in range(3):
        v.fwd(f"more_{i}", "a")


def normal_path_rules(sc: Script) -> None:
    """5. Packets of an offloaded connection the normal path must see: each handled as
    without a flowtable, and the flow stays offloaded (the next packet is a hit)."""
    c = Conn(sc, "rules", CLI.format(7), SRV.format(65), 40007)
    c.handshake()
    c.fwd("data_a", "a", "PA", data=marker("n1", 10), hit=True)
    c.icmp("ttl1_a", "a", "ttl_exceeded", 11, 0, data=marker("n2", 10), ttl=1)
    c.fwd("after_ttl1_a", "a", "PA", data=marker("n3", 10), hit=True)
    c.icmp("ttl0_a", "a", "ttl_exceeded", 11, 0, data=marker("n4", 10), ttl=0)
    c.icmp("ttl1_b", "b", "ttl_exceeded", 11, 0, data=marker("n5", 10), ttl=1)
    c.fwd("after_ttl1_b", "b", "PA", data=marker("n6", 10), hit=True)
    c.icmp("too_big_df_a", "a", "frag_needed", 3, 4, rest=struct.pack("!HH", 0, P1_MTU),
           total=P1_MTU + 1)
    c.fwd("after_too_big_df_a", "a", "PA", data=marker("n7", 10), hit=True)
    c.fragmented("too_big_no_df_a", "a", total=1400)
    c.fwd("after_fragmented_a", "a", "PA", data=marker("n8", 10), hit=True)
    # Record Route: not a candidate; recorded like any forwarded packet.
    f, port, ip_id = c._frame("a", flags="PA", data=marker("n9", 10),
                              options=[IPOption_RR(routers=["0.0.0.0"] * 3, pointer=4)])
    c.fwd_frame("record_route_a", f, port, ip_id, check_record_route(f, 1))
    c.fwd("after_record_route_a", "a", "PA", data=marker("n10", 10), hit=True)
    # A first fragment (MF) with the flow's TCP header, and a later fragment whose data
    # starts like it: forwarded as they are, on the normal path.
    c.fwd("first_fragment_a", "a", "PA", data=marker("n11", 64), mf=True, df=False)
    fake_l4 = bytes(TCP(sport=c.cport, dport=c.sport, flags="A", seq=1, ack=1))
    ip_id = next(_ip_ids)
    pkt = (IP(src=c.client, dst=c.server, id=ip_id, frag=9, proto=6)
           / Raw(fake_l4 + marker("n12", 40)))
    f = frame(0, pkt)
    c.fwd_frame("later_fragment_a", f, 0, ip_id)
    c.fwd("after_fragments_a", "a", "PA", data=marker("n13", 10), hit=True)
    # Dropped before the flowtable is looked at.
    pkt, ip_id = c.ip("a", "PA", data=marker("n14", 10))
    f = bytearray(frame(0, pkt))
    f[24] ^= 0x10
    c.dropped("bad_checksum_a", bytes(f), 0, ip_id, "bad_checksum")
    pkt, ip_id = c.ip("a", "PA", data=marker("n15", 10))
    c.dropped("l2_broadcast_a", frame(0, pkt, dst_mac="ff:ff:ff:ff:ff:ff"), 0, ip_id,
              "l2_broadcast_forward")
    c.fwd("after_drops_a", "a", "PA", data=marker("n16", 10), hit=True)
    # A SYN on an offloaded connection: only FIN and RST tear down (nf_flow_tcp_state_check).
    c.fwd("syn_on_offloaded_a", "a", "S", hit=True)
    c.fwd("data_b_last", "b", "PA", data=marker("n17", 10), hit=True)


def not_established(sc: Script) -> None:
    """6. No connection from one-way packets, no offload before the handshake completes,
    and no connection from a packet that cannot open one."""
    # A SYN and data never answered: only noted, nothing enters the table.
    o = Conn(sc, "syn_one_way", CLI.format(8), SRV.format(66), 40020)
    o.fwd("syn", "a", "S")
    o.fwd("data_a", "a", "PA", data=marker("e7", 10))
    o.fwd("data_a_2", "a", "PA", data=marker("e8", 10))
    o.fwd("syn_again", "a", "S")
    # A reply to the SYN that is not a SYN-ACK: the connection starts (SYN_SENT, which
    # that reply does not move) and never gets established.
    s = Conn(sc, "syn_then_data_b", CLI.format(8), SRV.format(66), 40021)
    s.fwd("syn", "a", "S")
    s.fwd("data_b_without_synack", "b", "PA", data=marker("e9", 10), flow={"flow_new": 1})
    s.fwd("data_a", "a", "PA", data=marker("e10", 10))
    s.fwd("data_b_2", "b", "PA", data=marker("e11", 10))
    s.fwd("data_a_2", "a", "PA", data=marker("e12", 10))
    # SYN, then data from the opener, then a reply without SYN-ACK: the SYN's note stays
    # (the opener's data leaves Linux's conntrack in SYN_SENT), so the reply starts the
    # connection in SYN_SENT and it never gets established.
    c = Conn(sc, "no_synack", CLI.format(8), SRV.format(66), 40008)
    c.fwd("syn", "a", "S")
    c.fwd("data_a", "a", "PA", data=marker("e1", 10))
    c.fwd("data_b_without_synack", "b", "PA", data=marker("e2", 10), flow={"flow_new": 1})
    c.fwd("data_a_2", "a", "PA", data=marker("e3", 10))
    c.fwd("data_b_2", "b", "PA", data=marker("e4", 10))
    # The handshake stopped after the SYN-ACK: a connection (created by the SYN-ACK) in
    # SYN_RECV, which the server's data does not move.
    d = Conn(sc, "no_third_ack", CLI.format(9), SRV.format(66), 40009)
    d.fwd("syn", "a", "S")
    d.fwd("syn_ack", "b", "SA", flow={"flow_new": 1})
    d.fwd("data_b", "b", "PA", data=marker("e5", 10))
    d.fwd("data_b_2", "b", "PA", data=marker("e6", 10))
    for i, (frm, flags) in enumerate((("b", "SA"), ("a", "FA"), ("a", "F"), ("a", "R"),
                                      ("b", "RA"))):
        lone = Conn(sc, f"lone_{flags.lower()}_{frm}", CLI.format(10), SRV.format(66),
                    40010 + i)
        lone.fwd("only", frm, flags)
        lone.fwd("again", frm, flags)


def loose_pickup(sc: Script, loose: bool) -> None:
    """7. A connection first seen mid-stream (ACK, no SYN): with nf_conntrack_tcp_loose
    picked up as established by the first reply, offloaded by the next packet of the
    side seen first; without, never tracked (each packet only noted); one never answered
    is never tracked."""
    new = {"flow_new": 1} if loose else None
    offload = {"flow_offloads": 1} if loose else None
    c = Conn(sc, "loose", CLI.format(11), SRV.format(67), 40011)
    c.fwd("data_a", "a", "PA", data=marker("l1", 10))
    c.fwd("data_a_2", "a", "PA", data=marker("l2", 10))
    c.fwd("ack_b", "b", "A", flow=new)
    c.fwd("data_a_3", "a", "PA", data=marker("l3", 10), flow=offload)
    c.fwd("data_b", "b", "PA", data=marker("l4", 10), hit=loose)
    c.fwd("data_a_4", "a", "PA", data=marker("l5", 10), hit=loose)
    c.fwd("data_b_2", "b", "PA", data=marker("l12", 10), hit=loose)
    d = Conn(sc, "loose_unreplied", CLI.format(12), SRV.format(67), 40012)
    d.fwd("data_a", "a", "PA", data=marker("l6", 10))
    d.fwd("data_a_2", "a", "PA", data=marker("l7", 10))
    # The reply side mid-stream first: picked up with the server as the original side.
    e = Conn(sc, "loose_reply_first", CLI.format(13), SRV.format(67), 40013)
    e.fwd("data_b", "b", "PA", data=marker("l8", 10))
    e.fwd("data_a", "a", "PA", data=marker("l9", 10), flow=new)
    e.fwd("data_b_2", "b", "PA", data=marker("l10", 10), flow=offload)
    e.fwd("data_a_2", "a", "PA", data=marker("l11", 10), hit=loose)
    e.fwd("data_b_3", "b", "PA", data=marker("l13", 10), hit=loose)


def main_script() -> list[Case]:
    sc = Script()
    tcp_offload(sc)
    tcp_fin(sc)
    tcp_rst(sc)
    udp_offload(sc)
    normal_path_rules(sc)
    not_established(sc)
    loose_pickup(sc, True)
    return layout(sc.cases)


def loose_off_script() -> list[Case]:
    sc = Script()
    loose_pickup(sc, False)
    c = Conn(sc, "loose_off_handshake", CLI.format(14), SRV.format(68), 40014)
    c.handshake()
    c.fwd("data_a", "a", "PA", data=marker("o1", 10), hit=True)
    c.fwd("data_b", "b", "PA", data=marker("o2", 10), hit=True)
    # The opener's data between its SYN and the SYN-ACK does not hide the SYN: the
    # handshake completes and offloads, as in Linux.
    d = Conn(sc, "loose_off_data_before_synack", CLI.format(15), SRV.format(68), 40015)
    d.fwd("syn", "a", "S")
    d.fwd("early_data_a", "a", "PA", data=marker("o3", 10))
    d.fwd("syn_ack", "b", "SA", flow={"flow_new": 1})
    d.fwd("ack", "a", "A", flow={"flow_offloads": 1})
    d.fwd("data_b", "b", "PA", data=marker("o4", 10), hit=True)
    return layout(sc.cases)


def bound_script() -> list[Case]:
    """9. nf_conntrack_max 4 on the one worker. Its pending array has 4 slots too, so
    first packets of different tuples may overwrite each other's note: here every first
    packet that gets an answer is answered by the very next packet processed."""
    sc = Script()
    e = Conn(sc, "bound_est", CLI.format(20), SRV.format(70), 41000)
    e.handshake()
    e.fwd("data_a", "a", "PA", data=marker("b1", 10), hit=True)
    e.fwd("data_b", "b", "PA", data=marker("b2", 10), hit=True)
    # A flood of 10 SYNs never answered: only noted, they take no slot, evict nothing.
    flood = [Conn(sc, f"bound_flood{i}", CLI.format(24), SRV.format(70), 46000 + i)
             for i in range(10)]
    for f in flood:
        f.fwd("syn", "a", "S")
    e.fwd("data_a_after_flood", "a", "PA", data=marker("b3", 10), hit=True)
    # 10 half-open handshakes (SYN, SYN-ACK, no ACK), each created by its SYN-ACK in
    # SYN_RECV: 3 into the free slots, then each in place of the oldest half-open one
    # (0 to 6 evicted); the established connection is never taken.
    hs = [Conn(sc, f"bound_half{i}", CLI.format(21), SRV.format(70), 42000 + i)
          for i in range(10)]
    for i, h in enumerate(hs):
        h.fwd("syn", "a", "S")
        h.fwd("syn_ack", "b", "SA",
              flow={"flow_new": 1, **({"flow_evictions": 1} if i >= 3 else {})})
    e.fwd("data_a_after_churn", "a", "PA", data=marker("b4", 10), hit=True)
    e.fwd("data_b_after_churn", "b", "PA", data=marker("b5", 10), hit=True)
    # The first one was evicted: its ACK finds no connection (it is only noted).
    hs[0].fwd("ack_of_evicted", "a", "A")
    # The flood again: still nothing taken from 7, 8, 9.
    for f in flood:
        f.fwd("syn_again", "a", "S")
    # The newest survived: its ACK establishes it and offloads it.
    hs[9].fwd("ack", "a", "A", flow={"flow_offloads": 1})
    hs[9].fwd("data_b", "b", "PA", data=marker("b6", 10), hit=True)
    # A full handshake evicts the oldest half-open one (7) with its SYN-ACK; once it is
    # closing (FIN) it can be evicted in turn.
    cl = Conn(sc, "bound_closing", CLI.format(25), SRV.format(73), 47000)
    cl.fwd("syn", "a", "S")
    cl.fwd("syn_ack", "b", "SA", flow={"flow_new": 1, "flow_evictions": 1})
    cl.fwd("ack", "a", "A", flow={"flow_offloads": 1})
    cl.fwd("data_b", "b", "PA", data=marker("b7", 10), hit=True)
    cl.fwd("fin_a", "a", "FA", flow={"flow_teardown_fin": 1})
    # Two UDP flows: each first reply evicts the oldest unestablished connection (the
    # half-open 8, then the closing one); the next query offloads.
    us = [Conn(sc, f"bound_udp{i}", CLI.format(22), SRV.format(71), 43000 + i, 53, udp=True)
          for i in range(2)]
    for u in us:
        u.fwd("query", "a")
        u.fwd("reply", "b", flow={"flow_new": 1, "flow_evictions": 1})
        u.fwd("query_2", "a", flow={"flow_offloads": 1})
    # The closing connection is gone: its server's FIN finds none (only noted).
    cl.fwd("fin_b_after_eviction", "b", "FA")
    # Four established connections (bound_est, bound_half9, the UDP flows): a fifth is
    # forwarded untracked, each reply that would create it counted as flow_table_full.
    x = Conn(sc, "bound_full_udp", CLI.format(23), SRV.format(72), 44000, 53, udp=True)
    x.fwd("query", "a")
    x.fwd("reply", "b", flow={"flow_table_full": 1})
    x.fwd("query_2", "a")
    x.fwd("reply_2", "b", flow={"flow_table_full": 1})
    y = Conn(sc, "bound_full_tcp", CLI.format(23), SRV.format(72), 44001)
    y.fwd("syn", "a", "S")
    y.fwd("syn_ack", "b", "SA", flow={"flow_table_full": 1})
    y.fwd("ack", "a", "A")
    e.fwd("data_a_when_full", "a", "PA", data=marker("b8", 10), hit=True)
    e.fwd("data_b_when_full", "b", "PA", data=marker("b9", 10), hit=True)
    hs[9].fwd("data_a_when_full", "a", "PA", data=marker("b10", 10), hit=True)
    us[0].fwd("query_when_full", "a", hit=True)
    us[1].fwd("reply_when_full", "b", hit=True)
    return layout(sc.cases)


def close_unforwarded_script() -> list[Case]:
    """A FIN or RST of an offloaded connection that the router answers with an ICMP error
    instead of forwarding (TTL 1, or over the MTU with DF): the flowtable tears the
    offload down, and, as flowtable/mod.rs says ("conntrack then sees the close") and as
    Linux's conntrack does (it runs at PREROUTING, before ip_forward's TTL and MTU
    checks), the connection is closing: never offloaded again."""
    sc = Script()
    for i, (flags, how) in enumerate((("R", "ttl1"), ("FA", "ttl1"), ("FA", "too_big"))):
        c = Conn(sc, f"unfwd_{flags.lower()}_{how}", CLI.format(30 + i), SRV.format(80),
                 45000 + i)
        c.handshake()
        c.fwd("data_a", "a", "PA", data=marker("u1", 10), hit=True)
        flow = {"flow_teardown_rst" if flags == "R" else "flow_teardown_fin": 1}
        if how == "ttl1":
            case = c.icmp(f"{flags.lower()}_ttl1_a", "a", "ttl_exceeded", 11, 0,
                          flags=flags, ttl=1)
        else:
            case = c.icmp(f"{flags.lower()}_too_big_df_a", "a", "frag_needed", 3, 4,
                          rest=struct.pack("!HH", 0, P1_MTU), flags=flags, total=1400)
        case.counters.update(flow)
        c.fwd("data_b_after", "b", "PA", data=marker("u2", 10))
        c.fwd("ack_a_after", "a", "A")
        c.fwd("data_b_after_2", "b", "PA", data=marker("u3", 10))
    return layout(sc.cases)


MAIN = main_script()
LOOSE_OFF = loose_off_script()
BOUND = bound_script()
CLOSE_UNFORWARDED = close_unforwarded_script()


def _no_flow(cases: list[Case]) -> list[Case]:
    """The same cases with no flow_* counter expected (flowtable off)."""
    return [Case(c.name, c.frame, c.port,
                 {k: v for k, v in c.counters.items() if k not in FLOW_COUNTERS},
                 c.outputs, c.key, c.note) for c in cases]


BURST1 = ", burst: 1"
RUNS = {
    "main": (MAIN, {"p1_mtu": P1_MTU, "extra_settings": BURST1}),
    "flowtable_off": (_no_flow(MAIN),
                      {"p1_mtu": P1_MTU, "extra_settings": BURST1 + ", flowtable: false"}),
    "loose_off": (LOOSE_OFF, {"p1_mtu": P1_MTU,
                              "extra_settings": BURST1 + ", nf_conntrack_tcp_loose: false"}),
    "bound": (BOUND, {"p1_mtu": P1_MTU,
                      "extra_settings": BURST1 + ", nf_conntrack_max: 4"}),
    "close_unforwarded": (CLOSE_UNFORWARDED, {"p1_mtu": P1_MTU, "extra_settings": BURST1}),
}
for _name, (_cases, _) in RUNS.items():
    _keys = [c.key for c in _cases if c.key is not None]
    assert len(set(_keys)) == len(_keys), f"{_name}: duplicate case keys"


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(name):
        if name not in cache:
            cases, cfg = RUNS[name]
            cache[name] = run_router(inputs_of(cases), config_kwargs=cfg)
        return cache[name]
    return get


def flow_diff(run, cases) -> list[str]:
    exp: Counter = Counter()
    for c in cases:
        for k, v in c.counters.items():
            if k in FLOW_COUNTERS:
                exp[k] += v
    got = {k: v for k, v in run.counters.items() if k.startswith("flow_")}
    lines = []
    for name in sorted(set(exp) | set(got)):
        if exp.get(name, 0) != got.get(name, 0):
            who = [c.name for c in cases if c.counters.get(name)]
            lines.append(f"{name}: got {got.get(name, 0)}, expected {exp.get(name, 0)}"
                         + (f" (from {', '.join(who)})" if who else ""))
    return lines


CASE_PARAMS = [pytest.param(r, c, id=f"{r}-{c.name}") for r, (cases, _) in RUNS.items()
               for c in cases if not c.name.startswith("filler")]


@pytest.mark.parametrize("name", list(RUNS))
def test_clean_exit(runs, name):
    assert_clean_exit(runs(name))


@pytest.mark.parametrize("name,case", CASE_PARAMS)
def test_case(runs, name, case):
    check_case(runs(name), case)


@pytest.mark.parametrize("name", list(RUNS))
def test_no_unexpected_output(runs, name):
    extra = unexpected_outputs(runs(name), RUNS[name][0])
    assert not extra, "\n".join(extra)


@pytest.mark.parametrize("name", list(RUNS))
def test_counters(runs, name):
    r = runs(name)
    diff = counter_diff(r, RUNS[name][0], ignore=tuple(FLOW_COUNTERS))
    assert not diff, "\n".join(diff) + "\n" + r.describe()


@pytest.mark.parametrize("name", list(RUNS))
def test_flow_counters(runs, name):
    r = runs(name)
    diff = flow_diff(r, RUNS[name][0])
    assert not diff, "\n".join(diff) + "\n" + r.describe()


def test_flowtable_off_has_no_flow_counters(runs):
    r = runs("flowtable_off")
    flow = {k: v for k, v in r.counters.items() if k.startswith("flow_")}
    assert not flow, f"flowtable: false, yet {flow}\n{r.describe()}"


def test_flowtable_off_sends_the_same_frames(runs):
    """The forwarded frames (all but the router's own ICMP errors, whose ids may differ
    between runs) of the main run, with and without the flowtable, are the same."""
    def fwd(r):
        return {p: Counter(f for f in r.out[p] if f[23] != 1) for p in (0, 1)}
    on, off = fwd(runs("main")), fwd(runs("flowtable_off"))
    for p in (0, 1):
        assert on[p] == off[p], (
            f"p{p}: {sum((on[p] - off[p]).values())} frames only with the flowtable, "
            f"{sum((off[p] - on[p]).values())} only without")


def test_main_run_offloads_and_hits(runs):
    """The headline numbers, for a readable failure: the offloads and hits the cases
    add up to, and every hit also counted as forwarded."""
    r = runs("main")
    hits = sum(c.counters.get("flow_hits", 0) for c in MAIN)
    offloads = sum(c.counters.get("flow_offloads", 0) for c in MAIN)
    assert (r.counter("flow_offloads"), r.counter("flow_hits")) == (offloads, hits), \
        r.describe()
    assert r.counter("forwarded") == sum(c.counters.get("forwarded", 0) for c in MAIN)


@pytest.mark.parametrize("name", list(RUNS))
def test_genid_did_not_move(runs, name):
    """Nothing in these runs changes routes or neighbours: no dst is rebuilt (the workers
    start only once the control core has published its first neighbour view). If this
    fails, the flow counters fail with it (teardowns by genid, late offloads)."""
    r = runs(name)
    assert r.counter("dst_rebuilds") == 0, f"dst_rebuilds {r.counter('dst_rebuilds')}"
