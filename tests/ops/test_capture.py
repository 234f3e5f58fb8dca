"""Packet capture of a running instance, read back with tshark: the in-app `capture`
command (pcapng written by DPDK's rte_pcapng) on a run without hugepages, and
`dpdk-dumpcap` (from the dpdk package) attached to an instance with a shared config and
hugepages, where the machine can reserve them (skipped, saying why, where not).

The instances replay N UDP frames from 10.0.1.2 to 10.0.2.2 forever on p0; each leaves
p1 with the TTL decremented and the neighbour's MAC.

Run as root: /usr/bin/python3 -m pytest tests/ops -q
"""
import glob
import os
import re
import subprocess
import tempfile
import time

import pytest

from instance import H2, R0, R1, Instance, ctl

FIELDS = ["frame.interface_name", "frame.p2p_dir", "eth.src", "eth.dst", "ip.src", "ip.dst",
          "ip.ttl", "frame.time_epoch", "frame.len"]


def read(path):
    """The frames of a capture file, one dict of FIELDS each (tshark)."""
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", *sum((["-e", f] for f in FIELDS), [])],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.stdout.splitlines()]


def wait_file_summary(sock, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        s = ctl(sock, "capture status")
        if "none running" in s:
            return
        time.sleep(0.05)
    pytest.fail("the capture did not end: " + ctl(sock, "capture status"))


@pytest.fixture(scope="module")
def inst():
    i = Instance(infinite=True)
    i.dir = tempfile.mkdtemp(prefix="fastpath-capture.")
    yield i
    i.stop()
    subprocess.run(["rm", "-rf", i.dir], check=False)
    assert "mbufs in use after shutdown: 0" in i.out, i.out


def test_capture_rx_count(inst):
    f = os.path.join(inst.dir, "rx.pcapng")
    out = ctl(inst.sock, "capture", "start", "p0", f, "rx", "count", "25")
    assert out == f"capture: p0 rx to {f}, 25 packet(s)\n"
    wait_file_summary(inst.sock)
    frames = read(f)
    assert len(frames) == 25
    now = time.time()
    for fr in frames:
        # As received: the sender's MAC to ours, TTL untouched, inbound.
        assert (fr["eth.src"], fr["eth.dst"]) == ("02:00:00:00:01:02", R0)
        assert (fr["ip.src"], fr["ip.dst"], fr["ip.ttl"]) == ("10.0.1.2", "10.0.2.2", "64")
        assert fr["frame.p2p_dir"] == "1", fr  # received
        assert fr["frame.len"] == "60"
        assert abs(float(fr["frame.time_epoch"]) - now) < 60, fr


def test_capture_tx_until_stop(inst):
    f = os.path.join(inst.dir, "tx.pcapng")
    assert "capture: p1 tx to" in ctl(inst.sock, "capture", "start", "p1", f, "tx")
    assert "is running: capture stop first" in ctl(inst.sock, "capture", "start", "p0", f)
    time.sleep(0.2)
    status = ctl(inst.sock, "capture status")
    assert re.search(r"capture: p1 tx to .*: \d+ packet\(s\)", status), status
    out = ctl(inst.sock, "capture stop")
    m = re.match(r"capture: (\d+) packet\(s\), \d+ bytes written to (\S+) \((\d+) not copied", out)
    assert m, out
    frames = read(f)
    assert len(frames) == int(m.group(1)) > 0
    for fr in frames:
        # As sent: our MAC to the neighbour's, TTL decremented, outbound.
        assert (fr["eth.src"], fr["eth.dst"]) == (R1, H2)
        assert (fr["ip.src"], fr["ip.dst"], fr["ip.ttl"]) == ("10.0.1.2", "10.0.2.2", "63")
        assert fr["frame.p2p_dir"] == "0", fr  # sent
    assert ctl(inst.sock, "capture stop") == "error: capture stop: no capture is running\n"


def test_capture_both_directions_of_one_port(inst):
    f = os.path.join(inst.dir, "both.pcapng")
    ctl(inst.sock, "capture", "start", "p1", f, "count", "10")
    wait_file_summary(inst.sock)
    # p1 only sends in this set-up: every frame is outbound.
    frames = read(f)
    assert len(frames) == 10 and {fr["frame.p2p_dir"] for fr in frames} == {"0"}


@pytest.mark.parametrize("args,err", [
    (["start", "p9", "/tmp/x.pcapng"], 'got "p9"'),
    (["start", "p0", "/nonexistent/dir/x.pcapng"], "/nonexistent/dir/x.pcapng: No such file"),
    (["start", "p0", "/tmp/x.pcapng", "count", "0"], 'expected a positive number, got "0"'),
    (["start", "p0", "/tmp/x.pcapng", "count"], "count needs a number"),
    (["start", "p0", "/tmp/x.pcapng", "sideways"], 'unexpected "sideways"'),
    (["start", "all", "/tmp/x.pcapng"], "one port at a time"),
    (["start"], "usage: capture start PORT FILE"),
    (["frobnicate"], "usage: capture start PORT FILE"),
])
def test_capture_bad_arguments(inst, args, err):
    out = ctl(inst.sock, "capture", *args)
    assert out.startswith("error: ") and err in out and out.count("\n") == 1, out
    assert "none running" in ctl(inst.sock, "capture status")


# ------------------------------------------------------------------ dpdk-dumpcap

def reserve_hugepages(n=192):
    """Reserves n 2 MiB pages and mounts hugetlbfs if needed; the previous count, or a
    reason why not."""
    path = "/proc/sys/vm/nr_hugepages"
    try:
        before = int(open(path).read())
        with open(path, "w") as f:
            f.write(str(max(before, n)))
        got = int(open(path).read())
    except OSError as e:
        return None, f"cannot reserve hugepages: {e}"
    if got < n:
        with open(path, "w") as f:
            f.write(str(before))
        return None, f"only {got} of {n} hugepages could be reserved"
    if subprocess.run(["sh", "-c", "grep -q hugetlbfs /proc/mounts || "
                       "(mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages)"]).returncode:
        return None, "cannot mount hugetlbfs"
    return before, None


def test_dpdk_dumpcap_attaches_to_a_running_instance():
    before, why = reserve_hugepages()
    if why:
        pytest.skip(f"dpdk-dumpcap needs hugepages (a secondary process cannot map --no-huge memory): {why}")
    inst = None
    try:
        inst = Instance(infinite=True, eal=())
        f = os.path.join(inst.tmp, "dumpcap.pcapng")
        r = subprocess.run(["dpdk-dumpcap", "--file-prefix", inst.prefix, "-i", "net_pcap1", "-c", "20",
                            "-w", f], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        frames = read(f)
        assert len(frames) >= 20
        # What dumpcap saw is what fastpath sent out of p1.
        for fr in frames:
            assert (fr["eth.src"], fr["eth.dst"], fr["ip.ttl"]) == (R1, H2, "63"), fr
    finally:
        if inst:
            inst.stop()
            for p in glob.glob(f"/dev/hugepages/{inst.prefix}map_*"):
                os.unlink(p)
        with open("/proc/sys/vm/nr_hugepages", "w") as fh:
            fh.write(str(before))
    assert "mbufs in use after shutdown: 0" in inst.out, inst.out
