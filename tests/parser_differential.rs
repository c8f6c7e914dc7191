//! Differential property test: the incremental parser against a reference
//! parser written straight from the WHATWG text, on random streams cut
//! into random chunks.
//!
//! The reference does the obvious, slow thing the spec describes: decode
//! the whole stream (one leading BOM dropped, invalid UTF-8 replaced),
//! split it into lines, interpret the lines one by one. The parser under
//! test never sees a whole stream: it gets random chunks, down to single
//! bytes, so every CR/LF pair, BOM and UTF-8 sequence is split somewhere.
//!
//! `differential_100k` runs in the normal test run; `differential_stress`
//! (ignored, `make stress`) runs `SSE_STRESS_CASES` cases (default
//! 5,000,000) on all cores.

use sse::{ParsedItem, Parser};

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    Comment(String),
    Retry(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    items: Vec<Item>,
    retry: Option<u64>,
    last_event_id: String,
}

// ------------------------------------------------------------- reference

/// Interprets whole streams, one after the other as successive
/// connections: the last event id and the retry value carry over, and each
/// stream may start with its own BOM.
// The nested ifs follow the spec text step by step, on purpose.
#[allow(clippy::collapsible_match)]
fn reference(streams: &[Vec<u8>]) -> Outcome {
    let mut items = Vec::new();
    let mut last_event_id = String::new();
    let mut retry = None;
    for stream in streams {
        // "UTF-8 decode": drop one leading BOM, replace invalid sequences.
        let bytes = stream.strip_prefix(BOM).unwrap_or(stream);
        let text = String::from_utf8_lossy(bytes);

        // Lines end at CRLF, LF or CR; text after the last line end is an
        // incomplete line, discarded at the end of the stream.
        let mut lines = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    lines.push(std::mem::take(&mut current));
                }
                '\n' => lines.push(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }

        let mut data = String::new();
        let mut event_type = String::new();
        let mut id_buffer = last_event_id.clone();
        for line in lines {
            if line.is_empty() {
                // Dispatch.
                last_event_id = id_buffer.clone();
                if data.is_empty() {
                    event_type.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                items.push(Item::Event {
                    event_type: if event_type.is_empty() {
                        "message".to_owned()
                    } else {
                        event_type.clone()
                    },
                    data: std::mem::take(&mut data),
                    id: last_event_id.clone(),
                });
                event_type.clear();
                continue;
            }
            if let Some(comment) = line.strip_prefix(':') {
                let text = comment.strip_prefix(' ').unwrap_or(comment);
                items.push(Item::Comment(text.to_owned()));
                continue;
            }
            let (name, value) = match line.find(':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (&line[..], ""),
            };
            match name {
                "event" => event_type = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" => {
                    if !value.contains('\0') {
                        id_buffer = value.to_owned();
                    }
                }
                "retry" => {
                    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                        // The parser saturates values beyond u64 (a choice
                        // of ours; the spec sets no upper bound).
                        let millis = value.parse::<u64>().unwrap_or(u64::MAX);
                        retry = Some(millis);
                        items.push(Item::Retry(millis));
                    }
                }
                _ => {}
            }
        }
    }
    Outcome {
        items,
        retry,
        last_event_id,
    }
}

// ------------------------------------------------------- parser under test

fn own(item: ParsedItem<'_>) -> Item {
    match item {
        ParsedItem::Event(e) => Item::Event {
            event_type: e.event_type.into_owned(),
            data: e.data.into_owned(),
            id: e.last_event_id.to_owned(),
        },
        ParsedItem::Comment(text) => Item::Comment(text.into_owned()),
        ParsedItem::Retry(millis) => Item::Retry(millis),
    }
}

/// Feeds each stream in the given chunks, calling `finish()` after each.
fn incremental(streams: &[Vec<u8>], cuts: &[Vec<usize>]) -> Outcome {
    let mut parser = Parser::new();
    let mut items = Vec::new();
    for (stream, cuts) in streams.iter().zip(cuts) {
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
            parser
                .feed(&stream[start..end], |item| items.push(own(item)))
                .expect("no size error on small streams");
            start = end;
        }
        parser.finish();
    }
    Outcome {
        items,
        retry: parser.retry(),
        last_event_id: parser.last_event_id().to_owned(),
    }
}

// ------------------------------------------------------------- generator

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())]
    }
}

const NAMES: &[&[u8]] = &[
    b"data",
    b"data",
    b"data",
    b"data",
    b"event",
    b"event",
    b"id",
    b"id",
    b"retry",
    b"retry",
    b"Data",
    b"ID",
    b"foo",
    b"dat",
    b"datas",
    b" data",
    b"data ",
    b"\xEF\xBB\xBFdata",
    b"d\xFFata",
    b"",
];

const SEPARATORS: &[&[u8]] = &[b":", b": ", b": ", b": ", b":  ", b":\t", b"", b" :"];

/// Value fragments: ASCII, whitespace, NUL, colons, valid multi-byte
/// characters, BOMs and every kind of invalid UTF-8.
const PIECES: &[&[u8]] = &[
    b"a",
    b"b",
    b"hello",
    b"0",
    b"7",
    b"42",
    b" ",
    b"  ",
    b"\t",
    b"\0",
    b":",
    b": ",
    b"+",
    b"-",
    b"\xC3\xA9",         // é
    b"\xE2\x82\xAC",     // €
    b"\xF0\x9F\x98\x80", // 😀
    b"\xEF\xBB\xBF",     // BOM
    b"\xFF",
    b"\xC3",
    b"\xE2\x82",
    b"\x80",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xC0\xAF",
];

const LINE_ENDS: &[&[u8]] = &[b"\n", b"\n", b"\r\n", b"\r"];

fn value(rng: &mut Rng, out: &mut Vec<u8>) {
    for _ in 0..rng.below(6) {
        out.extend_from_slice(rng.pick(PIECES));
    }
}

fn digits(rng: &mut Rng, out: &mut Vec<u8>) {
    // Mostly short numbers; sometimes beyond u64 (saturates).
    let len = if rng.chance(20) {
        18 + rng.below(6)
    } else {
        1 + rng.below(6)
    };
    for _ in 0..len {
        out.push(b'0' + rng.below(10) as u8);
    }
}

/// Bytes from an alphabet rich in line ends and UTF-8 pitfalls.
fn noise(rng: &mut Rng, out: &mut Vec<u8>) {
    const ALPHABET: &[u8] = b"\r\n:  \tdaeivnrty\0\xEF\xBB\xBF\xC3\xA9\x80\xFF";
    for _ in 0..rng.below(12) {
        out.push(rng.pick(ALPHABET));
    }
}

fn line(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(16) {
        0..=3 => {} // blank line
        4..=12 => {
            let name = rng.pick(NAMES);
            out.extend_from_slice(name);
            out.extend_from_slice(rng.pick(SEPARATORS));
            if name == b"retry" && rng.below(3) > 0 {
                if rng.chance(4) {
                    value(rng, out);
                }
                digits(rng, out);
                if rng.chance(4) {
                    value(rng, out);
                }
            } else {
                value(rng, out);
            }
        }
        13 | 14 => {
            out.push(b':');
            value(rng, out);
        }
        _ => noise(rng, out),
    }
}

fn stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    match rng.below(12) {
        0..=2 => out.extend_from_slice(BOM),
        3 => out.extend_from_slice(b"\xEF\xBB\xBF\xEF\xBB\xBF"),
        4 => out.extend_from_slice(&BOM[..1 + rng.below(2)]),
        _ => {}
    }
    let lines = rng.below(30);
    for _ in 0..lines {
        line(rng, &mut out);
        out.extend_from_slice(rng.pick(LINE_ENDS));
    }
    if rng.chance(3) {
        line(rng, &mut out); // unterminated tail
    }
    out
}

/// Sorted cut offsets for one stream: whole, every byte, fixed-size reads
/// or random points (empty chunks included).
fn cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
    match rng.below(8) {
        0 => Vec::new(),
        1 => (1..len).collect(),
        2 => {
            let step = 1 + rng.below(7);
            (step..len).step_by(step).collect()
        }
        _ => {
            let mut cuts: Vec<usize> = (0..rng.below(12)).map(|_| rng.below(len + 1)).collect();
            cuts.sort_unstable();
            cuts
        }
    }
}

/// Renders bytes readably for a failure message.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// Runs `count` random cases from `seed`; panics with a reproducible
/// description on the first disagreement.
fn run_cases(seed: u64, count: u64) {
    let mut rng = Rng(seed);
    for index in 0..count {
        let streams: Vec<Vec<u8>> = (0..if rng.chance(8) { 2 } else { 1 })
            .map(|_| stream(&mut rng))
            .collect();
        let cut_sets: Vec<Vec<usize>> = streams.iter().map(|s| cuts(&mut rng, s.len())).collect();
        let expected = reference(&streams);
        let got = incremental(&streams, &cut_sets);
        if got != expected {
            let shown: Vec<String> = streams.iter().map(|s| show(s)).collect();
            panic!(
                "seed {seed:#x}, case {index}: parser and reference disagree\n  \
                 streams: {shown:?}\n  cuts: {cut_sets:?}\n  \
                 reference: {expected:?}\n  parser:    {got:?}"
            );
        }
    }
}

#[test]
fn reference_agrees_with_hand_checked_examples() {
    // The reference is itself code: pin it to a few known answers.
    let out = reference(&[b"\xEF\xBB\xBFdata: a\r\nid: 1\r\n\r\n: c\rretry: 5\n".to_vec()]);
    assert_eq!(
        out,
        Outcome {
            items: vec![
                Item::Event {
                    event_type: "message".into(),
                    data: "a".into(),
                    id: "1".into()
                },
                Item::Comment("c".into()),
                Item::Retry(5),
            ],
            retry: Some(5),
            last_event_id: "1".into(),
        }
    );
    let out = reference(&[b"id: 2\ndata: x\n".to_vec(), b"data:  y\n\n".to_vec()]);
    assert_eq!(
        out.items,
        vec![Item::Event {
            event_type: "message".into(),
            data: " y".into(),
            id: String::new()
        }]
    );
}

#[test]
fn differential_100k() {
    run_cases(0xD1FF_0001, 100_000);
}

#[test]
#[ignore = "stress: run with `make stress` (SSE_STRESS_CASES, default 5,000,000)"]
fn differential_stress() {
    let total: u64 = std::env::var("SSE_STRESS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let per_thread = total.div_ceil(threads);
    let started = std::time::Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| std::thread::spawn(move || run_cases(0x57E5_5000 + t, per_thread)))
        .collect();
    for handle in handles {
        handle.join().expect("a stress thread found a disagreement");
    }
    eprintln!(
        "differential_stress: {} cases on {threads} threads in {:.1?}",
        per_thread * threads,
        started.elapsed()
    );
}
