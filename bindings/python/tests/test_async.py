"""libsse.connect_async: asyncio over the library's readiness descriptor."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

import libsse
from libsse import Closed, CloseReason, Comment, Event, HTTPStatusError, Open, Retry
from conftest import fd_count, settled_thread_count, thread_count

FAST = Retry(initial=0.01, min=0.001)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_async_iteration(url: str, mode: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/ticker?count=5&interval_ms=5", max_retries=0) as client:
            return [event async for event in client]

    assert run(main()) == [Event("message", f"tick {i}", str(i)) for i in range(1, 6)]


def test_async_all(url: str, mode: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/ticker?count=1&comment_every=1", max_retries=0) as client:
            return [item async for item in client.all()]

    items = run(main())
    assert [type(i) for i in items] == [Open, Event, Comment, Closed]
    assert items[-1] == Closed(CloseReason.END_OF_STREAM)


def test_async_error_is_raised(url: str, mode: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/status/401") as client:
            async for _ in client:
                pass

    with pytest.raises(HTTPStatusError) as info:
        run(main())
    assert info.value.status == 401


def test_async_post_echo(url: str) -> None:
    async def main():
        async with libsse.connect_async(
            url + "/echo", method="POST", body=b"{}", headers={"X-Id": "42"}, max_retries=0
        ) as client:
            return [e async for e in client]

    (event,) = run(main())
    echo = json.loads(event.data)
    assert (echo["method"], echo["body"], echo["headers"]["x-id"]) == ("POST", "{}", "42")


def test_100_concurrent_streams_on_one_loop(url: str, mode: str) -> None:
    python_threads = threading.active_count()
    counts = []

    async def one(i: int) -> list:
        async with libsse.connect_async(url + f"/ticker?count=20&interval_ms=5&s={i}", max_retries=0) as client:
            ids = []
            async for event in client:
                ids.append(int(event.id))
                counts.append(threading.active_count())
            return ids

    async def main():
        return await asyncio.gather(*(one(i) for i in range(100)))

    start = time.monotonic()
    results = run(main())
    assert all(ids == list(range(1, 21)) for ids in results)
    # No Python thread per stream (libsse's own threads are native).
    assert max(counts) == python_threads
    assert time.monotonic() - start < 30


def test_cancelling_the_task_closes_the_stream(url: str, mode: str) -> None:
    holder = {}

    async def reader():
        client = libsse.connect_async(url + "/silent")
        holder["client"] = client
        async for _ in client:
            pass

    async def main():
        task = asyncio.create_task(reader())
        # libsse's engine thread serves every client (it may be there
        # already): wait for the client to exist, not for a thread.
        end = time.monotonic() + 5
        while "client" not in holder and time.monotonic() < end:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert holder["client"].closed

    run(main())


def test_wait_for_timeout_closes(url: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/silent") as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.__anext__(), 0.2)
            assert client.closed

    run(main())


def test_async_next_with_timeout(url: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/silent") as client:
            assert isinstance(await client.next(5), Open)
            start = time.monotonic()
            assert await client.next(0.2) is None
            assert not client.closed
            return time.monotonic() - start

    assert 0.15 < run(main()) < 2


def test_async_next_timeout_keeps_the_stream(url: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/ticker?count=2&interval_ms=400", max_retries=0) as client:
            got = []
            while len(got) < 2:
                item = await client.next(0.05)
                if type(item) is Event:
                    got.append(item.data)
            return got

    assert run(main()) == ["tick 1", "tick 2"]


def test_loop_stays_responsive(url: str) -> None:
    async def main():
        async with libsse.connect_async(url + "/ticker?count=30&interval_ms=10", max_retries=0) as client:
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            t = asyncio.create_task(ticker())
            n = len([e async for e in client])
            t.cancel()
            return n, ticks

    n, ticks = run(main())
    assert n == 30 and ticks > 20


def test_close_from_another_thread_wakes_the_loop(url: str) -> None:
    async def main():
        client = libsse.connect_async(url + "/silent")
        threading.Timer(0.2, client.close).start()
        return [e async for e in client]

    start = time.monotonic()
    assert run(main()) == []
    assert time.monotonic() - start < 3


def test_async_no_leaks(url: str) -> None:
    import gc

    async def cycle(i: int) -> None:
        if i % 2:
            async with libsse.connect_async(url + "/ticker?count=2", max_retries=0) as client:
                assert len([e async for e in client]) == 2
        else:
            async with libsse.connect_async(url + "/ticker?interval_ms=5") as client:
                await client.__anext__()

    async def main(n: int):
        for i in range(n):
            await cycle(i)

    run(main(4))
    gc.collect()
    threads, fds = settled_thread_count(), fd_count()
    run(main(200))
    gc.collect()
    end = time.monotonic() + 5
    while thread_count() > threads and time.monotonic() < end:
        time.sleep(0.01)
    assert thread_count() <= threads
    assert fd_count() <= fds
