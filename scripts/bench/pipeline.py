#!/usr/bin/env python3
"""Pipeline benchmark of fastpath against dpdk-testpmd (io) and DPDK l3fwd (LPM).

Run by scripts/bench-pipeline.sh, which installs and builds what this needs first.

Every contender gets the same I/O: port 0 is net_pcap with infinite_rx=1 (the pcap replayed
from memory), port 1 is net_null with no-rx=1 (frees what it is sent); one worker on lcore 1,
the main lcore (if any) on lcore 0. Every destination in the traffic is routed to port 1, so
Mpps is port 1's TX rate, read from each process's DPDK telemetry socket.

All contenders for a traffic profile are started once and kept SIGSTOPped; each round
SIGCONTs one at a time (the order rotates every round), warms up, measures a fixed interval,
and SIGSTOPs it again: only one contender ever runs, and a noisy spell hits them all alike.
The figure reported is the median over the rounds. l3fwd builds its LPM table from the full
table once (minutes); its single process holds every profile on its own rx port and is told
which one to poll with SIGRTMIN+k (see scripts/bench/l3fwd-bench.patch). testpmd and
fastpath run one process per profile (a fresh process per profile keeps memory bounded).
"""

import argparse
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time

WORKER_CPUS = {0, 1}
HARNESS_CPU = {0}


def log(msg):
    print(msg, flush=True)


class BenchError(Exception):
    pass


class Telemetry:
    """A connection to a DPDK process's telemetry v2 socket (SOCK_SEQPACKET, JSON)."""

    def __init__(self, path, deadline, alive):
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.connect(path)
                break
            except OSError:
                s.close()
                if not alive():
                    raise BenchError(f"process exited before its telemetry socket {path} appeared")
                if time.monotonic() > deadline:
                    raise BenchError(f"no telemetry socket at {path}")
                time.sleep(0.2)
        self.sock = s
        hello = json.loads(s.recv(65536))
        self.version = hello.get("version", "?")
        self.max_len = int(hello.get("max_output_len", 16384))

    def cmd(self, c):
        self.sock.send(c.encode())
        return json.loads(self.sock.recv(self.max_len + 1024))

    def port_stats(self, port):
        r = self.cmd(f"/ethdev/stats,{port}").get("/ethdev/stats")
        if not isinstance(r, dict):
            raise BenchError(f"telemetry: no stats for port {port}")
        return r

    def close(self):
        self.sock.close()


class Contender:
    """One running process of one contender."""

    def __init__(self, name, kind, argv, env, logpath, prefix, tx_ports, rx_ports):
        self.name, self.kind, self.argv, self.prefix = name, kind, argv, prefix
        self.tx_ports, self.rx_ports = tx_ports, rx_ports
        self.logpath = logpath
        self.logf = open(logpath, "w")
        self.logf.write("$ " + " ".join(shlex.quote(a) for a in argv) + "\n")
        self.logf.flush()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,  # testpmd runs until its stdin gives a line or EOF
            stdout=self.logf,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            preexec_fn=lambda: os.sched_setaffinity(0, WORKER_CPUS),
        )
        self.tel = None
        self.stopped = False

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def wait_ready(self, timeout):
        """Waits until packets leave the TX port, then stops the process."""
        deadline = time.monotonic() + timeout
        self.tel = Telemetry(f"/var/run/dpdk/{self.prefix}/dpdk_telemetry.v2", deadline, self.alive)
        while True:
            if not self.alive():
                raise BenchError(f"{self.name} exited (status {self.proc.returncode}); log {self.logpath}:\n{self.log_tail()}")
            try:
                if sum(self.tel.port_stats(p)["opackets"] for p in self.tx_ports) > 0:
                    break
            except BenchError:
                pass  # ports not probed yet
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name}: nothing forwarded after {timeout} s; log {self.logpath}:\n{self.log_tail()}")
            time.sleep(0.3)
        self.stop()

    def stop(self):
        os.kill(self.proc.pid, signal.SIGSTOP)
        # Wait until the kernel reports it stopped, so it never overlaps the next contender.
        for _ in range(1000):
            with open(f"/proc/{self.proc.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("T", "t"):
                break
            time.sleep(0.001)
        self.stopped = True

    def cont(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def sample(self):
        """(time, tx opackets of the TX ports, {rx port: ipackets})."""
        t0 = time.monotonic()
        tx = sum(self.tel.port_stats(p)["opackets"] for p in self.tx_ports)
        rx = {p: self.tel.port_stats(p)["ipackets"] for p in self.rx_ports}
        t1 = time.monotonic()
        return (t0 + t1) / 2, tx, rx

    def terminate(self):
        if self.tel:
            self.tel.close()
        if self.alive():
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.send_signal(signal.SIGTERM)
            os.kill(self.proc.pid, signal.SIGCONT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        subprocess.run(["rm", "-rf", f"/var/run/dpdk/{self.prefix}"], check=False)


def eal_args(prefix, mem_mb, lcores):
    return ["-l", lcores, "--no-huge", "-m", str(mem_mb), "--no-pci", "--file-prefix", prefix, "--log-level", "*:notice"]


def mem_mb(mbufs, extra_mb):
    # An mbuf with the default 2176-byte data room is 2368 bytes with its headers, and with
    # --no-huge (4 KiB pages) the mempool puts one per page: 4 KiB each.
    return int(mbufs * 4096 / 2**20) + extra_mb


def mem_available_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    return 0


def peak_mb(counts, nvariants):
    """EAL memory at peak: l3fwd holds every profile; one testpmd and the fastpath variants
    hold the biggest."""
    return mem_mb(sum(counts) + 16384, 512) + (1 + nvariants) * mem_mb(max(counts) + 16384, 512)


def pcap_dev(path):
    return f"net_pcap0,rx_pcap={path},infinite_rx=1"


NULL_DEV = "net_null0,no-rx=1"
CYCLES_RE = re.compile(r"^\s*cycles/packet:\s*(.*)$", re.M)


def parse_cycles(text):
    m = CYCLES_RE.search(text)
    if not m:
        return None
    out = {}
    for kv in m.group(1).split():
        k, _, v = kv.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            pass
    return out or None


def machine_info(dpdk_version):
    model, mhz = "?", "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and mhz == "?":
                mhz = line.split(":", 1)[1].strip()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    distro = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        virt = "?"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "cpu_mhz": mhz,
        "mem_gib": round(mem_gib, 1),
        "dpdk": dpdk_version,
        "kernel": platform.release(),
        "os": distro,
        "virt": virt,
    }


def git_rev(repo):
    r = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    rev = r.stdout.strip() or "?"
    d = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return rev + ("+dirty" if d.stdout.strip() else "")


# name, fastpath-gen arguments, default count
PROFILES = {
    "sampled-64": (["--profile", "sampled", "--size", "64", "--proto", "udp"], 65536),
    "sampled-imix": (["--profile", "sampled", "--size", "imix", "--proto", "mix"], 65536),
    "few-flows-64": (["--profile", "few-flows", "--size", "64", "--proto", "udp", "--flows", "4", "--run", "16"], 65536),
    "many-flows-64": (["--profile", "many-flows", "--size", "64", "--proto", "mix", "--flows", "1048576"], 1048576),
    "random-64": (["--profile", "random", "--size", "64", "--proto", "udp"], 65536),
    "flood-64": (["--profile", "flood", "--size", "64", "--proto", "udp"], 65536),
    # Both directions of 4096 established UDP and TCP flows (the flowtable's case): requests
    # into port 0, their replies into port 1 (pcaps of the same length, each replayed in a
    # loop); the router forwards each to the other port. Not for l3fwd (one RX port per
    # profile there): compared with testpmd io forwarding the same two ports.
    "established-64": (["--profile", "many-flows", "--size", "64", "--proto", "mix", "--flows", "4096"], 65536),
}
TWO_WAY = {"established-64"}
# The hosts on port 0's subnet (the generator's sources), for the replies' neighbours.
HOSTS_P0 = [f"10.0.1.{i}" for i in range(2, 255)]
HEADLINE = "sampled-64"
TESTPMD, L3FWD = "testpmd-io", "l3fwd-lpm"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--work", required=True, help="scratch dir (pcaps, configs, logs)")
    ap.add_argument("--table", required=True)
    ap.add_argument("--l3fwd", required=True, help="patched l3fwd binary (scripts/bench/build-l3fwd.sh)")
    ap.add_argument("--testpmd", default="dpdk-testpmd")
    ap.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated, from: " + ", ".join(PROFILES))
    ap.add_argument("--count", type=int, default=0, help="frames per pcap (0: the profile's default)")
    ap.add_argument("--many-flows", type=int, default=0,
                    help="flows (and frames) of many-flows-64; 0: 1048576, halved while the run would not fit "
                         "in 80%% of the available memory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=3.0)
    ap.add_argument("--fastpath-variant", action="append", default=[], metavar="NAME[@BINARY]:JSON",
                    help="extra fastpath contender whose config gets these settings, e.g. "
                         "'fastpath-burst64:{\"burst\": 64}', optionally another build of the binary "
                         "(before/after a change in one run: 'before@/tmp/fastpath-old:{}') (repeatable)")
    ap.add_argument("--json", required=True, help="results file")
    ap.add_argument("--png", help="plot file (scripts/bench/plot.py)")
    args = ap.parse_args()

    os.sched_setaffinity(0, HARNESS_CPU)  # the harness stays off the worker core
    repo, work = os.path.abspath(args.repo), os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    rel = os.path.join(repo, "target", "release")
    gen, fastpath, ctl_path = (os.path.join(rel, b) for b in ("fastpath-gen", "fastpath", "fastpath-ctl"))
    tag = f"bp{os.getpid()}"
    args.table = os.path.abspath(args.table)

    def ctl(c, *cmd):
        r = subprocess.run([ctl_path, "--socket", c.ctl_socket, *cmd], capture_output=True, text=True, timeout=20)
        return r.stdout + r.stderr

    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    for p in profiles:
        if p not in PROFILES:
            raise BenchError(f"unknown profile {p!r}; known: {', '.join(PROFILES)}")
    variants = [("fastpath", {}, fastpath)]
    for v in args.fastpath_variant:
        name, _, js = v.partition(":")
        name, _, binary = name.partition("@")
        if binary and not os.access(binary, os.X_OK):
            raise BenchError(f"variant {name}: {binary} is not an executable")
        variants.append((name, json.loads(js or "{}"), os.path.abspath(binary) if binary else fastpath))
    contenders = [TESTPMD, L3FWD] + [v[0] for v in variants]

    # 1. Traffic and l3fwd's rule files.
    t_start = time.monotonic()
    if args.many_flows <= 0:
        args.many_flows = 1 << 20
        if "many-flows-64" in profiles:
            others = [args.count or PROFILES[p][1] for p in profiles if p != "many-flows-64"]
            avail = mem_available_mb()
            while args.many_flows > 65536 and peak_mb(others + [args.many_flows], len(variants)) > 0.8 * avail:
                args.many_flows //= 2
            if args.many_flows < 1 << 20:
                log(f"warning: {avail} MiB available: many-flows-64 uses {args.many_flows} flows, not 1048576")
    pcaps, replies = {}, {}
    l3_profiles = [p for p in profiles if p not in TWO_WAY]
    for p in profiles:
        gargs, default_count = PROFILES[p]
        if p == "many-flows-64":
            gargs = [a if a != "1048576" else str(args.many_flows) for a in gargs]
            count = args.many_flows
        else:
            count = args.count or default_count
        path = os.path.join(work, f"{p}.pcap")
        out = subprocess.run([gen, "pcap", "--table", args.table, *gargs, "--count", str(count), "--seed", str(args.seed),
                              "--out", path], check=True, capture_output=True, text=True).stdout.strip()
        log("gen " + out)
        pcaps[p] = (path, count, out)
        if p in TWO_WAY:
            rpath = os.path.join(work, f"{p}-replies.pcap")
            log("gen " + subprocess.run(
                [gen, "pcap", "--table", args.table, *gargs, "--count", str(count), "--seed", str(args.seed), "--reply",
                 "--dst-mac", "02:00:00:00:00:02", "--src-mac", "02:00:00:00:02:02", "--out", rpath],
                check=True, capture_output=True, text=True).stdout.strip())
            replies[p] = rpath
    rules4, rules6 = os.path.join(work, "l3fwd-rules-v4.cfg"), os.path.join(work, "l3fwd-rules-v6.cfg")
    log("gen " + subprocess.run([gen, "l3fwd-rules", "--table", args.table, "--port", str(len(l3_profiles)), "--out", rules4],
                                check=True, capture_output=True, text=True).stdout.strip())
    with open(rules6, "w") as f:
        # l3fwd reads both rule files or neither (then it uses its built-in ones): one IPv6 route.
        f.write(f"R2001:db8::/32 {len(l3_profiles)}\n")

    running = []

    def start(c):
        running.append(c)
        return c

    def cleanup():
        for c in running:
            c.terminate()
        running.clear()

    try:
        # 2. l3fwd: one process, profile k on rx port k, all routes to port len(profiles).
        total = sum(pcaps[p][1] for p in l3_profiles)
        # mbufs per profile for testpmd and fastpath (two pcaps for a two-way profile)
        frames = {p: pcaps[p][1] * (2 if p in TWO_WAY else 1) for p in profiles}
        need_mb = mem_mb(total + 16384, 512) + (1 + len(variants)) * mem_mb(max(frames.values()) + 16384, 512)
        avail_mb = mem_available_mb()
        log(f"memory: about {need_mb} MiB at peak (EAL memory of l3fwd + one testpmd + fastpath), {avail_mb} MiB available")
        if avail_mb and need_mb > avail_mb:
            raise BenchError(f"not enough memory: need about {need_mb} MiB, {avail_mb} MiB available; "
                             "lower --many-flows or --count")
        null_port = len(l3_profiles)
        l3, l3_build_s, dpdk_version = None, 0.0, None
        l3_argv = [args.l3fwd, *eal_args(f"{tag}-l3fwd", mem_mb(total + 16384, 512), "1")]
        for k, p in enumerate(l3_profiles):
            l3_argv += ["--vdev", pcap_dev(pcaps[p][0]).replace("net_pcap0", f"net_pcap{k}")]
        l3_argv += ["--vdev", NULL_DEV,
                    "--", "-p", hex((1 << (null_port + 1)) - 1),
                    "--config", "".join(f"({i},0,1)" for i in range(null_port + 1)),
                    "--rule_ipv4", rules4, "--rule_ipv6", rules6,
                    "--eth-dest", f"{null_port},02:00:00:00:02:02",
                    "--parse-ptype", "--lookup", "lpm", "--rx-queue-size", "1024", "--tx-queue-size", "1024"]
        if l3_profiles:
            log(f"l3fwd: building its LPM table of the full table ({len(l3_profiles)} profile ports + 1 null port) ...")
            t_l3 = time.monotonic()
            l3 = start(Contender(L3FWD, "l3fwd", l3_argv,
                                 {"L3FWD_BENCH_EXTRA_MBUFS": str(total + 4096), "L3FWD_BENCH_ALWAYS_MASK": hex(1 << null_port)},
                                 os.path.join(work, "l3fwd.log"), f"{tag}-l3fwd", [null_port], list(range(null_port))))
            l3.wait_ready(1800)
            l3_build_s = time.monotonic() - t_l3
            log(f"l3fwd: ready after {l3_build_s:.0f} s")
            dpdk_version = l3.tel.version

        results = {}
        for k, p in enumerate(profiles):
            path, count, genline = pcaps[p]
            two_way = p in TWO_WAY
            # Two-way: requests into port 0, replies into port 1, each forwarded to the other.
            if two_way:
                dev1 = pcap_dev(replies[p]).replace("net_pcap0", "net_pcap1")
                ports, mbufs = [0, 1], 2 * count + 16384
                hosts = "".join(f'  - {{ address: {h}, mac: "02:00:00:00:01:02", port: p0 }}\n' for h in HOSTS_P0)
            else:
                dev1, ports, mbufs, hosts = NULL_DEV, [0], count + 16384, ""
            log(f"\n== {p}: {count} frames{' each way' if two_way else ''}; starting testpmd and fastpath ==")
            procs = {} if two_way else {L3FWD: l3}
            pcont = [c for c in contenders if c != L3FWD or not two_way]
            procs[TESTPMD] = start(Contender(
                TESTPMD, "testpmd",
                [args.testpmd, *eal_args(f"{tag}-tp{k}", mem_mb(mbufs, 256), "0-1"),
                 "--vdev", pcap_dev(path), "--vdev", dev1, "--",
                 "--forward-mode=io", "--nb-cores=1", "--rxq=1", "--txq=1", "--rxd=1024", "--txd=1024",
                 "--burst=32", "--mbcache=256", f"--total-num-mbufs={mbufs}"],
                {}, os.path.join(work, f"testpmd-{p}.log"), f"{tag}-tp{k}", [1, 0] if two_way else [1], ports))
            procs[TESTPMD].wait_ready(120)
            dpdk_version = dpdk_version or procs[TESTPMD].tel.version
            for vi, (vname, vsettings, vbinary) in enumerate(variants):
                settings = {"mbufs": mbufs, "burst": 32, **vsettings}
                cfg = os.path.join(work, f"{vname}-{p}.yaml")
                with open(cfg, "w") as f:
                    f.write(f"""# generated by scripts/bench/pipeline.py
ports:
  - {{ name: p0, device: "{pcap_dev(path)}", mac: "02:00:00:00:00:01", addresses: [10.0.1.1/24], rx_desc: 1024, tx_desc: 1024 }}
  - {{ name: p1, device: "{dev1}", mac: "02:00:00:00:00:02", addresses: [10.0.2.1/24], rx_desc: 1024, tx_desc: 1024 }}
neighbors:
  - {{ address: 10.0.2.2, mac: "02:00:00:00:02:02", port: p1 }}
{hosts}route_files:
  - {{ path: {args.table}, via: [10.0.2.2] }}
settings: {json.dumps(settings)}
""")
                pfx = f"{tag}-fp{k}v{vi}"
                c = start(Contender(
                    vname, "fastpath",
                    [vbinary, *eal_args(pfx, mem_mb(mbufs, 512), "0-1"), "--",
                     "--config", cfg, "--ctl-socket", os.path.join(work, f"{pfx}.sock")],
                    {}, os.path.join(work, f"{vname}-{p}.log"), pfx, [1, 0] if two_way else [1], ports))
                c.ctl_socket = os.path.join(work, f"{pfx}.sock")
                c.wait_ready(300)
                procs[vname] = c

            samples = {c: [] for c in pcont}
            for r in range(args.rounds):
                order = pcont[r % len(pcont):] + pcont[:r % len(pcont)]
                line = []
                for name in order:
                    c = procs[name]
                    if c.kind == "l3fwd":
                        # delivered on SIGCONT: poll the profile's port only
                        os.kill(c.proc.pid, signal.SIGRTMIN + l3_profiles.index(p))
                    c.cont()
                    time.sleep(args.warmup)
                    if c.kind == "fastpath":
                        ctl(c, "clear", "fwd", "stats")
                    t0, tx0, rx0 = c.sample()
                    time.sleep(args.interval)
                    t1, tx1, rx1 = c.sample()
                    cyc = parse_cycles(ctl(c, "show", "fwd", "stats")) if c.kind == "fastpath" else None
                    c.stop()
                    rx_ports = [l3_profiles.index(p)] if c.kind == "l3fwd" else ports
                    rx = sum(rx1[q] - rx0[q] for q in rx_ports)
                    tx = tx1 - tx0
                    others = {p2: rx1[p2] - rx0[p2] for p2 in rx1 if p2 not in rx_ports and rx1[p2] != rx0[p2]}
                    if others:
                        raise BenchError(f"{name}: ports {sorted(others)} received during {p}'s interval: {others}")
                    if rx == 0:
                        raise BenchError(f"{name}: nothing received during {p}'s interval")
                    s = {"mpps": tx / (t1 - t0) / 1e6, "fwd": tx / rx, "cycles": cyc}
                    if c.kind == "fastpath":
                        s["rss_mb"] = vm_rss_mb(c.proc.pid)
                    samples[name].append(s)
                    line.append(f"{name} {s['mpps']:.2f}")
                log(f"round {r + 1}/{args.rounds}: " + ", ".join(line) + " Mpps")
            res = {"frames": count, "gen": genline, "contenders": {}, "two_way": two_way}
            for name in pcont:
                ss = samples[name]
                mpps = [s["mpps"] for s in ss]
                entry = {
                    "mpps": statistics.median(mpps),
                    "samples": mpps,
                    "fwd_min": min(s["fwd"] for s in ss),
                }
                if "rss_mb" in ss[0]:
                    entry["rss_mb"] = [ss[0]["rss_mb"], ss[-1]["rss_mb"]]
                cycs = [s["cycles"] for s in ss if s["cycles"]]
                if cycs:
                    entry["cycles"] = {key: statistics.median(c[key] for c in cycs if key in c) for key in cycs[0]}
                if entry["fwd_min"] < 0.99:
                    log(f"warning: {name} forwarded only {entry['fwd_min']:.1%} of what it received on {p}")
                res["contenders"][name] = entry
            # Paired ratios: per round (the contenders ran back to back), then the median, so a
            # slow drift of the machine cancels out.
            res["ratios"] = {
                fp: {base: statistics.median(a["mpps"] / b["mpps"] for a, b in zip(samples[fp], samples[base]))
                     for base in (TESTPMD, L3FWD) if base in pcont}
                for fp in pcont if fp not in (TESTPMD, L3FWD)
            }
            results[p] = res
            for name in pcont:
                if procs[name].kind != "l3fwd":
                    procs[name].terminate()
                    running.remove(procs[name])
        cleanup()
    except BaseException:
        cleanup()
        raise

    out = {
        "machine": machine_info(dpdk_version),
        "fastpath_rev": git_rev(repo),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "table": os.path.basename(args.table),
        "settings": {"rounds": args.rounds, "warmup_s": args.warmup, "interval_s": args.interval, "seed": args.seed,
                     "lcores": "worker lcore 1, main lcore 0 (l3fwd: lcore 1 alone)"},
        "l3fwd_build_s": round(l3_build_s, 1),
        "runtime_s": round(time.monotonic() - t_start, 1),
        "contenders": contenders,
        "headline": HEADLINE if HEADLINE in results else profiles[0],
        "profiles": results,
    }
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    if args.png:
        try:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import plot

            plot.main(args.json, args.png)
        except Exception as e:  # the numbers matter more than the picture
            log(f"warning: no plot: {e}")
    report(out)


def vm_rss_mb(pid):
    """Resident memory of a process, in MB (VmRSS of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ratio(out, p, fp, base):
    """fp/base on profile p, None if base did not run it."""
    r = out["profiles"][p]
    if base not in r["contenders"]:
        return None
    if "ratios" in r:
        return r["ratios"][fp][base]
    cs = r["contenders"]
    return cs[fp]["mpps"] / cs[base]["mpps"]


def fmt(x, width=0, nd=2):
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.{nd}f}"


# Issue 11's targets: (profile, base, minimum ratio fastpath/base)
TARGETS = [
    ("sampled-64", L3FWD, 1.2), ("sampled-64", TESTPMD, 0.6), ("few-flows-64", L3FWD, 1.5),
    ("established-64", TESTPMD, 0.7), ("random-64", L3FWD, 1.2), ("many-flows-64", L3FWD, 1.2),
    ("sampled-imix", L3FWD, 1.1),
]


def report(out):
    m = out["machine"]
    contenders = out["contenders"]
    fps = [c for c in contenders if c not in (TESTPMD, L3FWD)]
    log("")
    log(f"machine: {m['cores']} cores, {m['cpu']} ({m.get('cpu_mhz', '?')} MHz), {m['mem_gib']} GiB, {m['virt']}, {m['os']}, kernel {m['kernel']}, {m['dpdk']}")
    log(f"fastpath {out['fastpath_rev']}, table {out['table']}, {out['settings']['rounds']} alternating rounds, "
        f"{out['settings']['warmup_s']} s warm-up + {out['settings']['interval_s']} s measured each, median Mpps; "
        f"l3fwd LPM build {out['l3fwd_build_s']:.0f} s, total {out['runtime_s']:.0f} s")
    log("")
    head = f"{'profile':<15}" + "".join(f"{c:>12}" for c in contenders)
    for fp in fps:
        head += f"{fp + '/tp':>14}{fp + '/l3':>14}"
    head += "   fastpath cycles/packet (sampled)"
    log(head)
    for p, r in out["profiles"].items():
        cs = r["contenders"]
        row = f"{p:<15}" + "".join(fmt(cs[c]["mpps"] if c in cs else None, 12) for c in contenders)
        for fp in fps:
            row += fmt(ratio(out, p, fp, TESTPMD), 14) + fmt(ratio(out, p, fp, L3FWD), 14)
        cyc = cs["fastpath"].get("cycles")
        row += "   " + (" ".join(f"{k}={v:.0f}" for k, v in cyc.items()) if cyc else "n/a (no cycles/packet line)")
        log(row)
    if len(fps) > 1 or any("rss_mb" in r["contenders"]["fastpath"] for r in out["profiles"].values()):
        log("")
        log("fastpath contenders: cycles/packet (sampled, median of the rounds); RSS after the first and the last round")
        for p, r in out["profiles"].items():
            for fp in fps:
                e = r["contenders"][fp]
                cyc = e.get("cycles")
                rss = e.get("rss_mb")
                log(f"  {p:<15} {fp:<18} " + (" ".join(f"{k}={v:.0f}" for k, v in cyc.items()) if cyc else "n/a")
                    + (f"   RSS {rss[0]:.0f} -> {rss[1]:.0f} MB" if rss else ""))
    log("")
    log("(Mpps: median of the rounds; ratios: median of the per-round ratios)")
    for p in out["profiles"]:
        for fp in fps:
            log(f"{p}: ratio mpps {fp}/l3fwd-lpm = {fmt(ratio(out, p, fp, L3FWD))}, "
                f"{fp}/testpmd-io = {fmt(ratio(out, p, fp, TESTPMD))}")
    log("")
    log("targets (issue 11, fastpath):")
    for p, base, want in TARGETS:
        if p in out["profiles"]:
            got = ratio(out, p, "fastpath", base)
            log(f"  {p:<15} fastpath/{base:<11} {fmt(got)} >= {want}: {'met' if got >= want else f'MISSED by {want - got:.2f}'}")
    if "sampled-64" in out["profiles"]:
        base = out["profiles"]["sampled-64"]["contenders"]["fastpath"]["mpps"]
        for p in ("random-64", "many-flows-64"):
            if p in out["profiles"]:
                loss = 1 - out["profiles"][p]["contenders"]["fastpath"]["mpps"] / base
                log(f"  {p:<15} loss against sampled-64 {loss:.1%} <= 10%: {'met' if loss <= 0.10 else 'MISSED'}")
    h = out["profiles"][out["headline"]]["contenders"]
    r_l3 = ratio(out, out["headline"], "fastpath", L3FWD)
    r_tp = ratio(out, out["headline"], "fastpath", TESTPMD)
    cyc = h["fastpath"].get("cycles") or {}
    excl = cyc.get("excl-io")
    log("")
    if cyc:
        stages = {k: v for k, v in cyc.items() if k not in ("total", "excl-io")}
        log("fastpath per stage (cycles/packet): " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())
            + f"; total {cyc.get('total', 0):.0f}, excluding rx/tx {excl:.0f}")
    log(f"ratio mpps fastpath/l3fwd-lpm = {fmt(r_l3)}")
    log(f"ratio mpps fastpath/testpmd-io = {fmt(r_tp)}")
    log(f"cycles-per-packet fastpath = {'n/a' if excl is None else f'{excl:.0f}'}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        with open(sys.argv[2]) as f:
            report(json.load(f))
        sys.exit(0)
    try:
        main()
    except BenchError as e:
        print(f"bench-pipeline: {e}", file=sys.stderr)
        sys.exit(1)
