"""Fixtures: the loopback demo server (a subprocess), modes, hang guard."""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import urllib.request
from typing import Iterator

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SERVER_BIN = os.environ.get(
    "SSE_DEMO_SERVER", os.path.join(REPO, "target", "release", "sse-demo-server")
)

# Run against the source tree unless told to test an installed package.
if not os.environ.get("LIBSSE_TEST_INSTALLED"):
    sys.path.insert(0, os.path.dirname(HERE))

import libsse  # noqa: E402
from libsse import _batch, _client, _parser  # noqa: E402

TEST_TIMEOUT = float(os.environ.get("LIBSSE_TEST_TIMEOUT", "120"))


@pytest.fixture(autouse=True)
def _hang_guard() -> Iterator[None]:
    """A hung test dumps every thread's stack and fails the run."""
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


class DemoServer:
    def __init__(self, *args: str) -> None:
        if not os.path.exists(SERVER_BIN):
            pytest.skip(f"{SERVER_BIN} missing: run `cargo build --release`")
        self.proc = subprocess.Popen(
            [SERVER_BIN, "--port", "0", "--exit-on-stdin-eof", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        line = self.proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"sse-demo-server printed {line!r}")
        self.url = line

    def requests(self) -> list:
        """Every request the server recorded (its /requests endpoint)."""
        with urllib.request.urlopen(self.url + "/requests", timeout=10) as response:
            text = response.read().decode()
        return json.loads(text)

    def stop(self) -> None:
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        self.proc.stdout.close()  # type: ignore[union-attr]  (else a ResourceWarning under -X dev)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def server() -> Iterator[DemoServer]:
    s = DemoServer()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def url(server: DemoServer) -> str:
    return server.url


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    ca = tmp_path_factory.mktemp("tls") / "ca.pem"
    s = DemoServer("--tls", "--ca-out", str(ca))
    s.ca = str(ca)  # type: ignore[attr-defined]
    yield s
    s.stop()


@pytest.fixture(params=["accelerated", "pure"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with the compiled event builder and with ABI calls only."""
    if request.param == "accelerated":
        if not libsse.ACCELERATED:
            pytest.skip("libsse._speedups is not built")
    else:
        monkeypatch.setattr(_client, "new_batch", _batch.PyBatch)
        monkeypatch.setattr(_parser, "new_batch", _batch.PyBatch)
    return request.param


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    """Native threads of this process (Python's and libsse's)."""
    return len(os.listdir("/proc/self/task"))


def settled_thread_count(quiet: float = 0.2, timeout: float = 5.0) -> int:
    """The thread count once it stopped changing for ``quiet`` seconds
    (threads of earlier tests, e.g. threading.Timer, may still be exiting)."""
    import time

    end = time.monotonic() + timeout
    last = thread_count()
    since = time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.01)
        now = thread_count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last
