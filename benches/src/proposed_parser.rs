//! A proposed `src/parser.rs`, measured beside the real one by the
//! benchmark (`libsse (proposed)`) and checked against it by the
//! differential test in `differential.rs`. It is not used by the library;
//! once `src/parser.rs` adopts these changes this file and its contender
//! are deleted. It is `src/parser.rs` of commit 0f8aa66 with the changes
//! below (`git show 0f8aa66:src/parser.rs | diff -u - <(tail -n +27
//! benches/src/proposed_parser.rs)`); BENCHMARKS.md gives the numbers:
//!
//! 1. `dispatch` no longer compares `last_event_id != id_buffer` per
//!    event (an `id_changed` flag instead): with both strings empty glibc's
//!    AVX-512 `memcmp` does a masked load from the dangling pointer, which
//!    takes a microcode assist on this CPU (~70 ns per event).
//! 2. UTF-8: `from_utf8` (fast validator) instead of `from_utf8_lossy`
//!    (`Utf8Chunks`, byte at a time, even on valid input), and for slices
//!    of the input one validation per 64 KiB block, not per event.
//! 3. Zero copy: an event whose data is one line lying whole in the input
//!    lends that slice (copied only if the event is still open when the
//!    input ends); a `data:` line straddling reads streams into the data
//!    buffer instead of going through `partial_line` and being copied
//!    again.
//! 4. Blank line right after a line end: dispatched without a search;
//!    `data:` lines skip the colon search; line ends in the first 64 bytes
//!    are found with inline SSE2 before falling back to `memchr2`.
//!
//! Everything below this header is the proposed file verbatim.

//! Incremental, spec-exact parser for `text/event-stream` (WHATWG HTML,
//! "Parsing an event stream" and "Interpreting an event stream").
//!
//! The parser does no I/O: feed it bytes with arbitrary chunk boundaries
//! and it lends each complete item to a callback. Lines that lie whole in
//! the input are interpreted in place; only a line that straddles two
//! chunks is copied, once, into a reused buffer. Every byte is scanned a
//! bounded number of times, so the cost is linear in the input whatever
//! the chunking.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

/// Default maximum size of one line and of one event's data: 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An event lent by the parser; valid only inside the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The event type; `message` when the stream gave none.
    pub event_type: Cow<'a, str>,
    /// The data lines joined with LF (without the final LF).
    pub data: Cow<'a, str>,
    /// The last event id in force when the event was dispatched.
    pub last_event_id: &'a str,
}

/// One item found in the stream, lent to the `feed` callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedItem<'a> {
    /// A complete event (dispatched by a blank line).
    Event(EventRef<'a>),
    /// A comment line (`:` and the text after it, one leading space
    /// removed), surfaced as soon as its line ends.
    Comment(Cow<'a, str>),
    /// A valid `retry` field: the new reconnection time in milliseconds.
    Retry(u64),
}

/// Why the parser refused input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A line or an event's data grew past the configured limit. The
    /// offending event is discarded up to its blank line; the rest of the
    /// input is parsed as usual.
    TooLarge {
        /// The limit in bytes that was exceeded.
        limit: usize,
    },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::TooLarge { limit } => {
                write!(f, "line or event larger than the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// The incremental event-stream parser. See the module docs.
#[derive(Debug, Clone)]
pub struct Parser {
    max_size: usize,
    /// Still looking at the first bytes of the stream for a BOM.
    at_stream_start: bool,
    /// Bytes of a possible BOM seen so far at the stream start.
    bom_prefix: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting the next chunk
    /// belongs to the same line end.
    pending_cr: bool,
    /// Skipping the rest of an oversized line.
    discarding_line: bool,
    /// Skipping the fields of an event that grew too large, up to its
    /// blank line.
    discarding_event: bool,
    /// The first error met in the current `feed` call.
    error: Option<ParseError>,
    /// Start of a line that straddles chunks.
    partial_line: Vec<u8>,
    data: Vec<u8>,
    event_type: Vec<u8>,
    id_buffer: String,
    last_event_id: String,
    retry: Option<u64>,
    work: u64,
    /// An `id` field was seen since the last dispatch.
    id_changed: bool,
    /// The event's data is one line lying whole in the current input:
    /// its value's range there (no copy). Only set inside `feed_lines`.
    borrowed: Option<(usize, usize)>,
    /// A `data:` line straddles reads: its value so far is in `data`,
    /// the rest is appended as it arrives (no `partial_line` detour).
    data_line_open: bool,
    /// Length of the open data line so far (for the line limit).
    open_line_len: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with the default size limit ([`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser refusing lines or event data longer than `max_size` bytes
    /// (a limit of 0 is raised to 1).
    pub fn with_max_size(max_size: usize) -> Self {
        Parser {
            max_size: max_size.max(1),
            at_stream_start: true,
            bom_prefix: Vec::new(),
            pending_cr: false,
            discarding_line: false,
            discarding_event: false,
            error: None,
            partial_line: Vec::new(),
            data: Vec::new(),
            event_type: Vec::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            retry: None,
            work: 0,
            id_changed: false,
            borrowed: None,
            data_line_open: false,
            open_line_len: 0,
        }
    }

    /// The size limit in bytes for one line and for one event's data.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The last event id committed by a dispatch (a blank line): the value
    /// to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Sets the last event id, as a client does with the id it resumes from.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.last_event_id.clear();
        self.last_event_id.push_str(id);
        self.id_buffer.clear();
        self.id_buffer.push_str(id);
    }

    /// The last valid `retry` value seen, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Bytes scanned plus bytes copied so far: a machine-independent
    /// measure of the work done, used to check that parsing stays linear.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Prepares for a new stream (a reconnection): drops any partial line
    /// and event, expects a BOM again, keeps the last event id and retry.
    pub fn reset_stream(&mut self) {
        self.at_stream_start = true;
        self.bom_prefix.clear();
        self.pending_cr = false;
        self.discarding_line = false;
        self.discarding_event = false;
        self.partial_line.clear();
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.id_changed = false;
        self.borrowed = None;
        self.data_line_open = false;
        self.open_line_len = 0;
    }

    /// Ends the stream: an unterminated line or event is discarded (never
    /// delivered, its id never committed), and the parser is ready for a
    /// new stream as after [`Parser::reset_stream`].
    pub fn finish(&mut self) {
        self.reset_stream();
    }

    /// Parses `input`, calling `on_item` for every complete item.
    ///
    /// On [`ParseError::TooLarge`] the event that grew too large is dropped
    /// (never delivered, its id never committed), the whole input is still
    /// parsed, and the error is returned at the end.
    pub fn feed<F>(&mut self, input: &[u8], mut on_item: F) -> Result<(), ParseError>
    where
        F: FnMut(ParsedItem<'_>),
    {
        self.feed_stream(input, &mut on_item);
        self.error.take().map_or(Ok(()), Err)
    }

    fn feed_stream<F>(&mut self, mut input: &[u8], on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        if self.at_stream_start {
            let take = (BOM.len() - self.bom_prefix.len()).min(input.len());
            self.bom_prefix.extend_from_slice(&input[..take]);
            input = &input[take..];
            let prefix_len = self.bom_prefix.len();
            if prefix_len < BOM.len() && self.bom_prefix[..] == BOM[..prefix_len] {
                return; // could still be a BOM: wait for more bytes
            }
            self.at_stream_start = false;
            let head = std::mem::take(&mut self.bom_prefix);
            if head != BOM {
                self.feed_lines(&head, on_item);
            }
        }
        self.feed_lines(input, on_item);
    }

    fn feed_lines<F>(&mut self, input: &[u8], on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        // UTF-8 is validated a block at a time (see `text`), not per event.
        let valid = &mut Utf8Window::default();
        let mut pos = 0;
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                pos = 1;
            }
        }
        while pos < input.len() {
            let in_line =
                !self.partial_line.is_empty() || self.discarding_line || self.data_line_open;
            if input[pos] == b'\n' && !in_line {
                // A blank line right after a line end: dispatch, no search.
                self.work += 1;
                pos += 1;
                self.dispatch(input, valid, on_item);
                continue;
            }
            let rest = &input[pos..];
            let Some(offset) = find_line_end(rest) else {
                self.work += rest.len() as u64;
                self.keep_partial_line(input, pos);
                break;
            };
            self.work += offset as u64 + 1;
            let (start, end) = (pos, pos + offset);
            let mut next = end + 1;
            if rest[offset] == b'\r' {
                match rest.get(offset + 1) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            pos = next;
            if self.discarding_line {
                self.discarding_line = false;
                continue;
            }
            if self.data_line_open {
                self.close_data_line(&input[start..end]);
            } else if self.partial_line.is_empty() {
                self.process_line(input, start, end, valid, true, on_item);
            } else if self.line_fits(self.partial_line.len() + offset) {
                self.work += offset as u64;
                let mut whole = std::mem::take(&mut self.partial_line);
                whole.extend_from_slice(&input[start..end]);
                let mut none = Utf8Window::default();
                self.process_line(&whole, 0, whole.len(), &mut none, false, on_item);
                whole.clear();
                self.partial_line = whole;
            } else {
                self.discarding_line = false;
            }
        }
        // Borrowed data of an event still open must outlive this input.
        self.own_data(input);
    }

    /// Copies borrowed data into `data`, as if it had been appended.
    fn own_data(&mut self, input: &[u8]) {
        if let Some((start, end)) = self.borrowed.take() {
            self.work += (end - start) as u64;
            self.data.extend_from_slice(&input[start..end]);
            self.data.push(b'\n');
        }
    }

    /// The input ended inside a line (`input[from..]`).
    fn keep_partial_line(&mut self, input: &[u8], from: usize) {
        let rest = &input[from..];
        if self.discarding_line {
            return;
        }
        if self.data_line_open {
            self.open_line_len += rest.len();
            if self.open_line_fits() {
                self.work += rest.len() as u64;
                self.data.extend_from_slice(rest);
            }
            return;
        }
        if self.partial_line.is_empty()
            && !self.discarding_event
            && rest.len() > DATA_PREFIX.len()
            && rest.starts_with(DATA_PREFIX)
        {
            // A data line straddling reads: stream its value into `data`.
            // (The byte after the colon is known, so the optional space is
            // decided.)
            self.own_data(input);
            self.data_line_open = true;
            self.open_line_len = rest.len();
            if self.open_line_fits() {
                let value = strip_space(&rest[DATA_PREFIX.len()..]);
                self.work += value.len() as u64;
                self.data.extend_from_slice(value);
            }
            return;
        }
        if self.line_fits(self.partial_line.len() + rest.len()) {
            self.work += rest.len() as u64;
            self.partial_line.extend_from_slice(rest);
        }
    }

    /// The line limit for an open data line; past it, the line is skipped
    /// and the event dropped, as `line_fits` does.
    fn open_line_fits(&mut self) -> bool {
        if self.open_line_len <= self.max_size {
            return true;
        }
        self.data_line_open = false;
        self.discarding_line = true;
        self.reject_event();
        false
    }

    /// The rest of an open data line arrived (`tail`, before its line end).
    fn close_data_line(&mut self, tail: &[u8]) {
        self.data_line_open = false;
        self.open_line_len += tail.len();
        if self.open_line_len > self.max_size || self.data.len() + tail.len() + 1 > self.max_size {
            self.reject_event();
            return;
        }
        self.work += tail.len() as u64;
        self.data.extend_from_slice(tail);
        self.data.push(b'\n');
    }

    /// Whether a line of `len` bytes is within the limit. When it is not,
    /// records the error, frees the partial line, skips to the next line
    /// end and drops the event being built.
    fn line_fits(&mut self, len: usize) -> bool {
        if len <= self.max_size {
            return true;
        }
        self.partial_line = Vec::new();
        self.discarding_line = true;
        self.reject_event();
        false
    }

    /// Records a size error and drops the current event up to its blank line.
    fn reject_event(&mut self) {
        self.error.get_or_insert(ParseError::TooLarge {
            limit: self.max_size,
        });
        self.data = Vec::new();
        self.borrowed = None;
        self.event_type.clear();
        self.discarding_event = true;
    }

    /// Interprets the line `input[start..end]`. `valid`: the input's
    /// UTF-8-valid prefix length; `borrowable`: `input` is the caller's
    /// input (not a reassembled line), so data may be lent from it.
    fn process_line<F>(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        valid: &mut Utf8Window,
        borrowable: bool,
        on_item: &mut F,
    ) where
        F: FnMut(ParsedItem<'_>),
    {
        let line = &input[start..end];
        if line.is_empty() {
            self.dispatch(input, valid, on_item);
            return;
        }
        if line.len() > self.max_size {
            self.reject_event();
            return;
        }
        let (name, value_at) = if line.starts_with(DATA_PREFIX) {
            (&b"data"[..], DATA_PREFIX.len())
        } else {
            match memchr(b':', line) {
                Some(0) => {
                    let text_start = if line.get(1) == Some(&b' ') { 2 } else { 1 };
                    on_item(ParsedItem::Comment(text(
                        input,
                        start + text_start,
                        end,
                        valid,
                    )));
                    return;
                }
                Some(colon) => (&line[..colon], colon + 1),
                None => (line, line.len()),
            }
        };
        if self.discarding_event {
            return;
        }
        let mut value_start = start + value_at;
        if value_start < end && input[value_start] == b' ' {
            value_start += 1;
        }
        let value = &input[value_start..end];
        match name {
            b"data" => {
                let held = self.data.len() + self.borrowed.map_or(0, |(s, e)| e - s + 1);
                if held + value.len() + 1 > self.max_size {
                    self.reject_event();
                    return;
                }
                if borrowable && held == 0 && self.borrowed.is_none() {
                    self.borrowed = Some((value_start, end));
                    return;
                }
                debug_assert!(borrowable || self.borrowed.is_none());
                self.own_data(input);
                self.work += value.len() as u64;
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if memchr(0, value).is_none() => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&String::from_utf8_lossy(value));
                self.id_changed = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |acc, digit| {
                    acc.saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                self.retry = Some(millis);
                on_item(ParsedItem::Retry(millis));
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn dispatch<F>(&mut self, input: &[u8], valid: &mut Utf8Window, on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        if self.discarding_event {
            self.discarding_event = false;
            self.id_buffer.clone_from(&self.last_event_id);
            self.id_changed = false;
            return;
        }
        if self.id_changed {
            self.id_changed = false;
            self.last_event_id.clone_from(&self.id_buffer);
        }
        let data = if let Some((start, end)) = self.borrowed.take() {
            text(input, start, end, valid)
        } else if self.data.is_empty() {
            self.event_type.clear();
            return;
        } else {
            self.data.pop(); // the final LF
            utf8(&self.data)
        };
        let event_type = if self.event_type.is_empty() {
            Cow::Borrowed("message")
        } else {
            utf8(&self.event_type)
        };
        on_item(ParsedItem::Event(EventRef {
            event_type,
            data,
            last_event_id: &self.last_event_id,
        }));
        self.data.clear();
        self.event_type.clear();
    }
}

const DATA_PREFIX: &[u8] = b"data:";

/// The first CR or LF in `hay`. Most lines are short: look at the first
/// 64 bytes with inline SSE2 (x86_64 baseline) before calling memchr2,
/// whose dispatch and set-up cost more than the search on a short line.
#[inline(always)]
fn find_line_end(hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let mut i = 0;
        // SAFETY: SSE2 is part of the x86_64 baseline; every load reads
        // 16 bytes inside `hay` (`i + 16 <= hay.len()`).
        unsafe {
            let lf = _mm_set1_epi8(b'\n' as i8);
            let cr = _mm_set1_epi8(b'\r' as i8);
            while i + 16 <= hay.len() && i < 64 {
                let v = _mm_loadu_si128(hay.as_ptr().add(i).cast::<__m128i>());
                let hits = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr));
                let mask = _mm_movemask_epi8(hits);
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
        memchr2(b'\n', b'\r', &hay[i..]).map(|p| p + i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        memchr2(b'\n', b'\r', hay)
    }
}

/// A range of the current input known to be UTF-8.
#[derive(Default)]
struct Utf8Window {
    start: usize,
    end: usize,
}

/// Validation block: large enough to amortize the call, small enough to
/// stay in cache between the line scan and the parse.
const UTF8_BLOCK: usize = 64 * 1024;

/// `input[start..end]` as text, validating ahead a block at a time.
#[inline(always)]
fn text<'a>(input: &'a [u8], start: usize, end: usize, window: &mut Utf8Window) -> Cow<'a, str> {
    if start < window.start || end > window.end {
        window.validate(input, start, end);
    }
    let bytes = &input[start..end];
    if end <= window.end {
        // SAFETY: `input[window.start..window.end]` is valid UTF-8, and
        // `start` and `end` lie in it on char boundaries (each is next to
        // an ASCII byte or an end of the window).
        Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        utf8(bytes)
    }
}

impl Utf8Window {
    /// Validates from `start` (a char boundary when the bytes are valid:
    /// it follows an ASCII line end, colon or space) to at least `end`.
    #[inline(never)]
    fn validate(&mut self, input: &[u8], start: usize, end: usize) {
        let stop = end.max(start + UTF8_BLOCK).min(input.len());
        let valid = match std::str::from_utf8(&input[start..stop]) {
            Ok(_) => stop - start,
            Err(e) => e.valid_up_to(),
        };
        *self = Utf8Window {
            start,
            end: start + valid,
        };
    }
}

/// Lossy UTF-8 decoding with the fast validator first: `from_utf8_lossy`
/// walks `Utf8Chunks`, a byte-at-a-time loop, even on valid input.
#[inline]
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Drops one leading U+0020 SPACE, as the spec does for field values.
fn strip_space(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of a parsed item, for comparisons.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Event(String, String, String),
        Comment(String),
        Retry(u64),
    }

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Owned> {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed(chunk, |item| out.push(own(item))).unwrap();
        }
        parser.finish();
        out
    }

    fn own(item: ParsedItem<'_>) -> Owned {
        match item {
            ParsedItem::Event(e) => Owned::Event(
                e.event_type.into_owned(),
                e.data.into_owned(),
                e.last_event_id.to_owned(),
            ),
            ParsedItem::Comment(c) => Owned::Comment(c.into_owned()),
            ParsedItem::Retry(r) => Owned::Retry(r),
        }
    }

    fn msg(data: &str, id: &str) -> Owned {
        Owned::Event("message".into(), data.into(), id.into())
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let out = parse_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(out, vec![msg("a\nb", "")]);
    }

    #[test]
    fn cr_only_stream() {
        let out = parse_chunks(&[b"data: a\r\rdata: b\r\r"]);
        assert_eq!(out, vec![msg("a", ""), msg("b", "")]);
    }

    #[test]
    fn bom_split_across_chunks_is_dropped_once() {
        let out = parse_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: x\n\n"]);
        assert_eq!(out, vec![msg("x", "")]);
        // A second BOM belongs to the field name, which is then unknown.
        let out = parse_chunks(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"]);
        assert_eq!(out, vec![msg("y", "")]);
    }

    #[test]
    fn partial_bom_prefix_is_data() {
        let out = parse_chunks(&[b"\xEF", b"data: x\n\n"]);
        assert_eq!(out, vec![]); // field name "\u{FFFD}data" is unknown
    }

    #[test]
    fn utf8_character_split_across_chunks() {
        let out = parse_chunks(&[b"data: \xE2\x82", b"\xAC\n\n"]);
        assert_eq!(out, vec![msg("\u{20AC}", "")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        let out = parse_chunks(&[b"data: a\xFFb\n\n"]);
        assert_eq!(out, vec![msg("a\u{FFFD}b", "")]);
    }

    #[test]
    fn id_commits_on_blank_line_even_without_data() {
        let mut parser = Parser::new();
        parser.feed(b"id: 7\n\n", |_| {}).unwrap();
        assert_eq!(parser.last_event_id(), "7");
        parser.feed(b"id: 8\ndata: cut", |_| {}).unwrap();
        parser.finish();
        assert_eq!(parser.last_event_id(), "7");
    }

    #[test]
    fn retry_rules() {
        let out = parse_chunks(&[b"retry: 5\nretry:02000\nretry:+5\nretry:  5\nretry:5x\n"]);
        assert_eq!(out, vec![Owned::Retry(5), Owned::Retry(2000)]);
    }

    #[test]
    fn comment_is_surfaced_at_line_end() {
        let mut parser = Parser::new();
        let mut out = Vec::new();
        parser
            .feed(b": keep-alive\n", |i| out.push(own(i)))
            .unwrap();
        assert_eq!(out, vec![Owned::Comment("keep-alive".into())]);
    }

    #[test]
    fn oversized_line_is_an_error_and_parsing_recovers() {
        let mut parser = Parser::with_max_size(8);
        let mut out = Vec::new();
        let err = parser
            .feed(b"data: 0123456789\n", |i| out.push(own(i)))
            .unwrap_err();
        assert_eq!(err, ParseError::TooLarge { limit: 8 });
        // The rest of the oversized event is dropped up to its blank line.
        parser
            .feed(b"data: r\n\ndata: ok\n\n", |i| out.push(own(i)))
            .unwrap();
        assert_eq!(out, vec![msg("ok", "")]);
    }

    #[test]
    fn oversized_partial_line_keeps_memory_bounded() {
        let mut parser = Parser::with_max_size(1024);
        let mut errors = 0;
        for _ in 0..100 {
            if parser.feed(&[b'x'; 100], |_| {}).is_err() {
                errors += 1;
            }
        }
        assert_eq!(errors, 1);
        assert!(parser.partial_line.capacity() <= 2048);
        let mut out = Vec::new();
        parser
            .feed(b"\n\ndata: after\n\n", |i| out.push(own(i)))
            .unwrap();
        assert_eq!(out, vec![msg("after", "")]);
    }

    #[test]
    fn oversized_event_data_is_an_error() {
        let mut parser = Parser::with_max_size(10);
        let result = parser.feed(b"data: 123456\ndata: 123456\n\n", |_| {});
        assert_eq!(result, Err(ParseError::TooLarge { limit: 10 }));
    }
}
