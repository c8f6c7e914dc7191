//! The C ABI. Thin wrappers only: every export sits inside
//! `ffi_guard!` (a panic becomes an error status, never an unwind into
//! C) and checks its pointers with the helpers below.
//!
//! Safety, for every function: a handle pointer is NULL or a live handle
//! from this library; string pointers are NULL or NUL-terminated; a
//! (pointer, length) pair covers readable memory. NULL is always refused
//! cleanly, never dereferenced.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::thread::LocalKey;

pub mod batch;
pub mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod event_loop;
pub mod log;
pub mod parser;
pub mod request;
pub mod stats;
pub mod waitset;

pub use error::sse_status;

/// Runs `$body`, turning a panic into `$on_panic`.
macro_rules! ffi_guard {
    ($on_panic:expr, $body:block) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}
pub(crate) use ffi_guard;

/// Borrows `*ptr`, or returns `SSE_ERR_ARGUMENT` from the enclosing
/// function when it is NULL.
macro_rules! try_ref {
    ($ptr:expr) => {
        match unsafe { $ptr.as_ref() } {
            Some(value) => value,
            None => return $crate::ffi::error::sse_status::SSE_ERR_ARGUMENT,
        }
    };
}
pub(crate) use try_ref;

/// Mutably borrows `*ptr`, or returns `SSE_ERR_ARGUMENT` when NULL.
macro_rules! try_mut {
    ($ptr:expr) => {
        match unsafe { $ptr.as_mut() } {
            Some(value) => value,
            None => return $crate::ffi::error::sse_status::SSE_ERR_ARGUMENT,
        }
    };
}
pub(crate) use try_mut;

/// Reads a NUL-terminated UTF-8 string; None when NULL or not UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char) -> Result<&'a str, &'static str> {
    if ptr.is_null() {
        return Err("a string argument is NULL");
    }
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| "a string argument is not valid UTF-8")
}

/// Reads `len` bytes at `ptr` (NULL allowed when `len` is 0).
///
/// # Safety
/// `ptr` points to `len` readable bytes, or `len` is 0.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies `text` and a NUL into `buf` (`cap` bytes) for the
/// `sse_*_copy_*` functions: `SSE_OK` when it fits; else
/// `SSE_ERR_TOO_LARGE` with as much as fits (cut at a UTF-8 character
/// boundary) and a NUL when `cap` > 0. `*needed` (unless NULL) receives
/// `text.len() + 1` either way. `SSE_ERR_ARGUMENT` when `buf` is NULL and
/// `cap` is not 0.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes; `needed` is NULL or
/// writable.
pub(crate) unsafe fn copy_out(
    text: &[u8],
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> sse_status {
    if buf.is_null() && cap != 0 {
        return sse_status::SSE_ERR_ARGUMENT;
    }
    if let Some(needed) = unsafe { needed.as_mut() } {
        *needed = text.len() + 1;
    }
    if cap == 0 {
        return sse_status::SSE_ERR_TOO_LARGE;
    }
    let fits = text.len() < cap;
    let mut len = text.len().min(cap - 1);
    // Never end inside a UTF-8 sequence: back up over continuation bytes.
    while !fits && len > 0 && text.get(len).is_some_and(|b| b & 0xC0 == 0x80) {
        len -= 1;
    }
    // SAFETY: `len` < `cap`, so `len + 1` bytes fit in `buf`.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), len);
        buf.add(len).write(0);
    }
    if fits {
        sse_status::SSE_OK
    } else {
        sse_status::SSE_ERR_TOO_LARGE
    }
}

/// Copies a thread keeps per object behind one `*_last_*` function: the
/// latest for each of the last [`ThreadCopies::OBJECTS`] objects asked
/// about, oldest first, by the objects' serial numbers.
#[derive(Default)]
pub(crate) struct ThreadCopies(std::collections::VecDeque<(u64, CString)>);

impl ThreadCopies {
    /// Objects whose copies a thread keeps at once.
    pub(crate) const OBJECTS: usize = 16;
}

/// A number no other handle of the process gets: the key of a handle's
/// copies (an address would be reused by the next handle once this one
/// is freed, and its copy handed out again under the new handle).
pub(crate) fn next_serial() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Stores `text` as the calling thread's copy for `object` (its serial
/// number, [`next_serial`]) in `slot` and
/// returns a pointer to it: valid until this thread stores for the same
/// object again, or for [`ThreadCopies::OBJECTS`] other objects since, or
/// ends, whatever other threads do (their calls, a free of the object). So
/// `a = f(x); b = f(y);` keeps `a` valid. NULL while the thread is being
/// torn down.
pub(crate) fn thread_copy(
    slot: &'static LocalKey<RefCell<ThreadCopies>>,
    object: u64,
    text: CString,
) -> *const c_char {
    let key = object;
    slot.try_with(|copies| {
        let mut copies = copies.borrow_mut();
        let copies = &mut copies.0;
        if let Some(at) = copies.iter().position(|(k, _)| *k == key) {
            copies.remove(at);
        } else if copies.len() >= ThreadCopies::OBJECTS {
            copies.pop_front();
        }
        copies.push_back((key, text));
        copies
            .back()
            .map_or(std::ptr::null(), |(_, copy)| copy.as_ptr())
    })
    .unwrap_or(std::ptr::null())
}

/// A message as a C string (interior NULs replaced).
pub(crate) fn c_string(message: &str) -> CString {
    CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}

/// Makes `text` NUL-terminated in place (the NUL sits just past its
/// length, in spare capacity). Empty strings are left alone: C gets a
/// static "" for them. Hand the string to C through a pointer taken from
/// its buffer (`as_mut_vec().as_mut_ptr()`), not from the `&str`: a `&str`
/// may not read the NUL past its end.
pub(crate) fn nul_terminate(text: &mut String) {
    if text.is_empty() {
        return;
    }
    text.reserve(1);
    // SAFETY: writing into spare capacity leaves the string's contents,
    // and so its UTF-8 validity, untouched.
    unsafe {
        text.as_mut_vec().spare_capacity_mut()[0].write(0);
    }
}

/// Default maximum size in bytes of one line and of one event's data
/// (`sse_config_set_max_event_bytes`, `sse_parser_new`): 16 MiB.
pub const SSE_DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const _: () = assert!(SSE_DEFAULT_MAX_EVENT_BYTES == crate::parser::DEFAULT_MAX_EVENT_SIZE);

/// The default limit of a response head (status line and headers): 64 KiB.
pub const SSE_DEFAULT_MAX_RESPONSE_HEAD_BYTES: usize = 64 * 1024;
/// The smallest accepted response-head limit: 1 KiB.
pub const SSE_MIN_RESPONSE_HEAD_BYTES: usize = 1024;
/// The largest accepted response-head limit: 16 MiB.
pub const SSE_MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024 * 1024;
const _: () = assert!(
    SSE_DEFAULT_MAX_RESPONSE_HEAD_BYTES == crate::config::DEFAULT_MAX_RESPONSE_HEAD_BYTES
        && SSE_MIN_RESPONSE_HEAD_BYTES == crate::config::MIN_RESPONSE_HEAD_BYTES
        && SSE_MAX_RESPONSE_HEAD_BYTES == crate::config::MAX_RESPONSE_HEAD_BYTES
);

/// The library version, e.g. "0.1.0". Static; never freed.
#[no_mangle]
pub extern "C" fn sse_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
