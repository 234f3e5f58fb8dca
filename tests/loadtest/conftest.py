"""Fixtures of tests/loadtest: the STL engines, run once per session, and a closing line
saying which engines loaded the profiles (also with -q)."""

import pytest

import engines


@pytest.fixture(scope="session")
def trex_python():
    """A Python with TRex's own trex_stl_lib, or a skip that says why not."""
    python, info = engines.find_trex()
    engines.STATE["trex"] = info if python else "unavailable (%s)" % info
    if python is None:
        pytest.skip("TRex's STL library unavailable, only the shim loaded the profiles: " + info)
    return python


def pytest_terminal_summary(terminalreporter):
    shim = engines.STATE["shim"] or "not run"
    trex = engines.STATE["trex"] or "not tried"
    terminalreporter.write_line("loadtest STL engines: shim: %s; TRex: %s" % (shim, trex))
