//! A client's counters: what a stream running for days has done, readable
//! from any thread at any time. The producer (engine loop or worker) adds
//! to plain atomics as it hands batches on; only recording an error takes a
//! lock (its message), never the path of events.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use crate::batch::{Batch, ItemRef};
use crate::error::ErrorKind;
use crate::event::Item;

/// The error kinds, in the order of [`Stats::errors_by_kind`].
pub const ERROR_KINDS: [ErrorKind; 13] = [
    ErrorKind::InvalidArgument,
    ErrorKind::InvalidUrl,
    ErrorKind::Connect,
    ErrorKind::Tls,
    ErrorKind::HttpStatus,
    ErrorKind::ContentType,
    ErrorKind::Io,
    ErrorKind::ReadTimeout,
    ErrorKind::TooLarge,
    ErrorKind::RetriesExhausted,
    ErrorKind::Closed,
    ErrorKind::Internal,
    ErrorKind::RequestHook,
];

fn kind_index(kind: ErrorKind) -> usize {
    ERROR_KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The last error a client reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastError {
    /// Its class.
    pub kind: ErrorKind,
    /// Its message.
    pub message: String,
    /// When it was reported.
    pub at: SystemTime,
}

/// A snapshot of a client's counters (see [`crate::Client::stats`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Message events delivered: handed to the callback or put in the
    /// queue (after the type filter), taken by the consumer or not yet.
    pub events: u64,
    /// Bytes of those events' data.
    pub data_bytes: u64,
    /// Bytes received from the server: response heads and bodies as they
    /// came over the connection (after TLS, before chunked and gzip
    /// decoding).
    pub wire_bytes: u64,
    /// Connections opened (a response accepted as a stream).
    pub connections: u64,
    /// Reconnections scheduled.
    pub reconnects: u64,
    /// Errors reported, fatal or not.
    pub errors: u64,
    /// Errors by kind, in the order of [`ERROR_KINDS`].
    pub errors_by_kind: [u64; ERROR_KINDS.len()],
    /// The last error, if any.
    pub last_error: Option<LastError>,
    /// Items waiting in the queue now.
    pub queue_depth: u64,
    /// The most items the queue held at once.
    pub queue_peak: u64,
    /// Whether a connection is open now.
    pub connected: bool,
    /// Time spent connected, over every connection (the open one included).
    pub connected_time: Duration,
    /// When the last message event was delivered.
    pub last_event_at: Option<SystemTime>,
}

impl Stats {
    /// The count of errors of `kind`.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors_by_kind[kind_index(kind)]
    }
}

/// Milliseconds since a process-wide start (monotonic), at least 1.
fn mono_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The messages of a batch, counted before it is handed on (a refused
/// batch is counted once it goes through).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Messages {
    events: u64,
    data_bytes: u64,
}

impl Messages {
    /// The messages of `batch`.
    pub(crate) fn of(batch: &Batch) -> Self {
        let (events, data_bytes) = batch.message_totals();
        Messages { events, data_bytes }
    }
}

/// The counters the producer adds to (see the module docs). In
/// declaration order: the four every event updates share a cache line (a
/// loop thread driving thousands of streams finds each stream's state
/// cold, so every line touched per event counts).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct Counters {
    events: AtomicU64,
    data_bytes: AtomicU64,
    wire_bytes: AtomicU64,
    last_event_unix_ms: AtomicU64,
    connections: AtomicU64,
    reconnects: AtomicU64,
    errors: AtomicU64,
    errors_by_kind: [AtomicU64; ERROR_KINDS.len()],
    /// `mono_ms` when the open connection opened; 0: none open.
    connected_since: AtomicU64,
    connected_ms: AtomicU64,
    connected: AtomicBool,
    last_error: Mutex<Option<LastError>>,
}

impl Counters {
    /// Counts `bytes` received from the server.
    pub(crate) fn received(&self, bytes: usize) {
        self.wire_bytes.fetch_add(bytes as u64, Relaxed);
    }

    /// Counts the items of `batch`, handed to the consumer (or dropped by
    /// the messages-only setting, which hides items, not what happened).
    pub(crate) fn delivered(&self, batch: &Batch) {
        for item in batch.iter() {
            if let ItemRef::Other(other) = item {
                self.other(other);
            }
        }
        self.add_messages(Messages::of(batch));
    }

    /// Counts messages handed to the consumer.
    pub(crate) fn add_messages(&self, messages: Messages) {
        if messages.events > 0 {
            self.events.fetch_add(messages.events, Relaxed);
            self.data_bytes.fetch_add(messages.data_bytes, Relaxed);
            self.last_event_unix_ms
                .store(unix_ms(SystemTime::now()).max(1), Relaxed);
        }
    }

    fn other(&self, item: &Item) {
        match item {
            Item::Open { .. } => {
                self.connections.fetch_add(1, Relaxed);
                self.connected_since.store(mono_ms(), Relaxed);
                self.connected.store(true, Relaxed);
            }
            Item::Reconnecting { .. } => {
                self.disconnected();
                self.reconnects.fetch_add(1, Relaxed);
            }
            Item::Error { error, .. } => {
                self.disconnected();
                self.errors.fetch_add(1, Relaxed);
                self.errors_by_kind[kind_index(error.kind)].fetch_add(1, Relaxed);
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(LastError {
                    kind: error.kind,
                    message: error.message.clone(),
                    at: SystemTime::now(),
                });
            }
            Item::Closed { .. } => self.disconnected(),
            Item::Comment(_) | Item::Message(_) => {}
        }
    }

    /// The open connection, if any, is over: its time joins the total.
    fn disconnected(&self) {
        let since = self.connected_since.swap(0, Relaxed);
        self.connected.store(false, Relaxed);
        if since != 0 {
            self.connected_ms
                .fetch_add(mono_ms().saturating_sub(since), Relaxed);
        }
    }

    /// A snapshot, with the queue's current and highest depth.
    pub(crate) fn snapshot(&self, queue_depth: usize, queue_peak: usize) -> Stats {
        let since = self.connected_since.load(Relaxed);
        let open_ms = if since == 0 {
            0
        } else {
            mono_ms().saturating_sub(since)
        };
        let last_event = self.last_event_unix_ms.load(Relaxed);
        Stats {
            events: self.events.load(Relaxed),
            data_bytes: self.data_bytes.load(Relaxed),
            wire_bytes: self.wire_bytes.load(Relaxed),
            connections: self.connections.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            errors: self.errors.load(Relaxed),
            errors_by_kind: std::array::from_fn(|i| self.errors_by_kind[i].load(Relaxed)),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            queue_depth: queue_depth as u64,
            queue_peak: queue_peak as u64,
            connected: self.connected.load(Relaxed),
            connected_time: Duration::from_millis(
                self.connected_ms.load(Relaxed).saturating_add(open_ms),
            ),
            last_event_at: (last_event != 0)
                .then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(last_event)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::event::CloseReason;
    use crate::parser::EventRef;

    fn message(data: &str) -> EventRef<'_> {
        EventRef {
            event_type: "message".into(),
            data: data.into(),
            last_event_id: "",
            retry: None,
        }
    }

    #[test]
    fn counts_what_batches_carry() {
        let counters = Counters::default();
        let mut batch = Batch::new();
        batch.push(Item::Open {
            status: 200,
            headers: vec![],
        });
        batch.push_message(&message("abc"));
        batch.push_message(&message("de"));
        batch.push(Item::Comment("x".into()));
        counters.delivered(&batch);
        counters.received(100);
        let open = counters.snapshot(3, 7);
        assert_eq!((open.events, open.data_bytes, open.wire_bytes), (2, 5, 100));
        assert_eq!((open.connections, open.errors, open.reconnects), (1, 0, 0));
        assert_eq!((open.queue_depth, open.queue_peak), (3, 7));
        assert!(open.connected && open.last_event_at.is_some() && open.last_error.is_none());

        let mut batch = Batch::new();
        batch.push(Item::Error {
            error: Error::status(503, vec![], "HTTP 503"),
            fatal: false,
        });
        batch.push(Item::Reconnecting {
            attempt: 1,
            delay: Duration::ZERO,
        });
        batch.push(Item::Closed {
            reason: CloseReason::ClosedByUser,
        });
        counters.delivered(&batch);
        let after = counters.snapshot(0, 7);
        assert_eq!((after.errors, after.reconnects), (1, 1));
        assert_eq!(after.errors_of(ErrorKind::HttpStatus), 1);
        assert_eq!(after.errors_of(ErrorKind::Io), 0);
        assert_eq!(after.last_error.unwrap().message, "HTTP 503");
        assert!(!after.connected);
        assert!(after.connected_time >= open.connected_time);
    }
}
