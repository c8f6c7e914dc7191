#!/usr/bin/env bash
# Part of `make test-packaging`: the standard Python builds from the
# checkout give a package that works, or fail loudly; never one that
# cannot import.
#  1. `python -m build ./bindings/python` (sdist, then the wheel built
#     from that sdist, in isolated environments as a user gets them): the
#     sdist must carry the Rust sources (rust/), the wheel built from it
#     must bundle the libsse.so that cargo built from them, and import in
#     a fresh venv. (CARGO_TARGET_DIR=target: the compiled dependencies
#     of the checkout's build are reused.)
#  2. `pip install` of that sdist with cargo absent from the PATH must
#     fail, with the message saying what to install, and install nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '== sdist test: %s\n' "$*"; }
fail() { echo "test-sdist: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$repo/bindings/python/build" "$repo"/bindings/python/*.egg-info' EXIT
source scripts/pytools.sh
ensure_pytools

# 1. python -m build
say "python -m build ./bindings/python (sdist, then its wheel: cargo builds libsse from the sdist)"
if ! env -u LIBSSE_LIBRARY -u LIBSSE_SYSTEM_LIBRARY CARGO_TARGET_DIR="$repo/target" \
     "$PYTOOLS/bin/python" -m build --outdir "$tmp/dist" ./bindings/python >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2; fail "python -m build failed"
fi
grep -q 'Compiling libsse' "$tmp/build.log" || { cat "$tmp/build.log" >&2; fail "cargo's progress is not in the build output"; }
sdist=$(ls "$tmp"/dist/libsse-*.tar.gz)
wheel=$(ls "$tmp"/dist/libsse-*.whl)
tar -tzf "$sdist" >"$tmp/sdist.list"
for f in rust/Cargo.toml rust/Cargo.lock rust/build.rs rust/src/lib.rs rust/src/ffi/mod.rs rust/include/sse.h setup.py libsse/_native.py; do
  grep -q "^libsse-[^/]*/$f\$" "$tmp/sdist.list" || fail "the sdist has no $f"
done
! grep -q -e '/rust/target/' -e 'demo-server' "$tmp/sdist.list" || fail "the sdist carries build output or the demo server"
grep -q 'libsse/libsse.so ' <<<"$("$PYTOOLS/bin/python" -m zipfile -l "$wheel")" || fail "the wheel built from the sdist has no libsse.so"
# No library in it may point at this machine (the build Python's RUNPATH).
"$PYTOOLS/bin/python" -m zipfile -e "$wheel" "$tmp/unzipped"
for so in "$tmp"/unzipped/libsse/*.so; do
  paths=$(readelf -d "$so" | grep -E 'R(UN)?PATH' | grep -v '\[\$ORIGIN' || true)
  [ -z "$paths" ] || fail "$(basename "$so") in the sdist's wheel points at this machine: $paths"
done
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" >"$tmp/pip.log" 2>&1 ||
  { cat "$tmp/pip.log" >&2; fail "pip install of the built wheel failed"; }
(cd "$tmp" && env -u LIBSSE_LIBRARY "$tmp/venv/bin/python" -c '
import os, libsse
assert libsse.LIBRARY_PATH == os.path.join(os.path.dirname(libsse.__file__), "libsse.so"), libsse.LIBRARY_PATH
assert libsse.library_version() == libsse.__version__
assert libsse.Parser().feed(b"data: ok\n\n") == [libsse.Event("message", "ok", "")]
') || fail "the wheel built from the sdist does not work"
say "$(basename "$sdist") ($(wc -l <"$tmp/sdist.list") files, Rust sources in rust/) and $(basename "$wheel"): imports, bundled libsse.so"

# 2. The sdist without Rust: a loud failure.
nocargo_path="$PYTOOLS/bin:/usr/local/bin:/usr/bin:/bin"
if env PATH="$nocargo_path" /bin/sh -c 'command -v cargo' >/dev/null; then
  say "SKIPPED the no-cargo check: cargo is in $(env PATH="$nocargo_path" /bin/sh -c 'command -v cargo')"
else
  python3 -m venv "$tmp/venv2"
  if env -u LIBSSE_LIBRARY -u CARGO PATH="$tmp/venv2/bin:$nocargo_path" "$tmp/venv2/bin/python" -m pip install \
       --disable-pip-version-check "$sdist" >"$tmp/nocargo.log" 2>&1; then
    fail "pip install of the sdist succeeded without cargo"
  fi
  grep -q 'libsse setup: error: building libsse needs Rust (cargo' "$tmp/nocargo.log" ||
    { cat "$tmp/nocargo.log" >&2; fail "no readable message without cargo"; }
  ! "$tmp/venv2/bin/python" -c 'import libsse' 2>/dev/null || fail "a package was installed anyway"
  say "pip install of the sdist without cargo fails: $(grep -o 'building libsse needs Rust.*not on the PATH' "$tmp/nocargo.log" | head -n 1)"
fi
say "ok"
