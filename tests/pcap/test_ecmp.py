"""ECMP: a route with two gateways (one on each port). Every flow stays on one member,
flows spread over both in proportion to the weights, and the hash policy decides what a
flow is (fib_multipath_hash_policy 0: addresses; 1: addresses + protocol + ports)."""

from collections import defaultdict

import pytest
from scapy.all import IP, UDP, Ether

from fastpath_run import N0_MAC, N1_MAC, R0_MAC, assert_clean_exit, config_yaml, run_router

DST = "100.64.0.1"


def config(policy: int, via: str) -> str:
    text = config_yaml("{workdir}", extra_routes=(f"{{ prefix: 100.64.0.0/16, via: {via} }}",))
    return text.replace("settings: {", f"settings: {{ fib_multipath_hash_policy: {policy}, ")


def flows_frames(flows):
    """3 packets per flow (src, sport), interleaved; the flow id is in the payload."""
    frames = []
    for rep in range(3):
        for i, (src, sport) in enumerate(flows):
            pkt = IP(src=src, dst=DST, ttl=64, id=rep) / UDP(sport=sport, dport=53) / f"flow{i:05d}".encode()
            frames.append(bytes(Ether(dst=R0_MAC, src=N0_MAC) / pkt))
    return frames


def placement(run):
    """flow id -> set of output ports; checks each output frame on the way."""
    where = defaultdict(set)
    for port, mac in ((0, N0_MAC), (1, N1_MAC)):
        for f in run.out.get(port, []):
            e = Ether(f)
            assert e.dst == mac, f"port {port}: next-hop MAC {e.dst}"
            assert e[IP].ttl == 63 and e[IP].dst == DST
            where[bytes(e[UDP].payload).decode()].add(port)
    return where


def check_spread(where, nflows, share_p0, tol=0.12):
    assert len(where) == nflows, f"{nflows - len(where)} flows lost"
    split = [f for f, ports in where.items() if len(ports) != 1]
    assert not split, f"flows split over both members: {split[:5]}"
    p0 = sum(1 for ports in where.values() if ports == {0}) / nflows
    assert abs(p0 - share_p0) <= tol, f"share on member 1 is {p0:.2f}, expected {share_p0}"


@pytest.mark.parametrize("policy", [0, 1])
def test_flows_by_address_spread_and_stick(policy):
    flows = [(f"172.16.{i // 250}.{i % 250 + 1}", 1000) for i in range(300)]
    run = run_router({0: flows_frames(flows)}, config=config(policy, "[10.0.1.2, 10.0.2.2]"))
    assert_clean_exit(run)
    check_spread(placement(run), len(flows), 0.5)


def test_l4_policy_spreads_ports_of_one_host_pair():
    flows = [("172.16.0.1", 1000 + i) for i in range(300)]
    run = run_router({0: flows_frames(flows)}, config=config(1, "[10.0.1.2, 10.0.2.2]"))
    assert_clean_exit(run)
    check_spread(placement(run), len(flows), 0.5)


def test_l3_policy_keeps_one_host_pair_on_one_member():
    flows = [("172.16.0.1", 1000 + i) for i in range(50)]
    run = run_router({0: flows_frames(flows)}, config=config(0, "[10.0.1.2, 10.0.2.2]"))
    assert_clean_exit(run)
    where = placement(run)
    assert len({p for ports in where.values() for p in ports}) == 1, "policy 0 hashes addresses only"


def test_weights():
    flows = [(f"172.16.{i // 250}.{i % 250 + 1}", 1000) for i in range(400)]
    via = "[{ address: 10.0.1.2, weight: 3 }, { address: 10.0.2.2, weight: 1 }]"
    run = run_router({0: flows_frames(flows)}, config=config(0, via))
    assert_clean_exit(run)
    check_spread(placement(run), len(flows), 0.75, tol=0.08)
