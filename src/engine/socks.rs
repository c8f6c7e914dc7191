//! The SOCKS handshake (SOCKS5 with optional user/password, RFC 1928 and
//! RFC 1929; SOCKS4 and 4a), sans-IO: the loop writes what
//! [`Socks::poll_transmit`] holds and reads exactly [`Socks::wants`] bytes
//! at a time into [`Socks::handle_input`], so nothing past the proxy's
//! answer is taken from the socket. Once done, the socket is a tunnel to
//! the target.
//!
//! The target's name goes to the proxy, which resolves it (`socks5h`,
//! `socks4a`); `socks5://` and `socks4://` do the same for names (IP
//! literals are sent as addresses), so a name never needs a second lookup
//! on this side.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::{Error, ErrorKind, Result};

/// Which SOCKS version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// SOCKS4 (4a for a name).
    Four,
    /// SOCKS5.
    Five,
}

/// Where the handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// SOCKS5: the method the proxy picked (2 bytes).
    Method,
    /// SOCKS5: the answer to the user/password (2 bytes).
    Auth,
    /// SOCKS5: the first 5 bytes of the answer to the connect request.
    ReplyHead,
    /// SOCKS5: the rest of that answer (bound address and port).
    ReplyTail(usize),
    /// SOCKS4: the 8-byte answer.
    Reply4,
    /// The tunnel is open.
    Done,
}

/// One SOCKS handshake. See the module docs.
pub(crate) struct Socks {
    version: Version,
    target_host: String,
    target_port: u16,
    credentials: Option<(String, String)>,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    state: State,
}

fn failed(version: Version, why: impl std::fmt::Display) -> Error {
    let name = match version {
        Version::Four => "SOCKS4",
        Version::Five => "SOCKS5",
    };
    Error::new(ErrorKind::Connect, format!("{name} proxy failed: {why}"))
}

impl Socks {
    /// A handshake asking the proxy for `host:port` (a name, or an IP
    /// literal, IPv6 without brackets), with the proxy URL's credentials.
    pub(crate) fn new(
        version: Version,
        host: &str,
        port: u16,
        credentials: Option<(String, String)>,
    ) -> Result<Self> {
        let mut socks = Socks {
            version,
            target_host: host.to_owned(),
            target_port: port,
            credentials,
            out: Vec::new(),
            written: 0,
            input: Vec::new(),
            state: State::Done,
        };
        match version {
            Version::Five => {
                let methods: &[u8] = if socks.credentials.is_some() {
                    &[0, 2]
                } else {
                    &[0]
                };
                socks.out = [&[5, methods.len() as u8][..], methods].concat();
                socks.state = State::Method;
            }
            Version::Four => {
                socks.out = socks.socks4_request()?;
                socks.state = State::Reply4;
            }
        }
        Ok(socks)
    }

    /// The bytes to write next, if any.
    pub(crate) fn poll_transmit(&self) -> Option<&[u8]> {
        let rest = &self.out[self.written..];
        (!rest.is_empty()).then_some(rest)
    }

    /// `n` bytes of [`Socks::poll_transmit`] went out.
    pub(crate) fn handle_transmitted(&mut self, n: usize) {
        self.written = (self.written + n).min(self.out.len());
    }

    /// How many bytes to read next (0: none, the handshake is done or
    /// writing); never more than the proxy's answer holds.
    pub(crate) fn wants(&self) -> usize {
        if self.poll_transmit().is_some() {
            return 0;
        }
        let total = match self.state {
            State::Method | State::Auth => 2,
            State::ReplyHead => 5,
            State::ReplyTail(n) => n,
            State::Reply4 => 8,
            State::Done => 0,
        };
        total - self.input.len()
    }

    /// Whether the tunnel is open.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes read from the proxy (at most [`Socks::wants`]).
    pub(crate) fn handle_input(&mut self, bytes: &[u8]) -> Result<()> {
        self.input.extend_from_slice(bytes);
        if self.wants() > 0 {
            return Ok(());
        }
        let input = std::mem::take(&mut self.input);
        let version = self.version;
        let next = |out: Vec<u8>, state: State, socks: &mut Socks| {
            socks.out = out;
            socks.written = 0;
            socks.state = state;
        };
        match self.state {
            State::Method => match (input[0], input[1]) {
                (5, 0) => next(self.connect_request()?, State::ReplyHead, self),
                (5, 2) => {
                    let Some((user, password)) = &self.credentials else {
                        return Err(failed(version, "it asks for a user and password"));
                    };
                    if user.is_empty() || user.len() > 255 || password.len() > 255 {
                        return Err(failed(
                            version,
                            "the user name must have 1 to 255 bytes, the password at most 255",
                        ));
                    }
                    let mut out = vec![1, user.len() as u8];
                    out.extend_from_slice(user.as_bytes());
                    out.push(password.len() as u8);
                    out.extend_from_slice(password.as_bytes());
                    next(out, State::Auth, self);
                }
                (5, 0xff) => {
                    return Err(failed(version, "no authentication method acceptable to it"))
                }
                (v, m) => {
                    return Err(failed(
                        version,
                        format!("unexpected answer (version {v}, method {m})"),
                    ))
                }
            },
            State::Auth => {
                if input[1] != 0 {
                    return Err(failed(version, "it refused the user and password"));
                }
                next(self.connect_request()?, State::ReplyHead, self);
            }
            State::ReplyHead => {
                if input[0] != 5 {
                    return Err(failed(version, "not a SOCKS5 answer"));
                }
                if input[1] != 0 {
                    return Err(failed(version, reply_text(input[1])));
                }
                // The bound address and port, of which 1 byte came already.
                let rest = match input[3] {
                    1 => 4 + 2 - 1,
                    3 => usize::from(input[4]) + 2,
                    4 => 16 + 2 - 1,
                    t => return Err(failed(version, format!("unknown address type {t}"))),
                };
                self.state = State::ReplyTail(rest);
            }
            State::ReplyTail(_) => self.state = State::Done,
            State::Reply4 if input[0] != 0 => {
                return Err(failed(version, "not a SOCKS4 answer"));
            }
            State::Reply4 => match input[1] {
                0x5a => self.state = State::Done,
                0x5b => return Err(failed(version, "request rejected or failed")),
                code => return Err(failed(version, format!("request refused (code {code:#x})"))),
            },
            State::Done => {}
        }
        Ok(())
    }

    /// SOCKS5: CONNECT to the target (a name, or an address).
    fn connect_request(&self) -> Result<Vec<u8>> {
        let mut out = vec![5, 1, 0];
        match self.target_host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                out.push(1);
                out.extend_from_slice(&ip.octets());
            }
            Ok(IpAddr::V6(ip)) => {
                out.push(4);
                out.extend_from_slice(&ip.octets());
            }
            Err(_) => {
                let name = self.target_host.as_bytes();
                if name.is_empty() || name.len() > 255 {
                    return Err(failed(self.version, "host name of 0 or over 255 bytes"));
                }
                out.push(3);
                out.push(name.len() as u8);
                out.extend_from_slice(name);
            }
        }
        out.extend_from_slice(&self.target_port.to_be_bytes());
        Ok(out)
    }

    /// SOCKS4: CONNECT to an IPv4 address, or (4a) to a name.
    fn socks4_request(&self) -> Result<Vec<u8>> {
        let mut out = vec![4, 1];
        out.extend_from_slice(&self.target_port.to_be_bytes());
        let user = self
            .credentials
            .as_ref()
            .map_or(&[][..], |(user, _)| user.as_bytes());
        match self.target_host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                out.extend_from_slice(&ip.octets());
                out.extend_from_slice(user);
                out.push(0);
            }
            Ok(IpAddr::V6(_)) => {
                return Err(failed(self.version, "SOCKS4 cannot reach an IPv6 address"))
            }
            Err(_) => {
                // 4a: the address 0.0.0.1, then the name.
                out.extend_from_slice(&Ipv4Addr::new(0, 0, 0, 1).octets());
                out.extend_from_slice(user);
                out.push(0);
                out.extend_from_slice(self.target_host.as_bytes());
                out.push(0);
            }
        }
        Ok(out)
    }
}

/// A SOCKS5 reply code in words (RFC 1928 section 6).
fn reply_text(code: u8) -> String {
    let text = match code {
        1 => "general failure",
        2 => "connection not allowed by its rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => return format!("reply code {code}"),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `socks` against the proxy's scripted `answers`, one per read;
    /// returns every byte written.
    fn drive(socks: &mut Socks, answers: &[&[u8]]) -> Result<Vec<u8>> {
        let mut written = Vec::new();
        let mut answers = answers.iter();
        while !socks.is_done() {
            if let Some(out) = socks.poll_transmit() {
                written.extend_from_slice(out);
                let n = out.len();
                socks.handle_transmitted(n);
                continue;
            }
            let answer = answers.next().expect("the handshake wants more");
            assert!(
                answer.len() <= socks.wants(),
                "{answer:?} > {}",
                socks.wants()
            );
            socks.handle_input(answer)?;
        }
        Ok(written)
    }

    #[test]
    fn socks5_with_a_name_and_credentials() {
        let credentials = Some(("user".to_owned(), "pw".to_owned()));
        let mut socks = Socks::new(Version::Five, "example.com", 443, credentials).unwrap();
        let written = drive(
            &mut socks,
            &[&[5, 2], &[1, 0], &[5, 0, 0, 3, 4], b"abcd", &[1, 187]],
        )
        .unwrap();
        let mut want = vec![5, 2, 0, 2, 1, 4];
        want.extend_from_slice(b"user");
        want.extend_from_slice(&[2, b'p', b'w', 5, 1, 0, 3, 11]);
        want.extend_from_slice(b"example.com");
        want.extend_from_slice(&[1, 187]);
        assert_eq!(written, want);
    }

    #[test]
    fn socks5_with_addresses_in_pieces() {
        let mut socks = Socks::new(Version::Five, "127.0.0.1", 8080, None).unwrap();
        let written = drive(
            &mut socks,
            &[&[5], &[0], &[5, 0, 0], &[1, 10], &[0, 0, 1], &[0x1f, 0x90]],
        )
        .unwrap();
        assert_eq!(written, [5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]);
        let mut socks = Socks::new(Version::Five, "::1", 80, None).unwrap();
        let mut answer = vec![5, 0, 0, 4, 0];
        answer.extend_from_slice(&[0; 17]);
        let written = drive(&mut socks, &[&[5, 0], &answer[..5], &answer[5..]]).unwrap();
        assert_eq!(written[6], 4);
        assert_eq!(written.len(), 3 + 4 + 16 + 2);
    }

    #[test]
    fn socks5_refusals_say_why() {
        let mut socks = Socks::new(Version::Five, "h", 1, None).unwrap();
        let error = drive(&mut socks, &[&[5, 0], &[5, 5, 0, 1, 0]]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Connect);
        assert_eq!(error.message, "SOCKS5 proxy failed: connection refused");
        let mut socks = Socks::new(Version::Five, "h", 1, None).unwrap();
        let error = drive(&mut socks, &[&[5, 2]]).unwrap_err();
        assert!(error.message.contains("user and password"), "{error}");
        let credentials = Some(("u".to_owned(), "p".to_owned()));
        let mut socks = Socks::new(Version::Five, "h", 1, credentials).unwrap();
        let error = drive(&mut socks, &[&[5, 2], &[1, 1]]).unwrap_err();
        assert!(error.message.contains("refused the user"), "{error}");
        let mut socks = Socks::new(Version::Five, "h", 1, None).unwrap();
        assert!(drive(&mut socks, &[&[5, 0xff]]).is_err());
        let mut socks = Socks::new(Version::Five, "h", 1, None).unwrap();
        assert!(drive(&mut socks, &[&[4, 0]]).is_err());
    }

    #[test]
    fn socks4_and_4a() {
        let mut socks = Socks::new(Version::Four, "10.0.0.2", 80, None).unwrap();
        let written = drive(&mut socks, &[&[0, 0x5a, 0, 0, 0, 0, 0, 0]]).unwrap();
        assert_eq!(written, [4, 1, 0, 80, 10, 0, 0, 2, 0]);
        let credentials = Some(("id".to_owned(), String::new()));
        let mut socks = Socks::new(Version::Four, "host", 80, credentials).unwrap();
        let written = drive(&mut socks, &[&[0, 0x5a, 0, 0, 0, 0, 0, 0]]).unwrap();
        assert_eq!(
            written,
            [4, 1, 0, 80, 0, 0, 0, 1, b'i', b'd', 0, b'h', b'o', b's', b't', 0]
        );
        let mut socks = Socks::new(Version::Four, "host", 80, None).unwrap();
        assert!(drive(&mut socks, &[&[4, 0x5a, 0, 0, 0, 0, 0, 0]]).is_err());
        let mut socks = Socks::new(Version::Four, "host", 80, None).unwrap();
        let error = drive(&mut socks, &[&[0, 0x5b, 0, 0, 0, 0, 0, 0]]).unwrap_err();
        assert!(error.message.starts_with("SOCKS4 proxy failed"), "{error}");
        assert!(Socks::new(Version::Four, "::1", 80, None).is_err());
    }
}
