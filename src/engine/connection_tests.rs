//! The exchange fed the exact bytes a (hostile) server sends, whole and
//! byte by byte, with a fake clock.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::batch::ItemRef;
use crate::engine::gzip::tests::compress;
use crate::event::Item;

const URL: &str = "http://127.0.0.1:8080/a/events?x=1";
const OPEN: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";

fn get(url: &str) -> Request {
    Request {
        method: "GET".into(),
        url: url.into(),
        headers: Vec::new(),
        body: None,
        absolute_form: false,
    }
}

fn settings() -> Settings {
    Settings {
        max_response_head_bytes: 1024,
        read_timeout: Some(Duration::from_secs(5)),
        head_timeout: None,
        messages_only: false,
        event_types: Vec::new().into(),
    }
}

/// The wall-clock time the fake clock starts at.
fn wall() -> SystemTime {
    httpdate::parse_http_date("Wed, 02 Dec 2026 18:00:00 GMT").unwrap()
}

fn start_with(request: &Request, settings: Settings, stream: StreamState) -> (Connection, Instant) {
    let t0 = Instant::now();
    (Connection::new(request, settings, stream, t0, wall()), t0)
}

fn start() -> (Connection, Instant) {
    start_with(&get(URL), settings(), StreamState::default())
}

fn drain(connection: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| connection.poll_event()).collect()
}

/// Feeds `bytes` in pieces of `piece` bytes at `now`; returns the events.
fn feed(connection: &mut Connection, bytes: &[u8], piece: usize, now: Instant) -> Vec<Event> {
    let mut events = Vec::new();
    for part in bytes.chunks(piece) {
        connection.handle_input(part, now);
        events.extend(drain(connection));
    }
    events
}

/// The data of every message in `events`' batches.
fn messages(events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    for event in events {
        if let Event::Items(batch) = event {
            for item in batch.iter() {
                if let ItemRef::Message(message) = item {
                    out.push(message.data.to_owned());
                }
            }
        }
    }
    out
}

fn batches(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Items(_)))
        .count()
}

fn open_headers(events: &[Event]) -> Vec<(String, String)> {
    match events.first() {
        Some(Event::Open {
            status: 200,
            headers,
        }) => headers.clone(),
        other => panic!("expected an open event first, got {other:?}"),
    }
}

fn end(events: &[Event]) -> &End {
    match events.last() {
        Some(Event::End(end)) => end,
        other => panic!("expected an end event last, got {other:?}"),
    }
}

fn failure(events: &[Event]) -> &Error {
    match end(events) {
        End::Failed(error) => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn chunked(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend(b"\r\n");
    }
    out
}

fn response(head_lines: &str, body: &[u8]) -> Vec<u8> {
    let mut out = OPEN.to_vec();
    out.extend(head_lines.as_bytes());
    out.extend(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn writes_the_request_head_with_the_library_headers_and_last_event_id() {
    let mut stream = StreamState::default();
    stream.parser.set_last_event_id("41");
    let mut request = get(URL);
    request
        .headers
        .push(("Authorization".into(), "Bearer t".into()));
    let (mut connection, _) = start_with(&request, settings(), stream);
    let expected = format!(
        "GET /a/events?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nuser-agent: libsse/{}\r\naccept: text/event-stream\r\naccept-encoding: gzip\r\ncache-control: no-cache\r\nauthorization: Bearer t\r\nlast-event-id: 41\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(text(connection.poll_transmit().unwrap()), expected);
    // Written in parts, as a non-blocking socket does.
    connection.handle_transmitted(10);
    assert_eq!(
        connection.poll_transmit().unwrap(),
        &expected.as_bytes()[10..]
    );
    connection.handle_transmitted(expected.len() - 10);
    assert_eq!(connection.poll_transmit(), None);
    assert!(drain(&mut connection).is_empty());
}

#[test]
fn user_headers_replace_the_defaults_and_bad_ids_stay_behind() {
    let mut stream = StreamState::default();
    stream.parser.set_last_event_id("a\rb");
    let mut request = get(URL);
    request.headers.push(("Accept".into(), "*/*".into()));
    request.headers.push(("User-Agent".into(), "me".into()));
    let (connection, _) = start_with(&request, settings(), stream);
    let head = text(connection.poll_transmit().unwrap()).to_owned();
    assert_eq!(
        head,
        "GET /a/events?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept-encoding: gzip\r\ncache-control: no-cache\r\naccept: */*\r\nuser-agent: me\r\n\r\n"
    );
}

#[test]
fn a_post_sends_its_body_with_a_length() {
    let mut request = get("http://127.0.0.1:1/chat");
    request.method = "POST".into();
    request.body = Some(b"{\"q\":1}".to_vec());
    let (connection, _) = start_with(&request, settings(), StreamState::default());
    let bytes = text(connection.poll_transmit().unwrap()).to_owned();
    assert!(bytes.starts_with("POST /chat HTTP/1.1\r\n"), "{bytes}");
    assert!(
        bytes.ends_with("\r\ncontent-length: 7\r\n\r\n{\"q\":1}"),
        "{bytes}"
    );
}

#[test]
fn absolute_form_through_an_http_proxy() {
    let absolute = |url: &str| {
        let mut request = get(url);
        request.absolute_form = true;
        let (connection, _) = start_with(&request, settings(), StreamState::default());
        text(connection.poll_transmit().unwrap()).to_owned()
    };
    let bytes = absolute("http://example.test:8080/a/events?x=1");
    assert!(
        bytes.starts_with(
            "GET http://example.test:8080/a/events?x=1 HTTP/1.1\r\nhost: example.test:8080\r\n"
        ),
        "{bytes}"
    );
    // The URL's credentials go in the Authorization header (ureq-proto),
    // never in the request line the proxy logs.
    let bytes = absolute("http://me:secret@example.test/a");
    assert!(
        bytes.starts_with("GET http://example.test/a HTTP/1.1\r\n"),
        "{bytes}"
    );
    assert!(
        bytes.contains("\r\nauthorization: Basic bWU6c2VjcmV0\r\n"),
        "{bytes}"
    );
    let bytes = absolute("http://example.test/a?x=1#frag");
    assert!(
        bytes.starts_with("GET http://example.test/a?x=1 HTTP/1.1\r\n"),
        "{bytes}"
    );
    let bytes = absolute("http://[::1]:9/");
    assert!(
        bytes.starts_with("GET http://[::1]:9/ HTTP/1.1\r\n"),
        "{bytes}"
    );
}

#[test]
fn request_heads_of_any_size() {
    let mut request = get(URL);
    let big = "v".repeat(100 * 1024);
    request.headers.push(("x-big".into(), big.clone()));
    let (connection, _) = start_with(&request, settings(), StreamState::default());
    let bytes = text(connection.poll_transmit().unwrap()).to_owned();
    assert!(bytes.contains(&format!("\r\nx-big: {big}\r\n")));
    assert!(bytes.ends_with("\r\n\r\n"));
}

#[test]
fn an_invalid_method_ends_at_once() {
    let mut request = get(URL);
    request.method = "BAD METHOD".into();
    let (mut connection, _) = start_with(&request, settings(), StreamState::default());
    assert_eq!(connection.poll_transmit(), None);
    assert_eq!(connection.poll_timeout(), None);
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert_eq!(error.message, "invalid HTTP method \"BAD METHOD\"");
}

#[test]
fn a_split_head_opens_the_stream_byte_by_byte_and_in_one_piece() {
    let bytes = response("x-a: 1\r\n", b"data: a\n\ndata: b\n\n");
    // In one piece: the open event and one batch.
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        open_headers(&events),
        [
            ("content-type".to_owned(), "text/event-stream".to_owned()),
            ("x-a".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(messages(&events), ["a", "b"]);
    assert!(connection.delivered_events());
    // Byte by byte: the same open event and messages.
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, 1, t0);
    assert_eq!(open_headers(&events).len(), 2);
    assert_eq!(messages(&events), ["a", "b"]);
    assert!(!connection.is_ended());
}

#[test]
fn informational_heads_are_skipped() {
    let mut bytes = b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n".to_vec();
    bytes.extend(response("", b"data: a\n\n"));
    for piece in [1, bytes.len()] {
        let (mut connection, t0) = start();
        let events = feed(&mut connection, &bytes, piece, t0);
        assert_eq!(open_headers(&events).len(), 1);
        assert_eq!(messages(&events), ["a"]);
    }
}

#[test]
fn many_tiny_chunks_in_one_input_become_one_batch() {
    let events_text: Vec<String> = (0..200).map(|i| format!("data: {i}\n\n")).collect();
    let parts: Vec<&[u8]> = events_text.iter().map(|e| e.as_bytes()).collect();
    let body = chunked(&parts);
    let head = response("transfer-encoding: chunked\r\n", b"");
    let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();

    let (mut connection, t0) = start();
    let opened = feed(&mut connection, &head, head.len(), t0);
    assert_eq!(opened.len(), 1);
    connection.handle_input(&body, t0);
    let events = drain(&mut connection);
    assert_eq!(events.len(), 1, "one input, one batch");
    assert_eq!(messages(&events), expected);

    // Byte by byte (a size line split everywhere): the same events.
    let (mut connection, t0) = start();
    let mut all = head.clone();
    all.extend(&body);
    let events = feed(&mut connection, &all, 1, t0);
    assert_eq!(messages(&events), expected);
    assert!(batches(&events) >= 200);
    assert!(!connection.is_ended());
}

#[test]
fn the_last_chunk_ends_the_stream_without_waiting_for_trailers() {
    let mut body = chunked(&[b"data: a\n\n"]);
    body.extend(b"0\r\n");
    let bytes = response("transfer-encoding: chunked\r\n", &body);
    for piece in [1, bytes.len()] {
        let (mut connection, t0) = start();
        let events = feed(&mut connection, &bytes, piece, t0);
        assert_eq!(messages(&events), ["a"]);
        assert_eq!(end(&events), &End::Finished);
        assert_eq!(connection.poll_timeout(), None);
    }
}

#[test]
fn chunk_size_overflow_fails_after_the_chunks_before_it() {
    let mut body = chunked(&[b"data: a\n\n", b"data: b\n\n"]);
    body.extend(b"1FFFFFFFFFFFFFFFF\r\ndata: evil\n\n");
    let bytes = response("transfer-encoding: chunked\r\n", &body);
    for piece in [1, 7, bytes.len()] {
        let (mut connection, t0) = start();
        let events = feed(&mut connection, &bytes, piece, t0);
        assert_eq!(messages(&events), ["a", "b"], "piece {piece}");
        let error = failure(&events);
        assert_eq!(error.kind, ErrorKind::Io);
        assert_eq!(
            error.message,
            "reading the stream: invalid body framing: a chunk size over 2^64 bytes"
        );
        assert!(connection.is_ended());
    }
}

#[test]
fn bad_chunk_framing_is_an_error() {
    let mut endless_extension = b"1;".to_vec();
    endless_extension.resize(2000, b'x');
    let cases: [(&[u8], &str); 4] = [
        // Chunk data longer than its size: no CRLF where it must be.
        (
            b"9\r\ndata: a\n\nXY\r\n",
            "reading the stream: invalid body framing: 'X' where a chunk's data should end with CRLF (more data than its size)",
        ),
        (
            b"zz\r\ndata: a\n\n\r\n",
            "reading the stream: invalid body framing: a chunk size line starting with 'z'",
        ),
        (
            &[b'1'; 2000],
            "reading the stream: invalid body framing: a chunk size over 2^64 bytes",
        ),
        // A size line with no end at all.
        (
            &endless_extension,
            "reading the stream: invalid body framing: more than 1024 bytes without a chunk boundary",
        ),
    ];
    for (body, message) in cases {
        let bytes = response("transfer-encoding: chunked\r\n", body);
        for piece in [1, bytes.len()] {
            let (mut connection, t0) = start();
            let events = feed(&mut connection, &bytes, piece, t0);
            assert_eq!(failure(&events).message, message, "piece {piece}");
        }
    }
}

#[test]
fn content_length_ends_the_stream_and_a_cut_is_a_disconnect() {
    let body = b"data: a\n\ndata: b\n\n";
    let head = format!("content-length: {}\r\n", body.len());
    let mut bytes = response(&head, body);
    bytes.extend(b"data: after the end\n\n");
    for piece in [1, bytes.len()] {
        let (mut connection, t0) = start();
        let events = feed(&mut connection, &bytes, piece, t0);
        assert_eq!(messages(&events), ["a", "b"]);
        assert_eq!(end(&events), &End::Finished);
    }
    // Cut one byte short: the event before the cut arrives, then the error.
    let bytes = response(&head, &body[..body.len() - 1]);
    let (mut connection, t0) = start();
    let mut events = feed(&mut connection, &bytes, bytes.len(), t0);
    connection.handle_eof(t0);
    events.extend(drain(&mut connection));
    assert_eq!(messages(&events), ["a"]);
    assert_eq!(
        failure(&events).message,
        "reading the stream: the server closed the connection mid-response"
    );
    // A length of zero: open, then the end.
    let bytes = response("content-length: 0\r\n", b"");
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert_eq!(events.len(), 2);
    assert_eq!(end(&events), &End::Finished);
}

#[test]
fn a_close_delimited_body_ends_at_eof_and_drops_an_unterminated_event() {
    let bytes = response("", b"id: 7\ndata: a\n\nid: 8\ndata: partial");
    for piece in [1, bytes.len()] {
        let (mut connection, t0) = start();
        let mut events = feed(&mut connection, &bytes, piece, t0);
        assert!(!connection.is_ended());
        connection.handle_eof(t0);
        events.extend(drain(&mut connection));
        assert_eq!(messages(&events), ["a"]);
        assert_eq!(end(&events), &End::Finished);
        // Events after the end are ignored.
        connection.handle_input(b"data: late\n\n", t0);
        assert!(drain(&mut connection).is_empty());
        assert_eq!(connection.last_event_id(), "7");
        let stream = connection.into_stream();
        assert_eq!(stream.parser.last_event_id(), "7");
    }
}

#[test]
fn gzip_in_pieces_is_decoded_and_its_headers_kept_as_received() {
    let plain = b": hi\n\ndata: one\n\ndata: two\n\n";
    let compressed = compress(plain);
    let chunks: Vec<&[u8]> = compressed.chunks(5).collect();
    let body = chunked(&chunks);
    let bytes = response(
        "content-encoding: gzip\r\ntransfer-encoding: chunked\r\n",
        &body,
    );
    for piece in [1, 3, bytes.len()] {
        let (mut connection, t0) = start();
        let events = feed(&mut connection, &bytes, piece, t0);
        assert_eq!(
            open_headers(&events),
            [
                ("content-type".to_owned(), "text/event-stream".to_owned()),
                ("content-encoding".to_owned(), "gzip".to_owned()),
                ("transfer-encoding".to_owned(), "chunked".to_owned())
            ]
        );
        assert_eq!(messages(&events), ["one", "two"], "piece {piece}");
        let comments: Vec<Item> = events
            .iter()
            .filter_map(|e| match e {
                Event::Items(batch) => Some(batch.iter().map(|i| i.to_item()).collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .filter(|i| matches!(i, Item::Comment(_)))
            .collect();
        assert_eq!(comments, [Item::Comment("hi".into())]);
    }
    // One input: one batch.
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert_eq!(batches(&events), 1);
}

#[test]
fn a_gzip_stream_cut_mid_member_is_a_disconnect() {
    let compressed = compress(b"data: one\n\ndata: two\n\n");
    let cut = &compressed[..compressed.len() - 4];
    let bytes = response("content-encoding: gzip\r\n", cut);
    let (mut connection, t0) = start();
    let mut events = feed(&mut connection, &bytes, bytes.len(), t0);
    connection.handle_eof(t0);
    events.extend(drain(&mut connection));
    assert_eq!(
        failure(&events).message,
        "reading the stream: the server closed the connection mid-response"
    );
    // The same with a length: the body ends where the member does not.
    let head = format!(
        "content-encoding: gzip\r\ncontent-length: {}\r\n",
        cut.len()
    );
    let bytes = response(&head, cut);
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert_eq!(
        failure(&events).message,
        "reading the stream: the server closed the connection mid-response"
    );
    // Not gzip at all.
    let bytes = response("content-encoding: gzip\r\n", b"data: plain\n\n");
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert!(failure(&events)
        .message
        .starts_with("reading the stream: gzip decompression failed: "));
}

#[test]
fn a_gzip_bomb_comes_out_in_bounded_batches() {
    let plain = "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\n".repeat(100_000);
    let compressed = compress(plain.as_bytes());
    let bytes = response("content-encoding: gzip\r\n", &compressed);
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &bytes, bytes.len(), t0);
    assert_eq!(messages(&events).len(), 100_000);
    let n = batches(&events);
    let most = plain.len() / MAX_BATCH_INPUT_BYTES + 1;
    assert!(
        n >= plain.len() / (MAX_BATCH_INPUT_BYTES + 64 * 1024) && n <= most + 1,
        "{n}"
    );
}

#[test]
fn a_head_over_the_limit_fails_permanently_and_one_at_the_limit_opens() {
    let message = "response head larger than 1024 bytes (the max response head size)";
    let filler = |n: usize| format!("x-pad: {}\r\n", "p".repeat(n));
    // OPEN + filler + final CRLF: exactly 1024 bytes, then 1025.
    let base = OPEN.len() + filler(0).len() + 2;
    for (pad, fits) in [(1024 - base, true), (1025 - base, false)] {
        let bytes = response(&filler(pad), b"data: a\n\n");
        for piece in [1, bytes.len()] {
            let (mut connection, t0) = start();
            let events = feed(&mut connection, &bytes, piece, t0);
            if fits {
                assert_eq!(messages(&events), ["a"]);
            } else {
                let error = failure(&events);
                assert_eq!(error.kind, ErrorKind::TooLarge);
                assert_eq!(error.message, message);
                assert!(error.permanent);
            }
        }
    }
    // A head that never ends fails once past the limit, not later.
    let (mut connection, t0) = start();
    let endless = "x".repeat(1025);
    let events = feed(&mut connection, endless.as_bytes(), 1, t0);
    assert_eq!(events.len(), 1);
    assert_eq!(failure(&events).message, message);
}

#[test]
fn an_invalid_head_and_eof_before_a_head_are_errors() {
    let (mut connection, t0) = start();
    let events = feed(&mut connection, b"HTTP/1.1 2x0 OK\r\n\r\n", 100, t0);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::Io);
    assert!(
        error
            .message
            .starts_with("request failed: invalid response: "),
        "{}",
        error.message
    );
    let (mut connection, t0) = start();
    connection.handle_input(b"HTTP/1.1 200 OK\r\n", t0);
    connection.handle_eof(t0);
    let events = drain(&mut connection);
    assert_eq!(
        failure(&events).message,
        "request failed: the server closed the connection mid-response"
    );
}

#[test]
fn no_content_204_and_a_wrong_content_type() {
    let (mut connection, t0) = start();
    let events = feed(&mut connection, b"HTTP/1.1 204 No Content\r\n\r\n", 1, t0);
    assert_eq!(events, [Event::End(End::NoContent)]);

    let (mut connection, t0) = start();
    let bytes = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\ndata: a\n\n";
    let events = feed(&mut connection, bytes, bytes.len(), t0);
    assert_eq!(events.len(), 1);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::ContentType);
    assert_eq!(
        error.message,
        "expected content type text/event-stream, got \"text/plain\""
    );
    assert_eq!(error.status, Some(200));
}

#[test]
fn redirects_carry_the_resolved_location() {
    let redirect = |status: &str, location: Option<&str>| {
        let (mut connection, t0) = start();
        let mut head = format!("HTTP/1.1 {status}\r\n");
        if let Some(location) = location {
            head.push_str(&format!("location: {location}\r\n"));
        }
        head.push_str("content-length: 5\r\n\r\nbody!");
        feed(&mut connection, head.as_bytes(), 1, t0)
    };
    let events = redirect("302 Found", Some("../next?y=2"));
    assert_eq!(events.len(), 1);
    match end(&events) {
        End::Redirect {
            status,
            location,
            headers,
        } => {
            assert_eq!(*status, 302);
            assert_eq!(location, "http://127.0.0.1:8080/next?y=2");
            assert_eq!(headers[0], ("location".into(), "../next?y=2".into()));
        }
        other => panic!("{other:?}"),
    }
    for status in [
        "301 Moved",
        "303 See Other",
        "307 Temporary",
        "308 Permanent",
    ] {
        let events = redirect(status, Some("https://other.test/x"));
        assert!(matches!(
            end(&events),
            End::Redirect { location, .. } if location == "https://other.test/x"
        ));
    }
    let error = failure(&redirect("307 Temporary", None)).clone();
    assert_eq!(error.kind, ErrorKind::HttpStatus);
    assert_eq!(error.status, Some(307));
    assert_eq!(error.message, "HTTP 307 redirect without a Location");
    let error = failure(&redirect("302 Found", Some("http://127.0.0.1:99999/"))).clone();
    assert_eq!(
        error.message,
        "HTTP 302 redirect: Location \"http://127.0.0.1:99999/\" refused: malformed URL (invalid port number)"
    );
    let error = failure(&redirect("301 Moved", Some("ftp://127.0.0.1/"))).clone();
    assert!(
        error
            .message
            .starts_with("HTTP 301 redirect: Location \"ftp://127.0.0.1/\" refused: "),
        "{}",
        error.message
    );
}

#[test]
fn error_statuses_carry_status_headers_and_retry_after() {
    let (mut connection, t0) = start();
    let bytes = b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 120\r\ncontent-length: 0\r\n\r\n";
    let events = feed(&mut connection, bytes, 1, t0);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::HttpStatus);
    assert_eq!(error.message, "HTTP status 429 Too Many Requests");
    assert_eq!(error.status, Some(429));
    assert_eq!(error.retry_after, Some(Duration::from_secs(120)));
    assert_eq!(
        error.headers,
        [
            ("retry-after".into(), "120".into()),
            ("content-length".into(), "0".into())
        ]
    );
    assert!(error.is_retryable_by_default());

    // A date is read against the wall clock at the response (30 s after
    // the start here): 18:01:30 is 60 s away.
    let (mut connection, t0) = start();
    let bytes =
        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: Wed, 02 Dec 2026 18:01:30 GMT\r\ncontent-length: 0\r\n\r\n";
    connection.handle_input(bytes, t0 + Duration::from_secs(30));
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(error.message, "HTTP status 503 Service Unavailable");
    assert_eq!(error.retry_after, Some(Duration::from_secs(60)));

    let (mut connection, t0) = start();
    // No length: the body lasts until the server closes.
    let events = feed(
        &mut connection,
        b"HTTP/1.1 404 Not Found\r\n\r\nno such feed",
        64,
        t0,
    );
    assert!(events.is_empty(), "{events:?}");
    connection.handle_eof(t0);
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(error.retry_after, None);
    assert_eq!(error.body, b"no such feed");
    assert!(!error.is_retryable_by_default());
}

#[test]
fn a_refusal_keeps_its_body_up_to_the_limit_and_the_read_timeout() {
    // Chunked, in small pieces: the de-framed body.
    let (mut connection, t0) = start();
    let mut bytes = b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    bytes.extend(chunked(&[br#"{"error":"#, br#""bad key"}"#, b""]));
    let error = failure(&feed(&mut connection, &bytes, 3, t0)).clone();
    assert_eq!(error.status, Some(401));
    assert_eq!(error.body, br#"{"error":"bad key"}"#);

    // A body larger than the limit: its first 64 KiB, without waiting for the rest.
    let (mut connection, t0) = start();
    let mut bytes =
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 1000000\r\n\r\n".to_vec();
    bytes.extend(vec![b'x'; 70_000]);
    let error = failure(&feed(&mut connection, &bytes, 8192, t0)).clone();
    assert_eq!(error.body.len(), crate::error::MAX_ERROR_BODY_BYTES);

    // A body that stalls: what came, at the read timeout, as the status error.
    let (mut connection, t0) = start();
    let bytes = b"HTTP/1.1 403 Forbidden\r\ncontent-length: 100\r\n\r\npartial";
    assert!(feed(&mut connection, bytes, 64, t0).is_empty());
    let deadline = connection.poll_timeout().expect("a deadline");
    connection.handle_timeout(deadline);
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(
        (error.kind, error.status),
        (ErrorKind::HttpStatus, Some(403))
    );
    assert_eq!(error.body, b"partial");

    // A body in another content coding is not read.
    let (mut connection, t0) = start();
    let bytes = b"HTTP/1.1 500 Internal Server Error\r\ncontent-encoding: br\r\ncontent-length: 100\r\n\r\n";
    let error = failure(&feed(&mut connection, bytes, 64, t0)).clone();
    assert!(error.body.is_empty());
}

#[test]
fn a_gzip_refusal_body_is_decoded_and_bounded() {
    let reason = br#"{"error":"rate limited","retry_in":30}"#;
    let compressed = compress(reason);
    for (framing, piece) in [("length", 7), ("chunked", 3), ("close", 64)] {
        let (mut connection, t0) = start();
        let mut bytes = b"HTTP/1.1 429 Too Many Requests\r\ncontent-encoding: gzip\r\n".to_vec();
        match framing {
            "length" => {
                bytes.extend(format!("content-length: {}\r\n\r\n", compressed.len()).as_bytes());
                bytes.extend(&compressed);
            }
            "chunked" => {
                bytes.extend(b"transfer-encoding: chunked\r\n\r\n");
                let parts: Vec<&[u8]> = compressed.chunks(5).chain([&b""[..]]).collect();
                bytes.extend(chunked(&parts));
            }
            _ => {
                bytes.extend(b"\r\n");
                bytes.extend(&compressed);
            }
        }
        let mut events = feed(&mut connection, &bytes, piece, t0);
        if framing == "close" {
            connection.handle_eof(t0);
            events.extend(drain(&mut connection));
        }
        let error = failure(&events);
        assert_eq!(error.status, Some(429), "{framing}");
        assert_eq!(error.body, reason, "{framing}");
    }

    // A gzip bomb: 64 KiB kept, then the body is no longer read.
    let bomb = compress(&vec![b'x'; 8 << 20]);
    let (mut connection, t0) = start();
    let mut bytes = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
        bomb.len()
    )
    .into_bytes();
    bytes.extend(&bomb);
    let error = failure(&feed(&mut connection, &bytes, 2048, t0)).clone();
    assert_eq!(error.body.len(), crate::error::MAX_ERROR_BODY_BYTES);
}

#[test]
fn the_read_timeout_is_a_deadline_that_moves_with_input() {
    let (mut connection, t0) = start();
    let s = Duration::from_secs;
    assert_eq!(connection.poll_timeout(), Some(t0 + s(5)));
    connection.handle_timeout(t0 + s(4));
    assert!(drain(&mut connection).is_empty());
    connection.handle_input(&response("", b""), t0 + s(2));
    assert_eq!(drain(&mut connection).len(), 1); // open
    assert_eq!(connection.poll_timeout(), Some(t0 + s(7)));
    connection.handle_timeout(t0 + s(7) - Duration::from_millis(1));
    assert!(drain(&mut connection).is_empty());
    connection.handle_timeout(t0 + s(7));
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::ReadTimeout);
    assert_eq!(error.message, "no data for 5000 ms (read timeout)");
    assert_eq!(connection.poll_timeout(), None);
    connection.handle_timeout(t0 + s(100));
    assert!(drain(&mut connection).is_empty());

    // Without a read timeout there is no deadline.
    let mut quiet = settings();
    quiet.read_timeout = None;
    let (connection, _) = start_with(&get(URL), quiet, StreamState::default());
    assert_eq!(connection.poll_timeout(), None);
}

#[test]
fn the_head_timeout_bounds_a_head_that_trickles_in() {
    let mut limited = settings();
    limited.head_timeout = Some(Duration::from_secs(1));
    let ms = Duration::from_millis;
    let (mut connection, t0) = start_with(&get(URL), limited.clone(), StreamState::default());
    assert_eq!(connection.poll_timeout(), Some(t0 + ms(1000)));
    // A byte now and then keeps the read timeout away, not this one.
    connection.handle_input(b"HTTP/1.1 2", t0 + ms(900));
    assert_eq!(connection.poll_timeout(), Some(t0 + ms(1000)));
    connection.handle_timeout(t0 + ms(1000));
    let events = drain(&mut connection);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::ReadTimeout);
    assert_eq!(
        error.message,
        "no complete response head within 1000 ms (read timeout)"
    );

    // Once open, only the read timeout is left.
    let (mut connection, t0) = start_with(&get(URL), limited, StreamState::default());
    connection.handle_input(&response("", b""), t0 + ms(500));
    assert_eq!(connection.poll_timeout(), Some(t0 + ms(5500)));
    connection.handle_timeout(t0 + ms(2000));
    assert_eq!(drain(&mut connection).len(), 1); // just the open event
}

#[test]
fn retry_fields_comments_and_messages_only() {
    let body = b"retry: 2500\n: keep-alive\n\ndata: a\n\n";
    let (mut connection, t0) = start();
    let events = feed(&mut connection, &response("", body), 1000, t0);
    assert!(events.contains(&Event::ServerRetry(2500)));
    let Some(Event::Items(batch)) = events.last() else {
        panic!("{events:?}");
    };
    let items: Vec<Item> = batch.iter().map(|i| i.to_item()).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], Item::Comment("keep-alive".into()));

    let mut only = settings();
    only.messages_only = true;
    let (mut connection, t0) = start_with(&get(URL), only, StreamState::default());
    let events = feed(&mut connection, &response("", body), 1000, t0);
    let Some(Event::Items(batch)) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(batch.len(), 1);
    assert_eq!(messages(&events), ["a"]);
}

#[test]
fn an_event_over_the_parser_limit_fails_after_the_items_before_it() {
    let stream = StreamState {
        parser: Parser::with_max_size(16),
        ..StreamState::default()
    };
    let (mut connection, t0) = start_with(&get(URL), settings(), stream);
    let body = b"data: a\n\ndata: this line is far too long\n\ndata: b\n\n";
    let events = feed(&mut connection, &response("", body), 1000, t0);
    assert_eq!(messages(&events), ["a", "b"]);
    let error = failure(&events);
    assert_eq!(error.kind, ErrorKind::TooLarge);
    assert_eq!(
        error.message,
        "line or event larger than the limit of 16 bytes"
    );
}

#[test]
fn settings_follow_the_config() {
    let config = Config::builder(URL)
        .read_timeout(Some(Duration::from_secs(9)))
        .max_response_head_bytes(2048)
        .messages_only(true)
        .build()
        .unwrap();
    assert_eq!(
        Settings::from_config(&config),
        Settings {
            max_response_head_bytes: 2048,
            read_timeout: Some(Duration::from_secs(9)),
            head_timeout: Some(Duration::from_secs(18)),
            messages_only: true,
            event_types: Vec::new().into(),
        }
    );
}

#[test]
fn the_input_step_is_small_while_a_head_or_a_gzip_body_is_read() {
    let (mut plain, t0) = start();
    assert!(plain.input_step() <= 4096, "head phase");
    plain.handle_input(&response("", b""), t0);
    assert_eq!(plain.input_step(), usize::MAX, "plain body");
    let (mut gzip, t0) = start();
    gzip.handle_input(&response("content-encoding: gzip\r\n", b""), t0);
    assert!(gzip.input_step() <= 4096, "gzip body");
}
