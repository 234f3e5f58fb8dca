#!/usr/bin/env bash
# Runs every test: Rust unit/property tests (no EAL), a short run of every fuzz target
# (scripts/fuzz.sh, libFuzzer on stable), pcap end-to-end tests of the real
# binary on net_pcap vdevs (scapy builds inputs and checks outputs), the control plane,
# operations (telemetry, metrics, capture), the load-test kits of loadtest/ (TRex profiles,
# pktgen file, YAML), the netns lab, Ctrl-C during the lab, a short soak (scripts/soak.sh), then the container lab
# (docker/lab.sh: the image built and run between two namespaces) when a Docker engine
# answers or can be started (docker/engine.sh); without one it says "container lab:
# SKIPPED (reason)" and does not fail.
# Installs and builds what it needs first (scripts/setup.sh). Run as root.
#
#   FASTPATH_CONTAINER_LAB=0   skip the container lab
#   FASTPATH_FUZZ_SECONDS=N    seconds per fuzz target (default 10; 7 targets)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

passed=0 failed=0 skipped=0
suite() { # suite NAME COMMAND...: status 77 from COMMAND means skipped
    local name=$1 start=$SECONDS rc=0; shift
    echo; echo "=== $name: $*"
    "$@" || rc=$?
    case $rc in
        0) passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - start)) s)" ;;
        77) skipped=$((skipped + 1)); echo "=== $name: skipped" ;;
        *) failed=$((failed + 1)); echo "=== $name: FAILED ($((SECONDS - start)) s)" ;;
    esac
}

# The container lab, when a Docker engine answers or docker/engine.sh can start one (which it
# stops again afterwards). The image build is cached by the engine between runs.
container_lab() {
    local out had_engine=
    if [ "${FASTPATH_CONTAINER_LAB:-1}" = 0 ]; then
        echo "container lab: SKIPPED (FASTPATH_CONTAINER_LAB=0)"; return 77
    fi
    docker info >/dev/null 2>&1 && had_engine=1
    if ! out=$(docker/engine.sh 2>&1); then
        echo "$out"
        local why
        why=$(grep -m1 '^engine: cannot' <<<"$out" | sed 's/^engine: //')
        echo "container lab: SKIPPED (${why:-no Docker engine})"
        return 77
    fi
    echo "$out"
    local rc=0
    docker/lab.sh || rc=$?
    [ -n "$had_engine" ] || docker/engine.sh --stop
    return "$rc"
}

# Formatting and lints, where the toolchain has rustfmt and clippy (setup.sh adds them).
lint() {
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        echo "lint: SKIPPED (the Rust toolchain has no rustfmt or clippy)"
        return 77
    fi
    cargo fmt --all --check && cargo clippy --release --workspace --all-targets --quiet -- -D warnings
}

suite "lint (cargo fmt --check, cargo clippy -D warnings)" lint
suite "rust tests" cargo test --workspace --release
suite "fuzz (libFuzzer build, each target ${FASTPATH_FUZZ_SECONDS:-10} s)" scripts/fuzz.sh "${FASTPATH_FUZZ_SECONDS:-10}"
suite "pcap tests" /usr/bin/python3 -m pytest tests/pcap -q
suite "policy routing vs Linux" /usr/bin/python3 -m pytest tests/rib -q
suite "control plane (socket, prompt, route load)" /usr/bin/python3 -m pytest tests/ctl -q
suite "bad input (config keys, every command, socket garbage, start-up errors)" /usr/bin/python3 -m pytest tests/badinput -q
suite "AddressSanitizer (C shim, heap) on tests/pcap: forward, malformed, options, fragments, ICMP errors, start-up" scripts/asan.sh -k "test_forward or test_malformed or test_options or test_fragment or test_icmp_errors or test_startup_errors"
suite "operations (telemetry, metrics, latency, idle, capture)" /usr/bin/python3 -m pytest tests/ops -q
suite "load-test kits (TRex profiles, pktgen, YAML)" /usr/bin/python3 -m pytest tests/loadtest -q
suite "lab" env LAB_SKIP_SETUP=1 scripts/lab.sh
suite "lab tests (Ctrl-C during the lab, ICMP redirects, route/neighbour changes)" /usr/bin/python3 -m pytest tests/lab -q
suite "soak, short (2 min of traffic both ways under route/rule/nexthop/neighbour/MTU churn and random CLI input)" env SOAK_SKIP_SETUP=1 scripts/soak.sh --minutes 2
suite "container lab (image build, fastpath in a container between two namespaces)" container_lab

echo
echo "suites: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
