//! One HTTP(S) request with ureq: headers, redirects, status and
//! content-type checks. Knows nothing of threads or reconnection.

use std::io::Read;
use std::time::SystemTime;

use ureq::http::{self, Method};
use ureq::tls::{RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, RustlsConnector, TcpConnector,
};
use ureq::Agent;

use crate::head_buffer::HeadRoomConnector;

use crate::config::Config;
use crate::engine::request::{last_event_id_to_send, Attempt};
use crate::error::{Error, ErrorKind, Result};
use crate::headers;
use crate::proxy::{self, ProxyChoice};
use crate::urls;

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

/// Settings shared by every connection of one client, prepared once.
pub struct Transport {
    agent_config: ureq::config::Config,
    proxy: Option<ProxyChoice>,
    max_response_head_bytes: usize,
    /// The longest Last-Event-ID that fits the request buffer with the
    /// rest of the head (ureq cannot send a head larger than its buffer).
    max_last_event_id: usize,
}

impl Transport {
    /// Prepares the ureq settings for `config` (already validated).
    pub fn new(config: &Config) -> Result<Self> {
        let mut tls = TlsConfig::builder().disable_verification(config.insecure);
        if let Some(pem) = &config.ca_pem {
            tls = tls.root_certs(RootCerts::new_with_certs(&crate::ca::parse_pem(pem)?));
        }
        if let Some((chain, key)) = &config.client_cert {
            let identity = crate::client_cert::ClientIdentity::parse(chain, key)?;
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(
                &identity.chain,
                identity.key,
            )));
        }
        // A resolve timeout makes ureq look names up on a helper thread (a
        // thread and a 2 MiB stack per connection): only worth it for names.
        let resolve_timeout =
            (!urls::host_is_ip_literal(&config.url)).then_some(config.connect_timeout);
        let proxy = proxy::choose(&config.proxy, &config.url)?;
        let output_buffer =
            output_buffer_bytes(config) + proxy.as_ref().map_or(0, |p| p.head_bytes());
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_resolve(resolve_timeout)
            // ureq's default buffers are 128 KiB each, resident per client;
            // these keep thousands of idle clients small (the output buffer
            // is sized to the request). Large events are read through our
            // own growing buffer either way. A response head larger than
            // the input buffer gets room from HeadRoom (head_buffer.rs).
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .max_response_header_size(config.max_response_head_bytes)
            .output_buffer_size(output_buffer)
            .timeout_per_read(config.read_timeout)
            // The read timeout bounds each silence; twice it bounds the
            // whole response head: a head trickled one byte at a time must
            // not hold the client for hours.
            .timeout_recv_response(config.read_timeout.map(|t| t.saturating_mul(2)))
            .user_agent(concat!("libsse/", env!("CARGO_PKG_VERSION")))
            .accept("text/event-stream")
            .proxy(proxy.as_ref().map(|p| p.proxy.clone()))
            .tls_config(tls.build())
            .max_idle_connections(0)
            .build();
        let max_last_event_id = output_buffer_bytes(config)
            - configured_head_bytes(config)
            - OUTPUT_HEAD_SLACK_BYTES / 2;
        Ok(Transport {
            agent_config,
            proxy,
            max_last_event_id,
            max_response_head_bytes: config.max_response_head_bytes,
        })
    }

    /// A fresh agent: one per connection, so that shutting it down (close,
    /// interrupt) never affects the next connection.
    pub fn new_agent(&self) -> Agent {
        let first = self
            .proxy
            .as_ref()
            .map(ProxyChoice::absolute_form_connector)
            .unwrap_or_default();
        let connector = first
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(RustlsConnector::default())
            .chain(HeadRoomConnector {
                max_bytes: self.max_response_head_bytes + 1,
            });
        Agent::with_parts(
            self.agent_config.clone(),
            connector,
            DefaultResolver::default(),
        )
    }

    /// Sends the request (following redirects itself, at most
    /// `config.max_redirects`) and checks the response.
    #[inline(never)] // its large locals must not stay in the caller's frame (see stack.rs)
    pub fn open(&self, agent: &Agent, config: &Config, last_event_id: &str) -> Result<Opened> {
        let mut attempt = Attempt::new(config)?;
        attempt.run_hook()?;
        loop {
            let url = attempt.url().to_owned();
            let mut request = http::Request::builder()
                .method(parse_method(attempt.method())?)
                .uri(&url)
                .header("cache-control", "no-cache");
            for (name, value) in attempt.headers() {
                request = request.header(name, value);
            }
            if let Some(value) = self.proxy.as_ref().and_then(|p| p.authorization_for(&url)) {
                if headers::find(&config.headers, "proxy-authorization").is_none() {
                    request = request.header("proxy-authorization", value);
                }
            }
            if let Some(id) = last_event_id_to_send(&url, last_event_id, self.max_last_event_id) {
                request = request.header("last-event-id", id);
            }
            let result = match attempt.body() {
                Some(body) => agent.run(request.body(body).map_err(bad_request)?),
                None => agent.run(request.body(()).map_err(bad_request)?),
            };
            let response = result.map_err(|e| request_error(e, config))?;
            let status = response.status().as_u16();
            let headers = collect_headers(response.headers());
            match status {
                200 => {
                    // ureq decodes gzip and then drops the header; anything
                    // else left would be parsed as events undecoded.
                    if let Some(coding) = header(&headers, "content-encoding")
                        .map(str::trim)
                        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
                    {
                        let mut error = Error::new(
                            ErrorKind::ContentType,
                            format!(
                                "unsupported Content-Encoding {coding:?} (libsse decodes gzip)"
                            ),
                        );
                        error.status = Some(status);
                        error.headers = headers;
                        return Err(error);
                    }
                    let content_type = header(&headers, "content-type").unwrap_or("");
                    if !headers::is_event_stream(content_type) {
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
                    let location = header(&headers, "location").unwrap_or("");
                    attempt.follow(status, location, &headers)?;
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
                    let mut error = Error::status(status, headers, message);
                    error.retry_after = header(&error.headers, "retry-after")
                        .and_then(|v| crate::retry_after::parse(v, SystemTime::now()));
                    // The server's reason, as far as it comes (ureq has
                    // decoded gzip already); a read failure keeps what came.
                    let mut body = response
                        .into_body()
                        .into_reader()
                        .take(crate::error::MAX_ERROR_BODY_BYTES as u64);
                    let _ = std::io::Read::read_to_end(&mut body, &mut error.body);
                    return Err(error);
                }
            }
        }
    }
}

/// The error of a request that got no response, in the user's terms.
fn request_error(error: ureq::Error, config: &Config) -> Error {
    if let ureq::Error::LargeResponseHeader(_, limit) = error {
        let mut error = Error::new(
            ErrorKind::TooLarge,
            format!("response head larger than {limit} bytes (the max response head size)"),
        );
        error.permanent = true;
        return error;
    }
    if let ureq::Error::Timeout(ureq::Timeout::RecvResponse) = error {
        let limit = config
            .read_timeout
            .unwrap_or_default()
            .saturating_mul(2)
            .as_millis();
        return Error::new(
            ErrorKind::ReadTimeout,
            format!("no complete response head within {limit} ms (read timeout)"),
        );
    }
    // ureq-proto's limit on the number of response headers.
    if matches!(&error, ureq::Error::Protocol(e) if e.to_string().contains("too many headers")) {
        let mut error = Error::new(
            ErrorKind::TooLarge,
            "response head with more than 128 header lines",
        );
        error.permanent = true;
        return error;
    }
    let error = classify(error, "request failed");
    if error.kind == ErrorKind::ReadTimeout {
        return read_timeout_error(config);
    }
    error
}

/// The error for a read that waited out the read-idle timeout.
pub fn read_timeout_error(config: &Config) -> Error {
    let idle = config.read_timeout.unwrap_or_default().as_millis();
    Error::new(
        ErrorKind::ReadTimeout,
        format!("no data for {idle} ms (read timeout)"),
    )
}

fn bad_request(e: http::Error) -> Error {
    Error::argument(format!("cannot build the request: {e}"))
}

fn parse_method(method: &str) -> Result<Method> {
    Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::argument(format!("invalid HTTP method {method:?}")))
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

/// The first value of header `name` in `headers`, in any case.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers::find(headers, name)
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
        // A stream cut in the middle of a gzip member is a disconnect.
        if let ureq::Error::Decompress(_, cause) = inner {
            if cause.kind() == std::io::ErrorKind::UnexpectedEof {
                return disconnected(context);
            }
        }
        if !matches!(inner, ureq::Error::Io(_)) {
            return classify(clone_ureq_error(inner), context);
        }
    }
    use std::io::ErrorKind as Io;
    if io.kind() == Io::UnexpectedEof {
        return disconnected(context);
    }
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

/// The peer closed the connection before the response or body was complete.
fn disconnected(context: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{context}: the server closed the connection mid-response"),
    )
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
        assert!(headers::is_event_stream("text/event-stream"));
        assert!(headers::is_event_stream("TEXT/Event-Stream; charset=utf-8"));
        assert!(headers::is_event_stream(" text/event-stream ;x=y"));
        assert!(!headers::is_event_stream("text/plain"));
        assert!(!headers::is_event_stream(""));
        assert!(!headers::is_event_stream("text/event-streamx"));
    }
}
