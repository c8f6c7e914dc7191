//! A streaming gzip decoder over pushed bytes (flate2's write-side
//! `MultiGzDecoder`): compressed pieces in, decompressed pieces out as soon
//! as they decode, each piece at most about 32 KiB (flate2's buffer), so a
//! small input that expands a lot never sits in memory whole.

use std::io::{self, Write};

use flate2::write::MultiGzDecoder;

/// One response body's gzip decoder.
pub(crate) struct Gunzip {
    decoder: MultiGzDecoder<Vec<u8>>,
    /// Some compressed byte arrived (an empty body is a clean end).
    started: bool,
}

impl Gunzip {
    /// A decoder at the start of a gzip stream.
    pub(crate) fn new() -> Self {
        Gunzip {
            decoder: MultiGzDecoder::new(Vec::new()),
            started: false,
        }
    }

    /// Decodes `input`, handing every decompressed piece to `out` in order.
    pub(crate) fn feed(&mut self, mut input: &[u8], out: &mut impl FnMut(&[u8])) -> io::Result<()> {
        self.started |= !input.is_empty();
        while !input.is_empty() {
            let used = match self.decoder.write(input) {
                Ok(used) => used,
                Err(e) => {
                    // What decoded before the corrupt part still counts.
                    let _ = self.decoder.flush();
                    self.drain(out);
                    return Err(e);
                }
            };
            if used == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the decoder took no input",
                ));
            }
            input = &input[used..];
            self.drain(out);
        }
        // Output of the last write waits in flate2's buffer until a flush.
        self.decoder.flush()?;
        self.drain(out);
        Ok(())
    }

    /// The body ended: an `UnexpectedEof` error unless the input ended at
    /// the end of a gzip member. flate2 reports a member cut in its 8-byte
    /// trailer as a checksum mismatch; a cut it is (a disconnect).
    pub(crate) fn finish(&mut self, out: &mut impl FnMut(&[u8])) -> io::Result<()> {
        if !self.started {
            return Ok(());
        }
        let finished = self.decoder.try_finish();
        self.drain(out);
        finished.map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e))
    }

    fn drain(&mut self, out: &mut impl FnMut(&[u8])) {
        let decoded = self.decoder.get_mut();
        if !decoded.is_empty() {
            out(decoded);
            decoded.clear();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;

    /// `text` as one gzip member.
    pub(crate) fn compress(text: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    fn decode_in_pieces(input: &[u8], piece: usize) -> (Vec<u8>, usize, io::Result<()>) {
        let mut gunzip = Gunzip::new();
        let mut decoded = Vec::new();
        let mut largest = 0;
        let mut out = |bytes: &[u8]| {
            largest = largest.max(bytes.len());
            decoded.extend_from_slice(bytes);
        };
        for part in input.chunks(piece) {
            if let Err(e) = gunzip.feed(part, &mut out) {
                return (decoded, largest, Err(e));
            }
        }
        let end = gunzip.finish(&mut out);
        (decoded, largest, end)
    }

    #[test]
    fn decodes_byte_by_byte_and_whole_and_several_members() {
        let text = b"data: one\n\ndata: two\n\n";
        let mut two_members = compress(text);
        two_members.extend(compress(b"data: three\n\n"));
        for piece in [1, 3, two_members.len()] {
            let (decoded, _, end) = decode_in_pieces(&two_members, piece);
            assert!(end.is_ok(), "{piece}: {end:?}");
            assert_eq!(decoded, b"data: one\n\ndata: two\n\ndata: three\n\n");
        }
    }

    #[test]
    fn what_decoded_before_corrupt_data_in_the_same_input_is_handed_out() {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"data: z1\n\ndata: z2\n\n").unwrap();
        encoder.flush().unwrap(); // a sync flush: the events are decodable
        let mut input = encoder.get_ref().clone();
        input.extend_from_slice(&[0xff; 64]);
        let mut decoded = Vec::new();
        let result = Gunzip::new().feed(&input, &mut |piece| decoded.extend_from_slice(piece));
        assert!(result.is_err());
        assert_eq!(decoded, b"data: z1\n\ndata: z2\n\n");
    }

    #[test]
    fn a_cut_member_is_an_unexpected_eof_and_garbage_an_error() {
        let whole = compress(b"data: one\n\ndata: two\n\n");
        // Cut in the trailer, in the deflate data, in the header.
        for cut in [3, 12, whole.len() - 4] {
            let (_, _, end) = decode_in_pieces(&whole[..whole.len() - cut], 4);
            assert_eq!(
                end.unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof,
                "{cut}"
            );
        }
        let (decoded, _, end) = decode_in_pieces(b"this is not gzip at all", 5);
        assert!(end.is_err());
        assert!(decoded.is_empty());
        let (decoded, _, end) = decode_in_pieces(b"", 1);
        assert!(end.is_ok() && decoded.is_empty());
    }

    #[test]
    fn a_bomb_comes_out_in_bounded_pieces() {
        let zeros = vec![b'a'; 8 * 1024 * 1024];
        let bomb = compress(&zeros);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let (decoded, largest, end) = decode_in_pieces(&bomb, bomb.len());
        assert!(end.is_ok());
        assert_eq!(decoded.len(), zeros.len());
        assert!(largest <= 64 * 1024, "largest piece {largest}");
    }
}
