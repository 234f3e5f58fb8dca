#!/usr/bin/env bash
# Measures loading the full RouteViews table (998,042 prefixes) from config: time to read
# and insert it, FIB memory, and the memory the whole process holds once running. Runs the
# real binary RUNS times (default 5) on idle net_pcap ports and prints each run and the
# median. Needs only scripts/setup.sh before it. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${RUNS:-5}
TMP=$(mktemp -d /tmp/fastpath-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

/usr/bin/python3 -c "from scapy.all import wrpcap; wrpcap('$TMP/in0.pcap', []); wrpcap('$TMP/in1.pcap', [])" 2>/dev/null
cat >"$TMP/bench.yaml" <<YAML
ports:
  - { name: p0, device: "net_pcap0,rx_pcap=$TMP/in0.pcap,tx_pcap=$TMP/out0.pcap", addresses: [10.0.1.1/24] }
  - { name: p1, device: "net_pcap1,rx_pcap=$TMP/in1.pcap,tx_pcap=$TMP/out1.pcap", addresses: [10.0.2.1/24] }
route_files:
  - { path: $REPO/../shared/data/rv2-20240406.ipv4.pfx-origin.txt.xz, via: [10.0.1.2, 10.0.2.2] }
YAML
echo "show memory" >"$TMP/cmds"

printf '%-4s %-10s %-10s %-10s %-12s %-12s %-12s\n' run file_s build_s fib_MiB rss_loaded rss_running peak
for i in $(seq 1 "$RUNS"); do
    out=$("$REPO/target/release/fastpath" -l 0-1 --no-huge -m 512 --no-pci --no-shconf --file-prefix fpb$$ \
          --log-level='*:error' -- --config "$TMP/bench.yaml" --cmdline-file "$TMP/cmds" --idle-exit 100 \
          --ctl-socket "$TMP/ctl.sock")
    file_s=$(sed -n 's/.*route file(s) in \([0-9.]*\) s.*/\1/p' <<<"$out")
    build_s=$(sed -n 's/.*built in \([0-9.]*\) s.*/\1/p' <<<"$out")
    fib=$(sed -n 's/^FIB: .*, \([0-9.]*\) MiB$/\1/p' <<<"$out")
    rss_loaded=$(sed -n 's/^fastpath: FIB .*process RSS \([0-9]*\) kB.*/\1/p' <<<"$out")
    rss_running=$(sed -n 's/^process: RSS \([0-9]*\) kB.*/\1/p' <<<"$out")
    peak=$(sed -n 's/^process: RSS .*(peak \([0-9]*\) kB)$/\1/p' <<<"$out")
    printf '%-4s %-10s %-10s %-10s %-12s %-12s %-12s\n' "$i" "$file_s" "$build_s" "$fib" "${rss_loaded}kB" "${rss_running}kB" "${peak}kB"
    echo "$file_s $build_s $fib $rss_loaded $rss_running $peak" >>"$TMP/rows"
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for col in 1 2; do cut -d' ' -f$col "$TMP/rows" | median; done | paste -sd' ' | {
    read -r f b
    echo "median: route file read+insert $f s, full build $b s"
}
echo "fib memory MiB: $(cut -d' ' -f3 "$TMP/rows" | median); process RSS after load: $(cut -d' ' -f4 "$TMP/rows" | median) kB; running (EAL + ports + pool): $(cut -d' ' -f5 "$TMP/rows" | median) kB; peak: $(cut -d' ' -f6 "$TMP/rows" | median) kB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB"
