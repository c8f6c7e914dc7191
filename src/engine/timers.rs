//! Deadlines of the streams a loop thread drives: a binary heap of
//! (deadline, stream) with lazy deletion. A stream's deadline may move at
//! every read (the read-idle timeout) without any heap work: an entry that
//! comes due is only a hint, and the loop asks the stream itself whether
//! anything is due (`connection::Connection::poll_timeout`, a backoff
//! wait). A stream re-arms with [`Timers::arm`] whenever its next deadline
//! may be earlier than the one already in the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// A stream's place in the loop's table.
pub(crate) type Slot = usize;

/// The heap of deadlines. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Slot)>>,
}

impl Timers {
    /// Wakes `slot` at `deadline` (or soon after). Earlier entries of the
    /// same slot stay; they come due as hints the stream ignores.
    pub(crate) fn arm(&mut self, slot: Slot, deadline: Instant) {
        self.heap.push(Reverse((deadline, slot)));
    }

    /// How long the loop may sleep from `now` before a deadline is due
    /// (None: no deadline at all).
    pub(crate) fn wait(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((deadline, _))| deadline.saturating_duration_since(now))
    }

    /// Takes the next slot whose deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Slot> {
        match self.heap.peek() {
            Some(Reverse((deadline, _))) if *deadline <= now => {
                self.heap.pop().map(|Reverse((_, slot))| slot)
            }
            _ => None,
        }
    }

    /// Entries in the heap (stale ones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops the stale entries of slots for which `live` is false, when
    /// they are most of the heap (a table of streams whose deadlines moved
    /// many times would otherwise grow it without bound).
    pub(crate) fn compact(&mut self, live_entries: usize, live: impl Fn(Slot, Instant) -> bool) {
        if self.heap.len() > 64 && self.heap.len() > 4 * live_entries {
            self.heap
                .retain(|Reverse((deadline, slot))| live(*slot, *deadline));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_come_due_in_deadline_order_and_not_before() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut timers = Timers::default();
        timers.arm(7, t0 + ms(30));
        timers.arm(3, t0 + ms(10));
        timers.arm(5, t0 + ms(20));
        assert_eq!(timers.wait(t0), Some(ms(10)));
        assert_eq!(timers.pop_due(t0), None);
        assert_eq!(timers.pop_due(t0 + ms(25)), Some(3));
        assert_eq!(timers.pop_due(t0 + ms(25)), Some(5));
        assert_eq!(timers.pop_due(t0 + ms(25)), None);
        assert_eq!(timers.wait(t0 + ms(40)), Some(Duration::ZERO));
        assert_eq!(timers.pop_due(t0 + ms(40)), Some(7));
        assert_eq!(timers.wait(t0), None);
    }

    #[test]
    fn compaction_keeps_live_entries_only_once_stale_ones_dominate() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        for i in 0..100u64 {
            timers.arm(1, t0 + Duration::from_millis(i));
        }
        timers.arm(2, t0 + Duration::from_secs(1));
        let newest = t0 + Duration::from_millis(99);
        timers.compact(2, |slot, deadline| slot == 2 || deadline == newest);
        assert_eq!(timers.len(), 2);
        timers.compact(2, |_, _| false); // small heaps are left alone
        assert_eq!(timers.len(), 2);
    }
}
