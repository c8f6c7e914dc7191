"""asyncio clients share one descriptor per event loop (libsse's wait
set): many streams fit in an open-file limit that a descriptor per client
beside each socket would exceed."""

from __future__ import annotations

import asyncio
import resource

import libsse

from conftest import fd_count

STREAMS = 600


def test_many_streams_need_one_descriptor_each(url: str) -> None:
    # Room for the sockets and a little more, not for a second descriptor
    # per client.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    base = fd_count()
    resource.setrlimit(resource.RLIMIT_NOFILE, (base + STREAMS + 64, hard))
    most = [0]
    try:

        async def one(i: int) -> list:
            got = []
            async with libsse.connect_async(
                f"{url}/ticker?count=3&interval_ms={20 + i % 13}", on_end="end"
            ) as client:
                async for event in client:
                    got.append(event.data)
            return got

        async def watch() -> None:
            while True:
                most[0] = max(most[0], fd_count())
                await asyncio.sleep(0.01)

        async def main() -> list:
            watcher = asyncio.ensure_future(watch())
            try:
                return await asyncio.gather(*(one(i) for i in range(STREAMS)))
            finally:
                watcher.cancel()

        results = asyncio.run(main())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    # A socket per stream, one wait set, the loop's own: no descriptor per
    # client beside its socket (that would be about base + 2 x STREAMS).
    assert most[0] <= base + STREAMS + 16, (base, most[0])
    assert len(results) == STREAMS
    assert all(r == ["tick 1", "tick 2", "tick 3"] for r in results), [
        r for r in results if r != ["tick 1", "tick 2", "tick 3"]
    ][:3]


def test_clients_of_two_loops_and_a_late_waiter(url: str) -> None:
    # Each loop has its own set; a client whose news came before anyone
    # waited is woken at once when its task waits.
    async def read(n: int) -> list:
        client = libsse.connect_async(f"{url}/ticker?count={n}", on_end="end")
        await asyncio.sleep(0.3)  # the events are queued meanwhile
        async with client:
            return [e.data async for e in client]

    for _ in range(2):
        assert asyncio.run(read(2)) == ["tick 1", "tick 2"]


def test_closed_clients_leave_nothing_behind_in_the_loops_set(url: str) -> None:
    # A long-running loop that opens and closes streams: the set keeps no
    # token of a client once it is gone (its last news included).
    from libsse import _waitset

    async def main() -> tuple:
        for _ in range(100):
            async with libsse.connect_async(f"{url}/ticker?count=1", on_end="end") as client:
                assert [e.data async for e in client] == ["tick 1"]
        await asyncio.sleep(0.2)  # the last ends' news arrive meanwhile
        ws = _waitset.for_loop(asyncio.get_running_loop())
        return len(ws.news), len(ws.members), len(ws.waiters)

    assert asyncio.run(main()) == (0, 0, 0)


def test_the_loops_set_goes_with_the_loop(url: str) -> None:
    import gc
    import weakref

    from libsse import _waitset

    holder = {}

    async def main() -> None:
        async with libsse.connect_async(f"{url}/ticker?count=1", on_end="end") as client:
            assert [e.data async for e in client] == ["tick 1"]
        holder["set"] = weakref.ref(_waitset.for_loop(asyncio.get_running_loop()))

    asyncio.run(main())
    gc.collect()
    assert holder["set"]() is None


def test_a_client_moved_to_another_loop_waits_on_its_own_descriptor(url: str) -> None:
    client = libsse.connect_async(f"{url}/ticker?count=4&interval_ms=20", on_end="end")

    async def take(n: int) -> list:
        got = []
        async for event in client:
            got.append(event.data)
            if len(got) == n:
                break
        return got

    assert asyncio.run(take(2)) == ["tick 1", "tick 2"]
    assert asyncio.run(take(2)) == ["tick 3", "tick 4"]
    client.close()
