#!/usr/bin/env bash
# Tests of the Go binding, as `make test` runs them:
#   1. builds libsse (target/release/libsse.a) and the demo server with
#      `cargo build --release` when they are missing or older than the sources;
#   2. installs Go from the distribution (apt-get install golang-go, Go 1.19
#      on Debian 12) when `go` is missing;
#   3. runs `go vet ./...` and `go test -race ./...` in bindings/go (the
#      misuse suite included: misuse_test.go), then, on Go 1.21 or later,
#      `go test ./...` again with GOEXPERIMENT=cgocheck2 (every pointer
#      store checked against cgo's rules; the first run rebuilds the
#      standard library, ~1 min; Go 1.19/1.20 spell it GODEBUG=cgocheck=2),
#      then vets and builds the examples in examples/go (ssetail and
#      resume; the suite also runs resume twice: TestResumeExample).
# Exits non-zero on the first failure. Extra arguments go to `go test`
# (e.g. `-run Vectors -v`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$root/target/release/libsse.a"
server="$root/target/release/sse-demo-server"

say() { printf '== go binding: %s\n' "$*"; }

# 1. The library and the demo server.
stale=""
if [ ! -f "$lib" ] || [ ! -x "$server" ]; then
  stale="missing"
elif [ -n "$(find "$root/src" "$root/demo-server/src" "$root/build.rs" "$root/Cargo.toml" \
               -newer "$lib" -print -quit 2>/dev/null)" ]; then
  stale="older than the sources"
fi
if [ -n "$stale" ]; then
  command -v cargo >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs)" >&2; exit 1; }
  say "libsse $stale: cargo build --release"
  (cd "$root" && cargo build --release)
fi

# 2. Go (>= 1.19) and a C compiler for cgo.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v go >/dev/null; then
  for dir in /usr/local/go/bin /usr/lib/go/bin; do
    if [ -x "$dir/go" ]; then PATH="$dir:$PATH"; break; fi
  done
fi
if ! command -v go >/dev/null; then
  say "go is missing: apt-get install -y golang-go"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go
fi
if ! command -v cc >/dev/null && ! command -v gcc >/dev/null; then
  say "no C compiler for cgo: apt-get install -y gcc"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev
fi
minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
if [ -n "$minor" ] && [ "$minor" -lt 19 ]; then
  echo "Go $(go env GOVERSION) is too old: the binding needs Go 1.19 or later" >&2
  exit 1
fi

# The binding has no dependencies: never touch the network, never switch
# toolchains. cgo is required (also by -race).
export GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1
if [ -z "${HOME:-}" ] && [ -z "${GOCACHE:-}" ]; then
  export GOCACHE="${TMPDIR:-/tmp}/libsse-go-cache"
fi
export SSE_DEMO_SERVER="$server"

# 3. Vet and test.
cd "$here"
say "$(go version)"
say "go vet ./..."
go vet ./...
say "go test -race ./..."
go test -race -count=1 "$@" ./...
if [ -n "$minor" ] && [ "$minor" -ge 21 ]; then
  say "GOEXPERIMENT=cgocheck2 go test ./..."
  GOEXPERIMENT=cgocheck2 go test -count=1 "$@" ./...
else
  say "GODEBUG=cgocheck=2 go test ./..."
  GODEBUG=cgocheck=2 go test -count=1 "$@" ./...
fi
if [ -f "$root/examples/go/go.mod" ]; then
  say "examples/go: go vet, go build"
  (cd "$root/examples/go" && go vet ./... && go build ./...)
fi
say "ok"
