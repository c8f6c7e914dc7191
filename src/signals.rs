//! Process signals and the library's own threads.

/// Keeps process signals (Ctrl-C, SIGTERM) off this thread, so they reach
/// the application's threads, which can act on them.
pub(crate) fn block_on_this_thread() {
    // SAFETY: sigfillset initialises the set; pthread_sigmask only changes
    // this thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}
