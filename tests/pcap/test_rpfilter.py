"""Reverse path filtering against Linux (rp_filter: fib_validate_source).

The inputs of linux_rpfilter.py (fixtures/linux_rpfilter.in0/in1.pcap: forwarded, local,
broadcast and ARP traffic from sources on each subnet, behind each port, behind the
default route, in blackhole/unreachable/prohibit routes, in an ECMP route over both ports)
go through one run of the binary per mode of linux_rpfilter.MODES (settings.rp_filter and
the ports' rp_filter, effective value the larger of the two, as IN_DEV_MAXCONF; with and
without the default route). What leaves each port must be what Linux sent out of r0/r1 in
the same topology with the same sysctls (fixtures/linux_rpfilter.<mode>.out0/out1.pcap):
forwarded frames byte for byte, and the messages we originate (ICMP errors, echo replies,
redirects) but for their IP id and header checksum (Linux picks its ids otherwise); ARP
replies in their first 42 bytes (padding must be zero). The ``rp_filter`` drop counter must
be Linux's TcpExt IPReversePathFilter for the mode (linux_rpfilter.json: Linux counts the
IP packets it drops in ip_rcv_finish_core for -EXDEV, not an ARP request it leaves
unanswered), and ``forwarded`` the number of packets Linux forwarded."""

import json
import struct

import pytest

from fastpath_run import (R0_IP, R0_MAC, R1_IP, R1_MAC, assert_clean_exit, read_pcap,
                          run_router)
from linux_rpfilter import CASES, IN, JSON, MODES, inputs, out_fixture
from packets import assert_bytes, hexd, ip_header_checksum_ok, output_key

ROUTER_IPS = {bytes(map(int, a.split("."))) for a in (R0_IP, R1_IP)}
ROUTER_MACS = {bytes.fromhex(m.replace(":", "")) for m in (R0_MAC, R1_MAC)}
NAME_OF = {c.key: c.name for c in CASES}


def linux_results() -> dict:
    return json.loads(JSON.read_text())


def originated(f: bytes) -> bool:
    """An ICMP message the router sent (from a port's MAC and one of its addresses)."""
    return (len(f) >= 34 and f[12:14] == b"\x08\x00" and f[23] == 1
            and f[6:12] in ROUTER_MACS and f[26:30] in ROUTER_IPS)


def masked(f: bytes) -> bytes:
    """What must be Linux's bytes: ARP replies without padding, originated messages with
    IP id and header checksum zeroed (the checksum checked first), the rest as is."""
    if f[12:14] == b"\x08\x06":
        assert set(f[42:]) <= {0}, f"ARP padding not zero\n{hexd(f)}"
        return f[:42]
    if originated(f):
        assert ip_header_checksum_ok(f[14:]), f"IP header checksum\n{hexd(f)}"
        b = bytearray(f)
        b[18:20] = b"\0\0"
        b[24:26] = b"\0\0"
        return bytes(b)
    return f


def by_case(frames: list[bytes]) -> dict:
    """output_key -> masked frames in the order sent (a redirect before its packet)."""
    out: dict = {}
    for f in frames:
        out.setdefault(output_key(f), []).append(masked(f))
    return out


@pytest.fixture(scope="module", params=MODES, ids=lambda m: m.name)
def run(request):
    mode = request.param
    return mode, run_router({p: read_pcap(IN[p]) for p in (0, 1)},
                            config_kwargs=mode.config_kwargs())


def test_fixtures_are_current():
    for port in (0, 1):
        assert read_pcap(IN[port]) == inputs(port), \
            "the fixtures are stale: rerun linux_rpfilter.py"
    linux = linux_results()
    assert list(linux) == [m.name for m in MODES], "modes: rerun linux_rpfilter.py"
    for m in MODES:
        assert linux[m.name]["sysctls"] == m.sysctls(), m.name
        assert linux[m.name]["default_route"] == m.default_route, m.name
        assert set(linux[m.name]["rp_dropped"]) <= {c.name for c in CASES}, m.name


def test_clean_exit(run):
    assert_clean_exit(run[1])


@pytest.mark.parametrize("port", [0, 1])
def test_port_output_is_linux(run, port):
    mode, r = run
    assert_clean_exit(r)
    want = by_case(read_pcap(out_fixture(mode.name, port)))
    got = by_case(r.out.get(port, []))
    decisions = linux_results()[mode.name]["decisions"]
    problems = []
    for key in sorted(set(want) | set(got), key=str):
        name = NAME_OF.get(key, f"unknown key {key}")
        w, g = want.get(key, []), got.get(key, [])
        if len(w) != len(g):
            why = f" (Linux's decision: {decisions[name]})" if name in decisions else ""
            problems.append(f"{name}: Linux sent {len(w)} frame(s) out of p{port}{why}, "
                            f"fastpath {len(g)}:\n" + "".join(hexd(f) + "\n" for f in g))
            continue
        for i, (a, b) in enumerate(zip(g, w)):
            try:
                assert_bytes(f"{name}: frame {i + 1} out of p{port}", a, b)
            except AssertionError as e:
                problems.append(str(e))
    assert not problems, (f"mode {mode.name} (Linux sysctls {mode.sysctls()}, default route "
                          f"{mode.default_route}):\n" + "\n".join(problems)
                          + "\n" + r.describe())


def test_rp_filter_counter_is_linux(run):
    mode, r = run
    assert_clean_exit(r)
    linux = linux_results()[mode.name]
    assert r.counter("rp_filter") == linux["rp_filter_drops"], (
        f"mode {mode.name}: rp_filter {r.counter('rp_filter')}, Linux's "
        f"IPReversePathFilter {linux['rp_filter_drops']} for {linux['rp_dropped']}\n"
        + r.describe())


def test_forwarded_counter_is_linux(run):
    mode, r = run
    assert_clean_exit(r)
    linux = linux_results()[mode.name]
    assert r.counter("forwarded") == linux["forwarded"], (
        f"mode {mode.name}: forwarded {r.counter('forwarded')}, Linux forwarded "
        f"{linux['forwarded']}\n" + r.describe())


def test_linux_forwarded_count_matches_its_fixtures():
    """linux_rpfilter.json's ``forwarded`` is the frames of its pcaps that the router did
    not originate (no ARP, no ICMP from our addresses)."""
    linux = linux_results()
    for m in MODES:
        n = sum(1 for p in (0, 1) for f in read_pcap(out_fixture(m.name, p))
                if f[12:14] == b"\x08\x00" and not originated(f))
        assert n == linux[m.name]["forwarded"], m.name
        ids = {struct.unpack("!H", f[18:20])[0] for p in (0, 1)
               for f in read_pcap(out_fixture(m.name, p))
               if f[12:14] == b"\x08\x00" and not originated(f)}
        assert len(ids) == n, f"{m.name}: a packet forwarded twice"
