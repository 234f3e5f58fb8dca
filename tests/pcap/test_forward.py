"""Transit traffic: MAC rewrite, TTL - 1, header checksum, nothing else touched."""

from suite import case_suite
from packets import MAIN_CONFIG, forward_cases

CASES = forward_cases()

globals().update(case_suite(CASES, MAIN_CONFIG))
