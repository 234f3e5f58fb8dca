"""The control plane used as a user would: commands over the control socket and at the
interactive prompt of a running instance (idle net_pcap ports, the full RouteViews table
loaded), each checked for what it answers and for what it must not do to the instance
(crash it, pin its memory, lock other clients out, leave half a change behind).

Run as root: /usr/bin/python3 -m pytest tests/ctl -q
"""
import fcntl
import os
import pty
import re
import select
import signal
import socket
import subprocess
import tempfile
import termios
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# FASTPATH_BIN names the binary, or FASTPATH_BIN_DIR its directory (with fastpath-ctl).
BIN = os.environ.get("FASTPATH_BIN") or os.path.join(
    os.environ.get("FASTPATH_BIN_DIR", os.path.join(REPO, "target", "release")), "fastpath")
CTL = os.path.join(os.path.dirname(BIN), "fastpath-ctl")
RV2 = os.path.join(REPO, "..", "shared", "data", "rv2-20240406.ipv4.pfx-origin.txt.xz")
EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")


def config(tmp, extra=""):
    with open(os.path.join(tmp, "empty.pcap"), "wb") as f:
        f.write(EMPTY_PCAP)
    path = os.path.join(tmp, "ctl.yaml")
    with open(path, "w") as f:
        f.write("ports:\n")
        for i in (0, 1):
            f.write(f"  - {{ name: p{i}, device: \"net_pcap{i},rx_pcap={tmp}/empty.pcap,"
                    f"tx_pcap={tmp}/out{i}.pcap\", addresses: [10.0.{i + 1}.1/24] }}\n")
        f.write(extra)
    return path


class Instance:
    """One fastpath process on idle pcap ports, with its control socket."""

    def __init__(self, extra="", args=(), **popen):
        self.tmp = tempfile.mkdtemp(prefix="fastpath-ctl.")
        self.sock = os.path.join(self.tmp, "ctl.sock")
        cfg = config(self.tmp, extra)
        self.cmd = [BIN, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=*:error", "--", "--config", cfg, "--ctl-socket", self.sock, *args]
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.STDOUT)
        self.proc = subprocess.Popen(self.cmd, **popen)

    def wait_ready(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if os.path.exists(self.sock) and ctl(self.sock, "help").returncode == 0:
                return self
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                pytest.fail(f"fastpath exited at start ({self.proc.returncode}):\n{out}")
            time.sleep(0.05)
        pytest.fail("fastpath did not come up")

    def status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def stop(self):
        if self.proc.poll() is None:
            ctl(self.sock, "quit")
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["rm", "-rf", self.tmp])


def ctl(sock, *words, input=None, timeout=60):
    args = [CTL, "--socket", sock, *words]
    return subprocess.run(args, input=input, capture_output=True, timeout=timeout,
                          text=isinstance(input, str) or input is None)


def raw(sock, data, timeout=10):
    """Sends bytes on a fresh connection, closes the write side, returns all it got."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


@pytest.fixture(scope="module")
def fp():
    """The full table (998,042 prefixes) over two gateways, a named table, a rule."""
    extra = (
        f"route_files:\n  - {{ path: {RV2}, via: [10.0.1.2, 10.0.2.2] }}\n"
        "tables: [{ id: 100, name: isp2 }]\n"
        "routes:\n  - { prefix: 0.0.0.0/0, via: 10.0.1.2 }\n"
        "  - { prefix: 0.0.0.0/0, via: 10.0.2.2, table: isp2 }\n"
        "rules:\n  - { pref: 100, from: 192.0.2.0/24, table: isp2 }\n"
        "  - { pref: 200, iif: p1, to: 198.51.100.0/24, type: blackhole }\n"
        "  - { pref: 300, fwmark: 1, table: isp2 }\n"
    )
    inst = Instance(extra).wait_ready()
    yield inst
    inst.stop()


def alive(fp):
    r = ctl(fp.sock, "show", "fib", "stats")
    assert r.returncode == 0 and "FIB version" in r.stdout, r
    assert fp.proc.poll() is None


# ------------------------------------------------------------------ no input kills it


@pytest.mark.parametrize("line", [
    "route del 8.8.8.0/24 via 8.8.8.8",
    "route del 8.8.8.0/24 dev p9",
    "route del 8.8.8.0/24 via 255.255.255.255",
    "route del 8.8.8.0/24 nexthop via 8.8.8.8 nexthop via 10.0.1.2",
    "route del 8.8.8.0/24 nexthop via 10.0.1.2 dev p9 nexthop via 10.0.2.2",
    "route del 8.8.8.0/24 nhid 77",
    "route replace 8.8.8.0/24 via 8.8.8.8",
    "nexthop add id 9 via 10.0.3.9",
    "nexthop del id 4294967295",
    "route get 1.1.1.1 iif p9",
    "show port info 7",
    "rule del pref 77",
])
def test_bad_targets_are_errors_not_crashes(fp, line):
    r = ctl(fp.sock, *line.split())
    assert r.returncode == 1 and r.stdout.startswith("error: "), r
    alive(fp)


def test_broadcast_gateway_is_refused_as_linux_does(fp):
    for gw in ("10.0.1.255", "255.255.255.255", "224.0.0.5", "127.0.0.1"):
        r = ctl(fp.sock, "route", "add", "10.200.0.0/16", "via", gw)
        assert r.returncode == 1 and "invalid gateway" in r.stdout, r
    r = ctl(fp.sock, "route", "add", "10.200.0.0/16", "via", "10.0.1.0")
    assert r.returncode == 0, r  # the network address is a host to Linux
    assert ctl(fp.sock, "route", "del", "10.200.0.0/16").returncode == 0


# ------------------------------------------------------------------ the socket is bounded


def test_clients_that_never_read_pin_no_memory_and_starve_no_one(fp):
    """`route show` of the full table is ~50 MB of text: 30 clients that ask for it and
    never read must not hold 30 copies, and others must still get answers."""
    rss0 = fp.status("VmRSS")
    stuck = []
    for _ in range(30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(fp.sock)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"route show\n")
        stuck.append(s)
    try:
        time.sleep(2.0)  # stalled for over a second: they may be dropped to make room
        t = time.time()
        r = ctl(fp.sock, "show", "fwd", "stats")
        assert r.returncode == 0 and time.time() - t < 3, (r, time.time() - t)
        grown = fp.status("VmRSS") - rss0
        assert grown < 100 * 1024, f"RSS grew by {grown} KiB with 30 stuck readers"
    finally:
        for s in stuck:
            s.close()
    alive(fp)


def test_a_slow_reader_gets_the_whole_listing(fp):
    """The listing is produced piece by piece; a reader that takes it all gets every
    route exactly once, in order."""
    r = ctl(fp.sock, "route", "show")
    lines = r.stdout.splitlines()
    assert r.returncode == 0
    import ipaddress
    best = [l.split()[0] for l in lines if "not installed" not in l and l[0].isdigit()]
    assert len(best) > 998_000, len(best)
    keys = [(int(ipaddress.ip_network(p).network_address), ipaddress.ip_network(p).prefixlen) for p in best]
    assert keys == sorted(set(keys)), "each prefix once, in order"
    assert "1.0.0.0/24 via 10.0.2.2 dev p1 proto file" in lines


def test_idle_clients_cannot_lock_the_cli_out(fp):
    idle = []
    try:
        for _ in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(fp.sock)
            idle.append(s)
        time.sleep(0.5)
        threads = fp.status("Threads")
        assert threads < 40, f"{threads} threads for 300 idle clients"
        t = time.time()
        r = ctl(fp.sock, "help")
        assert r.returncode == 0 and "Commands:" in r.stdout and time.time() - t < 3
    finally:
        for s in idle:
            s.close()


def test_not_utf8_gets_an_error_and_the_next_command_runs(fp):
    out = raw(fp.sock, b"show \xff\xfe stats\nshow fib stats\n").decode("utf-8", "replace")
    assert out.startswith("error: the command is not valid UTF-8"), out
    assert "FIB version" in out


def test_huge_tokens_are_not_echoed(fp):
    out = raw(fp.sock, b"route add " + b"x" * 10_000_000 + b"\nhelp\n", timeout=30).decode()
    first = out.splitlines()[0]
    assert first.startswith("error: command line longer than") and len(first) < 200, first[:300]
    assert "Commands:" in out
    r = ctl(fp.sock, "route", "get", "y" * 60_000)
    assert r.returncode == 1 and len(r.stdout) < 300, r.stdout[:300]
    assert "… (60000 bytes)" in r.stdout


# ------------------------------------------------------------------ fastpath-ctl


def test_ctl_exit_codes(fp, tmp_path):
    assert ctl(fp.sock, "route", "get", "nonsense").returncode == 1
    assert ctl(fp.sock, "help").returncode == 0
    # A reader that stops after one line: no panic, no message, exit 0.
    r = subprocess.run(f"set -o pipefail; {CTL} --socket {fp.sock} route show | head -1",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "" and len(r.stdout.splitlines()) == 1, r
    # A server that closes without a word: exit 1.
    path = str(tmp_path / "mute.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    p = subprocess.Popen([CTL, "--socket", path, "help"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    conn, _ = srv.accept()
    conn.close()
    out, err = p.communicate(timeout=10)
    assert p.returncode == 1 and "no reply" in err, (p.returncode, out, err)
    srv.close()


# ------------------------------------------------------------------ route load


def test_route_load_refuses_what_is_not_a_regular_file(fp, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rss0 = fp.status("VmRSS")
    for path in ("/dev/zero", str(fifo), str(tmp_path)):
        t = time.time()
        r = ctl(fp.sock, "route", "load", path, "via", "10.0.1.2", timeout=10)
        assert r.returncode == 1 and "not a regular file" in r.stdout, r
        assert time.time() - t < 2
    assert fp.status("VmRSS") - rss0 < 20 * 1024
    alive(fp)


def test_a_failed_load_changes_nothing(fp, tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("203.0.113.0/25\n203.0.113.128/25\n203.0.113.77/25\n")
    r = ctl(fp.sock, "route", "load", str(f), "via", "10.0.2.2")
    assert r.returncode == 1 and "bad.txt:3:1:" in r.stdout and "nothing was loaded" in r.stdout, r
    assert "no routes" in ctl(fp.sock, "route", "show", "203.0.113.0/25").stdout
    # The next unrelated change publishes nothing of it either.
    assert ctl(fp.sock, "route", "add", "192.0.2.0/24", "via", "10.0.2.2").returncode == 0
    assert "no routes" in ctl(fp.sock, "route", "show", "203.0.113.0/25").stdout
    get = ctl(fp.sock, "route", "get", "203.0.113.1").stdout
    assert "203.0.113.0/25" not in get, get
    assert ctl(fp.sock, "route", "del", "192.0.2.0/24").returncode == 0
    f.write_text("203.0.113.0/25\n203.0.113.128/25\n")
    r = ctl(fp.sock, "route", "load", str(f), "via", "10.0.2.2")
    assert r.returncode == 0 and "loaded 2 routes" in r.stdout, r
    assert "203.0.113.0/25 via 10.0.2.2" in ctl(fp.sock, "route", "show", "203.0.113.0/25").stdout
    assert ctl(fp.sock, "route", "del", "203.0.113.0/25").returncode == 0
    assert ctl(fp.sock, "route", "del", "203.0.113.128/25").returncode == 0


def test_the_cli_answers_during_a_load(fp):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(fp.sock)
    s.sendall(f"route load {RV2} via 10.0.1.2 metric 50 table 300\n".encode())
    s.shutdown(socket.SHUT_WR)
    t = time.time()
    busy = ctl(fp.sock, "route", "load", RV2, "via", "10.0.1.2")
    assert "one is running already" in busy.stdout, busy
    assert ctl(fp.sock, "show", "fwd", "stats").returncode == 0
    answered = time.time() - t
    s.settimeout(120)
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    loaded = time.time() - t
    assert b"loaded 998042 routes" in out, out
    assert answered < loaded, (answered, loaded)
    assert "table 300" in ctl(fp.sock, "route", "show", "table", "300", "1.0.0.0/24").stdout


def test_sigterm_during_a_load_stops_the_router():
    inst = Instance().wait_ready()
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(inst.sock)
        s.sendall(f"route load {RV2} via 10.0.1.2\n".encode())
        time.sleep(0.1)
        inst.proc.send_signal(signal.SIGTERM)
        out, _ = inst.proc.communicate(timeout=10)
        out = out.decode()
        assert inst.proc.returncode == 0, out
        assert "mbufs in use after shutdown: 0 of" in out
    finally:
        inst.stop()


# ------------------------------------------------------------------ displays


def test_nexthop_del_of_an_unused_object_as_linux(fp):
    """Linux deletes an object no route uses (a plain route to the same gateway does not
    use it), and with it the routes that do."""
    assert ctl(fp.sock, "nexthop", "add", "id", "5", "via", "10.0.1.2").returncode == 0
    r = ctl(fp.sock, "nexthop", "del", "id", "5")
    assert r.returncode == 0 and "its 0 route(s)" in r.stdout, r
    assert ctl(fp.sock, "nexthop", "add", "id", "5", "via", "10.0.1.2").returncode == 0
    assert ctl(fp.sock, "route", "add", "198.18.0.0/15", "nhid", "5").returncode == 0
    assert "198.18.0.0/15 nhid 5 via 10.0.1.2 dev p0" in ctl(fp.sock, "route", "show", "198.18.0.0/15").stdout
    r = ctl(fp.sock, "nexthop", "del", "id", "5")
    assert r.returncode == 0 and "its 1 route(s)" in r.stdout, r
    assert "no routes" in ctl(fp.sock, "route", "show", "198.18.0.0/15").stdout


@pytest.mark.parametrize("value, says", [
    ("67", "is not an MTU (68 to 2026)"),
    ("2027", "is not an MTU (68 to 2026)"),
    ("x", "is not an MTU"),
    ("-1", "is not an MTU"),
])
def test_port_config_mtu_refuses_what_is_not_an_mtu(fp, value, says):
    r = ctl(fp.sock, "port", "config", "mtu", "1", value)
    assert r.returncode == 1 and says in r.stdout, r
    assert "no port 7" in ctl(fp.sock, "port", "config", "mtu", "7", "1400").stdout
    assert "MTU: 1500" in ctl(fp.sock, "show", "port", "info", "1").stdout
    alive(fp)


def test_port_config_mtu_changes_the_mtu_in_use(fp):
    """testpmd's `port config mtu`: the pipeline's MTU (pcap cannot change the device's,
    and is not asked to) shows in `show port info` and `show config`."""
    try:
        r = ctl(fp.sock, "port", "config", "mtu", "1", "1280")
        assert r.returncode == 0 and "error" not in r.stdout, r
        assert "MTU: 1280" in ctl(fp.sock, "show", "port", "info", "1").stdout
        assert "MTU: 1500" in ctl(fp.sock, "show", "port", "info", "0").stdout
        assert re.search(r"name: p1\n(.*\n)*?\s+mtu: 1280", ctl(fp.sock, "show", "config").stdout)
        r = ctl(fp.sock, "port", "config", "mtu", "all", "1400")
        assert r.returncode == 0, r
        for i in (0, 1):
            assert "MTU: 1400" in ctl(fp.sock, "show", "port", "info", str(i)).stdout
    finally:
        ctl(fp.sock, "port", "config", "mtu", "all", "1500")
    assert "MTU: 1500" in ctl(fp.sock, "show", "port", "info", "1").stdout
    alive(fp)


def test_rule_and_table_displays_as_iproute2(fp):
    rules = ctl(fp.sock, "rule", "show").stdout.splitlines()
    assert rules == [
        "0:\tfrom all lookup local",
        "100:\tfrom 192.0.2.0/24 lookup isp2",
        "200:\tfrom all to 198.51.100.0/24 iif p1 blackhole",
        "300:\tfrom all fwmark 0x1 lookup isp2",
        "32766:\tfrom all lookup main",
        "32767:\tfrom all lookup default",
    ], rules
    r = ctl(fp.sock, "route", "show", "table", "isp2")
    assert r.returncode == 0 and "default via 10.0.2.2 dev p1 table isp2" in r.stdout.replace("0.0.0.0/0", "default"), r
    get = ctl(fp.sock, "route", "get", "8.8.8.8", "from", "192.0.2.1", "iif", "p0").stdout
    assert "lookup isp2" in get and "table isp2 route" in get, get


@pytest.mark.parametrize("query,says", [
    ("127.0.0.1", "martian destination: dropped"),
    ("224.0.0.5", "multicast: dropped"),
    ("255.255.255.255", "limited broadcast: delivered locally, never forwarded"),
    ("127.0.0.1 from 10.0.1.2 iif p0", "martian destination: dropped"),
    ("8.8.8.8 from 127.0.0.1 iif p0", "martian source: dropped"),
    ("8.8.8.8 from 10.0.1.1 iif p0", "martian source: dropped"),
])
def test_route_get_says_what_the_data_plane_does(fp, query, says):
    out = ctl(fp.sock, "route", "get", *query.split()).stdout
    assert says in out and " via " not in out, out


# ------------------------------------------------------------------ the prompt


def read_until(fd, pattern, timeout=30):
    buf = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if re.search(pattern, buf):
                return buf
    raise AssertionError(f"no {pattern!r} in {buf[-2000:]!r}")


def test_ctrl_c_at_the_prompt_clears_the_line_and_interrupts_listings():
    master, slave = pty.openpty()
    extra = f"route_files:\n  - {{ path: {RV2}, via: [10.0.1.2] }}\n"
    def controlling_tty():  # as a login shell has it: Ctrl-C is SIGINT for the prompt
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    inst = Instance(extra, args=("-i",), stdin=slave, stdout=slave, stderr=slave,
                    preexec_fn=controlling_tty)
    os.close(slave)
    try:
        read_until(master, rb"fastpath> ", timeout=60)
        os.write(master, b"show fw")
        time.sleep(0.2)
        os.write(master, b"\x03")  # Ctrl-C with a half-typed line
        time.sleep(0.5)
        assert inst.proc.poll() is None, "Ctrl-C at the prompt stopped the router"
        os.write(master, b"show fib stats\r")
        out = read_until(master, rb"total \d+ prefixes")
        assert b"show fwshow" not in out, "the half line was not cleared"
        os.write(master, b"route show\r")
        read_until(master, rb"proto file")
        os.write(master, b"\x03")  # Ctrl-C during a million-line listing
        read_until(master, rb"listing interrupted[\s\S]*fastpath> ", timeout=30)
        assert inst.proc.poll() is None
        os.write(master, b"quit\r")
        inst.proc.wait(timeout=20)
        assert inst.proc.returncode == 0
    finally:
        os.close(master)
        if inst.proc.poll() is None:
            inst.proc.kill()
        inst.stop()


def test_check_validates_without_eal(tmp_path):
    good = config(str(tmp_path), f"route_files:\n  - {{ path: {RV2}, via: [10.0.1.2] }}\n")
    r = subprocess.run([BIN, "--check", good], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and ": ok: 2 ports" in lines[0] and "998042 routes from 1 route file(s)" in lines[0], r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(good).read() + "routes:\n  - { prefix: 10.9.0.0/16, via: 10.0.1.255 }\n")
    r = subprocess.run([BIN, "--check", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "", r
    assert re.match(rf"{re.escape(str(bad))}:\d+:\d+: route via 10.0.1.255: invalid gateway", r.stderr), r.stderr
