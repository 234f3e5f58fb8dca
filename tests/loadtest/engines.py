"""The two engines test_loadtest.py loads the STL profiles with.

- ``shim``: tests/loadtest/trex_shim (see its README.md), always there.
- ``trex``: TRex's own client library. Found, in this order:
    1. ``LOADTEST_TREX_PYTHON``: a Python that imports ``trex_stl_lib`` (a TRex install's
       client directory on its PYTHONPATH, say); used as given, nothing installed;
    2. this Python, if it imports TRex's ``trex_stl_lib`` already;
    3. a venv of its own with ``lbr-trex-client`` (PyPI; TRex v3.04's client package
       with its bundled scapy and other libraries, repackaged by CESNET), created on
       first use under ``$LOADTEST_VENV`` or ``${XDG_CACHE_HOME:-~/.cache}/fastpath/``
       with Debian's ``python3 -m venv`` (package python3-venv, which scripts/setup.sh
       installs) and pip from PyPI.
  ``LOADTEST_TREX=0`` skips all three (offline). When none works, the tests that need it
  skip with the reason; the shim's run regardless.

PyPI, as looked at for this: ``lbr-trex-client`` 3.4.0 works (Python >= 3.8, tested on
Debian 12's 3.11); ``trex-stl-lib`` 0.3 is a 2019 copy of an old trex_stl_lib that needs
simpy, pyzmq, texttable, jsonrpclib-pelix from PyPI; ``trex-api`` 0.0.2 does not build
(its setup.py reads a README.md it does not ship).
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DUMP = HERE / "stl_dump.py"
TREX_PACKAGE = "lbr-trex-client==3.4.0"

STATE = {"shim": None, "trex": None}   # engine -> what it was, for the run's closing line

PROBE = r"""
import sys
try:
    import lbr_trex_client
except ImportError:
    pass
import trex_stl_lib.api as api
if getattr(api, "SHIM", False):
    raise SystemExit("that is the shim")
print(sys.modules[api.STLProfile.__module__].__file__)
"""


def _tail(text, n=6):
    """The last n lines of a tool's output, its ERROR lines only when it has some."""
    lines = [l.strip() for l in (text or "").strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("ERROR")]
    return " | ".join((errors or lines)[-n:])


def _probe(python):
    """(True, library file) if `python` imports TRex's trex_stl_lib, else (False, why)."""
    try:
        r = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, timeout=120,
                           cwd="/")
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "%s: %s" % (python, e)
    if r.returncode != 0:
        return False, "%s cannot import trex_stl_lib: %s" % (python, _tail(r.stderr, 2))
    return True, r.stdout.strip()


def _venv_dir():
    if os.environ.get("LOADTEST_VENV"):
        return Path(os.environ["LOADTEST_VENV"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "fastpath" / "loadtest-trex-venv"


def _ensure_venv(venv):
    """Create `venv` with TREX_PACKAGE unless done before; (python, None) or (None, why)."""
    python = venv / "bin" / "python"
    done = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists() and done.read_text().strip() == TREX_PACKAGE and python.exists():
            return python, None
        shutil.rmtree(venv, ignore_errors=True)
        steps = [
            ["/usr/bin/python3", "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", "--retries", "1", "--timeout", "30", TREX_PACKAGE],
        ]
        for cmd in steps:
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd="/")
            except (OSError, subprocess.TimeoutExpired) as e:
                shutil.rmtree(venv, ignore_errors=True)
                return None, "%s: %s" % (" ".join(cmd[:4]), e)
            if r.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                return None, "%s failed: %s" % (" ".join(cmd[:4]), _tail(r.stderr + r.stdout, 3))
        done.write_text(TREX_PACKAGE + "\n")
        return python, None


def find_trex():
    """(python, description) of an interpreter with TRex's library, or (None, reason)."""
    if os.environ.get("LOADTEST_TREX", "1") == "0":
        return None, "LOADTEST_TREX=0"
    explicit = os.environ.get("LOADTEST_TREX_PYTHON")
    if explicit:
        ok, info = _probe(explicit)
        return (explicit, "TRex library via LOADTEST_TREX_PYTHON (%s)" % info) if ok else (None, info)
    ok, info = _probe(sys.executable)
    if ok:
        return sys.executable, "TRex library on this Python's path (%s)" % info
    venv = _venv_dir()
    python, why = _ensure_venv(venv)
    if python is None:
        return None, "no TRex library: installing %s into %s: %s" % (TREX_PACKAGE, venv, why)
    ok, info = _probe(python)
    if not ok:
        return None, info
    return str(python), "TRex library %s in %s (%s)" % (TREX_PACKAGE, venv, info)


def run_dump(python, engine, cases):
    """stl_dump.py's result for `cases` under `python` (see stl_dump.py)."""
    r = subprocess.run([str(python), str(DUMP), engine], input=json.dumps(cases),
                       capture_output=True, text=True, timeout=600, cwd="/")
    if r.returncode != 0:
        raise RuntimeError("stl_dump.py %s exited %d: %s" % (engine, r.returncode, _tail(r.stderr, 20)))
    return json.loads(r.stdout)
