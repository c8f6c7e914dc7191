//! Resource checks that read process-wide counters (threads, CPU, RSS):
//! they run one at a time, in their own test binary, so that no other
//! test disturbs the counts.

mod common;

use std::sync::Mutex;

use common::*;
use sse::Item;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn wait_for_open(client: &sse::Client) {
    items_until(client, |i| matches!(i, Item::Open { .. }));
}

#[test]
fn five_hundred_clients_started_and_dropped_leak_no_thread() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start().unwrap();
    let url = format!("{}/ticker?count=0&interval_ms=50", server.url());
    let baseline = library_thread_count();
    for _ in 0..500 {
        let client = start(config(&url));
        drop(client);
    }
    let clients: Vec<_> = (0..50).map(|_| start(config(&url))).collect();
    for client in &clients {
        wait_for_open(client);
    }
    drop(clients);
    // The engine loop stops with its last client (its thread may be the
    // one letting go of it last, then it ends on its own, at once).
    wait_until("the engine threads to end", || {
        library_thread_count() <= baseline
    });
}

/// CPU time (user + system) of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn idle_clients_cost_no_cpu() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start().unwrap();
    let clients: Vec<_> = (0..20)
        .map(|_| start(config(&format!("{}/silent", server.url())).read_timeout(None)))
        .collect();
    for client in &clients {
        wait_for_open(client);
    }
    let before = cpu_ticks();
    std::thread::sleep(ms(1000));
    let used = cpu_ticks() - before;
    println!("20 idle clients used {used} ticks of CPU in 1 s");
    // A poll loop would burn a whole core (100 ticks); blocked reads use none.
    assert!(used <= 5, "{used} ticks");
}

#[test]
fn a_stalled_consumer_stops_the_reader_and_memory_stays_flat() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start().unwrap();
    let client =
        start(config(&format!("{}/fast?count=0&size=1000", server.url())).queue_capacity(64));
    messages(&client, 10);
    std::thread::sleep(ms(300));
    let rss_before = rss_kib();
    std::thread::sleep(ms(1500));
    let grown = rss_kib().saturating_sub(rss_before);
    // Unbounded buffering at loopback speed would be gigabytes by now.
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB while stalled");
    // Bounded by the capacity, or by one read's batch when the queue was
    // empty (a 64 KiB read holds at most 66 of these ~1 KB events).
    let queued = client.queued();
    assert!((1..=66).contains(&queued), "{queued} items queued");
    // Pulling again resumes the flow.
    assert_eq!(messages(&client, 1000).len(), 1000);
}

#[test]
fn large_events_for_a_stalled_consumer_are_bounded_in_bytes_too() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start().unwrap();
    // 1 MiB events with the default item bound (1,024 items = 1 GiB): the
    // byte bound (64 MiB of event text) stops the reader long before.
    let url = format!("{}/fast?count=0&size=1048576", server.url());
    let client = start(config(&url));
    messages(&client, 2);
    let rss_before = rss_kib();
    std::thread::sleep(ms(1500));
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(grown < 160 * 1024, "RSS grew by {grown} KiB while stalled");
    let queued = client.queued();
    // Driven by the caller, nothing is read while it stalls.
    let least = usize::from(!driven());
    assert!(
        (least..=80).contains(&queued),
        "{queued} items of 1 MiB queued"
    );
    let more = messages(&client, 200);
    assert!(
        more.iter().all(|e| e.data.len() == 1 << 20),
        "whole events after the stall"
    );
}

#[test]
fn closing_with_a_full_queue_ends_the_thread_at_once() {
    if skipped_when_driven("waits for the queue to fill without pulling") {
        return;
    }
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start().unwrap();
    let baseline = library_thread_count();
    for _ in 0..20 {
        let client =
            start(config(&format!("{}/fast?count=0&size=100", server.url())).queue_capacity(8));
        wait_until("queued items", || client.queued() >= 1);
        std::thread::sleep(ms(50)); // the stream is now held for room
        client.close(); // nobody pulls: the final item finds no room
        let dropping = std::time::Instant::now();
        drop(client);
        assert!(
            dropping.elapsed() < ms(1000),
            "drop waited {:?}",
            dropping.elapsed()
        );
    }
    wait_until("no thread left behind", || {
        library_thread_count() <= baseline
    });
}
