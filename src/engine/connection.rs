//! One HTTP/1.1 exchange of a stream as a sans-IO state machine, in the
//! shape of quinn-proto's `Connection`: bytes and the time go in, bytes to
//! write, the next deadline and events come out. No socket, no clock.
//!
//! - `handle_input(bytes, now)`, `handle_eof(now)`, `handle_transmitted(n)`
//!   and `handle_timeout(now)` report what the network and the clock did;
//! - `close()` is what the user asks;
//! - `poll_transmit()`, `poll_timeout()` and `poll_event()` say what to do
//!   next; call them after every `handle_*` or `close`.
//!
//! The request head and body are written by ureq-proto's `client::Call` at
//! creation (any size: the buffer grows) and the response head is parsed
//! by its `RecvResponse` state; the body is de-framed here (`Framing`:
//! chunked through `dechunk`, content-length, close-delimited). A whole
//! input's worth of body is de-framed (and gunzipped) before the parser
//! runs, so an input of many small chunks becomes one batch of items.
//!
//! The bytes here are plain HTTP: TLS (rustls' `ClientConnection`) sits in
//! front of this in the reactor, turning ciphertext into these bytes.
//! Redirects are not followed here: a 3xx ends the exchange with the next
//! URL and the caller decides (limit, downgrade, credentials).
//! Create it once the socket is connected: the read-idle deadline
//! counts from `now` at creation.
//!
//! Where ureq-proto 0.7.1 falls short, and what is done instead:
//! - origin-form targets only: the request line is rewritten for
//!   absolute form (`to_absolute_form`);
//! - no gzip (ureq does it above ureq-proto): flate2, see `gzip`;
//! - no response-head size limit and a full re-parse per `try_response`:
//!   the limit is checked here, and parsing waits for an input that can
//!   complete an empty line;
//! - its de-chunker costs about 100 ns per chunk (a third of the rate of
//!   close-delimited bodies when servers flush one chunk per event), drops
//!   the chunks before an error in the same call and waits without bound
//!   for the end of a chunk-size line: `dechunk` decodes a whole input in
//!   one pass, keeps what came before an error and bounds size lines at
//!   [`MAX_CHUNK_FRAMING_BYTES`];
//! - its redirect state drops only `Authorization` and `Cookie` and
//!   refuses 307/308 with a body: redirects are decided by the caller.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use memchr::memmem;
use ureq_proto::client::state::RecvResponse;
use ureq_proto::client::{Call, RecvResponseResult, SendRequestResult};
use ureq_proto::http::{self, Method};
use ureq_proto::BodyMode;

use super::dechunk::Dechunker;
use super::gzip::Gunzip;
use crate::batch::{Batch, TextPool};
use crate::config::Config;
use crate::error::{Error, ErrorKind, MAX_ERROR_BODY_BYTES};
use crate::headers;
use crate::parser::{ParsedItem, Parser};

/// The request of one exchange; built by the caller (redirect rules and
/// credential dropping are the caller's).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// Any HTTP token (`GET`, `POST`, `REPORT`...).
    pub(crate) method: String,
    /// The absolute `http`/`https` URL, normalized (`crate::urls`).
    pub(crate) url: String,
    /// The user's headers to send, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The request body, sent with a `Content-Length`.
    pub(crate) body: Option<Vec<u8>>,
    /// The request goes to an `http://` proxy: the request line carries
    /// the absolute URL (RFC 9112 section 3.2.2) instead of the path.
    pub(crate) absolute_form: bool,
}

/// Limits and choices of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Largest response head (status line and headers) accepted.
    pub(crate) max_response_head_bytes: usize,
    /// No byte for this long fails the exchange (None: wait forever).
    pub(crate) read_timeout: Option<Duration>,
    /// The whole response head must arrive within this (None: no bound
    /// beyond the read timeout, as today).
    pub(crate) head_timeout: Option<Duration>,
    /// Comments are not turned into items.
    pub(crate) messages_only: bool,
    /// Only messages of these types become items (empty: every type).
    pub(crate) event_types: std::sync::Arc<[String]>,
}

impl Settings {
    /// The settings `config` asks for.
    pub(crate) fn from_config(config: &Config) -> Self {
        Settings {
            max_response_head_bytes: config.max_response_head_bytes,
            read_timeout: config.read_timeout,
            // Twice the read timeout for the head (as the thread engine had it).
            head_timeout: config.read_timeout.map(|t| t.saturating_mul(2)),
            messages_only: config.messages_only,
            event_types: config.event_types.clone().into(),
        }
    }
}

/// What outlives one exchange of a stream: the parser (last event id,
/// retry) and the pool of large text buffers.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    /// The stream's parser.
    pub(crate) parser: Parser,
    /// Spare large text buffers of consumed batches.
    pub(crate) text_pool: TextPool,
}

/// What the exchange reports, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// 200 with `text/event-stream`: the stream is open.
    Open {
        /// The status (200).
        status: u16,
        /// The response headers, names lowercased.
        headers: Vec<(String, String)>,
    },
    /// The items of one input (more than one batch only when gzip expands
    /// an input past [`MAX_BATCH_INPUT_BYTES`]). A gzip body's input comes
    /// in [`GZIP_INPUT_STEP`] steps (see [`Connection::input_step`]), so it
    /// gives a batch per step.
    Items(Batch),
    /// A valid `retry:` field: the server's reconnection time in ms.
    ServerRetry(u64),
    /// The exchange is over; nothing follows.
    End(End),
}

/// How an exchange ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The body ended cleanly.
    Finished,
    /// 204 No Content: do not reconnect.
    NoContent,
    /// A redirect; `location` is resolved against the request URL and
    /// valid (`crate::urls::parse`). Following it is the caller's choice.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: u16,
        /// The absolute next URL.
        location: String,
        /// The response headers.
        headers: Vec<(String, String)>,
    },
    /// A failure.
    Failed(Error),
}

/// The user agent sent unless the user sets one.
const USER_AGENT: &str = concat!("libsse/", env!("CARGO_PKG_VERSION"));
/// Decoded body bytes per batch at most: only a gzip input that expands
/// past this is split into several batches.
pub(crate) const MAX_BATCH_INPUT_BYTES: usize = 256 * 1024;
/// Compressed bytes per input step of a gzip body (see
/// [`Connection::input_step`]): at most a few MiB of events at the highest
/// ratios.
const GZIP_INPUT_STEP: usize = 2048;
/// The longest chunk-size line (digits and extensions) `dechunk` takes.
const MAX_CHUNK_FRAMING_BYTES: usize = 1024;
/// First size of the request buffer; it doubles while a header overflows.
const FIRST_REQUEST_BUFFER_BYTES: usize = 1024;

enum Phase {
    /// Waiting for the response head, collected in `buf`.
    Head {
        call: Box<Call<RecvResponse>>,
        buf: Vec<u8>,
    },
    /// Reading the body of an open stream.
    Body(Box<BodyState>),
    /// Reading the body of a refusal (a non-2xx status) into its error,
    /// up to `MAX_ERROR_BODY_BYTES`, then failing with it.
    ErrorBody(Box<BodyState>, Box<Error>),
    /// Over; the end event is queued.
    Ended,
}

struct BodyState {
    framing: Framing,
    gunzip: Option<Gunzip>,
}

/// How the body's end is known, and what is left of it.
enum Framing {
    /// Neither chunked nor length-delimited: input is the body as is, the
    /// peer's close its end.
    Close,
    /// `Content-Length`: this many bytes to go.
    Length(u64),
    Chunked(Dechunker),
}

impl BodyState {
    /// The body of a response whose head ureq-proto parsed.
    fn new(mode: BodyMode, gzip: bool) -> Self {
        let framing = match mode {
            BodyMode::Chunked => Framing::Chunked(Dechunker::new(MAX_CHUNK_FRAMING_BYTES)),
            BodyMode::LengthDelimited(n) => Framing::Length(n),
            BodyMode::NoBody => Framing::Length(0),
            _ => Framing::Close,
        };
        BodyState {
            framing,
            gunzip: gzip.then(Gunzip::new),
        }
    }

    fn close_delimited(&self) -> bool {
        matches!(self.framing, Framing::Close)
    }
}

thread_local! {
    /// De-framed bytes of the current input: one buffer per engine thread,
    /// not one per stream (thousands of idle streams hold none).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One exchange. See the module docs.
pub(crate) struct Connection {
    url: String,
    settings: Settings,
    stream: StreamState,
    phase: Phase,
    transmit: Vec<u8>,
    transmitted: usize,
    events: VecDeque<Event>,
    started: Instant,
    wall_at_start: SystemTime,
    last_input: Instant,
    delivered_events: bool,
    end_queued: bool,
}

impl Connection {
    /// Starts an exchange at `now` (`wall` is the wall-clock time at
    /// `now`, for `Retry-After` dates): the request is ready in
    /// `poll_transmit`. A request that cannot be written ends at once with
    /// `End::Failed`.
    pub(crate) fn new(
        request: &Request,
        settings: Settings,
        stream: StreamState,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let mut connection = Connection {
            url: request.url.clone(),
            settings,
            stream,
            phase: Phase::Ended,
            transmit: Vec::new(),
            transmitted: 0,
            events: VecDeque::new(),
            started: now,
            wall_at_start: wall,
            last_input: now,
            delivered_events: false,
            end_queued: false,
        };
        match write_request(request, connection.stream.parser.last_event_id()) {
            Ok((bytes, call)) => {
                connection.transmit = bytes;
                connection.phase = Phase::Head {
                    call: Box::new(call),
                    buf: Vec::new(),
                };
            }
            Err(error) => connection.end(End::Failed(error)),
        }
        connection
    }

    /// The bytes still to write, if any.
    pub(crate) fn poll_transmit(&self) -> Option<&[u8]> {
        let rest = &self.transmit[self.transmitted..];
        (!rest.is_empty() && !self.is_ended()).then_some(rest)
    }

    /// `n` bytes of [`Connection::poll_transmit`] were written.
    pub(crate) fn handle_transmitted(&mut self, n: usize) {
        self.transmitted = (self.transmitted + n).min(self.transmit.len());
        if self.transmitted == self.transmit.len() {
            self.transmit = Vec::new();
            self.transmitted = 0;
        }
    }

    /// The next event, if any.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Connection::handle_timeout`] must be called next, if ever.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let idle = self.settings.read_timeout.map(|t| self.last_input + t);
        let head = match (&self.phase, self.settings.head_timeout) {
            (Phase::Head { .. } | Phase::ErrorBody(..), Some(t)) => Some(self.started + t),
            (Phase::Ended, _) => return None,
            _ => None,
        };
        match (idle, head) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The clock reached `now`: a passed deadline fails the exchange.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.is_ended() {
            return;
        }
        if let Phase::ErrorBody(..) = self.phase {
            // A refusal's body that stalls or drips: fail with what came.
            let idle = self.settings.read_timeout.map(|t| self.last_input + t);
            let whole = self.settings.head_timeout.map(|t| self.started + t);
            if idle.is_some_and(|at| now >= at) || whole.is_some_and(|at| now >= at) {
                self.finish_error_body();
            }
            return;
        }
        if let Some(idle) = self.settings.read_timeout {
            if now >= self.last_input + idle {
                let message = format!("no data for {} ms (read timeout)", idle.as_millis());
                return self.fail(Error::new(ErrorKind::ReadTimeout, message));
            }
        }
        if let (Phase::Head { .. }, Some(limit)) = (&self.phase, self.settings.head_timeout) {
            if now >= self.started + limit {
                let message = format!(
                    "no complete response head within {} ms (read timeout)",
                    limit.as_millis()
                );
                self.fail(Error::new(ErrorKind::ReadTimeout, message));
            }
        }
    }

    /// Bytes arrived at `now`.
    pub(crate) fn handle_input(&mut self, input: &[u8], now: Instant) {
        if self.is_ended() || input.is_empty() {
            return;
        }
        self.last_input = now;
        match self.phase {
            Phase::Head { .. } => self.head_input(input, now),
            Phase::Body(_) => self.body_input(input),
            Phase::ErrorBody(..) => self.error_body_input(input),
            Phase::Ended => {}
        }
    }

    /// The peer closed its side: the end of a close-delimited body, a
    /// disconnect anywhere else.
    pub(crate) fn handle_eof(&mut self, _now: Instant) {
        match &mut self.phase {
            Phase::Ended => {}
            Phase::Head { .. } => self.fail(disconnected("request failed")),
            Phase::Body(body) if body.close_delimited() => {
                let (batch, gzip) = finish_gzip(body, &mut self.stream, &self.settings);
                self.delivered_events |= batch.delivered;
                self.queue_batch(batch);
                self.end(match gzip {
                    Ok(()) => End::Finished,
                    Err(error) => End::Failed(error),
                });
            }
            Phase::Body(_) => self.fail(disconnected("reading the stream")),
            Phase::ErrorBody(..) => self.finish_error_body(),
        }
    }

    /// The consumer held the stream until `now` (its queue was full, so
    /// nothing was read): the read-idle deadline counts from `now`.
    pub(crate) fn touch(&mut self, now: Instant) {
        self.last_input = self.last_input.max(now);
    }

    /// The most input to hand to one [`Connection::handle_input`] before
    /// taking its events: a gzip body can expand a thousandfold, so its
    /// input (and the response head's, which may end in it) goes in small
    /// steps and a consumer that falls behind stops the inflating too;
    /// other bodies in any size.
    pub(crate) fn input_step(&self) -> usize {
        match &self.phase {
            Phase::Body(body) | Phase::ErrorBody(body, _) if body.gunzip.is_some() => {
                GZIP_INPUT_STEP
            }
            // The read that completes the head may carry gzip body too.
            Phase::Head { .. } => GZIP_INPUT_STEP,
            _ => usize::MAX,
        }
    }

    /// Whether the exchange is over (its end event may still be queued).
    pub(crate) fn is_ended(&self) -> bool {
        matches!(self.phase, Phase::Ended)
    }

    /// Whether the exchange dispatched an event (for the backoff reset).
    pub(crate) fn delivered_events(&self) -> bool {
        self.delivered_events
    }

    /// The last event id, as sent on the next exchange.
    pub(crate) fn last_event_id(&self) -> &str {
        self.stream.parser.last_event_id()
    }

    /// Moves whenever [`Connection::last_event_id`] may have changed.
    pub(crate) fn id_commits(&self) -> u64 {
        self.stream.parser.id_commits()
    }

    /// Hands back what outlives the exchange; an unterminated event is
    /// dropped (never delivered, its id never committed).
    pub(crate) fn into_stream(mut self) -> StreamState {
        self.stream.parser.finish();
        self.stream
    }

    /// Ends the exchange, unless it ended already.
    fn end(&mut self, end: End) {
        if self.end_queued {
            return;
        }
        self.end_queued = true;
        self.phase = Phase::Ended;
        self.events.push_back(Event::End(end));
    }

    fn fail(&mut self, error: Error) {
        self.end(End::Failed(error));
    }

    fn head_input(&mut self, input: &[u8], now: Instant) {
        let Phase::Head { call, buf } = &mut self.phase else {
            return;
        };
        let limit = self.settings.max_response_head_bytes;
        let could_end = may_end_head(buf, input);
        buf.extend_from_slice(input);
        let mut parsed = None;
        if could_end {
            // Informational (1xx) heads are consumed and skipped.
            loop {
                match call.try_response(buf, false) {
                    Ok((used, Some(response))) => {
                        parsed = Some((used, response));
                        break;
                    }
                    Ok((0, None)) => break,
                    Ok((used, None)) => {
                        buf.drain(..used);
                    }
                    Err(e) => {
                        let message = format!("request failed: invalid response: {e}");
                        return self.fail(Error::new(ErrorKind::Io, message));
                    }
                }
            }
        }
        let head_bytes = parsed.as_ref().map_or(buf.len(), |(used, _)| *used);
        if head_bytes > limit {
            let mut error = Error::new(
                ErrorKind::TooLarge,
                format!("response head larger than {limit} bytes (the max response head size)"),
            );
            error.permanent = true;
            return self.fail(error);
        }
        let Some((used, response)) = parsed else {
            return;
        };
        let Phase::Head { call, buf } = std::mem::replace(&mut self.phase, Phase::Ended) else {
            return;
        };
        let rest = &buf[used..];
        self.on_response(*call, response, now);
        if !rest.is_empty() {
            match self.phase {
                Phase::Body(_) => self.body_input(rest),
                Phase::ErrorBody(..) => self.error_body_input(rest),
                _ => {}
            }
        }
    }

    fn on_response(
        &mut self,
        call: Call<RecvResponse>,
        response: http::Response<()>,
        now: Instant,
    ) {
        let status = response.status().as_u16();
        let headers = collect_headers(response.headers());
        match status {
            200 => {
                let content_type = headers::find(&headers, "content-type").unwrap_or("");
                if !headers::is_event_stream(content_type) {
                    let message =
                        format!("expected content type text/event-stream, got {content_type:?}");
                    let mut error = Error::new(ErrorKind::ContentType, message);
                    error.status = Some(status);
                    error.headers = headers;
                    return self.fail(error);
                }
                let coding = headers::find(&headers, "content-encoding")
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
                let gzip = coding.is_some_and(|c| c.eq_ignore_ascii_case("gzip"));
                if let Some(coding) = coding.filter(|_| !gzip) {
                    // Anything else would be parsed as events undecoded.
                    let message =
                        format!("unsupported Content-Encoding {coding:?} (libsse decodes gzip)");
                    let mut error = Error::new(ErrorKind::ContentType, message);
                    error.status = Some(status);
                    error.headers = headers;
                    return self.fail(error);
                }
                // The headers as received (Content-Encoding included), though
                // the events handed on are decoded.
                self.events.push_back(Event::Open { status, headers });
                match call.proceed() {
                    Some(RecvResponseResult::RecvBody(call)) => {
                        self.phase = Phase::Body(Box::new(BodyState::new(call.body_mode(), gzip)));
                    }
                    // No body at all (Content-Length: 0).
                    _ => self.end(End::Finished),
                }
            }
            204 => self.end(End::NoContent),
            301 | 302 | 303 | 307 | 308 => {
                let refuse = |why: String| Error::status(status, headers.clone(), why);
                let location = headers::find(&headers, "location").unwrap_or("").trim();
                let end = if location.is_empty() {
                    End::Failed(refuse(format!("HTTP {status} redirect without a Location")))
                } else {
                    match crate::urls::resolve(&self.url, location) {
                        Ok(location) => End::Redirect {
                            status,
                            location,
                            headers: headers.clone(),
                        },
                        Err(why) => End::Failed(crate::urls::redirect_error(refuse(format!(
                            "HTTP {status} redirect: {why}"
                        )))),
                    }
                };
                self.end(end);
            }
            _ => {
                let reason = response
                    .status()
                    .canonical_reason()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default();
                let wall = self.wall_at_start + now.saturating_duration_since(self.started);
                let retry_after = headers::find(&headers, "retry-after")
                    .and_then(|v| crate::retry_after::parse(v, wall));
                // A gzip body is decoded (libsse asks for gzip); another
                // coding is not read.
                let coding = headers::find(&headers, "content-encoding")
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
                let gzip = coding.is_some_and(|c| c.eq_ignore_ascii_case("gzip"));
                let coded = coding.is_some() && !gzip;
                let mut error =
                    Error::status(status, headers, format!("HTTP status {status}{reason}"));
                error.retry_after = retry_after;
                match call.proceed() {
                    Some(RecvResponseResult::RecvBody(call))
                        if !coded
                            && !matches!(
                                call.body_mode(),
                                BodyMode::NoBody | BodyMode::LengthDelimited(0)
                            ) =>
                    {
                        let body = BodyState::new(call.body_mode(), gzip);
                        self.phase = Phase::ErrorBody(Box::new(body), Box::new(error));
                    }
                    _ => self.fail(error),
                }
            }
        }
    }

    fn body_input(&mut self, input: &[u8]) {
        let Phase::Body(body) = &mut self.phase else {
            return;
        };
        let mut sink = Sink::new(&self.settings);
        let stream = &mut self.stream;
        let (result, ended) = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (framing, ended, produced) = deframe(body, input, &mut scratch);
            let decoded = if body.close_delimited() {
                input
            } else {
                &scratch[..produced]
            };
            let mut result = match &mut body.gunzip {
                Some(gunzip) => gunzip_into(gunzip, decoded, &mut sink, stream),
                None => {
                    sink.parse(decoded, stream);
                    Ok(())
                }
            };
            if result.is_ok() && ended {
                result = finish_gzip_into(body, &mut sink, stream);
            }
            (framing.and(result), ended)
        });
        self.delivered_events |= sink.delivered;
        self.queue_batch(sink);
        if let Err(error) = result {
            self.fail(error);
        } else if ended {
            self.end(End::Finished);
        }
    }

    /// Keeps body bytes of a refusal in its error; fails with it once the
    /// body ended or the limit is reached.
    fn error_body_input(&mut self, input: &[u8]) {
        let Phase::ErrorBody(body, error) = &mut self.phase else {
            return;
        };
        let (framing, ended) = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (framing, ended, produced) = deframe(body, input, &mut scratch);
            let bytes = if body.close_delimited() {
                input
            } else {
                &scratch[..produced]
            };
            let kept = &mut error.body;
            let mut keep = |piece: &[u8]| {
                let room = MAX_ERROR_BODY_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&piece[..piece.len().min(room)]);
            };
            // A decoding failure ends the body with what came before it.
            let decoded = match &mut body.gunzip {
                Some(gunzip) => gunzip.feed(bytes, &mut keep).is_ok(),
                None => {
                    keep(bytes);
                    true
                }
            };
            (framing.is_ok() && decoded, ended)
        });
        if ended || !framing || error.body.len() >= MAX_ERROR_BODY_BYTES {
            self.finish_error_body();
        }
    }

    /// Fails with the refusal's error and the body read so far.
    fn finish_error_body(&mut self) {
        if let Phase::ErrorBody(mut body, mut error) =
            std::mem::replace(&mut self.phase, Phase::Ended)
        {
            if let Some(gunzip) = &mut body.gunzip {
                // What the decoder still holds (a cut stream: what came).
                let kept = &mut error.body;
                let _ = gunzip.finish(&mut |piece| {
                    let room = MAX_ERROR_BODY_BYTES.saturating_sub(kept.len());
                    kept.extend_from_slice(&piece[..piece.len().min(room)]);
                });
            }
            self.fail(*error);
        }
    }

    /// Queues what `sink` gathered: retry values, batches, a parse error.
    fn queue_batch(&mut self, mut sink: Sink) {
        sink.seal();
        for millis in sink.retries {
            self.events.push_back(Event::ServerRetry(millis));
        }
        for batch in sink.batches {
            self.events.push_back(Event::Items(batch));
        }
        if let Some(error) = sink.error {
            self.fail(error);
        }
    }
}

/// Writes `request` (with the library's headers and the Last-Event-ID)
/// through ureq-proto; returns its bytes and the call awaiting the head.
fn write_request(
    request: &Request,
    last_event_id: &str,
) -> Result<(Vec<u8>, Call<RecvResponse>), Error> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| Error::argument(format!("invalid HTTP method {:?}", request.method)))?;
    let has = |name: &str| headers::find(&request.headers, name).is_some();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(request.url.as_str());
    for (name, value) in [
        ("user-agent", USER_AGENT),
        ("accept", "text/event-stream"),
        ("accept-encoding", "gzip"),
    ] {
        if !has(name) {
            builder = builder.header(name, value);
        }
    }
    builder = builder.header("cache-control", "no-cache");
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    // A server may set an id with control characters (valid SSE, not a
    // valid header value): then resume without it.
    if !last_event_id.is_empty() && headers::is_value(last_event_id) {
        builder = builder.header("last-event-id", last_event_id);
    }
    if let Some(body) = &request.body {
        builder = builder.header("content-length", body.len());
    }
    let http_request = builder
        .body(())
        .map_err(|e| Error::argument(format!("cannot build the request: {e}")))?;
    let bad = |e: ureq_proto::Error| Error::argument(format!("cannot write the request: {e}"));
    let mut call = Call::new(http_request).map_err(bad)?;
    call.allow_non_standard_methods(true);
    if request.body.is_some() {
        call.force_send_body();
    }
    let mut call = call.proceed();
    let mut out = vec![0; FIRST_REQUEST_BUFFER_BYTES];
    let mut len = 0;
    while !call.can_proceed() {
        match call.write(&mut out[len..]) {
            Ok(n) => len += n,
            // The next line does not fit: grow (request heads of any size).
            Err(ureq_proto::Error::OutputOverflow) => out.resize(out.len() * 2, 0),
            Err(e) => return Err(bad(e)),
        }
    }
    let call = match call.proceed().map_err(bad)? {
        Some(SendRequestResult::RecvResponse(call)) => call,
        Some(SendRequestResult::SendBody(mut call)) => {
            let body = request.body.as_deref().unwrap_or_default();
            let mut sent = 0;
            while !call.can_proceed() {
                // Room for the rest and any chunk framing.
                let room = body.len() - sent + body.len() / 1024 + 64;
                if out.len() - len < room {
                    out.resize(len + room, 0);
                }
                let (used, written) = call.write(&body[sent..], &mut out[len..]).map_err(bad)?;
                if used == 0 && written == 0 && sent == body.len() && !call.can_proceed() {
                    return Err(Error::new(ErrorKind::Internal, "request body stalled"));
                }
                sent += used;
                len += written;
            }
            call.proceed()
                .ok_or_else(|| Error::new(ErrorKind::Internal, "request body not sent"))?
        }
        // No `Expect` header is ever sent (it is library-owned).
        _ => return Err(Error::new(ErrorKind::Internal, "unexpected request state")),
    };
    out.truncate(len);
    if request.absolute_form {
        out = to_absolute_form(out, &request.url);
    }
    Ok((out, call))
}

/// Puts `http://host[:port]` of `url` before the origin-form target of the
/// request line in `head` (as today's proxy connector does: never the
/// URL's userinfo, never its fragment).
fn to_absolute_form(head: Vec<u8>, url: &str) -> Vec<u8> {
    let Some(host) = url.parse::<http::Uri>().ok().and_then(|uri| {
        let host = uri.host()?.to_owned();
        Some(match uri.port_u16() {
            Some(port) => format!("http://{host}:{port}"),
            None => format!("http://{host}"),
        })
    }) else {
        return head;
    };
    let line_end = memmem::find(&head, b"\r\n").unwrap_or(head.len());
    let Some(space) = head[..line_end].iter().position(|&b| b == b' ') else {
        return head;
    };
    if head.get(space + 1) != Some(&b'/') {
        return head;
    }
    let mut out = Vec::with_capacity(head.len() + host.len());
    out.extend_from_slice(&head[..=space]);
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(&head[space + 1..]);
    out
}

/// Whether `input` appended to `buf` may complete a head: it holds (or
/// completes) an empty line. Parsing only then keeps a head that arrives
/// byte by byte linear.
fn may_end_head(buf: &[u8], input: &[u8]) -> bool {
    let ends = |bytes: &[u8]| {
        memmem::find(bytes, b"\n\n").is_some() || memmem::find(bytes, b"\n\r\n").is_some()
    };
    if ends(input) {
        return true;
    }
    let mut seam = [0u8; 4];
    let tail = &buf[buf.len().saturating_sub(2)..];
    let head = &input[..input.len().min(2)];
    seam[..tail.len()].copy_from_slice(tail);
    seam[tail.len()..tail.len() + head.len()].copy_from_slice(head);
    ends(&seam[..tail.len() + head.len()])
}

/// De-frames `input` into `out` (nothing for a close-delimited body,
/// whose input is the body). Returns the framing error, if any (`out` then
/// holds the chunks before it), whether the body ended, and the bytes in
/// `out`.
fn deframe(
    body: &mut BodyState,
    input: &[u8],
    out: &mut Vec<u8>,
) -> (Result<(), Error>, bool, usize) {
    out.clear();
    match &mut body.framing {
        Framing::Close => (Ok(()), false, 0),
        Framing::Length(left) => {
            let take = input
                .len()
                .min(usize::try_from(*left).unwrap_or(usize::MAX));
            out.extend_from_slice(&input[..take]);
            *left -= take as u64;
            (Ok(()), *left == 0, take)
        }
        Framing::Chunked(dechunker) => {
            // De-framed bytes are never more than the input.
            out.reserve(input.len());
            let result = dechunker.decode(input, out).map_err(|e| {
                let message = format!("reading the stream: invalid body framing: {}", e.0);
                Error::new(ErrorKind::Io, message)
            });
            (result, dechunker.is_done(), out.len())
        }
    }
}

/// Gathers the items of one input into batches.
struct Sink {
    messages_only: bool,
    event_types: std::sync::Arc<[String]>,
    batches: Vec<Batch>,
    current: Option<Batch>,
    current_input: usize,
    retries: Vec<u64>,
    delivered: bool,
    error: Option<Error>,
}

impl Sink {
    fn new(settings: &Settings) -> Self {
        Sink {
            messages_only: settings.messages_only,
            event_types: settings.event_types.clone(),
            batches: Vec::new(),
            current: None,
            current_input: 0,
            retries: Vec::new(),
            delivered: false,
            error: None,
        }
    }

    /// Parses `bytes` into the current batch.
    fn parse(&mut self, bytes: &[u8], stream: &mut StreamState) {
        if bytes.is_empty() {
            return;
        }
        if self.current_input >= MAX_BATCH_INPUT_BYTES {
            self.seal();
        }
        let parser = &mut stream.parser;
        let batch = self.current.get_or_insert_with(|| {
            // Room for every string of these events, in most cases.
            stream
                .text_pool
                .batch(bytes.len() + parser.buffered_bytes())
        });
        self.current_input += bytes.len();
        let (messages_only, delivered, retries) =
            (self.messages_only, &mut self.delivered, &mut self.retries);
        let types = &self.event_types;
        let fed = parser.feed(bytes, |item| match item {
            // A message filtered out still moved the parser's last id.
            ParsedItem::Event(event) => {
                *delivered = true;
                if crate::config::type_wanted(types, &event.event_type) {
                    batch.push_message(&event);
                }
            }
            ParsedItem::Comment(text) if !messages_only => {
                batch.push(crate::event::Item::Comment(text.into_owned()))
            }
            ParsedItem::Comment(_) => {}
            ParsedItem::Retry(millis) => retries.push(millis),
        });
        if let Err(e) = fed {
            self.error
                .get_or_insert_with(|| Error::new(ErrorKind::TooLarge, e.to_string()));
        }
    }

    fn seal(&mut self) {
        if let Some(batch) = self.current.take().filter(|b| !b.is_empty()) {
            self.batches.push(batch);
        }
        self.current_input = 0;
    }
}

/// Gunzips `input` into `sink`.
fn gunzip_into(
    gunzip: &mut Gunzip,
    input: &[u8],
    sink: &mut Sink,
    stream: &mut StreamState,
) -> Result<(), Error> {
    gunzip
        .feed(input, &mut |piece| sink.parse(piece, stream))
        .map_err(|e| gzip_error(&e))
}

/// The body ended: a gzip stream must end with its member.
fn finish_gzip_into(
    body: &mut BodyState,
    sink: &mut Sink,
    stream: &mut StreamState,
) -> Result<(), Error> {
    match &mut body.gunzip {
        Some(gunzip) => gunzip
            .finish(&mut |piece| sink.parse(piece, stream))
            .map_err(|e| gzip_error(&e)),
        None => Ok(()),
    }
}

fn finish_gzip(
    body: &mut BodyState,
    stream: &mut StreamState,
    settings: &Settings,
) -> (Sink, Result<(), Error>) {
    let mut sink = Sink::new(settings);
    let result = finish_gzip_into(body, &mut sink, stream);
    (sink, result)
}

fn gzip_error(e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        // A stream cut in the middle of a gzip member is a disconnect.
        return disconnected("reading the stream");
    }
    Error::new(
        ErrorKind::Io,
        format!("reading the stream: gzip decompression failed: {e}"),
    )
}

/// The peer closed the connection before the response or body was complete.
fn disconnected(context: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{context}: the server closed the connection mid-response"),
    )
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

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
