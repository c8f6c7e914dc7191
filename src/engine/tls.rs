//! TLS for the engine loop (step 6): rustls' `ClientConnection` between
//! the socket and the exchange. Ciphertext from the socket goes in, the
//! plaintext comes out for `connection::Connection::handle_input`; the
//! exchange's bytes go through `writer()` and leave as ciphertext. One
//! `ClientConfig` per client configuration, built once: the webpki roots
//! (or the configured CA), or no verification at all in insecure mode.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, Weak};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// Plaintext waiting to be encrypted, and received but not read, at most
/// (rustls' buffers): small, so thousands of idle streams stay small.
const BUFFER_LIMIT: usize = 64 * 1024;

/// The TLS settings of a client configuration: shared by every stream
/// with the same CA and verification choice (a root store is about 150
/// certificates: one copy, not one per stream), dropped with the last.
pub(crate) fn client_config(config: &Config) -> Result<Arc<ClientConfig>> {
    use crate::config::SharedBytes;
    /// What tells two TLS settings apart: verification, CA, client certificate.
    type Key = (
        bool,
        Option<SharedBytes>,
        Option<(SharedBytes, SharedBytes)>,
    );
    static SHARED: Mutex<Vec<(Key, Weak<ClientConfig>)>> = Mutex::new(Vec::new());
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    shared.retain(|(_, config)| config.strong_count() > 0);
    let key: Key = (
        config.insecure,
        config.ca_pem.clone(),
        config.client_cert.clone(),
    );
    if let Some(found) = shared
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, c)| c.upgrade())
    {
        return Ok(found);
    }
    let built = build_client_config(config)?;
    shared.push((key, Arc::downgrade(&built)));
    Ok(built)
}

/// Builds [`client_config`]'s settings.
fn build_client_config(config: &Config) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS setup: {e}")))?;
    let builder = if config.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match &config.ca_pem {
            Some(pem) => {
                for cert in crate::ca::parse_pem(pem)? {
                    roots
                        .add(cert)
                        .map_err(|e| Error::argument(format!("invalid CA certificate: {e}")))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    };
    let tls = match &config.client_cert {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            let identity = crate::client_cert::ClientIdentity::parse(chain, key)?;
            builder
                .with_client_auth_cert(identity.chain, identity.key)
                .map_err(|e| Error::argument(format!("unusable client certificate or key: {e}")))?
        }
    };
    Ok(Arc::new(tls))
}

/// A TLS session with `host` over a connected socket.
pub(crate) struct TlsSession {
    tls: ClientConnection,
}

impl TlsSession {
    /// Starts the handshake (its first bytes wait in [`Session::write_to`]).
    pub(crate) fn new(config: Arc<ClientConfig>, host: &str) -> Result<Self> {
        let name = ServerName::try_from(host.to_owned()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidUrl,
                format!("TLS server name {host:?}: {e}"),
            )
        })?;
        let mut tls = ClientConnection::new(config, name)
            .map_err(|e| tls_error(format!("request failed: TLS: {e}")))?;
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(TlsSession { tls })
    }

    /// Whether the handshake is still in progress.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// Takes plaintext to send (after the handshake); how much it took.
    pub(crate) fn send(&mut self, plaintext: &[u8]) -> usize {
        self.tls.writer().write(plaintext).unwrap_or(0)
    }

    /// Writes pending ciphertext to `socket` until done or it would block;
    /// how many bytes went out.
    pub(crate) fn write_to(&mut self, socket: &mut impl Write) -> io::Result<usize> {
        let mut written = 0;
        while self.tls.wants_write() {
            match self.tls.write_tls(socket) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && written > 0 => break,
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    /// Reads ciphertext from `socket` once and decrypts it; `Ok(false)`
    /// when the socket reached its end.
    pub(crate) fn read_from(&mut self, socket: &mut impl Read) -> io::Result<bool> {
        let n = self.tls.read_tls(socket)?;
        self.tls
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, TlsFailure(e)))?;
        Ok(n > 0)
    }

    /// Decrypted bytes into `buffer`: `Ok(0)` at a clean end (the peer's
    /// close_notify), `WouldBlock` when none are ready, `UnexpectedEof`
    /// when the socket ended without a close_notify.
    pub(crate) fn plaintext(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.tls.reader().read(buffer)
    }
}

/// A TLS failure inside an `io::Error`, told apart from socket errors.
#[derive(Debug)]
pub(crate) struct TlsFailure(pub(crate) rustls::Error);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TlsFailure {}

/// The libsse error of a failed read or write on a TLS stream.
pub(crate) fn io_error(e: &io::Error, context: &str) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsFailure>())
    {
        Some(TlsFailure(failure)) => tls_error(format!("{context}: TLS: {failure}")),
        None => Error::new(ErrorKind::Io, format!("{context}: {e}")),
    }
}

fn tls_error(message: String) -> Error {
    Error::new(ErrorKind::Tls, message)
}

/// Insecure mode: any certificate is taken (signatures still checked as
/// signatures, so the handshake itself is sound).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_with_the_same_trust_share_one_client_config() {
        let plain = Config::builder("https://127.0.0.1:1/").build().unwrap();
        let a = client_config(&plain).unwrap();
        let b = client_config(&plain).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one root store for both");
        let insecure = Config::builder("https://127.0.0.1:1/")
            .insecure(true)
            .build()
            .unwrap();
        let c = client_config(&insecure).unwrap();
        assert!(!Arc::ptr_eq(&a, &c), "other verification, other settings");
        drop((a, b));
        let again = client_config(&plain).unwrap();
        assert_eq!(
            Arc::strong_count(&again),
            1,
            "rebuilt once the others were gone"
        );
    }
}
