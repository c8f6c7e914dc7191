# Sourced by the packaging tests: start_demo_server starts the bundled
# loopback server (target/release/sse-demo-server, port chosen by the
# system) and sets DEMO_URL; it stops when the script exits (its stdin
# closes) or on stop_demo_server.
start_demo_server() {
  local bin="${SSE_DEMO_SERVER:-$PWD/target/release/sse-demo-server}"
  coproc DEMO_SERVER { exec "$bin" --port 0 --exit-on-stdin-eof 2>/dev/null; }
  DEMO_SERVER_PID=$DEMO_SERVER_PID
  read -r -t 30 DEMO_URL <&"${DEMO_SERVER[0]}" || { echo "demo server did not start" >&2; return 1; }
  case "$DEMO_URL" in http://127.0.0.1:*) ;; *) echo "demo server printed '$DEMO_URL'" >&2; return 1 ;; esac
}
stop_demo_server() {
  if [ -n "${DEMO_SERVER_PID:-}" ]; then
    eval "exec ${DEMO_SERVER[1]}>&-" 2>/dev/null || true
    wait "$DEMO_SERVER_PID" 2>/dev/null || true
    DEMO_SERVER_PID=
  fi
}
