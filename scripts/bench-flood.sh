#!/usr/bin/env bash
# Neighbour floods against resolved traffic (issue 7): random on-link destinations and ARP
# requests from random sources, each mixed 1:1 with traffic to a resolved neighbour, on one
# worker (net_pcap infinite_rx in, net_null out). Prints, per profile, the forwarded rate,
# the share of the worker's resolved rate kept ("kept", target >= 0.9), the neighbour table
# and held packets at their peak, ARP and ICMP sent per second, and mbufs and RSS over the
# run. About 1 minute. Needs only scripts/setup.sh before it; run as root, with no other
# DPDK process polling a core.
#   scripts/bench-flood.sh [--seconds N] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-flood: run as root (EAL)" >&2; exit 1; }
scripts/setup.sh
exec /usr/bin/python3 scripts/bench/flood.py --repo "$PWD" "$@"
