#!/usr/bin/env python3
"""Assembles BENCHMARKS.md from one `make bench` run (benches/run-all.sh).

    python3 benches/report.py --parts build/bench/parts --out BENCHMARKS.md

Inputs (written by run-all.sh into the parts directory): meta.env (the
machine, toolchains, revision, load, wall time), timings.tsv (each step's
wall time and exit code), 1.md (the parser benchmark's report), head.md,
2.md, 5.md, 6.md, 7.md and notes.md (benches/e2e/run.sh), 3-py*.md and
5c-py*.md (the Python scripts, each with a .summary), 4.md (the Go
report, with .summary and .notes), *.cmd (exact commands). The prose comes
from benches/doc/*.md (hand-written). For the C tables this script reads
the rows back to judge each goal; the other producers judge their own.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "doc")


def read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def doc(name: str) -> str:
    return (read(os.path.join(DOC, name)) or "").rstrip() + "\n"


def rows(md: str, section: Optional[str] = None) -> List[List[str]]:
    """The data rows of the markdown tables in md (cells stripped); with
    section, only those after a line starting with it and before the next
    heading."""
    out, on = [], section is None
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if section is not None and line.startswith("#"):
            on = line.startswith(section)
            continue
        if not on or not line.startswith("|") or line.startswith("| ---"):
            continue
        if i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            continue  # a header row
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        out.append(cells)
    return out


def num(s: str) -> Optional[float]:
    m = re.search(r"-?[\d.]+", s.replace(",", ""))
    return float(m.group()) if m else None


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


# Each judge returns (goal, this run, verdict) for the summary table.
Judgement = Tuple[str, str, str]


def judge_parser(md: str) -> Judgement:
    pat = re.compile(
        r"^- (small|large), (whole|16 KiB reads): libsse at ([\d.]+)x the fastest peer, (\S+) .*?"
        r"; (\d+)% of the memchr pass"
    )
    small, large, oks = [], [], []
    for line in md.splitlines():
        m = pat.match(line)
        if not m:
            continue
        kind, feed, ratio, peer, pct = m.group(1), m.group(2), float(m.group(3)), m.group(4), int(m.group(5))
        if kind == "small":
            small.append(f"{ratio:.2f}× {peer} ({feed})")
            oks.append(ratio >= 3)
        else:
            large.append(f"{pct}% of memchr, {ratio:.2f}× {peer} ({feed})")
            oks.append(pct >= 50)
    if not oks:
        return ("small ≥ 3× the fastest peer; 64 KiB ≥ 50% of memchr", "no result", "**failed**")
    return (
        "small events ≥ 3× the fastest peer; 64 KiB events ≥ 50% of the memchr pass",
        "small: " + ", ".join(small) + "; 64 KiB: " + ", ".join(large),
        met(all(oks)) + f" ({sum(oks)} of {len(oks)} met)",
    )


def judge_throughput(md: str) -> Judgement:
    parts, oks = [], []
    for size in ("40 B", "64 KiB"):
        got = []
        for r in rows(md):
            if len(r) < 6 or r[0] != size or "raw" in r[1]:
                continue
            pct = num(r[5])
            if pct is None:
                continue
            name = ("pull" if "pull `sse_next_event`" in r[1] else "packed batch" if "packed" in r[1]
                    else "batch" if "batch" in r[1] else r[1])
            got.append(f"{name} {pct:.0f}%")
            oks.append(pct >= 70)
        if got:
            parts.append(f"{size}: " + ", ".join(got))
    if not oks:
        return ("≥ 70% of the raw TCP reader's bytes/s", "no result", "**failed**")
    return (
        "C pull, batch, packed batch and callback ≥ 70% of the raw TCP reader (same run, per-round ratio)",
        "; ".join(parts) + " of the raw reader",
        met(all(oks)) + f" ({sum(oks)} of {len(oks)} met)",
    )


def judge_framing(md: str, others: List[Tuple[str, float]]) -> Judgement:
    """Issue 12: one chunk per event ≥ 85% of the close-delimited rate (C
    packed batch from table 2c; `others`: (name, percent) of the Go and
    Python tables)."""
    parts, oks = [], []
    for r in rows(md, "### 2c"):
        if len(r) >= 7 and "one chunk per event" in r[0] and num(r[3]) is not None:
            pct = num(r[3]) or 0
            parts.append(f"C packed batch {pct:.0f}% (CPU per event {r[6]}× close's)")
            oks.append(pct >= 85)
    for label, pct in others:
        parts.append(f"{label} {pct:.0f}%")
        oks.append(pct >= 85)
    goal = "small events, one chunk per event ≥ 85% of the close-delimited rate (same build)"
    if not oks:
        return (goal, "no result", "**failed**")
    return (goal, ", ".join(parts) + " of close-delimited", met(all(oks)) + f" ({sum(oks)} of {len(oks)} met)")


def judge_latency(md: str, py_summaries: List[str]) -> Judgement:
    parts, oks = [], []
    for sub, label in (("### 5a", "normal"), ("### 5b", "SCHED_FIFO")):
        got = []
        for r in rows(md, sub):
            if len(r) < 10 or "raw" in r[1]:
                continue
            ratio = num(r[8])
            if ratio is None:
                continue
            name = r[1].split(" `")[0]
            got.append(f"{name}/{r[0]} {ratio:.2f}×")
            oks.append(ratio <= 1.5)
        floors = [f"{r[0]} {num(r[8]):.2f}×" for r in rows(md, sub)
                  if len(r) >= 10 and "second thread" in r[1] and num(r[8]) is not None]
        if floors:
            got.append("(hand-over floor, no libsse: " + ", ".join(floors) + ")")
        if got:
            parts.append(f"C, {label}: " + ", ".join(got))
    py_oks = []
    for s in py_summaries:
        for m in re.finditer(r"libsse, (sync iterator|asyncio) \(`[^`]+`\) p50 [\d.]+ µs, p99 [\d.]+ µs = \*\*([\d.]+)×\*\*", s):
            ratio = float(m.group(2))
            ver = re.match(r"Python ([\d.]+)(?:, (\w+))?", s)
            label = f"{ver.group(1)} {ver.group(2) or ''}".strip() if ver else ""
            parts.append(f"Python {label} {m.group(1).split()[0]} {ratio:.2f}×")
            py_oks.append(ratio <= 1.5)
    oks += py_oks
    if not oks:
        return ("p99 ≤ 1.5× the raw reader's", "no result", "**failed**")
    return (
        "p99 ≤ 1.5× the p99 of the raw socket reader beside it (pooled; C: chunked/close)",
        "p99 ÷ raw: " + "; ".join(parts),
        met(all(oks)) + f" ({sum(oks)} of {len(oks)} met)",
    )


def judge_scale(md: str, quick: bool = False) -> Judgement:
    """Issue 12's goals at 1,000 and 10,000 streams: RSS/stream ≤ 8 KiB,
    CPU ≤ 1.5× the raw epoll reader's, every event exactly once. A row
    that is missing, or with fewer streams connected than asked, fails."""
    by: Dict[Tuple[str, str], List[str]] = {}
    for r in rows(md):
        if len(r) >= 14:
            by[(r[0], r[1])] = r
    goal = ("1,000 and 10,000 streams: RSS ≤ 8 KiB per stream, CPU ≤ 1.5× the raw epoll reader's, "
            "every event exactly once; the Go binding: RSS ≤ 0.5× and CPU ≤ 1× go-sse's, at most 16 threads")
    parts, oks = [], []
    sizes = (("1000", "1,000"),) if quick else (("1000", "1,000"), ("10000", "10,000"))
    for n, label in sizes:
        lib, epoll = by.get(("libsse", n)), by.get(("raw-epoll", n))
        if not lib or num(lib[11]) is None or not epoll or num(epoll[8]) is None:
            parts.append(f"{label} streams: **no result** (libsse or raw-epoll row missing or failed)")
            oks.append(False)
            continue
        per, cpu, rss = num(lib[11]) or 0, num(lib[8]) or 0, num(lib[9]) or 0
        text = f"{label} streams: libsse {rss:.1f} MiB ({per:.1f} KiB/stream), {cpu:.2f}% CPU, {lib[12]} threads"
        oks.append(per <= 8)
        ratio = cpu / max(num(epoll[8]) or 0, 0.01)
        text += f" = {ratio:.2f}× raw epoll's {num(epoll[8]):.2f}%"
        oks.append(ratio <= 1.5)
        connected = lib[3] == n
        exact = connected and lib[6].replace(" ", "") == "0/0"
        text += f", lost / duplicated {lib[6]}" + ("" if connected else f", **{lib[3]} of {n} connected**")
        oks.append(exact)
        go = by.get(("go-sse", n))
        if go and num(go[11]) is not None:
            text += (f" (go-sse: {num(go[9]):.1f} MiB, {num(go[11]):.1f} KiB/stream, {num(go[8]):.2f}% CPU, "
                     f"{go[12]} threads)")
        tls = by.get(("libsse-tls", n))
        if tls and num(tls[11]) is not None:
            text += f"; over TLS {num(tls[11]):.1f} KiB/stream, {num(tls[8]):.2f}% CPU"
        # Issue 15: the Go binding against go-sse, same streams, same run.
        lgo = by.get(("libsse-go", n))
        if not quick:
            if (lgo and go and num(lgo[9]) is not None and num(go[9]) and lgo[3] == n
                    and lgo[6].replace(" ", "") == "0/0"):
                rss_x = (num(lgo[9]) or 0) / (num(go[9]) or 1)
                cpu_x = (num(lgo[8]) or 0) / max(num(go[8]) or 0, 0.01)
                threads = int(num(lgo[12]) or 0)
                text += (f"; libsse Go binding {num(lgo[9]):.1f} MiB = {rss_x:.2f}× go-sse's, "
                         f"CPU {cpu_x:.2f}× go-sse's, {threads} threads")
                oks.append(rss_x <= 0.5 and cpu_x <= 1 and threads <= 16)
            else:
                text += "; libsse Go binding: **no result** (its row or go-sse's missing, failed or not exact)"
                oks.append(False)
        parts.append(text)
    return (goal, "; ".join(parts), met(all(oks)) + f" ({sum(oks)} of {len(oks)} met)")


def judge_close(md: str) -> Judgement:
    found = {}
    for r in rows(md):
        if len(r) >= 5:
            found[r[0]] = r
    same = next((r for k, r in found.items() if k.startswith("`sse_client_close` → `SSE_CLOSED`")), None)
    other = next((r for k, r in found.items() if "another thread" in k and "close" in k), None)
    intr = next((r for k, r in found.items() if "open item" in k), None)
    connecting = next((r for k, r in found.items() if "unanswered connect" in k and "close" in k), None)
    ref = next((r for k, r in found.items() if k.startswith("reference")), None)
    if not same or num(same[4]) is None:
        return ("close → `SSE_CLOSED` p99 ≤ 1 ms", "no result", "**failed**")
    p_same = num(same[4]) or 0
    p_other = num(other[4]) if other else None
    text = f"close p99 {p_same:.0f} µs (same thread)"
    worst = p_same
    if p_other is not None:
        text += f", {p_other:.0f} µs (from another thread)"
        worst = max(worst, p_other)
    if connecting and num(connecting[4]) is not None:
        text += f", {num(connecting[4]):.0f} µs (during an unanswered connect)"
        worst = max(worst, num(connecting[4]) or 0)
    text += f" = {worst / 1000:.2f}× the 1 ms budget"
    if intr and ref and num(intr[4]) and num(ref[4]):
        text += (f"; interrupt → new connection open p99 {num(intr[4]):.0f} µs = "
                 f"{(num(intr[4]) or 0) / (num(ref[4]) or 1):.2f}× a raw reconnect's ({num(ref[4]):.0f} µs)")
    return ("close → `SSE_CLOSED` p99 ≤ 1 ms", text, met(worst <= 1000))


# A verdict in a summary line: ": met", or one that is not ("**missed**",
# "**not judged**", "not measured", ...).
MET_VERDICT = re.compile(r":\s*met\b")
NOT_MET_VERDICT = re.compile(r"\*\*missed\*\*|not judged|not measured|no result|\*\*failed\*\*|skipped")


def from_summaries(summaries: List[str], goal: str, expected: int) -> Judgement:
    """Judges the summary lines of one table: met only when every one of
    the `expected` verdicts is there and says met (a verdict missing, not
    judged or not measured counts as missed)."""
    lines = [s.strip() for s in summaries if s and s.strip()]
    if not lines:
        return (goal, "no result", "**failed**")
    good = sum(len(MET_VERDICT.findall(s)) for s in lines)
    bad = sum(len(NOT_MET_VERDICT.findall(s)) for s in lines)
    text = "; ".join(re.sub(r"; goal ≥ [\d.]+×[^;]*$", "", s) for s in lines)
    if good + bad < expected:
        text += f" ({expected - good - bad} of {expected} verdicts not reported)"
    ok = bad == 0 and good >= expected
    return (goal, text, met(ok) + (f" ({good} of {max(expected, good + bad)} met)" if expected > 1 else ""))


def rate_of(cell: str) -> Optional[float]:
    """"15.25 M" or "26.1 k" (events/s) as a number."""
    m = re.match(r"\s*([\d.,]+)\s*([Mk]?)", cell)
    if not m:
        return None
    return float(m.group(1).replace(",", "")) * {"M": 1e6, "k": 1e3, "": 1}[m.group(2)]


def go_next_ratios(md4: str) -> str:
    """`Client.Next` itself (not the borrowed-bytes call the verdict may
    use) against go-sse's fastest way, from table 4's medians."""
    out = []
    for size in ("40 B", "64 KiB"):
        nxt, peers = None, []
        for r in rows(md4):
            if len(r) < 4 or r[0] != size:
                continue
            rate = rate_of(r[3])
            if rate is None:
                continue
            if "`Client.Next`" in r[1] and "NextBytes" not in r[1]:
                nxt = rate
            elif r[1].startswith("go-sse"):
                peers.append(rate)
        if nxt and peers:
            out.append(f"{size} {nxt / max(peers):.2f}×")
    return f"; `Client.Next` itself ÷ go-sse's fastest way (medians): {', '.join(out)}" if out else ""


def judge_python(summaries: List[str]) -> Judgement:
    """Table 3: every verdict of every shape, both interpreters (the
    summaries of throughput.py --shapes: one line per shape, each verdict
    ending in "met" or "**missed**")."""
    goal = ("every shape (40 B and 64 KiB events, close-delimited and a chunk per event; one 8 MiB line in "
            "1,460 B writes): libsse sync ≥ 5× and asyncio ≥ 4× the fastest peer, same interpreter; "
            "64 KiB events ≥ 50% of the raw socket reader; the 8 MiB line ≤ 2× the raw reader's time")
    lines = [ln.strip() for s in summaries for ln in (s or "").splitlines() if ln.strip()]
    if not lines:
        return (goal, "no result", "**failed**")
    met_n = missed_n = 0
    short = []
    for ln in lines:
        met_n += len(re.findall(r": met\)", ln))
        missed_n += len(re.findall(r": \*\*missed\*\*\)", ln)) + len(re.findall(r"\*\*not measured\*\*", ln))
        m = re.match(r"Python (\d+\.\d+)[\d.]*, ([^:]*): ", ln)
        parts = [f"{m.group(1)}, {m.group(2)}:" if m else ln.split(":")[0] + ":"]
        for label, rx in (("sync", r"sync \*\*([\d.]+×)\*\* the fastest peer \([^;]*; goal ≥ [\d.]+×: ([^)]*)\)"),
                          ("asyncio", r"asyncio \*\*([\d.]+×)\*\* the fastest peer \([^;]*; goal ≥ [\d.]+×: ([^)]*)\)"),
                          ("of raw", r"sync \*\*(\d+%)\*\* of the raw reader \(goal ≥ [\d.]+%: ([^)]*)\)"),
                          ("the raw reader's time", r"sync takes \*\*([\d.]+×)\*\* the raw reader's time \([^;]*; goal ≤ [\d.]+×: ([^)]*)\)")):
            v = re.search(rx, ln)
            if v:
                parts.append(f"{label} {v.group(1)} ({v.group(2)})" if label in ("sync", "asyncio")
                             else f"{v.group(1)} {label} ({v.group(2)})")
        peer = re.search(r"the fastest peer: ([\w-]+)", ln)
        raw = re.search(r"the raw reader itself is only ([\d.]+×)", ln)
        if peer:
            parts.append(f"peer {peer.group(1)}" + (f", raw {raw.group(1)} it" if raw else ""))
        short.append(" ".join(parts[:1]) + " " + ", ".join(parts[1:]))
    verdict = met(missed_n == 0 and met_n > 0) + f" ({met_n} of {met_n + missed_n} met)"
    return (goal, "sync / asyncio ÷ the fastest peer: " + "; ".join(short), verdict)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-output", help="what `time make bench` printed for this run (real/user/sys), if known")
    args = ap.parse_args()
    P = lambda name: os.path.join(args.parts, name)  # noqa: E731

    meta: Dict[str, str] = {}
    for line in (read(P("meta.env")) or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k] = v
    timings = []
    for line in (read(P("timings.tsv")) or "").splitlines():
        name, ms, rc = line.split("\t")
        timings.append((name, int(ms), int(rc)))
    failed_steps = {name: rc for name, _, rc in timings if rc != 0}
    elapsed = int(meta.get("elapsed_ms", "0")) / 1000
    quick = meta.get("quick") == "1"

    out: List[str] = [doc("intro.md")]
    if quick:
        out.append("**This is a BENCH_QUICK=1 smoke run: small counts, the figures mean nothing.**\n")

    # ------------------------------------------------------------ this run
    py_versions = [meta.get("python", "?")]
    if meta.get("python312", "not found") != "not found":
        py_versions.append(meta["python312"] + " (for ssec >= 3)")
    out.append("## This run\n")
    out.append(
        f"- Command: `time make bench` (= `benches/run-all.sh`); **wall time {elapsed:.0f} s "
        f"({elapsed / 60:.1f} min)**, builds included (measured by the script from its start to the report)"
        + (f"; `time make bench` printed {args.time_output}." if args.time_output else ".")
    )
    out.append(f"- Date: {meta.get('date', '?')}; revision: `{meta.get('rev', '?')}`"
               + (f"; uncommitted changes in: {meta['dirty'].strip()}" if meta.get("dirty", "").strip() else "; clean tree"))
    lib = (f"- libsse under test: the build step's output (`target/release`: libsse.so, libsse.a, sse-demo-server, "
           f"the parser benchmark) with `include/sse.h` and `bindings/go`, copied to `build/bench/lib` before the first "
           f"table and used by every table (libsse.so sha256 {meta.get('lib', '?')})")
    if meta.get("lib_changed"):
        lib += (f"; `target/release/libsse.so` was rebuilt during the run (now {meta['lib_changed']}): "
                f"the tables are unaffected, they used the copy")
    out.append(lib)
    out.append(f"- Machine: {meta.get('nproc', '?')} CPUs (`nproc`), {meta.get('cpu', '?')}, "
               f"{meta.get('kernel', '?')}, {meta.get('ram', '?')} RAM")
    out.append(f"- Load average at the start (1, 5, 15 min): {meta.get('load', '?')}; whole-machine CPU busy "
               f"over the second before: {meta.get('busy', '?')}; at the end: {meta.get('load_end', '?')}")
    out.append(f"- Toolchains: {meta.get('rustc', '?')}; {meta.get('cargo', '?')}; {meta.get('cc', '?')}; "
               f"{meta.get('go', '?')}; {'; '.join(py_versions)}")
    out.append("- Steps (wall time): " + "; ".join(
        f"{name} {ms / 1000:.0f} s" + (f" (**failed, exit {rc}**)" if rc else "") for name, ms, rc in timings))
    out.append("")

    # ------------------------------------------------------------ sections
    sections: List[str] = []
    judged: List[Tuple[str, str, Judgement]] = []

    def missing(what: str) -> str:
        bad = [n for n in failed_steps if n.startswith(what)]
        return f"**Not measured: step {bad[0]!r} failed** (see its output)." if bad else "Not run."

    # 1. parser
    s = ["## 1. Parser (Rust API): libsse vs a memchr pass and the Rust SSE parsers\n", doc("1-parser.md")]
    md1 = read(P("1.md"))
    if md1:
        s.append(md1.rstrip() + "\n")
        j = judge_parser(md1)
    else:
        s.append(missing("1.") + "\n")
        j = ("small ≥ 3× the fastest peer; 64 KiB ≥ 50% of memchr", "not measured", "**not run**")
    judged.append(("1", "Parser", j))
    s.append(f"**Goal:** {j[0]}. **This run:** {j[1]}: {j[2]}.\n")
    sections.append("\n".join(s))

    # 2. C throughput
    md2 = read(P("2.md"))
    if md2:
        j = judge_throughput(md2)
        sections.append(md2.rstrip() + f"\n\n**This run:** {j[1]}: {j[2]}.\n")
    else:
        j = ("≥ 70% of the raw TCP reader", "not measured", "**not run**")
        sections.append("## 2. Throughput on loopback (/fast)\n\n" + missing("2") + "\n")
    judged.append(("2", "End to end, C ABI (loopback)", j))
    framing_others: List[Tuple[str, float]] = []
    m = re.search(r"libsse `Client.Next` .*?= \*\*(\d+)%\*\*", read(P("4.md.framing")) or "")
    if m:
        framing_others.append(("Go `Client.Next`", float(m.group(1))))
    for tag in ("py311", "py312"):
        m = re.search(r"Python ([\d.]+): .*?= \*\*(\d+)%\*\* of the close-delimited", read(P(f"3s-{tag}.md.summary")) or "")
        if m:
            framing_others.append((f"Python {m.group(1)} sync iterator", float(m.group(2))))
    if md2 and "### 2c" in md2:
        judged.append(("2c", "One chunk per event vs close-delimited", judge_framing(md2, framing_others)))

    # 3. Python
    s = ["## 3. Python binding vs launchdarkly-eventsource, ssec and httpx + a plain parser (every shape of issue 15)\n",
         doc("3-python.md")]
    cmds = read(P("3.cmd"))
    if cmds:
        s.append("Commands (URL: the demo server started by `benches/run-all.sh`):\n")
        s += [f"    {c}" for c in cmds.strip().splitlines()]
        s.append("")
    summaries = []
    for tag in ("py311", "py312"):
        md = read(P(f"3-{tag}.md"))
        if md:
            s.append(md.rstrip() + "\n")
            summaries.append(read(P(f"3-{tag}.md.summary")) or "")
    if not summaries:
        s.append(missing("3.") + "\n")
    for tag in ("py311", "py312"):
        md = read(P(f"3s-{tag}.md"))
        if md:
            s.append("One chunk per event vs close-delimited (issue 12; summarized under 2c):\n")
            s.append(md.rstrip() + "\n")
    j = judge_python(summaries)
    judged.append(("3", "Python binding", j))
    s.append(f"**Goal:** {j[0]}. **This run:** {j[2]}.\n")
    sections.append("\n".join(s))

    # 4. Go
    s = ["## 4. Go binding vs go-sse and raw readers (events/s)\n", doc("4-go.md")]
    cmd = read(P("4.cmd"))
    if cmd:
        s.append(f"Command: `{cmd.strip()}`\n")
    md4 = read(P("4.md"))
    if md4:
        s.append(re.sub(r"\n<!--.*?-->\n", "\n", md4).rstrip() + "\n")
        m = re.search(r"<!-- rounds=(\d+) small=(\d+) large=(\d+) go=(\S+) -->", md4)
        if m:
            s.append(f"{m.group(1)} rounds; {int(m.group(2)):,} events of 40 B, {int(m.group(3)):,} of 64 KiB; {m.group(4)}.\n")
        j = from_summaries((read(P("4.md.summary")) or "").splitlines(), "libsse's fastest way ≥ 2× go-sse's fastest way on small events (chunked, one chunk per event, close-delimited), ≥ 5× on 64 KiB events; `Events()` ≥ 1.5× go-sse's fastest way", 6)
        j = (j[0], j[1] + go_next_ratios(md4), j[2])
    else:
        s.append(missing("4.") + "\n")
        j = ("libsse ≥ 2× go-sse (small), ≥ 5× (64 KiB)", "not measured", "**not run**")
    judged.append(("4", "Go binding", j))
    s.append(f"**Goal:** {j[0]}. **This run:** {j[2]}.\n")
    sections.append("\n".join(s))

    # 5. latency: C (5a, 5b) and Python (5c)
    md5 = read(P("5.md"))
    s = [md5.rstrip() + "\n" if md5 else "## 5. Delivery latency (/stamp, 1,000 events/s)\n\n" + missing("2") + "\n"]
    s.append("### 5c. Python binding (chunked and close-delimited bodies, normal scheduling)\n")
    s.append(doc("5c-python-latency.md"))
    cmds = read(P("5c.cmd"))
    if cmds:
        s.append("Commands:\n")
        s += [f"    {c}" for c in cmds.strip().splitlines()]
        s.append("")
    py_lat = []
    for tag in ("py311", "py312"):
        for framing in ("chunked", "close"):
            md = read(P(f"5c-{tag}-{framing}.md"))
            if md:
                s.append(md.rstrip() + "\n")
                py_lat.append(read(P(f"5c-{tag}-{framing}.md.summary")) or "")
    if not py_lat:
        s.append(missing("5c") + "\n")
    j = judge_latency(md5 or "", py_lat) if (md5 or py_lat) else ("p99 ≤ 1.5× raw", "not measured", "**not run**")
    judged.append(("5", "Latency at 1,000 events/s", j))
    s.append(f"**Goal:** {j[0]}. **This run:** {j[1]}: {j[2]}.\n")
    sections.append("\n".join(s))

    # 6. scale
    md6 = read(P("6.md"))
    if md6:
        j = judge_scale(md6, quick)
        sections.append(md6.rstrip() + f"\n\n**This run:** {j[1]}: {j[2]}.\n")
    else:
        j = ("RSS ≤ 8 KiB/stream, CPU ≤ 1.5× raw epoll", "not measured", "**not run**")
        sections.append("## 6. Many clients in one process\n\n" + missing("2") + "\n")
    judged.append(("6", "Scale (1,000 and 10,000 streams)", j))
    s6 = ["### 6b. Python: many streams on one event loop (and in threads)\n", doc("6b-python-scale.md")]
    cmd = read(P("6b.cmd"))
    if cmd:
        s6.append(f"Command: `{cmd.strip()}`\n")
    py_scale = []
    for tag in ("py311", "py312"):
        md = read(P(f"6b-{tag}.md"))
        if md:
            s6.append(md.rstrip() + "\n")
            py_scale.append(read(P(f"6b-{tag}.md.summary")) or "")
    if not py_scale:
        s6.append(missing("6b") + "\n")
    j6b = from_summaries(py_scale, "Python: at 1,000 streams, RSS ≤ 0.5× and CPU ≤ 1× launchdarkly's client, asyncio (one loop) and sync (a thread each); 10,000 asyncio streams on one loop within the open-file limit", 3 * max(len(py_scale), 1))
    judged.append(("6b", "Python, many streams", j6b))
    s6.append(f"**Goal:** {j6b[0]}. **This run:** {j6b[2]}.\n")
    sections[-1] = sections[-1].rstrip() + "\n\n" + "\n".join(s6)

    # 7. close
    md7 = read(P("7.md"))
    if md7:
        j = judge_close(md7)
        sections.append(md7.rstrip() + f"\n\n**This run:** {j[1]}: {j[2]}.\n")
    else:
        j = ("close p99 ≤ 1 ms", "not measured", "**not run**")
        sections.append("## 7. Close and interrupt latency\n\n" + missing("2") + "\n")
    judged.append(("7", "Close / interrupt", j))
    s7 = ["### 7b. Python: close while a consumer waits on a silent stream\n", doc("7b-python-close.md")]
    cmd = read(P("7b.cmd"))
    if cmd:
        s7.append(f"Command: `{cmd.strip()}`\n")
    py_close = []
    for tag in ("py311", "py312"):
        md = read(P(f"7b-{tag}.md"))
        if md:
            s7.append(md.rstrip() + "\n")
            py_close.append(read(P(f"7b-{tag}.md.summary")) or "")
    if not py_close:
        s7.append(missing("7b") + "\n")
    j7b = from_summaries(py_close, "Python: close from another thread or task → the waiting loop ended, p99 ≤ 0.5 ms, sync and asyncio", 3 * max(len(py_close), 1))
    judged.append(("7b", "Python, close latency", j7b))
    s7.append(f"**Goal:** {j7b[0]}. **This run:** {j7b[2]}.\n")
    sections.append("\n".join(s7))

    # ------------------------------------------------------------- summary
    out.append("## Summary\n")
    out.append("| # | benchmark | goal | this run (against the reference of the same run) | verdict |")
    out.append("| --- | --- | --- | --- | --- |")
    for n, name, (goal, text, verdict) in judged:
        out.append(f"| {n} | {name} | {goal} | {text} | {verdict} |")
    out.append("")
    out.append(doc("goals.md"))
    out += sections

    notes = []
    for name in ("notes.md",):
        t = read(P(name))
        if t:
            notes += [line for line in t.splitlines() if line.strip()]
    t = read(P("4.md.notes"))
    if t:
        notes += [f"- Go: {line}" for line in t.splitlines() if line.strip()]
    if notes:
        out.append("## Notes\n")
        out += notes
        out.append("")
    out.append(doc("parser-history.md"))
    text = "\n".join(out).rstrip() + "\n"
    text = re.sub(r"\n{3,}", "\n\n", text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
