//! Talks to the demo server over real loopback sockets with plain
//! `TcpStream`s (and a rustls client for TLS).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sse_demo_server::{Server, ServerOptions};

/// A response as read off the wire.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    /// The body after chunked decoding.
    body: Vec<u8>,
    /// Chunked: the terminating 0-chunk arrived. Otherwise true.
    clean: bool,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits head and body; decodes a chunked body (possibly cut short).
fn parse_response(raw: &[u8]) -> Resp {
    let end = find(raw, b"\r\n\r\n").expect("no complete response head");
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_owned(), v.trim().to_owned())
        })
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let (body, clean) = if chunked {
        dechunk(rest)
    } else {
        (rest.to_vec(), true)
    };
    Resp {
        status,
        headers,
        body,
        clean,
    }
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(nl) = find(data, b"\r\n") else {
            return (out, false);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&data[..nl]).unwrap(), 16).unwrap();
        data = &data[nl + 2..];
        if size == 0 {
            return (out, data.starts_with(b"\r\n"));
        }
        if data.len() < size + 2 {
            out.extend_from_slice(&data[..size.min(data.len())]);
            return (out, false);
        }
        out.extend_from_slice(&data[..size]);
        assert_eq!(&data[size..size + 2], b"\r\n", "chunk not followed by CRLF");
        data = &data[size + 2..];
    }
}

fn read_all(s: &mut impl Read) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return raw,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // An abrupt close may surface as a reset: keep what arrived.
            Err(_) => return raw,
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends raw request bytes and reads the whole response (to EOF).
fn exchange(addr: SocketAddr, request: &[u8]) -> Resp {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    parse_response(&read_all(&mut s))
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n", server.addr());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    exchange(server.addr(), req.as_bytes())
}

/// Dispatched `(id, data)` pairs of a complete SSE body, spec-style line
/// ends (LF, CRLF, CR); an unterminated trailing event is discarded.
fn parse_sse(body: &[u8]) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let (mut id, mut data, mut has_data) = (String::new(), String::new(), false);
    let mut i = 0;
    let mut line_start = 0;
    while i < body.len() {
        let c = body[i];
        if c != b'\n' && c != b'\r' {
            i += 1;
            continue;
        }
        let line = String::from_utf8_lossy(&body[line_start..i]).into_owned();
        i += if c == b'\r' && body.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        line_start = i;
        if line.is_empty() {
            if has_data {
                events.push((id.clone(), data.clone()));
            }
            data.clear();
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()),
            None => (line.clone(), String::new()),
        };
        match field.as_str() {
            "id" => id = value,
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(&value);
                has_data = true;
            }
            _ => {}
        }
    }
    events
}

#[test]
fn ticker_counts_and_ends_cleanly() {
    let server = Server::start().unwrap();
    let r = get(&server, "/ticker?count=3&retry=250&event=tick", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("x-request-number"), Some("1"));
    assert!(r.clean);
    assert_eq!(
        r.text(),
        "retry: 250\n\nid: 1\nevent: tick\ndata: tick 1\n\nid: 2\nevent: tick\ndata: tick 2\n\nid: 3\nevent: tick\ndata: tick 3\n\n"
    );
}

#[test]
fn ticker_resumes_from_last_event_id() {
    let server = Server::start().unwrap();
    let r = get(&server, "/ticker?count=7", &[("Last-Event-ID", "5")]);
    assert!(r.clean);
    assert_eq!(r.text(), "id: 6\ndata: tick 6\n\nid: 7\ndata: tick 7\n\n");
    // Past the end: no events, clean end.
    let r = get(&server, "/ticker?count=7", &[("Last-Event-ID", "7")]);
    assert!(r.clean && r.body.is_empty());
    // Unparseable ids start from 1.
    let r = get(&server, "/ticker?count=1", &[("Last-Event-ID", "abc")]);
    assert_eq!(r.text(), "id: 1\ndata: tick 1\n\n");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].header("last-event-id"), Some("5"));
    assert_eq!(reqs[1].path, "/ticker?count=7");
}

#[test]
fn ticker_drop_after_and_comments() {
    let server = Server::start().unwrap();
    let r = get(
        &server,
        "/ticker?count=10&drop_after=2&comment_every=1",
        &[],
    );
    assert!(!r.clean, "drop_after must not send the 0-chunk");
    assert_eq!(
        r.text(),
        "id: 1\ndata: tick 1\n\n: keep-alive\nid: 2\ndata: tick 2\n\n: keep-alive\n"
    );
    let r = get(&server, "/ticker?count=2&ids=0&interval_ms=20", &[]);
    assert_eq!(r.text(), "data: tick 1\n\ndata: tick 2\n\n");
}

#[test]
fn framing_close_and_cut_at_byte() {
    let server = Server::start().unwrap();
    let r = get(&server, "/ticker?count=2&framing=close", &[]);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.text(), "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n");

    let full = "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n";
    for cut in [0usize, 1, 7, 15, 21, 30] {
        let r = get(&server, &format!("/ticker?count=5&cut_at_byte={cut}"), &[]);
        assert!(!r.clean);
        assert_eq!(r.text(), &full[..cut], "cut at {cut}");
        let r = get(
            &server,
            &format!("/ticker?count=5&framing=close&cut_at_byte={cut}"),
            &[],
        );
        assert_eq!(r.text(), &full[..cut], "cut at {cut} (close framing)");
    }
    let r = exchange(server.addr(), b"GET /ticker?count=1 HTTP/1.0\r\n\r\n");
    assert_eq!(
        r.header("transfer-encoding"),
        None,
        "no chunking for HTTP/1.0"
    );
    assert_eq!(r.text(), "id: 1\ndata: tick 1\n\n");
    let r = get(&server, "/ticker?framing=bogus", &[]);
    assert_eq!(r.status, 400);
}

#[test]
fn status_with_retry_after_and_location() {
    let server = Server::start().unwrap();
    let r = get(&server, "/status/503?retry_after=7&body=busy", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("content-length"), Some("4"));
    assert_eq!(r.text(), "busy");
    let r = get(&server, "/status/204", &[]);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    assert!(r.body.is_empty());
    let r = get(&server, "/status/301?location=/ticker", &[]);
    assert_eq!(r.header("location"), Some("/ticker"));
    assert_eq!(get(&server, "/status/abc", &[]).status, 400);
    assert_eq!(get(&server, "/nope", &[]).status, 404);
}

#[test]
fn redirects() {
    let server = Server::start().unwrap();
    let r = get(&server, "/redirect?to=/echo&code=307", &[]);
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some("/echo"));
    let r = get(&server, "/redirect?to=", &[]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(""));
    let r = get(&server, "/redirect?code=302&missing=1", &[]);
    assert_eq!(r.header("location"), None);
    let r = get(&server, "/redirect-loop?x=1", &[]);
    assert_eq!(r.header("location"), Some("/redirect-loop?x=1"));
}

#[test]
fn content_type_retry_comments_raw() {
    let server = Server::start().unwrap();
    let r = get(
        &server,
        "/content-type?type=TEXT/Event-Stream;%20charset=utf-8",
        &[],
    );
    assert_eq!(
        r.header("content-type"),
        Some("TEXT/Event-Stream; charset=utf-8")
    );
    assert_eq!(r.text(), "data: hello\n\n");
    let r = get(&server, "/content-type", &[]);
    assert_eq!(r.header("content-type"), None);
    let r = get(&server, "/retry?ms=1500", &[]);
    assert_eq!(r.text(), "retry: 1500\nid: r\ndata: retry set\n\n");
    let r = get(&server, "/comments?count=3", &[]);
    assert_eq!(r.text(), ": ping\n: ping\n: ping\n");
    // "data: a\r\n\r\n\xff" in URL-safe base64, in 1-byte pieces.
    let r = get(&server, "/raw?b64=ZGF0YTogYQ0KDQr_&chunk_size=1", &[]);
    assert!(r.clean);
    assert_eq!(r.body, b"data: a\r\n\r\n\xff");
    assert_eq!(get(&server, "/raw?b64=*", &[]).status, 400);
}

#[test]
fn endless_line_fast_stamp() {
    let server = Server::start().unwrap();
    let r = get(&server, "/endless-line?bytes=100000", &[]);
    assert_eq!(r.body.len(), 6 + 100_000);
    assert!(r.body.starts_with(b"data: xxx") && !r.body.contains(&b'\n'));

    let r = get(&server, "/fast?count=5000&size=40", &[]);
    assert!(r.clean);
    let events = parse_sse(&r.body);
    assert_eq!(events.len(), 5000);
    assert!(events
        .iter()
        .all(|(_, d)| d.len() == 40 && d.starts_with("{\"token\":\"")));

    // Typed: the first of every 100 events is `rare`, up to a count that
    // ends in the middle of a cycle and of a 64 KiB batch.
    for count in [5000, 250, 7] {
        let r = get(
            &server,
            &format!("/fast?count={count}&size=40&rare_every=100"),
            &[],
        );
        let body = String::from_utf8(r.body).unwrap();
        let types: Vec<&str> = body
            .lines()
            .filter_map(|line| line.strip_prefix("event: "))
            .collect();
        assert_eq!(types.len(), count, "count {count}");
        assert_eq!(parse_sse(body.as_bytes()).len(), count);
        for (i, t) in types.iter().enumerate() {
            assert_eq!(
                *t,
                if i % 100 == 0 { "rare" } else { "common" },
                "event {i}"
            );
        }
    }

    // chunk=event: one chunk per event (typed cycles too), same events.
    for (target, count) in [
        ("/fast?count=5000&size=40&chunk=event", 5000),
        ("/fast?count=250&size=40&rare_every=100&chunk=event", 250),
    ] {
        let req = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr());
        let mut s = connect(server.addr());
        s.write_all(req.as_bytes()).unwrap();
        let raw = read_all(&mut s);
        let body_at = find(&raw, b"\r\n\r\n").unwrap() + 4;
        let (mut rest, mut chunks) = (&raw[body_at..], 0);
        while let Some(nl) = find(rest, b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap(), 16).unwrap();
            if size == 0 {
                break;
            }
            assert!(rest[nl + 2..nl + 2 + size].ends_with(b"\n\n"), "{target}");
            chunks += 1;
            rest = &rest[nl + 2 + size + 2..];
        }
        assert_eq!(chunks, count, "{target}");
        assert_eq!(
            parse_sse(&parse_response(&raw).body).len(),
            count,
            "{target}"
        );
    }
    assert_eq!(get(&server, "/fast?count=1&chunk=line", &[]).status, 400);

    let before = Server::monotonic_ns();
    let r = get(&server, "/stamp?rate=1000&count=5", &[]);
    let after = Server::monotonic_ns();
    let events = parse_sse(&r.body);
    assert_eq!(events.len(), 5);
    let stamps: Vec<u64> = events.iter().map(|(_, d)| d.parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]));
    assert!(before <= stamps[0] && stamps[4] <= after);

    // An endless line without limit: read a megabyte, hang up.
    let mut s = connect(server.addr());
    s.write_all(b"GET /endless-line HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    s.read_exact(&mut buf).unwrap();
}

#[test]
fn echo_records_method_headers_body() {
    let server = Server::start().unwrap();
    let r = exchange(
        server.addr(),
        b"POST /echo?a=1 HTTP/1.1\r\nHost: x\r\nX-Custom: \"q\"\r\nContent-Length: 11\r\n\r\nhello\nworld",
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.starts_with("id: echo\ndata: {"), "{text}");
    assert!(text.ends_with("}\n\n"));
    assert_eq!(text.matches('\n').count(), 3, "JSON must be one line");
    assert!(text.contains(r#""method":"POST""#));
    assert!(text.contains(r#""path":"/echo?a=1""#));
    assert!(text.contains(r#""x-custom":"\"q\"""#));
    assert!(text.contains(r#""body":"hello\nworld""#));

    // A chunked request body and a non-standard method.
    let r = exchange(
        server.addr(),
        b"REPORT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    );
    assert!(r.text().contains(r#""method":"REPORT""#));
    assert!(r.text().contains(r#""body":"hello world""#));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].body, b"hello\nworld");
    assert_eq!(reqs[0].header("x-CUSTOM"), Some("\"q\""));
    assert_eq!(reqs[1].body, b"hello world");

    let r = get(&server, "/requests", &[]);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let t = r.text();
    assert!(t.starts_with("[{\"number\":1,\"method\":\"POST\""), "{t}");
    assert_eq!(t.matches("\"number\":").count(), 3);
}

#[test]
fn bad_requests_get_errors_and_server_survives() {
    let server = Server::start().unwrap();
    for bad in [
        &b"garbage\r\n\r\n"[..],
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET /echo HTTP/1.1\r\nno colon\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let r = exchange(server.addr(), bad);
        assert!(r.status >= 400, "{:?}", String::from_utf8_lossy(bad));
    }
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
    assert_eq!(exchange(server.addr(), huge.as_bytes()).status, 431);
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(70_000));
    assert_eq!(exchange(server.addr(), long.as_bytes()).status, 414);
    let many: String = (0..300).map(|i| format!("X-{i}: v\r\n")).collect();
    let r = exchange(
        server.addr(),
        format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(),
    );
    assert_eq!(r.status, 431);
    // A client that hangs up mid-request.
    let mut s = connect(server.addr());
    s.write_all(b"GET /tic").unwrap();
    drop(s);
    assert_eq!(get(&server, "/ticker?count=1", &[]).status, 200);
    assert_eq!(
        server.requests().len(),
        1,
        "only parsed requests are recorded"
    );
}

#[test]
fn gzip_is_flushed_per_event_and_decodes() {
    use flate2::read::GzDecoder;
    let server = Server::start().unwrap();
    let r = get(&server, "/gzip?count=3", &[]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.clean);
    let mut text = String::new();
    GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        text,
        "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\nid: 3\ndata: tick 3\n\n"
    );

    // Endless and slow: the first event must decode from what arrived.
    let mut s = connect(server.addr());
    s.write_all(b"GET /gzip?interval_ms=5000&framing=close HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut decoded = Vec::new();
    while Instant::now() < deadline {
        let n = s.read(&mut buf).unwrap();
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            decoded.clear();
            let mut d = GzDecoder::new(&raw[end + 4..]);
            let mut b = [0u8; 256];
            while let Ok(k) = d.read(&mut b) {
                if k == 0 {
                    break;
                }
                decoded.extend_from_slice(&b[..k]);
            }
            if decoded.ends_with(b"\n\n") {
                break;
            }
        }
    }
    assert_eq!(decoded, b"id: 1\ndata: tick 1\n\n");
}

/// Consumes `/fault` like a reconnecting client; returns the ids seen
/// and the number of connections that ended early.
fn consume_fault(server: &Server, total: u64, kills: u64, seed: u64) -> (Vec<u64>, u64) {
    let mut last_id: Option<String> = None;
    let mut seen = Vec::new();
    let mut unclean = 0;
    for attempt in 0.. {
        assert!(attempt < kills + 10, "too many connections");
        let headers: Vec<(&str, &str)> = match &last_id {
            Some(id) => vec![("Last-Event-ID", id.as_str())],
            None => vec![],
        };
        let framing = if attempt % 2 == 0 { "chunked" } else { "close" };
        let r = get(
            server,
            &format!("/fault?total={total}&kills={kills}&seed={seed}&framing={framing}"),
            &headers,
        );
        for (id, data) in parse_sse(&r.body) {
            assert_eq!(data, format!("event {id}"));
            seen.push(id.parse::<u64>().unwrap());
            last_id = Some(id);
        }
        // A close-framed cut looks like a clean end: a full body is the test.
        if r.clean && last_id.as_deref() == Some(&total.to_string()) {
            break;
        }
        unclean += 1;
    }
    (seen, unclean)
}

#[test]
fn fault_delivers_every_event_exactly_once() {
    let server = Server::start().unwrap();
    for seed in 1..=30 {
        let (total, kills) = (200, 12);
        let (seen, unclean) = consume_fault(&server, total, kills, seed);
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "seed {seed}");
        // A close-framed cut after the last event's final line end looks
        // complete, so the last connection may have been a kill too.
        assert!(
            unclean == kills || unclean + 1 == kills,
            "seed {seed}: {unclean} vs {kills}"
        );
    }
    // More kills than events: still every event exactly once.
    let (seen, _) = consume_fault(&server, 3, 10, 99);
    assert_eq!(seen, [1, 2, 3]);
}

#[test]
fn fault_has_crlf_cuts_and_is_deterministic() {
    let body = |server: &Server| get(server, "/fault?total=30&kills=40&seed=3", &[]).body;
    let (a, b) = (Server::start().unwrap(), Server::start().unwrap());
    let runs_a: Vec<Vec<u8>> = (0..40).map(|_| body(&a)).collect();
    let runs_b: Vec<Vec<u8>> = (0..40).map(|_| body(&b)).collect();
    assert_eq!(runs_a, runs_b, "same seed, same cuts");
    assert!(
        runs_a.iter().any(|r| r.ends_with(b"\r")),
        "some cut between CR and LF"
    );
    assert!(runs_a.iter().any(|r| r.windows(2).any(|w| w == b"\r\n")));
}

#[test]
fn silent_endpoints_and_open_connections() {
    let server = Server::start().unwrap();
    let mut s = connect(server.addr());
    s.write_all(b"GET /silent HTTP/1.1\r\n\r\n").unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 200 OK\r\n");
    assert_eq!(server.open_connections(), 1);

    let mut h = connect(server.addr());
    h.write_all(b"GET /silent-headers HTTP/1.1\r\n\r\n")
        .unwrap();
    h.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut b = [0u8; 1];
    assert!(h.read(&mut b).is_err(), "silent-headers must not answer");
    assert_eq!(server.open_connections(), 2);

    // A client hanging up is noticed.
    drop(h);
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.open_connections() != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.open_connections(), 1);

    // Dropping the server closes the silent stream promptly.
    let t = Instant::now();
    drop(server);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        t.elapsed()
    );
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn drop_stops_endless_streams_promptly() {
    let server = Server::start().unwrap();
    let mut conns = Vec::new();
    for target in [
        "/ticker?interval_ms=10000",
        "/fast",
        "/stamp?rate=1",
        "/echo?hold=1",
    ] {
        let mut s = connect(server.addr());
        s.write_all(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        conns.push(s);
    }
    let t = Instant::now();
    drop(server);
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "drop took {:?}",
        t.elapsed()
    );
}

#[test]
fn tls_handshake_with_the_ca() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    let server = Server::start_with(ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let pem = server.ca_pem().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let fetch = |host: &'static str, target: &str| -> Result<Vec<u8>, std::io::Error> {
        let name = ServerName::try_from(host).unwrap();
        let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, connect(server.addr()));
        tls.write_all(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())?;
        let mut out = Vec::new();
        tls.read_to_end(&mut out).map(|_| out)
    };
    for host in ["127.0.0.1", "localhost"] {
        let raw = fetch(host, "/ticker?count=2&framing=close").unwrap();
        let r = parse_response(&raw);
        assert_eq!(r.text(), "id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n");
    }
    // An abrupt close comes without close_notify: an error for the client.
    let err = fetch("localhost", "/ticker?count=5&drop_after=1&framing=close").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn binary_prints_url_and_exits_on_stdin_eof() {
    let dir = std::env::temp_dir().join(format!("sse-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    for tls in [false, true] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sse-demo-server"));
        cmd.arg("--exit-on-stdin-eof");
        if tls {
            cmd.arg("--tls").arg("--ca-out").arg(&ca);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim_end();
        if tls {
            assert!(url.starts_with("https://127.0.0.1:"), "{url}");
            let pem = std::fs::read_to_string(&ca).unwrap();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        } else {
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
            let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
            let r = exchange(addr, b"GET /ticker?count=1 HTTP/1.1\r\n\r\n");
            assert_eq!(r.text(), "id: 1\ndata: tick 1\n\n");
        }
        drop(child.stdin.take());
        let t = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success());
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
