//! libsse: a spec-exact, reconnecting Server-Sent Events client with a C ABI.
//!
//! The core knows nothing of C: [`parser`] turns bytes into events.

pub mod parser;

pub use parser::{EventRef, ParseError, ParsedItem, Parser, DEFAULT_MAX_EVENT_SIZE};
