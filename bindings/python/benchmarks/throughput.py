"""Events per second through Python SSE clients, against the demo server.

    python3 bindings/python/benchmarks/throughput.py [--count 1000000] [--size 40]
            [--repeat 3] [--clients libsse,libsse-async,launchdarkly,ssec] [--url URL]

Starts target/release/sse-demo-server on a free port (unless --url) and
reads /fast?count=N&size=S (N identical events of S bytes of data, sent in
64 KiB writes) with each client that can be imported here, in this process,
one after the other. Every loop body reads ``event.data`` (sums its
length), so every client must hand out the data. Prints, per client, the
best of --repeat runs: events/s (wall clock) and the CPU time of the
consuming thread per event (``time.thread_time``; libsse's own parsing
thread is not included there, it runs in parallel).

The peers need their own packages: ``pip install launchdarkly-eventsource``
and ``ssec`` (>= 3, needs Python >= 3.12); clients that cannot be imported
are skipped. libsse itself must be installed or found via its source tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from typing import Callable, Dict, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def run_libsse(url: str, n: int) -> Tuple[int, int]:
    import libsse

    events = total = 0
    with libsse.connect(url, max_retries=0) as client:
        for event in client:
            total += len(event.data)
            events += 1
    return events, total


def run_libsse_async(url: str, n: int) -> Tuple[int, int]:
    import libsse

    async def main() -> Tuple[int, int]:
        events = total = 0
        async with libsse.connect_async(url, max_retries=0) as client:
            async for event in client:
                total += len(event.data)
                events += 1
        return events, total

    return asyncio.run(main())


def run_launchdarkly(url: str, n: int) -> Tuple[int, int]:
    from ld_eventsource import SSEClient

    events = total = 0
    client = SSEClient(url)
    try:
        for event in client.events:
            total += len(event.data)
            events += 1
            if events >= n:
                break
    finally:
        client.close()
    return events, total


def run_ssec(url: str, n: int) -> Tuple[int, int]:
    import ssec

    events = total = 0
    for event in ssec.sse(url):
        total += len(event.data)
        events += 1
        if events >= n:
            break
    return events, total


CLIENTS: Dict[str, Callable[[str, int], Tuple[int, int]]] = {
    "libsse": run_libsse,
    "libsse-async": run_libsse_async,
    "launchdarkly": run_launchdarkly,
    "ssec": run_ssec,
}
MODULES = {"libsse": "libsse", "libsse-async": "libsse", "launchdarkly": "ld_eventsource", "ssec": "ssec"}


def importable(name: str) -> Optional[str]:
    try:
        __import__(MODULES[name])
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    if name == "ssec":
        import ssec

        if not hasattr(ssec, "sse"):
            return "ssec < 3 (no ssec.sse); needs Python >= 3.12"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--url", help="base URL of a running sse-demo-server")
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
    url = f"{base}/fast?count={args.count}&size={args.size}"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {url}")
    try:
        import libsse

        print(f"libsse {libsse.__version__} from {os.path.dirname(libsse.__file__)}, "
              f"batch packer {'compiled' if libsse.ACCELERATED else 'absent'}")
    except ImportError:
        pass
    results = {}
    for name in [c.strip() for c in args.clients.split(",") if c.strip()]:
        why = importable(name)
        if why:
            print(f"{name:14s} skipped ({why})")
            continue
        best = None
        for _ in range(args.repeat):
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            events, total = CLIENTS[name](url, args.count)
            wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
            assert events == args.count, (name, events)
            assert total == args.count * args.size, (name, total)
            if best is None or wall < best[0]:
                best = (wall, cpu)
        wall, cpu = best  # type: ignore[misc]
        results[name] = args.count / wall
        print(f"{name:14s} {args.count / wall:>12,.0f} events/s   "
              f"{cpu / args.count * 1e9:>6.0f} ns CPU/event (consumer thread)   {wall:.2f} s")
    if server is not None:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()


if __name__ == "__main__":
    main()
