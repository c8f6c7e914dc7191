//! Engine v2 (issue 12): a few background threads, each driving many
//! streams over non-blocking sockets. It is the only engine: the thread
//! per stream it replaced (ureq's blocking reader) is gone, with ureq;
//! `ureq-proto`, its sans-IO protocol core, stays.
//!
//! # Modules (one job each)
//! - `connection` (step 1): one exchange over plain bytes, after
//!   quinn-proto's `Connection`: `handle_input(bytes, now)`,
//!   `handle_eof`, `handle_transmitted`, `handle_timeout(now)`; the mutator
//!   `close`; `poll_transmit` (bytes to write), `poll_timeout` (next
//!   deadline), `poll_event` (open, batches, end). No I/O, no clock. The
//!   request and the response head are `ureq-proto`'s `client::Call`; the
//!   body's framing is read there too (length, close-delimited) or by
//!   `dechunk` (chunked: a streaming decoder of whole inputs); gzip is
//!   [`gzip`] (flate2's streaming decoder); then `parser` into `batch`.
//! - `request` (step 2): the next request of a stream, pure: URL, method,
//!   headers, body, Last-Event-ID, and the redirect rules that decide on a
//!   `connection::End::Redirect` (limit, 303/POST to GET, body re-sent on
//!   307/308, credentials and sensitive headers dropped once the stream left
//!   its first origin, https->http refused unless allowed).
//! - `reactor` (step 3): the loop thread. Readiness with **mio**, edge
//!   triggered: a stream whose queue is full is simply not read any more
//!   (its socket stays registered, so backpressure costs no syscall; the
//!   kernel window then stops the server), and when the consumer takes
//!   items the loop is woken and reads until `WouldBlock`. `polling` was the
//!   other candidate; its default one-shot mode re-arms with an `epoll_ctl`
//!   per readiness, a syscall per event at 10,000 streams that mio's edge
//!   mode does not pay. mio's `Waker` carries every cross-thread request
//!   (start, close, interrupt, free, queue room) from a command channel.
//! - `timers` (step 3): a binary heap of (deadline, stream slot) with lazy
//!   deletion: an entry that pops is checked against the stream's
//!   `poll_timeout()`, so a read-idle deadline that moves on every read costs
//!   no heap work. Backoff and connect timeout are entries too.
//! - `dns` (step 5): a pool of two resolver threads (`ToSocketAddrs`),
//!   answers back through the waker; IP literals never reach it; a stream
//!   closed during a lookup drops the answer, nothing waits for it.
//! - `tls` (step 6): rustls `ClientConnection` in front of `connection`
//!   (ciphertext in, plaintext into `handle_input`, `poll_transmit` through
//!   `writer()`), one shared `Arc<ClientConfig>` per configuration (roots
//!   parsed once; custom CA; insecure mode), buffer limits set small.
//! - proxies: `http://` targets through an `http://` proxy use
//!   `connection::Request::absolute_form` plus `Proxy-Authorization`;
//!   `https://` targets a `CONNECT` exchange (written and read by
//!   `tunnel`, in authority form) before TLS; SOCKS4/4a/5 through
//!   [`socks`], a sans-IO handshake the same tunnel drives; the proxy URL
//!   and the environment read like curl by `crate::proxy`.
//! - `link`: a stream's connected socket with TLS in front of it, moving
//!   the request out and the server's bytes in without blocking.
//! - `prefetch`: cache hints for the per-stream state a read will touch.
//!
//! # Steps (each green on its own)
//! 1. `connection` with byte-exact tests (no sockets).
//! 2. `request` and the shared helpers (then shared with the old engine).
//! 3. `reactor` + `timers` for plain `http://` with IP literals, behind a
//!    hidden setting (the client tests ran on both engines until step 9).
//! 4. Backpressure and wake-ups: queue room, close / interrupt / free "at
//!    once" (a close during an unanswered connect drops the socket), the
//!    callback on the loop thread and the own-thread setting, header docs.
//! 5. `dns`; 6. `tls`; 7. `proxy` (absolute form, CONNECT, SOCKS).
//! 8. The new engine becomes the default; every suite (C under ASan and
//!    valgrind, Python, Go, the fault test, `make stress` with 10,000
//!    streams) runs on it; `make bench` figures.
//! 9. Done: the old worker went (the thread code of `client.rs`,
//!    `transport.rs`, `head_buffer.rs`, the ureq connectors of `proxy.rs`
//!    and the `ureq` dependency itself; `ureq-proto`, `flate2`, `rustls`
//!    stay), once SOCKS ran on the loop. One engine.
//!
//! # Behaviours each piece kept from the transport it replaced
//! - `connection`: request headers (`Accept: text/event-stream`,
//!   `Cache-Control: no-cache`, `Accept-Encoding: gzip`, the user agent,
//!   `Last-Event-ID` when non-empty and a valid header value, any size of
//!   head); status checks (200 + `text/event-stream` opens, 204 ends for
//!   good, 3xx hands back the next URL resolved with `crate::urls::resolve`,
//!   other statuses are errors with status, headers and `Retry-After` read
//!   by `crate::retry_after`); the response-head limit with today's message
//!   (not retried); gzip decoded (the open headers as received), a cut gzip stream is a
//!   disconnect; the read-idle timeout with today's wording; absolute-form
//!   request target when told. It does not follow redirects itself.
//! - `request`: redirect rules and credential dropping (above), the
//!   Last-Event-ID from the parser, which persists across exchanges.
//! - `reactor`: reconnection through `crate::backoff` (Retry-After capped,
//!   delay reset after a delivering connection), error policy, items and
//!   ordering of today's worker, `Closed` last.
//! - `tls`: verification on by default, custom CA, insecure mode.

pub(crate) mod connection;
mod dechunk;
mod dns;
mod gzip;
mod link;
mod prefetch;
pub(crate) use prefetch::prefetch;
pub(crate) mod reactor;
pub(crate) mod request;
pub(crate) mod session;
mod socks;
pub(crate) mod timers;
mod tls;
mod tunnel;
