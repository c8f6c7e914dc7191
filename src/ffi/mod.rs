//! The C ABI. Thin wrappers only: every export sits inside
//! [`ffi_guard!`] (a panic becomes an error status, never an unwind into
//! C) and checks its pointers with the helpers below.
//!
//! Safety, for every function: a handle pointer is NULL or a live handle
//! from this library; string pointers are NULL or NUL-terminated; a
//! (pointer, length) pair covers readable memory. NULL is always refused
//! cleanly, never dereferenced.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, CStr, CString};

pub mod batch;
pub mod client;
pub mod config;
pub mod error;
pub mod event;
pub mod log;
pub mod parser;

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

/// A message as a C string (interior NULs replaced).
pub(crate) fn c_string(message: &str) -> CString {
    CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}

/// Makes `text` NUL-terminated in place (the NUL sits just past its
/// length, in spare capacity). Empty strings are left alone: C gets a
/// static "" for them (see [`c_str`]).
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

/// The C pointer for a string prepared by [`nul_terminate`] (or the
/// borrowed default event type, which a NUL follows).
pub(crate) fn c_str(text: &str) -> *const c_char {
    if text.is_empty() {
        c"".as_ptr()
    } else {
        text.as_ptr().cast()
    }
}

/// Default maximum size in bytes of one line and of one event's data
/// (`sse_config_set_max_event_bytes`, `sse_parser_new`): 16 MiB.
pub const SSE_DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const _: () = assert!(SSE_DEFAULT_MAX_EVENT_BYTES == crate::parser::DEFAULT_MAX_EVENT_SIZE);

/// The library version, e.g. "0.1.0". Static; never freed.
#[no_mangle]
pub extern "C" fn sse_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
