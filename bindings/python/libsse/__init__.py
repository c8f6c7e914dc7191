"""libsse: a spec-exact, reconnecting Server-Sent Events client.

Python binding over libsse's C ABI (cffi). The connection, parsing,
reconnection (with Last-Event-ID and backoff) and timeouts run in the
library's own background thread; Python takes the events in batches::

    import libsse

    with libsse.connect("https://example.com/stream") as client:
        for event in client:
            print(event.event, event.data, event.id)

    async with libsse.connect_async("https://example.com/stream") as client:
        async for event in client:
            print(event.data)

``libsse.Parser`` parses bytes you fetched yourself (httpx, aiohttp...).
Logging goes to the standard ``logging`` logger ``"libsse"``.
"""

from typing import TYPE_CHECKING

from ._native import LIBRARY_PATH, ffi as _ffi, lib as _lib
from ._batch import ACCELERATED
from ._types import (
    Closed,
    CloseReason,
    Comment,
    Error,
    ErrorPolicy,
    Event,
    Headers,
    Item,
    Open,
    Reconnecting,
    Retry,
    Stats,
)
from ._errors import (
    ConnectError,
    ContentTypeError,
    EventTooLarge,
    HTTPStatusError,
    InternalError,
    InvalidArgument,
    InvalidURL,
    NetworkError,
    ReadTimeout,
    RequestHookError,
    RetriesExhausted,
    SSEError,
    StreamCancelled,
    TLSError,
)
from ._client import Client, connect
from ._parser import Parser
from . import _log  # installs the log hook

__version__ = "0.1.0"

# The asyncio client is imported on first use (see _async.py): a program
# that does not use it does not import asyncio.
_ASYNC_NAMES = ("AsyncClient", "connect_async")
if TYPE_CHECKING:
    from ._async import AsyncClient, connect_async


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _ASYNC_NAMES:
        from . import _async

        value = getattr(_async, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():  # type: ignore[no-untyped-def]
    return sorted(set(globals()) | set(_ASYNC_NAMES))


def library_version() -> str:
    """The version of the loaded libsse (e.g. ``"0.1.0"``)."""
    return _ffi.string(_lib.sse_version()).decode()


__all__ = [
    "ACCELERATED",
    "LIBRARY_PATH",
    "AsyncClient",
    "Client",
    "Closed",
    "CloseReason",
    "Comment",
    "ConnectError",
    "ContentTypeError",
    "Error",
    "ErrorPolicy",
    "Event",
    "EventTooLarge",
    "HTTPStatusError",
    "Headers",
    "InternalError",
    "InvalidArgument",
    "InvalidURL",
    "Item",
    "NetworkError",
    "Open",
    "Parser",
    "ReadTimeout",
    "Reconnecting",
    "RequestHookError",
    "Retry",
    "RetriesExhausted",
    "SSEError",
    "Stats",
    "StreamCancelled",
    "TLSError",
    "connect",
    "connect_async",
    "library_version",
]
