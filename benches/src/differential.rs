//! The proposed parser must behave exactly as `src/parser.rs`: same items,
//! same errors in the same `feed` call, same last event id and retry, on
//! random streams (every line ending, BOMs, split and invalid UTF-8, NUL,
//! comments, retry) cut into random chunks.
//!
//! Size limits are left out: their exact semantics are `src/parser.rs`'s
//! to define and may move (the proposal keeps those of the commit it was
//! cut from, where it matched on limits down to 1 byte as well).

use crate::proposed_parser as proposed;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const TOKENS: &[&[u8]] = &[
    b"data",
    b"data:",
    b"data: ",
    b": ",
    b":",
    b"event:",
    b"event: x",
    b"id:",
    b"id: 7",
    b"id:\0",
    b"retry:",
    b"retry: 12",
    b"\n",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"x",
    b"hello world",
    b"\xC3\xA9",
    b"\xE2\x82\xAC",
    b"\xFF",
    b"\xEF\xBB\xBF",
    b"0123456789abcdef",
    b"\n\n",
    b"data: \xE2\x82",
];

/// Everything observable, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Event(String, String, String),
    Comment(String),
    Retry(u64),
    /// `feed` call number `n` returned an error.
    Error(usize),
    /// State after a call: last event id, retry.
    State(String, Option<u64>),
}

macro_rules! observe {
    ($parser:expr, $chunks:expr, $module:ident) => {{
        let mut seen = Vec::new();
        for (n, chunk) in $chunks.iter().enumerate() {
            let result = $parser.feed(chunk, |item| {
                seen.push(match item {
                    $module::ParsedItem::Event(e) => Seen::Event(
                        e.event_type.into_owned(),
                        e.data.into_owned(),
                        e.last_event_id.to_owned(),
                    ),
                    $module::ParsedItem::Comment(c) => Seen::Comment(c.into_owned()),
                    $module::ParsedItem::Retry(r) => Seen::Retry(r),
                })
            });
            if result.is_err() {
                seen.push(Seen::Error(n));
            }
            seen.push(Seen::State(
                $parser.last_event_id().to_owned(),
                $parser.retry(),
            ));
        }
        $parser.finish();
        seen.push(Seen::State(
            $parser.last_event_id().to_owned(),
            $parser.retry(),
        ));
        seen
    }};
}

#[test]
fn proposed_parser_matches_src_parser() {
    let cases = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for case in 0..cases {
        let mut stream = Vec::new();
        for _ in 0..rng.below(30) {
            let token = TOKENS[rng.below(TOKENS.len() as u64) as usize];
            let repeat = if rng.below(10) == 0 {
                1 + rng.below(40)
            } else {
                1
            };
            for _ in 0..repeat {
                stream.extend_from_slice(token);
            }
        }
        let chunks: Vec<&[u8]> = if rng.below(4) == 0 {
            vec![&stream[..]]
        } else {
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at((1 + rng.below(12) as usize).min(rest.len()));
                chunks.push(chunk);
                rest = tail;
            }
            chunks
        };
        let mut reference = sse::Parser::new();
        let mut candidate = proposed::Parser::new();
        let expected = observe!(reference, chunks, sse);
        let got = observe!(candidate, chunks, proposed);
        assert_eq!(
            got,
            expected,
            "case {case}, chunks {:?}",
            chunks
                .iter()
                .map(|c| String::from_utf8_lossy(c))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn proposed_parser_matches_on_the_benchmark_inputs() {
    for input in [crate::small_events(5_000), crate::large_events(8)] {
        for feed in [crate::Feed::Whole, crate::Feed::Chunked] {
            assert_eq!(
                crate::run_proposed(&input, feed),
                crate::run_libsse(&input, feed)
            );
        }
    }
}
