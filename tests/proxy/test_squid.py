#!/usr/bin/env python3
"""ssecat through a real Squid forward proxy with Debian's default rules.

usage: test_squid.py SSECAT

Issue 11 item 12: `http://` streams must reach the proxy as requests in
absolute form (`GET http://host:port/path`), since Squid's default rule
`http_access deny CONNECT !SSL_ports` refuses a CONNECT tunnel to any port
but 443; `https://` streams go through CONNECT. Squid runs on 127.0.0.1
with /etc/squid/squid.conf as installed (only its port, pid and log files
moved to a temporary folder); for the https case the demo server's TLS port
is added to SSL_ports, as an administrator would for a TLS service on
another port. Squid's access log must show the request the way it was made.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = os.path.join(ROOT, "target/release/sse-demo-server")
SQUID = shutil.which("squid") or "/usr/sbin/squid"
DEFAULT_CONF = "/etc/squid/squid.conf"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
              "all_proxy", "no_proxy", "NO_PROXY")

failures = []


def report(name, before):
    print(f"{'ok  ' if len(failures) == before else 'FAIL'} test_squid.{name}", flush=True)


def check(cond, message):
    if not cond:
        failures.append(message)
        print(f"  FAIL {message}", file=sys.stderr, flush=True)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(tls, folder):
    args = [SERVER, "--port", "0", "--exit-on-stdin-eof"]
    ca = None
    if tls:
        ca = os.path.join(folder, "ca.pem")
        args += ["--tls", "--ca-out", ca]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    url = proc.stdout.readline().decode().strip()
    if not url.startswith("http"):
        raise SystemExit(f"the demo server did not start ({url!r})")
    return proc, url, ca


def squid_config(folder, port, tls_port):
    with open(DEFAULT_CONF) as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        if line.startswith("http_port "):
            line = f"http_port 127.0.0.1:{port}"
        if line.startswith("acl SSL_ports port 443"):
            out.append(line)
            line = f"acl SSL_ports port {tls_port}"
        out.append(line)
    out += [
        f"pid_filename {folder}/squid.pid",
        f"access_log stdio:{folder}/access.log",
        f"cache_log {folder}/cache.log",
        "cache deny all",
        "shutdown_lifetime 0 seconds",
    ]
    path = os.path.join(folder, "squid.conf")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def wait_listening(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def run_ssecat(ssecat, env, *args):
    proc = subprocess.run([ssecat, "--jsonl", "--max-retries", "0", *args],
                          capture_output=True, timeout=60, env=env)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    ssecat = os.path.abspath(sys.argv[1])
    if not os.path.exists(SQUID) or not os.path.exists(DEFAULT_CONF):
        raise SystemExit("squid is not installed (scripts/ensure-c-deps.sh installs it)")
    folder = tempfile.mkdtemp(prefix="libsse-squid-")
    os.chmod(folder, 0o777)  # squid drops to its own user when started as root
    plain, plain_url, _ = start_demo(False, folder)
    tls, tls_url, ca = start_demo(True, folder)
    tls_port = int(tls_url.rsplit(":", 1)[1])
    port = free_port()
    conf = squid_config(folder, port, tls_port)
    squid = subprocess.Popen([SQUID, "-N", "-f", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    t0 = time.monotonic()
    try:
        if not wait_listening(port, squid):
            err = squid.stderr.read().decode(errors="replace") if squid.poll() is not None else ""
            raise SystemExit(f"squid did not start:\n{err}\n{read(folder + '/cache.log')}")
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        env["ASAN_OPTIONS"] = "exitcode=86:detect_leaks=1"
        proxy = f"http://127.0.0.1:{port}"

        # http:// through http_proxy (read like curl): absolute form.
        env_http = dict(env, http_proxy=proxy)
        before = len(failures)
        target = plain_url + "/ticker?count=3"
        code, out, err = run_ssecat(ssecat, env_http, target)
        check(code == 0, f"http via squid: exit {code}; stderr: {err}")
        check(out.count('"kind":"message"') == 3, f"http via squid: events {out!r}")
        time.sleep(0.3)  # squid writes its log line when the transaction ends
        log = read(folder + "/access.log")
        # Squid logs the URL without its query (strip_query_terms).
        logged = "GET " + target.split("?")[0]
        check(logged in log and "TCP_DENIED" not in log,
              f"squid's log shows no absolute-form {logged}:\n{log}")
        report("http_stream_in_absolute_form", before)
        before = len(failures)

        # https:// through HTTPS_PROXY: CONNECT, then TLS end to end.
        host_port = tls_url.split("://", 1)[1]
        env_https = dict(env, HTTPS_PROXY=proxy)
        code, out, err = run_ssecat(ssecat, env_https, "--cacert", ca,
                                    tls_url + "/ticker?count=2")
        check(code == 0, f"https via squid: exit {code}; stderr: {err}")
        check(out.count('"kind":"message"') == 2, f"https via squid: events {out!r}")
        time.sleep(0.3)
        log = read(folder + "/access.log")
        check(f"CONNECT {host_port}" in log, f"squid's log shows no CONNECT {host_port}:\n{log}")
        report("https_stream_through_connect", before)
        before = len(failures)

        # The proxy given explicitly, with --proxy.
        code, out, err = run_ssecat(ssecat, env, "--proxy", proxy, plain_url + "/ticker?count=1")
        check(code == 0 and out.count('"kind":"message"') == 1,
              f"--proxy: exit {code}, {out!r}; stderr: {err}")
        report("explicit_proxy_option", before)
    finally:
        squid.send_signal(signal.SIGTERM)
        try:
            squid.wait(10)
        except subprocess.TimeoutExpired:
            squid.kill()
            squid.wait()
        squid.stderr.close()
        for proc in (plain, tls):
            proc.stdin.close()
            proc.wait(5)
            proc.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"test_squid: {len(failures)} failed checks, {time.monotonic() - t0:.1f} s", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
