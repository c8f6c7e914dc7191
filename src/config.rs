//! Client configuration: a builder that validates every field.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::parser::DEFAULT_MAX_EVENT_SIZE;
use crate::request_hook::RequestHook;
use crate::{headers, urls};

/// The longest timeout or delay accepted anywhere: one day.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// How reconnection delays grow and when the client gives up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first reconnection (unless the server sent `retry:`).
    pub initial_delay: Duration,
    /// Cap of the growing delay.
    pub max_delay: Duration,
    /// Lowest delay ever used, whatever the server says (`retry: 0`).
    pub min_delay: Duration,
    /// Growth factor per failed attempt in a row (>= 1).
    pub multiplier: f64,
    /// Share of the delay randomly removed, 0.0 (none) to 1.0.
    pub jitter: f64,
    /// A connection that stayed up this long resets the delay to the start.
    pub reset_after: Duration,
    /// Give up after this many reconnection attempts in a row (None: never);
    /// a connection that opens but ends before its first event (and before
    /// `reset_after`) does not break the row.
    pub max_attempts: Option<u32>,
    /// Give up once retrying has lasted this long (None: never).
    pub max_elapsed: Option<Duration>,
    /// Whether a failure of the very first connection is retried.
    pub retry_first_connect: bool,
    /// Whether to reconnect at all; false means one-shot streams, where a
    /// clean end of stream is a normal close.
    pub reconnect: bool,
    /// Ceiling of a server's `Retry-After`. A `Retry-After` raises the
    /// delay above `max_delay` (a rate-limited server means it), up to this
    /// ceiling; a longer one is cut to it with a warning in the log.
    pub max_retry_after: Duration,
}

/// The default ceiling of a server's `Retry-After`: one hour.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The default limit of a response head (status line and headers): 64 KiB.
pub const DEFAULT_MAX_RESPONSE_HEAD_BYTES: usize = 64 * 1024;
/// The smallest accepted response-head limit: 1 KiB.
pub const MIN_RESPONSE_HEAD_BYTES: usize = 1024;
/// The largest accepted response-head limit: 16 MiB.
pub const MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024 * 1024;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            min_delay: Duration::from_millis(100),
            multiplier: 2.0,
            jitter: 0.5,
            reset_after: Duration::from_secs(60),
            max_attempts: None,
            max_elapsed: None,
            retry_first_connect: true,
            reconnect: true,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }
}

/// Decides whether an error is retried (true) or ends the client (false).
pub type RetryPredicate = Arc<dyn Fn(&Error) -> bool + Send + Sync>;

/// Which errors reconnect.
#[derive(Clone, Default)]
pub enum ErrorPolicy {
    /// Network errors, oversized events, 5xx and 429 retry; the rest is fatal.
    #[default]
    Default,
    /// Every error except invalid configuration retries.
    RetryAll,
    /// Every error is fatal.
    NeverRetry,
    /// A user predicate decides.
    Custom(RetryPredicate),
}

impl fmt::Debug for ErrorPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorPolicy::Default => "Default",
            ErrorPolicy::RetryAll => "RetryAll",
            ErrorPolicy::NeverRetry => "NeverRetry",
            ErrorPolicy::Custom(_) => "Custom",
        })
    }
}

impl ErrorPolicy {
    /// Whether `error` is retried under this policy.
    pub fn retries(&self, error: &Error) -> bool {
        match self {
            ErrorPolicy::Default => error.is_retryable_by_default(),
            ErrorPolicy::RetryAll => !matches!(
                error.kind,
                ErrorKind::InvalidArgument | ErrorKind::InvalidUrl | ErrorKind::Internal
            ),
            ErrorPolicy::NeverRetry => false,
            ErrorPolicy::Custom(predicate) => predicate(error),
        }
    }
}

/// What a clean end of the stream (the server closing it without an
/// error) does. Errors follow the retry policy whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnEnd {
    /// GET reconnects (as a browser's EventSource does); any other method
    /// ends the client: a POST that asked for one answer (an LLM
    /// completion) got it, and asking again would repeat the request.
    #[default]
    ByMethod,
    /// Reconnect (with `Last-Event-ID`), whatever the method: long-lived
    /// POST or REPORT subscriptions. A reconnect re-sends the request.
    Reconnect,
    /// End the client with the close reason `EndOfStream`.
    End,
}

/// Which proxy to use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// The environment, as curl reads it: `http_proxy` for http URLs,
    /// `HTTPS_PROXY`/`https_proxy` for https, then `ALL_PROXY`/`all_proxy`;
    /// hosts in `NO_PROXY`/`no_proxy` go direct.
    #[default]
    FromEnvironment,
    /// Always connect directly.
    None,
    /// This proxy URL (`http://`, `socks5://`, `socks5h://`, `socks4://`,
    /// `socks4a://`; `https://` proxies are refused).
    Url(String),
}

/// Bytes shared by the configurations cloned from one (PEM material).
pub(crate) type SharedBytes = std::sync::Arc<[u8]>;

/// A validated client configuration. Build it with [`Config::builder`].
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) last_event_id: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) error_policy: ErrorPolicy,
    pub(crate) max_event_size: usize,
    pub(crate) queue_capacity: usize,
    /// Shared: every client started from a configuration holds it, and a
    /// CA bundle can be large.
    pub(crate) ca_pem: Option<SharedBytes>,
    pub(crate) insecure: bool,
    pub(crate) proxy: ProxySetting,
    pub(crate) max_redirects: u32,
    pub(crate) messages_only: bool,
    pub(crate) sensitive_headers: Vec<String>,
    pub(crate) allow_https_downgrade: bool,
    pub(crate) max_response_head_bytes: usize,
    pub(crate) own_thread: bool,
    pub(crate) driven_by_caller: bool,
    /// The loop the application runs, for a client on one.
    pub(crate) event_loop: Option<crate::Loop>,
    pub(crate) event_types: Vec<String>,
    pub(crate) on_end: OnEnd,
    pub(crate) request_hook: Option<RequestHook>,
    /// PEM certificate chain and private key for mutual TLS.
    pub(crate) client_cert: Option<(SharedBytes, SharedBytes)>,
}

impl Config {
    /// Starts a configuration for `url` with every other field at its default.
    pub fn builder(url: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                url: url.into(),
                method: "GET".into(),
                body: None,
                headers: Vec::new(),
                last_event_id: String::new(),
                connect_timeout: Duration::from_secs(10),
                read_timeout: Some(Duration::from_secs(300)),
                retry: RetryPolicy::default(),
                error_policy: ErrorPolicy::Default,
                max_event_size: DEFAULT_MAX_EVENT_SIZE,
                queue_capacity: 1024,
                ca_pem: None,
                insecure: false,
                proxy: ProxySetting::default(),
                max_redirects: 10,
                messages_only: false,
                sensitive_headers: Vec::new(),
                allow_https_downgrade: false,
                max_response_head_bytes: DEFAULT_MAX_RESPONSE_HEAD_BYTES,
                own_thread: false,
                driven_by_caller: false,
                event_loop: None,
                event_types: Vec::new(),
                on_end: OnEnd::default(),
                request_hook: None,
                client_cert: None,
            },
        }
    }

    /// The stream URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The bounded queue's capacity in items.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// The event types delivered (empty: every type).
    pub fn event_types(&self) -> &[String] {
        &self.event_types
    }

    /// Whether a clean end of the stream reconnects (see [`OnEnd`]).
    pub fn reconnects_at_end(&self) -> bool {
        self.retry.reconnect
            && match self.on_end {
                OnEnd::ByMethod => self.method.eq_ignore_ascii_case("GET"),
                OnEnd::Reconnect => true,
                OnEnd::End => false,
            }
    }
}

/// Whether a message of `event_type` passes a filter of `types` (empty:
/// every type passes).
pub(crate) fn type_wanted(types: &[String], event_type: &str) -> bool {
    types.is_empty() || types.iter().any(|t| t == event_type)
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] validates every field.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Replaces the URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.config.url = url.into();
        self
    }

    /// The HTTP method (default GET); any token, e.g. POST or REPORT.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.config.method = method.into();
        self
    }

    /// The request body, re-sent on every (re)connection and 307/308 redirect.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.config.body = Some(body.into());
        self
    }

    /// Adds a request header (repeatable; same-name headers are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.push((name.into(), value.into()));
        self
    }

    /// The Last-Event-ID to send on the first connection.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.config.last_event_id = id.into();
        self
    }

    /// Bound on name resolution plus TCP (and TLS) connection set-up.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// No byte for this long means a dead connection (None: wait forever);
    /// the response head must also be complete within twice this time.
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.read_timeout = timeout;
        self
    }

    /// The whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Changes the retry policy in place.
    pub fn retry(mut self, change: impl FnOnce(&mut RetryPolicy)) -> Self {
        change(&mut self.config.retry);
        self
    }

    /// Which errors reconnect.
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.config.error_policy = policy;
        self
    }

    /// Maximum size of one line and of one event's data, in bytes.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.config.max_event_size = bytes;
        self
    }

    /// Capacity of the bounded item queue (backpressure beyond it); the
    /// queue also holds at most 64 MiB of event text (or four events of the
    /// maximum size, if more).
    pub fn queue_capacity(mut self, items: usize) -> Self {
        self.config.queue_capacity = items;
        self
    }

    /// Trust these PEM certificates (instead of the Mozilla roots).
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.ca_pem = Some(pem.into().into());
        self
    }

    /// Trust the PEM certificates in `path`.
    pub fn ca_file(self, path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| Error::argument(format!("cannot read CA file {}: {e}", path.display())))?;
        Ok(self.ca_pem(pem))
    }

    /// Present this client certificate (mutual TLS): `chain_pem` holds the
    /// certificate chain, leaf first; `key_pem` its unencrypted private key
    /// (PKCS#8, PKCS#1 or SEC1; it may be the same text). An encrypted key
    /// is refused.
    pub fn client_certificate(
        mut self,
        chain_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.config.client_cert = Some((chain_pem.into().into(), key_pem.into().into()));
        self
    }

    /// [`ConfigBuilder::client_certificate`] from files (`key_path` may
    /// name the chain's own file when it holds the key too).
    pub fn client_certificate_files(
        self,
        chain_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let read = |path: &std::path::Path, what: &str| {
            std::fs::read(path)
                .map_err(|e| Error::argument(format!("cannot read {what} {}: {e}", path.display())))
        };
        let chain = read(chain_path.as_ref(), "client certificate file")?;
        let key = read(key_path.as_ref(), "client key file")?;
        Ok(self.client_certificate(chain, key))
    }

    /// Skip certificate verification. For tests only: anyone can intercept.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.config.insecure = insecure;
        self
    }

    /// Proxy selection (default: from the environment, as curl does).
    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.config.proxy = proxy;
        self
    }

    /// Maximum redirects followed per connection (default 10; 0: none).
    pub fn max_redirects(mut self, count: u32) -> Self {
        self.config.max_redirects = count;
        self
    }

    /// Names one more request header to drop on a redirect to another
    /// origin (repeatable), besides `Authorization`, `Cookie` and
    /// `Proxy-Authorization`, which are always dropped: API keys travel in
    /// headers such as `X-Api-Key`.
    pub fn sensitive_header(mut self, name: impl Into<String>) -> Self {
        self.config.sensitive_headers.push(name.into());
        self
    }

    /// Follow a redirect from https to http (default false: such a
    /// redirect fails, as the request and its headers would travel in
    /// plain text). Credentials are dropped on it either way.
    pub fn allow_https_downgrade(mut self, allow: bool) -> Self {
        self.config.allow_https_downgrade = allow;
        self
    }

    /// Largest response head (status line and headers) accepted, in bytes
    /// (default 64 KiB, 1 KiB to 16 MiB); a larger one fails the
    /// connection with `TooLarge`, and is not retried by default.
    pub fn max_response_head_bytes(mut self, bytes: usize) -> Self {
        self.config.max_response_head_bytes = bytes;
        self
    }

    /// Deliver only message events (and the final error), not open,
    /// comment, error, reconnecting and closed items.
    pub fn messages_only(mut self, only: bool) -> Self {
        self.config.messages_only = only;
        self
    }

    /// Delivers only message events of this type (repeatable; none set:
    /// every type). Other messages are dropped before they are queued, yet
    /// their `id` still moves the resume point (Last-Event-ID). Comments,
    /// open, error, reconnecting and closed items come as before. An event
    /// without an `event:` field has the type `message`.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.config.event_types.push(event_type.into());
        self
    }

    /// What a clean end of the stream does (default [`OnEnd::ByMethod`]:
    /// GET reconnects, other methods end).
    pub fn on_end(mut self, on_end: OnEnd) -> Self {
        self.config.on_end = on_end;
        self
    }

    /// Runs `hook` before every connection attempt (the first and each
    /// reconnection; not before the redirects of an attempt): it may set
    /// headers and change the URL's query (a fresh token each time). It
    /// runs on the client's background thread, shared with other clients
    /// unless [`ConfigBuilder::own_thread`] is set: a hook that may block
    /// (asking a token service) wants that setting. A failing hook fails
    /// the attempt with `RequestHook`, retried with backoff by default.
    pub fn request_hook(self, hook: RequestHook) -> Self {
        self.set_request_hook(Some(hook))
    }

    /// Sets or removes the request hook.
    pub(crate) fn set_request_hook(mut self, hook: Option<RequestHook>) -> Self {
        self.config.request_hook = hook;
        self
    }

    /// Drive this client on a background thread of its own instead of the
    /// one all clients share: for a callback that may block (which would
    /// hold up every stream of the shared thread). Costs a thread. True
    /// switches [`ConfigBuilder::driven_by_caller`] and
    /// [`ConfigBuilder::on_loop`] off (the last set wins).
    pub fn own_thread(mut self, own: bool) -> Self {
        self.config.own_thread = own;
        self.config.driven_by_caller &= !own;
        if own {
            self.config.event_loop = None;
        }
        self
    }

    /// Read the stream on the thread that waits for its items, inside
    /// [`crate::Client::next`] and [`crate::Client::next_batch`], instead
    /// of a background thread: one wake-up per event instead of two, no
    /// hand-over between threads. Between those calls the stream is not
    /// read (the server is held back by TCP, as for any blocking reader),
    /// and its reconnections and timeouts wait for the next call. Asking
    /// for the client's descriptor, a wait set or a callback moves it to a
    /// background thread of its own for good; so does a backlog (eight
    /// reads of 16 KiB or more in a row: the server is far ahead, and a thread
    /// reading ahead overlaps reading with the caller's work). True switches
    /// [`ConfigBuilder::own_thread`] and [`ConfigBuilder::on_loop`] off
    /// (the last set wins).
    pub fn driven_by_caller(mut self, driven: bool) -> Self {
        self.config.driven_by_caller = driven;
        self.config.own_thread &= !driven;
        if driven {
            self.config.event_loop = None;
        }
        self
    }

    /// Run the client on `event_loop`, a [`crate::Loop`] the application's
    /// own event loop runs (None: the loop all clients share). Switches
    /// [`ConfigBuilder::own_thread`] and [`ConfigBuilder::driven_by_caller`]
    /// off (the last of the three set wins).
    pub fn on_loop(mut self, event_loop: Option<&crate::Loop>) -> Self {
        self.config.event_loop = event_loop.cloned();
        if event_loop.is_some() {
            self.config.own_thread = false;
            self.config.driven_by_caller = false;
        }
        self
    }

    /// Validates every field and returns the configuration.
    pub fn build(self) -> Result<Config> {
        validate(&self.config)?;
        Ok(self.config)
    }

    /// Validates every field and returns a boxed copy: the copy is made on
    /// the heap in a small frame, so starting a client from a thread of
    /// its own touches little of that thread's stack (each page touched
    /// stays resident for the thread's life).
    pub(crate) fn build_boxed(&self) -> Result<Box<Config>> {
        validate(&self.config)?;
        Ok(self.boxed_copy())
    }

    /// A copy on the heap, staged in this frame only (not in the frame that
    /// also validates, whose URL parse goes deep).
    #[inline(never)]
    fn boxed_copy(&self) -> Box<Config> {
        Box::new(self.config.clone())
    }
}

/// Checks every field of `c`.
#[inline(never)]
fn validate(c: &Config) -> Result<()> {
    validate_url(&c.url)?;
    validate_method(&c.method)?;
    for event_type in &c.event_types {
        if event_type.is_empty() || event_type.contains(['\r', '\n', '\0']) {
            return Err(Error::argument(format!(
                "invalid event type {event_type:?}: must be non-empty, without CR, LF or NUL"
            )));
        }
    }
    for (name, value) in &c.headers {
        validate_header(name, value)?;
    }
    for name in &c.sensitive_headers {
        headers::validate_name(name)?;
    }
    headers::validate_value("Last-Event-ID", &c.last_event_id)?;
    if !(MIN_RESPONSE_HEAD_BYTES..=MAX_RESPONSE_HEAD_BYTES).contains(&c.max_response_head_bytes) {
        return Err(Error::argument(format!(
            "max response head size must be between {MIN_RESPONSE_HEAD_BYTES} and {MAX_RESPONSE_HEAD_BYTES} bytes, got {}",
            c.max_response_head_bytes
        )));
    }
    validate_timeout("connect timeout", c.connect_timeout)?;
    if let Some(timeout) = c.read_timeout {
        validate_timeout("read timeout", timeout)?;
    }
    validate_retry(&c.retry)?;
    if c.max_event_size == 0 {
        return Err(Error::argument("max event size must be at least 1 byte"));
    }
    if c.queue_capacity == 0 || c.queue_capacity > 1 << 20 {
        return Err(Error::argument(
            "queue capacity must be between 1 and 1048576 items",
        ));
    }
    if let Some(pem) = &c.ca_pem {
        crate::ca::parse_pem(pem)?;
    }
    if let Some((chain, key)) = &c.client_cert {
        crate::client_cert::ClientIdentity::parse(chain, key)?;
    }
    if let ProxySetting::Url(url) = &c.proxy {
        crate::proxy::parse(url)?;
    }
    Ok(())
}

/// Checks that `url` is an absolute http or https URL with a host and a
/// valid port (see [`crate::urls::parse`]).
pub fn validate_url(url: &str) -> Result<()> {
    urls::validate(url)
}

/// Checks that `method` is an HTTP token (e.g. GET, POST, REPORT).
pub fn validate_method(method: &str) -> Result<()> {
    if headers::is_token(method) {
        Ok(())
    } else {
        Err(Error::argument(format!(
            "invalid HTTP method {method:?}: must be a token"
        )))
    }
}

/// Checks a request header set by the user (see [`crate::headers::validate`]).
pub fn validate_header(name: &str, value: &str) -> Result<()> {
    headers::validate(name, value)
}

fn validate_timeout(what: &str, timeout: Duration) -> Result<()> {
    if timeout.is_zero() || timeout > MAX_DURATION {
        return Err(Error::argument(format!(
            "{what} must be between 1 ms and 24 h, got {timeout:?}"
        )));
    }
    Ok(())
}

fn validate_retry(r: &RetryPolicy) -> Result<()> {
    let delays = [
        ("initial delay", r.initial_delay),
        ("max delay", r.max_delay),
        ("min delay", r.min_delay),
        ("reset threshold", r.reset_after),
    ];
    for (what, delay) in delays {
        if delay > MAX_DURATION {
            return Err(Error::argument(format!(
                "retry {what} must be at most 24 h, got {delay:?}"
            )));
        }
    }
    if r.min_delay.is_zero() {
        return Err(Error::argument(
            "retry min delay must be at least 1 ms (a zero floor would spin)",
        ));
    }
    if r.max_delay < r.min_delay {
        return Err(Error::argument("retry max delay is below the min delay"));
    }
    if !(1.0..=100.0).contains(&r.multiplier) {
        return Err(Error::argument(format!(
            "retry multiplier must be between 1 and 100, got {}",
            r.multiplier
        )));
    }
    if !(0.0..=1.0).contains(&r.jitter) {
        return Err(Error::argument(format!(
            "retry jitter must be between 0 and 1, got {}",
            r.jitter
        )));
    }
    if r.max_retry_after.is_zero() || r.max_retry_after > MAX_DURATION {
        return Err(Error::argument(
            "retry-after ceiling must be between 1 ms and 24 h",
        ));
    }
    if r.max_elapsed
        .is_some_and(|d| d.is_zero() || d > MAX_DURATION)
    {
        return Err(Error::argument(
            "retry max elapsed time must be between 1 ms and 24 h",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(b: ConfigBuilder) -> std::result::Result<Config, ErrorKind> {
        b.build().map_err(|e| e.kind)
    }

    #[test]
    fn accepts_a_plain_url() {
        assert!(build(Config::builder("http://127.0.0.1:1/x")).is_ok());
        assert!(build(Config::builder("https://example.com")).is_ok());
    }

    #[test]
    fn refuses_bad_urls() {
        for url in [
            "",
            "not a url",
            "ftp://x/",
            "http://",
            "/relative",
            "http://a b/",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:65536/",
            "http://127.0.0.1:-1/",
        ] {
            assert_eq!(
                build(Config::builder(url)).unwrap_err(),
                ErrorKind::InvalidUrl,
                "{url:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_headers_and_methods() {
        let base = || Config::builder("http://127.0.0.1/");
        let bad = [
            base().header("X-A", "a\r\nInjected: 1"),
            base().header("X-A", "a\nb"),
            base().header("Bad Name", "v"),
            base().header("", "v"),
            base().header("X:Y", "v"),
            base().method("GE T"),
            base().method(""),
            base().last_event_id("a\rb"),
            base().last_event_id("a\u{1}b"),
            base().header("X-A", "bell\u{7}"),
            base().header("Content-Length", "5"),
            base().header("transfer-encoding", "chunked"),
            base().header("Host", "evil.example"),
            base().header("Connection", "close"),
            base().sensitive_header("X Api Key"),
            base().max_response_head_bytes(10),
        ];
        for b in bad {
            assert_eq!(build(b).unwrap_err(), ErrorKind::InvalidArgument);
        }
        assert!(build(base().header("X-Token", "a b\tc").method("REPORT")).is_ok());
    }

    #[test]
    fn refuses_zero_or_absurd_numbers() {
        let base = || Config::builder("http://127.0.0.1/");
        let bad = [
            base().connect_timeout(Duration::ZERO),
            base().read_timeout(Some(Duration::ZERO)),
            base().read_timeout(Some(Duration::from_secs(100 * 86400))),
            base().retry(|r| r.min_delay = Duration::ZERO),
            base().retry(|r| r.multiplier = 0.5),
            base().retry(|r| r.jitter = 1.5),
            base().retry(|r| r.max_delay = Duration::from_secs(86400 * 2)),
            base().max_event_size(0),
            base().queue_capacity(0),
            base().ca_pem("not a pem"),
            base().proxy(ProxySetting::Url("::nonsense".into())),
        ];
        for b in bad {
            assert_eq!(build(b).unwrap_err(), ErrorKind::InvalidArgument);
        }
    }
}
