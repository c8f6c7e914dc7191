//! A streaming decoder of HTTP/1.1 chunked bodies (RFC 9112 §7.1).
//!
//! It keeps no bytes, only a state, so input may be cut anywhere (inside a
//! size line, a chunk or its CRLF) and is never copied twice: the data of
//! every chunk of an input is appended to one output in one pass. The last
//! chunk (`0`) ends the body at once; trailers are not waited for, since a
//! stream has nothing to learn from them.
//!
//! Bounded: a size line (digits, extensions) may hold at most
//! `max_line_bytes`, a size may not pass `u64::MAX`. Line ends are CRLF;
//! a bare LF is taken too (as most HTTP clients do), a bare CR is not.

/// Where the decoder is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size (`digits` so far).
    Size {
        value: u64,
        digits: usize,
    },
    /// After the digits: whitespace and extensions up to the line end.
    Extension {
        value: u64,
    },
    /// A CR ended the size line: the LF must follow.
    SizeLf {
        value: u64,
    },
    /// Inside a chunk's data, `left` bytes to go.
    Data {
        left: u64,
    },
    /// After the data: CRLF (or LF) must follow.
    DataCr,
    DataLf,
    /// The last chunk was read.
    Done,
}

/// A framing error: what the body broke.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DechunkError(pub(crate) String);

/// The chunked-body decoder. See the module docs.
#[derive(Debug)]
pub(crate) struct Dechunker {
    state: State,
    /// Bytes of the current size line so far.
    line_bytes: usize,
    max_line_bytes: usize,
}

impl Dechunker {
    /// A decoder that allows size lines of at most `max_line_bytes`.
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Dechunker {
            state: State::Size {
                value: 0,
                digits: 0,
            },
            line_bytes: 0,
            max_line_bytes,
        }
    }

    /// Whether the last chunk was read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Appends the chunk data in `input` to `out`. On an error, `out` holds
    /// the data of every chunk before the faulty one: a chunk not followed
    /// by CRLF (more data than its size) is dropped, except the part of it
    /// that earlier inputs carried (already handed on). Input after the
    /// last chunk is ignored.
    pub(crate) fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DechunkError> {
        let mut at = 0;
        // Where the current chunk's data (of this input) starts in `out`.
        let mut chunk_start = out.len();
        while at < input.len() {
            if !matches!(
                self.state,
                State::Data { .. } | State::DataCr | State::DataLf
            ) {
                chunk_start = out.len();
            }
            match self.state {
                State::Data { left } => {
                    let take = (input.len() - at).min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                }
                State::Done => return Ok(()),
                // Fast paths for the common shapes, whole in the input:
                // the CRLF after data, and a plain `hex CRLF` size line.
                State::DataCr if input[at..].starts_with(b"\r\n") => {
                    at += 2;
                    self.state = State::Size {
                        value: 0,
                        digits: 0,
                    };
                }
                State::Size {
                    value: 0,
                    digits: 0,
                } if self.max_line_bytes >= PLAIN_LINE_MAX
                    && plain_size_line(&input[at..]).is_some() =>
                {
                    at += self.whole_chunks(&input[at..], out);
                    chunk_start = out.len();
                }
                _ => {
                    let byte = input[at];
                    at += 1;
                    let after_data = matches!(self.state, State::DataCr | State::DataLf);
                    if let Err(e) = self.framing_byte(byte) {
                        if after_data {
                            out.truncate(chunk_start);
                        }
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// At a chunk boundary with a plain size line ahead: takes every whole
    /// chunk (`hex CRLF data CRLF`) of `input` in one go, then the size line
    /// of a chunk cut by the input's end, or the last chunk. Returns the
    /// bytes used.
    fn whole_chunks(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut at = 0;
        while let Some((size, line)) = plain_size_line(&input[at..]) {
            let end = usize::try_from(size)
                .ok()
                .and_then(|size| (at + line).checked_add(size));
            match end {
                Some(end)
                    if size > 0 && input.get(end..).is_some_and(|r| r.starts_with(b"\r\n")) =>
                {
                    out.extend_from_slice(&input[at + line..end]);
                    at = end + 2;
                }
                _ => {
                    self.state = self.chunk_starts(size);
                    return at + line;
                }
            }
        }
        at
    }

    /// One byte outside chunk data.
    fn framing_byte(&mut self, byte: u8) -> Result<(), DechunkError> {
        let in_size_line = matches!(
            self.state,
            State::Size { .. } | State::Extension { .. } | State::SizeLf { .. }
        );
        if in_size_line {
            self.line_bytes += 1;
            if self.line_bytes > self.max_line_bytes {
                return Err(DechunkError(format!(
                    "more than {} bytes without a chunk boundary",
                    self.max_line_bytes
                )));
            }
        }
        self.state = match (self.state, byte) {
            (State::Size { value, digits }, _) if byte.is_ascii_hexdigit() => {
                let digit = u64::from((byte as char).to_digit(16).unwrap_or(0));
                let value = value
                    .checked_mul(16)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or_else(|| DechunkError("a chunk size over 2^64 bytes".into()))?;
                State::Size {
                    value,
                    digits: digits + 1,
                }
            }
            (State::Size { digits: 0, .. }, _) => {
                return Err(DechunkError(format!(
                    "a chunk size line starting with {}",
                    describe(byte)
                )))
            }
            (State::Size { value, .. } | State::Extension { value }, b'\r') => {
                State::SizeLf { value }
            }
            (State::Size { value, .. } | State::Extension { value }, b'\n')
            | (State::SizeLf { value }, b'\n') => self.chunk_starts(value),
            (State::Size { value, .. }, b';' | b' ' | b'\t') => State::Extension { value },
            (State::Size { .. }, _) => {
                return Err(DechunkError(format!("{} in a chunk size", describe(byte))))
            }
            (State::Extension { value }, _) => State::Extension { value },
            (State::SizeLf { .. }, _) => {
                return Err(DechunkError(format!(
                    "{} after a CR in a chunk size line",
                    describe(byte)
                )))
            }
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataCr | State::DataLf, b'\n') => State::Size {
                value: 0,
                digits: 0,
            },
            (State::DataCr | State::DataLf, _) => {
                return Err(DechunkError(format!(
                    "{} where a chunk's data should end with CRLF (more data than its size)",
                    describe(byte)
                )))
            }
            (State::Data { .. } | State::Done, _) => self.state,
        };
        Ok(())
    }

    /// The size line ended: data follows, or the body ended.
    fn chunk_starts(&mut self, size: u64) -> State {
        self.line_bytes = 0;
        if size == 0 {
            State::Done
        } else {
            State::Data { left: size }
        }
    }
}

/// The longest size line [`plain_size_line`] takes (15 digits and CRLF).
const PLAIN_LINE_MAX: usize = 17;

/// A size line of 1 to 15 hex digits and CRLF at the start of `bytes`: its
/// value and length. Anything else (extensions, a cut, errors) is left to
/// the byte-by-byte path.
fn plain_size_line(bytes: &[u8]) -> Option<(u64, usize)> {
    let digits = bytes
        .iter()
        .take(16)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if digits == 0 || digits == 16 || !bytes[digits..].starts_with(b"\r\n") {
        return None;
    }
    let value = bytes[..digits].iter().fold(0u64, |v, &b| {
        v << 4 | u64::from((b as char).to_digit(16).unwrap_or(0))
    });
    Some((value, digits + 2))
}

/// A byte as an error message shows it.
fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("{:?}", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> (Vec<u8>, Result<(), DechunkError>, bool) {
        let mut d = Dechunker::new(64);
        let mut out = Vec::new();
        for part in input.chunks(piece) {
            if let Err(e) = d.decode(part, &mut out) {
                return (out, Err(e), d.is_done());
            }
        }
        (out, Ok(()), d.is_done())
    }

    #[test]
    fn decodes_whatever_the_cuts() {
        let body =
            b"5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n000\r\nTrailer: x\r\n\r\n";
        for piece in 1..body.len() {
            let (out, result, done) = decode_in_pieces(body, piece);
            assert_eq!(result, Ok(()), "piece {piece}");
            assert_eq!(out, b"hello 0123456789", "piece {piece}");
            assert!(done);
        }
    }

    #[test]
    fn bare_lf_line_ends_are_taken() {
        let (out, result, done) = decode_in_pieces(b"3\nabc\n0\n", 2);
        assert_eq!((out.as_slice(), result, done), (&b"abc"[..], Ok(()), true));
    }

    #[test]
    fn unfinished_body_is_not_done() {
        let (out, result, done) = decode_in_pieces(b"a\r\n01234", 3);
        assert_eq!(
            (out.as_slice(), result, done),
            (&b"01234"[..], Ok(()), false)
        );
    }

    #[test]
    fn errors_keep_the_chunks_before_them() {
        let cases: [(&[u8], &str); 6] = [
            (b"2\r\nok\r\nzz\r\n", "a chunk size line starting with 'z'"),
            (b"2\r\nok\r\n1x\r\n", "'x' in a chunk size"),
            (
                b"2\r\nok\r\n1FFFFFFFFFFFFFFFF\r\n",
                "a chunk size over 2^64 bytes",
            ),
            (
                b"2\r\nok\r\n2\r\nnoXY\r\n",
                "'X' where a chunk's data should end with CRLF (more data than its size)",
            ),
            (b"2\r\nok\r\n1\rx", "'x' after a CR in a chunk size line"),
            (
                b"2\r\nok\r\n1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "more than 64 bytes without a chunk boundary",
            ),
        ];
        for (body, message) in cases {
            for piece in [1, 3, body.len()] {
                let (out, result, _) = decode_in_pieces(body, piece);
                if piece == body.len() {
                    // The faulty chunk is dropped whole.
                    assert_eq!(out, b"ok", "{message}");
                } else {
                    // Except what earlier inputs carried of it.
                    assert!(
                        out.starts_with(b"ok") && out.len() <= 4,
                        "{message}, piece {piece}"
                    );
                }
                assert_eq!(result, Err(DechunkError(message.into())), "piece {piece}");
            }
        }
    }

    #[test]
    fn leading_zeros_do_not_overflow_and_lines_are_bounded() {
        let mut body = vec![b'0'; 40];
        body.extend(b"3\r\nabc\r\n0\r\n");
        let (out, result, done) = decode_in_pieces(&body, 5);
        assert_eq!((out.as_slice(), result, done), (&b"abc"[..], Ok(()), true));
        let (_, result, _) = decode_in_pieces(&[b'0'; 100], 7);
        assert_eq!(
            result,
            Err(DechunkError(
                "more than 64 bytes without a chunk boundary".into()
            ))
        );
    }

    #[test]
    fn a_huge_size_is_streamed_not_allocated() {
        let mut d = Dechunker::new(64);
        let mut out = Vec::new();
        d.decode(b"FFFFFFFFFFFFFFFF\r\nabc", &mut out).unwrap();
        assert_eq!(out, b"abc");
        assert!(!d.is_done());
    }
}
