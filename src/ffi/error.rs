//! Status codes and their stable mapping from [`ErrorKind`].

use std::ffi::c_char;

use crate::error::ErrorKind;

/// Result of every fallible libsse call. Numbers are stable and never reused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_status {
    /// Success.
    SSE_OK = 0,
    /// Nothing arrived within the timeout (or, for a parser, nothing is pending).
    SSE_TIMEOUT = 1,
    /// The stream ended for good (closed, 204, or end of a one-shot stream).
    SSE_CLOSED = 2,
    /// An argument was NULL or invalid; see the handle's last error.
    SSE_ERR_ARGUMENT = 3,
    /// The URL (in the config or a redirect's `Location`) is malformed, not
    /// http/https, or has a port outside 1-65535.
    SSE_ERR_URL = 4,
    /// Name resolution or the TCP connection failed.
    SSE_ERR_CONNECT = 5,
    /// The TLS handshake or certificate verification failed.
    SSE_ERR_TLS = 6,
    /// The server answered with an unexpected HTTP status.
    SSE_ERR_HTTP_STATUS = 7,
    /// The server's content type is not text/event-stream.
    SSE_ERR_CONTENT_TYPE = 8,
    /// The connection broke or the server sent invalid HTTP.
    SSE_ERR_IO = 9,
    /// A line or event exceeded the maximum size.
    SSE_ERR_TOO_LARGE = 10,
    /// The retry limits were reached.
    SSE_ERR_RETRIES_EXHAUSTED = 11,
    /// A bug in libsse (a caught panic); please report it.
    SSE_ERR_INTERNAL = 12,
    /// No byte arrived within the read timeout.
    SSE_ERR_READ_TIMEOUT = 13,
    /// The request hook failed (it returned an error, or set an invalid
    /// header or URL); retried by the default error policy.
    SSE_ERR_REQUEST_HOOK = 14,
}

impl From<ErrorKind> for sse_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => sse_status::SSE_ERR_ARGUMENT,
            ErrorKind::InvalidUrl => sse_status::SSE_ERR_URL,
            ErrorKind::Connect => sse_status::SSE_ERR_CONNECT,
            ErrorKind::Tls => sse_status::SSE_ERR_TLS,
            ErrorKind::HttpStatus => sse_status::SSE_ERR_HTTP_STATUS,
            ErrorKind::ContentType => sse_status::SSE_ERR_CONTENT_TYPE,
            ErrorKind::Io => sse_status::SSE_ERR_IO,
            ErrorKind::ReadTimeout => sse_status::SSE_ERR_READ_TIMEOUT,
            ErrorKind::TooLarge => sse_status::SSE_ERR_TOO_LARGE,
            ErrorKind::RetriesExhausted => sse_status::SSE_ERR_RETRIES_EXHAUSTED,
            ErrorKind::Closed => sse_status::SSE_CLOSED,
            ErrorKind::Internal => sse_status::SSE_ERR_INTERNAL,
            ErrorKind::RequestHook => sse_status::SSE_ERR_REQUEST_HOOK,
        }
    }
}

/// The name of a status, e.g. "SSE_ERR_TLS". Static; never freed.
/// Unknown numbers give "SSE_UNKNOWN_STATUS".
#[no_mangle]
pub extern "C" fn sse_status_name(status: i32) -> *const c_char {
    // An integer, not the enum: C may pass any value.
    let name: &'static str = match status {
        0 => "SSE_OK\0",
        1 => "SSE_TIMEOUT\0",
        2 => "SSE_CLOSED\0",
        3 => "SSE_ERR_ARGUMENT\0",
        4 => "SSE_ERR_URL\0",
        5 => "SSE_ERR_CONNECT\0",
        6 => "SSE_ERR_TLS\0",
        7 => "SSE_ERR_HTTP_STATUS\0",
        8 => "SSE_ERR_CONTENT_TYPE\0",
        9 => "SSE_ERR_IO\0",
        10 => "SSE_ERR_TOO_LARGE\0",
        11 => "SSE_ERR_RETRIES_EXHAUSTED\0",
        12 => "SSE_ERR_INTERNAL\0",
        13 => "SSE_ERR_READ_TIMEOUT\0",
        14 => "SSE_ERR_REQUEST_HOOK\0",
        _ => "SSE_UNKNOWN_STATUS\0",
    };
    name.as_ptr().cast()
}
