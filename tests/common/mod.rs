//! Helpers shared by the client integration tests: a real loopback server
//! (sse-demo-server) and small waits that fail loudly instead of hanging.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use sse::{Client, Config, ConfigBuilder, Event, Item, ProxySetting};
pub use sse_demo_server::Server;

/// Upper bound for any single wait: only a hang reaches it.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A config for `url` with fast, jitter-free reconnection and no proxy.
pub fn config(url: &str) -> ConfigBuilder {
    Config::builder(url).proxy(ProxySetting::None).retry(|r| {
        r.initial_delay = ms(20);
        r.min_delay = ms(5);
        r.max_delay = ms(200);
        r.jitter = 0.0;
    })
}

pub fn start(builder: ConfigBuilder) -> Client {
    Client::start(builder.build().expect("valid config")).expect("client starts")
}

/// The next item, failing the test after [`PATIENCE`].
pub fn next(client: &Client) -> Item {
    match client.next(Some(PATIENCE)) {
        Ok(Some(item)) => item,
        Ok(None) => panic!("no item within {PATIENCE:?}"),
        Err(e) => panic!("stream ended: {e}"),
    }
}

/// Items until `stop` says so (inclusive).
pub fn items_until(client: &Client, stop: impl Fn(&Item) -> bool) -> Vec<Item> {
    let mut items = Vec::new();
    loop {
        let item = next(client);
        let done = stop(&item);
        items.push(item);
        if done {
            return items;
        }
    }
}

/// Every item until the stream ends for good; returns them and the end error.
pub fn drain(client: &Client) -> (Vec<Item>, sse::Error) {
    let deadline = Instant::now() + PATIENCE;
    let mut items = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "stream did not end; last items: {:?}",
            &items[items.len().saturating_sub(4)..]
        );
        match client.next(Some(PATIENCE)) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => panic!(
                "no item within {PATIENCE:?}; last items: {:?}",
                &items[items.len().saturating_sub(4)..]
            ),
            Err(e) => return (items, e),
        }
    }
}

/// The next `count` message events, skipping other items.
pub fn messages(client: &Client, count: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < count {
        if let Item::Message(event) = next(client) {
            out.push(event);
        }
    }
    out
}

pub fn data_of(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.data.clone()).collect()
}

/// Waits until `condition` holds, failing after [`PATIENCE`].
pub fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(ms(5));
    }
}

/// Live libsse client threads (named `libsse-client`) in this process;
/// the in-process test server's own threads are not counted.
pub fn client_thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| {
        tasks
            .filter_map(|t| t.ok())
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|name| name.trim() == "libsse-client")
            })
            .count()
    })
}

/// Resident memory of this process in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A minimal forward proxy on loopback, as an HTTP/1.1 proxy behaves:
/// `CONNECT host:port` opens a tunnel, a request in absolute form
/// (`GET http://host/path HTTP/1.1`) is forwarded in origin form. Either
/// way the connection goes to `upstream`, whatever host was asked for. It
/// records each request target (`host:port` for CONNECT, the absolute URL
/// otherwise) and each `Proxy-Authorization` value it received.
pub struct ConnectProxy {
    pub addr: std::net::SocketAddr,
    pub targets: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub authorizations: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ConnectProxy {
    pub fn start(upstream: std::net::SocketAddr) -> ConnectProxy {
        use std::io::{BufRead, BufReader, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let authorizations = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (seen, auths) = (targets.clone(), authorizations.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (seen, auths) = (seen.clone(), auths.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap_or(0);
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let target = parts.next().unwrap_or("").to_owned();
                    let version = parts.next().unwrap_or("HTTP/1.1").to_owned();
                    let mut head = Vec::new();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0
                            || header.trim().is_empty()
                        {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("proxy-authorization") {
                                auths.lock().unwrap().push(value.trim().to_owned());
                                continue;
                            }
                        }
                        head.push(header);
                    }
                    seen.lock().unwrap().push(target.clone());
                    let Ok(server) = TcpStream::connect(upstream) else {
                        return;
                    };
                    let mut client_w = client.try_clone().unwrap();
                    let mut server_w = server.try_clone().unwrap();
                    if method == "CONNECT" {
                        client_w
                            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .ok();
                    } else {
                        // Absolute form to origin form, for the origin server.
                        let after_scheme = target.split_once("://").map_or("", |(_, r)| r);
                        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
                        let mut request = format!("{method} {path} {version}\r\n");
                        for header in &head {
                            request.push_str(header);
                        }
                        request.push_str("\r\n");
                        server_w.write_all(request.as_bytes()).ok();
                    }
                    let mut server_r = server;
                    std::thread::spawn(move || {
                        std::io::copy(&mut server_r, &mut client_w).ok();
                        client_w.shutdown(std::net::Shutdown::Both).ok();
                    });
                    std::io::copy(&mut reader, &mut server_w).ok();
                    server_w.shutdown(std::net::Shutdown::Both).ok();
                });
            }
        });
        ConnectProxy {
            addr,
            targets,
            authorizations,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }

    pub fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

/// Standard base64 of `bytes` (for the demo server's `/raw?b64=`).
#[allow(dead_code)]
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
