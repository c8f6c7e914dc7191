"""on_end=, headers= as a callable (the request hook), client.stats and
HTTPStatusError.body, against the loopback demo server."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import pickle
import time
import weakref
from typing import List

import pytest

import libsse
from libsse import (
    Closed,
    CloseReason,
    Error,
    Event,
    HTTPStatusError,
    InvalidArgument,
    Open,
    Reconnecting,
    RequestHookError,
    RetriesExhausted,
    Retry,
    SSEError,
    Stats,
)
from libsse import _hook
from conftest import DemoServer
from test_client import requests_with, tag

FAST = Retry(initial=0.01, min=0.001)


def until_second_open(client: libsse.Client) -> List[libsse.Item]:
    """The items up to the second Open (a reconnection that connected)."""
    items: List[libsse.Item] = []
    for item in client.all():
        items.append(item)
        if sum(type(i) is Open for i in items) == 2:
            return items
    raise AssertionError(f"the stream ended without reconnecting: {items}")


# -- on_end -----------------------------------------------------------------


def test_post_ends_with_the_stream_by_default(server: DemoServer, mode: str) -> None:
    marker = tag()
    with libsse.connect(server.url + f"/ticker?count=3&{marker}", method="POST", retry=FAST) as client:
        items = list(client.all())
    assert [type(i) for i in items] == [Open, Event, Event, Event, Closed]
    assert items[-1] == Closed(CloseReason.END_OF_STREAM)
    (request,) = requests_with(server, marker)
    assert request["method"] == "POST"


def test_get_reconnects_at_a_clean_end_by_default(server: DemoServer) -> None:
    marker = tag()
    with libsse.connect(server.url + f"/ticker?count=3&{marker}", retry=FAST) as client:
        items = until_second_open(client)
    assert [e.data for e in items if type(e) is Event] == ["tick 1", "tick 2", "tick 3"]
    assert any(type(i) is Reconnecting for i in items)
    second = requests_with(server, marker)[1]
    assert second["method"] == "GET" and second["headers"]["last-event-id"] == "3"


def test_on_end_reconnect_makes_a_post_reconnect(server: DemoServer) -> None:
    marker = tag()
    with libsse.connect(
        server.url + f"/ticker?count=3&{marker}", method="POST", body="{}", on_end="reconnect", retry=FAST
    ) as client:
        items = until_second_open(client)
    assert any(type(i) is Reconnecting for i in items)
    requests = requests_with(server, marker)
    assert len(requests) >= 2
    assert [r["method"] for r in requests[:2]] == ["POST", "POST"]
    assert requests[1]["body"] == "{}"


def test_on_end_end_makes_a_get_end(server: DemoServer) -> None:
    marker = tag()
    with libsse.connect(server.url + f"/ticker?count=3&{marker}", on_end="end", retry=FAST) as client:
        assert [e.data for e in client] == ["tick 1", "tick 2", "tick 3"]
        assert client.closed
    assert len(requests_with(server, marker)) == 1


@pytest.mark.parametrize("value", ["never", "END", "by_method", 1, None])
def test_on_end_is_checked(url: str, value: object) -> None:
    with pytest.raises(InvalidArgument, match="on_end"):
        libsse.connect(url + "/ticker", on_end=value)  # type: ignore[arg-type]


# -- headers= callable --------------------------------------------------------


def echoed_authorizations(client: libsse.Client, count: int) -> List[str]:
    seen = []
    for event in client:
        seen.append(json.loads(event.data)["headers"].get("authorization"))
        if len(seen) == count:
            break
    return seen


def test_headers_callable_runs_before_every_attempt(url: str, mode: str) -> None:
    counter = itertools.count(1)
    with libsse.connect(
        url + "/echo", headers=lambda: {"Authorization": f"Bearer token-{next(counter)}"}, retry=FAST
    ) as client:
        assert echoed_authorizations(client, 3) == [f"Bearer token-{n}" for n in (1, 2, 3)]


def test_headers_callable_may_return_pairs_and_replaces_same_named(url: str) -> None:
    with libsse.connect(url + "/echo", headers=lambda: [("X-A", "1"), ("x-a", "2"), ("X-B", "é")], max_retries=0) as client:
        (event,) = list(client)
    headers = json.loads(event.data)["headers"]
    assert (headers["x-a"], headers["x-b"]) == ("2", "é")


def test_an_exception_in_the_hook_fails_the_attempt_which_is_retried(url: str, mode: str) -> None:
    calls = itertools.count(1)

    def hook() -> dict:
        if next(calls) == 1:
            raise RuntimeError("token service down")
        return {"Authorization": "Bearer fresh"}

    with libsse.connect(url + "/echo", headers=hook, retry=FAST) as client:
        items = []
        for item in client.all():
            items.append(item)
            if type(item) is Event:
                break
        stats = client.stats
    error = items[0]
    assert type(error) is Error and not error.fatal
    assert type(error.error) is RequestHookError and isinstance(error.error, SSEError)
    assert error.error.code == 14 and error.error.code_name == "SSE_ERR_REQUEST_HOOK"
    assert str(error.error) == "request hook: RuntimeError: token service down"
    assert json.loads(items[-1].data)["headers"]["authorization"] == "Bearer fresh"
    assert stats.errors_by_kind == {"RequestHookError": 1}


def test_async_headers_callable(url: str, mode: str) -> None:
    counter = itertools.count(1)

    async def main() -> List[str]:
        async with libsse.connect_async(
            url + "/echo", headers=lambda: {"Authorization": f"Bearer token-{next(counter)}"}, retry=FAST
        ) as client:
            seen = []
            async for event in client:
                seen.append(json.loads(event.data)["headers"]["authorization"])
                if len(seen) == 2:
                    return seen
        return seen

    assert asyncio.run(asyncio.wait_for(main(), 60)) == ["Bearer token-1", "Bearer token-2"]


@pytest.mark.parametrize(
    "returned, message",
    [
        ({"Content-Length": "5"}, "Content-Length"),
        ({"X-Bad": "a\r\nInjected: 1"}, "request hook: "),
        ({"X-Nul": "a\0b"}, "ValueError: header value must not contain NUL"),
        ({"X-Int": 5}, "TypeError: header value must be str, not int"),
        ("not pairs", "ValueError"),
    ],
)
def test_a_refused_header_fails_the_attempt(url: str, returned: object, message: str) -> None:
    with libsse.connect(url + "/echo", headers=lambda: returned, max_retries=0) as client:
        with pytest.raises(RequestHookError, match=message.replace("\r\n", "")) as info:
            list(client)
    assert info.value.message.startswith("request hook: ")


def test_the_hook_is_released_when_the_client_is_freed(url: str) -> None:
    class Hook:
        def __call__(self) -> dict:
            return {"X-A": "1"}

    hook = Hook()
    alive = weakref.ref(hook)
    before = len(_hook._live)
    client = libsse.connect(url + "/echo", headers=hook, max_retries=0)
    assert len(_hook._live) == before + 1
    assert len(list(client)) == 1
    client.close()
    del hook, client
    gc.collect()
    assert len(_hook._live) == before
    assert alive() is None


def test_a_refused_setting_releases_the_hook(url: str) -> None:
    before = len(_hook._live)
    with pytest.raises(InvalidArgument):
        libsse.connect(url + "/echo", headers=lambda: {}, max_retries=-1)
    assert len(_hook._live) == before


# -- stats ------------------------------------------------------------------


def test_stats_of_a_stream(url: str, mode: str) -> None:
    start = time.time()
    with libsse.connect(url + "/ticker?count=4", on_end="end") as client:
        assert isinstance(client.stats, Stats)
        events = list(client)
        stats = client.stats
    assert len(events) == 4
    assert isinstance(stats, Stats)
    assert (stats.events, stats.connections, stats.reconnects, stats.errors) == (4, 1, 0, 0)
    assert stats.data_bytes == sum(len(e.data) for e in events)
    assert stats.wire_bytes > stats.data_bytes
    assert stats.errors_by_kind == {} and stats.last_error is None and stats.last_error_at is None
    assert stats.last_event_at is not None and start - 1 <= stats.last_event_at <= time.time() + 1
    assert not stats.connected and stats.queue_depth == 0 and stats.queue_peak >= 1
    assert client.stats == stats and hash(client.stats) == hash(stats)  # kept once the client is freed
    with pytest.raises(Exception):
        stats.events = 5  # type: ignore[misc]  (frozen)


def test_stats_while_connected(url: str) -> None:
    with libsse.connect(url + "/ticker?count=1&hold=1") as client:
        assert next(iter(client)).data == "tick 1"
        time.sleep(0.05)
        stats = client.stats
    assert stats.connected and stats.connections == 1 and stats.events == 1
    assert stats.connected_seconds >= 0.04


def test_stats_count_errors(url: str, mode: str) -> None:
    with libsse.connect(url + "/status/503", max_retries=2, retry=FAST) as client:
        with pytest.raises(RetriesExhausted):
            list(client)
        stats = client.stats
    assert stats.errors == 3 and stats.connections == 0 and stats.reconnects == 2
    assert sum(stats.errors_by_kind.values()) == 3
    assert stats.last_error is not None and "503" in stats.last_error
    assert stats.last_error_at is not None and stats.last_event_at is None


def test_async_stats(url: str, mode: str) -> None:
    async def main() -> Stats:
        async with libsse.connect_async(url + "/ticker?count=4", on_end="end") as client:
            assert len([e async for e in client]) == 4
            return client.stats

    stats = asyncio.run(asyncio.wait_for(main(), 60))
    assert (stats.events, stats.connections, stats.errors) == (4, 1, 0)


# -- HTTPStatusError.body ---------------------------------------------------

JSON_401 = "/status/401?type=application/json&body=%7B%22error%22%3A%22bad%22%7D"


def test_http_status_error_body(url: str, mode: str) -> None:
    with libsse.connect(url + JSON_401) as client:
        (error,) = [i for i in client.all() if type(i) is Error]
    assert error.fatal and error.error.body == b'{"error":"bad"}'
    with libsse.connect(url + JSON_401) as client:
        with pytest.raises(HTTPStatusError) as info:
            list(client)
    assert info.value.status == 401 and info.value.body == b'{"error":"bad"}'
    assert json.loads(info.value.body) == {"error": "bad"}
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is HTTPStatusError and copy.body == info.value.body


def test_http_status_error_body_empty_and_retried(url: str) -> None:
    with libsse.connect(url + "/status/403?body=") as client:
        with pytest.raises(HTTPStatusError) as info:
            list(client)
    assert info.value.body == b""
    with libsse.connect(url + "/status/503?body=busy", max_retries=1, retry=FAST) as client:
        with pytest.raises(RetriesExhausted) as exhausted:
            list(client)
    assert exhausted.value.__cause__.body == b"busy"  # type: ignore[union-attr]
    assert HTTPStatusError(500).body == b"" and SSEError("x").body == b""


def test_an_async_clients_headers_callable_may_wait_for_its_event_loop(url: str) -> None:
    """A headers callable that fetches its token with a coroutine of the
    client's own event loop (run_coroutine_threadsafe(...).result()) works:
    such a client is read by libsse's thread, not inside the event loop
    (where the callable would wait for itself: a TimeoutError)."""

    async def token() -> str:
        await asyncio.sleep(0.01)
        return "Bearer from-the-loop"

    async def main() -> str:
        loop = asyncio.get_running_loop()

        def headers() -> dict:
            return {"Authorization": asyncio.run_coroutine_threadsafe(token(), loop).result(timeout=5)}

        async with libsse.connect_async(url + "/echo", headers=headers, max_retries=0) as client:
            async for event in client:
                return json.loads(event.data)["headers"]["authorization"]
        return ""

    assert asyncio.run(asyncio.wait_for(main(), 30)) == "Bearer from-the-loop"
