"""Everything at once, shuffled, in one run: each case still gets exactly its outputs, and
every received packet is accounted for exactly once:
rx_packets == forwarded + arp_replies + echo_replies + sum(drop reasons)."""

import random

import pytest

from fastpath_run import DROP_COUNTERS, assert_clean_exit, run_router
from packets import (MAIN_CONFIG, check_case, counter_diff, forward_cases, icmp_error_cases,
                     inputs_of, local_cases, malformed_cases, unexpected_outputs)

CASES = forward_cases() + icmp_error_cases() + local_cases() + malformed_cases()
random.Random(20240406).shuffle(CASES)


@pytest.fixture(scope="module")
def run():
    return run_router(inputs_of(CASES), config_kwargs=MAIN_CONFIG)


def test_clean_exit(run):
    assert_clean_exit(run)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(run, case):
    check_case(run, case)


def test_no_unexpected_output(run):
    extra = unexpected_outputs(run, CASES)
    assert not extra, "\n".join(extra)


def test_counters(run):
    diff = counter_diff(run, CASES)
    assert not diff, "\n".join(diff) + "\n" + run.describe()


def test_accounting(run):
    c = run.counter
    drops = sum(c(d) for d in DROP_COUNTERS)
    handled = c("forwarded") + c("arp_replies") + c("echo_replies") + drops
    assert c("rx_packets") == len(CASES)
    assert c("rx_packets") == handled, (
        f"rx_packets {c('rx_packets')} != forwarded {c('forwarded')} + arp_replies "
        f"{c('arp_replies')} + echo_replies {c('echo_replies')} + drops {drops}"
    )
    out = len(run.all_out())
    assert c("tx_packets") == out, f"tx_packets {c('tx_packets')}, {out} frames in out pcaps"
    assert c("tx_dropped") == 0
    expected_out = sum(len(case.outputs) for case in CASES)
    assert out == expected_out, f"{out} frames out, expected {expected_out}"
