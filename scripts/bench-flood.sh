#!/usr/bin/env bash
# Floods against established traffic (issues 7 and 12): random sources and destinations
# over the 32-bit space, SYN, on-link (neighbour), ARP request, ICMP echo to the appliance,
# fragment and IP-option floods, each mixed 1:1 with both directions of 4096 established
# flows, on one worker with the full table (net_pcap infinite_rx into p0 and p1, net_null
# p2). Prints, per profile, the established traffic's rate kept under the flood ("kept",
# target >= 0.9) and its delivery, a byte check of every established frame in a one-pass
# run, connections, neighbours and held packets at their peak, ARP and ICMP sent per
# second, mbufs and RSS over the run. See scripts/bench/flood.py for the details. About
# 8 minutes, 2 GiB of memory. Needs only scripts/setup.sh before it; run as root, with no
# other DPDK process polling a core.
#   scripts/bench-flood.sh [--seconds N] [--rounds N] [--frames N] [--profiles established,syn,...] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=${TABLE:-$PWD/../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz}
[ "$(id -u)" = 0 ] || { echo "bench-flood: run as root (EAL)" >&2; exit 1; }
[ -f "$TABLE" ] || { echo "bench-flood: no table at $TABLE (set TABLE=...)" >&2; exit 1; }
scripts/setup.sh
exec /usr/bin/python3 scripts/bench/flood.py --repo "$PWD" --table "$TABLE" "$@"
