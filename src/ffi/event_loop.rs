//! `sse_loop`: a loop the application's event loop runs (see `sse_loop_new`).

use std::time::Duration;

use super::error::sse_status;
use super::{ffi_guard, try_ref};
use crate::event_loop::{Loop, Turn};

/// A loop for many clients that the application's own event loop runs
/// (asyncio, libuv, epoll, a game loop) on its thread: no libsse thread,
/// and an event costs one wake-up (the application's) instead of two.
/// Create with `sse_loop_new`; start clients on it with
/// `sse_config_set_loop`; watch `sse_loop_fd` for readability and call
/// `sse_loop_run(loop, 0)` when it is readable or `sse_loop_timeout_ms`
/// has passed, then pull the clients that have items (a wait set lists
/// them: `sse_client_join_waitset`). A pull of one of its clients that
/// waits runs the loop meanwhile; one with timeout 0 only takes what is
/// queued. Callbacks and request hooks
/// of its clients run inside `sse_loop_run` or those pulls; asking a
/// client for a descriptor, a wait set or a callback does not move it to
/// another thread. `sse_loop_fd` and `sse_loop_timeout_ms` are safe from
/// any thread and `sse_loop_run` too (one thread runs it at a time; the
/// others get `SSE_TIMEOUT`), until `sse_loop_free` starts: no call on the
/// loop may race or follow it. Free with `sse_loop_free`.
pub struct sse_loop {
    pub(crate) event_loop: Loop,
}

/// Creates a loop (a poll descriptor and a waker; no thread). NULL if they
/// cannot be created.
#[no_mangle]
pub extern "C" fn sse_loop_new() -> *mut sse_loop {
    ffi_guard!(std::ptr::null_mut(), {
        match Loop::new() {
            Ok(event_loop) => Box::into_raw(Box::new(sse_loop { event_loop })),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// The descriptor to watch for readability (poll/epoll/asyncio): readable
/// when a socket, a request from another thread (a close, a consumer's
/// room) or a name lookup's answer needs the loop. Owned by the loop (do
/// not read or close it). -1 if `event_loop` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_loop_fd(event_loop: *const sse_loop) -> i32 {
    ffi_guard!(-1, {
        match unsafe { event_loop.as_ref() } {
            Some(l) => l.event_loop.fd(),
            None => -1,
        }
    })
}

/// The most milliseconds the application may wait on `sse_loop_fd` before
/// it must call `sse_loop_run`: the next timer (a reconnection delay, a
/// connect or read timeout; rounded up), 0 when work is left over from the
/// last run, -1 when only readiness matters (or the loop has a thread of
/// its own, or `event_loop` is NULL). While another thread runs the loop (a
/// blocking pull), 20.
#[no_mangle]
pub unsafe extern "C" fn sse_loop_timeout_ms(event_loop: *const sse_loop) -> i32 {
    ffi_guard!(-1, {
        let Some(l) = (unsafe { event_loop.as_ref() }) else {
            return -1;
        };
        match l.event_loop.timeout() {
            None => -1,
            Some(wait) => {
                let ms = wait.as_nanos().div_ceil(1_000_000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            }
        }
    })
}

/// Runs the loop once on this thread: waits at most `timeout_ms` for
/// readiness (0: not at all; negative: until something happens), then
/// reads what is ready, fires what is due and queues the clients' items
/// (their wait sets and descriptors are signalled).
///
/// Returns `SSE_OK` (a turn ran), `SSE_TIMEOUT` (another thread runs the
/// loop now, a blocking pull of one of its clients: nothing done),
/// `SSE_CLOSED` (the loop has a thread of its own for good, from this call,
/// after its turn, or an earlier one: on a backlog, one stream's eight
/// reads of 16 KiB or more in a row, the server far ahead of the
/// application, where a thread reading ahead overlaps reading with the
/// application's work; stop watching `sse_loop_fd`, the clients' wait sets
/// and descriptors go on) or `SSE_ERR_ARGUMENT` (NULL `event_loop`, or a
/// call from inside the loop: a callback or request hook of one of its
/// clients; or a fork()ed child of the process that made the loop: a loop
/// does not survive fork()).
#[no_mangle]
pub unsafe extern "C" fn sse_loop_run(event_loop: *const sse_loop, timeout_ms: i32) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let l = try_ref!(event_loop);
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        match l.event_loop.run(timeout) {
            Ok(Turn::Ran) => sse_status::SSE_OK,
            Ok(Turn::Busy) => sse_status::SSE_TIMEOUT,
            Ok(Turn::Threaded) => sse_status::SSE_CLOSED,
            Err(_) => sse_status::SSE_ERR_ARGUMENT,
        }
    })
}

/// Moves the loop to a thread of its own for good, as a backlog does: for a
/// program that stops running it while its clients go on (their wait sets
/// and descriptors keep working; `sse_loop_run` then returns `SSE_CLOSED`).
/// Safe from any thread, also while another runs the loop; from inside the
/// loop (a callback or request hook), the move happens once that run ends.
///
/// Returns `SSE_OK`, `SSE_ERR_ARGUMENT` (NULL `event_loop`, or a fork()ed
/// child) or
/// `SSE_ERR_INTERNAL` (the thread cannot start; the loop stays the
/// program's to run).
#[no_mangle]
pub unsafe extern "C" fn sse_loop_to_thread(event_loop: *const sse_loop) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let l = try_ref!(event_loop);
        match l.event_loop.to_thread() {
            Ok(()) => sse_status::SSE_OK,
            Err(e) if e.kind == crate::ErrorKind::InvalidArgument => sse_status::SSE_ERR_ARGUMENT,
            Err(_) => sse_status::SSE_ERR_INTERNAL,
        }
    })
}

/// Frees the loop handle: the program stops running it. If clients, or
/// configurations set with it, still use it, it moves to a background
/// thread of its own now, where those clients (and clients started later
/// from those configurations) go on; stop watching `sse_loop_fd` first. In
/// a fork()ed child of the process that made it, it only forgets the
/// handle (the parent's streams are left alone). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sse_loop_free(event_loop: *mut sse_loop) {
    ffi_guard!((), {
        if !event_loop.is_null() {
            let event_loop = unsafe { Box::from_raw(event_loop) };
            if let Err(e) = event_loop.event_loop.hand_over() {
                crate::log::log(crate::log::LogLevel::Error, || {
                    format!("libsse: sse_loop_free: {e}")
                });
            }
        }
    })
}
