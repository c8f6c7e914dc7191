//! libsse: a spec-exact, reconnecting Server-Sent Events client with a C ABI.
//!
//! The core knows nothing of C: [`parser`] turns bytes into events, the
//! engine (an event loop thread shared by many streams: HTTP/1.1 over
//! non-blocking sockets, TLS, proxies, timers) makes the requests,
//! [`backoff`] paces reconnections and [`client`] hands each stream's
//! items to its user. [`ffi`] is the C ABI over them (see
//! `include/sse.h`).
//!
//! ```
//! use std::time::Duration;
//! use sse::{Client, Config, Item};
//!
//! # let server = sse_demo_server::Server::start().unwrap();
//! # let url = format!("{}/ticker?count=3", server.url());
//! let config = Config::builder(url)
//!     .header("Authorization", "Bearer token")
//!     .retry(|r| r.initial_delay = Duration::from_millis(500))
//!     .build()?;
//! let client = Client::start(config)?;
//! let mut seen = Vec::new();
//! while seen.len() < 3 {
//!     match client.next(Some(Duration::from_secs(10)))? {
//!         Some(Item::Message(event)) => seen.push(event.data),
//!         Some(other) => println!("{other:?}"), // open, comment, error, reconnecting
//!         None => break,                        // timeout
//!     }
//! }
//! assert_eq!(seen, ["tick 1", "tick 2", "tick 3"]);
//! # Ok::<(), sse::Error>(())
//! ```

pub mod backoff;
pub mod batch;
pub mod ca;
pub mod client;
pub(crate) mod client_cert;
pub mod config;
// Engine v2 (issue 12), built in steps; nothing uses it before step 3.
mod engine;
pub mod error;
pub mod event;
pub mod event_loop;
pub mod headers;
pub mod log;
pub mod notify;
pub mod parser;
pub mod proxy;
pub mod request_hook;
pub mod retry_after;
mod signals;
pub mod stats;
pub mod urls;
pub mod waitset;

pub use batch::{Batch, ItemRef, MessageRef};
pub use client::{Client, ItemCallback};
pub use config::{Config, ConfigBuilder, ErrorPolicy, OnEnd, ProxySetting, RetryPolicy};
pub use error::{Error, ErrorKind, Result};
pub use event::{CloseReason, Event, Item};
pub use event_loop::{Loop, Turn};
pub use log::{set_log_hook, LogLevel};
pub use parser::{EventRef, ParseError, ParsedItem, Parser, DEFAULT_MAX_EVENT_SIZE};
pub use request_hook::{Request, RequestHook};
pub use stats::{LastError, Stats};
pub use waitset::WaitSet;
pub mod ffi;
pub mod queue;
