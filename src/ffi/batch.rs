//! `sse_batch`: the items of one network read, taken with one call and
//! freed with one call.

use super::event::sse_event;
use super::ffi_guard;
use crate::batch::{Batch, Part, Text};

/// Items taken together by `sse_next_batch`: what was left of one network
/// read, in stream order. Their events belong to the batch: read them with
/// the `sse_event_*` functions until `sse_batch_free`, never free them one
/// by one. A batch of a thousand small messages costs a handful of
/// allocations, not thousands.
pub struct sse_batch {
    events: Vec<sse_event>,
    /// The strings the messages' events point into; never mutated.
    _text: Text,
}

impl sse_batch {
    /// Boxes `batch` for the caller to own.
    pub(crate) fn boxed(batch: Batch) -> *mut sse_batch {
        let mut events = Vec::with_capacity(batch.len());
        let mut text = batch.into_text(|part| {
            events.push(match part {
                // SAFETY: the strings live in `text`, which the batch keeps
                // (unmutated, its bytes never moved) as long as the events.
                Part::Message(message) => unsafe { sse_event::borrowing(message) },
                Part::Other(item) => sse_event::new(item),
            })
        });
        // Pointers allowed to read each string's NUL: from the buffer.
        let (base, buffer_len) = (text.base_ptr(), text.buffer_len());
        for event in &mut events {
            event.rebase(base, buffer_len);
        }
        Box::into_raw(Box::new(sse_batch {
            events,
            _text: text,
        }))
    }
}

/// The number of items in a batch (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_batch_len(batch: *const sse_batch) -> usize {
    ffi_guard!(0, {
        unsafe { batch.as_ref() }.map_or(0, |b| b.events.len())
    })
}

/// Item number `index` (from 0) of a batch, owned by the batch and valid
/// until `sse_batch_free`; NULL if `batch` is NULL or `index` is out of
/// range.
#[no_mangle]
pub unsafe extern "C" fn sse_batch_event(
    batch: *const sse_batch,
    index: usize,
) -> *const sse_event {
    ffi_guard!(std::ptr::null(), {
        unsafe { batch.as_ref() }
            .and_then(|b| b.events.get(index))
            .map_or(std::ptr::null(), |event| event as *const sse_event)
    })
}

/// Frees a batch and every event in it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sse_batch_free(batch: *mut sse_batch) {
    ffi_guard!((), {
        if !batch.is_null() {
            drop(unsafe { Box::from_raw(batch) });
        }
    })
}
