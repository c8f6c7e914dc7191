"""Events per second through Python SSE clients, against the demo server.

    python3 bindings/python/benchmarks/throughput.py [--count 500000] [--size 40]
            [--rounds 3] [--clients libsse,libsse-async,launchdarkly,ssec] [--url URL]
            [--shape write|event-chunks|close] [--markdown FILE]
    python3 bindings/python/benchmarks/throughput.py --shape-ratio [--count 2000000]
            [--size 40] [--rounds 7] [--url URL] [--markdown FILE]
    python3 bindings/python/benchmarks/throughput.py --shapes all [--count 300000]
            [--rounds 3] [--line-rounds 5] [--url URL] [--markdown FILE]

Starts target/release/sse-demo-server on a free port (unless --url) and
reads /fast?count=N&size=S (N identical events of S bytes of data, sent in
64 KiB writes) with each client that can be imported here, in this
process. Each round runs every client once, in a rotated order; figures are
medians over the rounds and "libsse is" is the median of the per-round
ratios (so both sides of a ratio ran in the same round). Every loop body
reads ``event.data`` (sums its length) and the run stops unless every
client saw every event with the right data. Reported per client:
events/s (wall clock), the CPU time of the consuming thread per event
(``time.thread_time``) and of the whole process per event (``getrusage``:
includes libsse's own parsing thread and any other thread a client uses).

``--shape`` picks the body's shape: ``write`` (default: chunked framing,
one chunk per ~64 KiB write), ``event-chunks`` (``&chunk=event``: chunked
framing, every event its own chunk, still in ~64 KiB writes: the shape of
a server that flushes after each event) or ``close`` (``&framing=close``:
no chunking, the body ends when the connection closes).

``--shape-ratio`` measures libsse's sync iterator alone on the three shapes
in interleaved rounds (the order alternates from round to round) and
reports the median of the per-round ratios event-chunks ÷ close (the goal:
small events in one-chunk-per-event bodies at ≥ 85% of the close-delimited
rate of the same build); ``write`` is a reference row.

``--shapes`` (what ``make bench`` runs: issue 15) measures every client on
each shape named (``GOALS``; ``all``): 40 B and 64 KiB events from /fast,
close-delimited and a chunk per event, and one 8 MiB data line in 1,460 B
writes (close-delimited and a chunk per write) from ``--serve-line``, a
small server this script starts in a process of its own. Each shape gets a
table and its verdicts: libsse sync >= 5x and asyncio >= 4x the fastest
peer, 64 KiB events >= 50% of the raw reader, the 8 MiB line <= 2x the
raw reader's time (per-round ratios, medians). With ``--markdown F``,
F.summary holds one verdict line per shape.

Peers, each driven the fastest way its documentation offers:

- ``launchdarkly``: ``ld_eventsource.SSEClient(url)`` (launchdarkly-eventsource,
  urllib3), iterating ``client.events``;
- ``ssec``: with ssec >= 3 (httpx; needs Python >= 3.12), ``ssec.sse(url)``
  with its default chunk_size (1 KiB: faster than 16 or 64 KiB, where its
  line splitting slows down); with ssec 2.x (requests; the last line that
  installs on Python 3.11), ``ssec.EventSource(url, chunk_size=65536)`` with
  a message listener (its default chunk_size=1 reads the body one byte per
  call; 64 KiB is its fastest setting).

The peers are not dependencies of the project: ``make bench``
(benches/run-all.sh) installs them into throwaway venvs under build/bench/.
Clients that cannot be imported are skipped. libsse itself must be
importable (installed, on PYTHONPATH, or found via its source tree).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from collections import namedtuple

from _peers import dist_version, importable  # beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CHUNK = 65536
# --shape: what it adds to /fast's query, and how the table names it.
SHAPES: Dict[str, Tuple[str, str]] = {
    "write": ("", "chunked, a chunk per ~64 KiB write"),
    "event-chunks": ("&chunk=event", "chunked, a chunk per event (~64 KiB writes)"),
    "close": ("&framing=close", "close-delimited (no chunking)"),
}
RATIO_GOAL = 0.85  # --shape-ratio: event-chunks ÷ close, at least
_PlainEvent = namedtuple("_PlainEvent", "event data id")  # the httpx peer's events


class Goal(NamedTuple):
    """One body shape of --shapes (issue 15): where it is read from, how
    many events of how many data bytes."""

    title: str
    path: str  # on the demo server ("/fast..."), or on the line server ("/line...")
    count: int  # 0: --count
    size: int
    line: bool  # served by --serve-line (one data line in small writes)


LINE_SIZE = 8 << 20  # one 8 MiB data line ...
LINE_WRITE = 1460  # ... in writes of one TCP segment's payload
GOALS: Dict[str, Goal] = {
    "small-close": Goal("40 B events, close-delimited", "/fast?count={n}&size=40&framing=close", 0, 40, False),
    "small-event": Goal("40 B events, one chunk per event", "/fast?count={n}&size=40&chunk=event", 0, 40, False),
    "64k-close": Goal("64 KiB events, close-delimited", "/fast?count={n}&size=65536&framing=close", 1000, 65536, False),
    "64k-event": Goal("64 KiB events, one chunk per event", "/fast?count={n}&size=65536&chunk=event", 1000, 65536, False),
    "line-close": Goal(f"one 8 MiB data line in {LINE_WRITE:,} B writes, close-delimited",
                       f"/line?count=1&size={LINE_SIZE}&write={LINE_WRITE}&framing=close", 1, LINE_SIZE, True),
    "line-chunked": Goal(f"one 8 MiB data line in {LINE_WRITE:,} B writes, a chunk per write",
                         f"/line?count=1&size={LINE_SIZE}&write={LINE_WRITE}", 1, LINE_SIZE, True),
}
# The goals of issue 15 (same interpreter, same run, medians of per-round ratios).
SYNC_GOAL, ASYNC_GOAL = 5.0, 4.0  # x the fastest peer's events/s
LARGE_OF_RAW = 0.5  # 64 KiB events: libsse (sync) at least this share of the raw reader's rate
LINE_OF_RAW = 2.0  # the 8 MiB line: libsse (sync) takes at most this many times the raw reader's time


def run_libsse(url: str, n: int, background: bool = False) -> Tuple[int, int]:
    import libsse

    events = total = 0
    with libsse.connect(url, max_retries=0, background=background) as client:
        for event in client:
            total += len(event.data)
            events += 1
    return events, total


def run_libsse_background(url: str, n: int) -> Tuple[int, int]:
    return run_libsse(url, n, background=True)


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
    if hasattr(ssec, "sse"):  # ssec >= 3 (httpx)
        for event in ssec.sse(url):
            total += len(event.data)
            events += 1
            if events >= n:
                break
        return events, total
    # ssec 2.x (requests): a blocking EventSource with listeners; open()
    # returns when the body ends.
    counts = [0, 0]

    def on_message(event) -> None:  # type: ignore[no-untyped-def]
        counts[0] += 1
        counts[1] += len(event.data)

    source = ssec.EventSource(url, chunk_size=CHUNK)
    source.add_event_listener("message", on_message)
    try:
        source.open()
    finally:
        source.close()
    return counts[0], counts[1]


def run_httpx(url: str, n: int) -> Tuple[int, int]:
    """httpx streaming the raw body into a plain 15-line parser (LF line
    ends and data lines only: what a hand-written client does)."""
    import httpx

    events = total = 0
    buf = bytearray()
    with httpx.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=None) as response:
        for chunk in response.iter_raw():
            buf += chunk
            end = buf.rfind(b"\n\n", max(0, len(buf) - len(chunk) - 1))  # only the new bytes: linear
            if end < 0:
                continue
            blocks = bytes(buf[:end]).split(b"\n\n")
            del buf[: end + 2]
            for block in blocks:
                lines = [ln[6:] if ln[5:6] == b" " else ln[5:] for ln in block.split(b"\n") if ln[:5] == b"data:"]
                if lines:
                    event = _PlainEvent("message", b"\n".join(lines).decode("utf-8", "replace"), "")
                    total += len(event.data)
                    events += 1
    return events, total


def run_raw(url: str, n: int) -> Tuple[int, int]:
    """The floor of a Python program: a plain socket, one GET, recv_into a
    1 MiB buffer until the server closes (the body asked for
    close-delimited, ``&framing=close``, so no chunk header is counted),
    counting the events by their line feeds. No parsing and
    no decoding: each event of /fast is one data line, so it ends its two
    line feeds, counted at memchr speed (events = LFs / 2); the data bytes
    are counted as events x size."""
    import socket
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    size = int(parse_qs(parts.query).get("size", ["32"])[0])
    sock = socket.create_connection((parts.hostname, parts.port))
    lfs = 0
    try:
        sock.sendall(f"GET {parts.path}?{parts.query}&framing=close HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        head = True
        while True:
            got = sock.recv_into(buf)
            if not got:
                break
            chunk = view[:got]
            if head:  # the response head ends with the first CRLF CRLF
                start = bytes(chunk).find(b"\r\n\r\n")
                if start < 0:
                    continue
                chunk, head = chunk[start + 4:], False
            lfs += buf.count(b"\n", got - len(chunk), got)
    finally:
        sock.close()
    events = lfs // 2
    return events, events * size


CLIENTS: Dict[str, Callable[[str, int], Tuple[int, int]]] = {
    "libsse": run_libsse,
    "libsse-async": run_libsse_async,
    "libsse-background": run_libsse_background,
    "launchdarkly": run_launchdarkly,
    "ssec": run_ssec,
    "httpx": run_httpx,
    "raw": run_raw,
}
OURS = ("libsse", "libsse-async", "libsse-background")
# Rows for reference, not peers: the raw socket reader is no SSE client.
REFERENCES = ("raw",)


Run = Tuple[float, float, float]  # events/s, thread CPU ns/event, process CPU ns/event


def measure(url: str, names: List[str], count: int, size: int, rounds: int, slow: float = 0.0
            ) -> Tuple[Dict[str, List[Run]], List[Dict[str, float]], Dict[str, str]]:
    """Reads ``url`` with every client once a round, in a rotated order;
    returns the runs of each client, the rates of each round and why
    clients failed (they are dropped from the rounds). A client whose run
    took longer than ``slow`` seconds (if not 0) runs in no later round."""
    runs: Dict[str, List[Run]] = {n: [] for n in names}
    per_round: List[Dict[str, float]] = []
    failed: Dict[str, str] = {}
    too_slow = set()
    for r in range(rounds):
        rates: Dict[str, float] = {}
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            if name in failed or name in too_slow:
                continue
            wall0, cpu0, proc0 = time.perf_counter(), time.thread_time(), process_cpu()
            try:
                events, total = CLIENTS[name](url, count)
            except Exception as error:  # noqa: BLE001
                failed[name] = f"failed in round {r + 1}: {type(error).__name__}: {error}"
                continue
            wall = time.perf_counter() - wall0
            cpu, proc = time.thread_time() - cpu0, process_cpu() - proc0
            if events != count or total != count * size:
                # a client that loses or mangles events is reported, not timed
                failed[name] = (f"failed in round {r + 1}: {events} events, {total} data bytes; "
                                f"expected {count}, {count * size}")
                continue
            rate = count / wall
            rates[name] = rate
            if slow and wall > slow:
                too_slow.add(name)
            runs[name].append((rate, cpu / count * 1e9, proc / count * 1e9))
            print(f"round {r + 1}: {name:14s} {rate:>12,.0f} events/s {rate * size / 1e6:>8,.0f} MB/s  "
                  f"{cpu / count * 1e9:>9,.0f} ns CPU/event (consumer thread)   {wall:.3f} s", file=sys.stderr)
        per_round.append(rates)
    for rd in per_round:
        for name in failed:
            rd.pop(name, None)
    keep = "libsse" in names and "libsse" not in failed  # ratios to libsse: only rounds where it ran
    return runs, [rd for rd in per_round if not keep or "libsse" in rd], failed


def describe(name: str) -> str:
    """The label of a client in the table: package, version, API."""
    if name == "libsse":
        return "libsse, sync iterator (`libsse.connect`)"
    if name == "libsse-async":
        return "libsse, asyncio (`libsse.connect_async`)"
    if name == "libsse-background":
        return "libsse, sync iterator read on libsse's thread (`libsse.connect(background=True)`)"
    if name == "launchdarkly":
        return (f"launchdarkly-eventsource {dist_version('launchdarkly-eventsource')} "
                f"(urllib3 {dist_version('urllib3')}), `SSEClient.events`")
    if name == "ssec":
        v = dist_version("ssec")
        import ssec

        if hasattr(ssec, "sse"):
            return f"ssec {v} (httpx {dist_version('httpx')}), `ssec.sse` (default 1 KiB chunks)"
        return f"ssec {v} (requests {dist_version('requests')}), `EventSource(chunk_size=64 KiB)`"
    if name == "httpx":
        return f"httpx {dist_version('httpx')} `iter_raw()` + a plain 15-line parser"
    if name == "raw":
        return "raw socket reader (reference: `recv_into`, counts line feeds, no parsing, no decoding)"
    return name


def process_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def fmt_rate(r: float) -> str:
    if r >= 1e6:
        return f"{r / 1e6:.2f} M"
    return f"{r / 1e3:.0f} k" if r >= 1e4 else f"{r:,.1f}"


def shape_ratio(base: str, args: argparse.Namespace, pyver: str, accel: str) -> None:
    """--shape-ratio: libsse's sync iterator on every body shape, in
    interleaved rounds; the verdict is the median of the per-round ratios
    event-chunks ÷ close."""
    shapes = list(SHAPES)
    # per shape: lists of (events/s, thread CPU ns/event, process CPU ns/event)
    runs: Dict[str, List[Tuple[float, float, float]]] = {s: [] for s in shapes}
    ratios: List[float] = []
    for r in range(args.rounds):
        order = shapes if r % 2 == 0 else shapes[::-1]
        rates: Dict[str, float] = {}
        for shape in order:
            url = f"{base}/fast?count={args.count}&size={args.size}{SHAPES[shape][0]}"
            wall0, cpu0, proc0 = time.perf_counter(), time.thread_time(), process_cpu()
            events, total = run_libsse(url, args.count)
            wall = time.perf_counter() - wall0
            cpu, proc = time.thread_time() - cpu0, process_cpu() - proc0
            if events != args.count or total != args.count * args.size:
                sys.exit(f"libsse, {shape}: {events} events, {total} data bytes; "
                         f"expected {args.count}, {args.count * args.size}")
            rates[shape] = args.count / wall
            runs[shape].append((rates[shape], cpu / args.count * 1e9, proc / args.count * 1e9))
            print(f"round {r + 1}: {shape:13s} {rates[shape]:>12,.0f} events/s   "
                  f"{cpu / args.count * 1e9:>6.0f} ns CPU/event (consumer thread)   {wall:.2f} s", file=sys.stderr)
        ratios.append(rates["event-chunks"] / rates["close"])
        print(f"round {r + 1}: event-chunks ÷ close = {ratios[-1]:.3f}", file=sys.stderr)

    med = {s: statistics.median(x[0] for x in runs[s]) for s in shapes}
    lines = [
        f"Python {pyver}, libsse event builder {accel}; libsse's sync iterator (`libsse.connect`), "
        f"{args.count:,} events of {args.size} B (`/fast?count={args.count}&size={args.size}` + the shape's "
        f"parameter), {args.rounds} rounds, the shapes in alternating order.",
        "",
        "| body shape | `/fast` parameter | events/s | range | consumer thread CPU ns/event "
        "| process CPU ns/event | ÷ close-delimited |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in shapes:
        rates = [x[0] for x in runs[s]]
        per_round = sorted(a[0] / b[0] for a, b in zip(runs[s], runs["close"]))
        ratio = "—" if s == "close" else f"{statistics.median(per_round):.2f}×"
        bold = "**" if s == "event-chunks" else ""
        lines.append(
            f"| {bold}{SHAPES[s][1]}{bold} | `{SHAPES[s][0].lstrip('&') or '(none)'}` | {bold}{fmt_rate(med[s])}{bold} "
            f"| {fmt_rate(min(rates))}–{fmt_rate(max(rates))} | {statistics.median(x[1] for x in runs[s]):.0f} "
            f"| {statistics.median(x[2] for x in runs[s]):.0f} | {bold}{ratio}{bold} |"
        )
    ratios.sort()
    r = statistics.median(ratios)
    verdict = "met" if r >= RATIO_GOAL else "**missed**"
    summary = (
        f"Python {pyver}: libsse (sync iterator), {args.size} B events in one-chunk-per-event bodies "
        f"{fmt_rate(med['event-chunks'])} events/s = **{r:.0%}** of the close-delimited rate "
        f"({fmt_rate(med['close'])} events/s; median of the per-round ratios, range {ratios[0]:.0%}–{ratios[-1]:.0%}); "
        f"goal ≥ {RATIO_GOAL:.0%}: {verdict}"
    )
    lines += ["", f"- {summary}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
        with open(args.markdown + ".summary", "w") as f:
            f.write(summary + "\n")


def serve_line() -> None:
    """--serve-line: an HTTP server on 127.0.0.1 (its URL on stdout; it
    exits when stdin closes) whose every GET answers one event of one data
    line, ``data: xxx...`` of ``size`` bytes (query ``size=``, default
    8 MiB), sent in writes of ``write`` bytes (default 1,460: one TCP
    segment's payload; TCP_NODELAY, so each write is its own segment):
    chunked with a chunk per write, or close-delimited with
    ``framing=close``. The demo server has no such route (its writes are
    ~64 KiB). A process of its own, so its writing never holds the
    measured interpreter's GIL."""
    import socket
    import threading
    from urllib.parse import parse_qs, urlsplit

    def handle(conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                got = conn.recv(4096)
                if not got:
                    return
                head += got
            query = parse_qs(urlsplit(head.split(b" ", 2)[1].decode("latin-1")).query)
            size = int(query.get("size", [str(LINE_SIZE)])[0])
            write = max(1, int(query.get("write", [str(LINE_WRITE)])[0]))
            close = "close" in query.get("framing", [])
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                         + (b"" if close else b"Transfer-Encoding: chunked\r\n") + b"Connection: close\r\n\r\n")
            body = memoryview(b"data: " + b"x" * size + b"\n\n")
            try:
                for at in range(0, len(body), write):
                    piece = body[at:at + write]
                    if close:
                        conn.sendall(piece)
                    else:
                        conn.sendmsg([b"%x\r\n" % len(piece), piece, b"\r\n"])  # (loopback: never short)
                if not close:
                    conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the client went away

    srv = socket.create_server(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{srv.getsockname()[1]}", flush=True)

    def accept() -> None:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # until EOF


def fmt_secs(t: float) -> str:
    return f"{t:.3f} s" if t < 10 else f"{t:.1f} s"


def goals(base: str, line_base: str, names: List[str], skipped: Dict[str, str], args: argparse.Namespace,
          pyver: str, accel: str) -> None:
    """--shapes: every client on every shape of issue 15, a table and the
    verdicts per shape (sync >= 5x and asyncio >= 4x the fastest peer;
    64 KiB events >= 50% of the raw reader; the 8 MiB line <= 2x the raw
    reader's time)."""
    out = [f"Python {pyver}, libsse event builder {accel}; {args.rounds} rounds per shape (the 8 MiB line: "
           f"{args.line_rounds}), every client once a round in a rotated order; rates are medians, ratios the "
           "medians of the per-round ratios (same interpreter, same run)."]
    verdicts: List[str] = []
    for key in [k.strip() for k in args.shapes.split(",") if k.strip()]:
        goal = GOALS[key]
        count = goal.count or args.count
        path = goal.path.format(n=count)
        url = (line_base if goal.line else base) + path
        rounds = args.line_rounds if goal.line else args.rounds
        print(f"--- {key}: {url}", file=sys.stderr)
        runs, per_round, failed = measure(url, names, count, goal.size, rounds, args.slow)
        ok = [n for n in names if n not in failed]
        med = {n: statistics.median(x[0] for x in runs[n]) for n in ok}
        peers = [n for n in ok if n not in OURS and n not in REFERENCES]
        fastest = max(peers, key=lambda n: med[n]) if peers else None

        def ratio(a: str, b: str) -> Optional[Tuple[float, float, float]]:
            """median, min, max of the per-round rate ratios a ÷ b"""
            rs = sorted(rd[a] / rd[b] for rd in per_round if a in rd and b in rd)
            return (statistics.median(rs), rs[0], rs[-1]) if rs else None

        big = goal.size >= 65536
        out += ["", f"**{goal.title}** (`{path}`{', the line server of this script' if goal.line else ''}; "
                f"{count:,} event{'s' if count != 1 else ''} of {goal.size:,} B):", "",
                "| client | " + ("MB/s | time per run" if big else "events/s") + " | range | consumer thread CPU "
                + ("µs" if big else "ns") + "/event | process CPU " + ("µs" if big else "ns")
                + "/event | libsse (sync) is | libsse (asyncio) is |",
                "| --- | ---: | " + ("---: | " if big else "") + "---: | ---: | ---: | ---: | ---: |"]
        unit = 1e3 if big else 1.0
        for n in ok:
            rates = [x[0] for x in runs[n]]
            rate_cells = (f"{med[n] * goal.size / 1e6:,.0f} | {fmt_secs(count / med[n])} | "
                          f"{min(rates) * goal.size / 1e6:,.0f}–{max(rates) * goal.size / 1e6:,.0f}" if big
                          else f"{fmt_rate(med[n])} | {fmt_rate(min(rates))}–{fmt_rate(max(rates))}")
            cells = []
            for ours in OURS:
                r = ratio(ours, n) if ours in ok and n != ours else None
                cells.append(f"{r[0]:.2f}×" if r else "—")
            bold = "**" if n in OURS else ""
            once = f" (one round: {fmt_secs(count / rates[0])} a run)" if len(rates) == 1 < rounds else ""
            out.append(f"| {bold}{describe(n)}{bold}{once} | {rate_cells} "
                       f"| {statistics.median(x[1] for x in runs[n]) / unit:,.0f} "
                       f"| {statistics.median(x[2] for x in runs[n]) / unit:,.0f} | {cells[0]} | {cells[1]} |")
        for n, why in failed.items():
            out.append(f"| {describe(n)} | **{why}** |" + " |" * (6 if big else 5))
        for n, why in skipped.items():
            out.append(f"| {n} | skipped: {why} |" + " |" * (6 if big else 5))

        # the verdicts of this shape
        parts: List[str] = []
        if fastest:
            for ours, want in (("libsse", SYNC_GOAL), ("libsse-async", ASYNC_GOAL)):
                r = ratio(ours, fastest) if ours in ok else None
                label = "sync" if ours == "libsse" else "asyncio"
                if r is None:
                    parts.append(f"{label} ≥ {want:.0f}× the fastest peer: **not measured**")
                    continue
                parts.append(f"{label} **{r[0]:.2f}×** the fastest peer ({r[1]:.2f}–{r[2]:.2f}×; goal ≥ {want:.0f}×: "
                             f"{'met' if r[0] >= want else '**missed**'})")
            speed = (f"{med[fastest] * goal.size / 1e6:,.0f} MB/s" if big else f"{fmt_rate(med[fastest])} events/s")
            parts[-1] += f"; the fastest peer: {fastest}, {speed}"
        else:
            parts.append("no peer measured: sync/asyncio vs the fastest peer **not measured**")
        raw = ratio("libsse", "raw") if "raw" in ok and "libsse" in ok else None
        if raw and fastest:
            rp = ratio("raw", fastest)
            if rp and rp[0] < SYNC_GOAL:
                parts.append(f"(the raw reader itself is only {rp[0]:.2f}× the fastest peer)")
        if big and not goal.line:
            parts.append(f"sync **{raw[0]:.0%}** of the raw reader (goal ≥ {LARGE_OF_RAW:.0%}: "
                         f"{'met' if raw[0] >= LARGE_OF_RAW else '**missed**'})" if raw
                         else "sync vs the raw reader **not measured**")
        if goal.line:
            parts.append(f"sync takes **{1 / raw[0]:.2f}×** the raw reader's time ({fmt_secs(count / med['libsse'])} vs "
                         f"{fmt_secs(count / med['raw'])}; goal ≤ {LINE_OF_RAW:.0f}×: "
                         f"{'met' if 1 / raw[0] <= LINE_OF_RAW else '**missed**'})" if raw
                         else "sync vs the raw reader **not measured**")
        verdict = f"Python {pyver}, {goal.title}: " + "; ".join(parts)
        verdicts.append(verdict)
        out += ["", f"- {verdict}"]
    text = "\n".join(out) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
        with open(args.markdown + ".summary", "w") as f:
            f.write("".join(v + "\n" for v in verdicts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, help="default 500000; 2000000 with --shape-ratio")
    ap.add_argument("--size", type=int, default=40)
    ap.add_argument("--rounds", "--repeat", type=int, help="default 3; 7 with --shape-ratio")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--url", help="base URL of a running sse-demo-server")
    ap.add_argument("--shape", choices=list(SHAPES), default="write", help="the body's shape (see above)")
    ap.add_argument("--shape-ratio", action="store_true",
                    help="libsse's sync iterator on every shape: event-chunks ÷ close")
    ap.add_argument("--shapes", help="comma-separated shapes of issue 15 (" + ", ".join(GOALS) + "; "
                    "'all': every one): every client on each, with the verdicts")
    ap.add_argument("--line-rounds", type=int, default=5, help="--shapes: rounds of the 8 MiB line shapes")
    ap.add_argument("--slow", type=float, default=5.0,
                    help="--shapes: a client whose run takes longer (s) runs in no later round of that shape")
    ap.add_argument("--line-url", help="--shapes: base URL of a running --serve-line server")
    ap.add_argument("--serve-line", action="store_true", help="run the one-line server (see serve_line)")
    ap.add_argument("--markdown", help="write the table and the verdict there")
    args = ap.parse_args()
    if args.serve_line:
        serve_line()
        return
    if args.shapes == "all":
        args.shapes = ",".join(GOALS)
    # --shape-ratio: longer runs and more rounds (a ratio of two noisy rates)
    if args.count is None:
        args.count = 2_000_000 if args.shape_ratio else 500_000
    if args.rounds is None:
        args.rounds = 7 if args.shape_ratio else 3

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
    query = f"/fast?count={args.count}&size={args.size}{SHAPES[args.shape][0]}"
    url = base + query
    pyver = sys.version.split()[0]
    print(f"python {pyver}, {os.cpu_count()} CPUs, {url}", file=sys.stderr)
    accel = "?"
    try:
        import libsse

        accel = "compiled" if libsse.ACCELERATED else "absent"
        print(f"libsse {libsse.__version__} from {os.path.dirname(libsse.__file__)}, event builder {accel}",
              file=sys.stderr)
    except ImportError:
        pass
    if args.shape_ratio:
        shape_ratio(base, args, pyver, accel)
        if server is not None:
            server.stdin.close()  # type: ignore[union-attr]
            server.wait()
        return

    names: List[str] = []
    skipped: Dict[str, str] = {}
    for name in [c.strip() for c in args.clients.split(",") if c.strip()]:
        why = importable(name)
        if why:
            skipped[name] = why
            print(f"{name:14s} skipped ({why})", file=sys.stderr)
        else:
            names.append(name)
    if args.shapes:
        unknown = [k for k in args.shapes.split(",") if k.strip() and k.strip() not in GOALS]
        if unknown:
            sys.exit(f"unknown shapes {unknown}: expected some of {', '.join(GOALS)}")
        line_server = None
        line_base = args.line_url or ""
        if not line_base and any(GOALS[k.strip()].line for k in args.shapes.split(",") if k.strip()):
            line_server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-line"],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            line_base = line_server.stdout.readline().decode().strip()  # type: ignore[union-attr]
        try:
            goals(base, line_base, names, skipped, args, pyver, accel)
        finally:
            for proc in (server, line_server):
                if proc is not None:
                    proc.stdin.close()  # type: ignore[union-attr]
                    proc.wait()
        return
    runs, per_round, failed = measure(url, names, args.count, args.size, args.rounds)
    if server is not None:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()

    names = [n for n in names if n not in failed]
    peers = [n for n in names if n not in OURS and n not in REFERENCES]
    med = {n: statistics.median(x[0] for x in runs[n]) for n in names}
    fastest_peer = max(peers, key=lambda n: med[n]) if peers else None
    lines = [
        f"Python {pyver}, libsse event builder {accel}; {args.count:,} events of {args.size} B "
        f"(`{query}`{'' if args.shape == 'write' else ': ' + SHAPES[args.shape][1]}), {args.rounds} rounds.",
        "",
        "| client | events/s | range | consumer thread CPU ns/event | process CPU ns/event "
        "| libsse (sync) is |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n in names:
        rates = [x[0] for x in runs[n]]
        ratio = "—"
        if n != "libsse" and "libsse" in names:
            ratio = f"{statistics.median(rd['libsse'] / rd[n] for rd in per_round if n in rd):.2f}×"
        bold = "**" if n == "libsse" else ""
        lines.append(
            f"| {bold}{describe(n)}{bold} | {bold}{fmt_rate(med[n])}{bold} | {fmt_rate(min(rates))}–{fmt_rate(max(rates))} "
            f"| {statistics.median(x[1] for x in runs[n]):.0f} | {statistics.median(x[2] for x in runs[n]):.0f} | {ratio} |"
        )
    for n, why in failed.items():
        lines.append(f"| {describe(n)} | **{why}** | | | | |")
    for n, why in skipped.items():
        lines.append(f"| {n} | skipped: {why} | | | | |")
    lines.append("")
    summary = ""
    if fastest_peer and "libsse" in names:
        ratios = sorted(rd["libsse"] / rd[fastest_peer] for rd in per_round if fastest_peer in rd)
        r = statistics.median(ratios)
        verdict = "met" if r >= 5 else "**missed**"
        summary = (
            f"Python {pyver}{'' if args.shape == 'write' else ', ' + SHAPES[args.shape][1] + ' bodies'}: "
            f"libsse (sync) {fmt_rate(med['libsse'])} events/s = **{r:.2f}×** the faster peer, "
            f"{describe(fastest_peer)} ({fmt_rate(med[fastest_peer])} events/s; median of the per-round ratios, "
            f"range {ratios[0]:.2f}–{ratios[-1]:.2f}×); goal ≥ 5× the faster peer: {verdict}"
        )
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
