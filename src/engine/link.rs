//! A stream's connected socket, with TLS in front of it for `https://`:
//! moves the exchange's request out and the server's bytes in, without
//! blocking.

use std::io::{self, ErrorKind as Io, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;

use super::connection::Connection;
use super::tls::TlsSession;

/// A connected socket, with TLS in front of it for `https://`.
pub(crate) struct Link {
    pub(crate) socket: TcpStream,
    /// Boxed: rustls' connection is large, and most streams are plain.
    pub(crate) tls: Option<Box<TlsSession>>,
    /// The connect deadline, while the TLS handshake is not done.
    handshake_deadline: Option<Instant>,
    /// Plain TCP: the whole request is out (an exchange writes nothing
    /// after it), so reads need not look at the exchange's output.
    request_written: bool,
}

impl Link {
    /// A link on a connected `socket` (through `tls` for `https://`, its
    /// handshake due by `handshake_deadline`).
    pub(crate) fn new(
        socket: TcpStream,
        tls: Option<Box<TlsSession>>,
        handshake_deadline: Option<Instant>,
    ) -> Self {
        Link {
            socket,
            tls,
            handshake_deadline,
            request_written: false,
        }
    }

    /// The deadline of a TLS handshake still in progress (forgotten once
    /// it is done).
    pub(crate) fn handshake_deadline(&mut self) -> Option<Instant> {
        if self.tls.as_ref().is_some_and(|tls| !tls.is_handshaking()) {
            self.handshake_deadline = None;
        }
        self.handshake_deadline
    }

    /// Whether the TLS handshake is still in progress past its deadline.
    pub(crate) fn handshake_overdue(&self, now: Instant) -> bool {
        self.handshake_deadline.is_some_and(|d| d <= now)
            && self.tls.as_ref().is_some_and(|tls| tls.is_handshaking())
    }

    /// Sends what the exchange has to send, until done or the socket would
    /// block (a writable event brings the rest).
    pub(crate) fn write(&mut self, connection: &mut Connection) -> io::Result<()> {
        match &mut self.tls {
            None if self.request_written => {}
            None => loop {
                let Some(bytes) = connection.poll_transmit() else {
                    self.request_written = true;
                    break;
                };
                match self.socket.write(bytes) {
                    Ok(n) => connection.handle_transmitted(n),
                    Err(e) if e.kind() == Io::Interrupted => {}
                    Err(e) if e.kind() == Io::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            },
            // rustls takes at most its buffer's worth of plaintext: hand it
            // more each time it has written some, until the exchange has
            // nothing left, the socket would block (a writable event brings
            // the rest), or nothing moves (a handshake waiting for the
            // server: its answer, read, brings the rest).
            Some(tls) => loop {
                let mut handed = false;
                while let Some(bytes) = connection.poll_transmit() {
                    let n = tls.send(bytes);
                    if n == 0 {
                        break;
                    }
                    connection.handle_transmitted(n);
                    handed = true;
                }
                let written = match tls.write_to(&mut self.socket) {
                    Ok(written) => written,
                    Err(e) if e.kind() == Io::WouldBlock => break,
                    Err(e) => return Err(e),
                };
                if connection.poll_transmit().is_none() || (!handed && written == 0) {
                    break;
                }
            },
        }
        Ok(())
    }

    /// Reads the stream's next bytes (decrypted for TLS) into `buffer`:
    /// `Ok(0)` at its end, `WouldBlock` when nothing is ready.
    pub(crate) fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return self.socket.read(buffer);
        };
        loop {
            match tls.plaintext(buffer) {
                Ok(n) => return Ok(n),
                // A peer that closes without close_notify: the end of the
                // stream all the same (the exchange says if it was early).
                Err(e) if e.kind() == Io::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == Io::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let more = tls.read_from(&mut self.socket)?;
            // The handshake (or a key update) may have something to say.
            match tls.write_to(&mut self.socket) {
                Err(e) if e.kind() != Io::WouldBlock => return Err(e),
                _ => {}
            }
            if !more {
                return match tls.plaintext(buffer) {
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == Io::WouldBlock || e.kind() == Io::UnexpectedEof => Ok(0),
                    Err(e) => Err(e),
                };
            }
        }
    }
}
