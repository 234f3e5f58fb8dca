"""ICMP rate limit: a token bucket of icmp_msgs_burst tokens refilled at icmp_msgs_per_sec
(Linux icmp_global_allow). 200 TTL=1 packets at once, from distinct sources so that only the
global bucket applies: the first 50 get a time exceeded, the rest are counted as limited
(a few may pass thanks to refill during the run)."""

import pytest

from fastpath_run import assert_clean_exit, run_router
from packets import (MAIN_CONFIG, check_icmp_error, inputs_of, output_key,
                     rate_limit_cases)

N = 200
BURST = 50
CASES = rate_limit_cases(N)
BY_KEY = {c.key: c for c in CASES}


@pytest.fixture(scope="module")
def run():
    return run_router(inputs_of(CASES), config_kwargs=MAIN_CONFIG)


def test_clean_exit(run):
    assert_clean_exit(run)


def test_burst_sent(run):
    sent = len(run.out[0])
    assert not run.out[1], f"{len(run.out[1])} frame(s) on p1"
    assert BURST <= sent <= BURST + 10, f"{sent} ICMP errors out, expected {BURST}..{BURST + 10}"


def test_each_error_is_correct(run):
    seen = set()
    for f in run.out[0]:
        key = output_key(f)
        assert key in BY_KEY, f"output matches no input: {f.hex()}"
        assert key not in seen, f"two errors for one input {key}"
        seen.add(key)
        case = BY_KEY[key]
        check_icmp_error(case.frame, 0, icmp_type=11, code=0)(f)


def test_counters(run):
    sent = len(run.out[0])
    c = run.counter
    got = {k: c(k) for k in ("rx_packets", "ttl_exceeded", "icmp_errors", "icmp_rate_limited",
                             "tx_packets")}
    want = {"rx_packets": N, "ttl_exceeded": N, "icmp_errors": sent,
            "icmp_rate_limited": N - sent, "tx_packets": sent}
    assert got == want, f"{got} != {want}\n{run.describe()}"


def test_per_destination_limit_like_icmp_ratelimit():
    """Linux's icmp_ratelimit (1000 ms, XRLIM_BURST_FACTOR 6) per destination host: 20
    TTL=1 packets from one source at once get 6 time exceeded; 20 more from a second
    source get their own 6; frag-needed to the first source is never limited."""
    from packets import frame, udp_ip
    cases = []
    for src in ("172.18.0.1", "172.18.0.2"):
        for i in range(20):
            pkt, _ = udp_ip(f"pd{src}{i}", src, "8.8.8.8", ttl=1)
            cases.append(frame(0, pkt))
    for i in range(8):
        pkt, _ = udp_ip(f"pdbig{i}", "172.18.0.1", "198.51.100.7", total=1400)
        cases.append(frame(0, pkt))
    run = run_router({0: cases, 1: []}, config_kwargs=MAIN_CONFIG)
    assert_clean_exit(run)
    by_dst = {}
    for f in run.out[0]:
        ip = f[14:]
        key = (".".join(map(str, ip[16:20])), ip[20], ip[21])
        by_dst[key] = by_dst.get(key, 0) + 1
    assert by_dst == {("172.18.0.1", 11, 0): 6, ("172.18.0.2", 11, 0): 6,
                      ("172.18.0.1", 3, 4): 8}, f"{by_dst}\n{run.describe()}"
    assert run.counter("icmp_rate_limited") == 28
