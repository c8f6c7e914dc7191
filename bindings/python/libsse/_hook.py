"""``headers=`` as a callable: libsse's request hook, run before every
connection attempt.

One pair of module-level cffi callbacks serves every client: the user's
callable travels as the hook's ``userdata`` (an ``ffi.new_handle``), kept
alive in ``_live`` until libsse's ``userdata_free`` says that neither the
config nor any client uses it any more. The hook runs on a libsse
background thread; cffi takes the GIL for the call.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Iterable, Mapping, Tuple, Union

from . import _errors as E
from ._native import ffi, lib

HeaderPairs = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
HeadersHook = Callable[[], HeaderPairs]

logger = logging.getLogger("libsse")

# Handles of the hooks libsse may still call, by address.
_live: Dict[int, Any] = {}


def _address(pointer: Any) -> int:
    return int(ffi.cast("uintptr_t", pointer))


def _encode(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} must not contain NUL")
    return value.encode("utf-8")


def _apply(request: Any, headers: HeaderPairs) -> None:
    """Sets each header on the attempt, replacing same-named ones."""
    if not headers:
        return
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        raw_name, raw_value = _encode(name, "header name"), _encode(value, "header value")
        if lib.sse_request_set_header(request, raw_name, raw_value) != E.OK:
            # libsse refused it and fails the attempt with its own message
            # (which names the header), whatever the hook returns.
            return


def _message(error: BaseException) -> bytes:
    text = str(error)
    text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text.replace("\0", "\\0").encode("utf-8", "replace")


@ffi.callback("enum sse_status(void *, struct sse_request *)", error=E.ERR_REQUEST_HOOK)
def _on_request(userdata, request):  # type: ignore[no-untyped-def]
    try:
        _apply(request, ffi.from_handle(userdata)())
    except BaseException as error:  # never let an exception reach C
        logger.debug("the headers callable raised", exc_info=True)
        lib.sse_request_fail(request, _message(error))
        return E.ERR_REQUEST_HOOK
    return E.OK


@ffi.callback("void(void *)")
def _release(userdata):  # type: ignore[no-untyped-def]
    _live.pop(_address(userdata), None)


def install(config: Any, hook: HeadersHook) -> int:
    """Makes ``hook`` the request hook of ``config``; returns its status."""
    handle = ffi.new_handle(hook)
    _live[_address(handle)] = handle
    # On any status libsse has already run _release (or will, with the config).
    return lib.sse_config_set_request_hook(config, _on_request, handle, _release)
