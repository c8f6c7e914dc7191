//! Proxies: which one a URL goes through (read like curl), and how.
//!
//! `https://` targets go through a `CONNECT` tunnel (ureq's connector).
//! `http://` targets behind an `http://` proxy are sent to the proxy as
//! ordinary requests in absolute form (`GET http://host/path HTTP/1.1`,
//! RFC 9112 section 3.2.2), as curl does: standard forward proxies (Squid
//! with its default rules among them) refuse `CONNECT` to ports other than
//! 443. ureq writes every request in origin form, so the connector here
//! opens the TCP connection to the proxy and rewrites the request target
//! of the head ureq wrote before it leaves.

use std::fmt;

use base64::Engine as _;
use ureq::http::Uri;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, TcpConnector, Transport,
};
use ureq::Proxy;

use crate::config::ProxySetting;
use crate::error::{Error, Result};

/// The proxy chosen for a client, if any.
#[derive(Debug, Clone)]
pub struct ProxyChoice {
    /// ureq's proxy (used for `CONNECT` tunnels).
    pub proxy: Proxy,
    /// Set when `http://` targets go to this proxy in absolute form.
    absolute_form: Option<AbsoluteFormProxy>,
}

impl ProxyChoice {
    /// The `Proxy-Authorization` value to send with a request to `url`
    /// (an `http://` target through an `http://` proxy with credentials).
    pub fn authorization_for(&self, url: &str) -> Option<&str> {
        let proxy = self.absolute_form.as_ref()?;
        is_plain_http(url).then_some(())?;
        proxy.authorization.as_deref()
    }

    /// The bytes the proxy's credentials add to a request head.
    pub fn head_bytes(&self) -> usize {
        self.absolute_form
            .as_ref()
            .and_then(|p| p.authorization.as_ref())
            .map_or(0, |value| value.len() + 32)
    }

    /// For the engine loop: an `http://` proxy's host, port and
    /// `Proxy-Authorization` value; None for other kinds of proxy.
    pub fn http_proxy(&self) -> Option<(&str, u16, Option<&str>)> {
        let proxy = self.absolute_form.as_ref()?;
        Some((
            self.proxy.host(),
            self.proxy.port(),
            proxy.authorization.as_deref(),
        ))
    }

    /// The first connector of the chain: absolute form for `http://`
    /// targets through an `http://` proxy, nothing otherwise.
    pub fn absolute_form_connector(&self) -> AbsoluteFormConnector {
        AbsoluteFormConnector(self.absolute_form.clone())
    }
}

fn is_plain_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
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
    let invalid = |e: &dyn fmt::Display| {
        Error::argument(format!("invalid proxy URL {:?}: {e}", redact(&proxy_url)))
    };
    let proxy = Proxy::new(&proxy_url).map_err(|e| invalid(&e))?;
    let absolute_form = match proxy.protocol() {
        ureq::ProxyProtocol::Http => Some(AbsoluteFormProxy {
            uri: proxy.uri().clone(),
            authorization: basic_credentials(&proxy_url).map_err(|e| invalid(&e))?,
        }),
        _ => None,
    };
    Ok(Some(ProxyChoice {
        proxy,
        absolute_form,
    }))
}

/// `Basic` credentials from the userinfo of a proxy URL, if it has any.
fn basic_credentials(proxy_url: &str) -> std::result::Result<Option<String>, String> {
    let with_scheme = if proxy_url.contains("://") {
        proxy_url.to_owned()
    } else {
        format!("http://{proxy_url}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| e.to_string())?;
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "credentials are not valid percent-encoded UTF-8".to_owned())
    };
    let user = decode(url.username())?;
    let password = decode(url.password().unwrap_or(""))?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Ok(Some(format!("Basic {token}")))
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
    let uri: Uri = url.parse().ok()?;
    let host = uri.host()?.trim_matches(['[', ']']).to_ascii_lowercase();
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
    let scheme_vars: &[&str] = if uri.scheme_str() == Some("https") {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy"]
    };
    first(scheme_vars).or_else(|| first(&["all_proxy", "ALL_PROXY"]))
}

/// An `http://` proxy that gets `http://` targets in absolute form.
#[derive(Debug, Clone)]
struct AbsoluteFormProxy {
    uri: Uri,
    authorization: Option<String>,
}

/// First in the connector chain: for an `http://` target through an
/// `http://` proxy, a TCP connection to the proxy whose request goes out
/// in absolute form; anything else passes to the next connector (CONNECT,
/// TCP, TLS).
#[derive(Debug, Clone, Default)]
pub struct AbsoluteFormConnector(Option<AbsoluteFormProxy>);

impl Connector<()> for AbsoluteFormConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let Some(proxy) = &self.0 else {
            return Ok(None);
        };
        let target = details.uri;
        if target.scheme_str() != Some("http") {
            return Ok(None);
        }
        let Some(host) = target.host() else {
            return Ok(None);
        };
        let prefix = match target.port_u16() {
            Some(port) => format!("http://{host}:{port}"),
            None => format!("http://{host}"),
        };
        let addrs = details
            .resolver
            .resolve(&proxy.uri, details.config, details.timeout)?;
        let proxy_details = ConnectionDetails {
            uri: &proxy.uri,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let Some(tcp) = Connector::<()>::connect(&TcpConnector::default(), &proxy_details, None)?
        else {
            return Err(ureq::Error::ConnectionFailed);
        };
        Ok(Some(Box::new(AbsoluteForm {
            inner: tcp.boxed(),
            prefix: prefix.into_bytes(),
            head_sent: false,
        })))
    }
}

/// A transport that turns the first request line's origin-form target
/// (`/path?query`) into absolute form (`http://host:port/path?query`).
struct AbsoluteForm {
    inner: Box<dyn Transport>,
    prefix: Vec<u8>,
    head_sent: bool,
}

impl fmt::Debug for AbsoluteForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbsoluteForm")
            .field("inner", &self.inner)
            .finish()
    }
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        let amount = if self.head_sent {
            amount
        } else {
            self.head_sent = true;
            to_absolute_form(self.inner.buffers().output(), amount, &self.prefix)?
        };
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

/// Inserts `prefix` before the origin-form target of the request line at
/// the start of `buffer[..amount]`; returns the new amount.
fn to_absolute_form(
    buffer: &mut [u8],
    amount: usize,
    prefix: &[u8],
) -> std::result::Result<usize, ureq::Error> {
    let line_end = buffer[..amount]
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(amount);
    let Some(space) = buffer[..line_end].iter().position(|&b| b == b' ') else {
        return Ok(amount);
    };
    let target = space + 1;
    if buffer.get(target) != Some(&b'/') {
        return Ok(amount);
    }
    let grown = amount + prefix.len();
    if grown > buffer.len() {
        return Err(ureq::Error::Io(std::io::Error::other(
            "the request head does not fit the buffer in absolute form",
        )));
    }
    buffer.copy_within(target..amount, target + prefix.len());
    buffer[target..target + prefix.len()].copy_from_slice(prefix);
    Ok(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_in_absolute_form() {
        let head = b"GET /a?b=1 HTTP/1.1\r\nhost: h:8\r\n\r\n";
        let mut buffer = vec![0u8; 128];
        buffer[..head.len()].copy_from_slice(head);
        let n = to_absolute_form(&mut buffer, head.len(), b"http://h:8").unwrap();
        assert_eq!(
            &buffer[..n],
            b"GET http://h:8/a?b=1 HTTP/1.1\r\nhost: h:8\r\n\r\n"
        );
        let mut small = head.to_vec();
        assert!(to_absolute_form(&mut small, head.len(), b"http://h:8").is_err());
    }

    #[test]
    fn proxy_credentials_become_basic_authorization() {
        assert_eq!(
            basic_credentials("http://user:p%40ss@127.0.0.1:3128").unwrap(),
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("user:p@ss")
            ))
        );
        assert_eq!(basic_credentials("http://127.0.0.1:3128").unwrap(), None);
        assert!(redact("http://u:secret@p:1").contains("***"));
        assert!(!redact("http://u:secret@p:1").contains("secret"));
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
