//! Cache prefetch hints. With thousands of streams on a loop thread, each
//! stream's state is cold when its next event comes; asking for it before
//! the `recv` system call lets the memory fetch overlap the call instead
//! of stalling the parse after it. A hint only: no effect on behaviour,
//! and nothing at all on targets without one.

/// Bytes per cache line assumed.
const LINE: usize = 64;

/// Hints that the `lines` cache lines from `value` on are read soon.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(value: &T, lines: usize) {
    let start = (value as *const T).cast::<u8>();
    for line in 0..lines {
        let address = start.wrapping_add(line * LINE);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults and reads nothing; the address
        // need not even be valid.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                address.cast::<i8>(),
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = address;
    }
}

/// Cache lines covering a value of type `T` (at most `max`).
pub(crate) const fn lines_of<T>(max: usize) -> usize {
    let lines = std::mem::size_of::<T>().div_ceil(LINE) + 1;
    if lines < max {
        lines
    } else {
        max
    }
}
