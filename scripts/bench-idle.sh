#!/usr/bin/env bash
# Idle polling benchmark (issue 10): throughput and in-worker latency under load with
# settings.idle_sleep_us 0 / 100 / 500 / 1000, and, on net_af_packet between two network
# namespaces, the idle worker's CPU share and the ping round trip through it. About 3
# minutes. Needs only scripts/setup.sh before it; run as root, with no other DPDK process
# polling a core.
#   scripts/bench-idle.sh [--rounds N] [--seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-idle: run as root (EAL, namespaces)" >&2; exit 1; }
TABLE=${TABLE:-$PWD/../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz}
[ -f "$TABLE" ] || { echo "bench-idle: no table at $TABLE (set TABLE=...)" >&2; exit 1; }
scripts/setup.sh
exec /usr/bin/python3 scripts/bench/idle.py --repo "$PWD" --table "$TABLE" "$@"
