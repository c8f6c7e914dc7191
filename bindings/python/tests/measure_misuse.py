"""Measures the figures of issue 16's Python items (not a test: timings
belong here, not in the suite). Run from bindings/python:

    python3 tests/measure_misuse.py [streams] [seconds]

It starts the demo server, then reports (1) the interrupt storm: SIGINT
every 0.5-10 ms while iterating a fast stream, events lost and repeated;
(2) a 10 ms asyncio heartbeat beside ``streams`` (default 50) endless fast
streams: its period (median, p90, max), once with the server and this
process sharing the CPUs, once pinned apart (see main)."""

from __future__ import annotations

import asyncio
import gc
import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from conftest import DemoServer  # noqa: E402  (puts the source tree on sys.path)

import libsse  # noqa: E402

FAST = "/ticker?count=0&interval_ms=0"


def interrupt_storm(url: str, seconds: float) -> str:
    armed = [False]

    def on_sigint(signum, frame):  # type: ignore[no-untyped-def]
        if armed[0]:
            raise KeyboardInterrupt

    got: list = []
    collect = got.append
    stop = threading.Event()

    def storm() -> None:
        while not stop.wait(random.uniform(0.0005, 0.010)):
            os.kill(os.getpid(), signal.SIGINT)

    interrupts = 0
    gc.collect()
    gc.disable()  # an interrupt inside a finalizer would be swallowed
    old = signal.signal(signal.SIGINT, on_sigint)
    sender = threading.Thread(target=storm)
    try:
        with libsse.connect(url + FAST) as client:
            sender.start()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    armed[0] = True
                    for event in client:
                        collect(event)
                except KeyboardInterrupt:
                    armed[0] = False
                    interrupts += 1
            armed[0] = False
    finally:
        armed[0] = False
        stop.set()
        sender.join()
        signal.signal(signal.SIGINT, old)
        gc.enable()
    ids = [int(e.id) for e in got]
    lost = ids[-1] - ids[0] + 1 - len(set(ids))
    return (f"interrupt storm, {seconds:.0f} s: {interrupts} interrupts, {len(ids)} events, "
            f"{lost} lost, {len(ids) - len(set(ids))} repeated")


def heartbeat(url: str, streams: int, seconds: float, period: float = 0.01) -> str:
    async def main():
        clients = [libsse.connect_async(url + FAST) for _ in range(streams)]
        counts = [0] * streams
        gaps: list = []

        async def reader(index: int, client: libsse.AsyncClient) -> None:
            async for _ in client:
                counts[index] += 1

        async def beat() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(period)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        readers = [asyncio.create_task(reader(i, c)) for i, c in enumerate(clients)]
        while min(counts) == 0:
            await asyncio.sleep(0.05)
        start = sum(counts)
        task = asyncio.create_task(beat())
        await asyncio.sleep(seconds)
        events = sum(counts) - start
        for t in (task, *readers):
            t.cancel()
        await asyncio.gather(task, *readers, return_exceptions=True)
        for c in clients:
            c.close()
        return gaps, events

    gaps, events = asyncio.run(main())
    gaps.sort()

    def q(f: float) -> float:
        return gaps[min(len(gaps) - 1, int(f * len(gaps)))] * 1000

    return (f"{period * 1000:.0f} ms heartbeat beside {streams} fast streams, {seconds:.0f} s: {len(gaps)} beats, "
            f"period median {q(0.5):.1f} ms, p90 {q(0.9):.1f} ms, max {gaps[-1] * 1000:.1f} ms; "
            f"{events / seconds:.0f} events/s read")


def main() -> None:
    streams = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5
    server = DemoServer()
    try:
        print(f"libsse {libsse.__version__}, event builder {'compiled' if libsse.ACCELERATED else 'absent'}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(interrupt_storm(server.url, seconds))
        print(heartbeat(server.url, streams, seconds))
    finally:
        server.stop()
    # The demo server generating 50 endless streams takes more than a core
    # of its own; on 2 cores it then competes with the event loop for the
    # CPU, and the heartbeat measures the machine, not the binding. Pinned
    # apart (server on CPU 1, this process and its threads on CPU 0), the
    # figure is the binding's.
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        server = DemoServer()
        try:
            os.sched_setaffinity(server.proc.pid, {1})
            os.sched_setaffinity(0, {0})
            print("pinned (server on CPU 1, this process on CPU 0): "
                  + heartbeat(server.url, streams, seconds))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
