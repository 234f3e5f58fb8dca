"""testpmd's commands on a running instance, as an engineer used to dpdk-testpmd types
them: `stop` and its forward statistics, `start`, `port stop|start`, `show port xstats`,
`show config rxtx|cores|fwd`, `help`, and TAB completion at the `-i` prompt.

The topology: p0 is a net_pcap port whose rx_pcap holds N UDP frames from 10.0.1.2 to
10.0.2.2, a static neighbour on p1, a net_null port (`no-rx=1`: it receives nothing and
counts what it sends). Each of the N frames is therefore one RX-packet on port 0 and one
TX-packet on port 1. net_pcap opens its files when the port starts, so `port stop 0` then
`port start 0` replays the N frames: with forwarding stopped they must stay unread (no
worker polls), and after `start` they are counted again, since that `start`.

Run as root: FASTPATH_BIN_DIR=target/release /usr/bin/python3 -m pytest tests/ctl -q
"""
import fcntl
import os
import pty
import re
import subprocess
import tempfile
import termios
import time

import pytest

from test_ctl import BIN, Instance, ctl, read_until

N = 25
R0_MAC, N0_MAC = "02:00:00:00:00:01", "02:00:00:00:01:02"


def frames_pcap(path, n):
    """n Ethernet/IPv4/UDP frames from 10.0.1.2 (N0_MAC) to 10.0.2.2, to p0's MAC."""
    from scapy.all import IP, UDP, Ether, Raw, wrpcap
    wrpcap(path, [Ether(src=N0_MAC, dst=R0_MAC) / IP(src="10.0.1.2", dst="10.0.2.2", ttl=64)
                  / UDP(sport=10000 + i, dport=9) / Raw(b"fastpath" * 4) for i in range(n)])


class Router:
    """One fastpath on p0 = net_pcap (N frames), p1 = net_null, with its control socket."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="fastpath-testpmd.")
        self.sock = os.path.join(self.tmp, "ctl.sock")
        frames_pcap(os.path.join(self.tmp, "in0.pcap"), N)
        cfg = os.path.join(self.tmp, "testpmd.yaml")
        with open(cfg, "w") as f:
            f.write(
                "ports:\n"
                f"  - {{ name: p0, device: \"net_pcap0,rx_pcap={self.tmp}/in0.pcap,"
                f"tx_pcap={self.tmp}/out0.pcap\", mac: \"{R0_MAC}\", addresses: [10.0.1.1/24] }}\n"
                "  - { name: p1, device: \"net_null0,no-rx=1\", mac: \"02:00:00:00:00:02\","
                " addresses: [10.0.2.1/24] }\n"
                "neighbors:\n"
                f"  - {{ address: 10.0.1.2, mac: \"{N0_MAC}\", port: p0 }}\n"
                "  - { address: 10.0.2.2, mac: \"02:00:00:00:02:02\", port: p1 }\n"
                "settings: { arp_notify: false }\n")
        self.proc = subprocess.Popen(
            [BIN, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
             "--log-level=*:error", "--", "--config", cfg, "--ctl-socket", self.sock,
             "--auto-start"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.time() + 60
        while not (os.path.exists(self.sock) and ctl(self.sock, "help").returncode == 0):
            if self.proc.poll() is not None:
                pytest.fail(f"fastpath exited at start:\n{self.proc.stdout.read()}")
            if time.time() > end:
                pytest.fail("fastpath did not come up")
            time.sleep(0.05)

    def run(self, line):
        return ctl(self.sock, *line.split())

    def ok(self, line):
        r = self.run(line)
        assert r.returncode == 0 and not r.stdout.startswith("error:"), (line, r)
        return r.stdout

    def refused(self, line, says):
        r = self.run(line)
        assert r.returncode == 1 and r.stdout.startswith("error: ") and says in r.stdout, (line, r)

    def rx_packets(self, port):
        out = self.ok(f"show port stats {port}")
        return int(re.search(r"RX-packets: (\d+)", out).group(1))

    def wait_rx(self, port, n, timeout=10):
        end = time.time() + timeout
        while (got := self.rx_packets(port)) < n and time.time() < end:
            time.sleep(0.02)
        assert got == n, (f"port {port} received {got}, expected {n}\n"
                          + self.run("show port stats all").stdout + self.run("show fwd stats").stdout)

    def close(self):
        if self.proc.poll() is None:
            ctl(self.sock, "quit")
            out, _ = self.proc.communicate(timeout=20)
            assert self.proc.returncode == 0, out
            assert "mbufs in use after shutdown: 0 of" in out, out
        subprocess.run(["rm", "-rf", self.tmp])


@pytest.fixture
def fp():
    r = Router()
    yield r
    r.close()


def block(port, rx, rx_dropped, tx, tx_dropped):
    """testpmd's per-port block, as a regex."""
    return (rf"\n  -{{22}} Forward statistics for port {port:<2} -{{22}}\n"
            rf"  RX-packets: {rx:<14} RX-dropped: {rx_dropped:<14}RX-total: {rx + rx_dropped}\n"
            rf"  TX-packets: {tx:<14} TX-dropped: {tx_dropped:<14}TX-total: {tx + tx_dropped}\n"
            rf"  -{{76}}\n")


def accumulated(rx, tx):
    return (r"\n  \+{15} Accumulated forward statistics for all ports\+{15}\n"
            rf"  RX-packets: {rx:<14} RX-dropped: 0             RX-total: {rx}\n"
            rf"  TX-packets: {tx:<14} TX-dropped: 0             TX-total: {tx}\n"
            r"  \+{76}\n")


def check_stop(out, rx0, tx1):
    assert out.startswith("Telling cores to stop...\nWaiting for lcores to finish...\n"), out
    assert re.search(block(0, rx0, 0, 0, 0), out), out
    assert re.search(block(1, 0, 0, tx1, 0), out), out
    assert re.search(accumulated(rx0, tx1), out), out
    assert f"forwarded {rx0} - dropped 0" in out, out
    assert out.endswith("\nDone.\n"), out


# ------------------------------------------------------------------ start / stop


def test_stop_prints_the_forward_statistics_since_launch(fp):
    fp.wait_rx(0, N)
    check_stop(fp.ok("stop"), N, N)


def test_stop_twice_start_twice_and_counting_since_the_last_start(fp):
    fp.wait_rx(0, N)
    fp.ok("stop")
    fp.refused("stop", "Packet forwarding not started")
    out = fp.ok("start")
    # As testpmd's start: the forwarding configuration, then the rxtx one.
    assert out.startswith("ipv4-routing packet forwarding - ports=2 - cores=1 - streams=2"), out
    assert "ipv4-routing packet forwarding packets/burst=32" in out, out
    fp.refused("start", "Packet forwarding already started")
    # The capture was read before this start: nothing since.
    check_stop(fp.ok("stop"), 0, 0)


def test_stopped_workers_poll_nothing_and_start_resumes(fp):
    fp.wait_rx(0, N)
    fp.ok("stop")
    fp.ok("port stop 0")
    out = fp.ok("port start 0")
    assert "Port 0: 02:00:00:00:00:01" in out and "Port 0 Link up" in out, out
    # net_pcap reopened in0.pcap: N frames wait on port 0, and no worker takes them.
    time.sleep(0.5)
    assert fp.rx_packets(0) == N, "a worker polled RX while forwarding was stopped"
    fp.ok("start")
    fp.wait_rx(0, 2 * N)
    # Counted since that start, not since launch.
    check_stop(fp.ok("stop"), N, N)


def test_port_stop_is_refused_while_forwarding_and_works_after_stop(fp):
    # The first N frames read before the port is stopped (else its restart replays them
    # for the first time, and only N are ever counted).
    fp.wait_rx(0, N)
    fp.refused("port stop 0", "Please stop forwarding first")
    fp.refused("port stop all", "Please stop forwarding first")
    assert "Link status: up" in fp.ok("show port info 0")
    fp.ok("stop")
    out = fp.ok("port stop all")
    assert out.startswith("Stopping ports...\n") and out.endswith("Done\n"), out
    assert "Port 0 Link down" in out and "Port 1 Link down" in out, out
    assert "Link status: down" in fp.ok("show port info p1")
    fp.refused("start", "Not all ports were started: port 0 (p0) is stopped")
    fp.ok("port start p0")
    fp.refused("start", "port 1 (p1) is stopped")
    fp.ok("port start 1")
    fp.refused("port start all", "Please stop the ports first")
    assert "Link status: up" in fp.ok("show port info 1")
    fp.ok("start")
    fp.wait_rx(0, 2 * N)
    assert "forwarded 25" in fp.ok("stop")
    # Commands that need the workers still work while they are stopped.
    assert "connection(s) tracked" in fp.ok("show flows")
    assert "FIB version" in fp.ok("show fib stats")


# ------------------------------------------------------------------ xstats


def test_xstats_list_names_with_values(fp):
    fp.wait_rx(0, N)
    out = fp.ok("show port xstats all")
    p0, p1 = out.split("###### NIC extended statistics for port 1 \n")
    assert p0.startswith("###### NIC extended statistics for port 0 \n"), out
    x0 = dict(l.split(": ") for l in p0.splitlines()[1:])
    x1 = dict(l.split(": ") for l in p1.splitlines())
    assert x0["rx_good_packets"] == str(N) and x0["rx_q0_packets"] == str(N), x0
    assert x1["tx_good_packets"] == str(N) and x1["rx_good_packets"] == "0", x1
    assert all(v.isdigit() for v in list(x0.values()) + list(x1.values()))
    assert "NIC extended statistics for port 0 cleared" in fp.ok("clear port xstats 0")
    assert "rx_good_packets: 0\n" in fp.ok("show port xstats p0")
    # The forward statistics count from the clear, as testpmd's.
    assert re.search(block(0, 0, 0, 0, 0), fp.ok("stop"))
    fp.refused("show port xstats 9", "no port 9")


# ------------------------------------------------------------------ show config


def test_show_config_rxtx_cores_fwd(fp):
    rxtx = fp.ok("show config rxtx")
    assert rxtx.startswith("  ipv4-routing packet forwarding packets/burst=32\n"
                           "  nb forwarding cores=1 - nb forwarding ports=2\n"), rxtx
    assert "  port 0: RX queue number: 1 Tx queue number: 1\n" in rxtx, rxtx
    assert "  port 1: RX queue number: 1 Tx queue number: 2\n" in rxtx, rxtx  # + control's
    assert re.search(r"    RX queue: 0\n      RX desc=\d+ - RX free threshold=\d+\n"
                     r"      RX threshold registers: pthresh=\d+ hthresh=\d+  wthresh=\d+\n"
                     r"      RX Offloads=0x[0-9a-f]+\n    TX queue: 0\n      TX desc=\d+", rxtx), rxtx
    cores = fp.ok("show config cores")
    assert cores.startswith("List of forwarding lcores:  1\n"), cores
    fwd = fp.ok("show config fwd")
    assert fwd.startswith("ipv4-routing packet forwarding - ports=2 - cores=1 - streams=2 -"), fwd
    assert "Logical Core 1 (socket 0) forwards packets on 2 streams:\n" \
           "  RX P=0/Q=0 (socket 0) -> TX routed/Q=0" in fwd, fwd
    assert "  RX P=1/Q=0 (socket 0) -> TX routed/Q=0" in fwd, fwd
    # The YAML one is still there.
    assert fp.ok("show config").startswith("ports:\n")
    fp.refused("show config nonsense", "bad arguments")


def test_help_lists_every_new_command(fp):
    out = fp.ok("help")
    for cmd in ("  start ", "  stop ", "  port stop (all|N)", "  port start (all|N)",
                "  show port xstats (all|N)", "  clear port xstats (all|N)",
                "  show config rxtx", "  show config cores", "  show config fwd"):
        assert cmd in out, cmd


# ------------------------------------------------------------------ the prompt


def test_tab_completes_words_and_ports():
    master, slave = pty.openpty()

    def controlling_tty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    inst = Instance(args=("-i",), stdin=slave, stdout=slave, stderr=slave,
                    preexec_fn=controlling_tty)
    os.close(slave)
    try:
        read_until(master, rb"fastpath> ", timeout=60)
        os.write(master, b"sho\t")
        read_until(master, rb"show ", timeout=10)
        # Sub-words and a port, each by TAB: the line becomes `show port xstats p1 `.
        os.write(master, b"po\txs\tp1\t\r")
        out = read_until(master, rb"NIC extended statistics for port 1[\s\S]*fastpath> ")
        assert b"fastpath> show port xstats p1 " in out and b"error: " not in out, out
        # Several choices: a second TAB lists them.
        os.write(master, b"show config \t\t")
        out = read_until(master, rb"rxtx[\s\S]*fwd", timeout=10)
        assert b"cores" in out, out
        os.write(master, b"\x15quit\r")  # Ctrl-U clears the line
        inst.proc.wait(timeout=20)
        assert inst.proc.returncode == 0
    finally:
        os.close(master)
        if inst.proc.poll() is None:
            inst.proc.kill()
        inst.stop()
