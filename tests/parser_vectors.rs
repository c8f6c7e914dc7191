//! Runs the language-neutral parser vectors (`tests/vectors/parser_vectors.json`,
//! format in `tests/vectors/README.md`) through the Rust parser.
//!
//! Every case is fed whole, one byte at a time, and in 20 random chunkings
//! (a seeded PRNG, so failures reproduce); every run must give exactly the
//! expected items, final `retry()` and final `last_event_id()` (after
//! `finish()`).

use serde_json::Value;
use sse::{ParsedItem, Parser};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/parser_vectors.json"
);

/// An owned copy of one parsed item.
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

/// What one run over a case produces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    items: Vec<Item>,
    retry: Option<u64>,
    last_event_id: String,
}

struct Case {
    name: String,
    input: Vec<u8>,
    expected: Outcome,
}

/// splitmix64: a tiny seeded generator, enough to pick split points.
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
}

/// Standard base64 (RFC 4648, with padding), decoded strictly.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return Err(format!("length {} is not a multiple of 4", bytes.len()));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, quad) in bytes.chunks(4).enumerate() {
        let last = index + 1 == bytes.len() / 4;
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return Err(format!("misplaced padding in group {index}"));
        }
        let mut acc = 0u32;
        for &c in &quad[..4 - padding] {
            let v = value(c).ok_or_else(|| format!("bad character {:?}", c as char))?;
            acc = (acc << 6) | v;
        }
        acc <<= 6 * padding as u32;
        let group = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&group[..3 - padding]);
    }
    Ok(out)
}

fn str_field<'a>(object: &'a Value, key: &str, case: &str) -> &'a str {
    object[key]
        .as_str()
        .unwrap_or_else(|| panic!("case {case}: `{key}` is not a string"))
}

fn item_from_json(value: &Value, case: &str) -> Item {
    match str_field(value, "kind", case) {
        "event" => Item::Event {
            event_type: str_field(value, "type", case).to_owned(),
            data: str_field(value, "data", case).to_owned(),
            id: str_field(value, "id", case).to_owned(),
        },
        "comment" => Item::Comment(str_field(value, "text", case).to_owned()),
        "retry" => Item::Retry(
            value["value"]
                .as_u64()
                .unwrap_or_else(|| panic!("case {case}: bad retry value")),
        ),
        other => panic!("case {case}: unknown item kind {other:?}"),
    }
}

/// Loads the file and checks that its redundant fields agree with `items`.
fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(VECTORS).expect("read parser_vectors.json");
    let doc: Value = serde_json::from_str(&text).expect("parser_vectors.json is JSON");
    assert_eq!(doc["version"], 1, "unsupported vectors version");
    let mut names = std::collections::HashSet::new();
    let mut cases = Vec::new();
    for raw in doc["cases"].as_array().expect("`cases` is an array") {
        let name = str_field(raw, "name", "?").to_owned();
        assert!(names.insert(name.clone()), "duplicate case name {name}");
        assert!(
            !str_field(raw, "description", &name).is_empty(),
            "case {name}: empty description"
        );
        let input = base64_decode(str_field(raw, "input_b64", &name))
            .unwrap_or_else(|e| panic!("case {name}: input_b64: {e}"));
        if let Some(readable) = raw.get("input") {
            assert_eq!(
                readable.as_str().map(str::as_bytes),
                Some(&input[..]),
                "case {name}: `input` differs from `input_b64`"
            );
        }
        let items: Vec<Item> = raw["items"]
            .as_array()
            .unwrap_or_else(|| panic!("case {name}: `items` is not an array"))
            .iter()
            .map(|v| item_from_json(v, &name))
            .collect();

        // `events`, `comments` and `retry` repeat what `items` says.
        let events: Vec<Item> = raw["events"]
            .as_array()
            .unwrap_or_else(|| panic!("case {name}: `events` is not an array"))
            .iter()
            .map(|v| Item::Event {
                event_type: str_field(v, "type", &name).to_owned(),
                data: str_field(v, "data", &name).to_owned(),
                id: str_field(v, "id", &name).to_owned(),
            })
            .collect();
        let item_events: Vec<Item> = items
            .iter()
            .filter(|i| matches!(i, Item::Event { .. }))
            .cloned()
            .collect();
        assert_eq!(
            events, item_events,
            "case {name}: `events` != events in `items`"
        );
        let comments: Vec<Item> = raw["comments"]
            .as_array()
            .unwrap_or_else(|| panic!("case {name}: `comments` is not an array"))
            .iter()
            .map(|v| Item::Comment(v.as_str().expect("comment string").to_owned()))
            .collect();
        let item_comments: Vec<Item> = items
            .iter()
            .filter(|i| matches!(i, Item::Comment(_)))
            .cloned()
            .collect();
        assert_eq!(comments, item_comments, "case {name}: `comments` mismatch");
        let retry = match &raw["retry"] {
            Value::Null => None,
            v => Some(v.as_u64().expect("retry is null or an integer")),
        };
        let last_retry = items.iter().rev().find_map(|i| match i {
            Item::Retry(r) => Some(*r),
            _ => None,
        });
        assert_eq!(retry, last_retry, "case {name}: `retry` != last retry item");

        let last_event_id = str_field(raw, "last_event_id", &name).to_owned();
        cases.push(Case {
            name,
            input,
            expected: Outcome {
                items,
                retry,
                last_event_id,
            },
        });
    }
    cases
}

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

/// Feeds `input` cut at the (sorted) `cuts` offsets, then finishes.
fn run(input: &[u8], cuts: &[usize], name: &str, how: &str) -> Outcome {
    let mut parser = Parser::new();
    let mut items = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        parser
            .feed(&input[start..end], |item| items.push(own(item)))
            .unwrap_or_else(|e| panic!("case {name} ({how}): unexpected error {e}"));
        start = end;
    }
    parser.finish();
    Outcome {
        items,
        retry: parser.retry(),
        last_event_id: parser.last_event_id().to_owned(),
    }
}

/// Compares without dumping a megabyte of data into the failure message.
fn check(case: &Case, got: &Outcome, how: &str) {
    if *got == case.expected {
        return;
    }
    let short = |o: &Outcome| {
        let mut text = format!("{o:?}");
        if text.len() > 2000 {
            text.truncate(2000);
            text.push_str("...");
        }
        text
    };
    panic!(
        "case {} ({how}) failed\n  expected: {}\n  got:      {}",
        case.name,
        short(&case.expected),
        short(got)
    );
}

#[test]
fn vectors_file_has_enough_cases() {
    let cases = load_cases();
    assert!(cases.len() >= 70, "only {} cases", cases.len());
}

#[test]
fn vectors_fed_whole() {
    for case in load_cases() {
        let got = run(&case.input, &[], &case.name, "whole");
        check(&case, &got, "whole");
    }
}

#[test]
fn vectors_fed_one_byte_at_a_time() {
    for case in load_cases() {
        let cuts: Vec<usize> = (1..case.input.len()).collect();
        let got = run(&case.input, &cuts, &case.name, "byte by byte");
        check(&case, &got, "byte by byte");
    }
}

#[test]
fn vectors_fed_at_random_split_points() {
    let mut rng = Rng(0x5EED_0000_5EE5);
    for case in load_cases() {
        let len = case.input.len();
        for round in 0..20 {
            // Up to 20 cut points; repeated offsets make empty chunks,
            // which must change nothing.
            let count = 1 + rng.below(20);
            let mut cuts: Vec<usize> = (0..count).map(|_| rng.below(len + 1)).collect();
            cuts.sort_unstable();
            let how = format!("random round {round}, cuts {cuts:?}");
            let got = run(&case.input, &cuts, &case.name, &how);
            check(&case, &got, &how);
        }
    }
}

#[test]
fn base64_decoder_matches_rfc4648_examples() {
    // RFC 4648, section 10.
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
    }
    assert!(base64_decode("Zg=").is_err());
    assert!(base64_decode("Zg==Zg==").is_err());
    assert!(base64_decode("Z!==").is_err());
}
