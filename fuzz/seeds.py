#!/usr/bin/python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/.

Packet targets get the frames the pcap tests send (tests/pcap: packets.py's cases, the
options and flowtable cases, the frames of the Linux-made fixtures), one record each
(`[port, len_hi, len_lo, frame]`, see fuzz/src/records.rs) plus a few conversations;
the structured targets (ipv4_options, icmp_in, arp) get inputs in their own encodings
(fuzz/src/targets.rs); config, route_file and cli get the repository's YAML examples,
route lines and CLI lines. Files are named by the sha1 of their contents, as libFuzzer
names them. Run from anywhere: /usr/bin/python3 fuzz/seeds.py
"""
import hashlib
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PCAP = os.path.join(ROOT, "tests", "pcap")
sys.path.insert(0, PCAP)
os.chdir(PCAP)

import packets  # noqa: E402

OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX_FRAME = 1600  # keep the corpus small: long frames add bytes, not paths


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def rec(port, frame):
    frame = frame[:MAX_FRAME]
    return bytes([port]) + struct.pack(">H", len(frame)) + frame


def pcap_frames(path):
    b = open(path, "rb").read()
    assert b[:4] == b"\xd4\xc3\xb2\xa1"
    at, out = 24, []
    while at + 16 <= len(b):
        n = struct.unpack("<I", b[at + 8:at + 12])[0]
        out.append(b[at + 16:at + 16 + n])
        at += 16 + n
    return out


def pipeline():
    cases = []
    for fn in ("forward_cases", "icmp_error_cases", "no_route_cases", "local_cases",
               "malformed_cases", "bad_option_cases", "same_destination_cases"):
        cases += getattr(packets, fn)()
    cases += packets.rate_limit_cases(4)
    import test_options
    cases += test_options._cases()
    seen = set()
    for c in cases:
        r = rec(c.port, c.frame)
        if r not in seen:
            seen.add(r)
            put("pipeline", r)
    fix = os.path.join(PCAP, "fixtures")
    for name in sorted(os.listdir(fix)):
        if name.endswith(".in.pcap") or ".in0." in name or ".in1." in name:
            port = 1 if ".in1." in name else 0
            frames = pcap_frames(os.path.join(fix, name))
            for f in frames[:8]:
                put("pipeline", rec(port, f))
    # Conversations: the flowtable cases in order, in bursts of up to 4 on one port.
    flows = packets.flow_cases()
    seq = b""
    i = 0
    while i < len(flows):
        port = flows[i].port
        burst = [flows[i]]
        while i + len(burst) < len(flows) and len(burst) < 4 and flows[i + len(burst)].port == port:
            burst.append(flows[i + len(burst)])
        seq += bytes([port | (len(burst) - 1) << 2])
        for c in burst:
            f = c.frame[:MAX_FRAME]
            seq += struct.pack(">H", len(f)) + f
        i += len(burst)
        if len(seq) > 6000:
            put("pipeline", seq)
            seq = b""
    if seq:
        put("pipeline", seq)
    return cases


def ip_ok(f):
    return len(f) >= 34 and f[12:14] == b"\x08\x00"


def ipv4_options(cases):
    # Options of every case that has some, as the ipv4_options encoding:
    # sel, dst sel, ttl, tos, frag(2), olen, options, proto sel, plen, payload.
    n = 0
    for c in cases:
        f = c.frame
        if not ip_ok(f) or f[14] & 0xF <= 5:
            continue
        hl = (f[14] & 0xF) * 4
        opts = f[34:14 + hl]
        for sel, dsel in ((c.port % 3, 3), (c.port % 3, 0), (0x40 | c.port % 3, 4 * 8 + 3)):
            data = bytes([sel, dsel, f[22], f[15]]) + f[20:22] + bytes([len(opts)]) + opts
            data += bytes([1, 16]) + bytes(range(16))
            put("ipv4_options", data)
            n += 1
    for opt in (b"\x07\x0b\x04" + bytes(8), b"\x44\x0c\x05\x00" + bytes(8), b"\x94\x04\x00\x00",
                b"\x83\x07\x04" + bytes(4), b"\x89\x07\x04" + bytes(4), b"\x01" * 4, b"\x00"):
        put("ipv4_options", bytes([0, 3, 64, 0, 0x40, 0, len(opt)]) + opt + bytes([1, 8]) + bytes(8))
        put("ipv4_options", bytes([0, 0, 64, 0, 0x40, 0, len(opt)]) + opt + bytes([0, 8]) + bytes(8))
        put("ipv4_options", bytes([0, 3, 1, 0, 0, 0, len(opt)]) + opt + bytes([1, 8]) + bytes(8))


def icmp_in():
    # sel: port (sel % 3), kind ((sel >> 2) % 4: 0 frag-needed, 1 redirect, 2 unreach any
    # code, 3 any); then kind fields, quoted dst sel, quoted len, 8 bytes of quoted L4.
    for port in (1, 2):
        for mtu in (1400, 1200, 576, 552, 68, 0, 65535):
            put("icmp_in", bytes([port]) + struct.pack(">H", mtu) + bytes([3])
                + struct.pack(">H", 1400) + bytes([0, 0, 0, 0, 0, 1, 0, 1]))
        for code in range(4):
            for gw_sel in (2 + 8, 2 + 16, 6 + 8, 7):
                put("icmp_in", bytes([port | 1 << 2, code, gw_sel, 3]) + struct.pack(">H", 84)
                    + bytes([8, 0, 0, 0, 0, 1, 0, 1]))
    put("icmp_in", bytes([1 | 1 << 3]) + struct.pack(">H", 1300) + bytes([3 + 8 * 2]) +
        struct.pack(">H", 1400) + bytes(8) + bytes([5]))
    put("icmp_in", bytes([1 | 3 << 2, 11, 0]) + bytes(4) + bytes([3]) + struct.pack(">H", 60) + bytes(8))


def arp():
    # sel: port, kind ((sel >> 2) % 8: 0-4 ARP, 5-6 a packet to resolve, 7 time passes).
    req = lambda port, op, mac, spa, tpa, dm: bytes([port, op, mac, spa, tpa, dm])
    put("arp", req(0, 0, 0, 2, 0, 0))                       # request from A for us
    put("arp", req(1, 1, 0, 2, 1, 1))                       # reply from B
    put("arp", req(0, 0, 1, 6, 0, 0) + bytes([9]))          # a new host asks
    put("arp", bytes([1 | 5 << 2, 50]) + req(1, 1, 1, 6, 0, 1) + bytes([0x32, 50]))
    put("arp", bytes([1 | 5 << 2, 50, 7 << 2, 16, 7 << 2, 16, 7 << 2, 16]))
    put("arp", b"".join(req(0, 0, 1, 6, 0, 0) + bytes([i]) for i in range(20)))


def config():
    for d, names in ((os.path.join(ROOT, "conf"), ["lab.yaml"]),
                     (os.path.join(ROOT, "conf", "examples"), None)):
        for n in names or sorted(os.listdir(d)):
            if n.endswith(".yaml"):
                put("config", open(os.path.join(d, n), "rb").read())
    rs = open(os.path.join(ROOT, "fuzz", "src", "net.rs")).read()
    text = rs.split('r#"', 1)[1].split('"#', 1)[0].replace("{{", "{").replace("}}", "}")
    text = text.replace("{CONNTRACK_MAX}", "8").replace("{GC_THRESH3}", "16").replace("{}", "routes.txt")
    put("config", text.encode())
    cli = open(os.path.join(ROOT, "fuzz", "src", "targets.rs")).read()
    put("config", cli.split('CLI_CONFIG: &str = r#"', 1)[1].split('"#', 1)[0].encode())


def route_file():
    put("route_file", b"1.0.0.0/24 13335\n1.0.4.0/22 38803\n8.8.8.0/24 15169\n")
    put("route_file", b"# comment\n\n10.0.0.0/8\n192.0.2.0/24 64500\r\n203.0.113.0/32 1\n")
    put("route_file", b"1.2.3.4/24 1\n")
    put("route_file", b"0.0.0.0/0 4294967295\n1.0.0.0/33\n")
    put("route_file", b"  1.0.0.0/24   13335  \n1.0.0.0/24\t7\n")


def cli():
    lines = [
        "route add 8.8.8.0/24 via 10.0.1.2", "route add 8.8.8.0/24 via 10.0.2.2 dev p1 metric 10",
        "route replace 8.8.8.0/24 via 10.0.2.2 table isp2", "route del 8.8.8.0/24",
        "route add 10.10.0.0/16 nexthop via 10.0.1.2 weight 3 nexthop via 10.0.2.2 dev p1",
        "route add 10.11.0.0/16 via 10.0.1.2 weight 3 via 10.0.2.2", "route add 10.12.0.0/16 nhid 1",
        "route add blackhole 192.0.2.0/25", "route add 192.0.2.128/25 type prohibit",
        "route show", "route show table isp2", "route show 198.51.100.0/24", "route get 198.51.100.1",
        "route get 1.1.1.1 from 192.0.2.1 iif p0", "route show cache", "show exceptions",
        "rule add pref 150 from 10.0.0.0/8 iif p0 tos 0x10 fwmark 0x1/0xff lookup isp2",
        "rule add to 192.0.2.0/24 blackhole", "rule show", "rule del pref 150",
        "nexthop add id 3 blackhole", "nexthop add id 10 group 1,3/2", "nexthop show",
        "nexthop replace id 1 via 10.0.2.2", "nexthop del id 10", "show fib stats", "show config",
        "route del 8.8.8.0/24 nhid 77", "nexthop del id 4294967295", "route add ",
    ]
    put("cli", "\n".join(lines).encode())
    for i in range(0, len(lines), 5):
        put("cli", "\n".join(lines[i:i + 5]).encode())


if __name__ == "__main__":
    import shutil
    shutil.rmtree(OUT, ignore_errors=True)
    cases = pipeline()
    ipv4_options(cases)
    icmp_in()
    arp()
    config()
    route_file()
    cli()
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print(f"{t}: {len(files)} inputs, {size} bytes")
