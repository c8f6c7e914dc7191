"""libsse.Parser: the shared vectors (tests/vectors), and the Python API."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
from typing import Any, Iterable, List, Tuple

import pytest

import libsse
from libsse import Comment, Event, EventTooLarge, Parser
from conftest import REPO

VECTORS = os.path.join(REPO, "tests", "vectors", "parser_vectors.json")

def load_cases() -> List[dict]:
    if not os.path.exists(VECTORS):
        return []
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)["cases"]


CASES = load_cases()


def expected_items(case: dict) -> List[Tuple[Any, ...]]:
    """The case's items the C ABI can report in order: events and comments
    (``retry`` items are checked through the final ``retry`` value: the
    parser ABI reports only the latest value, not the items)."""
    out: List[Tuple[Any, ...]] = []
    for item in case["items"]:
        if item["kind"] == "event":
            out.append(("event", item["type"], item["data"], item["id"]))
        elif item["kind"] == "comment":
            out.append(("comment", item["text"]))
    return out


def as_tuples(items: Iterable[Any]) -> List[Tuple[Any, ...]]:
    out: List[Tuple[Any, ...]] = []
    for item in items:
        if type(item) is Event:
            out.append(("event", item.event, item.data, item.id))
        elif type(item) is Comment:
            out.append(("comment", item.text))
        else:
            raise AssertionError(f"unexpected item {item!r}")
    return out


def run(data: bytes, chunks: Iterable[Tuple[int, int]]) -> Tuple[list, Any, str]:
    with Parser() as parser:
        items: list = []
        for start, end in chunks:
            items.extend(parser.feed_all(data[start:end]))
        items.extend(parser.finish())
        return as_tuples(items), parser.retry, parser.last_event_id


def whole(data: bytes) -> List[Tuple[int, int]]:
    return [(0, len(data))]


def bytewise(data: bytes) -> List[Tuple[int, int]]:
    return [(i, i + 1) for i in range(len(data))]


def random_cuts(data: bytes, seed: int) -> List[Tuple[int, int]]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12)))) if len(data) > 1 else []
    points = [0, *cuts, len(data)]
    return list(zip(points, points[1:]))


def vector_params() -> List[Any]:
    params = []
    for case in CASES:
        params.append(pytest.param(case, id=case["name"]))
    return params


@pytest.mark.skipif(not CASES, reason="tests/vectors/parser_vectors.json not found")
@pytest.mark.parametrize("split", ["whole", "bytewise", "random"])
@pytest.mark.parametrize("case", vector_params())
def test_vector(case: dict, split: str, mode: str) -> None:
    data = base64.b64decode(case["input_b64"])
    if "input" in case:
        assert case["input"].encode("utf-8") == data
    if split == "whole":
        runs = [whole(data)]
    elif split == "bytewise":
        runs = [bytewise(data)]
    else:
        runs = [random_cuts(data, seed) for seed in range(5)]
    for chunks in runs:
        items, retry, last_event_id = run(data, chunks)
        assert items == expected_items(case), case["name"]
        assert retry == case["retry"], case["name"]
        assert last_event_id == case["last_event_id"], case["name"]


def test_vectors_are_present() -> None:
    """Say so loudly when the shared vectors are missing."""
    assert CASES, f"{VECTORS} is missing"
    assert len(CASES) >= 100


# -- the Python API -------------------------------------------------------


def test_feed_returns_events_and_skips_comments(mode: str) -> None:
    p = Parser()
    assert p.feed(b": hi\ndata: a\n\nevent: t\nid: 7\ndata: b\ndata: c\n\n") == [
        Event("message", "a", "", None),
        Event("t", "b\nc", "7", None),
    ]
    assert p.last_event_id == "7"


def test_feed_all_keeps_comments_in_order(mode: str) -> None:
    p = Parser()
    assert p.feed_all(b": one\ndata: a\n\n:two\n") == [Comment("one"), Event("message", "a"), Comment("two")]


def test_chunks_split_anywhere_including_crlf(mode: str) -> None:
    p = Parser()
    out = []
    for piece in (b"data: x\r", b"\n\r", b"\ndata: y\r\n", b"\r\n"):
        out += p.feed(piece)
    assert [e.data for e in out] == ["x", "y"]


def test_each_event_carries_the_retry_of_its_own_block(mode: str) -> None:
    p = Parser()
    events = p.feed(b"retry: 5\n\ndata: a\n\ndata: b\nretry: 7\n\ndata: c\n\n")
    assert [(e.data, e.retry) for e in events] == [("a", None), ("b", 7), ("c", None)]
    assert p.retry == 7


def test_lines_without_line_ends_like_zerodep(mode: str) -> None:
    lines = ["event: greeting", "data: hello", "", b"data: world", "id: 7", "", "data: cut"]
    events = list(Parser().lines(lines))
    assert events == [Event("greeting", "hello", ""), Event("message", "world", "7")]


def test_lines_async(mode: str) -> None:
    import asyncio

    async def source():  # type: ignore[no-untyped-def]
        for line in ["data: a", "", "data: b", ""]:
            yield line

    async def collect() -> List[Event]:
        return [e async for e in Parser().lines_async(source())]

    assert [e.data for e in asyncio.run(collect())] == ["a", "b"]


def test_finish_discards_unterminated_event_and_keeps_state(mode: str) -> None:
    p = Parser()
    assert p.feed(b"retry: 1500\nid: 1\ndata: done\n\nid: 2\ndata: cut") == [Event("message", "done", "1", 1500)]
    assert p.finish() == []
    assert p.last_event_id == "1"
    assert p.retry == 1500
    # ready for the next stream (a reconnection)
    assert p.feed(b"data: again\n\n") == [Event("message", "again", "1")]


def test_retry_is_none_until_set(mode: str) -> None:
    p = Parser()
    assert p.retry is None
    p.feed(b"retry: x\n")
    assert p.retry is None
    p.feed(b"retry: 0\n")
    assert p.retry == 0


def test_nul_in_data_and_invalid_utf8(mode: str) -> None:
    p = Parser()
    events = p.feed(b"data: a\x00b\n\ndata: \xff\xfeok\n\n")
    assert events[0].data == "a\x00b"
    assert events[1].data == "\ufffd\ufffdok"


def test_event_larger_than_the_packing_buffer(mode: str) -> None:
    big = "x" * (300 * 1024)
    p = Parser()
    events = p.feed(b"data: small\n\ndata: " + big.encode() + b"\n\ndata: after\n\n")
    assert [len(e.data) for e in events] == [5, len(big), 5]
    assert events[1].data == big


def test_many_events_in_one_feed(mode: str) -> None:
    p = Parser()
    chunk = b"".join(b"id: %d\ndata: %d\n\n" % (i, i) for i in range(5000))
    events = p.feed(chunk)
    assert len(events) == 5000
    assert events[4321] == Event("message", "4321", "4321")


def test_event_too_large_keeps_the_other_events(mode: str) -> None:
    p = Parser(max_event_bytes=64)
    with pytest.raises(EventTooLarge):
        p.feed(b"data: ok\n\ndata: " + b"y" * 200 + b"\n\ndata: after\n\n")
    # the events parsed around the oversized one are handed out next
    assert [e.data for e in p.feed(b"")] == ["ok", "after"]


def test_stream_over_chunks(mode: str) -> None:
    chunks = [b"da", b"ta: 1\n", b"\ndata: 2\n\n", b"data: cut"]
    assert [e.data for e in Parser().stream(chunks)] == ["1", "2"]


def test_stream_async(mode: str) -> None:
    async def chunks():
        for c in (b"data: a\n\n", b"data: b\n", b"\n"):
            await asyncio.sleep(0)
            yield c

    async def main():
        return [e.data async for e in Parser().stream_async(chunks())]

    assert asyncio.run(main()) == ["a", "b"]


def test_accepts_bytearray_and_memoryview() -> None:
    p = Parser()
    assert p.feed(bytearray(b"data: a\n\n")) == [Event("message", "a")]
    assert p.feed(memoryview(b"xxdata: b\n\n")[2:]) == [Event("message", "b")]


def test_closed_parser_refuses_use() -> None:
    p = Parser()
    p.close()
    p.close()
    with pytest.raises(ValueError):
        p.feed(b"data: a\n\n")


def test_event_is_immutable_and_slotted() -> None:
    e = Event("message", "d", "1")
    with pytest.raises(AttributeError):
        e.data = "x"  # type: ignore[misc]
    assert not hasattr(e, "__dict__")
    assert (e.event, e.data, e.id, e.retry) == ("message", "d", "1", None)
    assert "data='d'" in repr(e)
