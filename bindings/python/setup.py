"""Build of the ``libsse`` Python package.

Everything is in pyproject.toml except two build steps:

* the shared library ``libsse.so`` is copied into the package, so the
  installed package finds it next to its modules. Taken from
  ``$LIBSSE_LIBRARY``, else from ``target/release/`` of the checkout this
  directory belongs to; when it is missing there and ``cargo`` is on the
  PATH, it is built first (``cargo build --release`` at the repository
  root; set ``LIBSSE_NO_CARGO=1`` to skip). Without a library the package
  still installs and looks for one at import time (see libsse/_native.py).
* the optional batch packer ``libsse._speedups`` (cffi API mode, see
  libsse/_speedups_build.py) is compiled when a C compiler and the Python
  headers are available; without them the package works, only slower.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIB_FILE = {"darwin": "libsse.dylib", "win32": "sse.dll"}.get(sys.platform, "libsse.so")


def _log(message):
    print(f"libsse setup: {message}", file=sys.stderr)


def find_library():
    env = os.environ.get("LIBSSE_LIBRARY")
    if env:
        if not os.path.exists(env):
            raise SystemExit(f"LIBSSE_LIBRARY={env!r}: no such file")
        return env
    built = os.path.join(REPO, "target", "release", LIB_FILE)
    if os.path.exists(built):
        return built
    cargo = shutil.which("cargo")
    if cargo and os.path.exists(os.path.join(REPO, "Cargo.toml")) and not os.environ.get("LIBSSE_NO_CARGO"):
        _log(f"{built} is missing: running cargo build --release in {REPO}")
        subprocess.run([cargo, "build", "--release", "--lib"], cwd=REPO, check=True)
        if os.path.exists(built):
            return built
    _log(
        f"no {LIB_FILE} found (set LIBSSE_LIBRARY or run `cargo build --release`); "
        "the package will look for it at import time"
    )
    return None


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        library = find_library()
        if library:
            target = os.path.join(self.build_lib, "libsse", LIB_FILE)
            self.mkpath(os.path.dirname(target))
            shutil.copyfile(library, target)
            _log(f"bundled {library}")


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


def speedups_extension():
    try:
        spec = importlib.util.spec_from_file_location(
            "_libsse_speedups_build", os.path.join(HERE, "libsse", "_speedups_build.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ext = module.ffibuilder.distutils_extension(tmpdir=os.path.join(HERE, "build", "cffi"))
    except Exception as error:  # cffi missing or broken: pure ABI mode
        _log(f"the batch packer will not be built: {error}")
        return []
    ext.optional = True  # no compiler / no Python.h: install without it
    return [ext]


setup(
    cmdclass={"build_py": BuildPyWithLibrary},
    distclass=BinaryDistribution,
    ext_modules=speedups_extension(),
)
