"""Run the fastpath binary on net_pcap vdevs and collect what it did.

One call of :func:`run_router` is one process of the real binary: it writes the input pcap
files and a config into a fresh temp directory, starts ``fastpath`` with ``--idle-exit`` so it
stops by itself once the inputs are consumed, and returns a :class:`RunResult` holding the
exit code, stdout/stderr, every frame written to each port's ``tx_pcap`` and the counters of
the last ``show fwd stats`` block printed at exit.

Nothing here knows how the router works: expectations are built by the tests with scapy.

Environment:
  FASTPATH_BIN   path of the binary (default: <repo>/target/release/fastpath)
  FASTPATH_KEEP  if set, temp directories are kept and their path printed (for reproducing)
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Addresses of the test topology (see tests/pcap/README.md).
R0_MAC = "02:00:00:00:00:01"   # router, port p0
R1_MAC = "02:00:00:00:00:02"   # router, port p1
N0_MAC = "02:00:00:00:01:02"   # neighbour 10.0.1.2 on p0
N1_MAC = "02:00:00:00:02:02"   # neighbour 10.0.2.2 on p1
R0_IP, R1_IP = "10.0.1.1", "10.0.2.1"
N0_IP, N1_IP = "10.0.1.2", "10.0.2.2"
PORT_MAC = {0: R0_MAC, 1: R1_MAC}
PORT_IP = {0: R0_IP, 1: R1_IP}

EVENT_COUNTERS = (
    "rx_packets tx_packets tx_dropped forwarded frag_oks frag_creates arp_replies arp_updates "
    "echo_replies "
    "tcp_resets icmp_errors "
    "icmp_rate_limited icmp_no_route_back icmp_suppressed redirects_sent redirects_suppressed"
).split()
DROP_COUNTERS = (
    "short_frame other_host l2_multicast unsupported_ethertype chained_mbuf arp_malformed "
    "arp_ignored bad_version bad_ihl bad_total_length bad_checksum bad_options source_route "
    "martian_source martian_destination multicast l2_broadcast_forward no_route blackhole "
    "unreachable prohibit ttl_exceeded frag_needed frag_no_mbuf no_neighbor local_unhandled "
    "local_fragment broadcast icmp_malformed neigh_queue_full neigh_table_full punt_ring_full "
    "rp_filter"
).split()
KNOWN_COUNTERS = EVENT_COUNTERS + DROP_COUNTERS
# Also printed, read by name where a test needs them: punted, arp_requests,
# neigh_released, unresolved_discards (the slow path's plumbing).

MBUF_LINE = re.compile(r"^mbufs in use after shutdown: (\d+) of (\d+)\s*$", re.M)

_unique = itertools.count()


def binary() -> Path:
    """The binary under test, or an AssertionError saying how to get one."""
    path = Path(os.environ.get("FASTPATH_BIN", REPO / "target/release/fastpath"))
    if not path.is_file() or not os.access(path, os.X_OK):
        raise AssertionError(
            f"fastpath binary not found at {path}: run `cargo build --release -p control` "
            "or set FASTPATH_BIN"
        )
    return path


# --------------------------------------------------------------------------- config


def config_yaml(
    workdir: Path,
    *,
    p0_mtu: int = 1500,
    p1_mtu: int = 1500,
    default_route: bool = True,
    extra_routes: tuple[str, ...] = (),
    icmp_msgs_per_sec: int = 1000,
    icmp_msgs_burst: int = 50,
    arp_notify: bool = False,
    extra_settings: str = "",
    extra_neighbors: tuple[tuple[str, str], ...] = (),
    send_redirects: bool | None = None,
    p0_send_redirects: bool | None = None,
    rp_filter: int | None = None,
    p0_rp_filter: int | None = None,
    p1_rp_filter: int | None = None,
) -> str:
    """The topology's config; ``workdir`` holds in0/in1/out0/out1.pcap. ``extra_neighbors``
    are (address, MAC) pairs on p0; the ``send_redirects`` and ``rp_filter`` knobs
    (global in ``settings``, per port in the port's mapping) are left out (their defaults)
    when None."""
    routes = ["{ prefix: 198.51.100.0/24, via: 10.0.2.2 }"]
    if default_route:
        routes.append("{ prefix: 0.0.0.0/0, via: 10.0.1.2 }")
    routes += [
        "{ prefix: 203.0.113.0/24, type: blackhole }",
        "{ prefix: 203.0.113.128/25, type: unreachable }",
        "{ prefix: 192.0.2.0/24, type: prohibit }",
        *extra_routes,
    ]
    route_lines = "".join(f"  - {r}\n" for r in routes)
    neigh_lines = "".join(f'  - {{ address: {a}, mac: "{m}", port: p0 }}\n'
                          for a, m in extra_neighbors)
    p0_extra = ("" if p0_send_redirects is None
                else f"    send_redirects: {str(p0_send_redirects).lower()}\n")
    p0_extra += "" if p0_rp_filter is None else f"    rp_filter: {p0_rp_filter}\n"
    p1_extra = "" if p1_rp_filter is None else f"    rp_filter: {p1_rp_filter}\n"
    settings_extra = ("" if send_redirects is None
                      else f", send_redirects: {str(send_redirects).lower()}")
    settings_extra += "" if rp_filter is None else f", rp_filter: {rp_filter}"
    return f"""\
ports:
  - name: p0
    device: net_pcap0,rx_pcap={workdir}/in0.pcap,tx_pcap={workdir}/out0.pcap
    mac: {R0_MAC}
    mtu: {p0_mtu}
    addresses: [10.0.1.1/24]
{p0_extra}  - name: p1
    device: net_pcap1,rx_pcap={workdir}/in1.pcap,tx_pcap={workdir}/out1.pcap
    mac: {R1_MAC}
    mtu: {p1_mtu}
    addresses: [10.0.2.1/24]
{p1_extra}neighbors:
  - {{ address: 10.0.1.2, mac: "{N0_MAC}", port: p0 }}
  - {{ address: 10.0.2.2, mac: "{N1_MAC}", port: p1 }}
{neigh_lines}routes:
{route_lines}settings: {{ icmp_msgs_per_sec: {icmp_msgs_per_sec}, icmp_msgs_burst: {icmp_msgs_burst}, arp_notify: {str(arp_notify).lower()}{settings_extra}{extra_settings} }}
"""


# --------------------------------------------------------------------------- pcap files

# Classic pcap, microsecond timestamps, snaplen 65535, linktype 1 (Ethernet).
PCAP_GLOBAL_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def write_pcap(path: Path, frames: list[bytes]) -> None:
    """Write frames byte for byte (no padding added), 1 us apart. An empty list gives a
    valid 24-byte pcap with linktype Ethernet."""
    with open(path, "wb") as f:
        f.write(PCAP_GLOBAL_HEADER)
        for i, frame in enumerate(frames):
            ts = 1_700_000_000_000_000 + i
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic pcap file, as raw bytes (linktype must be Ethernet)."""
    data = path.read_bytes()
    if len(data) < 24:
        raise AssertionError(f"{path}: {len(data)} bytes, not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise AssertionError(f"{path}: bad pcap magic {magic.hex()}")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise AssertionError(f"{path}: linktype {linktype}, expected 1 (Ethernet)")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(endian + "IIII", data[off : off + 16])
        off += 16
        frame = data[off : off + incl]
        if len(frame) != incl:
            raise AssertionError(f"{path}: truncated record at offset {off - 16}")
        if incl != orig:
            raise AssertionError(f"{path}: record truncated by snaplen ({incl} of {orig})")
        frames.append(frame)
        off += incl
    if off != len(data):
        raise AssertionError(f"{path}: {len(data) - off} trailing bytes")
    return frames


# --------------------------------------------------------------------------- stats


def parse_counters(stdout: str) -> dict[str, int]:
    """Counters of the last ``Totals:`` and last ``Drops:`` sections of ``show fwd stats``.

    A section is the heading line followed by indented ``name: value`` lines; a counter
    absent from the output is 0 (use ``.get(name, 0)``)."""
    lines = stdout.splitlines()
    counters: dict[str, int] = {}
    item = re.compile(r"^\s+([A-Za-z_][A-Za-z0-9_]*):\s+(\d+)\s*$")
    for heading in ("Totals:", "Drops:"):
        idx = [i for i, line in enumerate(lines) if line.strip() == heading]
        if not idx:
            continue
        for line in lines[idx[-1] + 1 :]:
            m = item.match(line)
            if not m:
                break
            counters[m.group(1)] = int(m.group(2))
    return counters


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    cmd: list[str]
    workdir: Path
    returncode: int | None
    stdout: str
    stderr: str
    duration: float
    out: dict[int, list[bytes]] = field(default_factory=dict)
    out_missing: list[int] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False

    def counter(self, name: str) -> int:
        return self.counters.get(name, 0)

    def known_counters(self) -> dict[str, int]:
        """Non-zero counters among the names of the contract."""
        return {k: v for k, v in self.counters.items() if k in KNOWN_COUNTERS and v}

    def mbuf_line(self) -> tuple[int, int] | None:
        m = MBUF_LINE.findall(self.stdout)
        return (int(m[-1][0]), int(m[-1][1])) if m else None

    def exit_problems(self) -> list[str]:
        """Why this run did not end cleanly (exit 0, no mbuf leak); empty if it did."""
        problems = []
        if self.timed_out:
            problems.append(f"did not exit within the timeout ({self.duration:.1f} s), killed")
        elif self.returncode != 0:
            problems.append(f"exit code {self.returncode}")
        line = self.mbuf_line()
        if line is None:
            problems.append("no 'mbufs in use after shutdown: N of M' line on stdout")
        elif line[0] != 0:
            problems.append(f"mbuf leak: {line[0]} of {line[1]} mbufs in use after shutdown")
        if self.out_missing:
            problems.append(f"missing output pcap for port(s) {self.out_missing}")
        return problems

    def describe(self) -> str:
        """Command line, exit status and the tail of stdout/stderr, for failure messages."""
        def tail(s: str, n: int = 40) -> str:
            return "\n".join(s.splitlines()[-n:])
        return (
            f"command: {shlex.join(self.cmd)}\n"
            f"workdir: {self.workdir}"
            f"{' (kept)' if os.environ.get('FASTPATH_KEEP') else ' (removed; FASTPATH_KEEP=1 keeps it)'}\n"
            f"exit code: {self.returncode}{' (timed out)' if self.timed_out else ''}\n"
            f"--- stdout (tail) ---\n{tail(self.stdout)}\n--- stderr (tail) ---\n{tail(self.stderr)}"
        )

    def all_out(self) -> list[tuple[int, bytes]]:
        return [(port, f) for port in sorted(self.out) for f in self.out[port]]


def run_router(
    inputs: dict[int, list[bytes]],
    *,
    config: str | None = None,
    config_kwargs: dict | None = None,
    idle_exit_ms: int = 300,
    timeout: float = 30.0,
) -> RunResult:
    """Run the binary once with ``inputs[port]`` as port p<port>'s rx pcap.

    ``config`` is a full YAML text in which ``{workdir}`` is replaced by the temp directory;
    by default :func:`config_yaml` with ``config_kwargs`` is used."""
    exe = binary()
    n = next(_unique)
    uniq = f"{os.getpid()}_{n}"
    workdir = Path(tempfile.mkdtemp(prefix=f"fastpath-pcap-{uniq}-"))
    try:
        for port in (0, 1):
            write_pcap(workdir / f"in{port}.pcap", list(inputs.get(port, [])))
        if config is None:
            config = config_yaml(workdir, **(config_kwargs or {}))
        else:
            config = config.replace("{workdir}", str(workdir))
        cfg = workdir / "fastpath.yaml"
        cfg.write_text(config)
        cmds = workdir / "cmds"
        cmds.write_text("show fwd stats\n")
        sock = Path(f"/tmp/fp-{uniq}.sock")
        cmd = [
            str(exe), "-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
            "--file-prefix", f"fp{uniq}", "--log-level=*:warning", "--",
            "--config", str(cfg), "--idle-exit", str(idle_exit_ms),
            "--ctl-socket", str(sock), "--cmdline-file", str(cmds),
        ]
        (workdir / "repro.sh").write_text(f"#!/bin/sh\ncd {workdir} && exec {shlex.join(cmd)}\n")
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, errors="replace", start_new_session=True, cwd=workdir,
        )
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group
            stdout, stderr = proc.communicate()
        result = RunResult(
            cmd=cmd, workdir=workdir, returncode=proc.returncode, stdout=stdout,
            stderr=stderr, duration=time.monotonic() - start, timed_out=timed_out,
        )
        for port in (0, 1):
            path = workdir / f"out{port}.pcap"
            if path.exists():
                result.out[port] = read_pcap(path)
            else:
                result.out[port] = []
                result.out_missing.append(port)
        result.counters = parse_counters(stdout)
        try:
            sock.unlink()
        except FileNotFoundError:
            pass
        # EAL leaves its (empty with --no-shconf) runtime directory behind.
        for base in ("/var/run/dpdk", os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), "dpdk")):
            shutil.rmtree(os.path.join(base, f"fp{uniq}"), ignore_errors=True)
        return result
    finally:
        if os.environ.get("FASTPATH_KEEP"):
            print(f"fastpath pcap test: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def assert_clean_exit(result: RunResult) -> None:
    problems = result.exit_problems()
    assert not problems, "; ".join(problems) + "\n" + result.describe()
