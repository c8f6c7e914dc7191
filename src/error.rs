//! The one error type of libsse and its stable mapping to C status codes.

use std::time::Duration;

/// The class of a failure; each maps to one stable C status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A caller passed an invalid value (NULL, CR/LF in a header, zero timeout).
    InvalidArgument,
    /// The URL (in the config or a redirect's `Location`) is malformed, not
    /// http/https, or has a port outside 1-65535.
    InvalidUrl,
    /// Name resolution or TCP connection failed (includes connect timeout).
    Connect,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// The server answered with a status other than 200 (or a bad redirect).
    HttpStatus,
    /// The server answered 200 with a content type other than `text/event-stream`.
    ContentType,
    /// The connection broke or the server sent invalid HTTP.
    Io,
    /// No byte arrived within the read-idle timeout.
    ReadTimeout,
    /// A line or event exceeded the configured maximum size, or the
    /// response head the configured maximum response-head size.
    TooLarge,
    /// The retry limits (attempts or total time) were reached.
    RetriesExhausted,
    /// The client was closed.
    Closed,
    /// A bug in libsse (a caught panic).
    Internal,
    /// The request hook failed: it reported an error, or set an invalid
    /// header or URL. Retried by the default policy (the hook may succeed
    /// next time, e.g. once a token service answers).
    RequestHook,
}

impl ErrorKind {
    /// Whether the default error policy reconnects after this kind of error
    /// (HTTP statuses are decided by [`Error::is_retryable_by_default`]).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect
                | ErrorKind::Io
                | ErrorKind::ReadTimeout
                | ErrorKind::TooLarge
                | ErrorKind::RequestHook
        )
    }
}

/// A failure, with everything known about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// The class of the failure.
    pub kind: ErrorKind,
    /// The readable message.
    pub message: String,
    /// The HTTP status, when the failure is a response.
    pub status: Option<u16>,
    /// The response headers, when the failure is a response.
    pub headers: Vec<(String, String)>,
    /// The server's `Retry-After` (seconds or an HTTP date), uncapped.
    pub retry_after: Option<Duration>,
    /// The server will answer the same way again (an oversized response
    /// head): the default policy does not retry it.
    pub permanent: bool,
    /// The first bytes of a refusal's body (a non-2xx status), at most
    /// [`MAX_ERROR_BODY_BYTES`]: the server's reason, often JSON. Empty
    /// otherwise, and for a body in a content coding other than gzip (a
    /// gzip body is decoded).
    pub body: Vec<u8>,
}

/// The most bytes of a refusal's body kept in its error: 64 KiB.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

impl Error {
    /// An error of `kind` with `message` and nothing else.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            headers: Vec::new(),
            retry_after: None,
            permanent: false,
            body: Vec::new(),
        }
    }

    /// An unexpected HTTP response: `status`, its `headers`, and `message`.
    pub fn status(status: u16, headers: Vec<(String, String)>, message: impl Into<String>) -> Self {
        Error {
            status: Some(status),
            headers,
            ..Self::new(ErrorKind::HttpStatus, message)
        }
    }

    /// An invalid-argument error.
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// The error meaning "the client was closed".
    pub fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the client is closed")
    }

    /// The default error policy: network errors, oversized events, 5xx and
    /// 429 are retried; other statuses, content-type, TLS and URL errors and
    /// an oversized response head end the client.
    pub fn is_retryable_by_default(&self) -> bool {
        if self.permanent {
            return false;
        }
        match self.kind {
            ErrorKind::HttpStatus => {
                matches!(self.status, Some(status) if status >= 500 || status == 429)
            }
            kind => kind.is_transient(),
        }
    }
}

/// Result with the libsse [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
