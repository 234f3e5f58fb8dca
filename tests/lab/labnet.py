"""What every lab test here uses: where the binaries are, commands in a namespace, the
control socket, and stopping what a test started.

FASTPATH_BIN_DIR names the directory of fastpath and fastpath-ctl (default: the
repository's target/release)."""

import os
import signal
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("FASTPATH_BIN_DIR", REPO / "target/release"))


def sh(*args, ns=None, check=True):
    """Runs a command, in namespace `ns` if given; its output as text."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


def ctl(sock, *cmd):
    """One fastpath-ctl command through control socket `sock`."""
    return subprocess.run([str(BIN / "fastpath-ctl"), "--socket", str(sock), *cmd],
                          capture_output=True, text=True, timeout=10)


def stop(p, sig=signal.SIGTERM, timeout=10):
    """Ends a process started here (in a session of its own) and what it started."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
            p.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
