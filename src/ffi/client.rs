//! `sse_client`: one stream and its background thread.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::Mutex;
use std::time::Duration;

use super::batch::sse_batch;
use super::config::sse_config;
use super::event::sse_event;
use super::{c_string, ffi_guard, sse_status, try_ref};
use crate::batch::ItemRef;
use crate::client::Client;
use crate::error::Error;

/// A running stream. Start with `sse_client_start`, free with
/// `sse_client_free`. Every function on a client may be called from any
/// thread; `sse_next_event`/`sse_next_events` from one thread at a time.
pub struct sse_client {
    client: Client,
    last_error: Mutex<CString>,
    last_event_id: Mutex<CString>,
}

impl sse_client {
    fn fail(&self, error: &Error) -> sse_status {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = c_string(&error.message);
        error.kind.into()
    }
}

thread_local! {
    /// The client whose queued items this thread is handing to a new
    /// callback inside `sse_client_set_callback` (null: none).
    static HANDOVER: Cell<*const sse_client> = const { Cell::new(std::ptr::null()) };
    /// `sse_client_free` was called on that client from the callback.
    static FREE_AFTER_HANDOVER: Cell<bool> = const { Cell::new(false) };
}

/// Receives one item on the client's background thread. `event` is
/// borrowed for the call: read it, do not free it, do not keep pointers
/// into it. The callback may call `sse_client_close`,
/// `sse_client_interrupt` and even `sse_client_free` on its client.
pub type sse_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const sse_event)>;

/// Releases a callback's userdata; runs exactly once, when the callback is
/// replaced or the client is freed (possibly on the background thread).
pub type sse_userdata_free = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A registered C callback; its `Drop` runs `userdata_free` exactly once.
struct CCallback {
    callback: unsafe extern "C" fn(*mut c_void, *const sse_event),
    userdata: *mut c_void,
    userdata_free: sse_userdata_free,
}

// SAFETY: the user promises, by registering it, that the callback and its
// userdata may be used from the client's background thread.
unsafe impl Send for CCallback {}

impl CCallback {
    fn call(&mut self, item: ItemRef<'_>) {
        let event = match item {
            // SAFETY: the message's strings outlive this call, and the
            // callback may not keep the event past it.
            ItemRef::Message(message) => unsafe { sse_event::borrowing(message) },
            ItemRef::Other(item) => sse_event::new(item.clone()),
        };
        let callback = self.callback;
        let userdata = self.userdata;
        // A panic cannot come out of C code; this guards our own conversion.
        let _ = std::panic::catch_unwind(|| unsafe { callback(userdata, &event) });
    }
}

impl Drop for CCallback {
    fn drop(&mut self) {
        if let Some(free) = self.userdata_free {
            unsafe { free(self.userdata) };
        }
    }
}

/// Starts a client with a copy of `config`: spawns its background thread
/// and returns at once (connection errors arrive as items). On `SSE_OK`,
/// `*out` receives a client to free with `sse_client_free`.
///
/// Returns `SSE_OK`, `SSE_ERR_ARGUMENT` (NULL, invalid setting), or
/// `SSE_ERR_URL`; `sse_config_last_error(config)` says why.
#[no_mangle]
pub unsafe extern "C" fn sse_client_start(
    config: *const sse_config,
    out: *mut *mut sse_client,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_ref!(config);
        if out.is_null() {
            return config.fail(&Error::argument("out is NULL"));
        }
        let built = match config.build() {
            Ok(built) => built,
            Err(status) => return status,
        };
        match Client::start(built) {
            Ok(client) => {
                let handle = Box::new(sse_client {
                    client,
                    last_error: Mutex::new(CString::default()),
                    last_event_id: Mutex::new(CString::default()),
                });
                unsafe { *out = Box::into_raw(handle) };
                sse_status::SSE_OK
            }
            Err(error) => config.fail(&error),
        }
    })
}

fn timeout_of(timeout_ms: i32) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
}

/// Waits up to `timeout_ms` (-1: forever, 0: do not wait) for the next
/// item. On `SSE_OK`, `*out` receives an event to free with `sse_event_free`.
///
/// Returns `SSE_OK`; `SSE_TIMEOUT` when nothing came; `SSE_CLOSED` when the
/// stream ended for good and every item was taken, or the error status that
/// ended it (`sse_client_last_error` says why); `SSE_ERR_ARGUMENT` for NULL.
/// Once the stream has ended, every call returns that same status.
#[no_mangle]
pub unsafe extern "C" fn sse_next_event(
    client: *mut sse_client,
    timeout_ms: i32,
    out: *mut *mut sse_event,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_ref!(client);
        if out.is_null() {
            return handle.fail(&Error::argument("out is NULL"));
        }
        match handle.client.next(timeout_of(timeout_ms)) {
            Ok(Some(item)) => {
                unsafe { *out = sse_event::boxed(item) };
                sse_status::SSE_OK
            }
            Ok(None) => sse_status::SSE_TIMEOUT,
            Err(error) => handle.fail(&error),
        }
    })
}

/// Batch pull: waits up to `timeout_ms` (-1: forever) for a first item,
/// then takes every item already queued, up to `max`, without waiting.
/// On `SSE_OK`, `events[0..*count]` receive events to free one by one.
///
/// Returns `SSE_OK` (`*count` >= 1), `SSE_TIMEOUT` (`*count` = 0), or the
/// end status as `sse_next_event` does; `SSE_ERR_ARGUMENT` for NULL or max 0.
#[no_mangle]
pub unsafe extern "C" fn sse_next_events(
    client: *mut sse_client,
    events: *mut *mut sse_event,
    max: usize,
    timeout_ms: i32,
    count: *mut usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_ref!(client);
        if events.is_null() || count.is_null() || max == 0 {
            return handle.fail(&Error::argument("events or count is NULL, or max is 0"));
        }
        unsafe { *count = 0 };
        let first = match handle.client.next(timeout_of(timeout_ms)) {
            Ok(Some(item)) => item,
            Ok(None) => return sse_status::SSE_TIMEOUT,
            Err(error) => return handle.fail(&error),
        };
        let mut items = Vec::with_capacity(max.min(1024));
        items.push(first);
        handle.client.try_next_batch(&mut items, max - 1);
        let taken = items.len();
        for (i, item) in items.into_iter().enumerate() {
            unsafe { *events.add(i) = sse_event::boxed(item) };
        }
        unsafe { *count = taken };
        sse_status::SSE_OK
    })
}

/// Waits up to `timeout_ms` (-1: forever, 0: do not wait) for items and
/// takes, in one call, what is left of the oldest network read's items:
/// the fastest way to take many events (one allocation for all the
/// messages' strings, one free). On `SSE_OK`, `*out` receives a batch of
/// at least one item, to free with `sse_batch_free`.
///
/// Returns like `sse_next_event`; `SSE_ERR_ARGUMENT` if `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_next_batch(
    client: *mut sse_client,
    timeout_ms: i32,
    out: *mut *mut sse_batch,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_ref!(client);
        if out.is_null() {
            return handle.fail(&Error::argument("out is NULL"));
        }
        match handle.client.next_batch(timeout_of(timeout_ms)) {
            Ok(Some(batch)) => {
                unsafe { *out = sse_batch::boxed(batch) };
                sse_status::SSE_OK
            }
            Ok(None) => sse_status::SSE_TIMEOUT,
            Err(error) => handle.fail(&error),
        }
    })
}

/// Registers `callback`: from now on every item goes to it, on the
/// client's background thread, instead of the queue. Items queued before
/// are handed to it during this call, on the calling thread. `userdata` is
/// passed to every call; `userdata_free` (may be NULL) runs exactly once
/// when the callback is replaced or the client freed. A NULL `callback`
/// removes the current one (items then queue again).
///
/// Refused from inside a callback. A callback may close the client (the
/// hand-over then stops) or free it (freed when this call returns).
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL client, or called from
/// inside a callback).
#[no_mangle]
pub unsafe extern "C" fn sse_client_set_callback(
    client: *mut sse_client,
    callback: sse_callback,
    userdata: *mut c_void,
    userdata_free: sse_userdata_free,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_ref!(client);
        if handle.client.on_worker_thread() || !HANDOVER.get().is_null() {
            return handle.fail(&Error::argument(
                "sse_client_set_callback cannot be called from inside a callback",
            ));
        }
        drop(handle.client.take_callback());
        if let Some(callback) = callback {
            let mut registered = CCallback {
                callback,
                userdata,
                userdata_free,
            };
            // Queued items reach the callback on this thread; a free from
            // inside it is deferred until the hand-over is over.
            HANDOVER.set(client);
            handle
                .client
                .set_callback(Box::new(move |item| registered.call(item)));
            HANDOVER.set(std::ptr::null());
            if FREE_AFTER_HANDOVER.replace(false) {
                drop(unsafe { Box::from_raw(client) });
            }
        } else if let Some(free) = userdata_free {
            unsafe { free(userdata) };
        }
        sse_status::SSE_OK
    })
}

/// A file descriptor that is readable while items are queued or the stream
/// has ended, for poll/epoll/libuv/asyncio: wait for it, then call
/// `sse_next_event` with timeout 0 until `SSE_TIMEOUT` (which also clears
/// a rare spurious readiness; a wake-up is never lost). Owned by the
/// client (do not close or read it). Returns -1 if `client` is NULL or
/// the descriptor cannot be created.
#[no_mangle]
pub unsafe extern "C" fn sse_client_fd(client: *const sse_client) -> i32 {
    ffi_guard!(-1, {
        let Some(handle) = (unsafe { client.as_ref() }) else {
            return -1;
        };
        match handle.client.notify_fd() {
            Ok(fd) => fd,
            Err(error) => {
                handle.fail(&error);
                -1
            }
        }
    })
}

/// Drops the current connection (or cuts a backoff wait short) and
/// reconnects at once, with Last-Event-ID. Any thread, also a callback.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_client_interrupt(client: *mut sse_client) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        try_ref!(client).client.interrupt();
        sse_status::SSE_OK
    })
}

/// Stops the stream for good within milliseconds, even while a read is
/// blocked. Items already queued can still be taken, then `sse_next_event`
/// returns `SSE_CLOSED`. Any thread, also a callback.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_client_close(client: *mut sse_client) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        try_ref!(client).client.close();
        sse_status::SSE_OK
    })
}

/// Closes the client, joins its thread, runs the callback's
/// `userdata_free`, and frees it. NULL is a no-op. From inside the
/// callback the thread finishes on its own right after the callback returns.
#[no_mangle]
pub unsafe extern "C" fn sse_client_free(client: *mut sse_client) {
    ffi_guard!((), {
        if client.is_null() {
            return;
        }
        if HANDOVER.get() == client.cast_const() {
            // Stop the hand-over now; free once it has returned.
            unsafe { &*client }.client.close();
            FREE_AFTER_HANDOVER.set(true);
            return;
        }
        drop(unsafe { Box::from_raw(client) });
    })
}

/// The message of the client's last failure ("" if none). Owned by the
/// client: valid until the next failing call on it or `sse_client_free`.
/// NULL if `client` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_client_last_error(client: *const sse_client) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        match unsafe { client.as_ref() } {
            Some(handle) => handle
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The last event id received (or configured): what a reconnection sends
/// as Last-Event-ID. Owned by the client: valid until the next call of
/// this function on it or `sse_client_free`, so callers on several threads
/// must serialise their calls (and copy the string). NULL if `client` is
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_client_last_event_id(client: *mut sse_client) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let Some(handle) = (unsafe { client.as_ref() }) else {
            return std::ptr::null();
        };
        let mut slot = handle
            .last_event_id
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *slot = c_string(&handle.client.last_event_id());
        slot.as_ptr()
    })
}

/// Whether the stream ended for good and every item was taken.
/// False for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_client_is_finished(client: *const sse_client) -> bool {
    ffi_guard!(false, {
        unsafe { client.as_ref() }.is_some_and(|h| h.client.is_finished())
    })
}
