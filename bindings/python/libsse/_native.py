"""Loads ``libsse.so`` with cffi (ABI mode) and the optional batch packer.

Where the library is looked for, first match wins:

1. ``$LIBSSE_LIBRARY``: the path of the shared library (an explicit choice
   always wins, e.g. to try a fresh build with an installed package);
2. next to this module: ``pip install`` copies it into the package;
3. ``target/release/`` of the source checkout this package sits in
   (``bindings/python/libsse`` -> ``../../../target/release``);
4. the system's search path (``libsse.so`` in ``ld.so.cache``,
   ``LD_LIBRARY_PATH``), then its SONAME ``libsse.so.0`` (a runtime-only
   install has no unversioned link).
"""

from __future__ import annotations

import os
import sys
from typing import Any, List, Optional

import cffi

from ._cdef import CDEF

_LIB_NAMES = {"darwin": "libsse.dylib", "win32": "sse.dll"}
LIB_FILE = _LIB_NAMES.get(sys.platform, "libsse.so")

_HERE = os.path.dirname(os.path.abspath(__file__))


def candidates() -> List[str]:
    """The paths tried, in order (see the module doc)."""
    found = []
    env = os.environ.get("LIBSSE_LIBRARY")
    if env:
        found.append(env)
    found.append(os.path.join(_HERE, LIB_FILE))
    # A source checkout: <repo>/bindings/python/libsse/_native.py
    repo = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
    found.append(os.path.join(repo, "target", "release", LIB_FILE))
    return found


def _load(ffi: cffi.FFI) -> Any:
    env = os.environ.get("LIBSSE_LIBRARY")
    tried = []
    for path in candidates():
        if os.path.exists(path):
            return ffi.dlopen(path), path
        tried.append(path)
        if env and path == env:
            raise OSError(f"LIBSSE_LIBRARY={env!r}: no such file")
    names = [LIB_FILE] + ([LIB_FILE + ".0"] if LIB_FILE.endswith(".so") else [])
    error: Optional[OSError] = None
    for name in names:
        try:
            return ffi.dlopen(name), name
        except OSError as e:
            error = error or e
    raise OSError(
        f"libsse: cannot find {LIB_FILE} (tried {', '.join(tried)} and "
        f"{' and '.join(names)} on the system search path: {error}). Build it "
        "with `cargo build --release` or set LIBSSE_LIBRARY to its path."
    ) from None


ffi = cffi.FFI()
ffi.cdef(CDEF)
lib, LIBRARY_PATH = _load(ffi)


def _address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


# The compiled batch packer (see _speedups_build.py), if it was built.
speedups: Optional[Any] = None
api: Optional[Any] = None
if not os.environ.get("LIBSSE_PURE"):
    try:
        from . import _speedups as speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:
        speedups = None


def _bind_speedups() -> Optional[Any]:
    """The packer's table of libsse functions; None if the compiled packer
    is stale (built from another version of this package)."""
    sffi = speedups.ffi  # type: ignore[union-attr]
    table = sffi.new("libsse_py_api *")
    try:
        for field, name in (
            ("next_batch", "sse_next_batch"),
            ("batch_len", "sse_batch_len"),
            ("batch_event", "sse_batch_event"),
            ("batch_free", "sse_batch_free"),
            ("parser_next", "sse_parser_next"),
            ("kind", "sse_event_kind"),
            ("type", "sse_event_type"),
            ("type_len", "sse_event_type_len"),
            ("data", "sse_event_data"),
            ("id", "sse_event_id"),
            ("id_len", "sse_event_id_len"),
            ("retry", "sse_event_retry_ms"),
            ("free", "sse_event_free"),
        ):
            setattr(table, field, sffi.cast(sffi.typeof(getattr(table, field)), _address(name)))
        for function in ("libsse_py_client_pull", "libsse_py_current", "libsse_py_advance"):
            getattr(speedups.lib, function)  # type: ignore[union-attr]
    except AttributeError:
        return None
    return table


if speedups is not None:
    api = _bind_speedups()
    if api is None:
        speedups = None


def to_abi(pointer: Any, ctype: str) -> Any:
    """A pointer of the packer's ffi as a pointer of the binding's ffi."""
    return ffi.cast(ctype, int(speedups.ffi.cast("uintptr_t", pointer)))  # type: ignore[union-attr]


def to_speedups(pointer: Any, ctype: str) -> Any:
    """A pointer of the binding's ffi as a pointer of the packer's ffi."""
    return speedups.ffi.cast(ctype, int(ffi.cast("uintptr_t", pointer)))  # type: ignore[union-attr]


def cstr(pointer: Any) -> str:
    """A borrowed NUL-terminated UTF-8 string as str ("" for NULL)."""
    if pointer == ffi.NULL:
        return ""
    return ffi.string(pointer).decode("utf-8", "replace")
