"""Linux as the reference for ICMP redirects (ip_forward -> ip_rt_send_redirect).

The inputs of test_redirect.py are defined here. Run as a script (root, iproute2, tshark,
Debian's python3-scapy), it builds a Linux router in network namespaces with the pcap
tests' addresses and MACs, and hosts 10.0.1.3.. on p0's subnet beside the router 10.0.1.2:

    fp-h1 h1 10.0.1.2 (02:00:00:00:01:02)   scapy sends every host's frames from here
      | veth
    fp-r  r0 10.0.1.1 (02:00:00:00:00:01)   ip_forward=1, static neighbours for 10.0.1.2..
          r1 10.0.2.1 (02:00:00:00:00:02)   default via 10.0.1.2, 198.51.100.0/24 via 10.0.2.2
      | veth
    fp-h2 h2 10.0.2.2 (02:00:00:00:02:02)

sends the inputs from h1 with scapy, captures what leaves r0 with tshark (redirects and
the packets forwarded back out of r0), and writes ``fixtures/linux_redirect.in.pcap``
(what was sent) and ``fixtures/linux_redirect.out.pcap`` (what Linux sent on r0).

With ``--timing`` it also sends one packet every 10 ms from one more host for 12 s and
prints when Linux sent redirects to it (the backoff: 20 ms << n between them, 9 at most),
which test_redirect.py's unit-level expectations (and the fastpath unit tests) follow.

    sudo /usr/bin/python3 tests/pcap/linux_redirects.py [--keep] [--timing]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from fastpath_run import N0_MAC, N1_MAC, R0_MAC, R1_MAC, read_pcap, write_pcap
from linux_fragments import down, ns, sh

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN = FIXTURES / "linux_redirect.in.pcap"
OUT = FIXTURES / "linux_redirect.out.pcap"

# Hosts on p0's subnet beside the router 10.0.1.2, each with its own MAC and one
# neighbour entry on the router, so that a redirect to it can be sent.
HOSTS = {f"10.0.1.{i}": f"02:00:00:00:01:{i:02x}" for i in range(3, 12)}
TIMING_HOST = "10.0.1.11"


def host_frame(src: str, pkt) -> bytes:
    return bytes(Ether(dst=R0_MAC, src=HOSTS.get(src, N0_MAC)) / pkt)


def _udp(src: str, dst: str, ip_id: int, size: int = 0, **kw):
    payload = bytes((i * 7 + ip_id) & 0xFF for i in range(size))
    return (IP(src=src, dst=dst, id=ip_id, **kw) / UDP(sport=40000 + (ip_id & 0xFFF), dport=9999)
            / Raw(b"fastpath-redirect:" + payload))


def inputs() -> list[bytes]:
    """The frames sent, each with a distinct IP id 0x5xxx. One host per case, so that no
    case is in another's backoff; the last host sends a burst (one redirect, then backoff)."""
    return [
        # Through the other router 10.0.1.2: redirect naming 10.0.1.2.
        host_frame("10.0.1.3", _udp("10.0.1.3", "8.8.8.8", 0x5001, flags="DF")),
        # To a host on the same subnet: redirect naming the destination itself.
        host_frame("10.0.1.4", _udp("10.0.1.4", "10.0.1.5", 0x5002)),
        # TOS kept in the redirect's low bits, and a quote cut to 576 bytes.
        host_frame("10.0.1.6", _udp("10.0.1.6", "8.8.4.4", 0x5003, size=700, tos=0xB8)),
        # (A packet with a Record Route is left out: Linux's redirect echoes the option
        # in its own header, __ip_options_echo, and quotes it as ip_options_compile
        # filled it on input, with the header checksum not yet updated.)
        # An echo request is redirected; an ICMP error is forwarded without one.
        host_frame("10.0.1.8", IP(src="10.0.1.8", dst="8.8.8.8", id=0x5005)
                   / ICMP(type=8, id=0x77, seq=1) / Raw(b"fastpath-redirect:echo")),
        host_frame("10.0.1.9", IP(src="10.0.1.9", dst="8.8.8.8", id=0x5006)
                   / ICMP(type=3, code=3) / IP(src="8.8.8.8", dst="10.0.1.9", id=0x5106)
                   / UDP(sport=53, dport=5353)),
        # TTL 1: time exceeded, no redirect.
        host_frame("10.0.1.10", _udp("10.0.1.10", "8.8.8.8", 0x5007, ttl=1)),
        # Off the subnet (behind 10.0.1.2): forwarded, no redirect.
        bytes(Ether(dst=R0_MAC, src=N0_MAC) / _udp("172.16.9.9", "8.8.8.8", 0x5008)),
        # A source whose route back is a blackhole, or prohibit: the reverse lookup of
        # fib_validate_source fails as if there were no route: forwarded, no redirect.
        bytes(Ether(dst=R0_MAC, src=N0_MAC) / _udp("203.0.113.5", "8.8.8.8", 0x5009)),
        bytes(Ether(dst=R0_MAC, src=N0_MAC) / _udp("192.0.2.5", "8.8.8.8", 0x500A)),
        # More from 10.0.1.3, right after its redirect: within 20 ms << 1 of it, none.
        *[host_frame("10.0.1.3", _udp("10.0.1.3", "9.9.9.9", 0x5010 + i)) for i in range(5)],
    ]


def up() -> None:
    down()
    for n in ("fp-h1", "fp-r", "fp-h2"):
        sh("ip", "netns", "add", n)
        for k in ("all", "default"):
            ns(n, "sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1")
    sh("ip", "link", "add", "h1", "netns", "fp-h1", "type", "veth", "peer", "r0", "netns", "fp-r")
    sh("ip", "link", "add", "r1", "netns", "fp-r", "type", "veth", "peer", "h2", "netns", "fp-h2")
    for n, dev, mac, addr in (
        ("fp-h1", "h1", N0_MAC, "10.0.1.2/24"),
        ("fp-r", "r0", R0_MAC, "10.0.1.1/24"),
        ("fp-r", "r1", R1_MAC, "10.0.2.1/24"),
        ("fp-h2", "h2", N1_MAC, "10.0.2.2/24"),
    ):
        ns(n, "ip", "link", "set", dev, "address", mac, "up")
        ns(n, "ip", "addr", "add", addr, "dev", dev)
        ns(n, "ip", "link", "set", "lo", "up")
    # h1 must not answer for the hosts it sends as, nor send redirects of its own.
    ns("fp-h1", "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0")
    ns("fp-r", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    neigh = {"10.0.1.2": N0_MAC, **HOSTS}
    for addr, mac in neigh.items():
        ns("fp-r", "ip", "neigh", "replace", addr, "lladdr", mac, "dev", "r0", "nud", "permanent")
    ns("fp-r", "ip", "neigh", "replace", "10.0.2.2", "lladdr", N1_MAC, "dev", "r1", "nud", "permanent")
    ns("fp-r", "ip", "route", "add", "198.51.100.0/24", "via", "10.0.2.2")
    ns("fp-r", "ip", "route", "add", "default", "via", "10.0.1.2")
    ns("fp-r", "ip", "route", "add", "blackhole", "203.0.113.0/24")
    ns("fp-r", "ip", "route", "add", "unreachable", "203.0.113.128/25")
    ns("fp-r", "ip", "route", "add", "prohibit", "192.0.2.0/24")


def sysctls(all_: int, dev: int) -> None:
    ns("fp-r", "sysctl", "-qw", f"net.ipv4.conf.all.send_redirects={all_}")
    ns("fp-r", "sysctl", "-qw", f"net.ipv4.conf.r0.send_redirects={dev}")


def capture(frames: list[bytes], work: Path, *, spacing: float = 0.0, settle: float = 1.5
            ) -> list[tuple[float, bytes]]:
    """Sends ``frames`` from h1 and returns (time, frame) of every frame r0 sent."""
    write_pcap(work / "in.pcap", frames)
    out = work / "out.pcap"
    tshark = subprocess.Popen(
        ["ip", "netns", "exec", "fp-r", "tshark", "-q", "-i", "r0", "-f",
         f"ip and ether src {R0_MAC}", "-w", str(out), "-F", "pcap"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        seen = ""
        while "Capturing on" not in seen and time.time() < deadline:
            seen += tshark.stderr.readline()
        time.sleep(0.5)
        send = ("from scapy.all import rdpcap, sendp; "
                f"sendp(rdpcap({str(work / 'in.pcap')!r}), iface='h1', verbose=False, "
                f"inter={spacing})")
        ns("fp-h1", sys.executable, "-c", send)
        time.sleep(settle)
    finally:
        tshark.terminate()
        tshark.wait(10)
    from scapy.utils import rdpcap
    return [(float(p.time), bytes(p)) for p in rdpcap(str(out))]


def timing(work: Path) -> None:
    n = 1200
    frames = [host_frame(TIMING_HOST, _udp(TIMING_HOST, "8.8.8.8", 0x6000 + i)) for i in range(n)]
    got = capture(frames, work, spacing=0.01)
    redirects = [t for t, f in got if f[23] == 1 and f[34] == 5]
    if not redirects:
        print("timing: no redirect")
        return
    t0 = redirects[0]
    gaps = [round((b - a) * 1000) for a, b in zip(redirects, redirects[1:])]
    print(f"timing: {len(redirects)} redirects for {n} packets 10 ms apart; "
          f"at ms {[round((t - t0) * 1000) for t in redirects]}; gaps {gaps}")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    try:
        up()
        with tempfile.TemporaryDirectory() as d:
            got = capture(inputs(), Path(d))
            write_pcap(IN, inputs())
            write_pcap(OUT, [f for _, f in got])
            print(f"{len(inputs())} frames in, {len(got)} out of r0")
            # send_redirects is IN_DEV_ORCONF: conf.all or the device's own.
            for i, (all_, dev) in enumerate(((0, 1), (1, 0), (0, 0))):
                sysctls(all_, dev)
                src = f"10.0.1.{4 + i}"
                got = capture([host_frame(src, _udp(src, "8.8.8.8", 0x5100 + i))], Path(d),
                              settle=0.5)
                n = sum(1 for _, f in got if f[23] == 1 and f[34] == 5)
                print(f"send_redirects all={all_} r0={dev}: {n} redirect(s)")
            sysctls(1, 1)
            if "--timing" in sys.argv:
                timing(Path(d))
    finally:
        if "--keep" not in sys.argv:
            down()


if __name__ == "__main__":
    main()
