"""Delivery latency of /stamp events to Python SSE clients, each beside a
raw socket reader running at the same time.

    python3 bindings/python/benchmarks/latency.py [--rate 1000] [--count 1500]
            [--rounds 3] [--clients libsse,libsse-async,launchdarkly,ssec]
            [--url URL] [--markdown FILE]

The demo server's /stamp?rate=R&count=N sends N events whose data is the
server's CLOCK_MONOTONIC in ns at write time. Latency = the consumer's
``time.clock_gettime_ns(time.CLOCK_MONOTONIC)`` (the same clock) when its
loop body holds the event, minus that stamp. The first 10 events of every
stream are not counted.

Every client run has a raw socket reader beside it: a separate Python
process (this script with ``--raw-worker``, so it does not share the GIL)
that sends the same GET on its own connection, ``recv()``s and stamps every
``data:`` line: the floor for a Python program. Each round runs every client
once in a rotated order. Reported per client, in µs: p50, p90, p99 and max
of the pooled samples; Δp50 = p50 - raw p50 and p99 ÷ raw = p99 / raw p99,
where raw pools every raw run; "paired" = the median over the rounds of
p99 / p99 of the raw reader that ran beside it.

Clients (their defaults, as a user gets them): libsse's sync iterator
(``libsse.connect``) and asyncio client; ``ld_eventsource.SSEClient``
(launchdarkly-eventsource); ssec >= 3 ``ssec.sse(url)`` (httpx, 1 KiB
chunks: httpx hands out a chunk once 1 KiB has arrived) or ssec 2.x
``ssec.EventSource(url)`` (requests, one byte per read). Clients that
cannot be imported are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List
from urllib.parse import urlsplit

from _peers import dist_version, importable  # beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
WARMUP = 10


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Samples:
    def __init__(self) -> None:
        self.seen = 0
        self.v: List[float] = []
        # events whose data is not a stamp (every event of the stream has
        # one): a client bug, counted and reported, not a sample
        self.bad: List[str] = []

    def add(self, now: int, data: str) -> None:
        self.seen += 1
        try:
            stamp = int(data)
        except ValueError:
            self.bad.append(f"event {self.seen}: data {data[:40]!r}")
            return
        if self.seen > WARMUP:
            self.v.append((now - stamp) / 1e3)  # µs


def stamp_lines(text: bytes, now: int, s: Samples) -> bytes:
    """The raw readers' parsing: every whole ``data:`` line of ``text``
    read at ``now`` is a sample; returns the unfinished last line."""
    lines = text.split(b"\n")
    for line in lines[:-1]:
        if line.startswith(b"data: "):
            s.add(now, line[6:].decode())
    return lines[-1]


# ------------------------------------------------------------------ clients

def run_libsse(url: str, n: int, s: Samples) -> None:
    import libsse

    with libsse.connect(url, max_retries=0) as client:
        for event in client:
            s.add(now_ns(), event.data)


def run_libsse_async(url: str, n: int, s: Samples) -> None:
    import libsse

    async def main() -> None:
        async with libsse.connect_async(url, max_retries=0) as client:
            async for event in client:
                s.add(now_ns(), event.data)

    asyncio.run(main())


def run_launchdarkly(url: str, n: int, s: Samples) -> None:
    from ld_eventsource import SSEClient

    client = SSEClient(url)
    try:
        for event in client.events:
            s.add(now_ns(), event.data)
            if s.seen >= n:
                break
    finally:
        client.close()


def run_ssec(url: str, n: int, s: Samples) -> None:
    import ssec

    if hasattr(ssec, "sse"):  # ssec >= 3 (httpx)
        for event in ssec.sse(url):
            s.add(now_ns(), event.data)
            if s.seen >= n:
                break
        return
    source = ssec.EventSource(url)  # ssec 2.x: open() returns at the end
    source.add_event_listener("message", lambda event: s.add(now_ns(), event.data))
    try:
        source.open()
    finally:
        source.close()


def run_raw_async(url: str, n: int, s: Samples) -> None:
    """The floor for an asyncio program: asyncio's own streams
    (``open_connection``, ``StreamReader.read``) and the raw reader's
    parsing, on one event loop."""
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")

    async def main() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
            f"Cache-Control: no-cache\r\nUser-Agent: latency-raw-async\r\n\r\n".encode()
        )
        tail = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            tail = stamp_lines(tail + chunk, now_ns(), s)
        writer.close()

    asyncio.run(main())


CLIENTS: Dict[str, Callable[[str, int, Samples], None]] = {
    "libsse": run_libsse,
    "libsse-async": run_libsse_async,
    "launchdarkly": run_launchdarkly,
    "ssec": run_ssec,
    "raw-async": run_raw_async,
}
# Rows for reference, not peers: no SSE client.
REFERENCES = ("raw-async",)


def describe(name: str) -> str:
    if name == "libsse":
        return "libsse, sync iterator (`libsse.connect`)"
    if name == "libsse-async":
        return "libsse, asyncio (`libsse.connect_async`)"
    if name == "raw-async":
        return "raw asyncio reader, `StreamReader.read` (reference: the floor for asyncio)"
    if name == "launchdarkly":
        return f"launchdarkly-eventsource {dist_version('launchdarkly-eventsource')}, `SSEClient.events`"
    if name == "ssec":
        import ssec

        if hasattr(ssec, "sse"):
            return f"ssec {dist_version('ssec')} (httpx), `ssec.sse` (1 KiB chunks)"
        return f"ssec {dist_version('ssec')} (requests), `EventSource` (1-byte reads)"
    return name


# --------------------------------------------------------------- raw reader

def raw_worker(url: str, n: int) -> None:
    """Reads url with a plain socket; prints "ready", then the samples as
    JSON once the body ends."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    path = parts.path + ("?" + parts.query if parts.query else "")
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
        f"Cache-Control: no-cache\r\nUser-Agent: latency-raw\r\n\r\n".encode()
    )
    print("ready", flush=True)
    s = Samples()
    tail = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        tail = stamp_lines(tail + chunk, now_ns(), s)
    sock.close()
    if s.seen != n:
        sys.exit(f"raw reader: {s.seen} events, expected {n}")
    print(json.dumps(s.v), flush=True)


def start_raw(url: str, n: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--raw-worker", url, "--count", str(n)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the raw reader did not start")
    return proc


def finish_raw(proc: subprocess.Popen) -> List[float]:
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"the raw reader failed ({proc.returncode})")
    return json.loads(out)


# ------------------------------------------------------------------- report

def pct(v: List[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not v:
        return 0.0
    rank = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[rank - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--count", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--url", help="base URL of a running sse-demo-server")
    ap.add_argument(
        "--framing",
        choices=("chunked", "close"),
        default="chunked",
        help="the response body's framing: chunked, or delimited by the connection's close",
    )
    ap.add_argument("--markdown", help="write the table and the verdict there")
    ap.add_argument("--raw-worker", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.count <= WARMUP:
        sys.exit(f"--count must be above {WARMUP}")
    if args.raw_worker:
        raw_worker(args.raw_worker, args.count)
        return

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
    url = f"{base}/stamp?rate={args.rate:g}&count={args.count}&framing={args.framing}"
    pyver = sys.version.split()[0]
    names: List[str] = []
    skipped: Dict[str, str] = {}
    for name in [c.strip() for c in args.clients.split(",") if c.strip()]:
        why = importable(name)
        if why:
            skipped[name] = why
        else:
            names.append(name)

    pooled: Dict[str, List[float]] = {n: [] for n in names}
    raw_all: List[float] = []
    paired: Dict[str, List[float]] = {n: [] for n in names}
    bad: Dict[str, List[str]] = {n: [] for n in names}
    for r in range(args.rounds):
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            raw = start_raw(url, args.count)
            time.sleep(0.0005)  # the two streams' writes half a period apart
            s = Samples()
            CLIENTS[name](url, args.count, s)
            raw_v = finish_raw(raw)
            if s.seen != args.count:
                sys.exit(f"{name}: {s.seen} events, expected {args.count}")
            pooled[name] += s.v
            bad[name] += s.bad
            raw_all += raw_v
            mine, ref = sorted(s.v), sorted(raw_v)
            paired[name].append(pct(mine, 99) / pct(ref, 99))
            print(f"round {r + 1}: {name:14s} p50 {pct(mine, 50):7.0f} µs  p99 {pct(mine, 99):7.0f} µs   "
                  f"raw beside it: p50 {pct(ref, 50):5.0f} µs  p99 {pct(ref, 99):5.0f} µs", file=sys.stderr)
    if server is not None:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()

    raw_all.sort()
    raw_p50, raw_p99 = pct(raw_all, 50), pct(raw_all, 99)
    lines = [
        f"Python {pyver}, {args.framing} body; `/stamp?rate={args.rate:g}&count={args.count}&framing={args.framing}`, "
        f"{args.rounds} rounds; "
        f"each run {args.count - WARMUP} samples after {WARMUP} warm-up events.",
        "",
        "| consumer | samples | p50 | p90 | p99 | max | Δp50 | p99 ÷ raw | paired p99 ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| raw socket reader, Python `recv()` (reference) | {len(raw_all)} | {raw_p50:.0f} | {pct(raw_all, 90):.0f} "
        f"| {raw_p99:.0f} | {raw_all[-1]:.0f} | — | — | — |",
    ]
    summary_parts = []
    for n in names:
        v = sorted(pooled[n])
        p50, p99 = pct(v, 50), pct(v, 99)
        bold = "**" if n == "libsse" else ""
        lines.append(
            f"| {bold}{describe(n)}{bold} | {len(v)} | {p50:.0f} | {pct(v, 90):.0f} | {bold}{p99:.0f}{bold} | {v[-1]:.0f} "
            f"| {p50 - raw_p50:+.0f} | {p99 / raw_p99:.2f}× | {statistics.median(paired[n]):.2f}× |"
        )
        if n in ("libsse", "libsse-async"):
            verdict = "met" if p99 / raw_p99 <= 1.5 else "**missed**"
            floor = ""
            if n == "libsse-async" and "raw-async" in names:
                async_p99 = pct(sorted(pooled["raw-async"]), 99)
                floor = (
                    f" (the raw asyncio reader itself: p99 {async_p99:.0f} µs = {async_p99 / raw_p99:.2f}× the raw "
                    f"reader's; libsse's asyncio p99 is {p99 / async_p99:.2f}× it)"
                )
            summary_parts.append(
                f"{describe(n)} p50 {p50:.0f} µs, p99 {p99:.0f} µs = **{p99 / raw_p99:.2f}×** the raw Python reader's "
                f"p99 ({raw_p99:.0f} µs; paired {statistics.median(paired[n]):.2f}×), goal ≤ 1.5×: {verdict}{floor}"
            )
    peers = [n for n in names if n not in ("libsse", "libsse-async") and n not in REFERENCES]
    if peers and "libsse" in names:
        lib_p99 = pct(sorted(pooled["libsse"]), 99)
        best = min(peers, key=lambda n: pct(sorted(pooled[n]), 99))
        best_p99 = pct(sorted(pooled[best]), 99)
        summary_parts.append(
            f"against the peer with the lowest p99, {describe(best)} ({best_p99:.0f} µs), "
            f"libsse's sync p99 is {lib_p99 / best_p99:.3g}×"
        )
    for n, why in skipped.items():
        lines.append(f"| {n} | skipped: {why} | | | | | | | |")
    lines.append("")
    for n in names:
        if bad[n]:
            runs = args.rounds
            lines.append(
                f"- {describe(n)}: **{len(bad[n])} of {runs * args.count} events arrived without their data** "
                f"(every event of the stream carries a stamp; not counted as samples): "
                f"{'; '.join(sorted(set(bad[n]))[:3])} (per run)"
            )
    summary = f"Python {pyver}, {args.framing}: " + "; ".join(summary_parts) if summary_parts else ""
    if summary:
        lines.append(f"- {summary}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
        with open(args.markdown + ".summary", "w") as f:
            f.write(summary + "\n" if summary else "")


if __name__ == "__main__":
    main()
