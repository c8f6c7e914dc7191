"""One libsse loop and one descriptor for every asyncio client of an
event loop.

Each event loop gets one libsse loop (``sse_loop``) that the event loop
itself runs: clients made in it (``connect_async`` in a running loop)
are read on the event loop's thread when the loop's descriptor is
readable or its next timer is due, with no libsse thread and one wake-up
per event. Each event loop also gets one libsse wait set
(``sse_waitset``), and each client joins it under a token, so 10,000
streams cost 10,000 sockets and three more descriptors, not a descriptor
per client beside each socket. After each run of the libsse loop (and
when the set's descriptor is readable: clients made outside the loop are
read by libsse's thread), the tokens of the clients with news come out
and their waiting tasks wake up; news for a client nobody waits on is
kept until it waits.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import weakref
from typing import Any, Dict, Optional, Set

from ._native import ffi, lib

_TAKE = 1024  # tokens taken per call
_tokens = itertools.count(1)
# A joined client's state (beside None, nobody waits, and its task's future):
_NEWS = object()  # news came while nobody waited: its next wait ends at once
_GONE = object()  # (not a member: a freed client)
_sets: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWaitSet]" = (
    weakref.WeakKeyDictionary()
)


def next_token() -> int:
    """A token no other client of this process has."""
    return next(_tokens)


class LoopWaitSet:
    """The wait set of one event loop (see the module docs)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        ptr = lib.sse_waitset_new()
        if ptr == ffi.NULL:
            raise OSError("libsse: cannot create a wait set")
        self.ptr = ffi.gc(ptr, lib.sse_waitset_free)
        # No reference to the loop: the registry's entry (this object) must
        # not keep its key alive. The loop's reader holds this object until
        # the loop is closed.
        # The token of every client still joined -> None (nobody waits on
        # it), _NEWS (news nobody waited for yet) or the future its task
        # awaits: one dict entry per client (a dict and two sets before:
        # ~70 bytes more per client).
        self.clients: Dict[int, Any] = {}
        self._buf = ffi.new("uint64_t[]", _TAKE)
        loop.add_reader(lib.sse_waitset_fd(self.ptr), self._on_readable)
        # The libsse loop this event loop runs (None if it cannot be made:
        # its clients then use libsse's thread). When the one timer asked
        # of the event loop is due (inf: none): a timer handle is not kept
        # (it holds the event loop, which this object must not), so a
        # timer no longer wanted fires for nothing (and runs the loop once).
        self.sse_loop: Any = None
        self._timer_at = math.inf
        sse_loop = lib.sse_loop_new()
        if sse_loop != ffi.NULL:
            self.sse_loop = ffi.gc(sse_loop, lib.sse_loop_free)
            loop.add_reader(lib.sse_loop_fd(sse_loop), self._run)

    @property
    def members(self) -> "Set[int]":
        """The tokens of the clients still joined."""
        return set(self.clients)

    @property
    def news(self) -> "Set[int]":
        """The tokens with news nobody waited for yet."""
        return {token for token, state in self.clients.items() if state is _NEWS}

    @property
    def waiters(self) -> "Dict[int, asyncio.Future[None]]":
        """The futures the clients' tasks await, by token."""
        return {token: state for token, state in self.clients.items() if state is not None and state is not _NEWS}

    def _run(self) -> None:
        """Runs the libsse loop once without waiting (its descriptor is
        readable, or its timer is due), hands the news out at once (no
        second wake-up for the wait set's descriptor), and asks the event
        loop to come back by the libsse loop's next timer."""
        sse_loop = self.sse_loop
        if sse_loop is None:  # (a timer left from before the move below)
            return
        if lib.sse_loop_run(sse_loop, 0) == lib.SSE_CLOSED:
            # A backlog moved the libsse loop to a thread of its own (a
            # server far ahead: a thread reading ahead overlaps reading
            # with the event loop's work): its clients go on through the
            # wait set's descriptor; new clients use that thread too.
            asyncio.get_running_loop().remove_reader(lib.sse_loop_fd(sse_loop))
            self._timer_at = math.inf
            self._on_readable()
            return
        self._on_readable()
        ms = lib.sse_loop_timeout_ms(sse_loop)
        if ms >= 0:
            loop = asyncio.get_running_loop()
            now = loop.time()
            at = now + ms / 1000
            if at < self._timer_at or self._timer_at <= now:
                self._timer_at = at
                loop.call_at(at, self._on_timer, at)

    def to_thread(self) -> None:
        """Hands this event loop's libsse loop to a libsse thread for good
        (one of its clients is read from another event loop; this one may
        never run again). Its own reader goes at its next run."""
        if self.sse_loop is not None:
            lib.sse_loop_to_thread(self.sse_loop)

    def _on_timer(self, at: float) -> None:
        if at == self._timer_at:
            self._timer_at = math.inf
        self._run()

    def _on_readable(self) -> None:
        clients = self.clients
        while True:
            n = lib.sse_waitset_ready(self.ptr, self._buf, _TAKE)
            for i in range(n):
                token = int(self._buf[i])
                state = clients.get(token, _GONE)
                if state is _GONE or state is _NEWS:  # a freed client's last news: dropped
                    continue
                if state is not None and not state.done():
                    clients[token] = None
                    state.set_result(None)
                else:  # nobody waits (or its wait ended otherwise): kept for its next wait
                    clients[token] = _NEWS
            if n < _TAKE:
                return

    async def wait(self, token: int, timeout: Optional[float]) -> None:
        """Waits until the client of ``token`` has news or ``timeout`` passed."""
        waiter = self.waiter(token)
        if waiter is None:
            return
        timer = None if timeout is None else asyncio.get_running_loop().call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            self.done_waiting(token, waiter)
            if timer is not None:
                timer.cancel()

    def waiter(self, token: int) -> "Optional[asyncio.Future[None]]":
        """What :meth:`wait` awaits, for a caller that awaits it itself (one
        coroutine frame less per waiting client): None if the client of
        ``token`` has news already, else a future done at its news; call
        :meth:`done_waiting` once it is done or the wait abandoned."""
        if self.clients.get(token) is _NEWS:
            self.clients[token] = None
            return None
        waiter = asyncio.get_running_loop().create_future()
        self.clients[token] = waiter
        return waiter

    def wake(self, token: int) -> None:
        """Wakes the task waiting on the client of ``token`` (its close, from
        any thread: on the loop's thread at once, else through the loop's
        own wake-up), without waiting for libsse's news of it."""
        waiter = self.clients.get(token)
        if waiter is None or waiter is _NEWS or waiter.done():
            return
        loop = waiter.get_loop()
        if asyncio._get_running_loop() is loop:
            _wake(waiter)
        else:
            try:
                loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:  # the loop is closed
                pass

    def done_waiting(self, token: int, waiter: "asyncio.Future[None]") -> None:
        if self.clients.get(token) is waiter:
            self.clients[token] = None

    @staticmethod
    def next_token() -> int:
        """A token no other client of this process has."""
        return next_token()

    def joined(self, token: int) -> None:
        """A client joined under ``token``."""
        self.clients.setdefault(token, None)

    def forget(self, token: int) -> None:
        """The client of ``token`` is gone: drop what is kept for it."""
        self.clients.pop(token, None)


def for_running_loop() -> Optional[LoopWaitSet]:
    """The wait set of the running event loop; None outside one (or when
    it cannot watch descriptors)."""
    loop = asyncio._get_running_loop()
    return for_loop(loop) if loop is not None else None


def for_loop(loop: asyncio.AbstractEventLoop) -> Optional[LoopWaitSet]:
    """The wait set of ``loop`` (created on first use); None if the loop
    cannot watch descriptors (then clients wait on their own)."""
    found = _sets.get(loop)
    if found is None:
        try:
            found = LoopWaitSet(loop)
        except (OSError, NotImplementedError):
            return None
        _sets[loop] = found
    return found


def _wake(waiter: "asyncio.Future[None]") -> None:
    if not waiter.done():
        waiter.set_result(None)
