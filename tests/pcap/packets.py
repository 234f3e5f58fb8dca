"""Test cases: an input frame, the counters it must bump and the frames it must cause.

Every expectation is computed here with scapy from the input frame and the behaviour of
Linux as a router (RFC 1812), never from the project's code. Each case carries a key that
identifies the frames it causes: the IP id for forwarded packets and for ICMP errors (the id
of the quoted header), the ICMP echo id for echo replies, the requester for ARP replies. Ids
are unique across all cases so any groups of cases can share one run of the binary.
"""

from __future__ import annotations

import itertools
import socket
import struct
from dataclasses import dataclass, field
from typing import Callable

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_LSRR
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet, Raw
from scapy.utils import checksum, hexdump

from fastpath_run import (
    N0_IP, N0_MAC, N1_IP, N1_MAC, PORT_IP, PORT_MAC, R0_IP, R0_MAC, R1_IP, R1_MAC,
    RunResult,
)

NEIGH_MAC = {0: N0_MAC, 1: N1_MAC}
NEIGH_IP = {0: N0_IP, 1: N1_IP}
ICMP_ERROR_MAX = 576  # RFC 1812 4.3.2.3: an ICMP error is at most 576 bytes of IP

_ip_ids = itertools.count(0x1001)
_echo_ids = itertools.count(0x4001)

Checker = Callable[[bytes], None]


@dataclass
class Out:
    """One frame the case must cause on output port ``port``, checked by ``check``."""
    port: int
    check: Checker


@dataclass
class Case:
    name: str
    frame: bytes
    port: int = 0                                   # input port
    counters: dict[str, int] = field(default_factory=dict)
    outputs: list[Out] = field(default_factory=list)
    key: tuple | None = None                        # see output_key()
    note: str = ""

    def __repr__(self) -> str:  # short ids in pytest output
        return self.name


# --------------------------------------------------------------------------- helpers


def hexd(data: bytes) -> str:
    return hexdump(data, dump=True)


def show(frame: bytes) -> str:
    try:
        return Ether(frame).show(dump=True)
    except Exception as e:  # noqa: BLE001 - malformed output is still worth printing
        return f"(scapy cannot dissect: {e})"


def first_diff(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def assert_bytes(what: str, got: bytes, want: bytes) -> None:
    if got != want:
        i = first_diff(got, want)
        raise AssertionError(
            f"{what}: differs at byte {i} (got {len(got)} bytes, expected {len(want)})\n"
            f"got:\n{hexd(got)}\nexpected:\n{hexd(want)}"
        )


def ip_packet(frame: bytes) -> bytes:
    """The IP packet inside an input frame, without link-layer padding."""
    ip = frame[14:]
    return ip[: struct.unpack("!H", ip[2:4])[0]]


def ip_header_checksum_ok(ip: bytes) -> bool:
    """Header checksum verified two ways with scapy: the one's complement sum over the
    header is 0, and rebuilding the header with the checksum deleted gives the same one."""
    ihl = (ip[0] & 0x0F) * 4
    if checksum(ip[:ihl]) != 0:
        return False
    hdr = IP(ip[:ihl])
    hdr.remove_payload()
    got = hdr.chksum
    del hdr.chksum
    return IP(bytes(hdr)).chksum == got


def frame(port: int, pkt, *, dst_mac: str | None = None, src_mac: str | None = None) -> bytes:
    """An Ethernet frame arriving on ``port`` from that port's neighbour, to the router."""
    return bytes(
        Ether(dst=dst_mac or PORT_MAC[port], src=src_mac or NEIGH_MAC[port]) / pkt
    )


def marker(name: str, size: int = 0) -> bytes:
    """A payload naming the case, padded with a counting pattern to ``size`` bytes."""
    m = f"fastpath-pcap:{name}:".encode()
    if size > len(m):
        m += bytes((i * 7 + 3) & 0xFF for i in range(size - len(m)))
    return m


def udp_ip(name: str, src: str, dst: str, *, ttl: int = 64, df: bool = True,
           total: int | None = None, tos: int = 0, ip_id: int | None = None):
    """An IP/UDP packet; ``total`` sets the IP total length."""
    ip_id = next(_ip_ids) if ip_id is None else ip_id
    payload = marker(name)
    if total is not None:
        payload = marker(name, total - 28)
    return (IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags="DF" if df else 0)
            / UDP(sport=40000 + (ip_id & 0xFFF), dport=9999) / Raw(payload)), ip_id


# --------------------------------------------------------------------------- checkers


def check_forwarded(in_frame: bytes, out_port: int, next_hop_mac: str) -> Checker:
    """Linux ip_forward: new MACs, TTL - 1, header checksum updated, nothing else changed,
    link-layer padding of the input not carried over."""
    ip_in = ip_packet(in_frame)
    ihl = (ip_in[0] & 0x0F) * 4
    # The input header with TTL - 1 and its checksum recomputed by scapy; the rest of the
    # packet must be the original bytes.
    hdr = bytearray(ip_in[:ihl])
    hdr[8] -= 1
    hdr[10:12] = b"\0\0"
    hdr[10:12] = struct.pack("!H", checksum(bytes(hdr)))
    exp_ip = bytes(hdr) + ip_in[ihl:]
    if ihl == 20:  # cross-check: scapy rebuilding the header with chksum deleted agrees
        p = IP(ip_in[:ihl])
        p.remove_payload()
        p.ttl -= 1
        del p.chksum
        assert bytes(p)[:ihl] == exp_ip[:ihl]
    want = bytes(Ether(dst=next_hop_mac, src=PORT_MAC[out_port], type=0x0800)) + exp_ip

    def check(out: bytes) -> None:
        assert_bytes("forwarded frame", out, want)
        assert ip_header_checksum_ok(out[14:]), "bad IP header checksum"
    return check


def fragments_options(opts: bytes) -> bytes:
    """The options of the fragments after the first (RFC 791 3.2: only options with the
    copied flag 0x80 go into every fragment), as Linux's ip_options_fragment writes them:
    the others overwritten by NOPs over their whole length, so the header keeps its length;
    NOPs, copied options and everything from EOL on unchanged."""
    o, i = bytearray(opts), 0
    while i < len(o):
        if o[i] == 0:
            break
        if o[i] == 1:
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2 or i + o[i + 1] > len(o):
            break
        n = o[i + 1]
        if not o[i] & 0x80:
            o[i : i + n] = b"\x01" * n
        i += n
    return bytes(o)


def linux_fragments(in_frame: bytes, out_port: int, mtu: int,
                    next_hop_mac: str | None = None) -> list[bytes]:
    """The frames Linux sends for a forwarded packet (DF clear) on an egress MTU of ``mtu``:
    ip_forward decrements the TTL, then ip_do_fragment (slow path: ip_frag_init and
    ip_frag_next) cuts the data in pieces of (mtu - header length) rounded down to 8 but
    the last; each fragment has the input's header (options of the later ones per
    fragments_options when the input was not itself a later fragment), its own total
    length, offset = input offset + position, MF on all but the last (and on the last if
    the input had MF), DF clear, the header checksum recomputed. One frame, forwarded as
    it is, when it fits. test_fragment.py checks this model against Linux's own bytes."""
    ip = bytearray(ip_packet(in_frame))
    hl = (ip[0] & 0x0F) * 4
    ip[8] -= 1
    word = struct.unpack("!H", ip[6:8])[0]
    offset, mf = (word & 0x1FFF) * 8, bool(word & 0x2000)
    later = bytearray(ip[:hl])
    if offset == 0:
        later[20:hl] = fragments_options(bytes(ip[20:hl]))
    eth = bytes(Ether(dst=next_hop_mac or NEIGH_MAC[out_port], src=PORT_MAC[out_port],
                      type=0x0800))
    data, pos, frames = bytes(ip[hl:]), 0, []
    if len(ip) <= mtu:
        hdr = bytearray(ip[:hl])
        hdr[10:12] = b"\0\0"
        hdr[10:12] = struct.pack("!H", checksum(bytes(hdr)))
        return [eth + bytes(hdr) + data]
    while pos < len(data):
        n = min(len(data) - pos, mtu - hl)
        if n < len(data) - pos:
            n &= ~7
        last = pos + n == len(data)
        hdr = bytearray(ip[:hl] if not frames else later)
        hdr[2:4] = struct.pack("!H", hl + n)
        hdr[6:8] = struct.pack("!H", ((offset + pos) >> 3) | (0x2000 if not last or mf else 0))
        hdr[10:12] = b"\0\0"
        hdr[10:12] = struct.pack("!H", checksum(bytes(hdr)))
        frames.append(eth + bytes(hdr) + data[pos : pos + n])
        pos += n
    return frames


def check_fragment(want: bytes, i: int, n: int) -> Checker:
    """Fragment ``i`` of ``n``: exactly ``want`` (see linux_fragments), and a header
    checksum scapy agrees with."""
    def check(out: bytes) -> None:
        assert_bytes(f"fragment {i + 1} of {n}", out, want)
        assert ip_header_checksum_ok(out[14:]), "bad IP header checksum"
    return check


def fragmented(in_frame: bytes, out_port: int, mtu: int) -> tuple[dict[str, int], list[Out]]:
    """The counters and outputs of a forwarded packet that Linux fragments."""
    frags = linux_fragments(in_frame, out_port, mtu)
    assert len(frags) > 1
    counters = {"forwarded": 1, "frag_oks": 1, "frag_creates": len(frags)}
    return counters, [Out(out_port, check_fragment(f, i, len(frags)))
                      for i, f in enumerate(frags)]


def check_icmp_error(in_frame: bytes, out_port: int, *, icmp_type: int, code: int,
                     rest: bytes = b"\0\0\0\0", src_ip: str | None = None,
                     dst_mac: str | None = None) -> Checker:
    """An ICMP error about the IP packet in ``in_frame`` (RFC 792, RFC 1812 4.3.2.3; Linux
    icmp_send): from the egress port's address, to the original source, TTL 64, TOS 0xc0,
    DF clear, quoting the original packet as received, cut so the whole is <= 576 bytes."""
    orig = ip_packet(in_frame)
    orig_src = IP(orig).src
    src_ip = src_ip or PORT_IP[out_port]
    dst_mac = dst_mac or NEIGH_MAC[out_port]
    quote = orig[: ICMP_ERROR_MAX - 20 - 8]

    def check(out: bytes) -> None:
        problems = []
        eth = Ether(out[:14])
        if (eth.dst, eth.src, eth.type) != (dst_mac, PORT_MAC[out_port], 0x0800):
            problems.append(f"Ethernet {eth.dst} <- {eth.src} type {eth.type:#06x}, expected "
                            f"{dst_mac} <- {PORT_MAC[out_port]} type 0x0800")
        ip = out[14:]
        if len(ip) < 28:
            raise AssertionError(f"ICMP error too short ({len(out)} bytes)\n{hexd(out)}")
        tot = struct.unpack("!H", ip[2:4])[0]
        hdr = IP(ip[:20])
        checks = [
            ("version", ip[0] >> 4, 4),
            ("IHL", ip[0] & 0x0F, 5),
            ("TOS", ip[1], 0xC0),
            ("total length vs frame", tot, len(ip)),
            ("DF/MF/offset", struct.unpack("!H", ip[6:8])[0], 0),
            ("TTL", ip[8], 64),
            ("protocol", ip[9], 1),
            ("source", hdr.src, src_ip),
            ("destination", hdr.dst, orig_src),
            ("IP header checksum ok", ip_header_checksum_ok(ip), True),
        ]
        icmp = ip[20:]
        checks += [
            ("ICMP type", icmp[0], icmp_type),
            ("ICMP code", icmp[1], code),
            ("ICMP checksum ok", checksum(icmp) == 0, True),
            ("ICMP bytes 4-7", icmp[4:8].hex(), rest.hex()),
            ("total length <= 576", tot <= ICMP_ERROR_MAX, True),
            ("quote length", len(icmp) - 8, len(quote)),
        ]
        problems += [f"{n}: got {g!r}, expected {w!r}" for n, g, w in checks if g != w]
        if icmp[8:] != quote:
            i = first_diff(icmp[8:], quote)
            problems.append(f"quoted bytes differ from the original at quote byte {i}")
        if problems:
            raise AssertionError(
                "ICMP error: " + "; ".join(problems) + f"\noutput:\n{hexd(out)}\n"
                f"expected quote (original packet):\n{hexd(quote)}"
            )
        # scapy agrees on the ICMP checksum when rebuilding.
        p = ICMP(icmp)
        got = p.chksum
        del p.chksum
        assert ICMP(bytes(p)).chksum == got, "ICMP checksum (scapy rebuild)"
    return check


def check_tcp_reset(in_frame: bytes, out_port: int, seq: int, ack: int, flags: str) -> Checker:
    """Linux tcp_v4_send_reset, as captured: from the address the segment was sent to,
    ports swapped, the given seq/ack/flags, window 0, no options, TTL 64, the segment's
    TOS, DF set, IP id 0."""
    orig = IP(ip_packet(in_frame))

    def check(out: bytes) -> None:
        eth = Ether(out[:14])
        ip = out[14:]
        hdr = IP(ip)
        t = hdr[TCP]
        seg = ip[20:]
        ph = struct.pack("!4s4sBBH", socket.inet_aton(hdr.src), socket.inet_aton(hdr.dst), 0, 6, len(seg))
        checks = [
            ("Ethernet", (eth.dst, eth.src, eth.type), (NEIGH_MAC[out_port], PORT_MAC[out_port], 0x0800)),
            ("IHL", ip[0] & 0x0F, 5),
            ("total length", struct.unpack("!H", ip[2:4])[0], 40),
            ("frame length", len(ip), 40),
            ("TOS", ip[1], orig.tos),
            ("id", hdr.id, 0),
            ("flags/offset", struct.unpack("!H", ip[6:8])[0], 0x4000),
            ("TTL", ip[8], 64),
            ("addresses", (hdr.src, hdr.dst), (orig.dst, orig.src)),
            ("IP header checksum ok", ip_header_checksum_ok(ip), True),
            ("ports", (t.sport, t.dport), (orig[TCP].dport, orig[TCP].sport)),
            ("seq/ack", (t.seq, t.ack), (seq, ack)),
            ("flags", str(t.flags), flags),
            ("data offset", t.dataofs, 5),
            ("window/urgent", (t.window, t.urgptr), (0, 0)),
            ("TCP checksum ok", checksum(ph + seg) == 0, True),
        ]
        problems = [f"{n}: got {g!r}, expected {w!r}" for n, g, w in checks if g != w]
        if problems:
            raise AssertionError("TCP reset: " + "; ".join(problems) + f"\n{hexd(out)}")
    return check


def check_echo_reply(in_frame: bytes, out_port: int, *, src_ip: str,
                     dst_mac: str | None = None) -> Checker:
    """Linux icmp_echo/icmp_reply: type 0 code 0, the request's id, seq and data, from the
    address that was pinged to the requester, TTL 64."""
    req = ip_packet(in_frame)
    req_ihl = (req[0] & 0x0F) * 4
    req_icmp = req[req_ihl:]
    requester = IP(req).src
    dst_mac = dst_mac or NEIGH_MAC[out_port]

    def check(out: bytes) -> None:
        eth = Ether(out[:14])
        ip = out[14:]
        tot = struct.unpack("!H", ip[2:4])[0]
        ihl = (ip[0] & 0x0F) * 4
        hdr = IP(ip[:20])
        icmp = ip[ihl:tot]
        checks = [
            ("Ethernet dst", eth.dst, dst_mac),
            ("Ethernet src", eth.src, PORT_MAC[out_port]),
            ("ethertype", eth.type, 0x0800),
            ("version", ip[0] >> 4, 4),
            ("total length vs frame", tot, len(ip)),
            ("MF/offset", struct.unpack("!H", ip[6:8])[0] & 0x3FFF, 0),
            ("TTL", ip[8], 64),
            ("protocol", ip[9], 1),
            ("source", hdr.src, src_ip),
            ("destination", hdr.dst, requester),
            ("IP header checksum ok", ip_header_checksum_ok(ip), True),
            ("ICMP type", icmp[0], 0),
            ("ICMP code", icmp[1], 0),
            ("ICMP checksum ok", checksum(icmp) == 0, True),
            ("id/seq/data", icmp[4:].hex(), req_icmp[4:].hex()),
        ]
        problems = [f"{n}: got {g!r}, expected {w!r}" for n, g, w in checks if g != w]
        if problems:
            raise AssertionError("echo reply: " + "; ".join(problems) + f"\n{hexd(out)}")
    return check


def check_arp_reply(out_port: int, *, requester_mac: str, requester_ip: str,
                    sender_ip: str | None = None) -> Checker:
    """RFC 826 reply: sender = our port's MAC and the address asked for (by default the
    port's own), target = the requester, unicast to it."""
    sender_ip = sender_ip or PORT_IP[out_port]

    def check(out: bytes) -> None:
        if len(out) < 42:
            raise AssertionError(f"ARP reply of {len(out)} bytes\n{hexd(out)}")
        eth = Ether(out[:14])
        hw, pt, hl, pl, op = struct.unpack("!HHBBH", out[14:22])
        arp = ARP(out[14:42])
        checks = [
            ("Ethernet dst", eth.dst, requester_mac),
            ("Ethernet src", eth.src, PORT_MAC[out_port]),
            ("ethertype", eth.type, 0x0806),
            ("htype/ptype/hlen/plen", (hw, pt, hl, pl), (1, 0x0800, 6, 4)),
            ("op", op, 2),
            ("sender MAC", arp.hwsrc, PORT_MAC[out_port]),
            ("sender IP", arp.psrc, sender_ip),
            ("target MAC", arp.hwdst, requester_mac),
            ("target IP", arp.pdst, requester_ip),
            ("padding is zero", set(out[42:]) <= {0}, True),
        ]
        problems = [f"{n}: got {g!r}, expected {w!r}" for n, g, w in checks if g != w]
        if problems:
            raise AssertionError("ARP reply: " + "; ".join(problems) + f"\n{hexd(out)}")
    return check


def output_key(out: bytes) -> tuple | None:
    """Which case caused an output frame (see the module doc); None if unrecognisable."""
    try:
        eth = Ether(out)
        if eth.type == 0x0806 and ARP in eth:
            return ("arp", eth[ARP].psrc, eth[ARP].pdst)
        if eth.type != 0x0800:
            return None
        ip = out[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] == 6 and len(ip) >= ihl + 14 and ip[ihl + 13] & 0x04 and ip[4:6] == b"\0\0":
            # Our TCP reset (IP id 0): keyed by the port the segment came from.
            return ("tcp", struct.unpack("!H", ip[ihl + 2 : ihl + 4])[0])
        if ip[9] == 1 and len(ip) >= ihl + 8:
            t = ip[ihl]
            if t in (3, 4, 5, 11, 12) and len(ip) >= ihl + 8 + 6:
                return ("ipid", struct.unpack("!H", ip[ihl + 12 : ihl + 14])[0])
            if t == 0:
                return ("echo", struct.unpack("!H", ip[ihl + 4 : ihl + 6])[0])
        return ("ipid", struct.unpack("!H", ip[4:6])[0])
    except Exception:  # noqa: BLE001 - garbage output is reported by the caller
        return None


# --------------------------------------------------------------------------- evaluation


def inputs_of(cases: list[Case]) -> dict[int, list[bytes]]:
    ins: dict[int, list[bytes]] = {0: [], 1: []}
    for c in cases:
        ins[c.port].append(c.frame)
    return ins


def expected_counters(cases: list[Case]) -> dict[str, int]:
    exp: dict[str, int] = {"rx_packets": len(cases)}
    tx = sum(len(c.outputs) for c in cases)
    if tx:
        exp["tx_packets"] = tx
    for c in cases:
        for k, v in c.counters.items():
            exp[k] = exp.get(k, 0) + v
    return {k: v for k, v in exp.items() if v}


def counter_diff(run: RunResult, cases: list[Case], ignore: tuple[str, ...] = ()) -> list[str]:
    """Differences between the contract's counters and what the cases expect, each naming
    the cases that should have contributed."""
    exp = expected_counters(cases)
    got = run.known_counters()
    lines = []
    for name in sorted(set(exp) | set(got)):
        if name in ignore or exp.get(name, 0) == got.get(name, 0):
            continue
        who = [c.name for c in cases if c.counters.get(name)]
        lines.append(f"{name}: got {got.get(name, 0)}, expected {exp.get(name, 0)}"
                     + (f" (from {', '.join(who)})" if who else ""))
    return lines


def check_case(run: RunResult, case: Case) -> None:
    """The frames this case caused, matched by key, are exactly the expected ones."""
    mine = [(p, f) for p, f in run.all_out() if case.key is not None and output_key(f) == case.key]
    header = (f"case {case.name}: input on p{case.port}, {len(case.frame)} bytes "
              f"(FASTPATH_KEEP=1 keeps the run's pcaps and repro.sh):\n{hexd(case.frame)}\n")
    if len(mine) != len(case.outputs):
        raise AssertionError(
            header + f"expected {len(case.outputs)} output frame(s) "
            f"{[f'p{o.port}' for o in case.outputs]}, got {len(mine)}: "
            f"{[(f'p{p}', len(f)) for p, f in mine]}\n"
            + "".join(f"--- out p{p}:\n{hexd(f)}\n" for p, f in mine)
        )
    # By port, each port's frames in the order they were sent (fragments are in order).
    mine = sorted(mine, key=lambda pf: pf[0])
    for o, (p, f) in zip(sorted(case.outputs, key=lambda o: o.port), mine):
        if p != o.port:
            raise AssertionError(header + f"output on p{p}, expected p{o.port}\n{hexd(f)}")
        try:
            o.check(f)
        except AssertionError as e:
            raise AssertionError(header + f"output on p{p}: {e}") from None


def unexpected_outputs(run: RunResult, cases: list[Case]) -> list[str]:
    """Output frames no case asked for, or more of them than asked for."""
    want: dict[tuple, int] = {}
    for c in cases:
        if c.key is not None:
            want[c.key] = want.get(c.key, 0) + len(c.outputs)
    seen: dict[tuple, int] = {}
    extra = []
    for p, f in run.all_out():
        k = output_key(f)
        seen[k] = seen.get(k, 0) + 1
        if k is None or seen[k] > want.get(k, 0):
            extra.append(f"unexpected frame on p{p} (key {k}):\n{hexd(f)}")
    return extra


# --------------------------------------------------------------------------- the cases


def forward_cases() -> list[Case]:
    """Transit traffic (RFC 1812 5.2/5.3; Linux ip_forward). Config: main, p1 mtu 1280."""
    cases = []

    def fwd(name, port, pkt, out_port, *, note=""):
        f = frame(port, pkt) if isinstance(pkt, IP) else pkt
        ip_id = IP(ip_packet(f)).id
        cases.append(Case(name, f, port, {"forwarded": 1},
                          [Out(out_port, check_forwarded(f, out_port, NEIGH_MAC[out_port]))],
                          ("ipid", ip_id), note))

    pkt, _ = udp_ip("fwd_udp", N0_IP, "198.51.100.7")
    fwd("fwd_udp", 0, pkt, 1, note="UDP, DF, to a /24 via 10.0.2.2 on p1")

    ip_id = next(_ip_ids)
    pkt = (IP(src=N0_IP, dst="198.51.100.8", ttl=64, id=ip_id, flags="DF")
           / TCP(sport=51515, dport=443, seq=0x01020304, flags="S", window=64240,
                 options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                          ("NOP", None), ("WScale", 7)]))
    fwd("fwd_tcp_syn", 0, pkt, 1)

    ip_id = next(_ip_ids)
    pkt = (IP(src=N0_IP, dst="198.51.100.9", ttl=64, id=ip_id)
           / TCP(sport=51516, dport=80, seq=7, ack=9, flags="PA") / Raw(marker("fwd_tcp_data", 200)))
    fwd("fwd_tcp_data", 0, pkt, 1)

    pkt, _ = udp_ip("fwd_default_from_p1", N1_IP, "8.8.8.8")
    fwd("fwd_default_from_p1", 1, pkt, 0, note="default route, arriving on p1")

    pkt, _ = udp_ip("fwd_default_offlink", "172.16.1.1", "8.8.4.4")
    fwd("fwd_default_offlink", 0, pkt, 0,
        note="in and out of p0; the source is not on-link so no redirect (Linux __mkroute_input)")

    pkt, _ = udp_ip("fwd_ttl2", N0_IP, "198.51.100.10", ttl=2)
    fwd("fwd_ttl2", 0, pkt, 1, note="TTL 2 leaves with TTL 1")

    ip_id = next(_ip_ids)
    pkt = (IP(src=N0_IP, dst="198.51.100.11", ttl=64, id=ip_id, tos=0xB8)
           / ICMP(type=8, id=0x7777, seq=3) / Raw(marker("fwd_icmp_echo", 56)))
    fwd("fwd_icmp_echo", 0, pkt, 1, note="an echo request to another host is forwarded")

    # 42-byte frame padded to 60 with non-zero bytes: padding is not part of the packet.
    ip_id = next(_ip_ids)
    pkt = IP(src=N0_IP, dst="198.51.100.12", ttl=64, id=ip_id, flags="DF") / UDP(sport=1, dport=2)
    f = frame(0, pkt)
    assert len(f) == 42
    fwd("fwd_padded", 0, f + b"\xaa" * 18, 1, note="Ethernet padding trimmed: out = 14 + tot_len")

    # Fragments are forwarded as they are (no reassembly on a router).
    ip_id = next(_ip_ids)
    pkt = (IP(src=N0_IP, dst="198.51.100.13", ttl=64, id=ip_id, flags="MF", proto=17)
           / Raw(marker("fwd_first_fragment", 200)))
    fwd("fwd_first_fragment", 0, pkt, 1)
    ip_id = next(_ip_ids)
    pkt = (IP(src=N0_IP, dst="198.51.100.13", ttl=64, id=ip_id, frag=25, proto=17)
           / Raw(marker("fwd_last_fragment", 100)))
    fwd("fwd_last_fragment", 0, pkt, 1)

    # Exactly the egress MTU, DF set: still fits.
    pkt, _ = udp_ip("fwd_mtu_1280", N0_IP, "198.51.100.14", total=1280)
    fwd("fwd_mtu_1280", 0, pkt, 1, note="1280-byte packet, p1 mtu 1280")
    pkt, _ = udp_ip("fwd_mtu_1500", "172.16.1.2", "8.8.8.8", total=1500)
    fwd("fwd_mtu_1500", 0, pkt, 0, note="1500-byte packet, p0 mtu 1500")
    return cases


def icmp_error_cases() -> list[Case]:
    """ICMP errors from the forwarding path. Config: main, p1 mtu 1280.

    Sources differ (off-link 172.16.2.x reach us via the default route) so that a
    per-destination ICMP rate limit like Linux's icmp_ratelimit cannot interfere."""
    cases = []

    def err(name, port, pkt, counters, *, icmp_type, code, rest=b"\0\0\0\0", note=""):
        f = frame(port, pkt) if isinstance(pkt, IP) else pkt
        ip_id = IP(ip_packet(f)).id
        cases.append(Case(name, f, port, counters,
                          [Out(port, check_icmp_error(f, port, icmp_type=icmp_type, code=code,
                                                      rest=rest))],
                          ("ipid", ip_id), note))

    te = {"ttl_exceeded": 1, "icmp_errors": 1}
    pkt, _ = udp_ip("ttl1", N0_IP, "8.8.8.8", ttl=1)
    err("ttl1", 0, pkt, te, icmp_type=11, code=0, note="from the on-link neighbour")
    pkt, _ = udp_ip("ttl0", "172.16.2.1", "8.8.8.8", ttl=0)
    err("ttl0", 0, pkt, te, icmp_type=11, code=0)
    pkt, _ = udp_ip("ttl1_1000", "172.16.2.2", "198.51.100.7", ttl=1, total=1000)
    err("ttl1_1000_bytes", 0, pkt, te, icmp_type=11, code=0, note="quote cut to 548 bytes")
    ip_id = next(_ip_ids)
    f = frame(0, IP(src="172.16.2.3", dst="198.51.100.7", ttl=1, id=ip_id) / UDP(sport=3, dport=4))
    err("ttl1_padded", 0, f + b"\x55" * 18, te, icmp_type=11, code=0,
        note="quote is the 28-byte packet, not the Ethernet padding")
    ip_id = next(_ip_ids)
    pkt = (IP(src="172.16.2.4", dst="198.51.100.7", ttl=1, id=ip_id)
           / ICMP(type=8, id=0x1234, seq=1) / Raw(marker("ttl1_echo", 32)))
    err("ttl1_echo_request", 0, pkt, te, icmp_type=11, code=0,
        note="an echo request is not an error: time exceeded is sent")
    pkt, _ = udp_ip("ttl1_from_p1", N1_IP, "8.8.8.8", ttl=1)
    err("ttl1_from_p1", 1, pkt, te, icmp_type=11, code=0, note="error from 10.0.2.1 out of p1")

    pkt, _ = udp_ip("unreachable", "172.16.2.5", "203.0.113.200")
    err("route_unreachable", 0, pkt, {"unreachable": 1, "icmp_errors": 1}, icmp_type=3, code=1)
    pkt, _ = udp_ip("prohibit", "172.16.2.6", "192.0.2.9")
    err("route_prohibit", 0, pkt, {"prohibit": 1, "icmp_errors": 1}, icmp_type=3, code=13)
    pkt, ip_id = udp_ip("blackhole", "172.16.2.7", "203.0.113.5")
    cases.append(Case("route_blackhole", frame(0, pkt), 0, {"blackhole": 1}, [], ("ipid", ip_id)))

    pkt, _ = udp_ip("frag_needed", "172.16.2.8", "198.51.100.7", total=1400, df=True)
    err("frag_needed", 0, pkt, {"frag_needed": 1, "icmp_errors": 1}, icmp_type=3, code=4,
        rest=struct.pack("!HH", 0, 1280), note="RFC 1191 next-hop MTU 1280")
    pkt, ip_id = udp_ip("too_big_no_df", "172.16.2.9", "198.51.100.7", total=1400, df=False)
    f = frame(0, pkt)
    cases.append(Case("too_big_no_df_fragmented", f, 0, *fragmented(f, 1, 1280),
                      ("ipid", ip_id), "ip_do_fragment: 1276 + 144 bytes on MTU 1280"))

    # Order of the checks, as in Linux: the route type is decided before ip_forward looks
    # at the TTL, and the TTL before the MTU.
    pkt, ip_id = udp_ip("ttl1_blackhole", "172.16.2.10", "203.0.113.5", ttl=1)
    cases.append(Case("ttl1_to_blackhole", frame(0, pkt), 0, {"blackhole": 1}, [],
                      ("ipid", ip_id)))
    pkt, _ = udp_ip("ttl1_unreachable", "172.16.2.11", "203.0.113.200", ttl=1)
    err("ttl1_to_unreachable", 0, pkt, {"unreachable": 1, "icmp_errors": 1}, icmp_type=3, code=1)
    pkt, _ = udp_ip("ttl1_prohibit", "172.16.2.12", "192.0.2.9", ttl=1)
    err("ttl1_to_prohibit", 0, pkt, {"prohibit": 1, "icmp_errors": 1}, icmp_type=3, code=13)
    pkt, _ = udp_ip("ttl1_too_big", "172.16.2.13", "198.51.100.7", ttl=1, total=1400)
    err("ttl1_too_big_df", 0, pkt, te, icmp_type=11, code=0)
    return cases


def no_route_cases() -> list[Case]:
    """Config without a default route (172.16.0.0/12 via 10.0.1.2 instead)."""
    cases = []
    for name, src in (("no_route", "172.16.3.1"), ("no_route_onlink_src", N0_IP)):
        pkt, ip_id = udp_ip(name, src, "8.8.8.8")
        f = frame(0, pkt)
        cases.append(Case(name, f, 0, {"no_route": 1, "icmp_errors": 1},
                          [Out(0, check_icmp_error(f, 0, icmp_type=3, code=0))], ("ipid", ip_id)))
    pkt, ip_id = udp_ip("no_route_back", "100.64.0.1", "8.8.8.8")
    cases.append(Case("no_route_no_route_back", frame(0, pkt), 0,
                      {"no_route": 1, "icmp_no_route_back": 1}, [], ("ipid", ip_id),
                      "neither the destination nor the source has a route"))
    pkt, ip_id = udp_ip("no_route_fwd", N0_IP, "198.51.100.7")
    f = frame(0, pkt)
    cases.append(Case("no_route_cfg_still_forwards", f, 0, {"forwarded": 1},
                      [Out(1, check_forwarded(f, 1, N1_MAC))], ("ipid", ip_id)))
    return cases


def local_cases() -> list[Case]:
    """Traffic for the router itself: echo, ARP, other protocols."""
    cases = []

    def echo(name, port, src, dst, out_port, *, size=56, bad_checksum=False):
        eid = next(_echo_ids)
        icmp = ICMP(type=8, id=eid, seq=next(_ip_ids) & 0xFF) / Raw(marker(name, size))
        if bad_checksum:
            raw = bytearray(bytes(icmp))
            raw[2] ^= 0x5A
            icmp = Raw(bytes(raw))
            ip = IP(src=src, dst=dst, ttl=64, id=next(_ip_ids), proto=1) / icmp
        else:
            ip = IP(src=src, dst=dst, ttl=64, id=next(_ip_ids)) / icmp
        f = frame(port, ip)
        if bad_checksum:
            return Case(name, f, port, {"icmp_malformed": 1}, [], ("echo", eid))
        return Case(name, f, port, {"echo_replies": 1},
                    [Out(out_port, check_echo_reply(f, out_port, src_ip=dst))], ("echo", eid))

    cases.append(echo("echo_p0_addr", 0, N0_IP, R0_IP, 0))
    cases.append(echo("echo_p1_addr_via_p0", 0, N0_IP, R1_IP, 0))  # weak host model
    cases.append(echo("echo_p1_addr_on_p1", 1, N1_IP, R1_IP, 1))
    cases.append(echo("echo_offlink_requester", 0, "172.16.4.1", R0_IP, 0))
    cases.append(echo("echo_large", 0, N0_IP, R0_IP, 0, size=1400))
    cases.append(echo("echo_bad_icmp_checksum", 0, N0_IP, R0_IP, 0, bad_checksum=True))

    # No listener, as Linux with no socket: UDP gets port unreachable from the address it
    # was sent to, TCP a reset, other protocols protocol unreachable (captured from a
    # Linux 6.x router: `__udp4_lib_rcv`, `tcp_v4_send_reset`, `ip_protocol_deliver_rcu`).
    def unreach(name, src, dst, pkt, code, port=0):
        ip = pkt if isinstance(pkt, Packet) else pkt[0]
        f = frame(port, ip)
        return Case(name, f, port, {"local_unhandled": 1, "icmp_errors": 1},
                    [Out(port, check_icmp_error(f, port, icmp_type=3, code=code, src_ip=dst))],
                    ("ipid", ip.id))

    pkt, _ = udp_ip("udp_to_router", N0_IP, R0_IP)
    cases.append(unreach("udp_to_router", N0_IP, R0_IP, pkt, 3))
    pkt, _ = udp_ip("udp_to_p1_addr_via_p0", N0_IP, R1_IP)
    cases.append(unreach("udp_to_p1_addr_via_p0", N0_IP, R1_IP, pkt, 3))
    ip = IP(src=N0_IP, dst=R0_IP, id=next(_ip_ids)) / UDP(sport=41001, dport=53, chksum=0) / Raw(b"nocsum")
    cases.append(unreach("udp_no_checksum_to_router", N0_IP, R0_IP, ip, 3))
    ip = IP(src=N0_IP, dst=R0_IP, id=next(_ip_ids), proto=99) / Raw(marker("proto99", 20))
    cases.append(unreach("proto_99_to_router", N0_IP, R0_IP, ip, 2))
    ip_id = next(_ip_ids)
    f = frame(0, IP(src=N0_IP, dst=R0_IP, id=ip_id) / UDP(sport=41002, dport=53, chksum=0x1234)
              / Raw(b"bad"))
    cases.append(Case("udp_bad_checksum_to_router", f, 0, {"local_unhandled": 1}, [], ("ipid", ip_id)))
    pkt, ip_id = udp_ip("udp_l2_broadcast_to_router", N0_IP, R0_IP)
    cases.append(Case("udp_l2_broadcast_to_router", frame(0, pkt, dst_mac="ff:ff:ff:ff:ff:ff"), 0,
                      {"local_unhandled": 1, "icmp_suppressed": 1}, [], ("ipid", ip_id)))

    def tcp(name, sport, flags, *, seq=1000, ack=0, data=b"", tos=0, rst=None, dst=R0_IP):
        """rst: (seq, ack, flags) of Linux's reset, or None for no answer."""
        ip = IP(src=N0_IP, dst=dst, id=next(_ip_ids), tos=tos) / TCP(
            sport=sport, dport=81, flags=flags, seq=seq, ack=ack) / Raw(data)
        f = frame(0, ip)
        if rst is None:
            return Case(name, f, 0, {"local_unhandled": 1}, [], ("tcp", sport))
        return Case(name, f, 0, {"local_unhandled": 1, "tcp_resets": 1},
                    [Out(0, check_tcp_reset(f, 0, *rst))], ("tcp", sport))

    cases.append(tcp("tcp_syn_to_router", 42001, "S", seq=1000, rst=(0, 1001, "RA")))
    cases.append(tcp("tcp_ack_to_router", 42002, "A", seq=2000, ack=5555, rst=(5555, 0, "R")))
    cases.append(tcp("tcp_data_to_router", 42003, "PA", seq=3000, ack=6666, data=b"hello",
                     rst=(6666, 0, "R")))
    cases.append(tcp("tcp_fin_data_to_router", 42004, "F", seq=4000, data=b"abc",
                     rst=(0, 4004, "RA")))
    cases.append(tcp("tcp_synack_tos_to_router", 42005, "SA", seq=77, ack=88, tos=0xB8,
                     rst=(88, 0, "R")))
    cases.append(tcp("tcp_syn_to_p1_addr_via_p0", 42006, "S", seq=9, rst=(0, 10, "RA"), dst=R1_IP))
    cases.append(tcp("tcp_rst_to_router", 42007, "R", seq=5000))
    ip_id = next(_ip_ids)
    f = frame(0, IP(src=N0_IP, dst=R0_IP, id=ip_id) / TCP(sport=42008, dport=81, flags="S", chksum=0x1111))
    cases.append(Case("tcp_bad_checksum_to_router", f, 0, {"local_unhandled": 1}, [], ("tcp", 42008)))

    # Local delivery does not look at the TTL (Linux answers a ping with TTL 1).
    eid = next(_echo_ids)
    f = frame(0, IP(src=N0_IP, dst=R0_IP, ttl=1, id=next(_ip_ids))
              / ICMP(type=8, id=eid, seq=1) / Raw(marker("echo_ttl1", 24)))
    cases.append(Case("echo_ttl1_to_router", f, 0, {"echo_replies": 1},
                      [Out(0, check_echo_reply(f, 0, src_ip=R0_IP))], ("echo", eid)))

    # A fragment for us: the contract does not reassemble.
    ip_id = next(_ip_ids)
    eid = next(_echo_ids)
    f = frame(0, IP(src=N0_IP, dst=R0_IP, id=ip_id, flags="MF")
              / ICMP(type=8, id=eid, seq=1) / Raw(marker("echo_frag", 64)))
    cases.append(Case("echo_first_fragment_to_router", f, 0, {"local_fragment": 1}, [],
                      ("echo", eid)))

    # Broadcasts: never forwarded (no directed broadcast forwarding, RFC 2644), no reply to
    # a broadcast ping (Linux icmp_echo_ignore_broadcasts=1).
    for name, dst, mac in (("udp_subnet_broadcast", "10.0.1.255", R0_MAC),
                           ("udp_limited_broadcast", "255.255.255.255", "ff:ff:ff:ff:ff:ff"),
                           ("udp_directed_broadcast_p1", "10.0.2.255", R0_MAC)):
        pkt, ip_id = udp_ip(name, N0_IP, dst)
        cases.append(Case(name, frame(0, pkt, dst_mac=mac), 0, {"broadcast": 1}, [],
                          ("ipid", ip_id)))
    eid = next(_echo_ids)
    f = frame(0, IP(src=N0_IP, dst="10.0.1.255", id=next(_ip_ids))
              / ICMP(type=8, id=eid, seq=1) / Raw(marker("echo_bcast", 16)),
              dst_mac="ff:ff:ff:ff:ff:ff")
    cases.append(Case("echo_subnet_broadcast", f, 0, {"broadcast": 1}, [], ("echo", eid)))

    def arp_req(name, port, target, counters, replies, sender=None):
        sender = sender or NEIGH_IP[port]
        f = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=NEIGH_MAC[port])
                  / ARP(op=1, hwsrc=NEIGH_MAC[port], psrc=sender,
                        hwdst="00:00:00:00:00:00", pdst=target))
        outs = [Out(port, check_arp_reply(port, requester_mac=NEIGH_MAC[port],
                                          requester_ip=sender, sender_ip=target))
                ] if replies else []
        return Case(name, f, port, counters, outs, ("arp", target, sender))

    cases.append(arp_req("arp_who_has_p0", 0, R0_IP, {"arp_replies": 1}, True))
    cases.append(arp_req("arp_who_has_p1", 1, R1_IP, {"arp_replies": 1}, True))
    # Weak host model (Linux arp_ignore=0): any local address is answered on any port.
    cases.append(arp_req("arp_who_has_p1_addr_on_p0", 0, R1_IP, {"arp_replies": 1}, True))
    cases.append(arp_req("arp_who_has_other", 0, "10.0.1.99", {"arp_ignored": 1}, False))
    # Linux arp_process answers a request (other than a probe) only if
    # ip_route_input_noref(skb, tip, sip, ...) routes sender -> target as RTN_LOCAL, so a
    # martian sender gets nothing: loopback, multicast, limited broadcast
    # (ip_route_input_slow: martian_source) or one of our own addresses
    # (fib_validate_source). The rest of 0/8 is unicast since Linux 5.3
    # (ipv4_is_zeronet is 0.0.0.0 alone) and is answered.
    for name, sender in (("loopback", "127.0.0.1"), ("multicast", "224.0.0.251"),
                         ("limited_broadcast", "255.255.255.255"), ("our_p1_address", R1_IP)):
        cases.append(arp_req(f"arp_from_{name}_sender_ignored", 0, R0_IP, {"arp_ignored": 1},
                             False, sender=sender))
    cases.append(arp_req("arp_from_0_8_sender_answered", 0, R0_IP, {"arp_replies": 1}, True,
                         sender="0.1.2.3"))
    # Sender 0.0.0.0 is a duplicate address probe (RFC 5227): arp_process answers it before
    # any route lookup, to 0.0.0.0 at the prober's MAC. A class E sender is no martian to
    # ip_route_input_slow, so it is answered too.
    cases.append(arp_req("arp_probe_answered", 0, R0_IP, {"arp_replies": 1}, True,
                         sender="0.0.0.0"))
    cases.append(arp_req("arp_from_class_e_sender_answered", 0, R0_IP, {"arp_replies": 1},
                         True, sender="240.0.0.1"))
    return cases


def _valid_ip(name: str, src: str = N0_IP, dst: str = "198.51.100.7", **kw) -> bytes:
    pkt, _ = udp_ip(name, src, dst, **kw)
    return bytes(pkt)


def _fix_checksum(ip: bytes) -> bytes:
    ip = bytearray(ip)
    ihl = max(5, ip[0] & 0x0F) * 4
    ihl = min(ihl, len(ip))
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", checksum(bytes(ip[:ihl])))
    return bytes(ip)


def malformed_cases() -> list[Case]:
    """Inputs the router must drop silently, each with one defect (RFC 1812 5.2.2, 5.3.7).
    Keys are the packets' IP ids where there is one, so any output they cause is reported."""
    cases = []
    eth = bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x0800))

    def drop(name, f, counter, n=1, *, extra=None, note=""):
        counters = {counter: n, **(extra or {})}
        key = None
        if len(f) >= 20 + 14 and f[12:14] == b"\x08\x00":
            key = ("ipid", struct.unpack("!H", f[18:20])[0])
        cases.append(Case(name, f, 0, counters, [], key, note))

    drop("frame_10_bytes", eth[:10], "short_frame")
    drop("ipv4_15_bytes", eth + _valid_ip("ip15")[:15], "short_frame")
    ip = bytearray(_valid_ip("v6"))
    ip[0] = 0x65
    drop("version_6", eth + _fix_checksum(ip), "bad_version")
    ip = bytearray(_valid_ip("ihl4"))
    ip[0] = 0x44
    drop("ihl_4", eth + _fix_checksum(ip), "bad_ihl")
    ip = bytearray(_valid_ip("ihl15")[:20])
    ip[0] = 0x4F
    ip[2:4] = struct.pack("!H", 20)
    drop("ihl_15_in_20_bytes", eth + _fix_checksum(ip), "bad_ihl")
    ip = bytearray(_valid_ip("tot10"))
    ip[2:4] = struct.pack("!H", 10)
    drop("total_length_10", eth + _fix_checksum(ip), "bad_total_length")
    ip = bytearray(_valid_ip("totbig"))
    ip[2:4] = struct.pack("!H", len(ip) + 100)
    drop("total_length_beyond_frame", eth + _fix_checksum(ip), "bad_total_length")
    ip = bytearray(_valid_ip("badsum"))
    ip[10] ^= 0x10
    drop("bad_header_checksum", eth + bytes(ip), "bad_checksum")

    for src in ("127.0.0.1", "224.0.0.1", "0.0.0.0", "255.255.255.255", R0_IP):
        drop(f"martian_source_{src}", eth + _valid_ip(f"ms{src}", src=src), "martian_source")
    for dst in ("127.0.0.1", "0.0.0.0"):
        drop(f"martian_destination_{dst}", eth + _valid_ip(f"md{dst}", dst=dst),
             "martian_destination")
    drop("multicast_224.0.0.5", eth + _valid_ip("mc", dst="224.0.0.5"), "multicast",
         note="to our unicast MAC")
    drop("other_host_mac", bytes(Ether(dst="02:00:00:00:00:99", src=N0_MAC, type=0x0800)) + _valid_ip("oh"),
         "other_host")
    drop("l2_broadcast_ip_unicast",
         bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=N0_MAC, type=0x0800)) + _valid_ip("bc"),
         "l2_broadcast_forward", note="Linux ip_forward drops pkt_type != PACKET_HOST")
    drop("l2_multicast_ip_unicast",
         bytes(Ether(dst="01:00:5e:00:00:05", src=N0_MAC, type=0x0800)) + _valid_ip("l2mc"),
         "l2_multicast", note="Linux ip_forward drops pkt_type != PACKET_HOST")
    drop("ipv6_ethertype",
         bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x86DD))
         + bytes.fromhex("6000000000083a40") + b"\0" * 15 + b"\x01" + b"\xfe\x80" + b"\0" * 13
         + b"\x02" + bytes.fromhex("8000000000000000"),
         "unsupported_ethertype")

    ip_id = next(_ip_ids)
    lsrr = (IP(src=N0_IP, dst="198.51.100.7", ttl=64, id=ip_id,
               options=[IPOption_LSRR(routers=["198.51.100.8"])])
            / UDP(sport=5, dport=6) / Raw(marker("lsrr")))
    drop("lsrr_option", eth + bytes(lsrr), "source_route",
         note="RFC 1812 5.2.4.1 lets routers refuse source routes; Linux by default does")
    # ARP with a protocol address length of 6: not an Ethernet/IPv4 ARP packet.
    arp = bytearray(bytes(ARP(op=1, hwsrc=N0_MAC, psrc=N0_IP, pdst=R0_IP)))
    arp[5] = 6
    drop("arp_plen_6", bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=N0_MAC, type=0x0806)) + bytes(arp),
         "arp_malformed")

    # No ICMP error about an ICMP error or about a non-first fragment (RFC 1812 4.3.2.7).
    ip_id = next(_ip_ids)
    inner = IP(src="198.51.100.7", dst="172.16.6.1", id=0x9999) / UDP(sport=53, dport=5353)
    pkt = IP(src="172.16.6.1", dst="8.8.8.8", ttl=1, id=ip_id) / ICMP(type=3, code=1) / inner
    drop("ttl1_icmp_error", eth + bytes(pkt), "ttl_exceeded", extra={"icmp_suppressed": 1})
    ip_id = next(_ip_ids)
    pkt = IP(src="172.16.6.2", dst="8.8.8.8", ttl=1, id=ip_id, frag=100, proto=17) / Raw(marker("nf", 64))
    drop("ttl1_non_first_fragment", eth + bytes(pkt), "ttl_exceeded",
         extra={"icmp_suppressed": 1})
    return cases


def with_options(ip: bytes, options: bytes) -> bytes:
    """``ip`` (a 20-byte header and its payload) with raw ``options`` bytes inserted after
    the header (a multiple of 4 bytes), IHL, total length and checksum fixed. scapy's own
    option classes would re-encode malformed options; these are sent byte for byte."""
    assert len(options) % 4 == 0 and len(options) <= 40 and (ip[0] & 0x0F) == 5
    hdr = bytearray(ip[:20])
    hdr[0] = 0x45 + len(options) // 4
    hdr[2:4] = struct.pack("!H", len(ip) + len(options))
    return _fix_checksum(bytes(hdr) + options + ip[20:])


def bad_option_cases() -> list[Case]:
    """IP options Linux refuses (net/ipv4/ip_options.c __ip_options_compile, called by
    ip_rcv_options for every received packet with IHL > 5 once ip_route_input_noref has
    accepted its addresses): counted as bad_options and answered by ip_options_compile with
    an ICMP parameter problem, code 0, whose pointer (first byte of the rest of the header)
    is the offending octet's offset from the start of the IP header (pp_ptr - iph).
    __icmp_send sends it from the packet's destination when that is one of our addresses
    (RTCF_LOCAL), from the egress address otherwise, and not at all for a broadcast.

    In the two duplicate cases Linux has already accepted the first Record Route or
    Timestamp and echoes it into the error's own header (__ip_options_echo, see the xfail
    test in test_options.py); the first one is full so that Linux leaves the quoted packet
    as received. Sources are distinct (icmp_ratelimit is per destination)."""
    cases = []
    srcs = (f"172.16.40.{i}" for i in itertools.count(1))

    def udp(name, dst, options, **kw):
        pkt, ip_id = udp_ip(name, next(srcs), dst, **kw)
        return with_options(bytes(pkt), options), ip_id

    def pp(name, options, pointer, *, dst="198.51.100.7", src_ip=None, counters=None,
           note="", **kw):
        ip, ip_id = udp(name, dst, options, **kw)
        f = bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x0800)) + ip
        cases.append(Case(name, f, 0, counters or {"bad_options": 1, "icmp_errors": 1},
                          [Out(0, check_icmp_error(f, 0, icmp_type=12, code=0,
                                                   rest=bytes([pointer, 0, 0, 0]),
                                                   src_ip=src_ip))],
                          ("ipid", ip_id), note))

    # optlen < 4: pp_ptr = optptr + 1, the length octet.
    pp("router_alert_length_2", b"\x94\x02\x00\x00", 21)
    pp("router_alert_length_3_after_nop", b"\x01\x94\x03\x00", 22)
    pp("timestamp_length_3", b"\x44\x03\x05\x00", 21)
    # Record Route: optlen < 3 at the length octet; pointer < 4 at the pointer octet.
    pp("record_route_length_2", b"\x07\x02\x00\x00", 21)
    pp("record_route_pointer_3", b"\x07\x07\x03\x00\x00\x00\x00\x00", 22)
    # optlen < 2 (framing, before the option is looked at): pp_ptr = optptr, the type.
    pp("option_length_1", b"\x07\x01\x00\x00", 20)
    # A second RR or TS: pp_ptr = optptr, its type octet. The first one is full (pointer
    # past its length), so Linux does not write into it.
    pp("record_route_twice", b"\x07\x07\x08\x0a\x00\x00\x01\x01\x07\x03\x04\x00", 28)
    pp("timestamp_twice",
       b"\x44\x0c\x0d\x03" + bytes(8) + b"\x44\x04\x05\x00", 32,
       note="first: prespecified addresses, full, which Linux leaves alone")
    # ip_rcv_options runs before ip_forward, ip_error and local delivery.
    pp("bad_option_ttl_1", b"\x94\x02\x00\x00", 21, ttl=1,
       note="parameter problem, not time exceeded")
    pp("bad_option_to_unreachable_route", b"\x94\x02\x00\x00", 21, dst="203.0.113.200",
       note="parameter problem, not host unreachable")
    pp("bad_option_to_router", b"\x94\x03\x00\x00", 21, dst=R0_IP)
    pp("bad_option_to_p1_address_via_p0", b"\x44\x02\x00\x00", 21, dst=R1_IP,
       src_ip=R1_IP, note="RTCF_LOCAL: the error comes from the address the packet was for")
    ip_id = next(_ip_ids)
    echo = with_options(bytes(IP(src=next(srcs), dst=R0_IP, id=ip_id)
                              / ICMP(type=8, id=next(_echo_ids), seq=1)
                              / Raw(marker("echo_bad_ts", 16))), b"\x44\x03\x05\x00")
    f = bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x0800)) + echo
    cases.append(Case("echo_with_bad_option_to_router", f, 0,
                      {"bad_options": 1, "icmp_errors": 1},
                      [Out(0, check_icmp_error(f, 0, icmp_type=12, code=0,
                                               rest=b"\x15\0\0\0"))],
                      ("ipid", ip_id), "no echo reply: the options are checked first"))

    # No error: to a broadcast (RTCF_BROADCAST), or before the options are looked at (a
    # martian source fails ip_route_input_noref).
    ip, ip_id = udp("bad_option_subnet_broadcast", "10.0.1.255", b"\x94\x02\x00\x00")
    cases.append(Case("bad_option_to_subnet_broadcast",
                      bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x0800)) + ip, 0,
                      {"bad_options": 1, "icmp_suppressed": 1}, [], ("ipid", ip_id)))
    pkt, ip_id = udp_ip("bad_option_martian", "127.0.0.1", "198.51.100.7")
    ip = with_options(bytes(pkt), b"\x94\x02\x00\x00")
    cases.append(Case("bad_option_from_martian_source",
                      bytes(Ether(dst=R0_MAC, src=N0_MAC, type=0x0800)) + ip, 0,
                      {"martian_source": 1}, [], ("ipid", ip_id)))
    return cases


def rate_limit_cases(n: int = 200) -> list[Case]:
    """``n`` TTL=1 packets from distinct sources (so only the global token bucket,
    icmp_msgs_burst, applies). Outputs and counters are checked by the test itself."""
    cases = []
    for i in range(n):
        src = f"172.17.{i // 200}.{i % 200 + 1}"
        pkt, ip_id = udp_ip(f"rl{i}", src, "8.8.8.8", ttl=1)
        f = frame(0, pkt)
        cases.append(Case(f"rate_limit_{i}", f, 0, {"ttl_exceeded": 1}, [], ("ipid", ip_id)))
    return cases


MAIN_CONFIG = {"p1_mtu": 1280}
NO_DEFAULT_CONFIG = {"default_route": False,
                     "extra_routes": ("{ prefix: 172.16.0.0/12, via: 10.0.1.2 }",)}


def same_destination_cases() -> list[Case]:
    """One burst of packets mostly to the same destination, in this order: a decision reused
    from the previous packet (a route hint, Linux ip_extract_route_hint) must never skip the
    per-packet checks (TTL, MTU/DF, source) nor leak between route types. Config: main."""
    cases = []

    def fwd(name, src, dst, out_port, **kw):
        pkt, ip_id = udp_ip(name, src, dst, **kw)
        f = frame(0, pkt)
        cases.append(Case(name, f, 0, {"forwarded": 1},
                          [Out(out_port, check_forwarded(f, out_port, NEIGH_MAC[out_port]))],
                          ("ipid", ip_id)))

    def err(name, src, dst, counters, icmp_type, code, rest=b"\0\0\0\0", **kw):
        pkt, ip_id = udp_ip(name, src, dst, **kw)
        f = frame(0, pkt)
        cases.append(Case(name, f, 0, {**counters, "icmp_errors": 1},
                          [Out(0, check_icmp_error(f, 0, icmp_type=icmp_type, code=code,
                                                   rest=rest))], ("ipid", ip_id)))

    def drop(name, src, dst, counters, **kw):
        pkt, ip_id = udp_ip(name, src, dst, **kw)
        cases.append(Case(name, frame(0, pkt), 0, counters, [], ("ipid", ip_id)))

    d = "198.51.100.7"
    fwd("same_dst_fwd_1", N0_IP, d, 1)
    err("same_dst_ttl1", "172.16.30.1", d, {"ttl_exceeded": 1}, 11, 0, ttl=1)
    fwd("same_dst_fwd_2", "172.16.30.2", d, 1)
    err("same_dst_frag_needed", "172.16.30.3", d, {"frag_needed": 1}, 3, 4,
        rest=struct.pack("!HH", 0, 1280), total=1400)
    fwd("same_dst_fwd_tos", "172.16.30.2", d, 1, tos=0x10)
    pkt, ip_id = udp_ip("same_dst_no_df_too_big", "172.16.30.2", d, total=1400, df=False)
    f = frame(0, pkt)
    cases.append(Case("same_dst_no_df_too_big", f, 0, *fragmented(f, 1, 1280), ("ipid", ip_id)))
    fwd("same_dst_fwd_3", "172.16.30.2", d, 1)
    drop("same_dst_martian_source", "127.0.0.1", d, {"martian_source": 1})
    err("same_dst_ttl0", "172.16.30.4", d, {"ttl_exceeded": 1}, 11, 0, ttl=0)
    fwd("same_dst_fwd_4", "172.16.30.2", d, 1, ttl=2)
    drop("blackhole_1", "172.16.30.2", "203.0.113.5", {"blackhole": 1})
    drop("blackhole_2", "172.16.30.2", "203.0.113.5", {"blackhole": 1})
    err("unreachable_1", "172.16.30.5", "203.0.113.200", {"unreachable": 1}, 3, 1)
    err("unreachable_2", "172.16.30.6", "203.0.113.200", {"unreachable": 1}, 3, 1)
    drop("blackhole_3", "172.16.30.2", "203.0.113.5", {"blackhole": 1})
    for i in range(3):
        fwd(f"alternate_p1_{i}", "172.16.30.2", d, 1)
        fwd(f"alternate_p0_{i}", "172.16.30.2", "8.8.8.8", 0)
    for i, src in enumerate(("172.16.30.7", "172.16.30.8")):
        eid = next(_echo_ids)
        f = frame(0, IP(src=src, dst=R0_IP, id=next(_ip_ids)) / ICMP(type=8, id=eid, seq=i)
                  / Raw(marker(f"same_dst_echo_{i}", 20)))
        cases.append(Case(f"same_dst_echo_{i}", f, 0, {"echo_replies": 1},
                          [Out(0, check_echo_reply(f, 0, src_ip=R0_IP))], ("echo", eid)))
        err(f"same_dst_udp_local_{i}", src, R0_IP, {"local_unhandled": 1}, 3, 3)
    assert len(cases) <= 32, "keep it to one rx burst"
    return cases


def filler(port: int, name: str) -> Case:
    """A frame for another host: dropped at once, used to align rx bursts."""
    pkt, ip_id = udp_ip(name, NEIGH_IP[port], "198.51.100.99")
    f = frame(port, pkt, dst_mac="02:00:00:00:00:99")
    return Case(name, f, port, {"other_host": 1}, [], ("ipid", ip_id))


def flow_cases(burst: int = 32) -> list[Case]:
    """Two flows through the router, in both directions, over several rx bursts: a TCP
    connection A=172.16.20.1 (behind p0) <-> B=198.51.100.20 (behind p1) and a UDP exchange
    C=172.16.21.1 <-> D=8.8.8.8, both behind p0. Once a flow has been seen both ways a
    flowtable may forward it without a route lookup (DESIGN 3.4, 3.8; Linux nf_flow_table):
    TTL expiry, MTU/DF and the end of the connection must still be handled exactly like
    on the slow path, so the expectations here are the same whether or not it does.

    Packets are grouped: group k is the k-th rx burst of each port (groups are padded with
    frames for another host to ``burst`` frames), and a worker polls p0 then p1, so each
    group sees the replies of the previous one."""
    A, B, C, D = "172.16.20.1", "198.51.100.20", "172.16.21.1", "8.8.8.8"
    seq = {"a": 1000, "b": 5000}

    def tcp(name, frm, flags, *, data=b"", ttl=64, total=None, df=True, tos=0):
        ip_id = next(_ip_ids)
        a_to_b = frm == "a"
        src, dst = (A, B) if a_to_b else (B, A)
        sport, dport = (40100, 443) if a_to_b else (443, 40100)
        if total is not None:
            data = marker(name, total - 40)
        s, ack = (seq["a"], seq["b"]) if a_to_b else (seq["b"], seq["a"])
        pkt = (IP(src=src, dst=dst, ttl=ttl, id=ip_id, tos=tos, flags="DF" if df else 0)
               / TCP(sport=sport, dport=dport, seq=s, ack=ack if "A" in flags else 0,
                     flags=flags, window=65000) / Raw(data))
        port = 0 if a_to_b else 1
        return pkt, port, ip_id

    def udp(name, frm, **kw):
        src, dst = (C, D) if frm == "c" else (D, C)
        pkt, ip_id = udp_ip(name, src, dst, **kw)
        pkt[UDP].sport, pkt[UDP].dport = (40200, 53) if frm == "c" else (53, 40200)
        return pkt, 0, ip_id

    def fwd(name, made):
        pkt, port, ip_id = made
        f = frame(port, pkt)
        out = 1 - port if IP(bytes(pkt)).dst == B or IP(bytes(pkt)).src == B else 0
        return Case(name, f, port, {"forwarded": 1},
                    [Out(out, check_forwarded(f, out, NEIGH_MAC[out]))], ("ipid", ip_id))

    def err(name, made, counters, icmp_type, code, rest=b"\0\0\0\0"):
        pkt, port, ip_id = made
        f = frame(port, pkt)
        return Case(name, f, port, {**counters, "icmp_errors": 1},
                    [Out(port, check_icmp_error(f, port, icmp_type=icmp_type, code=code,
                                                rest=rest))], ("ipid", ip_id))

    def drop(name, made, counters):
        pkt, port, ip_id = made
        return Case(name, frame(port, pkt), port, counters, [], ("ipid", ip_id))

    def frag(name, made):
        pkt, port, ip_id = made
        f = frame(port, pkt)
        return Case(name, f, port, *fragmented(f, 1 - port, 1280), ("ipid", ip_id))

    def adv(side, n):
        seq[side] += n

    groups: list[list[Case]] = []
    g = [fwd("tcp_syn", tcp("tcp_syn", "a", "S")), fwd("udp_c_to_d_1", udp("u1", "c"))]
    adv("a", 1)
    groups.append(g)
    groups.append([fwd("tcp_syn_ack", tcp("tcp_syn_ack", "b", "SA"))])
    adv("b", 1)
    g = [fwd("tcp_ack", tcp("tcp_ack", "a", "A"))]
    g.append(fwd("tcp_data_a_1", tcp("tcp_data_a_1", "a", "PA", data=marker("a1", 100))))
    adv("a", 100)
    g.append(fwd("udp_d_to_c_1", udp("u2", "d")))
    g.append(fwd("tcp_data_b_1", tcp("tcp_data_b_1", "b", "PA", data=marker("b1", 300))))
    adv("b", 300)
    groups.append(g)
    g = [fwd("tcp_data_a_2", tcp("tcp_data_a_2", "a", "PA", data=marker("a2", 10)))]
    adv("a", 10)
    g += [
        fwd("udp_c_to_d_2", udp("u3", "c")),
        fwd("udp_d_to_c_2", udp("u4", "d")),
        err("tcp_a_ttl1", tcp("tcp_a_ttl1", "a", "PA", data=marker("a3", 10), ttl=1),
            {"ttl_exceeded": 1}, 11, 0),
        fwd("tcp_a_ttl2", tcp("tcp_a_ttl2", "a", "PA", data=marker("a4", 10), ttl=2)),
        err("tcp_a_frag_needed", tcp("tcp_a_fn", "a", "PA", total=1400),
            {"frag_needed": 1}, 3, 4, rest=struct.pack("!HH", 0, 1280)),
        frag("tcp_a_too_big_no_df", tcp("tcp_a_big", "a", "PA", total=1400, df=False)),
        fwd("tcp_a_tos", tcp("tcp_a_tos", "a", "PA", data=marker("a5", 10), tos=0x28)),
        err("udp_d_ttl1", udp("u5", "d", ttl=1), {"ttl_exceeded": 1}, 11, 0),
        err("udp_c_ttl0", udp("u6", "c", ttl=0), {"ttl_exceeded": 1}, 11, 0),
        fwd("tcp_data_b_2", tcp("tcp_data_b_2", "b", "PA", data=marker("b2", 20))),
        err("tcp_b_ttl1", tcp("tcp_b_ttl1", "b", "PA", data=marker("b3", 20), ttl=1),
            {"ttl_exceeded": 1}, 11, 0),
    ]
    adv("b", 20)
    groups.append(g)
    groups.append([fwd("tcp_fin_a", tcp("tcp_fin_a", "a", "FA")),
                   fwd("tcp_fin_b", tcp("tcp_fin_b", "b", "FA"))])
    groups.append([fwd("tcp_rst_b", tcp("tcp_rst_b", "b", "R")),
                   fwd("tcp_data_a_after_rst", tcp("tcp_after", "a", "PA", data=b"late")),
                   fwd("udp_c_to_d_3", udp("u7", "c"))])

    cases: list[Case] = []
    for k, group in enumerate(groups):
        last = k == len(groups) - 1
        for port in (0, 1):
            mine = [c for c in group if c.port == port]
            assert len(mine) <= burst
            cases += mine
            if not last:
                cases += [filler(port, f"filler_g{k}_p{port}_{i}")
                          for i in range(burst - len(mine))]
    return cases
