//! Parser benchmark: libsse against a `memchr` pass (the physical-limit
//! proxy) and the published Rust SSE parsers, side by side on the same
//! generated input, in one run.
//!
//! Run with `make bench` (= `cargo run --release -p libsse-benches`).
//! Options: `--quick` (smaller input, fewer rounds: a smoke test),
//! `--rounds N` (default 11), `--only NAME[,NAME...]` (peers to run; the
//! memchr pass and libsse always run),
//! `--markdown FILE` (also write the report there).
//!
//! Times are this thread's CPU time (see `CpuClock`), not wall time.
//!
//! Method: every contender consumes the whole input and touches every
//! event's data (count, total data bytes, and a checksum of each event's
//! first and last data byte); all results are checked equal before any
//! time is reported. The rounds are interleaved (round r runs every
//! contender once, in a rotated order) so that machine noise hits all of
//! them alike; the median of the rounds is reported, with ratios against
//! the other contenders measured in the same run. Each peer is driven the
//! way its documentation recommends (see the `run_*` functions).

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::Pin;
use std::process::Command;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{self, Stream};

/// The size of one read, as a client reading a socket would see it.
const CHUNK: usize = 16 * 1024;

// ---------------------------------------------------------------- input

/// A workload: the bytes, whole and pre-sliced into reads.
struct Input {
    name: &'static str,
    raw: Vec<u8>,
    /// The same bytes as one refcounted buffer, for the `Bytes` peers.
    whole: Bytes,
    /// Zero-copy `CHUNK`-byte slices of `whole`.
    chunks: Vec<Bytes>,
    events: u64,
}

impl Input {
    fn new(name: &'static str, raw: Vec<u8>, events: u64) -> Self {
        let whole = Bytes::from(raw.clone());
        let chunks = (0..raw.len())
            .step_by(CHUNK)
            .map(|start| whole.slice(start..(start + CHUNK).min(raw.len())))
            .collect();
        Input {
            name,
            raw,
            whole,
            chunks,
            events,
        }
    }
}

/// A small deterministic generator (xorshift64*), so every run parses the
/// same bytes.
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

const TOKEN_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,";

/// LLM-stream shape: `data: {"token":"..."}` + blank line, 30 to 46
/// bytes per event (38 on average).
fn small_events(count: u64) -> Input {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut raw = Vec::with_capacity(count as usize * 40);
    for _ in 0..count {
        raw.extend_from_slice(b"data: {\"token\":\"");
        for _ in 0..10 + rng.below(17) {
            raw.push(TOKEN_ALPHABET[rng.below(TOKEN_ALPHABET.len() as u64) as usize]);
        }
        raw.extend_from_slice(b"\"}\n\n");
    }
    Input::new("small", raw, count)
}

/// One 64 KiB `data:` line per event (JSON-ish printable ASCII).
fn large_events(count: u64) -> Input {
    const DATA: usize = 64 * 1024;
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let mut raw = Vec::with_capacity(count as usize * (DATA + 8));
    for _ in 0..count {
        raw.extend_from_slice(b"data: ");
        let start = raw.len();
        raw.extend_from_slice(b"{\"text\":\"");
        while raw.len() - start < DATA - 2 {
            raw.push(TOKEN_ALPHABET[rng.below(TOKEN_ALPHABET.len() as u64) as usize]);
        }
        raw.extend_from_slice(b"\"}\n\n");
    }
    Input::new("large", raw, count)
}

// --------------------------------------------------------------- tallies

/// What every contender must compute: proof that it saw every event and
/// touched its data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    events: u64,
    data_bytes: u64,
    checksum: u64,
}

impl Tally {
    #[inline(always)]
    fn event(&mut self, data: &[u8]) {
        self.events += 1;
        self.data_bytes += data.len() as u64;
        if let (Some(first), Some(last)) = (data.first(), data.last()) {
            self.checksum = self
                .checksum
                .wrapping_add(u64::from(*first) << 8 | u64::from(*last));
        }
    }
}

/// Which way the input is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// One call with the whole input.
    Whole,
    /// `CHUNK`-byte reads.
    Chunked,
}

impl Feed {
    fn label(self) -> &'static str {
        match self {
            Feed::Whole => "whole",
            Feed::Chunked => "16 KiB reads",
        }
    }
}

/// The slices a `&[u8]` consumer is fed.
fn slices(input: &Input, feed: Feed) -> impl Iterator<Item = &[u8]> {
    let size = match feed {
        Feed::Whole => input.raw.len(),
        Feed::Chunked => CHUNK,
    };
    input.raw.chunks(size)
}

/// The `Bytes` stream a `futures` consumer is fed (zero-copy clones).
fn byte_stream(
    input: &Input,
    feed: Feed,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin + '_ {
    let items: Vec<Bytes> = match feed {
        Feed::Whole => vec![input.whole.clone()],
        Feed::Chunked => input.chunks.clone(),
    };
    stream::iter(items.into_iter().map(Ok))
}

/// Drains a stream that never waits (its source is in memory), without an
/// async runtime: each poll is answered at once.
fn drain<S, T>(mut stream: S, mut on_item: impl FnMut(T))
where
    S: Stream<Item = T> + Unpin,
{
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    loop {
        match Pin::new(&mut stream).poll_next(&mut cx) {
            Poll::Ready(Some(item)) => on_item(item),
            Poll::Ready(None) => return,
            Poll::Pending => unreachable!("in-memory stream returned Pending"),
        }
    }
}

// ----------------------------------------------------------- contenders

/// The physical-limit proxy: find every `\n` with memchr, nothing else.
/// Its tally counts newlines, so it is checked separately.
fn run_memchr(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    for slice in slices(input, feed) {
        tally.events += memchr::memchr_iter(b'\n', black_box(slice)).count() as u64;
    }
    tally
}

/// libsse: the lending callback API, the parser's only API.
fn run_libsse(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let mut parser = sse::Parser::new();
    for slice in slices(input, feed) {
        parser
            .feed(slice, |item| {
                if let sse::ParsedItem::Event(event) = item {
                    tally.event(event.data.as_bytes());
                }
            })
            .expect("libsse parse error");
    }
    parser.finish();
    tally
}

/// sse-stream: `SseByteStream` over a stream of `Bytes` ("use it to avoid
/// converting each buffer into an HTTP body frame and back").
fn run_sse_stream(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let events = sse_stream::SseByteStream::new(byte_stream(input, feed));
    drain(events, |event| {
        let event = event.expect("sse-stream parse error");
        if let Some(data) = &event.data {
            tally.event(data.as_bytes());
        }
    });
    tally
}

/// sseer: `EventStream` over `Bytes` chunks, its zero-copy path (events
/// are sliced out of the chunk).
fn run_sseer(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let events = sseer::EventStream::new(byte_stream(input, feed));
    drain(events, |event| {
        let event = event.expect("sseer parse error");
        tally.event(event.data.as_bytes());
    });
    tally
}

/// sse-core: the synchronous `SseDecoder` over caller-managed buffers
/// ("if you are managing your own buffers, use the SseDecoder directly").
fn run_sse_core(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let mut decoder = sse_core::SseDecoder::new();
    for mut slice in slices(input, feed) {
        while let Some(event) = decoder.next(&mut slice) {
            if let sse_core::SseEvent::Message(message) = event.expect("sse-core parse error") {
                tally.event(message.data.as_bytes());
            }
        }
    }
    tally
}

/// sse-parse: the sans-IO `SseParser`: feed, then drain `next_event`.
fn run_sse_parse(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let mut parser = sse_parse::SseParser::new();
    for slice in slices(input, feed) {
        parser.feed(slice);
        while let Some(event) = parser.next_event() {
            tally.event(event.data.as_bytes());
        }
    }
    parser.finish();
    tally
}

/// sse-codec: its `futures_codec::Decoder` driven as `FramedRead` drives
/// it: append each read to a `BytesMut`, decode until it asks for more.
fn run_sse_codec(input: &Input, feed: Feed) -> Tally {
    use futures_codec::Decoder;
    let mut tally = Tally::default();
    let mut codec = sse_codec::SSECodec::default();
    let mut buffer = futures_codec::BytesMut::new();
    for slice in slices(input, feed) {
        buffer.extend_from_slice(slice);
        while let Some(event) = codec.decode(&mut buffer).expect("sse-codec parse error") {
            if let sse_codec::Event::Message { data, .. } = event {
                tally.event(data.as_bytes());
            }
        }
    }
    tally
}

/// eventsource-stream: `EventStream` over a stream of `Bytes`.
fn run_eventsource_stream(input: &Input, feed: Feed) -> Tally {
    let mut tally = Tally::default();
    let events = eventsource_stream::EventStream::new(byte_stream(input, feed));
    drain(events, |event| {
        let event = event.expect("eventsource-stream parse error");
        tally.event(event.data.as_bytes());
    });
    tally
}

type Runner = fn(&Input, Feed) -> Tally;

struct Contender {
    name: &'static str,
    /// The crate whose version the report names (None: not a crate).
    krate: Option<&'static str>,
    run: Runner,
    /// Why it is left out of a (workload, feed) pair, if it is.
    skip: fn(&Input, Feed) -> Option<&'static str>,
}

fn never(_: &Input, _: Feed) -> Option<&'static str> {
    None
}

/// eventsource-stream moves the whole unparsed rest of its buffer
/// (`String::split_off`) after every line: quadratic in the bytes it
/// holds, about an hour on a 38 MB single feed.
fn eventsource_stream_skip(_: &Input, feed: Feed) -> Option<&'static str> {
    (feed == Feed::Whole).then_some("quadratic: `split_off` of the rest of the input per line")
}

fn contenders() -> Vec<Contender> {
    vec![
        Contender {
            name: "memchr `\\n` pass",
            krate: Some("memchr"),
            run: run_memchr,
            skip: never,
        },
        Contender {
            name: "libsse",
            krate: None,
            run: run_libsse,
            skip: never,
        },
        Contender {
            name: "sse-stream",
            krate: Some("sse-stream"),
            run: run_sse_stream,
            skip: never,
        },
        Contender {
            name: "sseer",
            krate: Some("sseer"),
            run: run_sseer,
            skip: never,
        },
        Contender {
            name: "sse-core",
            krate: Some("sse-core"),
            run: run_sse_core,
            skip: never,
        },
        Contender {
            name: "sse-parse",
            krate: Some("sse-parse"),
            run: run_sse_parse,
            skip: never,
        },
        Contender {
            name: "sse-codec",
            krate: Some("sse-codec"),
            run: run_sse_codec,
            skip: never,
        },
        Contender {
            name: "eventsource-stream",
            krate: Some("eventsource-stream"),
            run: run_eventsource_stream,
            skip: eventsource_stream_skip,
        },
    ]
}

const MEMCHR: usize = 0;
const LIBSSE: usize = 1;

/// Ours, not peers: excluded from "the fastest peer".
fn is_ours(i: usize) -> bool {
    i == MEMCHR || i == LIBSSE
}

// ------------------------------------------------------------ measuring

struct Options {
    quick: bool,
    rounds: usize,
    only: Option<Vec<String>>,
    markdown: Option<String>,
    /// /proc/loadavg when the run started: how busy the machine was.
    load: Option<String>,
}

fn parse_args() -> Options {
    let mut options = Options {
        quick: false,
        rounds: 11,
        only: None,
        markdown: None,
        load: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", ")),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {
                options.quick = true;
                options.rounds = 3;
            }
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--rounds takes a positive number");
            }
            "--only" => {
                let names = args.next().expect("--only takes a list of names");
                options.only = Some(names.split(',').map(str::to_owned).collect());
            }
            "--markdown" => options.markdown = Some(args.next().expect("--markdown takes a file")),
            "-h" | "--help" => {
                println!(
                    "usage: libsse-benches [--quick] [--rounds N] [--only NAME,...] [--markdown FILE]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other:?} (try --help)"),
        }
    }
    options
}

/// The median and best times of the rounds a contender ran.
struct Measured {
    median: Duration,
    best: Duration,
    runs: usize,
}

/// One (workload, feed) pair: every contender's median, or why it was
/// skipped.
struct Case<'a> {
    input: &'a Input,
    feed: Feed,
    results: Vec<Result<Measured, &'static str>>,
}

/// A contender slower than this per run gets at most `SLOW_ROUNDS` rounds,
/// to keep the whole benchmark near two minutes.
const SLOW_RUN: Duration = Duration::from_millis(400);
const SLOW_ROUNDS: usize = 3;

/// The CPU time of this thread (`CLOCK_THREAD_CPUTIME_ID`): unlike wall
/// time it does not count the time the scheduler gives to other processes,
/// which on a shared 2-core machine is most of the noise.
#[derive(Clone, Copy)]
struct CpuClock(Duration);

impl CpuClock {
    fn now() -> Self {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        CpuClock(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    fn elapsed(self) -> Duration {
        Self::now().0.saturating_sub(self.0)
    }
}

/// One (workload, feed) pair being measured.
struct Plan<'a> {
    input: &'a Input,
    feed: Feed,
    skipped: Vec<Option<&'static str>>,
    times: Vec<Vec<Duration>>,
}

impl Plan<'_> {
    /// Whether contender `i` still needs a run.
    fn wants(&self, i: usize) -> bool {
        let slow = self.times[i].first().is_some_and(|t| *t > SLOW_RUN);
        self.skipped[i].is_none() && !(slow && self.times[i].len() >= SLOW_ROUNDS)
    }
}

/// The warm-up run of every contender on a plan, which is also the
/// correctness check: all must agree, and none may lose an event.
fn warm_up_and_check(plan: &mut Plan, contenders: &[Contender]) {
    let input = plan.input;
    let expected_newlines = memchr::memchr_iter(b'\n', &input.raw).count() as u64;
    let mut reference: Option<(usize, Tally)> = None;
    for (i, contender) in contenders.iter().enumerate() {
        if plan.skipped[i].is_some() {
            continue;
        }
        let start = CpuClock::now();
        let tally = black_box((contender.run)(black_box(input), plan.feed));
        let elapsed = start.elapsed();
        if i == MEMCHR {
            assert_eq!(tally.events, expected_newlines, "memchr pass miscounted");
        } else {
            let (first, expected) = *reference.get_or_insert((i, tally));
            assert_eq!(
                tally,
                expected,
                "{} disagrees with {} on {} / {}",
                contender.name,
                contenders[first].name,
                input.name,
                plan.feed.label()
            );
            assert_eq!(tally.events, input.events, "{} lost events", contender.name);
        }
        if elapsed > SLOW_RUN {
            plan.times[i].push(elapsed); // counts as a round, it is long enough
        }
    }
}

/// Measures every (input, feed) pair. Round r runs every pair, and in each
/// pair every contender once, in an order rotated by r, so that noise
/// from the machine (2 shared cores) spreads evenly over all of them.
fn measure<'a>(
    inputs: &'a [Input],
    contenders: &[Contender],
    active: &[bool],
    rounds: usize,
) -> Vec<Case<'a>> {
    let mut plans = Vec::new();
    for input in inputs {
        for feed in [Feed::Whole, Feed::Chunked] {
            let skipped = contenders
                .iter()
                .zip(active)
                .map(|(c, &on)| {
                    if on {
                        (c.skip)(input, feed)
                    } else {
                        Some("not selected")
                    }
                })
                .collect();
            let mut plan = Plan {
                input,
                feed,
                skipped,
                times: vec![Vec::new(); contenders.len()],
            };
            eprintln!("checking {} / {} ...", input.name, feed.label());
            warm_up_and_check(&mut plan, contenders);
            plans.push(plan);
        }
    }
    for round in 0..rounds {
        eprintln!("round {} of {rounds} ...", round + 1);
        for (p, plan) in plans.iter_mut().enumerate() {
            for k in 0..contenders.len() {
                let i = (k + round + p) % contenders.len();
                if !plan.wants(i) {
                    continue;
                }
                let start = CpuClock::now();
                black_box((contenders[i].run)(black_box(plan.input), plan.feed));
                plan.times[i].push(start.elapsed());
            }
        }
    }
    plans
        .into_iter()
        .map(|plan| {
            let results = plan
                .times
                .into_iter()
                .zip(plan.skipped)
                .map(|(mut t, skip)| match skip {
                    Some(reason) => Err(reason),
                    None => {
                        t.sort();
                        Ok(Measured {
                            median: t[t.len() / 2],
                            best: t[0],
                            runs: t.len(),
                        })
                    }
                })
                .collect();
            Case {
                input: plan.input,
                feed: plan.feed,
                results,
            }
        })
        .collect()
}

// ------------------------------------------------------------- reporting

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The version of `krate` resolved in the workspace lock file.
fn locked_version(krate: &str) -> String {
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    let Ok(text) = std::fs::read_to_string(lock) else {
        return "?".into();
    };
    let mut lines = text.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{krate}\"") {
            if let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                versions.push(v.trim_matches('"').to_owned());
            }
        }
    }
    if versions.is_empty() {
        "?".into()
    } else {
        versions.join(", ")
    }
}

/// Which `src/parser.rs` was measured: its last commit, and whether the
/// working tree differs from it.
fn parser_version() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let commit = command_output(
        "git",
        &[
            "-C",
            root,
            "log",
            "-1",
            "--format=%h %cs",
            "--",
            "src/parser.rs",
        ],
    );
    let dirty = Command::new("git")
        .args(["-C", root, "diff", "--quiet", "HEAD", "--", "src/parser.rs"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(false);
    match commit {
        Some(c) if dirty => format!("`src/parser.rs` of commit {c}, with uncommitted changes"),
        Some(c) => format!("`src/parser.rs` as of commit {c}"),
        None => "`src/parser.rs` (no git information)".into(),
    }
}

fn fmt_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn throughput(bytes: usize, d: Duration) -> String {
    let per_s = bytes as f64 / d.as_secs_f64();
    if per_s >= 1e9 {
        format!("{:.2} GB/s", per_s / 1e9)
    } else {
        format!("{:.0} MB/s", per_s / 1e6)
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    b.as_secs_f64() / a.as_secs_f64()
}

/// The fastest peer (by median; not memchr, not ours) of a case.
fn fastest_peer<'c>(case: &'c Case) -> Option<(usize, &'c Measured)> {
    case.results
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_ours(*i))
        .filter_map(|(i, r)| r.as_ref().ok().map(|m| (i, m)))
        .min_by_key(|(_, m)| m.median)
}

fn events_per_s(events: u64, d: Duration) -> String {
    let per_s = events as f64 / d.as_secs_f64();
    if per_s >= 1e6 {
        format!("{:.1} M", per_s / 1e6)
    } else {
        format!("{:.0} k", per_s / 1e3)
    }
}

/// The verdicts for libsse (`ours`) in one case: ratios of medians
/// (best times in brackets, less sensitive to a busy machine).
fn verdicts(case: &Case, contenders: &[Contender], ours: usize) -> Option<String> {
    let mine = case.results[ours].as_ref().ok()?;
    let mut parts = Vec::new();
    if let Some((i, peer)) = fastest_peer(case) {
        let r = ratio(mine.median, peer.median);
        let verdict = match (case.input.name, r >= 3.0) {
            ("small", true) => ", target ≥3x: met",
            ("small", false) => ", target ≥3x: **missed**",
            _ => "",
        };
        parts.push(format!(
            "{r:.2}x the fastest peer, {} [best {:.2}x]{verdict}",
            contenders[i].name,
            ratio(mine.best, peer.best)
        ));
    }
    if let Ok(m) = &case.results[MEMCHR] {
        let pct = 100.0 * m.median.as_secs_f64() / mine.median.as_secs_f64();
        let verdict = match (case.input.name, pct >= 50.0) {
            ("large", true) => ", target ≥50%: met",
            ("large", false) => ", target ≥50%: **missed**",
            _ => "",
        };
        parts.push(format!(
            "{pct:.0}% of the memchr pass [best {:.0}%]{verdict}",
            100.0 * m.best.as_secs_f64() / mine.best.as_secs_f64()
        ));
    }
    Some(format!(
        "- {}, {}: {} at {}",
        case.input.name,
        case.feed.label(),
        contenders[ours].name,
        parts.join("; ")
    ))
}

fn report(cases: &[Case], contenders: &[Contender], options: &Options, wall: Duration) -> String {
    let mut md = String::new();
    let mut line = |s: String| {
        md.push_str(&s);
        md.push('\n');
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        "make bench   # = cargo run --release -p libsse-benches".to_owned()
    } else {
        format!(
            "cargo run --release -p libsse-benches -- {}",
            args.join(" ")
        )
    };
    line(format!("Command: `{command}`"));
    line(String::new());
    line(format!(
        "- date: {}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "?".into())
    ));
    line(format!(
        "- machine: {} cores (`nproc`), CPU `{}` (/proc/cpuinfo)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    ));
    line(format!(
        "- load average before the run (1, 5, 15 min): {}",
        options.load.as_deref().unwrap_or("?")
    ));
    line(format!(
        "- toolchain: {}",
        command_output(
            &std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()),
            &["--version"]
        )
        .unwrap_or_else(|| "?".into())
    ));
    let peers: Vec<String> = contenders
        .iter()
        .filter_map(|c| c.krate)
        .map(|k| format!("{k} {}", locked_version(k)))
        .collect();
    line(format!("- crates (Cargo.lock): {}", peers.join(", ")));
    line(format!("- libsse: {}", parser_version()));
    line(format!(
        "- method: thread CPU time; {} interleaved rounds after a checked warm-up, median \
         reported (a contender slower than {} ms per run gets {} runs); the whole run took {:.0} s",
        options.rounds,
        SLOW_RUN.as_millis(),
        SLOW_ROUNDS,
        wall.as_secs_f64()
    ));
    let mut inputs: Vec<&Input> = Vec::new();
    for case in cases {
        if !inputs.iter().any(|i| std::ptr::eq(*i, case.input)) {
            inputs.push(case.input);
        }
    }
    for input in inputs {
        line(format!(
            "- input `{}`: {} events, {:.1} MB ({:.0} bytes/event); every contender's event \
             count, data bytes and data checksum were checked equal",
            input.name,
            input.events,
            input.raw.len() as f64 / 1e6,
            input.raw.len() as f64 / input.events as f64
        ));
    }
    line(String::new());
    line(
        "| workload | feed | contender | median time | (best) | throughput | events/s | ns/event | % of memchr | libsse is |"
            .into(),
    );
    line("|---|---|---|---:|---:|---:|---:|---:|---:|---:|".into());
    for case in cases {
        let libsse = case.results[LIBSSE].as_ref().ok().map(|m| m.median);
        let memchr = case.results[MEMCHR].as_ref().ok().map(|m| m.median);
        for (i, result) in case.results.iter().enumerate() {
            let name = contenders[i].name;
            let prefix = format!("| {} | {} | {}", case.input.name, case.feed.label(), name);
            match result {
                Err("not selected") => {}
                Err(reason) => line(format!("{prefix} | skipped: {reason} | | | | | | |")),
                Ok(m) => {
                    let (events_s, ns_event) = if i == MEMCHR {
                        (String::new(), String::new())
                    } else {
                        (
                            events_per_s(case.input.events, m.median),
                            format!(
                                "{:.1}",
                                m.median.as_secs_f64() * 1e9 / case.input.events as f64
                            ),
                        )
                    };
                    let of_memchr = memchr.map_or(String::new(), |c| {
                        format!("{:.0}%", 100.0 * c.as_secs_f64() / m.median.as_secs_f64())
                    });
                    let speedup = match (i, libsse) {
                        (LIBSSE, _) => "—".into(),
                        (_, Some(l)) => format!("{:.2}x", ratio(l, m.median)),
                        _ => String::new(),
                    };
                    let runs = if m.runs < options.rounds {
                        format!(" ({} runs)", m.runs)
                    } else {
                        String::new()
                    };
                    let bold = if i == LIBSSE { "**" } else { "" };
                    line(format!(
                        "{prefix} | {bold}{}{bold}{runs} | ({}) | {bold}{}{bold} | {events_s} | {ns_event} | {of_memchr} | {speedup} |",
                        fmt_duration(m.median),
                        fmt_duration(m.best),
                        throughput(case.input.raw.len(), m.median),
                    ));
                }
            }
        }
    }
    line(String::new());
    line(
        "\"libsse is\": the contender's time over libsse's (above 1: libsse is faster). \
         Targets: small events ≥3x the fastest peer; large events ≥50% of the memchr pass."
            .into(),
    );
    line(String::new());
    for case in cases {
        if let Some(v) = verdicts(case, contenders, LIBSSE) {
            line(v);
        }
    }
    md
}

fn main() {
    let options = parse_args();
    let started = Instant::now();
    let (small_count, large_count) = if options.quick {
        (100_000, 64)
    } else {
        (1_000_000, 512)
    };
    let inputs = [small_events(small_count), large_events(large_count)];
    let contenders = contenders();
    let active: Vec<bool> = contenders
        .iter()
        .enumerate()
        .map(|(i, c)| {
            is_ours(i)
                || options
                    .only
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|n| n == c.name))
        })
        .collect();
    let cases = measure(&inputs, &contenders, &active, options.rounds);
    let md = report(&cases, &contenders, &options, started.elapsed());
    print!("{md}");
    if let Some(path) = &options.markdown {
        std::fs::write(path, &md).expect("cannot write the markdown report");
    }
}
