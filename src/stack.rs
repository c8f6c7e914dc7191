//! Hands a worker thread's idle stack pages back to the kernel.
//!
//! Opening a connection runs deep call chains (HTTP, DNS, TLS) that touch
//! tens of KiB of stack; the pages stay resident while the thread then
//! spends hours blocked in a shallow `read`. With thousands of clients that
//! is most of the process's memory, so after each connection opens the
//! worker drops the pages below its current frame: they are dead (nothing
//! lives below the stack pointer; signals are blocked on workers) and come
//! back zero-filled if a later call goes that deep again.

/// Room left below the caller's frame: the next calls (a read through the
/// HTTP stack) reuse it without faulting pages back in.
const KEEP_BELOW_BYTES: usize = 4 * 1024;

/// Releases the calling thread's stack pages more than
/// [`KEEP_BELOW_BYTES`] below this call's frame. Best effort: does nothing
/// where the stack bounds cannot be read.
#[cfg(target_os = "linux")]
#[inline(never)]
pub fn release_idle_pages() {
    let marker = 0u8;
    let frame = std::ptr::addr_of!(marker) as usize;
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, which
    // is destroyed after use; pthread_attr_getstack only reads it.
    let (low, size) = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let found = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if found != 0 {
            return;
        }
        (addr as usize, size)
    };
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = low.next_multiple_of(page);
    let end = frame.saturating_sub(KEEP_BELOW_BYTES) / page * page;
    if frame < low || frame >= low + size || end <= start {
        return; // not on this stack (should not happen), or nothing to drop
    }
    // SAFETY: [start, end) lies inside this thread's stack, below the live
    // frames (the stack grows down), so no live data is there; MADV_DONTNEED
    // on private anonymous memory just makes the pages read as zero again.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
    }
}

/// Elsewhere: nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn release_idle_pages() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn touch_deep(depth: usize) -> u64 {
        let mut block = [0u8; 4096];
        block[depth % 4096] = depth as u8;
        let below = if depth > 0 { touch_deep(depth - 1) } else { 0 };
        std::hint::black_box(&block);
        below + u64::from(block[depth % 4096])
    }

    #[test]
    #[cfg_attr(miri, ignore)] // calls into libc
    fn the_stack_still_works_after_its_idle_pages_are_dropped() {
        let sum = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let first = touch_deep(40);
                release_idle_pages();
                let again = touch_deep(40); // faults fresh zero pages in
                release_idle_pages();
                first + again
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(sum, 2 * (0..=40u64).map(|d| d % 256).sum::<u64>());
    }
}
