"""The flowtable judged by Linux hosts: forwarded TCP and UDP connections are tracked per
worker and, once established both ways, offloaded (forwarded without a route lookup).

    h1 10.0.1.2 --veth-- p0 [fastpath] p1 ---+              +--- eth1 10.0.3.2 [g2]
                         10.0.1.1  10.0.2.1  br0 (ns sw)   br1 (ns sw)
    g2 eth0 10.0.2.2 ------------------------+              +--- eth1 10.0.3.3 [g3]
    g3 eth0 10.0.2.3 ------------------------+              +--- eth0 10.0.3.4 h4
                                                                 (198.51.100.1 on lo)

The topology of test_caches.py: g2 and g3 are Linux routers between the two bridges, h4's
way back to 10.0.1.0/24 is always through g2, fastpath resolves g2 and g3 by ARP.

- A TCP transfer h1 -> h4 (20 MiB paced to 4 MiB/s, sha256 checked by h4) is offloaded
  both ways: `show flows` has it [OFFLOAD] with packets both ways, and flow_hits grows by
  at least the forward packets plus half the return packets (so the return direction
  is offloaded too). Mid-transfer `route replace` moves h4's prefix to g3: the offloaded
  flow is torn down (flow_teardown_genid), g3 forwards the traffic (its /proc/net/snmp
  ForwDatagrams), the same connection is offloaded again (flow_offloads >= 2) and the
  transfer arrives byte-exact.
- A UDP request/response flow is offloaded; `flush flows` (traffic paused) reports the
  connections tracked, after it `show flows` says 0 tracked, every worker has 0
  connections and flow_teardown_flush counts the offloaded one; resumed traffic creates
  a new connection (young, few packets) that is offloaded again.
- RSS: fastpath with 2 workers and 2 af_packet queue pairs per port. The kernel's fanout
  hash is symmetric and fastpath maps queue q of every port to worker q, so both
  directions of a connection reach the same worker: 16 concurrent TCP connections each
  show up once, ESTABLISHED, with packets both ways and [OFFLOAD], on both workers;
  `show fwd stats` shows each worker's rx queues (same index on both ports) receiving
  (skipped with a message when the binary does not print `rx queues:` yet). The EAL
  gets `--lcores (0-2)@(0-1)`: three lcores floating on the machine's two CPUs (`-l 0-2`
  is refused where CPU 2 does not exist).

fastpath quits cleanly (status 0, every mbuf back) when a test replaces it and at the
end. Each namespace, each process started here and fastpath are removed at the end,
also when a check fails. FASTPATH_BIN_DIR names the binaries' directory (default
target/release).
"""

import hashlib
import os
import random
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from labnet import BIN, ctl, sh, stop
PY = "/usr/bin/python3"
ID = f"lf{os.getpid() % 100000}"
SW, H1, G2, G3, H4, FP = (f"{ID}-{n}" for n in ("sw", "h1", "g2", "g3", "h4", "fp"))
NAMESPACES = (SW, H1, G2, G3, H4, FP)

FP_P0, FP_P1 = "02:00:00:00:00:01", "02:00:00:00:00:02"
H1_ADDR, H4_ADDR, H4_PREFIX = "10.0.1.2", "198.51.100.1", "198.51.100.0/24"
TCP_PORT, UDP_PORT, MANY_PORT = 5001, 5002, 5003
UDP_SPORT = 40002


def config(qpairs):
    """Two af_packet ports of `qpairs` queue pairs; more queues need more mbufs than the
    default 8191."""
    q = f",qpairs={qpairs}" if qpairs > 1 else ""
    mbufs = f"\nsettings: {{ mbufs: {16383 if qpairs > 1 else 8191} }}"
    return f"""\
ports:
  - {{ name: p0, device: "net_af_packet0,iface=p0{q}", mtu: 1500, addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_af_packet1,iface=p1{q}", mtu: 1500, addresses: [10.0.2.1/24] }}
routes:
  - {{ prefix: {H4_PREFIX}, via: 10.0.2.2 }}{mbufs}
"""


# h4's receiver: prints "ready", then the byte count and sha256 of what one client sent.
RECEIVER = f"""\
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {TCP_PORT})); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
"""

# h1's sender: SIZE bytes of seeded random data to h4, paced to RATE bytes/s.
SENDER = f"""\
import random, socket, sys, time
size, rate, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = random.Random(seed).randbytes(size)
s = socket.create_connection((sys.argv[4], {TCP_PORT}), timeout=30)
print("connected", s.getsockname()[1], flush=True)
start, off, chunk = time.monotonic(), 0, 16 << 10
while off < size:
    s.sendall(data[off:off + chunk]); off += chunk
    delay = start + off / rate - time.monotonic()
    if delay > 0: time.sleep(delay)
s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
print("sent", size, flush=True)
"""

# h4's UDP echo server (bound to the address the client sends to, so that its replies come
# from it).
UDP_ECHO = f"""\
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("{H4_ADDR}", {UDP_PORT}))
print("ready", flush=True)
while True:
    b, a = s.recvfrom(2048); s.sendto(b, a)
"""

# h1's UDP client: a request every 20 ms from port SPORT, each waiting for its echo. A line
# on stdin sets the state (run, pause, stop); each change is printed with the requests sent
# and echoes received so far, once no request is in flight.
UDP_CLIENT = f"""\
import socket, sys, threading, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{H1_ADDR}", int(sys.argv[2]))); s.connect((sys.argv[1], {UDP_PORT})); s.settimeout(0.3)
want = ["run"]
def reader():
    for line in sys.stdin: want[0] = line.strip()
    want[0] = "stop"
threading.Thread(target=reader, daemon=True).start()
state, sent, got = None, 0, 0
while True:
    if want[0] != state:
        state = want[0]; print(state, sent, got, flush=True)
        if state == "stop": break
    if state == "pause":
        time.sleep(0.01); continue
    sent += 1; s.send(b"%d" % sent)
    try:
        while s.recv(100) != b"%d" % sent: pass
        got += 1
    except socket.timeout:
        pass
    time.sleep(0.02)
"""

# h4's TCP echo server, a thread per connection.
TCP_ECHO = f"""\
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {MANY_PORT})); s.listen(64)
print("ready", flush=True)
def echo(c):
    while True:
        b = c.recv(4096)
        if not b: break
        c.sendall(b)
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
"""

# h1's client of N concurrent TCP connections: rounds of one 200-byte request and its
# echo on each, every 50 ms, until stdin closes; prints "round K" after rounds 1, 10, 20
# and "done ROUNDS BAD" at the end (BAD: echoes that were not the request).
TCP_MANY = f"""\
import socket, sys, threading, time
n = int(sys.argv[2])
socks = [socket.create_connection((sys.argv[1], {MANY_PORT}), timeout=5) for _ in range(n)]
print("ports", *[c.getsockname()[1] for c in socks], flush=True)
stop = []
threading.Thread(target=lambda: (sys.stdin.read(), stop.append(1)), daemon=True).start()
rounds = bad = 0
while not stop:
    rounds += 1
    for i, c in enumerate(socks):
        msg = (b"%d.%d." % (rounds, i)).ljust(200, b"x")
        c.sendall(msg); got = b""
        while len(got) < len(msg):
            b = c.recv(len(msg) - len(got))
            if not b: raise SystemExit("connection closed")
            got += b
        bad += got != msg
    if rounds in (1, 10, 20): print("round", rounds, flush=True)
    time.sleep(0.05)
for c in socks: c.close()
print("done", rounds, bad, flush=True)
"""

FLOW = re.compile(
    r"^(?P<proto>tcp|udp)\s+\d+\s+(?P<state>\S+) "
    r"src=(?P<src>\S+) dst=(?P<dst>\S+) sport=(?P<sport>\d+) dport=(?P<dport>\d+) "
    r"iif=(?P<iif>\S+) packets=(?P<pkts0>\d+) bytes=\d+(?P<unreplied> \[UNREPLIED\])? "
    r"src=\S+ dst=\S+ sport=\d+ dport=\d+ iif=(?P<riif>\S+) packets=(?P<pkts1>\d+) bytes=\d+"
    r"(?P<offload> \[OFFLOAD\])? lcore=(?P<lcore>\d+) age=(?P<age>\d+)s idle=\d+s$")


def parse_flows(text):
    """`show flows`: (tracked, offloaded) from the header, and each connection's line."""
    m = re.search(r"^(\d+) connection\(s\) tracked, (\d+) offloaded;", text, re.M)
    assert m, f"no header in show flows: {text!r}"
    flows = []
    for line in text.splitlines()[1:]:
        f = FLOW.match(line.strip())
        assert f, f"show flows line not understood: {line!r}"
        d = f.groupdict()
        for k in ("sport", "dport", "pkts0", "pkts1", "lcore", "age"):
            d[k] = int(d[k])
        d["unreplied"], d["offload"], d["line"] = bool(d["unreplied"]), bool(d["offload"]), line
        flows.append(d)
    return int(m.group(1)), int(m.group(2)), flows


def parse_ftstats(text):
    """`show flowtable stats`: {lcore: (connections, offloaded, hits)} and the totals."""
    lcores = {int(m[0]): tuple(map(int, m[1:])) for m in re.findall(
        r"^\s*lcore (\d+)\s+connections: (\d+) of \d+ \(.*\), offloaded: (\d+), hits: (\d+)$",
        text, re.M)}
    totals = {k: int(v) for k, v in re.findall(r"^\s+(flow_\w+): (\d+)$", text, re.M)}
    assert lcores and len(totals) == 11, f"show flowtable stats not understood: {text!r}"
    return lcores, totals


def snmp_forwarded(ns):
    """Datagrams namespace ns has forwarded (Ip: ForwDatagrams of /proc/net/snmp)."""
    lines = [l.split() for l in sh("cat", "/proc/net/snmp", ns=ns).stdout.splitlines()
             if l.startswith("Ip:")]
    return int(dict(zip(lines[0], lines[1]))["ForwDatagrams"])


class Lab:
    def __init__(self, tmp, sock):
        self.tmp, self.sock, self.procs = tmp, sock, []
        self.fp, self.fp_kind, self.log = None, None, None

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

    def ctl(self, *cmd):
        r = ctl(self.sock, *cmd)
        assert r.returncode == 0, f"{' '.join(cmd)}: {r.stdout}{r.stderr}; fastpath " \
                                  f"{'running' if self.fp.poll() is None else 'exited'}"
        return r.stdout

    def flows(self):
        return parse_flows(self.ctl("show", "flows", "1000"))

    def ftstats(self):
        return parse_ftstats(self.ctl("show", "flowtable", "stats"))

    def fastpath(self, workers=1):
        """fastpath with `workers` worker lcores and as many queue pairs per port; the
        running one if it has those, else the running one quits (cleanly) first."""
        if self.fp is not None and self.fp.poll() is None and self.fp_kind == workers:
            return
        self.quit_fastpath()
        cfg = self.tmp / f"flowtable-{workers}.yaml"
        cfg.write_text(config(workers))
        self.log = self.tmp / f"fastpath-{workers}.log"
        lcores = ["-l", "0-1"] if workers == 1 else ["--lcores", f"(0-{workers})@(0-1)"]
        self.fp_kind = workers
        self.fp = subprocess.Popen(
            ["ip", "netns", "exec", FP, str(BIN / "fastpath"), *lcores, "--no-huge", "-m",
             "512", "--no-pci", "--no-shconf", "--file-prefix", ID, "--log-level=*:warning",
             "--", "--config", str(cfg), "--ctl-socket", str(self.sock)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while ctl(self.sock, "show port info all").returncode != 0:
            assert self.fp.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "fastpath did not start"
            time.sleep(0.1)
        # Resolves g2 both ways (h4's replies come through g2) before anything is measured.
        ping = sh("ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", H4_ADDR, ns=H1, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr

    def quit_fastpath(self):
        """Quits a running fastpath: status 0 and every mbuf back in the pool."""
        if self.fp is None or self.fp.poll() is not None:
            return
        ctl(self.sock, "quit")
        try:
            rc = self.fp.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(self.fp)
            rc = "none (still running after quit)"
        text = self.log.read_text()
        assert rc == 0, f"fastpath exited with {rc}: {text[-2000:]}"
        assert "mbufs in use after shutdown: 0 of" in text, text[-2000:]


@pytest.fixture(scope="module")
def lab():
    tmp = Path(tempfile.mkdtemp(prefix="fastpath-lab-flowtable-"))
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
            (H1, "eth0", "02:00:00:00:01:02", "p0", FP, FP_P0),
            (FP, "p1", FP_P1, "to-fp", "br0", None),
            (G2, "eth0", "02:00:00:00:02:02", "to-g2", "br0", None),
            (G3, "eth0", "02:00:00:00:02:03", "to-g3", "br0", None),
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
        sh("ip", "addr", "add", f"{H1_ADDR}/24", "dev", "eth0", ns=H1)
        sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=H1)
        for ns, n in ((G2, 2), (G3, 3)):
            sh("ip", "addr", "add", f"10.0.2.{n}/24", "dev", "eth0", ns=ns)
            sh("ip", "addr", "add", f"10.0.3.{n}/24", "dev", "eth1", ns=ns)
            sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
               "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0", ns=ns)
            sh("ip", "route", "add", "10.0.1.0/24", "via", "10.0.2.1", ns=ns)
            sh("ip", "route", "add", H4_PREFIX, "via", "10.0.3.4", ns=ns)
        sh("ip", "addr", "add", "10.0.3.4/24", "dev", "eth0", ns=H4)
        sh("ip", "addr", "add", f"{H4_ADDR}/32", "dev", "lo", ns=H4)
        sh("ip", "route", "add", "10.0.1.0/24", "via", "10.0.3.2", ns=H4)
        yield lab
    finally:
        for p in lab.procs:
            stop(p)
        if lab.fp is not None:
            stop(lab.fp)
        for ns in NAMESPACES:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp), f"/var/run/dpdk/{ID}"], capture_output=True)


def wait_flow(lab, match, what, timeout=5.0, offload=True):
    """Polls `show flows` until a connection for which match(flow) holds is there (and
    [OFFLOAD] if offload); that flow and the whole answer."""
    deadline = time.monotonic() + timeout
    while True:
        tracked, offloaded, flows = lab.flows()
        mine = [f for f in flows if match(f)]
        if mine and (not offload or mine[0]["offload"]):
            return mine[0], (tracked, offloaded, flows)
        assert time.monotonic() < deadline, \
            f"{what}: no {'offloaded ' if offload else ''}connection in {timeout} s: " \
            f"{[f['line'] for f in flows]}"
        time.sleep(0.1)


def test_tcp_transfer_offloaded_with_route_change(lab):
    lab.fastpath(workers=1)
    lab.ctl("route", "replace", H4_PREFIX, "via", "10.0.2.2")
    size, rate, seed = 20 << 20, 4 << 20, 7
    recv = lab.spawn(H4, PY, "-c", RECEIVER, name="receiver")
    lab.wait_line(recv, "^ready")
    send = lab.spawn(H1, PY, "-c", SENDER, str(size), str(rate), str(seed), H4_ADDR,
                     name="sender")
    sport = int(lab.wait_line(send, r"^connected (\d+)").group(1))
    mine = lambda f: (f["proto"], f["src"], f["dst"], f["sport"], f["dport"]) == \
        ("tcp", H1_ADDR, H4_ADDR, sport, TCP_PORT)
    flow, (_, _, flows) = wait_flow(lab, mine, "the transfer")
    assert len([f for f in flows if mine(f)]) == 1, [f["line"] for f in flows]
    assert flow["state"] == "ESTABLISHED" and not flow["unreplied"], flow["line"]
    assert (flow["iif"], flow["riif"]) == ("p0", "p1"), flow["line"]

    # Both directions offloaded: over [s1, s2] the hits cover at least the packets the
    # flow line counted over [f1, f2] (inside it) one way plus half of them the other.
    _, s1 = lab.ftstats()
    f1 = wait_flow(lab, mine, "the transfer")[0]
    time.sleep(0.6)
    f2 = wait_flow(lab, mine, "the transfer")[0]
    _, s2 = lab.ftstats()
    fwd, rev = f2["pkts0"] - f1["pkts0"], f2["pkts1"] - f1["pkts1"]
    hits = s2["flow_hits"] - s1["flow_hits"]
    info = f"in 0.6 s: {fwd} packets h1->h4, {rev} back, flow_hits +{hits}; {f2['line']}"
    assert fwd > 100 and rev > 20, f"the transfer hardly moves: {info}"
    assert hits >= fwd + rev // 2, f"not both directions offloaded: {info}"
    assert s2["flow_offloads"] >= 1 and s2["flow_teardown_genid"] == 0, s2
    assert send.poll() is None, f"transfer over before the route change: {info}"

    # Route change mid-transfer: torn down, through g3, offloaded again.
    g3_before = snmp_forwarded(G3)
    lab.ctl("route", "replace", H4_PREFIX, "via", "10.0.2.3")
    deadline = time.monotonic() + 5
    while True:
        _, s3 = lab.ftstats()
        f3 = wait_flow(lab, mine, "the transfer after the route change", offload=False)[0]
        if s3["flow_offloads"] >= 2 and f3["offload"]:
            break
        assert time.monotonic() < deadline, \
            f"not offloaded again after the route change: {s3}; {f3['line']}"
        time.sleep(0.1)
    assert s3["flow_teardown_genid"] >= 1, f"no genid teardown: {s3}"
    assert f3["pkts0"] > f2["pkts0"] and f3["pkts1"] > f2["pkts1"], \
        f"not the same connection counting on: {f2['line']} then {f3['line']}"
    assert (f3["iif"], f3["riif"]) == ("p0", "p1"), f3["line"]
    time.sleep(0.6)
    _, s4 = lab.ftstats()
    f4 = wait_flow(lab, mine, "the transfer after the route change")[0]
    g3_fwd = snmp_forwarded(G3) - g3_before
    info = f"g3 forwarded {g3_fwd}; {s4}; {f4['line']}"
    assert s4["flow_hits"] > s3["flow_hits"], f"no hits after the re-offload: {info}"
    assert g3_fwd >= 200, f"the traffic did not move to g3: {info}"
    assert send.poll() is None, f"transfer over before the checks after the change: {info}"
    print(info)

    for p in (send, recv):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    want = hashlib.sha256(random.Random(seed).randbytes(size)).hexdigest()
    got = recv.out.read_text().split()
    assert got[1:] == [str(size), want], \
        f"transfer not intact: got {got}, sender said {send.out.read_text()!r}"
    assert snmp_forwarded(G3) - g3_before > g3_fwd, "g3 forwarded nothing more"
    lab.ctl("route", "replace", H4_PREFIX, "via", "10.0.2.2")


def test_flush_and_udp(lab):
    lab.fastpath(workers=1)
    server = lab.spawn(H4, PY, "-c", UDP_ECHO, name="udp-echo")
    lab.wait_line(server, "^ready")
    client = lab.spawn(H1, PY, "-c", UDP_CLIENT, H4_ADDR, str(UDP_SPORT), name="udp-client",
                       stdin=subprocess.PIPE)
    lab.wait_line(client, r"^run 0 0")
    mine = lambda f: (f["proto"], f["src"], f["dst"], f["sport"], f["dport"]) == \
        ("udp", H1_ADDR, H4_ADDR, UDP_SPORT, UDP_PORT)
    say = lambda line: (client.stdin.write(line + "\n"), client.stdin.flush())

    flow, _ = wait_flow(lab, mine, "the UDP exchange")
    assert not flow["unreplied"] and (flow["iif"], flow["riif"]) == ("p0", "p1"), flow["line"]
    _, s1 = lab.ftstats()
    time.sleep(0.5)
    flow, _ = wait_flow(lab, mine, "the UDP exchange")
    _, s2 = lab.ftstats()
    assert s2["flow_hits"] - s1["flow_hits"] >= 20, f"UDP not forwarded offloaded: {s1} {s2}"
    assert flow["pkts0"] >= 10 and flow["pkts1"] >= 10, flow["line"]

    # Paused: flush, and the table stays empty.
    say("pause")
    lab.wait_line(client, r"^pause \d+ \d+")
    time.sleep(0.1)
    tracked, _, flows = lab.flows()
    out = lab.ctl("flush", "flows")
    m = re.search(r"^ok: flushed (\d+) connection\(s\)$", out, re.M)
    assert m, out
    assert int(m.group(1)) == tracked >= 1, \
        f"flush reported {m.group(1)}, show flows had {tracked}: {[f['line'] for f in flows]}"
    time.sleep(0.2)
    after = lab.ctl("show", "flows")
    assert after.startswith("0 connection(s) tracked, 0 offloaded;"), after
    lcores, s3 = lab.ftstats()
    assert all(v[:2] == (0, 0) for v in lcores.values()), f"connections left: {lcores}"
    assert s3["flow_teardown_flush"] - s2["flow_teardown_flush"] >= 1, \
        f"the offloaded UDP flow's flush not counted: {s2} then {s3}"

    # Resumed: a new connection, offloaded again.
    say("run")
    again, _ = wait_flow(lab, mine, "the UDP exchange after the flush")
    _, s4 = lab.ftstats()
    assert again["pkts0"] < flow["pkts0"] and again["age"] <= 3, \
        f"not a new connection: before {flow['line']}, after {again['line']}"
    assert s4["flow_offloads"] > s3["flow_offloads"] and s4["flow_new"] > s3["flow_new"], \
        f"{s3} then {s4}"
    say("stop")
    m = lab.wait_line(client, r"^stop (\d+) (\d+)")
    sent, got = int(m.group(1)), int(m.group(2))
    assert got >= sent - 2, f"UDP echoes lost: {sent} requests, {got} echoes"


def lcore_blocks(text):
    """`show fwd stats`: the lines of each lcore's block, by lcore."""
    blocks, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s*lcore (\d+)\s+RX-packets:", line)
        if m:
            cur = blocks.setdefault(int(m.group(1)), [])
        elif re.match(r"^\s*Totals:", line):
            cur = None
        if cur is not None:
            cur.append(line)
    return blocks


def test_rss_both_directions_one_worker(lab):
    n = 16
    lab.fastpath(workers=2)
    server = lab.spawn(H4, PY, "-c", TCP_ECHO, name="tcp-echo")
    lab.wait_line(server, "^ready")
    client = lab.spawn(H1, PY, "-c", TCP_MANY, H4_ADDR, str(n), name="tcp-many",
                       stdin=subprocess.PIPE)
    ports = {int(p) for p in lab.wait_line(client, r"^ports (.*)$").group(1).split()}
    assert len(ports) == n
    lab.wait_line(client, r"^round 20$", timeout=30)
    lcores, _ = lab.ftstats()
    assert len(lcores) == 2, f"not 2 workers: {lcores}"
    deadline = time.monotonic() + 5
    while True:
        tracked, offloaded, flows = lab.flows()
        mine = [f for f in flows if f["proto"] == "tcp"
                and MANY_PORT in (f["dport"], f["sport"])]
        fine = [f for f in mine if f["src"] == H1_ADDR and f["sport"] in ports
                and f["state"] == "ESTABLISHED" and not f["unreplied"] and f["offload"]
                and f["pkts0"] >= 10 and f["pkts1"] >= 10 and (f["iif"], f["riif"]) == ("p0", "p1")]
        if len(fine) == n == len(mine) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    lines = "\n".join(f["line"] for f in mine)
    on = {f["lcore"] for f in mine}
    assert len(mine) == n, \
        f"{n} connections shown as {len(mine)} (a direction on another worker is a " \
        f"connection of its own there):\n{lines}"
    assert len(fine) == n, \
        f"connections not ESTABLISHED both ways with packets both ways and [OFFLOAD]:\n" \
        + "\n".join(f["line"] for f in mine if f not in fine)
    assert on == set(lcores), f"connections only on lcore(s) {on} of {set(lcores)}:\n{lines}"
    stats = lab.ctl("show", "fwd", "stats")
    ftl, _ = lab.ftstats()
    assert all(v[2] > 0 for v in ftl.values()), f"a worker has no flow hits: {ftl}"
    client.stdin.close()
    m = lab.wait_line(client, r"^done (\d+) (\d+)$")
    assert m.group(2) == "0", f"{m.group(2)} echoes differed from their request"
    print(f"connections per lcore: "
          f"{ {l: len([f for f in mine if f['lcore'] == l]) for l in sorted(on)} }")
    lab.quit_fastpath()

    blocks = lcore_blocks(stats)
    queues = {l: re.search(r"^\s*rx queues: (.*)$", "\n".join(blocks.get(l, [])), re.M)
              for l in lcores}
    if not any(queues.values()):
        pytest.skip("`show fwd stats` of this fastpath binary has no per-lcore `rx queues:` "
                    "line yet: the per-queue check did not run (everything else passed)")
    seen = set()
    for l, q in queues.items():
        assert q, f"worker lcore {l} has no rx queues line: {stats}"
        counts = dict(re.findall(r"(\w+:\d+)=(\d+)", q.group(1)))
        idx = {k.split(":")[1] for k in counts}
        assert {k.split(":")[0] for k in counts} == {"p0", "p1"} and len(idx) == 1, \
            f"lcore {l} does not poll the same queue of both ports: {q.group(0)}"
        assert all(int(v) > 0 for v in counts.values()), \
            f"lcore {l}: a queue received nothing (both directions should): {q.group(0)}"
        seen |= idx
    assert len(seen) == 2, f"the workers do not poll queues 0 and 1: {stats}"
