//! A wait set: one descriptor for many clients, and the tokens of those
//! with news, against the real loopback server.

mod common;

use std::collections::HashMap;
use std::time::Instant;

use common::*;
use sse::{Item, OnEnd, WaitSet};

#[test]
fn one_descriptor_tells_which_of_many_clients_have_news() {
    let server = Server::start().unwrap();
    let set = WaitSet::new().unwrap();
    let clients: Vec<_> = (0..40u64)
        .map(|i| {
            let url = format!("{}/ticker?count=5&interval_ms={}", server.url(), 5 + i % 7);
            let client = start(config(&url).on_end(OnEnd::End).messages_only(true));
            client.join_wait_set(&set, 1000 + i).unwrap();
            client
        })
        .collect();
    assert!(
        clients[0].join_wait_set(&set, 1).is_err(),
        "one set per client"
    );
    let mut messages: HashMap<u64, usize> = HashMap::new();
    let mut ended = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while ended.len() < clients.len() {
        assert!(
            Instant::now() < deadline,
            "{} of {} ended",
            ended.len(),
            clients.len()
        );
        if !readable(set.fd(), 1000) {
            continue;
        }
        tokens.clear();
        set.take(&mut tokens, 16);
        for &token in &tokens {
            let client = &clients[(token - 1000) as usize];
            // Everything there is now: listed again only for later news.
            loop {
                match client.next(Some(ms(0))) {
                    Ok(Some(Item::Message(_))) => *messages.entry(token).or_default() += 1,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    // Listed again after its end, it stays ended.
                    Err(_) => {
                        ended.insert(token);
                        break;
                    }
                }
            }
        }
    }
    assert_eq!(messages.len(), 40);
    assert!(messages.values().all(|&n| n == 5), "{messages:?}");
    // Nothing left but ended clients: then the descriptor is quiet.
    tokens.clear();
    set.take(&mut tokens, 100);
    assert!(tokens.iter().all(|t| ended.contains(t)), "{tokens:?}");
    assert!(!readable(set.fd(), 0));
}

#[test]
fn joining_late_lists_a_client_that_has_news_already() {
    if skipped_when_driven("waits for items to queue before it joins the wait set") {
        return;
    }
    let server = Server::start().unwrap();
    let client = start(config(&format!("{}/ticker?count=1", server.url())).on_end(OnEnd::End));
    wait_until("queued items", || client.queued() > 0);
    let set = WaitSet::new().unwrap();
    client.join_wait_set(&set, 7).unwrap();
    assert!(readable(set.fd(), 0));
    let mut tokens = Vec::new();
    set.take(&mut tokens, 10);
    assert_eq!(tokens, [7]);
}
