#!/usr/bin/env bash
# `make miri`: the library's unit tests that Miri can run (no sockets, no
# clock-driven waits), including the FFI string test that reads every
# string the C ABI hands out with CStr::from_ptr, under Miri with its
# default Stacked Borrows model.
#
#   MIRI_FILTERS   test-name filters (default: see below)
#
# Needs the nightly toolchain; installs its miri component when missing;
# prints why and exits 0 when neither is possible. Not part of `make test`
# (nightly only).
set -uo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "miri: skipped: no nightly toolchain (install: rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri: installing the miri component"
    if ! rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 ||
        ! cargo +nightly miri --version >/dev/null 2>&1; then
        echo "miri: skipped: the miri component cannot be installed"
        exit 0
    fi
fi
# The pure modules: parser, batches, the queue (threads, no sockets), the
# event model, backoff, and the C ABI's strings, events, batches and parser.
filters=(${MIRI_FILTERS:-parser:: batch:: queue:: event:: backoff:: ffi::})
t0=$EPOCHREALTIME
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "miri: cargo +nightly miri test -p libsse --lib -- ${filters[*]}"
MIRIFLAGS="${MIRIFLAGS:-}" cargo +nightly miri test -p libsse --lib --target-dir target/miri -- "${filters[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
summary=$(grep -E '^test result:' "$log" | tail -n 1)
if [ "$status" -ne 0 ]; then
    echo "miri: FAILED ($took s): ${summary:-no test result}"
    exit 1
fi
echo "miri: passed ($took s): $summary"
