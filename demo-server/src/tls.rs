//! Certificates for the TLS mode: a fresh CA and a leaf for
//! `localhost` / `127.0.0.1` / `::1` signed by it, generated at start.

use std::io;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The server side of TLS: rustls config plus the CA PEM for clients.
pub(crate) struct TlsSetup {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) ca_pem: String,
    /// With client authentication: a client certificate and key (PEM) the
    /// server accepts, and one signed by a CA it does not know.
    pub(crate) client: Option<ClientIdentities>,
}

/// Client certificates for mutual-TLS tests, each as (chain PEM, key PEM).
#[derive(Debug, Clone)]
pub struct ClientIdentities {
    /// Signed by the CA the server trusts for clients.
    pub accepted: (String, String),
    /// Signed by another CA: refused.
    pub stranger: (String, String),
}

/// A self-signed CA named `name`.
fn new_ca(name: &str) -> io::Result<CertifiedIssuer<'static, KeyPair>> {
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, key).map_err(err)
}

/// A client certificate signed by `ca`: (chain PEM, key PEM).
fn new_client(ca: &CertifiedIssuer<'static, KeyPair>, name: &str) -> io::Result<(String, String)> {
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, ca).map_err(err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("TLS setup: {e}"))
}

/// Generates the CA and leaf and builds a rustls config (ring provider);
/// with `client_auth`, the server requires a client certificate signed by
/// a client CA of its own.
pub(crate) fn setup(client_auth: bool) -> io::Result<TlsSetup> {
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sse-demo-server test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;

    let leaf_key = KeyPair::generate().map_err(err)?;
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(err)?;
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf = leaf_params.signed_by(&leaf_key, &*ca).map_err(err)?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(err)?;
    let (builder, client) = if client_auth {
        let client_ca = new_ca("sse-demo-server client CA")?;
        let other_ca = new_ca("some other CA")?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(client_ca.der().clone()).map_err(err)?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(err)?;
        let identities = ClientIdentities {
            accepted: new_client(&client_ca, "accepted client")?,
            stranger: new_client(&other_ca, "stranger")?,
        };
        (
            builder.with_client_cert_verifier(verifier),
            Some(identities),
        )
    } else {
        (builder.with_no_client_auth(), None)
    };
    let config = builder.with_single_cert(chain, key).map_err(err)?;
    Ok(TlsSetup {
        config: Arc::new(config),
        ca_pem: ca.pem(),
        client,
    })
}
