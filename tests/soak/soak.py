#!/usr/bin/python3
"""The soak: fastpath in the lab for a long run (default 30 minutes) with traffic both
ways while the control core is churned through its control socket, then the checks of
issue 12 part 2. Run by scripts/soak.sh (`--minutes N`); as root.

    h1 10.0.1.2 --veth-- p0 [fastpath] p1 --veth-- br0 (ns sw) --+-- h2 10.0.2.2
                         10.0.1.1   10.0.2.1                      |   (1.1.1.1, 198.51.100.1 on lo)
                                                                  +-- h3 10.0.2.3
                                                                      (198.51.100.1 on lo)

fastpath runs on af_packet ports with the full RouteViews table spread over h1 and h2 (as
conf/lab.yaml), no static neighbours, `idle_sleep_us` at its default (an idle worker
sleeps, so the run is mostly idle between packets).

Traffic, all the run long:
- TCP transfers h1 -> h2 (10.0.2.2, connected), h1 -> 1.1.1.1 (routed by the table) and
  h2 -> h1, random sizes, paced, each checked by sha256 on both ends;
- UDP streams h1 -> h2 and h2 -> h1, random sizes up to 1276 bytes without DF (a
  datagram over the lowest port MTU the soak sets would be dropped on the way in), counted
  (loss, duplicates, corrupt payloads);
- pings h1 -> h2, h2 -> h1, h1 -> fastpath, h1 -> h3 and h1 -> 198.51.100.1 (whose route
  the nexthop churn moves between h2 and h3: both answer for it).

Churn, meanwhile, through the control socket:
- routes: the whole table withdrawn (`route del`) and re-announced (`route load` of the
  same lines) in batches, round after round; 1.1.1.0/24, the lab's own routes (default,
  connected, blackhole) stay;
- rules (`rule add`/`del`: policy routing on and off, which rebuilds every table) and
  next hops (`nexthop add`/`replace`/`del`, a group, a route on them);
- neighbours: h3 changes its MAC (gratuitous ARP, arp_notify) or disappears for a while
  (link down) and comes back; `neigh del`/`replace ... nud stale` of h2 and h3;
- port MTUs (`port config mtu`, 1280-1500 on both ports, checked on the device; the
  other devices on the link follow);
- random input: garbage lines (binary, huge, empty), and valid commands with random
  arguments; the instance must answer a known command after each.

At the end (every check printed PASS/FAIL): fastpath alive all along and exiting 0 on
SIGINT with every mbuf back, every TCP transfer byte-exact, UDP loss within
--max-udp-loss, mbufs in use back to their idle count, VmRSS (sampled every minute, every
10 s in runs under 5 minutes) within --rss-margin-mib of its post-warm-up level, and the
counters that must stay zero at zero (UNEXPECTED_DROPS, UNEXPECTED_EVENTS, the NIC's
missed/errors/nombuf). Namespaces and processes are removed also on failure or signal.
"""

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hosts  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("FASTPATH_BIN_DIR", REPO / "target/release"))
TABLE = Path(os.environ.get("SOAK_TABLE",
                            REPO.parent / "shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz"))
PY = "/usr/bin/python3"

ID = os.environ.get("SOAK_ID", f"sk{os.getpid() % 100000}")
FP, H1, H2, H3, SW = (f"{ID}-{n}" for n in ("fp", "h1", "h2", "h3", "sw"))
NAMESPACES = (FP, H1, H2, H3, SW)
# The devices on each fastpath port's link, which take the port's MTU when it changes.
LINK_PEERS = {"p0": ((H1, "eth0"),),
              "p1": ((SW, "fp"), (SW, "h2"), (SW, "h3"), (H2, "eth0"), (H3, "eth0"))}
FP_P0, FP_P1 = "02:00:00:00:00:01", "02:00:00:00:00:02"
H1_MAC, H2_MAC = "02:00:00:00:01:02", "02:00:00:00:02:02"
H3_MACS = ("02:00:00:00:02:03", "02:00:00:00:02:33")
FLAP_PREFIX, FLAP_ADDR = "198.51.100.0/24", "198.51.100.1"
KEEP = {"1.1.1.0/24"}  # the table routes the traffic needs

# Drop reasons that must stay 0: nothing in this lab sends what they count (malformed,
# martian, multicast, to a blackhole or no route), and none of the resources they
# name may run out (mbufs, rings, tables). Reasons that may count: other_host and
# l2_multicast (the bridge floods), arp_ignored (gratuitous ARP), frag_needed (the MTU
# changes), no_neighbor, neigh_queue_full, unresolved discards (h3 away).
UNEXPECTED_DROPS = (
    "short_frame", "unsupported_ethertype", "chained_mbuf", "arp_malformed",
    "bad_version", "bad_ihl", "bad_total_length", "bad_checksum", "bad_options",
    "source_route", "martian_source", "martian_destination", "multicast",
    "l2_broadcast_forward", "no_route", "blackhole", "unreachable", "prohibit",
    "ttl_exceeded", "frag_no_mbuf", "neigh_table_full", "punt_ring_full",
    "local_unhandled", "local_fragment", "broadcast", "icmp_malformed", "rp_filter",
    "no_route_back",
)
# Events that must stay 0: the tx queues refused nothing, every reply had a way back,
# no capture ran, the flowtable never filled.
UNEXPECTED_EVENTS = ("tx_dropped", "icmp_no_route_back", "capture_dropped",
                     "flow_table_full")

CONFIG = """\
ports:
  - {{ name: p0, device: "net_af_packet0,iface=p0", mtu: 1500, addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_af_packet1,iface=p1", mtu: 1500, addresses: [10.0.2.1/24] }}
routes:
  - {{ prefix: 0.0.0.0/0, via: 10.0.1.2 }}
  - {{ prefix: 203.0.113.0/24, type: blackhole }}
route_files:
  - {{ path: {table}, via: [10.0.1.2, 10.0.2.2] }}
"""


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Failed(Exception):
    pass


def sh(*args, ns=None, check=True, timeout=30):
    cmd = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)


class Soak:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="fastpath-soak."))
        self.sock = self.tmp / "ctl.sock"
        self.stop_file = self.tmp / "STOP"
        self.procs = []  # (name, Popen, output path)
        self.fp = None
        self.done = threading.Event()  # churn threads stop
        self.failures = []
        self.lock = threading.Lock()
        self.figures = {}
        self.rss = []  # (seconds since start, kB)
        self.mbufs = []  # (seconds, in use)
        self.counts = {k: 0 for k in ("route_del", "route_load", "rounds", "rule", "nexthop",
                                      "mtu", "neigh_cli", "mac_change", "disappear",
                                      "garbage", "random_cmd", "no_answer", "cli_errors")}
        self.t0 = time.monotonic()

    # ---- bookkeeping
    def fail(self, what):
        with self.lock:
            self.failures.append(what)
        log("FAIL (during the run):", what)

    def count(self, k, n=1):
        with self.lock:
            self.counts[k] += n

    def check(self, ok, what):
        print(("PASS: " if ok else "FAIL: ") + what, flush=True)
        if not ok:
            self.failures.append(what)
        return ok

    # ---- the control socket
    def ctl(self, lines, timeout=60):
        """Sends lines (str or bytes, one command each) on one connection; the reply
        text (bytes decoded with replacement)."""
        if isinstance(lines, (str, bytes)):
            lines = [lines]
        data = b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(timeout)
        c.connect(str(self.sock))

        def send():
            try:
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=send, daemon=True)
        t.start()
        out = []
        try:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    break
                out.append(b)
        finally:
            c.close()
            t.join(5)
        return b"".join(out).decode(errors="replace")

    def ctl_ok(self, line, timeout=60):
        """One command that must succeed."""
        out = self.ctl(line, timeout)
        if "error:" in out:
            raise Failed(f"{line!r}: {out.strip()[:300]}")
        return out

    def alive(self):
        return self.fp is not None and self.fp.poll() is None

    # ---- processes in the namespaces
    def spawn(self, name, ns, *args):
        out = self.tmp / f"{name}.out"
        f = open(out, "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *map(str, args)], stdout=f,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.procs.append((name, p, out))
        return p, out

    def py(self, name, ns, program, *args):
        return self.spawn(name, ns, PY, "-c", program, str(self.stop_file), *args)

    def wait_ready(self, out, p, timeout=20):
        end = time.monotonic() + timeout
        while "ready" not in out.read_text():
            if p.poll() is not None or time.monotonic() > end:
                raise Failed(f"{out.name}: not ready: {out.read_text()[-500:]}")
            time.sleep(0.05)

    # ---- setup
    def setup(self):
        for ns in NAMESPACES:
            sh("ip", "netns", "add", ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
               "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "eth0", "netns", H1, "address", H1_MAC, "type", "veth",
           "peer", "name", "p0", "netns", FP, "address", FP_P0)
        sh("ip", "link", "add", "p1", "netns", FP, "address", FP_P1, "type", "veth",
           "peer", "name", "fp", "netns", SW)
        sh("ip", "link", "add", "eth0", "netns", H2, "address", H2_MAC, "type", "veth",
           "peer", "name", "h2", "netns", SW)
        sh("ip", "link", "add", "eth0", "netns", H3, "address", H3_MACS[0], "type", "veth",
           "peer", "name", "h3", "netns", SW)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=SW)
        for port in ("fp", "h2", "h3"):
            sh("ip", "link", "set", port, "master", "br0", ns=SW)
        for ns, dev in ((H1, "eth0"), (H2, "eth0"), (H3, "eth0"), (FP, "p0"), (FP, "p1"),
                        (SW, "fp"), (SW, "h2"), (SW, "h3"), (SW, "br0")):
            # af_packet must see complete, MTU-sized frames.
            sh("ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
               "gro", "off", ns=ns, check=False)
            sh("ip", "link", "set", dev, "up", ns=ns)
        for ns, addr, extra in ((H1, "10.0.1.2/24", ()), (H2, "10.0.2.2/24", ("1.1.1.1/32",
                                FLAP_ADDR + "/32")), (H3, "10.0.2.3/24", (FLAP_ADDR + "/32",))):
            sh("ip", "addr", "add", addr, "dev", "eth0", ns=ns)
            for a in extra:
                sh("ip", "addr", "add", a, "dev", "lo", ns=ns)
            gw = "10.0.1.1" if ns == H1 else "10.0.2.1"
            sh("ip", "route", "add", "default", "via", gw, ns=ns)
        # h3 announces a new MAC by gratuitous ARP (arp_notify), as a host does.
        sh("sysctl", "-qw", "net.ipv4.conf.eth0.arp_notify=1", ns=H3)

        conf = self.tmp / "soak.yaml"
        conf.write_text(CONFIG.format(table=TABLE))
        log(f"starting fastpath ({FP}), full table from {TABLE.name}")
        self.fp_log = self.tmp / "fastpath.log"
        self.fp = subprocess.Popen(
            ["ip", "netns", "exec", FP, str(BIN / "fastpath"), "-l", "0-1", "--no-huge",
             "-m", "1024", "--no-pci", "--no-shconf", "--file-prefix", ID,
             "--log-level=*:warning", "--", "--config", str(conf), "--ctl-socket",
             str(self.sock)], stdout=open(self.fp_log, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        end = time.monotonic() + 120
        while True:
            if not self.alive():
                raise Failed(f"fastpath exited at start: {self.fp_log.read_text()[-2000:]}")
            try:
                if "Infos for port" in self.ctl("show port info all", 5):
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise Failed("fastpath did not answer within 120 s")
            time.sleep(0.2)
        # fastpath runs as a child of `ip netns exec` (which execs it: same pid).
        self.pid = self.fp.pid
        # Resolve the hosts, then the idle figures.
        for ns, dst in ((H1, "10.0.1.1"), (H1, "10.0.2.2"), (H1, "10.0.2.3")):
            sh("ping", "-c", "2", "-i", "0.2", "-W", "2", dst, ns=ns)
        self.full_prefixes = self.fib_prefixes()
        time.sleep(1)
        self.idle_mbufs = self.mbufs_in_use()
        log(f"fastpath pid {self.pid}: {self.full_prefixes} prefixes in the FIB, "
            f"{self.idle_mbufs} mbufs in use when idle, VmRSS {self.vmrss()} kB")
        lines = subprocess.run(["xz", "-dc", str(TABLE)], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        self.table = [ln for ln in lines if ln and ln.split()[0] not in KEEP]

    def fib_prefixes(self):
        # The main table's: the random input adds its routes to tables 1000-1999.
        m = re.search(r"^table main +(\d+) prefixes", self.ctl_ok("show fib stats"), re.M)
        return int(m.group(1))

    def mbufs_in_use(self):
        m = re.search(r"mbuf pool: (\d+) mbufs, (\d+) in use", self.ctl_ok("show memory"))
        self.pool_size = int(m.group(1))
        return int(m.group(2))

    def vmrss(self):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise Failed("no VmRSS")

    # ---- traffic
    def start_traffic(self):
        a = self.args
        rate, lo, hi = a.tcp_rate << 10, 64 << 10, a.tcp_max_kib << 10
        for ns in (H1, H2):
            p, out = self.py(f"tcpd-{ns}", ns, hosts.TCP_SERVER, 5001)
            self.wait_ready(out, p)
            p, out = self.py(f"udpd-{ns}", ns, hosts.UDP_RECEIVER,
                             "10.0.1.2" if ns == H1 else "10.0.2.2", 6001)
            self.wait_ready(out, p)
        self.py("tcp-h1-h2", H1, hosts.TCP_CLIENT, "a", "10.0.2.2", 5001, rate, 1, lo, hi)
        self.py("tcp-h1-1.1.1.1", H1, hosts.TCP_CLIENT, "b", "1.1.1.1", 5001, rate, 2, lo, hi)
        self.py("tcp-h2-h1", H2, hosts.TCP_CLIENT, "c", "10.0.1.2", 5001, rate, 3, lo, hi)
        self.py("udp-h1-h2", H1, hosts.UDP_SENDER, "10.0.1.2", "10.0.2.2", 6001, a.udp_pps)
        self.py("udp-h2-h1", H2, hosts.UDP_SENDER, "10.0.2.2", "10.0.1.2", 6001, a.udp_pps)
        self.pings = []
        for ns, dst, strict in ((H1, "10.0.2.2", True), (H2, "10.0.1.2", True),
                                (H1, "10.0.1.1", True), (H1, "10.0.2.3", False),
                                (H1, FLAP_ADDR, False)):
            p, out = self.spawn(f"ping-{ns}-{dst}", ns, "ping", "-q", "-i", "0.2", "-W", "1",
                                dst)
            self.pings.append((ns, dst, strict, p, out))

    # ---- churn
    def route_churn(self):
        """The table withdrawn and re-announced, batch after batch, round after round."""
        b = self.args.batch
        batch_file = self.tmp / "batch.txt"
        while not self.done.is_set():
            for i in range(0, len(self.table), b):
                batch = self.table[i:i + b]
                out = self.ctl([f"route del {ln.split()[0]}" for ln in batch], 600)
                errs = out.count("error:")
                self.count("route_del", len(batch))
                if errs:
                    self.fail(f"route del: {errs} errors in a batch of {len(batch)}: "
                              f"{out[out.index('error:'):][:200]}")
                batch_file.write_text("\n".join(batch) + "\n")
                out = self.ctl(f"route load {batch_file} via 10.0.1.2 via 10.0.2.2", 600)
                self.count("route_load", len(batch))
                if f"({len(batch)} added, 0 already present)" not in out:
                    self.fail(f"route load of {len(batch)}: {out.strip()[:300]}")
                if self.done.is_set():
                    return
                self.done.wait(self.args.route_pause)
            n = self.fib_prefixes()
            self.count("rounds")
            log(f"route churn: round {self.counts['rounds']} done, {n} prefixes in the FIB")
            if n != self.full_prefixes:
                self.fail(f"after a round of route churn {n} prefixes, not {self.full_prefixes}")

    def config_churn(self):
        """Rules, next hops, neighbours from the CLI, MTUs and random input, in turn."""
        rng = random.Random(12)
        actions = [self.rule_change, self.nexthop_change, self.mtu_change, self.neigh_cli,
                   self.random_input]
        k = 0
        while not self.done.wait(self.args.churn_every):
            try:
                actions[k % len(actions)](rng)
            except Failed as e:
                self.fail(str(e))
            except OSError as e:
                self.fail(f"control socket: {e}")
            k += 1
            # A known command is answered after each action.
            try:
                if "Infos for port" not in self.ctl("show port info all", 10):
                    self.fail("show port info all: no answer")
            except OSError as e:
                self.fail(f"control socket after an action: {e}")

    def rule_change(self, rng):
        # Policy routing on (the tables are split and rebuilt), then off again.
        self.ctl_ok("rule add pref 100 from 10.0.1.0/24 table 100")
        self.ctl_ok("rule add pref 200 to 203.0.113.0/24 prohibit")
        self.done.wait(rng.uniform(0.5, 2))
        self.ctl_ok("rule del pref 200")
        self.ctl_ok("rule del pref 100")
        self.count("rule", 4)

    def nexthop_change(self, rng):
        self.ctl_ok("nexthop add id 1 via 10.0.2.2")
        self.ctl_ok("nexthop add id 2 via 10.0.2.3")
        self.ctl_ok("nexthop add id 10 group 1/2")
        self.ctl_ok(f"route add {FLAP_PREFIX} nhid 10")
        self.done.wait(rng.uniform(0.5, 2))
        self.ctl_ok("nexthop replace id 10 group 1,3/2")
        self.done.wait(rng.uniform(0.5, 2))
        self.ctl_ok(f"route replace {FLAP_PREFIX} nhid 2")
        self.ctl_ok("nexthop replace id 10 group 2")
        self.ctl_ok(f"route replace {FLAP_PREFIX} via 10.0.2.2")
        self.ctl_ok("nexthop del id 10")
        self.ctl_ok("nexthop del id 2")
        self.ctl_ok("nexthop del id 1")
        self.ctl_ok(f"route del {FLAP_PREFIX}")
        self.count("nexthop", 12)

    def mtu_change(self, rng):
        mtus = {}
        for i, port in enumerate(("p0", "p1")):
            mtu = rng.choice((1280, 1300, 1400, 1450, 1500, rng.randint(1280, 1500)))
            mtus[port] = mtu
            self.ctl_ok(f"port config mtu {i} {mtu}")
            self.count("mtu")
            # The rest of the link follows, as an operator sets a link's MTU at both ends:
            # a veth drops what arrives over its MTU, unseen by TCP (a black hole).
            for ns, dev in LINK_PEERS[port]:
                sh("ip", "link", "set", dev, "mtu", mtu, ns=ns)
            info = self.ctl_ok(f"show port info {i}")
            dev = sh("cat", f"/sys/class/net/{port}/mtu", ns=FP).stdout.strip()
            if f"MTU: {mtu}" not in info or dev != str(mtu):
                shown = re.findall(r"MTU: *\d+", info)
                raise Failed(f"port config mtu {i} {mtu}: show port info {shown}, device {dev}")
        # The data plane uses p1's at once: h1 (its PMTU cache flushed) gets frag needed
        # with it for one byte more, and an answer for a packet of it, where h1's link
        # (p0's MTU) lets such a packet through.
        mtu, path = mtus["p1"], mtus["p0"]
        sh("ip", "route", "flush", "cache", ns=H1)
        if mtu < path:
            big = sh("ping", "-c", "1", "-W", "2", "-M", "do", "-s", mtu - 27, "10.0.2.2",
                     ns=H1, check=False).stdout
            if not re.search(rf"mtu ?= ?{mtu}\b", big):
                raise Failed(f"p1 MTU {mtu} (p0 {mtus['p0']}): DF ping of {mtu + 1} bytes: "
                             f"{big.strip()[-200:]}")
        fit = min(mtu, path)
        fits = sh("ping", "-c", "3", "-i", "0.2", "-W", "2", "-M", "do", "-s", fit - 28,
                  "10.0.2.2", ns=H1, check=False)
        if fits.returncode != 0:
            raise Failed(f"p1 MTU {mtu} (p0 {mtus['p0']}): DF ping of {fit} bytes: "
                         f"{fits.stdout.strip()[-200:]}")

    def neigh_cli(self, rng):
        which = rng.choice(("10.0.2.2", "10.0.2.3"))
        if rng.random() < 0.5:
            # Resolved again by ARP, the packets meanwhile held.
            self.ctl_ok(f"neigh del {which} dev p1")
        elif which == "10.0.2.2":
            # STALE: the next use goes DELAY, then a unicast probe makes it REACHABLE.
            self.ctl_ok(f"neigh replace {which} lladdr {H2_MAC} dev p1 nud stale")
        else:
            # A wrong MAC, STALE: h3's traffic goes astray until the probes fail and ARP
            # finds the right one (Linux does the same with `ip neigh replace`).
            mac = "02:00:00:00:09:%02x" % rng.randint(0, 255)
            self.ctl_ok(f"neigh replace {which} lladdr {mac} dev p1 nud stale")
        self.count("neigh_cli")

    def random_input(self, rng):
        words = ["show", "port", "info", "stats", "xstats", "all", "fwd", "config", "rxtx",
                 "cores", "memory", "neigh", "fib", "flows", "flowtable", "route", "get",
                 "rule", "nexthop", "latency", "help", "p0", "p1", "0", "1", "7", "dev", "via",
                 "table", "metric", "id", "group", "pref", "from", "to", "lladdr", "nud",
                 "blackhole", "mtu", "-1", "99999999999999999999", "1.2.3.4", "10.0.2.9",
                 "100.64.1.0/24", "0.0.0.0/0", "::1", "\t", "ff:ff:ff:ff:ff:ff", "é", "\\x00"]

        def addr():
            return "100.%d.%d.%d" % (rng.randint(64, 127), rng.randint(0, 255),
                                     rng.randint(0, 255))
        # Valid commands, random arguments (kept off the lab's addresses and the table:
        # 100.64.0.0/10 is not routed in it, prefs, ids and added routes' tables 1000-1999).
        valid = [
            lambda: f"route get {addr()} from {addr()} iif {rng.choice(['p0', 'p1', 'p9'])}",
            lambda: f"route show {addr()}/{rng.randint(0, 40)}",
            lambda: f"route add {addr()}/{rng.randint(10, 32)} via {rng.choice(['10.0.1.2', '10.0.2.2', '10.0.2.9', addr()])} table {rng.randint(1000, 1999)}",
            lambda: f"route del {addr()}/{rng.randint(10, 32)}",
            lambda: f"rule add pref {rng.randint(1000, 1999)} from {addr()}/{rng.randint(8, 33)} table {rng.randint(0, 300)}",
            lambda: f"rule del pref {rng.randint(1000, 1999)}",
            lambda: f"nexthop add id {rng.randint(1000, 1999)} via {rng.choice(['10.0.2.2', addr()])}",
            lambda: f"nexthop add id {rng.randint(1000, 1999)} group {rng.randint(1000, 1999)}/{rng.randint(1000, 1999)}",
            lambda: f"nexthop del id {rng.randint(1000, 1999)}",
            lambda: f"neigh add {addr()} lladdr 02:00:00:00:09:{rng.randint(0, 255):02x} dev p{rng.randint(0, 2)}",
            lambda: f"show flows {rng.randint(-5, 100)}",
            lambda: f"show port {rng.choice(['info', 'stats', 'xstats'])} {rng.choice(['all', '0', '1', '2', 'p1', 'x'])}",
            lambda: f"port config mtu {rng.randint(0, 3)} {rng.choice([0, 67, 20000, 65535, 'x'])}",
            lambda: f"capture {rng.choice(['status', 'stop'])}",
            lambda: "route flush cache",
            lambda: "flush flows",
            lambda: " ".join(rng.choice(words) for _ in range(rng.randint(1, 8))),
        ]

        def garbage():
            kind = rng.randrange(5)
            if kind == 0:
                return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200))).replace(b"\n", b"")
            if kind == 1:
                return b"x" * rng.choice((1000, 70000, 200000))
            if kind == 2:
                return b""
            if kind == 3:
                return "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(50)).encode(errors="ignore")
            return b" ".join(rng.choice(words).encode() for _ in range(300))
        lines = []
        for _ in range(self.args.random_lines):
            if rng.random() < 0.5:
                lines.append(garbage())
                self.count("garbage")
            else:
                lines.append(valid[rng.randrange(len(valid))]())
                self.count("random_cmd")
        # One line per connection, so that a line without an answer is seen as such.
        for ln in lines:
            out = self.ctl(ln, 15)
            if ln.strip() and not out:
                self.count("no_answer")
            self.count("cli_errors", out.count("error:"))

    def host_flaps(self):
        """h3 changes its MAC, or disappears and comes back, in turn."""
        rng = random.Random(3)
        k = 0
        while not self.done.wait(self.args.flap_every):
            try:
                if k % 2 == 0:
                    new = H3_MACS[(k // 2 + 1) % 2]
                    sh("ip", "link", "set", "eth0", "address", new, ns=H3)
                    self.count("mac_change")
                    self.recovered("MAC change", new)
                else:
                    sh("ip", "link", "set", "eth0", "down", ns=H3)
                    self.done.wait(rng.uniform(3, 12))
                    sh("ip", "link", "set", "eth0", "up", ns=H3)
                    # Setting the link down took h3's default route with it (Linux).
                    sh("ip", "route", "replace", "default", "via", "10.0.2.1", ns=H3)
                    self.count("disappear")
                    self.recovered("reappearance", None)
            except (Failed, subprocess.SubprocessError) as e:
                self.fail(f"h3 flap: {e}")
            k += 1

    def recovered(self, what, mac):
        """h1 reaches h3 again (and fastpath has h3's new MAC) within 20 s."""
        end = time.monotonic() + 20
        while time.monotonic() < end:
            ok = sh("ping", "-c", "1", "-W", "1", "10.0.2.3", ns=H1, check=False).returncode == 0
            neigh = self.ctl("neigh show dev p1")
            if ok and (mac is None or f"10.0.2.3 dev p1 lladdr {mac}" in neigh):
                return
            if self.done.is_set():
                return
        raise Failed(f"h3 not reachable within 20 s after its {what}: "
                     f"{self.ctl('neigh show dev p1').strip()}")

    def sampler(self):
        """VmRSS (and mbufs in use) every sample interval."""
        while True:
            t = time.monotonic() - self.t0
            try:
                self.rss.append((t, self.vmrss()))
                self.mbufs.append((t, self.mbufs_in_use()))
            except (OSError, Failed) as e:
                self.fail(f"sampling: {e}")
            if self.sample_stop.wait(self.args.sample_every):
                return

    # ---- the run
    def run(self):
        a = self.args
        self.setup()
        self.start_traffic()
        self.t0 = time.monotonic()
        self.sample_stop = threading.Event()
        sampler = threading.Thread(target=self.sampler, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=f, daemon=True)
                   for f in (self.route_churn, self.config_churn, self.host_flaps)]
        for t in threads:
            t.start()
        end = self.t0 + a.minutes * 60
        last = 0
        while time.monotonic() < end:
            if not self.alive():
                raise Failed(f"fastpath died: {self.fp_log.read_text()[-2000:]}")
            for name, p, out in self.procs:
                if p.poll() is not None and not name.startswith("ping"):
                    raise Failed(f"{name} exited early: {out.read_text()[-500:]}")
            if time.monotonic() - last > 60:
                last = time.monotonic()
                log(f"{(last - self.t0) / 60:.1f} min: {self.counts}")
            time.sleep(1)
        log("stopping the churn and the traffic")
        self.done.set()
        for t in threads:
            t.join(900)
            if t.is_alive():
                raise Failed(f"{t.name} did not finish")
        self.stop_file.touch()
        for ns, dst, strict, p, out in self.pings:
            p.send_signal(signal.SIGINT)
        for name, p, out in self.procs:
            try:
                p.wait(240)
            except subprocess.TimeoutExpired:
                self.fail(f"{name} did not stop")
        self.sample_stop.set()
        sampler.join(30)
        self.duration = time.monotonic() - self.t0
        self.final_checks()

    def final_checks(self):
        a = self.args
        print("\n== results", flush=True)
        self.check(self.alive(), "fastpath alive to the end")
        for f in self.failures[:]:
            print("  during the run:", f)
        self.check(not self.failures, f"no failure during the run ({len(self.failures)})")
        # Back to the configuration of the start.
        for i in (0, 1):
            self.ctl_ok(f"port config mtu {i} 1500")
        # TCP.
        sent, got = {}, {}
        for name, p, out in self.procs:
            for ln in out.read_text().splitlines():
                w = ln.split()
                if name.startswith("tcp-") and len(w) >= 4:
                    sent[w[0]] = w[1:]
                if name.startswith("tcpd-") and len(w) == 4:
                    got[w[0]] = w[1:]
        bad = [t for t, s in sent.items()
               if len(s) != 4 or s[2:] != [s[0], s[1]] or got.get(t) != [s[0], s[1], "ok"]]
        nbytes = sum(int(s[0]) for s in sent.values())
        self.figures["tcp"] = f"{len(sent)} transfers, {nbytes / 2**20:.1f} MiB"
        for t in bad[:10]:
            print(f"  transfer {t}: sent {sent[t]}, server {got.get(t)}")
        self.check(len(sent) >= 3 and not bad,
                   f"every TCP transfer byte-exact: {len(sent) - len(bad)} of {len(sent)} "
                   f"({nbytes / 2**20:.1f} MiB)")
        # UDP.
        udp = {}
        for name, p, out in self.procs:
            txt = out.read_text()
            m = re.search(r"sent (\d+) send_errors (\d+)", txt)
            if m:
                udp.setdefault(name[4:], {})["sent"] = int(m.group(1))
            m = re.search(r"received (\d+) dup (\d+) corrupt (\d+)", txt)
            if m:
                key = "h1-h2" if name.endswith(H2) else "h2-h1"
                udp.setdefault(key, {}).update(recv=int(m.group(1)), dup=int(m.group(2)),
                                               corrupt=int(m.group(3)))
        udp_txt = []
        for k, v in sorted(udp.items()):
            s, r = v.get("sent", 0), v.get("recv", 0)
            loss = (s - r) / s * 100 if s else 100
            udp_txt.append(f"{k} {s} sent, {r} received ({loss:.3f}% loss), "
                           f"{v.get('dup')} dup, {v.get('corrupt')} corrupt")
            self.check(s > 0 and loss <= a.max_udp_loss and v.get("corrupt") == 0,
                       f"UDP {k}: {udp_txt[-1]}")
        self.figures["udp"] = "; ".join(udp_txt)
        # Pings.
        ping_txt = []
        for ns, dst, strict, p, out in self.pings:
            m = re.search(r"(\d+) packets transmitted, (\d+) received", out.read_text())
            tx, rx = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
            ping_txt.append(f"{ns[len(ID) + 1:]}->{dst} {rx}/{tx}")
            if strict:
                self.check(tx > 0 and (tx - rx) <= max(2, tx * a.max_udp_loss / 100),
                           f"ping {ns} -> {dst}: {rx} of {tx} answered")
            else:
                print(f"INFO: ping {ns} -> {dst} (h3 flaps, route moves): {rx} of {tx}")
        self.figures["ping"] = ", ".join(ping_txt)
        # mbufs back to idle (neighbour queues drain, caches settle).
        end = time.monotonic() + 15
        while (n := self.mbufs_in_use()) != self.idle_mbufs and time.monotonic() < end:
            time.sleep(0.5)
        self.figures["mbufs"] = (f"{self.idle_mbufs} in use idle at start, {n} at the end, "
                                 f"at most {max(m for _, m in self.mbufs)} during the run "
                                 f"(pool {self.pool_size})")
        self.check(n == self.idle_mbufs,
                   f"mbufs in use back to the idle count: {n} (idle {self.idle_mbufs})")
        # RSS.
        warm = max(a.warmup * 60, 0.2 * a.minutes * 60)
        series = " ".join(f"{t / 60:.1f}m={kb / 1024:.0f}" for t, kb in self.rss)
        print(f"VmRSS series (MiB): {series}")
        self.figures["rss"] = series
        before = [kb for t, kb in self.rss if t <= warm]
        after = [kb for t, kb in self.rss if t > warm]
        if self.check(before and after, f"RSS samples before and after the warm-up ({warm:.0f} s)"):
            base, top = max(before), max(after)
            self.check(top <= base + a.rss_margin_mib * 1024,
                       f"RSS flat after warm-up: at most {top / 1024:.1f} MiB vs "
                       f"{base / 1024:.1f} MiB (margin {a.rss_margin_mib} MiB)")
        # Counters.
        self.ctl_ok("show fib stats")
        fwd = self.ctl_ok("show fwd stats")
        ports = self.ctl_ok("show port stats all")
        print(fwd)
        vals = dict((k, int(v)) for k, v in re.findall(r"^\s+(\w+): (\d+)$", fwd, re.M))
        nonzero = [f"{k}={vals[k]}" for k in UNEXPECTED_DROPS + UNEXPECTED_EVENTS
                   if vals.get(k)]
        self.check(not nonzero, "counters that must be 0 are 0" +
                   (f": {', '.join(nonzero)}" if nonzero else ""))
        nic = [f"{k}={v}" for k, v in re.findall(r"(RX-missed|RX-errors|RX-nombuf|TX-errors):"
                                                  r"\s*(\d+)", ports) if int(v)]
        self.check(not nic, "NIC missed/errors/nombuf are 0" + (f": {nic}" if nic else ""))
        self.check(self.fib_prefixes() == self.full_prefixes,
                   f"the whole table is back: {self.full_prefixes} prefixes")
        # Clean exit on SIGINT.
        os.kill(self.pid, signal.SIGINT)
        try:
            rc = self.fp.wait(60)
        except subprocess.TimeoutExpired:
            rc = None
        text = self.fp_log.read_text()
        self.check(rc == 0, f"fastpath exited cleanly on SIGINT (status {rc})")
        self.check("mbufs in use after shutdown: 0 of" in text,
                   "no mbuf leaked at shutdown: " +
                   (re.findall(r"mbufs in use after shutdown: .*", text) or ["(no line)"])[0])
        print("\n== soak figures")
        print(f"duration: {self.duration / 60:.1f} min; churn: " +
              ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        for k, v in self.figures.items():
            print(f"{k}: {v}")

    def cleanup(self):
        for name, p, out in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.alive():
            os.killpg(self.fp.pid, signal.SIGTERM)
            try:
                self.fp.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.fp.pid, signal.SIGKILL)
                self.fp.wait()
            print("--- fastpath's output (tail) ---")
            print("\n".join(self.fp_log.read_text().splitlines()[-25:]))
        for ns in NAMESPACES:
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)
        subprocess.run(["rm", "-rf", str(self.tmp), f"/var/run/dpdk/{ID}"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sample-every", type=float, default=None,
                    help="s between VmRSS samples (60; 10 for runs under 5 minutes)")
    ap.add_argument("--warmup", type=float, default=1.0,
                    help="minutes of warm-up before RSS must stay flat (at least 20%% of the run)")
    ap.add_argument("--rss-margin-mib", type=float, default=64)
    ap.add_argument("--max-udp-loss", type=float, default=1.0, help="percent")
    ap.add_argument("--batch", type=int, default=50000, help="prefixes per route churn batch")
    ap.add_argument("--route-pause", type=float, default=1.0, help="s between two batches")
    ap.add_argument("--churn-every", type=float, default=3.0,
                    help="s between two rule/nexthop/MTU/neighbour/random-input actions")
    ap.add_argument("--flap-every", type=float, default=15.0, help="s between two h3 flaps")
    ap.add_argument("--random-lines", type=int, default=30, help="random lines per action")
    ap.add_argument("--tcp-rate", type=int, default=2048, help="KiB/s per TCP client")
    ap.add_argument("--tcp-max-kib", type=int, default=8192, help="largest transfer")
    ap.add_argument("--udp-pps", type=int, default=200, help="datagrams/s per stream")
    args = ap.parse_args()
    if args.sample_every is None:
        args.sample_every = 10 if args.minutes < 5 else 60
    soak = Soak(args)

    def on_signal(sig, _frame):
        raise KeyboardInterrupt(signal.Signals(sig).name)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rc = 1
    try:
        soak.run()
        rc = 1 if soak.failures else 0
    except KeyboardInterrupt as e:
        print(f"soak: interrupted ({e or 'SIGINT'}), cleaning up", flush=True)
        rc = 130
    except (Failed, subprocess.SubprocessError, OSError) as e:
        print(f"FAIL: {e}", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        soak.done.set()
        soak.cleanup()
    print("soak: " + ("all checks passed" if rc == 0 else "FAILED"), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
