//! Small helpers with no I/O: query strings, JSON strings, base64, a PRNG.

use std::fmt::Write as _;

/// Decoded query parameters, in order, duplicates kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// A query parameter that is present but not understood.
#[derive(Debug)]
pub(crate) struct BadParam(pub String);

impl Params {
    /// Parses the query part of a request target (everything after `?`).
    pub(crate) fn parse(query: &str) -> Params {
        let pairs = query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (percent_decode(k), percent_decode(v)),
                None => (percent_decode(kv), String::new()),
            })
            .collect();
        Params { pairs }
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An unsigned integer parameter; absent means `None`.
    pub(crate) fn opt_u64(&self, name: &str) -> Result<Option<u64>, BadParam> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                BadParam(format!("parameter {name}={v:?} is not an unsigned integer"))
            }),
        }
    }

    /// An unsigned integer parameter with a default.
    pub(crate) fn u64(&self, name: &str, default: u64) -> Result<u64, BadParam> {
        Ok(self.opt_u64(name)?.unwrap_or(default))
    }

    /// A non-negative number parameter with a default.
    pub(crate) fn f64(&self, name: &str, default: f64) -> Result<f64, BadParam> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
                _ => Err(BadParam(format!(
                    "parameter {name}={v:?} is not a non-negative number"
                ))),
            },
        }
    }

    /// A boolean flag: `1`, `true`, `yes` or an empty value mean true.
    pub(crate) fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("" | "1" | "true" | "yes" | "on"))
    }
}

/// Decodes `%XX` escapes and `+` (as space); invalid escapes are kept as is.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (hex_val(b.get(i + 1)), hex_val(b.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: Option<&u8>) -> Option<u8> {
    match c? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Appends `s` as a JSON string literal (quotes included) on one line.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Decodes standard or URL-safe base64, padding optional. A space is read
/// as `+` (a `+` that was not percent-encoded in a query turns into one).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let trimmed = s.trim_end_matches('=');
    for c in trimmed.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' | b' ' => 62,
            b'/' | b'_' => 63,
            b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // 6 leftover bits cannot come from a valid encoding.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// splitmix64: a tiny deterministic PRNG (good enough for fault injection).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let p = Params::parse("a=1&b=x%20y+z&c&d=%zz&a=2&e=%41");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(p.get("b"), Some("x y z"));
        assert_eq!(p.get("c"), Some(""));
        assert_eq!(p.get("d"), Some("%zz"));
        assert_eq!(p.get("e"), Some("A"));
        assert!(p.flag("c"));
        assert!(!p.flag("zz"));
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%41"), "aA");
        assert!(Params::parse("n=x").u64("n", 0).is_err());
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        json_str(&mut s, "a\"b\\c\nd\u{1}\u{2028}é");
        assert_eq!(s, r#""a\"b\\c\nd\u0001\u2028é""#);
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("-_8").unwrap(), base64_decode("+/8").unwrap());
        assert_eq!(base64_decode(" /8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*").is_none());
    }
}
