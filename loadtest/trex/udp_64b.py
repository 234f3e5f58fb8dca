# fastpath load test: UDP frames of one size (64 B by default), both directions.
#
#   start -f loadtest/trex/udp_64b.py -m 10mpps --port 0 1
#   start -f loadtest/trex/udp_64b.py -m 10mpps --port 0 1 -t size=128,flows=1024
#   start -f loadtest/trex/udp_64b.py --port 0 1 -t --help     (TRex v2.89+: lists the tunables)
#
# Port 0 (direction 0) sends 16.0.0.0/8 -> 48.0.0.0/8 into fastpath p0, port 1
# (direction 1) the reverse into p1: fastpath routes 48/8 out of p1 and 16/8 out of p0.
#
# Tunables:
#   size   frame size on the wire with the 4-byte FCS, as TRex counts it (64..1518);
#          the packet built here is size - 4 bytes, the NIC adds the FCS
#   flows  number of source addresses (1 = one flow; more spread the load over
#          fastpath's RSS queues and workers): the source walks 16.0.0.1 upwards
#          (48.0.0.1 in direction 1), the IPv4 checksum is fixed per packet and the
#          UDP checksum is 0 (none)
#   pg_id  per-stream statistics (STLFlowStats) under pg_id + direction; -1 = off
from trex_stl_lib.api import *
import argparse

FCS = 4
RANGES = (("16.0.0.1", "48.0.0.1"),   # direction 0: TRex port 0 -> fastpath p0 -> p1
          ("48.0.0.1", "16.0.0.1"))   # direction 1: TRex port 1 -> fastpath p1 -> p0
MAX_FRAME = 1518                      # 1500-byte IP MTU on fastpath's ports, plus 14 + 4


def parse_tunables(kwargs):
    """Tunables as TRex passes them: old style (size=128 as a keyword, TRex v2) or
    argparse style (tunables=['--size', '128'], TRex v2.89 and later, which also
    converts old-style -t size=128 into that list)."""
    parser = argparse.ArgumentParser(prog="udp_64b.py", description="fastpath: UDP frames of one size",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="frame size with FCS (64..%d)" % MAX_FRAME)
    parser.add_argument("--flows", type=int, default=1, help="distinct source addresses (1..65535)")
    parser.add_argument("--pg_id", type=int, default=-1, help="STLFlowStats pg_id base (-1: none)")
    argv = []
    for key, value in kwargs.items():
        if key not in ("tunables", "port_id"):
            argv += ["--" + key, str(value)]
    argv += list(kwargs.get("tunables") or [])
    args = parser.parse_args(argv)
    if not 64 <= args.size <= MAX_FRAME:
        parser.error("size must be 64..%d (frame with FCS), not %d" % (MAX_FRAME, args.size))
    if not 1 <= args.flows <= 65535:
        parser.error("flows must be 1..65535, not %d" % args.flows)
    return args


class STLS1(object):

    def create_stream(self, direction, size, flows, pg_id):
        src, dst = RANGES[direction % 2]
        # a rewritten source would leave the UDP checksum stale: with flows > 1 it is 0
        # ("no checksum", legal in IPv4) and only the IPv4 header checksum is fixed
        udp = UDP(sport=1025, dport=12, chksum=0) if flows > 1 else UDP(sport=1025, dport=12)
        base = Ether() / IP(src=src, dst=dst) / udp
        pad = max(0, size - FCS - len(base)) * "x"
        vm = None
        if flows > 1:
            vm = STLScVmRaw([
                STLVmFlowVar(name="src", min_value=src, max_value=ip_add(src, flows - 1),
                             size=4, op="inc"),
                STLVmWrFlowVar(fv_name="src", pkt_offset="IP.src"),
                STLVmFixIpv4(offset="IP"),
            ])
        stats = STLFlowStats(pg_id=pg_id + direction % 2) if pg_id >= 0 else None
        return STLStream(packet=STLPktBuilder(pkt=base / pad, vm=vm),
                         mode=STLTXCont(pps=1),   # scaled by start -m
                         flow_stats=stats)

    def get_streams(self, direction=0, **kwargs):
        args = parse_tunables(kwargs)
        return [self.create_stream(direction, args.size, args.flows, args.pg_id)]


def ip_add(addr, n):
    """addr + n as a dotted quad."""
    a, b, c, d = (int(x) for x in addr.split("."))
    v = ((a << 24) | (b << 16) | (c << 8) | d) + n
    return "%d.%d.%d.%d" % (v >> 24 & 255, v >> 16 & 255, v >> 8 & 255, v & 255)


# dynamic load: trex-console, stl-sim and STLProfile.load_py call this
def register():
    return STLS1()
