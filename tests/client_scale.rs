//! 10,000 streams in one process (issue 12), run by `make stress`: every
//! stream on the engine loop, every event delivered exactly once and in
//! order, against demo servers in processes of their own (their sockets
//! and threads would not fit beside the clients' in this one).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use sse::{ItemRef, OnEnd};

/// A demo server process; it exits when its stdin closes (on drop).
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        // Built by `make` (`make stress` depends on it).
        let bin = std::env::var("SSE_DEMO_SERVER").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/release/sse-demo-server"
            )
            .to_owned()
        });
        let mut child = Command::new(&bin)
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e} (run `make` first)"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        ServerProcess {
            child,
            url: line.trim().to_owned(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn raise_open_file_limit() -> u64 {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        limit.rlim_cur
    }
}

#[test]
#[ignore = "long: run with `make stress` (SSE_STRESS_STREAMS, default 10,000)"]
fn ten_thousand_streams_in_one_process() {
    let streams: usize = std::env::var("SSE_STRESS_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let limit = raise_open_file_limit();
    assert!(
        limit as usize > streams + 200,
        "open-file limit {limit} too low for {streams} streams"
    );
    let servers: Vec<ServerProcess> = (0..4).map(|_| ServerProcess::start()).collect();
    const EVENTS: usize = 3;
    // Per stream: the events seen in order (a mismatch counts as a fault).
    let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..streams).map(|_| AtomicUsize::new(0)).collect());
    let faults = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::with_capacity(streams);
    for i in 0..streams {
        let url = format!(
            "{}/ticker?count={EVENTS}&interval_ms=1000",
            servers[i % servers.len()].url
        );
        // Thousands of connects at once overflow the servers' accept
        // queues (SYN retries after 1 s, 3 s, ...): a generous timeout.
        let client = start(
            config(&url)
                .on_end(OnEnd::End)
                .messages_only(true)
                .connect_timeout(Duration::from_secs(60)),
        );
        let (seen, faults) = (seen.clone(), faults.clone());
        client.set_callback(Box::new(move |item, _| {
            if let ItemRef::Message(message) = item {
                let before = seen[i].fetch_add(1, Ordering::Relaxed);
                if message.last_event_id != (before + 1).to_string() {
                    faults.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
        clients.push(client);
        if i % 500 == 499 {
            std::thread::sleep(ms(50)); // spread the connects
        }
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    while clients.iter().any(|c| !c.is_finished()) {
        assert!(Instant::now() < deadline, "streams still open after 180 s");
        std::thread::sleep(ms(200));
    }
    let elapsed = started.elapsed();
    let counts: Vec<usize> = seen.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    let short = counts.iter().filter(|&&n| n != EVENTS).count();
    println!(
        "{streams} streams, {} events in {elapsed:?}; {short} streams without exactly {EVENTS}",
        counts.iter().sum::<usize>()
    );
    assert_eq!(short, 0, "every stream got exactly {EVENTS} events");
    assert_eq!(faults.load(Ordering::Relaxed), 0, "in order");
    let closing = Instant::now();
    drop(clients);
    assert!(
        closing.elapsed() < Duration::from_secs(30),
        "teardown {:?}",
        closing.elapsed()
    );
}
