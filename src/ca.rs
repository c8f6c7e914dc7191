//! Trusted certificate authorities given as PEM text (a custom CA file or
//! string), checked by the configuration and loaded by the transport.

use ureq::tls::{Certificate, PemItem};

use crate::error::{Error, Result};

/// Parses PEM text into certificates; fails when it holds none.
pub fn parse_pem(pem: &[u8]) -> Result<Vec<Certificate<'static>>> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(Error::argument(format!("invalid CA PEM: {e}"))),
        }
    }
    if certs.is_empty() {
        return Err(Error::argument("the CA PEM holds no certificate"));
    }
    Ok(certs)
}
