"""asyncio clients made in a running event loop are read by that loop
itself (libsse's ``sse_loop``, run from ``add_reader`` and ``call_at``):
no libsse thread, events in order across reconnections (whose delays are
the event loop's timers); a server far ahead moves the libsse loop to a
thread of its own and every event still arrives, the other streams going
on; a client made outside a running loop uses libsse's thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# Run in a child process: other tests' clients would start libsse's shared
# thread in this one.
_CHILD = r"""
import asyncio, json, os, sys, time
sys.path.insert(0, sys.argv[1])
import libsse

def engine_threads():
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sum(name == "libsse-engine" for name in names)

base, part = sys.argv[2], sys.argv[3]
out = {}

async def ids_of(client, n):
    ids = []
    async for event in client:
        ids.append(int(event.id))
        if len(ids) == n:
            break
    return ids

async def live():
    # Dropped after 3 events each time: the reconnection delays are timers
    # of the event loop (nothing else runs on it).
    clients = [
        libsse.connect_async(base + "/ticker?count=0&interval_ms=3&drop_after=3", retry=0.02)
        for _ in range(3)
    ]
    out["ids"] = await asyncio.gather(*(ids_of(c, 10) for c in clients))
    out["threads"] = engine_threads()
    for c in clients:
        c.close()

async def far_ahead():
    slow = libsse.connect_async(base + "/ticker?count=0&interval_ms=5")
    first = await ids_of(slow, 2)
    out["threads_before"] = engine_threads()
    n = 0
    async with libsse.connect_async(base + "/fast?count=200000&size=40&framing=close", max_retries=0) as fast:
        async for event in fast:
            if not event.data.startswith('{"token":"'):
                out["bad"] = event.data
                break
            n += 1
    out["fast"] = n
    out["threads_after"] = engine_threads()
    out["slow"] = first + await asyncio.wait_for(ids_of(slow, 5), 10)
    slow.close()

def outside():
    client = libsse.connect_async(base + "/ticker?count=4", max_retries=0)
    async def main():
        ids = []
        async for e in client:
            ids.append(int(e.id))
            out.setdefault("threads", engine_threads())
        return ids
    out["ids"] = asyncio.run(main())

def another_loop():
    # Made in loop A, which stays open but idle; read in another loop.
    home = asyncio.new_event_loop()
    async def make():
        return libsse.connect_async(base + "/ticker?count=4&interval_ms=5", max_retries=0)
    client = home.run_until_complete(make())
    async def read():
        return [int(e.id) async for e in client]
    out["ids"] = asyncio.run(asyncio.wait_for(read(), 10))
    # loop A runs again: its reader of the handed-over loop goes quietly
    cpu = time.process_time()
    home.run_until_complete(asyncio.sleep(0.2))
    out["cpu"] = time.process_time() - cpu
    home.close()

async def timers():
    # What only the event loop's timers (call_at) can end: a read timeout
    # on a silent stream, and the backoff between failed connections.
    for name, make, error in (
        ("read_timeout", lambda: libsse.connect_async(base + "/silent", read_timeout=0.3, max_retries=0),
         libsse.ReadTimeout),
        ("backoff", lambda: libsse.connect_async("http://127.0.0.1:9/", retry=0.1, max_retries=2),
         libsse.RetriesExhausted),
    ):
        wall, cpu = time.monotonic(), time.process_time()
        client = make()

        async def drain():
            async for _ in client:
                pass

        try:
            await asyncio.wait_for(drain(), 10)
            raised = None
        except error as e:
            raised = type(e).__name__
        except asyncio.TimeoutError:
            raised = "nothing within 10 s"
        out[name] = {"raised": raised, "secs": time.monotonic() - wall,
                     "cpu": time.process_time() - cpu, "threads": engine_threads()}
        client.close()

if part == "live":
    asyncio.run(live())
elif part == "timers":
    asyncio.run(timers())
elif part == "far-ahead":
    asyncio.run(far_ahead())
elif part == "another-loop":
    another_loop()
else:
    outside()
print(json.dumps(out))
"""


def _child(url: str, part: str, pure: bool = False) -> dict:
    env = dict(os.environ, LIBSSE_PURE="1") if pure else None
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, os.path.dirname(HERE), url, part],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_event_loop_reads_its_streams_with_no_libsse_thread(url: str) -> None:
    got = _child(url, "live")
    for ids in got["ids"]:
        assert ids == list(range(1, 11)), ids
    assert got["threads"] == 0, "a libsse thread read the asyncio streams"


@pytest.mark.parametrize("pure", [False, True], ids=["accelerated", "pure"])
def test_a_server_far_ahead_moves_the_loop_to_a_thread_and_every_event_arrives(url: str, pure: bool) -> None:
    """Also with the slower ABI-only path, beside a live stream whose small
    reads come between the fast stream's (the count is per stream)."""
    got = _child(url, "far-ahead", pure)
    assert got["threads_before"] == 0
    assert "bad" not in got, got.get("bad")
    assert got["fast"] == 200_000
    assert got["threads_after"] == 1, "the backlog did not move the loop to a thread"
    # the live stream on the same loop went on, in order, across the move
    assert got["slow"] == list(range(got["slow"][0], got["slow"][0] + 7)), got["slow"]


@pytest.mark.parametrize("pure", [False, True], ids=["accelerated", "pure"])
def test_the_event_loops_timers_end_a_silent_stream_and_pace_the_backoff(url: str, pure: bool) -> None:
    """A read timeout and the reconnection delays fire from the event
    loop's call_at, with no libsse thread and without spinning meanwhile."""
    got = _child(url, "timers", pure)
    timeout, backoff = got["read_timeout"], got["backoff"]
    assert timeout["raised"] == "ReadTimeout", timeout
    assert 0.25 < timeout["secs"] < 5, timeout
    assert backoff["raised"] == "RetriesExhausted", backoff
    assert 0.15 < backoff["secs"] < 5, backoff  # two delays of 0.1 s and more
    for what in (timeout, backoff):
        assert what["threads"] == 0, what
        assert what["cpu"] < 0.05 + 0.5 * what["secs"], f"the event loop spun while waiting: {what}"


def test_a_client_made_outside_a_running_loop_uses_libsses_thread(url: str) -> None:
    got = _child(url, "outside")
    assert got["ids"] == [1, 2, 3, 4]
    assert got["threads"] == 1


def test_a_client_read_from_another_event_loop_hands_its_loop_to_a_thread(url: str) -> None:
    """Made in an event loop that stays idle, read in another: the stream
    is not left to a loop nobody runs (it would hang); the first loop,
    run again, does not spin on the handed-over descriptor."""
    got = _child(url, "another-loop")
    assert got["ids"] == [1, 2, 3, 4]
    assert got["cpu"] < 0.15, f"the idle loop spun: {got['cpu']:.3f} s of CPU in 0.2 s"
