"""Flows through the router over several bursts, in both directions: whatever the
flowtable/conntrack does, every packet is handled as on the slow path."""

from suite import case_suite
from packets import MAIN_CONFIG, flow_cases

CASES = flow_cases()
SHOWN = [c for c in CASES if not c.name.startswith("filler")]

globals().update(case_suite(CASES, MAIN_CONFIG, shown=SHOWN))
