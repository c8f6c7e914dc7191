//! `sse_waitset`: one descriptor for many clients (see `sse_waitset_new`).

use std::sync::{Arc, Mutex};

use super::ffi_guard;
use crate::waitset::WaitSet;

/// One descriptor for many clients: readable while some member has news
/// (items queued since it was last listed, or the end of its stream), with
/// the tokens of those members. For event loops with thousands of clients,
/// where `sse_client_fd` for each would not fit in the open-file limit.
/// Create with `sse_waitset_new`, add clients with `sse_client_join_waitset`
/// (a client cannot leave or change sets; one with a callback is listed
/// too), free with `sse_waitset_free`. `sse_waitset_fd` and
/// `sse_waitset_ready` are safe from any thread, until `sse_waitset_free`
/// starts: no call on the set may race or follow it.
pub struct sse_waitset {
    pub(crate) set: Arc<WaitSet>,
    taken: Mutex<Vec<u64>>,
}

/// Creates a wait set. NULL if its descriptor cannot be created.
#[no_mangle]
pub extern "C" fn sse_waitset_new() -> *mut sse_waitset {
    ffi_guard!(std::ptr::null_mut(), {
        match WaitSet::new() {
            Ok(set) => Box::into_raw(Box::new(sse_waitset {
                set,
                taken: Mutex::new(Vec::new()),
            })),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// The set's descriptor, for poll/epoll/asyncio: readable while some
/// member is listed; then call `sse_waitset_ready` until it returns fewer
/// tokens than asked, and pull from each listed client with timeout 0
/// until it returns anything but `SSE_OK` (`SSE_TIMEOUT`, or the end: an
/// ended client may be listed again; it stays ended). A client is listed
/// again only for news after it was taken. The descriptor may be readable
/// while `sse_waitset_ready` returns 0 (a late wake-up): wait again.
/// Owned by the set (do not close or read it). -1 if `set` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_waitset_fd(set: *const sse_waitset) -> i32 {
    ffi_guard!(-1, {
        match unsafe { set.as_ref() } {
            Some(set) => set.set.fd(),
            None => -1,
        }
    })
}

/// Takes up to `cap` listed tokens (oldest first) into `tokens`; returns
/// how many. Each member is listed once until taken, whatever the news
/// since. A token of a client freed meanwhile may still come out: ignore
/// tokens you no longer know. 0 if `set` or `tokens` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_waitset_ready(
    set: *mut sse_waitset,
    tokens: *mut u64,
    cap: usize,
) -> usize {
    ffi_guard!(0, {
        let (Some(set), false) = (unsafe { set.as_ref() }, tokens.is_null()) else {
            return 0;
        };
        let mut taken = set.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.clear();
        let n = set.set.take(&mut taken, cap);
        // SAFETY: the caller gives `cap` writable u64s at `tokens`.
        unsafe { std::ptr::copy_nonoverlapping(taken.as_ptr(), tokens, n) };
        n
    })
}

/// Frees the set handle. Clients that joined it keep its descriptor open
/// (and signalled) until they are freed, and shortly after, as their
/// streams end on the engine loop: take it out of your poll set first.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sse_waitset_free(set: *mut sse_waitset) {
    ffi_guard!((), {
        if !set.is_null() {
            drop(unsafe { Box::from_raw(set) });
        }
    })
}
