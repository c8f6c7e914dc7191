//! Reconnection delays: exponential growth with jitter, a floor, a cap,
//! a reset after a long-lived connection, and give-up limits. Pure: the
//! caller passes the clock in.

use std::time::{Duration, Instant};

use crate::config::RetryPolicy;

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
    /// delivered an event or not. If it stayed up past the reset threshold,
    /// the delay starts over from the base. If it delivered an event or
    /// stayed up that long, it was a success: the attempt count and the
    /// retry clock start over. A server that accepts and then drops every
    /// connection (or cuts every stream before its first event) is thus
    /// still bounded by `max_attempts` and `max_elapsed`.
    pub fn connection_ended(&mut self, opened: Instant, now: Instant, delivered_events: bool) {
        let stayed_up = now.saturating_duration_since(opened) >= self.policy.reset_after;
        if stayed_up {
            self.failures = 0;
        }
        if stayed_up || delivered_events {
            self.attempts = 0;
            self.retrying_since = None;
        }
    }

    /// Attempts made since the last successful connection.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay before the next attempt, or None when the policy's limits
    /// (attempts or total time) are reached. `at_least` (a server's
    /// Retry-After) raises the delay.
    pub fn next_delay(&mut self, now: Instant, at_least: Option<Duration>) -> Option<Duration> {
        let since = *self.retrying_since.get_or_insert(now);
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.attempts >= max)
        {
            return None;
        }
        let grown =
            self.base.as_secs_f64() * self.policy.multiplier.powi(self.failures.min(64) as i32);
        let capped = grown.min(self.policy.max_delay.as_secs_f64());
        let jittered = capped * (1.0 - self.policy.jitter * self.random_unit());
        let mut delay = Duration::from_secs_f64(jittered.max(0.0)).max(self.policy.min_delay);
        if let Some(floor) = at_least {
            delay = delay.max(floor);
        }
        if let Some(max) = self.policy.max_elapsed {
            if now.saturating_duration_since(since) + delay > max {
                return None;
            }
        }
        self.failures = self.failures.saturating_add(1);
        self.attempts = self.attempts.saturating_add(1);
        Some(delay)
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

    #[test]
    fn grows_by_the_multiplier_up_to_the_cap() {
        let mut b = Backoff::new(policy(), 1);
        let now = Instant::now();
        let delays: Vec<_> = (0..6).map(|_| b.next_delay(now, None).unwrap()).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
    }

    #[test]
    fn server_retry_sets_the_base_and_zero_hits_the_floor() {
        let mut b = Backoff::new(policy(), 1);
        b.set_server_retry(300);
        assert_eq!(b.next_delay(Instant::now(), None), Some(ms(300)));
        b.set_server_retry(0);
        assert_eq!(b.next_delay(Instant::now(), None), Some(ms(10)));
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
            .map(|_| b.next_delay(Instant::now(), None).unwrap())
            .collect();
        assert!(delays.iter().all(|d| *d >= ms(50) && *d <= ms(100)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "jitter must vary the delay");
    }

    #[test]
    fn long_connection_resets_the_growth_short_one_does_not() {
        let mut b = Backoff::new(policy(), 1);
        let t0 = Instant::now();
        b.next_delay(t0, None);
        b.next_delay(t0, None);
        b.connection_ended(t0, t0 + Duration::from_secs(1), true);
        assert_eq!(b.next_delay(t0, None), Some(ms(400)));
        b.connection_ended(t0, t0 + Duration::from_secs(61), false);
        assert_eq!(b.next_delay(t0, None), Some(ms(100)));
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
        assert!(b.next_delay(now, None).is_some());
        assert!(b.next_delay(now, None).is_some());
        assert_eq!(b.next_delay(now, None), None);
        // A connection that opened but delivered nothing does not count.
        b.connection_ended(now, now, false);
        assert_eq!(b.next_delay(now, None), None);
        b.connection_ended(now, now, true);
        assert!(b.next_delay(now, None).is_some());
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
        assert!(b.next_delay(t0, None).is_some());
        assert_eq!(b.next_delay(t0 + ms(950), None), None);
    }

    #[test]
    fn retry_after_raises_the_delay() {
        let mut b = Backoff::new(policy(), 1);
        assert_eq!(
            b.next_delay(Instant::now(), Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
    }
}
