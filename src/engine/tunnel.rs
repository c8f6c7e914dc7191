//! The way through a proxy to a stream's target, before its exchange: a
//! `CONNECT` exchange with an `http://` proxy (for `https://` targets) or
//! a SOCKS handshake, on a non-blocking socket the loop drives.

use std::io::{self, ErrorKind as Io, Read, Write};

use mio::net::TcpStream;

use super::socks::{self, Socks};
use crate::error::{Error, ErrorKind, Result};
use crate::proxy::{ProxyChoice, ProxyKind};

/// Longest answer head accepted from a proxy to a `CONNECT`.
const MAX_CONNECT_HEAD_BYTES: usize = 16 * 1024;

/// The way through a proxy to the target, on a socket connected to the
/// proxy: a `CONNECT` exchange (an `http://` proxy, `https://` targets) or
/// a SOCKS handshake. Once it is done, the socket is a tunnel to the target.
pub(crate) struct Tunnel {
    pub(crate) socket: TcpStream,
    handshake: Handshake,
}

enum Handshake {
    /// `CONNECT` (RFC 9110 section 9.3.6): the request in authority form,
    /// then the answer's head; a 2xx opens the tunnel, anything else is
    /// the proxy's refusal.
    Connect {
        request: Vec<u8>,
        written: usize,
        head: Vec<u8>,
    },
    /// SOCKS4/4a/5 (see [`Socks`]).
    Socks(Box<Socks>),
}

impl Tunnel {
    /// The handshake for `url` through `proxy`; the socket comes back with
    /// the error when the target cannot be asked for (SOCKS4 and IPv6).
    pub(crate) fn new(
        socket: TcpStream,
        url: &str,
        proxy: &ProxyChoice,
    ) -> std::result::Result<Self, (TcpStream, Error)> {
        let (host, port) = crate::urls::parse(url).map_or_else(
            |_| (String::new(), 0),
            |u| {
                let host = u.host_str().unwrap_or_default();
                let host = host.trim_matches(['[', ']']).to_owned();
                (host, u.port_or_known_default().unwrap_or(443))
            },
        );
        let handshake = match proxy.kind {
            ProxyKind::Http => {
                let authority = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
                if let Some(value) = proxy.authorization() {
                    request.push_str(&format!("Proxy-Authorization: {value}\r\n"));
                }
                request.push_str("\r\n");
                Handshake::Connect {
                    request: request.into_bytes(),
                    written: 0,
                    head: Vec::new(),
                }
            }
            ProxyKind::Socks4 | ProxyKind::Socks5 => {
                let version = if proxy.kind == ProxyKind::Socks4 {
                    socks::Version::Four
                } else {
                    socks::Version::Five
                };
                match Socks::new(version, &host, port, proxy.credentials.clone()) {
                    Ok(socks) => Handshake::Socks(Box::new(socks)),
                    Err(error) => return Err((socket, error)),
                }
            }
        };
        Ok(Tunnel { socket, handshake })
    }

    /// Writes and reads what the socket allows: `Ok(true)` once the tunnel
    /// is open.
    pub(crate) fn advance(&mut self) -> Result<bool> {
        match &mut self.handshake {
            Handshake::Connect {
                request,
                written,
                head,
            } => advance_connect(&mut self.socket, request, written, head),
            Handshake::Socks(socks) => advance_socks(&mut self.socket, socks),
        }
    }
}

/// The `CONNECT` exchange moves on (see [`Tunnel::advance`]).
fn advance_connect(
    socket: &mut TcpStream,
    request: &[u8],
    written: &mut usize,
    head: &mut Vec<u8>,
) -> Result<bool> {
    let failed =
        |e: io::Error| Error::new(ErrorKind::Connect, format!("CONNECT proxy failed: {e}"));
    while *written < request.len() {
        match socket.write(&request[*written..]) {
            Ok(n) => *written += n,
            Err(e) if e.kind() == Io::Interrupted => {}
            Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
            Err(e) => return Err(failed(e)),
        }
    }
    // Byte by byte: nothing past the head may be taken from the socket
    // (the TLS handshake follows in it).
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_HEAD_BYTES {
            return Err(Error::new(
                ErrorKind::Connect,
                format!("CONNECT proxy failed: an answer head over {MAX_CONNECT_HEAD_BYTES} bytes"),
            ));
        }
        match socket.read(&mut byte) {
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::Connect,
                    "CONNECT proxy failed: the proxy closed the connection",
                ))
            }
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == Io::Interrupted => {}
            Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
            Err(e) => return Err(failed(e)),
        }
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) => Ok(true),
        _ => Err(Error::new(
            ErrorKind::Connect,
            format!(
                "CONNECT proxy failed: the proxy answered {:?}",
                line.trim_end()
            ),
        )),
    }
}

/// The SOCKS handshake moves on (see [`Tunnel::advance`]): exactly the
/// bytes it wants are read, none of the target's.
fn advance_socks(socket: &mut TcpStream, socks: &mut Socks) -> Result<bool> {
    let failed = |e: io::Error| Error::new(ErrorKind::Connect, format!("SOCKS proxy failed: {e}"));
    let mut buffer = [0u8; 262];
    loop {
        if let Some(out) = socks.poll_transmit() {
            match socket.write(out) {
                Ok(n) => socks.handle_transmitted(n),
                Err(e) if e.kind() == Io::Interrupted => {}
                Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
                Err(e) => return Err(failed(e)),
            }
            continue;
        }
        if socks.is_done() {
            return Ok(true);
        }
        let want = socks.wants().min(buffer.len());
        match socket.read(&mut buffer[..want]) {
            Ok(0) => {
                return Err(Error::new(
                    ErrorKind::Connect,
                    "SOCKS proxy failed: the proxy closed the connection",
                ))
            }
            Ok(n) => socks.handle_input(&buffer[..n])?,
            Err(e) if e.kind() == Io::Interrupted => {}
            Err(e) if e.kind() == Io::WouldBlock => return Ok(false),
            Err(e) => return Err(failed(e)),
        }
    }
}
