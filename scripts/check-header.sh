#!/usr/bin/env bash
# `make test-header`: include/sse.h must be what `cargo build` generates
# from the current sources and must be committed; every sse_* symbol the
# shared library exports must be declared in it (and vice versa); the
# version macros must match Cargo.toml and sse_version().
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

# 1. Regenerate. build.rs only re-runs when its rerun-if-changed inputs
#    change, and the header also draws on files outside them (e.g. the doc
#    of DEFAULT_MAX_EVENT_SIZE in src/parser.rs): touching build.rs makes
#    cargo run it again (a few seconds).
touch build.rs
cargo build --release --quiet
if ! git ls-files --error-unmatch include/sse.h >/dev/null 2>&1; then
  echo "test-header: include/sse.h is not tracked by git" >&2
  fail=1
elif ! git diff --exit-code --stat include/sse.h; then
  echo "test-header: include/sse.h is stale: \`cargo build\` regenerated it differently" >&2
  echo "             from the committed copy (git diff include/sse.h); commit it." >&2
  git --no-pager diff include/sse.h | head -n 40 >&2
  fail=1
fi

# 2. Exported symbols == declared functions.
exported=$(nm -D --defined-only target/release/libsse.so | awk '$2 == "T" {print $3}' | grep '^sse_' | sort)
declared=$(grep -oE '\bsse_[a-z0-9_]+\(' include/sse.h | tr -d '(' | sort -u)
if [ "$exported" != "$declared" ]; then
  echo "test-header: exported symbols and header declarations differ:" >&2
  diff <(echo "$exported") <(echo "$declared") | sed 's/^</  exported only:/; s/^>/  declared only:/' >&2 || true
  fail=1
fi
if nm --defined-only target/release/libsse.a 2>/dev/null | awk '$2 == "T" {print $3}' | grep '^sse_' | sort -u |
  diff -q - <(echo "$exported") >/dev/null; then :; else
  echo "test-header: libsse.a and libsse.so export different sse_* functions" >&2
  fail=1
fi

# 3. Version macros vs Cargo.toml vs sse_version(); the header compiles as
#    C99 and C++ on its own.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
mkdir -p build/tests
cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -DSSE_CARGO_VERSION="\"$version\"" \
  -o build/tests/test_version tests/c/test_version.c -Ltarget/release -lsse \
  -Wl,-rpath,"$PWD/target/release"
build/tests/test_version || fail=1
for std in c99 c11; do
  echo '#include "sse.h"' | cc -std=$std -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only -x c - || fail=1
done
echo '#include "sse.h"' | c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only -x c++ - || fail=1

if [ $fail -ne 0 ]; then
  echo "test-header: FAILED" >&2
  exit 1
fi
echo "test-header: ok ($(echo "$exported" | wc -l) functions exported and declared, version $version)"
