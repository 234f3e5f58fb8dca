# fastpath load test: the standard IMIX, both directions.
#
#   start -f loadtest/trex/imix.py -m 10gbps --port 0 1
#   start -f loadtest/trex/imix.py -m 100% --port 0 1 -t flows=65535
#
# Three continuous UDP streams of 60, 590 and 1514 bytes (64, 594 and 1518 on the wire
# with the FCS the NIC adds) at 28:16:4 packets per second, that is 7:4:1: the classic
# "simple IMIX", about 358 bytes per packet on average (362 with the FCS). TRex's own
# stl/imix.py has the same sizes at 28:20:4.
# Port 0 (direction 0) sends 16.0.0.0/8 -> 48.0.0.0/8 into fastpath p0, port 1
# (direction 1) the reverse into p1. -m scales all three streams together, so the
# ratio holds at any rate.
#
# Tunables:
#   flows  the source and destination walk `flows` addresses each from 16.0.0.1 and
#          48.0.0.1 (swapped in direction 1), together: `flows` distinct pairs
#          (1..65535; default 254); the IPv4 checksum is fixed per packet and the UDP
#          checksum is 0 (none); flows=1 sends one fixed pair with its UDP checksum
from trex_stl_lib.api import *
import argparse

RANGES = (("16.0.0.1", "48.0.0.1"),   # direction 0: TRex port 0 -> fastpath p0 -> p1
          ("48.0.0.1", "16.0.0.1"))   # direction 1: TRex port 1 -> fastpath p1 -> p0

# size without FCS, relative pps (7:4:1), inter-stream gap in usec before each starts
IMIX_TABLE = [{"size": 60,   "pps": 28, "isg": 0},
              {"size": 590,  "pps": 16, "isg": 0.1},
              {"size": 1514, "pps": 4,  "isg": 0.2}]


def parse_tunables(kwargs):
    """Tunables as TRex passes them: old style (flows=1000 as a keyword) or argparse
    style (tunables=['--flows', '1000'], TRex v2.89 and later)."""
    parser = argparse.ArgumentParser(prog="imix.py", description="fastpath: IMIX 7:4:1",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--flows", type=int, default=254, help="address pairs (1..65535)")
    argv = []
    for key, value in kwargs.items():
        if key not in ("tunables", "port_id"):
            argv += ["--" + key, str(value)]
    argv += list(kwargs.get("tunables") or [])
    args = parser.parse_args(argv)
    if not 1 <= args.flows <= 65535:
        parser.error("flows must be 1..65535, not %d" % args.flows)
    return args


def ip_add(addr, n):
    """addr + n as a dotted quad."""
    a, b, c, d = (int(x) for x in addr.split("."))
    v = ((a << 24) | (b << 16) | (c << 8) | d) + n
    return "%d.%d.%d.%d" % (v >> 24 & 255, v >> 16 & 255, v >> 8 & 255, v & 255)


class STLImix(object):

    def create_stream(self, size, pps, isg, src, dst, flows):
        # rewritten addresses would leave the UDP checksum stale: with flows > 1 it is 0
        # ("no checksum", legal in IPv4) and only the IPv4 header checksum is fixed
        udp = UDP(sport=1025, dport=12, chksum=0) if flows > 1 else UDP(sport=1025, dport=12)
        base = Ether() / IP(src=src, dst=dst) / udp
        pad = max(0, size - len(base)) * "x"
        vm = None
        if flows > 1:
            vm = STLScVmRaw([
                STLVmFlowVar(name="src", min_value=src, max_value=ip_add(src, flows - 1), size=4, op="inc"),
                STLVmWrFlowVar(fv_name="src", pkt_offset="IP.src"),
                STLVmFlowVar(name="dst", min_value=dst, max_value=ip_add(dst, flows - 1), size=4, op="inc"),
                STLVmWrFlowVar(fv_name="dst", pkt_offset="IP.dst"),
                STLVmFixIpv4(offset="IP"),
            ])
        return STLStream(isg=isg,
                         packet=STLPktBuilder(pkt=base / pad, vm=vm),
                         mode=STLTXCont(pps=pps))

    def get_streams(self, direction=0, **kwargs):
        args = parse_tunables(kwargs)
        src, dst = RANGES[direction % 2]
        return [self.create_stream(x["size"], x["pps"], x["isg"], src, dst, args.flows)
                for x in IMIX_TABLE]


# dynamic load: trex-console, stl-sim and STLProfile.load_py call this
def register():
    return STLImix()
