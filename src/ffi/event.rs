//! `sse_event`: one delivered item, owned by the caller.

use std::ffi::c_char;

use std::borrow::Cow;

use super::{ffi_guard, nul_terminate, sse_status};
use crate::batch::{MessageRef, MessageSpans, Span};
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
    /// The strings handed to C, each with the NUL after it.
    text: Strings,
    /// The item and its headers (None for a message borrowed from a
    /// batch): boxed, so that a batch's events stay small (80 bytes, not
    /// 200: a pulled batch of a thousand messages writes them all).
    owned: Option<Box<Owned>>,
    /// A borrowed message's `retry`.
    retry: Option<u64>,
    /// Made by `boxed`: `sse_event_free` may free it.
    freeable: bool,
}

/// A string handed to C: a pointer allowed to read the string and the NUL
/// after it (derived from the owning buffer, never from a `&str`, whose
/// borrow ends before the NUL), and its length.
#[derive(Clone, Copy)]
struct CText {
    ptr: *const c_char,
    len: usize,
}

const EMPTY_TEXT: CText = CText { ptr: EMPTY, len: 0 };
const MESSAGE_TEXT: CText = CText {
    ptr: c"message".as_ptr(),
    len: 7,
};

impl CText {
    /// NUL-terminates `text` in place and points at it through its buffer.
    fn owned(text: &mut String) -> CText {
        if text.is_empty() {
            return EMPTY_TEXT;
        }
        nul_terminate(text);
        let len = text.len();
        // SAFETY: only a pointer is taken; the bytes stay valid UTF-8.
        let ptr = unsafe { text.as_mut_vec() }.as_mut_ptr();
        CText {
            ptr: ptr.cast_const().cast(),
            len,
        }
    }

    /// This string re-derived from `base`, a pointer to the whole buffer
    /// of `buffer_len` bytes, when it lies in that buffer.
    fn rebased(self, base: *const u8, buffer_len: usize) -> CText {
        if self.len != 0 && self.ptr.addr().wrapping_sub(base.addr()) < buffer_len {
            CText {
                ptr: base.with_addr(self.ptr.addr()).cast(),
                len: self.len,
            }
        } else {
            self
        }
    }

    /// A string not in any buffer we own: "" or "message" (the only ones
    /// a message borrows from elsewhere); anything else through the `&str`
    /// (its NUL then lies outside the borrow until [`sse_event::rebase`]).
    fn fixed(text: &str) -> CText {
        match text {
            "" => EMPTY_TEXT,
            "message" => MESSAGE_TEXT,
            _ => CText {
                ptr: text.as_ptr().cast(),
                len: text.len(),
            },
        }
    }
}

/// One item of a batch as plain fields, filled by `sse_batch_views`: the
/// values of the `sse_event_*` accessors, read in one call per batch
/// instead of several per item (what a binding crossing an expensive
/// boundary, such as cgo, wants). The strings are NUL-terminated and
/// belong to the batch (valid until `sse_batch_free`); "" where the
/// accessor gives "".
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sse_item_view {
    /// The item itself, for what the view leaves out (headers, statuses).
    pub event: *const sse_event,
    /// What the item is.
    pub kind: sse_kind,
    /// `sse_event_type` (a type may contain NUL: use the length).
    pub event_type: *const c_char,
    /// `sse_event_type_len`.
    pub event_type_len: usize,
    /// `sse_event_data`: a message's data, a comment's text, an error's message.
    pub data: *const c_char,
    /// The data's length in bytes.
    pub data_len: usize,
    /// `sse_event_id`.
    pub id: *const c_char,
    /// `sse_event_id_len`.
    pub id_len: usize,
    /// `sse_event_retry_ms`: -1 if none.
    pub retry_ms: i64,
}

/// The strings of an event as C sees them.
struct Strings {
    event_type: CText,
    /// Data of a message, text of a comment, message of an error.
    data: CText,
    last_event_id: CText,
}

impl Strings {
    const NONE: Strings = Strings {
        event_type: EMPTY_TEXT,
        data: EMPTY_TEXT,
        last_event_id: EMPTY_TEXT,
    };
}

/// What an event that is not a borrowed message owns.
struct Owned {
    item: Item,
    /// (name, value) of each header of an open or error item.
    headers: Vec<(CText, CText)>,
}

fn owned_headers(headers: &mut [(String, String)]) -> Vec<(CText, CText)> {
    headers
        .iter_mut()
        .map(|(name, value)| (CText::owned(name), CText::owned(value)))
        .collect()
}

impl sse_event {
    /// Wraps `item`, NUL-terminating each of its strings in place.
    pub(crate) fn new(mut item: Item) -> Self {
        let mut text = Strings::NONE;
        let mut headers = Vec::new();
        match &mut item {
            Item::Message(event) => {
                text.event_type = match &mut event.event_type {
                    Cow::Owned(event_type) => CText::owned(event_type),
                    Cow::Borrowed(event_type) => CText::fixed(event_type),
                };
                text.data = CText::owned(&mut event.data);
                text.last_event_id = CText::owned(&mut event.last_event_id);
            }
            Item::Comment(comment) => text.data = CText::owned(comment),
            Item::Open { headers: list, .. } => headers = owned_headers(list),
            Item::Error { error, .. } => {
                text.data = CText::owned(&mut error.message);
                headers = owned_headers(&mut error.headers);
            }
            Item::Reconnecting { .. } | Item::Closed { .. } => {}
        }
        sse_event {
            owned: Some(Box::new(Owned { item, headers })),
            text,
            retry: None,
            freeable: false,
        }
    }

    /// An event lending `message`, whose strings are NUL-terminated in
    /// memory (as a [`crate::Batch`] keeps them). The pointers come from the
    /// `&str`s, so C would read each NUL past the borrow: callers
    /// [`sse_event::rebase`] them onto the batch's text buffer (a pulled
    /// batch and a callback's event both do).
    ///
    /// # Safety
    /// The message's strings must outlive every use of the event.
    pub(crate) unsafe fn borrowing(message: MessageRef<'_>) -> Self {
        sse_event {
            owned: None,
            text: Strings {
                event_type: CText::fixed(message.event_type),
                data: CText::fixed(message.data),
                last_event_id: CText::fixed(message.last_event_id),
            },
            retry: message.retry,
            freeable: false,
        }
    }

    /// A message of a pulled batch whose text buffer starts at `base`.
    ///
    /// # Safety
    /// `base` must point at the buffer `spans` index (each string followed
    /// by a NUL), which must outlive every use of the event.
    pub(crate) unsafe fn at(base: *const u8, spans: &MessageSpans) -> Self {
        let text_at = |span: Span| {
            if span.len == 0 {
                return EMPTY_TEXT;
            }
            CText {
                // SAFETY: the span lies in the buffer (the caller's word).
                ptr: unsafe { base.add(span.start) }.cast(),
                len: span.len,
            }
        };
        sse_event {
            owned: None,
            text: Strings {
                event_type: spans.event_type.map_or(MESSAGE_TEXT, text_at),
                data: text_at(spans.data),
                last_event_id: text_at(spans.last_event_id),
            },
            retry: spans.retry,
            freeable: false,
        }
    }

    /// A boxed event for the caller to own.
    pub(crate) fn boxed(item: Item) -> *mut sse_event {
        let mut event = Self::new(item);
        event.freeable = true;
        Box::into_raw(Box::new(event))
    }

    /// Re-derives a borrowed message's pointers from `base`, a pointer to
    /// the whole text buffer (`buffer_len` bytes) its strings lie in, so
    /// that each may read its NUL.
    pub(crate) fn rebase(&mut self, base: *const u8, buffer_len: usize) {
        if self.owned.is_some() {
            return; // owned strings: their pointers come from their buffers
        }
        let text = &mut self.text;
        for string in [
            &mut text.event_type,
            &mut text.data,
            &mut text.last_event_id,
        ] {
            *string = string.rebased(base, buffer_len);
        }
    }

    /// The item, unless this is a borrowed message.
    fn item(&self) -> Option<&Item> {
        self.owned.as_ref().map(|owned| &owned.item)
    }

    /// The headers as handed to C.
    fn c_headers(&self) -> &[(CText, CText)] {
        self.owned.as_ref().map_or(&[], |owned| &owned.headers)
    }

    /// The `retry` of a message.
    fn retry(&self) -> Option<u64> {
        match self.item() {
            None => self.retry,
            Some(Item::Message(event)) => event.retry,
            Some(_) => None,
        }
    }

    fn kind(&self) -> sse_kind {
        match self.item() {
            Some(Item::Message(_)) | None => sse_kind::SSE_KIND_MESSAGE,
            Some(Item::Comment(_)) => sse_kind::SSE_KIND_COMMENT,
            Some(Item::Open { .. }) => sse_kind::SSE_KIND_OPEN,
            Some(Item::Error { .. }) => sse_kind::SSE_KIND_ERROR,
            Some(Item::Reconnecting { .. }) => sse_kind::SSE_KIND_RECONNECTING,
            Some(Item::Closed { .. }) => sse_kind::SSE_KIND_CLOSED,
        }
    }

    /// The fields of `sse_item_view`, as the accessors give them.
    pub(crate) fn view(&self) -> sse_item_view {
        let text = &self.text;
        sse_item_view {
            event: self,
            kind: self.kind(),
            event_type: text.event_type.ptr,
            event_type_len: text.event_type.len,
            data: text.data.ptr,
            data_len: text.data.len,
            id: text.last_event_id.ptr,
            id_len: text.last_event_id.len,
            retry_ms: self
                .retry()
                .map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX)),
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

const EMPTY: *const c_char = c"".as_ptr();

unsafe fn event_ref<'a>(event: *const sse_event) -> Option<&'a sse_event> {
    unsafe { event.as_ref() }
}

/// The kind of the event (`SSE_KIND_MESSAGE` if `event` is NULL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_kind(event: *const sse_event) -> sse_kind {
    ffi_guard!(sse_kind::SSE_KIND_MESSAGE, {
        unsafe { event_ref(event) }.map_or(sse_kind::SSE_KIND_MESSAGE, sse_event::kind)
    })
}

/// The event type of a message ("message" unless the server set one);
/// "" for other kinds and for NULL. Valid until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_type(event: *const sse_event) -> *const c_char {
    ffi_guard!(EMPTY, {
        unsafe { event_ref(event) }.map_or(EMPTY, |e| e.text.event_type.ptr)
    })
}

/// The data of a message, the text of a comment, or the message of an
/// error; "" otherwise. Data may contain NUL bytes: `len` (if not NULL)
/// receives the exact length; the string is also NUL-terminated. Valid
/// until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_data(event: *const sse_event, len: *mut usize) -> *const c_char {
    ffi_guard!(EMPTY, {
        let text = unsafe { event_ref(event) }.map_or(EMPTY_TEXT, |e| e.text.data);
        if let Some(len) = unsafe { len.as_mut() } {
            *len = text.len;
        }
        text.ptr
    })
}

/// The length in bytes of `sse_event_type` (a type may contain NUL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_type_len(event: *const sse_event) -> usize {
    ffi_guard!(0, {
        unsafe { event_ref(event) }.map_or(0, |e| e.text.event_type.len)
    })
}

/// The length in bytes of `sse_event_id` (an id never contains NUL).
#[no_mangle]
pub unsafe extern "C" fn sse_event_id_len(event: *const sse_event) -> usize {
    ffi_guard!(0, {
        unsafe { event_ref(event) }.map_or(0, |e| e.text.last_event_id.len)
    })
}

/// The last event id in force for a message ("" if none or not a
/// message). Valid until `sse_event_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_event_id(event: *const sse_event) -> *const c_char {
    ffi_guard!(EMPTY, {
        unsafe { event_ref(event) }.map_or(EMPTY, |e| e.text.last_event_id.ptr)
    })
}

/// The `retry` value in milliseconds given in a message's own block of
/// lines (the client also applies it to its reconnection delay); -1 if the
/// block had none, for other kinds and for NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_event_retry_ms(event: *const sse_event) -> i64 {
    ffi_guard!(-1, {
        unsafe { event_ref(event) }
            .and_then(sse_event::retry)
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

/// The first bytes (at most 64 KiB) of the body of a refusal (an error
/// item of a non-2xx response): the server's reason, often JSON. Sets
/// `*len` (if `len` is not NULL) to their count. The bytes are not
/// NUL-terminated and may hold any byte; they live as long as the event.
/// NULL (and `*len` 0) for other items, and when the body was empty or in
/// a content coding other than gzip (a gzip body is decoded).
#[no_mangle]
pub unsafe extern "C" fn sse_event_error_body(
    event: *const sse_event,
    len: *mut usize,
) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        let body = match unsafe { event_ref(event) }.and_then(sse_event::item) {
            Some(Item::Error { error, .. }) if !error.body.is_empty() => Some(&error.body),
            _ => None,
        };
        if let Some(len) = unsafe { len.as_mut() } {
            *len = body.map_or(0, |b| b.len());
        }
        body.map_or(std::ptr::null(), |b| b.as_ptr().cast())
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
        let Some((n, v)) = event.c_headers().get(index) else {
            return sse_status::SSE_ERR_ARGUMENT;
        };
        unsafe {
            *name = n.ptr;
            *value = v.ptr;
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
        // The first match, as `headers::find` finds it.
        event
            .headers()
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(std::ptr::null(), |i| event.c_headers()[i].1.ptr)
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

/// Every string the C ABI hands out for events, read as C reads it, with
/// `CStr::from_ptr` up to and including its NUL; also run under Miri
/// (`make miri`), whose borrow model rejects a pointer that may not read
/// the NUL.
#[cfg(test)]
mod tests {
    use std::ffi::{c_void, CStr};

    use super::*;
    use crate::batch::Batch;
    use crate::error::{Error, ErrorKind};
    use crate::event::Event;
    use crate::ffi::batch::{sse_batch, sse_batch_event, sse_batch_free, sse_batch_len};

    fn read(ptr: *const c_char) -> String {
        assert!(!ptr.is_null());
        // SAFETY: the C ABI promises a NUL-terminated string.
        unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
    }

    fn message(event_type: &str, data: &str, id: &str) -> Item {
        let mut event = Event::from_parsed(&crate::parser::EventRef {
            event_type: event_type.into(),
            data: data.into(),
            last_event_id: id,
            retry: Some(7),
        });
        if event_type != "message" {
            event.event_type = Cow::Owned(event_type.to_owned());
        }
        Item::Message(event)
    }

    /// (type, data, id, retry, headers) as C reads them.
    type Seen = (String, String, String, i64, Vec<(String, String)>);

    unsafe fn strings_of(event: *const sse_event) -> Seen {
        let mut len = 0;
        let data = unsafe { sse_event_data(event, &mut len) };
        let data = read(data);
        assert_eq!(data.len(), len);
        let mut headers = Vec::new();
        for i in 0..unsafe { sse_event_header_count(event) } {
            let (mut name, mut value) = (std::ptr::null(), std::ptr::null());
            let status = unsafe { sse_event_header(event, i, &mut name, &mut value) };
            assert_eq!(status, sse_status::SSE_OK);
            let (name, value) = (read(name), read(value));
            let found = unsafe { sse_event_header_value(event, c"X-Two".as_ptr()) };
            if name == "x-two" {
                assert_eq!(read(found), value);
            }
            headers.push((name, value));
        }
        let event_type = read(unsafe { sse_event_type(event) });
        assert_eq!(event_type.len(), unsafe { sse_event_type_len(event) });
        let id = read(unsafe { sse_event_id(event) });
        assert_eq!(id.len(), unsafe { sse_event_id_len(event) });
        (
            event_type,
            data,
            id,
            unsafe { sse_event_retry_ms(event) },
            headers,
        )
    }

    fn seen(event_type: &str, data: &str, id: &str, retry: i64) -> Seen {
        (event_type.into(), data.into(), id.into(), retry, vec![])
    }

    fn headers() -> Vec<(String, String)> {
        vec![
            ("x-one".into(), "1".into()),
            ("x-two".into(), "two".into()),
            ("x-empty".into(), String::new()),
        ]
    }

    fn items() -> Vec<Item> {
        let error = Error {
            kind: ErrorKind::HttpStatus,
            message: "HTTP 503".into(),
            status: Some(503),
            headers: headers(),
            retry_after: None,
            permanent: false,
            body: b"{\"error\": \"busy\"}".to_vec(),
        };
        vec![
            message("message", "hello", "1"),
            message("tick", "a\nb", "22"),
            message("message", "", ""),
            Item::Comment("keep-alive".into()),
            Item::Comment(String::new()),
            Item::Open {
                status: 200,
                headers: headers(),
            },
            Item::Error {
                error,
                fatal: false,
            },
        ]
    }

    fn expected() -> Vec<Seen> {
        let named = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
        let all = [("x-one", "1"), ("x-two", "two"), ("x-empty", "")]
            .map(named)
            .to_vec();
        vec![
            seen("message", "hello", "1", 7),
            seen("tick", "a\nb", "22", 7),
            seen("message", "", "", 7),
            seen("", "keep-alive", "", -1),
            seen("", "", "", -1),
            ("".into(), "".into(), "".into(), -1, all.clone()),
            ("".into(), "HTTP 503".into(), "".into(), -1, all),
        ]
    }

    #[test]
    fn every_string_of_an_owned_event_reads_as_a_c_string() {
        for (item, want) in items().into_iter().zip(expected()) {
            let event = sse_event::boxed(item);
            assert_eq!(unsafe { strings_of(event) }, want);
            unsafe { sse_event_free(event) };
        }
    }

    #[test]
    fn every_string_of_a_batch_reads_as_a_c_string() {
        let batch = sse_batch::boxed(items().into_iter().collect::<Batch>());
        let len = unsafe { sse_batch_len(batch) };
        let want = expected();
        assert_eq!(len, want.len());
        for (i, want) in want.into_iter().enumerate() {
            let event = unsafe { sse_batch_event(batch, i) };
            assert_eq!(unsafe { strings_of(event) }, want, "item {i}");
        }
        unsafe { sse_batch_free(batch) };
    }

    #[test]
    fn every_string_of_a_batch_view_reads_as_a_c_string() {
        use crate::ffi::batch::sse_batch_views;
        let batch = sse_batch::boxed(items().into_iter().collect::<Batch>());
        let want = expected();
        let mut views = Vec::with_capacity(want.len());
        let filled = unsafe { sse_batch_views(batch, 0, views.as_mut_ptr(), want.len()) };
        assert_eq!(filled, want.len());
        // SAFETY: `filled` views were written.
        unsafe { views.set_len(filled) };
        for (i, (view, want)) in views.iter().zip(want).enumerate() {
            let view: &sse_item_view = view;
            assert!(std::ptr::eq(view.event, unsafe {
                sse_batch_event(batch, i)
            }));
            let (event_type, data, id) = (read(view.event_type), read(view.data), read(view.id));
            assert_eq!(
                (event_type.len(), data.len(), id.len()),
                (view.event_type_len, view.data_len, view.id_len)
            );
            assert_eq!(
                (event_type, data, id, view.retry_ms),
                (want.0, want.1, want.2, want.3),
                "item {i}"
            );
        }
        unsafe { sse_batch_free(batch) };
    }

    /// A C callback that records what it reads (userdata: a `Vec<Seen>`).
    unsafe extern "C" fn record(userdata: *mut c_void, event: *const sse_event) {
        let seen = unsafe { &mut *userdata.cast::<Vec<Seen>>() };
        seen.push(unsafe { strings_of(event) });
    }

    #[test]
    fn every_string_of_a_callback_event_reads_as_a_c_string() {
        let batch = items().into_iter().collect::<Batch>();
        let mut seen: Vec<Seen> = Vec::new();
        let mut callback = crate::ffi::client::CCallback {
            callback: record,
            userdata: (&mut seen as *mut Vec<Seen>).cast(),
            userdata_free: None,
        };
        for item in batch.iter() {
            callback.call(item, batch.text());
        }
        drop(callback);
        assert_eq!(seen, expected());
    }

    #[test]
    fn a_null_event_reads_as_empty_strings() {
        let null = std::ptr::null();
        assert_eq!(unsafe { strings_of(null) }, seen("", "", "", -1));
    }
}
