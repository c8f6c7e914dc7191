"""Exceptions, one per libsse status, under :class:`SSEError`."""

from __future__ import annotations

from typing import Dict, Optional, Type

from ._types import Headers

# sse_status numbers (stable in the C ABI).
OK = 0
TIMEOUT = 1
CLOSED = 2
ERR_ARGUMENT = 3
ERR_URL = 4
ERR_CONNECT = 5
ERR_TLS = 6
ERR_HTTP_STATUS = 7
ERR_CONTENT_TYPE = 8
ERR_IO = 9
ERR_TOO_LARGE = 10
ERR_RETRIES_EXHAUSTED = 11
ERR_INTERNAL = 12
ERR_READ_TIMEOUT = 13

STATUS_NAMES = {
    OK: "SSE_OK",
    TIMEOUT: "SSE_TIMEOUT",
    CLOSED: "SSE_CLOSED",
    ERR_ARGUMENT: "SSE_ERR_ARGUMENT",
    ERR_URL: "SSE_ERR_URL",
    ERR_CONNECT: "SSE_ERR_CONNECT",
    ERR_TLS: "SSE_ERR_TLS",
    ERR_HTTP_STATUS: "SSE_ERR_HTTP_STATUS",
    ERR_CONTENT_TYPE: "SSE_ERR_CONTENT_TYPE",
    ERR_IO: "SSE_ERR_IO",
    ERR_TOO_LARGE: "SSE_ERR_TOO_LARGE",
    ERR_RETRIES_EXHAUSTED: "SSE_ERR_RETRIES_EXHAUSTED",
    ERR_INTERNAL: "SSE_ERR_INTERNAL",
    ERR_READ_TIMEOUT: "SSE_ERR_READ_TIMEOUT",
}


class SSEError(Exception):
    """Base of every libsse error.

    ``message`` is the library's message, ``code`` the C status number
    (``code_name`` its name, e.g. ``"SSE_ERR_TLS"``), ``status`` the HTTP
    status when the server answered (else 0), ``headers`` its response
    headers (empty when none), ``retry_after`` the server's Retry-After in
    seconds (or None).
    """

    code: int = ERR_INTERNAL

    def __init__(
        self,
        message: str = "",
        *,
        code: Optional[int] = None,
        status: int = 0,
        headers: Optional[Headers] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status
        self.headers = headers if headers is not None else Headers()
        self.retry_after = retry_after

    @property
    def code_name(self) -> str:
        return STATUS_NAMES.get(self.code, "SSE_UNKNOWN_STATUS")

    def __str__(self) -> str:
        return self.message or self.code_name

    def __reduce__(self):  # picklable with its attributes
        return (
            _rebuild,
            (type(self), self.message, self.code, self.status, tuple(self.headers.raw), self.retry_after),
        )


def _rebuild(cls, message, code, status, headers, retry_after):  # type: ignore[no-untyped-def]
    error = SSEError.__new__(cls)
    SSEError.__init__(error, message, code=code, status=status, headers=Headers(headers), retry_after=retry_after)
    return error


class InvalidArgument(SSEError, ValueError):
    """A setting or argument was refused (SSE_ERR_ARGUMENT)."""

    code = ERR_ARGUMENT


class StreamCancelled(SSEError):
    """An asyncio read of the stream was cancelled (the task was cancelled,
    or an ``asyncio.wait_for`` timed out), which closed the stream for good;
    reads after it raise this rather than report a normal end. Use
    ``next(timeout)`` to wait with a time limit and keep the stream."""

    code = CLOSED


class InvalidURL(InvalidArgument):
    """The URL (in the config or a redirect) is malformed, not http/https, or
    has a port outside 1-65535 (SSE_ERR_URL)."""

    code = ERR_URL


class ConnectError(SSEError):
    """Name resolution or the TCP connection failed (SSE_ERR_CONNECT)."""

    code = ERR_CONNECT


class TLSError(ConnectError):
    """The TLS handshake or certificate verification failed (SSE_ERR_TLS)."""

    code = ERR_TLS


class HTTPStatusError(SSEError):
    """The server answered with an unexpected status (SSE_ERR_HTTP_STATUS).

    ``status`` and ``headers`` hold the response's status and headers.
    """

    code = ERR_HTTP_STATUS

    def __init__(
        self,
        status: int,
        headers: Optional[Headers] = None,
        message: Optional[str] = None,
        *,
        retry_after: Optional[float] = None,
        code: Optional[int] = None,
    ) -> None:
        super().__init__(
            message if message is not None else f"HTTP status {status}",
            code=code,
            status=status,
            headers=headers,
            retry_after=retry_after,
        )


class ContentTypeError(SSEError):
    """The response is not ``text/event-stream`` (SSE_ERR_CONTENT_TYPE).

    ``content_type`` holds what the server sent ("" if nothing).
    """

    code = ERR_CONTENT_TYPE

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class NetworkError(SSEError):
    """The connection broke or the server sent invalid HTTP (SSE_ERR_IO)."""

    code = ERR_IO


class ReadTimeout(NetworkError):
    """No byte arrived within ``read_timeout`` (SSE_ERR_READ_TIMEOUT)."""

    code = ERR_READ_TIMEOUT


class EventTooLarge(SSEError):
    """A line or an event exceeded ``max_event_bytes`` (SSE_ERR_TOO_LARGE)."""

    code = ERR_TOO_LARGE


class RetriesExhausted(SSEError):
    """The retry limits were reached (SSE_ERR_RETRIES_EXHAUSTED).

    ``__cause__`` is the last connection error when one was seen.
    """

    code = ERR_RETRIES_EXHAUSTED


class InternalError(SSEError):
    """A bug in libsse (SSE_ERR_INTERNAL); please report it."""

    code = ERR_INTERNAL


ERROR_CLASSES: Dict[int, Type[SSEError]] = {
    ERR_ARGUMENT: InvalidArgument,
    ERR_URL: InvalidURL,
    ERR_CONNECT: ConnectError,
    ERR_TLS: TLSError,
    ERR_HTTP_STATUS: HTTPStatusError,
    ERR_CONTENT_TYPE: ContentTypeError,
    ERR_IO: NetworkError,
    ERR_READ_TIMEOUT: ReadTimeout,
    ERR_TOO_LARGE: EventTooLarge,
    ERR_RETRIES_EXHAUSTED: RetriesExhausted,
    ERR_INTERNAL: InternalError,
}


def make_error(
    code: int,
    message: str,
    *,
    status: int = 0,
    headers: Optional[Headers] = None,
    retry_after: Optional[float] = None,
) -> SSEError:
    """The exception for status ``code``, with the library's message."""
    cls = ERROR_CLASSES.get(code, SSEError)
    if not message:
        message = STATUS_NAMES.get(code, f"libsse status {code}")
    if cls is HTTPStatusError:
        return HTTPStatusError(status, headers, message, retry_after=retry_after)
    return cls(message, code=code, status=status, headers=headers, retry_after=retry_after)
