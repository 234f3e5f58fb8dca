#!/bin/bash
# The container's entrypoint: runs fastpath on a mounted YAML, with the EAL options from the
# environment and the control socket where `docker exec CONTAINER fastpath-ctl` finds it.
# fastpath replaces this script (exec), so `docker stop` sends its SIGTERM to fastpath,
# which stops cleanly (final counters, mbuf check, "Bye.").
#
#   FASTPATH_CONFIG        the YAML (default /etc/fastpath/fastpath.yaml)
#   FASTPATH_EAL           EAL options, split on blanks, no quoting, no globbing
#                          (default "-l 0-1 --no-huge -m 1024 --no-pci --no-shconf")
#   FASTPATH_CTL_SOCKET    the control socket (default /run/fastpath/fastpath.sock; the
#                          image links /run/fastpath.sock, fastpath-ctl's default, to it)
#   FASTPATH_WAIT_IFACES   interfaces (blank- or comma-separated) to wait for before starting:
#                          each must exist and be up. For af_packet ports on links that are
#                          moved into the container after it started (docker/lab.sh).
#   FASTPATH_WAIT_TIMEOUT  seconds to wait for them (default 60), then exit 1
#
# Arguments: none runs fastpath as above; arguments starting with '-' are added after
# fastpath's own (e.g. --rxq 2, -i with docker run -it); anything else is run instead
# (docker run IMAGE fastpath --check /etc/fastpath/fastpath.yaml, or bash).
set -euf -o pipefail

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

CONFIG=${FASTPATH_CONFIG:-/etc/fastpath/fastpath.yaml}
SOCK=${FASTPATH_CTL_SOCKET:-/run/fastpath/fastpath.sock}
EAL=${FASTPATH_EAL:--l 0-1 --no-huge -m 1024 --no-pci --no-shconf}
WAIT=${FASTPATH_WAIT_IFACES:-}
TIMEOUT=${FASTPATH_WAIT_TIMEOUT:-60}

[ -r "$CONFIG" ] || { echo "entrypoint: no configuration at $CONFIG (mount one: -v FILE:$CONFIG:ro)" >&2; exit 2; }
mkdir -p "$(dirname "$SOCK")"

if [ -n "$WAIT" ]; then
    # As PID 1 without a handler, this script would ignore docker stop's SIGTERM.
    trap 'echo "entrypoint: stopped while waiting for interfaces"; exit 143' TERM INT
    ifaces=${WAIT//,/ }
    echo "entrypoint: waiting up to ${TIMEOUT}s for interfaces up: $ifaces"
    deadline=$((SECONDS + TIMEOUT))
    for i in $ifaces; do
        until [ -r "/sys/class/net/$i/flags" ] && (( $(<"/sys/class/net/$i/flags") & 1 )); do
            if ((SECONDS >= deadline)); then
                echo "entrypoint: interface $i is not there or not up after ${TIMEOUT}s" >&2
                ip -br link 2>/dev/null >&2 || true
                exit 1
            fi
            sleep 0.1
        done
    done
    trap - TERM INT
fi

# shellcheck disable=SC2086 # EAL options are split on blanks (globbing is off: set -f)
set -- /usr/local/bin/fastpath $EAL -- --config "$CONFIG" --ctl-socket "$SOCK" "$@"
echo "entrypoint: exec $*"
exec "$@"
