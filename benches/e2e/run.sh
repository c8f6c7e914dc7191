#!/usr/bin/env bash
# End-to-end benchmarks of libsse through its C ABI, against the bundled
# loopback server (target/release/sse-demo-server):
#   2. throughput (/fast): C pull, C batch pull, C packed batch, callback vs a raw TCP reader;
#      2b. the event-type filter vs taking every event and filtering in C
#   5. delivery latency (/stamp at 1,000 events/s): pull, callback, fd+poll
#      vs a raw socket reader running at the same time; once normally, once
#      with the server and the benchmark under chrt -f 10 (less noise)
#   6. scale (/ticker, 1 event/s per stream): 100, 1,000, 10,000 clients
#      in one process vs raw thread-per-socket and epoll readers
#   7. close/interrupt latency on a silent stream (/silent)
# Prints markdown tables; `make bench` (benches/run-all.sh) puts them into
# BENCHMARKS.md.
#
#   benches/e2e/run.sh            the full run (about 3 minutes)
#   E2E_QUICK=1 benches/e2e/run.sh   a smoke run (small counts, ~1 minute)
#   E2E_NO_BUILD=1                skip `cargo build --release` (use what is built)
#   E2E_OUT=FILE                  also write the results there
#   E2E_PARTS=DIR                 write each section to DIR/{head,2,5,7,6,notes}.md
#                                 (what benches/run-all.sh assembles)
#   E2E_LIBDIR=DIR E2E_INCDIR=DIR use libsse.so, sse-demo-server and sse.h from there
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
QUICK=${E2E_QUICK:-0}
OUT=${E2E_OUT:-}
BIN=build/e2e
# E2E_LIBDIR / E2E_INCDIR: libsse.so + sse-demo-server and sse.h from
# elsewhere (benches/run-all.sh passes a copy taken at its start, so that a
# rebuild of target/release during the run changes nothing).
LIBDIR=${E2E_LIBDIR:-$ROOT/target/release}
INCDIR=${E2E_INCDIR:-include}
SERVER=$LIBDIR/sse-demo-server
CC=${CC:-cc}
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -I$INCDIR"
LDFLAGS="-L$LIBDIR -lsse -Wl,-rpath,$LIBDIR -lpthread"
START_S=$(date +%s)

# Parameters (see each program's header comment).
if [ "$QUICK" = 1 ]; then
    TP_SMALL_COUNT=200000 TP_LARGE_COUNT=1024 TP_ROUNDS=2 FILTER_COUNT=200000
    LAT_COUNT=500 LAT_ROUNDS=1
    SCALE_SIZES="100 1000" SCALE_SECONDS=3
    CLOSE_SAMPLES=200 CLOSE_ROUNDS=1
else
    TP_SMALL_COUNT=1000000 TP_LARGE_COUNT=8192 TP_ROUNDS=5 FILTER_COUNT=1000000
    LAT_COUNT=1500 LAT_ROUNDS=3
    SCALE_SIZES="100 1000 10000" SCALE_SECONDS=10
    CLOSE_SAMPLES=1000 CLOSE_ROUNDS=3
fi
SCALE_SERVERS=4 # the demo server runs a thread per connection: spread them
WATCHDOG="timeout --kill-after=5 150" # no program may hang the run

log() { printf '[e2e %3ds] %s\n' $(($(date +%s) - START_S)) "$*" >&2; }

# ---------------------------------------------------------------- setup

# 10,000 clients + their servers need well over the default 1,024 fds.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ "${E2E_NO_BUILD:-0}" != 1 ]; then
    log "cargo build --release"
    cargo build --release -q
fi
[ -x "$SERVER" ] && [ -f "$LIBDIR/libsse.so" ] || { echo "run cargo build --release first" >&2; exit 1; }
# The programs record the SONAME (libsse.so.0) and find it by rpath: the
# link `make` makes, made here too when cargo alone built the library.
SONAME=$(readelf -d "$LIBDIR/libsse.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -z "$SONAME" ] || [ -e "$LIBDIR/$SONAME" ] || ln -s libsse.so "$LIBDIR/$SONAME"

mkdir -p "$BIN"
for prog in e2e_throughput e2e_filter e2e_framing e2e_latency e2e_scale e2e_close; do
    # shellcheck disable=SC2086
    $CC $CFLAGS -o "$BIN/$prog" "benches/e2e/$prog.c" $LDFLAGS
done
log "built $BIN/{e2e_throughput,e2e_filter,e2e_framing,e2e_latency,e2e_scale,e2e_close}"

# The go-sse peer of table 6 (bindings/go/benchcompare/cmd/scale), linked
# to this libsse.a for its libsse-go mode; skipped without Go.
GO_SCALE= GO_SCALE_WHY="Go not found"
GO_BIN=$(command -v go || ls /usr/local/go/bin/go 2>/dev/null || true)
GO_SRC=bindings/go/benchcompare
[ -d "$LIBDIR/go/benchcompare" ] && GO_SRC=$LIBDIR/go/benchcompare
INC_ABS=$(cd "$INCDIR" && pwd)
if [ -n "$GO_BIN" ]; then
    if (cd "$GO_SRC" && CGO_CFLAGS="-I$INC_ABS" CGO_LDFLAGS="$LIBDIR/libsse.a -lm -ldl -lpthread" \
        "$GO_BIN" build -tags libsse_external -o "$ROOT/$BIN/gosse-scale" ./cmd/scale) >"$BIN/gosse-scale.log" 2>&1; then
        GO_SCALE=$ROOT/$BIN/gosse-scale
        log "built $BIN/gosse-scale"
    else
        GO_SCALE_WHY="the Go build failed (see $BIN/gosse-scale.log)"
        log "gosse-scale: $GO_SCALE_WHY"
    fi
fi

TMP=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
    exec 7>&- 2>/dev/null || true # servers exit on stdin EOF
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Every server reads this FIFO as stdin and exits at its EOF, i.e. when
# this script's write end (fd 7) closes, even if the script is killed.
mkfifo "$TMP/stdin"

# start_server NAME [PREFIX...]: starts one server (under PREFIX, e.g.
# chrt; with the options in SERVER_OPTS, e.g. --tls), sets $URL.
SERVER_OPTS=()
start_server() {
    local name=$1 out=$TMP/$1.url
    shift
    "$@" "$SERVER" --port 0 --exit-on-stdin-eof "${SERVER_OPTS[@]}" <"$TMP/stdin" >"$out" 2>"$TMP/$name.err" &
    SERVER_PIDS+=($!)
    [ -e /proc/self/fd/7 ] || exec 7>"$TMP/stdin"
    for _ in $(seq 200); do
        URL=$(head -n 1 "$out" 2>/dev/null || true)
        [ -n "$URL" ] && return 0
        sleep 0.05
    done
    echo "sse-demo-server did not start: $(cat "$TMP/$name.err")" >&2
    exit 1
}

load_now() {
    local la psi
    la=$(cut -d' ' -f1-3 /proc/loadavg)
    psi=$(sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/\1%/p' /proc/pressure/cpu 2>/dev/null || true)
    echo "load average $la${psi:+, CPU pressure (some, avg10) $psi}"
}

# Other processes' CPU use over one second (what competes with us).
busy_others() {
    local a b
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.0f%%", 100*(y[1]-x[1])/(y[2]-x[2])}'
}

start_server main
MAIN_URL=$URL
log "server $MAIN_URL"

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MACHINE="$(nproc) CPUs ($CPU_MODEL), kernel $(uname -r), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
REV="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY=$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
[ -n "$DIRTY" ] && REV="$REV + uncommitted changes in ${DIRTY% }"
BUSY0=$(busy_others)

PARTS=${E2E_PARTS:-$TMP/parts}
mkdir -p "$PARTS"
R=$PARTS/head.md
{
    echo "# libsse end-to-end benchmarks"
    echo
    QUICK_NOTE=""
    [ "$QUICK" = 1 ] && QUICK_NOTE=" with E2E_QUICK=1 (smoke run: small counts)"
    echo "Generated by \`benches/e2e/run.sh\`$QUICK_NOTE on $(date -u '+%Y-%m-%d %H:%M UTC'), libsse $REV."
    echo
    echo "- Machine: $MACHINE"
    echo "- Command: \`benches/e2e/run.sh\` (from the repository root; also run by \`make bench\`); C programs built with \`$CC $CFLAGS\`, linked to $LIBDIR/libsse.so"
    echo "- Server: target/release/sse-demo-server on 127.0.0.1 (one thread per connection)"
    echo "- Load at start: $(load_now); whole-machine CPU busy over 1 s before the run: $BUSY0 (other engineers' builds and tests run concurrently; figures are noisy, so every libsse figure is compared with a reference measured in the same run)"
    echo
} >"$R"

# ------------------------------------------------------------ 2. throughput
log "2. throughput (/fast), $TP_ROUNDS rounds"
R=$PARTS/2.md
{
    echo "## 2. Throughput on loopback (/fast)"
    echo
    echo "One-shot stream (\`max_retries 0\`, \`messages_only\`) of COUNT identical events from \`/fast?count=COUNT&size=SIZE\` (chunked framing),"
    echo "written by the server as fast as the socket takes them. Time from before \`socket()\`/\`sse_client_start\` to EOF/\`SSE_CLOSED\`;"
    echo "MB/s counts the event-stream body (COUNT × (SIZE + 8) bytes), identical for every consumer. Each round runs all five consumers"
    echo "one after the other in a rotating order; figures are medians over $TP_ROUNDS rounds, \"vs raw\" is the median of the"
    echo "per-round ratios to the raw reader of the same round. Pull/batch call \`sse_event_data\` and \`sse_event_free\` per event, packed calls \`sse_event_data\` per event and \`sse_batch_free\` per batch;"
    echo "the raw reader parses nothing (64 KiB read buffer). Load before: $(load_now)."
    echo
    echo "Command: \`$BIN/e2e_throughput URL 40 $TP_SMALL_COUNT $TP_ROUNDS\` and \`$BIN/e2e_throughput URL 65536 $TP_LARGE_COUNT $TP_ROUNDS\` (run by \`benches/e2e/run.sh\`)."
    echo
    echo "| data size | consumer | events | MB/s | events/s | vs raw | MB/s range |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    $WATCHDOG "$BIN/e2e_throughput" "$MAIN_URL" 40 "$TP_SMALL_COUNT" "$TP_ROUNDS" 2>>"$TMP/notes" ||
        echo "| 40 B | failed (exit $?), see the notes | | | | | |"
    $WATCHDOG "$BIN/e2e_throughput" "$MAIN_URL" 65536 "$TP_LARGE_COUNT" "$TP_ROUNDS" 2>>"$TMP/notes" ||
        echo "| 64 KiB | failed (exit $?), see the notes | | | | | |"
    echo
    echo "Goal: ≥ 70% of the raw reader."
    echo
    echo "### 2b. Event-type filter (1 event in 100 wanted)"
    echo
    echo "\`/fast?count=$FILTER_COUNT&size=40&rare_every=100\`: the first of every 100 events has \`event: rare\`, the others \`event: common\`."
    echo "Both consumers pull packed batches and count the rare events (checked); \"all\" takes every event and compares its type"
    echo "in C, \"filter\" lets the library drop the others before they are copied or queued. Consumer CPU: the pulling thread's"
    echo "CPU time (what the application pays); process CPU includes the library's thread, which parses every event either way."
    echo "Medians over $TP_ROUNDS rounds; \"consumer CPU vs all\": median per-round ratio."
    echo
    echo "Command: \`$BIN/e2e_filter URL 40 $FILTER_COUNT 100 $TP_ROUNDS\` (run by \`benches/e2e/run.sh\`)."
    echo
    echo "| consumer | events delivered | time | consumer CPU | process CPU | consumer CPU vs all |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    $WATCHDOG "$BIN/e2e_filter" "$MAIN_URL" 40 "$FILTER_COUNT" 100 "$TP_ROUNDS" 2>>"$TMP/notes" ||
        echo "| failed (exit $?), see the notes | | | | | |"
    echo
    echo "Goal (issue 13): the filtered consumer pays far less than taking all and filtering."
    echo
    echo "### 2c. One chunk per event vs close-delimited (40 B events, C packed batch)"
    echo
    echo "The same $TP_SMALL_COUNT events of 40 B from \`/fast\` in three body shapes: chunked with one chunk per ~64 KiB write"
    echo "(the server's default), chunked with one chunk per event (\`chunk=event\`: how servers that flush every event, LLM APIs"
    echo "among them, frame a stream; the writes stay ~64 KiB), and close-delimited (\`framing=close\`). Read with \`sse_next_batch\` as"
    echo "in table 2; shapes in a rotating order, medians over $TP_ROUNDS rounds. \"vs close\": median per-round ratio of the rate to"
    echo "the close-delimited body's; \"CPU ns/event\": this process's CPU time (library thread and consumer) per event, which moves"
    echo "less than rates do on a shared machine; \"events/batch\": events per \`sse_next_batch\` (one network read's worth)."
    echo
    echo "Command: \`$BIN/e2e_framing URL 40 $TP_SMALL_COUNT $TP_ROUNDS\` (run by \`benches/e2e/run.sh\`)."
    echo
    echo "| body | events | events/s | vs close | events/s range | CPU ns/event | CPU vs close | events/batch |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    $WATCHDOG "$BIN/e2e_framing" "$MAIN_URL" 40 "$TP_SMALL_COUNT" "$TP_ROUNDS" 2>>"$TMP/notes" ||
        echo "| failed (exit $?), see the notes | | | | | | | |"
    echo
    echo "Goal (issue 12): one chunk per event at least 85% of the close-delimited rate."
    echo
} >"$R"

# ------------------------------------------------------------- 5. latency
# latency_table URL [PREFIX...]: the e2e_latency rows (run under PREFIX).
latency_table() {
    local url=$1
    shift
    echo "| framing | consumer | samples | p50 | p90 | p99 | max | Δp50 | p99 ÷ raw | paired p99 ratio |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    "$@" $WATCHDOG "$BIN/e2e_latency" "$url" 1000 "$LAT_COUNT" "$LAT_ROUNDS" 2>>"$TMP/notes" ||
        echo "| failed (exit $?), see the notes | | | | | | | | | |"
}
log "5. latency (/stamp), $LAT_ROUNDS rounds"
R=$PARTS/5.md
{
    echo "## 5. Delivery latency (/stamp, 1,000 events/s)"
    echo
    echo "Latency = consumer's \`CLOCK_MONOTONIC\` when it holds the event − the server's \`CLOCK_MONOTONIC\` at write time (the event's data),"
    echo "in µs. Each libsse run ($LAT_COUNT events, first 10 not counted) has a raw socket reader (\`read()\`, find the \`data:\` line)"
    echo "on its own connection *at the same time*. \"Δp50\" = p50 − raw p50 and \"p99 ÷ raw\" = p99 / raw p99, where raw pools all"
    echo "raw runs of that framing (the steadiest reference); \"paired\" = median over the $LAT_ROUNDS rounds of p99 / p99 of the raw reader that"
    echo "ran beside it (in parentheses: pooled over those paired runs). pull: \`sse_next_event(-1)\` on the main thread;"
    echo "callback: stamped inside the callback (libsse's thread); fd: \`poll()\` on \`sse_client_fd\`, then \`sse_next_event(0)\` until"
    echo "\`SSE_TIMEOUT\`; libsse with \`messages_only\`, \`max_retries 0\`. The last row of each framing is a second reference without"
    echo "libsse: a raw reader thread hands each stamp to the main thread through a mutex and condition variable, the floor of any"
    echo "design where one thread reads and another consumes (pull and fd do; the callback runs on the reading thread)."
    echo
    echo "Command: \`$BIN/e2e_latency URL 1000 $LAT_COUNT $LAT_ROUNDS\` (5b: server and program under \`chrt -f 10\`; run by \`benches/e2e/run.sh\`)."
    echo
    echo "### 5a. Normal scheduling"
    echo
    echo "Load before: $(load_now)."
    echo
    latency_table "$MAIN_URL"
    echo
} >"$R"
if chrt -f 10 true 2>/dev/null; then
    start_server rt chrt -f 10
    RT_URL=$URL
    log "5b. latency under chrt -f 10 ($RT_URL)"
    {
        echo "### 5b. Server and benchmark under \`chrt -f 10\` (SCHED_FIFO)"
        echo
        echo "The same, with a second server and the benchmark (libsse's threads inherit the policy) in the real-time class, so that"
        echo "the other engineers' jobs on this 2-core machine cannot delay a wake-up: this shows libsse's own latency, the table"
        echo "above shows what a normal process gets on a busy machine. Load before: $(load_now)."
        echo
        latency_table "$RT_URL" chrt -f 10
        echo
    } >>"$R"
else
    echo "### 5b. skipped: \`chrt -f 10\` is not permitted here" >>"$R"
fi
echo "Goal: p99 within 1.5× of the raw reader's." >>"$R"
echo >>"$R"

# ---------------------------------------------------------- 7. close latency
log "7. close/interrupt ($CLOSE_ROUNDS × $CLOSE_SAMPLES samples)"
R=$PARTS/7.md
{
    echo "## 7. Close and interrupt latency on a silent stream (/silent)"
    echo
    echo "Per sample a new client connects to \`/silent\` (200, then nothing: the stream waits for input on the engine loop) and its"
    echo "open item is taken; then the call is timed. $CLOSE_ROUNDS rounds of $CLOSE_SAMPLES samples, µs; last column: median (range) of"
    echo "the per-round p99. Unanswered connect: the client connects to a listener whose accept queue is full (the SYN gets"
    echo "no answer, connect timeout 60 s) and is closed 2 ms later; after \`sse_client_free\` the process's threads and fds"
    echo "must be back at their count before the client (checked, 100 ms allowed). Interrupt: one client, \`sse_client_interrupt\` repeatedly; the reference opens a new raw"
    echo "connection the same way (close the old socket, connect, GET, read the head). Load before: $(load_now)."
    echo
    echo "Command: \`$BIN/e2e_close URL $CLOSE_SAMPLES $CLOSE_ROUNDS\` (run by \`benches/e2e/run.sh\`)."
    echo
    echo "| measurement | samples | p50 | p90 | p99 | max | p99 per round |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    $WATCHDOG "$BIN/e2e_close" "$MAIN_URL" "$CLOSE_SAMPLES" "$CLOSE_ROUNDS" 2>>"$TMP/notes" ||
        echo "| failed (exit $?), see the notes | | | | | | |"
    echo
    echo "Goal: p99 ≤ 1 ms (close → \`SSE_CLOSED\`, also during a connect that gets no answer: issue 12)."
    echo
} >"$R"

# --------------------------------------------------------------- 6. scale
log "6. scale: $SCALE_SIZES clients, $SCALE_SERVERS servers"
SCALE_URLS=()
TLS_URLS=()
for i in $(seq "$SCALE_SERVERS"); do
    start_server "scale$i"
    SCALE_URLS+=("$URL")
    # TLS servers, each with its own fresh CA: one bundle trusts them all.
    SERVER_OPTS=(--tls --ca-out "$TMP/ca$i.pem")
    start_server "scale-tls$i"
    SERVER_OPTS=()
    TLS_URLS+=("$URL")
    cat "$TMP/ca$i.pem" >>"$TMP/scale-ca.pem"
done
R=$PARTS/6.md
{
    echo "## 6. Many clients in one process (/ticker?interval_ms=1000)"
    echo
    echo "N streams, one event per second each, spread over $SCALE_SERVERS server processes. libsse: one client per stream with a C"
    echo "callback (no consumer thread), all on the engine loop (\`libsse\`; \`libsse-tls\`: the same over TLS 1.3, to"
    echo "$SCALE_SERVERS more servers started with \`--tls\`). Peer: \`go-sse\` = github.com/tmaxmax/go-sse, one goroutine per"
    echo "stream (\`bindings/go/benchcompare/cmd/scale\`, same method; \`libsse-go\` = the libsse Go binding from the same program,"
    echo "\`Events()\` per client, for issue 15). References in the same run: \`raw-threads\` = a plain socket and a thread (256 KiB"
    echo "stack) per stream blocking in \`read()\` (the floor of a thread-per-stream design), \`raw-epoll\` = all sockets in one"
    echo "epoll thread, parsing nothing. \"lost / duplicated\": per stream over the whole run, every event's id must be the"
    echo "previous one + 1 (the raw readers count lines and check nothing). Measured over ${SCALE_SECONDS} s after every stream got its first event (+1 s settling): CPU = utime+stime"
    echo "(\`/proc/self/stat\`, and \`getrusage\` for finer resolution) / wall time, in % of one core; VmRSS/VmHWM/Threads from"
    echo "\`/proc/self/status\` at the end; \"RSS/stream\" = (VmRSS − VmRSS before any client) / N; teardown = close + free all."
    echo "Load before: $(load_now)."
    echo
    echo "Command: \`$BIN/e2e_scale MODE N $SCALE_SECONDS URL1 URL2 URL3 URL4\` for each row (run by \`benches/e2e/run.sh\`)."
    echo
    echo "| mode | streams | servers | connected | connect s | events (expected) | lost / duplicated | CPU % (stat) | CPU % (rusage) | VmRSS MiB | VmHWM MiB | RSS/stream KiB | threads | teardown s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$R"
for n in $SCALE_SIZES; do
    modes="libsse"
    [ "$n" = 1000 ] && modes="raw-epoll raw-threads go-sse libsse libsse-tls libsse-go"
    [ "$n" = 10000 ] && modes="raw-epoll go-sse libsse libsse-go"
    for mode in $modes; do
        log "   $mode $n"
        case $mode in
        go-sse | libsse-go) cmd=("$GO_SCALE" "$mode" "$n" "$SCALE_SECONDS" "${SCALE_URLS[@]}") ;;
        libsse-tls) cmd=(env E2E_CA="$TMP/scale-ca.pem" "$BIN/e2e_scale" "$mode" "$n" "$SCALE_SECONDS" "${TLS_URLS[@]}") ;;
        *) cmd=("$BIN/e2e_scale" "$mode" "$n" "$SCALE_SECONDS" "${SCALE_URLS[@]}") ;;
        esac
        if [ -z "${cmd[0]}" ]; then
            echo "| $mode | $n | $SCALE_SERVERS | not run: $GO_SCALE_WHY | | | | | | | | | | |" >>"$R"
        elif ! $WATCHDOG "${cmd[@]}" >>"$R" 2>>"$TMP/notes"; then
            echo "| $mode | $n | $SCALE_SERVERS | failed: see the notes | | | | | | | | | | |" >>"$R"
        fi
    done
done
{
    echo
    echo "Goals (issue 12): RSS above the baseline at most 8 KiB per stream at 1,000 and 10,000 streams; CPU at most 1.5× the"
    echo "raw epoll reader's; every event delivered exactly once. TLS: the per-stream cost, reported."
    echo
} >>"$R"

{
    echo "- Load at the end of the end-to-end runs: $(load_now). Duration: $(($(date +%s) - START_S)) s."
    sed 's/^/- /' "$TMP/notes"
} >"$PARTS/notes.md"

if [ -z "${E2E_PARTS:-}" ]; then
    ALL=$TMP/results.md
    {
        cat "$PARTS/head.md" "$PARTS/2.md" "$PARTS/5.md" "$PARTS/7.md" "$PARTS/6.md"
        echo "## Notes"
        echo
        cat "$PARTS/notes.md"
    } >"$ALL"
    cat "$ALL"
    if [ -n "$OUT" ]; then
        cp "$ALL" "$OUT"
        log "wrote $OUT"
    fi
else
    log "wrote the sections to $PARTS"
fi
