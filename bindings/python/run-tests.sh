#!/usr/bin/env bash
# Tests of the Python binding; `make test` runs this (target test-python).
#
#  1. builds libsse and the demo server if missing (cargo build --release);
#  2. installs pytest and cffi when missing (pip);
#  3. compiles the optional event builder in place (skipped without a C
#     compiler or Python headers: the pure-ABI path is tested either way);
#  4. runs the pytest suite against the source tree, then once more under
#     `-X dev` with PYTHONMALLOC=debug (the 1 MiB line fed byte by byte is
#     left out, ~18 s per mode under the debug allocator for no more
#     coverage; the ResourceWarnings of -X dev, unraisable ones included,
#     are errors);
#  4b. runs the suite once more on each other CPython found here (3.8, the
#     oldest pyproject.toml allows, 3.12 and 3.13: on the PATH or under
#     pyenv), each in a venv of its own under build/ (pytest, cffi and
#     setuptools from pip, once), its event builder compiled: both paths,
#     not under -X dev; an interpreter not found is named and skipped;
#  5. pip-installs ./bindings/python into a temporary venv and runs a smoke
#     test plus the client, asyncio and example tests against the installed package, to prove
#     the packaging (bundled libsse.so, compiled event builder) works.
#
# Environment: PYTHON (default python3), LIBSSE_OTHER_PYTHONS (default
# "3.8 3.12 3.13"; empty skips step 4b), LIBSSE_SKIP_INSTALL_TEST=1 skips
# step 5, extra arguments go to pytest (e.g. -k reconnect).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

say() { printf '== python: %s\n' "$*"; }

# 1. The library and the demo server.
if [ ! -f "$REPO/target/release/libsse.so" ] || [ ! -x "$REPO/target/release/sse-demo-server" ]; then
  say "building libsse and sse-demo-server (cargo build --release)"
  (cd "$REPO" && cargo build --release)
fi

# 2. pytest and cffi.
pip_install() {
  "$PYTHON" -m pip install --quiet "$@" 2>/dev/null ||
    "$PYTHON" -m pip install --quiet --user "$@" 2>/dev/null ||
    "$PYTHON" -m pip install --quiet --break-system-packages "$@"
}
missing=()
"$PYTHON" -c 'import pytest' 2>/dev/null || missing+=(pytest)
"$PYTHON" -c 'import cffi' 2>/dev/null || missing+=(cffi)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  pip_install "${missing[@]}"
fi

# 3. The event builder, in place (libsse/_speedups.*.so, git-ignored).
if (cd "$HERE" && "$PYTHON" -m libsse._speedups_build >/dev/null 2>"$HERE/.speedups-build.log"); then
  say "event builder compiled"
  rm -f "$HERE/.speedups-build.log"
else
  say "event builder NOT compiled (see bindings/python/.speedups-build.log); testing the pure ABI path only"
  rm -f "$HERE"/libsse/_speedups.*.so
fi

# 4. The suite, against the source tree.
say "pytest (source tree)"
(cd "$HERE" && "$PYTHON" -m pytest -q -p no:cacheprovider tests "$@")
say "pytest -X dev, PYTHONMALLOC=debug: the whole suite again"
(cd "$HERE" && PYTHONMALLOC=debug "$PYTHON" -X dev -W error::ResourceWarning -m pytest -q -p no:cacheprovider \
  -W error::pytest.PytestUnraisableExceptionWarning tests -k "not (one_mib_data_line and bytewise)" "$@")

# 4b. Other interpreters.
find_python() { # X.Y: the path of a python X.Y, or nothing
  local p
  for p in "$(command -v "python$1" 2>/dev/null || true)" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1"; do
    if [ -x "$p" ] && "$p" -c 'import sys' 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
main_version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
for version in ${LIBSSE_OTHER_PYTHONS-3.8 3.12 3.13}; do
  [ "$version" = "$main_version" ] && continue
  if ! other="$(find_python "$version")"; then
    say "python$version not found: the suite is not run on it"
    continue
  fi
  venv="$REPO/build/python-tests-$version"
  stamp="$("$other" --version 2>&1) pytest cffi setuptools"
  if [ "$(cat "$venv/stamp" 2>/dev/null)" != "$stamp" ]; then
    say "python$version: a venv with pytest and cffi ($venv)"
    rm -rf "$venv"
    "$other" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest cffi setuptools
    echo "$stamp" >"$venv/stamp"
  fi
  if (cd "$HERE" && "$venv/bin/python" -m libsse._speedups_build >/dev/null 2>&1); then
    say "pytest on $("$other" --version 2>&1) (event builder compiled)"
  else
    say "pytest on $("$other" --version 2>&1) (event builder NOT compiled: the pure ABI path only)"
    rm -f "$HERE"/libsse/_speedups.cpython-"${version/./}"-*.so
  fi
  (cd "$HERE" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests "$@")
done

# 5. Packaging: pip install into a throwaway venv, then use it.
if [ -n "${LIBSSE_SKIP_INSTALL_TEST:-}" ]; then
  say "install test skipped (LIBSSE_SKIP_INSTALL_TEST)"
  exit 0
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
say "pip install ./bindings/python into a temporary venv"
"$PYTHON" -m venv --system-site-packages "$TMP/venv"
VPY="$TMP/venv/bin/python"
# Offline-friendly: reuse setuptools/cffi when present, else let pip fetch them.
if "$VPY" -c 'import setuptools, cffi, wheel' 2>/dev/null; then
  isolation=(--no-build-isolation)
else
  isolation=()
fi
if ! (cd "$REPO" && "$VPY" -m pip install --quiet "${isolation[@]}" ./bindings/python >"$TMP/pip.log" 2>&1); then
  cat "$TMP/pip.log" >&2
  exit 1
fi
rm -rf "$HERE/build" "$HERE"/*.egg-info

say "smoke test of the installed package"
(cd "$TMP" && "$VPY" - <<'EOF'
import os, libsse
here = os.path.dirname(libsse.__file__)
assert "site-packages" in here, here
assert os.path.dirname(libsse.LIBRARY_PATH) == here, (libsse.LIBRARY_PATH, "libsse.so is not bundled")
assert libsse.Parser().feed(b"id: 1\ndata: hello\n\n") == [libsse.Event("message", "hello", "1")]
print(f"   libsse {libsse.__version__} from {here}, library {libsse.library_version()}, "
      f"event builder {'compiled' if libsse.ACCELERATED else 'absent (pure ABI mode)'}")
EOF
)
say "client, asyncio and example tests against the installed package"
(cd "$TMP" && LIBSSE_TEST_INSTALLED=1 "$VPY" -m pytest -q -p no:cacheprovider "$HERE/tests/test_client.py" "$HERE/tests/test_async.py" "$HERE/tests/test_examples.py" -k "accelerated or not pure")
say "ok"
