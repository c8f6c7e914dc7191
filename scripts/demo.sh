#!/usr/bin/env bash
# `make demo`: starts the bundled SSE server on a free loopback port, runs
# build/ssecat against it for a few seconds (a live ticker whose connection
# the server drops on purpose, so the reconnection with Last-Event-ID is
# visible), shows the requests the server saw, stops the server.
#
# usage: scripts/demo.sh [SSECAT] [SERVER]
set -euo pipefail
cd "$(dirname "$0")/.."
ssecat=${1:-build/ssecat}
server=${2:-target/release/sse-demo-server}

# The server stops when its stdin closes: when this script ends, however.
coproc SERVER { exec "$server" --port 0 --exit-on-stdin-eof; }
server_pid=$SERVER_PID
stop_server() {
  if [ -n "${SERVER[1]:-}" ]; then exec {SERVER[1]}>&-; fi
  wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
if ! read -r -t 10 url <&"${SERVER[0]}"; then
  echo "demo: the server did not start" >&2
  exit 1
fi

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# Prints a command as one could paste it: arguments with shell characters in single quotes.
show() {
  local out="\$" arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then out+=" $arg"; else out+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$out"
}
run() {
  show "$@"
  timeout 60 "$@"
}

say "libsse demo: $ssecat against the bundled server at $url"
say "1. A live ticker, one event every 200 ms. The server drops the connection after
   every 5 events; ssecat reconnects and resumes after the last id it saw (the
   Last-Event-ID header). --all also prints the open / error / reconnecting items."
run "$ssecat" --all --retry-ms 300 --max-events 12 "$url/ticker?count=12&interval_ms=200&drop_after=5"
echo "(exit status $?: --max-events reached)"

say "2. The same kind of stream as JSON lines, one-shot (--max-retries 0: the end of the
   stream is the end), ready for jq:"
run "$ssecat" --jsonl --all --max-retries 0 "$url/ticker?count=3&interval_ms=100&event=tick"
echo "(exit status $?: the stream ended normally)"

say "3. What the server received: each reconnection of step 1 carried Last-Event-ID."
exec {http}<>"/dev/tcp/127.0.0.1/${url##*:}"
printf 'GET /requests HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n' >&"$http"
requests=$(cat <&"$http")
exec {http}>&-
n=0
while IFS= read -r line; do
  n=$((n + 1))
  path=$(sed -n 's/.*"path":"\([^"]*\)".*/\1/p' <<<"$line")
  id=$(sed -n 's/.*"last-event-id":"\([^"]*\)".*/\1/p' <<<"$line")
  case "$path" in /ticker*drop_after*) printf '   request %d: GET %s  Last-Event-ID: %s\n' "$n" "$path" "${id:-(none)}" ;; esac
done < <(sed -n 's/^\[//; s/\]$//; s/},{"number"/}\n{"number"/gp' <<<"$requests" | tr -d '\r')

say "Done: the server is stopped. Try: $ssecat --help"
