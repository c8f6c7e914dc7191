//! `sse-demo-server`: a real Server-Sent Events server on loopback for
//! libsse's tests and demos.
//!
//! It listens on `127.0.0.1` only, serves each connection on its own
//! thread with hand-rolled HTTP/1.1, optionally over TLS (a fresh CA and a
//! leaf certificate for `localhost` / `127.0.0.1` are generated at start),
//! and offers endpoints that stream events, misbehave on purpose (abrupt
//! closes, byte cuts, silence, endless lines, redirects, error statuses)
//! and record every request. The endpoint list is in the crate's
//! README.md; every response carries `X-Request-Number` and
//! `Connection: close`.
//!
//! ```
//! use std::io::{Read, Write};
//! let server = sse_demo_server::Server::start().unwrap();
//! let mut s = std::net::TcpStream::connect(server.addr()).unwrap();
//! s.write_all(b"GET /ticker?count=2&framing=close HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
//! let mut text = String::new();
//! s.read_to_string(&mut text).unwrap();
//! assert!(text.ends_with("id: 1\ndata: tick 1\n\nid: 2\ndata: tick 2\n\n"));
//! assert_eq!(server.requests()[0].path, "/ticker?count=2&framing=close");
//! ```
#![deny(missing_docs)]

mod handlers;
mod http;
mod tls;
pub use tls::ClientIdentities;
mod util;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How to start a [`Server`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// The port to listen on (on 127.0.0.1); 0 picks a free one.
    pub port: u16,
    /// Serve HTTPS with a freshly generated CA + leaf certificate
    /// (see [`Server::ca_pem`]).
    pub tls: bool,
    /// With `tls`: require a client certificate (see
    /// [`Server::client_identities`]).
    pub client_auth: bool,
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, as sent (`GET`, `POST`, `REPORT`, ...).
    pub method: String,
    /// The request target in origin form: path with query string.
    pub path: String,
    /// The headers in the order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (after chunked decoding); empty when there was none.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// This request as a one-line JSON object
    /// `{"method":..,"path":..,"headers":{..},"body":..}`: header names
    /// lowercased (repeated headers joined with `, `), body as lossy UTF-8.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out, None);
        out
    }

    pub(crate) fn write_json(&self, out: &mut String, number: Option<usize>) {
        out.push('{');
        if let Some(n) = number {
            out.push_str(&format!("\"number\":{n},"));
        }
        out.push_str("\"method\":");
        util::json_str(out, &self.method);
        out.push_str(",\"path\":");
        util::json_str(out, &self.path);
        out.push_str(",\"headers\":{");
        let mut merged: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.headers {
            let k = k.to_ascii_lowercase();
            match merged.iter_mut().find(|(mk, _)| *mk == k) {
                Some((_, mv)) => {
                    mv.push_str(", ");
                    mv.push_str(v);
                }
                None => merged.push((k, v.clone())),
            }
        }
        for (i, (k, v)) in merged.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            util::json_str(out, k);
            out.push(':');
            util::json_str(out, v);
        }
        out.push_str("},\"body\":");
        util::json_str(out, &String::from_utf8_lossy(&self.body));
        out.push('}');
    }
}

/// Per-seed state of `/fault`.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) connections: u64,
    pub(crate) kills: u64,
}

/// State shared by the listener, the connection threads and [`Server`].
pub(crate) struct Shared {
    pub(crate) stopping: AtomicBool,
    stopped: Mutex<bool>,
    stop_cv: Condvar,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    open: AtomicUsize,
    conns: Mutex<HashMap<u64, TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) fault: Mutex<HashMap<u64, FaultState>>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) logging: AtomicBool,
}

/// Locks a mutex, ignoring poisoning (a panicked thread never takes the
/// server down with it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Sleeps `d` unless the server stops first; false when stopping.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let g = lock(&self.stopped);
        let (g, _) = self
            .stop_cv
            .wait_timeout_while(g, d, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        !*g
    }

    /// Sleeps until `t` unless the server stops first; false when stopping.
    pub(crate) fn sleep_until(&self, t: Instant) -> bool {
        let now = Instant::now();
        if t <= now {
            return !self.stopping.load(Ordering::SeqCst);
        }
        self.sleep(t - now)
    }

    /// Records a request; returns its 1-based number.
    pub(crate) fn record(&self, r: RecordedRequest) -> usize {
        let mut g = lock(&self.requests);
        g.push(r);
        g.len()
    }
}

/// Removes a connection from the registry when its thread ends.
pub(crate) struct ConnGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        lock(&self.shared.conns).remove(&self.id);
        self.shared.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running server. Dropping it stops the listener, shuts down every
/// live connection and waits (briefly) for the connection threads.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: Option<String>,
    client_identities: Option<tls::ClientIdentities>,
    listener: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a plain-HTTP server on `127.0.0.1` with a free port.
    pub fn start() -> io::Result<Server> {
        Server::start_with(ServerOptions::default())
    }

    /// Starts a server on `127.0.0.1:opts.port` (0 = any free port), over
    /// TLS when `opts.tls`.
    pub fn start_with(opts: ServerOptions) -> io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port))?;
        let addr = listener.local_addr()?;
        let tls = if opts.tls {
            Some(tls::setup(opts.client_auth)?)
        } else {
            None
        };
        let client_identities = tls.as_ref().and_then(|t| t.client.clone());
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            stopped: Mutex::new(false),
            stop_cv: Condvar::new(),
            requests: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
            conns: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            fault: Mutex::new(HashMap::new()),
            tls: tls.as_ref().map(|t| t.config.clone()),
            logging: AtomicBool::new(false),
        });
        let sh = shared.clone();
        let handle = thread::Builder::new()
            .name("sse-demo-accept".into())
            .spawn(move || accept_loop(listener, sh))?;
        Ok(Server {
            shared,
            addr,
            ca_pem: tls.map(|t| t.ca_pem),
            client_identities,
            listener: Some(handle),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`
    /// (no trailing slash).
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The listening address (always on 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM of the CA that signed the server certificate (TLS only).
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// With client authentication: a client certificate the server
    /// accepts and one it refuses, each as (chain PEM, key PEM).
    pub fn client_identities(&self) -> Option<tls::ClientIdentities> {
        self.client_identities.clone()
    }

    /// Every request received so far (fully read, parsed ones), in order;
    /// request `n` (1-based) got `X-Request-Number: n`.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The number of connections currently open (accepted and not yet
    /// finished by their thread).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Turns a one-line log of every request on stderr on or off
    /// (off by default).
    pub fn set_logging(&self, on: bool) {
        self.shared.logging.store(on, Ordering::SeqCst);
    }

    /// The clock of `/stamp`: nanoseconds of the system's monotonic clock
    /// (`CLOCK_MONOTONIC` on Unix, the same value as
    /// `clock_gettime(CLOCK_MONOTONIC)` in C or `time.monotonic_ns()` in
    /// Python on Linux), so a consumer in this or another process on the
    /// same machine can compute the latency of a stamped event.
    pub fn monotonic_ns() -> u64 {
        monotonic_ns()
    }
}

#[cfg(unix)]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists
    // on every Unix this builds for.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return fallback_ns();
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(not(unix))]
fn monotonic_ns() -> u64 {
    fallback_ns()
}

fn fallback_ns() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        {
            let mut g = lock(&self.shared.stopped);
            *g = true;
            self.shared.stop_cv.notify_all();
        }
        for s in lock(&self.shared.conns).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.listener.take() {
            let _ = h.join();
        }
        let handles = std::mem::take(&mut *lock(&self.shared.threads));
        let deadline = Instant::now() + Duration::from_secs(2);
        for h in handles {
            while !h.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let tcp = match incoming {
            Ok(s) => s,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                shared.sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Ok(clone) = tcp.try_clone() else {
            continue;
        };
        next_id += 1;
        let id = next_id;
        lock(&shared.conns).insert(id, clone);
        shared.open.fetch_add(1, Ordering::SeqCst);
        let guard = ConnGuard {
            shared: shared.clone(),
            id,
        };
        if shared.stopping.load(Ordering::SeqCst) {
            let _ = tcp.shutdown(Shutdown::Both);
            break;
        }
        let sh = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("sse-demo-conn-{id}"))
            .spawn(move || {
                let _guard = guard;
                handlers::serve(sh, tcp);
            });
        match spawned {
            Ok(h) => {
                let mut threads = lock(&shared.threads);
                threads.retain(|t| !t.is_finished());
                threads.push(h);
            }
            Err(_) => {
                // The closure (with the guard and socket) was dropped.
                shared.sleep(Duration::from_millis(10));
            }
        }
    }
}
