"""The compiled event builder (libsse._speedups): events built as they are
taken, what a pull did not hand out kept across close, and the reused
awaitable and StopIteration of the asyncio client safe to hold on to."""

from __future__ import annotations

import asyncio
import time
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
    before the library's batch is freed: they come out intact, in order,
    right after the ones taken. (A server's big writes: each read, and so
    each pull, holds many events; one event per write gave pulls of one
    event now and then, whose rest is rightly empty.)"""
    token = '{"token":"abcdefghijklmnopqrstuvwxyzab"}'
    client = libsse.connect(url + "/fast?count=200000&size=40&framing=close", max_retries=0, background=True)
    it = iter(client)
    time.sleep(0.3)  # read in the background: the pull in hand holds a whole read (up to 64 KiB)
    taken = [next(it) for _ in range(6)]
    client.close()
    rest = list(it)  # what that pull held, then the end
    assert rest, "the events of the pull in hand were dropped at close"
    assert all(e == ("message", token, "", None) for e in taken + rest)
    assert len(taken) + len(rest) < 200_000  # (what was queued but not pulled is dropped)


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


def test_a_quiet_client_keeps_no_room_for_its_largest_batch(url: str) -> None:
    """Buffers sized to the traffic: after a burst of large batches, a
    client that waits on a quiet stream keeps room for a few items only,
    not for the ~1,600 of a 64 KiB read (72 bytes of item views each)."""
    tracemalloc.start()
    try:
        with libsse.connect(url + "/ticker?count=20000&hold=1", max_retries=0, background=True) as client:
            it = iter(client)
            next(it)
            time.sleep(0.5)  # the burst is read meanwhile: large batches wait
            for n, _ in enumerate(it, 2):
                if n == 20000:
                    break
            _, burst_peak = tracemalloc.get_traced_memory()
            assert client.next(0.1) is None  # a pull on the quiet stream
            held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert burst_peak > 80_000, f"the burst's batches were small ({burst_peak:,} B): nothing measured"
    assert held < 40_000, f"{held:,} B still held by a quiet client (peak {burst_peak:,})"


def test_a_stalled_consumer_holds_at_most_the_queue_bound(url: str) -> None:
    """A consumer that stops iterating an endless fast stream (a pull in
    hand, built lazily) makes the library stop reading: the queue holds at
    most its capacity plus one read's batch, and memory stays flat."""

    def rss_kib() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

    with libsse.connect(url + "/fast?count=0&size=40", max_retries=0, queue_capacity=1000) as client:
        it = iter(client)
        next(it)
        time.sleep(0.3)
        before = rss_kib()
        time.sleep(1.0)  # stalled: the server could send ~100 MB meanwhile
        grown = rss_kib() - before
        stats = client.stats
        assert stats.queue_peak <= 1000 + 2048, stats
        assert grown < 20_000, f"RSS grew {grown} KiB while the consumer stalled"
        assert next(it).data.startswith('{"token":"')  # and it goes on


_RECYCLING_CHILD = r"""
import gc, sys, weakref
sys.path.insert(0, sys.argv[1])
import libsse
url = sys.argv[2]
assert libsse.ACCELERATED

def read(n):
    kept = []
    with libsse.connect(url + f"/fast?count={n}&size=40&framing=close", max_retries=0) as client:
        for i, event in enumerate(client):
            assert not gc.is_tracked(event)
            if i % 1000 == 0:
                kept.append(event)
    return kept

read(2_000)  # warmed up: the library's own objects exist
gc.collect()
refs = sys.getrefcount(libsse.Event)
kept = read(100_000)
assert len(kept) == 100 and len({id(e) for e in kept}) == 100
assert all(e == ("message", '{"token":"abcdefghijklmnopqrstuvwxyzab"}', "", None) for e in kept), kept[:3]
assert sys.getrefcount(libsse.Event) == refs + 100, (sys.getrefcount(libsse.Event), refs)
del kept
gc.collect()
assert sys.getrefcount(libsse.Event) == refs, (sys.getrefcount(libsse.Event), refs)

class Payload:
    pass

class Sub(libsse.Event):
    __slots__ = ()

held = Payload()
gone = weakref.ref(held)
by_hand = [libsse.Event("t", "d", "i", 5), libsse.Event("t", held), Sub("s", "d")]
sub_refs = sys.getrefcount(Sub)
del held, by_hand
gc.collect()
assert gone() is None, "an Event made by hand kept what it held"
assert sys.getrefcount(Sub) == sub_refs - 1, (sys.getrefcount(Sub), sub_refs)
for _ in range(10_000):  # each subclass instance releases its type once: no leak, no double release
    Sub("s", "d")
# (the interpreter's call caches may hold a few references of their own)
assert sub_refs - 1 <= sys.getrefcount(Sub) <= sub_refs + 8, (sys.getrefcount(Sub), sub_refs)
del Sub  # (the class holds three references to its base)
gc.collect()
assert sys.getrefcount(libsse.Event) == refs, (sys.getrefcount(libsse.Event), refs)
assert read(3_000)[0].data.startswith('{"token"')

# A chain of Events each holding the next is freed without a C recursion
# per link (the trashcan; 200,000 links overflowed the stack without it).
chain = None
for _ in range(1_000_000):
    chain = libsse.Event("message", chain)
del chain

# A __del__ given to Event after import runs (and the event is not reused).
finalized = []
libsse.Event.__del__ = lambda self: finalized.append(self.data)
libsse.Event("message", "bye")
del libsse.Event.__del__
assert finalized == ["bye"], finalized
assert len(read(2_000)) == 2

# An event a finalizer ran on is not reused (CPython's "finalized" mark
# would stay with the memory, and a later __del__ would skip its events).
def read_all(n):
    with libsse.connect(url + f"/fast?count={n}&size=40&framing=close", max_retries=0) as client:
        return list(client)

def once(self):
    del libsse.Event.__del__
hold = read_all(100)  # (takes every memory block kept: the list is empty)
libsse.Event.__del__ = once
libsse.Event("message", "once")
fresh = read_all(50)
if hasattr(gc, "is_finalized"):  # (3.9+)
    assert not any(gc.is_finalized(e) for e in fresh)
finalized.clear()
libsse.Event.__del__ = lambda self: finalized.append(1)
del fresh
assert len(finalized) == 50, len(finalized)
del libsse.Event.__del__, hold

# The package imported again (a new Event type) binds the builder again.
for name in [m for m in sys.modules if m == "libsse" or m.startswith("libsse.")]:
    del sys.modules[name]
import libsse as again
assert again.Event is not libsse.Event and again.ACCELERATED
with again.connect(url + "/fast?count=3000&size=40&framing=close", max_retries=0) as client:
    events = list(client)
assert len(events) == 3000 and all(type(e) is again.Event for e in events)
print("ok")
"""


def test_recycled_events_keep_their_contents_and_the_types_references(url: str) -> None:
    """Up to 3.13 a freed Event's memory is reused for the next one built:
    the events kept stay intact (each its own object), the Event type's
    reference count comes back where it was, Events made by hand and a
    subclass's instances are freed with what they hold, an event from the
    builder is not tracked by the collector, a long chain of Events is
    freed without overflowing the stack, a __del__ given to Event runs (on
    every event, also after one removed itself), and a second import of the
    package binds the builder to its new Event type.
    (In a child process: other tests' objects would move the counts.)"""
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", _RECYCLING_CHILD, here, url], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
