"""The items a stream delivers, and small value types.

Every item is a ``typing.NamedTuple``: immutable, without ``__dict__``
(slotted), and the cheapest Python object with named fields to create
(``tuple.__new__``, no Python-level ``__init__``): the binding builds
millions of events per second with ``map`` over packed batches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
)

if TYPE_CHECKING:
    from ._errors import SSEError


class Event(NamedTuple):
    """A message event.

    ``event`` is the type (``"message"`` unless the server sent
    ``event:``), ``data`` the data (lines joined with ``"\\n"``), ``id`` the
    last event id in force (``""`` if none; it persists across events
    and reconnections until the server changes it). ``retry`` is the
    ``retry:`` value in milliseconds (an ``int``, as the stream gives it)
    when the event's own block of lines had one, else ``None``; the
    client applies it to its reconnection delay either way (the parser's
    latest value is :attr:`libsse.Parser.retry`).
    """

    event: str
    data: str
    id: str = ""
    retry: Optional[int] = None

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 60 else self.data[:57] + "..."
        extra = f", id={self.id!r}" if self.id else ""
        if self.retry is not None:
            extra += f", retry={self.retry}"
        return f"Event(event={self.event!r}, data={data!r}{extra})"


class Comment(NamedTuple):
    """A comment line (``: text``), typically a keep-alive."""

    text: str


class Headers(Mapping[str, str]):
    """HTTP response headers: a read-only, case-insensitive mapping.

    ``headers["Content-Type"]`` gives the first value of that header;
    :meth:`get_all` gives every value of a repeated header; iterating
    gives the (lowercased) names once each, ``items()`` too;
    :attr:`raw` keeps every ``(name, value)`` pair in order.
    """

    __slots__ = ("raw", "_first")

    def __init__(self, pairs: Iterable[Tuple[str, str]] = ()) -> None:
        self.raw: Tuple[Tuple[str, str], ...] = tuple((k.lower(), v) for k, v in pairs)
        first: Dict[str, str] = {}
        for name, value in self.raw:
            first.setdefault(name, value)
        self._first = first

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def get_all(self, name: str) -> List[str]:
        """Every value of header ``name`` (any case), in order."""
        name = name.lower()
        return [v for k, v in self.raw if k == name]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self.raw == other.raw
        if isinstance(other, Mapping):
            return dict(self._first) == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Headers({list(self.raw)!r})"


class Open(NamedTuple):
    """A connection opened (first connection and every reconnection)."""

    status: int
    headers: Headers


class Error(NamedTuple):
    """A connection failed or broke.

    ``error`` is the exception that iteration would raise (an
    :class:`libsse.SSEError` subclass with the library's message, HTTP
    status and headers when the server answered); ``fatal`` is true when
    the client gives up after it (a :class:`Closed` item follows).
    """

    error: "SSEError"
    fatal: bool


class Reconnecting(NamedTuple):
    """A reconnection follows after ``delay`` seconds (attempt ``attempt``, from 1)."""

    delay: float
    attempt: int


class CloseReason(enum.IntEnum):
    """Why a stream ended (``Closed.reason``); numbers as in the C ABI."""

    NO_CONTENT = 1
    """The server answered 204 No Content: do not reconnect."""
    END_OF_STREAM = 2
    """The stream ended cleanly and was not to reconnect: a one-shot stream
    (``max_retries=0``), ``on_end="end"``, or a POST (``on_end`` default)."""
    BY_USER = 3
    """:meth:`Client.close` was called."""
    ERROR = 4
    """A fatal error (the :class:`Error` item before) ended the client."""


class Closed(NamedTuple):
    """The stream ended for good; nothing follows."""

    reason: CloseReason


Item = Union[Event, Comment, Open, Error, Reconnecting, Closed]


class ErrorPolicy(enum.IntEnum):
    """Which errors reconnect (``connect(error_policy=...)``)."""

    DEFAULT = 0
    """Network errors, oversized events, 5xx and 429 retry; other errors end the stream."""
    ALL = 1
    """Every error except invalid settings retries."""
    NEVER = 2
    """Every error ends the stream."""


@dataclass(frozen=True)
class Retry:
    """Reconnection delays, in seconds; ``None`` keeps the library default.

    The delay starts at the server's ``retry:`` or ``initial`` (default 1 s),
    is multiplied by ``multiplier`` (2) per failed attempt up to ``max``
    (30 s), never goes below ``min`` (0.1 s), loses up to ``jitter`` (0.5)
    of itself at random, and starts over once a connection stayed up
    ``reset`` seconds (60 s).
    """

    initial: Optional[float] = None
    max: Optional[float] = None
    min: Optional[float] = None
    multiplier: Optional[float] = None
    jitter: Optional[float] = None
    reset: Optional[float] = None


@dataclass(frozen=True)
class Stats:
    """A client's counters at one moment (``client.stats``).

    ``events`` and ``data_bytes``: message events delivered and the bytes
    of their data; ``wire_bytes``: bytes received (heads included, before
    chunked and gzip decoding); ``connections`` opened, ``reconnects``
    scheduled, ``errors`` reported (fatal or not), ``errors_by_kind`` the
    non-zero error counts by exception name (e.g. ``{"HTTPStatusError":
    3}``); ``queue_depth`` items waiting now, ``queue_peak`` the most at
    once; ``connected`` whether a connection is open, ``connected_seconds``
    the time spent connected; ``last_event_at`` / ``last_error_at`` Unix
    timestamps (None if none); ``last_error`` the last error's message.
    """

    events: int = 0
    data_bytes: int = 0
    wire_bytes: int = 0
    connections: int = 0
    reconnects: int = 0
    errors: int = 0
    errors_by_kind: Dict[str, int] = field(default_factory=dict, hash=False)
    queue_depth: int = 0
    queue_peak: int = 0
    connected: bool = False
    connected_seconds: float = 0.0
    last_event_at: Optional[float] = None
    last_error_at: Optional[float] = None
    last_error: Optional[str] = None


__all__ = [
    "Stats",
    "Event",
    "Comment",
    "Headers",
    "Open",
    "Error",
    "Reconnecting",
    "CloseReason",
    "Closed",
    "Item",
    "ErrorPolicy",
    "Retry",
]
