//! Stream and redirect URLs: parsing and validation, relative resolution,
//! origins. Resolution follows the WHATWG URL rules browsers use (through
//! the `url` crate), which agree with RFC 3986 section 5 for http(s).

use url::Url;

use crate::error::{Error, ErrorKind, Result};

/// Parses `text` as an absolute http or https URL with a host and a port
/// in 1..=65535 (out-of-range ports are refused, never wrapped).
pub fn parse(text: &str) -> Result<Url> {
    parse_or_why(text).map_err(|why| Error::new(ErrorKind::InvalidUrl, format!("{why}: {text:?}")))
}

/// [`parse`], with the reason of a refusal alone.
fn parse_or_why(text: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("malformed URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("URL scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    if url.port() == Some(0) {
        return Err("URL port must be between 1 and 65535".into());
    }
    // The HTTP stack parses the serialized URL again: it must agree.
    if url.as_str().parse::<ureq_proto::http::Uri>().is_err() {
        return Err("malformed URL".into());
    }
    Ok(url)
}

/// Checks that `text` is a URL [`parse`] accepts.
pub fn validate(text: &str) -> Result<()> {
    parse(text).map(drop)
}

/// The URL as it is sent: parsed and serialized (lowercase scheme and
/// host, default port dropped, path at least `/`, unsafe bytes escaped).
pub fn normalize(text: &str) -> Result<String> {
    parse(text).map(String::from)
}

/// Resolves a redirect's `location` (absolute or relative) against the
/// URL that answered with it. Errors say why the target is refused.
pub fn resolve(base: &str, location: &str) -> std::result::Result<String, String> {
    let base = Url::parse(base).map_err(|e| format!("invalid base URL: {e}"))?;
    let why = match base.join(location) {
        Ok(target) => match parse_or_why(target.as_str()) {
            Ok(url) => return Ok(url.into()),
            Err(why) => why,
        },
        Err(e) => format!("malformed URL ({e})"),
    };
    Err(format!("Location {location:?} refused: {why}"))
}

/// The origin of `url` (scheme, host, port), if it parses.
fn origin(url: &str) -> Option<url::Origin> {
    Url::parse(url).ok().map(|u| u.origin())
}

/// Whether two URLs share scheme, host and port.
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x.is_tuple() && x == y)
}

/// Whether going from `from` to `to` leaves TLS (https to http).
pub fn is_downgrade(from: &str, to: &str) -> bool {
    let scheme = |u: &str| Url::parse(u).ok().map(|u| u.scheme().to_owned());
    scheme(from).as_deref() == Some("https") && scheme(to).as_deref() == Some("http")
}

/// Whether the URL's host is an IP address (no name to resolve).
pub fn host_is_ip_literal(text: &str) -> bool {
    Url::parse(text)
        .ok()
        .is_some_and(|u| matches!(u.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))))
}

/// A redirect whose `Location` is no usable URL (bad port, scheme or
/// syntax) is a URL error, as the same URL in the config would be; the
/// status and headers stay attached.
pub(crate) fn redirect_error(mut error: Error) -> Error {
    error.kind = ErrorKind::InvalidUrl;
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_out_of_range_are_url_errors() {
        for url in [
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:65536/",
            "http://127.0.0.1:-1/",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:8x/",
        ] {
            assert_eq!(parse(url).unwrap_err().kind, ErrorKind::InvalidUrl, "{url}");
        }
        assert_eq!(
            parse("http://127.0.0.1:65535/").unwrap().port(),
            Some(65535)
        );
        assert_eq!(parse("http://127.0.0.1:1/").unwrap().port(), Some(1));
    }

    #[test]
    fn refuses_other_schemes_and_missing_hosts() {
        for url in ["ftp://x/", "file:///etc/passwd", "http://", "/x", "", "a b"] {
            assert!(parse(url).is_err(), "{url}");
        }
    }

    /// RFC 3986 section 5.4.1 (normal examples), base `http://a/b/c/d;p?q`.
    #[test]
    fn rfc3986_normal_examples() {
        let base = "http://a/b/c/d;p?q";
        let cases = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            ("g?y#s", "http://a/b/c/g?y#s"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("g;x?y#s", "http://a/b/c/g;x?y#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                resolve(base, reference).as_deref(),
                Ok(expected),
                "{reference}"
            );
        }
        // "g:h" is an absolute URL of another scheme: refused, not resolved.
        assert!(resolve(base, "g:h").is_err());
    }

    /// RFC 3986 section 5.4.2 (abnormal examples).
    #[test]
    fn rfc3986_abnormal_examples() {
        let base = "http://a/b/c/d;p?q";
        let cases = [
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g?y/../x", "http://a/b/c/g?y/../x"),
            ("g#s/./x", "http://a/b/c/g#s/./x"),
            ("g#s/../x", "http://a/b/c/g#s/../x"),
            // The backward-compatible reading (section 5.4.2), as browsers do.
            ("http:g", "http://a/b/c/g"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                resolve(base, reference).as_deref(),
                Ok(expected),
                "{reference}"
            );
        }
    }

    #[test]
    fn the_issue_examples() {
        let base = "http://host/a/b?x=1";
        assert_eq!(
            resolve(base, "/x?u=http://evil/").as_deref(),
            Ok("http://host/x?u=http://evil/")
        );
        assert_eq!(resolve(base, "?q=2").as_deref(), Ok("http://host/a/b?q=2"));
        assert_eq!(resolve(base, "../c").as_deref(), Ok("http://host/c"));
        assert_eq!(resolve(base, "./d").as_deref(), Ok("http://host/a/d"));
        assert!(resolve(base, "http://host:99999/").is_err());
        assert!(resolve(base, "ftp://e.com/").is_err());
        assert!(resolve(base, "javascript:alert(1)").is_err());
    }

    #[test]
    fn origins_and_downgrades() {
        assert!(same_origin("http://a:80/x", "http://A/y"));
        assert!(!same_origin("http://a/x", "https://a/x"));
        assert!(!same_origin("http://a:1/", "http://a:2/"));
        assert!(is_downgrade("https://a/", "http://a/"));
        assert!(!is_downgrade("http://a/", "https://a/"));
        assert!(!is_downgrade("https://a/", "https://b/"));
    }

    #[test]
    fn ip_literals() {
        assert!(host_is_ip_literal("http://127.0.0.1:1/"));
        assert!(host_is_ip_literal("http://[::1]:1/"));
        assert!(!host_is_ip_literal("http://localhost/"));
    }
}
