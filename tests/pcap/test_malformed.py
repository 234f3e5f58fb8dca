"""Malformed or forbidden inputs: each dropped silently with its named counter."""

from suite import case_suite
from packets import MAIN_CONFIG, malformed_cases

CASES = malformed_cases()

globals().update(case_suite(CASES, MAIN_CONFIG))


def test_no_output_at_all(run):
    frames = run.all_out()
    assert not frames, f"{len(frames)} frame(s) out, expected none"
