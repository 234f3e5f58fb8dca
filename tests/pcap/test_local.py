"""Traffic for the router itself: echo, ARP, unhandled protocols."""

import pytest

from fastpath_run import assert_clean_exit, run_router
from packets import (MAIN_CONFIG, check_case, counter_diff, local_cases, inputs_of,
                     unexpected_outputs)

CASES = local_cases()


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
