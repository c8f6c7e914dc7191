//! The client: one background thread per stream that connects, reads,
//! parses, queues and reconnects, and a handle to pull items, interrupt
//! and close it promptly.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};

use crate::backoff::Backoff;
use crate::batch::{Batch, ItemRef, TextPool};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{CloseReason, Item};
use crate::log::{log, LogLevel};
use crate::notify::Notifier;
use crate::parser::{ParsedItem, Parser};
use crate::queue::{queue, QueueReceiver, QueueSender};
use crate::transport::{classify_io, Opened, StreamReader, Transport};

/// A function receiving every item on the client's background thread,
/// borrowed for the call ([`ItemRef::to_item`] makes an owned copy).
pub type ItemCallback = Box<dyn FnMut(ItemRef<'_>) + Send>;

/// Stack size of a worker thread: small, so thousands of clients fit.
const WORKER_STACK_BYTES: usize = 256 * 1024;
/// First read buffer; it grows (up to the max) while reads fill it.
const INITIAL_READ_BYTES: usize = 1024;
const MAX_READ_BYTES: usize = 64 * 1024;
/// Event text the queue holds at most (unless one event is larger): a
/// consumer that stalls while large events stream in holds this much.
const QUEUE_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// The queue's byte bound: [`QUEUE_TEXT_BYTES`], or room for four events
/// of the largest size allowed if that is more.
fn queue_byte_capacity(config: &Config) -> usize {
    QUEUE_TEXT_BYTES.max(config.max_event_size.saturating_mul(4))
}

/// How long `Drop` waits for the thread before leaving it to finish alone
/// (only a DNS lookup or TCP connect can take that long to notice).
const JOIN_GRACE: Duration = Duration::from_millis(200);

/// Wakes the worker out of a backoff wait or a blocked queue send.
enum Control {
    Interrupt,
    Close,
}

/// State shared by the handle and the worker.
struct Shared {
    closing: AtomicBool,
    interrupt_requested: AtomicBool,
    control: Sender<Control>,
    /// The agent of the current connection; shutting it down wakes a read.
    agent: Mutex<Option<ureq::Agent>>,
    last_event_id: Mutex<String>,
    final_error: Mutex<Option<Error>>,
    notifier: OnceLock<Notifier>,
    has_callback: AtomicBool,
    callback: Mutex<Option<ItemCallback>>,
    /// Set once the worker has queued its last item and let go of the queue.
    ended: AtomicBool,
    /// The handle was dropped: no callback may run any more.
    dropped: AtomicBool,
    /// The user's end of the item queue.
    queue: QueueReceiver,
    worker: OnceLock<ThreadId>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    fn shutdown_connection(&self) {
        if let Some(agent) = lock(&self.agent).take() {
            agent.shutdown();
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

/// One SSE stream, driven by a background thread. Dropping it closes the
/// stream and joins the thread.
pub struct Client {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    finished: Receiver<()>,
}

impl Client {
    /// Validates nothing more (the [`Config`] is valid by construction),
    /// spawns the named background thread and returns at once.
    pub fn start(config: Config) -> Result<Client> {
        let transport = Transport::new(&config)?;
        let (item_tx, items) = queue(config.queue_capacity, queue_byte_capacity(&config));
        let (control_tx, control_rx) = unbounded();
        let (finished_tx, finished) = bounded::<()>(0);
        let shared = Arc::new(Shared {
            closing: AtomicBool::new(false),
            interrupt_requested: AtomicBool::new(false),
            control: control_tx,
            agent: Mutex::new(None),
            last_event_id: Mutex::new(config.last_event_id.clone()),
            final_error: Mutex::new(None),
            notifier: OnceLock::new(),
            has_callback: AtomicBool::new(false),
            callback: Mutex::new(None),
            ended: AtomicBool::new(false),
            dropped: AtomicBool::new(false),
            queue: items,
            worker: OnceLock::new(),
        });
        let mut parser = Parser::with_max_size(config.max_event_size);
        parser.set_last_event_id(&config.last_event_id);
        let worker = Worker {
            backoff: Backoff::new(config.retry, seed()),
            last_id_published: config.last_event_id.clone(),
            config,
            transport,
            shared: shared.clone(),
            items: item_tx,
            control: control_rx,
            parser,
            pending: Batch::new(),
            text_pool: TextPool::default(),
            delivered_events: false,
            read_buffer: vec![0; INITIAL_READ_BYTES],
        };
        let thread = thread::Builder::new()
            .name("libsse-client".into())
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || {
                let _finished = finished_tx; // dropped when the thread ends
                block_signals();
                worker.run();
            })
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot spawn thread: {e}")))?;
        let _ = shared.worker.set(thread.thread().id());
        Ok(Client {
            shared,
            thread: Some(thread),
            finished,
        })
    }

    /// Waits up to `timeout` (None: forever) for the next item.
    ///
    /// `Ok(Some(item))`: an item; `Ok(None)`: the timeout passed; `Err`:
    /// the stream ended for good and every item was taken: the fatal error
    /// that ended it, or an error of kind [`ErrorKind::Closed`].
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
    /// `receive`, and telling a timeout from the end of the stream.
    fn take<T>(
        &self,
        timeout: Option<Duration>,
        receive: impl FnOnce(
            &QueueReceiver,
            Option<Duration>,
        ) -> std::result::Result<T, RecvTimeoutError>,
    ) -> Result<Option<T>> {
        // After close(), queued items are still handed out, then the end
        // comes within the grace period even if the thread is stuck in a
        // connect (normally the closed item arrives within microseconds).
        let timeout = if self.shared.closing() {
            Some(timeout.map_or(JOIN_GRACE, |t| t.min(JOIN_GRACE)))
        } else {
            timeout
        };
        match receive(&self.shared.queue, timeout) {
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

    /// From now on, hands every item to `callback` on the background thread
    /// instead of the queue. Items queued before the call are handed to it
    /// during this call, on the calling thread (until the client is
    /// closed). Replaces a previous callback. Must not be called from
    /// inside a callback.
    pub fn set_callback(&self, callback: ItemCallback) {
        let mut slot = lock(&self.shared.callback);
        let callback = slot.insert(callback);
        self.shared.queue.drain(callback, || !self.shared.closing());
        self.shared.has_callback.store(true, Ordering::Release);
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
        self.shared.worker.get() == Some(&thread::current().id())
    }

    /// Drops the current connection (or cuts a backoff wait short) and
    /// reconnects. Safe from any thread.
    pub fn interrupt(&self) {
        if self.shared.closing() {
            return;
        }
        self.shared
            .interrupt_requested
            .store(true, Ordering::Release);
        let _ = self.shared.control.send(Control::Interrupt);
        self.shared.shutdown_connection();
    }

    /// Stops for good, promptly, from any thread (also inside a callback).
    /// Items already queued can still be taken.
    pub fn close(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.shared.control.send(Control::Close);
        self.shared.shutdown_connection();
    }

    /// The last event id received (or configured), sent on reconnection.
    pub fn last_event_id(&self) -> String {
        lock(&self.shared.last_event_id).clone()
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
        if let Some(thread) = self.thread.take() {
            // The thread drops its end of `finished` as it exits. Only a
            // DNS lookup or TCP connect (bounded by the connect timeout)
            // can outlast the grace period; then the thread is left to
            // finish alone: it holds no user state and calls no callback.
            if let Err(RecvTimeoutError::Disconnected) = self.finished.recv_timeout(JOIN_GRACE) {
                let _ = thread.join();
            }
        }
    }
}

/// How one connection ended.
enum Outcome {
    Closing,
    NoContent,
    /// The server ended the stream cleanly.
    Ended,
    Interrupted,
    Failed(Error),
}

/// How the whole client ended.
enum Ending {
    Closed(CloseReason),
    Fatal(Error),
}

struct Worker {
    config: Config,
    transport: Transport,
    shared: Arc<Shared>,
    items: QueueSender,
    control: Receiver<Control>,
    parser: Parser,
    backoff: Backoff,
    /// Items parsed from one read, delivered after the parser lets go.
    pending: Batch,
    /// Large text buffers handed back by consumed batches.
    text_pool: TextPool,
    /// The current connection has dispatched an event.
    delivered_events: bool,
    read_buffer: Vec<u8>,
    last_id_published: String,
}

impl Worker {
    fn run(mut self) {
        let ending = match catch_unwind(AssertUnwindSafe(|| self.run_connections())) {
            Ok(ending) => ending,
            Err(_) => Ending::Fatal(Error::new(
                ErrorKind::Internal,
                "internal error: the client thread panicked",
            )),
        };
        let _ = catch_unwind(AssertUnwindSafe(|| self.finish(ending)));
        // Let go of the queue first: a consumer woken by the final signal
        // must find the end (disconnected), not an empty queue.
        let Worker { items, shared, .. } = self;
        drop(items);
        shared.ended.store(true, Ordering::SeqCst);
        if let Some(notifier) = shared.notifier.get() {
            notifier.force_signal();
        }
    }

    fn finish(&mut self, ending: Ending) {
        let reason = match ending {
            Ending::Closed(reason) => reason,
            Ending::Fatal(error) => {
                log(LogLevel::Error, || {
                    format!("{}: giving up: {error}", self.config.url)
                });
                *lock(&self.shared.final_error) = Some(error.clone());
                self.emit(Item::Error { error, fatal: true });
                CloseReason::Error
            }
        };
        log(LogLevel::Info, || {
            let why = match reason {
                CloseReason::NoContent => "the server answered 204 No Content",
                CloseReason::EndOfStream => "the stream ended",
                CloseReason::ClosedByUser => "closed by the user",
                CloseReason::Error => "after a fatal error",
            };
            format!("{}: closed: {why}", self.config.url)
        });
        self.emit(Item::Closed { reason });
    }

    fn run_connections(&mut self) -> Ending {
        let mut ever_opened = false;
        loop {
            let mut opened_at = None;
            let outcome = self.connect_and_read(&mut opened_at);
            if let Some(opened) = opened_at {
                ever_opened = true;
                let delivered = std::mem::take(&mut self.delivered_events);
                self.backoff
                    .connection_ended(opened, Instant::now(), delivered);
            }
            let mut retry_after = None;
            match outcome {
                Outcome::Closing => return Ending::Closed(CloseReason::ClosedByUser),
                Outcome::NoContent => return Ending::Closed(CloseReason::NoContent),
                Outcome::Ended if !self.config.retry.reconnect => {
                    return Ending::Closed(CloseReason::EndOfStream)
                }
                Outcome::Ended => {
                    log(LogLevel::Info, || {
                        format!("{}: the server ended the stream", self.config.url)
                    });
                }
                Outcome::Interrupted if !self.config.retry.reconnect => {
                    return Ending::Closed(CloseReason::ClosedByUser)
                }
                Outcome::Interrupted => {
                    // The user asked for a new connection: no backoff wait.
                    log(LogLevel::Info, || {
                        format!("{}: interrupted", self.config.url)
                    });
                    let attempt = self.backoff.attempts() + 1;
                    let delay = Duration::ZERO;
                    if !self.emit(Item::Reconnecting { attempt, delay }) {
                        return Ending::Closed(CloseReason::ClosedByUser);
                    }
                    continue;
                }
                Outcome::Failed(error) => {
                    let retry = self.config.retry.reconnect
                        && (ever_opened || self.config.retry.retry_first_connect)
                        && self.config.error_policy.retries(&error);
                    if !retry {
                        return Ending::Fatal(error);
                    }
                    log(LogLevel::Warn, || format!("{}: {error}", self.config.url));
                    retry_after = error.retry_after;
                    if !self.emit(Item::Error {
                        error,
                        fatal: false,
                    }) {
                        return Ending::Closed(CloseReason::ClosedByUser);
                    }
                }
            }
            let Some(delay) = self.backoff.next_delay(Instant::now(), retry_after) else {
                let attempts = self.backoff.attempts();
                return Ending::Fatal(Error::new(
                    ErrorKind::RetriesExhausted,
                    format!("gave up after {attempts} reconnection attempts"),
                ));
            };
            let attempt = self.backoff.attempts();
            log(LogLevel::Info, || {
                format!(
                    "{}: reconnecting in {} ms (attempt {attempt})",
                    self.config.url,
                    delay.as_millis()
                )
            });
            if !self.emit(Item::Reconnecting { attempt, delay }) || !self.wait(delay) {
                return Ending::Closed(CloseReason::ClosedByUser);
            }
        }
    }

    /// Sleeps for `delay` unless closed (false) or interrupted (cut short).
    fn wait(&mut self, delay: Duration) -> bool {
        if self.shared.closing() {
            return false;
        }
        match self.control.recv_timeout(delay) {
            Ok(Control::Interrupt) => {
                self.shared
                    .interrupt_requested
                    .store(false, Ordering::Release);
                true
            }
            Ok(Control::Close) | Err(RecvTimeoutError::Disconnected) => false,
            Err(RecvTimeoutError::Timeout) => !self.shared.closing(),
        }
    }

    fn take_interrupt(&self) -> bool {
        self.shared
            .interrupt_requested
            .swap(false, Ordering::AcqRel)
    }

    /// Why a connection attempt or read stopped, given that it failed with
    /// `error`: a close or interrupt shuts the agent down and shows up as
    /// an error or end of stream, which these flags tell apart.
    fn stopped(&self, otherwise: Outcome) -> Outcome {
        if self.shared.closing() {
            Outcome::Closing
        } else if self.take_interrupt() {
            Outcome::Interrupted
        } else {
            otherwise
        }
    }

    fn connect_and_read(&mut self, opened_at: &mut Option<Instant>) -> Outcome {
        // Wake-ups meant for an earlier wait are stale now.
        while let Ok(control) = self.control.try_recv() {
            if matches!(control, Control::Close) {
                return Outcome::Closing;
            }
        }
        let agent = self.transport.new_agent();
        {
            let mut slot = lock(&self.shared.agent);
            if self.shared.closing() {
                return Outcome::Closing;
            }
            *slot = Some(agent.clone());
        }
        if self.shared.interrupt_requested.load(Ordering::Acquire) {
            self.shared.shutdown_connection();
        }
        let last_id = self.parser.last_event_id().to_owned();
        log(LogLevel::Info, || {
            format!("{}: connecting", self.config.url)
        });
        let outcome = match self.transport.open(&agent, &self.config, &last_id) {
            Err(error) => self.stopped(Outcome::Failed(error)),
            Ok(Opened::NoContent) => Outcome::NoContent,
            Ok(Opened::Stream {
                status,
                headers,
                reader,
            }) => {
                *opened_at = Some(Instant::now());
                log(LogLevel::Info, || {
                    format!("{}: open (HTTP {status})", self.config.url)
                });
                if self.emit(Item::Open { status, headers }) {
                    crate::stack::release_idle_pages();
                    self.read_stream(reader)
                } else {
                    Outcome::Closing
                }
            }
        };
        lock(&self.shared.agent).take();
        self.parser.finish();
        outcome
    }

    fn read_stream(&mut self, mut reader: StreamReader) -> Outcome {
        loop {
            let read = reader.read(&mut self.read_buffer);
            match read {
                Ok(0) => return self.stopped(Outcome::Ended),
                Ok(n) => {
                    let fed = self.parse(n);
                    if !self.deliver_pending() {
                        return Outcome::Closing;
                    }
                    if let Err(error) = fed {
                        return self.stopped(Outcome::Failed(error));
                    }
                    if self.shared.interrupt_requested.load(Ordering::Acquire) {
                        return self.stopped(Outcome::Interrupted);
                    }
                    if n == self.read_buffer.len() && n < MAX_READ_BYTES {
                        self.read_buffer.resize(n * 2, 0);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let error = classify_io(&e, "reading the stream");
                    let error = if error.kind == ErrorKind::ReadTimeout {
                        let idle = self.config.read_timeout.unwrap_or_default().as_millis();
                        Error::new(
                            ErrorKind::ReadTimeout,
                            format!("no data for {idle} ms (read timeout)"),
                        )
                    } else {
                        error
                    };
                    return self.stopped(Outcome::Failed(error));
                }
            }
        }
    }

    /// Parses `n` bytes of the read buffer into `pending`.
    fn parse(&mut self, n: usize) -> Result<()> {
        if self.pending.is_empty() {
            // Room for every string of this read's events, in most cases.
            let text_bytes = n + self.parser.buffered_bytes();
            self.pending = self.text_pool.batch(text_bytes);
        }
        let pending = &mut self.pending;
        let delivered = &mut self.delivered_events;
        let backoff = &mut self.backoff;
        let messages_only = self.config.messages_only;
        let fed = self.parser.feed(&self.read_buffer[..n], |item| match item {
            ParsedItem::Event(event) => {
                *delivered = true;
                pending.push_message(&event)
            }
            ParsedItem::Comment(text) if !messages_only => {
                pending.push(Item::Comment(text.into_owned()))
            }
            ParsedItem::Comment(_) => {}
            ParsedItem::Retry(millis) => backoff.set_server_retry(millis),
        });
        if self.parser.last_event_id() != self.last_id_published {
            self.last_id_published.clear();
            self.last_id_published.push_str(self.parser.last_event_id());
            lock(&self.shared.last_event_id).clone_from(&self.last_id_published);
        }
        fed.map_err(|e| Error::new(ErrorKind::TooLarge, e.to_string()))
    }

    fn deliver_pending(&mut self) -> bool {
        let batch = std::mem::take(&mut self.pending);
        self.deliver(batch)
    }

    fn emit(&mut self, item: Item) -> bool {
        self.deliver(Batch::single(item))
    }

    /// Hands a batch to the callback or the queue, waiting for room in the
    /// queue (this is the backpressure). False when the client is closing.
    fn deliver(&mut self, mut batch: Batch) -> bool {
        if self.config.messages_only {
            batch.retain_messages();
        }
        if batch.is_empty() {
            return !self.shared.closing();
        }
        if self.shared.has_callback.load(Ordering::Acquire) {
            self.shared.drain_to_callback();
            let mut slot = lock(&self.shared.callback);
            if let Some(callback) = slot.as_mut() {
                // A close from inside the callback stops delivery at once,
                // even in the middle of a batch; only the final closed item
                // follows. After a free nothing follows at all.
                for item in batch.iter() {
                    let last = item.is_closed();
                    if self.shared.dropped.load(Ordering::Acquire)
                        || (self.shared.closing() && !last)
                    {
                        return false;
                    }
                    callback(item);
                }
                return !self.shared.closing();
            }
        }
        // An interrupt while waiting does not drop the batch: its ids may
        // be committed already; it is noticed after this read.
        let shared = &self.shared;
        let sent = self.items.send(
            batch,
            &self.control,
            |c| matches!(c, Control::Close),
            || shared.closing(),
        );
        if let Some(notifier) = self.shared.notifier.get() {
            notifier.signal();
        }
        if self.shared.has_callback.load(Ordering::Acquire) {
            self.shared.drain_to_callback();
        }
        sent.is_ok() && !self.shared.closing()
    }
}

/// Keeps process signals (Ctrl-C, SIGTERM) off this thread, so they reach
/// the application's threads, which can act on them.
fn block_signals() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask only changes
    // this thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

/// A jitter seed that differs between clients and runs.
fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}
