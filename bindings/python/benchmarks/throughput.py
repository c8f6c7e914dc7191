"""Events per second through Python SSE clients, against the demo server.

    python3 bindings/python/benchmarks/throughput.py [--count 500000] [--size 40]
            [--rounds 3] [--clients libsse,libsse-async,launchdarkly,ssec] [--url URL]
            [--shape write|event-chunks|close] [--markdown FILE]
    python3 bindings/python/benchmarks/throughput.py --shape-ratio [--count 2000000]
            [--size 40] [--rounds 7] [--url URL] [--markdown FILE]

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
from typing import Callable, Dict, List, Tuple

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
RATIO_GOAL = 0.85
_PlainEvent = namedtuple("_PlainEvent", "event data id")  # the httpx peer's events  # --shape-ratio: event-chunks ÷ close, at least


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
    "launchdarkly": run_launchdarkly,
    "ssec": run_ssec,
    "httpx": run_httpx,
    "raw": run_raw,
}
OURS = ("libsse", "libsse-async")
# Rows for reference, not peers: the raw socket reader is no SSE client.
REFERENCES = ("raw",)


def describe(name: str) -> str:
    """The label of a client in the table: package, version, API."""
    if name == "libsse":
        return "libsse, sync iterator (`libsse.connect`)"
    if name == "libsse-async":
        return "libsse, asyncio (`libsse.connect_async`)"
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
    ap.add_argument("--markdown", help="write the table and the verdict there")
    args = ap.parse_args()
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
    # per client: lists of (events/s, thread CPU ns/event, process CPU ns/event)
    runs: Dict[str, List[Tuple[float, float, float]]] = {n: [] for n in names}
    per_round: List[Dict[str, float]] = []
    failed: Dict[str, str] = {}
    for r in range(args.rounds):
        rates: Dict[str, float] = {}
        for k in range(len(names)):
            name = names[(k + r) % len(names)]
            if name in failed:
                continue
            wall0, cpu0, proc0 = time.perf_counter(), time.thread_time(), process_cpu()
            try:
                events, total = CLIENTS[name](url, args.count)
            except Exception as error:  # noqa: BLE001
                failed[name] = f"failed in round {r + 1}: {type(error).__name__}: {error}"
                continue
            wall = time.perf_counter() - wall0
            cpu, proc = time.thread_time() - cpu0, process_cpu() - proc0
            if events != args.count or total != args.count * args.size:
                # a client that loses or mangles events is reported, not timed
                failed[name] = (f"failed in round {r + 1}: {events} events, {total} data bytes; "
                                f"expected {args.count}, {args.count * args.size}")
                continue
            rate = args.count / wall
            rates[name] = rate
            runs[name].append((rate, cpu / args.count * 1e9, proc / args.count * 1e9))
            print(f"round {r + 1}: {name:14s} {rate:>12,.0f} events/s   "
                  f"{cpu / args.count * 1e9:>6.0f} ns CPU/event (consumer thread)   {wall:.2f} s", file=sys.stderr)
        per_round.append(rates)
    if server is not None:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()

    for name in failed:
        names.remove(name)
        for rd in per_round:
            rd.pop(name, None)
    per_round = [rd for rd in per_round if "libsse" not in names or "libsse" in rd]
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
