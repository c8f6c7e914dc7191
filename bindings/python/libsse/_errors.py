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
ERR_REQUEST_HOOK = 14

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
    ERR_REQUEST_HOOK: "SSE_ERR_REQUEST_HOOK",
}


class SSEError(Exception):
    """Base of every libsse error.

    ``message`` is the library's message, ``code`` the C status number
    (``code_name`` its name, e.g. ``"SSE_ERR_TLS"``), ``status`` the HTTP
    status when the server answered (else 0), ``headers`` its response
    headers (empty when none), ``retry_after`` the server's Retry-After in
    seconds (or None), ``body`` the first 64 KiB of a refusal's body
    (``b""`` when none; see :class:`HTTPStatusError`).
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
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status
        self.headers = headers if headers is not None else Headers()
        self.retry_after = retry_after
        self.body = body

    @property
    def code_name(self) -> str:
        return STATUS_NAMES.get(self.code, "SSE_UNKNOWN_STATUS")

    def __str__(self) -> str:
        return self.message or self.code_name

    def __reduce__(self):  # picklable with its attributes
        return (
            _rebuild,
            (type(self), self.message, self.code, self.status, tuple(self.headers.raw), self.retry_after, self.body),
        )


def _rebuild(cls, message, code, status, headers, retry_after, body=b""):  # type: ignore[no-untyped-def]
    error = SSEError.__new__(cls)
    SSEError.__init__(
        error, message, code=code, status=status, headers=Headers(headers), retry_after=retry_after, body=body
    )
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

    ``status`` and ``headers`` hold the response's status and headers,
    ``body`` the first 64 KiB of its body as bytes (the server's reason,
    often JSON: ``json.loads(error.body)``; decoded if gzip-coded);
    ``b""`` when it was empty or in another content coding.
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
        body: bytes = b"",
    ) -> None:
        super().__init__(
            message if message is not None else f"HTTP status {status}",
            code=code,
            status=status,
            headers=headers,
            retry_after=retry_after,
            body=body,
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


class RequestHookError(SSEError):
    """The ``headers`` callable raised, or returned a header the library
    refuses (SSE_ERR_REQUEST_HOOK); the attempt is retried with backoff.
    The message is ``"request hook: <ExceptionType>: <message>"``."""

    code = ERR_REQUEST_HOOK


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
    ERR_REQUEST_HOOK: RequestHookError,
}


def make_error(
    code: int,
    message: str,
    *,
    status: int = 0,
    headers: Optional[Headers] = None,
    retry_after: Optional[float] = None,
    body: bytes = b"",
) -> SSEError:
    """The exception for status ``code``, with the library's message."""
    cls = ERROR_CLASSES.get(code, SSEError)
    if not message:
        message = STATUS_NAMES.get(code, f"libsse status {code}")
    if cls is HTTPStatusError:
        return HTTPStatusError(status, headers, message, retry_after=retry_after, body=body)
    return cls(message, code=code, status=status, headers=headers, retry_after=retry_after, body=body)


def kind_name(code: int) -> str:
    """The name of the exception class of status ``code`` (e.g.
    ``"HTTPStatusError"``), or the status name for the others."""
    cls = ERROR_CLASSES.get(code)
    return cls.__name__ if cls is not None else STATUS_NAMES.get(code, f"status {code}")
