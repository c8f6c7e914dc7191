#!/usr/bin/env bash
# Runs the C/C++ suites (built by `make test-c`):
#   asan      build/tests/asan/*  under AddressSanitizer + UBSan + LeakSanitizer
#   valgrind  build/tests/plain/* under valgrind memcheck (leaks = errors)
#   native    build/tests/plain/test_features start_stack_depth and
#             close_wakes_fd_waiter, natively (timing and stack depth)
#   ssecat    tests/c/test_ssecat.py with build/ssecat, the ASan ssecat,
#             and a few cases under valgrind
#   all       the four
# and prints each tool's summary lines. Exits 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
tests=(test_abi test_vectors test_client test_cpp test_misuse test_features)
asan_dir=build/tests/asan
plain_dir=build/tests/plain
logs=build/tests/logs
mkdir -p "$logs"
failed=()
export SSE_DEMO_SERVER=${SSE_DEMO_SERVER:-$PWD/target/release/sse-demo-server}
# The tests talk to 127.0.0.1 only; a proxy from the environment would get in the way.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

# A hung test (a deadlock) fails its binary instead of stalling the run:
# exit 124 from timeout. Seconds per binary; four times that under valgrind.
TEST_LIMIT=${TEST_LIMIT:-300}

now() { echo "$EPOCHREALTIME"; }
took() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

run_asan() {
  local t0; t0=$(now)
  echo "== C/C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer ($(scripts/asan-cc.sh))"
  local reports=0
  for t in "${tests[@]}"; do
    local log="$logs/asan-$t.log"
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1" \
      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87" \
      timeout -k 10 "$TEST_LIMIT" "$asan_dir/$t" >"$log" 2>&1
    local rc=$?
    grep -v '^ok ' "$log" | sed 's/^/   /'
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
      reports=$((reports + 1))
      grep -E 'SUMMARY: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)' "$log" | sed 's/^/   /'
    fi
    [ $rc -eq 0 ] || failed+=("asan:$t (exit $rc, log $log)")
  done
  echo "   ASan/UBSan/LSan: ${#tests[@]} binaries, $reports with a sanitizer report ($(took "$t0") s)"
}

run_valgrind() {
  local t0; t0=$(now)
  echo "== C/C++ tests under valgrind memcheck"
  for t in "${tests[@]}"; do
    local log="$logs/valgrind-$t.log" vglog="$logs/valgrind-$t.memcheck"
    SSE_TEST_SLOW=5 timeout -k 10 "$((TEST_LIMIT * 4))" valgrind --error-exitcode=97 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
      --suppressions=tests/c/valgrind.supp --log-file="$vglog" \
      "$plain_dir/$t" >"$log" 2>&1
    local rc=$?
    grep -v '^ok ' "$log" | sed 's/^/   /'
    local summary lost
    summary=$(grep -h 'ERROR SUMMARY' "$vglog" | sed 's/^==[0-9]*== //' | head -n 1)
    lost=$(grep -hE 'definitely lost|indirectly lost|All heap blocks were freed' "$vglog" |
      sed 's/^==[0-9]*== *//' | tr '\n' ';' | sed 's/;$//; s/;/, /')
    echo "   $t: $summary; ${lost:-no leak lines}"
    [ $rc -eq 0 ] || failed+=("valgrind:$t (exit $rc, logs $log $vglog)")
  done
  echo "   valgrind: ${#tests[@]} binaries ($(took "$t0") s)"
}

# Checks that need the library as it runs natively (neither sanitizer nor
# valgrind: their frames and allocators are not the library's).
run_native() {
  local log="$logs/native-test_features.log"
  echo "== C tests run natively (test_features start_stack_depth close_wakes_fd_waiter)"
  timeout -k 10 "$TEST_LIMIT" "$plain_dir/test_features" start_stack_depth close_wakes_fd_waiter >"$log" 2>&1
  local rc=$?
  grep -v '^ok ' "$log" | sed 's/^/   /'
  [ $rc -eq 0 ] || failed+=("native:test_features (exit $rc, log $log)")
}

run_ssecat() {
  local t0; t0=$(now)
  echo "== ssecat (tests/c/test_ssecat.py)"
  local args
  for args in "build/ssecat" "$asan_dir/ssecat" "build/ssecat --valgrind"; do
    # shellcheck disable=SC2086
    SSE_CPP_EXAMPLE=build/sse-cpp-example SSE_POLL_LOOP_EXAMPLE=build/poll-loop-example python3 tests/c/test_ssecat.py $args >"$logs/ssecat.log" 2>&1
    local rc=$?
    grep -v '^ok ' "$logs/ssecat.log" | sed 's/^/   /'
    [ $rc -eq 0 ] || failed+=("ssecat:$args (exit $rc)")
  done
  echo "   ssecat: ($(took "$t0") s)"
}

t_start=$(now)
case "$mode" in
  asan) run_asan ;;
  valgrind) run_valgrind ;;
  ssecat) run_ssecat ;;
  native) run_native ;;
  all) run_asan; run_valgrind; run_native; run_ssecat ;;
  *) echo "usage: $0 [all|asan|valgrind|native|ssecat]" >&2; exit 2 ;;
esac
if [ ${#failed[@]} -gt 0 ]; then
  echo "C/C++ tests FAILED:"
  printf '   %s\n' "${failed[@]}"
  exit 1
fi
echo "C/C++ tests: all passed ($(took "$t_start") s)"
