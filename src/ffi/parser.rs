//! `sse_parser`: the standalone parser, for users with their own HTTP stack.

use std::collections::VecDeque;
use std::ffi::{c_char, CString};

use super::event::sse_event;
use super::{bytes_arg, c_string, ffi_guard, sse_status, try_mut};
use crate::event::{Event, Item};
use crate::parser::{ParsedItem, Parser, DEFAULT_MAX_EVENT_SIZE};

/// An incremental event-stream parser: feed bytes as they arrive, take
/// message and comment events out. Not thread-safe: one thread at a time.
pub struct sse_parser {
    parser: Parser,
    ready: VecDeque<Item>,
    last_event_id: CString,
}

/// Creates a parser refusing lines or events larger than `max_event_bytes`
/// (0: the default, 16 MiB). Free with `sse_parser_free`.
#[no_mangle]
pub extern "C" fn sse_parser_new(max_event_bytes: usize) -> *mut sse_parser {
    ffi_guard!(std::ptr::null_mut(), {
        let max = if max_event_bytes == 0 {
            DEFAULT_MAX_EVENT_SIZE
        } else {
            max_event_bytes
        };
        Box::into_raw(Box::new(sse_parser {
            parser: Parser::with_max_size(max),
            ready: VecDeque::new(),
            last_event_id: CString::default(),
        }))
    })
}

/// Parses `len` bytes (any chunking; `bytes` may be NULL when `len` is 0).
/// Complete items wait for `sse_parser_next`.
///
/// Returns `SSE_OK`; `SSE_ERR_TOO_LARGE` when an event grew past the
/// limit (that event is dropped, the rest of the input is parsed);
/// `SSE_ERR_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_parser_feed(
    parser: *mut sse_parser,
    bytes: *const u8,
    len: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(parser);
        let Some(bytes) = (unsafe { bytes_arg(bytes, len) }) else {
            return sse_status::SSE_ERR_ARGUMENT;
        };
        let ready = &mut handle.ready;
        let fed = handle.parser.feed(bytes, |item| match item {
            ParsedItem::Event(event) => ready.push_back(Item::Message(Event::from_parsed(&event))),
            ParsedItem::Comment(text) => ready.push_back(Item::Comment(text.into_owned())),
            ParsedItem::Retry(_) => {}
        });
        match fed {
            Ok(()) => sse_status::SSE_OK,
            Err(_) => sse_status::SSE_ERR_TOO_LARGE,
        }
    })
}

/// Takes the next parsed item (`SSE_KIND_MESSAGE` or `SSE_KIND_COMMENT`);
/// on `SSE_OK`, `*out` receives an event to free with `sse_event_free`.
///
/// Returns `SSE_OK`, `SSE_TIMEOUT` when nothing is pending (feed more), or
/// `SSE_ERR_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_parser_next(
    parser: *mut sse_parser,
    out: *mut *mut sse_event,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(parser);
        if out.is_null() {
            return sse_status::SSE_ERR_ARGUMENT;
        }
        match handle.ready.pop_front() {
            Some(item) => {
                unsafe { *out = sse_event::boxed(item) };
                sse_status::SSE_OK
            }
            None => sse_status::SSE_TIMEOUT,
        }
    })
}

/// Ends the stream: an unterminated event is discarded (its id never
/// committed); pending items stay available. The parser is then ready for
/// a new stream (a reconnection), keeping the last event id and retry.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_parser_finish(parser: *mut sse_parser) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        try_mut!(parser).parser.finish();
        sse_status::SSE_OK
    })
}

/// The last event id committed by the stream ("" if none). Owned by the
/// parser: valid until the next call on it. NULL if `parser` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_parser_last_event_id(parser: *mut sse_parser) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let Some(handle) = (unsafe { parser.as_mut() }) else {
            return std::ptr::null();
        };
        handle.last_event_id = c_string(handle.parser.last_event_id());
        handle.last_event_id.as_ptr()
    })
}

/// The last valid `retry:` value in milliseconds; -1 if none (or NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_parser_retry_ms(parser: *const sse_parser) -> i64 {
    ffi_guard!(-1, {
        unsafe { parser.as_ref() }
            .and_then(|h| h.parser.retry())
            .map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX))
    })
}

/// Frees a parser and its pending items. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sse_parser_free(parser: *mut sse_parser) {
    ffi_guard!((), {
        if !parser.is_null() {
            drop(unsafe { Box::from_raw(parser) });
        }
    })
}
