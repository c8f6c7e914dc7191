#!/usr/bin/env bash
# Part of `make test-packaging`: the wheel of `make wheel`, as a user
# without Rust or a C compiler gets it.
#  1. `make wheel`; the wheel must carry a manylinux tag, libsse.so and the
#     compiled batch packer;
#  2. a bare venv (no system site-packages) whose PATH holds only the venv:
#     no cargo, no cc (checked); `pip install --only-binary :all:` of the
#     wheel (and pytest, cffi from PyPI);
#  3. the installed package must load its bundled libsse.so and packer;
#  4. the client, asyncio and example tests run against it, and the
#     examples' documented one-shot command (--once) prints the demo
#     server's five events and ends.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '== wheel test: %s\n' "$*"; }
fail() { echo "test-wheel: $*" >&2; exit 1; }
tmp=$(mktemp -d)
source scripts/demo-server.sh
trap 'stop_demo_server; rm -rf "$tmp"' EXIT
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || ./scripts/ensure-packaging-deps.sh venv

# 1. The wheel.
wheel=$(make --no-print-directory -s wheel | tail -n 1)
[ -f "$wheel" ] || fail "make wheel did not print a wheel ($wheel)"
case "$(basename "$wheel")" in
  libsse-*-manylinux_*_x86_64.whl | libsse-*-manylinux_*_aarch64.whl) ;;
  *) fail "$(basename "$wheel") has no manylinux platform tag" ;;
esac
listing=$("$PYTHON" -m zipfile -l "$wheel")
grep -q 'libsse/libsse.so ' <<<"$listing" || fail "the wheel has no libsse/libsse.so"
grep -q 'libsse/_speedups\..*\.so ' <<<"$listing" || fail "the wheel has no compiled batch packer"
unzipped="$tmp/unzipped"
"$PYTHON" -m zipfile -e "$wheel" "$unzipped"
for so in "$unzipped"/libsse/*.so; do
  paths=$(readelf -d "$so" | grep -E 'R(UN)?PATH' | grep -v '\[\$ORIGIN' || true)
  [ -z "$paths" ] || fail "$(basename "$so") in the wheel points at this machine: $paths"
done
say "$(basename "$wheel") ($(( $(stat -c %s "$wheel") / 1024 )) KiB)"

# 2. A bare venv, and a PATH without Rust or a C compiler.
"$PYTHON" -m venv "$tmp/venv"
venv="$tmp/venv"
bare=(env -i HOME="$tmp" PATH="$venv/bin" LANG=C.UTF-8)
for tool in cargo rustc cc gcc clang; do
  if "${bare[@]}" /bin/sh -c "command -v $tool" >/dev/null; then fail "$tool is on the bare PATH"; fi
done
"${bare[@]}" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary ':all:' \
  "$wheel" pytest >"$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log" >&2; fail "pip install of the wheel failed"; }
say "installed into a bare venv with PATH=$venv/bin (no cargo, no cc)"

# 3. What it loads.
(cd "$tmp" && "${bare[@]}" "$venv/bin/python" - <<'PY'
import os, libsse
here = os.path.dirname(libsse.__file__)
assert "site-packages" in here, here
assert libsse.LIBRARY_PATH == os.path.join(here, "libsse.so"), libsse.LIBRARY_PATH
assert libsse.ACCELERATED, "the compiled batch packer did not load"
assert libsse.library_version() == libsse.__version__, (libsse.library_version(), libsse.__version__)
assert libsse.Parser().feed(b"id: 1\ndata: hi\n\n") == [libsse.Event("message", "hi", "1")]
print(f"== wheel test: libsse {libsse.__version__} from {here}, batch packer compiled")
PY
)

# 4. The client tests against the installed wheel, and the examples' one-shot runs.
server="$repo/target/release/sse-demo-server"
(cd "$tmp" && "${bare[@]}" LIBSSE_TEST_INSTALLED=1 SSE_DEMO_SERVER="$server" "$venv/bin/python" -m pytest -q \
  -p no:cacheprovider "$repo/bindings/python/tests/test_client.py" "$repo/bindings/python/tests/test_async.py" \
  "$repo/bindings/python/tests/test_examples.py" -k "accelerated or not pure")
start_demo_server
want=$(for i in 1 2 3 4 5; do echo "Event(event='message', data='tick $i', id='$i')"; done)
for example in sync_example.py async_example.py; do
  out=$(cd "$tmp" && timeout 60 "${bare[@]}" "$venv/bin/python" "$repo/examples/python/$example" --once \
    "$DEMO_URL/ticker?count=5&interval_ms=20" 2>"$tmp/example.err") ||
    { cat "$tmp/example.err" >&2; fail "$example --once did not end with status 0"; }
  [ "$out" = "$want" ] || fail "$example --once printed:"$'\n'"$out"
done
say "examples/python/*.py --once: five events, then the end"
say "ok"
