//! Cost and memory bounds of the parser, measured by counting, not timing.
//!
//! Cost: `Parser::work()` counts the bytes the parser scans and copies,
//! and a counting global allocator (below) adds up every byte allocated
//! or reallocated. Both are exact and machine-independent, so the checks
//! neither flake on a busy machine nor pass on a slow algorithm.
//!
//! Why these bounds catch a quadratic regression: an 8 MiB line is n =
//! 8,388,608 bytes. A linear parser does a few n of work whatever the
//! chunking. A parser that rescans, or copies into a fresh buffer, the
//! part of the line it already holds each time a piece arrives does about
//! n^2 / (2 * piece) work: 3.5 * 10^13 for 1-byte pieces (4 million times
//! the bound below) and 2.4 * 10^10 for 1460-byte pieces (2,800 times).
//! Likewise a buffer grown by exactly the missing bytes on every piece
//! (instead of geometrically) allocates n^2 / (2 * piece) bytes in total,
//! which the allocator count catches. Even a mild slip (work per byte
//! doubling with small pieces) breaks the "within 2x of the whole feed"
//! check.
//!
//! Memory: the allocator also tracks the live heap bytes of the current
//! thread and their peak; a parser fed an endless line, or an endless
//! event, must stop at its size limit plus one read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sse::{ParseError, ParsedItem, Parser};

// --------------------------------------------------- counting allocator

/// Counts per thread (the test harness runs tests in parallel threads).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

fn grew(by: usize) {
    // `try_with`: allocation during thread teardown must not panic.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + by;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn allocated(bytes: usize) {
    let _ = ALLOCATED.try_with(|total| total.set(total.get() + bytes as u64));
}

fn shrank(by: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(by)));
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping only touches `const`-initialised thread locals of `Cell`
// type, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        allocated(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        allocated(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // For the cost count, a realloc is a fresh allocation of
        // `new_size` (the worst case: a copy). For the live bytes, the
        // block changes size in place: the old and new block coexisting
        // for the copy is the allocator's business (and for the large
        // blocks that matter here glibc moves pages with mremap instead).
        allocated(new_size);
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            shrank(layout.size() - new_size);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap use of the current thread between `start` and `finish`.
struct HeapProbe {
    live_at_start: usize,
    allocated_at_start: u64,
}

impl HeapProbe {
    fn start() -> Self {
        let live = LIVE.with(Cell::get);
        PEAK.with(|peak| peak.set(live));
        HeapProbe {
            live_at_start: live,
            allocated_at_start: ALLOCATED.with(Cell::get),
        }
    }

    /// Highest number of live bytes above the start, so far.
    fn peak_growth(&self) -> usize {
        PEAK.with(Cell::get).saturating_sub(self.live_at_start)
    }

    /// Bytes allocated (or reallocated) since the start.
    fn allocated(&self) -> u64 {
        ALLOCATED.with(Cell::get) - self.allocated_at_start
    }
}

// ---------------------------------------------------------------- helpers

const MIB: usize = 1024 * 1024;

/// `data: ` + `len` payload bytes + a blank line.
fn data_line_event(len: usize) -> Vec<u8> {
    let mut input = Vec::with_capacity(len + 8);
    input.extend_from_slice(b"data: ");
    input.extend((0..len).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]));
    input.extend_from_slice(b"\n\n");
    input
}

/// What one feeding strategy cost, and what it produced.
#[derive(Debug)]
struct Cost {
    work: u64,
    allocated: u64,
    /// (event count, total data bytes, comment count)
    produced: (usize, usize, usize),
}

/// Feeds `input` in `piece`-byte chunks to a default parser; the callback
/// only counts, so allocations are the parser's own.
fn cost(input: &[u8], piece: usize) -> Cost {
    let mut parser = Parser::new();
    let probe = HeapProbe::start();
    let mut produced = (0, 0, 0);
    for chunk in input.chunks(piece) {
        parser
            .feed(chunk, |item| match item {
                ParsedItem::Event(e) => {
                    produced.0 += 1;
                    produced.1 += e.data.len();
                }
                ParsedItem::Comment(_) => produced.2 += 1,
                ParsedItem::Retry(_) => {}
            })
            .expect("within the default limit");
    }
    parser.finish();
    Cost {
        work: parser.work(),
        allocated: probe.allocated(),
        produced,
    }
}

/// Whole, 1460-byte (a TCP segment) and 1-byte feeding must produce the
/// same items at about the same cost, linear in the input size.
fn assert_linear(what: &str, input: &[u8]) {
    let n = input.len() as u64;
    let costs: Vec<(usize, Cost)> = [input.len(), 1460, 1]
        .into_iter()
        .map(|piece| (piece, cost(input, piece)))
        .collect();
    let (_, whole) = &costs[0];
    for (piece, c) in &costs {
        assert_eq!(
            c.produced, whole.produced,
            "{what}: {piece}-byte pieces produced different items"
        );
        // Every byte is scanned once and copied at most a few times.
        assert!(
            c.work <= 4 * n,
            "{what}: {piece}-byte pieces did {} work for {n} bytes (> 4n)",
            c.work
        );
        assert!(
            c.work <= 2 * whole.work && whole.work <= 2 * c.work,
            "{what}: {piece}-byte pieces did {} work, whole input {}",
            c.work,
            whole.work
        );
        // Geometric buffer growth: a small multiple of the input in total.
        assert!(
            c.allocated <= 6 * n,
            "{what}: {piece}-byte pieces allocated {} bytes for {n} bytes (> 6n)",
            c.allocated
        );
    }
}

// ------------------------------------------------------------------ cost

#[test]
fn eight_mib_data_line_costs_the_same_in_any_pieces() {
    let input = data_line_event(8 * MIB);
    assert_linear("8 MiB data line", &input);
    let c = cost(&input, 1);
    assert_eq!(c.produced, (1, 8 * MIB, 0));
    // Not trivially satisfied: the work really counts the bytes.
    assert!(c.work >= input.len() as u64, "work {} too small", c.work);
}

#[test]
fn eight_mib_comment_line_costs_the_same_in_any_pieces() {
    // A non-data line takes the partial-line path without the data buffer.
    let mut input = b": ".to_vec();
    input.extend(std::iter::repeat_n(b'c', 8 * MIB));
    input.push(b'\n');
    assert_linear("8 MiB comment", &input);
    assert_eq!(cost(&input, 1460).produced, (0, 0, 1));
}

#[test]
fn event_of_many_data_lines_costs_the_same_in_any_pieces() {
    // 8 MiB of data in one event, as 1 million short data lines.
    let mut input = Vec::new();
    while input.len() < 8 * MIB {
        input.extend_from_slice(b"data: 0123456789\r\n");
    }
    input.extend_from_slice(b"\r\n");
    assert_linear("many data lines", &input);
}

#[test]
fn many_small_events_cost_the_same_in_any_pieces() {
    let mut input = Vec::new();
    let mut i = 0u64;
    while input.len() < 8 * MIB {
        input.extend_from_slice(format!("id: {i}\nevent: tick\ndata: {i}\n: c\n\n").as_bytes());
        i += 1;
    }
    assert_linear("many small events", &input);
}

// ---------------------------------------------------------------- memory

/// Feeds `input` in `piece`-byte chunks to a parser limited to `limit`;
/// returns the size errors, the items' count and the peak heap growth.
fn bounded(limit: usize, input: &[u8], piece: usize) -> (Vec<ParseError>, usize, usize) {
    let mut parser = Parser::with_max_size(limit);
    let probe = HeapProbe::start();
    let mut errors = Vec::new();
    let mut items = 0;
    for chunk in input.chunks(piece) {
        if let Err(e) = parser.feed(chunk, |_| items += 1) {
            errors.push(e);
        }
    }
    (errors, items, probe.peak_growth())
}

/// Slack for the parser's small buffers (event type, ids, BOM prefix).
const SLACK: usize = 4096;

#[test]
fn endless_line_stops_at_the_limit() {
    let limit = MIB;
    let piece = 1460;
    // 4 MiB without a line end, then the stream goes on normally.
    let mut input = b"data: ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 4 * MIB));
    for piece_size in [piece, 1, 64 * 1024] {
        let (errors, items, peak) = bounded(limit, &input, piece_size);
        assert_eq!(
            errors,
            vec![ParseError::TooLarge { limit }],
            "{piece_size}-byte pieces: one error, in the read that crossed the limit"
        );
        assert_eq!(items, 0);
        assert!(
            peak <= limit + piece_size + SLACK,
            "{piece_size}-byte pieces: heap grew by {peak} bytes, limit {limit}"
        );
    }
}

#[test]
fn endless_event_stops_at_the_limit() {
    // Short data lines that never meet a blank line.
    let limit = MIB;
    let piece = 1460;
    let mut input = Vec::new();
    while input.len() < 4 * MIB {
        input.extend_from_slice(b"data: 0123456789012345678901234567890123456789\n");
    }
    let (errors, items, peak) = bounded(limit, &input, piece);
    assert_eq!(errors, vec![ParseError::TooLarge { limit }]);
    assert_eq!(items, 0);
    assert!(
        peak <= limit + piece + SLACK,
        "heap grew by {peak} bytes, limit {limit}"
    );
}

#[test]
fn long_lines_of_every_kind_stay_within_the_limit() {
    // Near-limit lines of each kind, split into reads, one after another
    // in the same event: no combination may hold more than the limit.
    let limit = 256 * 1024;
    let piece = 1460;
    let long = |prefix: &[u8], len: usize| {
        let mut line = prefix.to_vec();
        line.extend(std::iter::repeat_n(b'y', len));
        line.push(b'\n');
        line
    };
    let mut input = Vec::new();
    input.extend(long(b"data: ", limit / 2));
    input.extend(long(b": ", limit - 10));
    input.extend(long(b"foo: ", limit - 10));
    input.extend(long(b"data: ", limit - 10));
    input.extend_from_slice(b"\n");
    let (_, _, peak) = bounded(limit, &input, piece);
    assert!(
        peak <= limit + piece + SLACK,
        "heap grew by {peak} bytes, limit {limit}"
    );
}

#[test]
fn parsing_recovers_after_the_limit() {
    let limit = 64 * 1024;
    let mut parser = Parser::with_max_size(limit);
    let mut big = b"id: lost\ndata: ".to_vec();
    big.extend(std::iter::repeat_n(b'z', 3 * limit));
    big.extend_from_slice(b"\ndata: rest of the big event\n\n");
    let mut events = Vec::new();
    let mut errors = 0;
    for chunk in big.chunks(1000) {
        if parser
            .feed(chunk, |item| {
                if let ParsedItem::Event(e) = item {
                    events.push(e.data.into_owned());
                }
            })
            .is_err()
        {
            errors += 1;
        }
    }
    assert_eq!(errors, 1);
    assert!(events.is_empty(), "the oversized event is dropped whole");
    assert_eq!(parser.last_event_id(), "", "its id is never committed");
    parser
        .feed(b"id: 2\ndata: after\n\n", |item| {
            if let ParsedItem::Event(e) = item {
                events.push(e.data.into_owned());
            }
        })
        .expect("the next event fits");
    assert_eq!(events, vec!["after".to_owned()]);
    assert_eq!(parser.last_event_id(), "2");
}

#[test]
fn a_line_at_the_limit_fits_and_one_byte_more_does_not() {
    let limit = 1000;
    // A data line of exactly `limit` bytes: accepted whole and in pieces.
    let fits = data_line_event(limit - b"data: ".len());
    let over = data_line_event(limit - b"data: ".len() + 1);
    for piece in [fits.len(), 7, 1] {
        let (errors, items, _) = bounded(limit, &fits, piece);
        assert!(errors.is_empty(), "{piece}-byte pieces: {errors:?}");
        assert_eq!(items, 1);
        let (errors, items, _) = bounded(limit, &over, piece);
        assert_eq!(errors, vec![ParseError::TooLarge { limit }]);
        assert_eq!(items, 0);
    }
}
