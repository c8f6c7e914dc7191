//! The endpoints.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::{self, Body, Conn, Framing, ReqError, Request, Stop};
use crate::util::{self, BadParam, Params, Rng};
use crate::{lock, RecordedRequest, Shared};

/// How a connection ends after its handler returns.
enum End {
    /// Close cleanly (TLS close_notify, FIN).
    Clean,
    /// Shut the socket down at once (no TLS close_notify).
    Abrupt,
    /// Keep the connection open, silent, until the peer or the server
    /// closes it.
    Hold,
}

/// Why a handler gave up.
enum Fail {
    /// A bad query parameter, found before the response head was sent.
    Param(BadParam),
    /// A body write stopped.
    Stop(Stop),
}

impl From<BadParam> for Fail {
    fn from(e: BadParam) -> Self {
        Fail::Param(e)
    }
}

impl From<Stop> for Fail {
    fn from(e: Stop) -> Self {
        Fail::Stop(e)
    }
}

impl From<std::io::Error> for Fail {
    fn from(_: std::io::Error) -> Self {
        Fail::Stop(Stop::Gone)
    }
}

type HResult = Result<End, Fail>;

/// Everything a handler needs to know about its request.
struct Ctx {
    shared: Arc<Shared>,
    req: Request,
    number: usize,
    path: String,
    params: Params,
}

impl Ctx {
    /// Writes the response head: status line, the common headers, the
    /// given ones, the framing header, `header=Name:Value` extras.
    fn head(
        &self,
        conn: &mut Conn,
        code: u16,
        headers: &[(&str, &str)],
        framing: Framing,
    ) -> std::io::Result<()> {
        if self.shared.logging.load(Ordering::Relaxed) {
            eprintln!(
                "sse-demo-server: #{} {} {} -> {}",
                self.number, self.req.method, self.req.target, code
            );
        }
        let mut h = format!(
            "HTTP/1.1 {code} {}\r\nX-Request-Number: {}\r\nConnection: close\r\nCache-Control: no-cache\r\n",
            http::reason(code),
            self.number
        );
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        if framing == Framing::Chunked {
            h.push_str("Transfer-Encoding: chunked\r\n");
        }
        for extra in self.params.all("header") {
            if let Some((k, v)) = extra.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if !k.is_empty() && !has_ctl(k) && !has_ctl(v) {
                    h.push_str(&format!("{k}: {v}\r\n"));
                }
            }
        }
        h.push_str("\r\n");
        conn.write_all(h.as_bytes())?;
        conn.flush()
    }

    /// A complete response with a fixed body.
    fn fixed(&self, conn: &mut Conn, code: u16, headers: &[(&str, &str)], body: &[u8]) -> HResult {
        let len = body.len().to_string();
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        let has_body = !(code == 204 || code == 304 || code < 200);
        if has_body {
            all.push(("Content-Length", &len));
        }
        self.head(conn, code, &all, Framing::Length)?;
        if has_body && !body.is_empty() {
            conn.write_all(body)?;
            conn.flush()?;
        }
        Ok(End::Clean)
    }

    fn text(&self, conn: &mut Conn, code: u16, body: &str) -> HResult {
        self.fixed(
            conn,
            code,
            &[("Content-Type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        )
    }

    /// The `framing` and `cut_at_byte` parameters of streaming endpoints.
    fn stream_params(&self) -> Result<(Framing, Option<u64>), BadParam> {
        let framing = match self.params.get("framing") {
            // An HTTP/1.0 client cannot read chunked bodies.
            None if self.req.http10 => Framing::Close,
            None | Some("chunked") => Framing::Chunked,
            Some("close") => Framing::Close,
            Some(other) => {
                return Err(BadParam(format!(
                    "framing={other:?}: expected chunked or close"
                )))
            }
        };
        Ok((framing, self.params.opt_u64("cut_at_byte")?))
    }

    /// Sends a 200 head for a streaming body and returns the body writer.
    /// `content_type` None sends no Content-Type header.
    fn stream<'c>(
        &self,
        conn: &'c mut Conn,
        content_type: Option<&str>,
        gzip: bool,
    ) -> Result<Body<'c>, Fail> {
        let (framing, cut) = self.stream_params()?;
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = content_type {
            headers.push(("Content-Type", t));
        }
        if gzip {
            headers.push(("Content-Encoding", "gzip"));
        }
        self.head(conn, 200, &headers, framing)?;
        Ok(Body::new(conn, framing, cut, gzip))
    }

    /// `Last-Event-ID` parsed as an integer.
    fn last_event_id(&self) -> Option<u64> {
        self.req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("last-event-id"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
    }
}

fn has_ctl(s: &str) -> bool {
    s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

const EVENT_STREAM: Option<&str> = Some("text/event-stream");

/// Serves one connection: reads one request, answers, closes.
pub(crate) fn serve(shared: Arc<Shared>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
    let mut conn = match &shared.tls {
        Some(cfg) => match rustls::ServerConnection::new(cfg.clone()) {
            Ok(c) => Conn::Tls(Box::new(rustls::StreamOwned::new(c, tcp))),
            Err(_) => return,
        },
        None => Conn::Plain(tcp),
    };
    let req = match http::read_request(&mut conn) {
        Ok(r) => r,
        Err(ReqError::Io) => {
            conn.close_abrupt();
            return;
        }
        Err(ReqError::Bad(code, msg)) => {
            let body = format!("{msg}\n");
            let head = format!(
                "HTTP/1.1 {code} {}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                http::reason(code),
                body.len()
            );
            let _ = conn.write_all(head.as_bytes());
            let _ = conn.write_all(body.as_bytes());
            let _ = conn.flush();
            conn.close_clean();
            return;
        }
    };
    let _ = conn.tcp().set_read_timeout(None);
    let number = shared.record(RecordedRequest {
        method: req.method.clone(),
        path: req.target.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
    });
    let (path, query) = match req.target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q),
        None => (req.target.clone(), ""),
    };
    let params = Params::parse(query);
    let ctx = Ctx {
        shared,
        req,
        number,
        path,
        params,
    };
    let end = match route(&ctx, &mut conn) {
        Ok(end) => end,
        Err(Fail::Stop(Stop::Cut | Stop::Gone)) => End::Abrupt,
        Err(Fail::Param(BadParam(msg))) => ctx
            .text(&mut conn, 400, &format!("{msg}\n"))
            .unwrap_or(End::Abrupt),
    };
    match end {
        End::Clean => conn.close_clean(),
        End::Abrupt => conn.close_abrupt(),
        End::Hold => {
            conn.hold();
            conn.close_abrupt();
        }
    }
}

fn route(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let path = ctx.path.as_str();
    match path {
        "/ticker" => ticker(ctx, conn, ctx.params.flag("gzip")),
        "/gzip" => ticker(ctx, conn, true),
        "/fault" => fault(ctx, conn),
        "/content-type" => content_type(ctx, conn),
        "/redirect" => redirect(ctx, conn, None),
        "/redirect-loop" => redirect(ctx, conn, Some(ctx.req.target.as_str())),
        "/echo" => echo(ctx, conn),
        "/silent" => {
            ctx.stream(conn, EVENT_STREAM, false)?;
            Ok(End::Hold)
        }
        "/silent-headers" => Ok(End::Hold),
        "/comments" => comments(ctx, conn),
        "/endless-line" => endless_line(ctx, conn),
        "/retry" => retry(ctx, conn),
        "/raw" => raw(ctx, conn),
        "/fast" => fast(ctx, conn),
        "/stamp" => stamp(ctx, conn),
        "/requests" => requests(ctx, conn),
        _ => match path.strip_prefix("/status/") {
            Some(code) => status(ctx, conn, code),
            None => ctx.text(conn, 404, "not found\n"),
        },
    }
}

/// `/ticker` and `/gzip`.
fn ticker(ctx: &Ctx, conn: &mut Conn, gzip: bool) -> HResult {
    let p = &ctx.params;
    let count = p.u64("count", 0)?;
    let interval = Duration::from_millis(p.u64("interval_ms", 0)?);
    let drop_after = p.opt_u64("drop_after")?;
    let comment_every = p.u64("comment_every", 0)?;
    let start = match ctx.last_event_id() {
        // The client already has the largest possible id: nothing to send.
        Some(u64::MAX) => return empty_stream(ctx, conn, gzip),
        Some(n) => n + 1,
        None => p.u64("start", 1)?,
    };
    let hold = p.get("close_after") == Some("0") || p.flag("hold");
    let ids = p.get("ids") != Some("0");
    let event = p.get("event").filter(|e| !has_ctl(e));
    let retry = p.get("retry").filter(|e| !has_ctl(e));

    let mut body = ctx.stream(conn, EVENT_STREAM, gzip)?;
    if let Some(r) = retry {
        body.send(format!("retry: {r}\n\n").as_bytes())?;
    }
    let mut sent = 0u64;
    let mut i = start;
    while count == 0 || i <= count {
        if drop_after == Some(sent) {
            return Ok(End::Abrupt);
        }
        if sent > 0 && !interval.is_zero() && !ctx.shared.sleep(interval) {
            return Ok(End::Abrupt);
        }
        let mut ev = String::with_capacity(48);
        if ids {
            ev.push_str(&format!("id: {i}\n"));
        }
        if let Some(t) = event {
            ev.push_str(&format!("event: {t}\n"));
        }
        ev.push_str(&format!("data: tick {i}\n\n"));
        body.send(ev.as_bytes())?;
        sent += 1;
        if comment_every > 0 && sent % comment_every == 0 {
            body.send(b": keep-alive\n")?;
        }
        match i.checked_add(1) {
            Some(next) => i = next,
            None => break,
        }
    }
    if hold {
        return Ok(End::Hold);
    }
    body.finish()?;
    Ok(End::Clean)
}

/// A 200 event stream with no events, ended cleanly.
fn empty_stream(ctx: &Ctx, conn: &mut Conn, gzip: bool) -> HResult {
    ctx.stream(conn, EVENT_STREAM, gzip)?.finish()?;
    Ok(End::Clean)
}

/// `/fault`: events 1..=total, connections killed at random byte offsets
/// until `kills` kills were done for this seed.
fn fault(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let p = &ctx.params;
    let total = p.u64("total", 100)?;
    let max_kills = p.u64("kills", 5)?;
    let seed = p.u64("seed", 1)?;
    let interval = Duration::from_millis(p.u64("interval_ms", 0)?);
    let (framing, _) = ctx.stream_params()?;
    // None: the client already has the largest possible id.
    let start = match ctx.last_event_id() {
        Some(n) => n.checked_add(1),
        None => Some(1),
    };
    let remaining = match start {
        Some(s) if s <= total => total - s + 1,
        _ => 0,
    };
    let start = start.unwrap_or(u64::MAX);

    let (conn_no, kills_left) = {
        let mut m = lock(&ctx.shared.fault);
        let st = m.entry(seed).or_default();
        let c = st.connections;
        st.connections += 1;
        // Kills left, this one included (0: serve cleanly).
        let kills_left = if remaining > 0 {
            max_kills.saturating_sub(st.kills)
        } else {
            0
        };
        if kills_left > 0 {
            st.kills += 1;
        }
        (c, kills_left)
    };
    let conn_seed = seed ^ conn_no.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    // Line ends per event, and (separately) where to cut.
    let mut eol_rng = Rng::new(conn_seed);
    let mut cut_rng = Rng::new(conn_seed ^ 0x5DEE_CE66_D1CE_4E5B);
    // Spread the kills: the victim event lies in the first
    // 1/kills_left of what remains, so all kills happen before the end.
    let victim = if kills_left > 0 {
        Some(cut_rng.below(remaining.div_ceil(kills_left)))
    } else {
        None
    };

    ctx.head(conn, 200, &[("Content-Type", "text/event-stream")], framing)?;
    let mut body = Body::new(conn, framing, None, false);
    let mut ev = Vec::with_capacity(64);
    for k in 0..remaining {
        if k > 0 && !interval.is_zero() && !ctx.shared.sleep(interval) {
            return Ok(End::Abrupt);
        }
        let i = start + k;
        let eol: &[u8] = match eol_rng.below(4) {
            0 | 1 => b"\n",
            2 => b"\r\n",
            _ => b"\r",
        };
        ev.clear();
        ev.extend_from_slice(format!("id: {i}").as_bytes());
        ev.extend_from_slice(eol);
        ev.extend_from_slice(format!("data: event {i}").as_bytes());
        ev.extend_from_slice(eol);
        ev.extend_from_slice(eol);
        if victim == Some(k) {
            // Sometimes right between a CR and its LF, else anywhere.
            let cr_lf: Vec<usize> = (1..ev.len())
                .filter(|&j| ev[j - 1] == b'\r' && ev[j] == b'\n')
                .collect();
            let at = if !cr_lf.is_empty() && cut_rng.below(3) == 0 {
                cr_lf[cut_rng.below(cr_lf.len() as u64) as usize]
            } else {
                cut_rng.below(ev.len() as u64) as usize
            };
            body.send(&ev[..at])?;
            return Ok(End::Abrupt);
        }
        body.send(&ev)?;
    }
    body.finish()?;
    Ok(End::Clean)
}

/// `/status/<code>`.
fn status(ctx: &Ctx, conn: &mut Conn, code: &str) -> HResult {
    let code = match code.parse::<u16>() {
        Ok(c) if (200..=599).contains(&c) => c,
        _ => return Err(BadParam(format!("status {code:?}: expected 200..599")).into()),
    };
    let p = &ctx.params;
    let mut headers: Vec<(&str, &str)> = Vec::new();
    let content_type = p.get("type").unwrap_or("text/plain; charset=utf-8");
    if !has_ctl(content_type) {
        headers.push(("Content-Type", content_type));
    }
    if let Some(r) = p.get("retry_after").filter(|v| !has_ctl(v)) {
        headers.push(("Retry-After", r));
    }
    if let Some(l) = p.get("location").filter(|v| !has_ctl(v)) {
        headers.push(("Location", l));
    }
    let default_body = format!("{code} {}\n", http::reason(code));
    let body = p.get("body").unwrap_or(&default_body);
    ctx.fixed(conn, code, &headers, body.as_bytes())
}

/// `/content-type?type=T`.
fn content_type(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let t = ctx.params.get("type").filter(|t| !has_ctl(t));
    let mut body = ctx.stream(conn, t, false)?;
    body.send(b"data: hello\n\n")?;
    body.finish()?;
    Ok(End::Clean)
}

/// `/redirect` and `/redirect-loop` (which passes its own target).
fn redirect(ctx: &Ctx, conn: &mut Conn, to_self: Option<&str>) -> HResult {
    let p = &ctx.params;
    let code = p.u64("code", 302)?;
    let code = match u16::try_from(code) {
        Ok(c) if (300..=399).contains(&c) => c,
        _ => return Err(BadParam(format!("code={code}: expected 300..399")).into()),
    };
    let location = match to_self {
        Some(t) => Some(t),
        None if p.flag("missing") => None,
        None => Some(p.get("to").unwrap_or("/ticker?count=3")),
    };
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(l) = location.filter(|l| !has_ctl(l)) {
        headers.push(("Location", l));
    }
    ctx.fixed(conn, code, &headers, b"")
}

/// `/echo`: the request as one JSON event.
fn echo(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let rec = RecordedRequest {
        method: ctx.req.method.clone(),
        path: ctx.req.target.clone(),
        headers: ctx.req.headers.clone(),
        body: ctx.req.body.clone(),
    };
    let hold = ctx.params.flag("hold");
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    body.send(format!("id: echo\ndata: {}\n\n", rec.to_json()).as_bytes())?;
    if hold {
        return Ok(End::Hold);
    }
    body.finish()?;
    Ok(End::Clean)
}

/// `/comments`: only `: ping` comment lines.
fn comments(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let count = ctx.params.u64("count", 0)?;
    let interval = Duration::from_millis(ctx.params.u64("interval_ms", 0)?);
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    let mut n = 0u64;
    while count == 0 || n < count {
        if n > 0 && !interval.is_zero() && !ctx.shared.sleep(interval) {
            return Ok(End::Abrupt);
        }
        body.send(b": ping\n")?;
        n += 1;
    }
    body.finish()?;
    Ok(End::Clean)
}

/// `/endless-line`: `data: xxxxx...` without a line end.
fn endless_line(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let limit = ctx.params.opt_u64("bytes")?;
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    body.send(b"data: ")?;
    let block = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match limit {
            Some(l) if sent >= l => break,
            Some(l) => (l - sent).min(block.len() as u64) as usize,
            None => block.len(),
        };
        if ctx.shared.stopping.load(Ordering::Relaxed) {
            return Ok(End::Abrupt);
        }
        body.send(&block[..n])?;
        sent += n as u64;
    }
    body.finish()?;
    Ok(End::Clean)
}

/// `/retry?ms=R`.
fn retry(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let ms = ctx.params.get("ms").unwrap_or("1000");
    if has_ctl(ms) {
        return Err(BadParam("ms contains a line break".into()).into());
    }
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    body.send(format!("retry: {ms}\nid: r\ndata: retry set\n\n").as_bytes())?;
    body.finish()?;
    Ok(End::Clean)
}

/// `/raw?b64=..`: exact body bytes, optionally in pieces.
fn raw(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let p = &ctx.params;
    let bytes = util::base64_decode(p.get("b64").unwrap_or(""))
        .ok_or_else(|| BadParam("b64 is not valid base64".into()))?;
    let piece = p.u64("chunk_size", 0)? as usize;
    let delay = Duration::from_millis(p.u64("delay_ms", 0)?);
    let t = p.get("type").unwrap_or("text/event-stream");
    let t = (!t.is_empty() && !has_ctl(t)).then_some(t);
    let mut body = ctx.stream(conn, t, false)?;
    let piece = if piece == 0 {
        bytes.len().max(1)
    } else {
        piece
    };
    for (n, part) in bytes.chunks(piece).enumerate() {
        if n > 0 && !delay.is_zero() && !ctx.shared.sleep(delay) {
            return Ok(End::Abrupt);
        }
        body.send(part)?;
    }
    body.finish()?;
    Ok(End::Clean)
}

/// The payload of `/fast` events: `{"token":"abc..."}` padded to `size`.
fn fast_payload(size: usize) -> Vec<u8> {
    const PRE: &[u8] = b"{\"token\":\"";
    const POST: &[u8] = b"\"}";
    let alphabet = b"abcdefghijklmnopqrstuvwxyz";
    if size < PRE.len() + POST.len() {
        return (0..size).map(|i| alphabet[i % 26]).collect();
    }
    let mut v = PRE.to_vec();
    let fill = size - PRE.len() - POST.len();
    v.extend((0..fill).map(|i| alphabet[i % 26]));
    v.extend_from_slice(POST);
    v
}

/// `/fast?count=N&size=S[&rare_every=K][&chunk=event]`: identical events
/// in big writes; with `rare_every`, typed: the first of every K events
/// `event: rare`, the others `event: common` (for the type filter's
/// benchmark); with `chunk=event` (chunked framing), every event is its own
/// chunk, as from a server that flushes each event (writes stay big).
fn fast(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let count = ctx.params.u64("count", 0)?;
    let size = ctx.params.u64("size", 32)?.min(http::MAX_BODY as u64) as usize;
    let rare_every = ctx.params.u64("rare_every", 0)?.min(1 << 16) as usize;
    let chunk_per_event = match ctx.params.get("chunk") {
        None | Some("write") => false,
        Some("event") => true,
        Some(other) => {
            return Err(BadParam(format!("chunk={other:?}: expected write or event")).into())
        }
    };
    let mut data = b"data: ".to_vec();
    data.extend_from_slice(&fast_payload(size));
    data.extend_from_slice(b"\n\n");
    // One cycle of events (one event, or K typed ones); batches of cycles.
    let (event, per_cycle) = if rare_every == 0 {
        (data, 1)
    } else {
        let mut cycle = Vec::new();
        for i in 0..rare_every {
            cycle.extend_from_slice(if i == 0 {
                b"event: rare\n"
            } else {
                b"event: common\n"
            });
            cycle.extend_from_slice(&data);
        }
        (cycle, rare_every as u64)
    };
    let per_batch = (64 * 1024 / event.len()).max(1) as u64 * per_cycle;
    let batch: Vec<u8> = event.repeat((per_batch / per_cycle) as usize);
    // The batch framed once (one chunk per event), written as it is.
    let framed_batch = chunk_per_event.then(|| http::chunk_frames(event_pieces(&batch)));
    let send = |body: &mut Body, bytes: &[u8]| match &framed_batch {
        Some(frames) if body.takes_chunk_frames() => {
            if bytes.len() == batch.len() {
                body.send_chunk_frames(frames, bytes.len())
            } else {
                body.send_chunk_frames(&http::chunk_frames(event_pieces(bytes)), bytes.len())
            }
        }
        _ => body.send(bytes),
    };
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    let mut sent = 0u64;
    loop {
        if ctx.shared.stopping.load(Ordering::Relaxed) {
            return Ok(End::Abrupt);
        }
        if count == 0 || count - sent >= per_batch {
            send(&mut body, &batch)?;
            sent += per_batch;
        } else {
            // Whole cycles, then single events of the next one.
            let left = (count - sent) as usize;
            let cycles = left / per_cycle as usize;
            let mut tail = batch[..cycles * event.len()].to_vec();
            let rest = left % per_cycle as usize;
            if rest > 0 {
                let mut taken = 0;
                let mut offset = 0;
                while taken < rest {
                    let end = memchr_event_end(&event[offset..]) + offset;
                    tail.extend_from_slice(&event[offset..end]);
                    offset = end;
                    taken += 1;
                }
            }
            send(&mut body, &tail)?;
            sent = count;
        }
        if count != 0 && sent >= count {
            break;
        }
    }
    body.finish()?;
    Ok(End::Clean)
}

/// The events of `bytes`, one slice each.
fn event_pieces(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        (offset < bytes.len()).then(|| {
            let end = memchr_event_end(&bytes[offset..]) + offset;
            let piece = &bytes[offset..end];
            offset = end;
            piece
        })
    })
}

/// The end (just past the blank line) of the first event in `bytes`.
fn memchr_event_end(bytes: &[u8]) -> usize {
    bytes
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(bytes.len(), |i| i + 2)
}

/// `/stamp?rate=R&count=N`: events carrying the monotonic clock.
fn stamp(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let rate = ctx.params.f64("rate", 100.0)?;
    let count = ctx.params.u64("count", 0)?;
    let mut body = ctx.stream(conn, EVENT_STREAM, false)?;
    let t0 = Instant::now();
    let mut i = 0u64;
    while count == 0 || i < count {
        if rate > 0.0 {
            let due = t0
                .checked_add(Duration::from_secs_f64((i as f64 / rate).min(1e9)))
                .unwrap_or(t0);
            if !ctx.shared.sleep_until(due) {
                return Ok(End::Abrupt);
            }
        } else if ctx.shared.stopping.load(Ordering::Relaxed) {
            return Ok(End::Abrupt);
        }
        i += 1;
        let ev = format!("id: {i}\ndata: {}\n\n", crate::monotonic_ns());
        body.send(ev.as_bytes())?;
    }
    body.finish()?;
    Ok(End::Clean)
}

/// `/requests`: every recorded request as a JSON array.
fn requests(ctx: &Ctx, conn: &mut Conn) -> HResult {
    let mut out = String::from("[");
    {
        let reqs = lock(&ctx.shared.requests);
        for (i, r) in reqs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            r.write_json(&mut out, Some(i + 1));
        }
    }
    out.push_str("]\n");
    ctx.fixed(
        conn,
        200,
        &[("Content-Type", "application/json")],
        out.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::fast_payload;

    #[test]
    fn fast_payload_sizes() {
        assert_eq!(fast_payload(5), b"abcde");
        assert_eq!(fast_payload(14), b"{\"token\":\"ab\"}");
        assert_eq!(fast_payload(1000).len(), 1000);
    }
}
