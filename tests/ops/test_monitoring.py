"""Monitoring a running instance with the real tools: DPDK's telemetry socket (read by
`dpdk-telemetry.py` from the dpdk-dev package and by a client of its own), a Prometheus
scrape parsed by `prometheus_client`'s text parser, `show latency` (hdrhistogram
percentiles), and the idle back-off's counter.

Each instance forwards a known pcap (N UDP frames p0 -> p1, to a static neighbour) on
net_pcap ports, so every figure checked is known in advance.

Run as root: /usr/bin/python3 -m pytest tests/ops -q
"""
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from instance import BIN, N, Instance, ctl, free_port


@pytest.fixture(scope="module")
def inst():
    port = free_port()
    i = Instance(args=("--metrics", f"127.0.0.1:{port}"))
    i.metrics_url = f"http://127.0.0.1:{port}/metrics"
    yield i
    i.stop()
    assert "mbufs in use after shutdown: 0" in i.out, i.out


def telemetry(path, cmd):
    """One command on DPDK's telemetry socket (SOCK_SEQPACKET; JSON answers)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(path)
    info = json.loads(s.recv(1 << 16))
    s.send(cmd.encode())
    answer = json.loads(s.recv(info["max_output_len"]))
    s.close()
    return answer[cmd.split(",")[0]]


# ------------------------------------------------------------------ DPDK telemetry

def test_dpdk_telemetry_script_lists_and_runs_our_commands(inst):
    out = subprocess.run(["dpdk-telemetry.py", "-f", inst.prefix], input="/\n/fastpath/stats\n",
                         capture_output=True, text=True, timeout=30).stdout
    listed = json.loads(out.splitlines()[0])["/"]
    for cmd in ("/fastpath/stats", "/fastpath/drops", "/fastpath/fib", "/fastpath/neigh",
                "/fastpath/flows", "/fastpath/latency", "/fastpath/ports", "/fastpath/memory"):
        assert cmd in listed
    assert "/ethdev/stats" in listed, "DPDK's own commands are still there"
    stats = json.loads(out.splitlines()[1])["/fastpath/stats"]
    assert stats["rx_packets"] == N and stats["forwarded"] == N and stats["tx_packets"] == N
    assert stats["lcore_1"]["forwarded"] == N


def test_telemetry_answers_match_the_cli(inst):
    drops = telemetry(inst.telemetry_path, "/fastpath/drops")
    assert set(drops) >= {"no_route", "ttl_exceeded", "bad_checksum"}
    assert sum(v for k, v in drops.items() if not k.startswith("lcore_")) == 0
    fib = telemetry(inst.telemetry_path, "/fastpath/fib")
    m = re.search(r"FIB: (\d+) prefixes", ctl(inst.sock, "show memory"))
    assert fib["fib_prefixes"] == int(m.group(1))
    neigh = telemetry(inst.telemetry_path, "/fastpath/neigh")
    assert neigh["neighbours"]["permanent"] == 1 and neigh["neighbours"]["reachable"] == 0
    ports = telemetry(inst.telemetry_path, "/fastpath/ports")
    assert ports["port_rx_packets"] == {"p0": N, "p1": 0}
    assert ports["port_tx_packets"] == {"p0": 0, "p1": N}
    lat = telemetry(inst.telemetry_path, "/fastpath/latency")["latency_ns"]
    assert lat["1_count"] == N
    assert 0 < lat["1_p50"] <= lat["1_p90"] <= lat["1_p99"] <= lat["1_p999"] <= lat["1_max"]
    # DPDK's own ethdev counters agree.
    eth = telemetry(inst.telemetry_path, "/ethdev/stats,0")
    assert eth["ipackets"] == N


# ------------------------------------------------------------------ Prometheus

def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def test_prometheus_scrape_parses_and_counts(inst):
    fams = {f.name: f for f in text_string_to_metric_families(scrape(inst.metrics_url))}
    assert all(name.startswith("fastpath_") for name in fams)

    def total(name, **labels):
        return sum(s.value for s in fams[name].samples
                   if s.name == name + "_total" and all(s.labels.get(k) == v for k, v in labels.items()))

    # Counters: `_total` samples, families named without it by the parser.
    assert fams["fastpath_forwarded"].type == "counter"
    assert total("fastpath_forwarded") == N
    assert total("fastpath_forwarded", lcore="1") == N
    assert total("fastpath_rx_packets") == N
    assert total("fastpath_port_rx_packets", port="p0") == N
    assert total("fastpath_port_tx_packets", port="p1") == N
    assert total("fastpath_port_rx_bytes", port="p0") == N * 60
    reasons = {s.labels["reason"] for s in fams["fastpath_drops"].samples}
    assert {"no_route", "ttl_exceeded", "rp_filter"} <= reasons
    assert total("fastpath_drops") == 0
    g = {s.name: s.value for f in fams.values() if f.type == "gauge" for s in f.samples
         if not s.labels}
    assert g["fastpath_fib_prefixes"] > 0 and g["fastpath_mbufs"] >= 512
    assert g["fastpath_resident_memory_bytes"] > 10 << 20
    lat = fams["fastpath_latency_seconds"]
    assert lat.type == "summary"
    q = {s.labels["quantile"]: s.value for s in lat.samples if "quantile" in s.labels}
    assert 0 < q["0.5"] <= q["0.9"] <= q["0.99"] <= q["0.999"] <= q["1"] < 1.0
    count = [s.value for s in lat.samples if s.name == "fastpath_latency_seconds_count"]
    assert count == [N]


def test_prometheus_other_paths_and_methods(inst):
    base = inst.metrics_url.rsplit("/", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(base + "/nope", timeout=10)
    assert e.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(inst.metrics_url, data=b"x"), timeout=10)
    assert e.value.code == 405


# ------------------------------------------------------------------ latency, idle

def test_show_latency_and_clear(inst):
    out = ctl(inst.sock, "show latency")
    row = re.search(r"^\s+1\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
                    out, re.M)
    assert row, out
    assert int(row.group(1)) == N
    p50, p90, p99, p999, mx = map(float, row.groups()[1:])
    assert 0 < p50 <= p90 <= p99 <= p999 <= mx
    ctl(inst.sock, "clear fwd stats")
    out = ctl(inst.sock, "show latency")
    assert re.search(r"^\s+1\s+0$", out, re.M), out
    # The Prometheus summary follows the clear; counters do not.
    fams = {f.name: f for f in text_string_to_metric_families(scrape(inst.metrics_url))}
    assert [s for s in fams["fastpath_latency_seconds"].samples] == []
    assert sum(s.value for s in fams["fastpath_forwarded"].samples) == N


def idle_sleeps(sock):
    m = re.search(r"^\s+idle_sleeps: (\d+)", ctl(sock, "show fwd stats"), re.M)
    return int(m.group(1)) if m else 0


def test_idle_worker_sleeps_and_busy_polling_does_not():
    idle = Instance()
    try:
        a = idle_sleeps(idle.sock)
        time.sleep(0.5)
        b = idle_sleeps(idle.sock)
        assert b > a > 0, (a, b)
    finally:
        idle.stop()
    busy = Instance(settings=", idle_sleep_us: 0")
    try:
        time.sleep(0.5)
        assert idle_sleeps(busy.sock) == 0
    finally:
        busy.stop()


def test_metrics_listen_from_yaml_and_bad_address():
    port = free_port()
    i = Instance(settings=f", metrics_listen: 127.0.0.1:{port}")
    try:
        assert "fastpath_forwarded_total" in scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        i.stop()
    assert f"Metrics on http://127.0.0.1:{port}/metrics" in i.out
    tmp = tempfile.mkdtemp(prefix="fastpath-ops.")
    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("ports:\n  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }\n"
                "settings: { metrics_listen: localhost }\n")
    r = subprocess.run([BIN, "--check", cfg], capture_output=True, text=True)
    subprocess.run(["rm", "-rf", tmp], check=False)
    assert r.returncode == 2
    assert re.search(r"bad\.yaml:3:\d+: metrics_listen \"localhost\": expected ADDRESS:PORT",
                     r.stderr), r.stderr


def test_metrics_address_in_use_fails_before_forwarding():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="fastpath-ops.")
    cfg = os.path.join(tmp, "m.yaml")
    with open(cfg, "w") as f:
        f.write("ports:\n  - { name: p0, device: net_null0, addresses: [10.0.1.1/24] }\n")
    r = subprocess.run([BIN, "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                        "--", "--config", cfg, "--ctl-socket", os.path.join(tmp, "s"),
                        "--metrics", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
    s.close()
    subprocess.run(["rm", "-rf", tmp], check=False)
    assert r.returncode == 1, r
    assert f"metrics endpoint 127.0.0.1:{port}" in r.stderr, r.stderr
    assert "Port 0" not in r.stdout, "nothing was started"
