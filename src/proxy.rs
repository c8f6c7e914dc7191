//! Proxies: which one a URL goes through (read like curl), and how.
//!
//! - `http://` proxies: `http://` targets are sent to the proxy as
//!   ordinary requests in absolute form (`GET http://host/path HTTP/1.1`,
//!   RFC 9112 section 3.2.2), as curl does (standard forward proxies, Squid
//!   with its default rules among them, refuse `CONNECT` to ports other than
//!   443); `https://` targets go through a `CONNECT` tunnel.
//! - SOCKS proxies (`socks5://`, `socks5h://`, `socks4://`, `socks4a://`,
//!   `socks://` = SOCKS5): a SOCKS handshake opens the tunnel
//!   (`crate::engine::socks`).
//! - `https://` proxies (TLS to the proxy itself) are refused with a clear
//!   message: neither this library nor ureq before it spoke TLS to a proxy.

use std::fmt;

use base64::Engine as _;

use crate::config::ProxySetting;
use crate::error::{Error, Result};

/// The kind of a proxy, from its URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// `http://` (also a URL without a scheme, as curl reads it).
    Http,
    /// `socks4://` and `socks4a://`: names go to the proxy (4a).
    Socks4,
    /// `socks5://`, `socks5h://`, `socks://`: names go to the proxy.
    Socks5,
}

/// The proxy chosen for a client.
#[derive(Clone)]
pub struct ProxyChoice {
    /// Its kind.
    pub kind: ProxyKind,
    /// Its host (an IPv6 literal without brackets).
    pub host: String,
    /// Its port (default 80 for `http://`, 1080 for SOCKS).
    pub port: u16,
    /// The user and password of the proxy URL, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyChoice")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ProxyChoice {
    /// The `Proxy-Authorization` value for an `http://` proxy with
    /// credentials (`Basic`).
    pub fn authorization(&self) -> Option<String> {
        let (user, password) = self.credentials.as_ref()?;
        (self.kind == ProxyKind::Http).then(|| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        })
    }
}

/// The proxy for `url` under `setting`.
pub fn choose(setting: &ProxySetting, url: &str) -> Result<Option<ProxyChoice>> {
    let proxy_url = match setting {
        ProxySetting::None => return Ok(None),
        ProxySetting::Url(proxy) => proxy.clone(),
        ProxySetting::FromEnvironment => match from_env(url, |name| std::env::var(name).ok()) {
            Some(proxy) => proxy,
            None => return Ok(None),
        },
    };
    parse(&proxy_url).map(Some)
}

/// Reads a proxy URL (`[scheme://][user:password@]host[:port]`).
pub fn parse(proxy_url: &str) -> Result<ProxyChoice> {
    let invalid = |why: &dyn fmt::Display| {
        Error::argument(format!("invalid proxy URL {:?}: {why}", redact(proxy_url)))
    };
    let with_scheme = if proxy_url.contains("://") {
        proxy_url.to_owned()
    } else {
        format!("http://{proxy_url}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| invalid(&e))?;
    let (kind, default_port) = match url.scheme() {
        "http" => (ProxyKind::Http, 80),
        "socks4" | "socks4a" => (ProxyKind::Socks4, 1080),
        "socks" | "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
        "https" => return Err(invalid(
            &"https:// proxies (TLS to the proxy) are not supported; use an http:// or SOCKS proxy",
        )),
        other => return Err(invalid(&format!("unknown proxy scheme {other:?}"))),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid(&"no host"))?
        .trim_matches(['[', ']'])
        .to_owned();
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(invalid(&"a proxy URL has no path or query"));
    }
    let credentials = if url.username().is_empty() && url.password().is_none() {
        None
    } else {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| invalid(&"credentials are not valid percent-encoded UTF-8"))
        };
        Some((
            decode(url.username())?,
            decode(url.password().unwrap_or(""))?,
        ))
    };
    Ok(ProxyChoice {
        kind,
        host,
        port: url.port().unwrap_or(default_port),
        credentials,
    })
}

/// A proxy URL without its password, for messages.
fn redact(proxy_url: &str) -> String {
    match url::Url::parse(proxy_url) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => proxy_url.to_owned(),
    }
}

/// The proxy curl would use for `url`, reading variables through `var`:
/// `http_proxy` (lowercase only) for http, `HTTPS_PROXY`/`https_proxy`
/// for https, then `ALL_PROXY`/`all_proxy`; none if the host matches
/// `NO_PROXY`/`no_proxy` (`*`, exact names, or domain suffixes).
pub fn from_env(url: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    let first = |names: &[&str]| {
        names
            .iter()
            .filter_map(|name| var(name))
            .find(|value| !value.trim().is_empty())
    };
    if let Some(no_proxy) = first(&["no_proxy", "NO_PROXY"]) {
        let bypass = no_proxy.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            entry == "*"
                || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
        });
        if bypass {
            return None;
        }
    }
    let scheme_vars: &[&str] = if parsed.scheme() == "https" {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy"]
    };
    first(scheme_vars).or_else(|| first(&["all_proxy", "ALL_PROXY"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_like_curl() {
        let p = parse("http://user:p%40ss@127.0.0.1:3128").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Http, "127.0.0.1", 3128)
        );
        assert_eq!(
            p.authorization(),
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("user:p@ss")
            ))
        );
        let bare = parse("proxy.example:8080").unwrap();
        assert_eq!(
            (bare.kind, bare.port, bare.credentials),
            (ProxyKind::Http, 8080, None)
        );
        assert_eq!(parse("http://p").unwrap().port, 80);
        for (url, kind) in [
            ("socks5h://u:pw@[::1]:1081", ProxyKind::Socks5),
            ("socks5://h", ProxyKind::Socks5),
            ("socks://h", ProxyKind::Socks5),
            ("socks4a://h", ProxyKind::Socks4),
            ("socks4://h", ProxyKind::Socks4),
        ] {
            let p = parse(url).unwrap();
            assert_eq!(p.kind, kind, "{url}");
            assert!(p.authorization().is_none());
        }
        let socks = parse("socks5h://u:pw@[::1]:1081").unwrap();
        assert_eq!((socks.host.as_str(), socks.port), ("::1", 1081));
        assert_eq!(socks.credentials, Some(("u".into(), "pw".into())));
        assert_eq!(parse("socks5://h").unwrap().port, 1080);
        let https = parse("https://u:secret@p:1").unwrap_err();
        assert!(https.message.contains("not supported"), "{https}");
        assert!(!https.message.contains("secret"), "{https}");
        assert!(parse("ftp://p").is_err());
        assert!(parse("http://p/path").is_err());
        assert!(format!("{:?}", parse("http://u:secret@p").unwrap()).contains("***"));
    }

    #[test]
    fn proxy_environment_like_curl() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let http = "http://example.com/s";
        let https = "https://example.com/s";
        assert_eq!(
            from_env(http, env(&[("http_proxy", "p:1")])).as_deref(),
            Some("p:1")
        );
        // curl ignores upper-case HTTP_PROXY.
        assert_eq!(from_env(http, env(&[("HTTP_PROXY", "p:1")])), None);
        assert_eq!(from_env(https, env(&[("http_proxy", "p:1")])), None);
        assert_eq!(
            from_env(https, env(&[("HTTPS_PROXY", "p:2")])).as_deref(),
            Some("p:2")
        );
        assert_eq!(
            from_env(https, env(&[("ALL_PROXY", "p:3")])).as_deref(),
            Some("p:3")
        );
        let no = env(&[
            ("all_proxy", "p:3"),
            ("no_proxy", "other.org, .example.com"),
        ]);
        assert_eq!(from_env(http, no), None);
        let star = env(&[("all_proxy", "p:3"), ("NO_PROXY", "*")]);
        assert_eq!(from_env(http, star), None);
        let miss = env(&[("all_proxy", "p:3"), ("NO_PROXY", "ample.com")]);
        assert_eq!(from_env(http, miss).as_deref(), Some("p:3"));
    }
}
