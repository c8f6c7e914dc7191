//! Issue 11: what a hostile or careless server (and caller) could do to
//! the client, each against a real loopback server. The scripted hostile
//! server and the ssecat/C ABI runs live in tests/hostile/.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use sse::{Config, ErrorKind, Item};

/// A percent-encoded URL, for a `to=` or `location=` parameter.
fn encoded(url: &str) -> String {
    url.replace('%', "%25")
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('?', "%3F")
        .replace('&', "%26")
        .replace('=', "%3D")
}

/// Item 1: 500, then 429 with the largest Retry-After, under a total
/// retry time limit: a clean RetriesExhausted, not a panic (Internal).
#[test]
fn a_huge_retry_after_under_an_elapsed_limit_ends_cleanly() {
    let server = Server::start().unwrap();
    let client = start(
        config(&format!(
            "{}/status/429?retry_after=18446744073709551615",
            server.url()
        ))
        .retry(|r| {
            r.initial_delay = ms(10);
            r.max_elapsed = Some(Duration::from_secs(60));
            r.max_retry_after = Duration::from_secs(24 * 3600);
        }),
    );
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted, "{end}");
    assert!(end.message.contains("retry time limit"), "{end}");
}

/// Item 2: a Retry-After beyond the ceiling is cut to it (one hour by
/// default; here a configured 250 ms), and the Reconnecting item says so.
#[test]
fn retry_after_is_capped_at_the_configured_ceiling() {
    let server = Server::start().unwrap();
    // The log line says so (the hook is process-wide: keep this server's).
    let logged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = logged.clone();
    let origin = server.url();
    sse::log::set_log_hook(
        Some(std::sync::Arc::new(move |_, line: &str| {
            if line.contains(&origin) {
                sink.lock().unwrap().push(line.to_owned());
            }
        })),
        sse::log::LogLevel::Warn,
    );
    for retry_after in ["99999999", "18446744073709551615"] {
        let client = start(
            config(&format!(
                "{}/status/503?retry_after={retry_after}",
                server.url()
            ))
            .retry(|r| {
                r.initial_delay = ms(10);
                r.max_retry_after = ms(250);
            }),
        );
        let delay = loop {
            if let Item::Reconnecting { delay, .. } = next(&client) {
                break delay;
            }
        };
        assert_eq!(delay, ms(250), "Retry-After: {retry_after}");
        let wanted = format!("Retry-After of {retry_after} s cut to the 250 ms ceiling");
        let lines = logged.lock().unwrap().clone();
        assert!(lines.iter().any(|l| l.contains(&wanted)), "{lines:?}");
    }
    sse::log::set_log_hook(None, sse::log::LogLevel::Warn);
    let default = Config::builder("http://127.0.0.1:1/").build().unwrap();
    assert_eq!(
        default.retry_policy().max_retry_after,
        Duration::from_secs(3600)
    );
}

/// Item 2: a Retry-After in HTTP-date form counts too.
#[test]
fn retry_after_as_an_http_date_raises_the_delay() {
    let server = Server::start().unwrap();
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
    let client = start(
        config(&format!(
            "{}/status/503?retry_after={}",
            server.url(),
            when.replace(' ', "%20")
                .replace(',', "%2C")
                .replace(':', "%3A")
        ))
        .retry(|r| r.initial_delay = ms(10)),
    );
    let delay = loop {
        if let Item::Reconnecting { delay, .. } = next(&client) {
            break delay;
        }
    };
    assert!(delay >= Duration::from_secs(28), "{delay:?}");
    assert!(delay <= Duration::from_secs(31), "{delay:?}");
}

/// Item 3: across origins, Cookie, Proxy-Authorization, Authorization and
/// the headers the user named sensitive stay behind; others go along.
#[test]
fn credentials_and_sensitive_headers_stay_behind_on_a_cross_origin_redirect() {
    let origin = Server::start().unwrap();
    let other = Server::start().unwrap();
    let to_other = encoded(&format!("{}/echo", other.url()));
    let client = start(
        config(&format!("{}/redirect?code=302&to={to_other}", origin.url()))
            .header("Authorization", "Bearer secret")
            .header("Cookie", "session=secret")
            .header("Proxy-Authorization", "Basic c2VjcmV0")
            .header("X-Api-Key", "secret")
            .header("x-other-key", "secret")
            .header("X-Kept", "1")
            .sensitive_header("x-api-key")
            .sensitive_header("X-OTHER-KEY"),
    );
    messages(&client, 1);
    let seen = &other.requests()[0];
    for name in [
        "authorization",
        "cookie",
        "proxy-authorization",
        "x-api-key",
        "x-other-key",
    ] {
        assert_eq!(seen.header(name), None, "{name} leaked to another origin");
    }
    assert_eq!(seen.header("x-kept"), Some("1"));
    // The first origin got them all.
    let first = &origin.requests()[0];
    assert_eq!(first.header("cookie"), Some("session=secret"));
    assert_eq!(first.header("x-api-key"), Some("secret"));
}

/// Item 3: https to http is refused unless allowed; allowed, the
/// credentials still stay behind.
#[test]
fn an_https_to_http_redirect_is_refused_unless_allowed() {
    let tls = Server::start_with(sse_demo_server::ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let plain = Server::start().unwrap();
    let to_plain = encoded(&format!("{}/echo", plain.url()));
    let url = format!("{}/redirect?code=302&to={to_plain}", tls.url());
    let refused = start(
        config(&url)
            .ca_pem(tls.ca_pem().unwrap())
            .header("Cookie", "session=secret"),
    );
    let (_, end) = drain(&refused);
    assert_eq!(end.kind, ErrorKind::HttpStatus, "{end}");
    assert!(end.message.contains("from https to http refused"), "{end}");
    assert!(
        plain.requests().is_empty(),
        "nothing may reach the http URL"
    );

    let allowed = start(
        config(&url)
            .ca_pem(tls.ca_pem().unwrap())
            .header("Cookie", "session=secret")
            .allow_https_downgrade(true),
    );
    messages(&allowed, 1);
    assert_eq!(plain.requests()[0].header("cookie"), None);
}

/// Item 4: framing headers are refused at configuration time.
#[test]
fn framing_headers_from_the_user_are_refused() {
    for name in ["Content-Length", "Transfer-Encoding", "Host", "Connection"] {
        let error = Config::builder("http://127.0.0.1:1/")
            .header(name, "5")
            .build()
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidArgument, "{name}");
        assert!(error.message.contains(name), "{error}");
    }
}

/// Item 5: out-of-range ports are URL errors, in the config and in a
/// redirect (which would otherwise go to port 80).
#[test]
fn out_of_range_ports_are_url_errors_also_in_redirects() {
    for url in [
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:65536/",
        "http://127.0.0.1:-1/",
    ] {
        let error = Config::builder(url).build().unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidUrl, "{url}");
    }
    let server = Server::start().unwrap();
    let client = start(config(&format!(
        "{}/redirect?code=302&to={}",
        server.url(),
        encoded("http://127.0.0.1:99999/ticker")
    )));
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::InvalidUrl, "{end}");
    assert_eq!(end.status, Some(302), "{end}");
    assert!(end.message.contains("99999"), "{end}");
}

/// Item 7: relative redirects resolve by RFC 3986 / WHATWG rules; the
/// request target the server saw is the resolved one. The redirects come
/// from `/status/302?...`, so relative paths resolve against it.
#[test]
fn relative_redirects_resolve_like_a_browser() {
    let server = Server::start().unwrap();
    let cases = [
        ("/x?u=http://evil/", "/x?u=http://evil/"),
        ("?q=2", "/status/302?q=2"),
        ("../c", "/c"),
        ("./d", "/status/d"),
        ("e/../f", "/status/f"),
    ];
    for (location, expected) in cases {
        let url = format!("{}/status/302?location={}", server.url(), encoded(location));
        let client = start(config(&url).max_redirects(1).retry(|r| r.reconnect = false));
        let _ = drain(&client);
        let requests = server.requests();
        assert_eq!(requests.last().unwrap().path, expected, "{location}");
    }
}

/// A server that answers every request with a head of `header_bytes`
/// (one `x-big` header) and then `events` events in the same write, and
/// stays connected; returns its port and its connection count.
fn big_head_server(
    header_bytes: usize,
    events: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        while let Ok((mut socket, _)) = listener.accept() {
            counted.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request);
                let mut reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-big: {}\r\n\r\n",
                    "x".repeat(header_bytes)
                );
                for i in 0..events {
                    reply.push_str(&format!("id: {i}\ndata: event {i}\n\n"));
                }
                let _ = socket.write_all(reply.as_bytes());
                // Stay connected: an error must not read as a disconnect.
                std::thread::sleep(Duration::from_secs(5));
            });
        }
    });
    (port, connections)
}

/// Item 8: a response head over the limit names what happened (while
/// the server is still connected) and is not retried by the default
/// policy (which would retry a disconnect for ever).
#[test]
fn an_oversized_response_head_is_reported_and_not_retried() {
    use std::sync::atomic::Ordering;
    for (header_bytes, limit, shown) in [(17_000, Some(16 * 1024), 16384), (70_000, None, 65536)] {
        let (port, connections) = big_head_server(header_bytes, 1);
        let mut builder =
            Config::builder(format!("http://127.0.0.1:{port}/")).proxy(sse::ProxySetting::None);
        if let Some(limit) = limit {
            builder = builder.max_response_head_bytes(limit);
        }
        let client = start(builder);
        let (_, end) = drain(&client);
        assert_eq!(end.kind, ErrorKind::TooLarge, "{end}");
        assert!(
            end.message
                .contains(&format!("response head larger than {shown} bytes")),
            "{end}"
        );
        assert_eq!(connections.load(Ordering::SeqCst), 1, "no retry");
    }
}

/// Item 8: heads up to the default limit (64 KiB) work, over plain HTTP,
/// with the events that follow in the same packets intact.
#[test]
fn large_response_heads_within_the_limit_stream() {
    for header_bytes in [17_000, 40_000, 65_000] {
        let (port, _) = big_head_server(header_bytes, 300);
        let client = start(
            Config::builder(format!("http://127.0.0.1:{port}/")).proxy(sse::ProxySetting::None),
        );
        let events = messages(&client, 300);
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.data, format!("event {i}"), "head of {header_bytes} B");
            assert_eq!(event.last_event_id, i.to_string());
        }
    }
}

/// Item 11: the read timeout reads the same before and after the response
/// head, with its figure.
#[test]
fn read_timeout_has_one_wording_before_and_after_the_head() {
    let server = Server::start().unwrap();
    for path in ["/silent-headers", "/silent"] {
        let client = start(
            config(&format!("{}{path}", server.url()))
                .read_timeout(Some(ms(150)))
                .retry(|r| r.reconnect = false),
        );
        let started = Instant::now();
        let (_, end) = drain(&client);
        assert_eq!(end.kind, ErrorKind::ReadTimeout, "{path}: {end}");
        assert_eq!(end.message, "no data for 150 ms (read timeout)", "{path}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

/// Item 11: a gzip stream cut by the server reads as a disconnect.
#[test]
fn a_gzip_stream_cut_mid_member_reads_as_a_disconnect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request);
            // The first bytes of a gzip member (header and a few deflate
            // bytes), then the connection closes.
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\nconnection: close\r\n\r\n";
            let _ = socket.write_all(head.as_bytes());
            let _ = socket.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x4b, 0x49]);
        }
    });
    let client = start(
        Config::builder(format!("http://127.0.0.1:{port}/"))
            .proxy(sse::ProxySetting::None)
            .retry(|r| r.reconnect = false),
    );
    let (_, end) = drain(&client);
    assert!(!end.message.contains("decompression"), "{end}");
    assert!(end.message.contains("closed the connection"), "{end}");
}
