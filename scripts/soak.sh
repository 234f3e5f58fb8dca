#!/usr/bin/env bash
# The soak (issue 12 part 2): fastpath in the lab for a long run, default 30 minutes,
# with TCP (sha256-checked), UDP and ping traffic both ways while route churn (the whole
# table withdrawn and re-announced in batches), rule, nexthop, neighbour, MTU changes and
# random CLI input go through the control socket; then the checks: no crash and a clean
# exit on SIGINT, every transfer byte-exact, UDP loss, mbufs back to their idle count,
# VmRSS flat after the warm-up (the series is printed), counters that must be 0 at 0.
# See tests/soak/soak.py for what each part does and its options. Run as root.
#
#   scripts/soak.sh                 30 minutes
#   scripts/soak.sh --minutes 2     the short run of scripts/test.sh
#   scripts/soak.sh --help          every option (batch size, rates, margins)
#
#   SOAK_SKIP_SETUP=1   skip install/build (scripts/setup.sh)
#   FASTPATH_BIN_DIR    directory of fastpath and fastpath-ctl (default target/release)
# The namespaces (soakNNNN-*) and every process in them are removed at the end, also on
# failure, Ctrl-C or SIGTERM.
set -uo pipefail
cd "$(dirname "$0")/.."
case " $* " in *" --help "* | *" -h "*) exec /usr/bin/python3 tests/soak/soak.py --help ;; esac
[ -n "${SOAK_SKIP_SETUP:-}" ] || scripts/setup.sh || exit 1

export SOAK_ID=sk$(( $$ % 100000 ))
# The driver cleans up after itself; this is for when it cannot (killed).
cleanup() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk -v id="$SOAK_ID-" 'index($1, id) == 1 { print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rmdir "/var/run/dpdk/$SOAK_ID" 2>/dev/null
    return 0
}
trap cleanup EXIT
# A background job ignores SIGINT: the driver is told by SIGTERM either way.
trap 'kill -TERM "$drv" 2>/dev/null; wait "$drv"; exit 130' INT
trap 'kill -TERM "$drv" 2>/dev/null; wait "$drv"; exit 143' TERM
/usr/bin/python3 tests/soak/soak.py "$@" &
drv=$!
wait "$drv"
