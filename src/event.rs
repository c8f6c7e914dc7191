//! The items a client hands to its user.

use std::borrow::Cow;
use std::time::Duration;

use crate::error::Error;
use crate::parser::EventRef;

/// One dispatched SSE event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type (`message` unless the server set `event:`); the
    /// default type is borrowed, so most events allocate no type string.
    pub event_type: Cow<'static, str>,
    /// The event data: the `data:` lines joined with LF.
    pub data: String,
    /// The last event id in force when the event was dispatched.
    pub last_event_id: String,
    /// The `retry` value (ms) given in this event's own block, if any
    /// (the client applies it to its reconnection delay either way).
    pub retry: Option<u64>,
}

/// The default event type, followed by a NUL that C callers rely on.
const MESSAGE_NUL: &str = "message\0";

/// The default event type `message`; its byte after the end is a NUL.
pub const MESSAGE: &str = MESSAGE_NUL.split_at(7).0;

impl Event {
    /// An owned copy of a parsed event. Each owned string gets one spare
    /// byte of capacity, so the C layer can NUL-terminate it without
    /// reallocating; empty strings and the default type allocate nothing.
    pub fn from_parsed(event: &EventRef<'_>) -> Self {
        let event_type = if event.event_type == MESSAGE {
            Cow::Borrowed(MESSAGE)
        } else {
            Cow::Owned(with_spare_byte(&event.event_type))
        };
        Event {
            event_type,
            data: with_spare_byte(&event.data),
            last_event_id: with_spare_byte(event.last_event_id),
            retry: event.retry,
        }
    }
}

fn with_spare_byte(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut owned = String::with_capacity(text.len() + 1);
    owned.push_str(text);
    owned
}

/// Why a client stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The server answered 204 No Content: do not reconnect.
    NoContent,
    /// The stream ended cleanly and reconnection is disabled.
    EndOfStream,
    /// The user called `close()`.
    ClosedByUser,
    /// A fatal error (reported just before) ended the client.
    Error,
}

/// Everything a client can report, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A connection opened: status 200 and the response headers.
    Open {
        /// The HTTP status (200).
        status: u16,
        /// The response headers, in order, names lowercased.
        headers: Vec<(String, String)>,
    },
    /// A dispatched event.
    Message(Event),
    /// A comment line (keep-alive), without the colon and one leading space.
    Comment(String),
    /// A connection failed or broke. `fatal` tells whether the client ends.
    Error {
        /// The failure.
        error: Error,
        /// True when no reconnection follows.
        fatal: bool,
    },
    /// The client will reconnect after `delay`; `attempt` counts from 1
    /// since the last successful connection (one that delivered an event
    /// or stayed up past the reset threshold).
    Reconnecting {
        /// The attempt number about to be made.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// The client stopped for good; nothing follows.
    Closed {
        /// Why it stopped.
        reason: CloseReason,
    },
}
