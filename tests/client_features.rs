//! The features of issue 13 against the real loopback server: what a
//! clean end does by method, a refusal's body in its error, the request
//! hook run before every connection attempt, and the counters.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use common::*;
use sse::{CloseReason, ErrorKind, Item, OnEnd, RequestHook};

fn closed_reason(items: &[Item]) -> Option<CloseReason> {
    items.iter().find_map(|item| match item {
        Item::Closed { reason } => Some(*reason),
        _ => None,
    })
}

fn count_messages(items: &[Item]) -> usize {
    items
        .iter()
        .filter(|i| matches!(i, Item::Message(_)))
        .count()
}

#[test]
fn a_post_stream_ends_at_its_clean_end_by_default_and_get_reconnects() {
    let server = Server::start().unwrap();
    let url = format!("{}/ticker?count=3", server.url());
    let post = start(config(&url).method("POST").body("{}"));
    let (items, end) = drain(&post);
    assert_eq!(end.kind, ErrorKind::Closed, "{end}");
    assert_eq!(closed_reason(&items), Some(CloseReason::EndOfStream));
    assert_eq!(count_messages(&items), 3);
    assert!(!items.iter().any(|i| matches!(i, Item::Reconnecting { .. })));
    let posts = |server: &Server| {
        server
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    assert_eq!(posts(&server), 1, "one request, one answer");

    // GET (the default) reconnects with Last-Event-ID; so does a POST told to.
    for builder in [
        config(&url),
        config(&url)
            .method("POST")
            .body("{}")
            .on_end(OnEnd::Reconnect),
    ] {
        let client = start(builder);
        let items = items_until(&client, |i| matches!(i, Item::Reconnecting { .. }));
        assert_eq!(count_messages(&items), 3);
        assert!(matches!(next(&client), Item::Open { .. }));
    }
    // And a GET told to end, ends.
    let get = start(config(&url).on_end(OnEnd::End));
    let (items, _) = drain(&get);
    assert_eq!(closed_reason(&items), Some(CloseReason::EndOfStream));
}

#[test]
fn a_refusal_keeps_the_first_bytes_of_its_body() {
    let server = Server::start().unwrap();
    let url = format!(
        "{}/status/401?type=application/json&body=%7B%22error%22%3A%22bad%20key%22%7D",
        server.url()
    );
    let client = start(config(&url));
    let (items, end) = drain(&client);
    assert_eq!(end.status, Some(401));
    assert_eq!(end.body, br#"{"error":"bad key"}"#);
    let item = items
        .iter()
        .find_map(|i| match i {
            Item::Error { error, fatal: true } => Some(error),
            _ => None,
        })
        .expect("a fatal error item");
    assert_eq!(item.body, end.body);
    // Retried refusals carry theirs too; an empty body is empty.
    let empty = format!("{}/status/503?body=", server.url());
    let client = start(config(&empty).retry(|r| r.max_attempts = Some(1)));
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted);
    assert_eq!(end.status, Some(503));
    assert!(end.body.is_empty(), "{:?}", end.body);
}

#[test]
fn the_request_hook_runs_before_every_attempt_and_its_headers_and_query_are_sent() {
    let server = Server::start().unwrap();
    let url = format!("{}/echo?static=1", server.url());
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let hook = RequestHook::new(move |request| {
        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
        request
            .set_header("Authorization", &format!("Bearer token-{n}"))
            .map_err(|e| e.message)?;
        request.remove_header("X-Drop");
        request
            .set_query(Some(&format!("attempt={n}")))
            .map_err(|e| e.message)
    });
    let client = start(
        config(&url)
            .header("Authorization", "Bearer stale")
            .header("X-Drop", "1")
            .request_hook(hook),
    );
    // /echo answers one event and ends: each connection is one attempt.
    let echoes = messages(&client, 3);
    drop(client);
    for (i, echo) in echoes.iter().enumerate() {
        let n = i + 1;
        assert!(
            echo.data.contains(&format!("Bearer token-{n}")),
            "attempt {n}: {}",
            echo.data
        );
        assert!(
            echo.data.contains(&format!("/echo?attempt={n}")),
            "{}",
            echo.data
        );
        assert!(!echo.data.contains("stale") && !echo.data.contains("x-drop"));
    }
    assert!(calls.load(Ordering::SeqCst) >= 3);
}

#[test]
fn a_failing_hook_is_an_error_item_and_the_attempt_is_retried() {
    let server = Server::start().unwrap();
    let url = format!("{}/echo", server.url());
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let hook = RequestHook::new(
        move |request| match counted.fetch_add(1, Ordering::SeqCst) {
            0 => Err("token service down".into()),
            // A refused value fails the attempt even if the hook says Ok.
            1 => {
                let _ = request.set_header("X-Token", "a\r\nInjected: yes");
                Ok(())
            }
            _ => request.set_header("X-Token", "good").map_err(|e| e.message),
        },
    );
    let client = start(config(&url).request_hook(hook));
    let items = items_until(&client, |i| matches!(i, Item::Message(_)));
    let errors: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Error { error, fatal } => Some((error, *fatal)),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2, "{items:?}");
    for (error, fatal) in &errors {
        assert_eq!(error.kind, ErrorKind::RequestHook);
        assert!(!fatal);
    }
    assert_eq!(errors[0].0.message, "request hook: token service down");
    assert!(errors[1].0.message.contains("invalid"), "{}", errors[1].0);
    let Some(Item::Message(echo)) = items.last() else {
        unreachable!()
    };
    assert!(echo.data.contains(r#""x-token":"good""#), "{}", echo.data);
    assert!(!server
        .requests()
        .iter()
        .any(|r| r.header("injected").is_some()));
}

#[test]
fn counters_follow_the_stream() {
    let server = Server::start().unwrap();
    let url = format!("{}/ticker?count=4", server.url());
    let client = start(config(&url).on_end(OnEnd::End));
    let fresh = client.stats();
    assert_eq!((fresh.events, fresh.connections, fresh.errors), (0, 0, 0));
    let (items, _) = drain(&client);
    let data_bytes: usize = items
        .iter()
        .filter_map(|i| match i {
            Item::Message(e) => Some(e.data.len()),
            _ => None,
        })
        .sum();
    let stats = client.stats();
    assert_eq!(stats.events, 4);
    assert_eq!(stats.data_bytes, data_bytes as u64);
    assert!(stats.wire_bytes > stats.data_bytes, "{stats:?}");
    assert_eq!(
        (stats.connections, stats.reconnects, stats.errors),
        (1, 0, 0)
    );
    assert!(!stats.connected);
    assert!(stats.last_event_at.is_some() && stats.last_error.is_none());
    assert!(stats.queue_peak >= 1 && stats.queue_depth == 0, "{stats:?}");

    // Refusals: errors by kind, the last error, reconnects.
    let url = format!("{}/status/503", server.url());
    let client = start(config(&url).retry(|r| r.max_attempts = Some(2)));
    drain(&client);
    let stats = client.stats();
    assert_eq!(stats.connections, 0);
    assert_eq!(stats.reconnects, 2);
    assert_eq!(stats.errors, 3, "two retried, one fatal: {stats:?}");
    assert_eq!(stats.errors_of(ErrorKind::HttpStatus), 2);
    assert_eq!(stats.errors_of(ErrorKind::RetriesExhausted), 1);
    let last = stats.last_error.expect("a last error");
    assert_eq!(last.kind, ErrorKind::RetriesExhausted);
    assert!(last.message.contains("503"), "{}", last.message);
}

#[test]
fn counters_count_what_the_type_filter_and_messages_only_let_through() {
    let server = Server::start().unwrap();
    let url = format!("{}/ticker?count=6&event=tick", server.url());
    let client = start(
        config(&url)
            .on_end(OnEnd::End)
            .messages_only(true)
            .event_type("other"),
    );
    drain(&client);
    let stats = client.stats();
    assert_eq!(stats.events, 0, "filtered out: {stats:?}");
    // The open item was hidden from the consumer, not from the counters.
    assert_eq!(stats.connections, 1);
}

#[test]
fn ids_of_filtered_events_move_the_clients_last_event_id_too() {
    let server = Server::start().unwrap();
    let url = format!("{}/ticker?count=3&event=tick", server.url());
    let client = start(config(&url).on_end(OnEnd::End).event_type("other"));
    let (items, _) = drain(&client);
    assert_eq!(count_messages(&items), 0);
    assert_eq!(client.last_event_id(), "3");
}
