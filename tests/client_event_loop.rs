//! Clients on a [`sse::Loop`] that the application's event loop runs: the
//! application polls the loop's descriptor and runs it, libsse starts no
//! thread, and every stream is read on the application's thread.
//!
//! The tests count this process's libsse threads: they run one at a time.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use sse::{Client, Item, Loop, Turn, WaitSet};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// What an application's event loop does: waits on the loop's descriptor
/// at most as long as the loop allows, runs it without waiting, then takes
/// what each client has queued (without waiting: a pull would run the
/// loop itself). Until `done` says so; fails after [`PATIENCE`].
fn run_app_loop(
    event_loop: &Loop,
    clients: &[&Client],
    taken: &mut [Vec<Item>],
    done: impl Fn(&[Vec<Item>]) -> bool,
) {
    let end = Instant::now() + PATIENCE;
    while !done(taken) {
        assert!(
            Instant::now() < end,
            "not done within {PATIENCE:?}: {:?}",
            taken
                .iter()
                .map(|t| &t[t.len().saturating_sub(3)..])
                .collect::<Vec<_>>()
        );
        let wait = event_loop
            .timeout()
            .map_or(1000, |t| t.as_millis().min(1000) as i32);
        readable(event_loop.fd(), wait);
        assert_eq!(event_loop.run(Some(Duration::ZERO)).unwrap(), Turn::Ran);
        for (client, items) in clients.iter().zip(taken.iter_mut()) {
            client.try_next_batch(items, usize::MAX);
        }
    }
}

/// A config for `url` on `event_loop`, which does not reconnect once
/// the server ends the stream.
fn on(event_loop: &Loop, url: &str) -> sse::ConfigBuilder {
    config(url)
        .on_loop(Some(event_loop))
        .retry(|r| r.reconnect = false)
}

fn closed(items: &[Item]) -> bool {
    matches!(items.last(), Some(Item::Closed { .. }))
}

#[test]
fn the_applications_poll_runs_many_streams_with_no_thread_of_libsse() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    // Dropped after 4 events each time: the reconnection delays are timers
    // the application fires through Loop::timeout.
    let clients: Vec<Client> = (0..3)
        .map(|_| {
            start(
                config(&format!(
                    "{}/ticker?count=0&interval_ms=1&drop_after=4",
                    server.url()
                ))
                .on_loop(Some(&event_loop)),
            )
        })
        .collect();
    let refs: Vec<&Client> = clients.iter().collect();
    let mut taken = vec![Vec::new(); 3];
    run_app_loop(&event_loop, &refs, &mut taken, |t| {
        t.iter().all(|items| message_ids(items).len() >= 12)
    });
    for items in &taken {
        assert_eq!(message_ids(items)[..12], (1..=12).collect::<Vec<u64>>());
    }
    assert_eq!(engine_threads(), 0, "a libsse thread ran the streams");
    assert!(
        server.requests().len() >= 9,
        "{} requests: no reconnection",
        server.requests().len()
    );
}

#[test]
fn nothing_is_read_until_the_loop_runs() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let client = start(on(&event_loop, &format!("{}/ticker?count=3", server.url())));
    std::thread::sleep(ms(100));
    assert_eq!(
        server.requests().len(),
        0,
        "connected with nobody running the loop"
    );
    assert_eq!(client.queued(), 0);
    let mut taken = vec![Vec::new()];
    run_app_loop(&event_loop, &[&client], &mut taken, |t| closed(&t[0]));
    assert_eq!(message_ids(&taken[0]), vec![1, 2, 3]);
}

#[test]
fn a_wait_set_lists_the_clients_with_items_and_nothing_moves_to_a_thread() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let set = WaitSet::new().unwrap();
    let quiet = start(config(&format!("{}/silent", server.url())).on_loop(Some(&event_loop)));
    let busy = start(on(
        &event_loop,
        &format!("{}/ticker?count=5&interval_ms=1", server.url()),
    ));
    quiet.join_wait_set(&set, 1).unwrap();
    busy.join_wait_set(&set, 2).unwrap();
    let _fd = busy.notify_fd().unwrap();
    let end = Instant::now() + PATIENCE;
    let mut items = Vec::new();
    let mut listed = Vec::new();
    while !closed(&items) {
        assert!(Instant::now() < end, "not done within {PATIENCE:?}");
        readable(
            event_loop.fd(),
            event_loop
                .timeout()
                .map_or(1000, |t| t.as_millis().min(1000) as i32),
        );
        assert_eq!(event_loop.run(Some(Duration::ZERO)).unwrap(), Turn::Ran);
        let mut tokens = Vec::new();
        set.take(&mut tokens, 16);
        listed.extend_from_slice(&tokens);
        if tokens.contains(&2) {
            busy.try_next_batch(&mut items, usize::MAX);
        }
    }
    assert_eq!(message_ids(&items), vec![1, 2, 3, 4, 5]);
    let quiet_listed = listed.iter().filter(|&&token| token == 1).count();
    assert!(
        quiet_listed <= 1,
        "the silent client was listed beyond its open: {listed:?}"
    );
    let mut quiet_items = Vec::new();
    quiet.try_next_batch(&mut quiet_items, usize::MAX);
    assert!(
        matches!(quiet_items[..], [Item::Open { .. }]),
        "{quiet_items:?}"
    );
    assert_eq!(
        engine_threads(),
        0,
        "the wait set or the descriptor moved the loop to a thread"
    );
}

#[test]
fn a_close_from_another_thread_wakes_the_applications_poll() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let client = Arc::new(start(
        config(&format!("{}/silent", server.url())).on_loop(Some(&event_loop)),
    ));
    let mut taken = vec![Vec::new()];
    // Connected, then nothing comes: the poll waits with no timer due soon.
    run_app_loop(&event_loop, &[&client], &mut taken, |t| {
        t[0].iter().any(|item| matches!(item, Item::Open { .. }))
    });
    let closer = {
        let client = client.clone();
        std::thread::spawn(move || {
            std::thread::sleep(ms(100));
            client.close();
        })
    };
    let started = Instant::now();
    assert!(
        readable(event_loop.fd(), 10_000),
        "the close did not wake the poll"
    );
    let woke = started.elapsed();
    run_app_loop(&event_loop, &[&client], &mut taken, |t| closed(&t[0]));
    closer.join().unwrap();
    assert!(woke < Duration::from_secs(5), "woke after {woke:?}");
}

#[test]
fn a_pull_runs_the_loop_and_the_applications_run_waits_its_turn() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let client = start(on(
        &event_loop,
        &format!("{}/ticker?count=3&interval_ms=300", server.url()),
    ));
    // A pull alone runs the loop.
    assert_eq!(messages(&client, 1)[0].last_event_id, "1");
    // While a blocking pull on another thread holds the loop, the
    // application's run does nothing and says so.
    std::thread::scope(|s| {
        let puller = s.spawn(|| messages(&client, 1));
        let mut refused = 0;
        for _ in 0..20 {
            std::thread::sleep(ms(10));
            if puller.is_finished() {
                break;
            }
            if event_loop.run(Some(Duration::ZERO)).unwrap() == Turn::Busy {
                refused += 1;
                let slice = event_loop.timeout();
                assert!(slice == Some(ms(20)) || puller.is_finished(), "{slice:?}");
            }
        }
        assert_eq!(puller.join().unwrap()[0].last_event_id, "2");
        assert!(refused > 0, "the pull never held the loop");
    });
    let (items, _) = drain(&client);
    assert_eq!(message_ids(&items), vec![3]);
    assert_eq!(engine_threads(), 0);
}

#[test]
fn callbacks_run_inside_the_run_and_may_not_run_the_loop_again() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Arc::new(Loop::new().unwrap());
    let client = start(on(
        &event_loop,
        &format!("{}/ticker?count=4&interval_ms=1", server.url()),
    ));
    let here = std::thread::current().id();
    let calls = Arc::new(AtomicUsize::new(0));
    let elsewhere = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    {
        let (calls, elsewhere, refused, done, event_loop) = (
            calls.clone(),
            elsewhere.clone(),
            refused.clone(),
            done.clone(),
            event_loop.clone(),
        );
        client.set_callback(Box::new(move |item, _| {
            calls.fetch_add(1, Ordering::SeqCst);
            if std::thread::current().id() != here {
                elsewhere.store(true, Ordering::SeqCst);
            }
            if event_loop.run(Some(Duration::ZERO)).is_err() {
                refused.store(true, Ordering::SeqCst);
            }
            if matches!(item, sse::ItemRef::Other(Item::Closed { .. })) {
                done.store(true, Ordering::SeqCst);
            }
        }));
    }
    let end = Instant::now() + PATIENCE;
    while !done.load(Ordering::SeqCst) {
        assert!(Instant::now() < end, "no close within {PATIENCE:?}");
        readable(
            event_loop.fd(),
            event_loop
                .timeout()
                .map_or(1000, |t| t.as_millis().min(1000) as i32),
        );
        assert_eq!(event_loop.run(Some(Duration::ZERO)).unwrap(), Turn::Ran);
    }
    assert!(
        calls.load(Ordering::SeqCst) >= 6,
        "{} calls",
        calls.load(Ordering::SeqCst)
    );
    assert!(
        !elsewhere.load(Ordering::SeqCst),
        "a callback ran on another thread"
    );
    assert!(
        refused.load(Ordering::SeqCst),
        "a run from inside the callback was not refused"
    );
    assert_eq!(
        engine_threads(),
        0,
        "the callback moved the loop to a thread"
    );
}

#[test]
fn freeing_the_loop_hands_its_streams_to_a_thread() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let client = start(
        config(&format!("{}/ticker?count=0&interval_ms=5", server.url()))
            .on_loop(Some(&event_loop)),
    );
    let set = WaitSet::new().unwrap();
    client.join_wait_set(&set, 7).unwrap();
    assert_eq!(event_loop.run(Some(ms(50))).unwrap(), Turn::Ran);
    drop(event_loop); // nobody runs it any more (the config was consumed)
    wait_until("a libsse thread took the stream", || engine_threads() == 1);
    // The stream goes on without any pull: the wait set lists it.
    let listed = Mutex::new(Vec::new());
    wait_until("the stream goes on", || {
        while client.try_next_batch(&mut Vec::new(), usize::MAX) > 0 {}
        set.take(&mut listed.lock().unwrap(), 4);
        listed.lock().unwrap().contains(&7) && client.stats().events >= 20
    });
    drop(client);
    wait_until("the thread ends with its last client", || {
        engine_threads() == 0
    });
}

#[test]
fn the_last_setting_wins_between_a_loop_its_own_thread_and_driven_by_caller() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let url = format!("{}/ticker?count=2", server.url());
    let config = |url: &str| config(url).retry(|r| r.reconnect = false);
    // own_thread after on_loop: the client has a thread of its own.
    let own = start(config(&url).on_loop(Some(&event_loop)).own_thread(true));
    assert_eq!(message_ids(&drain(&own).0), vec![1, 2]);
    assert_eq!(engine_threads(), 1);
    drop(own);
    wait_until("its thread ends", || engine_threads() == 0);
    // on_loop after own_thread: nothing reads until the loop runs.
    let on_loop = start(config(&url).own_thread(true).on_loop(Some(&event_loop)));
    std::thread::sleep(ms(100));
    assert_eq!(engine_threads(), 0);
    assert_eq!(on_loop.queued(), 0);
    let mut taken = vec![Vec::new()];
    run_app_loop(&event_loop, &[&on_loop], &mut taken, |t| closed(&t[0]));
    assert_eq!(message_ids(&taken[0]), vec![1, 2]);
}

#[test]
fn a_backlog_moves_the_loop_to_a_thread_and_a_live_stream_does_not() {
    let _serial = serial();
    let server = Server::start().unwrap();
    // A live stream (1 ms ticks, small reads) stays on the application's
    // thread however long it runs.
    let event_loop = Loop::new().unwrap();
    let live = start(on(
        &event_loop,
        &format!("{}/ticker?count=300&interval_ms=1", server.url()),
    ));
    let mut taken = vec![Vec::new()];
    run_app_loop(&event_loop, &[&live], &mut taken, |t| closed(&t[0]));
    assert_eq!(message_ids(&taken[0]).len(), 300);
    assert_eq!(engine_threads(), 0);
    // A server far ahead (an endless fast stream; the application is slow,
    // 2 ms a run, so that the server is ahead on any machine): after eight
    // 16 KiB reads in a row the loop moves to a thread of its own, says
    // so, and the stream goes on there (listed in its wait set) with
    // nobody running the loop.
    let fast = start(on(
        &event_loop,
        &format!("{}/fast?count=0&size=40", server.url()),
    ));
    let set = WaitSet::new().unwrap();
    fast.join_wait_set(&set, 1).unwrap();
    let end = Instant::now() + PATIENCE;
    let mut items = Vec::new();
    loop {
        assert!(Instant::now() < end, "no move within {PATIENCE:?}");
        readable(event_loop.fd(), 1000);
        let turn = event_loop.run(Some(Duration::ZERO)).unwrap();
        fast.try_next_batch(&mut items, usize::MAX);
        if turn == Turn::Threaded {
            break;
        }
        std::thread::sleep(ms(2));
        // Moved after the last run: the next says so.
        if engine_threads() == 1 {
            assert_eq!(
                event_loop.run(Some(Duration::ZERO)).unwrap(),
                Turn::Threaded
            );
            break;
        }
    }
    // (The thread names itself once it runs.)
    wait_until("the loop's thread runs", || engine_threads() == 1);
    assert_eq!(event_loop.timeout(), None);
    let before = fast.stats().events;
    wait_until("the stream goes on on the loop's thread", || {
        let mut tokens = Vec::new();
        set.take(&mut tokens, 4);
        while fast.try_next_batch(&mut Vec::new(), usize::MAX) > 0 {}
        fast.stats().events > before + 100_000
    });
    assert!(!items.is_empty());
}

#[test]
fn to_thread_from_another_thread_hands_the_loop_over_for_good() {
    let _serial = serial();
    let server = Server::start().unwrap();
    let event_loop = Loop::new().unwrap();
    let client = start(on(
        &event_loop,
        &format!("{}/ticker?count=0&interval_ms=2", server.url()),
    ));
    let mut taken = vec![Vec::new()];
    run_app_loop(&event_loop, &[&client], &mut taken, |t| {
        message_ids(&t[0]).len() >= 3
    });
    assert_eq!(engine_threads(), 0);
    let handle = event_loop.clone();
    std::thread::spawn(move || handle.to_thread().unwrap())
        .join()
        .unwrap();
    assert_eq!(
        event_loop.run(Some(Duration::ZERO)).unwrap(),
        Turn::Threaded
    );
    assert_eq!(event_loop.timeout(), None);
    wait_until("the loop's thread runs", || engine_threads() == 1);
    // The stream goes on, in order, read by that thread.
    let more = messages(&client, 5);
    let seen = message_ids(&taken[0]);
    let first: u64 = more[0].last_event_id.parse().unwrap();
    assert_eq!(
        first,
        seen[seen.len() - 1] + 1,
        "an event was lost or repeated at the move"
    );
}
