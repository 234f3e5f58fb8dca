"""Traffic for the router itself: echo, ARP, unhandled protocols."""

from suite import case_suite
from packets import MAIN_CONFIG, local_cases

CASES = local_cases()

globals().update(case_suite(CASES, MAIN_CONFIG))
