"""``connect_async`` and :class:`AsyncClient`: streams read from asyncio.

A module of its own, imported on first use (``libsse.connect_async``,
``libsse.AsyncClient``): a program that only uses the sync client or the
parser does not import asyncio (which brings ssl and ~40 modules: about
7 MiB of RSS).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, AsyncIterator, Awaitable, Iterable, Optional, Tuple, Union

from . import _errors as E
from . import _waitset
from ._client import (
    _DEFAULT,
    CertArg,
    HeadersArg,
    PathArg,
    _build_config,
    _Handle,
    _monotonic,
    _start,
    _Stream,
    _timeout,
)
from ._native import speedups
from ._types import ErrorPolicy, Event, Item, Retry

# How long an async reader with items at hand runs before it gives the
# event loop a turn: the loop's turn budget shared by the clients on that
# loop, within these bounds (s). Up to 7 fast streams yield every 200 us;
# 50 every 30 us each (the floor, 20 us, from 75 on), so a loop turn (every
# reader once, with asyncio's own cost per task step) stays near 5 ms and
# a 10 ms timer beside 50 fast streams keeps a period of about 17 ms
# (tests/measure_misuse.py; 2.5 ms and 40 us gave 22 ms).
_ASYNC_TURN_BUDGET = 0.0015
_ASYNC_SLICE_MIN = 0.00002
_ASYNC_SLICE_MAX = 0.0002
_ASYNC_CHECK = 8  # events handed out between two looks at the clock
_CANCELLED = "the stream was closed when a read of it was cancelled (a task cancelled, or asyncio.wait_for timed out)"
# Messages an async reader takes per pull. The compiled builder makes each
# event only when it is handed out (between the clock checks above), so a
# pull of a whole batch costs a scan, not ~1,000 conversions the loop
# cannot interrupt: 1,024 messages / 1 MiB of data (was 128 / 128 KiB
# when a pull converted everything) read 40 B events 12% faster (4.15-4.28
# -> 4.62-4.79 M/s, Python 3.11), and the 10 ms heartbeat beside 50 fast
# streams keeps its median period (16.0 ms vs 15.8; tests/measure_misuse.py).
# The cffi fallback converts a whole pull at once: 128 / 128 KiB there.
_ASYNC_MAX_PACK = 1024 if speedups is not None else 128
_ASYNC_MAX_BYTES = 1 << 20 if speedups is not None else 1 << 17

# The compiled __anext__ of AsyncClient (see _speedups_module.c), if built.
_ASYNC_BASES: Tuple[type, ...] = (speedups.AsyncBase, _Stream) if speedups is not None else (_Stream,)


class AsyncClient(*_ASYNC_BASES):  # type: ignore[misc]
    """A stream read from asyncio; see :func:`connect_async`.

    Waits through one descriptor per event loop (libsse's wait set, with
    ``loop.add_reader``): no thread is blocked per stream, and no
    descriptor is used per stream beside its socket. Cancelling the task that iterates closes the
    stream.
    """

    # No instance dict when _Stream has none (it then lists its fields):
    # ~330 bytes less per client. With the compiled base, ``_it`` and the
    # clock fields are its own.
    if "__slots__" in _Stream.__dict__ and hasattr(_Stream, "_FIELDS"):
        __slots__ = _Stream._FIELDS + (
            ("__weakref__",) if len(_ASYNC_BASES) > 1 else ("_it", "_countdown", "_check", "_slice_end", "__weakref__")
        )

    def __init__(self, url: str, ptr: Any) -> None:
        super().__init__(url, ptr)
        self._h.batch.limit(_ASYNC_MAX_PACK, _ASYNC_MAX_BYTES)
        self._countdown = _ASYNC_CHECK  # events until the next look at the clock
        self._check = _ASYNC_CHECK
        self._slice_end = 0.0  # when this reader's run ends: it then gives the loop a turn

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    async def aclose(self) -> None:
        """Same as :meth:`close`."""
        self.close()

    def __aiter__(self) -> "AsyncClient":
        return self

    @staticmethod
    def _slice() -> float:
        """This reader's share of the loop's turn budget: the clients on
        the loop split it (within the bounds)."""
        try:
            ws = _waitset.for_loop(asyncio.get_running_loop())
        except RuntimeError:
            ws = None
        clients = len(ws.clients) if ws is not None else 1
        return min(_ASYNC_SLICE_MAX, max(_ASYNC_SLICE_MIN, _ASYNC_TURN_BUDGET / max(1, clients)))

    async def _share_loop(self) -> None:
        """Gives the event loop a turn when this reader ran for longer than
        its slice without waiting: a fast stream always has items ready, so
        without this its task would starve the others."""
        self._countdown = _ASYNC_CHECK
        if _monotonic() >= self._slice_end:
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:  # as in _afill: cancelling closes
                self._cancelled = True
                self.close()
                raise
            self._start_slice()

    def _start_slice(self) -> None:
        """This reader got a turn of the loop: its run lasts one slice."""
        self._slice_end = _monotonic() + self._slice()

    if len(_ASYNC_BASES) == 1:  # pure: else AsyncBase's compiled __anext__

        def __anext__(self) -> Awaitable[Event]:
            """The next message event (see :meth:`Client.__iter__`)."""
            return self._anext()

    # The compiled __anext__ hands out an event already received as an
    # awaitable that gives it at once (no coroutine per event), and calls
    # this otherwise: no event at hand, or every _ASYNC_CHECK events once
    # the slice is over (to give the loop a turn).
    async def _anext(self) -> Event:
        """The next message event (see :meth:`Client.__iter__`).

        Waits in this frame itself: the body of ``_afill(True)`` (no
        timeout) is written out here, so an idle client (a stream waits
        for its next event nearly all the time) holds one coroutine frame,
        not two (~300 bytes less per client)."""
        while True:
            it = self._it
            if it is not None:
                self._countdown -= 1
                if self._countdown <= 0:
                    await self._share_loop()
                for event in it:
                    return event
                self._it = None
            if self._other is not None:
                other = self._take_other(True)
                if other is not None:
                    return other  # type: ignore[return-value]
                continue
            # -- _afill(True), inlined (keep the two alike)
            if self._cancelled:
                raise E.StreamCancelled(_CANCELLED)
            got = -1
            if not self._ended:
                h = self._h
                h.check_process()
                entered = False
                try:
                    with h.lock:
                        if self._reading:
                            raise RuntimeError("this libsse client is already being read by another task")
                        if h.ptr is None or h.doomed:
                            self._ended = True
                        else:
                            h.busy += 1
                            self._reading = entered = True
                    while entered:
                        got = self._pull_once(True)
                        if got:
                            break
                        ws = _waitset.for_loop(asyncio.get_running_loop())
                        token = h.join(ws) if ws is not None else 0
                        if token:
                            waiter = ws.waiter(token)  # type: ignore[union-attr]
                            if waiter is not None:
                                try:
                                    await waiter
                                finally:
                                    ws.done_waiting(token, waiter)  # type: ignore[union-attr]
                        else:
                            await self._readable(h, None)
                        if h.doomed:  # closed meanwhile: end now (close() woke this wait itself)
                            self._ended = True
                            got = -1
                            break
                        self._start_slice()
                except asyncio.CancelledError:
                    self._cancelled = True
                    self.close()  # freed below, once this call is out
                    raise
                finally:
                    if entered:
                        self._reading = False
                        h.busy -= 1
                        if h.doomed:
                            _free_soon(h)
            if got < 0:
                if self._end_error is not None:
                    raise self._end_error
                raise StopAsyncIteration

    async def all(self) -> AsyncIterator[Item]:
        """Every item, as :meth:`Client.all` gives them."""
        while True:
            it = self._it
            if it is not None:
                for event in it:
                    yield event
                    self._countdown -= 1
                    if self._countdown <= 0:
                        await self._share_loop()
                self._it = None
            if self._other is not None:
                yield self._take_other(False)  # type: ignore[misc]
                continue
            if not await self._afill(False):
                return

    async def next(self, timeout: Optional[float] = None) -> Optional[Item]:
        """The next item of any kind, waiting up to ``timeout`` seconds
        (None: forever); None on timeout or once the stream has ended.
        Cancelling it (e.g. ``asyncio.wait_for`` timing out) closes the
        stream: later reads raise :class:`StreamCancelled`, unlike a
        normal end."""
        timeout = _timeout(timeout)
        it = self._it
        if it is not None:
            self._countdown -= 1
            if self._countdown <= 0:
                await self._share_loop()
            for event in it:
                return event
            self._it = None
        if self._other is not None:
            return self._take_other(False)
        if await self._afill(False, timeout):
            return await self.next(0)
        return None

    async def _afill(self, skip_comments: bool, timeout: Optional[float] = None) -> bool:
        """Waits until items arrive (True), the stream ends or ``timeout``
        seconds pass (False). Cancelling the caller closes the stream."""
        if self._cancelled:
            raise E.StreamCancelled(_CANCELLED)
        if self._ended:
            return False
        h = self._h
        h.check_process()
        entered = False
        try:
            with h.lock:
                if self._reading:
                    raise RuntimeError("this libsse client is already being read by another task")
                if h.ptr is None or h.doomed:
                    self._ended = True
                    return False
                h.busy += 1
                self._reading = entered = True
            deadline = None if timeout is None else _monotonic() + timeout
            while True:
                got = self._pull_once(skip_comments)
                if got:
                    return got > 0
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                # Through the loop's wait set (the common case), the future
                # is awaited right here: no coroutine per wait.
                ws = _waitset.for_loop(asyncio.get_running_loop()) if remaining is None else None
                token = h.join(ws) if ws is not None else 0
                if token:
                    waiter = ws.waiter(token)  # type: ignore[union-attr]
                    if waiter is not None:
                        try:
                            await waiter
                        finally:
                            ws.done_waiting(token, waiter)  # type: ignore[union-attr]
                else:
                    await self._readable(h, remaining)
                if h.doomed:  # closed meanwhile: end now (close() woke this wait itself)
                    self._ended = True
                    return False
                self._start_slice()
        except asyncio.CancelledError:
            self._cancelled = True
            self.close()  # freed below, once this call is out
            raise
        finally:
            if entered:
                self._reading = False
                h.busy -= 1
                if h.doomed:
                    _free_soon(h)

    @staticmethod
    async def _readable(h: _Handle, timeout: Optional[float]) -> None:
        """Waits until the client has news or ``timeout`` passed: through
        the event loop's wait set (one descriptor for all its clients), or
        the client's own descriptor when it cannot join that set."""
        loop = asyncio.get_running_loop()
        ws = _waitset.for_loop(loop)
        token = h.join(ws) if ws is not None else 0
        if token:
            await ws.wait(token, timeout)
            return
        fd = h.get_fd()
        if fd < 0:  # no descriptor: poll
            await asyncio.sleep(0.05 if timeout is None else min(0.05, timeout))
            return
        waiter = loop.create_future()
        loop.add_reader(fd, _wake, waiter)
        timer = None if timeout is None else loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            loop.remove_reader(fd)
            if timer is not None:
                timer.cancel()


def _free_soon(h: _Handle) -> None:
    """Frees a disposed client right after this task's step (its loop
    ends first), or now outside a running loop."""
    loop = asyncio._get_running_loop()  # None: a coroutine closed outside its loop
    if loop is not None and not loop.is_closed():
        loop.call_soon(h.free_if_doomed)
    else:
        h.free_if_doomed()


def _wake(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)


def connect_async(
    url: str,
    *,
    method: str = "GET",
    headers: HeadersArg = None,
    body: Union[bytes, str, None] = None,
    last_event_id: Optional[str] = None,
    retry: Union[float, Retry, None] = None,
    max_retries: Optional[int] = None,
    max_retry_time: Optional[float] = None,
    retry_first_connect: bool = True,
    error_policy: Union[ErrorPolicy, str, int] = ErrorPolicy.DEFAULT,
    connect_timeout: Optional[float] = None,
    read_timeout: Optional[float] = _DEFAULT,
    verify: Union[bool, PathArg] = True,
    cafile: Optional[PathArg] = None,
    cadata: Union[str, bytes, None] = None,
    cert: CertArg = None,
    proxy: Optional[str] = None,
    max_redirects: Optional[int] = None,
    max_event_bytes: Optional[int] = None,
    queue_capacity: Optional[int] = None,
    sensitive_headers: Iterable[str] = (),
    types: Iterable[str] = (),
    allow_https_downgrade: bool = False,
    max_response_head_bytes: Optional[int] = None,
    max_retry_after: Optional[float] = None,
    on_end: str = "by-method",
) -> AsyncClient:
    """Like :func:`connect`, for asyncio: ``async with`` / ``async for``.

    Called from a running event loop, the stream is read by that loop
    itself (libsse's loop for it is one more descriptor the event loop
    watches): no libsse thread, one wake-up per event. Called outside a
    running loop, or with a ``headers`` callable (which may block, e.g.
    waiting for a coroutine of the event loop), libsse's background thread
    reads it."""
    options = {k: v for k, v in locals().items() if k != "url"}
    # Called in a running event loop (as usual): the stream goes on that
    # loop's libsse loop, which the event loop itself runs (no libsse
    # thread, one wake-up per event). Outside one: libsse's shared thread.
    # A headers callable may block (e.g. wait for a coroutine of this very
    # event loop): it runs on libsse's thread instead.
    ws = _waitset.for_running_loop()
    event_loop = ws.sse_loop if ws is not None and not callable(headers) else None
    client = AsyncClient(url, _start(_build_config(url, event_loop=event_loop, **options)))
    if event_loop is not None:
        client._h.home = weakref.ref(ws)
    return client


__all__ = ["AsyncClient", "connect_async"]
