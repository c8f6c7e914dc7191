//! Incremental, spec-exact parser for `text/event-stream` (WHATWG HTML,
//! "Parsing an event stream" and "Interpreting an event stream").
//!
//! The parser does no I/O: feed it bytes with arbitrary chunk boundaries
//! and it lends each complete item to a callback. Lines that lie whole in
//! the input are interpreted in place, and an event whose data is one such
//! line is lent straight from the input (the common case: no copy at all).
//! Otherwise data values are copied, once, into a reused buffer: a data
//! line that straddles chunks streams its value there as it arrives, and
//! any other straddling line is held there until it ends. Text lent from
//! the input is validated as UTF-8 a block at a time, not per item. Every
//! byte is scanned a bounded number of times, so the cost is linear in the
//! input whatever the chunking.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

/// Default size limit: 16 MiB. See [`Parser::with_max_size`].
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
    /// The value of a valid `retry` field in this event's block (the
    /// lines since the previous blank line), if there was one.
    pub retry: Option<u64>,
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
    /// A line, together with the data already buffered for its event,
    /// grew past the configured limit. The offending event is discarded
    /// up to its blank line; the rest of the input is parsed as usual.
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
    bom_prefix: [u8; 3],
    bom_len: usize,
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
    /// The current event's data (`buf[..data_len]`, each line followed by
    /// LF), then the start of a line that straddles chunks
    /// (`buf[data_len..]`; of a `data:` line, only its value so far). One
    /// buffer for both, its capacity never above `max_size`: that is the
    /// memory bound. (An event lent from the input is not copied here.)
    buf: Vec<u8>,
    data_len: usize,
    event_type: Vec<u8>,
    id_buffer: String,
    last_event_id: String,
    /// An `id` field changed `id_buffer` since the last dispatch. When it
    /// is false, `id_buffer == last_event_id`, so a dispatch has nothing
    /// to commit (no per-event string comparison).
    id_changed: bool,
    /// How many times `last_event_id` was set (by a dispatch that
    /// committed an id, or by `set_last_event_id`).
    id_commits: u64,
    /// The event's data is one line lying whole in the current input: the
    /// range of its value there, lent without a copy. Set only inside
    /// `feed_lines`, which copies it into `buf` (`own_lent`) before it
    /// returns if the event is still open.
    lent: Option<(usize, usize)>,
    /// A `data:` line straddles inputs: `buf[data_len..]` holds its value
    /// so far (without the field name), the rest is appended as it comes.
    data_line_open: bool,
    /// The length of the open data line so far, field name included (the
    /// limit counts whole lines).
    open_line_len: usize,
    retry: Option<u64>,
    /// A valid `retry` field seen since the last blank line.
    block_retry: Option<u64>,
    work: u64,
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

    /// A parser limited to `max_size` bytes (a limit of 0 is raised to 1).
    ///
    /// The limit bounds each line together with the data already buffered
    /// for its event: a line is refused with [`ParseError::TooLarge`] when
    /// the event's data so far (its data lines, each with its LF) plus the
    /// line's own bytes would exceed it. So no line, and no event's data,
    /// is longer than the limit, and the one buffer holding both never
    /// grows past it ([`Parser::buffered_bytes`]), however the input is
    /// cut. The decision depends only on the bytes, never on the chunking.
    /// (The event type and the ids are each at most one line long.)
    pub fn with_max_size(max_size: usize) -> Self {
        Parser {
            max_size: max_size.max(1),
            at_stream_start: true,
            bom_prefix: [0; 3],
            bom_len: 0,
            pending_cr: false,
            discarding_line: false,
            discarding_event: false,
            error: None,
            buf: Vec::new(),
            data_len: 0,
            event_type: Vec::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            id_changed: false,
            id_commits: 0,
            lent: None,
            data_line_open: false,
            open_line_len: 0,
            retry: None,
            block_retry: None,
            work: 0,
        }
    }

    /// The size limit in bytes (see [`Parser::with_max_size`]).
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The last event id committed by a dispatch (a blank line): the value
    /// to send as `Last-Event-ID` when reconnecting.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// A count that moves whenever [`Parser::last_event_id`] may have
    /// changed: comparing two counts is cheaper than comparing the ids.
    pub fn id_commits(&self) -> u64 {
        self.id_commits
    }

    /// Sets the last event id, as a client does with the id it resumes from.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.id_commits += 1;
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

    /// Heap bytes reserved for the event being assembled and the line
    /// being read (the capacity of their shared buffer). Never more than
    /// [`Parser::max_size`]; kept between events for reuse.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Prepares for a new stream (a reconnection): drops any partial line
    /// and event, expects a BOM again, keeps the last event id and retry.
    pub fn reset_stream(&mut self) {
        self.at_stream_start = true;
        self.bom_len = 0;
        self.pending_cr = false;
        self.discarding_line = false;
        self.discarding_event = false;
        self.buf.clear();
        self.data_len = 0;
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.id_changed = false;
        self.lent = None;
        self.data_line_open = false;
        self.open_line_len = 0;
        self.block_retry = None;
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
        // Lent ranges never outlive a `feed` call; this one only matters if
        // a callback panicked in the previous call and the caller went on.
        self.lent = None;
        self.feed_stream(input, &mut on_item);
        self.error.take().map_or(Ok(()), Err)
    }

    fn feed_stream<F>(&mut self, mut input: &[u8], on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        if self.at_stream_start && self.bom_len == 0 && input.len() >= BOM.len() {
            // The common case: the first input holds the whole BOM or not.
            // Parsed in place, so that its first line can be lent.
            self.at_stream_start = false;
            input = input.strip_prefix(BOM).unwrap_or(input);
        }
        if self.at_stream_start {
            let take = (BOM.len() - self.bom_len).min(input.len());
            self.bom_prefix[self.bom_len..self.bom_len + take].copy_from_slice(&input[..take]);
            self.bom_len += take;
            input = &input[take..];
            let head = self.bom_prefix;
            let head = &head[..self.bom_len];
            if head.len() < BOM.len() && *head == BOM[..head.len()] {
                return; // could still be a BOM: wait for more bytes
            }
            self.at_stream_start = false;
            self.bom_len = 0;
            if head != BOM {
                self.feed_lines(head, on_item);
            }
        }
        self.feed_lines(input, on_item);
    }

    fn feed_lines<F>(&mut self, input: &[u8], on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        let mut pos = 0;
        if self.pending_cr && !input.is_empty() {
            self.pending_cr = false;
            if input[0] == b'\n' {
                pos = 1;
            }
        }
        if pos < input.len() && self.in_line() {
            // The input starts by continuing a line begun in an earlier one.
            let rest = &input[pos..];
            let Some(offset) = find_line_end(rest) else {
                self.work += rest.len() as u64;
                self.continue_line(rest);
                return;
            };
            self.work += offset as u64 + 1;
            pos = self.after_line_end(input, pos + offset);
            self.end_continued_line(&rest[..offset], on_item);
        }
        // From here on every line starts in `input`.
        let mut window = Utf8Window::default();
        while pos < input.len() {
            if input[pos] == b'\n' {
                // A blank line right after a line end: dispatch, no search.
                self.work += 1;
                pos += 1;
                self.dispatch(input, &mut window, on_item);
                continue;
            }
            let rest = &input[pos..];
            let Some(offset) = find_line_end(rest) else {
                self.work += rest.len() as u64;
                self.own_lent(input);
                self.continue_line(rest);
                return;
            };
            self.work += offset as u64 + 1;
            let (start, end) = (pos, pos + offset);
            pos = self.after_line_end(input, end);
            self.whole_line(input, start, end, &mut window, on_item);
        }
        // Data lent from `input` must outlive it if its event is still open.
        self.own_lent(input);
    }

    /// Where the line ending at `input[end]` (CR or LF) is followed by the
    /// next line; notes a CR that ends the input (an LF may follow).
    fn after_line_end(&mut self, input: &[u8], end: usize) -> usize {
        let mut next = end + 1;
        if input[end] == b'\r' {
            match input.get(next) {
                Some(b'\n') => next += 1,
                Some(_) => {}
                None => self.pending_cr = true,
            }
        }
        next
    }

    /// A line begun in an earlier input is still open.
    fn in_line(&self) -> bool {
        self.buf.len() > self.data_len || self.data_line_open || self.discarding_line
    }

    /// The bytes of the event's data so far, each line with its LF,
    /// counting a lent line (the limit counts them alike).
    fn held(&self) -> usize {
        self.buf.len() + self.lent.map_or(0, |(start, end)| end - start + 1)
    }

    /// Bytes of a line that the input does not finish (a new line, or
    /// more of an open one).
    fn continue_line(&mut self, more: &[u8]) {
        if self.discarding_line {
            return;
        }
        if self.data_line_open {
            self.open_line_len += more.len();
            if self.data_len + self.open_line_len > self.max_size {
                self.data_line_open = false;
                self.reject_event();
                self.discarding_line = true;
                return;
            }
            self.reserve(more.len());
            self.work += more.len() as u64;
            self.buf.extend_from_slice(more);
            return;
        }
        if self.buf.len() + more.len() > self.max_size {
            self.reject_event();
            self.discarding_line = true;
            return;
        }
        if let Some(skip) = self.data_value_start(more) {
            // A data line: from now on its value goes straight to the
            // data, without the field name (dropped from `buf`).
            self.open_line_len = self.buf.len() - self.data_len + more.len();
            self.buf.truncate(self.data_len);
            self.data_line_open = true;
            let value = &more[skip..];
            self.reserve(value.len());
            self.work += value.len() as u64;
            self.buf.extend_from_slice(value);
            return;
        }
        self.reserve(more.len());
        self.work += more.len() as u64;
        self.buf.extend_from_slice(more);
    }

    /// The open line of an earlier input ends with `tail`.
    fn end_continued_line<F>(&mut self, tail: &[u8], on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        if self.discarding_line {
            self.discarding_line = false;
            return;
        }
        if self.data_line_open {
            self.data_line_open = false;
            if self.data_len + self.open_line_len + tail.len() > self.max_size {
                self.reject_event();
                return;
            }
            self.append_data(tail);
            return;
        }
        if self.buf.len() + tail.len() > self.max_size {
            self.reject_event();
            return;
        }
        if let Some(skip) = self.data_value_start(tail) {
            self.buf.truncate(self.data_len);
            self.append_data(&tail[skip..]);
            return;
        }
        // Complete the line in the buffer and interpret it there.
        self.reserve(tail.len());
        self.work += tail.len() as u64;
        self.buf.extend_from_slice(tail);
        let buf = std::mem::take(&mut self.buf);
        debug_assert!(buf.len() > self.data_len, "a partial line is never blank");
        let mut window = Utf8Window::default();
        let data_value =
            self.process_line(&buf, self.data_len, buf.len(), &mut window, false, on_item);
        self.buf = buf;
        match data_value {
            Some(from) => {
                // A short data line (`data` or `data:`, decided only at its
                // end): move its value down over the field name.
                let cut = from - self.data_len;
                self.work += (self.buf.len() - from) as u64;
                self.buf.copy_within(from.., self.data_len);
                self.buf.truncate(self.buf.len() - cut);
                self.buf.push(b'\n'); // fits: `cut` >= 4 bytes were cut
                self.data_len = self.buf.len();
            }
            None => self.buf.truncate(self.data_len),
        }
    }

    /// If the open line (`buf[data_len..]`, fewer than 6 bytes) followed
    /// by `more` is seen to be a `data:` line of an event being kept (its
    /// first 6 bytes decide it, the optional space included), where its
    /// value starts in `more`.
    fn data_value_start(&self, more: &[u8]) -> Option<usize> {
        let partial = &self.buf[self.data_len..];
        let have = partial.len();
        if self.discarding_event || have >= 6 || have + more.len() < 6 {
            return None;
        }
        let mut head = [0; 6];
        head[..have].copy_from_slice(partial);
        head[have..].copy_from_slice(&more[..6 - have]);
        if head[..5] != *DATA_PREFIX {
            return None;
        }
        Some(5 + usize::from(head[5] == b' ') - have)
    }

    /// A line lying whole in `input`: interpreted in place.
    #[inline(always)]
    fn whole_line<'a, F>(
        &mut self,
        input: &'a [u8],
        start: usize,
        end: usize,
        window: &mut Utf8Window<'a>,
        on_item: &mut F,
    ) where
        F: FnMut(ParsedItem<'_>),
    {
        if self.held() + (end - start) > self.max_size {
            self.reject_event();
            return;
        }
        if let Some(value) = self.process_line(input, start, end, window, true, on_item) {
            self.own_lent(input);
            self.append_data(&input[value..end]);
        }
    }

    /// Appends a data line's value and its LF to the event's data.
    fn append_data(&mut self, value: &[u8]) {
        self.reserve(value.len() + 1);
        self.work += value.len() as u64;
        self.buf.extend_from_slice(value);
        self.buf.push(b'\n');
        self.data_len = self.buf.len();
    }

    /// Copies lent data into `buf`, as if it had been appended.
    fn own_lent(&mut self, input: &[u8]) {
        if let Some((start, end)) = self.lent.take() {
            self.append_data(&input[start..end]);
        }
    }

    /// Reserves room for `additional` more bytes in `buf`, growing
    /// geometrically (so appends stay linear overall) but never past the
    /// limit (callers have checked that the bytes themselves fit).
    fn reserve(&mut self, additional: usize) {
        let needed = self.buf.len() + additional;
        if needed > self.buf.capacity() {
            let target = (self.buf.capacity() * 2)
                .max(64)
                .min(self.max_size)
                .max(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// Records a size error and drops the current event (and any partial
    /// line) up to its blank line.
    fn reject_event(&mut self) {
        self.error.get_or_insert(ParseError::TooLarge {
            limit: self.max_size,
        });
        self.buf = Vec::new();
        self.data_len = 0;
        self.lent = None;
        self.data_line_open = false;
        self.event_type.clear();
        self.discarding_event = true;
    }

    /// Interprets the complete, non-oversized line `input[start..end]`.
    /// For a `data` line of an event being kept, either lends its value
    /// (`lend`: `input` is the caller's input and the event has no data
    /// yet) or returns where the value starts; the caller appends it.
    #[inline(always)]
    fn process_line<'a, F>(
        &mut self,
        input: &'a [u8],
        start: usize,
        end: usize,
        window: &mut Utf8Window<'a>,
        lend: bool,
        on_item: &mut F,
    ) -> Option<usize>
    where
        F: FnMut(ParsedItem<'_>),
    {
        let line = &input[start..end];
        if line.is_empty() {
            self.dispatch(input, window, on_item);
            return None;
        }
        let (name, mut value_start) = if line.starts_with(DATA_PREFIX) {
            (&DATA_PREFIX[..4], start + DATA_PREFIX.len())
        } else {
            match memchr(b':', line) {
                Some(0) => {
                    let text_start = start + 1 + usize::from(line.get(1) == Some(&b' '));
                    on_item(ParsedItem::Comment(text(input, text_start, end, window)));
                    return None;
                }
                Some(colon) => (&line[..colon], start + colon + 1),
                None => (line, end),
            }
        };
        if self.discarding_event {
            return None;
        }
        if value_start < end && input[value_start] == b' ' {
            value_start += 1;
        }
        let value = &input[value_start..end];
        match name {
            b"data" => {
                if lend && self.data_len == 0 && self.lent.is_none() {
                    self.lent = Some((value_start, end));
                    return None;
                }
                return Some(value_start);
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if memchr(0, value).is_none() => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&utf8(value));
                self.id_changed = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |acc, digit| {
                    acc.saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                self.retry = Some(millis);
                self.block_retry = Some(millis);
                on_item(ParsedItem::Retry(millis));
            }
            _ => {}
        }
        None
    }

    #[inline(always)]
    fn dispatch<'a, F>(&mut self, input: &'a [u8], window: &mut Utf8Window<'a>, on_item: &mut F)
    where
        F: FnMut(ParsedItem<'_>),
    {
        let retry = self.block_retry.take();
        if self.discarding_event {
            self.discarding_event = false;
            self.id_buffer.clone_from(&self.last_event_id);
            self.id_changed = false;
            return;
        }
        if self.id_changed {
            self.id_changed = false;
            self.id_commits += 1;
            self.last_event_id.clone_from(&self.id_buffer);
        }
        // A blank line is never a partial line: `buf` holds only the data.
        let data = if let Some((start, end)) = self.lent.take() {
            text(input, start, end, window)
        } else if self.data_len == 0 {
            self.event_type.clear();
            return;
        } else {
            utf8(&self.buf[..self.data_len - 1]) // no final LF
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
            retry,
        }));
        self.buf.clear();
        self.data_len = 0;
        self.event_type.clear();
    }
}

const DATA_PREFIX: &[u8; 5] = b"data:";

/// The first CR or LF in `hay`. Most lines are short: the first 64 bytes
/// are looked at 16 at a time with SSE2 (part of the x86_64 baseline)
/// before calling `memchr2`, whose dispatch and set-up cost more than the
/// search itself on a short line.
#[inline(always)]
fn find_line_end(hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let mut i = 0;
        // SAFETY: SSE2 is part of the x86_64 baseline, so its intrinsics
        // are available on every x86_64 CPU; each load reads the 16 bytes
        // `hay[i..i + 16]`, in bounds by the loop condition, and
        // `_mm_loadu_si128` has no alignment requirement.
        unsafe {
            let lf = _mm_set1_epi8(b'\n' as i8);
            let cr = _mm_set1_epi8(b'\r' as i8);
            while i + 16 <= hay.len() && i < 64 {
                let block = _mm_loadu_si128(hay.as_ptr().add(i).cast::<__m128i>());
                let hits = _mm_or_si128(_mm_cmpeq_epi8(block, lf), _mm_cmpeq_epi8(block, cr));
                let mask = _mm_movemask_epi8(hits);
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
        memchr2(b'\n', b'\r', &hay[i..]).map(|at| i + at)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        memchr2(b'\n', b'\r', hay)
    }
}

/// A stretch of the current input known to be valid UTF-8 (from `start`),
/// so that the text lent from the input is validated a block at a time,
/// not per event.
#[derive(Default)]
struct Utf8Window<'a> {
    start: usize,
    text: &'a str,
}

/// Validation block: large enough to amortize the call, small enough to
/// stay in cache between the line scan and the parse.
const UTF8_BLOCK: usize = 64 * 1024;

impl<'a> Utf8Window<'a> {
    /// `input[start..end]`, if it lies in the window on char boundaries.
    #[inline(always)]
    fn get(&self, start: usize, end: usize) -> Option<&'a str> {
        let from = start.checked_sub(self.start)?;
        self.text.get(from..end - self.start)
    }

    /// Validates from `start` to at least `end` (a block ahead, or up to
    /// the first invalid sequence).
    #[inline(never)]
    fn validate(&mut self, input: &'a [u8], start: usize, end: usize) {
        let stop = end.max(start.saturating_add(UTF8_BLOCK)).min(input.len());
        let text = valid_prefix(&input[start..stop]);
        *self = Utf8Window { start, text };
    }
}

/// `input[start..end]` as text (lossy), from the validated window when it
/// covers the range.
#[inline(always)]
fn text<'a>(
    input: &'a [u8],
    start: usize,
    end: usize,
    window: &mut Utf8Window<'a>,
) -> Cow<'a, str> {
    if let Some(text) = window.get(start, end) {
        return Cow::Borrowed(text);
    }
    window.validate(input, start, end);
    match window.get(start, end) {
        Some(text) => Cow::Borrowed(text),
        None => utf8(&input[start..end]),
    }
}

/// UTF-8 decoding, invalid sequences replaced by U+FFFD. The fast
/// validator first: `from_utf8_lossy` walks `Utf8Chunks`, a byte-at-a-time
/// loop, even on valid input.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    let text = valid_prefix(bytes);
    if text.len() == bytes.len() {
        Cow::Borrowed(text)
    } else {
        String::from_utf8_lossy(bytes)
    }
}

/// The longest prefix of `bytes` that is valid UTF-8. ASCII is checked
/// first, a stride at a time, with `<[u8]>::is_ascii` (about 3x faster
/// than `str::from_utf8` on ASCII); `str::from_utf8` validates the rest,
/// from the first stride that is not all ASCII.
fn valid_prefix(bytes: &[u8]) -> &str {
    const STRIDE: usize = 4096;
    let ascii: usize = bytes
        .chunks(STRIDE)
        .take_while(|stride| stride.is_ascii())
        .map(<[u8]>::len)
        .sum();
    let valid = match std::str::from_utf8(&bytes[ascii..]) {
        Ok(_) => bytes.len(),
        Err(e) => ascii + e.valid_up_to(),
    };
    // SAFETY: `bytes[..ascii]` is ASCII, hence valid UTF-8, and
    // `bytes[ascii..valid]` was checked by `str::from_utf8` (`valid_up_to`
    // on error). Two valid UTF-8 strings joined are valid UTF-8: the first
    // ends after a whole character (an ASCII byte, or nothing).
    unsafe { std::str::from_utf8_unchecked(&bytes[..valid]) }
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
    fn an_event_carries_the_retry_of_its_own_block_only() {
        let mut parser = Parser::new();
        let mut retries = Vec::new();
        let stream = b"retry: 5\n\ndata: a\n\ndata: b\nretry: 7\n\nretry: 9\ndata: cut";
        for byte in stream.chunks(1) {
            parser
                .feed(byte, |item| {
                    if let ParsedItem::Event(event) = item {
                        retries.push((event.data.into_owned(), event.retry));
                    }
                })
                .unwrap();
        }
        parser.finish();
        parser
            .feed(b"data: c\n\n", |item| {
                if let ParsedItem::Event(event) = item {
                    retries.push((event.data.into_owned(), event.retry));
                }
            })
            .unwrap();
        let expected = [("a", None), ("b", Some(7)), ("c", None)];
        let expected: Vec<_> = expected.iter().map(|(d, r)| (d.to_string(), *r)).collect();
        assert_eq!(retries, expected);
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
        assert!(parser.buffered_bytes() <= 1024);
        let mut out = Vec::new();
        parser
            .feed(b"\n\ndata: after\n\n", |i| out.push(own(i)))
            .unwrap();
        assert_eq!(out, vec![msg("after", "")]);
    }

    #[test]
    fn a_line_shares_the_limit_with_the_data_buffered_before_it() {
        // 10 bytes of data (with LF) buffered, then a 7-byte line: 17 > 16.
        for chunks in [
            &[&b"data: 123456789\n: 12345\n\n"[..]][..],
            &[b"data: 1234", b"56789\n: 12", b"345\n\n"],
        ] {
            let mut parser = Parser::with_max_size(16);
            let mut out = Vec::new();
            let mut refused = false;
            for chunk in chunks {
                refused |= parser.feed(chunk, |i| out.push(own(i))).is_err();
                assert!(parser.buffered_bytes() <= 16);
            }
            assert!(refused);
            assert_eq!(out, vec![]);
        }
        // Alone, the same comment fits.
        let out = parse_chunks(&[b": 12345\n"]);
        assert_eq!(out, vec![Owned::Comment("12345".into())]);
    }

    #[test]
    fn a_one_line_event_is_lent_from_the_input() {
        let mut parser = Parser::new();
        let input = b"data: hello\n\n: c\n";
        let mut seen = 0;
        parser
            .feed(input, |item| match item {
                ParsedItem::Event(e) => {
                    assert!(matches!(e.data, Cow::Borrowed("hello")));
                    seen += 1;
                }
                ParsedItem::Comment(c) => assert!(matches!(c, Cow::Borrowed("c"))),
                ParsedItem::Retry(_) => unreachable!(),
            })
            .unwrap();
        assert_eq!(seen, 1);
        // Scanned once, copied never.
        assert_eq!(parser.work(), input.len() as u64);
        assert_eq!(parser.buffered_bytes(), 0);
    }

    #[test]
    fn lent_data_of_an_event_left_open_is_kept() {
        let out = parse_chunks(&[b"data: a\n", b"data: b\n\n"]);
        assert_eq!(out, vec![msg("a\nb", "")]);
        let out = parse_chunks(&[b"data: a\r", b"\n", b"\n"]);
        assert_eq!(out, vec![msg("a", "")]);
        let out = parse_chunks(&[b"data: a\ndata: b\nid: 1\n", b"data: c", b"\n\n"]);
        assert_eq!(out, vec![msg("a\nb\nc", "1")]);
    }

    #[test]
    fn data_lines_straddling_inputs() {
        let cases: &[(&[&[u8]], &str)] = &[
            (&[b"data: 01234", b"56789", b"\n\n"], "0123456789"),
            (&[b"da", b"ta", b":", b" x", b"y\n\n"], "xy"),
            (&[b"data:", b" x\n\n"], "x"),
            (&[b"data:", b"  x\n\n"], " x"),
            (&[b"data:", b"x\n\n"], "x"),
            (&[b"data:", b" \n\n"], ""),
            (&[b"data:", b"\n\n"], ""),
            (&[b"dat", b"a\n\n"], ""),
            (&[b"data: a\ndata: b", b"c\ndat", b"a:d\n\n"], "a\nbc\nd"),
        ];
        for (chunks, data) in cases {
            assert_eq!(parse_chunks(chunks), vec![msg(data, "")], "{chunks:?}");
        }
        // Not a data line: only its first 6 bytes could tell.
        assert_eq!(parse_chunks(&[b"datas", b": x\n\n"]), vec![]);
        assert_eq!(parse_chunks(&[b"data", b"s: x\n\n"]), vec![]);
    }

    #[test]
    fn a_straddling_data_line_is_copied_once() {
        let mut input = b"data: ".to_vec();
        input.extend_from_slice(&[b'x'; 1000]);
        input.extend_from_slice(b"\n\n");
        let mut parser = Parser::new();
        for chunk in input.chunks(1) {
            parser.feed(chunk, |_| {}).unwrap();
        }
        // Every byte scanned once, the value copied once, plus the field
        // name held until the line is known to be a data line.
        assert!(parser.work() <= 2 * input.len() as u64);
    }

    #[test]
    fn find_line_end_finds_the_first_cr_or_lf() {
        // Past the 64 inline bytes and memchr2's own vector widths (less
        // under Miri, which is slow).
        let lens = if cfg!(miri) { 0..90 } else { 0..200 };
        for len in lens {
            let mut hay = vec![b'x'; len];
            assert_eq!(find_line_end(&hay), None);
            for at in (0..len).rev() {
                for end in [b'\n', b'\r'] {
                    hay[at] = end;
                    assert_eq!(find_line_end(&hay), Some(at), "len {len}, at {at}");
                    // Bytes that differ from CR or LF by one bit or one unit.
                    hay[at] = end ^ 0x80;
                    assert_eq!(find_line_end(&hay[..at + 1]), None);
                    hay[at] = end + 1;
                    assert_eq!(find_line_end(&hay[..at + 1]), None);
                }
                hay[at] = b'\n';
            }
        }
    }

    #[test]
    fn valid_prefix_agrees_with_from_utf8() {
        let pieces: &[&[u8]] = &[
            b"a",
            b"\xC3\xA9",
            b"\xE2\x82\xAC",
            b"\xF0\x9F\x98\x80",
            b"\xFF",
            b"\xE2\x82",
            b"\x80",
            b"\xED\xA0\x80",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (cases, longest) = if cfg!(miri) {
            (40, 9000)
        } else {
            (2000, 10_000)
        };
        for _ in 0..cases {
            let mut bytes = vec![b'x'; next(longest)];
            for _ in 0..next(3) {
                let at = next(bytes.len() + 1);
                let piece = pieces[next(pieces.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            let expected = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(e) => e.valid_up_to(),
            };
            assert_eq!(valid_prefix(&bytes).len(), expected);
            assert_eq!(utf8(&bytes), String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn oversized_event_data_is_an_error() {
        let mut parser = Parser::with_max_size(10);
        let result = parser.feed(b"data: 123456\ndata: 123456\n\n", |_| {});
        assert_eq!(result, Err(ParseError::TooLarge { limit: 10 }));
    }
}
