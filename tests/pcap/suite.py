"""The checks every case-table module runs on its one router run.

A module lists its cases (see packets.Case) and takes the standard tests with
``globals().update(case_suite(CASES, CONFIG))``: a module-scoped ``run`` fixture (one
process of the binary for all the cases), and tests that it exited cleanly with no mbuf
leak, that each case got exactly its outputs, that nothing else came out, and that the
counters are what the cases add up to. Modules add their own tests beside these."""

import pytest

from fastpath_run import assert_clean_exit, run_router
from packets import check_case, counter_diff, inputs_of, unexpected_outputs


def case_suite(cases, config, shown=None):
    """``shown``: the cases to report one by one (default all of them)."""

    @pytest.fixture(scope="module")
    def run():
        return run_router(inputs_of(cases), config_kwargs=config)

    def test_clean_exit(run):
        assert_clean_exit(run)

    @pytest.mark.parametrize("case", cases if shown is None else shown, ids=lambda c: c.name)
    def test_case(run, case):
        check_case(run, case)

    def test_no_unexpected_output(run):
        extra = unexpected_outputs(run, cases)
        assert not extra, "\n".join(extra)

    def test_counters(run):
        diff = counter_diff(run, cases)
        assert not diff, "\n".join(diff) + "\n" + run.describe()

    return {
        "run": run,
        "test_clean_exit": test_clean_exit,
        "test_case": test_case,
        "test_no_unexpected_output": test_no_unexpected_output,
        "test_counters": test_counters,
    }
