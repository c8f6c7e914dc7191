#!/usr/bin/env python3
"""Generates tests/vectors/parser_vectors.json (see README.md beside it).

Every case below states its expected items by hand. Before anything is
written, each case is also run through `reference_parse`, a deliberately
naive parser written straight from the WHATWG HTML text ("Parsing an event
stream" / "Interpreting an event stream"): decode the whole stream, split
it into lines, interpret line by line. The script refuses to write the file
when the hand-written expectation and the reference disagree, so a typo in
either one is caught here and not in four language suites.

Run from anywhere:  python3 tests/vectors/generate.py
"""

import base64
import json
import os
import sys

BOM = "\ufeff".encode()
FFFD = "\ufffd"


# --------------------------------------------------------------- expectations


def ev(data, type="message", id=""):
    return {"kind": "event", "type": type, "data": data, "id": id}


def cm(text):
    return {"kind": "comment", "text": text}


def rt(value):
    return {"kind": "retry", "value": value}


CASES = []


def case(name, description, data, items, last_event_id=""):
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert isinstance(data, bytes)
    assert all(c["name"] != name for c in CASES), f"duplicate case name {name}"
    CASES.append(
        {
            "name": name,
            "description": description,
            "bytes": data,
            "items": items,
            "last_event_id": last_event_id,
        }
    )


# ----------------------------------------------------------- reference parser


def reference_parse(stream: bytes):
    """The spec, read literally. Returns (items, last_event_id, retry)."""
    # "UTF-8 decode": one leading BOM is dropped, errors become U+FFFD.
    if stream.startswith(BOM):
        stream = stream[3:]
    text = stream.decode("utf-8", errors="replace")
    # Split into lines; only lines followed by an end of line count.
    lines = []
    i = 0
    start = 0
    while i < len(text):
        ch = text[i]
        if ch == "\r" or ch == "\n":
            lines.append(text[start:i])
            if ch == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
            start = i + 1
        i += 1
    # text[start:] is an unterminated line: discarded at end of stream.
    items = []
    data = ""
    event_type = ""
    id_buffer = ""
    last_event_id = ""
    retry = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            items.append(ev(data, event_type or "message", last_event_id))
            data = ""
            event_type = ""
            continue
        if line.startswith(":"):
            text_ = line[1:]
            items.append(cm(text_[1:] if text_.startswith(" ") else text_))
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                id_buffer = value
        elif name == "retry":
            if value and all(c in "0123456789" for c in value):
                retry = int(value)
                items.append(rt(retry))
    return items, last_event_id, retry


# ---------------------------------------------------------------------- cases

# --- WHATWG HTML, 9.2 Server-sent events: the examples of the section.

case(
    "spec_stock_ticker",
    "WHATWG example: three data lines make one message 'YHOO\\n+2\\n10'.",
    "data: YHOO\ndata: +2\ndata: 10\n\n",
    [ev("YHOO\n+2\n10")],
)
case(
    "spec_ids_four_blocks",
    "WHATWG example: a comment block fires nothing; 'id: 1' after the data still "
    "applies to that event; a bare 'id' resets the last event id to empty; "
    "'data:  third event' keeps one leading space.",
    ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
    "data:  third event\n\n",
    [
        cm("test stream"),
        ev("first event", id="1"),
        ev("second event", id=""),
        ev(" third event", id=""),
    ],
)
case(
    "spec_ids_last_block_unterminated",
    "The WHATWG id example without the final blank line: the end of the stream "
    "does not dispatch the last event.",
    ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
    "data:  third event\n",
    [cm("test stream"), ev("first event", id="1"), ev("second event", id="")],
)
case(
    "spec_empty_data_blocks",
    "WHATWG example: 'data' alone gives empty data, two bare 'data' lines give "
    "one LF, the final 'data:' is discarded because no blank line follows.",
    "data\n\ndata\ndata\n\ndata:",
    [ev(""), ev("\n")],
)
case(
    "spec_space_after_colon_optional",
    "WHATWG example: 'data:test' and 'data: test' are identical events.",
    "data:test\n\ndata: test\n\n",
    [ev("test"), ev("test")],
)
case(
    "spec_intro_messages",
    "WHATWG introduction: three messages, the second one spanning two lines.",
    "data: This is the first message.\n\n"
    "data: This is the second message, it\ndata: has two lines.\n\n"
    "data: This is the third message.\n\n",
    [
        ev("This is the first message."),
        ev("This is the second message, it\nhas two lines."),
        ev("This is the third message."),
    ],
)
case(
    "spec_intro_event_types",
    "WHATWG introduction: named events 'add' and 'remove'.",
    "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\n"
    "event: add\ndata: 113411\n\n",
    [
        ev("73857293", type="add"),
        ev("2153", type="remove"),
        ev("113411", type="add"),
    ],
)

# --- Line ends.

case("lf", "LF line ends.", "data: hello\n\n", [ev("hello")])
case("crlf", "CRLF line ends.", "data: hello\r\n\r\n", [ev("hello")])
case(
    "cr_only_stream",
    "CR-only line ends throughout.",
    "event: e\rdata: a\rdata: b\r\rdata: c\r\r",
    [ev("a\nb", type="e"), ev("c")],
)
case(
    "mixed_line_ends",
    "CR, LF and CRLF mixed in one event and between events.",
    "data: a\rdata: b\ndata: c\r\n\ndata: d\n\r\ndata: e\r\n\r",
    [ev("a\nb\nc"), ev("d"), ev("e")],
)
case(
    "lf_cr_is_two_line_ends",
    "LF followed by CR is two line ends: the CR makes a blank line.",
    "data: a\n\rdata: b\n\r",
    [ev("a"), ev("b")],
)
case(
    "cr_cr_lf",
    "CR then CRLF: the CR ends the line, the CRLF is one blank line.",
    "data: a\r\r\ndata: b\r\r\n",
    [ev("a"), ev("b")],
)
case(
    "crlf_crlf_crlf",
    "Extra blank lines between events dispatch nothing.",
    "data: a\r\n\r\n\r\n\r\ndata: b\r\n\r\n",
    [ev("a"), ev("b")],
)
case("empty_stream", "No bytes at all.", "", [])
case("blank_lines_only", "Blank lines of every kind dispatch nothing.", "\n\r\n\r\r\n\n", [])
case(
    "leading_blank_lines",
    "Blank lines before the first field are harmless.",
    "\n\r\n\rdata: a\n\n",
    [ev("a")],
)
case(
    "stream_ends_with_cr",
    "A final CR is a complete line end: the blank line it makes dispatches.",
    "data: a\n\r",
    [ev("a")],
)
case(
    "line_of_spaces_is_not_blank",
    "A line holding only a space is a field named ' ' (unknown), not a blank "
    "line: it does not dispatch.",
    "data: a\n \ndata: b\n\n",
    [ev("a\nb")],
)
case(
    "line_of_tab_is_not_blank",
    "A line holding only a tab is an unknown field, not a blank line.",
    "data: a\n\t\n\n",
    [ev("a")],
)

# --- BOM.

case("bom_dropped", "One leading BOM is dropped.", BOM + b"data: a\n\n", [ev("a")])
case(
    "bom_twice",
    "Only the first BOM is dropped; the second belongs to the field name "
    "'\\ufeffdata', which is unknown.",
    BOM + BOM + b"data: a\n\ndata: b\n\n",
    [ev("b")],
)
case(
    "bom_not_at_start",
    "A BOM after the start of the stream is part of the field name.",
    b"data: a\n\n" + BOM + b"data: b\n\n",
    [ev("a")],
)
case(
    "bom_in_value",
    "A BOM inside a value is kept.",
    b"data: " + BOM + b"x\n\n",
    [ev("\ufeffx")],
)
case(
    "bom_partial",
    "The first two bytes of a BOM are invalid UTF-8 (one U+FFFD) and make the "
    "field name unknown.",
    b"\xef\xbbdata: a\n\ndata: b\n\n",
    [ev("b")],
)
case("bom_only", "A stream of just a BOM.", BOM, [])
case(
    "bom_then_comment",
    "A comment right after the BOM.",
    BOM + b": hi\n",
    [cm("hi")],
)
case(
    "bom_then_crlf",
    "A blank line right after the BOM.",
    BOM + b"\r\ndata: a\r\n\r\n",
    [ev("a")],
)

# --- UTF-8.

case(
    "utf8_multibyte",
    "Two-, three- and four-byte characters in type, data, id and comment "
    "(split byte by byte by the test, each must decode as if whole).",
    "event: é€\nid: 😀\n: ☃ snow\ndata: é€😀 ok\n\n",
    [cm("☃ snow"), ev("é€😀 ok", type="é€", id="😀")],
    last_event_id="😀",
)
case(
    "invalid_utf8_byte",
    "An invalid byte becomes U+FFFD, never an error.",
    b"data: a\xffb\n\n",
    [ev("a" + FFFD + "b")],
)
case(
    "truncated_utf8_sequence",
    "A truncated three-byte sequence is one U+FFFD.",
    b"data: \xe2\x82x\n\n",
    [ev(FFFD + "x")],
)
case(
    "truncated_sequence_at_line_end",
    "A lead byte right before the line end is one U+FFFD; the LF still ends the line.",
    b"data: \xe2\ndata: b\n\n",
    [ev(FFFD + "\nb")],
)
case(
    "surrogate_encoding",
    "An encoded UTF-16 surrogate (ED A0 80) is three U+FFFD.",
    b"data: \xed\xa0\x80\n\n",
    [ev(FFFD * 3)],
)
case(
    "overlong_encoding",
    "An overlong encoding (C0 AF) is two U+FFFD.",
    b"data: \xc0\xaf\n\n",
    [ev(FFFD * 2)],
)
case(
    "above_unicode_range",
    "F4 90 80 80 (above U+10FFFF) is four U+FFFD.",
    b"data: \xf4\x90\x80\x80\n\n",
    [ev(FFFD * 4)],
)
case(
    "invalid_utf8_in_type_id_comment",
    "Invalid bytes in an event type, an id and a comment are replaced too.",
    b"event: \xff\nid: \xc3\n:\xfe\ndata: x\n\n",
    [cm(FFFD), ev("x", type=FFFD, id=FFFD)],
    last_event_id=FFFD,
)
case(
    "invalid_utf8_in_field_name",
    "'data\\xff' is not 'data': the field is unknown.",
    b"data\xff: x\n\n",
    [],
)

# --- NUL.

case("data_nul", "'data:\\0': a NUL byte is kept in data.", b"data:\0\n\n", [ev("\0")])
case(
    "data_nul_inside",
    "NUL bytes anywhere in data are kept.",
    b"data: \0a\0b\0\n\n",
    [ev("\0a\0b\0")],
)
case(
    "id_with_nul_ignored",
    "An id containing NUL is ignored: the previous id stays.",
    b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n",
    [ev("a", id="1"), ev("b", id="1")],
    last_event_id="1",
)
case(
    "id_nul_only_ignored",
    "'id: \\0' is ignored, even within the event that set an id just before.",
    b"id: 7\nid: \0\ndata: x\n\n",
    [ev("x", id="7")],
    last_event_id="7",
)
case(
    "event_type_with_nul",
    "NUL is allowed in the event type.",
    b"event: a\0b\ndata: x\n\n",
    [ev("x", type="a\0b")],
)
case("comment_with_nul", "NUL is kept in comments.", b": a\0b\n", [cm("a\0b")])

# --- Field syntax.

case("data_no_colon", "'data' without a colon is data with an empty value.", "data\n\n", [ev("")])
case("data_colon_only", "'data:' has an empty value.", "data:\n\n", [ev("")])
case("data_colon_space_only", "'data: ' has an empty value.", "data: \n\n", [ev("")])
case(
    "two_spaces_only_one_stripped",
    "Only one leading space is stripped.",
    "data:  x\n\n",
    [ev(" x")],
)
case("tab_after_colon_kept", "A tab after the colon is kept.", "data:\tx\n\n", [ev("\tx")])
case(
    "space_tab_after_colon",
    "The space is stripped, the tab after it kept.",
    "data: \tx\n\n",
    [ev("\tx")],
)
case("trailing_space_kept", "Trailing spaces are kept.", "data: x  \n\n", [ev("x  ")])
case(
    "colon_in_value",
    "Only the first colon separates name and value.",
    "data: a:b: c\n\n",
    [ev("a:b: c")],
)
case(
    "space_before_colon",
    "'data :' is a field named 'data ', which is unknown.",
    "data : x\n\ndata: y\n\n",
    [ev("y")],
)
case(
    "leading_space_in_name",
    "' data: x' is a field named ' data', which is unknown.",
    " data: x\n\n",
    [],
)
case(
    "field_names_case_sensitive",
    "'Data', 'DATA', 'Event', 'ID' and 'Retry' are unknown fields.",
    "Data: a\nDATA: b\nEvent: e\nID: 1\nRetry: 5\ndata: c\n\n",
    [ev("c")],
)
case(
    "unknown_fields_ignored",
    "Unknown fields, with and without a colon, are ignored.",
    "foo: bar\nfoo\nx-data: y\ndata: z\nfoo:bar\n\n",
    [ev("z")],
)
case(
    "unknown_field_alone",
    "An event of only unknown fields dispatches nothing.",
    "foo: bar\n\n",
    [],
)
case(
    "field_name_prefix_of_data",
    "'dat' and 'datas' are not 'data'.",
    "dat: a\ndatas: b\n\n",
    [],
)

# --- data.

case(
    "multiple_data_lines",
    "Data lines are joined with LF.",
    "data: a\ndata: b\ndata: c\n\n",
    [ev("a\nb\nc")],
)
case(
    "only_one_trailing_lf_stripped",
    "An empty last data line leaves one LF at the end of the data.",
    "data: a\ndata:\n\n",
    [ev("a\n")],
)
case(
    "empty_data_lines",
    "Three empty data lines give two LFs.",
    "data\ndata\ndata\n\n",
    [ev("\n\n")],
)
case(
    "data_with_json",
    "A typical JSON payload, braces and quotes untouched.",
    'data: {"a": [1, 2], "b": "c: d"}\n\n',
    [ev('{"a": [1, 2], "b": "c: d"}')],
)

# --- event.

case("event_empty", "'event:' (empty) means 'message'.", "event:\ndata: x\n\n", [ev("x")])
case(
    "event_no_colon",
    "'event' without a colon sets an empty type: 'message'.",
    "event\ndata: x\n\n",
    [ev("x")],
)
case(
    "event_reset_after_dispatch",
    "The type applies to one event only.",
    "event: a\ndata: 1\n\ndata: 2\n\n",
    [ev("1", type="a"), ev("2")],
)
case(
    "event_reset_by_empty_dispatch",
    "A blank line with no data also clears the type.",
    "event: a\n\ndata: 2\n\n",
    [ev("2")],
)
case(
    "event_last_wins",
    "The last event field of an event wins.",
    "event: a\nevent: b\ndata: x\n\n",
    [ev("x", type="b")],
)
case(
    "event_reset_to_empty",
    "'event:' after 'event: a' restores 'message'.",
    "event: a\nevent:\ndata: x\n\n",
    [ev("x")],
)
case(
    "event_type_spaces",
    "One space stripped; the rest of the type is kept as is.",
    "event:  a b \ndata: x\n\n",
    [ev("x", type=" a b ")],
)
case(
    "event_after_data",
    "The type may come after the data lines.",
    "data: x\nevent: late\n\n",
    [ev("x", type="late")],
)

# --- id.

case(
    "id_persists_across_events",
    "The last event id carries over to later events.",
    "id: 1\ndata: a\n\ndata: b\n\n",
    [ev("a", id="1"), ev("b", id="1")],
    last_event_id="1",
)
case(
    "id_reset_to_empty_colon",
    "'id:' resets the last event id to empty.",
    "id: 1\ndata: a\n\nid:\ndata: b\n\n",
    [ev("a", id="1"), ev("b", id="")],
)
case(
    "id_reset_to_empty_no_colon",
    "'id' alone resets the last event id to empty.",
    "id: 1\ndata: a\n\nid\ndata: b\n\n",
    [ev("a", id="1"), ev("b", id="")],
)
case(
    "id_without_data_still_commits",
    "A blank line with no data dispatches nothing but commits the id.",
    "id: 5\n\n",
    [],
    last_event_id="5",
)
case(
    "id_of_unterminated_event_not_committed",
    "The id of an event cut off at the end of the stream is never committed.",
    "id: 1\ndata: a\n\nid: 2\ndata: b\n",
    [ev("a", id="1")],
    last_event_id="1",
)
case(
    "id_alone_unterminated",
    "An id line with no blank line after it is never committed.",
    "id: 9\n",
    [],
)
case(
    "id_last_wins",
    "The last id field of an event wins.",
    "id: 1\nid: 2\ndata: x\n\n",
    [ev("x", id="2")],
    last_event_id="2",
)
case(
    "id_two_spaces",
    "Only one space is stripped from an id.",
    "id:  7\ndata: x\n\n",
    [ev("x", id=" 7")],
    last_event_id=" 7",
)
case(
    "id_changes_between_events",
    "Each event carries the id in force at its dispatch.",
    "id: a\ndata: 1\n\nid: b\ndata: 2\n\ndata: 3\n\n",
    [ev("1", id="a"), ev("2", id="b"), ev("3", id="b")],
    last_event_id="b",
)
case(
    "id_after_data_in_same_event",
    "An id after the data lines still applies to that event.",
    "data: x\nid: late\n\n",
    [ev("x", id="late")],
    last_event_id="late",
)

# --- retry.

case("retry_simple", "'retry: 5' is 5.", "retry: 5\n", [rt(5)])
case("retry_leading_zeros", "'retry:02000' is 2000.", "retry:02000\n", [rt(2000)])
case("retry_zero", "'retry: 0' is 0.", "retry: 0\n", [rt(0)])
case("retry_plus_ignored", "'retry:+5' is ignored.", "retry:+5\n", [])
case("retry_two_spaces_ignored", "'retry:  5' is ignored.", "retry:  5\n", [])
case(
    "retry_one_and_two_spaces",
    "'retry: 10' counts, 'retry:  10' beside it is ignored.",
    "retry: 10\nretry:  10\n",
    [rt(10)],
)
case("retry_suffix_ignored", "'retry:5x' is ignored.", "retry:5x\n", [])
case("retry_hex_digit_ignored", "'retry:1a' is ignored.", "retry:1a\n", [])
case("retry_empty_ignored", "'retry:' and 'retry' carry no digits: ignored.", "retry:\nretry\n", [])
case("retry_negative_ignored", "'retry: -1' is ignored.", "retry: -1\n", [])
case("retry_decimal_ignored", "'retry: 1.5' is ignored.", "retry: 1.5\n", [])
case("retry_trailing_space_ignored", "'retry: 5 ' is ignored.", "retry: 5 \n", [])
case("retry_tab_ignored", "'retry:\\t5' is ignored.", "retry:\t5\n", [])
case(
    "retry_non_ascii_digits_ignored",
    "Arabic-Indic and fullwidth digits are not ASCII digits.",
    "retry: ١٢\nretry: １２\n",
    [],
)
case(
    "retry_last_wins",
    "Each valid retry is reported; the last one is in force.",
    "retry: 1\nretry: x\nretry: 2\n",
    [rt(1), rt(2)],
)
case(
    "retry_beyond_32_bits",
    "A value above 2^32 is kept exactly (64-bit).",
    "retry: 4294967296\n",
    [rt(4294967296)],
)
case(
    "retry_does_not_dispatch",
    "A retry-only block dispatches nothing.",
    "retry: 10\n\ndata: x\n\n",
    [rt(10), ev("x")],
)
case(
    "retry_applies_without_blank_line",
    "A complete retry line applies even when its event is cut off.",
    "data: x\nretry: 7\n",
    [rt(7)],
)
case(
    "retry_unterminated_ignored",
    "A retry line without a line end is never processed.",
    "retry: 7",
    [],
)
case(
    "retry_inside_event",
    "A retry line in the middle of an event is reported before the event.",
    "data: a\nretry: 300\ndata: b\n\n",
    [rt(300), ev("a\nb")],
)

# --- Comments.

case("comment_surfaced", "A comment is surfaced without ':' and one space.", ": hello\n", [cm("hello")])
case("comment_colon_only", "':' alone is an empty comment.", ":\n", [cm("")])
case("comment_colon_space", "': ' is an empty comment.", ": \n", [cm("")])
case("comment_no_space", "':x' is the comment 'x'.", ":x\n", [cm("x")])
case("comment_two_spaces", "Only one space is stripped from a comment.", ":  x\n", [cm(" x")])
case("comment_tab_kept", "A tab after ':' is kept.", ":\tx\n", [cm("\tx")])
case("comment_colons", "'::x' is the comment ':x'.", "::x\n", [cm(":x")])
case(
    "comment_looks_like_field",
    "': retry: 5' is a comment, not a retry.",
    ": retry: 5\n:data: x\n\n",
    [cm("retry: 5"), cm("data: x")],
)
case(
    "comment_inside_event",
    "A comment inside an event is surfaced at once and leaves the event intact.",
    "data: a\n: keep-alive\ndata: b\n\n",
    [cm("keep-alive"), ev("a\nb")],
)
case(
    "comment_unterminated",
    "A comment line without a line end is never surfaced.",
    "data: a\n\n: bye",
    [ev("a")],
)
case(
    "comments_crlf_and_cr",
    "Comments ended by CRLF and by CR.",
    ": one\r\n: two\r:three\r\n",
    [cm("one"), cm("two"), cm("three")],
)
case(
    "comment_does_not_dispatch",
    "A comment is not a blank line.",
    "data: a\n:\ndata: b\n\n",
    [cm(""), ev("a\nb")],
)

# --- End of stream.

case(
    "final_event_without_blank_line",
    "An event ended by one LF only is discarded at the end of the stream.",
    "data: a\n\ndata: b\n",
    [ev("a")],
)
case(
    "final_event_without_line_end",
    "An event whose last line has no line end is discarded.",
    "data: a\n\ndata: b",
    [ev("a")],
)
case(
    "final_event_cr_only_once",
    "One CR ends the line but is not a blank line: discarded.",
    "data: a\r",
    [],
)
case(
    "final_crlf_once",
    "One CRLF ends the line but is not a blank line: discarded.",
    "data: a\r\n",
    [],
)

# --- Bulk.

many = "".join(f"id: {i}\nevent: t{i % 3}\ndata: event {i}\n: c{i}\n\n" for i in range(150))
case(
    "many_events",
    "150 events with ids, types and comments, for the split-point runs.",
    many,
    [x for i in range(150) for x in (cm(f"c{i}"), ev(f"event {i}", type=f"t{i % 3}", id=str(i)))],
    last_event_id="149",
)

unit = "0123456789abcdefghijklmnopqrstuvwxyzé€😀 "  # 50 bytes of UTF-8
big = (unit * (2 ** 20 // len(unit.encode()) + 1)).encode()[: 2 ** 20]
big = big.decode("utf-8", errors="ignore")  # cut on a character boundary
big_bytes = big.encode()
case(
    "one_mib_data_line",
    f"A data line whose value is {len(big_bytes)} bytes (about 1 MiB), "
    "multi-byte characters included, followed by a short event.",
    b"data: " + big_bytes + b"\n\ndata: after\n\n",
    [ev(big), ev("after")],
)


# ----------------------------------------------------------------- write out


def main():
    out_cases = []
    failures = 0
    for c in CASES:
        items, last_event_id, retry = reference_parse(c["bytes"])
        expected_retry = None
        for item in c["items"]:
            if item["kind"] == "retry":
                expected_retry = item["value"]
        if (items, last_event_id, retry) != (c["items"], c["last_event_id"], expected_retry):
            failures += 1
            print(f"MISMATCH in {c['name']}", file=sys.stderr)
            print(f"  expected: {c['items']!r} {c['last_event_id']!r} {expected_retry!r}", file=sys.stderr)
            print(f"  reference: {items!r} {last_event_id!r} {retry!r}", file=sys.stderr)
            continue
        record = {"name": c["name"], "description": c["description"]}
        try:
            readable = c["bytes"].decode("utf-8")
            if len(c["bytes"]) <= 4096:
                record["input"] = readable
        except UnicodeDecodeError:
            pass
        record["input_b64"] = base64.b64encode(c["bytes"]).decode("ascii")
        record["items"] = c["items"]
        record["events"] = [
            {"type": i["type"], "data": i["data"], "id": i["id"]}
            for i in c["items"]
            if i["kind"] == "event"
        ]
        record["comments"] = [i["text"] for i in c["items"] if i["kind"] == "comment"]
        record["retry"] = expected_retry
        record["last_event_id"] = c["last_event_id"]
        out_cases.append(record)
    if failures:
        sys.exit(f"{failures} case(s) disagree with the reference parser; nothing written")
    doc = {"version": 1, "cases": out_cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parser_vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        # One case per line: diffs stay readable, the file stays compact.
        f.write('{"version": 1, "cases": [\n')
        for i, rec in enumerate(out_cases):
            sep = ",\n" if i + 1 < len(out_cases) else "\n"
            f.write(json.dumps(rec, ensure_ascii=False) + sep)
        f.write("]}\n")
    # The file must stay plain JSON equal to `doc`.
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == doc
    print(f"wrote {len(out_cases)} cases to {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
