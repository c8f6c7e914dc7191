"""Many SSE streams in one Python process: RSS, CPU, threads, exactly-once
delivery and latency, libsse beside launchdarkly-eventsource.

    python3 bindings/python/benchmarks/scale.py [--runs MODE:N[:STAGGER],...] [--seconds 10]
            [--stagger 1] [--endpoint stamp|ticker] [--quick] [--markdown FILE] [URL ...]

The default runs (about 2 min): libsse-async and ld-async with 1,000 streams
started over 1 s and at once, libsse-sync and ld-sync with 1,000 clients
(a thread each) started over 1 s, then the asyncio pair with 10,000
streams started over 1 s. ``--quick``: 100 streams of each mode, 3 s
windows (a smoke run).

Each run opens N streams, one event per second each, spread round-robin
over the given sse-demo-server base URLs (none given: starts ``--servers``
of them, 4, from ``--server``, default target/release/sse-demo-server), in a fresh subprocess per run (this script
with ``--child``), so no run inherits another's memory, threads or imports.
Modes (each client as a user gets it, default options):

- ``libsse-async``: N ``libsse.connect_async`` streams, each iterated by its
  own task, all on ONE asyncio loop;
- ``ld-async``: N ``ld_eventsource.AsyncSSEClient(url)`` (launchdarkly-
  eventsource's asyncio client; aiohttp, one ``ClientSession`` per client,
  its default), each iterated (``client.events``) by its own task, one loop;
- ``libsse-sync``: N ``libsse.connect`` iterators, one Python thread each;
- ``ld-sync``: N ``ld_eventsource.SSEClient(url)`` (urllib3), one thread each.

Method (as the C table, benches/e2e/e2e_scale.c): VmRSS after the imports
and before any client is the baseline (the imports being what the mode's
client needs: asyncio only in the asyncio modes, libsse importing it with
its asyncio client only; the children start from this script's bytecode
and libsse's, both written by the parent as ``pip install`` would: a
script run as such, or a source tree with PYTHONDONTWRITEBYTECODE=1, is
compiled again in every child, ~2.4 and ~2 MiB of RSS that are the
harness's, not a client's); then the streams are started,
evenly over ``--stagger`` seconds (1; 0: all at once, as the C table; a
run's own ``:STAGGER`` in ``--runs`` overrides it), and the
run waits until every stream got its first event (``--connect-timeout``,
90 s; a run that gives up says so; "connect s" counts from the first
start, the stagger included); settles 1 s; then measures over
``--seconds``: events received (expected: N per second of the window),
process CPU (``getrusage``: every thread, libsse's own included) / wall
time in % of one core, the same for the event loop's thread alone (async
modes, ``time.thread_time``), and at the end VmRSS, VmHWM and Threads from
/proc/self/status; RSS/stream = (VmRSS - baseline) / N. Teardown =
cancelling every task (async) or closing every client from the main thread
(sync), until all readers are done.

Why the stagger: /stamp and /ticker schedule a stream's events from its
connection's start, so streams started in one burst get their events in
one burst every second (and a listen backlog overflowing under thousands
of simultaneous connects makes the SYN retries land on the same phase, a
whole second later): the latency then measures that burst's queue, whose
length depends on how fast each client connects. Started evenly over 1 s,
every client sees the same steady N events/s, each event its own wake-up
(the dearer case for CPU: a burst lets a client take many events per
wake-up), so the default runs measure both.

Exactly-once: every event carries an id, 1, 2, 3... per stream; a stream's
id that skips ahead counts the missing ones as lost, one not above the last
counts as a duplicate (over the whole run, not just the window).

Latency (``--endpoint stamp``, the default): the streams read
``/stamp?rate=1`` instead of ``/ticker?interval_ms=1000``; both send one
event per second with ids 1, 2, 3..., and /stamp's data is the server's
CLOCK_MONOTONIC in ns at write time (the clock of ``time.monotonic_ns()``
on Linux, as in latency.py). Latency = ``time.monotonic_ns()`` when the
consumer's loop body holds the event minus that stamp, for every event of
the measured window (the per-event work is one ``int()`` and one clock read,
the same for every client). ``--endpoint ticker`` reads the C table's exact
stream (no latency column).

The verdict line compares each libsse mode with launchdarkly's in the
same mode at 1,000 streams (the issue's goal: RSS at most half, CPU at
most its, no loss, latency kept), for every start pattern both ran.

The peers are not dependencies of the project: ``make bench`` installs
launchdarkly-eventsource and aiohttp into a venv under build/bench/. Modes
whose client cannot be imported are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from _peers import dist_version  # beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MODES = ("libsse-async", "ld-async", "libsse-sync", "ld-sync")
# What `make bench` runs (about 90 s on the 2-core machine), and --quick:
# MODE:N, or MODE:N:STAGGER for a start other than --stagger's (0: at once).
DEFAULT_RUNS = ("libsse-async:1000,ld-async:1000,libsse-async:1000:0,ld-async:1000:0,"
                "libsse-sync:1000,ld-sync:1000,libsse-async:10000,ld-async:10000")
QUICK_RUNS = "libsse-async:100,ld-async:100,libsse-async:100:0,ld-async:100:0,libsse-sync:100,ld-sync:100"
PAUSE = 0.2  # s between runs (the servers drop a closed stream at its next write)
SETTLE = 1.0  # s between the last first event and the measured window
POLL = 0.05  # s between two looks at the counters


# ------------------------------------------------------------------ process

def proc_status() -> Dict[str, int]:
    """VmRSS and VmHWM (KiB) and Threads, from /proc/self/status."""
    out: Dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def process_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def listen_overflows() -> Optional[int]:
    """The machine's TcpExtListenOverflows (SYNs dropped on full listen
    queues), from /proc/net/netstat; None if unreadable."""
    try:
        with open("/proc/net/netstat") as f:
            rows = [line.split() for line in f if line.startswith("TcpExt:")]
        return int(rows[1][rows[0].index("ListenOverflows")])
    except (OSError, ValueError, IndexError):
        return None


def raise_fd_limit() -> Tuple[int, int]:
    """Soft open-file limit up to the hard one (Python leaves it as it is)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ------------------------------------------------------------------- tally

class Tally:
    """What every stream received. Each stream is fed by one task or one
    thread only, so its slots need no lock; the window's totals are sums
    over the streams, taken from the measuring thread."""

    def __init__(self, n: int, stamped: bool) -> None:
        self.count = [0] * n  # events per stream
        self.last = [0] * n  # highest id per stream
        self.lost = [0] * n
        self.dup = [0] * n
        self.bad = [0] * n  # ids (or stamps) that are not integers
        self.stamped = stamped
        self.measuring = False
        self.lat: List[int] = []  # ns, events of the measured window (list.append: atomic)
        self.ended: List[str] = []  # streams that stopped before the teardown, and why

    def add(self, k: int, event_id: Optional[str], data: str) -> None:
        now = time.monotonic_ns()
        self.count[k] += 1
        try:
            i = int(event_id or "")
        except ValueError:
            self.bad[k] += 1
            return
        last = self.last[k]
        if i > last:
            self.lost[k] += i - last - 1
            self.last[k] = i
        else:
            self.dup[k] += 1
        if self.measuring and self.stamped:
            try:
                self.lat.append(now - int(data))
            except ValueError:
                self.bad[k] += 1

    def connected(self) -> int:
        return sum(1 for c in self.count if c)


# ------------------------------------------------------------- child: modes

def stream_url(base: str, endpoint: str) -> str:
    if endpoint == "stamp":
        return f"{base}/stamp?rate=1"
    return f"{base}/ticker?interval_ms=1000"


class Window:
    """The common schedule: wait for every first event, settle, measure."""

    def __init__(self, n: int, seconds: float, connect_timeout: float, stagger: float, tally: Tally) -> None:
        self.n, self.seconds, self.connect_timeout, self.tally = n, seconds, connect_timeout, tally
        self.stagger = stagger
        self.result: Dict[str, Any] = {}
        self.t_start = 0.0

    def due(self, k: int) -> float:
        """When stream k is started (perf_counter), with --stagger."""
        return self.t_start + self.stagger * k / self.n

    def begin(self) -> None:
        self.t_start = time.perf_counter()
        self.overflows0 = listen_overflows()

    def connect_poll(self) -> bool:
        """True once every stream got an event or the time is up."""
        got = self.tally.connected()
        waited = time.perf_counter() - self.t_start
        if got == self.n or waited >= self.connect_timeout:
            self.result["connected"] = got
            self.result["connect_s"] = waited
            self.result["gave_up"] = got < self.n
            overflows = listen_overflows()
            if overflows is not None and self.overflows0 is not None:
                self.result["listen_overflows"] = overflows - self.overflows0
            log(f"  {got} of {self.n} streams got their first event in {waited:.1f} s"
                + ("" if got == self.n else f": gave up after {self.connect_timeout:.0f} s"))
            return True
        return False

    def start_window(self) -> None:
        t = self.tally
        self.c0 = list(t.count)
        t.measuring = True
        self.w0, self.cpu0, self.thread0 = time.perf_counter(), process_cpu(), time.thread_time()

    def end_window(self) -> None:
        t = self.tally
        wall, cpu = time.perf_counter() - self.w0, process_cpu() - self.cpu0
        thread = time.thread_time() - self.thread0  # this thread: the event loop's, in the async modes
        t.measuring = False
        status = proc_status()
        counts = list(t.count)
        self.result.update(
            wall=wall,
            cpu_pct=100 * cpu / wall,
            loop_cpu_pct=100 * thread / wall,
            events=sum(counts) - sum(self.c0),
            expected=round(self.n * wall),
            silent=sum(1 for a, b in zip(self.c0, counts) if a == b),  # no event in the window
            rss_kib=status["VmRSS"],
            hwm_kib=status["VmHWM"],
            threads=status["Threads"],
        )

    def finish(self, teardown_s: Optional[float]) -> Dict[str, Any]:
        t = self.tally
        lat = sorted(t.lat)
        self.result.update(
            teardown_s=teardown_s,
            lost=sum(t.lost),
            dup=sum(t.dup),
            bad=sum(t.bad),
            streams_lost=sum(1 for x in t.lost if x),
            streams_dup=sum(1 for x in t.dup if x),
            ended=len(t.ended),
            ended_why=sorted(set(t.ended))[:3],
            lat_n=len(lat),
        )
        if lat:
            self.result.update(
                lat_p50_us=pct(lat, 50) / 1e3, lat_p99_us=pct(lat, 99) / 1e3, lat_max_us=lat[-1] / 1e3
            )
        return self.result


async def async_schedule(w: Window) -> None:
    import asyncio

    while not w.connect_poll():
        await asyncio.sleep(POLL)
    await asyncio.sleep(SETTLE)
    w.start_window()
    await asyncio.sleep(w.seconds)
    w.end_window()


def sync_schedule(w: Window) -> None:
    while not w.connect_poll():
        time.sleep(POLL)
    time.sleep(SETTLE)
    w.start_window()
    time.sleep(w.seconds)
    w.end_window()


def run_async(mode: str, urls: List[str], w: Window) -> Dict[str, Any]:
    import asyncio  # (here: the sync modes' baseline is without it)

    tally = w.tally

    if mode == "libsse-async":
        import libsse

        async def one(k: int, url: str) -> None:
            async with libsse.connect_async(url) as client:
                async for event in client:
                    tally.add(k, event.id, event.data)

    else:
        from ld_eventsource import AsyncSSEClient

        async def one(k: int, url: str) -> None:
            async with AsyncSSEClient(url) as client:
                async for event in client.events:
                    tally.add(k, event.last_event_id, event.data)

    async def guarded(k: int, url: str) -> None:
        try:
            await one(k, url)
            tally.ended.append("stream ended")
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001
            tally.ended.append(f"{type(error).__name__}: {error}"[:200])

    tasks: List["asyncio.Task[None]"] = []

    async def start_all() -> None:
        for k in range(w.n):
            wait = w.due(k) - time.perf_counter()
            if wait > 0.001:  # (start the streams in slices, not one sleep each)
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(guarded(k, urls[k % len(urls)])))

    async def main() -> Optional[float]:
        w.result["baseline_kib"] = proc_status()["VmRSS"]
        w.begin()
        starter = asyncio.create_task(start_all())
        await async_schedule(w)
        starter.cancel()
        t0 = time.perf_counter()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return time.perf_counter() - t0

    teardown = asyncio.run(main())
    return w.finish(teardown)


def run_sync(mode: str, urls: List[str], w: Window) -> Dict[str, Any]:
    tally = w.tally
    closers: List[Optional[Callable[[], None]]] = [None] * w.n
    stopping = threading.Event()

    if mode == "libsse-sync":
        import libsse

        def one(k: int, url: str) -> None:
            with libsse.connect(url) as client:
                closers[k] = client.close
                for event in client:
                    tally.add(k, event.id, event.data)

    else:
        from ld_eventsource import SSEClient

        def one(k: int, url: str) -> None:
            client = SSEClient(url)
            closers[k] = client.close
            try:
                for event in client.events:
                    tally.add(k, event.last_event_id, event.data)
            finally:
                client.close()

    def guarded(k: int, url: str) -> None:
        try:
            one(k, url)
            if not stopping.is_set():
                tally.ended.append("stream ended")
        except Exception as error:  # noqa: BLE001
            if not stopping.is_set():
                tally.ended.append(f"{type(error).__name__}: {error}"[:200])

    w.result["baseline_kib"] = proc_status()["VmRSS"]
    threads = [
        threading.Thread(target=guarded, args=(k, urls[k % len(urls)]), daemon=True) for k in range(w.n)
    ]
    w.begin()
    for k, t in enumerate(threads):
        wait = w.due(k) - time.perf_counter()
        if wait > 0.001:
            time.sleep(wait)
        t.start()
    sync_schedule(w)
    # Teardown: close every client from here (another thread than its
    # reader's), then wait for the readers, 30 s at most.
    stopping.set()
    t0 = time.perf_counter()
    for close in closers:
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
    deadline = t0 + 30
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    alive = sum(1 for t in threads if t.is_alive())
    if alive:
        log(f"  {alive} reader threads still blocked 30 s after close()")
        w.result["stuck_after_close"] = alive
    return w.finish(None if alive else time.perf_counter() - t0)


def child(args: argparse.Namespace) -> None:
    """One run (this script with --child): one JSON line on stdout."""
    mode = args.child
    limit = raise_fd_limit()
    # The client's modules before the baseline (and their version labels).
    # A sync mode's baseline holds what its client imports, not asyncio
    # (libsse imports it with its asyncio client only).
    if mode.startswith("libsse"):
        import libsse  # noqa: F401

        if mode == "libsse-async":
            import asyncio  # noqa: F401

            libsse.connect_async  # noqa: B018 (imports the asyncio client)
    else:
        import ld_eventsource  # noqa: F401

        if mode == "ld-async":
            import aiohttp  # noqa: F401
            import ld_eventsource.async_http  # noqa: F401
    urls = [stream_url(u, args.endpoint) for u in args.urls]
    tally = Tally(args.streams, args.endpoint == "stamp")
    w = Window(args.streams, args.seconds, args.connect_timeout, args.stagger, tally)
    w.result.update(mode=mode, streams=args.streams, servers=len(urls), fd_limit=limit[0], endpoint=args.endpoint,
                    stagger=args.stagger)
    if mode.endswith("-async"):
        result = run_async(mode, urls, w)
    else:
        result = run_sync(mode, urls, w)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Sync readers that did not end must not hold the exit up.
    os._exit(0)


# ------------------------------------------------------------------- parent

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(v: List[Any], p: float) -> Any:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[rank - 1]


def importable(mode: str) -> Optional[str]:
    mods = ["libsse"] if mode.startswith("libsse") else ["ld_eventsource"]
    if mode == "ld-async":
        mods.append("aiohttp")
    for m in mods:
        try:
            __import__(m)
        except Exception as error:  # noqa: BLE001
            return f"{type(error).__name__}: {error}"
    return None


def describe(mode: str) -> str:
    if mode == "libsse-async":
        return "libsse, asyncio (`connect_async`), one loop"
    if mode == "libsse-sync":
        return "libsse, sync iterator (`connect`), a thread each"
    if mode == "ld-async":
        return (f"launchdarkly-eventsource {dist_version('launchdarkly-eventsource')} `AsyncSSEClient` "
                f"(aiohttp {dist_version('aiohttp')}), one loop")
    if mode == "ld-sync":
        return (f"launchdarkly-eventsource {dist_version('launchdarkly-eventsource')} `SSEClient` "
                f"(urllib3 {dist_version('urllib3')}), a thread each")
    return mode


def compile_binding() -> Optional[str]:
    """Writes the bytecode of libsse's modules, as ``pip install`` does (None
    if it could not): a source tree run with PYTHONDONTWRITEBYTECODE=1 in
    the environment has none, so each child would compile them again, which
    leaves ~2 MiB of RSS in its baseline that an installed package never
    pays (the peers are installed: pip compiled them)."""
    import compileall

    try:
        import libsse
    except ImportError:
        return None
    where = os.path.dirname(os.path.abspath(libsse.__file__))
    try:
        return where if compileall.compile_dir(where, quiet=1, maxlevels=0) else None
    except OSError:
        return None


def start_servers(binary: str, count: int) -> Tuple[List[subprocess.Popen], List[str]]:
    procs, urls = [], []
    for _ in range(count):
        p = subprocess.Popen([binary, "--port", "0", "--exit-on-stdin-eof"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
        procs.append(p)
        urls.append(p.stdout.readline().decode().strip())  # type: ignore[union-attr]
    return procs, urls


def compile_script() -> List[str]:
    """How a child starts: this script imported as a module from its
    bytecode (written here), not run as a script. Python compiles a script
    it runs at every start, and that compile leaves ~2.4 MiB of RSS in
    every child's baseline, the harness's cost, not a client's."""
    import compileall

    code = f"import sys; sys.path.insert(0, {HERE!r}); import scale; scale.main()"
    if compileall.compile_file(os.path.join(HERE, "scale.py"), quiet=1) and \
            compileall.compile_file(os.path.join(HERE, "_peers.py"), quiet=1):
        return [sys.executable, "-c", code]
    return [sys.executable, os.path.abspath(__file__)]  # cannot write: run (and compile) the script


def run_child(mode: str, n: int, stagger: float, args: argparse.Namespace, urls: List[str]) -> Dict[str, Any]:
    cmd = args.child_cmd + ["--child", mode, "--streams", str(n),
           "--seconds", str(args.seconds), "--endpoint", args.endpoint,
           "--connect-timeout", str(args.connect_timeout), "--stagger", str(stagger)] + urls
    limit = args.connect_timeout + args.seconds + SETTLE + 120
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"mode": mode, "streams": n, "stagger": stagger, "failed": f"no result after {limit:.0f} s (killed)"}
    took = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"mode": mode, "streams": n, "stagger": stagger, "failed": f"exit status {proc.returncode}, no result"}
    result = json.loads(lines[-1])
    result["run_s"] = took
    return result


def fmt_start(stagger: float) -> str:
    return "at once" if stagger == 0 else f"over {stagger:g} s"


def fmt_row(r: Dict[str, Any], stamped: bool) -> str:
    label = describe(r["mode"])
    bold = "**" if r["mode"].startswith("libsse") else ""
    if "failed" in r:
        return (f"| {label} | {r['streams']} | {fmt_start(r['stagger'])} | **failed: {r['failed']}** |"
                + " |" * (12 if stamped else 11))
    conn = f"{r['connected']}" + (" **(gave up)**" if r["gave_up"] else "")
    lost_dup = f"{r['lost']} / {r['dup']}"
    if r["ended"]:
        lost_dup += f"; **{r['ended']} ended**"
    if r["bad"]:
        lost_dup += f"; **{r['bad']} bad ids**"
    teardown = "—" if r.get("teardown_s") is None else f"{r['teardown_s']:.2f}"
    per_stream = (r["rss_kib"] - r["baseline_kib"]) / r["streams"]
    cells = [
        f"{bold}{label}{bold}", str(r["streams"]), fmt_start(r["stagger"]), conn, f"{r['connect_s']:.1f}",
        f"{r['events']} ({r['expected']})", f"{bold}{r['cpu_pct']:.1f}%{bold}",
        f"{r['loop_cpu_pct']:.1f}%" if r["mode"].endswith("-async") else "—",
        f"{r['baseline_kib'] / 1024:.1f}", f"{bold}{r['rss_kib'] / 1024:.1f}{bold}", f"{r['hwm_kib'] / 1024:.1f}",
        f"{per_stream:.1f}", str(r["threads"]), lost_dup,
    ]
    if stamped:
        cells.append(f"{r['lat_p50_us'] / 1e3:.2f} / {r['lat_p99_us'] / 1e3:.2f} / {r['lat_max_us'] / 1e3:.1f}"
                     if r.get("lat_n") else "—")
    cells.append(teardown)
    return "| " + " | ".join(cells) + " |"


# The pairs the goals compare: (ours, theirs, what, their client's name).
PAIRS = (
    ("libsse-async", "ld-async", "asyncio streams on one loop", "AsyncSSEClient"),
    ("libsse-sync", "ld-sync", "sync clients, a thread each", "SSEClient"),
)


def verdicts(results: List[Dict[str, Any]], n_cmp: int, n_big: int) -> str:
    """The issue's goals, judged from the rows (empty if not measured):
    for each pair of PAIRS, libsse beside launchdarkly at n_cmp streams,
    for every start pattern both ran with (met only if met for each), and
    libsse-async at n_big."""
    ok = {(r["mode"], r["streams"], r["stagger"]): r for r in results if "failed" not in r}
    parts: List[str] = []
    staggers = sorted({r["stagger"] for r in results if r["streams"] == n_cmp}, reverse=True)
    compared_async = False
    for mine, peer, what, peer_name in PAIRS:
        pairs = [(st, ok.get((mine, n_cmp, st)), ok.get((peer, n_cmp, st))) for st in staggers]
        pairs = [(st, a, b) for st, a, b in pairs if a and b]
        if not pairs:
            continue
        compared_async = compared_async or mine == "libsse-async"
        texts, goods = [], []
        for st, ours, theirs in pairs:
            rss_ratio = ours["rss_kib"] / theirs["rss_kib"]
            above = (ours["rss_kib"] - ours["baseline_kib"]) / max(1, theirs["rss_kib"] - theirs["baseline_kib"])
            cpu_ratio = ours["cpu_pct"] / theirs["cpu_pct"] if theirs["cpu_pct"] else float("inf")
            goods.append(rss_ratio <= 0.5 and cpu_ratio <= 1 and not ours["lost"] and not ours["dup"])
            text = (f"started {fmt_start(st)}: libsse {ours['rss_kib'] / 1024:.1f} MiB RSS = **{rss_ratio:.2f}×** "
                    f"launchdarkly's {peer_name} ({theirs['rss_kib'] / 1024:.1f} MiB; above the baselines "
                    f"{above:.2f}×), CPU {ours['cpu_pct']:.1f}% = **{cpu_ratio:.2f}×** its {theirs['cpu_pct']:.1f}%")
            if ours.get("lat_n") and theirs.get("lat_n"):
                text += (f", latency p50/p99 {ours['lat_p50_us'] / 1e3:.2f}/{ours['lat_p99_us'] / 1e3:.2f} ms "
                         f"(its {theirs['lat_p50_us'] / 1e3:.2f}/{theirs['lat_p99_us'] / 1e3:.2f} ms)")
            texts.append(text)
        parts.append(f"{n_cmp:,} {what}, " + "; ".join(texts)
                     + f"; goal RSS ≤ 0.5× and CPU ≤ 1×: {'met' if all(goods) else '**missed**'}"
                     + (f" ({sum(goods)} of {len(goods)} start patterns)" if len(goods) > 1 else ""))
    bigs = [r for key, r in ok.items() if key[0] == "libsse-async" and key[1] == n_big]
    if bigs and (n_big != n_cmp or not compared_async):
        big = bigs[0]
        good = not big["gave_up"] and not big["lost"] and not big["dup"] and not big["ended"]
        parts.append(
            f"{n_big:,} asyncio streams on one loop (open-file limit {big['fd_limit']:,}): "
            f"{big['connected']:,} connected in {big['connect_s']:.1f} s, {big['events']:,} of {big['expected']:,} "
            f"events, {big['rss_kib'] / 1024:.0f} MiB, CPU {big['cpu_pct']:.1f}%, {big['lost']} lost, "
            f"{big['dup']} duplicated: {'met' if good else '**missed**'}"
        )
    return "Python " + sys.version.split()[0] + ": " + "; ".join(parts) if parts else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("urls", nargs="*", metavar="URL", help="base URLs of running sse-demo-servers")
    ap.add_argument("--runs", help=f"MODE:N[:STAGGER],... (modes: {', '.join(MODES)}; default {DEFAULT_RUNS})")
    ap.add_argument("--seconds", type=float, help="the measured window (default 10; --quick 3)")
    ap.add_argument("--endpoint", choices=("stamp", "ticker"), default="stamp")
    ap.add_argument("--connect-timeout", type=float, default=90.0,
                    help="give up waiting for the first events after this long (s)")
    ap.add_argument("--stagger", type=float, default=1.0,
                    help="start the streams evenly over this long (s; 0: all at once)")
    ap.add_argument("--servers", type=int, default=4, help="servers to start when no URL is given")
    ap.add_argument("--server", default=os.path.join(REPO, "target", "release", "sse-demo-server"),
                    help="the sse-demo-server binary started then (default: target/release's)")
    ap.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_RUNS}, 3 s")
    ap.add_argument("--markdown", help="write the table and the verdict there (and FILE.summary)")
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--streams", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.seconds is None:
        args.seconds = 3.0 if args.quick else 10.0
    if args.child:
        child(args)
        return

    # The children import libsse the way this process does (from the
    # source tree when it is not installed nor on PYTHONPATH).
    try:
        import libsse  # noqa: F401
    except ImportError:
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p
        )
        sys.path.insert(0, os.path.dirname(HERE))
    compiled = compile_binding()
    args.child_cmd = compile_script()
    spec = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    runs: List[Tuple[str, int, float]] = []
    for item in spec.split(","):
        fields = item.strip().split(":")
        try:
            mode, n = fields[0], int(fields[1])
            stagger = float(fields[2]) if len(fields) == 3 else args.stagger
            assert mode in MODES and n > 0 and stagger >= 0 and len(fields) <= 3
        except (AssertionError, IndexError, ValueError):
            ap.error(f"--runs: {item!r} is not MODE:N[:STAGGER] with MODE one of {', '.join(MODES)}")
        runs.append((mode, n, stagger))

    servers: List[subprocess.Popen] = []
    urls = args.urls
    if not urls:
        servers, urls = start_servers(args.server, args.servers)
    stamped = args.endpoint == "stamp"
    pyver = sys.version.split()[0]
    log(f"libsse's bytecode: {'written in ' + compiled if compiled else 'NOT written (the children compile it)'}")
    log(f"python {pyver}, {os.cpu_count()} CPUs, {len(urls)} servers, "
        f"{'/stamp?rate=1' if stamped else '/ticker?interval_ms=1000'}, {args.seconds:g} s windows")

    results: List[Dict[str, Any]] = []
    skipped: Dict[str, str] = {}
    t_all = time.perf_counter()
    try:
        for mode, n, stagger in runs:
            why = skipped.get(mode) or importable(mode)
            if why:
                skipped[mode] = why
                log(f"{mode} skipped ({why})")
                continue
            log(f"{mode} x {n}, started {fmt_start(stagger)}:")
            r = run_child(mode, n, stagger, args, urls)
            results.append(r)
            if "failed" in r:
                log(f"  FAILED: {r['failed']}")
            else:
                lat = (f", latency p50 {r['lat_p50_us'] / 1e3:.2f} ms p99 {r['lat_p99_us'] / 1e3:.2f} ms"
                       if r.get("lat_n") else "")
                if r.get("listen_overflows"):
                    log(f"  {r['listen_overflows']} SYNs dropped on full listen queues while connecting")
                log(f"  {r['events']} events ({r['expected']} expected), CPU {r['cpu_pct']:.1f}%, "
                    f"RSS {r['rss_kib'] / 1024:.1f} MiB (baseline {r['baseline_kib'] / 1024:.1f}), "
                    f"{r['threads']} threads, lost {r['lost']}, dup {r['dup']}, ended {r['ended']}{lat}; "
                    f"run {r['run_s']:.1f} s")
                for why_ended in r.get("ended_why", []):
                    log(f"    ended: {why_ended}")
            time.sleep(PAUSE)
    finally:
        for p in servers:
            p.stdin.close()  # type: ignore[union-attr]
            p.wait()
    log(f"all runs: {time.perf_counter() - t_all:.0f} s")

    ns = sorted({n for _, n, _ in runs})
    n_cmp = 1000 if 1000 in ns else ns[0]
    summary = verdicts(results, n_cmp, max(ns))
    fd_limit = next((r["fd_limit"] for r in results if "fd_limit" in r), None)
    lines = [
        f"Python {pyver}; {len(urls)} servers; "
        f"{'`/stamp?rate=1`' if stamped else '`/ticker?interval_ms=1000`'} per stream (1 event/s, ids 1, 2, 3...); "
        f"streams started evenly over the time in the start column, or all at once; {args.seconds:g} s "
        f"measured after every first event + {SETTLE:g} s; open-file limit {fd_limit}.",
        "",
        "| client | streams | start | connected | connect s | events (expected) | CPU % of a core | loop thread CPU % "
        "| baseline MiB | VmRSS MiB | VmHWM MiB | RSS/stream KiB | threads | lost / dup |"
        + (" latency p50 / p99 / max ms |" if stamped else "") + " teardown s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if stamped else "") + " ---: |",
    ]
    lines += [fmt_row(r, stamped) for r in results]
    for mode, why in skipped.items():
        lines.append(f"| {mode} | | | skipped: {why} |" + " |" * (12 if stamped else 11))
    lines.append("")
    for r in results:
        for why_ended in r.get("ended_why", []):
            lines.append(f"- {describe(r['mode'])} × {r['streams']}, {fmt_start(r['stagger'])}: "
                         f"a stream ended: {why_ended}")
        if r.get("listen_overflows"):
            lines.append(
                f"- {describe(r['mode'])} × {r['streams']}, {fmt_start(r['stagger'])}: {r['listen_overflows']} "
                "SYNs dropped on the servers' full listen queues while connecting (TcpExtListenOverflows, "
                "machine-wide); each such connection came 1 s later, on the phase of a burst: latency tails "
                "there measure that burst"
            )
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
