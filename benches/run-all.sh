#!/usr/bin/env bash
# `make bench`: every benchmark table, written into BENCHMARKS.md.
#
#   1. parser vs a memchr pass and the Rust SSE parsers (benches/src/main.rs)
#   2. end to end on loopback, C pull / batch pull / callback vs a raw TCP reader
#   3. Python binding vs launchdarkly-eventsource and ssec (events/s)
#   4. Go binding vs github.com/tmaxmax/go-sse and raw readers (events/s)
#   5. latency at 1,000 events/s: C (pull, callback, fd; chunked and close
#      bodies; normal and SCHED_FIFO) and Python, each beside a raw reader
#   6. 100 / 1,000 / 10,000 clients in one process: RSS, threads, CPU
#   7. close / interrupt latency on a silent stream
#
# About 5 minutes on the 2-core machine it was written on. The Python peers
# are installed here, into venvs under build/bench/ (never project
# dependencies); Python 3.12 (for ssec >= 3, which needs it) is used when
# found (python3.12 on the PATH or under pyenv).
#
#   benches/run-all.sh               the full run, writes BENCHMARKS.md
#   BENCH_QUICK=1 benches/run-all.sh a smoke run (small counts; figures meaningless)
#   BENCH_OUT=FILE                   write the report there instead
#   BENCH_NO_BUILD=1                 skip the cargo builds
#   BENCH_ONLY="1 3"                 run only these tables (others: "not run")
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START_NS=$(date +%s%N)
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-BENCHMARKS.md}
ONLY=${BENCH_ONLY:-1 2 3 4 5 6 7}
WORK=$ROOT/build/bench
PARTS=$WORK/parts
BUILT=$ROOT/target/release
# Every table uses a copy of what the build step produced (libraries,
# header, demo server, parser benchmark, Go binding sources), taken before
# the first measurement: someone rebuilding target/release meanwhile does
# not change what a later table measures.
LIBDIR=$WORK/lib
SERVER=$LIBDIR/sse-demo-server
PYTHON=${PYTHON:-python3}
# Pinned peers (bench only). ssec >= 3 needs Python >= 3.12; 2.0.0 is the
# newest that installs on 3.11.
# aiohttp: launchdarkly's asyncio client needs it (table 6b); httpx: the
# httpx + plain parser peer of table 3.
PY_PEERS_311="launchdarkly-eventsource==1.7.4 ssec==2.0.0 aiohttp==3.14.5 httpx==0.29.0 urllib3==2.8.0"
# ssec 4.2.4 pins httpx 0.28.1 (httpx 0.29 cannot be installed beside it)
PY_PEERS_312="launchdarkly-eventsource==1.7.4 ssec==4.2.4 aiohttp==3.14.5 httpx==0.28.1 urllib3==2.8.0"
PY_BUILD_DEPS="cffi setuptools"

# Sizes (see each program for what they mean).
if [ "$QUICK" = 1 ]; then
    PARSER_ARGS=(--quick)
    PY_TP_COUNT=50000 PY_TP_ROUNDS=1 PY_LINE_ROUNDS=1 PY_LAT_COUNT=300 PY_LAT_ROUNDS=1 PY_SHAPE_COUNT=200000 PY_SHAPE_ROUNDS=3
    PY_SCALE_ARGS=(--quick)
    GO_ROUNDS=1 GO_SMALL=200000 GO_LARGE=512
else
    PARSER_ARGS=()
    PY_TP_COUNT=300000 PY_TP_ROUNDS=3 PY_LINE_ROUNDS=5 PY_LAT_COUNT=1500 PY_LAT_ROUNDS=3 PY_SHAPE_COUNT=2000000 PY_SHAPE_ROUNDS=7
    PY_SCALE_ARGS=()
    GO_ROUNDS=5 GO_SMALL=2000000 GO_LARGE=4096
fi

rm -rf "$PARTS"
mkdir -p "$PARTS"
TIMINGS=$PARTS/timings.tsv
: >"$TIMINGS"
elapsed() { echo $(( ($(date +%s%N) - START_NS) / 1000000000 )); }
log() { printf '[bench %3ds] %s\n' "$(elapsed)" "$*" >&2; }
wants() { [[ " $ONLY " == *" $1 "* ]]; }
# step NAME CMD...: runs CMD, records its wall time; a failure is recorded,
# not fatal at once (the report says which table failed; the script exits 1
# at the end).
step() {
    local name=$1 t0 rc=0
    shift
    t0=$(date +%s%N)
    log "$name"
    # stdout (the parser's table, the Go test's output) to a log; the
    # progress lines (stderr) stay on the terminal
    "$@" >>"$PARTS/stdout.log" || rc=$?
    printf '%s\t%s\t%s\n' "$name" "$(( ($(date +%s%N) - t0) / 1000000 ))" "$rc" >>"$TIMINGS"
    [ "$rc" = 0 ] || log "$name FAILED (exit $rc)"
    return 0
}

# The benchmarks talk to 127.0.0.1 only (pip may still need a proxy).
NO_PROXY_ENV=(env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy)

# ----------------------------------------------------------- the machine
load_now() {
    local la psi
    la=$(cut -d' ' -f1-3 /proc/loadavg)
    psi=$(sed -n 's/^some avg10=\([0-9.]*\) .*/\1%/p' /proc/pressure/cpu 2>/dev/null || true)
    echo "$la${psi:+ (CPU pressure, some avg10: $psi)}"
}
busy_1s() { # whole-machine CPU busy over one second, before anything runs
    local a b
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," "); split(b,y," "); printf "%.0f%%", 100*(y[1]-x[1])/(y[2]-x[2])}'
}
find_go() {
    command -v go 2>/dev/null && return 0
    for dir in /usr/local/go/bin /usr/lib/go/bin; do
        [ -x "$dir/go" ] && { echo "$dir/go"; return 0; }
    done
    return 1
}
find_py312() {
    local p
    for p in ${BENCH_PYTHON312:-} "$(command -v python3.12 2>/dev/null || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        # (a pyenv shim is on the PATH even when it cannot run 3.12)
        if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
GO=$(find_go || true)
PY312=$(find_py312 || true)

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "kernel=$(uname -sr)"
    echo "ram=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load=$(load_now)"
    echo "busy=$(busy_1s)"
    echo "rustc=$(rustc --version 2>/dev/null || echo missing)"
    echo "cargo=$(cargo --version 2>/dev/null || echo missing)"
    echo "cc=$(${CC:-cc} --version 2>/dev/null | head -n 1 || echo missing)"
    echo "go=$([ -n "$GO" ] && "$GO" version || echo missing)"
    echo "python=$($PYTHON --version 2>&1)"
    echo "python312=$([ -n "$PY312" ] && echo "$("$PY312" --version 2>&1) ($PY312)" || echo 'not found')"
    echo "rev=$(git log -1 --format='%h %cs %s' 2>/dev/null || echo unknown)"
    echo "dirty=$(git status --porcelain -- src include Cargo.toml Cargo.lock build.rs demo-server benches bindings 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
    echo "quick=$QUICK"
} >"$PARTS/meta.env"
log "machine: $(grep -E '^(nproc|cpu|load)=' "$PARTS/meta.env" | tr '\n' ' ')"

# ------------------------------------------------------------------ build
build() {
    cargo build --release -q && { ! wants 1 || cargo build --release -q -p libsse-benches; }
}
# Another engineer's half-done edit can break a build for a moment: one
# retry after a minute.
build_retry() { build || { log "build failed; retrying in 60 s"; sleep 60; build; }; }
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    step "build: cargo build --release (+ -p libsse-benches)" build_retry
fi
[ -x "$BUILT/sse-demo-server" ] && [ -f "$BUILT/libsse.so" ] || { echo "no target/release/{sse-demo-server,libsse.so}: the build failed" >&2; exit 1; }
snapshot() {
    local tmp=$LIBDIR.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp/include"
    cp -p "$BUILT/libsse.so" "$BUILT/libsse.a" "$BUILT/sse-demo-server" "$tmp/"
    # Programs linked with -lsse record the SONAME (libsse.so.0) and look
    # for it beside the copy (rpath).
    ln -s libsse.so "$tmp/$(readelf -d "$BUILT/libsse.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
    if wants 1; then cp -p "$BUILT/libsse-benches" "$tmp/"; fi
    cp include/sse.h "$tmp/include/"
    cp -r bindings/go "$tmp/go"
    rm -rf "$LIBDIR"
    mv "$tmp" "$LIBDIR"
}
snapshot
lib_id() { echo "$(sha256sum "$1" | cut -c1-12), built $(date -u -r "$1" '+%H:%M:%S UTC')"; }
echo "lib=$(lib_id "$LIBDIR/libsse.so")" >>"$PARTS/meta.env"

# ------------------------------------------------------------ Python set-up
# venv_for PY DIR PEERS: a venv with the peers (cached: rebuilt when the pins
# change), a copy of the binding with its event builder compiled for PY.
# Prints nothing; sets up DIR/venv and DIR/pkg.
venv_for() {
    local py=$1 dir=$2 peers=$3 stamp
    stamp="$($py --version 2>&1) | $PY_BUILD_DEPS | $peers"
    mkdir -p "$dir"
    if [ ! -x "$dir/venv/bin/python" ] || [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$dir/venv" "$dir/stamp"
        "$py" -m venv "$dir/venv"
        # shellcheck disable=SC2086
        if "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check $PY_BUILD_DEPS $peers \
            >"$dir/pip.log" 2>&1; then
            echo "$stamp" >"$dir/stamp"
        else
            echo "pip install of the peers failed (see $dir/pip.log): installing the binding's needs only" >&2
            "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check $PY_BUILD_DEPS >>"$dir/pip.log" 2>&1
        fi
    fi
    # The binding as it is in the tree now, its packer compiled for this
    # interpreter (outside the source tree).
    rm -rf "$dir/pkg"
    mkdir -p "$dir/pkg"
    cp -r "$ROOT/bindings/python/libsse" "$dir/pkg/"
    rm -rf "$dir/pkg/libsse/__pycache__" "$dir/pkg/libsse/"*.so
    (cd "$dir/pkg" && LIBSSE_LIBRARY="$LIBDIR/libsse.so" "$dir/venv/bin/python" -m libsse._speedups_build \
        >"$dir/speedups.log" 2>&1) || echo "event builder not compiled for $py (see $dir/speedups.log)" >&2
}
PY_ENVS=()
setup_python() {
    venv_for "$PYTHON" "$WORK/py311" "$PY_PEERS_311"
    if [ -n "$PY312" ]; then venv_for "$PY312" "$WORK/py312" "$PY_PEERS_312"; fi
}
if wants 3 || wants 5 || wants 6; then
    step "setup: Python venvs with the pinned peers (build/bench/py*)" setup_python
    PY_ENVS=("$WORK/py311")
    [ -n "$PY312" ] && [ -x "$WORK/py312/venv/bin/python" ] && PY_ENVS+=("$WORK/py312")
fi
# py_run ENVDIR ARGS...: runs the venv's python with the copied binding.
py_run() {
    local dir=$1
    shift
    "${NO_PROXY_ENV[@]}" PYTHONPATH="$dir/pkg" LIBSSE_LIBRARY="$LIBDIR/libsse.so" "$dir/venv/bin/python" "$@"
}

# One demo server for the Python tables (3 and 5c): every client, both
# interpreters, the same server.
SRV_DIR=$(mktemp -d)
SRV_PID=
cleanup() {
    exec 8>&- 2>/dev/null || true
    [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; }
    rm -rf "$SRV_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_py_server() {
    mkfifo "$SRV_DIR/stdin"
    "$SERVER" --port 0 --exit-on-stdin-eof <"$SRV_DIR/stdin" >"$SRV_DIR/url" 2>"$SRV_DIR/err" &
    SRV_PID=$!
    exec 8>"$SRV_DIR/stdin"
    for _ in $(seq 200); do
        PY_URL=$(head -n 1 "$SRV_DIR/url" 2>/dev/null || true)
        [ -n "$PY_URL" ] && return 0
        sleep 0.05
    done
    echo "sse-demo-server did not start: $(cat "$SRV_DIR/err")" >&2
    exit 1
}

# --------------------------------------------------------------- 1. parser
if wants 1; then
    # = cargo run --release -p libsse-benches -- ARGS (built above, copied);
    # paths relative to the repository root, where this runs.
    step "1. parser (target/release/libsse-benches)" \
        "$LIBDIR/libsse-benches" "${PARSER_ARGS[@]}" --markdown build/bench/parts/1.md
fi

# --------------------------------------------------- 2, 5a/b, 6, 7: C ABI
if wants 2 || wants 5 || wants 6 || wants 7; then
    step "2, 5a, 5b, 7, 6: benches/e2e/run.sh" \
        "${NO_PROXY_ENV[@]}" E2E_NO_BUILD=1 E2E_QUICK="$QUICK" E2E_PARTS="$PARTS" \
        E2E_LIBDIR="$LIBDIR" E2E_INCDIR="$LIBDIR/include" benches/e2e/run.sh
fi

if wants 3 || wants 5; then
    start_py_server
    log "Python tables against $PY_URL"
fi

# ------------------------------------------------------------ 3. Python
if wants 3; then
    py_tp() {
        local dir tag
        for dir in "${PY_ENVS[@]}"; do
            tag=$(basename "$dir")
            # Every shape of issue 15 (40 B / 64 KiB events, close-delimited and
            # a chunk per event; one 8 MiB line in 1,460 B writes, from the
            # script's own line server), every client, with the verdicts.
            echo "PYTHONPATH=build/bench/$tag/pkg LIBSSE_LIBRARY=build/bench/lib/libsse.so build/bench/$tag/venv/bin/python bindings/python/benchmarks/throughput.py --url URL --shapes all --count $PY_TP_COUNT --rounds $PY_TP_ROUNDS --line-rounds $PY_LINE_ROUNDS" \
                >>"$PARTS/3.cmd"
            py_run "$dir" bindings/python/benchmarks/throughput.py --url "$PY_URL" --shapes all --count "$PY_TP_COUNT" \
                --rounds "$PY_TP_ROUNDS" --line-rounds "$PY_LINE_ROUNDS" --markdown "$PARTS/3-$tag.md" >/dev/null
        done
        # One chunk per event vs close-delimited (issue 12), first interpreter.
        dir=${PY_ENVS[0]}
        tag=$(basename "$dir")
        echo "PYTHONPATH=build/bench/$tag/pkg LIBSSE_LIBRARY=build/bench/lib/libsse.so build/bench/$tag/venv/bin/python bindings/python/benchmarks/throughput.py --url URL --shape-ratio --count $PY_SHAPE_COUNT --rounds $PY_SHAPE_ROUNDS" \
            >>"$PARTS/3.cmd"
        py_run "$dir" bindings/python/benchmarks/throughput.py --url "$PY_URL" --shape-ratio --count "$PY_SHAPE_COUNT" \
            --rounds "$PY_SHAPE_ROUNDS" --markdown "$PARTS/3s-$tag.md" >/dev/null
    }
    step "3. Python throughput" py_tp
fi

# ---------------------------------------------------------------- 4. Go
if wants 4; then
    go_report() {
        [ -n "$GO" ] || { echo "go not found" >&2; return 1; }
        # The binding copied at the start, linked to the copied libsse.a.
        echo "L=\$PWD/build/bench/lib; cd \$L/go/benchcompare && CGO_CFLAGS=-I\$L/include CGO_LDFLAGS=\"\$L/libsse.a -lm -ldl -lpthread\" SSE_DEMO_SERVER=\$L/sse-demo-server LIBSSE_BENCH_REPORT=FILE LIBSSE_BENCH_ROUNDS=$GO_ROUNDS LIBSSE_BENCH_SMALL_COUNT=$GO_SMALL LIBSSE_BENCH_LARGE_COUNT=$GO_LARGE go test -tags libsse_external -run '^TestReport\$' -count=1 ." >"$PARTS/4.cmd"
        (cd "$LIBDIR/go/benchcompare" &&
            "${NO_PROXY_ENV[@]}" CGO_CFLAGS="-I$LIBDIR/include" CGO_LDFLAGS="$LIBDIR/libsse.a -lm -ldl -lpthread" \
                SSE_DEMO_SERVER="$SERVER" LIBSSE_BENCH_REPORT="$PARTS/4.md" LIBSSE_BENCH_ROUNDS="$GO_ROUNDS" \
                LIBSSE_BENCH_SMALL_COUNT="$GO_SMALL" LIBSSE_BENCH_LARGE_COUNT="$GO_LARGE" \
                "$GO" test -tags libsse_external -run '^TestReport$' -count=1 . >"$PARTS/4.log" 2>&1) ||
            { cat "$PARTS/4.log" >&2; return 1; }
    }
    step "4. Go (bindings/go/benchcompare)" go_report
fi

# ---------------------------------------------------- 5c. Python latency
if wants 5; then
    py_lat() {
        local dir tag framing
        for dir in "${PY_ENVS[@]}"; do
            tag=$(basename "$dir")
            for framing in chunked close; do
                echo "PYTHONPATH=build/bench/$tag/pkg LIBSSE_LIBRARY=build/bench/lib/libsse.so build/bench/$tag/venv/bin/python bindings/python/benchmarks/latency.py --url URL --rate 1000 --count $PY_LAT_COUNT --rounds $PY_LAT_ROUNDS --framing $framing" \
                    >>"$PARTS/5c.cmd"
                py_run "$dir" bindings/python/benchmarks/latency.py --url "$PY_URL" --rate 1000 --count "$PY_LAT_COUNT" \
                    --rounds "$PY_LAT_ROUNDS" --framing "$framing" --markdown "$PARTS/5c-$tag-$framing.md" >/dev/null
            done
        done
    }
    step "5c. Python latency" py_lat
fi

# ------------------------------------------------- 6b. Python, many streams
if wants 6; then
    py_scale() {
        local dir=${PY_ENVS[0]} tag
        tag=$(basename "$dir")
        echo "PYTHONPATH=build/bench/$tag/pkg LIBSSE_LIBRARY=build/bench/lib/libsse.so build/bench/$tag/venv/bin/python bindings/python/benchmarks/scale.py --server build/bench/lib/sse-demo-server ${PY_SCALE_ARGS[*]}" \
            >"$PARTS/6b.cmd"
        py_run "$dir" bindings/python/benchmarks/scale.py --server "$SERVER" "${PY_SCALE_ARGS[@]}" \
            --markdown "$PARTS/6b-$tag.md" >/dev/null
    }
    step "6b. Python, many streams" py_scale
fi

# ------------------------------------------- 7b. Python, close latency
if wants 7; then
    if [ ${#PY_ENVS[@]} -eq 0 ]; then
        step "setup: Python venvs with the pinned peers (build/bench/py*)" setup_python
        PY_ENVS=("$WORK/py311")
    fi
    [ -n "${PY_URL:-}" ] || start_py_server
    py_close() {
        local dir=${PY_ENVS[0]} tag samples=200 rounds=2
        tag=$(basename "$dir")
        [ "$QUICK" = 1 ] && samples=20 rounds=1
        echo "PYTHONPATH=build/bench/$tag/pkg LIBSSE_LIBRARY=build/bench/lib/libsse.so build/bench/$tag/venv/bin/python bindings/python/benchmarks/close.py --url URL --samples $samples --rounds $rounds" \
            >"$PARTS/7b.cmd"
        py_run "$dir" bindings/python/benchmarks/close.py --url "$PY_URL" --samples "$samples" --rounds "$rounds" \
            --markdown "$PARTS/7b-$tag.md" >/dev/null
    }
    step "7b. Python, close latency" py_close
fi

# ---------------------------------------------------------------- report
echo "load_end=$(load_now)" >>"$PARTS/meta.env"
if ! cmp -s "$BUILT/libsse.so" "$LIBDIR/libsse.so"; then
    echo "lib_changed=$(lib_id "$BUILT/libsse.so")" >>"$PARTS/meta.env"
fi
echo "elapsed_ms=$(( ($(date +%s%N) - START_NS) / 1000000 ))" >>"$PARTS/meta.env"
"$PYTHON" benches/report.py --parts "$PARTS" --out "$OUT"
log "wrote $OUT ($(elapsed) s in all)"
# A table that failed is in the report as "not measured"; the exit status
# says so too.
failed=$(awk -F'\t' '$3 != 0 { print $1 }' "$TIMINGS")
if [ -n "$failed" ]; then
    log "FAILED steps: $(echo "$failed" | tr '\n' ';')"
    exit 1
fi
