#!/usr/bin/env python3
"""Idle polling benchmark (issue 10): what `settings.idle_sleep_us` saves when there is no
traffic and what it costs when there is.

1. Under load: one worker forwarding the flowtable benchmark's `established` profile
   (1024 flows both ways, net_pcap infinite_rx on both ports, full table) with
   idle_sleep_us 0 (busy polling), 100, 500 (default) and 1000, rounds alternating: Mpps and
   `show latency` (time in the worker) per setting.
2. Idle and sparse traffic: fastpath on net_af_packet between two Linux hosts in network
   namespaces (h1 10.0.1.2 -- p0 | p1 -- h2 10.0.2.2, as the lab): the worker thread's CPU
   share over 5 s without traffic (from /proc), then `ping -i 0.01` from h1 to h2 through
   it (200 echoes): the round trip as Linux measures it, which includes the time a
   sleeping worker takes to notice a packet, and `show latency`.

Run as root with no other DPDK process polling a core.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import flowtable  # noqa: E402  (the established profile and its config)

SETTINGS = (0, 100, 500, 1000)


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def ctl(repo, sock, cmd):
    return sh(str(repo / "target/release/fastpath-ctl"), "--socket", str(sock), cmd, check=False).stdout


def start(repo, work, cfg_text, tag, lcores="0-1", extra_eal=()):
    cfg = work / f"{tag}.yaml"
    cfg.write_text(cfg_text)
    sock = work / f"{tag}.sock"
    log = open(work / f"{tag}.log", "w")
    proc = subprocess.Popen(
        [str(repo / "target/release/fastpath"), "-l", lcores, "--no-huge", "-m", "1024", "--no-pci",
         "--file-prefix", f"idle{os.getpid()}", "--log-level", "*:warning", *extra_eal, "--",
         "--config", str(cfg), "--ctl-socket", str(sock)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    end = time.time() + 120
    while not (sock.exists() and "Totals" in ctl(repo, sock, "show fwd stats")):
        if proc.poll() is not None or time.time() > end:
            raise SystemExit(f"{tag}: fastpath did not start; see {log.name}")
        time.sleep(0.3)
    return proc, sock, log


def stop(repo, proc, sock, log):
    ctl(repo, sock, "quit")
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()
    subprocess.run(["rm", "-rf", f"/var/run/dpdk/idle{os.getpid()}"], check=False)
    text = Path(log.name).read_text()
    m = re.search(r"mbufs in use after shutdown: (\d+)", text)
    return int(m.group(1)) if m else None


def latency(text):
    """p50, p99, max (us) of lcore 1 in `show latency`."""
    m = re.search(r"^\s+1\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.M)
    return (float(m.group(2)), float(m.group(4)), float(m.group(6))) if m else (None, None, None)


def worker_cpu(pid, seconds):
    """CPU share of the thread named rte-worker-1 of `pid` over `seconds`."""
    tid = None
    for t in os.listdir(f"/proc/{pid}/task"):
        if Path(f"/proc/{pid}/task/{t}/comm").read_text().strip() == "rte-worker-1":
            tid = t
    if tid is None:
        return None

    def ticks():
        f = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    a = ticks()
    time.sleep(seconds)
    return (ticks() - a) / os.sysconf("SC_CLK_TCK") / seconds


def under_load(repo, work, table, rounds, seconds):
    paths = flowtable.write_profiles(work)
    res = {s: [] for s in SETTINGS}
    for rnd in range(rounds):
        for s in SETTINGS:
            text = flowtable.config(paths, "established", table, "flowtable", 0)
            text = text.replace("settings: { ", f"settings: {{ idle_sleep_us: {s}, ", 1)
            proc, sock, log = start(repo, work, text, f"load-{s}")
            time.sleep(1.0)
            ctl(repo, sock, "clear fwd stats")
            t0 = time.monotonic()
            time.sleep(seconds)
            st = ctl(repo, sock, "show fwd stats")
            lat = latency(ctl(repo, sock, "show latency"))
            dt = time.monotonic() - t0
            leak = stop(repo, proc, sock, log)
            mpps = flowtable.counter(st, "forwarded") / dt / 1e6
            sleeps = flowtable.counter(st, "idle_sleeps")
            res[s].append((mpps, lat, sleeps, leak))
            print(f"round {rnd + 1}: load idle_sleep_us={s}: {mpps:.3f} Mpps, latency p50/p99/max "
                  f"{lat} us, idle_sleeps {sleeps}", file=sys.stderr)
    return res


LAB_YAML = """ports:
  - {{ name: p0, device: "net_af_packet0,iface={a}", addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_af_packet1,iface={b}", addresses: [10.0.2.1/24] }}
settings: {{ idle_sleep_us: {s}, arp_notify: false }}
"""


def sparse(repo, work):
    tag = f"fi{os.getpid() % 100000}"
    h1, h2 = f"{tag}-h1", f"{tag}-h2"
    a, b = f"{tag}a", f"{tag}b"
    res = {}
    try:
        for ns in (h1, h2):
            sh("ip", "netns", "add", ns)
        for dev, peer, ns, addr, gw in ((a, "eth0", h1, "10.0.1.2/24", "10.0.1.1"),
                                        (b, "eth0", h2, "10.0.2.2/24", "10.0.2.1")):
            sh("ip", "link", "add", dev, "type", "veth", "peer", "name", f"{dev}p")
            sh("ip", "link", "set", f"{dev}p", "netns", ns)
            sh("ip", "-n", ns, "link", "set", f"{dev}p", "name", peer)
            sh("ip", "-n", ns, "addr", "add", addr, "dev", peer)
            sh("ip", "-n", ns, "link", "set", peer, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", gw)
            sh("ip", "link", "set", dev, "up")
            sh("ethtool", "-K", dev, "tx", "off", check=False)
            sh("ip", "netns", "exec", ns, "ethtool", "-K", peer, "tx", "off", check=False)
        for s in SETTINGS:
            proc, sock, log = start(repo, work, LAB_YAML.format(a=a, b=b, s=s), f"sparse-{s}")
            # Resolve the neighbours, then leave it idle.
            sh("ip", "netns", "exec", h1, "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.2.2", check=False)
            time.sleep(1.0)
            cpu = worker_cpu(proc.pid, 5.0)
            ctl(repo, sock, "clear fwd stats")
            p = sh("ip", "netns", "exec", h1, "ping", "-c", "200", "-i", "0.01", "-q", "10.0.2.2",
                   check=False).stdout
            m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", p)
            loss = re.search(r"([\d.]+)% packet loss", p)
            lat = latency(ctl(repo, sock, "show latency"))
            leak = stop(repo, proc, sock, log)
            res[s] = (cpu, tuple(float(x) * 1000 for x in m.groups()) if m else None,
                      float(loss.group(1)) if loss else None, lat, leak)
            print(f"sparse idle_sleep_us={s}: worker cpu {cpu:.1%}, ping rtt min/avg/max/mdev us "
                  f"{res[s][1]}, loss {res[s][2]}%, in-worker p50/p99/max {lat} us", file=sys.stderr)
    finally:
        for ns in (h1, h2):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for dev in (a, b):
            subprocess.run(["ip", "link", "del", dev], capture_output=True)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fastpath-idle-"))
    load = under_load(a.repo, work, a.table.resolve(), a.rounds, a.seconds)
    sp = sparse(a.repo, work)
    print("under load (established, 1 worker, full table), medians:")
    print(f"{'idle_sleep_us':>13} {'Mpps':>7} {'rounds':>24} {'p50 us':>7} {'p99 us':>7} {'max us':>8} {'idle_sleeps':>11} {'leak':>4}")
    base = statistics.median(r[0] for r in load[0])
    for s, rs in load.items():
        med = statistics.median(r[0] for r in rs)
        lat = [statistics.median(r[1][i] for r in rs if r[1][i] is not None) for i in range(3)]
        print(f"{s:>13} {med:>7.3f} {' '.join(f'{r[0]:.2f}' for r in rs):>24} {lat[0]:>7.2f} {lat[1]:>7.2f} "
              f"{lat[2]:>8.1f} {max(r[2] for r in rs):>11} {max(r[3] or 0 for r in rs):>4}"
              f"   ({med / base:.3f} of busy polling)")
    print("idle, then ping -i 0.01 through it (net_af_packet, veth):")
    print(f"{'idle_sleep_us':>13} {'worker CPU':>10} {'rtt min':>8} {'rtt avg':>8} {'rtt max':>8} {'loss %':>6} "
          f"{'in-worker p50':>13} {'p99':>6} {'leak':>4}")
    for s, (cpu, rtt, loss, lat, leak) in sp.items():
        rtt = rtt or (0, 0, 0, 0)
        print(f"{s:>13} {cpu:>10.1%} {rtt[0]:>8.0f} {rtt[1]:>8.0f} {rtt[2]:>8.0f} {loss!s:>6} "
              f"{lat[0]!s:>13} {lat[1]!s:>6} {leak!s:>4}")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
