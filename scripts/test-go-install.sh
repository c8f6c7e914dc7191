#!/usr/bin/env bash
# Part of `make test-packaging`: the Go module used from outside the
# checkout, as the README's Go section says.
#  1. `make install` into a temporary prefix; the module copied to a
#     temporary directory on its own (as `go get` would leave it: no
#     target/ beside it);
#  2. a new module there depends on it with the README's `go mod edit
#     -replace ... && go mod tidy` line;
#  3. without a tag the build must stop with the readable "libsse is not
#     built" message (not a linker error); with -tags libsse_pkgconfig and
#     no sse.pc found, with pkg-config's "Package sse was not found";
#  4. with PKG_CONFIG_PATH and an rpath it builds against the installed
#     libsse.so.0 (NEEDED, readelf), and, with libsse_static, against
#     libsse.a (no libsse.so); both read the demo server's finite stream
#     without LD_LIBRARY_PATH;
#  5. examples/go with -once (as the README runs it) ends with the stream.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '== go install test: %s\n' "$*"; }
fail() { echo "test-go-install: $*" >&2; exit 1; }
tmp=$(mktemp -d)
source scripts/demo-server.sh
trap 'stop_demo_server; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

if ! command -v go >/dev/null; then
  for dir in /usr/local/go/bin /usr/lib/go/bin; do
    if [ -x "$dir/go" ]; then PATH="$dir:$PATH"; break; fi
  done
fi
if ! command -v go >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "go is missing: apt-get install -y golang-go"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq golang-go >/dev/null
fi
export GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1 GOFLAGS=-mod=mod
[ -n "${HOME:-}" ] || [ -n "${GOCACHE:-}" ] || export GOCACHE="${TMPDIR:-/tmp}/libsse-go-cache"

# 1. The installed library; the module on its own.
prefix="$tmp/prefix"
make --no-print-directory -s install PREFIX="$prefix" >/dev/null
mkdir -p "$tmp/mod"
cp -r bindings/go "$tmp/mod/sse"
rm -rf "$tmp/mod/sse/benchcompare"

# 2. A module of the user's, with the README's replace line.
mkdir "$tmp/app"
cat >"$tmp/app/main.go" <<'GO'
// Reads a finite stream one-shot and prints "id data" per message.
package main

import (
	"context"
	"fmt"
	"os"

	"libsse.dev/sse"
)

func main() {
	client, err := sse.Connect(context.Background(), os.Args[1], sse.WithMaxRetries(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer client.Close()
	for ev := range client.Events() {
		fmt.Println(ev.ID, ev.Data)
	}
	if err := client.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
GO
replace_line=$(grep -F 'go mod edit -replace libsse.dev/sse=' README.md | head -n 1 | sed 's/ *#.*//')
[ -n "$replace_line" ] || fail "README.md has no go mod edit -replace line"
replace_line=${replace_line//\/path\/to\/libsse\/bindings\/go/$tmp/mod/sse}
(cd "$tmp/app" && go mod init example.com/app >/dev/null 2>&1 && bash -ec "$replace_line" >/dev/null 2>&1) ||
  fail "README line failed: $replace_line"
say "a module outside the checkout, with: $replace_line"

# 3. Missing library: readable errors.
if (cd "$tmp/app" && go build -o app . >"$tmp/err1" 2>&1); then fail "built without libsse"; fi
grep -q 'libsse is not built: run `cargo build --release`' "$tmp/err1" || { cat "$tmp/err1" >&2; fail "no readable error without a tag"; }
grep -q -- '-tags libsse_pkgconfig' "$tmp/err1" || { cat "$tmp/err1" >&2; fail "the error does not name -tags libsse_pkgconfig"; }
! grep -q 'cannot find' "$tmp/err1" || { cat "$tmp/err1" >&2; fail "a linker error besides the readable one"; }
if (cd "$tmp/app" && env -u PKG_CONFIG_PATH go build -tags libsse_pkgconfig -o app . >"$tmp/err" 2>&1); then
  fail "built with libsse_pkgconfig without sse.pc"
fi
grep -q "Package sse was not found" "$tmp/err" || { cat "$tmp/err" >&2; fail "no pkg-config message"; }
say "without the library, go build says: $(grep -m1 -o 'error: #error .*' "$tmp/err1")"

# 4. Against the installed library.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
start_demo_server
want=$'1 tick 1\n2 tick 2\n3 tick 3'
(cd "$tmp/app" && CGO_LDFLAGS="-Wl,-rpath,$prefix/lib" go build -tags libsse_pkgconfig -o app-shared .)
grep -q 'NEEDED.*\[libsse.so.0\]' <<<"$(readelf -d "$tmp/app/app-shared")" || fail "app-shared does not need libsse.so.0"
(cd "$tmp/app" && go build -tags libsse_pkgconfig,libsse_static -o app-static .)
! grep -q 'NEEDED.*libsse' <<<"$(readelf -d "$tmp/app/app-static")" || fail "app-static needs libsse.so"
for exe in app-shared app-static; do
  out=$(env -u LD_LIBRARY_PATH timeout 60 "$tmp/app/$exe" "$DEMO_URL/ticker?count=3") || fail "$exe failed"
  [ "$out" = "$want" ] || fail "$exe printed: $out"
done
say "go build -tags libsse_pkgconfig (NEEDED libsse.so.0) and libsse_pkgconfig,libsse_static: both read the stream"
# The README's example program, with its one-shot flag, ends with the stream.
(cd examples/go && go build -o "$tmp/ssetail" .)
out=$(timeout 60 "$tmp/ssetail" -once "$DEMO_URL/ticker?count=3") || fail "examples/go -once failed"
[ "$out" = $'1\tmessage\ttick 1\n2\tmessage\ttick 2\n3\tmessage\ttick 3' ] || fail "examples/go -once printed: $out"
say "examples/go -once: three events, then the end"
say "ok"
