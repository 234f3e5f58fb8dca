#!/usr/bin/env bash
# The lab: fastpath between two Linux hosts in network namespaces, with the full RouteViews
# table loaded (conf/lab.yaml). Pings through it, a traceroute-style TTL probe, a TCP
# transfer checked end to end, then the port and forwarding counters and a clean shutdown
# with every mbuf back in its pool. Exits non-zero if anything is wrong, and always removes
# the namespaces it made, also on Ctrl-C or SIGTERM (it stops at once, status 130 or 143).
# Run as root.
#
#   LAB_SKIP_SETUP=1   skip install/build (scripts/setup.sh)
#   LAB_KEEP=1         after the checks, leave the namespaces and fastpath running to explore;
#                      it prints how to reach them and how to tear them down:
#   scripts/lab.sh --down [ID]   tear down a kept lab (every kept lab without ID)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/target/release
KEPT=/run/fastpath-lab   # one file per kept lab: its namespaces, fastpath's pid, its temp dir

# Whether process $1 is running (a zombie has finished).
alive() { local st; st=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }

# Stops every process in our namespaces (fastpath, the hosts' pingers and listeners) and
# waits until they have ended, then removes the namespaces and the temp dir. Uses R H1 H2
# TMP FP_PID.
cleanup() {
    local rc=$?
    set +e
    local ns pids p sig still=
    if [ "$rc" -ne 0 ] && [ -s "$TMP/fastpath.log" ]; then
        echo "--- fastpath's output (tail) ---"
        tail -n 25 "$TMP/fastpath.log"
    fi
    for sig in TERM KILL; do
        pids=$(for ns in "$R" "$H1" "$H2"; do ip netns pids "$ns" 2>/dev/null; done)
        # An exiting fastpath has left its namespace already but may still be running.
        if [ -n "${FP_PID:-}" ] && [ "$(cat "/proc/$FP_PID/comm" 2>/dev/null)" = fastpath ]; then
            pids="$pids $FP_PID"
        fi
        still=
        for p in $pids; do alive "$p" && still="$still $p"; done
        [ -n "$still" ] || break
        kill -"$sig" $still 2>/dev/null
        # fastpath drains, prints its counters and closes its ports within a second or two.
        for _ in $(seq 1 50); do
            pids=$still still=
            for p in $pids; do alive "$p" && still="$still $p"; done
            [ -n "$still" ] || break
            sleep 0.1
        done
        [ -n "$still" ] || break
    done
    for ns in "$R" "$H1" "$H2"; do ip netns del "$ns" 2>/dev/null; done
    # EAL's runtime dir for fastpath's --file-prefix (it stays behind, empty).
    rmdir "/var/run/dpdk/${R%-r}" 2>/dev/null
    rm -rf "$TMP"
}

if [ "${1:-}" = "--down" ]; then
    shopt -s nullglob
    files=("$KEPT"/${2:-*})
    [ ${#files[@]} -gt 0 ] || { echo "lab: no kept lab${2:+ named $2} in $KEPT"; exit 1; }
    for f in "${files[@]}"; do
        FP_PID=
        # shellcheck disable=SC1090
        . "$f"
        echo "lab: tearing down ${f##*/} ($R $H1 $H2)"
        cleanup
        rm -f "$f"
    done
    exit 0
fi
[ $# -eq 0 ] || { echo "usage: scripts/lab.sh [--down [ID]]" >&2; exit 2; }

[ -n "${LAB_SKIP_SETUP:-}" ] || scripts/setup.sh

PY=/usr/bin/python3
ID=fl$(( $$ % 100000 ))
R=$ID-r H1=$ID-h1 H2=$ID-h2
TMP=$(mktemp -d /tmp/fastpath-lab.XXXXXX)
SOCK=$TMP/ctl.sock
FP_PID=
fails=0

# On a signal: no more steps, clean up now. (Without the exit, bash would run cleanup and
# then go on with the next step against a lab that is gone.)
interrupted() {
    trap '' INT TERM
    echo
    echo "lab: interrupted by SIG$1, stopping fastpath and removing the namespaces"
    cleanup
    trap - EXIT
    exit "$2"
}
trap cleanup EXIT
trap 'interrupted INT 130' INT
trap 'interrupted TERM 143' TERM

step() { printf '\n== %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...: runs it, prints PASS/FAIL
    local what=$1; shift
    if "$@"; then echo "PASS: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
# In the background and waited for, so that a signal is handled at once (bash runs a trap
# only after a foreground command ends); stdin is passed on explicitly.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@" <&0 & wait $!; }
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
# The h2 link has an MTU of 1400 (fastpath sets p1's from conf/lab.yaml).
in_ns "$H2" ip link set eth0 mtu 1400
in_ns "$H2" ip addr add 10.0.2.2/24 dev eth0
in_ns "$H2" ip addr add 1.1.1.1/32 dev lo
in_ns "$H2" ip route add default via 10.0.2.1

step "starting fastpath with conf/lab.yaml (full table)"
ip netns exec "$R" "$BIN/fastpath" -l 0-1 --no-huge -m 1024 --no-pci --no-shconf --file-prefix "$ID" \
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

step "neighbours: no static entries, both hosts resolved by ARP (ip neigh's layout)"
out=$(ctl show neigh)
echo "$out"
check "h1 resolved" grep -q "^10.0.1.2 dev p0 lladdr 02:00:00:00:01:02 " <<<"$out"
check "h2 resolved" grep -q "^10.0.2.2 dev p1 lladdr 02:00:00:00:02:02 " <<<"$out"
check "fastpath in h1's ARP table" grep -q "10.0.1.1 .*02:00:00:00:00:01" <<<"$(in_ns "$H1" ip neigh show)"

step "a host nobody answers for: FAILED after 3 requests, h1 gets host unreachable"
out=$(in_ns "$H1" ping -c 1 -W 6 10.0.2.99 || true)
echo "$out" | head -3
check "host unreachable from 10.0.1.1" grep -q "From 10.0.1.1 .*Destination Host Unreachable" <<<"$out"
check "10.0.2.99 FAILED" grep -q "^10.0.2.99 dev p1 FAILED" <<<"$(ctl show neigh)"

step "STALE still forwards, then DELAY and a unicast probe make it REACHABLE (Linux's NUD)"
ctl neigh replace 10.0.2.2 lladdr 02:00:00:00:02:02 dev p1 nud stale
check "ping through a STALE entry" in_ns "$H1" ping -c 1 -W 2 10.0.2.2
sleep 0.1 # the use is seen on the next neighbour tick (10 ms)
check "used STALE -> DELAY" grep -q "^10.0.2.2 dev p1 .* DELAY" <<<"$(ctl neigh show dev p1)"
sleep 5.5
out=$(ctl neigh show dev p1)
echo "$out"
check "h2 answered the probe: REACHABLE" grep -q "^10.0.2.2 dev p1 lladdr 02:00:00:00:02:02 REACHABLE" <<<"$out"

step "h2 stops answering ARP: its entry goes PROBE, then FAILED; h1 gets host unreachable"
in_ns "$H2" sysctl -qw net.ipv4.conf.eth0.arp_ignore=8
ctl neigh replace 10.0.2.2 lladdr 02:00:00:00:02:02 dev p1 nud stale
check "still forwarded while STALE" in_ns "$H1" ping -c 1 -W 2 10.0.2.2
sleep 8.5
check "10.0.2.2 FAILED after 3 unicast probes" grep -q "^10.0.2.2 dev p1 FAILED" <<<"$(ctl neigh show dev p1)"
out=$(in_ns "$H1" ping -c 1 -W 6 10.0.2.2 || true)
echo "$out" | head -3
check "host unreachable for 10.0.2.2" grep -q "From 10.0.1.1 .*Destination Host Unreachable" <<<"$out"
in_ns "$H2" sysctl -qw net.ipv4.conf.eth0.arp_ignore=0
check "h2 back: resolved again" in_ns "$H1" ping -c 1 -W 3 10.0.2.2

step "the 1400-byte hop to h2: fragments without DF, frag-needed with DF (judged by h1's kernel)"
# 1500-byte requests without DF leave fastpath in two fragments that h2 reassembles. (Not
# larger: the af_packet PMD of DPDK 22.11 joins its sockets to a PACKET_FANOUT group with
# PACKET_FANOUT_FLAG_DEFRAG, so the kernel reassembles fragments before fastpath sees them
# and cuts what exceeds the ring's frame; h2's fragmented replies arrive whole that way.)
check "ping -M dont -s 1472 through it (fragmented by fastpath)" in_ns "$H1" ping -c 2 -i 0.2 -W 2 -M dont -s 1472 10.0.2.2
out=$(in_ns "$H1" ping -c 1 -W 2 -M do -s 1450 10.0.2.2 || true)
echo "$out" | head -3
check "frag needed from 10.0.1.1, mtu 1400" grep -Eq "mtu ?= ?1400" <<<"$out"
out=$(in_ns "$H1" ip route get 10.0.2.2)
echo "$out"
check "h1's route cache: mtu 1400" grep -q "mtu 1400" <<<"$out"
in_ns "$H1" ip route flush cache
out=$(in_ns "$H1" tracepath -n -m 4 10.0.2.2 || true)
echo "$out"
check "tracepath: pmtu 1400 learned from fastpath" grep -q "pmtu 1400" <<<"$out"

step "ping h1 -> 1.1.1.1, routed by the real table toward h2"
ctl route get 1.1.1.1
check "ping 1.1.1.1" in_ns "$H1" ping -c 3 -i 0.2 -W 2 1.1.1.1

step "TTL 1 probe: fastpath answers with ICMP time exceeded from 10.0.1.1"
out=$(in_ns "$H1" ping -c 1 -t 1 -W 2 10.0.2.2 || true)
echo "$out" | head -3
check "time exceeded from 10.0.1.1" grep -q "From 10.0.1.1 .*Time to live exceeded" <<<"$out"

step "UDP and TCP to the appliance: refused as Linux refuses them (port unreachable, reset)"
refused() { # refused udp|tcp: what h1's kernel says when it talks to 10.0.1.1 port 7
    in_ns "$H1" "$PY" - "$1" <<'PYEOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.settimeout(3)
try:
    s.connect(("10.0.1.1", 7))
    s.send(b"hello")
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print(f"error: {e}")
PYEOF
}
check "UDP to 10.0.1.1: h1 gets port unreachable (ECONNREFUSED)" test "$(refused udp)" = refused
check "TCP to 10.0.1.1: h1 gets a reset (ECONNREFUSED)" test "$(refused tcp)" = refused

step "TCP transfer h1 -> h2 (16 MiB), checked with sha256 on both ends"
ip netns exec "$H2" "$PY" - >"$TMP/recv.txt" <<'PYEOF' &
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

if [ -n "${LAB_KEEP:-}" ]; then
    mkdir -p "$KEPT"
    printf 'R=%q H1=%q H2=%q TMP=%q FP_PID=%q\n' "$R" "$H1" "$H2" "$TMP" "$FP_PID" >"$KEPT/$ID"
    trap - EXIT INT TERM
    step "the lab stays up (LAB_KEEP=1): $ID"
    cat <<EOF
fastpath (pid $FP_PID) runs in namespace $R, its output in $TMP/fastpath.log
  h1 $H1: 10.0.1.2 on eth0, default via fastpath's p0 10.0.1.1
  h2 $H2: 10.0.2.2 on eth0 and 1.1.1.1, default via fastpath's p1 10.0.2.1
Talk to fastpath (the commands of its prompt, see README):
  $BIN/fastpath-ctl --socket $SOCK show fwd stats
  $BIN/fastpath-ctl --socket $SOCK route get 8.8.8.8
Send traffic through it:
  ip netns exec $H1 ping 1.1.1.1
  ip netns exec $H1 ping -t 1 10.0.2.2
Tear it down when done:
  $REPO/scripts/lab.sh --down $ID
  (by hand: kill $FP_PID; ip netns del $R; ip netns del $H1; ip netns del $H2; rm -rf $TMP $KEPT/$ID)
EOF
    echo
    if ((fails)); then echo "lab: $fails check(s) FAILED; the lab is left up to look at"; exit 1; fi
    echo "lab: all checks passed; next: ip netns exec $H1 ping 1.1.1.1, then scripts/lab.sh --down $ID"
    exit 0
fi

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
echo "lab: all checks passed; next: LAB_KEEP=1 scripts/lab.sh leaves the lab up to explore (fastpath-ctl, ping from h1)"
