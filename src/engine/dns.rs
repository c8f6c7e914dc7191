//! Name lookups off the loop thread (step 5): a pool of resolver threads
//! running the system resolver (`ToSocketAddrs`, getaddrinfo), so a slow
//! DNS server never stalls the other streams. Two threads wait for
//! lookups; while every thread is busy (slow lookups) the pool grows, up to
//! [`MAX_THREADS`], and the extra threads go once idle for a while. A
//! lookup its stream gave up on ([`Resolver::forget`]) is dropped before it
//! starts. Each lookup carries the function its answer goes back through
//! (its loop's command and waker), so one pool serves every loop of the
//! process ([`shared`]); the threads end on their own once no loop holds
//! the pool. IP literals never come here.

use std::collections::HashSet;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

/// Threads that wait for lookups all the time.
const CORE_THREADS: usize = 2;
/// Threads at most, while slow lookups keep the others busy.
const MAX_THREADS: usize = 16;
/// How long an extra thread waits for work before it goes.
const EXTRA_IDLE: Duration = Duration::from_secs(30);

/// One lookup's answer, with the key it was asked with.
pub(crate) struct Answer {
    /// What the asker gave to recognise its answer.
    pub(crate) key: u64,
    /// The addresses, in the resolver's order; or why there are none.
    pub(crate) addresses: io::Result<Vec<SocketAddr>>,
}

struct Lookup {
    key: u64,
    host: String,
    port: u16,
    reply: AnswerFn,
}

/// Where a lookup's answer goes (called on a resolver thread).
pub(crate) type AnswerFn = Arc<dyn Fn(Answer) + Send + Sync>;
type ResolveFn = Arc<dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// What the pool's threads share.
struct Pool {
    inbox: Receiver<Lookup>,
    resolve: ResolveFn,
    /// Keys still wanted: a lookup whose key is gone is skipped.
    wanted: Mutex<HashSet<u64>>,
    threads: AtomicUsize,
    /// Lookups waiting for a thread, and lookups running.
    queued: AtomicUsize,
    busy: AtomicUsize,
}

/// The pool. Dropping it lets its threads end after their current lookup.
pub(crate) struct Resolver {
    lookups: Sender<Lookup>,
    pool: Arc<Pool>,
}

/// The pool every loop of the process shares: started with the first loop
/// that asks, gone (its threads ending) with the last that holds it.
/// In a `fork()`ed child the parent's pool is a copy without its threads:
/// the child starts one of its own.
pub(crate) fn shared() -> io::Result<Arc<Resolver>> {
    static SHARED: Mutex<(u32, Weak<Resolver>)> = Mutex::new((0, Weak::new()));
    let mut shared = lock(&SHARED);
    let pid = std::process::id();
    if shared.0 == pid {
        if let Some(resolver) = shared.1.upgrade() {
            return Ok(resolver);
        }
    }
    let resolver = Arc::new(Resolver::start()?);
    *shared = (pid, Arc::downgrade(&resolver));
    Ok(resolver)
}

/// A key no other lookup of the process has (loops share the pool).
pub(crate) fn new_key() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Resolver {
    /// Starts the core threads, with the system resolver.
    pub(crate) fn start() -> io::Result<Self> {
        Self::start_with(|host, port| (host, port).to_socket_addrs().map(Iterator::collect))
    }

    /// [`Resolver::start`] with `resolve` in place of the system resolver.
    fn start_with(
        resolve: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let (lookups, inbox) = unbounded::<Lookup>();
        let pool = Arc::new(Pool {
            inbox,
            resolve: Arc::new(resolve),
            wanted: Mutex::new(HashSet::new()),
            threads: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
        });
        for _ in 0..CORE_THREADS {
            spawn(&pool, true)?;
        }
        Ok(Resolver { lookups, pool })
    }

    /// Looks `host` up for `port`; the answer comes to `reply` with `key`
    /// (from [`new_key`]).
    pub(crate) fn lookup(&self, key: u64, host: &str, port: u16, reply: &AnswerFn) {
        lock(&self.pool.wanted).insert(key);
        self.pool.queued.fetch_add(1, Ordering::SeqCst);
        let _ = self.lookups.send(Lookup {
            key,
            host: host.to_owned(),
            port,
            reply: reply.clone(),
        });
        // More lookups than threads (slow ones): one more thread per
        // waiting lookup, as far as the cap allows.
        let pool = &self.pool;
        let work = pool.busy.load(Ordering::SeqCst) + pool.queued.load(Ordering::SeqCst);
        let threads = pool.threads.load(Ordering::SeqCst);
        if work > threads && threads < MAX_THREADS {
            let _ = spawn(pool, false);
        }
    }

    /// The stream no longer wants the answer of `key` (closed, timed out):
    /// a lookup not started yet is skipped.
    pub(crate) fn forget(&self, key: u64) {
        lock(&self.pool.wanted).remove(&key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a resolver thread; a core one waits for ever, an extra one goes
/// after [`EXTRA_IDLE`] without work.
fn spawn(pool: &Arc<Pool>, core: bool) -> io::Result<()> {
    let pool = pool.clone();
    pool.threads.fetch_add(1, Ordering::SeqCst);
    let spawned = thread::Builder::new()
        .name("libsse-dns".into())
        .stack_size(128 * 1024)
        .spawn({
            let pool = pool.clone();
            move || {
                crate::signals::block_on_this_thread();
                loop {
                    let lookup = if core {
                        pool.inbox
                            .recv()
                            .map_err(|_| RecvTimeoutError::Disconnected)
                    } else {
                        pool.inbox.recv_timeout(EXTRA_IDLE)
                    };
                    let Ok(lookup) = lookup else {
                        break;
                    };
                    pool.busy.fetch_add(1, Ordering::SeqCst);
                    pool.queued.fetch_sub(1, Ordering::SeqCst);
                    if !lock(&pool.wanted).remove(&lookup.key) {
                        pool.busy.fetch_sub(1, Ordering::SeqCst);
                        continue; // given up on
                    }
                    let addresses = (pool.resolve)(&lookup.host, lookup.port);
                    pool.busy.fetch_sub(1, Ordering::SeqCst);
                    (lookup.reply)(Answer {
                        key: lookup.key,
                        addresses,
                    });
                }
                pool.threads.fetch_sub(1, Ordering::SeqCst);
            }
        });
    if let Err(e) = spawned {
        pool.threads.fetch_sub(1, Ordering::SeqCst);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn answers_come_back_with_their_keys() {
        let (tx, rx) = unbounded();
        let reply: AnswerFn = Arc::new(move |answer| {
            let _ = tx.send(answer);
        });
        let resolver = Resolver::start().unwrap();
        resolver.lookup(7, "localhost", 8080, &reply);
        resolver.lookup(8, "", 80, &reply); // refused locally, no DNS query
        let mut answers: Vec<Answer> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(20)).expect("an answer"))
            .collect();
        answers.sort_by_key(|a| a.key);
        let local = answers[0].addresses.as_ref().expect("localhost resolves");
        assert_eq!(answers[0].key, 7);
        assert!(
            local
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{local:?}"
        );
        assert_eq!(answers[1].key, 8);
        assert!(answers[1].addresses.is_err(), "{:?}", answers[1].addresses);
    }

    #[test]
    fn slow_lookups_do_not_hold_up_the_others() {
        let slow = |host: &str, port: u16| {
            if host.starts_with("slow") {
                std::thread::sleep(Duration::from_secs(2));
            }
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        };
        let (tx, rx) = unbounded();
        let reply: AnswerFn = Arc::new(move |answer| {
            let _ = tx.send(answer.key);
        });
        let resolver = Resolver::start_with(slow).unwrap();
        for key in 0..4 {
            resolver.lookup(key, &format!("slow{key}"), 80, &reply);
        }
        std::thread::sleep(Duration::from_millis(50)); // the slow ones are busy
        let asked = std::time::Instant::now();
        resolver.lookup(99, "fast", 80, &reply);
        let first = rx.recv_timeout(Duration::from_secs(20)).expect("an answer");
        assert_eq!(first, 99, "a slow lookup answered first");
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "{:?}",
            asked.elapsed()
        );
    }

    #[test]
    fn a_forgotten_lookup_is_not_answered() {
        let slow = |_: &str, port: u16| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        };
        let (tx, rx) = unbounded();
        let reply: AnswerFn = Arc::new(move |answer| {
            let _ = tx.send(answer.key);
        });
        let resolver = Resolver::start_with(slow).unwrap();
        // Past the cap every thread is busy: what queues behind them and
        // is forgotten meanwhile never runs.
        for key in 0..MAX_THREADS as u64 {
            resolver.lookup(key, "busy", 80, &reply);
        }
        std::thread::sleep(Duration::from_millis(50));
        resolver.lookup(1000, "given-up", 80, &reply);
        resolver.forget(1000);
        let mut keys: Vec<u64> = Vec::new();
        while let Ok(key) = rx.recv_timeout(Duration::from_secs(2)) {
            keys.push(key);
        }
        assert_eq!(keys.len(), MAX_THREADS, "{keys:?}");
        assert!(!keys.contains(&1000), "{keys:?}");
    }
}
