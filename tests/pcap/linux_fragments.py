"""Linux as the reference for IPv4 fragmentation (ip_do_fragment).

The inputs of test_fragment.py are defined here. Run as a script (root, iproute2, tshark,
Debian's python3-scapy), it builds a Linux router in network namespaces with the pcap
tests' addresses and MACs:

    fp-h1 h1 10.0.1.2 (02:00:00:00:01:02, MTU 9000)
      | veth
    fp-r  r0 10.0.1.1 (02:00:00:00:00:01, MTU 9000)   ip_forward=1, static neighbours,
          r1 10.0.2.1 (02:00:00:00:00:02, MTU <mtu>)  198.51.100.0/24 via 10.0.2.2
      | veth
    fp-h2 h2 10.0.2.2 (02:00:00:00:02:02, MTU 9000)

sends the inputs for each egress MTU from h1 with scapy, captures what leaves r1 with
tshark, and writes ``fixtures/linux_frag_<mtu>.in.pcap`` (what was sent) and
``fixtures/linux_frag_<mtu>.out.pcap`` (what Linux sent on). The tests compare fastpath's
output with those bytes; fastpath/tests/pipeline.rs reads them too (the 3000-byte inputs,
which do not fit one mbuf of the pcap runs).

    sudo /usr/bin/python3 tests/pcap/linux_fragments.py [--keep]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from fastpath_run import N0_IP, N0_MAC, N1_MAC, R0_MAC, R1_MAC, read_pcap, write_pcap

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MTUS = (1400, 576)
DST = "198.51.100.7"

# Router alert (copied), a full record route (not copied: Linux leaves a full one alone),
# NOP, and the RFC 4727 experiment number 30 with the copied flag (0x9e) and without it
# (0x1e): 20 bytes, IHL 10.
OPTIONS = bytes([0x94, 4, 0, 0, 7, 7, 8, 10, 0, 1, 2, 1, 0x9E, 4, 0x12, 0x34, 0x1E, 4, 0x56, 0x78])


def fixture(mtu: int, kind: str) -> Path:
    return FIXTURES / f"linux_frag_{mtu}.{kind}.pcap"


def _payload(n: int, seed: int) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def _udp(ip_id: int, total: int, *, options: bytes = b"", frag: int = 0, mf: bool = False,
         tos: int = 0, ttl: int = 64) -> bytes:
    """A frame from h1 to the router: IP/UDP of ``total`` bytes, DF clear."""
    hl = 20 + len(options)
    ip = IP(src=N0_IP, dst=DST, id=ip_id, ttl=ttl, tos=tos, frag=frag,
            flags="MF" if mf else 0, options=Raw(options) if options else [])
    pkt = ip / UDP(sport=40000 + (ip_id & 0xFFF), dport=9999) / Raw(_payload(total - hl - 8, ip_id))
    f = bytes(Ether(dst=R0_MAC, src=N0_MAC) / pkt)
    assert len(f) == 14 + total and (f[14] & 0x0F) * 4 == hl, (len(f), f[14])
    return f


def inputs(mtu: int) -> list[bytes]:
    """The frames sent for egress MTU ``mtu``: each a distinct IP id (0x2<mtu-kind><n>)."""
    base = 0x2000 if mtu == 1400 else 0x3000
    if mtu == 1400:
        return [
            _udp(base + 1, 1500),                       # 2 fragments: 1396 + 124
            _udp(base + 2, 1401),                       # 1396 + 25: 5 bytes in the last
            _udp(base + 3, 1400),                       # exactly the MTU: not fragmented
            _udp(base + 4, 1500, options=OPTIONS),      # options: NOPs in the second
            _udp(base + 5, 1500, options=OPTIONS, mf=True),      # a first fragment
            _udp(base + 6, 1500, options=OPTIONS, frag=185),     # a later fragment
            _udp(base + 7, 1500, tos=0xB8, ttl=2),      # TOS kept, TTL 2 -> 1
            _udp(base + 8, 2000),                       # the largest that fits an mbuf
            _udp(base + 9, 3000),                       # 3 fragments (pipeline test only)
        ]
    return [
        _udp(base + 1, 1500),                           # 3 fragments
        _udp(base + 2, 1500, options=OPTIONS),          # 3, options NOPed in 2 and 3
        _udp(base + 3, 2000),                           # 4
        _udp(base + 4, 577),                            # 572 + 25
        _udp(base + 5, 1500, options=OPTIONS, frag=100, mf=True),  # a middle fragment
        _udp(base + 6, 3000),                           # 6 (pipeline test only)
    ]


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def ns(name: str, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", name, *cmd, check=check)


def down() -> None:
    for n in ("fp-h1", "fp-r", "fp-h2"):
        sh("ip", "netns", "del", n, check=False)


def up(mtu: int) -> None:
    down()
    for n in ("fp-h1", "fp-r", "fp-h2"):
        sh("ip", "netns", "add", n)
        for k in ("all", "default"):
            ns(n, "sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1")
    sh("ip", "link", "add", "h1", "netns", "fp-h1", "type", "veth", "peer", "r0", "netns", "fp-r")
    sh("ip", "link", "add", "r1", "netns", "fp-r", "type", "veth", "peer", "h2", "netns", "fp-h2")
    for n, dev, mac, addr, m in (
        ("fp-h1", "h1", N0_MAC, "10.0.1.2/24", 9000),
        ("fp-r", "r0", R0_MAC, "10.0.1.1/24", 9000),
        ("fp-r", "r1", R1_MAC, "10.0.2.1/24", mtu),
        ("fp-h2", "h2", N1_MAC, "10.0.2.2/24", 9000),
    ):
        ns(n, "ip", "link", "set", dev, "address", mac, "mtu", str(m), "up")
        ns(n, "ip", "addr", "add", addr, "dev", dev)
        ns(n, "ip", "link", "set", "lo", "up")
    ns("fp-r", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    ns("fp-r", "ip", "neigh", "replace", "10.0.1.2", "lladdr", N0_MAC, "dev", "r0", "nud", "permanent")
    ns("fp-r", "ip", "neigh", "replace", "10.0.2.2", "lladdr", N1_MAC, "dev", "r1", "nud", "permanent")
    ns("fp-r", "ip", "route", "add", "198.51.100.0/24", "via", "10.0.2.2")
    ns("fp-r", "ip", "route", "add", "default", "via", "10.0.1.2")


def capture(mtu: int, work: Path) -> list[bytes]:
    frames = inputs(mtu)
    write_pcap(work / "in.pcap", frames)
    out = work / "out.pcap"
    tshark = subprocess.Popen(
        ["ip", "netns", "exec", "fp-r", "tshark", "-q", "-i", "r1", "-f", "ip",
         "-w", str(out), "-F", "pcap"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # tshark says "Capturing on 'r1'" once the capture runs.
        deadline = time.time() + 20
        seen = ""
        while "Capturing on" not in seen and time.time() < deadline:
            seen += tshark.stderr.readline()
        time.sleep(0.5)
        send = ("from scapy.all import rdpcap, sendp; "
                f"sendp(rdpcap({str(work / 'in.pcap')!r}), iface='h1', verbose=False)")
        ns("fp-h1", sys.executable, "-c", send)
        time.sleep(1.5)
    finally:
        tshark.terminate()
        tshark.wait(10)
    return read_pcap(out)


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    try:
        for mtu in MTUS:
            up(mtu)
            with tempfile.TemporaryDirectory() as d:
                got = capture(mtu, Path(d))
            write_pcap(fixture(mtu, "in"), inputs(mtu))
            write_pcap(fixture(mtu, "out"), got)
            print(f"MTU {mtu}: {len(inputs(mtu))} frames in, {len(got)} out: "
                  + ", ".join(str(len(f) - 14) for f in got))
    finally:
        if "--keep" not in sys.argv:
            down()


if __name__ == "__main__":
    main()
