//! Hand-rolled HTTP/1.1: the connection type, request parsing and the
//! response body writer (chunked / close framing, gzip, byte cuts).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;

/// Longest request head (request line + headers) accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most headers accepted in one request.
pub(crate) const MAX_HEADERS: usize = 200;
/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// One accepted connection, plain or TLS.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Conn {
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }

    /// Ends the connection cleanly: TLS close_notify, FIN, then a short
    /// lingering read so unread client bytes do not turn the FIN into a RST.
    pub(crate) fn close_clean(mut self) {
        if let Conn::Tls(s) = &mut self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let tcp = self.tcp();
        let _ = tcp.shutdown(Shutdown::Write);
        let deadline = Instant::now() + Duration::from_millis(300);
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = [0u8; 4096];
        let mut tcp_ref = tcp;
        while Instant::now() < deadline {
            match tcp_ref.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
    }

    /// Ends the connection abruptly: no TLS close_notify, no chunked
    /// terminator, the socket shut down at once.
    pub(crate) fn close_abrupt(self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }

    /// Blocks until the peer closes, the socket is shut down (server
    /// stop) or an error occurs; everything read is discarded.
    pub(crate) fn hold(&mut self) {
        let _ = self.tcp().set_read_timeout(None);
        let mut buf = [0u8; 4096];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Origin-form target: path with query (an absolute-form target is
    /// reduced to this).
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// `HTTP/1.0` (no chunked responses then).
    pub(crate) http10: bool,
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReqError {
    /// The connection failed or closed; nothing to answer.
    Io,
    /// A malformed or oversized request: answer with this status and text.
    Bad(u16, String),
}

impl From<io::Error> for ReqError {
    fn from(_: io::Error) -> Self {
        ReqError::Io
    }
}

/// Bytes read from the connection but not consumed yet.
struct Src<'a> {
    conn: &'a mut Conn,
    buf: Vec<u8>,
    pos: usize,
}

impl Src<'_> {
    fn fill(&mut self) -> Result<(), ReqError> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 8192];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(0) => return Err(ReqError::Io),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(ReqError::Io),
            }
        }
    }

    /// One line without its CRLF / LF, at most `max` bytes.
    fn line(&mut self, max: usize, what: &str) -> Result<Vec<u8>, ReqError> {
        // 414 for the request line, 431 for header/trailer lines.
        let code = match what {
            "request line" => 414,
            w if w.contains("header") || w.contains("trailer") => 431,
            _ => 400,
        };
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let mut line = self.buf[self.pos..self.pos + i].to_vec();
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Err(ReqError::Bad(code, format!("{what} too long")));
                }
                return Ok(line);
            }
            if self.buf.len() - self.pos > max {
                return Err(ReqError::Bad(code, format!("{what} too long")));
            }
            self.fill()?;
        }
    }

    fn take(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), ReqError> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.buf.len() {
                self.fill()?;
            }
            let k = left.min(self.buf.len() - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + k]);
            self.pos += k;
            left -= k;
        }
        Ok(())
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads one request (head and body). Sends `100 Continue` when asked.
pub(crate) fn read_request(conn: &mut Conn) -> Result<Request, ReqError> {
    let mut src = Src {
        conn,
        buf: Vec::new(),
        pos: 0,
    };
    // Request line; tolerate empty lines before it (RFC 9112 2.2).
    let mut head_len = 0usize;
    let line = loop {
        let l = src.line(MAX_HEAD, "request line")?;
        head_len += l.len() + 2;
        if head_len > MAX_HEAD {
            return Err(ReqError::Bad(431, "request head too large".into()));
        }
        if !l.is_empty() {
            break l;
        }
    };
    let line = String::from_utf8(line)
        .map_err(|_| ReqError::Bad(400, "request line is not UTF-8".into()))?;
    let mut parts = line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(ReqError::Bad(400, "malformed request line".into())),
    };
    if !is_token(method) {
        return Err(ReqError::Bad(400, "malformed method".into()));
    }
    if !(version == "HTTP/1.1" || version == "HTTP/1.0") {
        return Err(ReqError::Bad(505, "only HTTP/1.0 and HTTP/1.1".into()));
    }
    let target = origin_form(target)?;

    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let l = src.line(MAX_HEAD, "header line")?;
        head_len += l.len() + 2;
        if head_len > MAX_HEAD {
            return Err(ReqError::Bad(431, "request head too large".into()));
        }
        if l.is_empty() {
            break;
        }
        if l[0] == b' ' || l[0] == b'\t' {
            return Err(ReqError::Bad(400, "obsolete header folding".into()));
        }
        let colon = l
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| ReqError::Bad(400, "header line without colon".into()))?;
        let name = String::from_utf8_lossy(&l[..colon]).into_owned();
        if !is_token(&name) {
            return Err(ReqError::Bad(400, "malformed header name".into()));
        }
        let value = String::from_utf8_lossy(&l[colon + 1..])
            .trim_matches([' ', '\t'])
            .to_owned();
        if headers.len() >= MAX_HEADERS {
            return Err(ReqError::Bad(431, "too many headers".into()));
        }
        headers.push((name, value));
    }

    let get = |n: &str| {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let te = get("transfer-encoding");
    let cl = get("content-length");
    let chunked = match te.as_slice() {
        [] => false,
        tes => {
            let joined = tes.join(",");
            let last = joined.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(ReqError::Bad(501, "unsupported transfer-encoding".into()));
            }
            true
        }
    };
    let length = if chunked {
        None
    } else {
        match cl.as_slice() {
            [] => None,
            [v, rest @ ..] if rest.iter().all(|r| r == v) => Some(
                v.parse::<usize>()
                    .map_err(|_| ReqError::Bad(400, "malformed content-length".into()))?,
            ),
            _ => return Err(ReqError::Bad(400, "conflicting content-length".into())),
        }
    };
    if length.is_some_and(|n| n > MAX_BODY) {
        return Err(ReqError::Bad(413, "request body too large".into()));
    }
    let expects_continue = get("expect")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    if expects_continue && (chunked || length.is_some_and(|n| n > 0)) && version == "HTTP/1.1" {
        src.conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        src.conn.flush()?;
    }

    let mut body = Vec::new();
    if let Some(n) = length {
        src.take(n, &mut body)?;
    } else if chunked {
        loop {
            let l = src.line(1024, "chunk size line")?;
            let l = String::from_utf8_lossy(&l);
            let size_str = l.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_str, 16)
                .map_err(|_| ReqError::Bad(400, "malformed chunk size".into()))?;
            if size == 0 {
                // Trailer section, ends with an empty line.
                let mut trailer_len = 0;
                loop {
                    let t = src.line(MAX_HEAD, "trailer line")?;
                    trailer_len += t.len() + 2;
                    if trailer_len > MAX_HEAD {
                        return Err(ReqError::Bad(431, "trailers too large".into()));
                    }
                    if t.is_empty() {
                        break;
                    }
                }
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(ReqError::Bad(413, "request body too large".into()));
            }
            src.take(size, &mut body)?;
            let end = src.line(2, "chunk data")?;
            if !end.is_empty() {
                return Err(ReqError::Bad(400, "chunk data longer than its size".into()));
            }
        }
    }
    Ok(Request {
        method: method.to_owned(),
        target,
        headers,
        body,
        http10: version == "HTTP/1.0",
    })
}

/// Reduces a request target to origin form (`/path?query`).
fn origin_form(target: &str) -> Result<String, ReqError> {
    if target.starts_with('/') {
        return Ok(target.to_owned());
    }
    let lower = target.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        if lower.starts_with(scheme) {
            let rest = &target[scheme.len()..];
            return Ok(match rest.find(['/', '?']) {
                Some(i) if rest.as_bytes()[i] == b'/' => rest[i..].to_owned(),
                Some(i) => format!("/{}", &rest[i..]),
                None => "/".to_owned(),
            });
        }
    }
    if target == "*" {
        return Ok("*".to_owned());
    }
    Err(ReqError::Bad(400, "malformed request target".into()))
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// No length, no chunking: the body ends when the connection closes.
    Close,
    /// `Content-Length` (set by the caller's headers).
    Length,
}

/// Why a body write stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The client went away (or the server is stopping).
    Gone,
    /// The requested byte cut was reached: close abruptly now.
    Cut,
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Self {
        Stop::Gone
    }
}

/// The body writer of a response whose head has been sent.
pub(crate) struct Body<'a> {
    pub(crate) conn: &'a mut Conn,
    framing: Framing,
    /// Stop after this many body bytes (wire bytes after gzip, before
    /// chunk framing).
    cut_at: Option<u64>,
    sent: u64,
    gz: Option<GzEncoder<Vec<u8>>>,
}

impl<'a> Body<'a> {
    pub(crate) fn new(
        conn: &'a mut Conn,
        framing: Framing,
        cut_at: Option<u64>,
        gzip: bool,
    ) -> Self {
        Body {
            conn,
            framing,
            cut_at,
            sent: 0,
            gz: gzip.then(|| GzEncoder::new(Vec::new(), Compression::default())),
        }
    }

    /// Writes `data` (compressed when gzip, sync-flushed) and flushes.
    pub(crate) fn send(&mut self, data: &[u8]) -> Result<(), Stop> {
        if let Some(gz) = &mut self.gz {
            gz.write_all(data)?;
            gz.flush()?;
            let out = std::mem::take(gz.get_mut());
            self.raw(&out)
        } else {
            self.raw(data)
        }
    }

    /// Whether [`Body::send_chunk_frames`] can be used: chunked framing,
    /// no gzip, no byte cut.
    pub(crate) fn takes_chunk_frames(&self) -> bool {
        self.framing == Framing::Chunked && self.gz.is_none() && self.cut_at.is_none()
    }

    /// Writes chunks framed by [`chunk_frames`] (`payload` bytes of data in
    /// them) in one write. Only when [`Body::takes_chunk_frames`].
    pub(crate) fn send_chunk_frames(&mut self, frames: &[u8], payload: usize) -> Result<(), Stop> {
        debug_assert!(self.takes_chunk_frames());
        self.conn.write_all(frames)?;
        self.conn.flush()?;
        self.sent += payload as u64;
        Ok(())
    }

    fn raw(&mut self, data: &[u8]) -> Result<(), Stop> {
        let (data, cut) = match self.cut_at {
            Some(limit) if self.sent.saturating_add(data.len() as u64) >= limit => {
                (&data[..(limit - self.sent) as usize], true)
            }
            _ => (data, false),
        };
        if !data.is_empty() {
            match self.framing {
                Framing::Chunked => {
                    let mut frame = Vec::with_capacity(data.len() + 12);
                    frame.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                    frame.extend_from_slice(data);
                    frame.extend_from_slice(b"\r\n");
                    self.conn.write_all(&frame)?;
                }
                Framing::Close | Framing::Length => self.conn.write_all(data)?,
            }
            self.sent += data.len() as u64;
        }
        self.conn.flush()?;
        if cut {
            Err(Stop::Cut)
        } else {
            Ok(())
        }
    }

    /// Ends the body cleanly: gzip trailer, chunked terminator.
    pub(crate) fn finish(mut self) -> Result<(), Stop> {
        if let Some(gz) = self.gz.take() {
            let out = gz.finish()?;
            self.raw(&out)?;
        }
        if self.framing == Framing::Chunked {
            self.conn.write_all(b"0\r\n\r\n")?;
            self.conn.flush()?;
        }
        Ok(())
    }
}

/// `pieces`, each framed as its own chunk, one after the other.
pub(crate) fn chunk_frames<'p>(pieces: impl Iterator<Item = &'p [u8]>) -> Vec<u8> {
    let mut frames = Vec::new();
    for piece in pieces.filter(|p| !p.is_empty()) {
        frames.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        frames.extend_from_slice(piece);
        frames.extend_from_slice(b"\r\n");
    }
    frames
}

/// The reason phrase of a status code.
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}
