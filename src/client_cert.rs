//! A client certificate for mutual TLS: a PEM certificate chain and its
//! private key, checked by the configuration and loaded by both engines.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{Certificate, PemItem, PrivateKey};

use crate::error::{Error, Result};

/// A parsed client certificate chain and key.
pub(crate) struct ClientIdentity {
    /// The chain, leaf first.
    pub(crate) chain: Vec<Certificate<'static>>,
    /// The leaf's private key.
    pub(crate) key: PrivateKey<'static>,
    key_pem: Vec<u8>,
}

impl ClientIdentity {
    /// Parses `chain_pem` (one or more certificates, leaf first) and
    /// `key_pem` (an unencrypted PKCS#8, PKCS#1 or SEC1 key; it may be the
    /// same text as the chain).
    pub(crate) fn parse(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let encrypted = |pem: &[u8]| {
            memchr::memmem::find(pem, b"ENCRYPTED PRIVATE KEY").is_some()
                || memchr::memmem::find(pem, b"Proc-Type: 4,ENCRYPTED").is_some()
        };
        if encrypted(key_pem) {
            return Err(Error::argument(
                "the client key is encrypted: libsse needs it unencrypted (for example `openssl pkey -in key.pem -out plain-key.pem`)",
            ));
        }
        let mut chain = Vec::new();
        for item in ureq::tls::parse_pem(chain_pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => chain.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::argument(format!(
                        "invalid client certificate PEM: {e}"
                    )))
                }
            }
        }
        if chain.is_empty() {
            return Err(Error::argument(
                "the client certificate PEM holds no certificate",
            ));
        }
        let key = PrivateKey::from_pem(key_pem).map_err(|e| match e {
            ureq::Error::Tls(_) => Error::argument("the client key PEM holds no private key"),
            e => Error::argument(format!("invalid client key PEM: {e}")),
        })?;
        let der = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| Error::argument(format!("invalid client key PEM: {e}")))?;
        // The key must be usable and belong to the leaf: checked now, not
        // at the first handshake.
        let signing = rustls::crypto::ring::sign::any_supported_type(&der)
            .map_err(|e| Error::argument(format!("unusable client key: {e}")))?;
        let leaf = chain
            .iter()
            .map(|cert| CertificateDer::from(cert.der().to_vec()))
            .collect();
        rustls::sign::CertifiedKey::new(leaf, signing)
            .keys_match()
            .map_err(|e| {
                Error::argument(format!(
                    "the client key does not belong to the certificate ({e})"
                ))
            })?;
        Ok(ClientIdentity {
            chain,
            key,
            key_pem: key_pem.to_vec(),
        })
    }

    /// The chain as rustls takes it.
    pub(crate) fn rustls_chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain
            .iter()
            .map(|cert| CertificateDer::from(cert.der().to_vec()))
            .collect()
    }

    /// The key as rustls takes it.
    pub(crate) fn rustls_key(&self) -> Result<PrivateKeyDer<'static>> {
        PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| Error::argument(format!("invalid client key PEM: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_encrypted_and_missing_keys() {
        let encrypted =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let error = ClientIdentity::parse(b"", encrypted).err().unwrap();
        assert!(error.message.contains("encrypted"), "{error}");
        let error = ClientIdentity::parse(b"no pem here", b"").err().unwrap();
        assert!(error.message.contains("no certificate"), "{error}");
    }
}
