//! One HTTP(S) request with ureq: headers, redirects, status and
//! content-type checks. Knows nothing of threads or reconnection.

use std::io::Read;
use std::time::Duration;

use ureq::http::{self, Method, Uri};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

use crate::config::{Config, ProxySetting};
use crate::error::{Error, ErrorKind, Result};
use crate::log::{log, LogLevel};

/// The body of an open stream.
pub type StreamReader = Box<dyn Read + Send>;

/// The outcome of a successful request.
pub enum Opened {
    /// 200 with `text/event-stream`: the stream is open.
    Stream {
        /// Response status (200).
        status: u16,
        /// Response headers, names lowercased.
        headers: Vec<(String, String)>,
        /// The body.
        reader: StreamReader,
    },
    /// 204 No Content: the server says not to reconnect.
    NoContent,
}

/// ureq's socket read buffer per connection.
const INPUT_BUFFER_BYTES: usize = 16 * 1024;
/// The smallest request-writing buffer per connection (ureq writes the
/// whole request head into it, then the body through it).
const MIN_OUTPUT_BUFFER_BYTES: usize = 4 * 1024;
/// Room in the output buffer beyond the configured request head: standard
/// headers, a Last-Event-ID, a longer URL after a redirect.
const OUTPUT_HEAD_SLACK_BYTES: usize = 2 * 1024;

/// The bytes of `config`'s request head apart from the standard headers
/// and the Last-Event-ID (method, URL, user headers).
fn configured_head_bytes(config: &Config) -> usize {
    config.method.len()
        + config.url.len()
        + config
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum::<usize>()
}

/// A request-writing buffer that holds `config`'s request head: 4 KiB for
/// a usual request, more for long URLs, many large headers or a long
/// configured Last-Event-ID.
fn output_buffer_bytes(config: &Config) -> usize {
    (configured_head_bytes(config) + config.last_event_id.len() + OUTPUT_HEAD_SLACK_BYTES)
        .max(MIN_OUTPUT_BUFFER_BYTES)
        .next_multiple_of(1024)
}

/// Whether the URL's host is an IP address (no name to resolve).
fn host_is_ip_literal(url: &str) -> bool {
    url.parse::<Uri>()
        .ok()
        .and_then(|uri| uri.host().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .is_some_and(|host| host.parse::<std::net::IpAddr>().is_ok())
}

/// Parses PEM text into certificates; fails when it holds none.
pub fn parse_ca_pem(pem: &[u8]) -> Result<Vec<Certificate<'static>>> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(Error::argument(format!("invalid CA PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(Error::argument("the CA PEM holds no certificate"));
    }
    Ok(certs)
}

/// Settings shared by every connection of one client, prepared once.
pub struct Transport {
    agent_config: ureq::config::Config,
    /// The longest Last-Event-ID that fits the request buffer with the
    /// rest of the head (ureq cannot send a head larger than its buffer).
    max_last_event_id: usize,
}

impl Transport {
    /// Prepares the ureq settings for `config` (already validated).
    pub fn new(config: &Config) -> Result<Self> {
        let mut tls = TlsConfig::builder().disable_verification(config.insecure);
        if let Some(pem) = &config.ca_pem {
            tls = tls.root_certs(RootCerts::new_with_certs(&parse_ca_pem(pem)?));
        }
        // A resolve timeout makes ureq look names up on a helper thread (a
        // thread and a 2 MiB stack per connection): only worth it for names.
        let resolve_timeout = (!host_is_ip_literal(&config.url)).then_some(config.connect_timeout);
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_resolve(resolve_timeout)
            // ureq's default buffers are 128 KiB each, resident per client;
            // these keep thousands of idle clients small (the output buffer
            // is sized to the request). Large events are
            // read through our own growing buffer either way.
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .output_buffer_size(output_buffer_bytes(config))
            .timeout_per_read(config.read_timeout)
            .user_agent(concat!("libsse/", env!("CARGO_PKG_VERSION")))
            .accept("text/event-stream")
            .proxy(choose_proxy(&config.proxy, &config.url)?)
            .tls_config(tls.build())
            .max_idle_connections(0)
            .build();
        let max_last_event_id = output_buffer_bytes(config)
            - configured_head_bytes(config)
            - OUTPUT_HEAD_SLACK_BYTES / 2;
        Ok(Transport {
            agent_config,
            max_last_event_id,
        })
    }

    /// A fresh agent: one per connection, so that shutting it down (close,
    /// interrupt) never affects the next connection.
    pub fn new_agent(&self) -> Agent {
        self.agent_config.new_agent()
    }

    /// Sends the request (following redirects itself, at most
    /// `config.max_redirects`) and checks the response.
    #[inline(never)] // its large locals must not stay in the caller's frame (see stack.rs)
    pub fn open(&self, agent: &Agent, config: &Config, last_event_id: &str) -> Result<Opened> {
        let mut url = config.url.clone();
        let mut method = parse_method(&config.method)?;
        let mut send_body = config.body.is_some();
        let mut keep_authorization = true;
        let mut redirects = 0;
        loop {
            let mut request = http::Request::builder()
                .method(method.clone())
                .uri(&url)
                .header("cache-control", "no-cache");
            for (name, value) in &config.headers {
                if keep_authorization || !name.eq_ignore_ascii_case("authorization") {
                    request = request.header(name, value);
                }
            }
            // A server may set an id with control characters (valid SSE,
            // not a valid header value), or one too long for the request
            // buffer: then resume without it.
            if last_event_id.len() > self.max_last_event_id {
                log(LogLevel::Warn, || {
                    format!(
                        "{url}: Last-Event-ID of {} bytes not sent (at most {} fit)",
                        last_event_id.len(),
                        self.max_last_event_id
                    )
                });
            } else if !last_event_id.is_empty() && crate::config::is_header_value(last_event_id) {
                request = request.header("last-event-id", last_event_id);
            }
            let result = match (&config.body, send_body) {
                (Some(body), true) => {
                    agent.run(request.body(body.as_slice()).map_err(bad_request)?)
                }
                _ => agent.run(request.body(()).map_err(bad_request)?),
            };
            let response = result.map_err(|e| classify(e, "request failed"))?;
            let status = response.status().as_u16();
            let headers = collect_headers(response.headers());
            match status {
                200 => {
                    let content_type = header(&headers, "content-type").unwrap_or("");
                    if !is_event_stream(content_type) {
                        let mut error = Error::new(
                            ErrorKind::ContentType,
                            format!(
                                "expected content type text/event-stream, got {content_type:?}"
                            ),
                        );
                        error.status = Some(status);
                        error.headers = headers;
                        return Err(error);
                    }
                    let reader = response.into_body().into_reader();
                    return Ok(Opened::Stream {
                        status,
                        headers,
                        reader: Box::new(reader),
                    });
                }
                204 => return Ok(Opened::NoContent),
                301 | 302 | 303 | 307 | 308 => {
                    let location = header(&headers, "location").unwrap_or("").trim();
                    if location.is_empty() {
                        return Err(status_error(
                            status,
                            headers.clone(),
                            format!("HTTP {status} redirect without a Location"),
                        ));
                    }
                    if redirects >= config.max_redirects {
                        return Err(status_error(
                            status,
                            headers.clone(),
                            format!("too many redirects (limit {})", config.max_redirects),
                        ));
                    }
                    redirects += 1;
                    let next = resolve(&url, location).ok_or_else(|| {
                        status_error(
                            status,
                            headers.clone(),
                            format!("HTTP {status} redirect to an invalid Location {location:?}"),
                        )
                    })?;
                    if !same_origin(&url, &next) {
                        keep_authorization = false;
                    }
                    url = next;
                    let keeps_method =
                        matches!(status, 307 | 308) || (status != 303 && method != Method::POST);
                    if !keeps_method && method != Method::HEAD {
                        method = Method::GET;
                        send_body = false;
                    }
                }
                _ => {
                    let message = format!(
                        "HTTP status {status}{}",
                        response
                            .status()
                            .canonical_reason()
                            .map(|r| format!(" {r}"))
                            .unwrap_or_default()
                    );
                    let mut error = status_error(status, headers, message);
                    error.retry_after = header(&error.headers, "retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    return Err(error);
                }
            }
        }
    }
}

fn status_error(status: u16, headers: Vec<(String, String)>, message: String) -> Error {
    let mut error = Error::new(ErrorKind::HttpStatus, message);
    error.status = Some(status);
    error.headers = headers;
    error
}

fn bad_request(e: http::Error) -> Error {
    Error::argument(format!("cannot build the request: {e}"))
}

fn parse_method(method: &str) -> Result<Method> {
    Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::argument(format!("invalid HTTP method {method:?}")))
}

/// Whether a Content-Type names `text/event-stream` (any case, any params).
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/event-stream"))
}

fn collect_headers(map: &http::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The first value of header `name` (lowercase) in `headers`.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Resolves a redirect `location` against the current `base` URL.
fn resolve(base: &str, location: &str) -> Option<String> {
    let base: Uri = base.parse().ok()?;
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let resolved = if location.contains("://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{dir}{location}")
    };
    crate::config::validate_url(&resolved).ok()?;
    Some(resolved)
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    let origin = |url: &str| {
        let uri: Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Some((scheme, uri.host()?.to_ascii_lowercase(), port))
    };
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// The proxy for `url` under `setting`.
fn choose_proxy(setting: &ProxySetting, url: &str) -> Result<Option<Proxy>> {
    let proxy_url = match setting {
        ProxySetting::None => return Ok(None),
        ProxySetting::Url(proxy) => proxy.clone(),
        ProxySetting::FromEnvironment => match proxy_from_env(url, |name| std::env::var(name).ok())
        {
            Some(proxy) => proxy,
            None => return Ok(None),
        },
    };
    Proxy::new(&proxy_url)
        .map(Some)
        .map_err(|e| Error::argument(format!("invalid proxy URL {proxy_url:?}: {e}")))
}

/// The proxy curl would use for `url`, reading variables through `var`:
/// `http_proxy` (lowercase only) for http, `HTTPS_PROXY`/`https_proxy`
/// for https, then `ALL_PROXY`/`all_proxy`; none if the host matches
/// `NO_PROXY`/`no_proxy` (`*`, exact names, or domain suffixes).
pub fn proxy_from_env(url: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
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

/// Maps a ureq error to a libsse error, prefixing `context`.
pub fn classify(error: ureq::Error, context: &str) -> Error {
    use ureq::Error as U;
    let kind = match &error {
        U::Io(io) => return classify_io(io, context),
        U::Timeout(t) => match t {
            ureq::Timeout::PerRead | ureq::Timeout::RecvResponse | ureq::Timeout::RecvBody => {
                ErrorKind::ReadTimeout
            }
            _ => ErrorKind::Connect,
        },
        U::HostNotFound | U::ConnectionFailed | U::ConnectProxyFailed(_) => ErrorKind::Connect,
        U::Tls(_) | U::Pem(_) | U::Rustls(_) | U::TlsRequired => ErrorKind::Tls,
        U::BadUri(_) => ErrorKind::InvalidUrl,
        U::InvalidProxyUrl => ErrorKind::InvalidArgument,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{context}: {error}"))
}

/// Maps an I/O error (from a body read, possibly wrapping a ureq error).
pub fn classify_io(io: &std::io::Error, context: &str) -> Error {
    if io
        .get_ref()
        .is_some_and(|e| e.downcast_ref::<rustls::Error>().is_some())
    {
        return Error::new(ErrorKind::Tls, format!("{context}: TLS: {io}"));
    }
    if let Some(inner) = io.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        if !matches!(inner, ureq::Error::Io(_)) {
            return classify(clone_ureq_error(inner), context);
        }
    }
    use std::io::ErrorKind as Io;
    let kind = match io.kind() {
        Io::TimedOut | Io::WouldBlock => ErrorKind::ReadTimeout,
        Io::ConnectionRefused
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::AddrNotAvailable => ErrorKind::Connect,
        // std reports a failed name lookup with this message, no own kind.
        _ if io.to_string().starts_with("failed to lookup address") => ErrorKind::Connect,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{context}: {io}"))
}

/// ureq errors are not Clone; rebuild the variants `classify` looks at.
fn clone_ureq_error(error: &ureq::Error) -> ureq::Error {
    use ureq::Error as U;
    match error {
        U::Timeout(t) => U::Timeout(*t),
        U::HostNotFound => U::HostNotFound,
        U::ConnectionFailed => U::ConnectionFailed,
        U::Tls(s) => U::Tls(s),
        other => U::Io(std::io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_to_reach_the_server_are_connect_errors() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let lookup =
            IoError::other("failed to lookup address information: Name or service not known");
        for io in [
            lookup,
            IoError::from(Io::ConnectionRefused),
            IoError::from(Io::HostUnreachable),
            IoError::from(Io::NetworkUnreachable),
        ] {
            assert_eq!(
                classify_io(&io, "connecting").kind,
                ErrorKind::Connect,
                "{io}"
            );
        }
        let reset = IoError::from(Io::ConnectionReset);
        assert_eq!(classify_io(&reset, "reading").kind, ErrorKind::Io);
        let wrapped = ureq::Error::Io(IoError::other("failed to lookup address information: x"));
        assert_eq!(classify(wrapped, "connecting").kind, ErrorKind::Connect);
    }

    #[test]
    fn content_type_matching() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("TEXT/Event-Stream; charset=utf-8"));
        assert!(is_event_stream(" text/event-stream ;x=y"));
        assert!(!is_event_stream("text/plain"));
        assert!(!is_event_stream(""));
        assert!(!is_event_stream("text/event-streamx"));
    }

    #[test]
    fn redirect_resolution() {
        let base = "http://127.0.0.1:8080/a/b?q=1";
        assert_eq!(resolve(base, "/x").unwrap(), "http://127.0.0.1:8080/x");
        assert_eq!(resolve(base, "c").unwrap(), "http://127.0.0.1:8080/a/c");
        assert_eq!(resolve(base, "//h:1/p").unwrap(), "http://h:1/p");
        assert_eq!(resolve(base, "https://e.com/").unwrap(), "https://e.com/");
        assert!(resolve(base, "ftp://e.com/").is_none());
    }

    #[test]
    fn origins() {
        assert!(same_origin("http://a:80/x", "http://A/y"));
        assert!(!same_origin("http://a/x", "https://a/x"));
        assert!(!same_origin("http://a:1/", "http://a:2/"));
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
            proxy_from_env(http, env(&[("http_proxy", "p:1")])).as_deref(),
            Some("p:1")
        );
        // curl ignores upper-case HTTP_PROXY.
        assert_eq!(proxy_from_env(http, env(&[("HTTP_PROXY", "p:1")])), None);
        assert_eq!(proxy_from_env(https, env(&[("http_proxy", "p:1")])), None);
        assert_eq!(
            proxy_from_env(https, env(&[("HTTPS_PROXY", "p:2")])).as_deref(),
            Some("p:2")
        );
        assert_eq!(
            proxy_from_env(https, env(&[("ALL_PROXY", "p:3")])).as_deref(),
            Some("p:3")
        );
        let no = env(&[
            ("all_proxy", "p:3"),
            ("no_proxy", "other.org, .example.com"),
        ]);
        assert_eq!(proxy_from_env(http, no), None);
        let star = env(&[("all_proxy", "p:3"), ("NO_PROXY", "*")]);
        assert_eq!(proxy_from_env(http, star), None);
        let miss = env(&[("all_proxy", "p:3"), ("NO_PROXY", "ample.com")]);
        assert_eq!(proxy_from_env(http, miss).as_deref(), Some("p:3"));
    }
}
