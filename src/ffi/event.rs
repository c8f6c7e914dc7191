//! `sse_event`: one delivered item, owned by the caller.

use std::ffi::c_char;

use std::borrow::Cow;

use super::{c_str, ffi_guard, nul_terminate, sse_status};
use crate::batch::MessageRef;
use crate::event::{CloseReason, Item};

/// What an `sse_event` is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_kind {
    /// A dispatched event: type, data, id.
    SSE_KIND_MESSAGE = 0,
    /// A comment line (keep-alive): its text is the data.
    SSE_KIND_COMMENT = 1,
    /// A connection opened: HTTP status and headers.
    SSE_KIND_OPEN = 2,
    /// A connection failed or broke: error status, message as data, HTTP
    /// status and headers when the server answered.
    SSE_KIND_ERROR = 3,
    /// A reconnection follows after a delay.
    SSE_KIND_RECONNECTING = 4,
    /// The client stopped for good; nothing follows.
    SSE_KIND_CLOSED = 5,
}

/// Why a client stopped (for `SSE_KIND_CLOSED`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_close_reason {
    /// Not a closed item.
    SSE_CLOSE_NONE = 0,
    /// The server answered 204 No Content.
    SSE_CLOSE_NO_CONTENT = 1,
    /// A one-shot stream ended cleanly.
    SSE_CLOSE_END_OF_STREAM = 2,
    /// `sse_client_close` was called.
    SSE_CLOSE_BY_USER = 3,
    /// A fatal error (the item before) ended the client.
    SSE_CLOSE_ERROR = 4,
}

/// One delivered item. Free with `sse_event_free` when it came from
/// `sse_next_event`, `sse_next_events` or `sse_parser_next`. An event of a
/// batch belongs to the batch (valid until `sse_batch_free`), and the event
/// a callback receives is borrowed for the call: `sse_event_free` ignores
/// both. Strings handed out are NUL-terminated, borrowed from the event,
/// and valid as long as it is. An event may be read from any thread, one
/// at a time.
pub struct sse_event {
    repr: Repr,
    /// Made by `boxed`: `sse_event_free` may free it.
    freeable: bool,
}

enum Repr {
    /// An item the event owns.
    Owned(Item),
    /// A message whose strings live in a batch that outlives the event.
    Borrowed(RawMessage),
}

/// A [`MessageRef`] without its lifetime: pointers into a batch's text.
#[derive(Clone, Copy)]
struct RawMessage {
    event_type: (*const u8, usize),
    data: (*const u8, usize),
    last_event_id: (*const u8, usize),
    retry: Option<u64>,
}

fn raw(text: &str) -> (*const u8, usize) {
    (text.as_ptr(), text.len())
}

/// # Safety
/// `(ptr, len)` came from [`raw`] on a string that is still alive.
unsafe fn unraw<'a>((ptr, len): (*const u8, usize)) -> &'a str {
    // SAFETY: the bytes are a live `str` (the caller's promise).
    unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
}

impl sse_event {
    /// Wraps `item`, NUL-terminating each of its strings in place.
    pub(crate) fn new(mut item: Item) -> Self {
        match &mut item {
            Item::Message(event) => {
                if let Cow::Owned(event_type) = &mut event.event_type {
                    nul_terminate(event_type);
                }
                nul_terminate(&mut event.data);
                nul_terminate(&mut event.last_event_id);
            }
            Item::Comment(text) => {
                nul_terminate(text);
            }
            Item::Open { headers, .. } => terminate_headers(headers),
            Item::Error { error, .. } => {
                nul_terminate(&mut error.message);
                terminate_headers(&mut error.headers);
            }
            Item::Reconnecting { .. } | Item::Closed { .. } => {}
        }
        sse_event {
            repr: Repr::Owned(item),
            freeable: false,
        }
    }

    /// An event lending `message`, whose strings are NUL-terminated in
    /// memory (as a [`crate::Batch`] keeps them).
    ///
    /// # Safety
    /// The message's strings must outlive every use of the event.
    pub(crate) unsafe fn borrowing(message: MessageRef<'_>) -> Self {
        sse_event {
            repr: Repr::Borrowed(RawMessage {
                event_type: raw(message.event_type),
                data: raw(message.data),
                last_event_id: raw(message.last_event_id),
                retry: message.retry,
            }),
            freeable: false,
        }
    }

    /// A boxed event for the caller to own.
    pub(crate) fn boxed(item: Item) -> *mut sse_event {
        let mut event = Self::new(item);
        event.freeable = true;
        Box::into_raw(Box::new(event))
    }

    /// The item, unless this is a borrowed message.
    fn item(&self) -> Option<&Item> {
        match &self.repr {
            Repr::Owned(item) => Some(item),
            Repr::Borrowed(_) => None,
        }
    }

    /// The message, if this is one.
    fn message(&self) -> Option<MessageRef<'_>> {
        match &self.repr {
            Repr::Owned(Item::Message(event)) => Some(MessageRef {
                event_type: &event.event_type,
                data: &event.data,
                last_event_id: &event.last_event_id,
                retry: event.retry,
            }),
            Repr::Owned(_) => None,
            // SAFETY: the batch (or the callback's caller) keeps the
            // strings alive while the event is used: the API's contract.
            Repr::Borrowed(raw) => Some(unsafe {
                MessageRef {
                    event_type: unraw(raw.event_type),
                    data: unraw(raw.data),
                    last_event_id: unraw(raw.last_event_id),
                    retry: raw.retry,
                }
            }),
        }
    }

    fn headers(&self) -> &[(String, String)] {
        match self.item() {
            Some(Item::Open { headers, .. }) => headers,
            Some(Item::Error { error, .. }) => &error.headers,
            _ => &[],
        }
    }
}

fn terminate_headers(headers: &mut [(String, String)]) {
    for (name, value) in headers {
        nul_terminate(name);
        nul_terminate(value);
    }
}

const EMPTY: *const c_char = c"".as_ptr();

unsafe fn event_ref<'a>(event: *const sse_event) -> Option<&'a sse_event> {
    unsafe { event.as_ref() }
}

/// The kind of the event (`SSE_KIND_MESSAGE` if `event` is NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_kind(event: *const sse_event) -> sse_kind {
    ffi_guard!(sse_kind::SSE_KIND_MESSAGE, {
        let Some(event) = (unsafe { event_ref(event) }) else {
            return sse_kind::SSE_KIND_MESSAGE;
        };
        match event.item() {
            Some(Item::Message(_)) | None => sse_kind::SSE_KIND_MESSAGE,
            Some(Item::Comment(_)) => sse_kind::SSE_KIND_COMMENT,
            Some(Item::Open { .. }) => sse_kind::SSE_KIND_OPEN,
            Some(Item::Error { .. }) => sse_kind::SSE_KIND_ERROR,
            Some(Item::Reconnecting { .. }) => sse_kind::SSE_KIND_RECONNECTING,
            Some(Item::Closed { .. }) => sse_kind::SSE_KIND_CLOSED,
        }
    })
}

/// The event type of a message ("message" unless the server set one);
/// "" for other kinds and for NULL. Valid until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_type(event: *const sse_event) -> *const c_char {
    ffi_guard!(EMPTY, {
        let message = unsafe { event_ref(event) }.and_then(sse_event::message);
        message.map_or(EMPTY, |m| c_str(m.event_type))
    })
}

/// The data of a message, the text of a comment, or the message of an
/// error; "" otherwise. Data may contain NUL bytes: `len` (if not NULL)
/// receives the exact length; the string is also NUL-terminated. Valid
/// until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_data(event: *const sse_event, len: *mut usize) -> *const c_char {
    ffi_guard!(EMPTY, {
        let event = unsafe { event_ref(event) };
        let text: Option<&str> = match event.and_then(sse_event::item) {
            Some(Item::Comment(text)) => Some(text),
            Some(Item::Error { error, .. }) => Some(&error.message),
            _ => event.and_then(sse_event::message).map(|m| m.data),
        };
        if let Some(len) = unsafe { len.as_mut() } {
            *len = text.map_or(0, str::len);
        }
        text.map_or(EMPTY, c_str)
    })
}

/// The length in bytes of `sse_event_type` (a type may contain NUL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_type_len(event: *const sse_event) -> usize {
    ffi_guard!(0, {
        let message = unsafe { event_ref(event) }.and_then(sse_event::message);
        message.map_or(0, |m| m.event_type.len())
    })
}

/// The length in bytes of `sse_event_id` (an id never contains NUL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_id_len(event: *const sse_event) -> usize {
    ffi_guard!(0, {
        let message = unsafe { event_ref(event) }.and_then(sse_event::message);
        message.map_or(0, |m| m.last_event_id.len())
    })
}

/// The last event id in force for a message ("" if none or not a
/// message). Valid until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_id(event: *const sse_event) -> *const c_char {
    ffi_guard!(EMPTY, {
        let message = unsafe { event_ref(event) }.and_then(sse_event::message);
        message.map_or(EMPTY, |m| c_str(m.last_event_id))
    })
}

/// The `retry` value in milliseconds given in a message's own block of
/// lines (the client also applies it to its reconnection delay); -1 if the
/// block had none, for other kinds and for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_event_retry_ms(event: *const sse_event) -> i64 {
    ffi_guard!(-1, {
        let message = unsafe { event_ref(event) }.and_then(sse_event::message);
        message
            .and_then(|m| m.retry)
            .map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX))
    })
}

/// The HTTP status of an open item, or of an error item when the server
/// answered; 0 otherwise.
#[no_mangle]
pub unsafe extern "C" fn sse_event_http_status(event: *const sse_event) -> u16 {
    ffi_guard!(0, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Open { status, .. }) => *status,
            Some(Item::Error { error, .. }) => error.status.unwrap_or(0),
            _ => 0,
        }
    })
}

/// The status code of an error item (`SSE_OK` for other kinds).
#[no_mangle]
pub unsafe extern "C" fn sse_event_error_status(event: *const sse_event) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Error { error, .. }) => error.kind.into(),
            _ => sse_status::SSE_OK,
        }
    })
}

/// True for an error item after which the client ends (no reconnection).
#[no_mangle]
pub unsafe extern "C" fn sse_event_is_fatal(event: *const sse_event) -> bool {
    ffi_guard!(false, {
        matches!(
            unsafe { event_ref(event) }.and_then(sse_event::item),
            Some(Item::Error { fatal: true, .. })
        )
    })
}

/// The server's Retry-After in milliseconds for an error item; -1 if none.
#[no_mangle]
pub unsafe extern "C" fn sse_event_retry_after_ms(event: *const sse_event) -> i64 {
    ffi_guard!(-1, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Error { error, .. }) => error
                .retry_after
                .map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            _ => -1,
        }
    })
}

/// The wait before the reconnection of a reconnecting item, in ms; 0 otherwise.
#[no_mangle]
pub unsafe extern "C" fn sse_event_delay_ms(event: *const sse_event) -> u64 {
    ffi_guard!(0, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Reconnecting { delay, .. }) => {
                u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
            }
            _ => 0,
        }
    })
}

/// The attempt number (from 1 since the last connection that delivered an
/// event or stayed up past the reset threshold) of a reconnecting item; 0
/// otherwise.
#[no_mangle]
pub unsafe extern "C" fn sse_event_attempt(event: *const sse_event) -> u32 {
    ffi_guard!(0, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Reconnecting { attempt, .. }) => *attempt,
            _ => 0,
        }
    })
}

/// Why a closed item ended the client; `SSE_CLOSE_NONE` for other kinds.
#[no_mangle]
pub unsafe extern "C" fn sse_event_close_reason(event: *const sse_event) -> sse_close_reason {
    ffi_guard!(sse_close_reason::SSE_CLOSE_NONE, {
        match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Closed { reason }) => match reason {
                CloseReason::NoContent => sse_close_reason::SSE_CLOSE_NO_CONTENT,
                CloseReason::EndOfStream => sse_close_reason::SSE_CLOSE_END_OF_STREAM,
                CloseReason::ClosedByUser => sse_close_reason::SSE_CLOSE_BY_USER,
                CloseReason::Error => sse_close_reason::SSE_CLOSE_ERROR,
            },
            _ => sse_close_reason::SSE_CLOSE_NONE,
        }
    })
}

/// The number of HTTP response headers of an open or error item (0 otherwise).
#[no_mangle]
pub unsafe extern "C" fn sse_event_header_count(event: *const sse_event) -> usize {
    ffi_guard!(0, {
        unsafe { event_ref(event) }.map_or(0, |e| e.headers().len())
    })
}

/// Header number `index` (from 0): its lowercased name and its value, both
/// NUL-terminated and valid until `sse_event_free`.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` when a pointer is NULL or
/// `index` is out of range (outputs untouched).
#[no_mangle]
pub unsafe extern "C" fn sse_event_header(
    event: *const sse_event,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let (Some(event), false, false) =
            (unsafe { event_ref(event) }, name.is_null(), value.is_null())
        else {
            return sse_status::SSE_ERR_ARGUMENT;
        };
        let Some((n, v)) = event.headers().get(index) else {
            return sse_status::SSE_ERR_ARGUMENT;
        };
        unsafe {
            *name = c_str(n);
            *value = c_str(v);
        }
        sse_status::SSE_OK
    })
}

/// The value of the first header named `name` (any case), or NULL if absent
/// or an argument is NULL. Valid until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_header_value(
    event: *const sse_event,
    name: *const c_char,
) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let (Some(event), Ok(name)) =
            (unsafe { event_ref(event) }, unsafe { super::str_arg(name) })
        else {
            return std::ptr::null();
        };
        crate::transport::header(event.headers(), name).map_or(std::ptr::null(), c_str)
    })
}

/// Frees an event. NULL, an event of a batch and the event a callback
/// receives are ignored (they are not the caller's to free).
#[no_mangle]
pub unsafe extern "C" fn sse_event_free(event: *mut sse_event) {
    ffi_guard!((), {
        if unsafe { event.as_ref() }.is_some_and(|e| e.freeable) {
            drop(unsafe { Box::from_raw(event) });
        }
    })
}
