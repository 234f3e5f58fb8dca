#!/usr/bin/env python3
"""Floods against established traffic (issues 7 and 12): does a flood cost the established
flows their rate or their bytes, grow memory, or push ICMP and ARP output past its limits?

One fastpath, one worker (lcore 1; the control core on lcore 0), the full RouteViews table
(--table) via the upstream 10.3.0.2 on p2, three ports:
  p0  net_pcap, infinite_rx  10.1.0.1/16  clients 10.1.0.2-65 (static neighbours): requests
                                          of the established flows, and the flood
  p1  net_pcap, infinite_rx  10.2.0.1/16  servers 198.51.100.0/24 via 10.2.0.2: replies
  p2  net_null               10.3.0.1/16  upstream 10.3.0.2: the table's routes
Established traffic: 4096 UDP and TCP (ACK) flows, 64-byte frames, requests into p0 and
their replies into p1 (16 packets per flow per pcap loop), so the flowtable carries them.
Profiles (p0's pcap is --frames long; in the flood profiles every other frame is flood, each
one new: the flood's tuples repeat only when the pcap loops):
  established  the established traffic only (the reference)
  random       UDP, source and destination uniform over the whole 32-bit space (martians,
               multicast, unrouted and routed destinations alike)
  syn          TCP SYNs from random sources (32-bit) and ports to 203.0.113.10:80 behind p2
  dst          UDP to random addresses of p2's connected 10.3.0.0/16 (nobody answers: each
               one is held, asked for with ARP, fails and is answered with host unreachable)
  arp          ARP requests for 10.1.0.1 from random 10.1.0.0/16 senders and MACs
  icmp         echo requests to the appliance (10.1.0.1) from random routed sources
  frag         UDP fragments (first, middle, last; random offsets) to random routed
               destinations and to the appliance
  options      every IPv4 option (RR, TS in its three forms, LSRR, SSRR, RA, security,
               CIPSO, stream id, NOP/EOL, an unknown one, a malformed length) in turn, to
               random routed destinations
Rounds alternate the profiles (medians reported). Each run samples every second, over the
control socket, the port counters, the flowtable, the neighbour table, the mbufs in use
and the RSS.

Figures per profile:
- kept = (established packets forwarded/s / established share of the worker's input) /
  established packets forwarded/s with no flood: the worker's rate for established
  traffic when the flood takes part of its input, 1.0 when a flood packet costs what an
  established one does (target >= 0.9). Established forwarded = TX of p0 and p1 less
  what the appliance itself sends there (ARP and ICMP); the share comes from the RX
  counters (p1's RX is all established, p0's is half).
- delivered = established forwarded / established received (every one, ~1.0);
- bytes: a second, one-pass run of each profile (the pcaps once, no loop; p0 and p1
  written to pcaps) in which every established frame must leave exactly once, on the
  other port, with the bytes a router sends (MACs of the port and of the neighbour, TTL-1,
  checksum), and nothing else to the established hosts;
- memory: tracked connections, neighbours and held packets at their peak, mbufs in use,
  RSS at the start and end;
- output: ARP requests, ARP replies, ICMP errors and echo replies per second, against
  the limits (icmp_msgs_per_sec + burst for errors; for ARP requests, mcast_solicit per
  unresolved neighbour per retrans_time, at most gc_thresh3 of them).
"""

import argparse
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

P0_MAC, P1_MAC, P2_MAC = (bytes.fromhex(f"02000000000{i}") for i in (1, 2, 3))
CLIENT_MAC = bytes.fromhex("020000000102")
SERVER_GW_MAC = bytes.fromhex("020000000202")
UPSTREAM_MAC = bytes.fromhex("020000000302")
APPLIANCE = "10.1.0.1"
CLIENTS = [f"10.1.0.{i}" for i in range(2, 66)]
FLOWS = 4096
PROFILES = ("established", "random", "syn", "dst", "arp", "icmp", "frag", "options")


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64, ident=0, frag=0, options=b""):
    """An IPv4 header (checksummed) and payload; src, dst as 4 bytes."""
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, frag, ttl,
                    proto, 0, src, dst) + options
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4(proto, src, dst, sport, dport, flags=0x10, data=b"\0" * 6):
    """UDP (17) or TCP (6) with checksum, over the pseudo header."""
    if proto == 17:
        seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
        off = 6
    else:
        seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags, 8192, 0, 0) + data
        off = 16
    c = csum(src + dst + struct.pack("!BBH", 0, proto, len(seg)) + seg) or 0xFFFF
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]


def ether(dst, src, payload, etype=0x0800, pad=True):
    f = dst + src + struct.pack("!H", etype) + payload
    return f + b"\0" * max(0, 60 - len(f)) if pad else f


def flow(i):
    """Established flow i: (proto, client, server, cport, sport)."""
    return (17 if i % 2 else 6, ip4(CLIENTS[i % len(CLIENTS)]),
            ip4(f"198.51.100.{i // len(CLIENTS) % 250 + 1}"), 10000 + i, 5000 + i % 7)


def request(i, k):
    proto, c, s, cp, sp = flow(i)
    return ether(P0_MAC, CLIENT_MAC, ipv4(c, s, proto, l4(proto, c, s, cp, sp), ident=k & 0xFFFF))


def reply(i, k):
    proto, c, s, cp, sp = flow(i)
    return ether(P1_MAC, SERVER_GW_MAC, ipv4(s, c, proto, l4(proto, s, c, sp, cp), ident=k & 0xFFFF))


def rand32(rng):
    return rng.getrandbits(32).to_bytes(4, "big")


def routed(rng, prefixes):
    """A random address the table routes (a random prefix, a random host in it)."""
    net, plen = prefixes[rng.randrange(len(prefixes))]
    host = rng.getrandbits(32 - plen) if plen < 32 else 0
    return (net | host).to_bytes(4, "big")


OPTIONS = [
    bytes([7, 11, 4]) + b"\0" * 8 + b"\0",                  # record route, 2 slots, EOL
    bytes([68, 12, 5, 0]) + b"\0" * 8,                       # timestamp, timestamps only
    bytes([68, 20, 5, 1]) + b"\0" * 16,                      # timestamp with addresses
    bytes([68, 20, 5, 3]) + ip4("10.3.0.1") + b"\0" * 4 + ip4("10.9.9.9") + b"\0" * 4,  # prespecified
    bytes([131, 7, 4]) + ip4("10.3.0.2") + b"\0",            # loose source route
    bytes([137, 7, 4]) + ip4("10.3.0.2") + b"\0",            # strict source route
    bytes([148, 4, 0, 0]),                                   # router alert
    bytes([130, 11]) + b"\0" * 9 + b"\0",                    # security (RFC 1108)
    bytes([134, 10, 0, 0, 0, 1, 1, 4, 0, 0]) + b"\0\0",      # CIPSO, a tag of type 1
    bytes([136, 4, 0, 1]),                                   # stream id
    bytes([1, 1, 1, 0]),                                     # NOP NOP NOP EOL
    bytes([0x9e, 4, 0, 0]),                                  # an unknown option
    bytes([7, 40, 4, 0]),                                    # malformed: length past the header
]


def flood_frame(kind, k, rng, prefixes):
    if kind == "random":
        s, d = rand32(rng), rand32(rng)
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 17, l4(17, s, d, rng.randrange(1, 65536), 9)))
    if kind == "syn":
        s, d = rand32(rng), ip4("203.0.113.10")
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 6, l4(6, s, d, rng.randrange(1024, 65536), 80,
                                                          flags=0x02, data=b"")))
    if kind == "dst":
        a = rng.randrange(3, 65534)
        s, d = routed(rng, prefixes), ip4(f"10.3.{a >> 8}.{a & 255}")
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 17, l4(17, s, d, 7, 9)))
    if kind == "arp":
        a = rng.randrange(3, 65534)
        mac = bytes([2]) + rng.getrandbits(40).to_bytes(5, "big")
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip4(f"10.1.{a >> 8}.{a & 255}"),
                          b"\0" * 6, ip4(APPLIANCE))
        return ether(b"\xff" * 6, mac, arp, 0x0806)
    if kind == "icmp":
        s, d = routed(rng, prefixes), ip4(APPLIANCE)
        echo = struct.pack("!BBHHH", 8, 0, 0, rng.getrandbits(16), k & 0xFFFF) + b"\0" * 10
        echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 1, echo))
    if kind == "frag":
        s = routed(rng, prefixes)
        d = ip4(APPLIANCE) if k % 4 == 1 else routed(rng, prefixes)
        part = k // 2 % 3
        off = 0 if part == 0 else rng.randrange(1, 8000)
        frag = (0x2000 if part < 2 else 0) | off
        data = l4(17, s, d, 7, 9) if part == 0 else b"\0" * 14
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 17, data, ident=rng.getrandbits(16), frag=frag))
    if kind == "options":
        s, d = routed(rng, prefixes), routed(rng, prefixes)
        opt = OPTIONS[k // 2 % len(OPTIONS)]
        opt += b"\0" * (-len(opt) % 4)
        return ether(P0_MAC, CLIENT_MAC, ipv4(s, d, 17, l4(17, s, d, 7, 9), options=opt))
    raise ValueError(kind)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    data = Path(path).read_bytes()
    frames, off = [], 24
    while off + 16 <= len(data):
        n = struct.unpack_from("<IIII", data, off)[2]
        frames.append(data[off + 16:off + 16 + n])
        off += 16 + n
    return frames


def read_table(path, rng):
    """The table's prefixes (network, length), for routed random addresses."""
    text = subprocess.run(["xz", "-dcf", str(path)], capture_output=True, text=True, check=True).stdout
    out = []
    for line in text.splitlines():
        p = line.split()[0] if line.strip() else ""
        if "/" in p:
            a, n = p.split("/")
            out.append((int.from_bytes(ip4(a), "big"), int(n)))
    rng.shuffle(out)
    return out


def write_profiles(work, frames, prefixes):
    rng = random.Random(12)
    replies = [reply(i % FLOWS, i) for i in range(frames)]
    write_pcap(work / "replies.pcap", replies)
    paths = {}
    for name in PROFILES:
        out = []
        for k in range(frames):
            if name == "established":
                out.append(request(k % FLOWS, k))
            elif k % 2 == 0:
                out.append(request(k // 2 % FLOWS, k))
            else:
                out.append(flood_frame(name, k, rng, prefixes))
        write_pcap(work / f"{name}.pcap", out)
        paths[name] = work / f"{name}.pcap"
    return paths


CONFIG = """\
ports:
  - {{ name: p0, device: "net_pcap0,{p0}", mac: "02:00:00:00:00:01", addresses: [10.1.0.1/16], rx_desc: 1024, tx_desc: 1024 }}
  - {{ name: p1, device: "net_pcap1,{p1}", mac: "02:00:00:00:00:02", addresses: [10.2.0.1/16], rx_desc: 1024, tx_desc: 1024 }}
  - {{ name: p2, device: "net_null0,no-rx=1", mac: "02:00:00:00:00:03", addresses: [10.3.0.1/16] }}
neighbors:
  - {{ address: 10.2.0.2, mac: "02:00:00:00:02:02", port: p1 }}
  - {{ address: 10.3.0.2, mac: "02:00:00:00:03:02", port: p2 }}
{clients}routes:
  - {{ prefix: 198.51.100.0/24, via: 10.2.0.2 }}
  - {{ prefix: 203.0.113.0/24, via: 10.3.0.2 }}
route_files:
  - {{ path: {table}, via: [10.3.0.2] }}
settings: {{ mbufs: {mbufs}, arp_notify: false }}
"""


class Fastpath:
    def __init__(self, repo, work, tag, p0, p1, table, mbufs):
        self.fctl = repo / "target/release/fastpath-ctl"
        clients = "".join(f'  - {{ address: {c}, mac: "02:00:00:00:01:02", port: p0 }}\n' for c in CLIENTS)
        cfg = work / f"{tag}.yaml"
        cfg.write_text(CONFIG.format(p0=p0, p1=p1, clients=clients, table=table, mbufs=mbufs))
        self.sock = work / f"{tag}.sock"
        self.logpath = work / f"{tag}.log"
        self.log = open(self.logpath, "w")
        mem = max(1024, mbufs * 3 // 1024 + 1024)
        self.proc = subprocess.Popen(
            [str(repo / "target/release/fastpath"), "-l", "0-1", "--no-huge", "-m", str(mem), "--no-pci",
             "--file-prefix", f"flood{os.getpid()}", "--log-level", "*:warning", "--",
             "--config", str(cfg), "--ctl-socket", str(self.sock)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 300
        while not (self.sock.exists() and "Totals" in self.ctl("show fwd stats")):
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise SystemExit(f"{tag}: fastpath did not start; see {self.logpath}")
            time.sleep(0.2)

    def ctl(self, *cmd):
        return subprocess.run([str(self.fctl), "--socket", str(self.sock), *cmd], capture_output=True,
                              text=True, timeout=30).stdout

    def quit(self):
        self.ctl("quit")
        try:
            self.proc.wait(timeout=60)
        finally:
            self.stop()
        text = self.logpath.read_text()
        leak = re.search(r"mbufs in use after shutdown: (\d+)", text)
        return self.proc.returncode, int(leak.group(1)) if leak else None

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def counter(text, name):
    m = re.findall(rf"^\s+{name}:\s+(\d+)\s*$", text, re.M)
    return int(m[-1]) if m else 0


def sample(fp):
    t = time.monotonic()
    st, ports, mem, flows = (fp.ctl(*c.split()) for c in
                             ("show fwd stats", "show port stats all", "show memory", "show flows 0"))
    rx = [int(x) for x in re.findall(r"RX-packets: (\d+)", ports)]
    tx = [int(x) for x in re.findall(r"TX-packets: (\d+)", ports)]
    neigh = re.search(r"neighbours: (\d+) entries.*?, (\d+) packets held", mem)
    s = {"t": t, "rx": rx, "tx": tx, "neigh": int(neigh.group(1)), "held": int(neigh.group(2)),
         "mbufs_in_use": int(re.search(r"mbuf pool: \d+ mbufs, (\d+) in use", mem).group(1)),
         "rss_kb": int(re.search(r"RSS (\d+) kB", mem).group(1)),
         "tracked": int(re.search(r"(\d+) connection\(s\) tracked", flows).group(1))}
    for c in ("arp_requests", "arp_replies", "icmp_errors", "echo_replies", "flow_hits",
              "punt_ring_full", "redirects_sent"):
        s[c] = counter(st, c)
    s["drops"] = dict(re.findall(r"^    (\w+): (\d+)$", st.split("Drops:")[-1], re.M))
    s["ctl_ms"] = (time.monotonic() - t) * 1000 / 4
    return s


def run_rate(repo, work, table, name, pcap, replies, seconds, mbufs):
    fp = Fastpath(repo, work, f"rate-{name}", f"rx_pcap={pcap},infinite_rx=1",
                  f"rx_pcap={replies},infinite_rx=1", table, mbufs)
    try:
        time.sleep(1.0)  # warm-up: the flows offloaded, the flood's state built
        samples = []
        for _ in range(seconds + 1):
            t = time.monotonic()
            samples.append(sample(fp))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
        rc, leak = fp.quit()
    except BaseException:
        fp.stop()
        raise
    a, b = samples[0], samples[-1]
    dt = b["t"] - a["t"]
    d = {k: (b[k] - a[k]) / dt for k in ("arp_requests", "arp_replies", "icmp_errors", "echo_replies",
                                         "flow_hits", "punt_ring_full", "redirects_sent")}
    rx = [(y - x) / dt for x, y in zip(a["rx"], b["rx"])]
    tx = [(y - x) / dt for x, y in zip(a["tx"], b["tx"])]
    share = 1.0 if name == "established" else 0.5
    est_rx = rx[1] + share * rx[0]
    # What leaves p0 and p1 that is not established traffic: the appliance's ARP replies
    # (on p0, to the ARP flood). The floods' sources are routed through p2, so ICMP
    # answers go there, but for the random profile's 1-in-65536 chance (not subtracted).
    est_fwd = tx[0] + tx[1] - d["arp_replies"]
    return {
        "profile": name, "rx_mpps": sum(rx) / 1e6, "rx_per_port": rx, "tx_per_port": tx,
        "est_fwd_mpps": est_fwd / 1e6, "est_rx_mpps": est_rx / 1e6, "est_share": est_rx / sum(rx) if sum(rx) else 0,
        "delivered": est_fwd / est_rx if est_rx else 0, "per_s": d,
        "tracked_max": max(s["tracked"] for s in samples), "neigh_max": max(s["neigh"] for s in samples),
        "held_max": max(s["held"] for s in samples), "mbufs_in_use": [s["mbufs_in_use"] for s in samples],
        "rss_kb": [s["rss_kb"] for s in samples], "ctl_ms_max": max(s["ctl_ms"] for s in samples),
        "drops_per_s": {k: (int(v) - int(a["drops"].get(k, 0))) / dt for k, v in b["drops"].items()},
        "exit": rc, "mbufs_after_shutdown": leak,
    }


def expected(frame, out_src, out_dst):
    """The frame a router sends for `frame`: new MACs, TTL-1, the checksum updated, the
    padding gone (as Linux trims it on input; the NIC pads on the wire)."""
    ip = bytearray(frame[14:14 + struct.unpack_from("!H", frame, 16)[0]])
    ip[8] -= 1
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", csum(bytes(ip[:(ip[0] & 15) * 4])))
    return ether(out_dst, out_src, bytes(ip), pad=False)


def run_bytes(repo, work, table, name, pcap, replies, mbufs):
    """One pass of the pcaps, both ports written out; the established frames checked."""
    out0, out1 = work / f"bytes-{name}-p0.pcap", work / f"bytes-{name}-p1.pcap"
    fp = Fastpath(repo, work, f"bytes-{name}", f"rx_pcap={pcap},tx_pcap={out0}",
                  f"rx_pcap={replies},tx_pcap={out1}", table, mbufs)
    try:
        last = None
        for _ in range(120):  # until the input is consumed
            time.sleep(0.5)
            now = sample(fp)["rx"][:2]
            if now == last:
                break
            last = now
        rc, leak = fp.quit()
    except BaseException:
        fp.stop()
        raise
    res = {"exit": rc, "mbufs_after_shutdown": leak}
    inp = read_pcap(pcap)
    clients = {ip4(c) for c in CLIENTS}
    servers = {ip4(f"198.51.100.{i}") for i in range(1, 251)}
    for label, frames, outp, src, dst, froms, tos in (
            ("requests", [f for k, f in enumerate(inp) if name == "established" or k % 2 == 0], out1,
             P1_MAC, SERVER_GW_MAC, clients, servers),
            ("replies", read_pcap(replies), out0, P0_MAC, CLIENT_MAC, servers, clients)):
        want = Counter(expected(f, src, dst) for f in frames)
        # What leaves between the established hosts (the flood's random addresses
        # could name one, once in 65536 frames, and the ICMP the appliance sends).
        got = Counter(f for f in read_pcap(outp) if f[12:14] == b"\x08\x00" and f[23] != 1
                      and f[26:30] in froms and f[30:34] in tos)
        missing = sum((want - got).values())
        extra = sum((got - want).values())
        res[label] = {"sent": sum(want.values()), "exact": sum((want & got).values()), "missing": missing,
                      "unexpected": extra}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=131072, help="frames per pcap (p0's and p1's)")
    ap.add_argument("--profiles", default=",".join(PROFILES))
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    a.table = a.table.resolve()  # the configs live in the scratch directory
    names = a.profiles.split(",")
    if names[0] != "established" or any(n not in PROFILES for n in names):
        sys.exit(f"flood: --profiles starts with established, from {', '.join(PROFILES)}")
    work = Path(tempfile.mkdtemp(prefix="fastpath-flood-"))
    t0 = time.monotonic()
    prefixes = read_table(a.table, random.Random(1))
    paths = write_profiles(work, a.frames, prefixes)
    replies = work / "replies.pcap"
    # The pcaps' copies take 2 x frames mbufs for the whole run; the rest must hold what
    # a deployment's pool does (a quarter of the pool for held packets, the punt ring,
    # rings and caches), or the flood that holds packets starves the input instead.
    mbufs = 3 * a.frames + 16384
    print(f"flood: {len(names)} profiles of {a.frames} frames written in {time.monotonic() - t0:.0f} s "
          f"({work})", file=sys.stderr)
    runs = {n: [] for n in names}
    for r in range(a.rounds):
        for n in names:
            runs[n].append(run_rate(a.repo, work, a.table, n, paths[n], replies, a.seconds, mbufs))
            x = runs[n][-1]
            print(f"round {r + 1}: {n:<11} established {x['est_fwd_mpps']:.3f} Mpps forwarded, "
                  f"delivered {x['delivered']:.3f}", file=sys.stderr)
    results = []
    for n in names:
        rs = runs[n]
        med = dict(sorted(rs, key=lambda x: x["est_fwd_mpps"])[len(rs) // 2])
        med.update(rounds_mpps=[x["est_fwd_mpps"] for x in rs],
                   tracked_max=max(x["tracked_max"] for x in rs), neigh_max=max(x["neigh_max"] for x in rs),
                   held_max=max(x["held_max"] for x in rs), delivered_min=min(x["delivered"] for x in rs),
                   mbufs_after_shutdown=max(x["mbufs_after_shutdown"] or 0 for x in rs),
                   exit=max(x["exit"] for x in rs))
        med["bytes"] = run_bytes(a.repo, work, a.table, n, paths[n], replies, mbufs)
        results.append(med)
    base = results[0]["est_fwd_mpps"]
    hdr = (f"{'profile':<11} {'est Mpps':>8} {'rx Mpps':>7} {'share':>5} {'kept':>5} {'deliv':>5} "
           f"{'bytes req/rep exact':>19} {'tracked':>7} {'neigh':>5} {'held':>5} {'ARPreq/s':>8} "
           f"{'ARPrep/s':>8} {'ICMPerr/s':>9} {'echo/s':>7} {'mbufs':>11} {'RSS MiB':>11} {'leak':>4}")
    print(hdr)
    for r in results:
        r["kept"] = r["est_fwd_mpps"] / r["est_share"] / base if base and r["est_share"] else 0.0
        b, mb, rss, ps = r["bytes"], r["mbufs_in_use"], r["rss_kb"], r["per_s"]
        exact = f"{b['requests']['exact']}/{b['replies']['exact']} of {b['requests']['sent']}"
        print(f"{r['profile']:<11} {r['est_fwd_mpps']:>8.3f} {r['rx_mpps']:>7.3f} {r['est_share']:>5.2f} "
              f"{r['kept']:>5.2f} {r['delivered_min']:>5.3f} {exact:>19} {r['tracked_max']:>7} "
              f"{r['neigh_max']:>5} {r['held_max']:>5} {ps['arp_requests']:>8.0f} {ps['arp_replies']:>8.0f} "
              f"{ps['icmp_errors']:>9.0f} {ps['echo_replies']:>7.0f} {min(mb):>5}-{max(mb):<5} "
              f"{rss[0] / 1024:>5.0f}-{rss[-1] / 1024:<5.0f} {r['mbufs_after_shutdown']!s:>4}")
    print("drops per second by reason (median round), and the slowest answer of the control socket:")
    for r in results:
        top = sorted(r["drops_per_s"].items(), key=lambda kv: -kv[1])[:6]
        print(f"  {r['profile']:<11} {r['ctl_ms_max']:>5.0f} ms  " + ", ".join(f"{k} {v:.0f}" for k, v in top if v))
    for r in results[1:]:
        print(f"kept {r['profile']} = {r['kept']:.2f}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    bad = [r["profile"] for r in results
           if r["mbufs_after_shutdown"] != 0 or r["exit"] != 0 or r["bytes"]["exit"] != 0
           or r["bytes"]["mbufs_after_shutdown"] != 0
           or any(r["bytes"][d]["missing"] or r["bytes"][d]["unexpected"] for d in ("requests", "replies"))]
    if bad:
        sys.exit(f"flood: unclean exit, leaked mbufs or established frames not forwarded exactly in {bad}; "
                 f"logs in {work}")


if __name__ == "__main__":
    main()
