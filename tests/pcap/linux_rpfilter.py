"""Linux as the reference for reverse path filtering (rp_filter, fib_validate_source).

The inputs of test_rpfilter.py are defined here. Run as a script (root, iproute2, tshark),
it builds a Linux router in network namespaces with the pcap tests' addresses, MACs and
routes (config_yaml() plus EXTRA_ROUTES), for each of MODES:

    fp-h1 h1 10.0.1.2 (02:00:00:00:01:02)   sends p0's inputs (and 10.0.1.3's)
      | veth
    fp-r  r0 10.0.1.1 (02:00:00:00:00:01)   ip_forward=1, static neighbours 10.0.1.2/.3
          r1 10.0.2.1 (02:00:00:00:00:02)   and 10.0.2.2; rp_filter all/r0/r1 per mode
      | veth
    fp-h2 h2 10.0.2.2 (02:00:00:00:02:02)   sends p1's inputs

sends the inputs one at a time (raw AF_PACKET sockets in h1/h2), reads the router's
TcpExt IPReversePathFilter (nstat's name; /proc/net/netstat) after each, captures with
tshark what the router sends out of r0 and r1, and writes

    fixtures/linux_rpfilter.in0.pcap, .in1.pcap        the inputs (the same in every mode)
    fixtures/linux_rpfilter.<mode>.out0.pcap, .out1.pcap  what Linux sent out of r0 / r1
    fixtures/linux_rpfilter.json    per mode: the sysctls, the IPReversePathFilter count
                                    and the inputs that bumped it

and prints a table of Linux's decision per input and mode (also in the JSON file: ``fwd
pN`` forwarded out of pN, an ICMP type or ``arp-reply`` sent out of pN, ``RPF-DROP``
counted in IPReversePathFilter, ``-`` nothing sent and not counted). The namespaces are
removed at the end, also on an error or SIGTERM (``--keep`` leaves the last mode's up).

    sudo /usr/bin/python3 tests/pcap/linux_rpfilter.py [--keep]
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from fastpath_run import N0_MAC, N1_MAC, R0_MAC, R1_MAC, read_pcap, write_pcap
from linux_fragments import down, ns, sh

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IN = {p: FIXTURES / f"linux_rpfilter.in{p}.pcap" for p in (0, 1)}
JSON = FIXTURES / "linux_rpfilter.json"


def out_fixture(mode: str, port: int) -> Path:
    return FIXTURES / f"linux_rpfilter.{mode}.out{port}.pcap"


# A host beside the router 10.0.1.2 on p0, for a redirect (a source that passes strict).
HOST3_IP, HOST3_MAC = "10.0.1.3", "02:00:00:00:01:03"
EXTRA_NEIGHBORS = ((HOST3_IP, HOST3_MAC),)
# Beyond config_yaml()'s routes: a multipath route with a next hop on each port (only
# ever looked up for sources: the ECMP hashes of Linux and fastpath differ), and a
# destination behind p0 that exists without the default route too.
MULTIPATH, P0_NET = "100.64.0.0/16", "192.168.0.0/16"
EXTRA_ROUTES = (f"{{ prefix: {MULTIPATH}, via: [10.0.1.2, 10.0.2.2] }}",
                f"{{ prefix: {P0_NET}, via: 10.0.1.2 }}")
DST_VIA_P1, DST_VIA_P0 = "198.51.100.7", "192.168.1.7"


@dataclass(frozen=True)
class Mode:
    """rp_filter as fastpath's config says it: None is the key left out (0, as Linux's
    default); Linux gets conf.all = ``all_``, conf.r0 = ``p0``, conf.r1 = ``p1``."""
    name: str
    all_: int | None
    p0: int | None
    p1: int | None
    default_route: bool = True

    def sysctls(self) -> dict[str, int]:
        return {"all": self.all_ or 0, "r0": self.p0 or 0, "r1": self.p1 or 0}

    def effective(self, port: int) -> int:
        """IN_DEV_RPFILTER: IN_DEV_MAXCONF, the larger of conf.all and the device's."""
        return max(self.all_ or 0, (self.p0, self.p1)[port] or 0)

    def config_kwargs(self) -> dict:
        return {"default_route": self.default_route, "extra_routes": EXTRA_ROUTES,
                "extra_neighbors": EXTRA_NEIGHBORS, "rp_filter": self.all_,
                "p0_rp_filter": self.p0, "p1_rp_filter": self.p1}


MODES = (
    Mode("off", None, None, None),
    Mode("strict", 1, None, None),
    Mode("loose", 2, None, None),
    Mode("p0_strict", 0, 1, None),          # the device's own: p0 strict, p1 off
    Mode("max", 1, 2, 0),                   # max(all, dev): p0 loose, p1 strict
    Mode("off_nodefault", None, None, None, default_route=False),
    Mode("strict_nodefault", 1, None, None, default_route=False),
    Mode("loose_nodefault", 2, None, None, default_route=False),
)


@dataclass(frozen=True)
class Input:
    name: str
    port: int
    frame: bytes
    key: tuple          # packets.output_key() of what it causes
    note: str = ""


def _cases() -> list[Input]:
    out: list[Input] = []
    ids = iter(range(0x7001, 0x7100))

    def eth(port: int, pkt, dst_mac: str | None = None, src_mac: str | None = None) -> bytes:
        return bytes(Ether(dst=dst_mac or (R0_MAC, R1_MAC)[port],
                           src=src_mac or (N0_MAC, N1_MAC)[port]) / pkt)

    def udp(name, port, src, dst, note="", *, ttl=64, dst_mac=None, src_mac=None,
            sport=None, dport=9999):
        ip_id = next(ids)
        pkt = (IP(src=src, dst=dst, id=ip_id, ttl=ttl)
               / UDP(sport=sport or 40000 + (ip_id & 0xFFF), dport=dport)
               / Raw(f"fastpath-rpf:{name}".encode()))
        out.append(Input(name, port, eth(port, pkt, dst_mac, src_mac), ("ipid", ip_id), note))

    def echo(name, port, src, dst, note=""):
        eid = next(ids)
        pkt = (IP(src=src, dst=dst, id=eid) / ICMP(type=8, id=eid, seq=1)
               / Raw(f"fastpath-rpf:{name}".encode()))
        out.append(Input(name, port, eth(port, pkt), ("echo", eid), note))

    def arp(name, sender, note=""):
        f = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=N0_MAC)
                  / ARP(op=1, hwsrc=N0_MAC, psrc=sender, hwdst="00:00:00:00:00:00",
                        pdst="10.0.1.1"))
        out.append(Input(name, 0, f, ("arp", "10.0.1.1", sender), note))

    # Forwarded, in on p0, to 198.51.100.7 (out p1): the source decides.
    udp("p0_src_onlink_p0", 0, "10.0.1.2", DST_VIA_P1, "on p0's subnet")
    udp("p0_src_onlink_p1", 0, "10.0.2.2", DST_VIA_P1, "on p1's subnet")
    udp("p0_src_default", 0, "172.16.1.1", DST_VIA_P1, "default route (via p0)")
    udp("p0_src_via_p1", 0, "198.51.100.5", DST_VIA_P1, "198.51.100/24 via p1")
    udp("p0_src_blackhole", 0, "203.0.113.5", DST_VIA_P1, "blackhole route")
    udp("p0_src_unreachable", 0, "203.0.113.200", DST_VIA_P1, "unreachable route")
    udp("p0_src_prohibit", 0, "192.0.2.5", DST_VIA_P1, "prohibit route")
    udp("p0_src_multipath", 0, "100.64.0.5", DST_VIA_P1, "ECMP p0 + p1")
    udp("p0_src_p0net", 0, "192.168.2.2", DST_VIA_P1, "192.168/16 via p0")
    udp("p0_src_own_p1_addr", 0, "10.0.2.1", DST_VIA_P1, "martian: our address")
    udp("p0_ttl1_src_via_p1", 0, "198.51.100.17", DST_VIA_P1, "TTL 1", ttl=1)
    udp("p0_ttl1_src_p0net", 0, "192.168.3.3", DST_VIA_P1, "TTL 1", ttl=1)
    udp("p0_redirect_onlink", 0, HOST3_IP, DST_VIA_P0, "back out of p0: redirect",
        src_mac=HOST3_MAC)
    # Destinations without a unicast route: no source check (ip_route_input_slow no_route).
    udp("p0_to_unreachable_src_via_p1", 0, "198.51.100.13", "203.0.113.200")
    udp("p0_to_prohibit_src_via_p1", 0, "198.51.100.14", "192.0.2.9")
    udp("p0_to_blackhole_src_via_p1", 0, "198.51.100.15", "203.0.113.5")
    udp("p0_to_default_src_via_p1", 0, "198.51.100.16", "8.8.8.8",
        "no route without the default route")
    # For the router itself.
    echo("p0_echo_src_onlink_p0", 0, "10.0.1.2", "10.0.1.1")
    echo("p0_echo_src_via_p1", 0, "198.51.100.8", "10.0.1.1")
    echo("p0_echo_p1_addr_src_via_p1", 0, "198.51.100.9", "10.0.2.1")
    echo("p0_echo_src_default", 0, "172.16.1.3", "10.0.1.1")
    echo("p0_echo_src_blackhole", 0, "203.0.113.7", "10.0.1.1")
    udp("p0_udp_local_src_via_p1", 0, "198.51.100.10", "10.0.1.1", "no listener")
    # Broadcasts (brd_input: checked unless the source is 0.0.0.0).
    udp("p0_bcast_subnet_src_via_p1", 0, "198.51.100.11", "10.0.1.255",
        dst_mac="ff:ff:ff:ff:ff:ff")
    udp("p0_bcast_limited_src_via_p1", 0, "198.51.100.12", "255.255.255.255",
        dst_mac="ff:ff:ff:ff:ff:ff")
    udp("p0_bcast_subnet_src_onlink_p0", 0, "10.0.1.2", "10.0.1.255",
        dst_mac="ff:ff:ff:ff:ff:ff")
    udp("p0_bcast_limited_src_zero", 0, "0.0.0.0", "255.255.255.255",
        dst_mac="ff:ff:ff:ff:ff:ff", sport=68, dport=67)
    # ARP (arp_process asks ip_route_input_noref(tip, sip) for RTN_LOCAL).
    arp("p0_arp_sender_onlink_p0", "10.0.1.2")
    arp("p0_arp_sender_via_p1", "198.51.100.20")
    # In on p1, to 192.168.1.7 (out p0).
    udp("p1_src_onlink_p1", 1, "10.0.2.2", DST_VIA_P0)
    udp("p1_src_onlink_p0", 1, "10.0.1.2", DST_VIA_P0)
    udp("p1_src_default", 1, "172.16.1.2", DST_VIA_P0)
    udp("p1_src_via_p1", 1, "198.51.100.6", DST_VIA_P0)
    udp("p1_src_blackhole", 1, "203.0.113.6", DST_VIA_P0)
    udp("p1_src_multipath", 1, "100.64.0.6", DST_VIA_P0)
    udp("p1_src_p0net", 1, "192.168.2.3", DST_VIA_P0)
    echo("p1_echo_src_default", 1, "172.16.1.4", "10.0.2.1")
    udp("p1_udp_p0_addr_src_onlink_p1", 1, "10.0.2.2", "10.0.1.1", "no listener")
    return out


CASES = _cases()


def inputs(port: int) -> list[bytes]:
    return [c.frame for c in CASES if c.port == port]


# --------------------------------------------------------------------------- Linux

SENDER = """\
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for line in sys.stdin:
    s.send(bytes.fromhex(line))
    print("ok", flush=True)
"""


def up(mode: Mode) -> None:
    down()
    for n in ("fp-h1", "fp-r", "fp-h2"):
        sh("ip", "netns", "add", n)
        for k in ("all", "default"):
            ns(n, "sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1")
            # A new namespace inherits init_net's conf.all/default (devconf_inherit_init_net
            # 0): set them, not trust them.
            ns(n, "sysctl", "-qw", f"net.ipv4.conf.{k}.rp_filter=0")
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
    r = lambda *a: ns("fp-r", *a)  # noqa: E731
    r("sysctl", "-qw", "net.ipv4.ip_forward=1")
    for k, v in mode.sysctls().items():
        r("sysctl", "-qw", f"net.ipv4.conf.{k}.rp_filter={v}")
    for addr, mac in (("10.0.1.2", N0_MAC), (HOST3_IP, HOST3_MAC)):
        r("ip", "neigh", "replace", addr, "lladdr", mac, "dev", "r0", "nud", "permanent")
    r("ip", "neigh", "replace", "10.0.2.2", "lladdr", N1_MAC, "dev", "r1", "nud", "permanent")
    r("ip", "route", "add", "198.51.100.0/24", "via", "10.0.2.2")
    if mode.default_route:
        r("ip", "route", "add", "default", "via", "10.0.1.2")
    r("ip", "route", "add", "blackhole", "203.0.113.0/24")
    r("ip", "route", "add", "unreachable", "203.0.113.128/25")
    r("ip", "route", "add", "prohibit", "192.0.2.0/24")
    r("ip", "route", "add", MULTIPATH, "nexthop", "via", "10.0.1.2", "nexthop", "via", "10.0.2.2")
    r("ip", "route", "add", P0_NET, "via", "10.0.1.2")


def rp_counter() -> int:
    """TcpExt IPReversePathFilter of the router's namespace."""
    text = ns("fp-r", "cat", "/proc/net/netstat").stdout.splitlines()
    for names, values in zip(text[::2], text[1::2]):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split()[1:], values.split()[1:]))["IPReversePathFilter"])
    raise AssertionError("no TcpExt in /proc/net/netstat")


def capture(work: Path, procs: list) -> tuple[dict[int, list[bytes]], list[str]]:
    """Sends every input on its port, one at a time; returns what r0/r1 sent and the
    names of the inputs that bumped IPReversePathFilter."""
    tsharks = {}
    for port, dev, mac in ((0, "r0", R0_MAC), (1, "r1", R1_MAC)):
        t = subprocess.Popen(
            ["ip", "netns", "exec", "fp-r", "tshark", "-q", "-i", dev, "-f",
             f"(ip or arp) and ether src {mac}", "-w", str(work / f"out{port}.pcap"),
             "-F", "pcap"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(t)
        tsharks[port] = t
    senders = {}
    try:
        for port, t in tsharks.items():
            deadline, seen = time.time() + 20, ""
            while "Capturing on" not in seen and time.time() < deadline:
                seen += t.stderr.readline()
            if "Capturing on" not in seen:
                raise RuntimeError(f"tshark on port {port} did not start: {seen}")
        for port, (n, dev) in enumerate((("fp-h1", "h1"), ("fp-h2", "h2"))):
            s = subprocess.Popen(["ip", "netns", "exec", n, sys.executable, "-c", SENDER, dev],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            procs.append(s)
            senders[port] = s
        time.sleep(0.5)
        dropped = []
        for c in CASES:
            before = rp_counter()
            s = senders[c.port]
            s.stdin.write(c.frame.hex() + "\n")
            s.stdin.flush()
            if s.stdout.readline().strip() != "ok":
                raise RuntimeError(f"sender for port {c.port} failed on {c.name}")
            time.sleep(0.05)
            if rp_counter() != before:
                dropped.append(c.name)
        time.sleep(1.0)
        _stop(tsharks)
        return {p: read_pcap(work / f"out{p}.pcap") for p in (0, 1)}, dropped
    finally:
        for s in senders.values():
            if s.poll() is None:
                s.stdin.close()
                s.wait(5)
        _stop(tsharks)


def _stop(tsharks: dict) -> None:
    for t in tsharks.values():
        if t.poll() is None:
            t.terminate()
            t.wait(10)


# --------------------------------------------------------------------------- report


def outcome(c: Input, out: dict[int, list[bytes]], dropped: list[str]) -> str:
    """Linux's decision for one input, as a short word for the table."""
    from packets import output_key
    what = []
    for port in (0, 1):
        for f in out[port]:
            if output_key(f) != c.key:
                continue
            if f[12:14] == b"\x08\x06":
                what.append(f"arp-reply p{port}")
            elif f[23] == 1 and f[26:30] in (bytes([10, 0, 1, 1]), bytes([10, 0, 2, 1])):
                what.append({0: "echo-reply", 3: f"unreach/{f[35]}", 5: "redirect",
                             11: "time-exceeded"}.get(f[34], f"icmp{f[34]}") + f" p{port}")
            else:
                what.append(f"fwd p{port}")
    if c.name in dropped:
        what.append("RPF-DROP")
    return ",".join(what) or "-"


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    procs: list = []
    results: dict = {}
    outs: dict[str, dict[int, list[bytes]]] = {}
    table: dict[str, dict[str, str]] = {c.name: {} for c in CASES}
    try:
        for mode in MODES:
            up(mode)
            with tempfile.TemporaryDirectory() as d:
                out, dropped = capture(Path(d), procs)
            outs[mode.name] = out
            for c in CASES:
                table[c.name][mode.name] = outcome(c, out, dropped)
            results[mode.name] = {
                "sysctls": mode.sysctls(), "default_route": mode.default_route,
                "rp_filter_drops": len(dropped), "rp_dropped": dropped,
                "forwarded": sum(1 for c in CASES for o in table[c.name][mode.name].split(",")
                                 if o.startswith("fwd")),
                "decisions": {c.name: table[c.name][mode.name] for c in CASES},
            }
            print(f"{mode.name}: {mode.sysctls()} default_route={mode.default_route}: "
                  f"{len(out[0])} out of r0, {len(out[1])} out of r1, "
                  f"IPReversePathFilter +{len(dropped)}")
        # Only once every mode is captured: a failed run leaves the old set whole.
        for port in (0, 1):
            write_pcap(IN[port], inputs(port))
            for name, out in outs.items():
                write_pcap(out_fixture(name, port), out[port])
        JSON.write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}"
                                            for k, v in results.items()) + "\n}\n")
        w = max(len(n) for n in table)
        print(f"{'case':{w}} " + " | ".join(m.name for m in MODES))
        for name, row in table.items():
            print(f"{name:{w}} " + " | ".join(row[m.name] for m in MODES))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if "--keep" not in sys.argv:
            down()


if __name__ == "__main__":
    main()
