"""Ctrl-C during scripts/lab.sh: the script stops at once, stops fastpath and removes the
network namespaces it made (it used to clean up and then run on for ~35 s, failing every
remaining check against a lab that was gone).

Each case runs the real lab (LAB_SKIP_SETUP=1: the binaries must be built) in a session of
its own, waits for a step to start, sends SIGINT, and gives the script 5 s to exit 130.
"""

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "scripts/lab.sh"
NAMESPACES = re.compile(r"^== network namespaces: (fl\d+)-h1 ", re.M)


def namespaces(lab_id: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"{lab_id}-")]


def processes(lab_id: str) -> list[int]:
    """Pids of processes started for this lab: fastpath has `--file-prefix ID`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            args = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--file-prefix" in args and lab_id.encode() in args:
            found.append(int(d.name))
    return found


def wait_for(log: Path, pattern: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if pattern in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"lab.sh exited ({proc.returncode}) before {pattern!r}:\n{text}")
        time.sleep(0.02)
    pytest.fail(f"no {pattern!r} within {timeout} s:\n{log.read_text(errors='replace')}")


@pytest.mark.parametrize(
    "step, whom",
    [
        # What a terminal's Ctrl-C does: SIGINT to the whole foreground process group
        # (lab.sh, fastpath, the ping running at that moment).
        ("== ping h1 -> fastpath", "group"),
        # `kill -INT` of the script alone: it must stop fastpath itself.
        ("== ping h1 -> 1.1.1.1", "script"),
    ],
)
def test_sigint_stops_lab_at_once(step, whom):
    assert os.geteuid() == 0, "the lab needs root (network namespaces, EAL)"
    with tempfile.TemporaryDirectory(prefix="fastpath-lab-test-") as tmp:
        log = Path(tmp) / "lab.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [str(LAB)], cwd=REPO, env={**os.environ, "LAB_SKIP_SETUP": "1"},
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        lab_id = None
        try:
            text = wait_for(log, step, proc, timeout=60)
            lab_id = NAMESPACES.search(text).group(1)
            assert len(namespaces(lab_id)) == 3, text
            if whom == "group":
                os.killpg(proc.pid, signal.SIGINT)
            else:
                os.kill(proc.pid, signal.SIGINT)
            sent = time.monotonic()
            try:
                rc = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pytest.fail(f"lab.sh still running 5 s after SIGINT:\n{log.read_text()}")
            took = time.monotonic() - sent
            text = log.read_text(errors="replace")
            after = text[text.index(step):]
            assert rc == 130, f"exit status {rc}, expected 130\n{text}"
            assert "lab: interrupted by SIGINT" in after, text
            assert "FAIL:" not in after, f"checks ran on after the signal:\n{after}"
            assert namespaces(lab_id) == [], f"namespaces left: {namespaces(lab_id)}"
            assert processes(lab_id) == [], f"processes left: {processes(lab_id)}"
            print(f"{whom}: exited {took:.2f} s after SIGINT")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # our own lab.sh's session
                proc.wait()
            if lab_id:
                for pid in processes(lab_id):
                    os.kill(pid, signal.SIGKILL)
                for ns in namespaces(lab_id):
                    subprocess.run(["ip", "netns", "del", ns])
