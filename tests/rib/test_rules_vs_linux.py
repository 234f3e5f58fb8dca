"""Policy routing checked against Linux.

The same addresses, routes and rules are given to a Linux network namespace (veth ports)
and to fastpath (idle net_pcap ports); every query goes to `ip route get` and to
fastpath's `route get`, and the decisions must agree: which table answered, and the next
hop and port, or the reject type. Then the same run-time changes (`route add/del`,
`rule add/del`) are applied to both and the queries compared again.

Run as root: /usr/bin/python3 -m pytest tests/rib -q
"""
import os
import re
import subprocess
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("FASTPATH_BIN", os.path.join(REPO, "target", "release", "fastpath"))
CTL = os.path.join(os.path.dirname(BIN), "fastpath-ctl")

ROUTES = [
    # (ip route words, fastpath YAML)
    ("default via 10.0.0.2", "{ prefix: 0.0.0.0/0, via: 10.0.0.2 }"),
    ("default via 10.1.0.2 table 100", "{ prefix: 0.0.0.0/0, via: 10.1.0.2, table: 100 }"),
    ("10.9.0.0/16 via 10.1.0.3 table 100", "{ prefix: 10.9.0.0/16, via: 10.1.0.3, table: 100 }"),
    ("172.16.0.0/12 via 10.1.0.4", "{ prefix: 172.16.0.0/12, via: 10.1.0.4 }"),
    ("blackhole 172.16.5.0/24", "{ prefix: 172.16.5.0/24, type: blackhole }"),
    ("unreachable 172.16.6.0/24", "{ prefix: 172.16.6.0/24, type: unreachable }"),
    ("prohibit 172.16.7.0/24 table 100", "{ prefix: 172.16.7.0/24, type: prohibit, table: 100 }"),
]
RULES = [
    ("pref 100 from 192.168.1.0/24 table 100", "{ pref: 100, from: 192.168.1.0/24, table: 100 }"),
    ("pref 200 to 203.0.113.0/24 prohibit", "{ pref: 200, to: 203.0.113.0/24, type: prohibit }"),
    ("pref 300 iif p1 tos 0x10 table 100", "{ pref: 300, iif: p1, tos: 0x10, table: 100 }"),
    ("pref 400 from 198.51.100.0/24 table 200", "{ pref: 400, from: 198.51.100.0/24, table: 200 }"),
    ("pref 500 to 198.18.0.0/15 unreachable", "{ pref: 500, to: 198.18.0.0/15, type: unreachable }"),
    ("pref 600 from 10.0.0.128/25 blackhole", "{ pref: 600, from: 10.0.0.128/25, type: blackhole }"),
]
QUERIES = [
    "10.0.0.1 from 192.168.1.5 iif p0",
    "10.1.0.1 from 10.0.0.5 iif p0",
    "8.8.8.8 from 192.168.1.5 iif p0",
    "8.8.8.8 from 10.0.0.5 iif p0",
    "203.0.113.9 from 10.0.0.5 iif p0",
    "203.0.113.9 from 192.168.1.5 iif p0",
    "10.9.1.1 from 10.0.0.5 iif p1 tos 0x10",
    "10.9.1.1 from 10.0.0.5 iif p1 tos 0x12",
    "10.9.1.1 from 10.0.0.5 iif p0 tos 0x10",
    "10.9.1.1",
    "10.0.0.7 from 198.51.100.1 iif p0",
    "172.16.1.1 from 10.0.0.5 iif p0",
    "172.16.5.1 from 10.0.0.5 iif p0",
    "172.16.6.1 from 10.0.0.5 iif p0",
    "172.16.7.1 from 192.168.1.5 iif p0",
    "172.16.7.1 from 10.0.0.5 iif p0",
    "198.18.3.4 from 10.0.0.5 iif p0",
    "198.18.3.4 from 192.168.1.5 iif p0",
    "8.8.4.4 from 10.0.0.200 iif p0",
    "10.1.0.77 from 10.0.0.200 iif p0",
]
# Run-time changes, applied to both: (ip words, fastpath words).
CHANGES = [
    ("route add 8.8.8.0/24 via 10.1.0.5", "route add 8.8.8.0/24 via 10.1.0.5"),
    ("route add 10.9.0.0/16 via 10.0.0.9", "route add 10.9.0.0/16 via 10.0.0.9"),
    ("rule del pref 100", "rule del pref 100"),
    ("rule add pref 150 from 10.0.0.0/28 table 100", "rule add pref 150 from 10.0.0.0/28 table 100"),
    ("route del 172.16.0.0/12", "route del 172.16.0.0/12"),
    ("route add blackhole 9.9.9.0/24 table 100", "route add blackhole 9.9.9.0/24 table 100"),
]
QUERIES_AFTER = QUERIES + ["8.8.8.8 from 10.0.0.3 iif p0", "9.9.9.9 from 10.0.0.3 iif p0", "10.9.1.1 from 10.0.0.50 iif p0"]


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def linux_decision(ns, q):
    """('table', T, gw-or-None, dev) or ('reject', kind)."""
    r = sh("ip", "-n", ns, "route", "get", *q.split(), check=False)
    out = (r.stdout + r.stderr).strip()
    if "Permission denied" in out:
        return ("reject", "prohibit")
    if "No route to host" in out:
        return ("reject", "unreachable")
    if "Invalid argument" in out:
        return ("reject", "blackhole")
    if "Network is unreachable" in out:
        return ("reject", "no route")
    first = out.splitlines()[0]
    if first.startswith("local "):
        return ("local",)
    table = re.search(r" table (\S+)", first)
    via = re.search(r" via (\S+)", first)
    dev = re.search(r" dev (\S+)", first)
    return ("table", table.group(1) if table else "main", via.group(1) if via else None, dev.group(1) if dev else None)


def fastpath_decision(sock, q):
    out = sh(CTL, "--socket", sock, "route", "get", *q.split(), check=False).stdout
    if "no route" in out:
        return ("reject", "no route")
    rule = re.search(r"^\s+rule \d+: .*", out, re.M)
    for kind in ("prohibit", "unreachable", "blackhole"):
        if rule and rule.group(0).endswith(" " + kind):
            return ("reject", kind)
    route = re.search(r"^\s+table (\S+) route (.*)$", out, re.M)
    assert route, f"unexpected route get output for {q!r}:\n{out}"
    words = route.group(2).split()
    if words[0] in ("prohibit", "unreachable", "blackhole"):
        return ("reject", words[0])
    if words[0] in ("local", "broadcast"):
        return ("local",)
    nh = re.search(r"^\s+nexthop (\S+) dev (\S+)", out, re.M)
    gw = re.search(r" via (\S+)", route.group(2))
    return ("table", route.group(1), gw.group(1) if gw else None, nh.group(2))


@pytest.fixture(scope="module")
def pair():
    ns = f"fprib{os.getpid() % 100000}"
    tmp = tempfile.mkdtemp(prefix="fastpath-rib.")
    sock = os.path.join(tmp, "ctl.sock")
    proc = None
    try:
        sh("ip", "netns", "add", ns)
        for p in ("p0", "p1"):
            sh("ip", "-n", ns, "link", "add", p, "type", "veth", "peer", "name", p + "x")
            sh("ip", "-n", ns, "link", "set", p, "up")
            sh("ip", "-n", ns, "link", "set", p + "x", "up")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
           "net.ipv4.conf.p0.rp_filter=0", "net.ipv4.conf.p1.rp_filter=0")
        sh("ip", "-n", ns, "addr", "add", "10.0.0.1/24", "dev", "p0")
        sh("ip", "-n", ns, "addr", "add", "10.1.0.1/24", "dev", "p1")
        for words, _ in ROUTES:
            sh("ip", "-n", ns, "route", "add", *words.split())
        for words, _ in RULES:
            sh("ip", "-n", ns, "rule", "add", *words.split())

        open(os.path.join(tmp, "empty.pcap"), "wb").write(
            bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        cfg = os.path.join(tmp, "rib.yaml")
        with open(cfg, "w") as f:
            f.write("ports:\n")
            for i, a in ((0, "10.0.0.1/24"), (1, "10.1.0.1/24")):
                f.write(f"  - {{ name: p{i}, device: \"net_pcap{i},rx_pcap={tmp}/empty.pcap,tx_pcap={tmp}/out{i}.pcap\", "
                        f"addresses: [{a}] }}\n")
            f.write("routes:\n" + "".join(f"  - {y}\n" for _, y in ROUTES))
            f.write("rules:\n" + "".join(f"  - {y}\n" for _, y in RULES))
        proc = subprocess.Popen(
            [BIN, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--file-prefix", ns,
             "--log-level=*:error", "--", "--config", cfg, "--ctl-socket", sock],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(200):
            if os.path.exists(sock) and sh(CTL, "--socket", sock, "help", check=False).returncode == 0:
                break
            if proc.poll() is not None:
                pytest.fail("fastpath exited at start:\n" + proc.stdout.read())
            time.sleep(0.05)
        yield ns, sock
    finally:
        if proc and proc.poll() is None:
            sh(CTL, "--socket", sock, "quit", check=False)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        sh("ip", "netns", "del", ns, check=False)
        subprocess.run(["rm", "-rf", tmp])


def compare(ns, sock, queries):
    diffs = []
    for q in queries:
        lin, fp = linux_decision(ns, q), fastpath_decision(sock, q)
        if lin != fp:
            diffs.append(f"{q}: linux {lin} fastpath {fp}")
    assert not diffs, "decisions differ from Linux:\n" + "\n".join(diffs)


def test_config_rules_like_linux(pair):
    compare(*pair, QUERIES)


def test_runtime_changes_like_linux(pair):
    ns, sock = pair
    for ip_words, fp_words in CHANGES:
        sh("ip", "-n", ns, *ip_words.split())
        out = sh(CTL, "--socket", sock, *fp_words.split(), check=False)
        assert out.returncode == 0 and "error" not in out.stdout, f"{fp_words}: {out.stdout}{out.stderr}"
    compare(ns, sock, QUERIES_AFTER)


def test_garbage_commands_never_hurt_the_instance(pair):
    """Random command lines (real words in random order, odd numbers and prefixes, bytes
    that are not words at all): each gets an answer, and the instance stays up and keeps
    its routes."""
    import random
    ns, sock = pair
    words = ("route rule nexthop show add del replace load get table via dev metric weight nhid "
             "from to iif tos fwmark pref lookup blackhole unreachable prohibit type group id "
             "default local main p0 p1 p9 all port stats info clear fwd config neigh memory fib "
             "10.0.0.0/8 10.1.0.2 0.0.0.0/0 1.2.3.4/33 300.1.1.1 -1 0 4294967296 0x10 0xzz "
             "18446744073709551616 255 256 / // ,, 1,2/3 \\x00 é ; | & $HOME").split()
    rng = random.Random(7)
    lines = []
    for _ in range(3000):
        line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 9)))
        if line.split()[0] != "quit" and "load" not in line.split():
            lines.append(line)
    lines.append("\x01\x02 \x7f")
    out = subprocess.run([CTL, "--socket", sock], input="\n".join(lines) + "\n", capture_output=True, text=True)
    assert out.stdout.strip(), "no answers at all"
    # Still alive and answering; nothing the garbage could change has been broken.
    after = sh(CTL, "--socket", sock, "show", "fib", "stats").stdout
    assert "FIB version" in after
    compare(ns, sock, ["10.0.0.1 from 192.168.1.5 iif p0"])


def test_route_get_of_what_is_never_routed_like_linux(pair):
    """Destinations and sources the data plane drops before any lookup (ip_input's martian
    checks): Linux's `ip route get ... iif` refuses each with EINVAL, and fastpath's
    `route get` says it drops them; a limited broadcast is local input for both."""
    ns, sock = pair
    for q in ["127.0.0.1 from 10.0.0.5 iif p0", "224.0.0.5 from 10.0.0.5 iif p0",
              "8.8.8.8 from 127.0.0.1 iif p0", "8.8.8.8 from 224.1.1.1 iif p0",
              "8.8.8.8 from 255.255.255.255 iif p0", "8.8.8.8 from 10.0.0.1 iif p0",
              "8.8.8.8 from 10.1.0.1 iif p0"]:
        lin = sh("ip", "-n", ns, "route", "get", *q.split(), check=False)
        fp = sh(CTL, "--socket", sock, "route", "get", *q.split(), check=False).stdout
        assert "Invalid argument" in lin.stderr, f"{q}: linux {lin.stdout}{lin.stderr}"
        assert ": dropped" in fp and " via " not in fp, f"{q}: fastpath {fp}"
    q = "255.255.255.255 from 10.0.0.5 iif p0"
    lin = sh("ip", "-n", ns, "route", "get", *q.split()).stdout
    fp = sh(CTL, "--socket", sock, "route", "get", *q.split()).stdout
    assert lin.startswith("broadcast ") and fp.startswith("broadcast ") and "delivered locally" in fp, (lin, fp)
