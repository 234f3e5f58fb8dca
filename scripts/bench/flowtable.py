#!/usr/bin/env python3
"""Flowtable benchmark (issue 9): what the per-packet cost of established flows is with
flowtable hits against the normal path, with the full table, with the default rules and
with 100 policy rules in front of main; and what floods of new flows (SYNs, random-source
UDP) do to established traffic and to memory.

One fastpath, one worker (lcore 1; the control core on lcore 0). Both ports are net_pcap
with infinite_rx (each pcap replayed from memory; what they are sent is dropped): p0
carries the clients' side of 1024 established flows (10.0.1.2-9, half TCP ACKs picked up
mid-stream as nf_conntrack_tcp_loose allows, half UDP, to random destinations covered by
the full table via 10.0.2.2 on p1), p1 the servers' replies. Both directions reach the same
worker, so every flow is offloaded after its first reply. nf_conntrack_max is 4096. Profiles (8192 frames per port):
  established   only those flows
  syn-flood     half those flows, half TCP SYNs from random sources to random
                destinations, on both ports (each one a new unestablished connection)
  udp-flood     half those flows, half UDP from random sources, on both ports
Variants: `flowtable` (default settings) and `normal` (settings.flowtable: false), each with
the default rules (floods too) and with 100 rules (`from 172.16.N.0/24 table 100`, none matching) before
main. Each run lasts --seconds, rounds alternate the runs, medians are reported.

Figures: Mpps forwarded; the worker's sampled cycles per packet without rx/tx ("excl-io"
of `show fwd stats`); for the floods, the established packets forwarded per second
(`flow_hits`: only established flows hit) against the `established` run scaled by their
share of the input (1/2): `kept = (hits_flood / 0.5) / hits_established`; the share of
established packets that were hits; the cycles a flood packet costs (the mix is half
established: 2 * mix - established) with and without the flowtable; the RSS over the run.
"""

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

R0, R1 = "02:00:00:00:00:01", "02:00:00:00:00:02"
GW_MAC = "02:00:00:00:02:02"
CLIENT_MAC = "02:00:00:00:01:%02x"
N, FLOWS = 8192, 1024
# Connections per worker: the 1024 established flows and room for 3072 more, fewer than the
# 8192 distinct flood tuples per replay of the pcaps, so that every flood packet is a new
# connection that takes the slot of the oldest unestablished one (an endless flood).
CONNS = 4096


def random_unicast(rng):
    """A random destination outside the martians and the router's own subnets."""
    while True:
        a = rng.randrange(1 << 24, 224 << 24)
        if a >> 24 not in (0, 10, 127):
            return "%d.%d.%d.%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255)


def flows(rng):
    out = []
    for i in range(FLOWS):
        out.append((f"10.0.1.{2 + i % 8}", random_unicast(rng), 1024 + i, 80 if i % 2 else 53,
                    "tcp" if i % 2 else "udp"))
    return out


def l4(proto, sport, dport, flags="A"):
    return TCP(sport=sport, dport=dport, flags=flags, seq=1, ack=1) if proto == "tcp" else UDP(sport=sport, dport=dport)


def client(f, i):
    c, s, sp, dp, proto = f
    return Ether(dst=R0, src=CLIENT_MAC % (2 + i % 8)) / IP(src=c, dst=s) / l4(proto, sp, dp)


def server(f):
    c, s, sp, dp, proto = f
    return Ether(dst=R1, src=GW_MAC) / IP(src=s, dst=c) / l4(proto, dp, sp)


def flood(rng, port, kind):
    src, dst = random_unicast(rng), random_unicast(rng) if port == 0 else f"10.0.1.{rng.randrange(2, 10)}"
    sp, dp = rng.randrange(1024, 65535), rng.randrange(1, 65535)
    t = TCP(sport=sp, dport=dp, flags="S") if kind == "syn" else UDP(sport=sp, dport=dp)
    return Ether(dst=R0 if port == 0 else R1, src=GW_MAC) / IP(src=src, dst=dst) / t


def pad(p):
    return p / (b"\0" * max(0, 60 - len(p)))


def write_profiles(work):
    rng = random.Random(9)
    fl = flows(rng)
    paths = {}
    for name, kind in (("established", None), ("syn-flood", "syn"), ("udp-flood", "udp")):
        for port in (0, 1):
            frames = []
            for i in range(N):
                if kind and i % 2:
                    frames.append(pad(flood(rng, port, kind)))
                else:
                    f = fl[(i // 2 if kind else i) % FLOWS]
                    frames.append(pad(client(f, i) if port == 0 else server(f)))
            p = work / f"{name}-{port}.pcap"
            wrpcap(str(p), frames)
            paths[(name, port)] = p
    return paths


def config(paths, name, table, variant, rules):
    rule_lines = "".join(f"  - {{ pref: {1000 + i}, from: 172.16.{i}.0/24, table: 100 }}\n" for i in range(rules))
    neigh = "".join(f'  - {{ address: 10.0.1.{2 + i}, mac: "{CLIENT_MAC % (2 + i)}", port: p0 }}\n' for i in range(8))
    return f"""\
ports:
  - {{ name: p0, device: "net_pcap0,rx_pcap={paths[(name, 0)]},infinite_rx=1", mac: "{R0}", addresses: [10.0.1.1/24] }}
  - {{ name: p1, device: "net_pcap1,rx_pcap={paths[(name, 1)]},infinite_rx=1", mac: "{R1}", addresses: [10.0.2.1/24] }}
neighbors:
{neigh}  - {{ address: 10.0.2.2, mac: "{GW_MAC}", port: p1 }}
routes:
  - {{ prefix: 0.0.0.0/0, via: 10.0.2.2 }}
route_files:
  - {{ path: {table}, via: [10.0.2.2] }}
{"rules:" + chr(10) + rule_lines if rules else ""}settings: {{ mbufs: 32767, arp_notify: false, nf_conntrack_max: {CONNS}, flowtable: {"true" if variant == "flowtable" else "false"} }}
"""


def ctl(binary, sock, *cmd):
    return subprocess.run([str(binary), "--socket", str(sock), *cmd], capture_output=True,
                          text=True, timeout=20).stdout


def counter(text, name):
    m = re.findall(rf"^\s+{name}:\s+(\d+)\s*$", text, re.M)
    return int(m[-1]) if m else 0


def excl_io(text):
    m = re.findall(r"excl-io=(\d+)", text)
    return int(m[-1]) if m else None


def run(repo, work, paths, table, name, variant, rules, seconds):
    fp, fctl = repo / "target/release/fastpath", repo / "target/release/fastpath-ctl"
    tag = f"{name}-{variant}-{rules}"
    cfg = work / f"{tag}.yaml"
    cfg.write_text(config(paths, name, table, variant, rules))
    sock = work / f"{tag}.sock"
    log = open(work / f"{tag}.log", "w")
    proc = subprocess.Popen(
        [str(fp), "-l", "0-1", "--no-huge", "-m", "1024", "--no-pci", "--file-prefix", f"ft{os.getpid()}",
         "--log-level", "*:warning", "--", "--config", str(cfg), "--ctl-socket", str(sock)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (sock.exists() and "Totals" in ctl(fctl, sock, "show fwd stats")):
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{tag}: fastpath did not start; see {log.name}")
            time.sleep(0.3)
        time.sleep(1.0)  # warm-up: every flow offloaded
        ctl(fctl, sock, "clear fwd stats")
        t0 = time.monotonic()
        rss = []
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0)
            m = re.search(r"RSS (\d+) kB", ctl(fctl, sock, "show memory"))
            rss.append(int(m.group(1)) if m else 0)
        st = ctl(fctl, sock, "show fwd stats")
        dt = time.monotonic() - t0
        ft = ctl(fctl, sock, "show flowtable stats")
        ctl(fctl, sock, "quit")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        subprocess.run(["rm", "-rf", f"/var/run/dpdk/ft{os.getpid()}"], check=False)
    leak = re.search(r"mbufs in use after shutdown: (\d+)", (work / f"{tag}.log").read_text())
    conns = [int(x) for x in re.findall(r"connections: (\d+) of", ft)]
    return {
        "profile": name, "variant": variant, "rules": rules,
        "mpps": counter(st, "forwarded") / dt / 1e6,
        "hits_mpps": counter(st, "flow_hits") / dt / 1e6,
        "excl_io": excl_io(st),
        "evictions_per_s": counter(st, "flow_evictions") / dt,
        "table_full_per_s": counter(st, "flow_table_full") / dt,
        "connections": conns[0] if conns else 0,
        "rss_kb": rss,
        "leak": int(leak.group(1)) if leak else None,
        "exit": proc.returncode,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fastpath-flowtable-"))
    paths = write_profiles(work)
    runs = [("established", v, r) for r in (0, 100) for v in ("flowtable", "normal")]
    runs += [(p, v, 0) for p in ("syn-flood", "udp-flood") for v in ("flowtable", "normal")]
    res = {k: [] for k in runs}
    for rnd in range(a.rounds):
        for k in runs:
            r = run(a.repo, work, paths, a.table.resolve(), *k, a.seconds)
            res[k].append(r)
            print(f"round {rnd + 1}: {k} {r['mpps']:.3f} Mpps, excl-io {r['excl_io']}", file=sys.stderr)
    med = {}
    for k, rs in res.items():
        m = sorted(rs, key=lambda x: x["mpps"])[len(rs) // 2]
        m = dict(m, rounds_mpps=[x["mpps"] for x in rs],
                 excl_io=statistics.median(x["excl_io"] or 0 for x in rs),
                 leak=max(x["leak"] or 0 for x in rs), exit=max(x["exit"] for x in rs))
        med[k] = m
    print(f"{'profile':<12} {'variant':<10} {'rules':>5} {'Mpps':>7} {'hits Mpps':>9} {'cyc/pkt':>7} "
          f"{'evict/s':>9} {'full/s':>7} {'conns':>6} {'RSS kB (min-max)':>19} {'leak':>4}")
    for k, m in med.items():
        print(f"{m['profile']:<12} {m['variant']:<10} {m['rules']:>5} {m['mpps']:>7.3f} {m['hits_mpps']:>9.3f} "
              f"{m['excl_io']:>7.0f} {m['evictions_per_s']:>9.0f} {m['table_full_per_s']:>7.0f} "
              f"{m['connections']:>6} {min(m['rss_kb']):>9}-{max(m['rss_kb']):<9} {m['leak']!s:>4}")
    for rules in (0, 100):
        f, n = med[("established", "flowtable", rules)], med[("established", "normal", rules)]
        print(f"speedup per packet (normal/flowtable cycles), {rules} rules = {n['excl_io'] / f['excl_io']:.2f}"
              f"  (Mpps ratio {f['mpps'] / n['mpps']:.2f})")
    base = med[("established", "flowtable", 0)]["hits_mpps"]
    for p in ("syn-flood", "udp-flood"):
        m = med[(p, "flowtable", 0)]
        print(f"kept {p} = {m['hits_mpps'] / 0.5 / base:.2f}  (established packets that hit: "
              f"{m['hits_mpps'] / (0.5 * m['mpps']):.2f} of their share)")
        # Half the packets are established, so a flood packet costs 2 * mix - established.
        cost = {v: 2 * med[(p, v, 0)]["excl_io"] - med[("established", v, 0)]["excl_io"]
                for v in ("flowtable", "normal")}
        print(f"  cycles per {p} packet: {cost['flowtable']:.0f} with the flowtable, "
              f"{cost['normal']:.0f} without; established packets: "
              f"{med[('established', 'flowtable', 0)]['excl_io']:.0f} (hits) vs "
              f"{med[('established', 'normal', 0)]['excl_io']:.0f}; mix Mpps "
              f"{m['mpps']:.3f} vs {med[(p, 'normal', 0)]['mpps']:.3f} without")
    if a.json:
        a.json.write_text(json.dumps([dict(v, key=list(k)) for k, v in med.items()], indent=1))
    bad = [k for k, m in med.items() if m["leak"] != 0 or m["exit"] != 0]
    if bad:
        sys.exit(f"flowtable: unclean exit or leaked mbufs in {bad}; logs in {work}")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
