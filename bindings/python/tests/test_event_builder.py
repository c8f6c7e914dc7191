"""The compiled event builder (libsse._speedups): events built as they are
taken, what a pull did not hand out kept across close, and the reused
awaitable and StopIteration of the asyncio client safe to hold on to."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

import libsse

pytestmark = pytest.mark.skipif(not libsse.ACCELERATED, reason="no compiled event builder")


def test_events_are_built_as_they_are_taken(url: str) -> None:
    """A read of ~64 KiB holds ~1,600 small events: built one at a time,
    each freed before the next is made, the memory in use while iterating
    stays far below one batch's worth of Event objects (~290 KB, what a
    list of the whole batch costs; a module that built them all took 242
    KB). What is counted is the item views libsse fills for a batch in
    one call (72 bytes per item, ~115 KB) and the event in hand."""
    count = 100_000
    total = 0
    with libsse.connect(url + f"/fast?count={count}&size=40&framing=close", max_retries=0) as client:
        it = iter(client)
        first = next(it)  # connected: the library's own start-up is not counted
        total += len(first.data)
        tracemalloc.start()
        try:
            for event in it:
                total += len(event.data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert total == count * 40
    assert peak < 160_000, f"{peak:,} B traced at the peak"


def test_a_run_left_half_taken_survives_close(url: str) -> None:
    """Events of a pull not taken yet when the client is closed are built
    before the library's batch is freed: they come out intact, in order."""
    client = libsse.connect(url + "/fast?count=20000&size=40&framing=close", max_retries=0)
    it = iter(client)
    taken = [next(it) for _ in range(5)]
    client.close()
    rest = list(it)  # what that pull held, then the end
    assert taken[0].data.startswith('{"token":"') and len(rest) < 20000 - 5
    assert all(e == taken[0] for e in taken + rest)


def test_awaitables_held_and_stop_iterations_kept(url: str) -> None:
    """The asyncio client reuses one awaitable (and, on 3.12+, one
    StopIteration) only while nobody else holds it: awaitables taken ahead
    and awaited later give their own events, and a StopIteration caught by
    hand keeps its value."""

    async def main() -> None:
        n = 5000
        async with libsse.connect_async(url + f"/fast?count={n}&size=40", max_retries=0) as client:
            seen = 1
            assert (await client.__anext__()).data.startswith('{"token":"')
            a = client.__anext__()
            b = client.__anext__()
            assert (await b).data == (await a).data  # (all /fast events are alike)
            seen += 2
            while True:  # an awaitable given by the compiled __anext__ at once
                c = client.__anext__()
                if type(c).__name__ == "Ready":
                    break
                await c
                seen += 1
            try:
                c.__next__()
                raise AssertionError("a Ready gives its value at once")
            except StopIteration as stop:
                held = stop
            kept = held.value
            assert type(kept) is libsse.Event
            seen += 1
            rest = [e async for e in client]
            assert held.value is kept  # not reused while held
            assert seen + len(rest) == n and all(e == kept for e in rest)

    asyncio.run(main())
