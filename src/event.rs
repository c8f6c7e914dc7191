//! The items a client hands to its user.

use std::time::Duration;

use crate::error::Error;
use crate::parser::EventRef;

/// One dispatched SSE event, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type (`message` unless the server set `event:`).
    pub event_type: String,
    /// The event data: the `data:` lines joined with LF.
    pub data: String,
    /// The last event id in force when the event was dispatched.
    pub last_event_id: String,
}

impl Event {
    /// An owned copy of a parsed event. Each string gets one spare byte of
    /// capacity, so the C layer can NUL-terminate it without reallocating.
    pub fn from_parsed(event: &EventRef<'_>) -> Self {
        Event {
            event_type: with_spare_byte(&event.event_type),
            data: with_spare_byte(&event.data),
            last_event_id: with_spare_byte(event.last_event_id),
        }
    }
}

fn with_spare_byte(text: &str) -> String {
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
    /// since the last successful connection.
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
