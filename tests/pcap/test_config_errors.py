"""A bad config is refused before any port starts, with file:line:column: on stderr."""

import re

import pytest

from fastpath_run import config_yaml, run_router


def with_line(text: str, after: str, new: str) -> tuple[str, int]:
    """``text`` with ``new`` inserted after the first line equal to ``after``; the new
    line's 1-based number."""
    lines = text.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.rstrip("\n") == after)
    lines.insert(i + 1, new + "\n")
    return "".join(lines), i + 2


BASE = config_yaml("{workdir}")
BAD = {
    "unknown_key": (*with_line(BASE, "    mtu: 1500", "    colour: red"), "colour"),
    "route_via_unreachable_gateway": (
        *with_line(BASE, "routes:", "  - { prefix: 100.100.0.0/16, via: 10.9.9.9 }"), "10.9.9.9"),
}
LOCATION = re.compile(r"^(?P<file>\S[^:\n]*):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)


@pytest.fixture(scope="module", params=sorted(BAD))
def bad(request):
    text, line, word = BAD[request.param]
    return run_router({0: [], 1: []}, config=text, timeout=20), line, word


def test_refused_quickly(bad):
    run, _, _ = bad
    assert not run.timed_out and run.returncode not in (0, None), run.describe()
    assert run.duration < 10, f"took {run.duration:.1f} s"


def test_location_on_stderr(bad):
    run, line, _ = bad
    m = LOCATION.search(run.stderr)
    assert m, f"no file:line:column: message on stderr\n{run.describe()}"
    assert m.group("file").endswith("fastpath.yaml"), m.group(0)
    assert int(m.group("line")) == line, f"line {m.group('line')}, expected {line}: {m.group(0)}"
    assert int(m.group("col")) >= 1, m.group(0)


def test_message_names_the_culprit(bad):
    run, _, word = bad
    m = LOCATION.search(run.stderr)
    assert m and word in m.group("msg"), f"message does not mention {word!r}\n{run.stderr}"


def test_no_port_started(bad):
    run, _, _ = bad
    assert run.out_missing == [0, 1], f"out pcap created for port(s) " \
        f"{sorted(set((0, 1)) - set(run.out_missing))}: a port was started"
