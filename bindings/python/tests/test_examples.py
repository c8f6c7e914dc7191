"""The examples in examples/python run against the demo server and stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO

EXAMPLES = os.path.join(REPO, "examples", "python")
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", ["sync_example.py", "async_example.py"])
def test_example_prints_events_and_stops_on_ctrl_c(name: str, url: str) -> None:
    path = os.path.join(EXAMPLES, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not found")
    env = dict(os.environ)
    if not os.environ.get("LIBSSE_TEST_INSTALLED"):
        env["PYTHONPATH"] = PACKAGE_DIR + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, path, url + "/ticker?count=3&interval_ms=20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        assert [line.strip() for line in lines] == [
            f"Event(event='message', data='tick {i}', id='{i}')" for i in (1, 2, 3)
        ]
        time.sleep(0.2)  # now reconnecting after the server's clean end
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        err = proc.stderr.read()  # type: ignore[union-attr]
        assert "INFO:libsse:" in err and "open (HTTP 200)" in err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_resume_example_loses_nothing_across_restarts(url: str, tmp_path) -> None:
    path = os.path.join(EXAMPLES, "resume.py")
    if not os.path.exists(path):
        pytest.skip(f"{path} not found")
    env = dict(os.environ)
    if not os.environ.get("LIBSSE_TEST_INSTALLED"):
        env["PYTHONPATH"] = PACKAGE_DIR + os.pathsep + env.get("PYTHONPATH", "")
    state = tmp_path / "state"
    seen = []
    for count in (3, 4, 2):
        out = subprocess.run(
            [sys.executable, path, "--state", str(state), "--count", str(count), url + "/ticker?interval_ms=5"],
            capture_output=True, text=True, env=env, timeout=30,
        )
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        seen += out.stdout.split()[1::2]  # "tick N" lines
        assert state.read_text() == seen[-1]
    assert seen == [str(n) for n in range(1, 10)]
    assert not (tmp_path / "state.tmp").exists()
