//! `sse_batch`: the items of one network read, taken with one call and
//! freed with one call.

use super::event::{sse_event, sse_item_view};
use super::ffi_guard;
use crate::batch::{Batch, SpanPart, Text};

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
    /// Boxes `batch` for the caller to own. Runs on the consumer's
    /// thread, once per item: each message's pointers are the buffer's
    /// start plus its offsets (no string view, no second pass).
    pub(crate) fn boxed(mut batch: Batch) -> *mut sse_batch {
        let base = batch.text_base_ptr();
        let mut events = Vec::with_capacity(batch.len());
        let text = batch.into_spans(|part| {
            events.push(match part {
                // SAFETY: the strings live in `text`, which the batch keeps
                // (unmutated, its bytes never moved) as long as the events;
                // `base` points at its buffer.
                SpanPart::Message(spans) => unsafe { sse_event::at(base, &spans) },
                SpanPart::Other(item) => sse_event::new(item),
            })
        });
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

/// Fills `out[0..max]` with the views of items `first`, `first + 1`, ...
/// of a batch, each as the `sse_event_*` accessors would give it: a whole
/// batch in one call. Returns how many were filled (0 if `batch` or `out`
/// is NULL or `first` is past the end).
#[no_mangle]
pub unsafe extern "C" fn sse_batch_views(
    batch: *const sse_batch,
    first: usize,
    out: *mut sse_item_view,
    max: usize,
) -> usize {
    ffi_guard!(0, {
        let Some(batch) = (unsafe { batch.as_ref() }) else {
            return 0;
        };
        if out.is_null() {
            return 0;
        }
        let events = batch.events.get(first..).unwrap_or(&[]);
        let count = events.len().min(max);
        for (i, event) in events[..count].iter().enumerate() {
            // SAFETY: the caller gives room for `max` views at `out`.
            unsafe { out.add(i).write(event.view()) };
        }
        count
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
