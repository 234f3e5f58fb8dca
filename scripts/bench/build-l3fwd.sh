#!/usr/bin/env bash
# Builds DPDK's l3fwd example for the pipeline benchmark from the source Debian's dpdk-doc
# installs (/usr/share/dpdk/examples/l3fwd), with scripts/bench/l3fwd-bench.patch applied:
#   - LPM limits raised so it holds a full table: IPV4_L3FWD_LPM_MAX_RULES 1024 -> 2^21,
#     IPV4_L3FWD_LPM_NUMBER_TBL8S 2^8 -> 2^16;
#   - one log line per route (a million of them) cut to the first four and the last;
#   - requested rx offloads masked by the device's (vdevs have no rx checksum offload,
#     and l3fwd's LPM path never reads it);
#   - two harness hooks: $L3FWD_BENCH_EXTRA_MBUFS mbufs added to the pool (net_pcap's
#     infinite_rx keeps the whole pcap in mbufs), and signal SIGRTMIN+k makes the lcore
#     poll only rx port k (plus $L3FWD_BENCH_ALWAYS_MASK), so one l3fwd process, whose
#     full-table LPM build takes minutes, serves every traffic profile. The forwarding
#     path itself is unchanged: one compare per rx queue per loop turn.
# Usage: build-l3fwd.sh OUTDIR   (prints the binary's path; rebuilds only when needed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-l3fwd.sh OUTDIR}
src=/usr/share/dpdk/examples
patch=$here/l3fwd-bench.patch
[ -d "$src/l3fwd" ] || { echo "build-l3fwd: $src/l3fwd missing (apt-get install dpdk-doc)" >&2; exit 1; }
stamp=$( { dpkg-query -W -f='${Version}' dpdk-doc libdpdk-dev 2>/dev/null; sha256sum "$patch" "$0"; } | sha256sum | cut -c1-16)
bin=$out/l3fwd/build/l3fwd
if [ -x "$bin" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$bin"
    exit 0
fi
rm -rf "$out"
mkdir -p "$out"
cp -r "$src/l3fwd" "$src/common" "$out/"
patch -s -p1 -d "$out" <"$patch"
make -s -C "$out/l3fwd" >&2
echo "$stamp" >"$out/stamp"
echo "$bin"
