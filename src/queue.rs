//! The bounded item queue between a client's thread and its user.
//!
//! Items travel in batches (one per network read) through a crossbeam
//! channel, so a busy stream costs one channel operation per read, not per
//! event. The bound is on items: the worker waits before sending while the
//! user holds `capacity` items or more, and resumes once the user has taken
//! the queue down to half (hysteresis: one wake-up per half queue, not one
//! per item). A batch always goes through when the queue is empty, so a
//! single large read never deadlocks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Select, Sender};

use crate::event::Item;

struct State {
    /// Items sent and not yet taken by the user.
    queued: AtomicUsize,
    capacity: usize,
    sender_waiting: AtomicBool,
}

/// The worker's end.
pub struct QueueSender {
    batches: Sender<Vec<Item>>,
    space: Receiver<()>,
    state: Arc<State>,
}

/// The user's end.
pub struct QueueReceiver {
    batches: Receiver<Vec<Item>>,
    /// Items of a received batch not yet handed out.
    local: Mutex<VecDeque<Item>>,
    space: Sender<()>,
    state: Arc<State>,
}

/// A queue holding about `capacity` items (at least 1).
pub fn queue(capacity: usize) -> (QueueSender, QueueReceiver) {
    let (batch_tx, batch_rx) = unbounded();
    let (space_tx, space_rx) = bounded(1);
    let state = Arc::new(State {
        queued: AtomicUsize::new(0),
        capacity: capacity.max(1),
        sender_waiting: AtomicBool::new(false),
    });
    (
        QueueSender {
            batches: batch_tx,
            space: space_rx,
            state: state.clone(),
        },
        QueueReceiver {
            batches: batch_rx,
            local: Mutex::new(VecDeque::new()),
            space: space_tx,
            state,
        },
    )
}

/// Why a send did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// `stop` fired while waiting for room.
    Stopped,
    /// The user's end is gone.
    Disconnected,
}

impl QueueSender {
    /// Sends `batch`, first waiting for room. The wait ends without sending
    /// when `give_up()` holds (checked before each wait) or when `stop`
    /// returns true for a message arriving on `wakers`.
    pub fn send<T>(
        &self,
        batch: Vec<Item>,
        wakers: &Receiver<T>,
        mut stop: impl FnMut(T) -> bool,
        give_up: impl Fn() -> bool,
    ) -> Result<(), SendError> {
        let count = batch.len();
        if count == 0 {
            return Ok(());
        }
        while !self.has_room(count) {
            if give_up() {
                return Err(SendError::Stopped);
            }
            self.state.sender_waiting.store(true, Ordering::SeqCst);
            if self.has_room(count) {
                break; // the user took items meanwhile
            }
            let mut select = Select::new();
            let space = select.recv(&self.space);
            select.recv(wakers);
            let operation = select.select();
            if operation.index() == space {
                let _ = operation.recv(&self.space);
            } else {
                let abandon = operation.recv(wakers).map_or(true, &mut stop);
                if abandon {
                    return Err(SendError::Stopped);
                }
            }
        }
        self.state.sender_waiting.store(false, Ordering::SeqCst);
        self.state.queued.fetch_add(count, Ordering::SeqCst);
        self.batches
            .send(batch)
            .map_err(|_| SendError::Disconnected)
    }

    fn has_room(&self, count: usize) -> bool {
        let queued = self.state.queued.load(Ordering::SeqCst);
        queued == 0 || queued + count <= self.state.capacity
    }
}

impl QueueReceiver {
    fn local(&self) -> MutexGuard<'_, VecDeque<Item>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Items sent and not yet taken.
    pub fn len(&self) -> usize {
        self.state.queued.load(Ordering::SeqCst)
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next item, waiting up to `timeout` (None: forever).
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Item, RecvTimeoutError> {
        if let Some(item) = self.pop_local() {
            return Ok(item);
        }
        let batch = match timeout {
            // No waiting: try_recv, without the spin-and-yield of a wait.
            Some(timeout) if timeout.is_zero() => self.batches.try_recv().map_err(|e| match e {
                crossbeam_channel::TryRecvError::Empty => RecvTimeoutError::Timeout,
                crossbeam_channel::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            })?,
            Some(timeout) => self.batches.recv_timeout(timeout)?,
            None => self
                .batches
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected)?,
        };
        let mut local = self.local();
        local.extend(batch);
        let item = local.pop_front();
        drop(local);
        self.taken(1);
        item.ok_or(RecvTimeoutError::Timeout)
    }

    fn pop_local(&self) -> Option<Item> {
        let item = self.local().pop_front();
        if item.is_some() {
            self.taken(1);
        }
        item
    }

    /// Moves up to `max` waiting items into `out` without blocking.
    pub fn try_take(&self, out: &mut Vec<Item>, max: usize) -> usize {
        let mut local = self.local();
        while local.len() < max {
            match self.batches.try_recv() {
                Ok(batch) => local.extend(batch),
                Err(_) => break,
            }
        }
        let count = local.len().min(max);
        out.extend(local.drain(..count));
        drop(local);
        self.taken(count);
        count
    }

    /// Hands every waiting item to `sink`, in order, while `keep_going`
    /// says so (items taken after it says no are dropped).
    pub fn drain(&self, mut sink: impl FnMut(Item), keep_going: impl Fn() -> bool) {
        loop {
            let mut batch = Vec::new();
            if self.try_take(&mut batch, usize::MAX) == 0 {
                return;
            }
            for item in batch {
                if !keep_going() {
                    return;
                }
                sink(item);
            }
        }
    }

    /// Accounts for `count` items taken; wakes a waiting sender once the
    /// queue is down to half its capacity.
    fn taken(&self, count: usize) {
        if count == 0 {
            return;
        }
        let left = self.state.queued.fetch_sub(count, Ordering::SeqCst) - count;
        if left <= self.state.capacity / 2
            && self.state.sender_waiting.swap(false, Ordering::SeqCst)
        {
            let _ = self.space.try_send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn comment(n: usize) -> Item {
        Item::Comment(n.to_string())
    }

    #[test]
    fn items_arrive_in_order_across_batches() {
        let (tx, rx) = queue(100);
        let (_wake_tx, wake_rx) = unbounded::<()>();
        tx.send((0..3).map(comment).collect(), &wake_rx, |_| true, || false)
            .unwrap();
        tx.send((3..5).map(comment).collect(), &wake_rx, |_| true, || false)
            .unwrap();
        assert_eq!(rx.len(), 5);
        let mut out = Vec::new();
        assert_eq!(rx.try_take(&mut out, 2), 2);
        assert_eq!(rx.recv(Some(Duration::ZERO)).unwrap(), comment(2));
        assert_eq!(rx.try_take(&mut out, 10), 2);
        assert_eq!(out, [comment(0), comment(1), comment(3), comment(4)]);
        assert!(rx.is_empty());
    }

    #[test]
    fn a_full_queue_blocks_the_sender_until_half_is_taken() {
        let (tx, rx) = queue(10);
        let (_wake_tx, wake_rx) = unbounded::<()>();
        let sender = thread::spawn(move || {
            for round in 0..50 {
                let batch = (0..4).map(|i| comment(round * 4 + i)).collect();
                tx.send(batch, &wake_rx, |_| true, || false).unwrap();
            }
        });
        let mut seen = Vec::new();
        while seen.len() < 200 {
            assert!(rx.len() <= 12, "bounded: {}", rx.len());
            if let Ok(item) = rx.recv(Some(Duration::from_secs(10))) {
                seen.push(item);
            }
        }
        sender.join().unwrap();
        assert_eq!(seen, (0..200).map(comment).collect::<Vec<_>>());
    }

    #[test]
    fn a_waker_message_can_abandon_a_blocked_send() {
        let (tx, _rx) = queue(1);
        let (wake_tx, wake_rx) = unbounded::<bool>();
        let (_unused, never) = unbounded::<bool>();
        tx.send(vec![comment(0)], &never, |_| true, || false)
            .unwrap();
        let sender =
            thread::spawn(move || tx.send(vec![comment(1)], &wake_rx, |stop| stop, || false));
        wake_tx.send(false).unwrap(); // ignored: keeps waiting
        wake_tx.send(true).unwrap();
        assert_eq!(sender.join().unwrap(), Err(SendError::Stopped));
    }

    #[test]
    fn a_full_queue_never_blocks_a_sender_that_gives_up() {
        let (tx, _rx) = queue(1);
        let (_wake_tx, wake_rx) = unbounded::<()>();
        tx.send(vec![comment(0)], &wake_rx, |_| true, || false)
            .unwrap();
        // Nobody pulls and no waker message comes: only give_up ends it.
        let result = tx.send(vec![comment(1)], &wake_rx, |_| true, || true);
        assert_eq!(result, Err(SendError::Stopped));
    }
}
