"""One burst of packets to the same few destinations: no decision reused from the previous
packet may skip a per-packet check."""

from suite import case_suite
from packets import MAIN_CONFIG, same_destination_cases

CASES = same_destination_cases()

globals().update(case_suite(CASES, MAIN_CONFIG))
