//! Clients driven by their callers (`ConfigBuilder::driven_by_caller`):
//! the stream is read inside `next`/`next_batch` on the pulling thread,
//! with no background thread, until a descriptor, a wait set or a callback
//! moves it to a thread of its own. (`make test` also runs the other
//! client suites with every client driven: `LIBSSE_TEST_DRIVEN`.)
//!
//! The tests count this process's libsse threads: they run one at a time.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use sse::{Client, CloseReason, Item, ItemRef};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn driven_client(url: &str) -> Client {
    start(config(url).driven_by_caller(true))
}

#[test]
fn the_pulling_thread_reads_the_stream_with_no_thread_of_libsse() {
    let _serial = serial();
    let server = Server::start().unwrap();
    // Dropped after 3 events each time: the reconnections (from the last
    // id) happen inside the pulls too.
    let url = format!("{}/ticker?count=0&interval_ms=2&drop_after=3", server.url());
    let client = driven_client(&url);
    let events = messages(&client, 12);
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.last_event_id.parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=12).collect::<Vec<u64>>());
    assert_eq!(engine_threads(), 0, "a loop thread ran the driven stream");
    assert!(
        server.requests().len() >= 4,
        "{} requests",
        server.requests().len()
    );
    let resumed = server.requests()[1]
        .header("last-event-id")
        .map(str::to_owned);
    assert_eq!(resumed.as_deref(), Some("3"));
}

#[test]
fn a_stream_nobody_pulls_is_not_read_and_never_connects() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let hooked = Arc::new(AtomicUsize::new(0));
    let counter = hooked.clone();
    let client = start(
        config(&format!("{}/ticker?interval_ms=1", server.url()))
            .driven_by_caller(true)
            .request_hook(sse::RequestHook::new(move |_request| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })),
    );
    std::thread::sleep(ms(200));
    assert!(
        server.requests().is_empty(),
        "connected with nobody pulling"
    );
    assert_eq!(client.queued(), 0);
    // Its first pull connects (the hook runs on this thread, in the pull).
    messages(&client, 1);
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    // Nothing is read between pulls: the queue stays as the pull left it.
    let queued = client.queued();
    std::thread::sleep(ms(100));
    assert_eq!(client.queued(), queued, "read while nobody pulled");
    drop(client);
    let never = driven_client(&format!("{}/ticker", server.url()));
    drop(never);
    std::thread::sleep(ms(50));
    assert_eq!(
        server.requests().len(),
        1,
        "a client never pulled connected"
    );
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
}

#[test]
fn a_close_from_another_thread_ends_a_waiting_pull_at_once() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let client = Arc::new(driven_client(&format!("{}/silent", server.url())));
    let closer = {
        let client = client.clone();
        std::thread::spawn(move || {
            std::thread::sleep(ms(300));
            let asked = Instant::now();
            client.close();
            asked
        })
    };
    let (items, end) = drain(&client);
    let ended = Instant::now();
    let asked = closer.join().unwrap();
    assert!(
        matches!(items.first(), Some(Item::Open { .. })),
        "{items:?}"
    );
    assert_eq!(
        items.last(),
        Some(&Item::Closed {
            reason: CloseReason::ClosedByUser
        })
    );
    assert_eq!(end.kind, sse::ErrorKind::Closed);
    // Against a hang only: a close waits for nothing (benches measure it).
    assert!(
        ended - asked < Duration::from_secs(2),
        "{:?}",
        ended - asked
    );
}

#[test]
fn a_timeout_passes_on_a_silent_stream_and_the_stream_goes_on() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let client = driven_client(&format!("{}/silent", server.url()));
    assert!(matches!(next(&client), Item::Open { .. }));
    let asked = Instant::now();
    assert!(matches!(client.next(Some(ms(100))), Ok(None)));
    assert!(asked.elapsed() >= ms(100), "{:?}", asked.elapsed());
    assert!(matches!(client.next(Some(Duration::ZERO)), Ok(None)));
    assert_eq!(server.requests().len(), 1, "the silent stream was dropped");
}

#[test]
fn the_descriptor_moves_the_stream_to_a_thread_of_its_own() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let client = driven_client(&format!("{}/ticker?count=0&interval_ms=5", server.url()));
    messages(&client, 2);
    assert_eq!(engine_threads(), 0);
    let fd = client.notify_fd().unwrap();
    wait_until("a thread to take the stream", || engine_threads() == 1);
    // Now items queue while nobody pulls, and the descriptor says so.
    wait_until("items queued by the thread", || client.queued() > 0);
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(unsafe { libc::poll(&mut pollfd, 1, 5000) }, 1);
    let ids = message_ids(&(0..20).map(|_| next(&client)).collect::<Vec<_>>());
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    drop(client);
    wait_until("its thread to be joined", || engine_threads() == 0);
}

#[test]
fn a_callback_moves_the_stream_to_a_thread_of_its_own() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let client = driven_client(&format!("{}/ticker?count=0&interval_ms=5", server.url()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client.set_callback(Box::new(move |item, _| {
        if let ItemRef::Message(event) = item {
            let on_thread = std::thread::current().name() == Some("libsse-engine");
            sink.lock()
                .unwrap()
                .push((event.data.to_owned(), on_thread));
        }
    }));
    wait_until("ten events through the callback", || {
        seen.lock().unwrap().len() >= 10
    });
    assert!(seen.lock().unwrap().iter().all(|(_, on_thread)| *on_thread));
    drop(client);
    wait_until("its thread to be joined", || engine_threads() == 0);
}

#[test]
fn two_threads_pulling_one_client_share_its_events_once_each() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let count = 3000;
    let client = Arc::new(start(
        config(&format!("{}/ticker?count={count}", server.url()))
            .driven_by_caller(true)
            .messages_only(true)
            .retry(|r| r.reconnect = false),
    ));
    let pullers: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut items = Vec::new();
                loop {
                    match client.next(Some(PATIENCE)) {
                        Ok(Some(item)) => items.push(item),
                        Ok(None) => panic!("no item within {PATIENCE:?}"),
                        Err(end) => {
                            assert_eq!(end.kind, sse::ErrorKind::Closed, "{end}");
                            return items;
                        }
                    }
                }
            })
        })
        .collect();
    let items: Vec<Item> = pullers
        .into_iter()
        .flat_map(|p| p.join().unwrap())
        .collect();
    let mut ids = message_ids(&items);
    ids.sort_unstable();
    assert_eq!(ids, (1..=count).collect::<Vec<u64>>());
}

#[test]
fn a_name_is_looked_up_off_the_pulling_thread() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let url = format!("http://localhost:{}/ticker?count=3", server.addr().port());
    let client = start(
        config(&url)
            .driven_by_caller(true)
            .retry(|r| r.reconnect = false),
    );
    let (items, _) = drain(&client);
    assert_eq!(message_ids(&items), [1, 2, 3]);
}

#[test]
fn a_backlog_moves_the_stream_to_a_thread_that_reads_ahead() {
    let _serial = serial();
    let server = Server::start().unwrap();
    // A live stream (small reads) stays on the pulling thread...
    let live = driven_client(&format!("{}/ticker?count=0&interval_ms=1", server.url()));
    messages(&live, 50);
    assert_eq!(engine_threads(), 0);
    drop(live);
    // ...a server far ahead of the caller (reads of 16 KiB or more in a row)
    // gets a thread that reads ahead while the caller takes the items.
    let count = 200_000;
    let client = start(
        config(&format!("{}/fast?count={count}&size=40", server.url()))
            .driven_by_caller(true)
            .messages_only(true)
            .retry(|r| r.reconnect = false),
    );
    // The caller is slow (2 ms per batch) until its stream moves, so the
    // server is far ahead on any machine: a caller as quick as the server
    // (many idle cores, slow wake-ups) reads no backlog.
    let mut events = 0;
    let mut moved = false;
    while let Ok(Some(batch)) = client.next_batch(Some(PATIENCE)) {
        events += batch.len();
        if !moved {
            moved = engine_threads() == 1;
            std::thread::sleep(ms(2));
        }
    }
    assert_eq!(events, count);
    assert_eq!(engine_threads(), 1, "no thread read ahead of the backlog");
    drop(client);
    wait_until("its thread to be joined", || engine_threads() == 0);
}

#[test]
fn dropping_a_driven_client_ends_its_stream_on_the_spot() {
    let _serial = serial();
    let server = Server::start().unwrap();
    // Pulled (connected) or never pulled: nothing else runs its loop, so
    // the drop itself ends the stream; it used to wait out the 200 ms
    // grace for a loop thread that does not exist.
    for pulled in [true, false] {
        let client = driven_client(&format!("{}/silent", server.url()));
        if pulled {
            assert!(matches!(next(&client), Item::Open { .. }));
        }
        let asked = Instant::now();
        drop(client);
        let took = asked.elapsed();
        assert!(took < ms(150), "pulled {pulled}: the drop took {took:?}");
    }
    wait_until("the connection to be closed", || {
        server.open_connections() == 0
    });
}

#[test]
fn the_request_hook_may_ask_for_the_descriptor_but_not_pull() {
    let _serial = serial();
    let server = Server::start().unwrap();
    // The hook runs inside a pull of its own client, on the pulling thread:
    // a pull from there is refused (it would wait for itself), a
    // descriptor is given and the loop moves to a thread once the pull
    // lets go (it used to hang on its own lock).
    let slot: Arc<std::sync::OnceLock<std::sync::Weak<Client>>> = Arc::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (hook_slot, hook_seen) = (slot.clone(), seen.clone());
    let hook = sse::RequestHook::new(move |_request| {
        if let Some(client) = hook_slot.get().and_then(std::sync::Weak::upgrade) {
            let pulled = client.next(Some(Duration::ZERO)).map(|_| ());
            let fd = client.notify_fd();
            hook_seen.lock().unwrap().push((pulled, fd.is_ok()));
        }
        Ok(())
    });
    let client = Arc::new(start(
        config(&format!("{}/ticker?count=0&interval_ms=5", server.url()))
            .driven_by_caller(true)
            .request_hook(hook),
    ));
    slot.set(Arc::downgrade(&client)).unwrap();
    messages(&client, 3);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].0.as_ref().map_err(|e| e.kind),
        Err(sse::ErrorKind::InvalidArgument)
    );
    assert!(seen[0].1, "no descriptor from inside the hook");
    wait_until("the loop to move to a thread", || engine_threads() == 1);
    drop(client);
    wait_until("its thread to be joined", || engine_threads() == 0);
}

#[test]
fn a_close_with_nobody_pulling_closes_the_connection_at_once() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let client = driven_client(&format!("{}/ticker?count=0&interval_ms=50", server.url()));
    messages(&client, 2);
    assert_eq!(server.open_connections(), 1);
    client.close();
    // Not at the next pull: now.
    wait_until("the connection to be closed", || {
        server.open_connections() == 0
    });
    let (items, end) = drain(&client);
    assert_eq!(end.kind, sse::ErrorKind::Closed);
    assert_eq!(
        items.last(),
        Some(&Item::Closed {
            reason: CloseReason::ClosedByUser
        })
    );
}
