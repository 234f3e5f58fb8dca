#!/usr/bin/env bash
# The lab: fastpath between two Linux hosts in network namespaces, with the full RouteViews
# table loaded (conf/lab.yaml). Pings through it, a traceroute-style TTL probe, a TCP
# transfer checked end to end, then the port and forwarding counters and a clean shutdown
# with every mbuf back in its pool. Exits non-zero if anything is wrong, and always removes
# the namespaces it made. Run as root; set LAB_SKIP_SETUP=1 to skip install/build.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
[ -n "${LAB_SKIP_SETUP:-}" ] || scripts/setup.sh

PY=/usr/bin/python3
BIN=$REPO/target/release
ID=fl$(( $$ % 100000 ))
R=$ID-r H1=$ID-h1 H2=$ID-h2
TMP=$(mktemp -d /tmp/fastpath-lab.XXXXXX)
SOCK=$TMP/ctl.sock
FP_PID=
fails=0

cleanup() {
    set +e
    if [ -n "$FP_PID" ] && kill -0 "$FP_PID" 2>/dev/null; then
        kill -TERM "$FP_PID"; sleep 1; kill -KILL "$FP_PID" 2>/dev/null
    fi
    for ns in "$R" "$H1" "$H2"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...: runs it, prints PASS/FAIL
    local what=$1; shift
    if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ctl() { "$BIN/fastpath-ctl" --socket "$SOCK" "$@"; }

step "network namespaces: $H1 -- [$R: fastpath] -- $H2"
for ns in "$R" "$H1" "$H2"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done
ip link add eth0 netns "$H1" address 02:00:00:00:01:02 type veth peer name p0 netns "$R" address 02:00:00:00:00:01
ip link add eth0 netns "$H2" address 02:00:00:00:02:02 type veth peer name p1 netns "$R" address 02:00:00:00:00:02
for pair in "$H1 eth0" "$H2 eth0" "$R p0" "$R p1"; do
    set -- $pair
    # No checksum or segmentation offload: af_packet must see complete, MTU-sized frames.
    in_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    in_ns "$1" ip link set "$2" up
done
in_ns "$H1" ip addr add 10.0.1.2/24 dev eth0
in_ns "$H1" ip route add default via 10.0.1.1
in_ns "$H2" ip addr add 10.0.2.2/24 dev eth0
in_ns "$H2" ip addr add 1.1.1.1/32 dev lo
in_ns "$H2" ip route add default via 10.0.2.1

step "starting fastpath with conf/lab.yaml (full table)"
in_ns "$R" "$BIN/fastpath" -l 0-1 --no-huge -m 1024 --no-pci --no-shconf --file-prefix "$ID" \
    --log-level='*:warning' -- --config conf/lab.yaml --ctl-socket "$SOCK" >"$TMP/fastpath.log" 2>&1 &
FP_PID=$!
for _ in $(seq 1 300); do
    ctl show port info all >/dev/null 2>&1 && break
    kill -0 "$FP_PID" 2>/dev/null || { cat "$TMP/fastpath.log"; echo "FAIL: fastpath exited at start"; exit 1; }
    sleep 0.1
done
sed -n '1,/^lcore/p' "$TMP/fastpath.log"

step "ping h1 -> fastpath (10.0.1.1) and h1 -> h2 (10.0.2.2) through it"
check "ping 10.0.1.1" in_ns "$H1" ping -c 3 -i 0.2 -W 2 10.0.1.1
check "ping 10.0.2.2" in_ns "$H1" ping -c 3 -i 0.2 -W 2 10.0.2.2

step "ping h1 -> 1.1.1.1, routed by the real table toward h2"
ctl route get 1.1.1.1
check "ping 1.1.1.1" in_ns "$H1" ping -c 3 -i 0.2 -W 2 1.1.1.1

step "TTL 1 probe: fastpath answers with ICMP time exceeded from 10.0.1.1"
out=$(in_ns "$H1" ping -c 1 -t 1 -W 2 10.0.2.2 || true)
echo "$out" | head -3
check "time exceeded from 10.0.1.1" grep -q "From 10.0.1.1 .*Time to live exceeded" <<<"$out"

step "TCP transfer h1 -> h2 (16 MiB), checked with sha256 on both ends"
in_ns "$H2" "$PY" - >"$TMP/recv.txt" <<'PYEOF' &
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.2.2", 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())
PYEOF
RECV_PID=$!
sleep 0.5
start=$(date +%s.%N)
in_ns "$H1" "$PY" - >"$TMP/send.txt" <<'PYEOF'
import hashlib, random, socket
data = random.Random(1).randbytes(16 << 20)
s = socket.create_connection(("10.0.2.2", 5001), timeout=30)
s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())
PYEOF
wait "$RECV_PID" || true
end=$(date +%s.%N)
echo "sent:     $(cat "$TMP/send.txt")"
echo "received: $(cat "$TMP/recv.txt")"
awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f MiB/s\n", 16 / (b - a) }'
check "transfer intact" test -s "$TMP/send.txt" -a "$(cat "$TMP/send.txt")" = "$(cat "$TMP/recv.txt")"

step "port and forwarding counters (fastpath-ctl)"
ctl show port stats all
ctl show fwd stats

step "quit: stop, final counters, mbuf check"
ctl quit || true
for _ in $(seq 1 100); do kill -0 "$FP_PID" 2>/dev/null || break; sleep 0.1; done
rc=0; wait "$FP_PID" || rc=$?
FP_PID=
tail -n 4 "$TMP/fastpath.log"
check "fastpath exited cleanly (status $rc)" test "$rc" -eq 0
check "no mbuf leaked" grep -q "mbufs in use after shutdown: 0 of" "$TMP/fastpath.log"

echo
if ((fails)); then echo "lab: $fails check(s) FAILED"; exit 1; fi
echo "lab: all checks passed"
