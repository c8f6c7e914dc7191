#!/usr/bin/env bash
# `make tsan`: libsse built with ThreadSanitizer (nightly Rust,
# -Zsanitizer=thread -Zbuild-std, so the standard library is instrumented
# too), the C concurrency tests (tests/c/test_misuse.c, test_client.c)
# built with -fsanitize=thread against it, and run. Any report fails.
#
#   TSAN_TESTS   the test binaries to run (default: test_misuse test_client)
#
# Needs the nightly toolchain with rust-src; without either it prints why
# and exits 0, so `make tsan` is safe on a stable-only machine. Not part of
# `make test`: it rebuilds the standard library (minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "tsan: skipped: no nightly toolchain (install: rustup toolchain install nightly)"
    exit 0
fi
sysroot=$(rustc +nightly --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    echo "tsan: skipped: nightly has no rust-src (install: rustup component add --toolchain nightly rust-src)"
    exit 0
fi
cc=${TSAN_CC:-cc}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <pthread.h>\nstatic void *f(void *a){return a;}\nint main(void){pthread_t t;pthread_create(&t,0,f,0);return pthread_join(t,0);}\n' >"$probe/t.c"
if ! "$cc" -fsanitize=thread "$probe/t.c" -o "$probe/t" 2>/dev/null || ! "$probe/t"; then
    echo "tsan: skipped: $cc cannot build and run a -fsanitize=thread program (gcc: libtsan, clang: libclang-rt)"
    exit 0
fi

t0=$EPOCHREALTIME
target=$(rustc +nightly -vV | sed -n 's/^host: //p')
target_dir=target/tsan
echo "== tsan: building libsse with -Zsanitizer=thread -Zbuild-std ($target)"
# --target keeps RUSTFLAGS off the build script and proc macros.
if ! RUSTFLAGS="-Zsanitizer=thread" cargo +nightly build --release --lib \
    -Zbuild-std --target "$target" --target-dir "$target_dir"; then
    echo "tsan: FAILED: the instrumented build failed"
    exit 1
fi
libdir=$PWD/$target_dir/$target/release
out=build/tests/tsan
mkdir -p "$out" build/tests/logs
cflags=(-std=c11 -g -O1 -Wall -Wextra -Werror -Iinclude -Itests/c -D_GNU_SOURCE -fsanitize=thread)
"$cc" "${cflags[@]}" -c -o "$out/harness.o" tests/c/harness.c || exit 1
# gcc's libtsan lacks the __tsan_mem* entry points Rust's LLVM calls.
extra=()
if ! nm -D "$("$cc" -print-file-name=libtsan.so)" 2>/dev/null | grep -q ' T __tsan_memcpy$'; then
    "$cc" "${cflags[@]}" -c -o "$out/tsan_compat.o" tests/c/tsan_compat.c || exit 1
    extra=("$out/tsan_compat.o" -rdynamic)
fi
tests=(${TSAN_TESTS:-test_misuse test_client})
for t in "${tests[@]}"; do
    "$cc" "${cflags[@]}" -o "$out/$t" "tests/c/$t.c" "$out/harness.o" "${extra[@]}" \
        -L"$libdir" -lsse -Wl,-rpath,"$libdir" -lpthread || exit 1
done
echo "   built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"

export SSE_DEMO_SERVER=${SSE_DEMO_SERVER:-$PWD/target/release/sse-demo-server}
if [ ! -x "$SSE_DEMO_SERVER" ]; then
    cargo build --release --bin sse-demo-server -p sse-demo-server >/dev/null 2>&1 ||
        cargo build --release >/dev/null || exit 1
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
failed=0
for t in "${tests[@]}"; do
    log=build/tests/logs/tsan-$t.log
    t1=$EPOCHREALTIME
    # Slower under TSan: time limits scaled as under valgrind, but less.
    # A deadlock fails the binary (exit 124) instead of stalling the run.
    SSE_TEST_SLOW=3 TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/c/tsan.supp" \
        timeout -k 10 900 "$out/$t" >"$log" 2>&1
    rc=$?
    reports=$(grep -c '^WARNING: ThreadSanitizer' "$log")
    grep -v '^ok ' "$log" | sed 's/^/   /' | head -n 60
    echo "   $t: exit $rc, $reports ThreadSanitizer reports ($(awk -v a="$t1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s, log $log)"
    [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ] || failed=1
done
if [ "$failed" -ne 0 ]; then
    echo "tsan: FAILED"
    exit 1
fi
echo "tsan: ${#tests[@]} binaries, no report ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s in all)"
