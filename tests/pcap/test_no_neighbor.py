"""A next hop without a neighbour entry: the packet is dropped as no_neighbor and never
leaves with a wrong MAC. Resolving it (an ARP request on the egress port, as Linux would
send) is allowed but not required by the contract."""

import pytest
from scapy.layers.l2 import ARP, Ether

from fastpath_run import R1_IP, R1_MAC, assert_clean_exit, run_router
from packets import N0_IP, frame, hexd, udp_ip

CONFIG = {"p1_mtu": 1280, "extra_routes": ("{ prefix: 100.100.0.0/16, via: 10.0.2.3 }",)}
TARGETS = {"100.100.1.1": "10.0.2.3", "10.0.2.77": "10.0.2.77"}  # destination -> next hop
FRAMES = [frame(0, udp_ip(f"no_neighbor_{d}", N0_IP, d)[0]) for d in TARGETS]


@pytest.fixture(scope="module")
def run():
    return run_router({0: FRAMES}, config_kwargs=CONFIG)


def test_clean_exit(run):
    assert_clean_exit(run)


def test_counters(run):
    got = {k: run.counter(k) for k in ("rx_packets", "no_neighbor", "forwarded")}
    assert got == {"rx_packets": 2, "no_neighbor": 2, "forwarded": 0}, run.describe()
    assert run.counter("tx_packets") == len(run.all_out())


def test_only_arp_requests_out(run):
    for port, f in run.all_out():
        eth = Ether(f)
        ok = (port == 1 and eth.type == 0x0806 and ARP in eth and eth[ARP].op == 1
              and eth.src == R1_MAC and eth.dst == "ff:ff:ff:ff:ff:ff"
              and eth[ARP].hwsrc == R1_MAC and eth[ARP].psrc == R1_IP
              and eth[ARP].pdst in TARGETS.values())
        assert ok, f"unexpected frame on p{port} (only ARP requests for the next hops " \
                   f"from p1 are allowed):\n{hexd(f)}"
