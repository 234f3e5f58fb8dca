#!/usr/bin/env bash
# Flowtable benchmark (issue 9): per-packet cost of established flows with flowtable hits
# against the normal path (full table; default rules and 100 policy rules), and floods of
# SYNs and random-source UDP mixed 1:1 with established traffic (kept rate, evictions, RSS).
# One worker, net_pcap infinite_rx on both ports. About 3 minutes. Needs only
# scripts/setup.sh before it; run as root, with no other DPDK process polling a core.
#   scripts/bench-flowtable.sh [--seconds N] [--rounds N] [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-flowtable: run as root (EAL)" >&2; exit 1; }
TABLE=${TABLE:-$PWD/../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz}
[ -f "$TABLE" ] || { echo "bench-flowtable: no table at $TABLE (set TABLE=...)" >&2; exit 1; }
scripts/setup.sh
exec /usr/bin/python3 scripts/bench/flowtable.py --repo "$PWD" --table "$TABLE" "$@"
