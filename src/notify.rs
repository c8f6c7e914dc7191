//! A file descriptor that is readable while a client has items queued,
//! so event loops (poll, epoll, asyncio) can wait without a thread.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// A level-triggered readiness flag backed by an eventfd.
#[derive(Debug)]
pub struct Notifier {
    fd: OwnedFd,
    signaled: AtomicBool,
}

impl Notifier {
    /// Creates the eventfd (non-blocking, close-on-exec).
    pub fn new() -> std::io::Result<Self> {
        // SAFETY: eventfd has no memory arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Notifier {
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            signaled: AtomicBool::new(false),
        })
    }

    /// The descriptor to wait on (readable while signaled).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the descriptor readable (cheap when it already is).
    pub fn signal(&self) {
        if !self.signaled.swap(true, Ordering::AcqRel) {
            self.write();
        }
    }

    /// Makes the descriptor readable unconditionally.
    pub fn force_signal(&self) {
        self.signaled.store(true, Ordering::Release);
        self.write();
    }

    /// Called by the consumer when it found the queue empty: clears the
    /// readiness, then re-arms it if `still_pending()` says items arrived
    /// meanwhile (so a signal is never lost).
    pub fn clear(&self, still_pending: impl Fn() -> bool) {
        self.signaled.store(false, Ordering::Release);
        let mut counter = 0u64;
        // SAFETY: reads 8 bytes into a local u64 from our own eventfd.
        unsafe {
            libc::read(self.fd(), (&mut counter as *mut u64).cast(), 8);
        }
        if still_pending() {
            self.force_signal();
        }
    }

    fn write(&self) {
        let one = 1u64;
        // SAFETY: writes 8 bytes from a local u64 to our own eventfd.
        unsafe {
            libc::write(self.fd(), (&one as *const u64).cast(), 8);
        }
    }
}
