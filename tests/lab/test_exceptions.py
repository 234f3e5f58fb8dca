"""Nexthop exceptions judged by Linux: the same crafted ICMP sent to a Linux router and to
fastpath, in two copies of one topology (same addresses, MACs and interface names); what
each then says (`ip route get` / `route get`) and does (echo replies, ICMP errors and
forwarded packets it sends) compared, step by step.

    h1 10.0.1.2 --veth-- p0 [router] p1 ---+--- eth0 g2 10.0.2.2
                         10.0.1.1  10.0.2.1 br0 (ns sw)
                                           +--- eth0 g3 10.0.2.3, 10.0.2.4

The router is Linux (namespace L-r, ip_forward=1) in one copy and fastpath (namespace
F-fp, net_af_packet on p0/p1) in the other. Both: route 198.51.100.0/24 via 10.0.2.2, a
blackhole 10.0.2.200/32, permanent neighbours h1, g2, g3 (none for 10.0.2.4: g3 answers
its ARP). h1, g2, g3 are plain namespaces with a raw AF_PACKET helper each (it sends the
frames the test builds with scapy and hands back every frame its eth0 received), so the
test crafts from their addresses and MACs and sees exactly what the router sent.

198.51.100.1 is a host "behind" g2 that does not exist: g2's helper sends an echo request
from it to 10.0.2.1, the router's echo reply goes to g2's MAC, and that reply (its IP
header and first 8 bytes, as routers quote) is what every frag-needed and redirect quotes,
the one packet Linux's `icmp_err` learns from without a socket.

Phases (each a run of steps; a step acts on both routers, waits SETTLE, then compares):
A. defaults (accept_redirects off on a forwarding router): PMTU lowering, not raising,
   locking at min_pmtu, locked; what our echo replies, ICMP errors and forwarded DF
   packets do under it; flush; a redirect ignored; fastpath's counters.
B. accept_redirects on (Linux all=1 and p1=1; fastpath settings accept_redirects: true, a
   second start): each rejection of __ip_do_redirect, an unresolved new gateway (ARP
   sent, nothing learned), accepted redirects (forwarded traffic follows), a PMTU on top,
   flush; counters.
C. mtu_expires 2 on both (Linux's route.mtu_expires is per netns); gc_timeout 2 on
   fastpath only (Linux's route.gc_timeout is host-wide: not changed): exceptions expire,
   traffic returns to g2; `route flush cache` at once.

Linux is the oracle: each step first checks that Linux did what the lab expects (else the
lab itself is wrong and the step fails), then that fastpath did the same. A disagreement
is kept as a strict xfail naming the exact difference. `expires Nsec` is masked in the
comparison; the two values must still be within EXPIRES_SLACK seconds of each other.

Each namespace and process started here, fastpath included, is removed at the end, also
when a check fails. FASTPATH_BIN_DIR names the binaries' directory (default
target/release).
"""

import ipaddress
import os
import re
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from scapy.all import ARP, ICMP, IP, UDP, Ether, Raw
from scapy.utils import checksum

from labnet import BIN, ctl, sh, stop
PY = "/usr/bin/python3"
ID = f"ex{os.getpid() % 100000}"

P0_MAC, P1_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
H1_MAC, G2_MAC, G3_MAC = "02:00:00:00:01:02", "02:00:00:00:02:02", "02:00:00:00:02:03"
DEST = "198.51.100.1"
# After an ICMP reaches a router: Linux handles it in the softirq that receives it;
# fastpath punts it to the control core (a 1 ms loop), which publishes a new snapshot.
SETTLE = 0.2
# The longest a read-only look waits for fastpath to agree (see test_step).
LAG = 2.0
# Seconds the two `expires` may differ (both are read within a few hundred ms, each
# rounded down).
EXPIRES_SLACK = 2
# Linux's route.gc_timeout (host-wide, read, never written): a redirect's lifetime.
GC_TIMEOUT = int(Path("/proc/sys/net/ipv4/route/gc_timeout").read_text())

# The helper in h1, g2 and g3: sends hex frames given on stdin, returns what eth0 received.
HELPER = """\
import socket, sys, threading
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
got, lock = [], threading.Lock()
def rx():
    while True:
        data, addr = s.recvfrom(65535)
        if addr[2] != socket.PACKET_OUTGOING:
            with lock:
                got.append(data)
threading.Thread(target=rx, daemon=True).start()
print("ready", flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "send":
        s.send(bytes.fromhex(arg))
        print("ok", flush=True)
    elif cmd == "frames":
        with lock:
            out, got[:] = list(got), []
        print("frames", len(out))
        for f in out:
            print(f.hex())
        sys.stdout.flush()
"""


def fp_config(settings=""):
    return f"""\
ports:
  - {{ name: p0, device: "net_af_packet0,iface=p0", mtu: 1500, addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_af_packet1,iface=p1", mtu: 1500, addresses: [10.0.2.1/24] }}
neighbors:
  - {{ address: 10.0.1.2, mac: "{H1_MAC}", port: p0 }}
  - {{ address: 10.0.2.2, mac: "{G2_MAC}", port: p1 }}
  - {{ address: 10.0.2.3, mac: "{G3_MAC}", port: p1 }}
routes:
  - {{ prefix: 198.51.100.0/24, via: 10.0.2.2 }}
  - {{ prefix: 10.0.2.200/32, type: blackhole }}
settings: {{ arp_notify: false{settings} }}
"""






class Helper:
    """The AF_PACKET helper of one host namespace."""

    def __init__(self, ns, log):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, PY, "-c", HELPER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                  text=True, start_new_session=True)
        self.ns = ns

    def ready(self):
        line = self.p.stdout.readline()
        assert line == "ready\n", f"helper in {self.ns}: {line!r}"

    def send(self, frame):
        self.p.stdin.write(f"send {bytes(frame).hex()}\n")
        self.p.stdin.flush()
        assert self.p.stdout.readline() == "ok\n", f"helper in {self.ns} died"

    def frames(self):
        """Every frame received since the last call, parsed by scapy."""
        self.p.stdin.write("frames\n")
        self.p.stdin.flush()
        head = self.p.stdout.readline().split()
        assert head[:1] == ["frames"], f"helper in {self.ns}: {head}"
        return [Ether(bytes.fromhex(self.p.stdout.readline().strip()))
                for _ in range(int(head[1]))]


def icmp_error(src, mac, typ, code, rest, quote):
    """An ICMP error from src (MAC mac) to the router: its 4-byte rest of header (the MTU
    of a frag-needed, the gateway of a redirect) and the quoted bytes."""
    body = bytearray(struct.pack("!BBHI", typ, code, 0, rest) + quote)
    body[2:4] = struct.pack("!H", checksum(bytes(body)))
    return Ether(src=mac, dst=P1_MAC) / IP(src=src, dst="10.0.2.1", proto=1) / Raw(bytes(body))


def frag_needed(mtu, src="10.0.2.2", mac=G2_MAC):
    return lambda q: icmp_error(src, mac, 3, 4, mtu, q)


def redirect(gw, code=1, src="10.0.2.2", mac=G2_MAC):
    return lambda q: icmp_error(src, mac, 5, code, int(ipaddress.IPv4Address(gw)), q)


class Router:
    """One copy of the topology: its router, Linux or fastpath, and its hosts."""

    def __init__(self, kind, tmp):
        self.kind, self.tmp = kind, tmp
        tag = "L" if kind == "linux" else "F"
        self.ns = {n: f"{ID}-{tag}-{n}" for n in ("sw", "h1", "g2", "g3", "r")}
        self.helpers, self.fp, self.starts, self.quote = {}, None, 0, None
        self.sock = tmp / f"ctl-{tag}.sock"
        self.log = None

    def build(self):
        ns = self.ns
        for n in ns.values():
            sh("ip", "netns", "add", n)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1", ns=n)
            sh("ip", "link", "set", "lo", "up", ns=n)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=ns["sw"])
        sh("ip", "link", "set", "br0", "up", ns=ns["sw"])
        sh("ip", "link", "add", "eth0", "netns", ns["h1"], "address", H1_MAC, "type", "veth",
           "peer", "name", "p0", "netns", ns["r"], "address", P0_MAC)
        ends = [(ns["h1"], "eth0"), (ns["r"], "p0")]
        for peer, host, ifname, mac in (("to-r", ns["r"], "p1", P1_MAC),
                                        ("to-g2", ns["g2"], "eth0", G2_MAC),
                                        ("to-g3", ns["g3"], "eth0", G3_MAC)):
            sh("ip", "link", "add", peer, "netns", ns["sw"], "type", "veth",
               "peer", "name", ifname, "netns", host, "address", mac)
            sh("ip", "link", "set", peer, "master", "br0", "up", ns=ns["sw"])
            ends.append((host, ifname))
        for n, i in ends:
            # No checksum or segmentation offload: raw sockets see complete frames.
            sh("ethtool", "-K", i, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
               "gro", "off", ns=n, check=False)
            sh("ip", "link", "set", i, "up", ns=n)
        sh("ip", "addr", "add", "10.0.1.2/24", "dev", "eth0", ns=ns["h1"])
        sh("ip", "addr", "add", "10.0.2.2/24", "dev", "eth0", ns=ns["g2"])
        sh("ip", "addr", "add", "10.0.2.3/24", "dev", "eth0", ns=ns["g3"])
        sh("ip", "addr", "add", "10.0.2.4/24", "dev", "eth0", ns=ns["g3"])
        # An address in 0/8 but not 0.0.0.0 (Linux allows them since 5.3), so g3 answers
        # its ARP.
        sh("ip", "addr", "add", "0.1.2.3/32", "dev", "eth0", ns=ns["g3"])
        for n in ("g2", "g3"):
            sh("sysctl", "-qw", "net.ipv4.ip_forward=0", ns=ns[n])
        log = open(self.tmp / f"helpers-{self.kind}.log", "w")
        for n in ("h1", "g2", "g3"):
            self.helpers[n] = Helper(ns[n], log)
        if self.kind == "linux":
            self.linux_router()
        else:
            self.start_fastpath(fp_config())
        for h in self.helpers.values():
            h.ready()

    def linux_router(self):
        r = self.ns["r"]
        sh("ip", "addr", "add", "10.0.1.1/24", "dev", "p0", ns=r)
        sh("ip", "addr", "add", "10.0.2.1/24", "dev", "p1", ns=r)
        # ip_forward=1 first: it turns conf.all.accept_redirects off (inet_forward_change);
        # the rest as Linux's defaults, whatever the host's are (IPv4 conf is inherited).
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=r)
        sh("sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=0",
           "net.ipv4.conf.p0.accept_redirects=1", "net.ipv4.conf.p1.accept_redirects=1",
           "net.ipv4.conf.all.secure_redirects=1", "net.ipv4.conf.p1.secure_redirects=1",
           "net.ipv4.conf.all.shared_media=1", "net.ipv4.conf.p1.shared_media=1",
           "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.p0.rp_filter=0",
           "net.ipv4.conf.p1.rp_filter=0", "net.ipv4.conf.all.send_redirects=1",
           "net.ipv4.ip_no_pmtu_disc=0", "net.ipv4.ip_forward_use_pmtu=0",
           "net.ipv4.route.min_pmtu=552", "net.ipv4.route.mtu_expires=600", ns=r)
        sh("ip", "route", "add", "198.51.100.0/24", "via", "10.0.2.2", ns=r)
        sh("ip", "route", "add", "blackhole", "10.0.2.200/32", ns=r)
        for addr, mac, dev in (("10.0.1.2", H1_MAC, "p0"), ("10.0.2.2", G2_MAC, "p1"),
                               ("10.0.2.3", G3_MAC, "p1")):
            sh("ip", "neigh", "replace", addr, "lladdr", mac, "dev", dev, "nud", "permanent",
               ns=r)

    def start_fastpath(self, config):
        if self.fp is not None:
            self.stop_fastpath()
        self.starts += 1
        cfg = self.tmp / f"fastpath-{self.starts}.yaml"
        cfg.write_text(config)
        self.log = self.tmp / f"fastpath-{self.starts}.log"
        self.prefix = f"{ID}{self.starts}"
        self.fp = subprocess.Popen(
            ["ip", "netns", "exec", self.ns["r"], str(BIN / "fastpath"), "-l", "0-1",
             "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--file-prefix",
             self.prefix, "--log-level=*:warning", "--", "--config", str(cfg),
             "--ctl-socket", str(self.sock)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while self.ctl("show port info all").returncode != 0:
            assert self.fp.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "fastpath did not start"
            time.sleep(0.05)

    def stop_fastpath(self):
        """`quit`; fastpath must exit 0 with every mbuf back."""
        self.ctl("quit")
        rc = self.fp.wait(timeout=15)
        text = self.log.read_text()
        self.fp = None
        assert rc == 0 and "mbufs in use after shutdown: 0 of" in text, text[-2000:]

    def ctl(self, cmd):
        return subprocess.run([str(BIN / "fastpath-ctl"), "--socket", str(self.sock),
                               *cmd.split()], capture_output=True, text=True, timeout=10)

    def cmd(self, line):
        """A router command: iproute2's `ip ...` for Linux, fastpath-ctl's for fastpath."""
        if self.kind == "linux":
            r = sh("ip", *line.split(), ns=self.ns["r"], check=False)
        else:
            r = self.ctl(line)
        assert r.returncode == 0, f"{self.kind} {line}: {r.stdout}{r.stderr}"
        return r.stdout

    def route_get(self):
        """`route get DEST`: its two iproute2 lines, normalised, expires masked; and the
        seconds left."""
        lines = self.cmd(f"route get {DEST}").splitlines()[:2]
        lines = [" ".join(l.replace(" uid 0", "").split()) for l in lines]
        m = re.search(r"expires (\d+)sec", lines[1]) if len(lines) > 1 else None
        lines = [re.sub(r"expires \d+sec", "expires Nsec", l) for l in lines]
        return tuple(lines), (int(m.group(1)) if m else None)

    def flush(self):
        self.cmd("route flush cache")

    def sysctl(self, *kv):
        sh("sysctl", "-qw", *kv, ns=self.ns["r"])

    def echo(self, size=64, seq=1):
        """g2 (as 198.51.100.1) pings 10.0.2.1 with an IP packet of `size` bytes; the
        router's reply as g2 received it: the IP packets (fragments too) in order."""
        g2 = self.helpers["g2"]
        g2.frames()
        payload = bytes(range(256)) * (size // 256 + 1)
        g2.send(Ether(src=G2_MAC, dst=P1_MAC) / IP(src=DEST, dst="10.0.2.1", id=seq) /
                ICMP(type=8, id=0x4242, seq=seq) / Raw(payload[:size - 28]))
        time.sleep(SETTLE)
        return [f[IP] for f in g2.frames() if IP in f and f[IP].src == "10.0.2.1"
                and f[IP].dst == DEST and f.src == P1_MAC and f.dst == G2_MAC]

    def capture_quote(self):
        """The router's echo reply to 198.51.100.1, quoted as routers do."""
        replies = self.echo()
        assert len(replies) == 1 and ICMP in replies[0] and replies[0][ICMP].type == 0, \
            f"{self.kind}: no echo reply to {DEST}: {replies}"
        raw = bytes(replies[0])
        self.quote = raw[:(raw[0] & 15) * 4 + 8]

    def send_icmp(self, make, host="g2"):
        self.helpers[host].send(make(self.quote))

    def counters(self):
        out = self.ctl("show fwd stats").stdout
        names = ("icmp_errors_in", "pmtu_updates", "redirects_accepted", "redirects_rejected")
        return {n: int(m.group(1)) if (m := re.search(rf"^\s+{n}: (\d+)$", out, re.M)) else 0
                for n in names}


def forwarded(router, size=200, df=False):
    """h1 sends a UDP datagram of `size` bytes to DEST: what of it reached g2 and g3 (by
    MAC): (host, IP length, MF, fragment offset) each; and the ICMP errors h1 got back
    (type, code, next-hop MTU)."""
    hs = router.helpers
    for h in hs.values():
        h.frames()
    hs["h1"].send(Ether(src=H1_MAC, dst=P0_MAC) /
                  IP(src="10.0.1.2", dst=DEST, flags="DF" if df else 0, id=0x777) /
                  UDP(sport=4000, dport=9) / Raw(b"x" * (size - 28)))
    time.sleep(SETTLE)
    to = []
    for name, mac in (("g2", G2_MAC), ("g3", G3_MAC)):
        to += [(name, f[IP].len, int(f[IP].flags.MF), f[IP].frag) for f in hs[name].frames()
               if f.dst == mac and IP in f and f[IP].src == "10.0.1.2" and f[IP].dst == DEST
               and f.src == P1_MAC]
    errors = [(f[ICMP].type, f[ICMP].code, f[ICMP].nexthopmtu if f[ICMP].type == 3 else 0)
              for f in hs["h1"].frames() if ICMP in f and f[IP].dst == "10.0.1.2"]
    return {"to": to, "icmp": errors}


def arp_requests(router):
    """Who-has requests the router broadcast on p1 since g3's last read (target IPs)."""
    return [f[ARP].pdst for f in router.helpers["g3"].frames()
            if ARP in f and f.src == P1_MAC and f[ARP].op == 1]


# ---------------------------------------------------------------------------------------
# The steps. `act(router)` does the same to either router; `look(router)` is what is
# compared (default: route get); `want` is what Linux must show (the lab's own check).

VIA2 = f"{DEST} via 10.0.2.2 dev p1 src 10.0.2.1"
VIA3 = f"{DEST} via 10.0.2.3 dev p1 src 10.0.2.1"
VIA4 = f"{DEST} via 10.0.2.4 dev p1 src 10.0.2.1"
PLAIN = (VIA2, "cache")


def get(router):
    return router.route_get()


def counters(router):
    return router.counters()


class Step:
    def __init__(self, id, act=None, want=None, look=get, only=None, xfail=None, after=0.0):
        self.id, self.act, self.want, self.look = id, act, want, look
        self.only, self.xfail, self.after = only, xfail, after


def icmp(make, host="g2"):
    return lambda r: r.send_icmp(make, host)


def flush_both(r):
    r.flush()
    if r.kind == "linux":
        # The flush bumps the genid; the next lookup of each exception resets it
        # (rt_bind_exception), which this route get is.
        r.route_get()


def phase_b(r):
    if r.kind == "linux":
        r.sysctl("net.ipv4.conf.all.accept_redirects=1")
        flush_both(r)
    else:
        r.start_fastpath(fp_config(f", accept_redirects: true, gc_timeout: {GC_TIMEOUT}"))
        r.capture_quote()


def phase_c(r):
    if r.kind == "linux":
        r.sysctl("net.ipv4.route.mtu_expires=2")
        flush_both(r)
    else:
        r.start_fastpath(fp_config(", accept_redirects: true, mtu_expires: 2, gc_timeout: 2"))
        r.capture_quote()


def fragments(replies):
    return [(p.len, int(p.flags.MF), p.frag) for p in replies]


def echo_1500(r):
    return fragments(r.echo(size=1500, seq=2))


def port_unreachable(r):
    """g2 (as 198.51.100.1) sends 1000 bytes of UDP to 10.0.2.1 port 9: the size of the
    port unreachable that comes back."""
    g2 = r.helpers["g2"]
    g2.frames()
    g2.send(Ether(src=G2_MAC, dst=P1_MAC) / IP(src=DEST, dst="10.0.2.1", id=3) /
            UDP(sport=5000, dport=9) / Raw(b"u" * 972))
    time.sleep(SETTLE)
    return [(p.len, p[ICMP].type, p[ICMP].code) for f in g2.frames()
            if IP in f and ICMP in f and (p := f[IP]).src == "10.0.2.1" and p.dst == DEST]


def redirect_arp(gw, **kw):
    """A redirect naming gw: the route afterwards and the ARP requests the router sent."""
    def look(r):
        r.helpers["g3"].frames()
        r.send_icmp(redirect(gw, **kw), "g3" if kw.get("mac") == G3_MAC else "g2")
        time.sleep(SETTLE)
        return {"route": r.route_get()[0], "arp": arp_requests(r)}
    return look


def counters_want(**want):
    base = {"icmp_errors_in": 0, "pmtu_updates": 0, "redirects_accepted": 0,
            "redirects_rejected": 0}
    return {**base, **want}


STEPS = [
    # A: defaults.
    Step("A-initial", want=PLAIN),
    Step("A-linux-accept-redirects-all-0-p1-1", only="linux",
         look=lambda r: sh("sysctl", "-n", "net.ipv4.conf.all.accept_redirects",
                           "net.ipv4.conf.p1.accept_redirects", ns=r.ns["r"]).stdout.split(),
         want=["0", "1"]),
    Step("A-frag-needed-quoting-an-echo-request-ignored",
         act=lambda r: r.helpers["g2"].send(frag_needed(1300)(
             r.quote[:(r.quote[0] & 15) * 4] + b"\x08" + r.quote[(r.quote[0] & 15) * 4 + 1:])),
         want=PLAIN),
    Step("A-pmtu-1400", act=icmp(frag_needed(1400)), want=(VIA2, "cache expires Nsec mtu 1400")),
    Step("A-pmtu-1450-not-lower", act=icmp(frag_needed(1450)),
         want=(VIA2, "cache expires Nsec mtu 1400")),
    Step("A-echo-reply-1500-under-pmtu-1400", look=echo_1500,
         want=[(1396, 1, 0), (124, 0, 172)]),
    Step("A-forwarded-df-1450-unlocked-pmtu-ignored", look=lambda r: forwarded(r, 1450, True),
         want={"to": [("g2", 1450, 0, 0)], "icmp": []}),
    Step("A-pmtu-300-locks-552", act=icmp(frag_needed(300)),
         want=(VIA2, "cache expires Nsec mtu lock 552")),
    Step("A-pmtu-1000-locked-unchanged", act=icmp(frag_needed(1000)),
         want=(VIA2, "cache expires Nsec mtu lock 552")),
    Step("A-icmp-error-sized-by-locked-pmtu", look=port_unreachable, want=[(552, 3, 3)]),
    Step("A-forwarded-df-1000-locked-pmtu-frag-needed",
         look=lambda r: forwarded(r, 1000, True), want={"to": [], "icmp": [(3, 4, 552)]}),
    Step("A-forwarded-1000-fragmented-by-locked-pmtu", look=lambda r: forwarded(r, 1000),
         want={"to": [("g2", 548, 1, 0), ("g2", 472, 0, 66)], "icmp": []}),
    Step("A-flush", act=flush_both, want=PLAIN),
    Step("A-redirect-accept-redirects-off", act=icmp(redirect("10.0.2.3")), want=PLAIN),
    Step("A-counters", only="fastpath", look=counters,
         want=counters_want(icmp_errors_in=5, pmtu_updates=2, redirects_rejected=1)),
    # B: accept_redirects on.
    Step("B-accept-redirects-on", act=phase_b, want=PLAIN),
    Step("B-redirect-from-g3-not-the-gateway",
         act=icmp(redirect("10.0.2.3", src="10.0.2.3", mac=G3_MAC), "g3"), want=PLAIN),
    Step("B-redirect-to-multicast", act=icmp(redirect("224.0.0.1")), want=PLAIN),
    Step("B-redirect-to-limited-broadcast", act=icmp(redirect("255.255.255.255")), want=PLAIN),
    Step("B-redirect-to-subnet-broadcast", act=icmp(redirect("10.0.2.255")), want=PLAIN),
    Step("B-redirect-to-our-address", act=icmp(redirect("10.0.2.1")), want=PLAIN),
    Step("B-redirect-to-0.0.0.0", look=redirect_arp("0.0.0.0"), want={"route": PLAIN, "arp": []}),
    Step("B-redirect-to-the-old-gateway", act=icmp(redirect("10.0.2.2")), want=PLAIN),
    Step("B-redirect-to-a-blackholed-address", act=icmp(redirect("10.0.2.200")), want=PLAIN),
    Step("B-redirect-code-4-ignored", act=icmp(redirect("10.0.2.3", code=4)), want=PLAIN),
    Step("B-redirect-to-unresolved-gw-arp-only", look=redirect_arp("10.0.2.4"),
         want={"route": PLAIN, "arp": ["10.0.2.4"]}),
    Step("B-redirect-to-g3-applied", act=icmp(redirect("10.0.2.3")),
         want=(VIA3, "cache <redirected> expires Nsec")),
    Step("B-forwarded-to-g3", look=lambda r: forwarded(r),
         want={"to": [("g3", 200, 0, 0)], "icmp": []}),
    Step("B-redirect-from-the-old-gateway-now-rejected", act=icmp(redirect("10.0.2.4")),
         want=(VIA3, "cache <redirected> expires Nsec")),
    Step("B-redirect-net-code-0-from-g3-to-now-resolved-gw",
         act=icmp(redirect("10.0.2.4", code=0, src="10.0.2.3", mac=G3_MAC), "g3"),
         want=(VIA4, "cache <redirected> expires Nsec")),
    Step("B-pmtu-on-a-redirected-destination", act=icmp(frag_needed(1400, "10.0.2.4", G3_MAC), "g3"),
         want=(VIA4, "cache <redirected> expires Nsec mtu 1400")),
    Step("B-redirect-code-9-is-host-redirect",
         act=icmp(redirect("10.0.2.3", code=9, src="10.0.2.4", mac=G3_MAC), "g3"),
         want=(VIA3, "cache <redirected> expires Nsec mtu 1400")),
    Step("B-forwarded-to-g3-again", look=lambda r: forwarded(r),
         want={"to": [("g3", 200, 0, 0)], "icmp": []}),
    # Linux's ipv4_is_zeronet is addr == 0 since 5.3 ("Allow 0.0.0.0/8 as a valid address
    # range"): a gateway in 0/8 passes __ip_do_redirect's checks and inet_addr_type (no
    # route: RTN_UNICAST); it is ARPed for, and once it answers, taken.
    Step("B-redirect-to-0.1.2.3-arped", look=redirect_arp("0.1.2.3", src="10.0.2.3", mac=G3_MAC),
         want={"route": (VIA3, "cache <redirected> expires Nsec mtu 1400"), "arp": ["0.1.2.3"]}),
    Step("B-redirect-to-0.1.2.3-once-resolved",
         act=icmp(redirect("0.1.2.3", src="10.0.2.3", mac=G3_MAC), "g3"),
         want=(f"{DEST} via 0.1.2.3 dev p1 src 10.0.2.1", "cache <redirected> expires Nsec mtu 1400")),
    Step("B-flush", act=flush_both, want=PLAIN),
    Step("B-forwarded-back-to-g2", look=lambda r: forwarded(r),
         want={"to": [("g2", 200, 0, 0)], "icmp": []}),
    Step("B-counters", only="fastpath", look=counters,
         want=counters_want(icmp_errors_in=17, pmtu_updates=1, redirects_accepted=4,
                            redirects_rejected=9)),
    # C: lifetimes.
    Step("C-short-lifetimes", act=phase_c, want=PLAIN),
    Step("C-pmtu-1400-for-2s", act=icmp(frag_needed(1400)),
         want=(VIA2, "cache expires Nsec mtu 1400")),
    Step("C-pmtu-expired", after=3.0, want=PLAIN),
    Step("C-redirect-for-2s", only="fastpath", act=icmp(redirect("10.0.2.3")),
         want=(VIA3, "cache <redirected> expires Nsec")),
    Step("C-redirect-forwarded-to-g3", only="fastpath", look=lambda r: forwarded(r),
         want={"to": [("g3", 200, 0, 0)], "icmp": []}),
    Step("C-redirect-expired", only="fastpath", after=3.0, want=PLAIN),
    Step("C-expired-forwarded-to-g2", only="fastpath", look=lambda r: forwarded(r),
         want={"to": [("g2", 200, 0, 0)], "icmp": []}),
    Step("C-redirect-again", only="fastpath", act=icmp(redirect("10.0.2.3")),
         want=(VIA3, "cache <redirected> expires Nsec")),
    Step("C-flush-at-once", only="fastpath",
         look=lambda r: (r.flush(), r.route_get()[0], forwarded(r))[1:],
         want=(PLAIN, {"to": [("g2", 200, 0, 0)], "icmp": []})),
    Step("C-counters", only="fastpath", look=counters,
         want=counters_want(icmp_errors_in=3, pmtu_updates=1, redirects_accepted=2)),
]


@pytest.fixture(scope="module")
def lab():
    tmp = Path(tempfile.mkdtemp(prefix="fastpath-exceptions-"))
    routers = [Router("linux", tmp), Router("fastpath", tmp)]
    try:
        for r in routers:
            r.build()
        for r in routers:
            r.capture_quote()
        yield {r.kind: r for r in routers}
        fp = routers[1]
        if fp.fp is not None:
            fp.stop_fastpath()
    finally:
        for r in routers:
            for h in r.helpers.values():
                stop(h.p)
            if r.fp is not None:
                stop(r.fp)
        for r in routers:
            for n in r.ns.values():
                subprocess.run(["ip", "netns", "del", n], capture_output=True)
        for r in routers:
            for i in range(1, r.starts + 1):
                subprocess.run(["rm", "-rf", f"/var/run/dpdk/{ID}{i}"], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)], capture_output=True)


class Disagreement(AssertionError):
    """fastpath decided otherwise than Linux (what a step's xfail may cover; a lab that
    does not make Linux do what it expects fails even there)."""


def param(step):
    marks = [pytest.mark.xfail(strict=True, raises=Disagreement, reason=step.xfail)] \
        if step.xfail else []
    return pytest.param(step, id=step.id, marks=marks)


@pytest.mark.parametrize("step", [param(s) for s in STEPS])
def test_step(lab, step):
    routers = [lab[k] for k in ("linux", "fastpath") if step.only in (None, k)]
    if step.act:
        for r in routers:
            step.act(r)
        time.sleep(SETTLE)
    time.sleep(step.after)
    seen, left = {}, {}
    for r in routers:
        # A look that only reads (route get, counters) is repeated for up to LAG while
        # fastpath's answer differs from what Linux (or the step) says: the control core
        # may be slow to run on a busy machine. What it does later is seen by the next step.
        target = seen.get("linux", step.want)
        deadline = time.monotonic() + (LAG if step.look in (get, counters) else 0)
        while True:
            v = step.look(r)
            if step.look is get:
                # route get also gives the seconds left: compared within EXPIRES_SLACK.
                v, left[r.kind] = v
            if r.kind == "linux" or v == target or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        seen[r.kind] = v
    if "linux" in seen:
        assert seen["linux"] == step.want, \
            f"Linux did not do what the lab expects (the lab is wrong?): {seen['linux']!r}, " \
            f"expected {step.want!r}"
    else:
        assert seen["fastpath"] == step.want, \
            f"fastpath (a fastpath-only step): {seen['fastpath']!r}, expected {step.want!r}"
    if len(seen) == 2:
        if seen["fastpath"] != seen["linux"]:
            raise Disagreement(f"fastpath differs from Linux:\n  linux:    {seen['linux']!r}"
                               f"\n  fastpath: {seen['fastpath']!r}")
        if None not in (left.get("linux"), left.get("fastpath")) and \
                abs(left["linux"] - left["fastpath"]) > EXPIRES_SLACK:
            raise Disagreement(f"expires differ: linux {left['linux']}sec, "
                               f"fastpath {left['fastpath']}sec")
