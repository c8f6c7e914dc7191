//! The request and response rules of the connection engine, against a real
//! loopback server: headers, statuses, content types, redirects, methods,
//! bodies, gzip.

mod common;

use std::time::{Duration, Instant};

use common::*;
use sse::{CloseReason, ErrorKind, ErrorPolicy, Item};

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

fn fatal_error(items: &[Item]) -> &sse::Error {
    items
        .iter()
        .find_map(|item| match item {
            Item::Error { error, fatal: true } => Some(error),
            _ => None,
        })
        .expect("a fatal error item")
}

#[test]
fn sends_standard_and_user_headers_and_last_event_id_on_reconnect() {
    if skipped_when_driven("waits for a reconnection without pulling") {
        return;
    }
    let server = Server::start().unwrap();
    let client = start(
        config(&format!("{}/ticker?count=2", server.url()))
            .header("X-Custom", "yes")
            .retry(|r| r.max_attempts = Some(1)),
    );
    let got = messages(&client, 2);
    assert_eq!(data_of(&got), ["tick 1", "tick 2"]);
    assert_eq!(got[1].last_event_id, "2");
    wait_until("a reconnection", || server.requests().len() >= 2);
    let requests = server.requests();
    let first = &requests[0];
    assert_eq!(first.header("accept"), Some("text/event-stream"));
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    assert_eq!(first.header("x-custom"), Some("yes"));
    assert_eq!(first.header("last-event-id"), None);
    assert_eq!(requests[1].header("last-event-id"), Some("2"));
    assert_eq!(requests[1].header("x-custom"), Some("yes"));
}

#[test]
fn configured_last_event_id_is_sent_first() {
    let server = Server::start().unwrap();
    let client = start(config(&format!("{}/ticker?count=7", server.url())).last_event_id("5"));
    assert_eq!(data_of(&messages(&client, 2)), ["tick 6", "tick 7"]);
    assert_eq!(server.requests()[0].header("last-event-id"), Some("5"));
}

#[test]
fn no_last_event_id_after_the_server_resets_it_to_empty() {
    if skipped_when_driven("waits for a reconnection without pulling") {
        return;
    }
    let server = Server::start().unwrap();
    let stream = b64(b"id: 5\ndata: a\n\nid\ndata: b\n\n");
    let client = start(
        config(&format!("{}/raw?b64={stream}", server.url())).retry(|r| r.max_attempts = Some(1)),
    );
    let got = messages(&client, 2);
    assert_eq!(got[0].last_event_id, "5");
    assert_eq!(got[1].last_event_id, "");
    wait_until("a reconnection", || server.requests().len() >= 2);
    assert_eq!(server.requests()[1].header("last-event-id"), None);
    assert_eq!(client.last_event_id(), "");
}

#[test]
fn event_stream_content_type_in_any_case_with_parameters_opens() {
    let server = Server::start().unwrap();
    let url = format!(
        "{}/content-type?type=TEXT%2FEvent-Stream%3B%20charset%3Dutf-8",
        server.url()
    );
    let client = start(config(&url));
    match next(&client) {
        Item::Open { status, headers } => {
            assert_eq!(status, 200);
            assert!(headers.iter().any(|(n, _)| n == "content-type"));
        }
        other => panic!("expected open, got {other:?}"),
    }
    assert_eq!(data_of(&messages(&client, 1)), ["hello"]);
}

#[test]
fn other_content_type_is_a_fatal_content_type_error() {
    let server = Server::start().unwrap();
    let client = start(config(&format!(
        "{}/content-type?type=text/plain",
        server.url()
    )));
    let (items, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::ContentType);
    assert!(end.message.contains("text/plain"), "{}", end.message);
    assert_eq!(fatal_error(&items).kind, ErrorKind::ContentType);
    assert!(!items.iter().any(|i| matches!(i, Item::Message(_))));
    assert_eq!(server.requests().len(), 1, "not retried");
}

#[test]
fn no_content_204_stops_without_reconnecting() {
    let server = Server::start().unwrap();
    let client = start(config(&format!("{}/status/204", server.url())));
    let (items, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::Closed);
    assert_eq!(
        items.last(),
        Some(&Item::Closed {
            reason: CloseReason::NoContent
        })
    );
    std::thread::sleep(ms(100));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn redirects_of_every_kind_are_followed() {
    let server = Server::start().unwrap();
    for code in [301, 302, 303, 307, 308] {
        let url = format!(
            "{}/redirect?code={code}&to=/ticker%3Fcount%3D1",
            server.url()
        );
        let client = start(config(&url));
        assert_eq!(
            data_of(&messages(&client, 1)),
            ["tick 1"],
            "redirect {code}"
        );
    }
}

#[test]
fn redirect_without_location_is_an_error_not_a_loop() {
    let server = Server::start().unwrap();
    for query in ["code=302&to=", "code=307&missing=1"] {
        let before = server.requests().len();
        let client = start(config(&format!("{}/redirect?{query}", server.url())));
        let (items, end) = drain(&client);
        assert_eq!(end.kind, ErrorKind::HttpStatus, "{query}");
        assert!(
            end.message.contains("without a Location"),
            "{}",
            end.message
        );
        assert!(end.status.is_some());
        assert_eq!(fatal_error(&items).kind, ErrorKind::HttpStatus);
        assert_eq!(
            server.requests().len(),
            before + 1,
            "{query}: one request only"
        );
    }
}

#[test]
fn redirect_loops_are_bounded() {
    let server = Server::start().unwrap();
    let client = start(config(&format!("{}/redirect-loop", server.url())).max_redirects(5));
    let (_, end) = drain(&client);
    assert!(
        end.message.contains("too many redirects"),
        "{}",
        end.message
    );
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn authorization_is_dropped_on_a_redirect_to_another_origin_only() {
    let origin = Server::start().unwrap();
    let other = Server::start().unwrap();
    let to_other = format!("{}/echo", other.url())
        .replace(':', "%3A")
        .replace('/', "%2F");
    let client = start(
        config(&format!("{}/redirect?code=302&to={to_other}", origin.url()))
            .header("Authorization", "Bearer secret")
            .header("X-Kept", "1"),
    );
    messages(&client, 1);
    let seen = &other.requests()[0];
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("x-kept"), Some("1"));

    let same = start(
        config(&format!("{}/redirect?code=302&to=/echo", origin.url()))
            .header("Authorization", "Bearer secret"),
    );
    messages(&same, 1);
    // The first client may reconnect meanwhile: look for the echo request.
    let requests = origin.requests();
    let echoed = requests.iter().find(|r| r.path == "/echo").unwrap();
    assert_eq!(echoed.header("authorization"), Some("Bearer secret"));
}

#[test]
fn post_body_is_resent_on_307_and_308_and_dropped_on_303() {
    let server = Server::start().unwrap();
    let body = r#"{"prompt":"hi"}"#;
    for code in [307, 308] {
        let url = format!("{}/redirect?code={code}&to=/echo", server.url());
        let client = start(config(&url).method("POST").body(body));
        let echo = &messages(&client, 1)[0].data;
        assert!(echo.contains(r#""method":"POST""#), "{code}: {echo}");
        assert!(
            echo.contains(r#""body":"{\"prompt\":\"hi\"}""#),
            "{code}: {echo}"
        );
    }
    let url = format!("{}/redirect?code=303&to=/echo", server.url());
    let client = start(config(&url).method("POST").body(body));
    let echo = &messages(&client, 1)[0].data;
    assert!(echo.contains(r#""method":"GET""#), "{echo}");
    assert!(echo.contains(r#""body":"""#), "{echo}");
}

#[test]
fn post_with_json_body_streams_and_is_resent_on_reconnect() {
    if skipped_when_driven("waits for a reconnection without pulling") {
        return;
    }
    let server = Server::start().unwrap();
    let body = r#"{"model":"m","stream":true}"#;
    // A POST ends at a clean end by default: this one is a subscription.
    let client = start(
        config(&format!("{}/echo", server.url()))
            .method("POST")
            .header("Content-Type", "application/json")
            .body(body)
            .on_end(sse::OnEnd::Reconnect),
    );
    let first = messages(&client, 1);
    assert!(first[0]
        .data
        .contains(r#""content-type":"application/json""#));
    wait_until("a reconnection", || server.requests().len() >= 2);
    let requests = server.requests();
    for request in &requests[..2] {
        assert_eq!(request.method, "POST");
        assert_eq!(request.body, body.as_bytes());
    }
    assert_eq!(requests[1].header("last-event-id"), Some("echo"));
}

#[test]
fn non_standard_methods_work() {
    let server = Server::start().unwrap();
    let client = start(
        config(&format!("{}/echo", server.url()))
            .method("REPORT")
            .body("<q/>"),
    );
    let echo = &messages(&client, 1)[0].data;
    assert!(echo.contains(r#""method":"REPORT""#), "{echo}");
    assert!(echo.contains(r#""body":"<q/>""#), "{echo}");
}

#[test]
fn server_errors_and_429_are_retried_until_the_limit() {
    let server = Server::start().unwrap();
    let client =
        start(config(&format!("{}/status/503", server.url())).retry(|r| r.max_attempts = Some(2)));
    let (items, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted);
    let retried: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Error {
                error,
                fatal: false,
            } => Some(error.status),
            _ => None,
        })
        .collect();
    // Two retried, the third ends it: the final error keeps its status.
    assert_eq!(retried, [Some(503), Some(503)]);
    assert_eq!(end.status, Some(503), "{end}");
    assert!(end.message.contains("HTTP status 503"), "{end}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let server = Server::start().unwrap();
    let client = start(config(&format!(
        "{}/status/429?retry_after=3",
        server.url()
    )));
    let items = items_until(&client, |i| matches!(i, Item::Reconnecting { .. }));
    match &items[..] {
        [Item::Error {
            error,
            fatal: false,
        }, Item::Reconnecting { delay, .. }] => {
            assert_eq!(error.status, Some(429));
            assert_eq!(error.retry_after, Some(Duration::from_secs(3)));
            assert!(*delay >= Duration::from_secs(3), "{delay:?}");
        }
        other => panic!("unexpected items {other:?}"),
    }
    let closing = Instant::now();
    drop(client);
    assert!(
        closing.elapsed() < Duration::from_secs(1),
        "close cuts the wait"
    );
}

#[test]
fn client_errors_end_the_client_with_status_and_headers() {
    let server = Server::start().unwrap();
    let client = start(config(&format!("{}/status/404", server.url())));
    let (items, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::HttpStatus);
    assert_eq!(end.status, Some(404));
    assert!(end.headers.iter().any(|(n, _)| n == "x-request-number"));
    assert_eq!(fatal_error(&items).status, Some(404));
    assert_eq!(
        items.last(),
        Some(&Item::Closed {
            reason: CloseReason::Error
        })
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn error_policy_is_configurable() {
    let server = Server::start().unwrap();
    let policy = ErrorPolicy::Custom(std::sync::Arc::new(|e: &sse::Error| e.status == Some(404)));
    let client = start(
        config(&format!("{}/status/404", server.url()))
            .error_policy(policy)
            .retry(|r| r.max_attempts = Some(1)),
    );
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted);
    assert_eq!(server.requests().len(), 2);

    let never = start(
        config(&format!("{}/status/503", server.url())).error_policy(ErrorPolicy::NeverRetry),
    );
    assert_eq!(drain(&never).1.status, Some(503));
}

#[test]
fn gzip_streams_decode_and_deliver_each_event_when_flushed() {
    let server = Server::start().unwrap();
    let client = start(config(&format!(
        "{}/gzip?count=3&interval_ms=300",
        server.url()
    )));
    let first = messages(&client, 1);
    let first_at = Instant::now();
    let rest = messages(&client, 2);
    assert_eq!(data_of(&first), ["tick 1"]);
    assert_eq!(data_of(&rest), ["tick 2", "tick 3"]);
    // Event 2 was written 300 ms after event 1: had the client waited for
    // more compressed bytes, both would have come together.
    assert!(first_at.elapsed() >= ms(400), "events arrived as flushed");
    let request = &server.requests()[0];
    assert!(request
        .header("accept-encoding")
        .unwrap_or("")
        .contains("gzip"));
}

#[test]
fn messages_only_mode_hides_other_items_but_keeps_the_final_error() {
    let server = Server::start().unwrap();
    let client = start(
        config(&format!("{}/ticker?count=2&comment_every=1", server.url()))
            .messages_only(true)
            .retry(|r| r.reconnect = false),
    );
    let (items, end) = drain(&client);
    assert!(
        items.iter().all(|i| matches!(i, Item::Message(_))),
        "{items:?}"
    );
    assert_eq!(items.len(), 2);
    assert_eq!(end.kind, ErrorKind::Closed);
}

#[test]
fn comments_are_delivered_as_items() {
    let server = Server::start().unwrap();
    let client = start(config(&format!(
        "{}/ticker?count=1&comment_every=1",
        server.url()
    )));
    let items = items_until(&client, |i| matches!(i, Item::Comment(_)));
    assert_eq!(items.last(), Some(&Item::Comment("keep-alive".into())));
}

#[test]
fn batches_hand_out_every_item_in_order_with_each_events_own_retry() {
    let server = Server::start().unwrap();
    let body = b"retry: 1500\nevent: up\nid: 9\ndata: a\n\n: note\ndata: b\n\n";
    let url = format!("{}/raw?b64={}", server.url(), b64(body));
    let client = start(config(&url).retry(|r| r.reconnect = false));
    let mut items = Vec::new();
    loop {
        match client.next_batch(Some(PATIENCE)) {
            Ok(Some(batch)) => {
                assert!(!batch.is_empty());
                items.extend(batch.iter().map(|item| item.to_item()));
            }
            Ok(None) => panic!("no batch within {PATIENCE:?}"),
            Err(error) => {
                assert_eq!(error.kind, ErrorKind::Closed);
                break;
            }
        }
    }
    let messages: Vec<_> = items
        .iter()
        .filter_map(|item| match item {
            Item::Message(e) => Some((
                e.event_type.as_ref(),
                e.data.as_str(),
                e.last_event_id.as_str(),
                e.retry,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        [("up", "a", "9", Some(1500)), ("message", "b", "9", None)]
    );
    assert!(matches!(
        items.first(),
        Some(Item::Open { status: 200, .. })
    ));
    assert!(items.contains(&Item::Comment("note".into())));
    assert!(matches!(
        items.last(),
        Some(Item::Closed {
            reason: CloseReason::EndOfStream
        })
    ));
}

#[test]
fn large_request_heads_and_bodies_are_sent_whole() {
    let server = Server::start().unwrap();
    let cookie = "c".repeat(12 * 1024); // beyond a small fixed request buffer
    let body = "b".repeat(100 * 1024);
    let client = start(
        config(&format!("{}/echo", server.url()))
            .method("POST")
            .header("Cookie", &cookie)
            .body(body.as_str()),
    );
    let first = messages(&client, 1);
    assert!(first[0].data.contains(&cookie));
    let requests = server.requests();
    assert_eq!(requests[0].header("cookie"), Some(cookie.as_str()));
    assert_eq!(requests[0].body, body.as_bytes());
}

#[test]
fn an_id_too_long_for_the_request_buffer_resumes_without_it() {
    let server = Server::start().unwrap();
    // Request heads of any size are written: a long id goes out whole.
    for (id_len, sent) in [(500, true), (4000, true)] {
        let id = "i".repeat(id_len);
        let body = format!("id: {id}\ndata: x\n\n");
        let url = format!("{}/raw?b64={}", server.url(), b64(body.as_bytes()));
        let client = start(config(&url).retry(|r| r.max_attempts = Some(3)));
        let got = messages(&client, 2);
        assert_eq!(got[0].last_event_id, id);
        assert_eq!(data_of(&got), ["x", "x"], "reconnected, not failed");
        let requests = server.requests();
        let resumed = requests
            .iter()
            .rev()
            .find(|r| r.path.contains(&url[url.len() - 20..]));
        let header = resumed.expect("a request").header("last-event-id");
        assert_eq!(header.is_some(), sent, "id of {id_len} bytes");
        drop(client);
    }
}

/// Issue 13 item 1: a type filter delivers only the chosen types (an event
/// without `event:` is `message`); comments still come; an event filtered
/// out still moves the resume point, so the reconnection sends its id.
#[test]
fn only_chosen_event_types_are_delivered_and_filtered_ids_still_count() {
    let server = Server::start().unwrap();
    let body = "event: update\nid: 1\ndata: u1\n\n\
                id: 2\ndata: plain\n\n\
                : keep-alive\n\n\
                event: other\nid: 3\ndata: o1\n\n";
    let url = format!("{}/raw?b64={}", server.url(), b64(body.as_bytes()));
    let client = start(config(&url).event_type("update").event_type("message"));
    let mut seen = Vec::new();
    let mut comments = 0;
    while seen.len() < 4 {
        match next(&client) {
            Item::Message(event) => {
                seen.push((event.event_type.to_string(), event.data.to_string()))
            }
            Item::Comment(_) => comments += 1,
            _ => {}
        }
    }
    let first_round: Vec<(String, String)> = vec![
        ("update".into(), "u1".into()),
        ("message".into(), "plain".into()),
    ];
    assert_eq!(seen[..2], first_round[..]);
    assert_eq!(
        seen[2..],
        first_round[..],
        "the second connection, same filter"
    );
    assert!(comments >= 1);
    let requests = server.requests();
    assert_eq!(
        requests[1].header("last-event-id"),
        Some("3"),
        "the filtered event's id"
    );
    // A type that can never come on a line is refused.
    let error = sse::Config::builder("http://127.0.0.1:1/")
        .event_type("a\nb")
        .build()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument, "{error}");
}
