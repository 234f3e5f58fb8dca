"""A fastpath instance for the operations tests: two net_pcap ports, p0 receiving N UDP
frames for 10.0.2.2 (a static neighbour on p1), read once or replayed forever."""
import os
import socket
import subprocess
import tempfile
import time

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("FASTPATH_BIN", os.path.join(REPO, "target", "release", "fastpath"))
CTL = os.path.join(os.path.dirname(BIN), "fastpath-ctl")
N = 100
R0, R1 = "02:00:00:00:00:01", "02:00:00:00:00:02"
H2 = "02:00:00:00:02:02"


def ctl(sock, *words):
    return subprocess.run([CTL, "--socket", sock, *words], capture_output=True, text=True,
                          timeout=30).stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Instance:
    """fastpath on two net_pcap ports; p0 receives N frames for 10.0.2.2, once or (with
    `infinite`) replayed forever; EAL with `eal` (default: no hugepages)."""

    def __init__(self, settings="", args=(), infinite=False, eal=("--no-huge", "-m", "256")):
        self.tmp = tempfile.mkdtemp(prefix="fastpath-ops.")
        self.prefix = f"ops{os.getpid()}_{id(self) & 0xffff}"
        self.sock = os.path.join(self.tmp, "ctl.sock")
        frames = [Ether(src="02:00:00:00:01:02", dst=R0) / IP(src="10.0.1.2", dst="10.0.2.2")
                  / UDP(sport=1000 + i, dport=9) / (b"x" * 18) for i in range(N)]
        wrpcap(os.path.join(self.tmp, "in0.pcap"), frames)
        wrpcap(os.path.join(self.tmp, "in1.pcap"), [])
        cfg = os.path.join(self.tmp, "ops.yaml")
        rx0 = f"rx_pcap={self.tmp}/in0.pcap" + (",infinite_rx=1" if infinite else "")
        tx1 = "" if infinite else f",tx_pcap={self.tmp}/out1.pcap"
        with open(cfg, "w") as f:
            f.write(f"""ports:
  - {{ name: p0, device: "net_pcap0,{rx0},tx_pcap={self.tmp}/out0.pcap", mac: "{R0}", addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_pcap1,rx_pcap={self.tmp}/in1.pcap{tx1}", mac: "{R1}", addresses: [10.0.2.1/24] }}
neighbors:
  - {{ address: 10.0.2.2, mac: "{H2}", port: p1 }}
settings: {{ arp_notify: false{settings} }}
""")
        self.proc = subprocess.Popen(
            [BIN, "-l", "0-1", *eal, "--no-pci", "--file-prefix", self.prefix,
             "--log-level=*:error", "--", "--config", cfg, "--ctl-socket", self.sock, *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        end = time.time() + 60
        while not (os.path.exists(self.sock) and "Totals" in ctl(self.sock, "show fwd stats")):
            if self.proc.poll() is not None or time.time() > end:
                self.stop()
                pytest.fail(f"fastpath did not start:\n{self.out}")
            time.sleep(0.1)
        # Every frame forwarded (the pcap is read once).
        while not infinite and f"forwarded: {N}" not in ctl(self.sock, "show fwd stats"):
            if time.time() > end:
                pytest.fail("the frames were not forwarded:\n" + ctl(self.sock, "show fwd stats"))
            time.sleep(0.1)

    @property
    def telemetry_path(self):
        return f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2"

    def stop(self):
        if self.proc.poll() is None:
            ctl(self.sock, "quit")
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out = self.proc.stdout.read()
        subprocess.run(["rm", "-rf", self.tmp, f"/var/run/dpdk/{self.prefix}"], check=False)


