//! The client: a handle to pull items, interrupt and close a stream
//! promptly. The engine loop (`crate::engine::reactor`) drives the
//! stream and hands its items to `LoopSink`: to the callback or the
//! bounded queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;

use crate::batch::{Batch, ItemRef};
use crate::config::Config;
use crate::engine::reactor::{self, Delivery, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::event::Item;
use crate::notify::Notifier;
use crate::queue::{queue, QueueReceiver, QueueSender, TrySendError};
use crate::stats::{Counters, Messages, Stats};
use crate::waitset::{Member, WaitSet};

/// A function receiving every item on the client's background thread (the
/// engine loop's, shared by all clients: it must not block),
/// borrowed for the call ([`ItemRef::to_item`] makes an owned copy).
///
/// The second argument is the whole text buffer of the item's batch: a
/// message's strings lie in it, each followed by a NUL. A C layer derives
/// its string pointers from it, so that each may read its NUL (Rust code
/// can ignore it).
pub type ItemCallback = Box<dyn FnMut(ItemRef<'_>, &str) + Send>;

/// Event text the queue holds at most (unless one event is larger): a
/// consumer that stalls while large events stream in holds this much.
const QUEUE_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// The queue's byte bound: [`QUEUE_TEXT_BYTES`], or room for four events
/// of the largest size allowed if that is more.
fn queue_byte_capacity(config: &Config) -> usize {
    QUEUE_TEXT_BYTES.max(config.max_event_size.saturating_mul(4))
}

/// How long `Drop`, and a pull after `close`, wait for the stream's end
/// (the loop ends a closed stream at once; this only bounds the wait when
/// the loop thread is held by another client's blocking callback: the
/// stream then ends, its socket closed, once the loop goes on).
const JOIN_GRACE: Duration = Duration::from_millis(200);

/// State shared by the handle and the worker. In declaration order: what
/// the loop thread touches for every batch comes first, so that it spans
/// few cache lines (with thousands of streams on a loop, each stream's
/// state is cold when its next event comes).
#[repr(C)]
struct Shared {
    closing: AtomicBool,
    /// The handle was dropped: no callback may run any more.
    dropped: AtomicBool,
    has_callback: AtomicBool,
    /// Set once the worker has queued its last item and let go of the queue.
    ended: AtomicBool,
    /// The loop thread has sent items to the queue (set before the first).
    queue_used: AtomicBool,
    callback: Mutex<Option<ItemCallback>>,
    last_event_id: Mutex<String>,
    notifier: OnceLock<Notifier>,
    /// The wait set told of news, if any (`Client::join_wait_set`).
    wait_set: OnceLock<Member>,
    /// What the stream has done (`Client::stats`).
    counters: Counters,
    /// The user's end of the item queue.
    queue: QueueReceiver,
    final_error: Mutex<Option<Error>>,
    /// For `wait_ended`.
    ended_lock: Mutex<()>,
    ended_signal: std::sync::Condvar,
    worker: OnceLock<ThreadId>,
    /// The stream's id on the engine loop, when the loop drives it.
    on_loop: OnceLock<u64>,
    /// That loop, for the room hook. Weak: the engine thread holds this
    /// state (through the sink), and a strong reference there would make
    /// the loop thread drop its own engine (no join); the `Client` holds
    /// the strong one.
    engine: OnceLock<std::sync::Weak<Engine>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The state of a client of `config` that has not started.
    fn new(config: &Config, queue: QueueReceiver) -> Self {
        Shared {
            closing: AtomicBool::new(false),
            last_event_id: Mutex::new(config.last_event_id.clone()),
            final_error: Mutex::new(None),
            notifier: OnceLock::new(),
            has_callback: AtomicBool::new(false),
            callback: Mutex::new(None),
            ended: AtomicBool::new(false),
            ended_lock: Mutex::new(()),
            ended_signal: std::sync::Condvar::new(),
            dropped: AtomicBool::new(false),
            queue_used: AtomicBool::new(false),
            queue,
            worker: OnceLock::new(),
            on_loop: OnceLock::new(),
            engine: OnceLock::new(),
            counters: Counters::default(),
            wait_set: OnceLock::new(),
        }
    }

    /// [`Shared::new`] built in a frame of its own, beside (not above) the
    /// other calls of [`Client::start_boxed`]: the caller's stack stays shallow.
    #[inline(never)]
    fn new_arc(config: &Config, queue: QueueReceiver) -> Arc<Self> {
        Arc::new(Self::new(config, queue))
    }

    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Hands `batch` to the callback, if one is set: `Some(go on)`; `None`
    /// without a callback. Queued items go first.
    fn to_callback(&self, batch: &Batch) -> Option<bool> {
        if !self.has_callback.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = lock(&self.callback);
        let callback = slot.as_mut()?;
        // Only the loop thread sends, and it sets `queue_used` first: a
        // stream that never queued has nothing there (the queue's state
        // is not touched, one cache line fewer per batch).
        if self.queue_used.load(Ordering::Relaxed) {
            self.queue.drain(&mut *callback, || !self.closing());
        }
        // A close from inside the callback stops delivery at once, even in
        // the middle of a batch; only the final closed item follows. After
        // a free nothing follows at all.
        for item in batch.iter() {
            let last = item.is_closed();
            if self.dropped.load(Ordering::Acquire) || (self.closing() && !last) {
                return Some(false);
            }
            callback(item, batch.text());
        }
        Some(!self.closing())
    }

    /// After a batch was queued: wake a waiting `poll`, and hand it to a
    /// callback set meanwhile. Always under the callback's lock (one
    /// uncontended lock per batch), so a `set_callback` racing the send
    /// either drained the batch or is seen here; a flag alone could miss
    /// both ways.
    fn queued(&self) {
        if let Some(notifier) = self.notifier.get() {
            notifier.signal();
        }
        if let Some(member) = self.wait_set.get() {
            member.mark();
        }
        self.drain_to_callback();
    }

    /// Waits up to `timeout` for the stream to be over.
    fn wait_ended(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.ended_lock);
        while !self.ended.load(Ordering::SeqCst) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            guard = self
                .ended_signal
                .wait_timeout(guard, left)
                .map_or_else(|e| e.into_inner().0, |(g, _)| g);
        }
    }

    /// The stream is over: its end error, the queue let go (so that a
    /// consumer woken by the final signal finds the end, not an empty
    /// queue), the flag and the signal.
    fn finish(&self, error: Option<Error>, items: QueueSender) {
        if error.is_some() {
            *lock(&self.final_error) = error;
        }
        drop(items);
        {
            let _guard = lock(&self.ended_lock);
            self.ended.store(true, Ordering::SeqCst);
            self.ended_signal.notify_all();
        }
        if let Some(notifier) = self.notifier.get() {
            notifier.force_signal();
        }
        if let Some(member) = self.wait_set.get() {
            member.mark();
        }
    }

    /// Hands every queued item to the callback, if one is set.
    fn drain_to_callback(&self) {
        let mut slot = lock(&self.callback);
        if let Some(callback) = slot.as_mut() {
            self.queue.drain(callback, || !self.closing());
        }
    }
}

/// One SSE stream, driven by an engine loop thread (shared by every
/// client, or its own with [`crate::ConfigBuilder::own_thread`]).
/// Dropping it closes the stream and waits for its end.
pub struct Client {
    shared: Arc<Shared>,
    /// The loop driving the stream: kept running while a client is on it;
    /// a client's own loop ends (joined) when the client is dropped.
    engine: Arc<Engine>,
}

impl Client {
    /// Validates nothing more (the [`Config`] is valid by construction),
    /// hands the stream to an engine loop and returns at once.
    pub fn start(config: Config) -> Result<Client> {
        Self::start_boxed(Box::new(config))
    }

    /// [`Client::start`] with the settings already on the heap: the stack
    /// frames stay small (see [`crate::config::ConfigBuilder::build_boxed`]).
    pub(crate) fn start_boxed(mut config: Box<Config>) -> Result<Client> {
        // Not kept in the stream's settings: the loop's own streams would
        // keep its handle alive (a cycle through the loop).
        let event_loop = config.event_loop.take();
        let engine = if let Some(event_loop) = event_loop {
            event_loop.engine()
        } else if config.driven_by_caller {
            let engine = Engine::driven_by_caller().map_err(|e| {
                Error::new(ErrorKind::Internal, format!("cannot start a loop: {e}"))
            })?;
            Arc::new(engine)
        } else if config.own_thread {
            let engine = Engine::start().map_err(|e| {
                Error::new(ErrorKind::Internal, format!("cannot start a thread: {e}"))
            })?;
            Arc::new(engine)
        } else {
            shared_engine()?
        };
        let (items, queue) = queue(config.queue_capacity, queue_byte_capacity(&config));
        let shared = Shared::new_arc(&config, queue);
        if let Some(id) = engine.thread_id() {
            let _ = shared.worker.set(id);
        }
        let _ = shared.engine.set(Arc::downgrade(&engine));
        // The room hook needs the stream's id, known once it is added: it
        // reads it from the shared state.
        let weak = Arc::downgrade(&shared);
        items.on_room(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                let engine = shared.engine.get().and_then(std::sync::Weak::upgrade);
                if let (Some(&id), Some(engine)) = (shared.on_loop.get(), engine) {
                    engine.resume(id);
                }
            }
        }));
        let sink = LoopSink {
            shared: shared.clone(),
            items: Some(items),
            messages_only: config.messages_only,
        };
        let id = engine.add(config, Box::new(sink))?;
        let _ = shared.on_loop.set(id);
        // A close before the id was set would have been lost.
        if shared.closing() {
            engine.close(id);
        }
        Ok(Client { shared, engine })
    }

    /// Waits up to `timeout` (None: forever) for the next item.
    ///
    /// `Ok(Some(item))`: an item; `Ok(None)`: the timeout passed; `Err`:
    /// the stream ended for good and every item was taken: the fatal error
    /// that ended it, or an error of kind [`ErrorKind::Closed`]; or, called
    /// from inside this client's callback, an
    /// [`ErrorKind::InvalidArgument`] error (it would wait for itself).
    pub fn next(&self, timeout: Option<Duration>) -> Result<Option<Item>> {
        self.take(timeout, |queue, timeout| queue.recv(timeout))
    }

    /// Waits up to `timeout` (None: forever) for items and takes what is
    /// left of the oldest batch (one network read's worth, messages packed
    /// into one buffer): the cheapest way to take many items. Ends like
    /// [`Client::next`].
    pub fn next_batch(&self, timeout: Option<Duration>) -> Result<Option<Batch>> {
        self.take(timeout, |queue, timeout| queue.recv_batch(timeout))
    }

    /// What `next` and `next_batch` share: waiting up to `timeout` with
    /// `receive` (driving the stream meanwhile if its caller drives it), and
    /// telling a timeout from the end of the stream. Refused on the
    /// client's own thread: the worker would wait for itself.
    fn take<T>(
        &self,
        timeout: Option<Duration>,
        receive: impl Fn(&QueueReceiver, Option<Duration>) -> std::result::Result<T, RecvTimeoutError>,
    ) -> Result<Option<T>> {
        if self.engine.driven_here() {
            return Err(Error::argument(
                "cannot take items from inside this client's loop (a callback or request \
                 hook running inside a pull of a client driven by its caller, or inside \
                 sse_loop_run): the call would wait for itself",
            ));
        }
        if self.on_worker_thread() {
            return Err(Error::argument(
                "cannot take items from inside a callback: it runs on the thread that \
                 delivers this client's items (shared by every client on it), so the call \
                 would wait for itself",
            ));
        }
        // After close(), queued items are still handed out, then the end
        // comes within the grace period even if the loop thread is held
        // (by another client's blocking callback); normally the closed
        // item arrives within microseconds.
        let timeout = if self.shared.closing() {
            Some(timeout.map_or(JOIN_GRACE, |t| t.min(JOIN_GRACE)))
        } else {
            timeout
        };
        let mut wait = timeout;
        // A pull that does not wait, on a loop the application runs, only
        // takes what is queued: the application's run read it just now.
        let only_queued = timeout == Some(Duration::ZERO) && self.engine.run_by_application();
        if self.engine.caller_may_drive() && !only_queued {
            wait = match self.drive(timeout, &receive) {
                Ok(taken) => {
                    self.rearm_notifier();
                    return Ok(Some(taken));
                }
                Err(None) => return Err(self.end_error()),
                Err(Some(left)) => left,
            };
        }
        match receive(&self.shared.queue, wait) {
            Ok(taken) => {
                self.rearm_notifier();
                Ok(Some(taken))
            }
            Err(RecvTimeoutError::Timeout)
                if self.shared.closing() && timeout.is_some_and(|t| t >= JOIN_GRACE) =>
            {
                Err(Error::closed())
            }
            Err(RecvTimeoutError::Timeout) => {
                self.rearm_notifier();
                Ok(None)
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.end_error()),
        }
    }

    /// For a client its caller drives: runs the loop on this thread until
    /// items come (`Ok`), the stream ends (`Err(None)`), or the loop cannot
    /// be driven here or `timeout` passed: `Err(Some(wait left))`, waited
    /// out on the queue as usual. While another thread drives, this one
    /// waits on the queue in slices, to take over once that one stops.
    fn drive<T>(
        &self,
        timeout: Option<Duration>,
        receive: &impl Fn(&QueueReceiver, Option<Duration>) -> std::result::Result<T, RecvTimeoutError>,
    ) -> std::result::Result<T, Option<Option<Duration>>> {
        const SLICE: Duration = Duration::from_millis(20);
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let queue = &self.shared.queue;
        loop {
            match receive(queue, Some(Duration::ZERO)) {
                Ok(taken) => return Ok(taken),
                Err(RecvTimeoutError::Disconnected) => return Err(None),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if left().is_some_and(|l| l.is_zero()) || !self.engine.caller_may_drive() {
                return Err(Some(left()));
            }
            let news = || !queue.is_empty() || queue.is_shut() || self.thread_finished();
            let drove = self.engine.drive(deadline, news);
            if self.engine.take_wants_thread() {
                // The server sends faster than this caller takes (a thread
                // of its own reads ahead from now on, beside the caller),
                // or the request hook asked for a descriptor, a wait set
                // or a callback.
                let _ = self.to_thread();
            }
            if !drove {
                // Another thread drives (or the loop is moving to a thread).
                let slice = left().map_or(SLICE, |l| l.min(SLICE));
                match receive(queue, Some(slice)) {
                    Ok(taken) => return Ok(taken),
                    Err(RecvTimeoutError::Disconnected) => return Err(None),
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        }
    }

    /// Takes up to `max` items already queued, without waiting, appending
    /// them to `out`; returns how many were taken.
    pub fn try_next_batch(&self, out: &mut Vec<Item>, max: usize) -> usize {
        let taken = self.shared.queue.try_take(out, max);
        self.rearm_notifier();
        taken
    }

    /// How many items wait in the queue (at most the queue capacity).
    pub fn queued(&self) -> usize {
        self.shared.queue.len()
    }

    /// Whether the stream ended for good and every item was taken.
    pub fn is_finished(&self) -> bool {
        self.shared.queue.is_empty() && self.thread_finished()
    }

    fn end_error(&self) -> Error {
        lock(&self.shared.final_error)
            .clone()
            .unwrap_or_else(Error::closed)
    }

    fn rearm_notifier(&self) {
        if let Some(notifier) = self.shared.notifier.get() {
            let queue = &self.shared.queue;
            if queue.is_empty() && !self.thread_finished() {
                notifier.clear(|| !queue.is_empty() || self.thread_finished());
            }
        }
    }

    fn thread_finished(&self) -> bool {
        self.shared.ended.load(Ordering::SeqCst)
    }

    /// A file descriptor readable while items are queued or the stream has
    /// ended (then `next` returns the end). Owned by the client.
    pub fn notify_fd(&self) -> Result<i32> {
        self.to_thread()?;
        let notifier = match self.shared.notifier.get() {
            Some(notifier) => notifier,
            None => {
                let created = Notifier::new().map_err(|e| {
                    Error::new(ErrorKind::Internal, format!("cannot create eventfd: {e}"))
                })?;
                let _ = self.shared.notifier.set(created);
                self.shared.notifier.get().expect("notifier just set")
            }
        };
        if !self.shared.queue.is_empty() || self.thread_finished() {
            notifier.force_signal();
        }
        Ok(notifier.fd())
    }

    /// Lists this client in `set` under `token` whenever items are queued
    /// for it or it ends (at once if it has items or ended already): one
    /// descriptor for many clients, instead of [`Client::notify_fd`] each.
    /// A client joins one set at most.
    pub fn join_wait_set(&self, set: &Arc<WaitSet>, token: u64) -> Result<()> {
        self.to_thread()?;
        let member = set.member(token);
        if self.shared.wait_set.set(member).is_err() {
            return Err(Error::argument("the client is in a wait set already"));
        }
        if !self.shared.queue.is_empty() || self.thread_finished() {
            if let Some(member) = self.shared.wait_set.get() {
                member.mark();
            }
        }
        Ok(())
    }

    /// From now on, hands every item to `callback` on the background thread
    /// instead of the queue. Items queued before the call are handed to it
    /// during this call, on the calling thread (until the client is
    /// closed). Replaces a previous callback. Must not be called from
    /// inside a callback.
    pub fn set_callback(&self, callback: ItemCallback) {
        if let Err(error) = self.to_thread() {
            crate::log::log(crate::log::LogLevel::Error, || {
                format!("libsse: {error}: the callback waits for the next pull")
            });
        }
        let mut slot = lock(&self.shared.callback);
        let callback = slot.insert(callback);
        #[cfg(test)]
        tests::pause_in_set_callback(&self.shared.queue);
        // Switch first, then hand over, all under the lock: a batch the
        // worker queues meanwhile is either handed over here or found by
        // the worker under the same lock right after its send.
        self.shared.has_callback.store(true, Ordering::SeqCst);
        self.shared.queue.drain(callback, || !self.shared.closing());
    }

    /// Wakes every thread waiting in [`Client::next`] or
    /// [`Client::next_batch`], now and later: they return the end at once.
    /// For a C handle about to be freed while other threads are in calls.
    pub fn wake_waiters(&self) {
        self.shared.queue.shut();
        self.engine.wake();
    }

    /// A client its caller drives goes to a background thread of its own
    /// (for a descriptor, a wait set or a callback: something must read
    /// the stream while nobody pulls); nothing for the others.
    fn to_thread(&self) -> Result<()> {
        if !self.engine.caller_may_drive() {
            return Ok(());
        }
        self.engine
            .to_thread()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start a thread: {e}")))?;
        if self.engine.driven_here() {
            return Ok(()); // from the request hook: moved once the pull lets go
        }
        if let Some(id) = self.engine.thread_id() {
            let _ = self.shared.worker.set(id);
        }
        Ok(())
    }

    /// Removes the callback, waiting for a running call to return (unless
    /// called from inside the callback). Returns it.
    pub fn take_callback(&self) -> Option<ItemCallback> {
        if self.on_worker_thread() {
            return None;
        }
        self.shared.has_callback.store(false, Ordering::Release);
        lock(&self.shared.callback).take()
    }

    /// Whether the caller runs on this client's background thread (inside
    /// a callback).
    pub fn on_worker_thread(&self) -> bool {
        self.shared.worker.get() == Some(&thread::current().id()) || self.engine.driven_here()
    }

    /// Drops the current connection (or cuts a backoff wait short) and
    /// reconnects. Safe from any thread.
    pub fn interrupt(&self) {
        if self.shared.closing() {
            return;
        }
        if let Some(&id) = self.shared.on_loop.get() {
            self.engine.interrupt(id);
        }
    }

    /// Stops for good, promptly, from any thread (also inside a callback).
    /// Items already queued can still be taken.
    pub fn close(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(&id) = self.shared.on_loop.get() {
            self.engine.close(id);
        }
        if self.engine.caller_may_drive() && !self.engine.run_by_application() {
            // Nobody may be pulling: the close happens now, not at the
            // next pull (the socket closed, the closed item queued). A loop
            // the application runs is woken instead (its run does it; a
            // free does it at once, see Drop).
            self.engine.run_pending();
        }
        // Whoever waits on the descriptor or the wait set looks now, not
        // when the loop thread gets to the close (a hop later, or much
        // later if another client's callback holds it): a pull then finds
        // what is queued, or nothing yet and the end within the grace.
        if let Some(notifier) = self.shared.notifier.get() {
            notifier.force_signal();
        }
        if let Some(member) = self.shared.wait_set.get() {
            member.mark();
        }
    }

    /// The last event id received (or configured), sent on reconnection.
    pub fn last_event_id(&self) -> String {
        lock(&self.shared.last_event_id).clone()
    }

    /// The client's counters now: events, bytes, connections, errors,
    /// queue depth, time connected. Cheap; from any thread at any time.
    pub fn stats(&self) -> Stats {
        let queue = &self.shared.queue;
        self.shared.counters.snapshot(queue.len(), queue.peak())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.dropped.store(true, Ordering::Release);
        self.close();
        if self.on_worker_thread() {
            return; // dropped from inside a callback: the thread ends alone
        }
        // No callback runs after this point.
        self.take_callback();
        if self.engine.run_by_application() {
            // Nobody may run the loop soon: the socket closes now (without
            // polling: the loop's descriptor still wakes the application).
            if let Some(&id) = self.shared.on_loop.get() {
                self.engine.close_now(id);
            }
        }
        if self.engine.caller_may_drive() {
            // Nobody else runs its loop: the engine, dropped right after
            // this, ends the stream on this thread.
            return;
        }
        // The stream ends once the closed item is out (the loop ends a
        // closed stream at once, connect or not).
        self.shared.wait_ended(JOIN_GRACE);
    }
}

/// Where the engine loop puts a client's items (see [`reactor::Sink`]):
/// the callback or the queue, never waiting: a full queue refuses the
/// batch and its room hook resumes the stream.
struct LoopSink {
    shared: Arc<Shared>,
    items: Option<QueueSender>,
    messages_only: bool,
}

impl LoopSink {
    /// Items that may not wait: queued whatever the queue holds.
    fn force(&mut self, batch: Batch) -> bool {
        let Some(items) = &self.items else {
            return false;
        };
        self.shared.queue_used.store(true, Ordering::Relaxed);
        let sent = items.force_send(batch).is_ok();
        self.shared.queued();
        sent
    }
}

impl reactor::Sink for LoopSink {
    fn deliver(&mut self, mut batch: Batch) -> Delivery {
        if self.messages_only {
            batch.retain_messages();
        }
        if batch.is_empty() {
            return Delivery::Taken;
        }
        // Events and comments only (see `reactor::Sink`): counted once taken.
        let messages = Messages::of(&batch);
        if let Some(go_on) = self.shared.to_callback(&batch) {
            self.shared.counters.add_messages(messages);
            return if go_on {
                Delivery::Taken
            } else {
                Delivery::Gone
            };
        }
        let Some(items) = &self.items else {
            return Delivery::Gone;
        };
        self.shared.queue_used.store(true, Ordering::Relaxed);
        match items.try_send(batch) {
            Ok(()) => {
                self.shared.counters.add_messages(messages);
                self.shared.queued();
                if self.shared.closing() {
                    Delivery::Gone
                } else {
                    Delivery::Taken
                }
            }
            Err(TrySendError::Full(batch)) => Delivery::Full(batch),
            Err(TrySendError::Disconnected) => Delivery::Gone,
        }
    }

    fn deliver_always(&mut self, mut batch: Batch) -> bool {
        self.shared.counters.delivered(&batch);
        if self.messages_only {
            batch.retain_messages();
        }
        if batch.is_empty() {
            return true;
        }
        if let Some(go_on) = self.shared.to_callback(&batch) {
            return go_on;
        }
        self.force(batch)
    }

    fn last_event_id(&mut self, id: &str) {
        lock(&self.shared.last_event_id).replace_range(.., id);
    }

    fn received(&mut self, bytes: usize) {
        self.shared.counters.received(bytes);
    }

    fn warm(&self) {
        // The hot fields lead `Shared` (its callback, last id, notifier
        // and counters).
        crate::engine::prefetch(&*self.shared, 4);
    }

    fn finished(&mut self, error: Option<Error>) {
        if let Some(items) = self.items.take() {
            self.shared.finish(error, items);
        }
    }
}

/// The engine loops the clients of the process share: one by default,
/// `LIBSSE_ENGINE_THREADS` (1 to 64) for more, clients handed out in turn.
/// Each starts with its first client and stops (its thread joined, its
/// descriptors closed) once its last is gone, to start again for the next.
fn shared_engine() -> Result<Arc<Engine>> {
    static ENGINES: Mutex<Vec<std::sync::Weak<Engine>>> = Mutex::new(Vec::new());
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static COUNT: OnceLock<usize> = OnceLock::new();
    let count = *COUNT.get_or_init(|| {
        if std::env::var_os("LIBSSE_ENGINE").is_some() {
            crate::log::log(crate::log::LogLevel::Warn, || {
                "LIBSSE_ENGINE is no longer read: the engine loop is the only engine \
                 (sse_config_set_own_thread gives a client a thread of its own)"
                    .to_owned()
            });
        }
        std::env::var("LIBSSE_ENGINE_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .map_or(1, |n| n.clamp(1, 64))
    });
    static PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let mut engines = lock(&ENGINES);
    // In a fork()ed child the parent's loops are copies without their
    // threads: forgotten (never joined), the child starts its own.
    if PID.swap(std::process::id(), Ordering::Relaxed) != std::process::id() {
        engines.clear();
    }
    engines.resize_with(count, std::sync::Weak::new);
    let slot = &mut engines[NEXT.fetch_add(1, Ordering::Relaxed) % count];
    if let Some(engine) = slot.upgrade() {
        return Ok(engine);
    }
    let engine = Arc::new(Engine::start().map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("cannot start the engine loop: {e}"),
        )
    })?);
    *slot = Arc::downgrade(&engine);
    Ok(engine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    thread_local! {
        /// Set by a test: `set_callback` on this thread waits, holding the
        /// callback's lock with the callback not switched on yet, until
        /// the worker has queued something (at most a second).
        static PAUSE_IN_SET_CALLBACK: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn pause_in_set_callback(queue: &QueueReceiver) {
        if PAUSE_IN_SET_CALLBACK.with(Cell::get) {
            let deadline = Instant::now() + Duration::from_secs(1);
            while queue.is_empty() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// Issue 16 item 10, deterministic: an item the worker queues while
    /// `set_callback` is between taking the lock and switching the
    /// callback on (here the stream's open item) must still reach the
    /// callback exactly once, and so must everything after it.
    #[test]
    fn items_queued_while_the_callback_is_being_set_reach_it_once() {
        let server = sse_demo_server::Server::start().unwrap();
        let url = format!("{}/ticker?count=1&interval_ms=200", server.url());
        let config = Config::builder(url)
            .on_end(crate::config::OnEnd::End)
            .build()
            .unwrap();
        let client = Client::start(config).unwrap();
        let counts = Arc::new([(); 3].map(|()| AtomicUsize::new(0)));
        let seen = counts.clone();
        PAUSE_IN_SET_CALLBACK.with(|p| p.set(true));
        client.set_callback(Box::new(move |item, _| {
            let at = match item {
                ItemRef::Message(_) => 1,
                ItemRef::Other(Item::Open { .. }) => 0,
                _ if item.is_closed() => 2,
                _ => return,
            };
            seen[at].fetch_add(1, Ordering::SeqCst);
        }));
        PAUSE_IN_SET_CALLBACK.with(|p| p.set(false));
        let deadline = Instant::now() + Duration::from_secs(20);
        while counts[2].load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        let got = counts.each_ref().map(|n| n.load(Ordering::SeqCst));
        assert_eq!(got, [1, 1, 1], "open, message, closed");
    }
}
