#!/usr/bin/env python3
"""Neighbour floods against resolved traffic (issue 7): does a flood of packets to random
on-link addresses, or of ARP requests from random sources, cost the traffic to resolved
neighbours its rate, or grow memory?

One fastpath, one worker (lcore 1; the control core on lcore 0), port p0 = net_pcap with
infinite_rx (the pcap replayed from memory), port p1 = net_null. Both ports have /16
subnets. Resolved traffic: 64-byte UDP from 10.1.0.2 to 198.51.100.0/24, routed via the
static neighbour 10.2.0.2 on p1. Profiles (each pcap 8192 frames):
  resolved    only that traffic
  flood-dst   half that, half UDP to random addresses of 10.2.0.0/16 (nobody answers:
              every one is punted, held, asked for with ARP, fails, answered with ICMP)
  flood-arp   half that, half ARP requests for 10.1.0.1 from random 10.1.0.0/16 senders
              with random MACs (each one learned as a STALE entry, as Linux does)
Each profile runs --seconds, in --rounds rounds that alternate the profiles (medians are
reported); every second the forwarded counter, the neighbour table, the
held packets, the mbufs in use and the RSS are read over the control socket.

The figure of merit: the worker's rate of resolved packets under a flood, against the rate
the same worker reaches when all its traffic is resolved, scaled by the resolved share of
the input (here 1/2): `kept = (forwarded_flood / share) / forwarded_resolved`. At or above
0.9, resolved traffic offered at up to 90% of a worker's capacity keeps its rate.
"""

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

R0_MAC = "02:00:00:00:00:01"
SRC_MAC = "02:00:00:00:01:02"
N = 8192


def resolved(i):
    return Ether(dst=R0_MAC, src=SRC_MAC) / IP(src="10.1.0.2", dst=f"198.51.100.{i % 250 + 1}") / UDP(
        sport=1024 + i % 4096, dport=9) / (b"\0" * 18)


def flood_dst(rng):
    a = rng.randrange(3, 65534)
    return Ether(dst=R0_MAC, src=SRC_MAC) / IP(src="10.1.0.2", dst=f"10.2.{a >> 8}.{a & 255}") / UDP(
        sport=7, dport=9) / (b"\0" * 18)


def flood_arp(rng):
    a = rng.randrange(3, 65534)
    mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rng.randrange(256) for _ in range(5))
    return Ether(dst="ff:ff:ff:ff:ff:ff", src=mac) / ARP(
        op=1, hwsrc=mac, psrc=f"10.1.{a >> 8}.{a & 255}", pdst="10.1.0.1")


def write_profiles(work):
    rng = random.Random(7)
    paths = {}
    for name, other in (("resolved", None), ("flood-dst", flood_dst), ("flood-arp", flood_arp)):
        frames = []
        for i in range(N):
            frames.append(resolved(i) if other is None or i % 2 == 0 else other(rng))
        p = work / f"{name}.pcap"
        wrpcap(str(p), frames)
        paths[name] = p
    return paths


CONFIG = """\
ports:
  - {{ name: p0, device: "net_pcap0,rx_pcap={pcap},infinite_rx=1", mac: "02:00:00:00:00:01", addresses: [10.1.0.1/16] }}
  - {{ name: p1, device: "net_null0,no-rx=1", mac: "02:00:00:00:00:02", addresses: [10.2.0.1/16] }}
neighbors:
  - {{ address: 10.2.0.2, mac: "02:00:00:00:02:02", port: p1 }}
routes:
  - {{ prefix: 198.51.100.0/24, via: 10.2.0.2 }}
settings: {{ mbufs: 32767, arp_notify: false }}
"""


def ctl(binary, sock, *cmd):
    return subprocess.run([str(binary), "--socket", str(sock), *cmd], capture_output=True,
                          text=True, timeout=10).stdout


def counter(text, name):
    m = re.findall(rf"^\s+{name}:\s+(\d+)\s*$", text, re.M)
    return int(m[-1]) if m else 0


def run_profile(repo, work, name, pcap, seconds):
    fp = repo / "target/release/fastpath"
    fctl = repo / "target/release/fastpath-ctl"
    cfg = work / f"{name}.yaml"
    cfg.write_text(CONFIG.format(pcap=pcap))
    sock = work / f"{name}.sock"
    log = open(work / f"{name}.log", "w")
    proc = subprocess.Popen(
        [str(fp), "-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", f"flood{os.getpid()}",
         "--log-level", "*:warning", "--", "--config", str(cfg), "--ctl-socket", str(sock)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 60
        while not (sock.exists() and "Totals" in ctl(fctl, sock, "show fwd stats")):
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{name}: fastpath did not start; see {log.name}")
            time.sleep(0.2)
        time.sleep(1.0)  # warm-up
        samples = []
        for _ in range(seconds + 1):
            t = time.monotonic()
            st = ctl(fctl, sock, "show fwd stats")
            mem = ctl(fctl, sock, "show memory")
            neigh = re.search(r"neighbours: (\d+) entries.*?, (\d+) packets held", mem)
            mbufs = re.search(r"mbuf pool: \d+ mbufs, (\d+) in use", mem)
            rss = re.search(r"RSS (\d+) kB", mem)
            samples.append({
                "t": t, "forwarded": counter(st, "forwarded"), "rx": counter(st, "rx_packets"),
                "punt_ring_full": counter(st, "punt_ring_full"), "neigh": int(neigh.group(1)),
                "held": int(neigh.group(2)), "mbufs_in_use": int(mbufs.group(1)),
                "rss_kb": int(rss.group(1)), "arp_requests": counter(st, "arp_requests"),
                "arp_replies": counter(st, "arp_replies"), "icmp_errors": counter(st, "icmp_errors"),
            })
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
        final = ctl(fctl, sock, "quit")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    text = (work / f"{name}.log").read_text()
    leak = re.search(r"mbufs in use after shutdown: (\d+)", text)
    a, b = samples[0], samples[-1]
    dt = b["t"] - a["t"]
    return {
        "profile": name,
        "forwarded_mpps": (b["forwarded"] - a["forwarded"]) / dt / 1e6,
        "rx_mpps": (b["rx"] - a["rx"]) / dt / 1e6,
        "punt_ring_full_per_s": (b["punt_ring_full"] - a["punt_ring_full"]) / dt,
        "arp_requests_per_s": (b["arp_requests"] - a["arp_requests"]) / dt,
        "arp_replies_per_s": (b["arp_replies"] - a["arp_replies"]) / dt,
        "icmp_errors_per_s": (b["icmp_errors"] - a["icmp_errors"]) / dt,
        "neigh_max": max(s["neigh"] for s in samples),
        "held_max": max(s["held"] for s in samples),
        "mbufs_in_use": [s["mbufs_in_use"] for s in samples],
        "rss_kb": [s["rss_kb"] for s in samples],
        "mbufs_after_shutdown": int(leak.group(1)) if leak else None,
        "exit": proc.returncode,
        "quit": final.strip().splitlines()[:1],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fastpath-flood-"))
    paths = write_profiles(work)
    # Profiles alternate, round after round, so that a noisy neighbour on the machine
    # hits them alike; each figure is the median over the rounds.
    runs = {n: [] for n in paths}
    for r in range(a.rounds):
        for n, p in paths.items():
            runs[n].append(run_profile(a.repo, work, n, p, a.seconds))
            print(f"round {r + 1}: {n} {runs[n][-1]['forwarded_mpps']:.3f} Mpps forwarded", file=sys.stderr)
    results = []
    for n, rs in runs.items():
        med = sorted(rs, key=lambda x: x["forwarded_mpps"])[len(rs) // 2]
        med = dict(med, rounds_mpps=[x["forwarded_mpps"] for x in rs],
                   neigh_max=max(x["neigh_max"] for x in rs), held_max=max(x["held_max"] for x in rs),
                   mbufs_after_shutdown=max(x["mbufs_after_shutdown"] or 0 for x in rs),
                   exit=max(x["exit"] for x in rs))
        results.append(med)
    base = results[0]["forwarded_mpps"]
    print(f"{'profile':<10} {'fwd Mpps':>9} {'rx Mpps':>8} {'kept':>6} {'neigh max':>9} {'held max':>8} "
          f"{'ARP req/s':>9} {'ARP rep/s':>9} {'ICMP/s':>7} {'ring full/s':>11} {'mbufs in use (min-max)':>22} "
          f"{'RSS kB (first, last)':>21} {'leak':>4}")
    for r in results:
        share = 1.0 if r["profile"] == "resolved" else 0.5
        r["kept"] = r["forwarded_mpps"] / share / base if base else 0.0
        mb, rss = r["mbufs_in_use"], r["rss_kb"]
        print(f"{r['profile']:<10} {r['forwarded_mpps']:>9.3f} {r['rx_mpps']:>8.3f} {r['kept']:>6.2f} "
              f"{r['neigh_max']:>9} {r['held_max']:>8} {r['arp_requests_per_s']:>9.0f} "
              f"{r['arp_replies_per_s']:>9.0f} {r['icmp_errors_per_s']:>7.0f} {r['punt_ring_full_per_s']:>11.0f} "
              f"{min(mb):>10}-{max(mb):<11} {rss[0]:>10}, {rss[-1]:<10} {r['mbufs_after_shutdown']!s:>4}")
    for r in results[1:]:
        print(f"kept {r['profile']} = {r['kept']:.2f}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    bad = [r["profile"] for r in results if r["mbufs_after_shutdown"] != 0 or r["exit"] != 0]
    if bad:
        sys.exit(f"flood: unclean exit or leaked mbufs in {bad}; logs in {work}")


if __name__ == "__main__":
    main()
