"""Bad input at the edges of a running instance (issue 12, part 4).

One instance of the real binary on idle net_pcap ports takes, over its control socket:
every command of `help` with arguments missing, extra or malformed; then garbage,
binary bytes, a 10 MB line without a newline, a command line cut off by a disconnect,
and clients that go away before reading their reply. Each bad command must get exactly
one line, `error: ...`, short, naming what is wrong; nothing may stop or hang the
instance, and it must still answer a normal command afterwards. Bad configurations and
devices are judged at start: one `error:` line (or `file:line:column:` for the config)
and exit status 2.

The config keys themselves (every key: types, ranges, duplicates) are covered by
conf/tests/bad_input.rs; here the same errors are checked end to end through the binary.

Run as root: /usr/bin/python3 -m pytest tests/badinput -q
"""
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# FASTPATH_BIN names the binary, or FASTPATH_BIN_DIR its directory (with fastpath-ctl).
BIN = os.environ.get("FASTPATH_BIN") or os.path.join(
    os.environ.get("FASTPATH_BIN_DIR", os.path.join(REPO, "target", "release")), "fastpath")
CTL = os.path.join(os.path.dirname(BIN), "fastpath-ctl")
EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
EAL = ["-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--log-level=*:error"]
# The longest command line the socket takes (control/src/ctl.rs LINE_MAX).
LINE_MAX = 64 << 10


def ports_yaml(tmp, devices=None):
    with open(os.path.join(tmp, "empty.pcap"), "wb") as f:
        f.write(EMPTY_PCAP)
    devices = devices or [f"net_pcap{i},rx_pcap={tmp}/empty.pcap,tx_pcap={tmp}/out{i}.pcap"
                          for i in (0, 1)]
    text = "ports:\n"
    for i, dev in enumerate(devices):
        text += f"  - {{ name: p{i}, device: \"{dev}\", addresses: [10.0.{i + 1}.1/24] }}\n"
    return text


class Instance:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="fastpath-badinput.")
        self.sock = os.path.join(self.tmp, "ctl.sock")
        cfg = os.path.join(self.tmp, "bad.yaml")
        with open(cfg, "w") as f:
            f.write(ports_yaml(self.tmp))
            f.write("neighbors:\n  - { address: 10.0.1.2, mac: \"02:00:00:00:01:02\", port: p0 }\n")
            f.write("tables: [{ id: 100, name: isp2 }]\n")
            f.write("nexthops:\n  - { id: 1, via: 10.0.1.2 }\n")
            f.write("routes:\n  - { prefix: 0.0.0.0/0, via: 10.0.1.2 }\n")
        self.proc = subprocess.Popen(
            [BIN, *EAL, "--file-prefix", f"fpbad{os.getpid()}", "--", "--config", cfg,
             "--ctl-socket", self.sock],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        end = time.time() + 60
        while time.time() < end:
            if os.path.exists(self.sock) and ctl(self.sock, "help").returncode == 0:
                return
            if self.proc.poll() is not None:
                pytest.fail(f"fastpath exited at start ({self.proc.returncode}):\n"
                            f"{self.proc.stdout.read().decode(errors='replace')}")
            time.sleep(0.05)
        pytest.fail("fastpath did not come up")

    def alive(self):
        """Still running, and a normal command gets its normal answer."""
        assert self.proc.poll() is None, f"fastpath exited ({self.proc.returncode})"
        r = ctl(self.sock, "show", "fib", "stats", timeout=10)
        assert r.returncode == 0 and "FIB version" in r.stdout, r

    def stop(self):
        if self.proc.poll() is None:
            ctl(self.sock, "quit")
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        out = self.proc.stdout.read().decode(errors="replace")
        shutil.rmtree(self.tmp, ignore_errors=True)
        return out


def ctl(sock, *words, timeout=20):
    return subprocess.run([CTL, "--socket", sock, *words], capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def raw(sock, data, timeout=20, close_write=True):
    """Sends bytes on a fresh connection, closes the write side, returns all it got."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(data)
        if close_write:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                return out
            out += chunk
            if not close_write and out.endswith(b"\n"):
                return out
    finally:
        s.close()


@pytest.fixture(scope="module")
def fp():
    inst = Instance()
    yield inst
    out = inst.stop()
    assert inst.proc.returncode == 0, out[-3000:]
    assert "mbufs in use after shutdown: 0 of" in out, out[-3000:]


def one_error(out, *words):
    """`out` is exactly one `error: ` line, short, containing each of `words`."""
    lines = out.splitlines()
    assert len(lines) == 1, f"{len(lines)} lines: {out[:1000]!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert len(line) < 400, f"{len(line)} bytes: {line[:400]}"
    for w in words:
        assert w in line, f"{w!r} not in {line!r}"
    return line


# ------------------------------------------------------------------ commands

# (command line, a piece of the error it must give). Every command of `help`, with an
# argument missing, one too many, or one malformed.
BAD_COMMANDS = [
    ("bogus", 'unknown command "bogus"'),
    ("ROUTE show", 'unknown command "ROUTE"'),
    ("help me", 'bad arguments for "help me"'),
    ("show", 'bad arguments for "show"'),
    ("show port", 'bad arguments for "show port"'),
    ("show port info", 'bad arguments for "show port info"'),
    ("show port info 9", "no port 9: ports are 0..1"),
    ("show port info x", 'expected "all", a port number or a port name, got "x"'),
    ("show port info all extra", "bad arguments"),
    ("show port stats", "bad arguments"),
    ("show port stats -1", 'got "-1"'),
    ("show port stats 99999999999999999999999", 'got "99999999999999999999999"'),
    ("clear port stats", "bad arguments"),
    ("clear port stats p9", 'got "p9"'),
    ("show port xstats", "bad arguments"),
    ("clear port xstats foo", 'got "foo"'),
    ("start now", "bad arguments"),
    ("stop now", "bad arguments"),
    ("port", "bad arguments"),
    ("port stop", "bad arguments"),
    ("port stop 9", "no port 9"),
    ("port start x", 'got "x"'),
    ("port reset 0", "bad arguments"),
    ("show fwd", "bad arguments"),
    ("show fwd stats extra", "bad arguments"),
    ("clear fwd", "bad arguments"),
    ("show latency x", "bad arguments"),
    ("show config x", "bad arguments"),
    ("show config rxtx extra", "bad arguments"),
    ("show memory x", "bad arguments"),
    ("show fib", "bad arguments"),
    ("show fib stats x", "bad arguments"),
    ("show flows x", 'expected a number of flows, got "x"'),
    ("show flows -1", 'got "-1"'),
    ("show flows 1 2", "bad arguments"),
    ("show flowtable", "bad arguments"),
    ("flush", "bad arguments"),
    ("flush flows now", "bad arguments"),
    ("capture", "capture"),
    ("capture start", "capture start"),
    ("capture start p0", "capture start"),
    ("capture start p9 /tmp/fp-bad.pcapng", "p9"),
    ("capture start p0 /tmp/fp-bad.pcapng sideways", '"sideways"'),
    ("capture start p0 /tmp/fp-bad.pcapng rx count", "count"),
    ("capture start p0 /tmp/fp-bad.pcapng rx count x", 'count: expected a positive number, got "x"'),
    ("capture start p0 /nonexistent/dir/x.pcapng", "/nonexistent/dir/x.pcapng"),
    ("capture stop now", "capture"),
    ("capture status x", "capture"),
    ("capture bogus", "capture"),
    ("route", "route"),
    ("route show table", "table"),
    ("route show table 0", 'table "0": no such table'),
    ("route show table nosuch", 'table "nosuch": no such table'),
    ("route show 10.0.0.0/33", "10.0.0.0/33"),
    ("route show 10.0.0.0/8 extra", '"extra"'),
    ("route get", "route get"),
    ("route get x", '"x"'),
    ("route get 1.1.1.1 from", "from"),
    ("route get 1.1.1.1 from x", '"x"'),
    ("route get 1.1.1.1 iif", "iif"),
    ("route get 1.1.1.1 iif p9", "p9"),
    ("route get 1.1.1.1 tos x", '"x"'),
    ("route get 1.1.1.1 tos 256", "256"),
    ("route get 1.1.1.1 bogus", '"bogus"'),
    ("route add", "route add"),
    ("route add 10.9.0.0/16", "10.9.0.0/16"),
    ("route add 10.9.0.0/16 via", "via"),
    ("route add 10.9.0.0/16 via x", "via `x` is not an IPv4 address"),
    ("route add 10.9.0.1/16 via 10.0.1.2", "10.9.0.0/16"),
    ("route add 10.9.0.0/16 via 10.0.1.2 dev", "dev"),
    ("route add 10.9.0.0/16 via 10.0.1.2 dev p9", "p9"),
    ("route add 10.9.0.0/16 via 10.0.1.2 metric x", '"x"'),
    ("route add 10.9.0.0/16 via 10.0.1.2 metric -1", '"-1"'),
    ("route add 10.9.0.0/16 via 10.0.1.2 metric 4294967296", "4294967296"),
    ("route add 10.9.0.0/16 via 10.0.1.2 table", "table"),
    ("route add 10.9.0.0/16 via 10.0.1.2 table 0", "table 0 is out of range"),
    ("route add 10.9.0.0/16 via 10.0.1.2 table nosuch", "`nosuch`"),
    ("route add 10.9.0.0/16 via 10.0.1.2 via 10.0.1.2", "10.0.1.2"),
    ("route add 10.9.0.0/16 via 10.0.1.2 extra", '"extra"'),
    ("route add 10.9.0.0/16 nexthop", "nexthop"),
    ("route add 10.9.0.0/16 nexthop via 10.0.1.2 weight 0", "weight"),
    ("route add 10.9.0.0/16 nexthop via 10.0.1.2 weight 257", "257"),
    ("route add 10.9.0.0/16 nhid x", '"x"'),
    ("route add 10.9.0.0/16 nhid 99", "99"),
    ("route add 10.9.0.0/16 type bogus", '"bogus"'),
    ("route add 10.9.0.0/16 type", "type"),
    ("route replace", "route replace"),
    ("route replace 10.9.0.0/16 via 10.0.9.9", "10.0.9.9"),
    ("route del", "route del"),
    ("route del x", '"x"'),
    ("route del 10.9.0.0/16", "10.9.0.0/16"),
    ("route del 0.0.0.0/0 metric x", '"x"'),
    ("route flush", "bad arguments"),
    ("route flush cache now", "bad arguments"),
    ("route show cache extra", '"extra"'),
    ("route load", "route load"),
    ("route load /nonexistent.txt", "via"),
    ("route load /nonexistent.txt via 10.0.1.2", "/nonexistent.txt"),
    ("route load /etc/hostname via x", '"x"'),
    ("rule add", "rule add"),
    ("rule add pref x table main", '"x"'),
    ("rule add pref 0 table main", "pref 0"),
    ("rule add from x table main", '"x"'),
    ("rule add table", "table"),
    ("rule add from 10.0.0.0/8", "table"),
    ("rule add blackhole prohibit", "prohibit"),
    ("rule add tos 0x11 table main", "ECN"),
    ("rule add fwmark x table main", "fwmark `x`"),
    ("rule add iif p9 table main", "p9"),
    ("rule add pref 5 table main bogus", '"bogus"'),
    ("rule del pref x", '"x"'),
    ("rule del pref 77", 'no rule matches "pref 77"'),
    ("rule show x", "bad arguments"),
    ("nexthop add", "nexthop add"),
    ("nexthop add id", "id"),
    ("nexthop add id 0 via 10.0.1.2", "0"),
    ("nexthop add id x via 10.0.1.2", '"x"'),
    ("nexthop add id 5", "nexthop 5 needs via ADDR"),
    ("nexthop add id 5 group", "group"),
    ("nexthop add id 5 group 1,0", "weight"),
    ("nexthop add id 5 group 1/99", "99"),
    ("nexthop add id 5 via 10.0.1.2 bogus", '"bogus"'),
    ("nexthop add id 1 via 10.0.1.2", "1"),
    ("nexthop del", "nexthop del"),
    ("nexthop del id x", '"x"'),
    ("nexthop replace id 99 via 10.9.9.9", "10.9.9.9"),
    ("nexthop show x", "bad arguments"),
    ("neigh add", "neigh add"),
    ("neigh add 10.0.1.9", "dev PORT is required"),
    ("neigh add 10.0.1.9 lladdr", "lladdr"),
    ("neigh add 10.0.1.9 lladdr zz dev p0", '"zz"'),
    ("neigh add 10.0.1.9 lladdr 02:00:00:00:01:09", "dev"),
    ("neigh add 10.0.1.9 lladdr 02:00:00:00:01:09 dev p9", "p9"),
    ("neigh add 10.0.1.9 lladdr 02:00:00:00:01:09 dev p0 nud bogus", '"bogus"'),
    ("neigh add x lladdr 02:00:00:00:01:09 dev p0", '"x"'),
    ("neigh del", "neigh del"),
    ("neigh del 10.0.1.9", "dev"),
    ("neigh flush dev", "dev"),
    ("neigh show dev", "dev"),
    ("neigh show dev p9", "p9"),
    ("neigh bogus", 'bad arguments for "neigh bogus"'),
    ("quit now", "bad arguments"),
    ("exit 0", "bad arguments"),
    ("\x00", 'unknown command "\\0"'),
    ("\x1b[2J", 'unknown command "\\u{1b}[2J"'),
    ("route get " + "y" * 60_000, "… (60000 bytes)"),
]


@pytest.mark.parametrize("line,says", BAD_COMMANDS, ids=[c[0][:40] for c in BAD_COMMANDS])
def test_bad_command_gets_one_error_line(fp, line, says):
    out = raw(fp.sock, line.encode() + b"\n").decode("utf-8", "replace")
    one_error(out, says)
    assert fp.proc.poll() is None


def test_after_every_bad_command_nothing_changed(fp):
    """The bad commands changed nothing: the same routes, rules, next hops and
    neighbours, forwarding still on, and the instance answers."""
    fp.alive()
    routes = ctl(fp.sock, "route", "show").stdout
    assert "10.9.0.0/16" not in routes and "default via 10.0.1.2 dev p0" in routes, routes
    assert "10.0.1.9" not in ctl(fp.sock, "neigh", "show").stdout
    assert "id 5" not in ctl(fp.sock, "nexthop", "show").stdout
    rules = ctl(fp.sock, "rule", "show").stdout.splitlines()
    assert len(rules) == 3, rules  # local, main, default: no rule was added
    r = ctl(fp.sock, "start")
    assert "Packet forwarding already started" in r.stdout, r  # `stop now` did not stop it


def test_fastpath_ctl_arguments(fp, tmp_path):
    """fastpath-ctl's own bad input: a missing socket, an option it does not know, and
    an argument holding a newline (it would be a second command: `quit`)."""
    r = ctl(str(tmp_path / "nosuch.sock"), "help")
    assert r.returncode == 1 and "cannot connect to" in r.stderr, r
    r = subprocess.run([CTL, "--bogus"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "--bogus" in r.stderr, r
    r = ctl(fp.sock, "show fwd stats\nquit")
    assert r.returncode == 2 and "newline" in r.stderr, r
    r = ctl(fp.sock, "")
    assert r.returncode == 2 and "empty" in r.stderr, r
    fp.alive()


# ------------------------------------------------------------------ the socket


def test_garbage_and_binary_get_an_error_each(fp):
    rnd = random.Random(12)
    cases = [
        b"\x00\x01\x02\x03\n",
        b"\xff\xfe\xfd\n",
        b"\x80abc\n",
        bytes(rnd.randrange(256) for _ in range(4096)).replace(b"\n", b"") + b"\n",
        bytes(rnd.randrange(256) for _ in range(100)).replace(b"\n", b""),  # no newline, then EOF
    ]
    for data in cases:
        out = raw(fp.sock, data).decode("utf-8", "replace")
        one_error(out)
    fp.alive()


def test_blank_lines_in_a_batch_are_skipped(fp):
    """A script piped to the socket may have blank lines: they are not commands (no
    reply), and what follows them runs."""
    out = raw(fp.sock, b"\n\nshow fib stats\n\n").decode()
    assert "FIB version" in out and "error" not in out, out


def test_binary_without_newline_on_an_open_connection_is_answered(fp):
    """Binary bytes with no newline and the connection left open: a newline never comes,
    but the client is told at once that this is not a command."""
    t = time.time()
    out = raw(fp.sock, bytes(range(256)).replace(b"\n", b""), close_write=False,
              timeout=10).decode("utf-8", "replace")
    one_error(out, "not valid UTF-8")
    assert time.time() - t < 5


def test_a_10_mb_line_without_newline(fp):
    t = time.time()
    out = raw(fp.sock, b"route add " + b"x" * 10_000_000, timeout=30).decode()
    one_error(out, f"command line longer than {LINE_MAX} bytes")
    assert time.time() - t < 10
    out = raw(fp.sock, b"y" * 10_000_000 + b"\nshow fib stats\n", timeout=30).decode()
    first, rest = out.split("\n", 1)
    one_error(first, "longer than")
    assert "FIB version" in rest, "the command after the long line ran"
    fp.alive()


def test_disconnects_mid_command(fp):
    # Half a command, then gone.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(fp.sock)
    s.sendall(b"route add 10.77.0.0/16 via 10.0.1")
    s.close()
    # A command whose reply is never read.
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(fp.sock)
        s.sendall(b"help\nshow config\nroute show\n")
        s.close()
    # Reset by the peer (SO_LINGER 0) in the middle of a long line.
    import struct
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(fp.sock)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(b"route get " + b"1" * 30000)
    s.close()
    time.sleep(0.2)
    fp.alive()
    assert "10.77.0.0/16" not in ctl(fp.sock, "route", "show").stdout


# ------------------------------------------------------------------ start-up


def start(tmp, text, extra_eal=()):
    cfg = os.path.join(tmp, "start.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    prefix = f"fpbads{os.getpid()}"
    try:
        return subprocess.run(
            [BIN, *EAL, *extra_eal, "--file-prefix", prefix, "--", "--config", cfg,
             "--ctl-socket", os.path.join(tmp, "s.sock"), "--idle-exit", "100"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
            timeout=30)
    finally:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="fastpath-badstart.")
    yield d
    shutil.rmtree(d, ignore_errors=True)


STARTUP = [
    # (what, devices or a config transformation, EAL options, pieces of the error line)
    ("unknown driver", ["net_bogus0"], [], ["device net_bogus0", "no such driver", "net_pcap"]),
    ("unknown driver with args", ["net_bogus0,iface=x"], [], ["net_bogus0", "no such driver"]),
    ("unknown driver as --vdev", None, ["--vdev", "net_bogus0"], ["net_bogus0", "no such driver"]),
]


@pytest.mark.parametrize("what,devices,eal,words", STARTUP, ids=[s[0] for s in STARTUP])
def test_bad_device_exits_2_naming_it(tmp, what, devices, eal, words):
    p = start(tmp, ports_yaml(tmp, devices), eal)
    errors = [l for l in p.stderr.splitlines() if l.startswith("error: ")]
    assert p.returncode == 2, f"exit {p.returncode}: {p.stderr[-2000:]}"
    assert len(errors) == 1, p.stderr
    for w in words:
        assert w in errors[0], f"{w!r} not in {errors[0]!r}"
    for noise in ("errno", "Bad address", "Success"):
        assert noise not in errors[0], errors[0]


CONFIGS = [
    ("duplicate key", "settings:\n  burst: 32\n  burst: 64\n", ":7:3: settings: duplicate field `burst`"),
    ("unknown key", "settings:\n  brust: 32\n", ":6:3: settings: unknown field `brust`"),
    ("wrong type", "settings:\n  burst: many\n", ':6:10: settings.burst: invalid type: string "many"'),
    ("out of range", "settings:\n  burst: 0\n", ":6:10: burst 0 is out of range (1 to 256)"),
    ("10 MB value", "settings:\n  metrics_listen: " + "x" * 10_000_000 + "\n", "… (10000000 bytes)"),
]


@pytest.mark.parametrize("what,extra,says", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_config_exits_2_with_one_line(tmp, what, extra, says):
    for args in (["--check"], None):
        text = ports_yaml(tmp) + "tables: []\n" + extra
        if args:
            cfg = os.path.join(tmp, "start.yaml")
            with open(cfg, "w") as f:
                f.write(text)
            p = subprocess.run([BIN, "--check", cfg], capture_output=True, text=True, timeout=30)
        else:
            p = start(tmp, text)
        assert p.returncode == 2, (p.returncode, p.stderr[:2000])
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and len(lines[0]) < 2000, p.stderr[:2000]
        assert says in lines[0], lines[0]
