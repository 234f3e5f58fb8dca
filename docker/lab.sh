#!/usr/bin/env bash
# The lab of scripts/lab.sh with fastpath in a container: two Linux hosts in network
# namespaces, h1 and h2, and between them the fastpath image (docker/Dockerfile) started with
# `--network none` and a few capabilities. The two veth links are made with their fastpath
# ends in the container's network namespace, where fastpath runs net_af_packet ports on them
# with conf/lab.yaml (the full RouteViews table, mounted from ../shared/data). Then: pings
# through it, a TCP transfer checked by sha256 on both ends, the counters through
# `docker exec ... fastpath-ctl`, and `docker stop` (SIGTERM) for a clean shutdown with every
# mbuf back in its pool ("Bye."). Exits non-zero if anything is wrong; always removes the
# container and the namespaces, also on Ctrl-C or SIGTERM (status 130 or 143).
# Builds the image first (docker/build.sh, cached when nothing changed). Run as root.
#
#   LAB_SKIP_BUILD=1   use the image as it is (FASTPATH_IMAGE, default fastpath)
#   LAB_CAPS="..."     the capabilities the container gets (all others are dropped)
#   LAB_MIB=N          size of the TCP transfer (default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
IMAGE=${FASTPATH_IMAGE:-fastpath}
CONFIG=$REPO/conf/lab.yaml
# conf/lab.yaml names its table ../../shared/data/...: relative to /etc/fastpath, /shared/data.
DATA=$(cd "$REPO/.." && pwd)/shared/data
TABLE=rv2-20240406.ipv4.pfx-origin.txt.xz
# NET_RAW for af_packet sockets, NET_ADMIN for the ports' MTU and promiscuous mode,
# nothing else without hugepages (IPC_LOCK, SYS_ADMIN are not needed): the smallest set.
CAPS=${LAB_CAPS:-NET_ADMIN NET_RAW}
EAL="-l 0-1 --no-huge -m 1024 --no-pci --no-shconf --log-level=*:warning"
SOCK=/run/fastpath/fastpath.sock
MIB=${LAB_MIB:-8}
PY=/usr/bin/python3

ID=fc$(( $$ % 100000 ))
H1=$ID-h1 H2=$ID-h2 R=$ID-r   # R: the container's network namespace, attached by name
CTR=fastpath-lab-$ID
TMP=$(mktemp -d /tmp/fastpath-clab.XXXXXX)
fails=0

# Whether process $1 is running (a zombie has finished).
alive() { local st; st=$(sed 's/^.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }

# Removes the container (its log first if something failed), stops what runs in the hosts'
# namespaces, removes them and the name of the container's, and the temp dir.
cleanup() {
    local rc=$?
    set +e
    if docker container inspect "$CTR" >/dev/null 2>&1; then
        if [ "$rc" -ne 0 ]; then
            echo "--- the container's log (tail) ---"
            docker logs --tail 25 "$CTR" 2>&1
        fi
        docker rm -f "$CTR" >/dev/null 2>&1
    fi
    local sig p pids still
    for sig in TERM KILL; do
        still=
        pids=$(for ns in "$H1" "$H2"; do ip netns pids "$ns" 2>/dev/null; done)
        for p in $pids; do alive "$p" && still="$still $p"; done
        [ -n "$still" ] || break
        kill -"$sig" $still 2>/dev/null
        for _ in $(seq 1 30); do
            pids=$still still=
            for p in $pids; do alive "$p" && still="$still $p"; done
            [ -n "$still" ] || break
            sleep 0.1
        done
    done
    for ns in "$R" "$H1" "$H2"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$TMP"
}
interrupted() {
    trap '' INT TERM
    echo
    echo "lab: interrupted by SIG$1, removing the container and the namespaces"
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
# In the background and waited for, so that a signal is handled at once.
bg() { "$@" <&0 & wait $!; }
in_ns() { local ns=$1; shift; bg ip netns exec "$ns" "$@"; }
ctl() { bg docker exec "$CTR" fastpath-ctl --socket "$SOCK" "$@"; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$CTR" 2>/dev/null)" = true ]; }

[ -r "$DATA/$TABLE" ] || { echo "lab: the routing table $DATA/$TABLE is missing"; exit 1; }
if [ -z "${LAB_SKIP_BUILD:-}" ]; then
    step "the image: docker/build.sh"
    bg docker/build.sh
else
    bg docker/engine.sh
fi
docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "lab: no image $IMAGE"; exit 1; }

step "the container $CTR: --network none, capabilities ${CAPS// /,}, conf/lab.yaml"
caps=(--cap-drop ALL)
for c in $CAPS; do caps+=(--cap-add "$c"); done
start=$(date +%s.%N)
docker run -d --name "$CTR" --network none "${caps[@]}" \
    -v "$CONFIG:/etc/fastpath/fastpath.yaml:ro" -v "$DATA:/shared/data:ro" \
    -e FASTPATH_WAIT_IFACES="p0 p1" -e FASTPATH_EAL="$EAL" \
    "$IMAGE" >/dev/null
PID=$(docker inspect -f '{{.State.Pid}}' "$CTR")
[ "$PID" -gt 0 ] || { echo "FAIL: the container did not start"; exit 1; }
# Its network namespace gets a name, as the others, for ip netns exec and ip link ... netns.
ip netns attach "$R" "$PID"

step "network namespaces: $H1 -- [$CTR: fastpath] -- $H2"
for ns in "$H1" "$H2"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$ns" ip link set lo up
done
ip link add eth0 netns "$H1" address 02:00:00:00:01:02 type veth peer name p0 netns "$R" address 02:00:00:00:00:01
ip link add eth0 netns "$H2" address 02:00:00:00:02:02 type veth peer name p1 netns "$R" address 02:00:00:00:00:02
# The fastpath ends come up last: the entrypoint starts fastpath once p0 and p1 are up.
for pair in "$H1 eth0" "$H2 eth0" "$R p0" "$R p1"; do
    set -- $pair
    # No checksum or segmentation offload: af_packet must see complete, MTU-sized frames.
    in_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    if [ "$1" = "$R" ]; then continue; fi
    in_ns "$1" ip link set "$2" up
done
in_ns "$H1" ip addr add 10.0.1.2/24 dev eth0
in_ns "$H1" ip route add default via 10.0.1.1
in_ns "$H2" ip link set eth0 mtu 1400
in_ns "$H2" ip addr add 10.0.2.2/24 dev eth0
in_ns "$H2" ip addr add 1.1.1.1/32 dev lo
in_ns "$H2" ip route add default via 10.0.2.1
in_ns "$R" ip link set p0 up
in_ns "$R" ip link set p1 up

step "fastpath starts in the container (full table)"
up=
for _ in $(seq 1 600); do
    if docker exec "$CTR" fastpath-ctl --socket "$SOCK" show port info all >/dev/null 2>&1; then up=1; break; fi
    running || break
    sleep 0.1
done
docker logs "$CTR" 2>&1 | sed -n '1,/^lcore/p'
[ -n "$up" ] || { echo "FAIL: fastpath did not come up in the container"; exit 1; }
awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "up %.1f s after docker run\n", b - a }'

step "ping h1 -> fastpath (10.0.1.1), h1 -> h2 (10.0.2.2) and h1 -> 1.1.1.1 (the real table) through it"
check "ping 10.0.1.1" in_ns "$H1" ping -c 3 -i 0.2 -W 2 10.0.1.1
check "ping 10.0.2.2" in_ns "$H1" ping -c 3 -i 0.2 -W 2 10.0.2.2
check "ping 1.1.1.1" in_ns "$H1" ping -c 3 -i 0.2 -W 2 1.1.1.1

step "neighbours, resolved by ARP (docker exec $CTR fastpath-ctl show neigh)"
out=$(ctl show neigh)
echo "$out"
check "h1 resolved" grep -q "^10.0.1.2 dev p0 lladdr 02:00:00:00:01:02 " <<<"$out"
check "h2 resolved" grep -q "^10.0.2.2 dev p1 lladdr 02:00:00:00:02:02 " <<<"$out"

step "TCP transfer h1 -> h2 ($MIB MiB), checked with sha256 on both ends"
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
for _ in $(seq 1 50); do in_ns "$H2" ss -Hltn 'sport = :5001' | grep -q . && break; sleep 0.1; done
t0=$(date +%s.%N)
in_ns "$H1" "$PY" - "$MIB" >"$TMP/send.txt" <<'PYEOF' || true
import hashlib, random, socket, sys
data = random.Random(1).randbytes(int(sys.argv[1]) << 20)
s = socket.create_connection(("10.0.2.2", 5001), timeout=30)
s.sendall(data); s.close()
print(len(data), hashlib.sha256(data).hexdigest())
PYEOF
wait "$RECV_PID" || true
t1=$(date +%s.%N)
echo "sent:     $(cat "$TMP/send.txt")"
echo "received: $(cat "$TMP/recv.txt")"
awk -v a="$t0" -v b="$t1" -v m="$MIB" 'BEGIN { printf "%.1f MiB/s\n", m / (b - a) }'
check "transfer intact" test -s "$TMP/send.txt" -a "$(cat "$TMP/send.txt")" = "$(cat "$TMP/recv.txt")"

step "counters: docker exec $CTR fastpath-ctl --socket $SOCK show port stats all / show fwd stats"
ctl show port stats all
out=$(ctl show fwd stats)
echo "$out"
check "packets forwarded" grep -Eq "^ +forwarded: [1-9]" <<<"$out"
# The image links /run/fastpath.sock, fastpath-ctl's default, to the entrypoint's socket.
check "fastpath-ctl without --socket reaches it too" grep -q . <<<"$(bg docker exec "$CTR" fastpath-ctl show memory)"

step "docker stop: SIGTERM, final counters, mbuf check"
t0=$(date +%s.%N)
bg docker stop -t 30 "$CTR" >/dev/null
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "stopped in %.1f s\n", b - a }'
docker logs "$CTR" >"$TMP/fastpath.log" 2>&1
tail -n 4 "$TMP/fastpath.log"
rc=$(docker inspect -f '{{.State.ExitCode}}' "$CTR")
check "fastpath exited cleanly (status $rc)" test "$rc" -eq 0
check "no mbuf leaked" grep -q "mbufs in use after shutdown: 0 of" "$TMP/fastpath.log"
check "Bye." grep -qx "Bye." "$TMP/fastpath.log"

echo
if ((fails)); then echo "container lab: $fails check(s) FAILED"; exit 1; fi
echo "container lab: all checks passed"
