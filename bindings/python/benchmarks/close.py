"""Close latency from Python: a consumer waits on a silent stream, another
thread (or task) closes the client; time from the close call to the
consumer's loop having ended.

    python3 bindings/python/benchmarks/close.py [--samples 200] [--rounds 1]
            [--clients libsse,libsse-async,libsse-async-thread,launchdarkly,ld-async]
            [--url URL] [--markdown FILE]

Per sample a new client connects to the demo server's ``/silent`` (200,
then nothing) and is connected (libsse: its Open item taken; launchdarkly:
``start()``), a consumer starts iterating its message events and is left
5 ms to block in its wait; then ``t0`` is read just before ``close()`` and
``t1`` right after the consumer's loop ended (``time.perf_counter_ns``,
one clock). Reported: close → loop ended, and how long the close call
itself took, p50 / p90 / p99 / max in µs.

- ``libsse``: ``for event in libsse.connect(url)`` in a thread, closed by
  the main thread (``client.close()``);
- ``libsse-async``: ``async for event in client`` in a task, closed by
  another task of the same loop;
- ``libsse-async-thread``: the same task, closed by another thread;
- ``launchdarkly``: ``for event in SSEClient(url).events`` in a thread,
  closed by the main thread (``client.close()``: urllib3's
  ``shutdown()`` wakes the blocked read);
- ``ld-async``: ``AsyncSSEClient``'s events in a task, closed by another
  task (``await client.close()``).

Goal (issue 15): p99 of close → loop ended ≤ 0.5 ms, sync and asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Tuple

from _peers import dist_version, importable  # beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SETTLE = 0.005  # s the consumer is left to block in its wait before the close
GOAL_US = 500.0

Sample = Tuple[float, float]  # (close -> loop ended, the close call), µs
now = time.perf_counter_ns


def _sync_sample(start: Callable[[], object], iterate: Callable[[object], object], close: Callable[[object], None]) -> Sample:
    """One sample of a sync client: ``iterate`` in a thread, ``close`` here."""
    client = start()
    ended = [0]

    def consume() -> None:
        for _ in iterate(client):  # type: ignore[attr-defined]
            pass
        ended[0] = now()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(SETTLE)
    t0 = now()
    close(client)
    t_call = now()
    thread.join(10)
    if thread.is_alive() or not ended[0]:
        raise SystemExit("the consumer did not end after close()")
    return (ended[0] - t0) / 1e3, (t_call - t0) / 1e3


def run_libsse(url: str) -> Sample:
    import libsse

    def start() -> object:
        client = libsse.connect(url)
        item = client.next(10)
        if not isinstance(item, libsse.Open):
            raise SystemExit(f"libsse: expected Open, got {item!r}")
        return client

    return _sync_sample(start, iter, lambda c: c.close())  # type: ignore[attr-defined]


def run_launchdarkly(url: str) -> Sample:
    from ld_eventsource import SSEClient

    def start() -> object:
        client = SSEClient(url)
        client.start()
        return client

    return _sync_sample(start, lambda c: c.events, lambda c: c.close())  # type: ignore[attr-defined]


def _async_sample(url: str, by_thread: bool) -> Sample:
    import libsse

    async def main() -> Sample:
        client = libsse.connect_async(url)
        item = await client.next(10)
        if not isinstance(item, libsse.Open):
            raise SystemExit(f"libsse-async: expected Open, got {item!r}")
        ended = [0]

        async def consume() -> None:
            async for _ in client:
                pass
            ended[0] = now()

        task = asyncio.ensure_future(consume())
        times = [0, 0]

        def close() -> None:
            times[0] = now()
            client.close()
            times[1] = now()

        if by_thread:
            closer = threading.Thread(target=lambda: (time.sleep(SETTLE), close()))
            closer.start()
            await asyncio.wait_for(task, 10)
            closer.join()
        else:
            await asyncio.sleep(SETTLE)
            close()
            await asyncio.wait_for(task, 10)
        return (ended[0] - times[0]) / 1e3, (times[1] - times[0]) / 1e3

    return asyncio.run(main())


def run_ld_async(url: str) -> Sample:
    from ld_eventsource import AsyncSSEClient

    async def main() -> Sample:
        client = AsyncSSEClient(url)
        await client.start()
        ended = [0]

        async def consume() -> None:
            async for _ in client.events:
                pass
            ended[0] = now()

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(SETTLE)
        t0 = now()
        await client.close()
        t_call = now()
        await asyncio.wait_for(task, 10)
        return (ended[0] - t0) / 1e3, (t_call - t0) / 1e3

    return asyncio.run(main())


CLIENTS: Dict[str, Callable[[str], Sample]] = {
    "libsse": run_libsse,
    "libsse-async": lambda url: _async_sample(url, False),
    "libsse-async-thread": lambda url: _async_sample(url, True),
    "launchdarkly": run_launchdarkly,
    "ld-async": run_ld_async,
}
MODULE = {"libsse-async": "libsse", "libsse-async-thread": "libsse", "ld-async": "launchdarkly"}
LIBSSE = ("libsse", "libsse-async", "libsse-async-thread")


def describe(name: str) -> str:
    ld = f"launchdarkly-eventsource {dist_version('launchdarkly-eventsource')}"
    return {
        "libsse": "libsse, sync iterator in a thread, `close()` from the main thread",
        "libsse-async": "libsse, asyncio task, `close()` from another task",
        "libsse-async-thread": "libsse, asyncio task, `close()` from another thread",
        "launchdarkly": f"{ld} `SSEClient.events` in a thread, `close()` from the main thread",
        "ld-async": f"{ld} `AsyncSSEClient.events` in a task, `await close()` from another task",
    }.get(name, name)


def pct(v: List[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[rank - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=200, help="samples per client per round")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--url", help="base URL of a running sse-demo-server")
    ap.add_argument("--markdown", help="write the table and the verdict there (+ .summary)")
    args = ap.parse_args()
    if importable("libsse") is not None:  # run from the source tree
        sys.path.insert(0, os.path.dirname(HERE))
    server = None
    base = args.url
    if not base:
        binary = os.path.join(REPO, "target", "release", "sse-demo-server")
        server = subprocess.Popen(
            [binary, "--port", "0", "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        base = server.stdout.readline().decode().strip()  # type: ignore[union-attr]
    url = f"{base}/silent"
    names, skipped = [], {}
    for name in [c.strip() for c in args.clients.split(",") if c.strip()]:
        why = importable(MODULE.get(name, name))
        if why:
            skipped[name] = why
        else:
            names.append(name)
    ended: Dict[str, List[float]] = {n: [] for n in names}
    call: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            for _ in range(args.samples):
                e, c = CLIENTS[name](url)
                ended[name].append(e)
                call[name].append(c)
            v = sorted(ended[name][-args.samples:])
            print(f"round {r + 1}: {name:20s} p50 {pct(v, 50):6.0f} µs  p99 {pct(v, 99):6.0f} µs  max {v[-1]:6.0f} µs",
                  file=sys.stderr)
    if server is not None:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()

    pyver = sys.version.split()[0]
    lines = [
        f"Python {pyver}; `/silent`; {args.rounds} round(s) of {args.samples} samples per client, µs.",
        "",
        "| consumer, closer | samples | close → loop ended p50 | p90 | p99 | max | close call p50 | p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    parts = []
    for n in names:
        v, c = sorted(ended[n]), sorted(call[n])
        bold = "**" if n in LIBSSE else ""
        lines.append(
            f"| {bold}{describe(n)}{bold} | {len(v)} | {pct(v, 50):.0f} | {pct(v, 90):.0f} | {bold}{pct(v, 99):.0f}{bold} "
            f"| {v[-1]:.0f} | {pct(c, 50):.0f} | {pct(c, 99):.0f} |"
        )
        if n in LIBSSE:
            verdict = "met" if pct(v, 99) <= GOAL_US else "**missed**"
            parts.append(f"{n} close → loop ended p50 {pct(v, 50):.0f} µs, p99 **{pct(v, 99):.0f} µs** "
                         f"(max {v[-1]:.0f}), goal ≤ {GOAL_US:.0f} µs: {verdict}")
        else:
            parts.append(f"{n} p50 {pct(v, 50):.0f} µs, p99 {pct(v, 99):.0f} µs (max {v[-1]:.0f})")
    for n, why in skipped.items():
        lines.append(f"| {n} | skipped: {why} | | | | | | |")
    summary = f"Python {pyver} close: " + "; ".join(parts)
    lines += ["", f"- {summary}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
        with open(args.markdown + ".summary", "w") as f:
            f.write(summary + "\n")


if __name__ == "__main__":
    main()
