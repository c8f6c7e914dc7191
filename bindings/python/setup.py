"""Build of the ``libsse`` Python package.

Everything is in pyproject.toml except three build steps:

* the shared library ``libsse.so`` is copied into the package (stripped
  when ``strip`` is on the PATH), so the installed package finds it next
  to its modules. It comes from, in this order:

  1. ``$LIBSSE_LIBRARY``, the path of a built ``libsse.so``;
  2. in an sdist: ``rust/``, the Rust sources the sdist carries, built
     with ``cargo build --release`` (Rust 1.86 or later; ``$CARGO``
     chooses the cargo; the target directory is ``$CARGO_TARGET_DIR`` or
     ``rust/target``);
  3. in a checkout: ``target/release/libsse.so`` of the repository this
     directory belongs to, built first with cargo when it is missing.

  When none gives a library the build FAILS with what to do: a package
  that cannot import is never produced. ``LIBSSE_SYSTEM_LIBRARY=1``
  instead builds a package without the library, which then loads an
  installed ``libsse.so`` (``make install``) from the system search path.
* the event builder ``libsse._speedups`` (a small CPython extension in C,
  libsse/_speedups_module.c, see libsse/_speedups_build.py) is compiled when a C
  compiler and the Python headers are available; without them the package
  works, only slower (cffi's ABI mode).
  ``LIBSSE_REQUIRE_SPEEDUPS=1`` (what ``make wheel`` sets) makes a failure
  to compile it an error.
* the event builder is linked without the build Python's RUNPATH;
* the sdist carries the Rust sources of libsse (``rust/``: Cargo.toml,
  Cargo.lock, build.rs, cbindgen.toml, src/, include/), so that building
  it needs only Rust, not the repository.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SDIST_CRATE = os.path.join(HERE, "rust")
LIB_FILE = {"darwin": "libsse.dylib", "win32": "sse.dll"}.get(sys.platform, "libsse.so")
# What of the repository the sdist carries to build libsse (the crate only:
# not the demo server, benches, tests or bindings).
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml"]
CRATE_DIRS = ["src", "include"]


def _log(message):
    print(f"libsse setup: {message}", file=sys.stderr, flush=True)


def _fail(message):
    raise SystemExit(f"libsse setup: error: {message}")


def _in_checkout():
    """Whether this directory is bindings/python of a libsse repository."""
    mine = os.path.join(REPO, "bindings", "python")
    return (
        os.path.exists(os.path.join(REPO, "Cargo.toml"))
        and os.path.isdir(mine)
        and os.path.samefile(mine, HERE)
    )


def _cargo_build(crate, target_dir):
    cargo = shutil.which(os.environ.get("CARGO") or "cargo")
    if not cargo:
        _fail(
            "building libsse needs Rust (cargo, 1.86 or later: https://rustup.rs), "
            f"which is not on the PATH. Install it, or set LIBSSE_LIBRARY to a built {LIB_FILE}, "
            "or install libsse (`make install`) and set LIBSSE_SYSTEM_LIBRARY=1."
        )
    _log(
        f"building libsse with cargo in {crate} (about a minute; "
        "`pip install -v` shows cargo's progress)"
    )
    command = [cargo, "build", "--release", "--lib", "--target-dir", target_dir]
    result = subprocess.run(command, cwd=crate)  # cargo's progress goes to stderr
    if result.returncode != 0:
        _fail(f"`{' '.join(command)}` failed (exit status {result.returncode}); see cargo's output above")
    built = os.path.join(target_dir, "release", LIB_FILE)
    if not os.path.exists(built):
        _fail(f"cargo succeeded but {built} is missing")
    return built


def find_library():
    """The libsse.so to bundle; None only with LIBSSE_SYSTEM_LIBRARY=1."""
    env = os.environ.get("LIBSSE_LIBRARY")
    if env:
        if not os.path.exists(env):
            _fail(f"LIBSSE_LIBRARY={env!r}: no such file")
        return env
    if os.environ.get("LIBSSE_SYSTEM_LIBRARY"):
        _log("LIBSSE_SYSTEM_LIBRARY is set: libsse.so is not bundled, the package loads the installed one")
        return None
    if os.path.exists(os.path.join(SDIST_CRATE, "Cargo.toml")):
        target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(SDIST_CRATE, "target")
        return _cargo_build(SDIST_CRATE, os.path.abspath(target_dir))
    if _in_checkout():
        built = os.path.join(REPO, "target", "release", LIB_FILE)
        if os.path.exists(built):
            return built
        target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
        return _cargo_build(REPO, os.path.abspath(target_dir))
    _fail(
        f"no libsse sources here ({SDIST_CRATE} or a checkout around {HERE}): set LIBSSE_LIBRARY "
        f"to a built {LIB_FILE}, or LIBSSE_SYSTEM_LIBRARY=1 to use an installed libsse"
    )


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        library = find_library()
        if library:
            target = os.path.join(self.build_lib, "libsse", LIB_FILE)
            self.mkpath(os.path.dirname(target))
            shutil.copyfile(library, target)
            strip = shutil.which("strip")
            if strip and sys.platform.startswith("linux"):
                subprocess.run([strip, "--strip-unneeded", target], check=False)
            _log(f"bundled {library}")


class SdistWithCrate(sdist):
    """Adds the Rust sources of libsse under rust/ (from the checkout, or
    from the rust/ of the sdist being rebuilt)."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        source = SDIST_CRATE if os.path.exists(os.path.join(SDIST_CRATE, "Cargo.toml")) else REPO
        if not os.path.exists(os.path.join(source, "src", "lib.rs")):
            _fail(f"no libsse sources to put in the sdist (looked in {source})")
        crate = os.path.join(base_dir, "rust")
        os.makedirs(crate, exist_ok=True)
        for name in CRATE_FILES:
            shutil.copyfile(os.path.join(source, name), os.path.join(crate, name))
        for name in CRATE_DIRS:
            shutil.copytree(
                os.path.join(source, name),
                os.path.join(crate, name),
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("target", "*.o", "*.so", "*.a"),
            )
        if source == REPO:
            _standalone_manifest(os.path.join(crate, "Cargo.toml"))
        _log(f"the sdist carries the Rust sources of libsse ({source} -> rust/)")


def _standalone_manifest(path):
    """The repository's Cargo.toml as a crate of its own: no workspace
    members, no dev-dependencies (the demo server and benches stay out)."""
    kept, section = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("[") and stripped.endswith("]"):
                section = stripped.strip("[]").strip()
            if section in ("workspace", "dev-dependencies"):
                continue
            kept.append(line)
    kept.append("\n# The sdist's crate is a workspace of its own.\n[workspace]\n")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(kept)


class BuildExtWithoutRunpath(build_ext):
    """The event builder needs no RUNPATH (it links nothing but libc), yet
    Python's own link command can carry one of the build machine (a pyenv
    prefix in LDSHARED): dropped, so that no wheel points at the machine
    that built it."""

    def build_extensions(self):
        linker = getattr(self.compiler, "linker_so", None)
        if linker:
            self.compiler.linker_so = [
                arg for arg in linker if not arg.startswith(("-Wl,-rpath", "-Wl,-R", "-R/"))
            ]
        super().build_extensions()


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


def speedups_extension():
    required = bool(os.environ.get("LIBSSE_REQUIRE_SPEEDUPS"))
    try:
        spec = importlib.util.spec_from_file_location(
            "_libsse_speedups_build", os.path.join(HERE, "libsse", "_speedups_build.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ext = module.extension(os.path.join("libsse", "_speedups_module.c"))
    except Exception as error:  # setuptools broken: pure ABI mode
        if required:
            _fail(f"LIBSSE_REQUIRE_SPEEDUPS is set but the event builder cannot be built: {error}")
        _log(f"the event builder will not be built: {error}")
        return []
    ext.optional = not required  # no compiler / no Python.h: install without it
    return [ext]


setup(
    cmdclass={
        "build_py": BuildPyWithLibrary,
        "build_ext": BuildExtWithoutRunpath,
        "sdist": SdistWithCrate,
    },
    distclass=BinaryDistribution,
    ext_modules=speedups_extension(),
)
