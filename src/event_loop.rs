//! [`Loop`]: a libsse loop that the application's own event loop runs
//! (asyncio, libuv, epoll, a game loop), on the application's thread: no
//! libsse thread, one wake-up per event.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::reactor::Engine;
pub use crate::engine::reactor::Turn;
use crate::error::{Error, ErrorKind, Result};

/// A loop for many clients that the application's event loop runs. Watch
/// [`Loop::fd`] for readability and call [`Loop::run`] with a zero timeout
/// when it is readable or [`Loop::timeout`] has passed; then take the
/// clients' items (a [`crate::WaitSet`] says which have any). Clients join
/// it with [`crate::ConfigBuilder::on_loop`]. A pull of one of its clients
/// that waits runs the loop meanwhile; one with a zero timeout only takes
/// what is queued. Callbacks and
/// request hooks of its clients run inside [`Loop::run`] or those pulls;
/// asking a client for a descriptor, a wait set or a callback does not move
/// it to another thread. Cheap to clone (a handle); once the last handle
/// and every configuration holding it are dropped, streams still on the
/// loop go on on a background thread of their own. A loop does not survive
/// `fork()`: in the child, [`Loop::run`] and [`Loop::to_thread`] are
/// refused and dropping it leaves the parent's streams alone.
#[derive(Clone)]
pub struct Loop {
    inner: Arc<Handle>,
}

struct Handle {
    engine: Arc<Engine>,
    /// The process that made it (a fork()ed child must not run the
    /// parent's sockets).
    pid: u32,
}

impl Handle {
    fn check_process(&self) -> Result<()> {
        if self.pid == std::process::id() {
            return Ok(());
        }
        Err(Error::argument(
            "a loop does not survive fork(): this process is a child of the one that made it",
        ))
    }
}

impl Loop {
    /// Creates a loop (its poll descriptor and waker; no thread).
    pub fn new() -> Result<Loop> {
        let engine = Engine::driven_by_application()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot create a loop: {e}")))?;
        Ok(Loop {
            inner: Arc::new(Handle {
                engine: Arc::new(engine),
                pid: std::process::id(),
            }),
        })
    }

    /// The descriptor to watch for readability (an epoll descriptor):
    /// readable when a socket, a request from another thread (a close, a
    /// consumer's room) or a name lookup's answer needs the loop. Owned by
    /// the loop: do not read or close it.
    pub fn fd(&self) -> i32 {
        self.inner.engine.poll_fd()
    }

    /// The longest the application may wait on [`Loop::fd`] before it
    /// must call [`Loop::run`]: the next timer (a reconnection delay, a
    /// timeout), zero when work is left over from the last run, None when
    /// only readiness matters (or the loop has a thread of its own). While
    /// another thread runs the loop (a blocking pull), 20 ms.
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.engine.next_timeout()
    }

    /// Runs the loop once on this thread: waits at most `timeout` for
    /// readiness (None: until something happens; zero: not at all), then
    /// reads what is ready, fires what is due and queues the items
    /// ([`Turn::Ran`]). [`Turn::Busy`]: another thread runs it now (a
    /// blocking pull of one of its clients), nothing done.
    /// [`Turn::Threaded`]: the loop has a thread of its own for good, from
    /// this call (after its turn) or an earlier one (a backlog: one
    /// stream's eight reads of 16 KiB or more in a row, the server far
    /// ahead of the application; a thread reading ahead overlaps reading
    /// with the application's work): stop watching [`Loop::fd`]; the
    /// clients' wait sets and descriptors go on.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] when called from inside the loop
    /// (a callback or request hook of one of its clients).
    pub fn run(&self, timeout: Option<Duration>) -> Result<Turn> {
        self.inner.check_process()?;
        let engine = &self.inner.engine;
        if engine.driven_here() {
            return Err(Error::argument(
                "cannot run a loop from inside itself (a callback or request hook of one of \
                 its clients)",
            ));
        }
        Ok(engine.run_once(timeout))
    }

    /// Moves the loop to a thread of its own for good, as a backlog does:
    /// for a program that stops running it while its clients go on (their
    /// wait sets and descriptors keep working). [`Loop::run`] then returns
    /// [`Turn::Threaded`]. Safe from any thread, also while another runs
    /// the loop; from inside the loop (a callback), the move happens once
    /// that run ends.
    pub fn to_thread(&self) -> Result<()> {
        self.inner.check_process()?;
        self.inner
            .engine
            .release_to_thread()
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start a thread: {e}")))
    }

    /// The program stops running the loop (the C handle's free): if any
    /// client or configuration still uses it, it moves to a thread of its
    /// own now.
    pub(crate) fn hand_over(&self) -> Result<()> {
        if self.inner.pid != std::process::id() {
            return Ok(()); // a fork()ed child: the handle is only forgotten
        }
        if Arc::strong_count(&self.inner) > 1 || Arc::strong_count(&self.inner.engine) > 1 {
            self.to_thread()?;
        }
        Ok(())
    }

    pub(crate) fn engine(&self) -> Arc<Engine> {
        self.inner.engine.clone()
    }
}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop").field("fd", &self.fd()).finish()
    }
}

impl Drop for Handle {
    /// Nobody runs the loop any more: streams left on it go on a thread.
    /// In a fork()ed child, nothing: the loop's sockets are the parent's
    /// (its share of the engine is never dropped, so nothing closes them).
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            std::mem::forget(self.engine.clone());
            return;
        }
        if Arc::strong_count(&self.engine) > 1 {
            if let Err(e) = self.engine.release_to_thread() {
                crate::log::log(crate::log::LogLevel::Error, || {
                    format!("libsse: a freed loop's streams cannot get a thread: {e}")
                });
            }
        }
    }
}
