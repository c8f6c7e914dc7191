//! The bounded item queue between a client's thread and its user.
//!
//! Items travel in batches (one per network read) through a small
//! mutex-guarded channel, so a busy stream costs one channel operation per
//! read, not per event. (Not a crossbeam channel: its unbounded flavour
//! takes a 2.5 KiB block per stream at the first batch and a 0.5 KiB
//! cache-padded head, a cost every one of thousands of quiet streams
//! would pay; a waiting receiver is woken only when one waits.) The bound is on items and on bytes of event text: the engine
//! stops reading a stream whose batch found the user holding `capacity`
//! items or `byte_capacity` bytes or more, and is told to resume (a hook)
//! once the user has taken the queue down to half of both (hysteresis: one
//! wake-up per half queue, not one per item). A batch always goes through
//! when the queue is empty, so a single large read or event never
//! deadlocks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use crate::batch::{Batch, ItemRef};
use crate::event::Item;

struct State {
    /// Items sent and not yet taken by the user.
    queued: AtomicUsize,
    capacity: usize,
    /// Text bytes of the batches sent and not yet wholly taken.
    queued_bytes: AtomicUsize,
    byte_capacity: usize,
    sender_waiting: AtomicBool,
    /// The most items queued at once.
    peak: AtomicUsize,
    /// Called (on the consumer's thread) when a sender that found the
    /// queue full may send again: how an event loop, which cannot wait,
    /// learns that a stream may be read again.
    on_room: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The batches sent and not yet received.
    channel: Mutex<Channel>,
    /// Signalled when a batch arrives or the channel ends, if one waits.
    arrived: Condvar,
}

/// What travels between the two ends.
#[derive(Default)]
struct Channel {
    batches: VecDeque<Batch>,
    /// Receivers waiting on `arrived`: a send signals only when one does.
    waiting: usize,
    sender_gone: bool,
    receiver_gone: bool,
    /// [`QueueReceiver::shut`]: every wait ends at once.
    shut: bool,
}

impl State {
    fn channel(&self) -> MutexGuard<'_, Channel> {
        self.channel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `batch`; false if the receiver is gone.
    fn send(&self, batch: Batch) -> bool {
        let mut channel = self.channel();
        if channel.receiver_gone {
            return false;
        }
        channel.batches.push_back(batch);
        let wake = channel.waiting > 0;
        drop(channel);
        if wake {
            self.arrived.notify_one();
        }
        true
    }

    /// Marks the channel ended from one side and wakes every wait.
    fn end(&self, mark: impl FnOnce(&mut Channel)) {
        mark(&mut self.channel());
        self.arrived.notify_all();
    }
}

/// The engine's end.
pub struct QueueSender {
    state: Arc<State>,
}

/// The user's end.
pub struct QueueReceiver {
    /// Received batches with items not yet handed out.
    local: Mutex<VecDeque<Batch>>,
    state: Arc<State>,
}

/// A queue holding about `capacity` items (at least 1) and `byte_capacity`
/// bytes of event text.
pub fn queue(capacity: usize, byte_capacity: usize) -> (QueueSender, QueueReceiver) {
    let state = Arc::new(State {
        queued: AtomicUsize::new(0),
        capacity: capacity.max(1),
        queued_bytes: AtomicUsize::new(0),
        byte_capacity: byte_capacity.max(1),
        sender_waiting: AtomicBool::new(false),
        peak: AtomicUsize::new(0),
        on_room: std::sync::OnceLock::new(),
        channel: Mutex::default(),
        arrived: Condvar::new(),
    });
    (
        QueueSender {
            state: state.clone(),
        },
        QueueReceiver {
            local: Mutex::new(VecDeque::new()),
            state,
        },
    )
}

impl Drop for QueueSender {
    /// Receivers take what was sent, then learn the sender is gone.
    fn drop(&mut self) {
        self.state.end(|channel| channel.sender_gone = true);
    }
}

impl Drop for QueueReceiver {
    /// Later sends fail; the batches waiting go now (outside the lock).
    fn drop(&mut self) {
        let mut left = VecDeque::new();
        self.state.end(|channel| {
            channel.receiver_gone = true;
            left = std::mem::take(&mut channel.batches);
        });
    }
}

/// Why [`QueueSender::try_send`] did not send.
#[derive(Debug)]
pub enum TrySendError {
    /// No room: the batch, to send again once the hook ran.
    Full(Batch),
    /// The user's end is gone.
    Disconnected,
}

impl QueueSender {
    /// Sends `batch` if there is room now; otherwise hands it back and
    /// arranges for the hook of [`QueueSender::on_room`] to run once the
    /// user has taken the queue down to half its capacities.
    pub fn try_send(&self, batch: Batch) -> Result<(), TrySendError> {
        let count = batch.len();
        if count == 0 {
            return Ok(());
        }
        let bytes = batch.text_capacity();
        if !self.has_room(count, bytes) {
            self.state.sender_waiting.store(true, Ordering::SeqCst);
            if !self.has_room(count, bytes) {
                return Err(TrySendError::Full(batch));
            }
            self.state.sender_waiting.store(false, Ordering::SeqCst);
        }
        self.count_in(count, bytes);
        if self.state.send(batch) {
            Ok(())
        } else {
            Err(TrySendError::Disconnected)
        }
    }

    /// Sends `batch` whatever the queue holds: for the few items that end
    /// a connection or the stream (errors, reconnecting, closed), which an
    /// event loop cannot wait to send. Bounded by their number.
    pub fn force_send(&self, batch: Batch) -> Result<(), TrySendError> {
        self.count_in(batch.len(), batch.text_capacity());
        if self.state.send(batch) {
            Ok(())
        } else {
            Err(TrySendError::Disconnected)
        }
    }

    /// Sets the hook run when a [`QueueSender::try_send`] that found the
    /// queue full may be tried again (once per such refusal). Set once.
    pub fn on_room(&self, hook: Box<dyn Fn() + Send + Sync>) {
        let _ = self.state.on_room.set(hook);
    }

    /// Counts a batch of `count` items and `bytes` of text in.
    fn count_in(&self, count: usize, bytes: usize) {
        let before = self.state.queued.fetch_add(count, Ordering::SeqCst);
        self.state.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
        self.state.peak.fetch_max(before + count, Ordering::Relaxed);
    }

    fn has_room(&self, count: usize, bytes: usize) -> bool {
        let queued = self.state.queued.load(Ordering::SeqCst);
        let queued_bytes = self.state.queued_bytes.load(Ordering::SeqCst);
        queued == 0
            || (queued + count <= self.state.capacity
                && queued_bytes + bytes <= self.state.byte_capacity)
    }
}

impl QueueReceiver {
    fn local(&self) -> MutexGuard<'_, VecDeque<Batch>> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Items sent and not yet taken.
    pub fn len(&self) -> usize {
        self.state.queued.load(Ordering::SeqCst)
    }

    /// The most items queued at once so far.
    pub fn peak(&self) -> usize {
        self.state.peak.load(Ordering::Relaxed)
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes every receive waiting now and makes later ones return at
    /// once: they report `Disconnected`, as if the worker had ended. For a
    /// handle about to be freed while other threads wait on it.
    pub fn shut(&self) {
        self.state.end(|channel| channel.shut = true);
    }

    /// Whether [`QueueReceiver::shut`] was called.
    pub fn is_shut(&self) -> bool {
        self.state.channel().shut
    }

    /// The next batch sent, if one is there.
    fn try_receive(&self) -> Option<Batch> {
        self.state.channel().batches.pop_front()
    }

    /// The next batch from the channel, waiting up to `timeout` (None:
    /// forever) unless the queue is shut.
    fn receive(&self, timeout: Option<Duration>) -> Result<Batch, RecvTimeoutError> {
        // A timeout too far to represent waits forever.
        let deadline = timeout.map(|t| Instant::now().checked_add(t));
        let mut channel = self.state.channel();
        loop {
            if let Some(batch) = channel.batches.pop_front() {
                return Ok(batch);
            }
            if channel.shut || channel.sender_gone {
                return Err(RecvTimeoutError::Disconnected);
            }
            let left = match deadline {
                Some(Some(deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    Some(left)
                }
                _ => None,
            };
            channel.waiting += 1;
            channel = match left {
                Some(left) => {
                    let (guard, _) = self
                        .state
                        .arrived
                        .wait_timeout(channel, left)
                        .unwrap_or_else(|e| e.into_inner());
                    guard
                }
                None => self
                    .state
                    .arrived
                    .wait(channel)
                    .unwrap_or_else(|e| e.into_inner()),
            };
            channel.waiting -= 1;
        }
    }

    /// The next item, waiting up to `timeout` (None: forever).
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Item, RecvTimeoutError> {
        let mut local = self.local();
        if local.is_empty() {
            drop(local);
            let batch = self.receive(timeout)?;
            local = self.local();
            local.push_back(batch);
        }
        let (item, freed) = pop_item(&mut local);
        drop(local);
        self.taken(usize::from(item.is_some()), freed);
        item.ok_or(RecvTimeoutError::Timeout)
    }

    /// The items left of the oldest batch received, or else the next batch,
    /// waiting up to `timeout` (None: forever).
    pub fn recv_batch(&self, timeout: Option<Duration>) -> Result<Batch, RecvTimeoutError> {
        let batch = match self.local().pop_front() {
            Some(batch) => batch,
            None => self.receive(timeout)?,
        };
        self.taken(batch.len(), batch.text_capacity());
        Ok(batch)
    }

    /// Moves up to `max` waiting items into `out` without blocking.
    pub fn try_take(&self, out: &mut Vec<Item>, max: usize) -> usize {
        let mut local = self.local();
        let (mut count, mut freed) = (0, 0);
        while count < max {
            if local.is_empty() {
                match self.try_receive() {
                    Some(batch) => local.push_back(batch),
                    None => break,
                }
            }
            let (item, bytes) = pop_item(&mut local);
            freed += bytes;
            match item {
                Some(item) => {
                    out.push(item);
                    count += 1;
                }
                None => break,
            }
        }
        drop(local);
        self.taken(count, freed);
        count
    }

    /// Hands every waiting item to `sink`, in order, while `keep_going`
    /// says so (items taken after it says no are dropped).
    pub fn drain(&self, mut sink: impl FnMut(ItemRef<'_>, &str), keep_going: impl Fn() -> bool) {
        // Counted in before they are sent: none counted, none to take (a
        // send racing this is followed by its sender's own drain).
        if self.state.queued.load(Ordering::SeqCst) == 0 {
            return;
        }
        loop {
            let batch = match self.local().pop_front() {
                Some(batch) => batch,
                None => match self.try_receive() {
                    Some(batch) => batch,
                    None => return,
                },
            };
            self.taken(batch.len(), batch.text_capacity());
            for item in batch.iter() {
                if !keep_going() {
                    return;
                }
                sink(item, batch.text());
            }
        }
    }

    /// Accounts for `count` items and `bytes` of text taken; wakes a
    /// waiting sender once the queue is down to half its capacities.
    fn taken(&self, count: usize, bytes: usize) {
        if count == 0 && bytes == 0 {
            return;
        }
        let left = self.state.queued.fetch_sub(count, Ordering::SeqCst) - count;
        let left_bytes = self.state.queued_bytes.fetch_sub(bytes, Ordering::SeqCst) - bytes;
        if left <= self.state.capacity / 2
            && left_bytes <= self.state.byte_capacity / 2
            && self.state.sender_waiting.swap(false, Ordering::SeqCst)
        {
            if let Some(hook) = self.state.on_room.get() {
                hook();
            }
        }
    }
}

/// Takes the first item of the oldest batch, dropping emptied batches;
/// also returns the text bytes of the batches dropped.
fn pop_item(local: &mut VecDeque<Batch>) -> (Option<Item>, usize) {
    let mut freed = 0;
    while let Some(front) = local.front_mut() {
        let item = front.pop_front();
        if front.is_empty() {
            freed += front.text_capacity();
            local.pop_front();
        }
        if item.is_some() {
            return (item, freed);
        }
    }
    (None, freed)
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
        let (tx, rx) = queue(100, usize::MAX);
        tx.try_send((0..3).map(comment).collect()).unwrap();
        tx.try_send((3..5).map(comment).collect()).unwrap();
        assert_eq!(rx.len(), 5);
        let mut out = Vec::new();
        assert_eq!(rx.try_take(&mut out, 2), 2);
        assert_eq!(rx.recv(Some(Duration::ZERO)).unwrap(), comment(2));
        assert_eq!(rx.try_take(&mut out, 10), 2);
        assert_eq!(out, [comment(0), comment(1), comment(3), comment(4)]);
        assert!(rx.is_empty());
    }

    #[test]
    fn a_batch_pull_takes_what_is_left_of_a_started_batch_first() {
        let (tx, rx) = queue(100, usize::MAX);
        tx.try_send((0..3).map(comment).collect()).unwrap();
        tx.try_send((3..5).map(comment).collect()).unwrap();
        assert_eq!(rx.recv(None).unwrap(), comment(0));
        let rest: Vec<_> = rx
            .recv_batch(None)
            .unwrap()
            .iter()
            .map(|i| i.to_item())
            .collect();
        assert_eq!(rest, [comment(1), comment(2)]);
        assert_eq!(rx.len(), 2);
        assert_eq!(rx.recv_batch(Some(Duration::ZERO)).unwrap().len(), 2);
        assert!(rx.is_empty());
        let timed_out = rx.recv_batch(Some(Duration::from_millis(1)));
        assert_eq!(timed_out, Err(RecvTimeoutError::Timeout));
        drop(tx);
        assert_eq!(rx.recv_batch(None), Err(RecvTimeoutError::Disconnected));
    }

    #[test]
    fn a_sender_on_another_thread_is_held_back_until_half_is_taken() {
        let (tx, rx) = queue(10, usize::MAX);
        let (room_tx, room_rx) = std::sync::mpsc::channel();
        tx.on_room(Box::new(move || {
            let _ = room_tx.send(());
        }));
        let sender = thread::spawn(move || {
            for round in 0..50 {
                let mut batch: Batch = (0..4).map(|i| comment(round * 4 + i)).collect();
                loop {
                    match tx.try_send(batch) {
                        Ok(()) => break,
                        Err(TrySendError::Full(refused)) => {
                            batch = refused;
                            room_rx.recv_timeout(Duration::from_secs(10)).unwrap();
                        }
                        Err(TrySendError::Disconnected) => panic!("receiver gone"),
                    }
                }
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
    fn a_full_queue_refuses_try_send_and_runs_the_hook_once_half_is_taken() {
        let (tx, rx) = queue(10, usize::MAX);
        let rooms = Arc::new(AtomicUsize::new(0));
        let counter = rooms.clone();
        tx.on_room(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        tx.try_send((0..8).map(comment).collect()).unwrap();
        let refused = match tx.try_send((8..12).map(comment).collect()) {
            Err(TrySendError::Full(batch)) => batch,
            other => panic!("{other:?}"),
        };
        assert_eq!(rx.len(), 8);
        let mut out = Vec::new();
        rx.try_take(&mut out, 2);
        assert_eq!(rooms.load(Ordering::SeqCst), 0, "6 > 5 left: not yet");
        rx.try_take(&mut out, 1);
        assert_eq!(rooms.load(Ordering::SeqCst), 1);
        rx.try_take(&mut out, 5);
        assert_eq!(rooms.load(Ordering::SeqCst), 1, "once per refusal");
        tx.try_send(refused).unwrap();
        rx.try_take(&mut out, 10);
        assert_eq!(out, (0..12).map(comment).collect::<Vec<_>>());
        drop(rx);
        let gone = tx.try_send((0..1).map(comment).collect());
        assert!(matches!(gone, Err(TrySendError::Disconnected)));
    }

    #[test]
    fn the_bytes_of_event_text_bound_the_queue_too() {
        let (tx, rx) = queue(100, 1000);
        let large = |n: usize| {
            let mut batch = Batch::with_text_capacity(600);
            batch.push(comment(n));
            batch
        };
        tx.try_send(large(0)).unwrap();
        // Room for items, not for bytes: refused until the first is taken.
        let refused = match tx.try_send(large(1)) {
            Err(TrySendError::Full(batch)) => batch,
            other => panic!("{other:?}"),
        };
        assert_eq!(rx.recv(None).unwrap(), comment(0));
        tx.try_send(refused).unwrap();
        assert_eq!(rx.recv(None).unwrap(), comment(1));
        assert!(rx.is_empty());
        assert_eq!(rx.state.queued_bytes.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn shutting_wakes_a_waiting_receiver_and_later_ones() {
        let (_tx, rx) = queue(4, 1 << 20);
        thread::scope(|s| {
            let waiting = s.spawn(|| rx.recv(None));
            thread::sleep(Duration::from_millis(20));
            rx.shut();
            assert_eq!(waiting.join().unwrap(), Err(RecvTimeoutError::Disconnected));
        });
        assert_eq!(rx.recv(None), Err(RecvTimeoutError::Disconnected));
        assert_eq!(
            rx.recv_batch(Some(Duration::from_secs(5))),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}
