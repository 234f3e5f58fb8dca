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
