"""Routes libsse's log hook into the ``logging`` logger ``"libsse"``.

The hook is process-wide and receives only lifecycle messages
(connecting, open, reconnecting, errors, closed), never one per event, so
it is installed once at import at the most verbose level and ``logging``
does the filtering: configure the ``libsse`` logger as usual, at any time.
Messages arrive on the library's background threads; cffi takes the GIL
for the call. The hook is removed at interpreter exit.
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


@ffi.callback("void(void *, enum sse_log_level, const char *)")
def _on_log(userdata, level, message):  # type: ignore[no-untyped-def]
    try:
        py_level = _LEVELS.get(level, logging.INFO)
        if logger.isEnabledFor(py_level):
            logger.log(py_level, "%s", ffi.string(message).decode("utf-8", "replace"))
    except BaseException:  # never let an exception reach C
        pass


def install() -> None:
    """(Re)installs the hook; done at import."""
    lib.sse_set_log_callback(_on_log, ffi.NULL, _DEBUG)


def uninstall() -> None:
    """Removes the hook (libsse logs nothing until :func:`install`)."""
    lib.sse_set_log_callback(ffi.NULL, ffi.NULL, _DEBUG)


install()
atexit.register(uninstall)
