//! Clients on the engine loop (the only engine): one background thread
//! for every stream of the process (unless a client asks for its own), no
//! thread per client, backpressure through the queue's room hook. Every
//! client test runs on the loop; these check what is particular to it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sse::{Client, Item, ItemRef};

/// How many threads of this process carry `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn many_clients_share_one_loop_thread() {
    if skipped_when_driven("clients on one shared loop") {
        return;
    }
    let server = Server::start().unwrap();
    let clients: Vec<Client> = (0..300)
        .map(|_| start(config(&format!("{}/ticker?interval_ms=20", server.url()))))
        .collect();
    for client in &clients {
        let items = items_until(
            client,
            |i| matches!(i, Item::Message(e) if e.last_event_id == "2"),
        );
        assert_eq!(message_ids(&items), [1, 2]);
    }
    assert_eq!(threads_named("libsse-engine"), 1);
    let closing = Instant::now();
    drop(clients);
    assert!(
        closing.elapsed() < Duration::from_secs(5),
        "{:?}",
        closing.elapsed()
    );
}

#[test]
fn a_consumer_that_falls_behind_pauses_its_stream_and_loses_nothing() {
    let server = Server::start().unwrap();
    let count = 5000;
    let client = start(
        config(&format!(
            "{}/ticker?interval_ms=0&count={count}",
            server.url()
        ))
        .queue_capacity(16)
        .retry(|r| r.reconnect = false),
    );
    std::thread::sleep(Duration::from_millis(300));
    // Bounded: a little over the capacity (the batch that found room).
    let queued = client.queued();
    assert!(
        queued < 16 + 600,
        "{queued} items queued with a capacity of 16"
    );
    let (items, end) = drain(&client);
    assert_eq!(end.kind, sse::ErrorKind::Closed, "{end}");
    let expected: Vec<u64> = (1..=count).collect();
    assert_eq!(message_ids(&items), expected);
}

#[test]
fn a_paused_stream_does_not_hold_up_the_others_on_its_loop() {
    if skipped_when_driven("streams on one shared loop") {
        return;
    }
    let server = Server::start().unwrap();
    // Never read: its queue fills and the loop stops reading it.
    let stalled =
        start(config(&format!("{}/ticker?interval_ms=0", server.url())).queue_capacity(16));
    wait_until("the stalled stream to queue items", || {
        stalled.queued() >= 1
    });
    std::thread::sleep(ms(300)); // its next batch finds no room: paused
    let live = start(config(&format!("{}/ticker?interval_ms=2", server.url())));
    let items = items_until(
        &live,
        |i| matches!(i, Item::Message(e) if e.last_event_id == "200"),
    );
    assert_eq!(message_ids(&items), (1..=200).collect::<Vec<u64>>());
    assert_eq!(threads_named("libsse-engine"), 1, "both on the shared loop");
    // Still paused, still bounded, and it resumes losing nothing.
    let queued = stalled.queued();
    assert!(queued < 16 + 2000, "{queued} queued with a capacity of 16");
    let ids = message_ids(&(0..3000).map(|_| next(&stalled)).collect::<Vec<_>>());
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<u64>>());
}

#[test]
fn small_events_one_chunk_each_arrive_in_multi_event_batches() {
    let server = Server::start().unwrap();
    let count = 20_000;
    let client = start(
        config(&format!(
            "{}/fast?count={count}&size=40&chunk=event",
            server.url()
        ))
        .messages_only(true)
        .retry(|r| r.reconnect = false),
    );
    let (mut events, mut batches, mut largest) = (0, 0, 0);
    loop {
        match client.next_batch(Some(PATIENCE)) {
            Ok(Some(batch)) => {
                events += batch.len();
                batches += 1;
                largest = largest.max(batch.len());
            }
            Ok(None) => panic!("no batch within {PATIENCE:?}"),
            Err(_) => break,
        }
    }
    assert_eq!(events, count);
    // One read of up to 64 KiB carries ~1,200 one-chunk events: they come
    // as one batch, not one batch per chunk.
    assert!(largest > 100, "largest batch {largest} events");
    assert!(batches < count / 10, "{batches} batches for {count} events");
}

#[test]
fn callbacks_run_on_the_loop_thread_where_pulls_are_refused() {
    let server = Server::start().unwrap();
    let client = Arc::new(start(config(&format!(
        "{}/ticker?interval_ms=5",
        server.url()
    ))));
    let seen = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (count, pulls, weak) = (seen.clone(), refused.clone(), Arc::downgrade(&client));
    client.set_callback(Box::new(move |item, _| {
        if let ItemRef::Message(_) = item {
            let Some(client) = weak.upgrade() else {
                return;
            };
            // Items queued before set_callback are handed over inside it,
            // on the test's thread (a tick may come first on a busy
            // machine): only the loop thread's calls are counted.
            if std::thread::current().name() != Some("libsse-engine") {
                return;
            }
            assert!(client.on_worker_thread());
            count.fetch_add(1, Ordering::SeqCst);
            if client.next(Some(Duration::ZERO)).is_err() {
                pulls.fetch_add(1, Ordering::SeqCst);
            }
        }
    }));
    let deadline = Instant::now() + PATIENCE;
    while seen.load(Ordering::SeqCst) < 5 {
        assert!(Instant::now() < deadline, "the callback got no events");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(client);
    assert!(refused.load(Ordering::SeqCst) >= 5);
}

#[test]
fn https_streams_run_on_the_loop_too_with_verification() {
    let server = Server::start_with(sse_demo_server::ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let url = format!("{}/ticker?count=3&interval_ms=5", server.url());
    let clients: Vec<Client> = (0..20)
        .map(|_| start(config(&url).ca_pem(server.ca_pem().unwrap())))
        .collect();
    for client in &clients {
        let items = items_until(
            client,
            |i| matches!(i, Item::Message(e) if e.last_event_id == "3"),
        );
        assert_eq!(message_ids(&items), [1, 2, 3]);
    }
    // Without the CA: verification fails, a TLS error, not retried.
    let unverified = start(config(&url));
    let (_, end) = drain(&unverified);
    assert_eq!(end.kind, sse::ErrorKind::Tls, "{end}");
    assert!(end.message.to_lowercase().contains("certificate"), "{end}");
}

#[test]
fn proxied_streams_run_on_the_loop_too() {
    let server = Server::start_with(sse_demo_server::ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let proxy = ConnectProxy::start(server.addr());
    let clients: Vec<Client> = (0..10)
        .map(|_| {
            start(
                config("https://localhost/ticker?count=2")
                    .retry(|r| r.reconnect = false) // one CONNECT each
                    .ca_pem(server.ca_pem().unwrap())
                    .proxy(sse::ProxySetting::Url(format!("http://u:p@{}", proxy.addr))),
            )
        })
        .collect();
    for client in &clients {
        let items = items_until(
            client,
            |i| matches!(i, Item::Message(e) if e.last_event_id == "2"),
        );
        assert_eq!(message_ids(&items), [1, 2]);
    }
    assert_eq!(proxy.targets().len(), 10);
    assert!(
        proxy.targets().iter().all(|t| t == "localhost:443"),
        "{:?}",
        proxy.targets()
    );
    assert!(
        proxy.authorizations().iter().all(|a| a == "Basic dTpw"),
        "{:?}",
        proxy.authorizations()
    );
}

/// A callback that blocks holds up the shared loop thread, so every client
/// on it; a client given a thread of its own goes on.
#[test]
fn a_blocking_callback_does_not_stall_a_client_with_its_own_thread() {
    if skipped_when_driven("compares the shared loop with an own thread") {
        return;
    }
    let server = Server::start().unwrap();
    let ticker = format!("{}/ticker?interval_ms=5", server.url());
    let shared = start(config(&ticker));
    let own = start(config(&ticker).own_thread(true));
    // Wait until both stream, then block the shared thread in a callback.
    for client in [&shared, &own] {
        items_until(client, |i| matches!(i, Item::Message(_)));
    }
    let blocker = start(config(&ticker));
    let blocking = Arc::new(AtomicUsize::new(0));
    let flag = blocking.clone();
    // The callback blocks the loop until the counting below is done (not
    // for a fixed time: a starved test thread must not end the block
    // before it counts). Only on the loop thread: `set_callback` hands
    // what queued before to the callback on the caller's thread.
    let (release, released) = std::sync::mpsc::channel::<()>();
    blocker.set_callback(Box::new(move |item, _| {
        let on_loop = std::thread::current().name() == Some("libsse-engine");
        if matches!(item, ItemRef::Message(_))
            && on_loop
            && flag.fetch_add(1, Ordering::SeqCst) == 0
        {
            let _ = released.recv_timeout(PATIENCE);
        }
    }));
    let deadline = Instant::now() + PATIENCE;
    while blocking.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the blocking callback never ran");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Drop what queued before, then count what arrives while it blocks.
    let mut drained = Vec::new();
    shared.try_next_batch(&mut drained, usize::MAX);
    own.try_next_batch(&mut drained, usize::MAX);
    std::thread::sleep(Duration::from_millis(700));
    let (mut on_shared, mut on_own) = (Vec::new(), Vec::new());
    shared.try_next_batch(&mut on_shared, usize::MAX);
    own.try_next_batch(&mut on_own, usize::MAX);
    release.send(()).unwrap();
    assert!(
        on_own.len() >= 20,
        "own thread: {} items in 700 ms",
        on_own.len()
    );
    assert!(
        on_shared.len() * 2 < on_own.len(),
        "the shared loop was not held up: {} vs {}",
        on_shared.len(),
        on_own.len()
    );
    assert_eq!(
        threads_named("libsse-engine"),
        2,
        "the shared loop and the own one"
    );
}

/// A request body larger than rustls' send buffer goes out whole over TLS
/// (the rest used to wait for a writable event that never came).
#[test]
fn a_large_request_body_goes_out_over_tls() {
    let server = Server::start_with(sse_demo_server::ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap();
    for size in [100 * 1024, 1024 * 1024, 4 * 1024 * 1024] {
        let body = "b".repeat(size);
        let client = start(
            config(&format!("{}/echo", server.url()))
                .method("POST")
                .body(body.clone())
                .ca_pem(server.ca_pem().unwrap())
                .retry(|r| r.reconnect = false),
        );
        let echo = &messages(&client, 1)[0].data;
        assert!(
            echo.contains(&body),
            "{size} bytes: echo of {} bytes",
            echo.len()
        );
    }
}

/// A callback that panics ends its own stream with an internal error; the
/// loop and the other streams go on, and new clients still start.
#[test]
fn a_panicking_callback_ends_only_its_own_stream() {
    let server = Server::start().unwrap();
    let ticker = format!("{}/ticker?interval_ms=5", server.url());
    let other = start(config(&ticker));
    items_until(&other, |i| matches!(i, Item::Message(_)));
    let panicking = start(config(&ticker));
    panicking.set_callback(Box::new(|item, _| {
        if matches!(item, ItemRef::Message(_)) {
            panic!("a bug in the user's callback");
        }
    }));
    let deadline = Instant::now() + PATIENCE;
    while !panicking.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the panicking client never ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let end = panicking.next(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(end.kind, sse::ErrorKind::Internal, "{end}");
    // The others stream on, and a new client starts and streams.
    let before = message_ids(&items_until(&other, |i| matches!(i, Item::Message(_))));
    let after = message_ids(&items_until(&other, |i| matches!(i, Item::Message(_))));
    assert!(after[0] > before[0]);
    let fresh = start(config(&format!("{}/ticker?count=2", server.url())));
    let items = items_until(
        &fresh,
        |i| matches!(i, Item::Message(e) if e.last_event_id == "2"),
    );
    assert_eq!(message_ids(&items), [1, 2]);
}

/// A server that accepts the TCP connection and never answers the TLS
/// handshake: the connect timeout ends it (it waited for the read timeout,
/// or forever without one).
#[test]
fn the_connect_timeout_bounds_the_tls_handshake() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(3));
        drop(held);
    });
    let started = Instant::now();
    let client = start(
        config(&url)
            .connect_timeout(Duration::from_millis(300))
            .read_timeout(None)
            .retry(|r| r.reconnect = false),
    );
    let (_, end) = drain(&client);
    assert_eq!(end.kind, sse::ErrorKind::Connect, "{end}");
    assert!(end.message.contains("TLS handshake"), "{end}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    holder.join().unwrap();
}

/// The loop and resolver threads keep process signals off (as the thread
/// engine's workers do): Ctrl-C reaches the application's threads.
#[test]
fn library_threads_block_signals() {
    let server = Server::start().unwrap();
    let url = format!("http://localhost:{}/ticker?count=1", server.addr().port());
    let client = start(config(&url).retry(|r| r.reconnect = false));
    items_until(&client, |i| matches!(i, Item::Message(_)));
    let mut checked = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != "libsse-engine" && comm.trim_end() != "libsse-dns" {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let blocked = status
            .lines()
            .find(|l| l.starts_with("SigBlk:"))
            .unwrap_or("");
        let mask =
            u64::from_str_radix(blocked.trim_start_matches("SigBlk:").trim(), 16).unwrap_or(0);
        let sigint = 1 << (2 - 1); // SIGINT is signal 2 on Linux
        assert_ne!(
            mask & sigint,
            0,
            "{} lets SIGINT in: {blocked}",
            comm.trim_end()
        );
        checked += 1;
    }
    assert!(checked >= 2, "{checked} library threads seen");
}
