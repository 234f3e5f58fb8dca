"""Routing decisions change at once, judged by Linux hosts (guards the per-lcore dst cache:
whatever a worker caches of a route and its next hop's MAC must not outlive a change).

    h1 10.0.1.2 --veth-- p0 [fastpath] p1 ---+              +--- eth1 10.0.3.2 [g2]
                         10.0.1.1  10.0.2.1  br0 (ns sw)   br1 (ns sw)
    g2 eth0 10.0.2.2 ------------------------+              +--- eth1 10.0.3.3 [g3]
    g3 eth0 10.0.2.3 ------------------------+              +--- eth0 10.0.3.4 h4
                                                                 (198.51.100.1 on lo)

g2 and g3 are Linux routers between the two bridges; h4's way back to 10.0.1.0/24 is
always through g2 (the return path need not be symmetric). fastpath has no static
neighbours: it resolves g2 and g3 by ARP. Captures are taken with tshark on g2's and g3's
eth0 (promiscuous, so frames to a MAC g2 no longer has are seen too); capture timestamps
and the test's time.time() are the same clock (CLOCK_REALTIME, tshark `frame.time_epoch`).

- A route change moves traffic at once: while h1 pings h4 every 50 ms and sends it 5 MiB
  over TCP (paced to 2 MiB/s, so it is in flight), `route replace 198.51.100.0/24 via
  10.0.2.3` (g3 not yet resolved), later back `via 10.0.2.2` (resolved). After each
  fastpath-ctl has returned, at most the one burst a worker had begun reaches the old
  gateway (see GRACE), none once a frame has gone to the new one, and the new one gets
  ping and TCP. The transfer arrives byte-exact, at most 1 ping is lost.
- A neighbour's new MAC is used at once: g2 changes its MAC and sends a gratuitous ARP;
  from the GARP's own capture timestamp + GARP_BOUND on, no frame goes to the old MAC, the
  new one gets ping and TCP, `neigh show` has the new MAC, the transfer arrives intact and
  at most 1 ping is lost (g2 drops what reaches its old MAC in the few ms between its MAC
  change and its GARP, as any host would; the failure message says where a lost ping went).

Each namespace, each process started here and fastpath are removed at the end, also when
a check fails. FASTPATH_BIN_DIR names the binaries' directory (default target/release).
"""

import hashlib
import os
import random
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from labnet import BIN, ctl, sh, stop
PY = "/usr/bin/python3"
ID = f"ca{os.getpid() % 100000}"
SW, H1, G2, G3, H4, FP = (f"{ID}-{n}" for n in ("sw", "h1", "g2", "g3", "h4", "fp"))
NAMESPACES = (SW, H1, G2, G3, H4, FP)

FP_P0, FP_P1 = "02:00:00:00:00:01", "02:00:00:00:00:02"
H1_MAC = "02:00:00:00:01:02"
G2_MAC, G3_MAC = "02:00:00:00:02:02", "02:00:00:00:02:03"
G2_NEW_MAC = "02:00:00:00:02:22"
H4_ADDR, H4_PREFIX = "198.51.100.1", "198.51.100.0/24"

# fastpath answers a change only once every worker has passed a quiescent state since it
# published it (Router::synchronize), so nothing is forwarded by the old snapshot after
# fastpath-ctl returns. What the capture may still show after that is the last burst sent
# before it, timestamped late when the receiving namespace's softirq runs late on a busy
# machine: at most one rx burst (settings.burst, 32) of h1's packets, sent together by one
# tx call, so within GRACE of each other. Anything more (a second burst, or frames spread
# out) fails: traffic is a ping every 50 ms plus a TCP burst every ~8 ms, so a stale cache
# cannot hide behind this.
BURST, GRACE = 32, 0.002
# An ARP frame is punted to the control core (a 1 ms loop), which publishes the new
# neighbour table with the next snapshot; the brief's bound for that is 50 ms.
GARP_BOUND = 0.050

CONFIG = f"""\
ports:
  - {{ name: p0, device: "net_af_packet0,iface=p0", mtu: 1500, addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_af_packet1,iface=p1", mtu: 1500, addresses: [10.0.2.1/24] }}
routes:
  - {{ prefix: {H4_PREFIX}, via: 10.0.2.2 }}
settings: {{ arp_notify: true }}
"""

# h4's receiver: prints "ready", then the byte count and sha256 of what one client sent.
RECEIVER = """\
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""

# h1's sender: SIZE bytes of seeded random data to h4, paced to RATE bytes/s.
SENDER = """\
import random, socket, sys, time
size, rate, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = random.Random(seed).randbytes(size)
s = socket.create_connection((sys.argv[4], 5001), timeout=30)
start, off, chunk = time.monotonic(), 0, 16 << 10
while off < size:
    s.sendall(data[off:off + chunk]); off += chunk
    delay = start + off / rate - time.monotonic()
    if delay > 0: time.sleep(delay)
s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
print("sent", size, flush=True)
"""

# g2's MAC change: scapy, its socket and the frame are ready first (slow), then on "go" the
# MAC changes and a gratuitous ARP request (sender = target = 10.0.2.2) is broadcast at once.
NEW_MAC = f"""\
import subprocess, sys, time
from scapy.all import ARP, Ether, conf
sock = conf.L2socket(iface="eth0")
garp = bytes(Ether(src="{G2_NEW_MAC}", dst="ff:ff:ff:ff:ff:ff") /
             ARP(op=1, hwsrc="{G2_NEW_MAC}", psrc="10.0.2.2", hwdst="00:00:00:00:00:00",
                 pdst="10.0.2.2"))
print("ready", flush=True)
sys.stdin.readline()
print("change", time.time(), flush=True)
subprocess.run(["ip", "link", "set", "dev", "eth0", "address", "{G2_NEW_MAC}"], check=True)
sock.send(garp)
print("garp", time.time(), flush=True)
"""








class Lab:
    def __init__(self, tmp, sock):
        self.tmp, self.sock, self.procs, self.fp = tmp, sock, [], None

    def spawn(self, ns, *args, stdin=None, name=None):
        out = open(self.tmp / f"{name or args[0].rsplit('/', 1)[-1]}-{len(self.procs)}.out", "w+")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], stdin=stdin, stdout=out,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        p.out = Path(out.name)
        self.procs.append(p)
        return p

    def wait_line(self, p, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            done = p.poll() is not None
            text = p.out.read_text()
            m = re.search(pattern, text, re.M)
            if m:
                return m
            assert not done, f"{p.args} exited without {pattern!r}: {text[-1000:]}"
            assert time.monotonic() < deadline, f"{p.args}: no {pattern!r}: {text[-1000:]}"
            time.sleep(0.05)

    def capture(self, ns, ifname):
        """tshark on ns's ifname, running once this returns; stop with frames()."""
        pcap = self.tmp / f"{ns}-{ifname}-{len(self.procs)}.pcapng"
        p = self.spawn(ns, "tshark", "-i", ifname, "-s", "128", "-B", "16", "-q", "-w", str(pcap),
                       "-f", f"arp or (ip src 10.0.1.2 and ip dst {H4_ADDR}) or "
                       f"(icmp and ip src {H4_ADDR} and ip dst 10.0.1.2)", name="tshark")
        p.pcap = pcap
        return p

    def frames(self, cap):
        """Stops a capture; its frames: epoch time, MACs, IP addresses and protocol, ICMP
        type and sequence, ARP opcode, sender MAC and IP, target IP."""
        time.sleep(0.2)
        stop(cap, signal.SIGINT)
        assert cap.pcap.exists(), cap.out.read_text()
        out = subprocess.run(
            ["tshark", "-r", str(cap.pcap), "-T", "fields", "-E", "separator=,",
             "-E", "occurrence=f", "-e", "frame.time_epoch", "-e", "eth.src", "-e", "eth.dst",
             "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "icmp.type",
             "-e", "icmp.seq", "-e", "arp.opcode", "-e", "arp.src.hw_mac",
             "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4"],
            capture_output=True, text=True, check=True, timeout=30).stdout
        rows = []
        for line in out.splitlines():
            t, src, dst, isrc, idst, proto, itype, seq, op, sha, spa, tpa = line.split(",")
            rows.append({"t": float(t), "src": src, "dst": dst, "ip": (isrc, idst, proto),
                         "icmp": (int(itype), int(seq)) if itype else None,
                         "arp": (op, sha, spa, tpa) if op else None})
        return rows


def forwarded(rows, dst, proto=None):
    """Capture times of h1->h4 packets (of IP protocol proto: 1 ICMP, 6 TCP) that fastpath's
    p1 sent to MAC dst."""
    return [r["t"] for r in rows
            if r["src"] == FP_P1 and r["dst"] == dst and r["ip"][:2] == ("10.0.1.2", H4_ADDR)
            and proto in (None, r["ip"][2])]


def lost_pings(rows, seqs, t0):
    """What the captures saw of the lost pings (times in ms after t0)."""
    ms = lambda t: f"{(t - t0) * 1000:.1f}"
    out = []
    for seq in seqs:
        req = [f"{ms(r['t'])} to {r['dst']}" for r in rows
               if r["src"] == FP_P1 and r["icmp"] == (8, seq)]
        rep = [ms(r["t"]) for r in rows if r["icmp"] == (0, seq)]
        out.append(f"seq {seq}: request at {req or 'none'}, g2's reply at {rep or 'none'}")
    return "; ".join(out) or "none"


def one_burst(times):
    """Whether these frames, sent to the old next hop after the change, can be the one pass a
    worker began before it (see GRACE)."""
    return len(times) <= BURST and (not times or times[-1] - times[0] <= GRACE)


def traffic(lab, size, rate, count, seed):
    """Starts h4's receiver, a 50 ms ping h1 -> h4 and a paced TCP transfer."""
    recv = lab.spawn(H4, PY, "-c", RECEIVER, name="receiver")
    lab.wait_line(recv, "^ready")
    ping = lab.spawn(H1, "ping", "-n", "-c", str(count), "-i", "0.05", "-W", "1", H4_ADDR)
    send = lab.spawn(H1, PY, "-c", SENDER, str(size), str(rate), str(seed), H4_ADDR,
                     name="sender")
    return recv, ping, send


def finish(lab, recv, ping, send, size, seed):
    """Waits for the traffic; checks the transfer; returns (sent, received, lost seqs)."""
    for p in (send, recv, ping):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    want = hashlib.sha256(random.Random(seed).randbytes(size)).hexdigest()
    got = recv.out.read_text().split()
    assert got[1:] == [str(size), want], \
        f"transfer not intact: got {got}, sender said {send.out.read_text()!r}"
    text = ping.out.read_text()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    assert m, text
    seqs = {int(s) for s in re.findall(r"bytes from .* icmp_seq=(\d+)", text)}
    sent = int(m.group(1))
    return sent, int(m.group(2)), sorted(set(range(1, sent + 1)) - seqs)


@pytest.fixture(scope="module")
def lab():
    tmp = Path(tempfile.mkdtemp(prefix="fastpath-caches-"))
    lab = Lab(tmp, tmp / "ctl.sock")
    try:
        for ns in NAMESPACES:
            sh("ip", "netns", "add", ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        for br in ("br0", "br1"):
            sh("ip", "link", "add", br, "type", "bridge", ns=SW)
            sh("ip", "link", "set", br, "up", ns=SW)
        # (namespace, its interface, its MAC, peer name in sw or None, bridge or peer ns)
        links = [
            (H1, "eth0", H1_MAC, "p0", FP, FP_P0),
            (FP, "p1", FP_P1, "to-fp", "br0", None),
            (G2, "eth0", G2_MAC, "to-g2", "br0", None),
            (G3, "eth0", G3_MAC, "to-g3", "br0", None),
            (G2, "eth1", "02:00:00:00:03:02", "b1-g2", "br1", None),
            (G3, "eth1", "02:00:00:00:03:03", "b1-g3", "br1", None),
            (H4, "eth0", "02:00:00:00:03:04", "to-h4", "br1", None),
        ]
        for ns, ifname, mac, peer, where, peer_mac in links:
            if peer_mac:  # a direct veth between two namespaces
                sh("ip", "link", "add", ifname, "netns", ns, "address", mac, "type", "veth",
                   "peer", "name", peer, "netns", where, "address", peer_mac)
                ends = [(ns, ifname), (where, peer)]
            else:
                sh("ip", "link", "add", peer, "netns", SW, "type", "veth",
                   "peer", "name", ifname, "netns", ns, "address", mac)
                sh("ip", "link", "set", peer, "master", where, "up", ns=SW)
                ends = [(ns, ifname)]
            for n, i in ends:
                # No checksum or segmentation offload: af_packet must see complete frames.
                sh("ethtool", "-K", i, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
                   "gro", "off", ns=n, check=False)
                sh("ip", "link", "set", i, "up", ns=n)
        sh("ip", "addr", "add", "10.0.1.2/24", "dev", "eth0", ns=H1)
        sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=H1)
        for ns, n in ((G2, 2), (G3, 3)):
            sh("ip", "addr", "add", f"10.0.2.{n}/24", "dev", "eth0", ns=ns)
            sh("ip", "addr", "add", f"10.0.3.{n}/24", "dev", "eth1", ns=ns)
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
               "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0",
               "net.ipv4.conf.all.arp_notify=0", "net.ipv4.conf.eth0.arp_notify=0", ns=ns)
            sh("ip", "route", "add", "10.0.1.0/24", "via", "10.0.2.1", ns=ns)
            sh("ip", "route", "add", H4_PREFIX, "via", "10.0.3.4", ns=ns)
        sh("ip", "addr", "add", "10.0.3.4/24", "dev", "eth0", ns=H4)
        sh("ip", "addr", "add", f"{H4_ADDR}/32", "dev", "lo", ns=H4)
        sh("ip", "route", "add", "10.0.1.0/24", "via", "10.0.3.2", ns=H4)
        cfg = tmp / "caches.yaml"
        cfg.write_text(CONFIG)
        log = open(tmp / "fastpath.log", "w")
        lab.fp = subprocess.Popen(
            ["ip", "netns", "exec", FP, str(BIN / "fastpath"), "-l", "0-1", "--no-huge", "-m",
             "512", "--no-pci", "--no-shconf", "--file-prefix", ID, "--log-level=*:warning",
             "--", "--config", str(cfg), "--ctl-socket", str(lab.sock)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while ctl(lab.sock, "show port info all").returncode != 0:
            assert lab.fp.poll() is None, (tmp / "fastpath.log").read_text()
            assert time.monotonic() < deadline, "fastpath did not start"
            time.sleep(0.1)
        lab.log = tmp / "fastpath.log"
        yield lab
    finally:
        for p in lab.procs:
            stop(p)
        if lab.fp is not None:
            stop(lab.fp)
        for ns in NAMESPACES:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp), f"/var/run/dpdk/{ID}"], capture_output=True)


def test_route_change_moves_traffic_at_once(lab):
    ping = sh("ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", H4_ADDR, ns=H1, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    caps = {G2: lab.capture(G2, "eth0"), G3: lab.capture(G3, "eth0")}
    for cap in caps.values():
        lab.wait_line(cap, "^Capturing on")
    time.sleep(0.3)
    size, seed = 5 << 20, 1
    recv, ping, send = traffic(lab, size, 2 << 20, 60, seed)
    time.sleep(0.8)
    marks = []
    for via in ("10.0.2.3", "10.0.2.2"):
        before = time.time()
        r = ctl(lab.sock, "route", "replace", H4_PREFIX, "via", via)
        after = time.time()
        assert r.returncode == 0, r.stdout + r.stderr
        marks.append((before, after))
        time.sleep(0.8)
    sent, received, lost = finish(lab, recv, ping, send, size, seed)
    g2_rows, g3_rows = lab.frames(caps[G2]), lab.frames(caps[G3])
    to_g2, to_g3 = forwarded(g2_rows, G2_MAC), forwarded(g3_rows, G3_MAC)
    (b1, a1), (b2, a2) = marks
    # Where the traffic went in each phase (times relative to the first change's return).
    g2_old = [t for t in to_g2 if t < b1]
    g2_stale = [t for t in to_g2 if a1 < t < b2]
    g3_new = [t for t in to_g3 if a1 < t < b2]
    g3_stale = [t for t in to_g3 if t > a2]
    g2_back = [t for t in to_g2 if t > a2]
    ms = lambda ts: [round((t - a1) * 1000, 2) for t in ts][:10]
    info = (f"ctl took {1000 * (a1 - b1):.1f} / {1000 * (a2 - b2):.1f} ms; in ms after the "
            f"first returned: last to g2 {ms([t for t in to_g2 if t < b2][-1:])}, first to "
            f"g3 {ms(g3_new[:1])}, second returned {ms([a2])}, last to g3 {ms(to_g3[-1:])}, "
            f"first back on g2 {ms(g2_back[:1])}; to the old one after a change: "
            f"{len(g2_stale)}, {len(g3_stale)}; ping {sent} sent, {received} received, "
            f"lost {lost_pings(g2_rows + g3_rows, lost, a1)}")
    print(info)
    assert g2_old, f"no traffic through g2 before the change: {info}"
    assert not [t for t in to_g3 if t < b1], f"traffic to g3 before the change: {info}"
    assert one_burst(g2_stale), \
        f"frames to g2 after `via 10.0.2.3` returned: {ms(g2_stale)}...; {info}"
    # The same, free of any timing bound: once a frame has gone to g3, none goes to g2.
    assert not [t for t in to_g2 if g3_new and g3_new[0] < t < b2], \
        f"frames to g2 after the first one to g3: {info}"
    for proto, name in (("1", "ping"), ("6", "TCP")):
        assert [t for t in forwarded(g3_rows, G3_MAC, proto) if a1 < t < b2], \
            f"no {name} to g3 after the change: {info}"
        assert [t for t in forwarded(g2_rows, G2_MAC, proto) if t > a2], \
            f"no {name} back to g2 after the change back: {info}"
    assert one_burst(g3_stale), \
        f"frames to g3 after `via 10.0.2.2` returned: {ms(g3_stale)}...; {info}"
    assert len(lost) <= 1, f"ping lost {lost}: {info}"


def test_neighbour_mac_change_takes_effect_at_once(lab):
    assert ctl(lab.sock, "route", "replace", H4_PREFIX, "via", "10.0.2.2").returncode == 0
    ping = sh("ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", H4_ADDR, ns=H1, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    neigh = ctl(lab.sock, "neigh", "show", "dev", "p1").stdout
    assert f"10.0.2.2 dev p1 lladdr {G2_MAC} " in neigh, neigh
    newmac = lab.spawn(G2, PY, "-c", NEW_MAC, stdin=subprocess.PIPE, name="newmac")
    lab.wait_line(newmac, "^ready")
    cap = lab.capture(G2, "eth0")
    lab.wait_line(cap, "^Capturing on")
    time.sleep(0.3)
    size, seed = 4 << 20, 2
    recv, ping, send = traffic(lab, size, 2 << 20, 50, seed)
    time.sleep(1.0)
    newmac.stdin.write("go\n")
    newmac.stdin.flush()
    change = float(lab.wait_line(newmac, r"^change (\S+)").group(1))
    lab.wait_line(newmac, "^garp ")
    sent, received, lost = finish(lab, recv, ping, send, size, seed)
    neigh = ctl(lab.sock, "neigh", "show", "dev", "p1").stdout
    rows = lab.frames(cap)
    garps = [r["t"] for r in rows if r["src"] == G2_NEW_MAC and r["dst"] == "ff:ff:ff:ff:ff:ff"
             and r["arp"] == ("1", G2_NEW_MAC, "10.0.2.2", "10.0.2.2")]
    assert len(garps) == 1, f"the gratuitous ARP is not in g2's capture: {rows[-5:]}"
    garp = garps[0]
    old, new = forwarded(rows, G2_MAC), forwarded(rows, G2_NEW_MAC)
    ms = lambda ts: [round((t - garp) * 1000, 2) for t in ts][:10]
    late = [t for t in old if t > garp + GARP_BOUND]
    info = (f"last frame to the old MAC at {ms(old[-1:])} ms after the GARP, "
            f"first to the new at {ms(new[:1])} ms; {len([t for t in old if t > garp])} to "
            f"the old MAC after it; the MAC changed {1000 * (garp - change):.1f} ms before the "
            f"GARP, pings to the old MAC in that window: "
            f"{len([t for t in forwarded(rows, G2_MAC, '1') if change < t < garp])}; "
            f"ping {sent} sent, {received} received, lost {lost_pings(rows, lost, garp)}")
    print(info)
    assert [t for t in old if t < garp], f"no traffic to g2 before its MAC changed: {info}"
    assert not [t for t in new if t < garp], f"frames to the new MAC before the GARP: {info}"
    assert not late, f"frames to g2's old MAC more than {GARP_BOUND * 1000:.0f} ms after " \
                     f"its gratuitous ARP: {ms(late)} ms; {info}"
    for proto, name in (("1", "ping"), ("6", "TCP")):
        assert forwarded(rows, G2_NEW_MAC, proto), f"no {name} to g2's new MAC: {info}"
    assert f"10.0.2.2 dev p1 lladdr {G2_NEW_MAC} " in neigh, neigh
    assert len(lost) <= 1, f"ping lost {lost}: {info}"


def test_clean_exit_and_no_leak(lab):
    ctl(lab.sock, "quit")
    assert lab.fp.wait(timeout=15) == 0
    text = lab.log.read_text()
    assert "mbufs in use after shutdown: 0 of" in text, text[-2000:]
