"""ICMP redirects judged by a Linux host (issue 7): h1's default gateway is fastpath, but
the route to 192.0.2.0/24 is through another router, r2, on the same LAN. fastpath
forwards h1's packets back out of the port they came in on, to r2, and tells h1 with an
ICMP redirect; h1's kernel (accept_redirects=1) installs it, so `ip route get` on h1 names
r2, and the ping keeps working throughout. fastpath has no static neighbour: it resolves
h1 and r2 by ARP.

    h1 10.0.1.2 ---+
                   br0 (namespace sw) --- p0 [fastpath 10.0.1.1]
    r2 10.0.1.3 ---+   (r2 also has 192.0.2.1)

Each namespace, and fastpath, is removed at the end, also when a check fails.
"""

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from labnet import BIN, ctl, sh
ID = f"rd{os.getpid() % 100000}"
SW, H1, R2, FP = (f"{ID}-{n}" for n in ("sw", "h1", "r2", "fp"))

CONFIG = """\
ports:
  - { name: p0, device: "net_af_packet0,iface=p0", mtu: 1500, addresses: [10.0.1.1/24] }
routes:
  - { prefix: 192.0.2.0/24, via: 10.0.1.3 }
settings: { arp_notify: true }
"""






@pytest.fixture(scope="module")
def lab():
    tmp = Path(tempfile.mkdtemp(prefix="fastpath-redirect-"))
    fp = None
    try:
        for ns in (SW, H1, R2, FP):
            sh("ip", "netns", "add", ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "br0", "type", "bridge", ns=SW)
        sh("ip", "link", "set", "br0", "up", ns=SW)
        for ns, ifname, mac in ((H1, "eth0", "02:00:00:00:01:02"), (R2, "eth0", "02:00:00:00:01:03"),
                                (FP, "p0", "02:00:00:00:00:01")):
            sh("ip", "link", "add", f"to-{ns[-2:]}", "netns", SW, "type", "veth",
               "peer", "name", ifname, "netns", ns, "address", mac)
            sh("ip", "link", "set", f"to-{ns[-2:]}", "master", "br0", "up", ns=SW)
            sh("ethtool", "-K", ifname, "tx", "off", "rx", "off", "tso", "off", "gso", "off",
               "gro", "off", ns=ns, check=False)
            sh("ip", "link", "set", ifname, "up", ns=ns)
        sh("ip", "addr", "add", "10.0.1.2/24", "dev", "eth0", ns=H1)
        sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=H1)
        sh("sysctl", "-qw", "net.ipv4.conf.all.accept_redirects=1",
           "net.ipv4.conf.eth0.accept_redirects=1", ns=H1)
        sh("ip", "addr", "add", "10.0.1.3/24", "dev", "eth0", ns=R2)
        sh("ip", "addr", "add", "192.0.2.1/32", "dev", "lo", ns=R2)
        cfg = tmp / "redirect.yaml"
        cfg.write_text(CONFIG)
        sock = tmp / "ctl.sock"
        log = open(tmp / "fastpath.log", "w")
        fp = subprocess.Popen(
            ["ip", "netns", "exec", FP, str(BIN / "fastpath"), "-l", "0-1", "--no-huge", "-m", "512",
             "--no-pci", "--no-shconf", "--file-prefix", ID, "--log-level=*:warning", "--",
             "--config", str(cfg), "--ctl-socket", str(sock)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while ctl(sock, "show port info all").returncode != 0:
            assert fp.poll() is None, (tmp / "fastpath.log").read_text()
            assert time.monotonic() < deadline, "fastpath did not start"
            time.sleep(0.1)
        yield {"sock": sock, "fp": fp, "log": tmp / "fastpath.log"}
    finally:
        if fp is not None and fp.poll() is None:
            os.killpg(fp.pid, signal.SIGTERM)
            try:
                fp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(fp.pid, signal.SIGKILL)
                fp.wait()
        for ns in (SW, H1, R2, FP):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp), f"/var/run/dpdk/{ID}"], capture_output=True)


def test_host_installs_the_redirect_and_keeps_pinging(lab):
    before = sh("ip", "route", "get", "192.0.2.1", ns=H1).stdout
    assert "via 10.0.1.1" in before, before
    ping = sh("ping", "-c", "3", "-i", "0.3", "-W", "2", "192.0.2.1", ns=H1, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    after = sh("ip", "route", "get", "192.0.2.1", ns=H1).stdout
    # Linux shows the redirected next hop in its route cache: "via 10.0.1.3 ... cache <redirected>".
    assert "via 10.0.1.3" in after and "redirected" in after, after
    again = sh("ping", "-c", "2", "-i", "0.3", "-W", "2", "192.0.2.1", ns=H1, check=False)
    assert again.returncode == 0, again.stdout
    stats = ctl(lab["sock"], "show fwd stats").stdout
    assert "redirects_sent:" in stats, stats
    neigh = ctl(lab["sock"], "show neigh").stdout
    assert "10.0.1.2 dev p0 lladdr 02:00:00:00:01:02" in neigh, neigh
    assert "10.0.1.3 dev p0 lladdr 02:00:00:00:01:03" in neigh, neigh


def test_clean_exit_and_no_leak(lab):
    ctl(lab["sock"], "quit")
    assert lab["fp"].wait(timeout=15) == 0
    text = lab["log"].read_text()
    assert "mbufs in use after shutdown: 0 of" in text, text[-2000:]
