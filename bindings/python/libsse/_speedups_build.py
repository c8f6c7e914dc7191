"""Builds ``libsse._speedups``, the optional compiled event builder.

The binding calls libsse through cffi's ABI mode (no compiler needed).
Reading one event through the C ABI takes five calls (kind, type, data, id,
retry), about 1 us per event from Python. ``_speedups_module.c`` is a small
CPython extension (C and ``Python.h`` only, no cffi) that makes those calls
natively for a whole batch and builds the list of :class:`libsse.Event`
tuples itself, straight from the library's memory: one UTF-8 decode per
data string (``"replace"``, as the pure path), and a type or id equal to
the previous event's shared as one str object. Python crosses into C once
per run of messages.

Client items come through ``sse_next_batch`` (one network read's items,
owned by the batch: no per-event free; the GIL is released while it
waits); parser items through ``sse_parser_next``. Other kinds (open,
error, reconnecting, closed, comments unless skipped) go through the slow
path in Python (cffi).

It does not link against libsse: the binding hands it the addresses of the
libsse functions it loaded (``_speedups.bind``), so it works with whichever
``libsse.so`` the binding found. Without a C compiler or the Python headers
the package still works, only slower (see ``libsse.ACCELERATED``).

Build in place (what ``run-tests.sh`` does)::

    python3 -m libsse._speedups_build
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "_speedups_module.c")
COMPILE_ARGS = ["-O2", "-fno-strict-aliasing"]


def extension(source: str = SOURCE):  # type: ignore[no-untyped-def]
    """The setuptools Extension of the module (``source``: the path to
    give it, relative to setup.py when called from there)."""
    from setuptools import Extension

    return Extension("libsse._speedups", [source], extra_compile_args=COMPILE_ARGS)


def build_in_place() -> str:
    """Compiles the module and copies it next to this file; returns its path."""
    import shutil
    import tempfile

    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    with tempfile.TemporaryDirectory(prefix="libsse-speedups-") as tmp:
        dist = Distribution({"name": "libsse-speedups", "ext_modules": [extension()]})
        cmd = build_ext(dist)
        cmd.build_lib = os.path.join(tmp, "lib")
        cmd.build_temp = os.path.join(tmp, "temp")
        cmd.ensure_finalized()
        cmd.run()
        built = cmd.get_ext_fullpath("libsse._speedups")
        target = os.path.join(HERE, os.path.basename(built))
        shutil.copyfile(built, target + ".tmp")
        os.replace(target + ".tmp", target)
    return target


if __name__ == "__main__":
    path = build_in_place()
    print(path)
