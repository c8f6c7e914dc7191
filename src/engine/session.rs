//! What happens between two exchanges of a stream: from how one exchange
//! ended to the items to emit and the wait before the next attempt, or to
//! the end of the stream. Pure (no I/O; the clock comes in as `now`), so
//! the retry rules are tested without sockets:
//!
//! - a close ends with `ClosedByUser`, a 204 with `NoContent`;
//! - a clean end reconnects unless reconnection is off or the on-end
//!   setting says end (by default: any method but GET), then
//!   `EndOfStream`; an interrupt reconnects at once unless reconnection is
//!   off (then `ClosedByUser`);
//! - a failure is retried when reconnection is on, the first connection
//!   is allowed to fail (or one opened before) and the error policy says
//!   so; the delay comes from [`crate::backoff`] (Retry-After capped, with a
//!   log line); when the policy gives up, the final error names the last
//!   error (status and headers kept);
//! - a retried error is reported (non-fatal) only once retrying is decided.

use std::time::{Duration, Instant};

use crate::backoff::{Backoff, GiveUp};
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::event::{CloseReason, Item};
use crate::log::{log, LogLevel};

/// How one exchange (connection attempt and reading) ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The user closed the client.
    Closing,
    /// 204 No Content.
    NoContent,
    /// The server ended the stream cleanly.
    Ended,
    /// The user asked for a new connection.
    Interrupted,
    /// The attempt or the stream failed.
    Failed(Error),
}

/// How the whole stream ended.
#[derive(Debug)]
pub(crate) enum Ending {
    /// For this reason, without an error.
    Closed(CloseReason),
    /// With this fatal error.
    Fatal(Error),
}

/// What to do after an exchange.
#[derive(Debug)]
pub(crate) enum Next {
    /// Emit `items` (a non-fatal error, a reconnecting item), then connect
    /// again after `wait` (None: at once, without a wait to cut short).
    Reconnect {
        /// The items to emit first, in order.
        items: Vec<Item>,
        /// The backoff wait.
        wait: Option<Duration>,
    },
    /// The stream is over.
    End(Ending),
}

/// The reconnection state of one stream. See the module docs.
pub(crate) struct Session {
    url: String,
    reconnect: bool,
    /// A clean end reconnects (`Config::reconnects_at_end`).
    reconnect_at_end: bool,
    retry_first_connect: bool,
    max_retry_after: Duration,
    error_policy: crate::config::ErrorPolicy,
    backoff: Backoff,
    ever_opened: bool,
}

impl Session {
    /// The session of a stream of `config`; `seed` feeds the jitter.
    pub(crate) fn new(config: &Config, seed: u64) -> Self {
        Session {
            url: config.url.clone(),
            reconnect: config.retry.reconnect,
            reconnect_at_end: config.reconnects_at_end(),
            retry_first_connect: config.retry.retry_first_connect,
            max_retry_after: config.retry.max_retry_after,
            error_policy: config.error_policy.clone(),
            backoff: Backoff::new(config.retry, seed),
            ever_opened: false,
        }
    }

    /// The server's `retry:` field (ms).
    pub(crate) fn set_server_retry(&mut self, millis: u64) {
        self.backoff.set_server_retry(millis);
    }

    /// A connection opened at `opened` ended at `now`, having dispatched
    /// events or not (a connection that delivered resets the backoff).
    pub(crate) fn connection_ended(&mut self, opened: Instant, now: Instant, delivered: bool) {
        self.ever_opened = true;
        self.backoff.connection_ended(opened, now, delivered);
    }

    /// What follows an exchange that ended with `outcome` at `now`.
    pub(crate) fn after(&mut self, outcome: Outcome, now: Instant) -> Next {
        let error = match outcome {
            Outcome::Closing => return Next::End(Ending::Closed(CloseReason::ClosedByUser)),
            Outcome::NoContent => return Next::End(Ending::Closed(CloseReason::NoContent)),
            Outcome::Ended if !self.reconnect_at_end => {
                return Next::End(Ending::Closed(CloseReason::EndOfStream))
            }
            Outcome::Interrupted if !self.reconnect => {
                return Next::End(Ending::Closed(CloseReason::ClosedByUser))
            }
            Outcome::Interrupted => {
                log(LogLevel::Info, || format!("{}: interrupted", self.url));
                let attempt = self.backoff.attempts() + 1;
                return Next::Reconnect {
                    items: vec![Item::Reconnecting {
                        attempt,
                        delay: Duration::ZERO,
                    }],
                    wait: None,
                };
            }
            Outcome::Ended => {
                log(LogLevel::Info, || {
                    format!("{}: the server ended the stream", self.url)
                });
                None
            }
            Outcome::Failed(error) => {
                let retry = self.reconnect
                    && (self.ever_opened || self.retry_first_connect)
                    && self.error_policy.retries(&error);
                if !retry {
                    return Next::End(Ending::Fatal(error));
                }
                Some(error)
            }
        };
        let retry_after = error.as_ref().and_then(|e| e.retry_after);
        let delay = match self.backoff.next_delay(now, retry_after) {
            Ok(delay) => delay,
            Err(give_up) => return Next::End(Ending::Fatal(gave_up(give_up, error))),
        };
        let mut items = Vec::with_capacity(2);
        if let Some(error) = error {
            log(LogLevel::Warn, || format!("{}: {error}", self.url));
            items.push(Item::Error {
                error,
                fatal: false,
            });
        }
        if let Some(asked) = delay.retry_after_capped_from {
            log(LogLevel::Warn, || {
                format!(
                    "{}: Retry-After of {} s cut to the {} ms ceiling",
                    self.url,
                    asked.as_secs(),
                    self.max_retry_after.as_millis()
                )
            });
        }
        let attempt = self.backoff.attempts();
        log(LogLevel::Info, || {
            format!(
                "{}: reconnecting in {} ms (attempt {attempt})",
                self.url,
                delay.wait.as_millis()
            )
        });
        items.push(Item::Reconnecting {
            attempt,
            delay: delay.wait,
        });
        Next::Reconnect {
            items,
            wait: Some(delay.wait),
        }
    }
}

/// The final error when the retry policy gives up: why, and the error
/// that would have been retried (its status and headers kept).
fn gave_up(give_up: GiveUp, last: Option<Error>) -> Error {
    match last {
        Some(last) => Error {
            kind: ErrorKind::RetriesExhausted,
            message: format!("{give_up}; the last error: {last}"),
            ..last
        },
        None => Error::new(ErrorKind::RetriesExhausted, give_up.to_string()),
    }
}

/// The items that end a stream (a fatal error, then the closed item), the
/// error to keep as the stream's end, and a log line.
pub(crate) fn final_items(url: &str, ending: Ending) -> (Vec<Item>, Option<Error>) {
    let mut items = Vec::with_capacity(2);
    let (reason, final_error) = match ending {
        Ending::Closed(reason) => (reason, None),
        Ending::Fatal(error) => {
            log(LogLevel::Error, || format!("{url}: giving up: {error}"));
            items.push(Item::Error {
                error: error.clone(),
                fatal: true,
            });
            (CloseReason::Error, Some(error))
        }
    };
    log(LogLevel::Info, || {
        let why = match reason {
            CloseReason::NoContent => "the server answered 204 No Content",
            CloseReason::EndOfStream => "the stream ended",
            CloseReason::ClosedByUser => "closed by the user",
            CloseReason::Error => "after a fatal error",
        };
        format!("{url}: closed: {why}")
    });
    items.push(Item::Closed { reason });
    (items, final_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(configure: impl FnOnce(&mut crate::config::RetryPolicy)) -> Session {
        let config = Config::builder("http://127.0.0.1:1/")
            .retry(configure)
            .build()
            .unwrap();
        Session::new(&config, 1)
    }

    fn status(code: u16) -> Error {
        Error::status(code, vec![], format!("HTTP status {code}"))
    }

    #[test]
    fn a_retried_failure_emits_the_error_then_reconnecting_with_the_wait() {
        let mut s = session(|r| {
            r.initial_delay = Duration::from_millis(200);
            r.jitter = 0.0;
        });
        match s.after(Outcome::Failed(status(503)), Instant::now()) {
            Next::Reconnect { items, wait } => {
                assert!(
                    matches!(&items[0], Item::Error { fatal: false, error } if error.status == Some(503))
                );
                assert!(matches!(items[1], Item::Reconnecting { attempt: 1, .. }));
                assert_eq!(wait, Some(Duration::from_millis(200)));
            }
            next => panic!("{next:?}"),
        }
    }

    #[test]
    fn giving_up_names_the_last_error_and_emits_no_retried_error() {
        let mut s = session(|r| r.max_attempts = Some(0));
        match s.after(Outcome::Failed(status(503)), Instant::now()) {
            Next::End(Ending::Fatal(error)) => {
                assert_eq!(error.kind, ErrorKind::RetriesExhausted);
                assert_eq!(error.status, Some(503));
                assert!(
                    error.message.ends_with("the last error: HTTP status 503"),
                    "{error}"
                );
            }
            next => panic!("{next:?}"),
        }
    }

    #[test]
    fn ends_and_interrupts_follow_the_reconnect_setting() {
        let now = Instant::now();
        let mut on = session(|_| {});
        assert!(matches!(
            on.after(Outcome::Interrupted, now),
            Next::Reconnect { wait: None, .. }
        ));
        assert!(matches!(
            on.after(Outcome::Ended, now),
            Next::Reconnect { wait: Some(_), .. }
        ));
        assert!(matches!(
            on.after(Outcome::NoContent, now),
            Next::End(Ending::Closed(CloseReason::NoContent))
        ));
        let mut off = session(|r| r.reconnect = false);
        assert!(matches!(
            off.after(Outcome::Ended, now),
            Next::End(Ending::Closed(CloseReason::EndOfStream))
        ));
        assert!(matches!(
            off.after(Outcome::Failed(status(503)), now),
            Next::End(Ending::Fatal(_))
        ));
    }

    #[test]
    fn a_clean_end_follows_the_on_end_setting_and_the_method() {
        use crate::config::OnEnd;
        let now = Instant::now();
        let ends = |method: &str, on_end: OnEnd| {
            let config = Config::builder("http://127.0.0.1:1/")
                .method(method)
                .on_end(on_end)
                .build()
                .unwrap();
            let mut s = Session::new(&config, 1);
            let ended = matches!(
                s.after(Outcome::Ended, now),
                Next::End(Ending::Closed(CloseReason::EndOfStream))
            );
            // Errors follow the retry policy whatever the setting says.
            let retried = matches!(
                s.after(Outcome::Failed(status(503)), now),
                Next::Reconnect { .. }
            );
            assert!(retried, "{method} {on_end:?}");
            ended
        };
        assert!(!ends("GET", OnEnd::ByMethod));
        assert!(ends("POST", OnEnd::ByMethod));
        assert!(ends("REPORT", OnEnd::ByMethod));
        assert!(!ends("POST", OnEnd::Reconnect));
        assert!(ends("GET", OnEnd::End));
    }

    #[test]
    fn a_first_connection_failure_is_fatal_unless_allowed() {
        let now = Instant::now();
        let mut strict = session(|r| r.retry_first_connect = false);
        let refused = || Error::new(ErrorKind::Connect, "refused");
        assert!(matches!(
            strict.after(Outcome::Failed(refused()), now),
            Next::End(_)
        ));
        strict.connection_ended(now, now, false);
        assert!(matches!(
            strict.after(Outcome::Failed(refused()), now),
            Next::Reconnect { .. }
        ));
    }

    #[test]
    fn final_items_are_the_fatal_error_then_closed() {
        let (items, kept) = final_items("u", Ending::Fatal(status(404)));
        assert!(matches!(items[0], Item::Error { fatal: true, .. }));
        assert!(matches!(
            items[1],
            Item::Closed {
                reason: CloseReason::Error
            }
        ));
        assert_eq!(kept.unwrap().status, Some(404));
        let (items, kept) = final_items("u", Ending::Closed(CloseReason::NoContent));
        assert_eq!(
            items,
            [Item::Closed {
                reason: CloseReason::NoContent
            }]
        );
        assert!(kept.is_none());
    }
}
