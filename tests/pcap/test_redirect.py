"""ICMP redirects against Linux (ip_forward -> ip_rt_send_redirect).

The inputs of linux_redirects.py, from hosts 10.0.1.3.. on p0's subnet, routed back out
of p0 (through the router 10.0.1.2, or to a host beside them), must leave p0 as the bytes
Linux sent in the same topology (fixtures/linux_redirect.out.pcap, captured with tshark):
redirect for host naming the gateway or the destination, sent before the packet, which is
forwarded all the same; the quote is the forwarded packet (TTL - 1), cut to 576 bytes;
TOS 0xc0 with the packet's TOS bits; none about an ICMP error, for TTL 1, for a source
behind a gateway, or while the host is in its backoff. Only the IP id and header checksum
of the messages we originate may differ (Linux picks its ids otherwise).

Then what the fixture does not show: send_redirects as Linux's IN_DEV_ORCONF (conf.all or
the port's own), source-routed packets (dropped, accept_source_route 0), and the backoff
of several hosts in one run (the timing itself is in fastpath/tests/redirect.rs and
fastpath/src/icmp_limit.rs, on a clock the tests control)."""

import struct

import pytest
from scapy.layers.inet import IP, UDP, IPOption_LSRR
from scapy.packet import Raw
from scapy.utils import checksum

from fastpath_run import R0_MAC, assert_clean_exit, read_pcap, run_router
from linux_redirects import HOSTS, IN, OUT, host_frame, inputs
from packets import assert_bytes, ip_header_checksum_ok

EXTRA_NEIGHBORS = tuple(HOSTS.items())


def originated(frame: bytes) -> bool:
    """An ICMP message the router sent (from p0's MAC and address)."""
    return frame[23] == 1 and frame[6:12] == bytes.fromhex(R0_MAC.replace(":", "")) \
        and frame[26:30] == bytes([10, 0, 1, 1])


def masked(frame: bytes) -> bytes:
    f = bytearray(frame)
    if originated(frame):
        assert ip_header_checksum_ok(frame[14:]), "IP header checksum"
        f[18:20] = b"\0\0"
        f[24:26] = b"\0\0"
    return bytes(f)


def redirects(frames: list[bytes]) -> list[tuple[str, str]]:
    """(destination, gateway) of every redirect for host among ``frames``."""
    out = []
    for f in frames:
        if originated(f) and f[34] == 5:
            assert f[35] == 1, "redirect for host"
            assert checksum(f[34:]) == 0, "ICMP checksum"
            ip = IP(f[14:])
            out.append((ip.dst, ".".join(map(str, f[38:42]))))
    return out


def run_cases(frames, **config):
    return run_router({0: frames, 1: []},
                      config_kwargs={"extra_neighbors": EXTRA_NEIGHBORS, **config})


@pytest.fixture(scope="module")
def linux_run():
    return run_cases(read_pcap(IN))


def test_redirects_are_linux_bytes_in_order(linux_run):
    assert read_pcap(IN) == inputs(), "the fixtures are stale: rerun linux_redirects.py"
    assert_clean_exit(linux_run)
    want = read_pcap(OUT)
    ours = linux_run.out.get(0, [])
    assert not linux_run.out.get(1), f"{len(linux_run.out[1])} frames out of p1"
    assert [len(f) for f in ours] == [len(f) for f in want], "frame sizes, in order"
    for i, (a, b) in enumerate(zip(ours, want)):
        assert_bytes(f"frame {i + 1}", masked(a), masked(b))
    assert redirects(ours) == [("10.0.1.3", "10.0.1.2"), ("10.0.1.4", "10.0.1.5"),
                               ("10.0.1.6", "10.0.1.2"), ("10.0.1.8", "10.0.1.2")]


def test_counters(linux_run):
    got = linux_run.known_counters()
    n = len(inputs())
    assert got == {
        "rx_packets": n,
        "tx_packets": n + 4,                # the redirects; TTL 1 answered instead
        "forwarded": n - 1,
        "ttl_exceeded": 1,
        "icmp_errors": 1,
        "redirects_sent": 4,
        "redirects_suppressed": 5,          # 10.0.1.3's packets right after its redirect
        "icmp_suppressed": 1,               # about an ICMP error (its backoff counted it)
    }, linux_run.describe()


def _udp(src: str, dst: str, ip_id: int, **kw) -> bytes:
    return host_frame(src, IP(src=src, dst=dst, id=ip_id, **kw)
                      / UDP(sport=4000, dport=4001) / Raw(b"fastpath-redirect"))


@pytest.mark.parametrize("all_, p0, sent", [
    (None, False, True),        # conf.all alone keeps them on (IN_DEV_ORCONF)
    (False, None, True),        # and so does the port's own
    (False, False, False),      # both off: none
], ids=["p0_off", "all_off", "both_off"])
def test_send_redirects_is_all_or_the_port(all_, p0, sent):
    r = run_cases([_udp("10.0.1.3", "8.8.8.8", 0x5201)],
                  send_redirects=all_, p0_send_redirects=p0)
    assert_clean_exit(r)
    out = r.out.get(0, [])
    assert redirects(out) == ([("10.0.1.3", "10.0.1.2")] if sent else [])
    assert [f for f in out if not originated(f)], "forwarded either way"
    assert r.counter("forwarded") == 1 and r.counter("redirects_sent") == int(sent)


def test_source_routed_and_off_subnet_get_none():
    """A source-routed packet is dropped before any redirect (accept_source_route 0, as
    Linux), and costs its host no backoff: the same host's next packet gets one. A source
    behind the router 10.0.1.2 is forwarded back out of p0 without one."""
    lsrr = host_frame("10.0.1.3", IP(src="10.0.1.3", dst="8.8.8.8", id=0x5301,
                                     options=[IPOption_LSRR(routers=["10.0.1.1"])])
                      / UDP(sport=4000, dport=4001))
    frames = [lsrr, _udp("10.0.1.3", "8.8.8.8", 0x5302),
              bytes.fromhex(R0_MAC.replace(":", "")) + _udp("172.16.3.3", "8.8.8.8", 0x5303)[6:]]
    r = run_cases(frames)
    assert_clean_exit(r)
    out = r.out.get(0, [])
    assert redirects(out) == [("10.0.1.3", "10.0.1.2")]
    ids = [struct.unpack("!H", f[18:20])[0] for f in out if not originated(f)]
    assert ids == [0x5302, 0x5303]
    assert (r.counter("source_route"), r.counter("redirects_sent"),
            r.counter("redirects_suppressed")) == (1, 1, 0)


def test_backoff_per_host():
    """Ten packets each from three hosts, back to back: one redirect per host (the next
    would be 40 ms after it), the others forwarded without one."""
    hosts = ["10.0.1.3", "10.0.1.4", "10.0.1.5"]
    frames = [_udp(h, "8.8.8.8", 0x5400 + 16 * i + n) for n in range(10)
              for i, h in enumerate(hosts)]
    r = run_cases(frames)
    assert_clean_exit(r)
    out = r.out.get(0, [])
    assert sorted(redirects(out)) == [(h, "10.0.1.2") for h in hosts]
    assert (r.counter("forwarded"), r.counter("redirects_sent"),
            r.counter("redirects_suppressed")) == (30, 3, 27)
    # Each redirect goes right before the packet it is about.
    for i, f in enumerate(out):
        if originated(f):
            assert out[i + 1][26:30] == f[30:34], "the redirected host's packet follows"
