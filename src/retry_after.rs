//! The `Retry-After` response header (RFC 9110 section 10.2.3): a number
//! of seconds or an HTTP date. Values of any size are read without
//! overflow; the policy caps them (see `RetryPolicy::max_retry_after`).

use std::time::{Duration, SystemTime};

/// The delay a `Retry-After` value asks for, read at `now`: seconds (a
/// number too large for 64 bits counts as the largest one) or an HTTP date
/// (one in the past asks for no delay). None when it is neither.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_of_any_size() {
        let now = SystemTime::now();
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse("-1", now), None);
        assert_eq!(parse("1.5", now), None);
        assert_eq!(parse("", now), None);
    }

    #[test]
    fn http_dates() {
        let now = httpdate::parse_http_date("Wed, 02 Dec 2026 18:00:00 GMT").unwrap();
        assert_eq!(
            parse("Wed, 02 Dec 2026 18:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse("Wed, 02 Dec 2026 17:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("Tomorrow", now), None);
    }
}
