//! Trusted certificate authorities given as PEM text (a custom CA file or
//! string), checked by the configuration and loaded by the TLS setup.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::{Error, Result};

/// Parses PEM text into certificates; fails when it holds none.
pub fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::argument(format!("invalid CA PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::argument("the CA PEM holds no certificate"));
    }
    Ok(certs)
}
