//! HTTP header rules shared by the configuration, the engine and the C
//! ABI: what a valid header is, which headers the library owns, which
//! carry credentials, and case-insensitive lookup.

use crate::error::{Error, Result};

/// Request headers the engine writes itself (message framing, the
/// connection, the target host). A user value would contradict it: a
/// `Content-Length` without the body, for one, leaves the server waiting
/// for bytes that never come.
pub const LIBRARY_OWNED: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Request headers that carry credentials: dropped on a redirect to
/// another origin (curl's rule since CVE-2022-27776), with any the user
/// names as sensitive too.
pub const CREDENTIALS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Whether `name` is one of `names` (lowercase), in any case.
pub fn is_one_of(name: &str, names: &[&str]) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Checks a request header the user sets: a valid name (an HTTP token)
/// and value (no control characters), not one the library owns.
pub fn validate(name: &str, value: &str) -> Result<()> {
    validate_name(name)?;
    if is_one_of(name, LIBRARY_OWNED) {
        return Err(Error::argument(format!(
            "header {name} is set by libsse itself (it frames the request or the connection) and cannot be set by the user"
        )));
    }
    if name.eq_ignore_ascii_case("last-event-id") {
        return Err(Error::argument(
            "header Last-Event-ID is sent by libsse from the stream's last id (a second one would contradict it on reconnect); set the starting id with the last-event-id setting instead",
        ));
    }
    validate_value(name, value)
}

/// Checks that `name` is an HTTP token.
pub fn validate_name(name: &str) -> Result<()> {
    if is_token(name) {
        Ok(())
    } else {
        Err(Error::argument(format!(
            "invalid header name {name:?}: must be a non-empty HTTP token"
        )))
    }
}

/// Checks that a header value holds no control character (CR, LF, NUL
/// and the others; a tab is allowed).
pub fn validate_value(name: &str, value: &str) -> Result<()> {
    if !is_value(value) {
        return Err(Error::argument(format!(
            "invalid value for header {name}: control characters (CR, LF, NUL...) are not allowed"
        )));
    }
    Ok(())
}

/// Whether `value` can be sent as an HTTP header value.
pub fn is_value(value: &str) -> bool {
    !value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

/// Whether `s` is an HTTP token (header names, methods).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The first value of header `name` in `headers`, in any case.
pub fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether a Content-Type names `text/event-stream` (any case, any params).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/event-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_headers_are_refused_in_any_case() {
        for name in [
            "Content-Length",
            "transfer-encoding",
            "HOST",
            "Connection",
            "TE",
        ] {
            let error = validate(name, "5").unwrap_err();
            assert!(error.message.contains("set by libsse"), "{name}: {error}");
        }
        let error = validate("last-event-id", "7").unwrap_err();
        assert!(error.message.contains("last-event-id setting"), "{error}");
        assert!(validate("Content-Type", "application/json").is_ok());
        assert!(validate("Authorization", "Bearer x").is_ok());
    }

    #[test]
    fn lookup_ignores_case() {
        let headers = vec![("Retry-After".to_owned(), "5".to_owned())];
        assert_eq!(find(&headers, "retry-after"), Some("5"));
        assert_eq!(find(&headers, "location"), None);
    }
}
