# fastpath load test: many flows, both directions (the flowtable, conntrack and the
# per-lcore caches under a large working set).
#
#   start -f loadtest/trex/many_flows.py -m 10mpps --port 0 1
#   start -f loadtest/trex/many_flows.py -m 10mpps --port 0 1 -t flows=4000000,op=random
#
# One continuous UDP stream per port whose field engine rewrites the source and the
# destination address of every packet: direction 0 (TRex port 0 -> fastpath p0) from
# 16.0.0.1 upwards to 48.0.0.1 upwards, direction 1 (port 1 -> p1) the reverse. TRex
# splits each range over its cores.
#
# Tunables:
#   flows  addresses in each range (1..16777214; default 1000000): with op=inc or dec
#          both addresses step together, so exactly `flows` distinct (src, dst) pairs
#          repeat in a cycle; with op=random each is drawn on its own (up to flows^2
#          pairs, no order: the hardest case for any cache)
#   op     inc, dec or random
#   size   frame size on the wire with the 4-byte FCS (64..1518)
#   sport  also vary the UDP source port over 1025..65535 (0 = off, 1 = on): another
#          64511 flows per address pair, for RSS and the flowtable's 5-tuple
#   cs     hw: STLVmFixChecksumHw (IPv4 and UDP checksums by the NIC's offload, TRex
#          computes them in software where the NIC has none); sw: STLVmFixIpv4 and a
#          UDP checksum of 0 ("none", legal in IPv4)
from trex_stl_lib.api import *
import argparse

FCS = 4
RANGES = (("16.0.0.1", "48.0.0.1"),   # direction 0: TRex port 0 -> fastpath p0 -> p1
          ("48.0.0.1", "16.0.0.1"))   # direction 1: TRex port 1 -> fastpath p1 -> p0
MAX_FRAME = 1518
MAX_FLOWS = (1 << 24) - 2             # x.0.0.1 .. x.255.255.254 stays inside the /8


def parse_tunables(kwargs):
    """Tunables as TRex passes them: old style (flows=1000 as a keyword) or argparse
    style (tunables=['--flows', '1000'], TRex v2.89 and later)."""
    parser = argparse.ArgumentParser(prog="many_flows.py", description="fastpath: many flows",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--flows", type=int, default=1000000, help="addresses per range")
    parser.add_argument("--op", choices=("inc", "dec", "random"), default="inc")
    parser.add_argument("--size", type=int, default=64, help="frame size with FCS")
    parser.add_argument("--sport", type=int, choices=(0, 1), default=0, help="vary the UDP source port")
    parser.add_argument("--cs", choices=("hw", "sw"), default="hw", help="checksum fix-up")
    argv = []
    for key, value in kwargs.items():
        if key not in ("tunables", "port_id"):
            argv += ["--" + key, str(value)]
    argv += list(kwargs.get("tunables") or [])
    args = parser.parse_args(argv)
    if not 1 <= args.flows <= MAX_FLOWS:
        parser.error("flows must be 1..%d, not %d" % (MAX_FLOWS, args.flows))
    if not 64 <= args.size <= MAX_FRAME:
        parser.error("size must be 64..%d (frame with FCS), not %d" % (MAX_FRAME, args.size))
    return args


def ip_add(addr, n):
    """addr + n as a dotted quad."""
    a, b, c, d = (int(x) for x in addr.split("."))
    v = ((a << 24) | (b << 16) | (c << 8) | d) + n
    return "%d.%d.%d.%d" % (v >> 24 & 255, v >> 16 & 255, v >> 8 & 255, v & 255)


class STLS1(object):

    def create_stream(self, direction, args):
        src, dst = RANGES[direction % 2]
        udp = UDP(sport=1025, dport=12, chksum=0) if args.cs == "sw" else UDP(sport=1025, dport=12)
        base = Ether() / IP(src=src, dst=dst) / udp
        pad = max(0, args.size - FCS - len(base)) * "x"
        ins = [
            STLVmFlowVar(name="ip_src", min_value=src, max_value=ip_add(src, args.flows - 1),
                         size=4, op=args.op),
            STLVmFlowVar(name="ip_dst", min_value=dst, max_value=ip_add(dst, args.flows - 1),
                         size=4, op=args.op),
            STLVmWrFlowVar(fv_name="ip_src", pkt_offset="IP.src"),
            STLVmWrFlowVar(fv_name="ip_dst", pkt_offset="IP.dst"),
        ]
        if args.sport:
            ins += [STLVmFlowVar(name="sport", min_value=1025, max_value=65535, size=2, op=args.op),
                    STLVmWrFlowVar(fv_name="sport", pkt_offset="UDP.sport")]
        if args.cs == "hw":
            # must be last: the NIC (or TRex) fills in both checksums at transmit
            ins.append(STLVmFixChecksumHw(l3_offset="IP", l4_offset="UDP",
                                          l4_type=CTRexVmInsFixHwCs.L4_TYPE_UDP))
        else:
            ins.append(STLVmFixIpv4(offset="IP"))
        return STLStream(packet=STLPktBuilder(pkt=base / pad, vm=STLScVmRaw(ins)),
                         mode=STLTXCont(pps=1))   # scaled by start -m

    def get_streams(self, direction=0, **kwargs):
        args = parse_tunables(kwargs)
        return [self.create_stream(direction, args)]


# dynamic load: trex-console, stl-sim and STLProfile.load_py call this
def register():
    return STLS1()
