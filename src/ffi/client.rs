//! `sse_client`: one stream and its background thread.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::batch::sse_batch;
use super::config::sse_config;
use super::event::sse_event;
use super::{c_string, copy_out, ffi_guard, sse_status, thread_copy, try_ref, ThreadCopies};
use crate::batch::ItemRef;
use crate::client::Client;
use crate::error::Error;

/// A running stream. Start with `sse_client_start`, free with
/// `sse_client_free`. Every function on a client may be called from any
/// thread, also while other threads are in calls on it (several threads
/// pulling share the items between them). `sse_client_free` may even be
/// called while other threads are blocked in calls on the client: it
/// wakes them (they return `SSE_CLOSED` or a last item), waits for them
/// to leave, then frees. No call may start once `sse_client_free` has
/// been called: one that starts while the free is under way is refused
/// (`SSE_ERR_ARGUMENT`, NULL, -1 or false), one that starts after it
/// returned reads freed memory.
pub struct sse_client {
    client: Client,
    last_error: Mutex<CString>,
    /// The key of this client's copies behind `sse_client_last_error` and
    /// `sse_client_last_event_id`.
    serial: u64,
    /// Calls in progress, plus [`FREEING`] once a free has begun.
    calls: AtomicUsize,
    /// Taken by a call leaving after a free has begun, and by the free
    /// waiting for such calls.
    idle_lock: Mutex<()>,
    idle: Condvar,
}

/// The bit of `sse_client::calls` set by `sse_client_free`.
const FREEING: usize = 1 << (usize::BITS - 1);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl sse_client {
    fn fail(&self, error: &Error) -> sse_status {
        *lock(&self.last_error) = c_string(&error.message);
        error.kind.into()
    }

    /// Counts a call in until the guard drops; `None` once a free has
    /// begun (the call must not go on: the handle is about to go).
    fn enter(&self) -> Option<Call<'_>> {
        let before = self.calls.fetch_add(1, Ordering::SeqCst);
        let call = Call(self);
        // Leaving through the guard also wakes the waiting free.
        (before & FREEING == 0).then_some(call)
    }

    /// The free's side: wakes every call in progress, waits until the last
    /// has left. After this, only the caller touches the handle.
    fn quiesce(&self) {
        self.calls.fetch_or(FREEING, Ordering::SeqCst);
        self.client.close();
        self.client.wake_waiters();
        let mut guard = lock(&self.idle_lock);
        while self.calls.load(Ordering::SeqCst) & !FREEING != 0 {
            guard = self.idle.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A call in progress on a client (see `sse_client::enter`).
struct Call<'a>(&'a sse_client);

impl Drop for Call<'_> {
    fn drop(&mut self) {
        let handle = self.0;
        let mut calls = handle.calls.load(Ordering::SeqCst);
        // While no free has begun: leave without touching anything else.
        while calls & FREEING == 0 {
            match handle.calls.compare_exchange_weak(
                calls,
                calls - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(now) => calls = now,
            }
        }
        // A free waits: leave under its lock, so that it cannot see the
        // count drop (and free the handle) before this notification is done.
        let _guard = lock(&handle.idle_lock);
        handle.calls.fetch_sub(1, Ordering::SeqCst);
        handle.idle.notify_all();
    }
}

/// The live handle behind `client`, counted as a call in progress; or
/// `SSE_ERR_ARGUMENT` from the enclosing function for NULL or a handle
/// being freed.
macro_rules! enter {
    ($client:expr) => {
        match unsafe { $client.as_ref() }.and_then(|handle| handle.enter()) {
            Some(call) => call,
            None => return sse_status::SSE_ERR_ARGUMENT,
        }
    };
}

thread_local! {
    /// The client whose queued items this thread is handing to a new
    /// callback inside `sse_client_set_callback` (null: none).
    static HANDOVER: Cell<*const sse_client> = const { Cell::new(std::ptr::null()) };
    /// `sse_client_free` was called on that client from the callback.
    static FREE_AFTER_HANDOVER: Cell<bool> = const { Cell::new(false) };
}

/// Receives one item on the library's background thread, which all clients
/// share: a callback that blocks holds up every stream (hand slow work to a
/// thread of your own, or give the client a thread of its own with
/// `sse_config_set_own_thread`). `event` is borrowed for the call: read it, do
/// not free it, do not keep pointers into it. The callback may call
/// `sse_client_close`, `sse_client_interrupt` and even `sse_client_free`
/// on its client.
pub type sse_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const sse_event)>;

/// Releases a callback's userdata; runs exactly once, when the callback is
/// replaced or the client is freed (possibly on the background thread).
pub type sse_userdata_free = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A registered C callback; its `Drop` runs `userdata_free` exactly once.
pub(crate) struct CCallback {
    pub(crate) callback: unsafe extern "C" fn(*mut c_void, *const sse_event),
    pub(crate) userdata: *mut c_void,
    pub(crate) userdata_free: sse_userdata_free,
}

// SAFETY: the user promises, by registering it, that the callback and its
// userdata may be used from the client's background thread.
unsafe impl Send for CCallback {}

impl CCallback {
    /// Hands `item` to C; `text` is its batch's text buffer (see
    /// [`crate::ItemCallback`]).
    pub(crate) fn call(&mut self, item: ItemRef<'_>, text: &str) {
        let event = match item {
            // SAFETY: the message's strings outlive this call, and the
            // callback may not keep the event past it.
            ItemRef::Message(message) => {
                let mut event = unsafe { sse_event::borrowing(message) };
                // Pointers allowed to read each string's NUL: from the buffer.
                event.rebase(text.as_ptr(), text.len());
                event
            }
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

/// Starts a client with a copy of `config`: hands it to the engine loop
/// (the thread all clients share, or one of its own with
/// `sse_config_set_own_thread`) and returns at once (connection errors arrive as items). On `SSE_OK`,
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
        match Client::start_boxed(built) {
            Ok(client) => {
                let handle = Box::new(sse_client {
                    client,
                    last_error: Mutex::new(CString::default()),
                    serial: super::next_serial(),
                    calls: AtomicUsize::new(0),
                    idle_lock: Mutex::new(()),
                    idle: Condvar::new(),
                });
                unsafe { *out = Box::into_raw(handle) };
                sse_status::SSE_OK
            }
            Err(error) => config.fail(&error),
        }
    })
}

/// Refuses a pull from inside a callback during the hand-over of queued
/// items in `sse_client_set_callback` (on the engine thread, the core
/// refuses it): it holds the callback's lock, which the engine needs to
/// deliver anything, so a wait would never end.
fn refuse_in_handover(handle: &sse_client, function: &str) -> Option<sse_status> {
    if HANDOVER.get() == std::ptr::from_ref(handle) {
        return Some(handle.fail(&Error::argument(format!(
            "{function} cannot be called from inside the client's own callback"
        ))));
    }
    None
}

fn timeout_of(timeout_ms: i32) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
}

/// Waits up to `timeout_ms` (-1: forever, 0: do not wait) for the next
/// item. On `SSE_OK`, `*out` receives an event to free with `sse_event_free`.
///
/// Returns `SSE_OK`; `SSE_TIMEOUT` when nothing came; `SSE_CLOSED` when the
/// stream ended for good and every item was taken, or the error status that
/// ended it (`sse_client_copy_last_error` says why); `SSE_ERR_ARGUMENT` for
/// NULL, and when called from inside a callback on the thread that
/// delivers this client's items (the thread all clients share, unless this
/// one has its own), or from this client's callback during the hand-over in
/// `sse_client_set_callback`: that would wait for items only the caller
/// can deliver. Once the stream has
/// ended, every call returns that same status.
#[no_mangle]
pub unsafe extern "C" fn sse_next_event(
    client: *mut sse_client,
    timeout_ms: i32,
    out: *mut *mut sse_event,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let handle = call.0;
        if out.is_null() {
            return handle.fail(&Error::argument("out is NULL"));
        }
        if let Some(refused) = refuse_in_handover(handle, "sse_next_event") {
            return refused;
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
/// end status as `sse_next_event` does; `SSE_ERR_ARGUMENT` for NULL, max 0,
/// or a call from inside a callback, as `sse_next_event` says.
#[no_mangle]
pub unsafe extern "C" fn sse_next_events(
    client: *mut sse_client,
    events: *mut *mut sse_event,
    max: usize,
    timeout_ms: i32,
    count: *mut usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let handle = call.0;
        if events.is_null() || count.is_null() || max == 0 {
            return handle.fail(&Error::argument("events or count is NULL, or max is 0"));
        }
        unsafe { *count = 0 };
        if let Some(refused) = refuse_in_handover(handle, "sse_next_events") {
            return refused;
        }
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
/// Returns like `sse_next_event`; `SSE_ERR_ARGUMENT` if `out` is NULL or
/// when called from inside a callback, as `sse_next_event` says.
#[no_mangle]
pub unsafe extern "C" fn sse_next_batch(
    client: *mut sse_client,
    timeout_ms: i32,
    out: *mut *mut sse_batch,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let handle = call.0;
        if out.is_null() {
            return handle.fail(&Error::argument("out is NULL"));
        }
        if let Some(refused) = refuse_in_handover(handle, "sse_next_batch") {
            return refused;
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
/// library's background thread (see `sse_callback`), instead of the queue. Items queued before
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
        let call = enter!(client);
        let handle = call.0;
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
                .set_callback(Box::new(move |item, text| registered.call(item, text)));
            HANDOVER.set(std::ptr::null());
            drop(call);
            if FREE_AFTER_HANDOVER.replace(false) {
                unsafe { free_handle(client) };
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
        let Some(_call) = handle.enter() else {
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
        enter!(client).0.client.interrupt();
        sse_status::SSE_OK
    })
}

/// Stops the stream for good within milliseconds, even while a read is
/// blocked. Items already queued can still be taken, then `sse_next_event`
/// returns `SSE_CLOSED`. Any thread, also a callback. A thread waiting on
/// `sse_client_fd` or the client's wait set is woken at once.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_client_close(client: *mut sse_client) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        enter!(client).0.client.close();
        sse_status::SSE_OK
    })
}

/// Closes the client, wakes the calls other threads are making on it
/// (blocked pulls return at once) and waits for them to return, waits for
/// its stream to end on the engine loop (its socket closed; a client with
/// a thread of its own, `sse_config_set_own_thread`, has that thread
/// joined), runs the callback's `userdata_free`, and frees it. While
/// another client's callback holds the shared loop thread, the wait for
/// the stream's end lasts at most 200 ms: the socket is then closed when
/// the loop goes on. A client driven by its caller
/// (`sse_config_set_driven_by_caller`), or one on an `sse_loop` that
/// nobody runs at that moment, ends its stream on the freeing thread, at
/// once. NULL is a
/// no-op. No call on the client may start once this is called (one that
/// starts during the free is refused; after it, the handle is gone). From inside
/// a callback (this client's, or another's on the same loop thread or
/// `sse_loop`) the rest (the stream's end, `userdata_free`) happens right
/// after the callback returns (do not free from a callback while another thread is in
/// `sse_client_set_callback` on the same client: each would wait for the
/// other).
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
        unsafe { free_handle(client) };
    })
}

/// Waits for the calls in progress on `client` to leave, then frees it.
///
/// # Safety
/// `client` is a live handle that no call will use after this starts.
unsafe fn free_handle(client: *mut sse_client) {
    unsafe { &*client }.quiesce();
    drop(unsafe { Box::from_raw(client) });
}

/// Copies the message of the client's last failure ("" if none) into
/// `buf` (`cap` bytes), NUL-terminated. `*needed` (if `needed` is not
/// NULL) receives the size the whole message needs, NUL included. Safe
/// from any thread, also while other threads' calls fail; never changes
/// the last error itself.
///
/// Returns `SSE_OK` when the message fitted; `SSE_ERR_TOO_LARGE` when it
/// did not (`buf` holds as much as fits, cut at a character boundary,
/// NUL-terminated, when `cap` > 0; `buf` may be NULL when `cap` is 0, to
/// ask for the size); `SSE_ERR_ARGUMENT` when `client` is NULL or `buf` is
/// NULL with `cap` > 0.
#[no_mangle]
pub unsafe extern "C" fn sse_client_copy_last_error(
    client: *const sse_client,
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let message = lock(&call.0.last_error).clone();
        unsafe { copy_out(message.as_bytes(), buf, cap, needed) }
    })
}

/// Copies the last event id received (or configured), what a reconnection
/// sends as Last-Event-ID, into `buf` as `sse_client_copy_last_error`
/// copies the message (same statuses). Safe from any thread, also while
/// events flow.
#[no_mangle]
pub unsafe extern "C" fn sse_client_copy_last_event_id(
    client: *const sse_client,
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let id = call.0.client.last_event_id();
        unsafe { copy_out(id.as_bytes(), buf, cap, needed) }
    })
}

/// Lists `client` in `set` under `token` whenever items are queued for it
/// or its stream ends (at once if it has items or ended already): one
/// descriptor for many clients, instead of `sse_client_fd` for each. A
/// client joins one set at most; the set lives on while its clients do.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` (NULL argument, or the client
/// is in a set already).
#[no_mangle]
pub unsafe extern "C" fn sse_client_join_waitset(
    client: *mut sse_client,
    set: *const super::waitset::sse_waitset,
    token: u64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        let Some(set) = (unsafe { set.as_ref() }) else {
            return call
                .0
                .fail(&Error::argument("sse_client_join_waitset: set is NULL"));
        };
        match call.0.client.join_wait_set(&set.set, token) {
            Ok(()) => sse_status::SSE_OK,
            Err(error) => call.0.fail(&error),
        }
    })
}

/// Fills `*out` with the client's counters now (see `sse_stats`): set
/// `out->size = sizeof(sse_stats)` first. Cheap (no lock on the stream's
/// path); safe from any thread at any time, also from a callback and
/// after the stream ended (the counters stay until `sse_client_free`).
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` when `client` or `out` is NULL
/// or `out->size` is smaller than a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sse_client_stats(
    client: *const sse_client,
    out: *mut super::stats::sse_stats,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let call = enter!(client);
        if out.is_null() {
            return call
                .0
                .fail(&Error::argument("sse_client_stats: out is NULL"));
        }
        let stats = call.0.client.stats();
        if unsafe { super::stats::fill(&stats, out) } {
            sse_status::SSE_OK
        } else {
            call.0.fail(&Error::argument(
                "sse_client_stats: out->size must be set to sizeof(sse_stats)",
            ))
        }
    })
}

thread_local! {
    /// The calling thread's copies behind `sse_client_last_error` and
    /// `sse_client_last_event_id`.
    static LAST_ERROR_COPY: RefCell<ThreadCopies> = RefCell::default();
    static LAST_EVENT_ID_COPY: RefCell<ThreadCopies> = RefCell::default();
}

/// The message of the client's last failure ("" if none), as a copy owned
/// by the calling thread: valid until this thread calls
/// `sse_client_last_error` again for the same client (or for 16 other
/// clients since) or ends, whatever other threads do (their failing
/// calls, `sse_client_free`). NULL if `client` is NULL. Prefer
/// `sse_client_copy_last_error` (a copy into your own buffer; required
/// where a caller may change OS thread between two calls, as a Go
/// goroutine can).
#[no_mangle]
pub unsafe extern "C" fn sse_client_last_error(client: *const sse_client) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let Some(handle) = (unsafe { client.as_ref() }) else {
            return std::ptr::null();
        };
        let Some(_call) = handle.enter() else {
            return std::ptr::null();
        };
        let message = lock(&handle.last_error).clone();
        thread_copy(&LAST_ERROR_COPY, handle.serial, message)
    })
}

/// The last event id received (or configured), what a reconnection sends
/// as Last-Event-ID, as a copy owned by the calling thread: valid until
/// this thread calls `sse_client_last_event_id` again for the same client
/// (or for 16 other clients since) or ends, whatever other threads do.
/// NULL if `client` is NULL. Prefer
/// `sse_client_copy_last_event_id` (see `sse_client_last_error`).
#[no_mangle]
pub unsafe extern "C" fn sse_client_last_event_id(client: *const sse_client) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let Some(handle) = (unsafe { client.as_ref() }) else {
            return std::ptr::null();
        };
        let Some(_call) = handle.enter() else {
            return std::ptr::null();
        };
        thread_copy(
            &LAST_EVENT_ID_COPY,
            handle.serial,
            c_string(&handle.client.last_event_id()),
        )
    })
}

/// Whether the stream ended for good and every item was taken.
/// False for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_client_is_finished(client: *const sse_client) -> bool {
    ffi_guard!(false, {
        unsafe { client.as_ref() }
            .is_some_and(|h| h.enter().is_some_and(|_call| h.client.is_finished()))
    })
}
