"""Load STL profiles with one engine and print their streams as TRex's JSON.

    python stl_dump.py trex|shim  < cases.json  > result.json

Run by test_loadtest.py in a process of its own per engine: TRex's library brings its
own scapy, which must not meet Debian's. ``cases.json`` is a list of
``{"id", "profile", "direction", "kwargs"}``; each profile is loaded as trex-console
loads it, ``STLProfile.load_py(profile, direction=d, port_id=d, **kwargs)``, and its
streams are printed as ``STLStream.to_json()`` gives them. The result:
``{"engine", "library", "version", "results": {id: {"streams": [...]} or {"none": true,
"stderr": ...} or {"error": ...}}}``.

Engines:
  trex  TRex's own trex_stl_lib: importable as is (a TRex client directory on
        PYTHONPATH), or through lbr_trex_client (the PyPI package, which puts TRex's
        client and its bundled libraries on sys.path when imported)
  shim  tests/loadtest/trex_shim (see its README.md)

Whatever the engine, no packet leaves: scapy's send and receive functions are replaced
by ones that raise before any profile is loaded.
"""

import io
import json
import os
import sys
import contextlib

HERE = os.path.dirname(os.path.abspath(__file__))


def refuse(*args, **kwargs):
    raise RuntimeError("stl_dump: building a profile tried to send or receive a packet")


def forbid_network():
    names = ("send", "sendp", "sendpfast", "sr", "sr1", "srp", "srp1", "srloop", "srploop",
             "sniff", "srflood", "srpflood", "sndrcv", "getmacbyip")
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not (mod_name == "scapy" or mod_name.startswith("scapy.")):
            continue
        for name in names:
            if callable(getattr(mod, name, None)):
                setattr(mod, name, refuse)


def load_engine(engine):
    if engine == "shim":
        sys.path.insert(0, os.path.join(HERE, "trex_shim"))
        import trex_stl_lib.api as api
        if not getattr(api, "SHIM", False):
            raise SystemExit("stl_dump: expected the shim, imported %s" % api.__file__)
        return api, os.path.dirname(api.__file__), "shim"
    version = "?"
    try:
        import lbr_trex_client  # noqa: F401  (sets TRex's paths up)
        try:
            from importlib.metadata import version as dist_version
            version = "lbr-trex-client " + dist_version("lbr-trex-client")
        except Exception:
            version = "lbr-trex-client"
    except ImportError:
        pass
    import trex_stl_lib.api as api
    if getattr(api, "SHIM", False):
        raise SystemExit("stl_dump: expected TRex's library, imported the shim at %s" % api.__file__)
    return api, os.path.dirname(os.path.realpath(sys.modules[api.STLProfile.__module__].__file__)), version


def main():
    engine = sys.argv[1]
    cases = json.load(sys.stdin)
    out = sys.stdout
    with contextlib.redirect_stdout(io.StringIO()):
        api, library, version = load_engine(engine)
        forbid_network()
        results = {}
        for case in cases:
            err = io.StringIO()
            try:
                with contextlib.redirect_stderr(err):
                    profile = api.STLProfile.load_py(case["profile"], direction=case["direction"],
                                                     port_id=case["direction"], **case["kwargs"])
                if profile is None:
                    results[case["id"]] = {"none": True, "stderr": err.getvalue()}
                else:
                    results[case["id"]] = {"streams": [s.to_json() for s in profile.get_streams()]}
            except Exception as e:  # reported, judged by the test
                results[case["id"]] = {"error": "%s: %s" % (type(e).__name__, e), "stderr": err.getvalue()}
    json.dump({"engine": engine, "library": library, "version": version, "results": results}, out)


if __name__ == "__main__":
    main()
