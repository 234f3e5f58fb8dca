"""Neighbour resolution on the control core, as Linux's ARP (arp.c, neighbour.c).

A packet for an on-link host with no neighbour entry waits while the router asks for it
(a broadcast who-has from the egress port's address) and leaves once the host answers,
with the answer's MAC. A host that never answers gets `mcast_solicit` requests
`retrans_time_ms` apart, then the sender gets ICMP host unreachable (Linux's
`arp_error_report`) quoting the packet as it was forwarded (TTL already decremented). A
port that starts announces its address with a gratuitous ARP when `arp_notify` is on."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from fastpath_run import R0_IP, R0_MAC, R1_IP, R1_MAC, assert_clean_exit, run_router
from packets import N0_IP, check_forwarded, check_icmp_error, frame, udp_ip

HOST, HOST_MAC = "10.0.2.77", "02:00:00:00:02:77"


def arp_requests(frames, target):
    out = []
    for f in frames:
        e = Ether(f)
        if ARP in e and e[ARP].op == 1 and e[ARP].pdst == target:
            out.append(e)
    return out


def test_resolves_then_forwards_with_the_answered_mac():
    pkt = frame(0, udp_ip("neigh_resolve", N0_IP, HOST)[0])
    reply = bytes(Ether(dst=R1_MAC, src=HOST_MAC) / ARP(
        op=2, hwsrc=HOST_MAC, psrc=HOST, hwdst=R1_MAC, pdst=R1_IP))
    run = run_router({0: [pkt], 1: [reply]})
    assert_clean_exit(run)
    out1 = run.out.get(1, [])
    reqs = arp_requests(out1, HOST)
    assert len(reqs) == 1, run.describe()
    r = reqs[0]
    assert (r.dst, r.src, r[ARP].hwsrc, r[ARP].psrc, r[ARP].hwdst) == (
        "ff:ff:ff:ff:ff:ff", R1_MAC, R1_MAC, R1_IP, "00:00:00:00:00:00")
    forwarded = [f for f in out1 if Ether(f).type == 0x0800]
    assert len(forwarded) == 1, run.describe()
    check_forwarded(pkt, 1, HOST_MAC)(forwarded[0])
    got = {k: run.counter(k) for k in ("forwarded", "arp_updates", "neigh_released", "no_neighbor")}
    assert got == {"forwarded": 1, "arp_updates": 1, "neigh_released": 1, "no_neighbor": 0}, got


def test_unanswered_neighbour_fails_with_host_unreachable():
    ip = udp_ip("neigh_fail", N0_IP, HOST)[0]
    pkt = frame(0, ip)
    as_forwarded = IP(bytes(ip))
    as_forwarded.ttl -= 1
    del as_forwarded.chksum
    run = run_router(
        {0: [pkt]}, idle_exit_ms=1500,
        config_kwargs={"extra_settings": ", retrans_time_ms: 100"})
    assert_clean_exit(run)
    reqs = arp_requests(run.out.get(1, []), HOST)
    assert len(reqs) == 3, f"mcast_solicit = 3 requests, got {len(reqs)}\n" + run.describe()
    errors = [f for f in run.out.get(0, []) if ICMP in Ether(f)]
    assert len(errors) == 1, run.describe()
    # The quoted packet is the forwarded one: TTL already decremented.
    check_icmp_error(frame(0, IP(bytes(as_forwarded))), 0, icmp_type=3, code=1)(errors[0])
    got = {k: run.counter(k) for k in ("no_neighbor", "icmp_errors", "forwarded", "arp_requests")}
    assert got == {"no_neighbor": 1, "icmp_errors": 1, "forwarded": 0, "arp_requests": 3}, got


def test_learns_from_a_request_and_answers():
    req = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_MAC) / ARP(
        op=1, hwsrc=HOST_MAC, psrc=HOST, pdst=R1_IP))
    pkt = frame(0, udp_ip("neigh_learned", N0_IP, HOST)[0])
    # The request makes the entry STALE (neigh_event_ns), which forwards the waiting
    # packet to the MAC it gave; the request is answered.
    run = run_router({0: [pkt], 1: [req]})
    assert_clean_exit(run)
    out1 = [Ether(f) for f in run.out.get(1, [])]
    replies = [e for e in out1 if ARP in e and e[ARP].op == 2]
    assert len(replies) == 1, run.describe()
    assert (replies[0].dst, replies[0][ARP].psrc, replies[0][ARP].pdst) == (HOST_MAC, R1_IP, HOST)
    forwarded = [bytes(e) for e in out1 if e.type == 0x0800]
    assert len(forwarded) == 1, run.describe()
    check_forwarded(pkt, 1, HOST_MAC)(forwarded[0])
    assert run.counter("arp_replies") == 1 and run.counter("forwarded") == 1


def test_gratuitous_arp_when_a_port_starts():
    run = run_router({}, config_kwargs={"arp_notify": True})
    assert_clean_exit(run)
    for port, (mac, ip) in {0: (R0_MAC, R0_IP), 1: (R1_MAC, R1_IP)}.items():
        g = [Ether(f) for f in run.out.get(port, [])]
        assert len(g) == 1, run.describe()
        a = g[0]
        assert (a.dst, a.src, a[ARP].op, a[ARP].hwsrc, a[ARP].psrc, a[ARP].pdst) == (
            "ff:ff:ff:ff:ff:ff", mac, 1, mac, ip, ip)
