"""Taking items out of libsse in batches.

A batch holds the items of one ``sse_next_batch`` call (one network
read's items, owned by the libsse batch: one free for all) or the pending
items of a parser and hands them to Python in runs: the consecutive
messages as one iterator of :class:`Event` built at C speed, then at most
one other item (open, comment, error, ...) converted by the slow path.

Two implementations with the same interface:

* ``CBatch`` uses the compiled module ``_speedups`` (a CPython
  extension, see ``_speedups_module.c``): one call per run builds the list
  of :class:`Event` tuples straight from the library's memory (one decode
  per data string; a type or id equal to the previous event's is the same
  str object).
* ``PyBatch`` uses only the ABI-mode calls: five calls per event (a type
  or id equal to the previous event's is the same str object here too).

Invariant (both): ``release()`` frees exactly what was not handed out,
whatever interrupted the consumer (the libsse batch as a whole; of parser
items, the non-NULL slots: slots before ``pos`` are NULL).

Hand-over (client pulls): a pull returns a result and its number ``seq``;
the result stays in the batch until the consumer stores ``taken = seq``
(a plain attribute store, in the same run of bytecodes, free of calls, as
the stores of the result: a signal handler cannot run in between). A pull
that finds ``taken != seq`` (a KeyboardInterrupt struck between the C
call and the hand-over) converts the same result again instead of taking
a new one, so an interrupt neither loses nor repeats items.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator, List, Optional, Tuple

from . import _errors as E
from ._native import address, cstr, ffi, lib, speedups
from ._types import (
    Closed,
    CloseReason,
    Comment,
    Error,
    Event,
    Headers,
    Item,
    Open,
    Reconnecting,
)

KIND_MESSAGE = 0
KIND_COMMENT = 1
KIND_OPEN = 2
KIND_ERROR = 3
KIND_RECONNECTING = 4
KIND_CLOSED = 5

MAX_ITEMS = 1024  # parser items taken per call

# Events are built with tuple.__new__(Event, (type, data, id, retry)): no
# Python-level __init__/__new__ runs.
_new_event = partial(tuple.__new__, Event)

_len = ffi.new("uintptr_t *")  # scratch for sse_event_data (slow path, GIL held)


def _data(ev: Any) -> str:
    length = ffi.new("uintptr_t *")
    pointer = lib.sse_event_data(ev, length)
    if pointer == ffi.NULL:
        return ""
    return ffi.unpack(pointer, length[0]).decode("utf-8", "replace")


def headers_of(ev: Any) -> Headers:
    count = lib.sse_event_header_count(ev)
    if not count:
        return Headers()
    name = ffi.new("const char **")
    value = ffi.new("const char **")
    pairs = []
    for index in range(count):
        if lib.sse_event_header(ev, index, name, value) == E.OK:
            pairs.append((cstr(name[0]), cstr(value[0])))
    return Headers(pairs)


def _error_body(ev: Any) -> bytes:
    """The first bytes of a refusal's body (b"" if none)."""
    length = ffi.new("uintptr_t *")
    pointer = lib.sse_event_error_body(ev, length)
    if pointer == ffi.NULL:
        return b""
    return ffi.unpack(pointer, length[0])


def error_of(ev: Any) -> E.SSEError:
    """The exception an error item stands for."""
    retry_after_ms = lib.sse_event_retry_after_ms(ev)
    return E.make_error(
        lib.sse_event_error_status(ev),
        _data(ev),
        status=lib.sse_event_http_status(ev),
        headers=headers_of(ev),
        retry_after=retry_after_ms / 1000.0 if retry_after_ms >= 0 else None,
        body=_error_body(ev),
    )


def _retry(ev: Any) -> Optional[int]:
    retry = lib.sse_event_retry_ms(ev)
    return retry if retry >= 0 else None


def convert(ev: Any) -> Item:
    """One item (an ABI-mode ``sse_event *``) as a Python object."""
    kind = lib.sse_event_kind(ev)
    if kind == KIND_MESSAGE:
        event_type = ffi.unpack(lib.sse_event_type(ev), lib.sse_event_type_len(ev)).decode("utf-8", "replace")
        return _new_event((event_type, _data(ev), cstr(lib.sse_event_id(ev)), _retry(ev)))
    if kind == KIND_COMMENT:
        return Comment(_data(ev))
    if kind == KIND_OPEN:
        return Open(lib.sse_event_http_status(ev), headers_of(ev))
    if kind == KIND_ERROR:
        return Error(error_of(ev), bool(lib.sse_event_is_fatal(ev)))
    if kind == KIND_RECONNECTING:
        return Reconnecting(lib.sse_event_delay_ms(ev) / 1000.0, lib.sse_event_attempt(ev))
    if kind == KIND_CLOSED:
        reason = lib.sse_event_close_reason(ev)
        try:
            return Closed(CloseReason(reason))
        except ValueError:
            return Closed(CloseReason.ERROR)
    raise E.InternalError(f"libsse returned an item of unknown kind {kind}")


# A pull result: (status, events or None, other item or None, seq).
Pulled = Tuple[int, Optional[Iterator[Event]], Optional[Item], int]


class CBatch:
    """Batch over the compiled module (see the module doc): the items and
    the last result live in ``_c`` (a ``_speedups.Batch``); other kinds
    come back as an address, converted here by the slow path."""

    __slots__ = ("_c", "taken")

    def __init__(self, max_items: int = MAX_ITEMS) -> None:
        self._c = speedups.Batch(max_items)  # type: ignore[union-attr]
        self.taken = 0  # the seq of the last result handed over

    def limit(self, messages: int, data_bytes: int = 0) -> None:
        """Hands out at most ``messages`` messages per pull, and no message
        after the one that reached ``data_bytes`` bytes of data (0: no limit)."""
        self._c.max_pack = messages
        self._c.max_bytes = data_bytes

    @staticmethod
    def pointer(ptr: Any, ctype: str) -> Any:
        """``ptr`` (a cffi pointer) as this batch's pulls take it."""
        return address(ptr)

    def pull_client(self, client: Any, timeout_ms: int, skip_comments: bool) -> Pulled:
        """``client`` comes from :meth:`pointer`. Store ``taken = seq`` when
        the result is handed over (see the module doc): until then, every
        pull gives the same result again."""
        status, events, other, seq = self._c.pull_client(client, timeout_ms, skip_comments, self.taken)
        if other is not None:
            other = convert(ffi.cast("struct sse_event *", other))
        return status, events, other, seq

    def pull_parser(self, parser: Any, skip_comments: bool) -> Pulled:
        status, events, other, seq = self._c.pull_parser(parser, skip_comments)
        if other is not None:
            other = convert(ffi.cast("struct sse_event *", other))
        self.taken = seq
        return status, events, other, seq

    def pending(self) -> bool:
        return self._c.pending()

    def release(self) -> None:
        self.taken = self._c.release()


class PyBatch:
    """Batch over ABI-mode calls only (no compiler needed).

    Client items are taken from ``pos``; a result's end (``next_pos``)
    becomes ``pos`` at the next pull, once the result was handed over.
    """

    __slots__ = (
        "_evs", "pos", "next_pos", "count", "_max", "_batch", "_batch_out", "seq", "taken", "_max_pack",
        "_shared",
    )

    def __init__(self, max_items: int = MAX_ITEMS) -> None:
        # The parser source's slots (8 KiB at 1,024 items), made by the
        # first parser pull: a client's batch never uses them.
        self._evs: Any = None
        self._batch_out = ffi.new("struct sse_batch **")
        self._batch = ffi.NULL
        self._max = max_items
        self.pos = 0
        self.next_pos = 0
        self.count = 0
        self.seq = 0
        self.taken = 0
        self._max_pack = 0
        # The last event's type and id, as bytes and str: an event with the
        # same bytes gets the same str (no decode, no second copy).
        self._shared: List[Any] = [b"message", "message", b"", ""]

    def limit(self, messages: int, data_bytes: int = 0) -> None:
        """Hands out at most ``messages`` messages per pull (0: no limit);
        ``data_bytes`` is not needed here (one pull converts one batch)."""
        self._max_pack = messages

    def _event(self, p: int) -> Any:
        if self._batch != ffi.NULL:
            return lib.sse_batch_event(self._batch, p)
        return self._evs[p]

    def _take(self, skip_comments: bool) -> Tuple[Optional[Iterator[Event]], Optional[Item], int]:
        """Converts the items from ``pos`` on: the messages, or one other
        item; returns them and the position after them. Parser items are
        freed (and ``pos`` moved) as they are converted; client items are
        only read (the batch owns them)."""
        kind_of = lib.sse_event_kind
        type_of = lib.sse_event_type
        type_len = lib.sse_event_type_len
        data_of = lib.sse_event_data
        id_of = lib.sse_event_id
        retry_of = lib.sse_event_retry_ms
        string = ffi.string
        unpack = ffi.unpack
        length = _len
        owned = self._batch == ffi.NULL
        evs = self._evs
        shared = self._shared
        events: List[Event] = []
        p = self.pos
        count = self.count
        if self._max_pack:
            count = min(count, p + self._max_pack)
        while p < count:
            ev = self._event(p)
            kind = kind_of(ev)
            if kind == KIND_MESSAGE:
                data = data_of(ev, length)
                retry = retry_of(ev)
                raw_type = unpack(type_of(ev), type_len(ev))
                if raw_type != shared[0]:
                    shared[0] = raw_type
                    shared[1] = raw_type.decode("utf-8", "replace")
                raw_id = string(id_of(ev))
                if raw_id != shared[2]:
                    shared[2] = raw_id
                    shared[3] = raw_id.decode("utf-8", "replace")
                events.append(
                    _new_event(
                        (
                            shared[1],
                            unpack(data, length[0]).decode("utf-8", "replace"),
                            shared[3],
                            retry if retry >= 0 else None,
                        )
                    )
                )
            elif kind != KIND_COMMENT or not skip_comments:
                break
            if owned:
                evs[p] = ffi.NULL
                lib.sse_event_free(ev)
                self.pos = p + 1
            p += 1
        other = None
        if p < count and not events:
            ev = self._event(p)
            other = convert(ev)
            if owned:
                evs[p] = ffi.NULL
                lib.sse_event_free(ev)
                self.pos = p + 1
            p += 1
        return (iter(events) if events else None), other, p

    @staticmethod
    def pointer(ptr: Any, ctype: str) -> Any:
        return ptr

    def _adopt(self) -> None:
        """Makes the batch that sse_next_batch wrote to ``_batch_out`` the
        current one (also after a KeyboardInterrupt struck right after it)."""
        out = self._batch_out[0]
        count = lib.sse_batch_len(out)
        self._drop_batch()
        self._batch = out
        self._batch_out[0] = ffi.NULL
        self.pos = self.next_pos = 0
        self.count = count

    def _drop_batch(self) -> None:
        """Frees the current batch (every item of it was handed out); the
        pointer is cleared first, so an interrupt never leaves it dangling."""
        batch = self._batch
        self._batch = ffi.NULL
        if batch != ffi.NULL:
            lib.sse_batch_free(batch)

    def pull_client(self, client: Any, timeout_ms: int, skip_comments: bool) -> Pulled:
        """Store ``taken = seq`` when the result is handed over (see the
        module doc)."""
        if self.seq != self.taken:  # the last result was not handed over
            events, other, _ = self._take(skip_comments)
            return E.OK, events, other, self.seq
        self.pos = self.next_pos
        if self._batch_out[0] != ffi.NULL:
            self._adopt()
        if self.pos >= self.count:
            self._drop_batch()
            self.pos = self.next_pos = self.count = 0
            status = lib.sse_next_batch(client, timeout_ms, self._batch_out)
            if status:
                return status, None, None, self.seq
            self._adopt()
        events, other, self.next_pos = self._take(skip_comments)
        self.seq += 1
        return E.OK, events, other, self.seq

    def pull_parser(self, parser: Any, skip_comments: bool) -> Pulled:
        if self._evs is None:
            self._evs = ffi.new("struct sse_event *[]", self._max)
        if self.pos >= self.count:
            self.pos = self.count = 0  # every slot is NULL: all handed out
            out = ffi.new("struct sse_event **")
            while self.count < self._max and lib.sse_parser_next(parser, out) == E.OK:
                self._evs[self.count] = out[0]
                self.count += 1
            if not self.count:
                return E.TIMEOUT, None, None, self.seq
        events, other, _ = self._take(skip_comments)
        return E.OK, events, other, self.seq

    def pending(self) -> bool:
        return self.pos < self.count

    def _free_batch(self) -> None:
        holders = (self._batch, self._batch_out[0])
        self._batch = self._batch_out[0] = ffi.NULL
        for holder in holders:
            if holder != ffi.NULL:
                lib.sse_batch_free(holder)
        self.pos = self.next_pos = self.count = 0

    def release(self) -> None:
        self._free_batch()
        # Every slot, not only [0, count): consumed slots are NULL, so the
        # scan frees exactly what was not handed out.
        evs = self._evs
        if evs is not None:  # (None: a client's batch, no parser slots)
            for index in range(self._max):
                ev = evs[index]
                if ev != ffi.NULL:
                    evs[index] = ffi.NULL
                    lib.sse_event_free(ev)
        self.pos = self.next_pos = self.count = 0
        self.taken = self.seq


ACCELERATED = speedups is not None


def new_batch() -> Any:
    return CBatch() if ACCELERATED else PyBatch()
