"""Routes libsse's log hook into the ``logging`` logger ``"libsse"``.

The hook is process-wide and receives only lifecycle messages
(connecting, open, reconnecting, errors, closed), never one per event.
Messages arrive on the library's background thread and cffi takes the GIL
for each, so libsse is asked only for the levels the ``libsse`` logger
lets through: its effective level is read at import and again at every
``connect``/``connect_async`` (configure the logger before connecting; a
level lowered later applies from the next connect). The default
(WARNING, from the root logger) keeps the engine thread off the GIL at
every open and close: a close from another thread ended an asyncio loop
2.5-4.9 ms late (p99) when the hook took DEBUG, 0.5 ms without it. The
hook is removed at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging

from ._native import ffi, lib

logger = logging.getLogger("libsse")
# A library does not print by itself: without a configured handler the
# messages are dropped (not sent to logging.lastResort on stderr).
logger.addHandler(logging.NullHandler())

_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_DEBUG = 4
_installed = [-1]  # the max level handed to libsse (0: no hook)


def _wanted() -> int:
    """The most verbose libsse level the logger lets through (0: none)."""
    level = logger.getEffectiveLevel()
    return max((n for n, py in _LEVELS.items() if py >= level), default=0)


@ffi.callback("void(void *, enum sse_log_level, const char *)")
def _on_log(userdata, level, message):  # type: ignore[no-untyped-def]
    try:
        py_level = _LEVELS.get(level, logging.INFO)
        if logger.isEnabledFor(py_level):
            logger.log(py_level, "%s", ffi.string(message).decode("utf-8", "replace"))
    except BaseException:  # never let an exception reach C
        pass


def install() -> None:
    """(Re)installs the hook at the logger's level; done at import and by
    every connect (a cheap check when the level did not change)."""
    wanted = _wanted()
    if wanted != _installed[0]:
        _installed[0] = wanted
        lib.sse_set_log_callback(_on_log if wanted else ffi.NULL, ffi.NULL, wanted or _DEBUG)


def uninstall() -> None:
    """Removes the hook (libsse logs nothing until :func:`install`)."""
    _installed[0] = 0
    lib.sse_set_log_callback(ffi.NULL, ffi.NULL, _DEBUG)


install()
atexit.register(uninstall)
