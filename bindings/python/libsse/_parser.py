"""``Parser``: libsse's spec-exact parser for bring-your-own-HTTP users."""

from __future__ import annotations

import operator
import threading
import weakref
from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, List, Union

from . import _errors as E
from ._batch import new_batch
from ._native import cstr, ffi, lib
from ._types import Comment, Event

Buffer = Union[bytes, bytearray, memoryview]


def _free(parser: Any, batch: Any) -> None:
    batch.release()
    lib.sse_parser_free(parser)


class Parser:
    """An incremental ``text/event-stream`` parser (WHATWG rules, any chunking).

    Feed it the body bytes as they arrive, from httpx, aiohttp, requests,
    a socket...::

        parser = libsse.Parser()
        for chunk in response.iter_bytes():
            for event in parser.feed(chunk):
                print(event.event, event.data)

    or let it iterate: ``for event in parser.stream(response.iter_bytes())``
    (``async for event in parser.stream_async(response.aiter_bytes())``).

    Lines end in LF, CR or CRLF (also split across chunks), one leading BOM
    is dropped, invalid UTF-8 becomes U+FFFD, an unterminated event at the
    end is discarded. ``max_event_bytes`` bounds one line and one event's
    data (0: 16 MiB); past it :meth:`feed` raises :class:`EventTooLarge`
    (that event is dropped; the events parsed before the error wait for
    the next call). One thread at a time: a call while another thread is
    inside one raises RuntimeError; :meth:`close` waits for that call to
    return.
    """

    def __init__(self, max_event_bytes: int = 0) -> None:
        try:
            limit = operator.index(max_event_bytes)
        except TypeError:
            raise TypeError(f"max_event_bytes must be an int, not {type(max_event_bytes).__name__}") from None
        if not 0 <= limit < 2**64:
            raise E.InvalidArgument(f"max_event_bytes must be between 0 and 2**64 - 1 (got {limit})")
        ptr = lib.sse_parser_new(limit)
        if ptr == ffi.NULL:
            raise E.InternalError("sse_parser_new failed")
        self._ptr = ptr
        self._batch = new_batch()
        self._sptr = self._batch.pointer(ptr, "struct sse_parser *")
        self._pending: List[Any] = []
        # _mutex guards _busy, _owner, _taken and _doomed; _enter and _leave
        # take it directly (a C lock's with-statement cannot be cut by an
        # interrupt between the acquire and the block, a Condition's can);
        # close() waits on _idle, a condition over the same lock.
        self._mutex = threading.Lock()
        self._idle = threading.Condition(self._mutex)
        self._busy = False  # a call is inside
        self._owner = 0  # the thread of that call
        self._taken = 0  # how many calls took the parser so far
        self._doomed = False  # close() was called
        self._finalizer = weakref.finalize(self, _free, ptr, self._batch)

    def _enter(self) -> None:
        """Takes the parser for a call of this thread, or raises. Called
        inside the try whose finally calls _leave(taken), `taken` read just
        before: an exception (KeyboardInterrupt) landing anywhere in here
        leaves the parser free again, and a refused call (another thread
        inside, or this one from a signal handler) frees nothing."""
        me = threading.get_ident()
        with self._mutex:
            if self._busy:
                raise RuntimeError(
                    "this libsse Parser is in use by another thread (or by a call of this thread that an "
                    "exception cut short on its way out): a Parser is not thread-safe"
                )
            if self._doomed or not self._finalizer.alive:
                raise ValueError("the parser is closed")
            self._owner = me
            self._taken += 1
            self._busy = True

    def _leave(self, taken: int) -> None:
        """Ends the call that read `taken` before its _enter: frees the
        parser if that very call took it."""
        with self._mutex:
            if not (self._busy and self._taken == taken + 1 and self._owner == threading.get_ident()):
                return  # that call was refused (or never got to take it)
            self._busy = False
            self._idle.notify_all()
            doomed = self._doomed
        if doomed:
            self._finalizer()

    def _feed(self, data: Buffer, events_only: bool) -> List[Any]:
        taken = self._taken
        try:
            self._enter()
            return self._feed_entered(data, events_only)
        finally:
            self._leave(taken)

    def _feed_entered(self, data: Buffer, events_only: bool) -> List[Any]:
        status = E.OK
        if data:
            buf = ffi.from_buffer("uint8_t[]", data)
            status = lib.sse_parser_feed(self._ptr, buf, len(buf))
        out = self._pending
        self._pending = []
        pull = self._batch.pull_parser
        sptr = self._sptr
        while True:
            got, events, other, _ = pull(sptr, events_only)
            if got != E.OK:
                break
            if events is not None:
                out.extend(events)
            if other is not None and (not events_only or type(other) is Event):
                out.append(other)
        if status != E.OK:
            self._pending = out
            raise E.make_error(status, f"an event or line exceeded the maximum size ({E.STATUS_NAMES.get(status, status)})")
        return out

    def feed(self, data: Buffer) -> List[Event]:
        """Parses ``data``; returns the events it completed (comments skipped)."""
        return self._feed(data, True)

    def feed_all(self, data: Buffer) -> List[Union[Event, Comment]]:
        """Like :meth:`feed`, with the comments too, in stream order."""
        return self._feed(data, False)

    def finish(self) -> List[Event]:
        """Ends the stream: an unterminated event is discarded. The parser is
        then ready for a new stream (a reconnection), keeping
        :attr:`last_event_id` and :attr:`retry`. Returns events still pending."""
        taken = self._taken
        try:
            self._enter()
            lib.sse_parser_finish(self._ptr)
            return self._feed_entered(b"", True)
        finally:
            self._leave(taken)

    @property
    def last_event_id(self) -> str:
        """The last event id the stream set ("" if none): send it as Last-Event-ID."""
        taken = self._taken
        try:
            self._enter()
            return cstr(lib.sse_parser_last_event_id(self._ptr))
        finally:
            self._leave(taken)

    @property
    def retry(self) -> "int | None":
        """The last valid ``retry:`` value in milliseconds, or None."""
        taken = self._taken
        try:
            self._enter()
            value = lib.sse_parser_retry_ms(self._ptr)
        finally:
            self._leave(taken)
        return None if value < 0 else value

    def stream(self, chunks: Iterable[Buffer]) -> Iterator[Event]:
        """The events of an iterable of byte chunks (then :meth:`finish`)."""
        for chunk in chunks:
            yield from self.feed(chunk)
        yield from self.finish()

    async def stream_async(self, chunks: AsyncIterable[Buffer]) -> AsyncIterator[Event]:
        """The events of an async iterable of byte chunks (then :meth:`finish`)."""
        async for chunk in chunks:
            for event in self.feed(chunk):
                yield event
        for event in self.finish():
            yield event

    def lines(self, lines: Iterable[Union[str, Buffer]]) -> Iterator[Event]:
        """The events of an iterable of lines with their line ends removed
        (``requests``' ``iter_lines()``, httpx's ``iter_lines()``, a list of
        ``str``), as zerodep's ``EventSource`` takes them; then :meth:`finish`."""
        for line in lines:
            yield from self.feed(_line_bytes(line))
        yield from self.finish()

    async def lines_async(self, lines: AsyncIterable[Union[str, Buffer]]) -> AsyncIterator[Event]:
        """Like :meth:`lines`, over an async iterable (httpx's ``aiter_lines()``)."""
        async for line in lines:
            for event in self.feed(_line_bytes(line)):
                yield event
        for event in self.finish():
            yield event

    def close(self) -> None:
        """Frees the native parser (also done when garbage collected). If
        another thread is inside a call, waits for it to return first;
        called inside a call of this thread (a signal handler), frees
        when that call returns."""
        with self._idle:
            self._doomed = True
            if self._busy:
                if self._owner == threading.get_ident():
                    return  # _leave frees it
                self._idle.wait_for(lambda: not self._busy)
        self._finalizer()

    def __enter__(self) -> "Parser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _line_bytes(line: Union[str, Buffer]) -> bytes:
    """A line without its end, as bytes ending in LF."""
    if isinstance(line, str):
        return line.encode("utf-8", "surrogateescape") + b"\n"
    return bytes(line) + b"\n"
