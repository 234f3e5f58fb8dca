"""ICMP errors from the forwarding path: time exceeded, unreachable routes, frag needed."""

from suite import case_suite
from packets import MAIN_CONFIG, icmp_error_cases

CASES = icmp_error_cases()

globals().update(case_suite(CASES, MAIN_CONFIG))
