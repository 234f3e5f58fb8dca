#!/usr/bin/env bash
# Pipeline benchmark (issue 4): fastpath against dpdk-testpmd in io mode (the I/O ceiling)
# and DPDK's l3fwd in LPM mode, on the same I/O (net_pcap infinite_rx in, net_null out, one
# worker core each), the same full routing table (998,042 prefixes) and the same traffic
# (pcaps from fastpath-gen: 64-byte and IMIX frames; prefix-sampled, few-flows, 1M-flow and
# uniformly random destinations; and established-64: both directions of 4096 established
# UDP/TCP flows, requests into port 0 and replies into port 1, so the flowtable answers,
# against testpmd io on the same two ports, without l3fwd). Contenders alternate in one
# run (SIGSTOP/SIGCONT, one running at a time); Mpps is the median over the rounds. Prints
# a table, issue 11's targets with how much each is missed by, writes
# bench-results/pipeline.{json,png,txt}, and ends with three lines a script can read:
#   ratio mpps fastpath/l3fwd-lpm = X
#   ratio mpps fastpath/testpmd-io = Y
#   cycles-per-packet fastpath = Z      (fastpath's sampled cycles excluding rx/tx)
# for the headline case: full table, 64-byte frames, prefix-sampled destinations.
#
# Needs only scripts/setup.sh before it (installs what is missing: dpdk-doc, make, gcc,
# python3-matplotlib). Run as root. Takes about 8-10 minutes, of which the l3fwd LPM build
# of the full table is 1-3. Memory: about 9 GiB at peak (the 1M-flow pcap is held in
# mbufs by three processes); --many-flows N lowers it.
# Options are passed to scripts/bench/pipeline.py, e.g.
#   scripts/bench-pipeline.sh --rounds 7 --interval 2 --profiles sampled-64,random-64
#   scripts/bench-pipeline.sh --fastpath-variant 'fastpath-b64:{"burst": 64}'
#   scripts/bench-pipeline.sh --fastpath-variant 'base@/path/to/old/fastpath:{}'  (before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
TABLE=${TABLE:-$REPO/../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz}
WORK=$REPO/target/bench-pipeline
OUT=$REPO/bench-results

[ "$(id -u)" = 0 ] || { echo "bench-pipeline: run as root (EAL)" >&2; exit 1; }
[ -f "$TABLE" ] || { echo "bench-pipeline: no table at $TABLE (set TABLE=...)" >&2; exit 1; }

# Installs what is missing (the benchmark's extras too) and builds the workspace.
scripts/setup.sh dpdk-doc make gcc libc6-dev patch python3-matplotlib
if ! command -v cargo >/dev/null && [ -f "$HOME/.cargo/env" ]; then
    . "$HOME/.cargo/env"
fi

echo "bench-pipeline: building l3fwd from /usr/share/dpdk/examples/l3fwd (patched copy in $WORK/l3fwd-build)"
L3FWD=$(scripts/bench/build-l3fwd.sh "$WORK/l3fwd-build")

mkdir -p "$OUT" "$WORK/run"
echo '*' >"$OUT/.gitignore"   # results stay local; the recorded plot is docs/bench/pipeline.png
/usr/bin/python3 scripts/bench/pipeline.py --repo "$REPO" --work "$WORK/run" --table "$TABLE" --l3fwd "$L3FWD" \
    --json "$OUT/pipeline.json" --png "$OUT/pipeline.png" "$@" | tee "$OUT/pipeline.txt"
