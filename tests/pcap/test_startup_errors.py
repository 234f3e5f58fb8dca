"""Start-up errors name their cause and exit 2 (bad usage or config), as the README says.

Each case is one run of the real binary that must fail before forwarding starts: a port
whose driver DPDK does not have, a device that is not there, a pcap file that does not
exist (in the config and as an EAL --vdev), an lcore list the machine cannot give, and a
second instance on a --file-prefix another one holds. DPDK's own errno used to be printed
instead (`Bad address (errno 14)`, `Success (errno 0)`, errno 2 or 95 for the same missing
file) with exit status 1.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fastpath_run import binary, write_pcap

EAL = ["--no-huge", "-m", "256", "--no-pci", "--log-level=*:warning"]


def config(device: str) -> str:
    return f"ports:\n  - name: p0\n    device: {device}\n    addresses: [10.0.1.1/24]\n"


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="fastpath-startup-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def command(workdir: Path, device: str, eal: list[str], prefix: str, shconf=False) -> list[str]:
    cfg = workdir / f"{prefix}.yaml"
    cfg.write_text(config(device))
    return [
        str(binary()), *eal, *EAL, *([] if shconf else ["--no-shconf"]), "--file-prefix", prefix,
        "--", "--config", str(cfg), "--ctl-socket", str(workdir / f"{prefix}.sock"),
        "--idle-exit", "300",
    ]


def run(cmd: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=timeout)
    finally:
        prefix = cmd[cmd.index("--file-prefix") + 1]
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def error_line(p: subprocess.CompletedProcess) -> str:
    lines = [line for line in p.stderr.splitlines() if line.startswith("error: ")]
    assert lines, f"no error: line on stderr (exit {p.returncode})\n{p.stderr}"
    return lines[-1]


def assert_usage_error(p: subprocess.CompletedProcess, *words: str) -> str:
    line = error_line(p)
    assert p.returncode == 2, f"exit {p.returncode}, expected 2 (usage/config): {line}"
    for w in words:
        assert w in line, f"{w!r} not in {line!r}"
    # DPDK's errno of the moment is not the cause.
    for noise in ("errno", "Success", "Bad address", "Operation not supported"):
        assert noise not in line, f"{noise!r} in {line!r}"
    return line


def prefix(name: str) -> str:
    return f"fpst{os.getpid()}{name}"


def test_unknown_driver(workdir):
    p = run(command(workdir, "net_bogus0", ["-l", "0-1"], prefix("drv")))
    line = assert_usage_error(p, "port p0", "device net_bogus0", "no such driver")
    assert "net_pcap" in line, f"the drivers DPDK has are not listed: {line}"


def test_device_not_there(workdir):
    p = run(command(workdir, "0000:99:00.0", ["-l", "0-1"], prefix("pci")))
    assert_usage_error(p, "port p0", "device 0000:99:00.0", "no such device")


def test_missing_pcap(workdir):
    missing = workdir / "nonexistent.pcap"
    device = f"net_pcap0,rx_pcap={missing},tx_pcap={workdir}/out0.pcap"
    p = run(command(workdir, device, ["-l", "0-1"], prefix("pcap")))
    assert_usage_error(p, "port p0", "net_pcap0", f"rx_pcap {missing}: no such file")


def test_missing_pcap_as_eal_vdev(workdir):
    missing = workdir / "nonexistent.pcap"
    vdev = f"net_pcap0,rx_pcap={missing}"
    p = run(command(workdir, "net_pcap0", ["-l", "0-1", "--vdev", vdev], prefix("vdev")))
    assert_usage_error(p, f"--vdev {vdev}", f"rx_pcap {missing}: no such file")


def test_bad_lcore_list(workdir):
    # One past the last CPU (EAL's lcores are the CPUs, numbered from 0).
    last = max(int(c.name[3:]) for c in Path("/sys/devices/system/cpu").glob("cpu[0-9]*"))
    p = run(command(workdir, "net_null0", ["-l", f"0-{last + 1}"], prefix("lcores")))
    assert_usage_error(p, f"EAL option -l 0-{last + 1}", f"lcore {last + 1} does not exist")


def test_file_prefix_held_by_another_instance(workdir):
    rx = workdir / "in.pcap"
    write_pcap(rx, [])
    shared = prefix("dup")
    device = f"net_pcap0,rx_pcap={rx},tx_pcap={workdir}/out.pcap"
    first_cmd = command(workdir, device, ["-l", "0-1"], shared, shconf=True)
    first_cmd[first_cmd.index("--idle-exit") + 1] = "20000"
    first = subprocess.Popen(first_cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, errors="replace")
    try:
        # EAL creates its runtime config and locks it at once; wait for the file.
        deadline = time.monotonic() + 20
        while not Path(f"/var/run/dpdk/{shared}/config").exists():
            assert first.poll() is None, f"first instance exited: {first.communicate()}"
            assert time.monotonic() < deadline, "first instance has no EAL config"
            time.sleep(0.05)
        time.sleep(0.2)
        second_cmd = command(workdir, device.replace("out.pcap", "out2.pcap"), ["-l", "0-1"],
                             shared, shconf=True)
        second_cmd[second_cmd.index("--ctl-socket") + 1] = str(workdir / "second.sock")
        p = subprocess.run(second_cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=20)
        assert_usage_error(p, f"another DPDK process (fastpath, pid {first.pid})",
                           f"holds file prefix {shared}", "--file-prefix", "--no-shconf")
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=20)
        shutil.rmtree(f"/var/run/dpdk/{shared}", ignore_errors=True)
    assert first.returncode == 0, f"first instance: exit {first.returncode}\n{err}"
