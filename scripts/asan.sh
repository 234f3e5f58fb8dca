#!/usr/bin/env bash
# The pcap test suite (tests/pcap) against a fastpath built with AddressSanitizer.
#
#   scripts/asan.sh                 build (profile asan) and run all of tests/pcap
#   scripts/asan.sh -k forward      pytest arguments are passed on (a subset)
#   ASAN_SKIP_BUILD=1 scripts/asan.sh   use the binary already built
#
# How (stable Rust has no -Zsanitizer): the C shim of dpdk-sys (and any other C the
# build compiles) is compiled with `-fsanitize=address` through CFLAGS, and the binary
# is linked by scripts/asan-cc, which puts libasan first among its libraries as `gcc
# -fsanitize=address` would (`-C link-arg=-fsanitize=address` does not work: rustc
# links with -nodefaultlibs, which drops it, and a plain -lasan comes after libc).
# libasan then intercepts malloc/free, memcpy, memset, strlen, ... process-wide.
#
# What that covers:
#   - every load and store of the shim (shim.c: the rx/tx burst wrappers, the log
#     capture, devargs, the mbuf accessors), out of bounds and use after free;
#   - the heap of everything that goes through malloc: Rust's (the global allocator is
#     malloc), DPDK's own malloc calls, libpcap's: double frees, frees of pointers
#     malloc did not give, heap overflows that pass through an intercepted libc call
#     (memcpy/memmove/memset/str* of a wrong length), and leaks (LeakSanitizer, at exit);
#   - what DPDK's libraries do through libc's intercepted calls.
# What it cannot see:
#   - loads and stores in Rust code (not instrumented: that needs -Zsanitizer, nightly
#     only) and in DPDK's libraries (Debian builds them without ASan): an overflow of a
#     Rust slice by raw pointer, or one inside rte_pktmbuf_*, is not caught unless it
#     goes through an intercepted libc call;
#   - DPDK's own allocators: mbufs, mempools, rings and rte_malloc memory live in
#     memory DPDK maps itself (with --no-huge, anonymous mmap of -m MB) and carves up
#     without telling ASan, so an overflow from one mbuf into the next, or a use of an
#     mbuf after rte_pktmbuf_free, is invisible. DPDK has ASan annotations for its heap
#     only when it is itself built with -Db_sanitize=address (not Debian's packages).
#     The mbuf pool's own check (every mbuf back at exit: "mbufs in use after shutdown:
#     0") covers leaks there instead.
#
# Leaks: LeakSanitizer runs at exit. Leaks inside DPDK's libraries (EAL's bookkeeping
# at rte_eal_cleanup) are suppressed in scripts/asan.supp, by library; a leak whose
# allocation stack has fastpath's frames on top is reported.
#
# Every report goes to a file under the run's log directory (ASAN_OPTIONS log_path), so
# a report from a run whose exit status a test tolerates is still found: the script
# fails if there is any, and prints them.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/asan/fastpath
LIBASAN=$(gcc -print-file-name=libasan.so)

if [ "${ASAN_SKIP_BUILD:-0}" != 1 ]; then
    scripts/setup.sh libasan8 >/dev/null || exit 1
    echo "asan: building fastpath with -fsanitize=address (profile asan, $TARGET/asan)"
    # The shim (and any C the build compiles) instrumented; linked by scripts/asan-cc.
    export CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=$ROOT/scripts/asan-cc
        cargo build --profile asan -p control --bins --quiet || exit 1
fi
if ! ldd "$BIN" | grep -q libasan; then
    echo "asan: $BIN is not linked with libasan" >&2
    exit 1
fi

LOGS=$(mktemp -d /tmp/fastpath-asan.XXXXXX)
# detect_stack_use_after_return is off: DPDK's lcore threads switch stacks oddly for it.
# The shadow of DPDK's --no-huge memory is not touched (ASan does not know that memory).
export ASAN_OPTIONS="log_path=$LOGS/asan:halt_on_error=1:detect_leaks=1:abort_on_error=0:print_summary=1:detect_odr_violation=0"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/asan.supp:print_suppressions=0"
export FASTPATH_BIN=$BIN
echo "asan: libasan $LIBASAN; reports to $LOGS"
start=$SECONDS
/usr/bin/python3 -m pytest tests/pcap -q "$@"
rc=$?
echo "asan: tests/pcap finished with status $rc in $((SECONDS - start)) s"
reports=("$LOGS"/asan.*)
if [ -e "${reports[0]}" ]; then
    echo "asan: ${#reports[@]} AddressSanitizer report(s):" >&2
    for r in "${reports[@]}"; do
        echo "--- $r" >&2
        head -60 "$r" >&2
    done
    rc=1
else
    echo "asan: no AddressSanitizer report"
    rm -rf "$LOGS"
fi
exit "$rc"
