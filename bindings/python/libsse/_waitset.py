"""One descriptor for every asyncio client of an event loop.

Each event loop gets one libsse wait set (``sse_waitset``): its descriptor
is the loop's only reader for libsse, and each client joins it under a
token, so 10,000 streams cost 10,000 sockets and one more descriptor, not
a descriptor per client beside each socket. When the descriptor is
readable, the tokens of the clients with news come out and their waiting
tasks wake up; news for a client nobody waits on is kept until it waits.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Dict, Optional, Set

from ._native import ffi, lib

_TAKE = 1024  # tokens taken per call
_tokens = itertools.count(1)
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
        self.waiters: Dict[int, "asyncio.Future[None]"] = {}
        self.news: Set[int] = set()  # tokens with news nobody waited for yet
        self.members: Set[int] = set()  # tokens of clients still joined
        self._buf = ffi.new("uint64_t[]", _TAKE)
        loop.add_reader(lib.sse_waitset_fd(self.ptr), self._on_readable)

    def _on_readable(self) -> None:
        while True:
            n = lib.sse_waitset_ready(self.ptr, self._buf, _TAKE)
            for i in range(n):
                token = int(self._buf[i])
                waiter = self.waiters.pop(token, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                elif token in self.members:  # a freed client's last news: dropped
                    self.news.add(token)
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
        if token in self.news:
            self.news.discard(token)
            return None
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[token] = waiter
        return waiter

    def wake(self, token: int) -> None:
        """Wakes the task waiting on the client of ``token`` (its close, from
        any thread: on the loop's thread at once, else through the loop's
        own wake-up), without waiting for libsse's news of it."""
        waiter = self.waiters.get(token)
        if waiter is None or waiter.done():
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
        if self.waiters.get(token) is waiter:
            del self.waiters[token]

    @staticmethod
    def next_token() -> int:
        """A token no other client of this process has."""
        return next_token()

    def joined(self, token: int) -> None:
        """A client joined under ``token``."""
        self.members.add(token)

    def forget(self, token: int) -> None:
        """The client of ``token`` is gone: drop what is kept for it."""
        self.members.discard(token)
        self.news.discard(token)


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
