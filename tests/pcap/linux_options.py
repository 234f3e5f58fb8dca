"""Linux as the reference for the options a router records in what it forwards (Record
Route, Timestamp: __ip_options_compile on input, then ip_forward_options).

The inputs of test_options.py's Linux comparison are defined here. Run as a script (root,
iproute2, tshark, Debian's python3-scapy), it builds the Linux router of
linux_redirects.py (10.0.1.1 on r0, 10.0.2.1 on r1, 198.51.100.0/24 via 10.0.2.2), sends
the inputs from h1 (10.0.1.2) with scapy, captures what leaves r1 with tshark, and writes
``fixtures/linux_options.in.pcap`` and ``fixtures/linux_options.out.pcap``.

    sudo /usr/bin/python3 tests/pcap/linux_options.py [--keep]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import IP, UDP, IPOption, IPOption_RR
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from fastpath_run import N0_IP, N0_MAC, R0_MAC, R1_MAC, read_pcap, write_pcap
import linux_redirects

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN = FIXTURES / "linux_options.in.pcap"
OUT = FIXTURES / "linux_options.out.pcap"
DST = "198.51.100.7"


def _ts(flags: int, pointer: int, body: bytes) -> IPOption:
    return IPOption(bytes([0x44, 4 + len(body), pointer, flags]) + body)


def _frame(ip_id: int, options) -> bytes:
    return bytes(Ether(dst=R0_MAC, src=N0_MAC)
                 / IP(src=N0_IP, dst=DST, id=ip_id, options=options)
                 / UDP(sport=40000, dport=9999) / Raw(b"fastpath-options"))


def inputs() -> list[bytes]:
    """Each with its own IP id, 0x70xx."""
    ours, theirs = bytes([10, 0, 1, 1]), bytes([9, 9, 9, 9])
    return [
        # Record route with room for three, for one, and full.
        _frame(0x7001, [IPOption_RR(routers=["0.0.0.0"] * 3, pointer=4)]),
        _frame(0x7002, [IPOption_RR(routers=["0.0.0.0"], pointer=4)]),
        _frame(0x7003, [IPOption_RR(routers=["192.0.2.1"], pointer=8)]),
        # Timestamps only; with addresses; prespecified, ours first then someone else's.
        _frame(0x7004, [_ts(0, 5, bytes(8))]),
        _frame(0x7005, [_ts(1, 5, bytes(16))]),
        _frame(0x7006, [_ts(3, 5, ours + bytes(4) + bytes([10, 0, 2, 1]) + bytes(4))]),
        _frame(0x7007, [_ts(3, 5, theirs + bytes(4))]),
        # Full: the overflow counter goes up (but with prespecified addresses).
        _frame(0x7008, [_ts(0, 9, bytes([1, 2, 3, 4]))]),
        _frame(0x7009, [_ts(0x21, 13, bytes(8))]),
        _frame(0x700A, [_ts(3, 13, theirs + bytes(4))]),
        # Both, after a router alert and a NOP.
        _frame(0x700B, [IPOption(b"\x94\x04\x00\x00\x01"),
                        IPOption_RR(routers=["0.0.0.0"], pointer=4), _ts(0, 5, bytes(4))]),
    ]


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    ns = linux_redirects.ns
    try:
        linux_redirects.up()
        with tempfile.TemporaryDirectory() as d:
            work = Path(d)
            write_pcap(work / "in.pcap", inputs())
            out = work / "out.pcap"
            tshark = subprocess.Popen(
                ["ip", "netns", "exec", "fp-r", "tshark", "-q", "-i", "r1", "-f",
                 f"ip and ether src {R1_MAC}", "-w", str(out), "-F", "pcap"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.time() + 20
                seen = ""
                while "Capturing on" not in seen and time.time() < deadline:
                    seen += tshark.stderr.readline()
                time.sleep(0.5)
                ns("fp-h1", sys.executable, "-c",
                   "from scapy.all import rdpcap, sendp; "
                   f"sendp(rdpcap({str(work / 'in.pcap')!r}), iface='h1', verbose=False)")
                time.sleep(1.5)
            finally:
                tshark.terminate()
                tshark.wait(10)
            got = read_pcap(out)
            write_pcap(IN, inputs())
            write_pcap(OUT, got)
            print(f"{len(inputs())} frames in, {len(got)} out of r1")
    finally:
        if "--keep" not in sys.argv:
            linux_redirects.down()


if __name__ == "__main__":
    main()
