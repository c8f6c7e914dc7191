"""Closing a client that another thread or task is waiting on (issue 15):
close() wakes the waiter itself and, for a sync iterator in another
thread, frees the client before it returns (so that thread's loop ends
without paying for the free). Timings are in benchmarks/close.py; these
tests check the behaviour, with generous bounds against hangs only."""

from __future__ import annotations

import asyncio
import threading
import time

import libsse
from conftest import fd_count


def _connected(url: str) -> libsse.Client:
    client = libsse.connect(url + "/silent")
    assert isinstance(client.next(10), libsse.Open)
    return client


def _iterate_in_thread(client: libsse.Client) -> "tuple[threading.Thread, list]":
    done: list = []

    def consume() -> None:
        done.append(list(client))

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.05)  # it waits inside the iteration
    return thread, done


def test_close_from_another_thread_frees_before_returning(url: str, mode: str) -> None:
    """The socket and the readiness descriptor are closed when close()
    returns, though the iterating thread was inside a wait (it used to
    free the client itself, after close() had returned)."""
    before = fd_count()
    for _ in range(5):
        client = _connected(url)
        thread, done = _iterate_in_thread(client)
        assert fd_count() > before  # its socket and eventfd
        client.close()
        assert fd_count() <= before, "close() returned with the client's descriptors still open"
        thread.join(5)
        assert not thread.is_alive() and done == [[]]
        assert client.closed and client.fileno() == -1
        assert client.stats.connections == 1  # the final counters were kept


def test_close_ends_a_main_thread_wait_at_once(url: str, mode: str) -> None:
    """The main thread waits in 100 ms slices (for Ctrl-C); a close from
    another thread ends its loop without waiting for the slice's end."""
    client = _connected(url)
    closed_at: list = []

    def close() -> None:
        time.sleep(0.05)
        closed_at.append(time.monotonic())
        client.close()

    threading.Thread(target=close).start()
    assert list(client) == []
    assert time.monotonic() - closed_at[0] < 5
    assert client.closed


def test_close_twice_from_two_threads_while_iterating(url: str, mode: str) -> None:
    before = fd_count()
    client = _connected(url)
    thread, done = _iterate_in_thread(client)
    closers = [threading.Thread(target=client.close) for _ in range(2)]
    for t in closers:
        t.start()
    for t in closers + [thread]:
        t.join(5)
        assert not t.is_alive()
    assert done == [[]]
    assert fd_count() <= before


def _async_case(url: str, close_from_thread: bool) -> None:
    async def main() -> None:
        client = libsse.connect_async(url + "/silent")
        assert isinstance(await client.next(10), libsse.Open)

        async def consume() -> list:
            return [e async for e in client]

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.02)  # it waits in the loop's wait set
        if close_from_thread:
            closer = threading.Thread(target=client.close)
            closer.start()
            assert await asyncio.wait_for(task, 5) == []
            closer.join(5)
        else:
            client.close()
            assert await asyncio.wait_for(task, 5) == []
        await asyncio.sleep(0)  # the free follows the consumer's step
        assert client.closed

    before = fd_count()
    asyncio.run(main())
    assert fd_count() <= before


def test_async_close_from_another_task(url: str, mode: str) -> None:
    _async_case(url, False)


def test_async_close_from_another_thread(url: str, mode: str) -> None:
    _async_case(url, True)
