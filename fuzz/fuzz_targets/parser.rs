//! Fuzz target `parser`: the incremental parser fed fuzzer-chosen bytes,
//! cut at fuzzer-chosen points, under a fuzzer-chosen (mostly small) size
//! limit.
//!
//! Input layout (every byte is the fuzzer's to mutate):
//!   byte 0      size limit: 255 = the default limit, else 1 + 2 * byte
//!   byte 1      flags: bit 0 = the stream is two connections (cut at the
//!               first cut point, `finish()` in between)
//!   byte 2      number of cut points k (mod 17)
//!   2k bytes    the cut points, u16 little endian, modulo (len + 1)
//!   the rest    the stream
//!
//! Checked on every input:
//!   - no panic;
//!   - fed whole, at the cut points and (up to 2 KiB) one byte at a time,
//!     the parser gives the same items, the same final retry and last
//!     event id, and refuses the input (TooLarge) in the same runs;
//!   - its line/event buffer never exceeds the limit, checked after every
//!     feed (`Parser::buffered_bytes`), and its work stays linear: at most
//!     3 units per input byte;
//!   - with the default limit (no refusal possible on inputs this small),
//!     it agrees with a line-at-a-time reference parser written from the
//!     spec text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sse::{ParsedItem, Parser, DEFAULT_MAX_EVENT_SIZE};

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Event(String, String, String),
    Comment(String),
    Retry(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    items: Vec<Item>,
    retry: Option<u64>,
    last_event_id: String,
    refused: bool,
}

fn own(item: ParsedItem<'_>) -> Item {
    match item {
        ParsedItem::Event(e) => Item::Event(
            e.event_type.into_owned(),
            e.data.into_owned(),
            e.last_event_id.to_owned(),
        ),
        ParsedItem::Comment(c) => Item::Comment(c.into_owned()),
        ParsedItem::Retry(r) => Item::Retry(r),
    }
}

/// Feeds each stream as the given chunks (offsets into the stream),
/// finishing after each stream.
fn run(max_size: usize, streams: &[&[u8]], cuts: &[Vec<usize>]) -> Outcome {
    let mut parser = Parser::with_max_size(max_size);
    let mut items = Vec::new();
    let mut refused = false;
    let mut total = 0u64;
    for (stream, cuts) in streams.iter().zip(cuts) {
        let mut start = 0;
        for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
            if parser
                .feed(&stream[start..end], |item| items.push(own(item)))
                .is_err()
            {
                refused = true;
            }
            assert!(
                parser.buffered_bytes() <= parser.max_size(),
                "buffer of {} bytes over the limit of {}",
                parser.buffered_bytes(),
                parser.max_size()
            );
            start = end;
        }
        total += stream.len() as u64;
        parser.finish();
    }
    assert!(
        parser.work() <= 3 * total,
        "work {} for {total} bytes",
        parser.work()
    );
    Outcome {
        items,
        retry: parser.retry(),
        last_event_id: parser.last_event_id().to_owned(),
        refused,
    }
}

/// The spec read literally: decode each whole stream, split it into
/// lines, interpret them one by one.
fn reference(streams: &[&[u8]]) -> Outcome {
    let mut items = Vec::new();
    let mut last_event_id = String::new();
    let mut retry = None;
    for stream in streams {
        let bytes = stream.strip_prefix(BOM).unwrap_or(stream);
        let text = String::from_utf8_lossy(bytes);
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
                last_event_id = id_buffer.clone();
                if !data.is_empty() {
                    data.pop(); // always an LF
                    let kind = if event_type.is_empty() {
                        "message".to_owned()
                    } else {
                        event_type.clone()
                    };
                    items.push(Item::Event(
                        kind,
                        std::mem::take(&mut data),
                        last_event_id.clone(),
                    ));
                }
                event_type.clear();
                continue;
            }
            if let Some(comment) = line.strip_prefix(':') {
                items.push(Item::Comment(
                    comment.strip_prefix(' ').unwrap_or(comment).to_owned(),
                ));
                continue;
            }
            let (name, value) = match line.split_once(':') {
                Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
                None => (&line[..], ""),
            };
            match name {
                "event" => event_type = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => id_buffer = value.to_owned(),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    let millis = value.parse::<u64>().unwrap_or(u64::MAX);
                    retry = Some(millis);
                    items.push(Item::Retry(millis));
                }
                _ => {}
            }
        }
    }
    Outcome {
        items,
        retry,
        last_event_id,
        refused: false,
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let max_size = match input[0] {
        255 => DEFAULT_MAX_EVENT_SIZE,
        byte => 1 + 2 * usize::from(byte),
    };
    let two_streams = input[1] & 1 == 1;
    let count = usize::from(input[2]) % 17;
    let header = 3 + 2 * count;
    if input.len() < header {
        return;
    }
    let bytes = &input[header..];
    let mut cuts: Vec<usize> = input[3..header]
        .chunks(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (bytes.len() + 1))
        .collect();
    cuts.sort_unstable();

    // Optionally two connections, split at the first cut point.
    let (streams, cut_sets): (Vec<&[u8]>, Vec<Vec<usize>>) = match cuts.split_first() {
        Some((&at, rest)) if two_streams => (
            vec![&bytes[..at], &bytes[at..]],
            vec![Vec::new(), rest.iter().map(|&c| c - at).collect()],
        ),
        _ => (vec![bytes], vec![cuts]),
    };
    let whole_cuts: Vec<Vec<usize>> = streams.iter().map(|_| Vec::new()).collect();
    let byte_cuts: Vec<Vec<usize>> = streams.iter().map(|s| (1..s.len()).collect()).collect();

    let whole = run(max_size, &streams, &whole_cuts);
    let split = run(max_size, &streams, &cut_sets);
    assert_eq!(whole, split, "whole vs cut at {cut_sets:?}");
    // One feed call per byte: the slowest run, kept to shorter inputs.
    if bytes.len() <= 2048 {
        let bytewise = run(max_size, &streams, &byte_cuts);
        assert_eq!(whole, bytewise, "whole vs one byte at a time");
    }

    if max_size == DEFAULT_MAX_EVENT_SIZE {
        assert!(!whole.refused);
        assert_eq!(whole, reference(&streams), "parser vs reference");
    }
});
