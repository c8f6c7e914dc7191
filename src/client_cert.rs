//! A client certificate for mutual TLS: a PEM certificate chain and its
//! private key, checked by the configuration and loaded by the TLS setup.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// A parsed client certificate chain and key.
pub(crate) struct ClientIdentity {
    /// The chain, leaf first.
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub(crate) key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// Parses `chain_pem` (one or more certificates, leaf first) and
    /// `key_pem` (an unencrypted PKCS#8, PKCS#1 or SEC1 key; it may be the
    /// same text as the chain), and checks that the key is the leaf's.
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
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::argument(format!("invalid client certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(Error::argument(
                "the client certificate PEM holds no certificate",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                Error::argument("the client key PEM holds no private key")
            }
            e => Error::argument(format!("invalid client key PEM: {e}")),
        })?;
        // The key must be usable and belong to the leaf: checked now, not
        // at the first handshake.
        let signing = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| Error::argument(format!("unusable client key: {e}")))?;
        rustls::sign::CertifiedKey::new(chain.clone(), signing)
            .keys_match()
            .map_err(|e| {
                Error::argument(format!(
                    "the client key does not belong to the certificate ({e})"
                ))
            })?;
        Ok(ClientIdentity { chain, key })
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
