"""libsse.connect against the loopback demo server."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import threading
import time
import urllib.parse
import uuid
from typing import List

import pytest

import libsse
from libsse import (
    Closed,
    CloseReason,
    Comment,
    ConnectError,
    ContentTypeError,
    Error,
    Event,
    EventTooLarge,
    HTTPStatusError,
    InvalidArgument,
    InvalidURL,
    NetworkError,
    Open,
    ReadTimeout,
    Reconnecting,
    RetriesExhausted,
    Retry,
    SSEError,
    TLSError,
)
from conftest import DemoServer, fd_count, settled_thread_count, thread_count

FAST = Retry(initial=0.01, min=0.001)  # reconnect at once in tests


def tag() -> str:
    """A unique query parameter to find this test's requests on the server."""
    return "tag=" + uuid.uuid4().hex[:12]


def requests_with(server: DemoServer, marker: str) -> List[dict]:
    return [r for r in server.requests() if marker in r["path"]]


def test_iterates_events(url: str, mode: str) -> None:
    with libsse.connect(url + "/ticker?count=5", max_retries=0) as client:
        events = list(client)
        assert client.accelerated == (mode == "accelerated")
    assert events == [Event("message", f"tick {i}", str(i)) for i in range(1, 6)]
    assert all(type(e) is Event for e in events)


def test_event_type_and_many_events(url: str, mode: str) -> None:
    with libsse.connect(url + "/ticker?count=3000&event=tick", max_retries=0) as client:
        events = list(client)
    assert len(events) == 3000
    assert events[-1] == Event("tick", "tick 3000", "3000")


def test_all_gives_every_item_in_order(url: str, mode: str) -> None:
    with libsse.connect(url + "/ticker?count=2&comment_every=1", max_retries=0) as client:
        items = list(client.all())
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["Open", "Event", "Comment", "Event", "Comment", "Closed"]
    opened = items[0]
    assert isinstance(opened, Open) and opened.status == 200
    assert opened.headers["Content-Type"] == "text/event-stream"
    assert "content-type" in opened.headers and "CONTENT-TYPE" in opened.headers
    assert items[2] == Comment("keep-alive")
    assert items[-1] == Closed(CloseReason.END_OF_STREAM)


def test_iteration_skips_comments(url: str, mode: str) -> None:
    with libsse.connect(url + "/ticker?count=3&comment_every=1", max_retries=0) as client:
        assert [e.data for e in client] == ["tick 1", "tick 2", "tick 3"]


def test_break_and_resume_loses_nothing(url: str, mode: str) -> None:
    with libsse.connect(url + "/ticker?count=10", max_retries=0) as client:
        first = []
        for event in client:
            first.append(event.id)
            if len(first) == 3:
                break
        rest = [event.id for event in client]
    assert first + rest == [str(i) for i in range(1, 11)]


def test_reconnects_with_last_event_id(server: DemoServer, mode: str) -> None:
    marker = tag()
    client = libsse.connect(server.url + f"/ticker?count=6&drop_after=3&{marker}", retry=FAST)
    with client:
        seen = []
        items = []
        for item in client.all():
            items.append(item)
            if type(item) is Event:
                seen.append(item.id)
                if len(seen) == 6:
                    break
        assert client.last_event_id == "6"
    assert seen == ["1", "2", "3", "4", "5", "6"]  # each exactly once
    kinds = [type(i) for i in items]
    assert kinds.count(Open) == 2
    error = next(i for i in items if type(i) is Error)
    assert not error.fatal and isinstance(error.error, NetworkError)
    reconnecting = next(i for i in items if type(i) is Reconnecting)
    assert reconnecting.attempt == 1 and reconnecting.delay < 1
    sent = requests_with(server, marker)
    assert "last-event-id" not in sent[0]["headers"]
    assert sent[1]["headers"]["last-event-id"] == "3"


def test_initial_last_event_id(server: DemoServer) -> None:
    marker = tag()
    with libsse.connect(server.url + f"/ticker?count=5&{marker}", last_event_id="3", max_retries=0) as client:
        assert [e.id for e in client] == ["4", "5"]
    assert requests_with(server, marker)[0]["headers"]["last-event-id"] == "3"


def test_204_ends_without_error(url: str, mode: str) -> None:
    with libsse.connect(url + "/status/204") as client:
        assert list(client) == []
    with libsse.connect(url + "/status/204") as client:
        assert list(client.all()) == [Closed(CloseReason.NO_CONTENT)]


def test_http_error_status_raises_with_status_and_headers(url: str, mode: str) -> None:
    with libsse.connect(url + "/status/404") as client:
        with pytest.raises(HTTPStatusError) as info:
            list(client)
    error = info.value
    assert error.status == 404
    assert error.headers["content-type"].startswith("text/plain")
    assert "404" in str(error)
    assert isinstance(error, SSEError) and error.code_name == "SSE_ERR_HTTP_STATUS"


def test_error_is_raised_again_on_the_next_iteration(url: str) -> None:
    with libsse.connect(url + "/status/410") as client:
        for _ in range(2):
            with pytest.raises(HTTPStatusError):
                list(client)


def test_retry_after_is_reported(url: str) -> None:
    with libsse.connect(url + "/status/503?retry_after=2", max_retries=0) as client:
        error = next(i for i in client.all() if type(i) is Error)
    assert error.fatal
    assert isinstance(error.error, HTTPStatusError)
    assert error.error.status == 503 and error.error.retry_after == 2.0


def test_retries_exhausted_chains_the_last_error(url: str, mode: str) -> None:
    with libsse.connect(url + "/status/500", max_retries=2, retry=FAST) as client:
        with pytest.raises(RetriesExhausted) as info:
            list(client)
    assert isinstance(info.value.__cause__, HTTPStatusError)
    assert info.value.__cause__.status == 500


def test_error_policy_never(url: str) -> None:
    with libsse.connect(url + "/status/500", error_policy="never") as client:
        with pytest.raises(HTTPStatusError) as info:
            list(client)
    assert info.value.status == 500


def test_content_type_error(url: str, mode: str) -> None:
    with libsse.connect(url + "/content-type?type=text/plain") as client:
        with pytest.raises(ContentTypeError) as info:
            list(client)
    assert info.value.content_type == "text/plain"
    assert info.value.status == 200


def test_content_type_with_parameters_is_accepted(url: str) -> None:
    with libsse.connect(url + "/content-type?type=text/event-stream;%20charset=utf-8", max_retries=0) as client:
        assert [e.data for e in client] == ["hello"]


def test_method_headers_body_echo(url: str, mode: str) -> None:
    with libsse.connect(
        url + "/echo",
        method="POST",
        headers={"X-Custom": "yes", "Authorization": "Bearer t0ken"},
        body=b'{"prompt": "hi"}',
        max_retries=0,
    ) as client:
        (event,) = list(client)
    echo = json.loads(event.data)
    assert event.id == "echo"
    assert echo["method"] == "POST"
    assert echo["body"] == '{"prompt": "hi"}'
    headers = echo["headers"]
    assert headers["x-custom"] == "yes"
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["accept"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"


def test_headers_as_pairs_and_str_body(url: str) -> None:
    with libsse.connect(
        url + "/echo", method="REPORT", headers=[("X-A", "1"), ("X-B", "2")], body="é", max_retries=0
    ) as client:
        echo = json.loads(next(iter(client)).data)
    assert echo["method"] == "REPORT"
    assert (echo["headers"]["x-a"], echo["headers"]["x-b"]) == ("1", "2")
    assert echo["body"] == "é"


def test_invalid_settings_raise_at_connect() -> None:
    with pytest.raises(InvalidURL):
        libsse.connect("ftp://example.com/")
    with pytest.raises(InvalidArgument):
        libsse.connect("http://127.0.0.1:9/", headers={"X-Bad": "a\r\nb"})
    with pytest.raises(InvalidArgument):
        libsse.connect("http://127.0.0.1:9/", headers={"Bad Name": "x"})
    with pytest.raises(InvalidArgument):
        libsse.connect("http://127.0.0.1:9/", retry=-1)
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError
        libsse.connect("http://127.0.0.1:9/", error_policy="sometimes")
    with pytest.raises(InvalidArgument):
        libsse.connect("http://127.0.0.1:9/", cafile="/nonexistent/ca.pem")
    for bad in (
        {"retry": float("nan")},
        {"connect_timeout": float("inf")},
        {"read_timeout": "soon"},
        {"max_event_bytes": -5},
        {"queue_capacity": 2**70},
        {"max_redirects": "many"},
    ):
        with pytest.raises(InvalidArgument):
            libsse.connect("http://127.0.0.1:9/", **bad)  # type: ignore[arg-type]


def test_library_path_from_the_environment(tmp_path: "os.PathLike[str]") -> None:
    import shutil
    import subprocess
    import sys

    copy = os.path.join(str(tmp_path), "libsse-copy.so")
    shutil.copyfile(libsse.LIBRARY_PATH, copy)
    env = dict(os.environ, LIBSSE_LIBRARY=copy)
    code = "import libsse; print(libsse.LIBRARY_PATH); print(libsse.library_version())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    path, version = out.stdout.split()
    assert os.path.samefile(path, copy)
    assert version == libsse.library_version()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connect_error(mode: str) -> None:
    with libsse.connect(f"http://127.0.0.1:{free_port()}/", retry_first_connect=False) as client:
        with pytest.raises(ConnectError):
            list(client)


def test_connect_timeout_on_a_connect_that_gets_no_answer() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.settimeout(0.2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        fillers.append(s)
    started = time.monotonic()
    try:
        with libsse.connect(f"http://127.0.0.1:{port}/", connect_timeout=0.3, max_retries=0) as client:
            with pytest.raises(ConnectError):
                list(client)
        took = time.monotonic() - started
        assert 0.25 <= took < 20, took  # not before the timeout, long before the kernel's
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_read_timeout(url: str) -> None:
    start = time.monotonic()
    with libsse.connect(url + "/silent", read_timeout=0.2, max_retries=0) as client:
        with pytest.raises(ReadTimeout):
            list(client)
    assert time.monotonic() - start < 5


def test_event_too_large(url: str) -> None:
    with libsse.connect(url + "/fast?count=2&size=1000", max_event_bytes=100, max_retries=0) as client:
        with pytest.raises(EventTooLarge):
            list(client)


def test_nul_in_data(url: str, mode: str) -> None:
    import base64

    raw = b"data: a\x00b\n\ndata: end\n\n"
    b64 = base64.b64encode(raw).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    with libsse.connect(url + "/raw?b64=" + b64, max_retries=0) as client:
        assert [e.data for e in client] == ["a\x00b", "end"]


def test_retry_and_nul_in_type_reach_the_event(url: str, mode: str) -> None:
    import base64

    raw = b"retry: 1500\nevent: a\x00b\nid: 7\ndata: x\n\ndata: y\n\nretry: 20\n\ndata: z\n\n"
    b64 = base64.b64encode(raw).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    with libsse.connect(url + "/raw?b64=" + b64, max_retries=0) as client:
        assert list(client) == [
            Event("a\x00b", "x", "7", 1500),
            Event("message", "y", "7", None),
            Event("message", "z", "7", None),
        ]


def test_big_events(url: str, mode: str) -> None:
    with libsse.connect(url + "/fast?count=3&size=300000", max_retries=0) as client:
        events = list(client)
    assert [len(e.data) for e in events] == [300_000] * 3
    assert events[0].data.startswith('{"token":"abc')


def test_interrupt_reconnects_with_last_event_id(server: DemoServer, mode: str) -> None:
    marker = tag()
    with libsse.connect(server.url + f"/ticker?interval_ms=10&{marker}", retry=FAST) as client:
        ids = []
        opens = 0
        for item in client.all():
            if type(item) is Open:
                opens += 1
                if opens == 2:
                    break
            elif type(item) is Event:
                ids.append(int(item.id))
                if len(ids) == 3:
                    client.interrupt()
    assert ids[:3] == [1, 2, 3]
    sent = requests_with(server, marker)
    assert len(sent) >= 2 and int(sent[1]["headers"]["last-event-id"]) >= 3


def test_close_from_another_thread(url: str, mode: str) -> None:
    client = libsse.connect(url + "/silent")
    threading.Timer(0.2, client.close).start()
    start = time.monotonic()
    assert list(client) == []  # ends normally, no exception
    assert time.monotonic() - start < 3
    assert client.closed
    client.close()  # idempotent


def test_close_while_events_flow(url: str, mode: str) -> None:
    client = libsse.connect(url + "/ticker?interval_ms=1")
    seen = 0
    for _event in client:
        seen += 1
        if seen == 5:
            threading.Thread(target=client.close).start()
    assert seen >= 5
    assert client.closed


def test_events_queued_while_the_reader_was_away_come_out_at_once(url: str, mode: str) -> None:
    """After a pull that handed items out, the iterator waits on the
    descriptor before pulling again (no empty pull per wake-up): the
    descriptor stays readable while batches are queued, so events that
    queued up meanwhile (one network read each) come out without new
    traffic; the stream then stays open and silent."""
    with libsse.connect(url + "/ticker?count=8&interval_ms=20&hold=1") as client:
        it = iter(client)
        assert next(it).data == "tick 1"
        time.sleep(0.4)  # ticks 2..8 arrive meanwhile, each its own read
        start = time.monotonic()
        rest = [client.next(5) for _ in range(7)]
        assert [e.data for e in rest] == [f"tick {i}" for i in range(2, 9)]
        assert time.monotonic() - start < 1
        assert client.next(0.2) is None  # nothing more: the wait times out
        assert client.next(0) is None  # (a zero timeout pulls without waiting)
    with libsse.connect(url + "/ticker?count=8&interval_ms=20&hold=1") as client:
        seen = []
        for event in client:  # the same through the iterator
            seen.append(event.data)
            if len(seen) == 1:
                time.sleep(0.4)
            if len(seen) == 8:
                break
        assert seen == [f"tick {i}" for i in range(1, 9)]


def test_next_with_timeout(url: str) -> None:
    with libsse.connect(url + "/silent") as client:
        assert isinstance(client.next(5), Open)
        start = time.monotonic()
        assert client.next(0.2) is None
        assert 0.15 < time.monotonic() - start < 2


def test_fileno_is_selectable(url: str) -> None:
    with libsse.connect(url + "/ticker?count=1", max_retries=0) as client:
        fd = client.fileno()
        assert fd >= 0
        readable, _, _ = select.select([fd], [], [], 5)
        assert readable == [fd]
        assert isinstance(client.next(0), Open)


def test_gil_is_released_while_waiting(url: str) -> None:
    with libsse.connect(url + "/silent") as client:
        reader = threading.Thread(target=lambda: list(client), daemon=True)
        reader.start()
        time.sleep(0.1)
        # This thread keeps running Python code while the reader waits.
        count = 0
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            count += 1
        assert count > 10_000
        client.close()
        reader.join(5)
        assert not reader.is_alive()


def test_keyboard_interrupt_closes_cleanly(url: str) -> None:
    assert threading.current_thread() is threading.main_thread()
    threads_before = settled_thread_count()
    fds_before = fd_count()
    pid = os.getpid()
    # A real Ctrl-C: SIGINT to the process (any thread may receive it).
    timer = threading.Timer(0.3, os.kill, (pid, signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        with libsse.connect(url + "/silent") as client:
            for _ in client:
                pass
    assert time.monotonic() - start < 3
    timer.join()
    assert client.closed
    assert wait_for(lambda: thread_count() <= threads_before), (thread_count(), threads_before)
    assert fd_count() <= fds_before


def test_keyboard_interrupt_delivered_to_the_main_thread(url: str) -> None:
    main = threading.main_thread().ident
    timer = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with libsse.connect(url + "/silent") as client:
            list(client)
    assert time.monotonic() - start < 2
    timer.join()
    assert client.closed


def test_tls_with_cafile(tls_server: DemoServer) -> None:
    url = tls_server.url + "/ticker?count=2"
    with libsse.connect(url, cafile=tls_server.ca, max_retries=0) as client:  # type: ignore[attr-defined]
        assert [e.data for e in client] == ["tick 1", "tick 2"]
    with libsse.connect(url, verify=tls_server.ca, max_retries=0) as client:  # type: ignore[attr-defined]
        assert len(list(client)) == 2
    with open(tls_server.ca, "rb") as f:  # type: ignore[attr-defined]
        pem = f.read()
    with libsse.connect(url, cadata=pem, max_retries=0) as client:
        assert len(list(client)) == 2


def test_tls_untrusted_and_insecure(tls_server: DemoServer) -> None:
    url = tls_server.url + "/ticker?count=2"
    with libsse.connect(url, retry_first_connect=False) as client:
        with pytest.raises(TLSError):
            list(client)
    with libsse.connect(url, verify=False, max_retries=0) as client:
        assert len(list(client)) == 2


def test_logging_goes_to_the_libsse_logger(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="libsse"):
        with libsse.connect(url + "/ticker?count=1", max_retries=0) as client:
            list(client)
        with libsse.connect(url + "/status/404") as client:
            with pytest.raises(HTTPStatusError):
                list(client)
    records = [r for r in caplog.records if r.name == "libsse"]
    messages = " | ".join(r.getMessage() for r in records)
    assert "open" in messages and "connecting" in messages
    assert any(r.levelno == logging.ERROR and "404" in r.getMessage() for r in records)


def wait_for(condition, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_no_leaks_after_200_open_close_cycles(url: str) -> None:
    import gc

    def cycle(i: int) -> None:
        kind = i % 4
        if kind == 0:  # read to the end
            with libsse.connect(url + "/ticker?count=3", max_retries=0) as client:
                assert len(list(client)) == 3
        elif kind == 1:  # close while connected, after one event
            with libsse.connect(url + "/ticker?interval_ms=5") as client:
                next(iter(client))
        elif kind == 2:  # close before anything arrived, without `with`
            client = libsse.connect(url + "/silent")
            client.fileno()
            client.close()
        else:  # dropped without close: the garbage collector frees it
            client = libsse.connect(url + "/ticker?count=1", max_retries=0)
            next(iter(client))
            del client

    for i in range(8):  # warm up (lazy imports, log hook, pools)
        cycle(i)
    gc.collect()
    threads_before = settled_thread_count()
    fds_before = fd_count()
    for i in range(200):
        cycle(i)
    gc.collect()
    assert wait_for(lambda: thread_count() <= threads_before), (thread_count(), threads_before)
    assert fd_count() <= fds_before, (fd_count(), fds_before, os.listdir("/proc/self/fd"))


def test_redirect_to_another_origin_drops_credentials_and_named_headers(server: DemoServer) -> None:
    # Issue 11 item 3, from Python: `sensitive_headers` names headers that,
    # like Authorization and Cookie, stay with the first origin.
    other = DemoServer()
    try:
        target = urllib.parse.quote(other.url + "/echo", safe="")
        with libsse.connect(
            server.url + f"/redirect?code=302&to={target}",
            headers={"Authorization": "Bearer s", "Cookie": "c=s", "X-Api-Key": "k", "X-Kept": "1"},
            sensitive_headers=["x-api-key"],
            max_retries=0,
        ) as client:
            (event,) = list(client)
        headers = json.loads(event.data)["headers"]
        for name in ("authorization", "cookie", "x-api-key"):
            assert name not in headers, headers
        assert headers["x-kept"] == "1"
    finally:
        other.stop()


def test_https_to_http_redirect_is_refused_unless_allowed(tls_server: DemoServer, server: DemoServer) -> None:
    target = urllib.parse.quote(server.url + "/echo", safe="")
    url = tls_server.url + f"/redirect?code=302&to={target}"
    with pytest.raises(HTTPStatusError, match="from https to http refused"):
        with libsse.connect(url, cafile=tls_server.ca, max_retries=0) as client:  # type: ignore[attr-defined]
            list(client)
    with libsse.connect(
        url,
        cafile=tls_server.ca,  # type: ignore[attr-defined]
        allow_https_downgrade=True,
        headers={"Cookie": "c=s"},
        max_retries=0,
    ) as client:
        (event,) = list(client)
    assert "cookie" not in json.loads(event.data)["headers"]


def test_hostile_server_settings(url: str) -> None:
    # Framing headers are the library's; the Retry-After ceiling and the
    # response-head limit are settings.
    for name in ("Content-Length", "Transfer-Encoding", "Host", "Connection"):
        with pytest.raises(InvalidArgument, match="set by libsse"):
            libsse.connect(url + "/ticker", headers={name: "5"})
    with pytest.raises(InvalidArgument):
        libsse.connect(url + "/ticker", max_response_head_bytes=10)
    with pytest.raises(TypeError):
        libsse.connect(url + "/ticker", sensitive_headers="X-Api-Key")  # type: ignore[arg-type]
    with libsse.connect(
        url + "/status/503?retry_after=99999999", retry=0.01, max_retry_after=0.25, max_retries=1
    ) as client:
        delays = [item.delay for item in client.all() if isinstance(item, Reconnecting)]
    assert delays == [0.25]


def test_types_deliver_only_the_chosen_event_types(url: str, mode: str) -> None:
    import base64

    body = b"event: update\nid: 1\ndata: u1\n\nid: 2\ndata: plain\n\nevent: other\nid: 3\ndata: o\n\n"
    b64 = urllib.parse.quote(base64.b64encode(body).decode())
    with libsse.connect(url + "/raw?b64=" + b64, max_retries=0, types=["update", "message"]) as client:
        assert [(e.event, e.data) for e in client] == [("update", "u1"), ("message", "plain")]
        assert client.last_event_id == "3"  # the filtered event's id still counts
    with pytest.raises(TypeError):
        libsse.connect(url, types="update")
    with pytest.raises(libsse.InvalidArgument):
        libsse.connect(url, types=[""])


def test_pull_limits(mode: str) -> None:
    """A pull hands out at most the messages asked (the asyncio client's
    fairness); the compiled builder also stops at the message that reached
    the byte limit (the pure path converts one batch per pull anyway)."""
    from libsse._native import lib

    parser = libsse.Parser()
    batch = parser._batch
    event = b"data: " + b"x" * 40 + b"\n\n"

    def sizes(messages: int, data_bytes: int) -> list:
        batch.limit(messages, data_bytes)
        assert lib.sse_parser_feed(parser._ptr, event * 10, len(event) * 10) == 0
        runs = []
        while True:
            status, events, other, _ = batch.pull_parser(parser._sptr, True)
            if status:
                return runs
            assert other is None
            runs.append(len([e for e in events if e.data == "x" * 40]))

    assert sizes(4, 0) == [4, 4, 2]
    expected = [3, 3, 3, 1] if mode == "accelerated" else [4, 4, 2]
    assert sizes(4, 100) == expected
    parser.close()


def test_a_result_not_handed_over_is_given_again(url: str, mode: str) -> None:
    """The hand-over (see _batch.py): until ``taken = seq`` is stored, a
    pull gives the same result again (what a KeyboardInterrupt between the
    pull and the hand-over relies on); then the next one."""
    with libsse.connect(url + "/ticker?count=3", max_retries=0) as client:
        h = client._h
        batch = h.batch
        assert h.enter()
        try:
            status, events, other, seq = batch.pull_client(h.sptr, 5000, True)
            assert status == 0 and events is None and type(other) is libsse.Open
            again = batch.pull_client(h.sptr, 5000, True)
            assert again[0] == 0 and again[1] is None and again[2] == other and again[3] == seq
            batch.taken = seq
            got = []
            while len(got) < 3:
                status, events, other, seq = batch.pull_client(h.sptr, 5000, True)
                assert status == 0 and other is None
                if mode == "accelerated":
                    assert batch.pull_client(h.sptr, 5000, True)[1] is events  # the same, untouched
                got += list(events)
                batch.taken = seq
            assert [e.data for e in got] == ["tick 1", "tick 2", "tick 3"]
        finally:
            h.leave()


def test_events_built_straight_from_the_library(url: str) -> None:
    """The compiled builder makes each event's strings once from the
    library's memory: every event intact, small or large, one str object
    for a type (or id) repeated from event to event, and the tuples left
    out of the cycle collector's lists (they hold only strs and None)."""
    import gc

    if not libsse.ACCELERATED:
        pytest.skip("no compiled event builder")

    with libsse.connect(url + "/ticker?count=300&event=update", max_retries=0) as client:
        events = list(client)
    assert [e.data for e in events] == [f"tick {i}" for i in range(1, 301)]
    assert [e.id for e in events] == [str(i) for i in range(1, 301)]
    assert len({id(e.event) for e in events}) == 1 and events[0].event == "update"
    assert all(e.retry is None and type(e) is libsse.Event for e in events)
    assert not any(gc.is_tracked(e) for e in events)

    with libsse.connect(url + "/fast?count=20000&size=40", max_retries=0) as client:
        datas = [e.data for e in client]
    assert len(datas) == 20000 and all(len(d) == 40 and d.startswith('{"token":"') for d in datas)

    for size in (65536, 1 << 20):
        with libsse.connect(url + f"/fast?count=5&size={size}", max_retries=0) as client:
            datas = [e.data for e in client]
        assert len(datas) == 5 and all(len(d) == size for d in datas)


def test_log_hook_asks_libsse_only_for_the_levels_the_logger_lets_through(url: str) -> None:
    """A hook at DEBUG makes the engine thread take the GIL at every open
    and close of every stream: it follows the logger's effective level."""
    from libsse import _log

    log = logging.getLogger("libsse")
    old = log.level
    try:
        log.setLevel(logging.WARNING)
        with libsse.connect(url + "/ticker?count=1", max_retries=0) as client:
            list(client)
        assert _log._installed[0] == 2  # SSE_LOG_WARN: errors and warnings only
        log.setLevel(logging.CRITICAL)
        with libsse.connect(url + "/ticker?count=1", max_retries=0) as client:
            list(client)
        assert _log._installed[0] == 0  # no hook at all
        log.setLevel(logging.DEBUG)
        with libsse.connect(url + "/ticker?count=1", max_retries=0) as client:
            list(client)
        assert _log._installed[0] == 4
    finally:
        log.setLevel(old)
        _log.install()


def test_a_type_or_id_shared_by_events_is_one_string(url: str, mode: str) -> None:
    """Events whose type and id equal the previous event's get the same str
    objects (built once, not once per event), on both paths; a new type or
    id gets a new string."""
    import base64

    body = b"id: req-42\n" + b"".join(b"event: token\ndata: %d\n\n" % n for n in range(200))
    body += b"event: done\nid: req-43\ndata: end\n\n"
    b64 = urllib.parse.quote(base64.b64encode(body).decode())
    with libsse.connect(url + "/raw?b64=" + b64, max_retries=0) as client:
        events = list(client)
    assert [e.data for e in events] == [str(n) for n in range(200)] + ["end"]
    tokens, last = events[:-1], events[-1]
    assert all(e.event == "token" and e.id == "req-42" for e in tokens)
    assert len({id(e.event) for e in tokens}) == 1, "one str per event for the shared type"
    assert len({id(e.id) for e in tokens}) == 1, "one str per event for the shared id"
    assert (last.event, last.id) == ("done", "req-43")
