//! `LIBSSE_ENGINE_THREADS`: clients spread over several engine loops (a
//! process of its own: the variable is read once).

mod common;

use std::time::{Duration, Instant};

use common::*;
use sse::{Client, Item};

fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn clients_spread_over_the_engine_threads_asked_for() {
    if skipped_when_driven("clients on the shared loops") {
        return;
    }
    std::env::set_var("LIBSSE_ENGINE_THREADS", "3");
    let server = Server::start().unwrap();
    let clients: Vec<Client> = (0..30)
        .map(|_| start(config(&format!("{}/ticker?interval_ms=10", server.url()))))
        .collect();
    for client in &clients {
        items_until(client, |i| matches!(i, Item::Message(_)));
    }
    assert_eq!(threads_named("libsse-engine"), 3);
    drop(clients);
    let deadline = Instant::now() + PATIENCE;
    while threads_named("libsse-engine") > 0 {
        assert!(
            Instant::now() < deadline,
            "engine threads left after the last client"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
