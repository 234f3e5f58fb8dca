#!/usr/bin/env bash
# Runs every test: Rust unit/property tests (no EAL), pcap end-to-end tests of the real
# binary on net_pcap vdevs (scapy builds inputs and checks outputs), the load-test kits of
# loadtest/ (TRex profiles, pktgen file, YAML), the netns lab, and Ctrl-C during the lab.
# Installs and builds what it needs first (scripts/setup.sh). Run as root.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

passed=0 failed=0
suite() { # suite NAME COMMAND...
    local name=$1; shift
    echo; echo "=== $name: $*"
    if "$@"; then passed=$((passed + 1)); echo "=== $name: ok"
    else failed=$((failed + 1)); echo "=== $name: FAILED"; fi
}

suite "rust tests" cargo test --workspace --release
suite "pcap tests" /usr/bin/python3 -m pytest tests/pcap -q
suite "policy routing vs Linux" /usr/bin/python3 -m pytest tests/rib -q
suite "control plane (socket, prompt, route load)" /usr/bin/python3 -m pytest tests/ctl -q
suite "operations (telemetry, metrics, latency, idle, capture)" /usr/bin/python3 -m pytest tests/ops -q
suite "load-test kits (TRex profiles, pktgen, YAML)" /usr/bin/python3 -m pytest tests/loadtest -q
suite "lab" env LAB_SKIP_SETUP=1 scripts/lab.sh
suite "lab tests (Ctrl-C during the lab, ICMP redirects, route/neighbour changes)" /usr/bin/python3 -m pytest tests/lab -q

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
