"""Everything at once, shuffled, in one run: each case still gets exactly its outputs, and
every received packet is accounted for exactly once:
rx_packets == forwarded + arp_replies + arp_updates + echo_replies + sum(drop reasons)."""

import random

from fastpath_run import DROP_COUNTERS
from suite import case_suite
from packets import (MAIN_CONFIG, bad_option_cases, forward_cases, icmp_error_cases,
                     local_cases, malformed_cases)

CASES = (forward_cases() + icmp_error_cases() + local_cases() + malformed_cases()
         + bad_option_cases())
random.Random(20240406).shuffle(CASES)

globals().update(case_suite(CASES, MAIN_CONFIG))


def test_accounting(run):
    c = run.counter
    drops = sum(c(d) for d in DROP_COUNTERS)
    handled = c("forwarded") + c("arp_replies") + c("arp_updates") + c("echo_replies") + drops
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
