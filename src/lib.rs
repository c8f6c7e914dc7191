//! libsse: a spec-exact, reconnecting Server-Sent Events client with a C ABI.
//!
//! The core knows nothing of C: [`parser`] turns bytes into events,
//! [`transport`] makes one HTTP request, [`backoff`] paces reconnections
//! and [`client`] runs the background thread that ties them together.

pub mod backoff;
pub mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod log;
pub mod notify;
pub mod parser;
pub mod transport;

pub use client::{Client, ItemCallback};
pub use config::{Config, ConfigBuilder, ErrorPolicy, ProxySetting, RetryPolicy};
pub use error::{Error, ErrorKind, Result};
pub use event::{CloseReason, Event, Item};
pub use log::{set_log_hook, LogLevel};
pub use parser::{EventRef, ParseError, ParsedItem, Parser, DEFAULT_MAX_EVENT_SIZE};
pub mod ffi;
pub mod queue;
