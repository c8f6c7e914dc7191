"""Loads ``libsse.so`` with cffi (ABI mode) and the optional compiled event builder (``_speedups``).

The declarations come parsed already (``_abi.py``, cffi's out-of-line ABI
mode, generated from ``_cdef.py`` by ``_abi_build.py``): the import needs
only ``_cffi_backend``, not pycparser (which would cost ~5 MiB of RSS and
~40 ms to parse the same text at every start).

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

from ._abi import ffi

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


def _load(ffi: Any) -> Any:
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


lib, LIBRARY_PATH = _load(ffi)


def _address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, name)))


# The compiled event builder (see _speedups_build.py), if it was built.
speedups: Optional[Any] = None
if not os.environ.get("LIBSSE_PURE"):
    try:
        from . import _speedups as speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:
        speedups = None

# The libsse functions the compiled module calls, in the order of its table.
SPEEDUPS_FUNCTIONS = (
    "sse_next_batch",
    "sse_batch_len",
    "sse_batch_event",
    "sse_batch_free",
    "sse_parser_next",
    "sse_event_kind",
    "sse_event_type",
    "sse_event_type_len",
    "sse_event_data",
    "sse_event_id",
    "sse_event_id_len",
    "sse_event_retry_ms",
    "sse_event_free",
    "sse_batch_views",
)


def _bind_speedups() -> bool:
    """Hands the compiled module the libsse functions and the Event type;
    False if it is stale (built from another version of this package, e.g.
    the former cffi batch packer)."""
    from ._types import Event

    if getattr(speedups, "ABI", None) != 3 or not all(hasattr(speedups, n) for n in ("bind", "Batch", "AsyncBase")):
        return False
    try:
        speedups.bind(tuple(_address(name) for name in SPEEDUPS_FUNCTIONS), Event)  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return False
    return True


if speedups is not None and not _bind_speedups():
    speedups = None


def address(pointer: Any) -> int:
    """The address of a cffi pointer, as the compiled module takes it."""
    return int(ffi.cast("uintptr_t", pointer))


def cstr(pointer: Any) -> str:
    """A borrowed NUL-terminated UTF-8 string as str ("" for NULL)."""
    if pointer == ffi.NULL:
        return ""
    return ffi.string(pointer).decode("utf-8", "replace")
