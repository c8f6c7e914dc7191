//! Helpers shared by the client integration tests: a real loopback server
//! (sse-demo-server) and small waits that fail loudly instead of hanging.
#![allow(dead_code, unused_imports)]

use std::time::{Duration, Instant};

use sse::{Client, Config, ConfigBuilder, Event, Item, ProxySetting};
pub use sse_demo_server::Server;

/// Upper bound for any single wait: only a hang reaches it.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A config for `url` with fast, jitter-free reconnection and no proxy;
/// with `LIBSSE_TEST_DRIVEN` set, driven by its caller (`make test` runs
/// the client suites both ways).
pub fn config(url: &str) -> ConfigBuilder {
    Config::builder(url)
        .proxy(ProxySetting::None)
        .retry(|r| {
            r.initial_delay = ms(20);
            r.min_delay = ms(5);
            r.max_delay = ms(200);
            r.jitter = 0.0;
        })
        .driven_by_caller(driven())
}

/// Whether the suite runs with clients driven by their callers.
pub fn driven() -> bool {
    std::env::var_os("LIBSSE_TEST_DRIVEN").is_some()
}

/// For a test that waits for the stream to move while nothing pulls
/// (which a client driven by its caller does not do): true, with a note,
/// when the suite runs driven.
pub fn skipped_when_driven(why: &str) -> bool {
    if driven() {
        eprintln!("skipped with clients driven by their callers: {why}");
    }
    driven()
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

/// Live libsse threads (engine loops `libsse-engine`, resolvers
/// `libsse-dns`) in this process; the in-process test server's own
/// threads are not counted.
pub fn library_thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| {
        tasks
            .filter_map(|t| t.ok())
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|name| matches!(name.trim(), "libsse-engine" | "libsse-dns"))
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

/// A SOCKS4/4a/5 proxy on loopback, for the engine's SOCKS handshake:
/// it answers the handshake as RFC 1928/1929 and SOCKS4(a) say, requires
/// `user:password` when given one (SOCKS5), records each target it was
/// asked for (`host:port`), and tunnels every connection to `upstream`,
/// whatever host was asked for.
pub struct SocksProxy {
    pub addr: std::net::SocketAddr,
    pub targets: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SocksProxy {
    pub fn start(upstream: std::net::SocketAddr, credentials: Option<(&str, &str)>) -> SocksProxy {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = targets.clone();
        let credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let (seen, credentials) = (seen.clone(), credentials.clone());
                std::thread::spawn(move || {
                    let byte = |c: &mut TcpStream| {
                        let mut b = [0u8; 1];
                        c.read_exact(&mut b).map(|_| b[0])
                    };
                    let Ok(version) = byte(&mut client) else {
                        return;
                    };
                    let target = if version == 5 {
                        let n = byte(&mut client).unwrap_or(0);
                        let mut methods = vec![0; n as usize];
                        client.read_exact(&mut methods).ok();
                        let method = if credentials.is_some() { 2 } else { 0 };
                        if !methods.contains(&method) {
                            client.write_all(&[5, 0xff]).ok();
                            return;
                        }
                        client.write_all(&[5, method]).ok();
                        if let Some((user, password)) = &credentials {
                            let _ = byte(&mut client);
                            let mut u = vec![0; byte(&mut client).unwrap_or(0) as usize];
                            client.read_exact(&mut u).ok();
                            let mut p = vec![0; byte(&mut client).unwrap_or(0) as usize];
                            client.read_exact(&mut p).ok();
                            let ok = u == user.as_bytes() && p == password.as_bytes();
                            client.write_all(&[1, if ok { 0 } else { 1 }]).ok();
                            if !ok {
                                return;
                            }
                        }
                        let mut head = [0u8; 4];
                        client.read_exact(&mut head).ok();
                        let host = match head[3] {
                            1 => {
                                let mut ip = [0u8; 4];
                                client.read_exact(&mut ip).ok();
                                std::net::Ipv4Addr::from(ip).to_string()
                            }
                            3 => {
                                let mut name = vec![0; byte(&mut client).unwrap_or(0) as usize];
                                client.read_exact(&mut name).ok();
                                String::from_utf8_lossy(&name).into_owned()
                            }
                            _ => {
                                let mut ip = [0u8; 16];
                                client.read_exact(&mut ip).ok();
                                std::net::Ipv6Addr::from(ip).to_string()
                            }
                        };
                        let mut port = [0u8; 2];
                        client.read_exact(&mut port).ok();
                        client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).ok();
                        format!("{host}:{}", u16::from_be_bytes(port))
                    } else {
                        // SOCKS4: command, port, address, user id, NUL [, name, NUL].
                        let mut head = [0u8; 7];
                        client.read_exact(&mut head).ok();
                        let port = u16::from_be_bytes([head[1], head[2]]);
                        let read_string = |c: &mut TcpStream| {
                            let mut s = Vec::new();
                            while let Ok(b) = byte(c) {
                                if b == 0 {
                                    break;
                                }
                                s.push(b);
                            }
                            String::from_utf8_lossy(&s).into_owned()
                        };
                        let _user = read_string(&mut client);
                        let host = if head[3..6] == [0, 0, 0] && head[6] != 0 {
                            read_string(&mut client)
                        } else {
                            std::net::Ipv4Addr::new(head[3], head[4], head[5], head[6]).to_string()
                        };
                        client.write_all(&[0, 0x5a, 0, 0, 0, 0, 0, 0]).ok();
                        format!("{host}:{port}")
                    };
                    seen.lock().unwrap().push(target);
                    let Ok(server) = TcpStream::connect(upstream) else {
                        return;
                    };
                    let mut client_w = client.try_clone().unwrap();
                    let (mut server_r, mut server_w) = (server.try_clone().unwrap(), server);
                    std::thread::spawn(move || {
                        std::io::copy(&mut server_r, &mut client_w).ok();
                        client_w.shutdown(std::net::Shutdown::Both).ok();
                    });
                    std::io::copy(&mut client, &mut server_w).ok();
                    server_w.shutdown(std::net::Shutdown::Both).ok();
                });
            }
        });
        SocksProxy { addr, targets }
    }

    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// Standard base64 of `bytes` (for the demo server's `/raw?b64=`).
#[allow(dead_code)]
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A listener whose accept queue is full: the kernel drops further SYNs,
/// so a connect to it hangs until the client's own timeout.
pub fn unanswered_listener() -> (i32, String, Vec<std::net::TcpStream>) {
    use std::net::{SocketAddr, TcpStream};
    // SAFETY: plain socket calls on a fresh descriptor owned by the test.
    let (fd, port) = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        let mut bound: libc::sockaddr_in = std::mem::zeroed();
        let mut bound_len = len;
        libc::getsockname(
            fd,
            &mut bound as *mut _ as *mut libc::sockaddr,
            &mut bound_len,
        );
        (fd, u16::from_be(bound.sin_port))
    };
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Fill the accept queue (never accepted); later connects get no answer.
    let fillers: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&target, ms(200)).ok())
        .collect();
    (fd, format!("http://{target}/"), fillers)
}

/// This process's libsse loop threads (named `libsse-engine`).
pub fn engine_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim_end() == "libsse-engine")
        .count()
}

/// Waits up to `timeout_ms` (-1: no limit) for `fd` to be readable.
pub fn readable(fd: i32, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, timeout_ms) == 1 }
}

/// The ids of the message events among `items`, as numbers.
pub fn message_ids(items: &[Item]) -> Vec<u64> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Message(event) => event.last_event_id.parse().ok(),
            _ => None,
        })
        .collect()
}
