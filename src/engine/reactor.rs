//! The loop thread (step 3): one thread drives many streams over
//! non-blocking sockets with mio, edge-triggered. Each stream goes
//! through [`Session`] (reconnection rules), [`Attempt`] (redirects and
//! credentials) and [`Connection`] (one HTTP/1.1 exchange, sans-IO); the
//! loop only moves bytes, watches the clock ([`Timers`]) and hands items
//! to each stream's [`Sink`].
//!
//! Backpressure: a sink refuses a batch when its consumer's queue is full;
//! the stream then holds it and is not read any more (its socket stays
//! registered: the kernel window stops the server) until
//! [`Engine::resume`], which the queue's room hook calls. Its read-idle
//! deadline does not run meanwhile. The items that end a connection or the
//! stream are never refused (a bounded few).
//!
//! Names are looked up off the loop by `dns`'s resolver pool (IP literals
//! need none); TLS (`tls`) sits between the socket and the exchange;
//! proxies: `CONNECT` or SOCKS tunnels (`tunnel`) before the exchange, or
//! absolute-form requests to an `http://` proxy; a connected stream's
//! socket (and TLS) is its `link`.

use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind as Io};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use super::connection::{self, Connection, Event, Request, Settings, StreamState};
use super::dns::{self, Answer, AnswerFn, Resolver};
use super::link::Link;
use super::prefetch::{lines_of, prefetch};
use super::request::{last_event_id_to_send, Attempt};
use super::session::{final_items, Ending, Next, Outcome, Session};
use super::timers::{Slot, Timers};
use super::tls::{self, TlsSession};
use super::tunnel::Tunnel;
use crate::batch::Batch;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::event::{CloseReason, Item};
use crate::log::{log, LogLevel};
use crate::parser::Parser;
use crate::proxy::{ProxyChoice, ProxyKind};

/// What became of a batch handed to a [`Sink`].
pub(crate) enum Delivery {
    /// Taken.
    Taken,
    /// No room now: hand it again after [`Engine::resume`].
    Full(Batch),
    /// Nobody wants items any more: close the stream.
    Gone,
}

/// Where a stream's items go, on the loop thread.
pub(crate) trait Sink: Send {
    /// The next items of the stream (events, comments), in order; may
    /// refuse them while the consumer is behind.
    fn deliver(&mut self, batch: Batch) -> Delivery;
    /// Items that open or end a connection or the stream (open, error,
    /// reconnecting, closed): never refused. False: nobody wants them.
    fn deliver_always(&mut self, batch: Batch) -> bool;
    /// The stream's last event id changed (what a reconnection sends).
    fn last_event_id(&mut self, _id: &str) {}
    /// `bytes` arrived from the server (after TLS).
    fn received(&mut self, _bytes: usize) {}
    /// A read is about to be made: a hint to fetch what delivering its
    /// events touches (see `prefetch`).
    fn warm(&self) {}
    /// The stream is over (its closed item was delivered); `error` is the
    /// fatal error that ended it, if any.
    fn finished(&mut self, error: Option<Error>);
}

/// A request to the loop thread.
enum Command {
    Start(u64, Box<Config>, Box<dyn Sink>),
    Close(u64),
    Interrupt(u64),
    Resume(u64),
    Resolved(Answer),
    Shutdown,
}

/// The token of the waker; streams use their slot numbers.
const WAKER: Token = Token(usize::MAX);
/// Bytes read per `read` call (one buffer per loop thread).
const READ_BYTES: usize = 64 * 1024;
/// Reads of one stream per turn of the loop at most.
const READS_PER_TURN: usize = 16;

/// A loop and the way to reach it. The loop runs on a thread of its own,
/// or, for a client driven by its caller, on whichever thread waits for
/// its items ([`Engine::drive`]) until it is moved to a thread of its own
/// ([`Engine::to_thread`]).
pub(crate) struct Engine {
    commands: Arc<Inbox>,
    waker: Arc<Waker>,
    next_id: std::sync::atomic::AtomicU64,
    driver: Mutex<Driver>,
    /// Asks the caller driving the loop to let go of it (for `to_thread`).
    let_go: AtomicBool,
    /// The loop has a thread of its own.
    threaded: AtomicBool,
    /// The loop should move to a thread of its own once its caller lets
    /// go of it: a backlog (see [`Engine::drive`]), or a `to_thread` asked
    /// on the driving thread itself (from the request hook).
    wants_thread: AtomicBool,
    /// The application's event loop runs this loop (`crate::Loop`): it
    /// never moves to a thread of its own (until the application lets go
    /// of it: [`Engine::release_to_thread`]).
    by_application: AtomicBool,
    /// The poll's descriptor (epoll): readable when a socket, the waker or
    /// an answer has something for the loop.
    poll_fd: i32,
    /// Names the engine for `DRIVING` (unique in the process, never 0).
    key: u64,
    /// The process that made it: a fork()ed child neither runs nor moves
    /// the loop, nor ends its streams (their sockets and poll set are the
    /// parent's too).
    pid: u32,
}

/// The next [`Engine::key`].
static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    /// The engine whose loop this thread is driving now (its address; 0:
    /// none): a call from inside that loop (the request hook) must not
    /// wait for it.
    static DRIVING: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// What [`Engine::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// A turn ran on the calling thread.
    Ran,
    /// Another thread runs the loop now (a blocking pull): nothing done.
    Busy,
    /// The loop has a thread of its own (for good): nothing done.
    Threaded,
}

/// What runs the loop.
enum Driver {
    /// Its thread.
    Thread(JoinHandle<()>),
    /// Whoever calls [`Engine::drive`]; the loop waits here meanwhile.
    Caller(Box<Reactor>),
    /// Nothing (a failed start of its thread).
    Gone,
}

/// Readiness events taken per poll by a loop thread, and by a loop its
/// caller drives (one stream: a few suffice).
const EVENTS_THREAD: usize = 1024;
const EVENTS_CALLER: usize = 8;
/// The read buffer a loop driven by its caller starts with; it grows (up
/// to [`READ_BYTES`]) when reads fill it.
const READ_BYTES_CALLER: usize = 1024;
/// Reads of one stream of [`BACKLOG_READ_BYTES`] or more in a row (other
/// streams' reads between them do not count) after which a loop driven by
/// its caller (or by the application) says it is backlogged: the
/// server sends faster than the caller takes, and a thread reading ahead
/// would overlap the two. (A live stream's reads are small: the socket
/// holds what arrived since the last read. A server far ahead fills the
/// socket's buffer between reads; reads are whole buffers, or what the
/// kernel's receive window held, 29-64 KiB on loopback.)
const BACKLOG_READS: u32 = 8;
/// See [`BACKLOG_READS`].
const BACKLOG_READ_BYTES: usize = 16 * 1024;

impl Engine {
    /// Starts a loop thread.
    pub(crate) fn start() -> io::Result<Engine> {
        let engine = Self::new(EVENTS_THREAD, READ_BYTES)?;
        engine.to_thread()?;
        Ok(engine)
    }

    /// A loop run by its caller: nothing happens until a thread calls
    /// [`Engine::drive`] (or [`Engine::to_thread`]).
    pub(crate) fn driven_by_caller() -> io::Result<Engine> {
        Self::new(EVENTS_CALLER, READ_BYTES_CALLER)
    }

    /// A loop the application's event loop runs: it watches
    /// [`Engine::poll_fd`] and calls [`Engine::run_once`] when it is
    /// readable or [`Engine::next_timeout`] has passed. Pulls of its
    /// clients run it too; it never moves to a thread of its own.
    pub(crate) fn driven_by_application() -> io::Result<Engine> {
        let engine = Self::new(EVENTS_THREAD, READ_BYTES)?;
        engine.by_application.store(true, Ordering::Release);
        Ok(engine)
    }

    fn new(events: usize, read_bytes: usize) -> io::Result<Engine> {
        let poll = Poll::new()?;
        let poll_fd = std::os::fd::AsRawFd::as_raw_fd(&poll);
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let commands = Arc::new(Inbox::default());
        let reactor = Reactor::new(poll, commands.clone(), waker.clone(), events, read_bytes);
        Ok(Engine {
            commands,
            waker,
            next_id: std::sync::atomic::AtomicU64::new(1),
            driver: Mutex::new(Driver::Caller(Box::new(reactor))),
            let_go: AtomicBool::new(false),
            threaded: AtomicBool::new(false),
            wants_thread: AtomicBool::new(false),
            by_application: AtomicBool::new(false),
            poll_fd,
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            pid: std::process::id(),
        })
    }

    /// Whether this process made the engine (not a fork()ed child).
    fn in_its_process(&self) -> bool {
        self.pid == std::process::id()
    }

    /// Whether the application's event loop runs this loop.
    pub(crate) fn run_by_application(&self) -> bool {
        self.by_application.load(Ordering::Acquire)
    }

    /// The poll's descriptor, for the application's event loop (see
    /// [`Engine::driven_by_application`]).
    pub(crate) fn poll_fd(&self) -> i32 {
        self.poll_fd
    }

    /// How long the application's event loop may wait on
    /// [`Engine::poll_fd`] before it must run the loop: the next timer
    /// (a reconnection, a timeout), zero when work is left over (a stream
    /// stopped at its per-turn read limit), None when only readiness
    /// matters. While another thread runs the loop, a short slice (that
    /// thread takes the readiness meanwhile).
    pub(crate) fn next_timeout(&self) -> Option<std::time::Duration> {
        const BUSY: std::time::Duration = std::time::Duration::from_millis(20);
        let Ok(driver) = self.driver.try_lock() else {
            return Some(BUSY);
        };
        match &*driver {
            Driver::Caller(reactor) if reactor.again.is_empty() => {
                reactor.timers.wait(Instant::now())
            }
            Driver::Caller(_) => Some(std::time::Duration::ZERO),
            _ => None, // its own thread runs it
        }
    }

    /// One turn of the loop on this thread: waits for readiness at most
    /// `most` (None: until something happens), then handles what is
    /// ready and due. A backlog ([`BACKLOG_READS`] big reads in a row)
    /// moves the loop to a thread of its own for good, after the turn.
    pub(crate) fn run_once(&self, most: Option<std::time::Duration>) -> Turn {
        if !self.in_its_process() {
            return Turn::Busy;
        }
        {
            let Ok(mut driver) = self.driver.try_lock() else {
                return Turn::Busy;
            };
            let Driver::Caller(reactor) = &mut *driver else {
                return Turn::Threaded;
            };
            let _driving = Driving::enter(self);
            reactor.turn(most);
            let backlog = std::mem::take(&mut reactor.backlog);
            // A move asked from inside the turn (a callback) waited for it.
            if !self.take_wants_thread() && !backlog {
                return Turn::Ran;
            }
        }
        match self.release_to_thread() {
            Ok(()) => Turn::Threaded,
            Err(e) => {
                log(LogLevel::Error, || {
                    format!("libsse: a loop cannot get a thread of its own: {e}")
                });
                Turn::Ran
            }
        }
    }

    /// The application stops running the loop (its handle was freed, or it
    /// asked): its streams go on on a thread of its own, for good. From
    /// inside the loop (a callback), the move happens once the turn ends.
    pub(crate) fn release_to_thread(&self) -> io::Result<()> {
        self.by_application.store(false, Ordering::Release);
        self.to_thread()
    }

    /// Runs the loop on a thread of its own from now on (nothing if it
    /// has one already). A caller driving it lets go first (woken here).
    /// Asked on the thread driving the loop (from inside it: the request
    /// hook), the move waits until that thread lets go of the loop.
    pub(crate) fn to_thread(&self) -> io::Result<()> {
        if !self.in_its_process() {
            return Err(io::Error::other("a loop does not survive fork()"));
        }
        if self.by_application.load(Ordering::Acquire) {
            return Ok(()); // the application's event loop runs it
        }
        if self.driven_here() {
            self.wants_thread.store(true, Ordering::Release);
            return Ok(());
        }
        self.let_go.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        let mut driver = lock(&self.driver);
        self.let_go.store(false, Ordering::SeqCst);
        let Driver::Caller(_) = &*driver else {
            return Ok(());
        };
        let Driver::Caller(reactor) = std::mem::replace(&mut *driver, Driver::Gone) else {
            unreachable!("matched above")
        };
        // The reactor comes back if the thread cannot start.
        let handed = Arc::new(Mutex::new(Some(reactor)));
        let key = self.key;
        let spawned = thread::Builder::new().name("libsse-engine".into()).spawn({
            let handed = handed.clone();
            move || {
                crate::signals::block_on_this_thread();
                // This thread runs the loop: a callback on it is inside it.
                DRIVING.with(|d| d.set(key));
                let reactor = lock(&handed).take();
                if let Some(reactor) = reactor {
                    reactor.run();
                }
            }
        });
        match spawned {
            Ok(thread) => {
                *driver = Driver::Thread(thread);
                self.threaded.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                if let Some(reactor) = lock(&handed).take() {
                    *driver = Driver::Caller(reactor);
                }
                Err(e)
            }
        }
    }

    /// Runs the loop on the calling thread until `done` says so, the
    /// `deadline` passes (None: no deadline) or another thread wants the
    /// loop (`to_thread`). Returns false at once, having done nothing,
    /// when the loop has a thread of its own or another caller drives it:
    /// the caller then waits for its items as usual.
    pub(crate) fn drive(&self, deadline: Option<Instant>, done: impl Fn() -> bool) -> bool {
        if self.let_go.load(Ordering::SeqCst) || !self.in_its_process() {
            return false;
        }
        let Ok(mut driver) = self.driver.try_lock() else {
            return false;
        };
        let Driver::Caller(reactor) = &mut *driver else {
            return false;
        };
        let _driving = Driving::enter(self);
        loop {
            if done()
                || self.let_go.load(Ordering::SeqCst)
                || self.wants_thread.load(Ordering::Acquire)
            {
                return true;
            }
            let wait = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        // One look at what is ready, then the deadline holds.
                        reactor.turn(Some(std::time::Duration::ZERO));
                        return true;
                    }
                    Some(left)
                }
                None => None,
            };
            if !reactor.turn(wait) {
                return true;
            }
            if std::mem::take(&mut reactor.backlog) {
                // Moved once the caller lets go (a loop the application
                // runs too: the application then stops running it).
                self.by_application.store(false, Ordering::Release);
                self.wants_thread.store(true, Ordering::Release);
                return true;
            }
        }
    }

    /// Whether the loop should move to a thread of its own now that its
    /// caller let go: a backlog ([`BACKLOG_READS`] big reads in a row: a
    /// thread reads ahead while the caller takes the items), or a move
    /// asked from inside the loop. Cleared by the call.
    pub(crate) fn take_wants_thread(&self) -> bool {
        self.wants_thread.swap(false, Ordering::AcqRel)
    }

    /// Whether this thread is driving the loop now (so it is inside it: in
    /// the request hook).
    pub(crate) fn driven_here(&self) -> bool {
        DRIVING.with(|d| d.get() == self.key)
    }

    /// For a loop the application runs and nobody runs now: ends stream
    /// `id` on this thread (its socket closed, its closed item queued)
    /// without polling, so the loop's descriptor still wakes the
    /// application for the close's request. Nothing when another thread
    /// runs the loop (that run does it).
    pub(crate) fn close_now(&self, id: u64) {
        if self.driven_here() || !self.in_its_process() {
            return;
        }
        let Ok(mut driver) = self.driver.try_lock() else {
            return;
        };
        if let Driver::Caller(reactor) = &mut *driver {
            let _driving = Driving::enter(self);
            if let Some(&slot) = reactor.slots.get(&id) {
                reactor.guarded(slot, |r| r.finish_exchange(slot, Outcome::Closing));
            }
        }
    }

    /// For a loop its caller drives and nobody drives now: handles what
    /// was asked of it (a close: the socket closed, the closed item queued)
    /// and what is ready, without waiting. Nothing otherwise: a thread
    /// driving it, or its own thread, does that.
    pub(crate) fn run_pending(&self) {
        if self.driven_here() || !self.in_its_process() {
            return;
        }
        let Ok(mut driver) = self.driver.try_lock() else {
            return;
        };
        if let Driver::Caller(reactor) = &mut *driver {
            let _driving = Driving::enter(self);
            reactor.turn(Some(std::time::Duration::ZERO));
        }
    }

    /// Starts a stream of `config` whose items go to `sink`; returns its
    /// id for [`Engine::close`] and [`Engine::interrupt`].
    pub(crate) fn add(&self, config: impl Into<Box<Config>>, sink: Box<dyn Sink>) -> Result<u64> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send(Command::Start(id, config.into(), sink))?;
        Ok(id)
    }

    /// Closes stream `id` for good; its closed item follows promptly.
    pub(crate) fn close(&self, id: u64) {
        let _ = self.send(Command::Close(id));
    }

    /// Drops stream `id`'s connection (or cuts its wait) and reconnects.
    pub(crate) fn interrupt(&self, id: u64) {
        let _ = self.send(Command::Interrupt(id));
    }

    /// Stream `id`'s consumer made room: hand it the held batch, read on.
    pub(crate) fn resume(&self, id: u64) {
        let _ = self.send(Command::Resume(id));
    }

    /// Whether a caller may drive the loop (it has no thread of its own).
    pub(crate) fn caller_may_drive(&self) -> bool {
        !self.threaded.load(Ordering::Acquire)
    }

    /// Wakes the loop (a caller driving it looks at its `done` again).
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// The loop thread's id (a callback runs there), if it has one.
    pub(crate) fn thread_id(&self) -> Option<thread::ThreadId> {
        if self.driven_here() {
            return None; // this thread runs it (its lock is held here)
        }
        match &*lock(&self.driver) {
            Driver::Thread(thread) => Some(thread.thread().id()),
            _ => None,
        }
    }

    fn send(&self, command: Command) -> Result<()> {
        if !self.commands.send(command) {
            return Err(Error::new(ErrorKind::Internal, "the engine thread is gone"));
        }
        self.waker
            .wake()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot wake the engine: {e}")))
    }
}

impl Drop for Engine {
    /// Closes every stream (each gets its closed item) and joins the
    /// thread; dropped on the loop thread itself (by a callback), it lets
    /// the thread end on its own. A loop driven by its caller ends its
    /// streams here, on the dropping thread (a stream never driven is not
    /// connected first). In a fork()ed child, nothing is ended or joined.
    fn drop(&mut self) {
        let driver = std::mem::replace(&mut *lock(&self.driver), Driver::Gone);
        if !self.in_its_process() {
            // A fork()ed child: the thread is not here, and the sockets and
            // the poll set are the parent's too (deregistering would drop
            // them from the parent's loop). Left as they are.
            std::mem::forget(driver);
            return;
        }
        let _ = self.send(Command::Shutdown);
        match driver {
            Driver::Thread(thread) => {
                if thread.thread().id() != thread::current().id() {
                    let _ = thread.join();
                }
            }
            Driver::Caller(mut reactor) => {
                reactor.shutting_down = true;
                reactor.commands();
                reactor.end_all();
            }
            Driver::Gone => {}
        }
    }
}

/// Marks this thread as driving an engine's loop while it lives.
struct Driving(u64);

impl Driving {
    fn enter(engine: &Engine) -> Driving {
        Driving(DRIVING.with(|d| d.replace(engine.key)))
    }
}

impl Drop for Driving {
    fn drop(&mut self) {
        DRIVING.with(|d| d.set(self.0));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a stream stands between polls.
enum Phase {
    /// Waiting out a backoff delay until the deadline.
    Waiting(Instant),
    /// A name lookup (its key) on the resolver pool, with the deadline.
    Resolving(u64, Instant),
    /// A TCP connect in progress, with its deadline.
    Connecting(TcpStream, Instant),
    /// A `CONNECT` exchange with an `http://` proxy, for an `https://`
    /// stream, with the connect deadline.
    Tunneling(Box<Tunnel>, Instant),
    /// An exchange on a connected socket (the link inline: it is small
    /// and read with every event).
    Exchanging(Link, Box<Connection>),
    /// Between phases (or over).
    Idle,
}

/// One stream on the loop.
struct Stream {
    id: u64,
    config: Arc<Config>,
    settings: Settings,
    sink: Box<dyn Sink>,
    session: Session,
    attempt: Option<Attempt<Arc<Config>>>,
    /// The attempt has not connected yet: its request hook is due (not
    /// again for its redirects).
    hook_due: bool,
    /// The parser and text pool, between exchanges.
    state: Option<StreamState>,
    /// The TLS settings, built at the first `https://` connection.
    tls_config: Option<Arc<rustls::ClientConfig>>,
    /// The `http://` proxy the stream goes through, if any.
    proxy: Option<ProxyChoice>,
    phase: Phase,
    opened_at: Option<Instant>,
    /// Addresses of the name left to try if the connect fails.
    addresses: VecDeque<SocketAddr>,
    /// A batch the sink refused: the stream is not read until it is taken.
    held: Option<Batch>,
    /// Input read but not handed to the exchange yet (a gzip body goes in
    /// steps; what is left when the sink refuses waits here).
    unfed: Vec<u8>,
    /// An interrupt asked while a batch was held, done once it is taken.
    interrupt_held: bool,
    /// A readiness event of the current socket said the peer closed or
    /// an error is pending: its reads go on until WouldBlock (no later
    /// edge would report what is already there).
    hangup_seen: bool,
    /// Its reads in a row of [`BACKLOG_READ_BYTES`] or more (see
    /// [`BACKLOG_READS`]).
    big_reads: u32,
    /// The parser's `id_commits` when the sink was last told the id.
    last_id_published: u64,
    /// The deadline in the timer heap, if one is.
    armed: Option<Instant>,
}

/// The requests to a loop, in order: a list under a lock (a channel took
/// a 1.5 KiB block per loop at its first request, a loop per client for
/// clients driven by their callers). Closed when the loop is gone.
struct Inbox {
    commands: Mutex<Option<VecDeque<Command>>>,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            commands: Mutex::new(Some(VecDeque::new())),
        }
    }
}

impl Inbox {
    /// Queues `command`; false when the loop is gone.
    fn send(&self, command: Command) -> bool {
        match &mut *lock(&self.commands) {
            Some(commands) => {
                commands.push_back(command);
                true
            }
            None => false,
        }
    }

    /// The oldest request, if any.
    fn take(&self) -> Option<Command> {
        lock(&self.commands).as_mut()?.pop_front()
    }

    /// The loop is gone: later sends fail; what was queued is dropped
    /// (outside the lock).
    fn close(&self) {
        let left = lock(&self.commands).take();
        drop(left);
    }
}

struct Reactor {
    poll: Poll,
    /// Its requests (the engine's, and the resolver pool's answers).
    inbox: Arc<Inbox>,
    waker: Arc<Waker>,
    /// The process's pool, held from the first name to look up.
    resolver: Option<Arc<Resolver>>,
    /// Where answers come back, made at the first lookup.
    reply: Option<AnswerFn>,
    /// Lookups in flight: their streams.
    lookups: HashMap<u64, Slot>,
    timers: Timers,
    /// Boxed: the table grows by doubling, and a stream is large.
    streams: Vec<Option<Box<Stream>>>,
    free: Vec<Slot>,
    slots: HashMap<u64, Slot>,
    /// Grown (up to [`READ_BYTES`]) when reads fill it.
    read_buffer: Vec<u8>,
    events: Events,
    /// Streams that may have more to read (they stopped at the per-turn
    /// limit, before the socket would block).
    again: Vec<Slot>,
    /// A stream made [`BACKLOG_READS`] big reads in a row since this was
    /// last cleared (see [`Engine::drive`]).
    backlog: bool,
    shutting_down: bool,
}

impl Drop for Reactor {
    /// Later requests fail ("the engine thread is gone").
    fn drop(&mut self) {
        self.inbox.close();
    }
}

impl Reactor {
    fn new(
        poll: Poll,
        inbox: Arc<Inbox>,
        waker: Arc<Waker>,
        events: usize,
        read_bytes: usize,
    ) -> Self {
        Reactor {
            poll,
            inbox,
            waker,
            resolver: None,
            reply: None,
            lookups: HashMap::new(),
            timers: Timers::default(),
            streams: Vec::new(),
            free: Vec::new(),
            slots: HashMap::new(),
            read_buffer: vec![0; read_bytes],
            events: Events::with_capacity(events),
            again: Vec::new(),
            backlog: false,
            shutting_down: false,
        }
    }

    /// Turns until the loop ends (a shutdown, or a failed poll).
    fn run(mut self: Box<Self>) {
        while self.turn(None) {}
        self.end_all();
    }

    /// Ends whatever stream is left (a failed poll, a dropped engine).
    fn end_all(&mut self) {
        for slot in 0..self.streams.len() {
            self.end(slot, Ending::Closed(CloseReason::ClosedByUser));
        }
    }

    /// One turn: waits for readiness at most `most` (None: as long as no
    /// deadline comes) and handles what is ready and due. False: the loop
    /// is over (shut down with no stream left, or the poll failed).
    fn turn(&mut self, most: Option<std::time::Duration>) -> bool {
        let timeout = if self.again.is_empty() {
            match (self.timers.wait(Instant::now()), most) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        } else {
            Some(std::time::Duration::ZERO)
        };
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        if let Err(e) = self.poll.poll(&mut events, timeout) {
            if e.kind() != Io::Interrupted {
                log(LogLevel::Error, || {
                    format!("libsse engine: poll failed: {e}")
                });
                self.events = events;
                return false;
            }
        }
        // Every ready stream's state is asked for at once, so that the
        // fetches overlap instead of stalling one stream after another.
        for event in events.iter() {
            if let Some(Some(stream)) = self.streams.get(event.token().0) {
                prefetch(&**stream, lines_of::<Stream>(8));
            }
        }
        for event in events.iter() {
            match event.token() {
                WAKER => self.commands(),
                Token(slot) => {
                    if event.is_read_closed() || event.is_error() {
                        if let Some(stream) = self.stream(slot) {
                            stream.hangup_seen = true;
                        }
                    }
                    self.guarded(slot, |r| r.ready(slot))
                }
            }
        }
        self.events = events;
        for slot in std::mem::take(&mut self.again) {
            self.guarded(slot, |r| r.pump(slot));
        }
        let now = Instant::now();
        while let Some(slot) = self.timers.pop_due(now) {
            self.guarded(slot, |r| r.due(slot, now));
        }
        let live = self.slots.len();
        let streams = &self.streams;
        self.timers.compact(live, |slot, deadline| {
            streams
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|s| s.armed == Some(deadline))
        });
        !(self.shutting_down && self.slots.is_empty())
    }

    /// Runs `work` for `slot`; a panic in it (a bug, or a Rust callback
    /// that panicked) ends that stream with an internal error instead of
    /// the loop and every other stream with it.
    fn guarded(&mut self, slot: Slot, work: impl FnOnce(&mut Self)) {
        if catch_unwind(AssertUnwindSafe(|| work(self))).is_err() {
            self.abandon(slot);
        }
    }

    /// Ends `slot` after a panic: the fatal error and the closed item (if
    /// the sink can still take them), the sink told, the socket closed.
    fn abandon(&mut self, slot: Slot) {
        let Some(mut stream) = self.streams.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.slots.remove(&stream.id);
        self.free.push(slot);
        let registry = self.poll.registry();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            match std::mem::replace(&mut stream.phase, Phase::Idle) {
                Phase::Exchanging(mut link, _) => {
                    let _ = registry.deregister(&mut link.socket);
                }
                Phase::Connecting(mut socket, _) => {
                    let _ = registry.deregister(&mut socket);
                }
                Phase::Tunneling(mut tunnel, _) => {
                    let _ = registry.deregister(&mut tunnel.socket);
                }
                Phase::Resolving(..) | Phase::Waiting(_) | Phase::Idle => {}
            }
        }));
        let error = Error::new(
            ErrorKind::Internal,
            "internal error: the engine panicked while driving this stream (or its callback panicked)",
        );
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let (items, _) = final_items(&stream.config.url, Ending::Fatal(error.clone()));
            for item in items {
                stream.sink.deliver_always(Batch::single(item));
            }
        }));
        let _ = catch_unwind(AssertUnwindSafe(|| stream.sink.finished(Some(error))));
    }

    fn commands(&mut self) {
        while let Some(command) = self.inbox.take() {
            let slot = |r: &Self, id: u64| r.slots.get(&id).copied();
            match command {
                Command::Start(id, config, sink) => {
                    let started = catch_unwind(AssertUnwindSafe(|| self.start(id, *config, sink)));
                    if started.is_err() {
                        if let Some(slot) = slot(self, id) {
                            self.abandon(slot);
                        }
                    }
                }
                Command::Close(id) => {
                    if let Some(slot) = slot(self, id) {
                        self.guarded(slot, |r| r.finish_exchange(slot, Outcome::Closing));
                    }
                }
                Command::Interrupt(id) => {
                    if let Some(slot) = slot(self, id) {
                        self.guarded(slot, |r| r.interrupt(slot));
                    }
                }
                Command::Resume(id) => {
                    if let Some(slot) = slot(self, id) {
                        self.guarded(slot, |r| r.resume(slot));
                    }
                }
                Command::Resolved(answer) => {
                    if let Some(&slot) = self.lookups.get(&answer.key) {
                        self.guarded(slot, |r| r.resolved(answer));
                    }
                }
                Command::Shutdown => {
                    self.shutting_down = true;
                    let slots: Vec<Slot> = self.slots.values().copied().collect();
                    for slot in slots {
                        self.guarded(slot, |r| r.finish_exchange(slot, Outcome::Closing));
                    }
                }
            }
        }
    }

    fn start(&mut self, id: u64, config: Config, mut sink: Box<dyn Sink>) {
        let config = Arc::new(config);
        let chosen = crate::proxy::choose(&config.proxy, &config.url);
        let (proxy, attempt) = match chosen.and_then(|p| Ok((p, Attempt::new(config.clone())?))) {
            Ok(chosen) => chosen,
            Err(error) => {
                for item in final_items(&config.url, Ending::Fatal(error.clone())).0 {
                    sink.deliver_always(Batch::single(item));
                }
                return sink.finished(Some(error));
            }
        };
        let mut parser = Parser::with_max_size(config.max_event_size);
        parser.set_last_event_id(&config.last_event_id);
        let stream = Stream {
            id,
            settings: Settings::from_config(&config),
            session: Session::new(&config, seed(id)),
            last_id_published: parser.id_commits(),
            config,
            sink,
            attempt: Some(attempt),
            hook_due: true,
            state: Some(StreamState {
                parser,
                text_pool: Default::default(),
            }),
            tls_config: None,
            proxy,
            phase: Phase::Idle,
            opened_at: None,
            held: None,
            addresses: VecDeque::new(),
            unfed: Vec::new(),
            interrupt_held: false,
            hangup_seen: false,
            big_reads: 0,
            armed: None,
        };
        let slot = self.free.pop().unwrap_or_else(|| {
            self.streams.push(None);
            self.streams.len() - 1
        });
        self.streams[slot] = Some(Box::new(stream));
        self.slots.insert(id, slot);
        if self.shutting_down {
            // Never driven before its engine went: not connected at all.
            return self.end(slot, Ending::Closed(CloseReason::ClosedByUser));
        }
        self.connect(slot);
    }

    fn stream(&mut self, slot: Slot) -> Option<&mut Stream> {
        self.streams.get_mut(slot).and_then(Option::as_deref_mut)
    }

    /// Opens a connection for the stream's current request: at once for
    /// an IP literal, after a lookup on the resolver pool for a name. The
    /// connect timeout bounds lookup and connect together.
    fn connect(&mut self, slot: Slot) {
        let Some(stream) = self.streams.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if std::mem::take(&mut stream.hook_due) {
            if let Some(Err(error)) = stream.attempt.as_mut().map(Attempt::run_hook) {
                return self.finish_exchange(slot, Outcome::Failed(error));
            }
        }
        let url = stream.attempt.as_ref().map_or("", |a| a.url()).to_owned();
        log(LogLevel::Info, || format!("{url}: connecting"));
        let deadline = Instant::now() + stream.config.connect_timeout;
        let target = match &stream.proxy {
            Some(proxy) => target_of(&format!(
                "http://{}:{}/",
                bracketed(&proxy.host),
                proxy.port
            )),
            None => target_of(&url),
        };
        match target {
            Err(error) => self.finish_exchange(slot, Outcome::Failed(error)),
            Ok(Target::Address(address)) => {
                stream.addresses = vec![address].into();
                self.connect_next(slot, deadline);
            }
            Ok(Target::Name(host, port)) => {
                let key = dns::new_key();
                stream.phase = Phase::Resolving(key, deadline);
                self.lookups.insert(key, slot);
                let reply = self.reply();
                match self.resolver() {
                    Ok(resolver) => resolver.lookup(key, &host, port, &reply),
                    Err(error) => return self.finish_exchange(slot, Outcome::Failed(error)),
                }
                self.arm(slot, deadline);
            }
        }
    }

    /// The resolver pool (the process's, see [`dns::shared`]), asked for at
    /// the first name.
    fn resolver(&mut self) -> Result<&Resolver> {
        if self.resolver.is_none() {
            let resolver = dns::shared().map_err(|e| {
                Error::new(ErrorKind::Internal, format!("cannot start a resolver: {e}"))
            })?;
            self.resolver = Some(resolver);
        }
        Ok(self.resolver.as_deref().expect("just set"))
    }

    /// Where this loop's answers go: its inbox, and its waker.
    fn reply(&mut self) -> AnswerFn {
        self.reply
            .get_or_insert_with(|| {
                let (inbox, waker) = (self.inbox.clone(), self.waker.clone());
                Arc::new(move |answer| {
                    if inbox.send(Command::Resolved(answer)) {
                        let _ = waker.wake();
                    }
                })
            })
            .clone()
    }

    /// A lookup answered: connect to its addresses in turn.
    fn resolved(&mut self, answer: Answer) {
        let Some(slot) = self.lookups.remove(&answer.key) else {
            return; // the stream let go of it (closed, timed out)
        };
        let Some(stream) = self.stream(slot) else {
            return;
        };
        let Phase::Resolving(key, deadline) = stream.phase else {
            return;
        };
        if key != answer.key {
            return;
        }
        match answer.addresses {
            Ok(addresses) if !addresses.is_empty() => {
                stream.addresses = addresses.into();
                self.connect_next(slot, deadline);
            }
            Ok(_) => {
                let error = Error::new(
                    ErrorKind::Connect,
                    "request failed: the name has no address",
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
            Err(e) => {
                let host = stream.attempt.as_ref().map_or("", |a| a.url()).to_owned();
                let error = Error::new(
                    ErrorKind::Connect,
                    format!("request failed: failed to lookup address of {host}: {e}"),
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
        }
    }

    /// Connects to the next address of the stream (after one that failed);
    /// fails with `last` (or a plain message) when none is left.
    fn connect_next(&mut self, slot: Slot, deadline: Instant) {
        let registry = self.poll.registry();
        let Some(stream) = self.streams.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let mut last = None;
        while let Some(address) = stream.addresses.pop_front() {
            let connected = TcpStream::connect(address).and_then(|mut socket| {
                let interest = Interest::READABLE | Interest::WRITABLE;
                registry.register(&mut socket, Token(slot), interest)?;
                Ok(socket)
            });
            match connected {
                Ok(socket) => {
                    stream.phase = Phase::Connecting(socket, deadline);
                    return self.arm(slot, deadline);
                }
                Err(e) => last = Some(format!("connect to {address}: {e}")),
            }
        }
        let message = last.unwrap_or_else(|| "no address left to try".to_owned());
        let via = stream.via_proxy();
        let error = Error::new(
            ErrorKind::Connect,
            format!("request failed: {message}{via}"),
        );
        self.finish_exchange(slot, Outcome::Failed(error));
    }

    /// A readiness event for `slot`.
    fn ready(&mut self, slot: Slot) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        if let Phase::Connecting(socket, deadline) = &mut stream.phase {
            match socket.take_error() {
                Ok(Some(e)) | Err(e) => {
                    // Refused there: the next address of the name, if any.
                    let deadline = *deadline;
                    if let Phase::Connecting(mut socket, _) =
                        std::mem::replace(&mut stream.phase, Phase::Idle)
                    {
                        let _ = self.poll.registry().deregister(&mut socket);
                    }
                    let Some(stream) = self.stream(slot) else {
                        return;
                    };
                    if stream.addresses.is_empty() {
                        let via = stream.via_proxy();
                        let error =
                            Error::new(ErrorKind::Connect, format!("request failed: {e}{via}"));
                        return self.finish_exchange(slot, Outcome::Failed(error));
                    }
                    return self.connect_next(slot, deadline);
                }
                Ok(None) => {}
            }
            if socket.peer_addr().is_err() {
                return; // not connected yet: a later event says so
            }
            let Phase::Connecting(socket, deadline) =
                std::mem::replace(&mut stream.phase, Phase::Idle)
            else {
                unreachable!()
            };
            let request = stream.request();
            // SOCKS always tunnels; an http:// proxy only for https://
            // (http:// goes to it in absolute form).
            let tunnels = stream.proxy.as_ref().is_some_and(|proxy| {
                proxy.kind != ProxyKind::Http || request.url.starts_with("https://")
            });
            if let (Some(proxy), true) = (&stream.proxy, tunnels) {
                match Tunnel::new(socket, &request.url, proxy) {
                    Ok(tunnel) => {
                        stream.phase = Phase::Tunneling(Box::new(tunnel), deadline);
                        return self.tunnel(slot);
                    }
                    Err((mut socket, error)) => {
                        let _ = self.poll.registry().deregister(&mut socket);
                        return self.finish_exchange(slot, Outcome::Failed(error));
                    }
                }
            }
            self.exchange(slot, socket, deadline);
        } else if let Phase::Tunneling(..) = &stream.phase {
            return self.tunnel(slot);
        }
        self.pump(slot);
    }

    /// The `CONNECT` exchange with the proxy moves on; once the tunnel is
    /// up, the stream's exchange starts in it (TLS first).
    fn tunnel(&mut self, slot: Slot) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        let Phase::Tunneling(tunnel, _) = &mut stream.phase else {
            return;
        };
        match tunnel.advance() {
            Ok(false) => {} // more to write or read: the next readiness event
            Ok(true) => {
                let Phase::Tunneling(tunnel, deadline) =
                    std::mem::replace(&mut stream.phase, Phase::Idle)
                else {
                    unreachable!()
                };
                self.exchange(slot, tunnel.socket, deadline);
                self.pump(slot);
            }
            Err(error) => self.finish_exchange(slot, Outcome::Failed(error)),
        }
    }

    /// Starts the stream's exchange on a connected `socket` (directly, or
    /// through a proxy's tunnel or in absolute form).
    /// `deadline` is the connect deadline, which a TLS handshake must
    /// meet too.
    fn exchange(&mut self, slot: Slot, socket: TcpStream, deadline: Instant) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        stream.hangup_seen = false;
        {
            let mut request = stream.request();
            if let Some(proxy) = stream
                .proxy
                .as_ref()
                .filter(|p| p.kind == ProxyKind::Http && request.url.starts_with("http://"))
            {
                request.absolute_form = true;
                let set = |name: &str| {
                    request
                        .headers
                        .iter()
                        .any(|(n, _)| n.eq_ignore_ascii_case(name))
                };
                if let (Some(value), false) = (proxy.authorization(), set("proxy-authorization")) {
                    request
                        .headers
                        .push(("Proxy-Authorization".to_owned(), value));
                }
            }
            let tls = match stream.tls_for(&request.url) {
                Ok(tls) => tls,
                Err(error) => {
                    let mut socket = socket;
                    let _ = self.poll.registry().deregister(&mut socket);
                    return self.finish_exchange(slot, Outcome::Failed(error));
                }
            };
            let Some(stream) = self.stream(slot) else {
                return;
            };
            let state = stream.state.take().unwrap_or_default();
            // Says in the log when the id cannot be sent (the exchange
            // leaves it out).
            let _ = last_event_id_to_send(&request.url, state.parser.last_event_id(), usize::MAX);
            let connection = Connection::new(
                &request,
                stream.settings.clone(),
                state,
                Instant::now(),
                SystemTime::now(),
            );
            let handshake_deadline = tls.is_some().then_some(deadline);
            let tls = tls.map(Box::new);
            let link = Link::new(socket, tls, handshake_deadline);
            stream.phase = Phase::Exchanging(link, Box::new(connection));
        }
    }

    /// Moves bytes both ways, handing the exchange's events on after each
    /// read, until the socket would block (or [`READS_PER_TURN`] reads:
    /// then the slot goes on the list for the next turn, so that one fast
    /// stream cannot hold up the others).
    fn pump(&mut self, slot: Slot) {
        for _ in 0..READS_PER_TURN {
            let Some(stream) = self.streams.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            if stream.held.is_some() {
                return; // paused: nothing is read until the consumer made room
            }
            let Phase::Exchanging(link, connection) = &mut stream.phase else {
                return;
            };
            if let Err(e) = link.write(connection) {
                let error = super::tls::io_error(&e, "request failed");
                return self.finish_exchange(slot, Outcome::Failed(error));
            }
            // A plain TCP read shorter than the buffer emptied the socket:
            // data, an end or an error arriving later is a new readiness
            // edge, so the read that would only say WouldBlock is skipped
            // (one system call per event instead of two on a quiet
            // stream); not once an edge said the peer closed or erred.
            let mut drained = false;
            stream.sink.warm();
            prefetch(&**connection, lines_of::<Connection>(12));
            let handed = match link.read(&mut self.read_buffer) {
                Ok(0) => {
                    connection.handle_eof(Instant::now());
                    stream.hand_on()
                }
                Ok(n) => {
                    let full = n == self.read_buffer.len();
                    drained = !stream.hangup_seen && link.tls.is_none() && !full;
                    stream.sink.received(n);
                    let handed = stream.feed(&self.read_buffer[..n]);
                    if full && n < READ_BYTES {
                        // More is coming than the buffer holds: read more at once.
                        self.read_buffer.resize((n * 4).min(READ_BYTES), 0);
                    }
                    stream.big_reads = if n >= BACKLOG_READ_BYTES {
                        stream.big_reads.saturating_add(1)
                    } else {
                        0
                    };
                    if stream.big_reads >= BACKLOG_READS {
                        stream.big_reads = 0;
                        self.backlog = true;
                    }
                    handed
                }
                Err(e) if e.kind() == Io::Interrupted => continue,
                Err(e) if e.kind() == Io::WouldBlock => {
                    // A TLS handshake the read just finished lets the
                    // request's rest go (no writable event would say so).
                    if connection.poll_transmit().is_some() {
                        if let Err(e) = link.write(connection) {
                            let error = super::tls::io_error(&e, "request failed");
                            return self.finish_exchange(slot, Outcome::Failed(error));
                        }
                    }
                    return self.after_input(slot);
                }
                Err(e) => {
                    let context = if stream.opened_at.is_some() {
                        "reading the stream"
                    } else {
                        "request failed" // before the response (a TLS handshake)
                    };
                    let error = super::tls::io_error(&e, context);
                    return self.finish_exchange(slot, Outcome::Failed(error));
                }
            };
            match handed {
                Handed::More if drained => return self.after_input(slot),
                Handed::More => {}
                Handed::Held => return,
                Handed::Redirect => return self.redirect(slot),
                Handed::Over(outcome) => return self.finish_exchange(slot, outcome),
            }
        }
        self.again.push(slot);
        self.after_input(slot);
    }

    /// Hands the exchange's events to the sink; ends the exchange when it
    /// ended; re-arms its deadline.
    fn after_input(&mut self, slot: Slot) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        match stream.hand_on() {
            Handed::More => {}
            Handed::Held => return,
            Handed::Redirect => return self.redirect(slot),
            Handed::Over(outcome) => return self.finish_exchange(slot, outcome),
        }
        let deadline = match &mut stream.phase {
            Phase::Exchanging(link, connection) => {
                match (connection.poll_timeout(), link.handshake_deadline()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        };
        if let Some(deadline) = deadline {
            self.arm(slot, deadline);
        }
    }

    /// The exchange ended with a redirect the attempt follows: the parser
    /// is kept, a new connection goes to the next URL.
    fn redirect(&mut self, slot: Slot) {
        if let Some(stream) = self.streams.get_mut(slot).and_then(Option::as_mut) {
            if let Phase::Exchanging(mut link, connection) =
                std::mem::replace(&mut stream.phase, Phase::Idle)
            {
                let _ = self.poll.registry().deregister(&mut link.socket);
                stream.state = Some(connection.into_stream());
            }
        }
        self.connect(slot);
    }

    /// Puts `slot`'s deadline in the heap unless an earlier one is there.
    fn arm(&mut self, slot: Slot, deadline: Instant) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        if stream
            .armed
            .is_some_and(|armed| armed <= deadline && armed > Instant::now())
        {
            return;
        }
        stream.armed = Some(deadline);
        self.timers.arm(slot, deadline);
    }

    /// A deadline of `slot` may have come.
    fn due(&mut self, slot: Slot, now: Instant) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        stream.armed = None;
        match &mut stream.phase {
            Phase::Waiting(until) if *until <= now => {
                stream.phase = Phase::Idle;
                self.connect(slot);
            }
            Phase::Waiting(until) => {
                let until = *until;
                self.arm(slot, until);
            }
            Phase::Resolving(key, deadline) if *deadline <= now => {
                let (key, limit) = (*key, stream.config.connect_timeout.as_millis());
                self.lookups.remove(&key);
                if let Some(resolver) = &self.resolver {
                    resolver.forget(key);
                }
                let error = Error::new(
                    ErrorKind::Connect,
                    format!("request failed: name lookup timed out after {limit} ms"),
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
            Phase::Resolving(_, deadline) => {
                let deadline = *deadline;
                self.arm(slot, deadline);
            }
            Phase::Tunneling(_, deadline) if *deadline <= now => {
                let limit = stream.config.connect_timeout.as_millis();
                let what = match stream.proxy.as_ref().map(|p| p.kind) {
                    Some(ProxyKind::Socks4 | ProxyKind::Socks5) => "SOCKS",
                    _ => "CONNECT",
                };
                let error = Error::new(
                    ErrorKind::Connect,
                    format!("request failed: no {what} answer from the proxy within {limit} ms"),
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
            Phase::Tunneling(_, deadline) => {
                let deadline = *deadline;
                self.arm(slot, deadline);
            }
            Phase::Connecting(_, deadline) if *deadline <= now => {
                let limit = stream.config.connect_timeout.as_millis();
                let via = stream.via_proxy();
                let error = Error::new(
                    ErrorKind::Connect,
                    format!("request failed: connect timed out after {limit} ms{via}"),
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
            Phase::Connecting(_, deadline) => {
                let deadline = *deadline;
                self.arm(slot, deadline);
            }
            // Held by its consumer: no read-idle deadline meanwhile.
            Phase::Exchanging(..) if stream.held.is_some() => {}
            Phase::Exchanging(link, _) if link.handshake_overdue(now) => {
                let limit = stream.config.connect_timeout.as_millis();
                let error = Error::new(
                    ErrorKind::Connect,
                    format!("request failed: no TLS handshake within {limit} ms (connect timeout)"),
                );
                self.finish_exchange(slot, Outcome::Failed(error));
            }
            Phase::Exchanging(_, connection) => {
                connection.handle_timeout(now);
                self.after_input(slot);
            }
            Phase::Idle => {}
        }
    }

    fn interrupt(&mut self, slot: Slot) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        if stream.held.is_some() {
            // The held batch goes first (its ids may be counted already).
            stream.interrupt_held = true;
            return;
        }
        match stream.phase {
            Phase::Waiting(_) => {
                stream.phase = Phase::Idle;
                self.connect(slot);
            }
            _ => self.finish_exchange(slot, Outcome::Interrupted),
        }
    }

    /// The consumer of `slot` made room: the held batch, the events
    /// behind it, then reading where it stopped.
    fn resume(&mut self, slot: Slot) {
        let Some(stream) = self.stream(slot) else {
            return;
        };
        if stream.held.is_none() {
            return;
        }
        if let Phase::Exchanging(_, connection) = &mut stream.phase {
            connection.touch(Instant::now());
        }
        let handed = match stream.hand_on() {
            Handed::More => {
                let unfed = std::mem::take(&mut stream.unfed);
                stream.feed(&unfed)
            }
            other => other,
        };
        match handed {
            Handed::Held => return,
            Handed::More => {}
            Handed::Redirect => return self.redirect(slot),
            Handed::Over(outcome) => return self.finish_exchange(slot, outcome),
        }
        if std::mem::take(&mut stream.interrupt_held) {
            return self.interrupt(slot);
        }
        self.pump(slot);
    }

    /// The current exchange (or connect) of `slot` is over with `outcome`:
    /// follow a redirect, wait and reconnect, or end the stream.
    fn finish_exchange(&mut self, slot: Slot, outcome: Outcome) {
        let registry = self.poll.registry();
        let Some(stream) = self.streams.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let now = Instant::now();
        stream.held = None; // not taken before the end: dropped, as a close drops it
        stream.unfed = Vec::new();
        stream.interrupt_held = false;
        match std::mem::replace(&mut stream.phase, Phase::Idle) {
            Phase::Exchanging(mut link, connection) => {
                let _ = registry.deregister(&mut link.socket);
                let delivered = connection.delivered_events();
                let mut state = connection.into_stream();
                state.parser.finish();
                stream.state = Some(state);
                if let Some(opened) = stream.opened_at.take() {
                    stream.session.connection_ended(opened, now, delivered);
                }
            }
            Phase::Connecting(mut socket, _) => {
                let _ = registry.deregister(&mut socket);
            }
            Phase::Tunneling(mut tunnel, _) => {
                let _ = registry.deregister(&mut tunnel.socket);
            }
            // Its answer, when it comes, finds no lookup and is dropped.
            Phase::Resolving(key, _) => {
                self.lookups.remove(&key);
                if let Some(resolver) = &self.resolver {
                    resolver.forget(key);
                }
            }
            Phase::Waiting(_) | Phase::Idle => {}
        }
        match stream.session.after(outcome, now) {
            Next::End(ending) => self.end(slot, ending),
            Next::Reconnect { items, wait } => {
                for item in items {
                    if !stream.sink.deliver_always(Batch::single(item)) {
                        return self.end(slot, Ending::Closed(CloseReason::ClosedByUser));
                    }
                }
                stream.attempt = Attempt::new(stream.config.clone()).ok();
                stream.hook_due = true;
                match wait {
                    Some(wait) if !self.shutting_down => {
                        let until = now + wait;
                        stream.phase = Phase::Waiting(until);
                        self.arm(slot, until);
                    }
                    Some(_) => self.end(slot, Ending::Closed(CloseReason::ClosedByUser)),
                    None => self.connect(slot),
                }
            }
        }
    }

    /// Ends `slot` for good: the final items, then the sink is told.
    fn end(&mut self, slot: Slot, ending: Ending) {
        let Some(mut stream) = self.streams.get_mut(slot).and_then(Option::take) else {
            return;
        };
        match std::mem::replace(&mut stream.phase, Phase::Idle) {
            Phase::Exchanging(mut link, _) => {
                let _ = self.poll.registry().deregister(&mut link.socket);
            }
            Phase::Connecting(mut socket, _) => {
                let _ = self.poll.registry().deregister(&mut socket);
            }
            Phase::Tunneling(mut tunnel, _) => {
                let _ = self.poll.registry().deregister(&mut tunnel.socket);
            }
            _ => {}
        }
        let (items, error) = final_items(&stream.config.url, ending);
        for item in items {
            stream.sink.deliver_always(Batch::single(item));
        }
        self.slots.remove(&stream.id);
        self.free.push(slot);
        // The configuration (and the user's request hook in it) goes before
        // the end is signalled: once the client is freed, nothing of it is left.
        let mut sink = stream.into_sink();
        sink.finished(error);
    }
}

/// Tells the sink the exchange's last event id, when it changed.
fn publish_id(connection: &Connection, published: &mut u64, sink: &mut dyn Sink) {
    if connection.id_commits() != *published {
        *published = connection.id_commits();
        sink.last_event_id(connection.last_event_id());
    }
}

impl Stream {
    /// Where a connect failure happened, when it was not the server's:
    /// " (the SOCKS5 proxy host:port)", or "".
    fn via_proxy(&self) -> String {
        self.proxy.as_ref().map_or_else(String::new, |proxy| {
            let kind = match proxy.kind {
                ProxyKind::Http => "HTTP",
                ProxyKind::Socks4 => "SOCKS4",
                ProxyKind::Socks5 => "SOCKS5",
            };
            let host = if proxy.host.contains(':') {
                format!("[{}]", proxy.host)
            } else {
                proxy.host.clone()
            };
            format!(" (connecting to the {kind} proxy {host}:{})", proxy.port)
        })
    }

    /// The sink, everything else dropped.
    fn into_sink(self: Box<Self>) -> Box<dyn Sink> {
        let Stream { sink, .. } = *self;
        sink
    }

    /// A TLS session for `url` when it is `https://`.
    fn tls_for(&mut self, url: &str) -> Result<Option<TlsSession>> {
        let parsed = crate::urls::parse(url)?;
        if parsed.scheme() != "https" {
            return Ok(None);
        }
        let config = match &self.tls_config {
            Some(config) => config.clone(),
            None => self
                .tls_config
                .insert(tls::client_config(&self.config)?)
                .clone(),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => String::new(),
        };
        TlsSession::new(config, &host).map(Some)
    }

    /// The request of the current attempt.
    fn request(&self) -> Request {
        let attempt = self.attempt.as_ref().expect("an attempt while connecting");
        Request {
            method: attempt.method().to_owned(),
            url: attempt.url().to_owned(),
            headers: attempt
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            body: attempt.body().map(<[u8]>::to_vec),
            absolute_form: false,
        }
    }

    /// Hands `input` to the exchange in its steps, the events of each to
    /// the sink; keeps what is left when the sink refuses.
    fn feed(&mut self, mut input: &[u8]) -> Handed {
        while !input.is_empty() {
            let Phase::Exchanging(_, connection) = &mut self.phase else {
                return Handed::More;
            };
            let step = connection.input_step().min(input.len());
            connection.handle_input(&input[..step], Instant::now());
            input = &input[step..];
            match self.hand_on() {
                Handed::More => {}
                Handed::Held => {
                    self.unfed.extend_from_slice(input);
                    return Handed::Held;
                }
                other => return other,
            }
        }
        Handed::More
    }

    /// Hands the exchange's pending events to the sink; says whether the
    /// exchange goes on.
    fn hand_on(&mut self) -> Handed {
        let Phase::Exchanging(_, connection) = &mut self.phase else {
            return Handed::More;
        };
        if let Some(batch) = self.held.take() {
            match self.sink.deliver(batch) {
                Delivery::Taken => {}
                Delivery::Full(batch) => {
                    self.held = Some(batch);
                    return Handed::Held;
                }
                Delivery::Gone => return Handed::Over(Outcome::Closing),
            }
        }
        while let Some(event) = connection.poll_event() {
            match event {
                Event::Open { status, headers } => {
                    self.opened_at = Some(Instant::now());
                    log(LogLevel::Info, || {
                        format!("{}: open (HTTP {status})", self.config.url)
                    });
                    let open = Batch::single(Item::Open { status, headers });
                    if !self.sink.deliver_always(open) {
                        return Handed::Over(Outcome::Closing);
                    }
                }
                Event::Items(batch) => {
                    publish_id(connection, &mut self.last_id_published, &mut *self.sink);
                    match self.sink.deliver(batch) {
                        Delivery::Taken => {}
                        Delivery::Full(batch) => {
                            self.held = Some(batch);
                            return Handed::Held;
                        }
                        Delivery::Gone => return Handed::Over(Outcome::Closing),
                    }
                }
                Event::ServerRetry(millis) => self.session.set_server_retry(millis),
                Event::End(end) => {
                    // Events the type filter dropped make no batch, yet
                    // their ids count.
                    publish_id(connection, &mut self.last_id_published, &mut *self.sink);
                    return Handed::Over(match end {
                        connection::End::Finished => Outcome::Ended,
                        connection::End::NoContent => Outcome::NoContent,
                        connection::End::Failed(error) => Outcome::Failed(error),
                        connection::End::Redirect {
                            status,
                            location,
                            headers,
                        } => {
                            let attempt = self.attempt.as_mut().expect("an attempt");
                            match attempt.follow_resolved(status, location, &headers) {
                                Ok(()) => return Handed::Redirect,
                                Err(error) => Outcome::Failed(error),
                            }
                        }
                    });
                }
            }
        }
        Handed::More
    }
}

/// What handing an exchange's events on found.
enum Handed {
    /// The exchange goes on.
    More,
    /// The sink is full: wait for [`Engine::resume`].
    Held,
    /// It ended with a redirect the attempt follows.
    Redirect,
    /// It is over.
    Over(Outcome),
}

/// Where an `http(s)://` URL connects.
enum Target {
    /// An IP literal: no lookup.
    Address(SocketAddr),
    /// A name and port, for the resolver pool.
    Name(String, u16),
}

/// The target of an `http(s)://` URL.
fn target_of(url: &str) -> Result<Target> {
    let parsed = crate::urls::parse(url)?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    Ok(match parsed.host() {
        Some(url::Host::Ipv4(ip)) => Target::Address(SocketAddr::new(ip.into(), port)),
        Some(url::Host::Ipv6(ip)) => Target::Address(SocketAddr::new(ip.into(), port)),
        Some(url::Host::Domain(name)) => Target::Name(name.to_owned(), port),
        None => return Err(Error::new(ErrorKind::InvalidUrl, format!("{url}: no host"))),
    })
}

/// `host` as a URL writes it (IPv6 literals in brackets).
fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// A jitter seed per stream.
fn seed(id: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
    use sse_demo_server::Server;

    use super::*;

    /// What a test sink saw.
    #[derive(Debug)]
    enum Seen {
        Item(Item),
        Finished(Option<Error>),
    }

    struct ChannelSink(usize, Sender<(usize, Seen)>);

    impl Sink for ChannelSink {
        fn deliver(&mut self, batch: Batch) -> Delivery {
            self.deliver_always(batch);
            Delivery::Taken
        }
        fn deliver_always(&mut self, batch: Batch) -> bool {
            for item in batch.iter() {
                let _ = self.1.send((self.0, Seen::Item(item.to_item())));
            }
            true
        }
        fn finished(&mut self, error: Option<Error>) {
            let _ = self.1.send((self.0, Seen::Finished(error)));
        }
    }

    fn config(url: String, configure: impl FnOnce(&mut crate::config::RetryPolicy)) -> Config {
        Config::builder(url)
            .retry(|r| {
                r.initial_delay = Duration::from_millis(10);
                r.min_delay = Duration::from_millis(10);
                configure(r);
            })
            .build()
            .unwrap()
    }

    /// Every item of stream 0 until it finishes (generous bound: hangs fail).
    fn items_until_finished(rx: &Receiver<(usize, Seen)>) -> (Vec<Item>, Option<Error>) {
        let mut items = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok((_, Seen::Item(item))) => items.push(item),
                Ok((_, Seen::Finished(error))) => return (items, error),
                Err(e) => panic!("no end: {e:?}; items so far {items:?}"),
            }
        }
    }

    fn ids(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Message(event) => Some(event.last_event_id.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_thread_drives_many_streams_each_in_order() {
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let streams = 200;
        for i in 0..streams {
            let url = format!("{}/ticker?count=5", server.url());
            let sink = Box::new(ChannelSink(i, tx.clone()));
            engine
                .add(config(url, |r| r.reconnect = false), sink)
                .unwrap();
        }
        let mut seen: Vec<Vec<Item>> = (0..streams).map(|_| Vec::new()).collect();
        let mut finished = 0;
        while finished < streams {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok((i, Seen::Item(item))) => seen[i].push(item),
                Ok((i, Seen::Finished(error))) => {
                    assert!(error.is_none(), "stream {i}: {error:?}");
                    finished += 1;
                }
                Err(e) => panic!("{finished} of {streams} finished: {e:?}"),
            }
        }
        for (i, items) in seen.iter().enumerate() {
            assert!(
                matches!(items[0], Item::Open { status: 200, .. }),
                "{i}: {items:?}"
            );
            assert_eq!(ids(items), ["1", "2", "3", "4", "5"], "stream {i}");
            assert_eq!(
                items.last(),
                Some(&Item::Closed {
                    reason: CloseReason::EndOfStream
                })
            );
        }
    }

    #[test]
    fn a_dropped_stream_resumes_after_its_last_id_until_closed() {
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let url = format!("{}/ticker?count=0&interval_ms=5&drop_after=3", server.url());
        let id = engine
            .add(config(url, |_| {}), Box::new(ChannelSink(0, tx)))
            .unwrap();
        let mut items = Vec::new();
        while ids(&items).len() < 7 {
            let (_, seen) = rx.recv_timeout(Duration::from_secs(20)).expect("items");
            if let Seen::Item(item) = seen {
                items.push(item);
            }
        }
        engine.close(id);
        let (rest, error) = items_until_finished(&rx);
        items.extend(rest);
        assert!(error.is_none(), "{error:?}");
        let all = ids(&items);
        let expected: Vec<String> = (1..=all.len()).map(|n| n.to_string()).collect();
        assert_eq!(all, expected, "no gap, no repeat across reconnections");
        assert!(items.iter().any(|i| matches!(i, Item::Reconnecting { .. })));
        assert_eq!(
            items.last(),
            Some(&Item::Closed {
                reason: CloseReason::ClosedByUser
            })
        );
        let requests = server.requests();
        assert_eq!(
            requests[1].header("last-event-id"),
            Some("3"),
            "{requests:?}"
        );
    }

    #[test]
    fn redirects_are_followed_and_failures_retried_then_given_up() {
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let url = format!("{}/redirect?to=%2Fticker%3Fcount%3D2", server.url());
        engine
            .add(
                config(url, |r| r.reconnect = false),
                Box::new(ChannelSink(0, tx.clone())),
            )
            .unwrap();
        let (items, error) = items_until_finished(&rx);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(ids(&items), ["1", "2"]);

        let url = format!("{}/status/503", server.url());
        engine
            .add(
                config(url, |r| r.max_attempts = Some(1)),
                Box::new(ChannelSink(0, tx)),
            )
            .unwrap();
        let (items, error) = items_until_finished(&rx);
        let error = error.expect("a fatal error");
        assert_eq!(error.kind, ErrorKind::RetriesExhausted, "{error}");
        assert_eq!(error.status, Some(503));
        let kinds: Vec<&str> = items
            .iter()
            .map(|i| match i {
                Item::Error { fatal: false, .. } => "error",
                Item::Error { fatal: true, .. } => "fatal",
                Item::Reconnecting { .. } => "reconnecting",
                Item::Closed { .. } => "closed",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["error", "reconnecting", "fatal", "closed"]);
    }

    #[test]
    fn names_are_looked_up_off_the_loop_and_each_address_is_tried() {
        // localhost may come as ::1 first; the demo server listens on
        // 127.0.0.1 only: the refused address is followed by the next.
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let port = server.addr().port();
        let url = format!("http://localhost:{port}/ticker?count=2");
        engine
            .add(
                config(url, |r| r.reconnect = false),
                Box::new(ChannelSink(0, tx)),
            )
            .unwrap();
        let (items, error) = items_until_finished(&rx);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(ids(&items), ["1", "2"]);
        let threads = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim_end() == "libsse-dns")
            .count();
        // The lookup ran on the pool (a pool thread that never ran yet
        // still carries its parent's name: at least the one that answered).
        assert!(threads >= 1, "{threads} resolver threads");
    }

    #[test]
    fn dropping_the_engine_closes_every_stream() {
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        for i in 0..20 {
            let url = format!("{}/ticker?count=0&interval_ms=10", server.url());
            engine
                .add(config(url, |_| {}), Box::new(ChannelSink(i, tx.clone())))
                .unwrap();
        }
        drop(tx);
        std::thread::sleep(Duration::from_millis(100));
        drop(engine); // joins the loop thread
        let mut closed = 0;
        loop {
            match rx.recv_timeout(Duration::from_secs(5)) {
                Ok((_, Seen::Item(Item::Closed { reason }))) => {
                    assert_eq!(reason, CloseReason::ClosedByUser);
                    closed += 1;
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(closed, 20);
    }

    #[test]
    fn an_interrupt_reconnects_at_once_from_the_last_id() {
        let server = Server::start().unwrap();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let url = format!("{}/ticker?count=0&interval_ms=5", server.url());
        let id = engine
            .add(config(url, |_| {}), Box::new(ChannelSink(0, tx)))
            .unwrap();
        let mut items = Vec::new();
        let mut interrupted = false;
        while ids(&items).len() < 6 {
            let (_, seen) = rx.recv_timeout(Duration::from_secs(20)).expect("items");
            if let Seen::Item(item) = seen {
                items.push(item);
            }
            if ids(&items).len() == 3 && !interrupted {
                engine.interrupt(id);
                interrupted = true;
            }
        }
        engine.close(id);
        items.extend(items_until_finished(&rx).0);
        let all = ids(&items);
        let expected: Vec<String> = (1..=all.len()).map(|n| n.to_string()).collect();
        assert_eq!(all, expected);
        assert!(items.contains(&Item::Reconnecting {
            attempt: 1,
            delay: Duration::ZERO
        }));
        let requests = server.requests();
        let resumed: u64 = requests[1]
            .header("last-event-id")
            .unwrap()
            .parse()
            .unwrap();
        assert!(resumed >= 3, "{requests:?}");
    }

    /// A listening socket whose accept queue is full: a connect to it gets
    /// no answer (the SYN is dropped), as with an unreachable host.
    fn unanswered_listener() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
        use std::os::fd::FromRawFd;
        // std listens with a backlog of 128; this one has 0 (one slot).
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(fd >= 0);
        let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len) },
            0
        );
        assert_eq!(unsafe { libc::listen(fd, 0) }, 0);
        let target = listener.local_addr().unwrap();
        let mut held = Vec::new();
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
                Ok(stream) => held.push(stream),
                Err(_) => return (listener, held), // the queue is full
            }
        }
        panic!("the accept queue never filled");
    }

    #[test]
    fn a_close_during_an_unanswered_connect_ends_the_stream_at_once() {
        let (listener, _held) = unanswered_listener();
        let engine = Engine::start().unwrap();
        let (tx, rx) = unbounded();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let config = Config::builder(url)
            .connect_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let id = engine.add(config, Box::new(ChannelSink(0, tx))).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        assert!(rx.try_recv().is_err(), "the connect was answered");
        let asked = Instant::now();
        engine.close(id);
        let (items, error) = items_until_finished(&rx);
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            items,
            [Item::Closed {
                reason: CloseReason::ClosedByUser
            }]
        );
    }
}
