"""The load-test kits of loadtest/: TRex STL profiles, TRex's config, the pktgen-dpdk
command file and fastpath's YAML for them, checked against one another.

STL profiles. Each profile of loadtest/trex is loaded as trex-console loads it
(STLProfile.load_py with a direction, a port and tunables) by two engines, each in a
process of its own (stl_dump.py): TRex's own library (engines.py says where it comes
from: lbr-trex-client from PyPI in a cached venv, unless LOADTEST_TREX_PYTHON names
another; the tests skip with the reason when it cannot be had) and the shim of
trex_shim/ (always). The streams, as TRex's STLStream.to_json() gives them, are then
judged here with Debian's scapy and RFC arithmetic, not with either engine's code:
Ether/IP/UDP with the sizes TRex means (a "64-byte" frame is 60 bytes built, the NIC adds
the 4-byte FCS), valid checksums, sources and destinations in 16.0.0.0/8 and 48.0.0.0/8
per direction, field-engine variables that exist, fit the field they are written to and
stay inside the right /8, a checksum fix-up last, IMIX's 60/590/1514 bytes at 7:4:1, the
tunables honoured and bad ones refused. Where both engines ran, their streams must be
identical. The closing line of the run says which engines were used.

fastpath. Every YAML in loadtest/ must pass ``fastpath --check`` (FASTPATH_BIN_DIR, default
<repo>/target/release), and must describe the generator's topology; trex_cfg.yaml's MACs
and loadtest/pktgen/fastpath.pkt's MACs and addresses must be fastpath's; every .pkt line
must be a pktgen command as pktgen's CLI defines it (app/cli-functions.c's maps).
"""

import base64
import ipaddress
import os
import re
import struct
import sys
import subprocess
from pathlib import Path

import pytest
import yaml
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import engines

REPO = Path(__file__).resolve().parents[2]
KIT = REPO / "loadtest"
TREX_DIR = KIT / "trex"
FASTPATH_YAML = KIT / "fastpath-trex.yaml"
TREX_CFG = TREX_DIR / "trex_cfg.yaml"
PKT_FILE = KIT / "pktgen" / "fastpath.pkt"
BIN_DIR = Path(os.environ.get("FASTPATH_BIN_DIR", REPO / "target" / "release"))

NET16 = ipaddress.ip_network("16.0.0.0/8")
NET48 = ipaddress.ip_network("48.0.0.0/8")
SRC_NET = {0: NET16, 1: NET48}      # direction -> sources
DST_NET = {0: NET48, 1: NET16}      # direction -> destinations
FCS = 4
UDP_HW = 11                         # CTRexVmInsFixHwCs.L4_TYPE_UDP

PROFILES = ("udp_64b", "imix", "many_flows")

# (profile, direction, kwargs as load_py takes them, expectations). kwargs come in both
# styles TRex passes: keywords (TRex v2, `-t size=128`) or an argv list under "tunables"
# (TRex v2.89+, `-t --size 128`).
CASES = [
    ("udp_64b", 0, {}, dict(frames=[64], flows=1)),
    ("udp_64b", 1, {}, dict(frames=[64], flows=1)),
    ("udp_64b", 0, {"size": 128, "flows": 1000, "pg_id": 7},
     dict(frames=[128], flows=1000, fix="ipv4", pg_id=7, src_only=True)),
    ("udp_64b", 1, {"tunables": ["--size", "1518", "--flows", "65535"]},
     dict(frames=[1518], flows=65535, fix="ipv4", src_only=True)),
    ("imix", 0, {}, dict(frames=[64, 594, 1518], flows=254, fix="ipv4", pps=[7, 4, 1])),
    ("imix", 1, {}, dict(frames=[64, 594, 1518], flows=254, fix="ipv4", pps=[7, 4, 1])),
    ("imix", 1, {"flows": 1}, dict(frames=[64, 594, 1518], flows=1, pps=[7, 4, 1])),
    ("many_flows", 0, {}, dict(frames=[64], flows=1000000, fix="hw")),
    ("many_flows", 1, {}, dict(frames=[64], flows=1000000, fix="hw")),
    ("many_flows", 0, {"flows": 16777214, "op": "random", "sport": 1},
     dict(frames=[64], flows=16777214, fix="hw", op="random", sport=True)),
    ("many_flows", 1, {"tunables": ["--cs", "sw", "--size", "512", "--op", "dec"]},
     dict(frames=[512], flows=1000000, fix="ipv4", op="dec")),
]
# (profile, direction, kwargs, what the profile's argparse says on stderr)
BAD_CASES = [
    ("udp_64b", 0, {"size": 63}, "size must be 64..1518"),
    ("udp_64b", 1, {"tunables": ["--size", "1519"]}, "size must be 64..1518"),
    ("udp_64b", 0, {"flows": 0}, "flows must be 1..65535"),
    ("imix", 0, {"tunables": ["--flows", "many"]}, "invalid int value: 'many'"),
    ("many_flows", 0, {"flows": 16777215}, "flows must be 1..16777214"),
    ("many_flows", 1, {"op": "shuffle"}, "invalid choice: 'shuffle'"),
]


def case_id(case):
    profile, direction, kwargs = case[:3]
    args = ",".join("%s=%s" % (k, "+".join(v) if isinstance(v, list) else v) for k, v in kwargs.items())
    return "%s-d%d%s" % (profile, direction, "-" + args if args else "")


ALL_CASES = [c[:3] for c in CASES] + [c[:3] for c in BAD_CASES]


def dump_cases():
    return [{"id": case_id(c), "profile": str(TREX_DIR / (c[0] + ".py")), "direction": c[1],
             "kwargs": c[2]} for c in ALL_CASES]


_RESULTS = {}


def results(engine, python):
    """stl_dump.py's results for every case under one engine, once per session."""
    if engine not in _RESULTS:
        out = engines.run_dump(python, engine, dump_cases())
        engines.STATE[engine] = "loaded the profiles (%s, %s)" % (out["version"], out["library"])
        _RESULTS[engine] = out["results"]
    return _RESULTS[engine]


@pytest.fixture(params=["shim", "trex"])
def engine_results(request):
    if request.param == "shim":
        return "shim", results("shim", sys.executable)
    python = request.getfixturevalue("trex_python")
    return "trex", results("trex", python)


# ------------------------------------------------------------------ RFC arithmetic

def csum16(data):
    """RFC 1071 one's complement sum, folded (0xffff for a correct checksum's cover)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def udp_checksum_ok(ip_hdr, udp_bytes):
    src, dst = ip_hdr[12:16], ip_hdr[16:20]
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp_bytes))
    return csum16(pseudo + udp_bytes) == 0xffff


def fastpath_conf():
    return yaml.safe_load(FASTPATH_YAML.read_text())


def port_mtus():
    return [p.get("mtu", 1500) for p in fastpath_conf()["ports"]]


# ------------------------------------------------------------------ STL profiles

def check_stream(s, direction, exp, frame):
    """One stream of TRex JSON against the expectations; returns the VM instructions."""
    assert s["enabled"] and s["self_start"]
    # flags 0: the packet's own MACs do not override; TRex writes trex_cfg.yaml's
    assert s["flags"] == 0, "stream flags %#x: the packet sets its own MACs" % s["flags"]
    assert s["mode"]["type"] == "continuous" and s["mode"]["rate"]["type"] == "pps"
    assert s["mode"]["rate"]["value"] > 0

    pkt = base64.b64decode(s["packet"]["binary"])
    assert len(pkt) == frame - FCS, "a %d-byte frame is %d bytes built (TRex adds no FCS), got %d" % (
        frame, frame - FCS, len(pkt))
    eth = Ether(pkt)
    assert eth.type == 0x0800 and isinstance(eth.payload, IP), eth.summary()
    ip = eth[IP]
    assert isinstance(ip.payload, UDP) and isinstance(ip[UDP].payload, Raw), eth.summary()
    ihl = pkt[14] & 0x0f
    assert pkt[14] >> 4 == 4 and ihl == 5, "IPv4 without options"
    ip_hdr = pkt[14:14 + 4 * ihl]
    total_len = struct.unpack("!H", ip_hdr[2:4])[0]
    assert total_len == len(pkt) - 14, "IP total length %d in a %d-byte frame" % (total_len, len(pkt))
    assert total_len <= min(port_mtus()), "IP packet of %d bytes over fastpath's MTU" % total_len
    assert csum16(ip_hdr) == 0xffff, "IPv4 header checksum"
    assert ip_hdr[8] >= 2, "TTL %d would expire at fastpath" % ip_hdr[8]
    assert ip_hdr[9] == 17 and struct.unpack("!H", ip_hdr[6:8])[0] & 0x3fff == 0, "UDP, not a fragment"
    udp_bytes = pkt[14 + 4 * ihl:]
    assert struct.unpack("!H", udp_bytes[4:6])[0] == len(udp_bytes), "UDP length"
    src, dst = ipaddress.ip_address(ip.src), ipaddress.ip_address(ip.dst)
    assert src in SRC_NET[direction] and dst in DST_NET[direction], \
        "direction %d sends %s -> %s, wants %s -> %s" % (direction, src, dst, SRC_NET[direction], DST_NET[direction])

    # the field engine
    offsets = {14 + 12: ("IP.src", 4), 14 + 16: ("IP.dst", 4), 14 + 4 * ihl: ("UDP.sport", 2)}
    base_values = {"IP.src": int(src), "IP.dst": int(dst), "UDP.sport": ip[UDP].sport}
    ins = s["vm"]["instructions"]
    assert "cache" not in s["vm"], "a cached field engine repeats a few packets only"
    variables, written = {}, {}
    for n, i in enumerate(ins):
        if i["type"] == "flow_var":
            assert i["name"] not in variables, "variable %s defined twice" % i["name"]
            assert i["size"] in (1, 2, 4, 8) and i["op"] in ("inc", "dec", "random") and i["step"] == 1
            assert i["min_value"] <= i["init_value"] <= i["max_value"] < 1 << (8 * i["size"]), i
            variables[i["name"]] = i
        elif i["type"] == "write_flow_var":
            var = variables.get(i["name"])
            assert var is not None, "write of %s before (or without) its definition" % i["name"]
            off = i["pkt_offset"]
            assert off + var["size"] <= len(pkt), "write at %d+%d past the packet" % (off, var["size"])
            assert off in offsets, "write at offset %d: not IP.src, IP.dst or UDP.sport" % off
            field, size = offsets[off]
            assert var["size"] == size, "%d-byte variable into %s (%d bytes)" % (var["size"], field, size)
            assert i["add_value"] == 0 and i["is_big_endian"]
            assert field not in written, "%s written twice" % field
            written[field] = var
        else:
            assert n == len(ins) - 1, "checksum fix-up %s is not the last instruction" % i["type"]
    fix = ins[-1] if ins and ins[-1]["type"].startswith("fix_checksum") else None

    expected_fields = set()
    if exp["flows"] > 1:
        expected_fields = {"IP.src"} if exp.get("src_only") else {"IP.src", "IP.dst"}
    if exp.get("sport"):
        expected_fields.add("UDP.sport")
    assert set(written) == expected_fields, "fields written: %s" % sorted(written)

    for field, var in written.items():
        assert var["op"] == exp.get("op", "inc"), var
        # TRex's default start: max for dec, min otherwise; the template holds the min
        assert var["init_value"] == (var["max_value"] if var["op"] == "dec" else var["min_value"]), var
        assert var["min_value"] == base_values[field], \
            "%s ranges from %d, the packet has %d" % (field, var["min_value"], base_values[field])
        if field == "UDP.sport":
            assert 1 <= var["min_value"] and var["max_value"] <= 65535
            continue
        net = SRC_NET[direction] if field == "IP.src" else DST_NET[direction]
        lo, hi = ipaddress.ip_address(var["min_value"]), ipaddress.ip_address(var["max_value"])
        assert lo in net and hi in net, "%s ranges %s..%s outside %s" % (field, lo, hi, net)
        assert lo != net.network_address and hi != net.broadcast_address
        assert var["max_value"] - var["min_value"] + 1 == exp["flows"], \
            "%s takes %d values, wanted %d flows" % (field, var["max_value"] - var["min_value"] + 1, exp["flows"])

    udp_ck = struct.unpack("!H", udp_bytes[6:8])[0]
    if not written:
        assert not ins and fix is None, "a field engine that writes nothing"
        assert udp_ck != 0 and udp_checksum_ok(ip_hdr, udp_bytes), "UDP checksum of a fixed packet"
    elif exp.get("fix") == "hw":
        assert fix == {"type": "fix_checksum_hw", "l2_len": 14, "l3_len": 4 * ihl, "l4_type": UDP_HW}, fix
        assert udp_checksum_ok(ip_hdr, udp_bytes), "UDP checksum of the template"
    else:
        assert exp.get("fix") == "ipv4"
        assert fix == {"type": "fix_checksum_ipv4", "pkt_offset": 14}, fix
        assert udp_ck == 0, "addresses rewritten, IPv4 checksum fixed: the UDP checksum must be 0 (none)"
    return ins


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_profile_streams(engine_results, case):
    engine, res = engine_results
    profile, direction, kwargs, exp = case
    r = res[case_id(case)]
    assert "streams" in r, "%s: %s could not be loaded: %s" % (engine, profile, r)
    streams = r["streams"]
    frames = exp["frames"]
    assert len(streams) == len(frames), "%d streams, wanted %d" % (len(streams), len(frames))
    vms = []
    for s, frame in zip(sorted(streams, key=lambda s: len(s["packet"]["binary"])), frames):
        vms.append(check_stream(s, direction, exp, frame))
        if "pg_id" in exp:
            assert s["flow_stats"] == {"enabled": True, "stream_id": exp["pg_id"] + direction,
                                       "vxlan": False, "ieee_1588": False, "rule_type": "stats"}
        else:
            assert s["flow_stats"] == {"enabled": False}
    if "pps" in exp:
        pps = [s["mode"]["rate"]["value"] for s in sorted(streams, key=lambda s: len(s["packet"]["binary"]))]
        unit = min(pps)
        ratio = [p / unit for p in pps]
        assert ratio == [x / min(exp["pps"]) for x in exp["pps"]], "IMIX pps %s, wanted %s" % (pps, exp["pps"])
        assert all(vm == vms[0] for vm in vms), "IMIX streams with different field engines"


@pytest.mark.parametrize("case", BAD_CASES, ids=[case_id(c) for c in BAD_CASES])
def test_bad_tunables_refused(engine_results, case):
    engine, res = engine_results
    r = res[case_id(case)]
    # argparse's error is a SystemExit, which load_py turns into "no profile" (as for -t --help)
    assert r.get("none") is True, "%s: loaded with bad tunables: %s" % (engine, str(r)[:300])
    assert case[3] in r["stderr"], r["stderr"]


@pytest.mark.parametrize("case", ALL_CASES, ids=[case_id(c) for c in ALL_CASES])
def test_engines_agree(trex_python, case):
    """Where TRex's library ran, the shim must give the very same streams."""
    shim = results("shim", sys.executable)[case_id(case)]
    trex = results("trex", trex_python)[case_id(case)]
    if "stderr" in trex:   # argparse output: the same message
        assert shim.get("none") == trex.get("none") and shim["stderr"] == trex["stderr"]
    else:
        assert shim == trex, "shim and TRex differ:\n shim %s\n trex %s" % (shim, trex)


def test_profiles_are_trex_profiles():
    """Each profile: TRex's import, a register() and get_streams(self, direction=0, **kwargs)."""
    found = sorted(p.stem for p in TREX_DIR.glob("*.py"))
    assert found == sorted(PROFILES), found
    for name in PROFILES:
        text = (TREX_DIR / (name + ".py")).read_text()
        assert re.search(r"^from trex_stl_lib\.api import \*$", text, re.M), name
        assert re.search(r"^    def get_streams\(self, direction=0, \*\*kwargs\):$", text, re.M), name
        assert re.search(r"^def register\(\):\n    return STL\w+\(\)$", text, re.M), name
        assert "class STLS1" in text or name == "imix", name


# ------------------------------------------------------------------ fastpath's YAML

def fastpath_bin():
    path = BIN_DIR / "fastpath"
    assert path.exists(), "%s missing: build it (scripts/setup.sh) or set FASTPATH_BIN_DIR" % path
    return path


def run_check(path):
    return subprocess.run([str(fastpath_bin()), "--check", str(path)], capture_output=True, text=True,
                          timeout=120)


FASTPATH_YAMLS = sorted(KIT.glob("*.yaml"))


def test_loadtest_has_fastpath_yaml():
    assert FASTPATH_YAML in FASTPATH_YAMLS, FASTPATH_YAMLS


@pytest.mark.parametrize("path", FASTPATH_YAMLS, ids=[p.name for p in FASTPATH_YAMLS])
def test_fastpath_check_accepts(path):
    r = run_check(path)
    assert r.returncode == 0, "fastpath --check %s: exit %d\n%s%s" % (path, r.returncode, r.stdout, r.stderr)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and ": ok: 2 ports, 2 static routes" in lines[0], r.stdout


@pytest.mark.parametrize("old,new,error", [
    ("{ prefix: 16.0.0.0/8, via: 10.0.1.2 }", "{ prefix: 16.0.0.0/8, via: 10.0.9.2 }",
     "no port has an address on a subnet containing it"),
    ("rp_filter: 0", "rp_filter: 3", "rp_filter 3 is out of range"),
])
def test_fastpath_check_rejects_a_broken_copy(tmp_path, old, new, error):
    """The check above is worth something: a broken copy of the YAML exits 2."""
    text = FASTPATH_YAML.read_text()
    assert old in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(old, new, 1))
    r = run_check(bad)
    assert r.returncode == 2 and error in r.stderr, (r.returncode, r.stdout, r.stderr)


def neighbours_by_port(conf):
    out = {}
    for n in conf.get("neighbors", []):
        out.setdefault(n["port"], []).append(n)
    return out


def test_fastpath_yaml_topology():
    conf = fastpath_conf()
    ports = conf["ports"]
    assert [p["name"] for p in ports] == ["p0", "p1"]
    macs = [p["mac"].lower() for p in ports]          # explicit: the generators aim at them
    assert len(set(macs)) == 2 and all(not int(m.split(":")[0], 16) & 1 for m in macs)
    for p in ports:
        assert re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", p["device"]), p["device"]
        assert p.get("mtu", 1500) >= 1500, "IMIX's 1514-byte frames need an MTU of 1500"
        assert p.get("rp_filter", 0) == 0
    assert conf.get("settings", {}).get("rp_filter", 0) == 0, "rp_filter must be off"
    neigh = neighbours_by_port(conf)
    gateway = {}
    for i, p in enumerate(ports):
        (addr,) = p["addresses"]
        iface = ipaddress.ip_interface(addr)
        (n,) = neigh[p["name"]]
        assert ipaddress.ip_address(n["address"]) in iface.network and n["address"] != str(iface.ip)
        gateway[i] = n["address"]
    routes = {r["prefix"]: r for r in conf["routes"]}
    assert routes["16.0.0.0/8"]["via"] == gateway[0], "16/8 lives behind generator port 0"
    assert routes["48.0.0.0/8"]["via"] == gateway[1], "48/8 lives behind generator port 1"


# ------------------------------------------------------------------ TRex's config

def test_trex_cfg_matches_fastpath():
    (cfg,) = yaml.safe_load(TREX_CFG.read_text())
    assert cfg["version"] == 2 and cfg["port_limit"] == 2
    assert len(cfg["interfaces"]) == 2
    for pci in cfg["interfaces"]:
        assert re.fullmatch(r"([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", pci), pci
    conf = fastpath_conf()
    neigh = neighbours_by_port(conf)
    assert len(cfg["port_info"]) == 2
    for i, (info, port) in enumerate(zip(cfg["port_info"], conf["ports"])):
        assert info["dest_mac"].lower() == port["mac"].lower(), "TRex port %d must send to fastpath %s" % (i, port["name"])
        assert info["src_mac"].lower() == neigh[port["name"]][0]["mac"].lower(), \
            "TRex port %d's MAC must be fastpath's static neighbour on %s" % (i, port["name"])
        for key in ("ip", "default_gw"):
            assert key not in info, "L2 mode: dest_mac, not %s" % key
    threads = [t for d in cfg["platform"]["dual_if"] for t in d["threads"]]
    assert 1 <= cfg["c"] <= len(threads), "c=%d with %d threads" % (cfg["c"], len(threads))
    special = {cfg["platform"]["master_thread_id"], cfg["platform"]["latency_thread_id"]}
    assert len(special) == 2 and not special & set(threads) and len(set(threads)) == len(threads)


# ------------------------------------------------------------------ pktgen-dpdk

# pktgen's .pkt commands as its CLI maps define them (app/cli-functions.c, pktgen 24-25),
# the subset a command file uses. %P portlist, %m MAC, %4 IPv4 (optional /len), %d number,
# a|b|c one of those words.
SMMI = "start|minimum|maximum|increment|min|max|inc"
SET_TYPES = "count|size|rate|burst|tx_cycles|sport|dport|prime|dump|vlan|vlanid|seq_cnt|seqCnt|" \
            "seqcnt|ttl|txburst|rxburst"
ED_TYPES = "process|mpls|qinq|gre|gre_eth|vlan|random|latency|pcap|blink|icmp|range|capture|" \
           "bonding|vxlan|rate|rnd_s_ip|rnd_s_pt|lat"
PKTGEN_COMMANDS = [
    "set %P " + SET_TYPES + " %d",
    "set %P type arp|ipv4|ipv6|ip4|ip6|vlan",
    "set %P proto udp|tcp|icmp",
    "set %P src|dst mac %m",
    "set %P pattern abc|none|user|zero",
    "set %P src|dst ip %4",
    "set %P tos %d",
    "set %P cos %d",
    "range %P src|dst mac " + SMMI + " %m",
    "range %P src|dst mac %m %m %m %m",
    "range %P src|dst ip " + SMMI + " %4",
    "range %P src|dst ip %4 %4 %4 %4",
    "range %P proto tcp|udp",
    "range %P type ipv4|ipv6",
    "range %P src|dst port " + SMMI + " %d",
    "range %P src|dst port %d %d %d %d",
    "range %P ttl " + SMMI + " %d",
    "range %P size " + SMMI + " %d",
    "range %P size %d %d %d %d",
    "range %P tos|cos " + SMMI + " %d",
    "enable|disable %P " + ED_TYPES,
    "enable|disable screen|mac_from_arp",
    "start|stop %P",
    "start %P arp request|gratuitous|req|grat",
    "str", "stp", "clr",
    "clear %P stats",
    "page %d",
    "page main|range|cpu|system|sys|next|sequence|seq|rnd|log|latency|lat|stats|qstats|xstats",
    "delay|sleep %d",
]


def _token_ok(kind, tok):
    if kind == "%P":
        return tok == "all" or re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", tok) is not None
    if kind == "%m":
        return re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}|([0-9a-fA-F]{4}:){2}[0-9a-fA-F]{4}", tok) is not None
    if kind == "%4":
        m = re.fullmatch(r"(\d+\.\d+\.\d+\.\d+)(/(\d+))?", tok)
        if not m:
            return False
        try:
            ipaddress.ip_address(m.group(1))
        except ValueError:
            return False
        return m.group(3) is None or int(m.group(3)) <= 32
    if kind == "%d":
        return re.fullmatch(r"\d+", tok) is not None
    return tok in kind.split("|")


def pktgen_command(line):
    """The template a .pkt line matches, or None."""
    toks = line.split()
    for template in PKTGEN_COMMANDS:
        kinds = template.split()
        if len(kinds) == len(toks) and all(_token_ok(k, t) for k, t in zip(kinds, toks)):
            return template
    return None


def pkt_lines():
    out = []
    for n, line in enumerate(PKT_FILE.read_text().splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((n, line))
    return out


def test_pkt_checker_rejects_bad_commands():
    """The command check below can fail: near misses of real commands are refused."""
    for bad in ("set 0 dst mac 02:00:00:00:00:0g", "range 0 src ip begin 16.0.0.1", "enable 0 ranges",
                "set 0 src ip 16.0.0.300/24", "set 0 size", "rnage 0 size start 64",
                "set 0 dst mac 02:00:00:00:00:01 # p0", "set 0 size 64 64"):
        assert pktgen_command(bad) is None, bad
    for good in ("set 0 dst mac 02:00:00:00:00:01", "range 1 src ip inc 0.0.0.1", "enable 0,1 range",
                 "set all src ip 10.0.1.2/24", "start all", "range 0 size 64 64 1518 1"):
        assert pktgen_command(good) is not None, good


def test_pkt_commands_are_pktgen_commands():
    lines = pkt_lines()
    assert len(lines) > 20
    unknown = ["%s:%d: %s" % (PKT_FILE.name, n, l) for n, l in lines if pktgen_command(l) is None]
    assert not unknown, "not pktgen commands:\n" + "\n".join(unknown)


def pkt_settings():
    """(port, key) -> value of the .pkt's set/range lines for one port each."""
    got = {}
    for _, line in pkt_lines():
        t = line.split()
        if t[0] == "set" and len(t) == 5 and t[2] in ("src", "dst"):         # set P src mac M
            got[(int(t[1]), "set %s %s" % (t[2], t[3]))] = t[4]
        elif t[0] == "set" and len(t) == 4:                                   # set P size 64
            got[(int(t[1]), "set " + t[2])] = t[3]
        elif t[0] == "range" and len(t) == 6:                                 # range P src ip min A
            got[(int(t[1]), "range %s %s %s" % (t[2], t[3], t[4]))] = t[5]
        elif t[0] == "range" and len(t) == 5:                                 # range P size min 64
            got[(int(t[1]), "range %s %s" % (t[2], t[3]))] = t[4]
        elif t[0] == "range" and len(t) == 4:                                 # range P proto udp
            got[(int(t[1]), "range " + t[2])] = t[3]
        elif t[0] in ("enable", "disable") and len(t) == 3:
            got[(int(t[1]), t[0])] = got.get((int(t[1]), t[0]), ()) + (t[2],)
    return got


@pytest.mark.parametrize("port", [0, 1])
def test_pkt_matches_fastpath(port):
    conf = fastpath_conf()
    p = conf["ports"][port]
    (me,) = neighbours_by_port(conf)[p["name"]]
    got = pkt_settings()

    def g(key):
        assert (port, key) in got, "%s: no '%s' for port %d" % (PKT_FILE.name, key, port)
        return got[(port, key)]

    dut_mac, my_mac = p["mac"].lower(), me["mac"].lower()
    assert g("set dst mac").lower() == dut_mac, "port %d must send to fastpath %s's MAC" % (port, p["name"])
    assert g("set src mac").lower() == my_mac, "port %d's MAC must be fastpath's neighbour on %s" % (port, p["name"])
    for what in ("start", "min", "max"):
        assert g("range dst mac " + what).lower() == dut_mac
        assert g("range src mac " + what).lower() == my_mac
    assert g("range dst mac inc") == g("range src mac inc") == "00:00:00:00:00:00"
    # the port's own address (pktgen wants the mask): the neighbour fastpath has for it
    iface = ipaddress.ip_interface(p["addresses"][0])
    src = g("set src ip")
    assert "/" in src and ipaddress.ip_interface(src) == ipaddress.ip_interface(
        "%s/%d" % (me["address"], iface.network.prefixlen)), src
    # traffic: from this port's side of the routes to the other's
    src_net, dst_net = SRC_NET[port], DST_NET[port]
    routes = {r["prefix"]: r["via"] for r in conf["routes"]}
    assert routes[str(src_net)] == me["address"], "%s must be routed back to port %d" % (src_net, port)
    assert ipaddress.ip_address(g("set dst ip")) in dst_net
    for field, net in (("src", src_net), ("dst", dst_net)):
        lo = ipaddress.ip_address(g("range %s ip min" % field))
        hi = ipaddress.ip_address(g("range %s ip max" % field))
        start = ipaddress.ip_address(g("range %s ip start" % field))
        assert lo in net and hi in net and lo <= start <= hi, (field, lo, start, hi, net)
        assert lo != net.network_address and hi != net.broadcast_address
        assert g("range %s ip inc" % field) == "0.0.0.1"
    assert g("set size") == "64" and [g("range size " + w) for w in ("start", "min", "max", "inc")] == \
        ["64", "64", "64", "0"], "64-byte frames (pktgen counts the FCS)"
    assert g("set proto") == "udp" and g("range proto") == "udp" and g("set type") == "ipv4"
    assert "range" in g("enable"), "range mode must be enabled on port %d" % port


# ------------------------------------------------------------------ README

def test_readme_load_testing_section():
    readme = (REPO / "README.md").read_text()
    head = "## Load testing with TRex and pktgen-dpdk"
    assert head in readme and readme.index(head) < readme.index("## Layout")
    section = readme[readme.index(head):readme.index("\n## ", readme.index(head) + 1)]
    for path in re.findall(r"loadtest/[\w./-]+\w", section):
        assert (REPO / path).exists(), "README names %s, which does not exist" % path
    for name in ("fastpath-trex.yaml", "trex_cfg.yaml", "udp_64b.py", "imix.py", "many_flows.py",
                 "fastpath.pkt", "show fwd stats", "show port stats all"):
        assert name in section, name
    assert "tests/loadtest" in readme[readme.index("## Tests"):]
