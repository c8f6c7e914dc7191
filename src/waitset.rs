//! A wait set: one descriptor for many clients, readable while some of
//! them have news (items queued since they were last listed, or the end),
//! and the list of their tokens. For event loops with thousands of clients
//! (asyncio with 10,000 streams), where a descriptor per client would not
//! fit in the open-file limit beside the sockets.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::notify::Notifier;

/// Clients with news, each listed once until taken.
#[derive(Debug)]
pub struct WaitSet {
    notifier: Notifier,
    ready: Mutex<Vec<(u64, Arc<AtomicBool>)>>,
}

/// A client's place in a wait set: its token, and whether it is listed.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    set: Arc<WaitSet>,
    token: u64,
    listed: Arc<AtomicBool>,
}

impl Member {
    /// Lists the client (once until it is taken) and makes the set's
    /// descriptor readable.
    pub(crate) fn mark(&self) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            self.set.lock().push((self.token, self.listed.clone()));
            self.set.notifier.signal();
        }
    }
}

impl WaitSet {
    /// A wait set with its descriptor (an eventfd).
    pub fn new() -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(WaitSet {
            notifier: Notifier::new()?,
            ready: Mutex::new(Vec::new()),
        }))
    }

    /// The descriptor: readable while some token waits to be taken.
    pub fn fd(&self) -> RawFd {
        self.notifier.fd()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Arc<AtomicBool>)>> {
        self.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client's membership under `token`.
    pub(crate) fn member(self: &Arc<Self>, token: u64) -> Member {
        Member {
            set: self.clone(),
            token,
            listed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Takes up to `max` listed tokens, oldest first, into `out`; how many.
    /// The descriptor stays readable while more are listed.
    pub fn take(&self, out: &mut Vec<u64>, max: usize) -> usize {
        let mut ready = self.lock();
        let n = ready.len().min(max);
        for (token, listed) in ready.drain(..n) {
            // Unlisted first: news arriving from now on lists it again.
            listed.store(false, Ordering::Release);
            out.push(token);
        }
        let more = !ready.is_empty();
        drop(ready);
        self.notifier.clear(|| more || !self.lock().is_empty());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
    }

    #[test]
    fn lists_each_member_once_until_taken() {
        let set = WaitSet::new().unwrap();
        let (a, b) = (set.member(1), set.member(2));
        assert!(!readable(set.fd()));
        a.mark();
        a.mark();
        b.mark();
        assert!(readable(set.fd()));
        let mut out = Vec::new();
        assert_eq!(set.take(&mut out, 1), 1);
        assert!(readable(set.fd()), "one left");
        assert_eq!(set.take(&mut out, 10), 1);
        assert_eq!(out, [1, 2]);
        assert!(!readable(set.fd()));
        assert_eq!(set.take(&mut out, 10), 0);
        a.mark();
        assert!(readable(set.fd()));
        out.clear();
        set.take(&mut out, 10);
        assert_eq!(out, [1]);
    }
}
