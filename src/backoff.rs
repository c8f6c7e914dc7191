//! Reconnection delays: exponential growth with jitter, a floor, a cap,
//! a reset after a long-lived connection, and give-up limits. Pure: the
//! caller passes the clock in.

use std::time::{Duration, Instant};

use crate::config::RetryPolicy;

/// Why the policy gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `max_attempts` reconnection attempts in a row failed.
    Attempts(u32),
    /// The next attempt would come after `max_elapsed` of retrying.
    Elapsed {
        /// The configured limit.
        limit: Duration,
        /// The delay that would have crossed it.
        delay: Duration,
    },
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::Attempts(1) => f.write_str("gave up after 1 reconnection attempt"),
            GiveUp::Attempts(n) => write!(f, "gave up after {n} reconnection attempts"),
            GiveUp::Elapsed { limit, delay } => write!(
                f,
                "gave up: the next attempt (in {} ms) would come after the {} ms retry time limit",
                delay.as_millis(),
                limit.as_millis()
            ),
        }
    }
}

/// A delay chosen by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    /// How long to wait before the next attempt.
    pub wait: Duration,
    /// The server's `Retry-After` when it was cut to the policy's ceiling.
    pub retry_after_capped_from: Option<Duration>,
}

/// The reconnection state of one client.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    /// The delay growth starts from: the server's `retry` or the initial delay.
    base: Duration,
    /// Failed attempts since the delay was last reset.
    failures: u32,
    /// Attempts since the last successful connection (one that delivered
    /// an event or stayed up past the reset threshold).
    attempts: u32,
    /// When the current run of retries started.
    retrying_since: Option<Instant>,
    rng: u64,
}

impl Backoff {
    /// A backoff following `policy`, with jitter seeded from `seed`.
    pub fn new(policy: RetryPolicy, seed: u64) -> Self {
        Backoff {
            policy,
            base: policy.initial_delay,
            failures: 0,
            attempts: 0,
            retrying_since: None,
            rng: seed | 1,
        }
    }

    /// The server sent `retry: millis`: it becomes the base delay.
    pub fn set_server_retry(&mut self, millis: u64) {
        self.base = Duration::from_millis(millis);
    }

    /// A connection that opened at `opened` ended at `now`, having
    /// delivered an event or not. If it delivered an event or stayed up past
    /// the reset threshold, it was a success: the delay starts over from
    /// the base (the server's `retry` or the initial delay), and the attempt
    /// count and the retry clock start over. A server that accepts and then
    /// drops every connection (or cuts every stream before its first event)
    /// is thus still bounded by `max_attempts` and `max_elapsed`, and its
    /// delay keeps growing.
    pub fn connection_ended(&mut self, opened: Instant, now: Instant, delivered_events: bool) {
        let stayed_up = now.saturating_duration_since(opened) >= self.policy.reset_after;
        if stayed_up || delivered_events {
            self.failures = 0;
            self.attempts = 0;
            self.retrying_since = None;
        }
    }

    /// Attempts made since the last successful connection.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay before the next attempt, or why the policy's limits
    /// (attempts or total time) are reached. `retry_after` (a server's
    /// Retry-After) raises the delay, up to the policy's `max_retry_after`.
    /// Every sum saturates: no value from a server can overflow it.
    pub fn next_delay(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
    ) -> Result<Delay, GiveUp> {
        let since = *self.retrying_since.get_or_insert(now);
        if let Some(max) = self.policy.max_attempts.filter(|max| self.attempts >= *max) {
            return Err(GiveUp::Attempts(max));
        }
        let grown =
            self.base.as_secs_f64() * self.policy.multiplier.powi(self.failures.min(64) as i32);
        let capped = grown.min(self.policy.max_delay.as_secs_f64());
        let jittered = capped * (1.0 - self.policy.jitter * self.random_unit());
        let mut delay = Duration::try_from_secs_f64(jittered.max(0.0))
            .unwrap_or(self.policy.max_delay)
            .max(self.policy.min_delay);
        let mut retry_after_capped_from = None;
        if let Some(asked) = retry_after {
            if asked > self.policy.max_retry_after {
                retry_after_capped_from = Some(asked);
            }
            delay = delay.max(asked.min(self.policy.max_retry_after));
        }
        if let Some(limit) = self.policy.max_elapsed {
            if now.saturating_duration_since(since).saturating_add(delay) > limit {
                return Err(GiveUp::Elapsed { limit, delay });
            }
        }
        self.failures = self.failures.saturating_add(1);
        self.attempts = self.attempts.saturating_add(1);
        Ok(Delay {
            wait: delay,
            retry_after_capped_from,
        })
    }

    /// A uniform number in [0, 1) from xorshift64*.
    fn random_unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let value = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (value >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            min_delay: Duration::from_millis(10),
            multiplier: 2.0,
            jitter: 0.0,
            reset_after: Duration::from_secs(60),
            ..RetryPolicy::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The wait of the next delay, or None when the policy gives up.
    fn next(b: &mut Backoff, now: Instant, retry_after: Option<Duration>) -> Option<Duration> {
        b.next_delay(now, retry_after).ok().map(|d| d.wait)
    }

    #[test]
    fn grows_by_the_multiplier_up_to_the_cap() {
        let mut b = Backoff::new(policy(), 1);
        let now = Instant::now();
        let delays: Vec<_> = (0..6).map(|_| next(&mut b, now, None).unwrap()).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
    }

    #[test]
    fn server_retry_sets_the_base_and_zero_hits_the_floor() {
        let mut b = Backoff::new(policy(), 1);
        b.set_server_retry(300);
        assert_eq!(next(&mut b, Instant::now(), None), Some(ms(300)));
        b.set_server_retry(0);
        assert_eq!(next(&mut b, Instant::now(), None), Some(ms(10)));
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let mut b = Backoff::new(
            RetryPolicy {
                jitter: 0.5,
                multiplier: 1.0,
                ..policy()
            },
            42,
        );
        let delays: Vec<_> = (0..1000)
            .map(|_| next(&mut b, Instant::now(), None).unwrap())
            .collect();
        assert!(delays.iter().all(|d| *d >= ms(50) && *d <= ms(100)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "jitter must vary the delay");
    }

    #[test]
    fn long_connection_resets_the_growth_short_one_does_not() {
        let mut b = Backoff::new(policy(), 1);
        let t0 = Instant::now();
        next(&mut b, t0, None);
        next(&mut b, t0, None);
        // Short and without events: a failure, the delay keeps growing.
        b.connection_ended(t0, t0 + Duration::from_secs(1), false);
        assert_eq!(next(&mut b, t0, None), Some(ms(400)));
        b.connection_ended(t0, t0 + Duration::from_secs(61), false);
        assert_eq!(next(&mut b, t0, None), Some(ms(100)));
    }

    #[test]
    fn a_connection_that_delivered_events_resets_the_delay_to_the_server_retry() {
        let mut b = Backoff::new(policy(), 1);
        let t0 = Instant::now();
        for _ in 0..4 {
            next(&mut b, t0, None);
        }
        b.set_server_retry(500);
        // Opened, delivered events, ended cleanly after a second.
        b.connection_ended(t0, t0 + Duration::from_secs(1), true);
        assert_eq!(b.attempts(), 0);
        assert_eq!(next(&mut b, t0, None), Some(ms(500)));
        assert_eq!(next(&mut b, t0, None), Some(ms(1000)));
    }

    #[test]
    fn gives_up_after_max_attempts_and_counts_from_the_last_connection() {
        let mut b = Backoff::new(
            RetryPolicy {
                max_attempts: Some(2),
                ..policy()
            },
            1,
        );
        let now = Instant::now();
        assert!(next(&mut b, now, None).is_some());
        assert!(next(&mut b, now, None).is_some());
        assert_eq!(next(&mut b, now, None), None);
        // A connection that opened but delivered nothing does not count.
        b.connection_ended(now, now, false);
        assert_eq!(next(&mut b, now, None), None);
        b.connection_ended(now, now, true);
        assert!(next(&mut b, now, None).is_some());
    }

    #[test]
    fn gives_up_after_max_elapsed() {
        let mut b = Backoff::new(
            RetryPolicy {
                max_elapsed: Some(Duration::from_secs(1)),
                ..policy()
            },
            1,
        );
        let t0 = Instant::now();
        assert!(next(&mut b, t0, None).is_some());
        assert_eq!(next(&mut b, t0 + ms(950), None), None);
    }

    #[test]
    fn huge_retry_after_with_an_elapsed_limit_gives_up_cleanly() {
        let mut b = Backoff::new(
            RetryPolicy {
                max_elapsed: Some(Duration::from_secs(60)),
                max_retry_after: Duration::MAX,
                ..policy()
            },
            1,
        );
        let t0 = Instant::now();
        assert!(next(&mut b, t0, None).is_some());
        let later = t0 + Duration::from_secs(1);
        let huge = Some(Duration::from_secs(u64::MAX));
        assert!(matches!(
            b.next_delay(later, huge),
            Err(GiveUp::Elapsed { .. })
        ));
    }

    #[test]
    fn retry_after_is_capped_at_the_ceiling() {
        let mut b = Backoff::new(policy(), 1);
        let delay = b
            .next_delay(Instant::now(), Some(Duration::from_secs(99_999_999)))
            .unwrap();
        assert_eq!(delay.wait, Duration::from_secs(3600));
        assert_eq!(
            delay.retry_after_capped_from,
            Some(Duration::from_secs(99_999_999))
        );
        let delay = b
            .next_delay(Instant::now(), Some(Duration::from_secs(u64::MAX)))
            .unwrap();
        assert_eq!(delay.wait, Duration::from_secs(3600));
    }

    #[test]
    fn give_up_messages_count_correctly() {
        assert_eq!(
            GiveUp::Attempts(1).to_string(),
            "gave up after 1 reconnection attempt"
        );
        assert_eq!(
            GiveUp::Attempts(3).to_string(),
            "gave up after 3 reconnection attempts"
        );
    }

    #[test]
    fn retry_after_raises_the_delay() {
        let mut b = Backoff::new(policy(), 1);
        assert_eq!(
            next(&mut b, Instant::now(), Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
    }
}
