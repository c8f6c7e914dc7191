#!/usr/bin/env bash
# Runs the cargo-fuzz target `parser` (fuzz/fuzz_targets/parser.rs) for a
# fixed number of executions; used by `make fuzz`.
#
#   FUZZ_RUNS       executions (default 10000000)
#   FUZZ_TARGET     target name (default parser)
#   FUZZ_SANITIZER  address (default) or none (about twice as fast)
#   FUZZ_MAX_LEN    largest input in bytes (default 4096)
#
# Needs the nightly toolchain and cargo-fuzz; without either it prints why
# and exits 0, so `make fuzz` is safe on a stable-only machine. The corpus
# grows in fuzz/corpus/<target> (git-ignored) from the committed seeds in
# fuzz/seeds/<target>; crashes land in fuzz/artifacts/<target>.
set -euo pipefail

cd "$(dirname "$0")/.."

runs="${FUZZ_RUNS:-10000000}"
target="${FUZZ_TARGET:-parser}"
sanitizer="${FUZZ_SANITIZER:-address}"
max_len="${FUZZ_MAX_LEN:-4096}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no nightly toolchain (install: rustup toolchain install nightly)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: skipped: cargo-fuzz is not installed (install: cargo install cargo-fuzz)"
    exit 0
fi

mkdir -p "fuzz/corpus/$target"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "fuzz: running $target for $runs executions (sanitizer: $sanitizer)"
status=0
(
    cd fuzz
    cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" \
        "corpus/$target" "seeds/$target" -- \
        -runs="$runs" -max_len="$max_len" -print_final_stats=1
) 2>&1 | tee "$log" | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || status=$?
# The pipeline's status is grep's; take the fuzzer's from its log.
if grep -qE '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY: libFuzzer)' "$log"; then
    echo "fuzz: FAILED: a crash was found (see fuzz/artifacts/$target)"
    exit 1
fi
done_line="$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true)"
if [ -z "$done_line" ]; then
    echo "fuzz: FAILED: the fuzzer did not complete (status $status)"
    exit 1
fi
executed="$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' | tail -n 1)"
echo "fuzz: $done_line; executed units: ${executed:-?}; no crash"
