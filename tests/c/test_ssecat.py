#!/usr/bin/env python3
"""ssecat's interface, run against the bundled demo server.

usage: test_ssecat.py SSECAT [--valgrind] [TEST...]

Checks the exact output formats (human blocks, --jsonl objects with exact
JSON escaping), the exit statuses (0 normal end / 1 fatal / 2 usage /
128+N on SIGINT and SIGTERM), every option, streaming (stdout flushed per
event) and a closed stdout. Run by `make test-c` with build/ssecat
(libsse.a) and with the ASan+UBSan build; with --valgrind a few cases run
under valgrind memcheck.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.environ.get("SSE_DEMO_SERVER", os.path.join(ROOT, "target/release/sse-demo-server"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
VALGRIND = [
    "valgrind", "-q", "--error-exitcode=97", "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect",
    "--suppressions=" + os.path.join(ROOT, "tests/c/valgrind.supp"),
]

failures = []
current = "?"


def check(cond, message):
    if not cond:
        failures.append(f"[{current}] {message}")
        print(f"  FAIL [{current}] {message}", file=sys.stderr, flush=True)
    return cond


class Server:
    def __init__(self, tls=False, client_auth_dir=None):
        args = [SERVER, "--port", "0", "--exit-on-stdin-eof"]
        self.ca = None
        if tls:
            fd, self.ca = tempfile.mkstemp(suffix=".pem")
            os.close(fd)
            args += ["--tls", "--ca-out", self.ca]
        if client_auth_dir:
            args += ["--client-auth-out", client_auth_dir]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.url = self.proc.stdout.readline().decode().strip()
        if not self.url.startswith("http"):
            raise SystemExit(f"the demo server did not start ({self.url!r})")

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        if self.ca:
            os.unlink(self.ca)


class Ssecat:
    def __init__(self, binary, valgrind):
        self.binary = binary
        self.valgrind = valgrind
        self.env = dict(os.environ)
        # Sanitizer findings get their own exit codes (ssecat uses 0/1/2/130/143).
        self.env["ASAN_OPTIONS"] = "exitcode=86:detect_leaks=1"
        self.env["UBSAN_OPTIONS"] = "halt_on_error=1:exitcode=87:print_stacktrace=1"
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            self.env.pop(k, None)

    def argv(self, args, under_valgrind=False):
        return (VALGRIND if under_valgrind and self.valgrind else []) + [self.binary] + list(args)

    def run(self, *args, timeout=30, under_valgrind=False, expect=None):
        """Runs ssecat to its end: (exit status, stdout bytes, stderr text)."""
        proc = subprocess.run(self.argv(args, under_valgrind), capture_output=True,
                              timeout=timeout * (20 if under_valgrind and self.valgrind else 1),
                              env=self.env)
        err = proc.stderr.decode(errors="replace")
        check(not any(m in err for m in SANITIZER_MARKS), f"sanitizer report:\n{err}")
        check(proc.returncode != 97, f"valgrind found errors:\n{err}")
        if expect is not None:
            check(proc.returncode == expect,
                  f"ssecat {' '.join(args)}: exit {proc.returncode}, expected {expect}; stderr: {err}")
        return proc.returncode, proc.stdout, err

    def spawn(self, *args):
        return subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.env)


def jsonl(out):
    # Not splitlines(): that also splits at U+2028, which JSON keeps raw.
    lines = [line for line in out.decode("utf-8").split("\n") if line]
    try:
        return [json.loads(line) for line in lines]
    except ValueError as e:
        check(False, f"not JSON lines ({e}):\n{out!r}")
        return []


def raw_url(server, body, **params):
    q = {"b64": base64.b64encode(body).decode()}
    q.update(params)
    return server.url + "/raw?" + urllib.parse.urlencode(q)


# ------------------------------------------------------------------ tests


def test_jsonl_all(s, srv):
    code, out, _ = s.run("--jsonl", "--all", "--max-retries", "0",
                         srv.url + "/ticker?count=3&event=up", expect=0, under_valgrind=True)
    check(out == (b'{"kind":"open","status":200}\n'
                  b'{"kind":"message","event":"up","data":"tick 1","id":"1"}\n'
                  b'{"kind":"message","event":"up","data":"tick 2","id":"2"}\n'
                  b'{"kind":"message","event":"up","data":"tick 3","id":"3"}\n'
                  b'{"kind":"closed","reason":"end_of_stream"}\n'), f"output:\n{out.decode()}")


def test_jsonl_messages_only(s, srv):
    code, out, _ = s.run("--jsonl", "--max-retries", "0", srv.url + "/ticker?count=2&comment_every=1",
                         expect=0)
    check(out == (b'{"kind":"message","event":"message","data":"tick 1","id":"1"}\n'
                  b'{"kind":"message","event":"message","data":"tick 2","id":"2"}\n'),
          f"output:\n{out.decode()}")
    code, out, _ = s.run("--jsonl", "--all", "--max-retries", "0",
                         srv.url + "/ticker?count=1&comment_every=1", expect=0)
    check(b'{"kind":"comment","text":"keep-alive"}\n' in out, f"output:\n{out.decode()}")


def test_human_format(s, srv):
    code, out, _ = s.run("--max-retries", "0", srv.url + "/ticker?count=2&event=up", expect=0)
    check(out == b"event: up\nid: 1\ndata: tick 1\n\nevent: up\nid: 2\ndata: tick 2\n\n",
          f"output:\n{out.decode()}")
    body = b"data: line one\ndata:\ndata: line three\n\n: note\ndata\n\n"
    code, out, _ = s.run("--max-retries", "0", raw_url(srv, body), expect=0)
    check(out == b"event: message\ndata: line one\ndata:\ndata: line three\n\n"
                 b"event: message\ndata:\n\n", f"output:\n{out.decode()}")
    code, out, _ = s.run("--all", "--max-retries", "0", raw_url(srv, body), expect=0)
    check(out.startswith(b"[open] HTTP 200\n") and b": note\n" in out and
          out.endswith(b"[closed] end of stream\n"), f"output:\n{out.decode()}")


def test_json_escaping(s, srv):
    # NUL, control characters, quote, backslash, UTF-8, U+2028, DEL, an
    # invalid byte (U+FFFD), a CR line end and a type with a quote.
    body = (b'event: q"t\ndata: a\x00b\x01\x1f\t"\\/ \xc3\xa9 \xe2\x80\xa8 \x7f \xff end\r'
            b'data: 2nd\r\n\r\n')
    code, out, _ = s.run("--jsonl", "--max-retries", "0", raw_url(srv, body), expect=0)
    want = ('{"kind":"message","event":"q\\"t","data":"a\\u0000b\\u0001\\u001f\\t\\"\\\\/ '
            '\u00e9 \u2028 \x7f \ufffd end\\n2nd","id":""}\n').encode()
    check(out == want, f"output:\n{out!r}\nexpected:\n{want!r}")
    objs = jsonl(out)
    check(objs and objs[0]["data"] == 'a\x00b\x01\x1f\t"\\/ é \u2028 \x7f \ufffd end\n2nd',
          f"decoded: {objs!r}")
    # Comments and error messages are escaped the same way.
    code, out, _ = s.run("--jsonl", "--all", "--max-retries", "0",
                         raw_url(srv, b': a "quoted" \\ comment\x02\n'), expect=0)
    check(b'{"kind":"comment","text":"a \\"quoted\\" \\\\ comment\\u0002"}\n' in out,
          f"output:\n{out!r}")


def test_max_events(s, srv):
    t0 = time.monotonic()
    code, out, _ = s.run("--jsonl", "--max-events", "2", srv.url + "/ticker?interval_ms=20",
                         expect=0, under_valgrind=True)
    check([o["data"] for o in jsonl(out)] == ["tick 1", "tick 2"], f"output:\n{out.decode()}")
    code, out, _ = s.run("--max-events", "1", srv.url + "/ticker", expect=0)
    check(out == b"event: message\nid: 1\ndata: tick 1\n\n", f"output:\n{out.decode()}")
    check(time.monotonic() - t0 < 20, "slow")


def test_statuses(s, srv):
    code, out, err = s.run("--jsonl", "--all", srv.url + "/status/204", expect=0)
    check(out == b'{"kind":"closed","reason":"no_content"}\n', f"204 output:\n{out.decode()}")
    code, out, err = s.run("--jsonl", "--all", srv.url + "/status/404", expect=1,
                           under_valgrind=True)
    check(out == b'{"kind":"error","status":404,"message":"HTTP status 404 Not Found",'
                 b'"body":"404 Not Found\\n"}\n'
                 b'{"kind":"closed","reason":"error"}\n', f"404 output:\n{out.decode()}")
    check("404" in err and err.startswith("ssecat: "), f"stderr: {err}")
    code, out, err = s.run(srv.url + "/status/404", expect=1)
    check(out == b"", f"stdout without --all: {out!r}")
    # Nobody listening: an error without HTTP status.
    code, out, err = s.run("--jsonl", "--all", "--max-retries", "0", "http://127.0.0.1:1/",
                           expect=1)
    objs = jsonl(out)
    check(len(objs) == 2 and objs[0]["kind"] == "error" and objs[0]["status"] is None and
          objs[0]["message"] and objs[1] == {"kind": "closed", "reason": "error"}, f"output:\n{out.decode()}")
    # 503: retried, then the retry limit.
    code, out, err = s.run("--jsonl", "--all", "--max-retries", "1", "--retry-ms", "10",
                           srv.url + "/status/503", expect=1)
    objs = jsonl(out)
    kinds = [o["kind"] for o in objs]
    check(kinds == ["error", "reconnecting", "error", "closed"], f"kinds: {kinds}")
    # The final error says why it gave up and what failed last (issue 11).
    check(objs and objs[-2].get("status") == 503 and objs[-2].get("message", "").startswith(
        "gave up after 1 reconnection attempt; the last error: HTTP status 503"),
        f"final error:\n{out.decode()}")
    check(objs and objs[0].get("status") == 503 and isinstance(objs[1].get("delay_ms"), int),
          f"output:\n{out.decode()}")
    check("ssecat: HTTP 503" not in err, "--all reported the retried error on stderr too")
    # Without --all the retried errors are explained on stderr.
    code, out, err = s.run("--max-retries", "1", "--retry-ms", "10", srv.url + "/status/503",
                           expect=1)
    check("HTTP status 503 Service Unavailable (reconnecting)" in err, f"stderr: {err}")
    # Issue 11 item 11: each message says what happened once.
    check("HTTP 503: HTTP status 503" not in err, f"status named twice: {err}")
    check("gave up after 1 reconnection attempt; the last error: HTTP status 503 Service "
          "Unavailable (SSE_ERR_RETRIES_EXHAUSTED)" in err, f"stderr: {err}")
    # Wrong content type: fatal.
    code, out, err = s.run(srv.url + "/content-type?type=text/html", expect=1)
    check("text/html" in err, f"stderr: {err}")


def test_event_types(s, srv):
    """--type prints only the chosen types; the others are dropped in the
    library (issue 13 item 1)."""
    code, out, err = s.run("--jsonl", "--max-retries", "0", "--type", "tick",
                           srv.url + "/ticker?count=3&event=tick", expect=0)
    check([o["data"] for o in jsonl(out)] == ["tick 1", "tick 2", "tick 3"], f"output:\n{out.decode()}")
    code, out, err = s.run("--jsonl", "--max-retries", "0", "--type", "other", "--type", "message",
                           srv.url + "/ticker?count=3&event=tick", expect=0)
    check(out == b"", f"other types printed:\n{out.decode()}")
    code, out, err = s.run("--type", "", srv.url + "/ticker", expect=2)
    check("--type" in err and "event type" in err, f"stderr: {err}")


def test_reconnect_resumes(s, srv):
    code, out, err = s.run("--jsonl", "--all", "--retry-ms", "10", "--max-events", "6",
                           srv.url + "/ticker?count=6&drop_after=2", expect=0)
    objs = jsonl(out)
    msgs = [o for o in objs if o["kind"] == "message"]
    check([m["id"] for m in msgs] == ["1", "2", "3", "4", "5", "6"], f"output:\n{out.decode()}")
    check(sum(o["kind"] == "open" for o in objs) == 3, f"output:\n{out.decode()}")
    check(sum(o["kind"] == "reconnecting" for o in objs) == 2, f"output:\n{out.decode()}")
    code, out, err = s.run("--jsonl", "--last-event-id", "3", "--max-retries", "0",
                           srv.url + "/ticker?count=5", expect=0)
    check([o["data"] for o in jsonl(out)] == ["tick 4", "tick 5"], f"output:\n{out.decode()}")


def test_request_options(s, srv):
    code, out, err = s.run("--jsonl", "--max-retries", "0", "-H", "X-One: 1",
                           "--header=X-Two:   two  ", "-X", "PUT", "-d", '{"k":"v"}',
                           srv.url + "/echo", expect=0)
    objs = jsonl(out)
    req = json.loads(objs[0]["data"]) if objs else {}
    check(req.get("method") == "PUT", f"request: {req}")
    check(req.get("headers", {}).get("x-one") == "1", f"request: {req}")
    check(req.get("headers", {}).get("x-two") == "two", f"request: {req}")
    check(req.get("body") == '{"k":"v"}', f"request: {req}")
    check(req.get("headers", {}).get("accept") == "text/event-stream", f"request: {req}")
    # -d alone means POST, as with curl.
    code, out, err = s.run("--jsonl", "--max-retries", "0", "-d", "x=1", srv.url + "/echo",
                           expect=0)
    objs = jsonl(out)
    check(objs and json.loads(objs[0]["data"]).get("method") == "POST", f"output: {out!r}")


def test_framing_header_refused(s, srv):
    # Issue 11 item 4: `-H 'Content-Length: 5'` made the worker spin at 100%
    # CPU for ever; now the header is refused as a usage error, at once.
    for header in ("Content-Length: 5", "transfer-encoding: chunked", "Host: other", "Connection: close"):
        code, out, err = s.run("-H", header, srv.url + "/ticker?count=1", timeout=10, expect=2)
        check("set by libsse itself" in err and out == b"", f"-H {header!r}: {err!r}")


def test_usage_errors(s, srv):
    url = srv.url + "/ticker?count=1"
    cases = [
        [],
        [url, url],
        ["--bogus", url],
        ["-Z", url],
        ["--max-events", "abc", url],
        ["--max-events", "0", url],
        ["--retry-ms", "-1", url],
        ["--max-retries", "-2", url],
        ["--connect-timeout-ms", "12x", url],
        ["--max-event-bytes", "0", url],
        ["-H", "NoColon", url],
        ["-H", ": empty name", url],
        ["-H", "X-Bad: a\r\nInjected: 1", url],
        ["-H", "Bad Name: v", url],
        ["-X", "BAD METHOD", url],
        ["--cacert", "/nonexistent/ca.pem", url],
        ["ftp://example.com/"],
        ["not a url"],
        [url, "--max-events"],
    ]
    for args in cases:
        code, out, err = s.run(*args, expect=2)
        check(out == b"", f"{args}: stdout {out!r}")
        check(err.startswith("ssecat: ") and len(err.strip()) > len("ssecat: "),
              f"{args}: stderr {err!r}")
    code, out, err = s.run("--help", expect=0)
    check(out.startswith(b"usage: ssecat [options] URL") and b"--jsonl" in out, f"{out!r}")
    code, out, err = s.run("--version", expect=0)
    check(out.startswith(b"ssecat (libsse "), f"{out!r}")


def wait_line(proc, timeout):
    """The next stdout line of a running process (or b"" after `timeout` s)."""
    import select
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
        if chunk == b"\n":
            return buf
    return buf


def test_signals(s, srv):
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        proc = s.spawn("--jsonl", "--all", srv.url + "/silent")
        first = wait_line(proc, 10)
        check(first == b'{"kind":"open","status":200}\n', f"first line {first!r}")
        t0 = time.monotonic()
        proc.send_signal(sig)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        took = time.monotonic() - t0
        rest, err = proc.stdout.read(), proc.stderr.read().decode(errors="replace")
        proc.stdout.close()
        proc.stderr.close()
        check(code == want, f"{sig.name}: exit {code}, expected {want}; stderr {err}")
        check(took < 2, f"{sig.name}: took {took:.2f} s to exit")
        check(rest == b"", f"{sig.name}: printed {rest!r} after the signal")
        check(not any(m in err for m in SANITIZER_MARKS), f"sanitizer report:\n{err}")


def test_signal_while_stdout_is_blocked(s, srv):
    # Issue 11 item 6: 100 KB events into a pipe nobody reads; a signal must
    # still end ssecat promptly (it used to block in write() for ever).
    for sig, want in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        read_end, write_end = os.pipe()
        proc = subprocess.Popen(s.argv(["--jsonl", srv.url + "/fast?size=100000"]),
                                stdout=write_end, stderr=subprocess.PIPE, env=s.env)
        os.close(write_end)
        time.sleep(1.0)  # the pipe is full and ssecat is stuck on it
        check(proc.poll() is None, f"{sig.name}: ssecat exited early ({proc.returncode})")
        t0 = time.monotonic()
        proc.send_signal(sig)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        took = time.monotonic() - t0
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        os.close(read_end)
        check(code == want, f"{sig.name}: exit {code}, expected {want}; stderr {err}")
        check(took < 3, f"{sig.name}: took {took:.2f} s to exit")
        check(not any(m in err for m in SANITIZER_MARKS), f"sanitizer report:\n{err}")


def run_on_terminal(s, args, timeout=20):
    """Runs ssecat with a pseudo-terminal as stdout: (exit status, output)."""
    import pty
    import select
    master, slave = pty.openpty()
    proc = subprocess.Popen(s.argv(args), stdout=slave, stderr=subprocess.PIPE, env=s.env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    try:
        code = proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    proc.stderr.close()
    return code, out


def test_terminal_output_is_escaped(s, srv):
    # Issue 11 item 9: on a terminal, control bytes from the server are shown
    # escaped (a server must not retitle or garble the terminal) and types
    # with NUL print whole; in a pipe the bytes stay exact.
    body = (b"event: t\x00y\nid: i\x1bd\ndata: esc\x1b]0;title\x07 c1\xc2\x9b2J\r\n"
            b"data: back\\slash\ttab\n\n")
    url = raw_url(srv, body)
    code, out = run_on_terminal(s, ["--max-retries", "0", url])
    check(code == 0, f"exit {code}")
    # The terminal turns \n into \r\n.
    text = out.replace(b"\r\n", b"\n")
    expected = (b"event: t\\0y\nid: i\\x1bd\n"
                b"data: esc\\x1b]0;title\\x07 c1\\u009b2J\n"
                b"data: back\\\\slash\ttab\n\n")
    check(text == expected, f"terminal output {text!r}, expected {expected!r}")
    check(b"\x1b" not in out and b"\x07" not in out, f"raw control bytes reached the terminal: {out!r}")
    code, out, _ = s.run("--max-retries", "0", url, expect=0)
    raw = (b"event: t\x00y\nid: i\x1bd\ndata: esc\x1b]0;title\x07 c1\xc2\x9b2J\n"
           b"data: back\\slash\ttab\n\n")
    check(out == raw, f"pipe output {out!r}, expected the exact bytes {raw!r}")


def test_streaming(s, srv):
    # Each event reaches the pipe when it arrives, not at exit.
    proc = s.spawn("--jsonl", "--max-retries", "0", srv.url + "/ticker?count=3&interval_ms=700")
    t0 = time.monotonic()
    first = wait_line(proc, 10)
    took = time.monotonic() - t0
    check(first.startswith(b'{"kind":"message"') and took < 0.6,
          f"first event after {took:.2f} s: {first!r}")
    check(proc.poll() is None, "ssecat had already exited")
    proc.stdout.read()
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()


def test_closed_stdout(s, srv):
    # `ssecat URL | head -n 1`: a closed pipe ends ssecat (exit 1, quietly).
    proc = s.spawn("--jsonl", srv.url + "/ticker?interval_ms=20")
    first = wait_line(proc, 10)
    check(first.startswith(b'{"kind":"message"'), f"first line {first!r}")
    proc.stdout.close()
    try:
        code = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    check(code == 1, f"exit {code} after stdout closed; stderr {err}")
    check(not any(m in err for m in SANITIZER_MARKS), f"sanitizer report:\n{err}")


def test_limits_and_timeouts(s, srv):
    code, out, err = s.run("--read-timeout-ms", "200", "--max-retries", "0", srv.url + "/silent",
                           expect=1)
    check("200 ms" in err, f"stderr: {err}")
    code, out, err = s.run("--max-event-bytes", "16", "--max-retries", "0",
                           raw_url(srv, b"data: " + b"x" * 64 + b"\n\n"), expect=1)
    check("SSE_ERR_TOO_LARGE" in err, f"stderr: {err}")
    code, out, err = s.run("--connect-timeout-ms", "2000", "--max-retries", "0",
                           "--max-retry-ms", "50", "http://127.0.0.1:1/", expect=1)
    check("SSE_ERR_CONNECT" in err, f"stderr: {err}")


def test_tls(s, srv):
    tls = Server(tls=True)
    try:
        url = tls.url + "/ticker?count=2"
        code, out, err = s.run("--jsonl", "--max-retries", "0", "--cacert", tls.ca, url, expect=0)
        check(len(jsonl(out)) == 2, f"output: {out!r}")
        code, out, err = s.run("--jsonl", "--max-retries", "0", url, expect=1)
        check("SSE_ERR_TLS" in err, f"stderr: {err}")
        code, out, err = s.run("--jsonl", "--max-retries", "0", "--insecure", url, expect=0)
        check(len(jsonl(out)) == 2, f"output: {out!r}")
    finally:
        tls.stop()


def test_cpp_example(s, srv):
    # The C++ example (examples/cpp/events.cpp), when its path is given.
    example = os.environ.get("SSE_CPP_EXAMPLE")
    if not example or not os.path.exists(example):
        print("  (cpp_example: SSE_CPP_EXAMPLE not set, skipped)")
        return
    proc = subprocess.run([example, srv.url + "/ticker?interval_ms=10", "3"], capture_output=True,
                          timeout=30, env=s.env)
    check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr!r}")
    check(proc.stdout == b"1: tick 1\n2: tick 2\n3: tick 3\nreceived 3 events (last id: 3)\n",
          f"output: {proc.stdout!r}")
    proc = subprocess.run([example, srv.url + "/status/403"], capture_output=True, timeout=30,
                          env=s.env)
    check(proc.returncode == 1 and b"SSE_ERR_HTTP_STATUS" in proc.stderr,
          f"exit {proc.returncode}: {proc.stderr!r}")


def test_poll_loop_example(s, srv):
    # The poll() loop example (examples/poll_loop.c), when its path is given:
    # every client's events, in order, then the end; a failure says so.
    example = os.environ.get("SSE_POLL_LOOP_EXAMPLE")
    if not example or not os.path.exists(example):
        print("  (poll_loop_example: SSE_POLL_LOOP_EXAMPLE not set, skipped)")
        return
    proc = subprocess.run([example, srv.url + "/ticker?count=4&interval_ms=5", "3"], capture_output=True,
                          timeout=30, env=s.env)
    check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr!r}")
    lines = proc.stdout.decode().splitlines()
    for client in range(3):
        mine = [line.split(" ", 1)[1] for line in lines if line.startswith(f"{client} ")]
        check(mine == [f"{n}: tick {n}" for n in range(1, 5)], f"client {client}: {mine!r}")
    check(lines[-1:] == ["3 clients, 12 events"], f"output: {proc.stdout!r}")
    proc = subprocess.run([example, srv.url + "/status/403", "2"], capture_output=True, timeout=30,
                          env=s.env)
    check(proc.returncode == 1 and b"SSE_ERR_HTTP_STATUS" in proc.stderr,
          f"exit {proc.returncode}: {proc.stderr!r}")
    # nothing from the server reaches the terminal raw
    body = urllib.parse.quote(base64.b64encode(b"id: x\x01y\ndata: a\x1b[31mred\n\n").decode())
    proc = subprocess.run([example, srv.url + "/raw?b64=" + body, "1"], capture_output=True, timeout=30,
                          env=s.env)
    check(proc.returncode == 0 and proc.stdout.startswith(b"0 x\\x01y: a\\x1b[31mred\n"),
          f"exit {proc.returncode}: {proc.stdout!r}")


# ------------------------------------------------ issue 13: the new flags


def read_jsonl_until(proc, want, timeout=20):
    """Reads JSON lines from a running ssecat's stdout until `want(objs)`."""
    objs = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not want(objs):
        line = proc.stdout.readline()
        if not line:
            break
        objs.append(json.loads(line))
    return objs


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out, err.decode(errors="replace")


def test_json_and_on_end(s, srv):
    # --json: POST with the JSON headers; a POST ends at the clean end.
    code, out, err = s.run("--jsonl", "--json", '{"q":1}', srv.url + "/echo", expect=0,
                           under_valgrind=True)
    objs = jsonl(out)
    check(len(objs) == 1, f"one answer, then the end: {objs}")
    echo = json.loads(objs[0]["data"]) if objs else {}
    headers = echo.get("headers", {})
    check(echo.get("method") == "POST" and echo.get("body") == '{"q":1}', f"echo: {echo}")
    check(headers.get("content-type") == "application/json" and
          headers.get("accept") == "text/event-stream", f"headers: {headers}")
    # --on-end reconnect: asked again, with Last-Event-ID.
    code, out, err = s.run("--jsonl", "--json", '{"q":1}', "--on-end", "reconnect", "--retry-ms",
                           "10", "--max-events", "2", srv.url + "/echo", expect=0)
    objs = jsonl(out)
    second = json.loads(objs[1]["data"]) if len(objs) == 2 else {}
    check(second.get("headers", {}).get("last-event-id") == "echo", f"second echo: {second}")
    # GET reconnects by default; --on-end end ends it.
    code, out, _ = s.run("--jsonl", "--all", "--on-end", "end", srv.url + "/ticker?count=2",
                         expect=0)
    kinds = [o["kind"] for o in jsonl(out)]
    check(kinds == ["open", "message", "message", "closed"], f"kinds: {kinds}")
    s.run("--on-end", "sometimes", srv.url, expect=2)
    s.run("-d", "x", "--json", "{}", srv.url, expect=2)


def test_jsonl_retry_and_close_reason(s, srv):
    body = b"retry: 500\ndata: with\n\ndata: without\n\n"
    code, out, _ = s.run("--jsonl", "--all", "--max-retries", "0", raw_url(srv, body), expect=0)
    objs = jsonl(out)
    messages = [o for o in objs if o["kind"] == "message"]
    check(len(messages) == 2 and messages[0].get("retry") == 500 and "retry" not in messages[1],
          f"messages: {messages}")
    check(objs and objs[-1] == {"kind": "closed", "reason": "end_of_stream"}, f"objs: {objs}")


def test_error_body(s, srv):
    url = srv.url + "/status/401?type=application/json&body=%7B%22error%22%3A%22bad%20key%22%7D"
    code, out, err = s.run(url, expect=1, under_valgrind=True)
    own = [line for line in err.splitlines() if line.startswith("ssecat: ")]  # not valgrind's
    check('the server said: {"error":"bad key"}' in err and own and
          own[-1].endswith("(SSE_ERR_HTTP_STATUS)"), f"stderr: {err}")
    code, out, err = s.run("--jsonl", "--all", url, expect=1)
    objs = jsonl(out)
    check(objs and objs[0].get("body") == '{"error":"bad key"}', f"output: {objs}")
    # Controls in a body never reach the terminal raw.
    code, out, err = s.run(srv.url + "/status/403?body=%1B%5B31mred", expect=1)
    check("\x1b" not in err and "\\x1b[31mred" in err, f"stderr: {err!r}")


def stats_line(err):
    lines = [line for line in err.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def test_stats(s, srv):
    code, out, err = s.run("--stats", "--on-end", "end", srv.url + "/ticker?count=3", expect=0,
                           under_valgrind=True)
    stats = stats_line(err)
    check(stats.get("events") == 3 and stats.get("connections") == 1 and
          stats.get("reconnects") == 0 and stats.get("errors") == 0 and
          stats.get("data_bytes") == len("tick 1") * 3 and
          stats.get("wire_bytes", 0) > stats.get("data_bytes", 0), f"stats: {stats}")
    code, out, err = s.run("--stats", "--max-retries", "2", "--retry-ms", "5",
                           srv.url + "/status/503", expect=1)
    stats = stats_line(err)
    check(stats.get("errors") == 3 and stats.get("reconnects") == 2 and
          stats.get("errors_by_status") == {"SSE_ERR_HTTP_STATUS": 2,
                                            "SSE_ERR_RETRIES_EXHAUSTED": 1} and
          "503" in (stats.get("last_error") or ""), f"stats: {stats}")
    # SIGUSR1: the same line at any time, and ssecat goes on.
    proc = s.spawn("--stats", "--jsonl", srv.url + "/ticker?interval_ms=20")
    read_jsonl_until(proc, lambda objs: len(objs) >= 3)
    proc.send_signal(signal.SIGUSR1)
    got = read_jsonl_until(proc, lambda objs: len(objs) >= 3)
    check(len(got) == 3, f"ssecat went on after SIGUSR1: {got}")
    code, out, err = stop(proc)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    check(code == 128 + signal.SIGTERM and len(lines) == 2 and lines[0]["events"] >= 3 and
          lines[1]["events"] >= 6, f"exit {code}, stats lines: {lines}")


def test_state_survives_kill_9(s, srv):
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        url = srv.url + "/ticker?interval_ms=2"
        seen = []
        for _ in range(3):
            proc = s.spawn("--jsonl", "--state", state, url)
            got = read_jsonl_until(proc, lambda objs: len(objs) >= 25)
            proc.kill()  # kill -9: no chance to tidy up
            # The rest through the same buffered reader (lines it holds
            # already are not in the pipe any more).
            out = proc.stdout.read()
            proc.wait(timeout=20)
            proc.stderr.close()
            got += [json.loads(line) for line in out.decode().split("\n") if line]
            ids = [int(o["id"]) for o in got]
            stored = int(open(state).read())
            check(ids and stored in (ids[-1], ids[-1] - 1),
                  f"state {stored} after printing up to {ids[-1:]}")
            seen += ids
        check(sorted(set(seen)) == list(range(1, max(seen) + 1)), f"a gap: {seen}")
        repeats = len(seen) - len(set(seen))
        check(repeats <= 2, f"{repeats} events printed twice over 3 kills (at most 1 per kill)")
        check(not [f for f in os.listdir(tmp) if f not in ("state", "state.tmp")],
              f"left: {os.listdir(tmp)}")
        # An id as the file holds it (no line end), and empty ids.
        with open(state, "w") as f:
            f.write("41")
        code, out, _ = s.run("--jsonl", "--state", state, "--max-events", "1", url, expect=0)
        check([o["id"] for o in jsonl(out)] == ["42"], f"resumed: {out!r}")
        code, out, _ = s.run("--state", state, "--max-events", "1", "--on-end", "end",
                             raw_url(srv, b"id\ndata: x\n\n"), expect=0)
        check(open(state).read() == "", "an empty id is stored as an empty file")
        s.run("--state", tmp, srv.url, expect=2)  # a folder: refused at start
        s.run("--state", os.path.join(tmp, "missing", "state"), srv.url, expect=2)
        # A line end written by hand is not part of the id.
        with open(state, "w") as f:
            f.write("7\n")
        code, out, _ = s.run("--jsonl", "--state", state, "--max-events", "1", url, expect=0)
        check([o["id"] for o in jsonl(out)] == ["8"], f"resumed after 7: {out!r}")


def test_header_file(s, srv):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "headers")
        with open(path, "w") as f:
            f.write("# a comment\n\nAuthorization: Bearer one\n")
        proc = s.spawn("--jsonl", "--all", "--retry-ms", "20", "--header-file", path,
                       srv.url + "/echo")
        tokens = []

        def token_seen(objs):
            for o in objs[len(tokens):]:
                pass
            msgs = [json.loads(o["data"]) for o in objs if o["kind"] == "message"]
            tokens[:] = [m["headers"].get("authorization") for m in msgs]
            if tokens == ["Bearer one"] and not os.path.exists(path + ".done"):
                with open(path + ".tmp", "w") as f:
                    f.write("Authorization: Bearer two\n")
                os.replace(path + ".tmp", path)
                open(path + ".done", "w").close()
            return "Bearer two" in tokens

        objs = read_jsonl_until(proc, token_seen)
        check("Bearer two" in tokens, f"tokens sent: {tokens}")
        # The file gone at an attempt: an error item and a retry, not an end.
        os.unlink(path)
        objs = read_jsonl_until(proc, lambda got: any(o["kind"] == "error" for o in got))
        errors = [o for o in objs if o["kind"] == "error"]
        check(errors and "--header-file" in errors[0]["message"], f"items: {objs[-4:]}")
        code, _, err = stop(proc)
        check(code == 128 + signal.SIGTERM, f"exit {code}: {err}")
    s.run("--header-file", "/nonexistent/headers", srv.url, expect=2)
    # A NUL in the file fails the attempt (no value is cut short).
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "headers")
        with open(path, "wb") as f:
            f.write(b"X-C: b\x00c\n")
        code, out, err = s.run("--jsonl", "--all", "--max-retries", "0", "--header-file", path,
                               srv.url + "/echo", expect=1)
        check("NUL" in err and b'"kind":"message"' not in out, f"stderr {err!r}, out {out!r}")


def test_sighup_reconnects(s, srv):
    proc = s.spawn("--jsonl", "--all", srv.url + "/ticker?interval_ms=20")
    got = read_jsonl_until(proc, lambda objs: sum(o["kind"] == "message" for o in objs) >= 2)
    last_id = int([o for o in got if o["kind"] == "message"][-1]["id"])
    proc.send_signal(signal.SIGHUP)
    after = read_jsonl_until(proc, lambda objs: any(o["kind"] == "open" for o in objs) and
                             objs[-1]["kind"] == "message")
    kinds = [o["kind"] for o in after]
    check("reconnecting" in kinds and "open" in kinds, f"after SIGHUP: {kinds}")
    ids = [int(o["id"]) for o in got + after if o["kind"] == "message"]
    check(ids == list(range(1, len(ids) + 1)) and ids[-1] > last_id,
          f"resumed with Last-Event-ID: {ids}")
    code, _, err = stop(proc)
    check(code == 128 + signal.SIGTERM, f"exit {code}: {err}")


def test_client_certificate(s, srv):
    with tempfile.TemporaryDirectory() as tmp:
        mtls = Server(tls=True, client_auth_dir=tmp)
        try:
            url = mtls.url + "/ticker?count=2"
            pem = lambda name: os.path.join(tmp, name)
            code, out, err = s.run("--cacert", mtls.ca, "--cert", pem("client.pem"), "--key",
                                   pem("client.key"), "--on-end", "end", url, expect=0,
                                   under_valgrind=True)
            check(out.count(b"data: tick") == 2, f"output: {out!r}")
            # The key in the certificate's own file.
            both = pem("both.pem")
            with open(both, "w") as f:
                f.write(open(pem("client.pem")).read() + open(pem("client.key")).read())
            s.run("--cacert", mtls.ca, "--cert", both, "--on-end", "end", url, expect=0)
            # None, or one the server does not trust: a clear TLS error.
            for extra in ([], ["--cert", pem("stranger.pem"), "--key", pem("stranger.key")]):
                code, out, err = s.run("--cacert", mtls.ca, "--max-retries", "0", *extra, url,
                                       expect=1)
                check("TLS" in err, f"{extra}: stderr {err!r}")
            # An encrypted key: refused at start, saying why.
            enc = pem("enc.key")
            with open(enc, "w") as f:
                f.write("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n"
                        "-----END ENCRYPTED PRIVATE KEY-----\n")
            code, out, err = s.run("--cert", pem("client.pem"), "--key", enc, url, expect=2)
            check("encrypted" in err, f"stderr: {err!r}")
            s.run("--key", pem("client.key"), url, expect=2)
        finally:
            mtls.stop()


def test_type_filter_keeps_resume_ids(s, srv):
    # Two connections of a/b events; only "a" is printed, yet the second
    # request resumes after the last id seen, a filtered "b" included.
    body = b"id: 1\nevent: a\ndata: x\n\nid: 2\nevent: b\ndata: y\n\n"
    code, out, err = s.run("--jsonl", "--type", "a", "--retry-ms", "10", "--max-events", "2",
                           raw_url(srv, body), expect=0)
    check([o["event"] for o in jsonl(out)] == ["a", "a"], f"output: {out!r}")
    requests = json.loads(urllib.request.urlopen(srv.url + "/requests", timeout=10).read())
    raws = [r for r in requests if r["path"].startswith("/raw")]
    check(len(raws) >= 2 and raws[-1]["headers"].get("last-event-id") == "2",
          f"requests: {raws[-2:]}")


def test_retry_after_date(s, srv):
    import email.utils
    soon = email.utils.formatdate(time.time() + 3, usegmt=True)
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    delays = {}
    for name, date in (("soon", soon), ("past", past)):
        url = srv.url + "/status/503?retry_after=" + urllib.parse.quote(date)
        code, out, _ = s.run("--jsonl", "--all", "--max-retries", "1", "--retry-ms", "10", url,
                             expect=1)
        delays[name] = [o["delay_ms"] for o in jsonl(out) if o["kind"] == "reconnecting"]
    check(delays["soon"] and 1000 <= delays["soon"][0] <= 3100, f"delays: {delays}")
    check(delays["past"] and delays["past"][0] < 1000, f"delays: {delays}")


def socks5_proxy(upstream_port, targets):
    """A minimal SOCKS5 proxy on loopback (no authentication): records each
    target asked for and tunnels it to 127.0.0.1:upstream_port. Returns
    its port; it serves until the process ends."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def relay(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for sock in (a, b):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(client):
        def exact(n):
            data = b""
            while len(data) < n:
                chunk = client.recv(n - len(data))
                if not chunk:
                    raise OSError("closed")
                data += chunk
            return data
        try:
            _, n = exact(2)
            exact(n)
            client.sendall(b"\x05\x00")
            _, _, _, atyp = exact(4)
            if atyp == 3:
                host = exact(exact(1)[0]).decode()
            elif atyp == 1:
                host = socket.inet_ntoa(exact(4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, exact(16))
            port = int.from_bytes(exact(2), "big")
            targets.append(f"{host}:{port}")
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            client.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        except OSError:
            client.close()
            return
        threading.Thread(target=relay, args=(upstream, client), daemon=True).start()
        relay(client, upstream)

    def accept():
        while True:
            client, _ = listener.accept()
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def test_socks_proxy_from_the_environment(s, srv):
    port = int(srv.url.rsplit(":", 1)[1])
    targets = []
    proxy = socks5_proxy(port, targets)
    env = dict(s.env, ALL_PROXY=f"socks5h://127.0.0.1:{proxy}")
    proc = subprocess.run([s.binary, "--jsonl", "--on-end", "end",
                           f"http://feed.test:{port}/ticker?count=2"],
                          capture_output=True, timeout=30, env=env)
    check(proc.returncode == 0 and [o["data"] for o in jsonl(proc.stdout)] == ["tick 1", "tick 2"],
          f"exit {proc.returncode}: {proc.stdout!r} {proc.stderr!r}")
    check(targets == [f"feed.test:{port}"], f"targets: {targets}")
    # --proxy wins over the environment; an https:// proxy is refused.
    code, out, err = s.run("--proxy", "https://127.0.0.1:1", srv.url + "/ticker", expect=2)
    check("not supported" in err, f"stderr: {err!r}")


TESTS = [
    test_jsonl_all, test_jsonl_messages_only, test_human_format, test_json_escaping,
    test_max_events, test_statuses, test_event_types, test_reconnect_resumes, test_request_options,
    test_usage_errors, test_framing_header_refused, test_signals, test_signal_while_stdout_is_blocked,
    test_terminal_output_is_escaped, test_streaming, test_closed_stdout,
    test_limits_and_timeouts, test_tls, test_cpp_example, test_poll_loop_example,
    test_json_and_on_end, test_jsonl_retry_and_close_reason, test_error_body, test_stats,
    test_state_survives_kill_9, test_header_file, test_sighup_reconnects,
    test_client_certificate, test_type_filter_keeps_resume_ids, test_retry_after_date,
    test_socks_proxy_from_the_environment,
]


def main():
    global current
    args = sys.argv[1:]
    if not args:
        raise SystemExit(__doc__)
    binary = os.path.abspath(args.pop(0))
    valgrind = "--valgrind" in args
    names = [a for a in args if a != "--valgrind"]
    s = Ssecat(binary, valgrind)
    srv = Server()
    label = os.path.relpath(binary, ROOT) + (" (some cases under valgrind)" if valgrind else "")
    t_all = time.monotonic()
    failed_tests = 0
    try:
        for test in TESTS:
            name = test.__name__[len("test_"):]
            if names and name not in names:
                continue
            current = name
            before = len(failures)
            t0 = time.monotonic()
            try:
                test(s, srv)
            except Exception as e:  # a crash of the test is a failure too
                check(False, f"{type(e).__name__}: {e}")
            ok = len(failures) == before
            failed_tests += not ok
            print(f"{'ok  ' if ok else 'FAIL'} test_ssecat.{name} ({(time.monotonic() - t0) * 1000:.0f} ms)",
                  flush=True)
    finally:
        srv.stop()
    print(f"test_ssecat [{label}]: {failed_tests} failed, {len(failures)} failed checks, "
          f"{time.monotonic() - t_all:.1f} s", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
