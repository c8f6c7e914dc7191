//! `sse_stats`: a client's counters as a C struct (see `sse_client_stats`).
//!
//! One struct filled in one call, rather than an accessor per counter: the
//! counters come from one moment, and the struct grows at its end without
//! breaking programs built against an older header (its first field says
//! how much of it the caller has).

use std::ffi::c_char;
use std::time::SystemTime;

use super::sse_status;
use crate::stats::{Stats, ERROR_KINDS};

/// Slots of `sse_stats.errors_by_status`: one per status number.
pub const SSE_STATS_STATUS_SLOTS: usize = 32;
/// Bytes of `sse_stats.last_error`, NUL included.
pub const SSE_STATS_MESSAGE_BYTES: usize = 256;

/// A client's counters at one moment (`sse_client_stats`). Set `size` to
/// `sizeof(sse_stats)` before the call: the library fills no more than
/// that, so a program built against an older, shorter struct keeps
/// working when fields are added at the end.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sse_stats {
    /// In: the size of the caller's struct. Out: the bytes filled.
    pub size: usize,
    /// Message events delivered: handed to the callback or put in the
    /// queue (after the type filter), taken or not yet (`queue_depth`).
    pub events: u64,
    /// Bytes of those events' data.
    pub data_bytes: u64,
    /// Bytes received from the server (heads and bodies after TLS, before
    /// chunked and gzip decoding).
    pub wire_bytes: u64,
    /// Connections opened (responses accepted as a stream).
    pub connections: u64,
    /// Reconnections scheduled.
    pub reconnects: u64,
    /// Errors reported, fatal or not.
    pub errors: u64,
    /// Errors by status: `errors_by_status[SSE_ERR_IO]` counts I/O errors.
    /// The error that ends a stream because the retry limits were reached
    /// counts as `SSE_ERR_RETRIES_EXHAUSTED` (its message names the last
    /// failure).
    pub errors_by_status: [u64; SSE_STATS_STATUS_SLOTS],
    /// Items waiting in the queue now.
    pub queue_depth: u64,
    /// The most items the queue held at once.
    pub queue_peak: u64,
    /// Milliseconds spent connected, the open connection included.
    pub connected_ms: u64,
    /// When the last message event was delivered (ms since the Unix
    /// epoch); 0 if none was.
    pub last_event_unix_ms: u64,
    /// When the last error was reported (ms since the Unix epoch); 0 if none.
    pub last_error_unix_ms: u64,
    /// The last error's status (an `sse_status`); `SSE_OK` (0) if none.
    /// An `int32_t`, not the enum: a struct versioned by its size needs
    /// fields of one size whatever the compiler's enum size.
    pub last_error_status: i32,
    /// Whether a connection is open now.
    pub connected: bool,
    /// The last error's message, NUL-terminated, cut at a character
    /// boundary to fit; empty if none.
    pub last_error: [c_char; SSE_STATS_MESSAGE_BYTES],
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .max(1)
}

impl From<&Stats> for sse_stats {
    fn from(stats: &Stats) -> Self {
        let mut errors_by_status = [0; SSE_STATS_STATUS_SLOTS];
        for (kind, count) in ERROR_KINDS.iter().zip(stats.errors_by_kind) {
            let slot = sse_status::from(*kind) as usize;
            if let Some(total) = errors_by_status.get_mut(slot) {
                *total += count;
            }
        }
        let mut last_error = [0; SSE_STATS_MESSAGE_BYTES];
        let (last_error_status, last_error_unix_ms) = match &stats.last_error {
            Some(error) => {
                let mut end = error.message.len().min(SSE_STATS_MESSAGE_BYTES - 1);
                while !error.message.is_char_boundary(end) {
                    end -= 1;
                }
                for (slot, byte) in last_error.iter_mut().zip(&error.message.as_bytes()[..end]) {
                    // A NUL inside the message would cut it: shown as '?'.
                    *slot = if *byte == 0 { b'?' } else { *byte } as c_char;
                }
                (sse_status::from(error.kind) as i32, unix_ms(error.at))
            }
            None => (sse_status::SSE_OK as i32, 0),
        };
        sse_stats {
            size: std::mem::size_of::<sse_stats>(),
            events: stats.events,
            data_bytes: stats.data_bytes,
            wire_bytes: stats.wire_bytes,
            connections: stats.connections,
            reconnects: stats.reconnects,
            errors: stats.errors,
            errors_by_status,
            queue_depth: stats.queue_depth,
            queue_peak: stats.queue_peak,
            connected_ms: u64::try_from(stats.connected_time.as_millis()).unwrap_or(u64::MAX),
            last_event_unix_ms: stats.last_event_at.map_or(0, unix_ms),
            last_error_unix_ms,
            last_error_status,
            connected: stats.connected,
            last_error,
        }
    }
}

/// Writes `stats` into the caller's struct at `out`, no further than the
/// size it declares; false when that size is too small for even `size`.
///
/// # Safety
/// `out` points to at least `(*out).size` writable bytes.
pub(crate) unsafe fn fill(stats: &Stats, out: *mut sse_stats) -> bool {
    let declared = unsafe { std::ptr::addr_of!((*out).size).read_unaligned() };
    if declared < std::mem::size_of::<usize>() {
        return false;
    }
    let mut filled = sse_stats::from(stats);
    let bytes = declared.min(std::mem::size_of::<sse_stats>());
    filled.size = bytes;
    unsafe {
        std::ptr::copy_nonoverlapping(
            std::ptr::addr_of!(filled).cast::<u8>(),
            out.cast::<u8>(),
            bytes,
        );
    }
    true
}
