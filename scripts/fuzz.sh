#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (stable Rust: sanitizer-coverage flags, no
# nightly, no cargo-fuzz needed) and runs each one for SECONDS (default 10), seeded with
# the committed corpus fuzz/corpus/<target>/. New inputs go to a work corpus
# ($FUZZ_OUT/corpus/<target>, kept between runs), crashes to $FUZZ_OUT/artifacts/<target>/.
# Prints one line per target: executions, seconds, coverage (cov: edges, ft: features),
# corpus size; fails if any target found something.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 600 pipeline arp
#   scripts/fuzz.sh --build                    build only
#   FUZZ_OUT=DIR (default $CARGO_TARGET_DIR/fuzz-out or target/fuzz-out)
#   FUZZ_ARGS="-runs=..."   extra libFuzzer options
#   FUZZ_CHUNK=S            run each target in chunks of at most S seconds (the work corpus
#                           carries over), and between chunks wait while FUZZ_LOCK exists
#   FUZZ_LOCK=FILE          (e.g. a benchmark lock: long campaigns yield to benchmarks)
#   FUZZ_RUNS=N             stop a target after N executions (or SECONDS, what comes first)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
build_only=
if [ "${1:-}" = --build ]; then build_only=1; shift; fi
secs=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pipeline ipv4_options icmp_in arp config route_file cli)

base=${CARGO_TARGET_DIR:-$PWD/target}
triple=$(rustc -vV | sed -n 's/^host: //p')
# The target triple keeps RUSTFLAGS off build scripts and proc macros (as cargo-fuzz does).
export CARGO_TARGET_DIR=$base/fuzz-build
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
echo "fuzz: building ${targets[*]} (libFuzzer, sanitizer coverage, debug assertions)"
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
cargo build --release --quiet --target "$triple" -p fastpath-fuzz --features libfuzzer "${bins[@]}"
[ -z "$build_only" ] || exit 0

out=${FUZZ_OUT:-$base/fuzz-out}
rc=0
printf '%-14s %12s %8s %8s %8s %8s  %s\n' target execs seconds cov ft corpus result
for t in "${targets[@]}"; do
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    log=$out/$t.log
    r=ok execs=0 took=0
    : >"$log.all"
    while [ "$took" -lt "$secs" ] && [ "$execs" -lt "${FUZZ_RUNS:-1000000000000}" ]; do
        if [ -n "${FUZZ_LOCK:-}" ]; then
            while [ -e "$FUZZ_LOCK" ]; do sleep 20; done
        fi
        chunk=$((secs - took))
        [ -z "${FUZZ_CHUNK:-}" ] || [ "$chunk" -le "$FUZZ_CHUNK" ] || chunk=$FUZZ_CHUNK
        start=$SECONDS
        # shellcheck disable=SC2086
        if ! "$CARGO_TARGET_DIR/$triple/release/$t" "$out/corpus/$t" "fuzz/corpus/$t" \
            -max_total_time="$chunk" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" ${FUZZ_ARGS:-} \
            ${FUZZ_RUNS:+-runs=$((FUZZ_RUNS - execs))} \
            >"$log" 2>&1; then
            r="FOUND: $(ls -t "$out/artifacts/$t" | head -1) (log $log)"
            rc=1
        fi
        cat "$log" >>"$log.all"
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        execs=$((execs + ${n:-0}))
        took=$((took + SECONDS - start))
        [ "$r" = ok ] || break
    done
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-14s %12s %8s %8s %8s %8s  %s\n' "$t" "$execs" "$took" "${cov:-?}" \
        "${ft:-?}" "$(ls "$out/corpus/$t" | wc -l)" "$r"
done
exit $rc
