//! `sse_set_log_callback`: connection lifecycle messages for C.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::{c_string, ffi_guard};
use crate::log::{set_log_hook, LogLevel};

/// Severity of a log message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_log_level {
    /// A failure that ends a client.
    SSE_LOG_ERROR = 1,
    /// A connection failed or broke; the client reconnects.
    SSE_LOG_WARN = 2,
    /// Lifecycle: connecting, open, reconnecting, closed.
    SSE_LOG_INFO = 3,
    /// Details for debugging.
    SSE_LOG_DEBUG = 4,
}

impl From<LogLevel> for sse_log_level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => sse_log_level::SSE_LOG_ERROR,
            LogLevel::Warn => sse_log_level::SSE_LOG_WARN,
            LogLevel::Info => sse_log_level::SSE_LOG_INFO,
            LogLevel::Debug => sse_log_level::SSE_LOG_DEBUG,
        }
    }
}

/// Receives one log message (NUL-terminated, valid during the call) on
/// whichever thread logged it, often a client's background thread.
pub type sse_log_callback = Option<
    unsafe extern "C" fn(userdata: *mut c_void, level: sse_log_level, message: *const c_char),
>;

struct UserData(*mut c_void);
// SAFETY: the user registers the callback for use from any thread.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Installs a process-wide log callback for messages at `max_level` or
/// more severe (an `sse_log_level`: `SSE_LOG_ERROR` 1 .. `SSE_LOG_DEBUG`
/// 4; other numbers are clamped into that range); NULL removes it.
/// `userdata` is passed to every call and must stay valid until the
/// callback is replaced or removed: this call waits for running calls of
/// the previous callback to return. Must not be called from inside a log
/// callback.
#[no_mangle]
pub unsafe extern "C" fn sse_set_log_callback(
    callback: sse_log_callback,
    userdata: *mut c_void,
    max_level: i32,
) {
    ffi_guard!((), {
        let hook = callback.map(|callback| {
            let userdata = UserData(userdata);
            Arc::new(move |level: LogLevel, message: &str| {
                let message = c_string(message);
                let userdata = &userdata;
                unsafe { callback(userdata.0, level.into(), message.as_ptr()) };
            }) as crate::log::LogHook
        });
        let max_level = match max_level {
            ..=1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        set_log_hook(hook, max_level);
    })
}
