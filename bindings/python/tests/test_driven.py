"""The sync client reads its stream on the iterating thread by default
(libsse's "driven by the caller" mode): no libsse thread, events in order
across reconnections, a close from another thread ends the loop; and
``background=True`` or ``fileno()`` give it libsse's thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import libsse

HERE = os.path.dirname(os.path.abspath(__file__))

# Run in a child process: other tests' clients would start libsse's shared
# thread in this one. Prints the ids seen and the libsse threads alive.
_CHILD = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
import libsse

def engine_threads():
    names = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/comm") as f:
            names.append(f.read().strip())
    return sum(name == "libsse-engine" for name in names)

url, background = sys.argv[2], sys.argv[3] == "1"
ids = []
with libsse.connect(url, background=background) as client:
    for event in client:
        ids.append(int(event.id))
        if len(ids) == 12:
            break
    during = engine_threads()
    if sys.argv[4] == "1":
        client.fileno()
        import time
        deadline = time.monotonic() + 10  # (a new thread names itself once it runs)
        while engine_threads() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        during_fd = engine_threads()
        ids += [int(next(iter(client)).id) for _ in range(3)]
    else:
        during_fd = -1
print(ids, during, during_fd)
"""


def _child(url: str, background: bool, fileno: bool) -> "tuple[list, int, int]":
    package = os.path.dirname(HERE)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, package, url, "1" if background else "0", "1" if fileno else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    ids, during, during_fd = out.strip().rsplit(" ", 2)
    return eval(ids), int(during), int(during_fd)  # noqa: S307 (our own child's list of ints)


def test_the_iterating_thread_reads_the_stream_without_a_libsse_thread(url: str) -> None:
    # Dropped every 3 events: the reconnections, from the last id, happen
    # inside the iteration too.
    ids, threads, _ = _child(url + "/ticker?count=0&interval_ms=2&drop_after=3", False, False)
    assert ids == list(range(1, 13))
    assert threads == 0, "a libsse thread read a stream its iterator drives"


def test_background_true_reads_on_the_libsse_thread(url: str) -> None:
    ids, threads, _ = _child(url + "/ticker?count=0&interval_ms=2&drop_after=3", True, False)
    assert ids == list(range(1, 13))
    assert threads == 1


def test_fileno_moves_the_stream_to_a_libsse_thread(url: str) -> None:
    ids, before, after = _child(url + "/ticker?count=0&interval_ms=2", False, True)
    assert ids == list(range(1, 16))
    assert (before, after) == (0, 1)


def test_a_close_from_another_thread_ends_the_iteration(url: str, mode: str) -> None:
    client = libsse.connect(url + "/silent")
    assert isinstance(client.next(10), libsse.Open)
    done: list = []
    thread = threading.Thread(target=lambda: done.append(list(client)))
    thread.start()
    time.sleep(0.1)  # it waits inside the iteration, reading the socket
    assert thread.is_alive()
    client.close()
    thread.join(10)
    assert not thread.is_alive() and done == [[]]


def test_a_timeout_on_a_silent_stream_returns_none_and_the_stream_goes_on(url: str, mode: str) -> None:
    with libsse.connect(url + "/silent") as client:
        assert isinstance(client.next(10), libsse.Open)
        started = time.monotonic()
        assert client.next(0.1) is None
        assert time.monotonic() - started >= 0.09
        assert client.next(0) is None
        assert client.stats.connections == 1
