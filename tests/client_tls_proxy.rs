//! TLS (a CA and leaf made at server start) and proxies, over loopback.

mod common;

use common::*;
use sse::{ErrorKind, Item, ProxySetting};
use sse_demo_server::ServerOptions;

fn tls_server() -> Server {
    Server::start_with(ServerOptions {
        port: 0,
        tls: true,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn https_with_a_custom_ca_streams() {
    let server = tls_server();
    assert!(server.url().starts_with("https://"));
    let ca = server.ca_pem().unwrap();
    let client = start(config(&format!("{}/ticker?count=2", server.url())).ca_pem(ca));
    assert_eq!(data_of(&messages(&client, 2)), ["tick 1", "tick 2"]);
}

#[test]
fn https_ca_from_a_file_and_localhost_name() {
    let server = tls_server();
    let dir = std::env::temp_dir().join(format!("libsse-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, server.ca_pem().unwrap()).unwrap();
    let url = format!("https://localhost:{}/ticker?count=1", server.addr().port());
    let client = start(config(&url).ca_file(&path).unwrap());
    assert_eq!(data_of(&messages(&client, 1)), ["tick 1"]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_certificate_is_a_fatal_tls_error() {
    let server = tls_server();
    // The default roots (Mozilla's) do not know the test CA.
    let client = start(config(&format!("{}/ticker?count=1", server.url())));
    let (items, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::Tls, "{end}");
    assert!(
        end.message.to_lowercase().contains("certificate"),
        "{}",
        end.message
    );
    assert!(!items.iter().any(|i| matches!(i, Item::Message(_))));
}

#[test]
fn insecure_mode_skips_verification() {
    let server = tls_server();
    let client = start(config(&format!("{}/ticker?count=1", server.url())).insecure(true));
    assert_eq!(data_of(&messages(&client, 1)), ["tick 1"]);
}

#[test]
fn plain_http_to_a_tls_port_fails_cleanly() {
    let server = tls_server();
    let url = server.url().replace("https://", "http://");
    let client = start(config(&format!("{url}/ticker?count=1")).retry(|r| r.reconnect = false));
    let (_, end) = drain(&client);
    assert!(
        matches!(
            end.kind,
            ErrorKind::Io | ErrorKind::HttpStatus | ErrorKind::Connect
        ),
        "{end:?}"
    );
}

/// Issue 11 item 12: an `http://` stream goes to an HTTP proxy as a
/// request in absolute form (no CONNECT, which standard proxies refuse for
/// ports other than 443), with the proxy URL's credentials as
/// `Proxy-Authorization`, and the origin server sees an ordinary request.
#[test]
fn an_explicit_proxy_gets_plain_http_streams_in_absolute_form() {
    let server = Server::start().unwrap();
    let proxy = ConnectProxy::start(server.addr());
    let proxy_url = format!("http://user:p%40ss@{}", proxy.addr);
    let client = start(
        config("http://stream.example.invalid:8080/ticker?count=2")
            .proxy(ProxySetting::Url(proxy_url)),
    );
    assert_eq!(data_of(&messages(&client, 2)), ["tick 1", "tick 2"]);
    assert_eq!(
        proxy.targets(),
        ["http://stream.example.invalid:8080/ticker?count=2"]
    );
    assert_eq!(
        proxy.authorizations(),
        [format!("Basic {}", base64_encode(b"user:p@ss"))]
    );
    let request = &server.requests()[0];
    assert_eq!(request.header("host"), Some("stream.example.invalid:8080"));
    assert_eq!(request.header("proxy-authorization"), None);
}

/// `https://` streams still tunnel through CONNECT.
#[test]
fn an_explicit_proxy_tunnels_https_streams() {
    let server = tls_server();
    let proxy = ConnectProxy::start(server.addr());
    let client = start(
        config("https://localhost/ticker?count=2")
            .ca_pem(server.ca_pem().unwrap())
            .proxy(ProxySetting::Url(proxy.url())),
    );
    assert_eq!(data_of(&messages(&client, 2)), ["tick 1", "tick 2"]);
    assert_eq!(proxy.targets(), ["localhost:443"]);
}

#[test]
fn a_client_certificate_is_presented_when_the_server_requires_one() {
    let server = Server::start_with(ServerOptions {
        port: 0,
        tls: true,
        client_auth: true,
    })
    .unwrap();
    let ca = server.ca_pem().unwrap();
    let ids = server.client_identities().unwrap();
    let url = format!("{}/ticker?count=2", server.url());
    let (chain, key) = ids.accepted.clone();
    let client = start(
        config(&url)
            .ca_pem(ca.clone())
            .client_certificate(chain, key),
    );
    assert_eq!(data_of(&messages(&client, 2)), ["tick 1", "tick 2"]);

    // From files, the key in the chain's own file.
    let dir = std::env::temp_dir().join(format!("libsse-mtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let both = dir.join("both.pem");
    std::fs::write(&both, format!("{}{}", ids.accepted.0, ids.accepted.1)).unwrap();
    let client = start(
        config(&url)
            .ca_pem(ca.clone())
            .client_certificate_files(&both, &both)
            .unwrap(),
    );
    assert_eq!(data_of(&messages(&client, 1)), ["tick 1"]);
    std::fs::remove_dir_all(dir).ok();

    // Without one, or with one the server does not trust: a TLS error.
    let (chain, key) = ids.stranger;
    for builder in [
        config(&url).ca_pem(ca.clone()),
        config(&url)
            .ca_pem(ca.clone())
            .client_certificate(chain, key),
    ] {
        let client = start(builder.retry(|r| r.max_attempts = Some(0)));
        let (_, end) = drain(&client);
        assert!(
            end.kind == ErrorKind::Tls || end.message.contains("TLS"),
            "{:?}: {end}",
            end.kind
        );
    }
}

#[test]
fn an_encrypted_or_missing_client_key_is_refused_by_the_configuration() {
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let server = Server::start_with(ServerOptions {
        port: 0,
        tls: true,
        client_auth: true,
    })
    .unwrap();
    let chain = server.client_identities().unwrap().accepted.0;
    let error = config("https://127.0.0.1:1/")
        .client_certificate(chain.clone(), encrypted)
        .build()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("encrypted"), "{error}");
    let error = config("https://127.0.0.1:1/")
        .client_certificate(chain.clone(), chain.clone())
        .build()
        .unwrap_err();
    assert!(error.message.contains("no private key"), "{error}");
    // A key of another certificate: refused by the configuration, not at
    // the first handshake.
    let other_key = server.client_identities().unwrap().stranger.1;
    let error = config("https://127.0.0.1:1/")
        .client_certificate(chain, other_key)
        .build()
        .unwrap_err();
    assert!(error.message.contains("does not belong"), "{error}");
}

#[test]
fn socks5_proxies_tunnel_http_and_https_streams() {
    let plain = Server::start().unwrap();
    let tls = tls_server();
    for (upstream, url) in [
        (
            plain.addr(),
            format!("http://example.test:{}/ticker?count=2", plain.addr().port()),
        ),
        (
            tls.addr(),
            format!("https://localhost:{}/ticker?count=2", tls.addr().port()),
        ),
    ] {
        let socks = SocksProxy::start(upstream, None);
        for scheme in ["socks5h", "socks5", "socks"] {
            let proxy = ProxySetting::Url(format!("{scheme}://{}", socks.addr));
            let client = start(config(&url).proxy(proxy).ca_pem(tls.ca_pem().unwrap()));
            assert_eq!(
                data_of(&messages(&client, 2)),
                ["tick 1", "tick 2"],
                "{scheme} {url}"
            );
        }
        // The name went to the proxy (resolved there, not here).
        let host = url.split("://").nth(1).unwrap().split('/').next().unwrap();
        assert!(
            socks.targets().iter().all(|t| t == host),
            "{:?}",
            socks.targets()
        );
    }
}

#[test]
fn socks5_with_credentials_and_socks4a() {
    let server = Server::start().unwrap();
    let url = format!("http://feed.test:{}/ticker?count=1", server.addr().port());
    let socks = SocksProxy::start(server.addr(), Some(("user", "p@ss")));
    let good = ProxySetting::Url(format!("socks5h://user:p%40ss@{}", socks.addr));
    let client = start(config(&url).proxy(good));
    assert_eq!(data_of(&messages(&client, 1)), ["tick 1"]);
    let bad = ProxySetting::Url(format!("socks5h://user:wrong@{}", socks.addr));
    let client = start(config(&url).proxy(bad).retry(|r| r.max_attempts = Some(0)));
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted, "{end}");
    assert!(
        end.message.contains("refused the user and password"),
        "{end}"
    );

    let socks4 = SocksProxy::start(server.addr(), None);
    for scheme in ["socks4a", "socks4"] {
        let proxy = ProxySetting::Url(format!("{scheme}://{}", socks4.addr));
        let client = start(config(&url).proxy(proxy));
        assert_eq!(data_of(&messages(&client, 1)), ["tick 1"], "{scheme}");
    }
    let ip_url = format!("{}/ticker?count=1", server.url());
    let proxy = ProxySetting::Url(format!("socks4://{}", socks4.addr));
    let client = start(config(&ip_url).proxy(proxy));
    assert_eq!(data_of(&messages(&client, 1)), ["tick 1"]);
    let targets = socks4.targets();
    assert!(
        targets.contains(&format!("feed.test:{}", server.addr().port())),
        "{targets:?}"
    );
    assert!(targets.contains(&server.addr().to_string()), "{targets:?}");
}

#[test]
fn https_proxies_are_refused_with_a_clear_message() {
    let error = config("http://127.0.0.1:1/")
        .proxy(ProxySetting::Url("https://proxy.test:443".into()))
        .build()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("not supported"), "{error}");
}

#[test]
fn a_silent_or_absent_proxy_is_named_in_the_error() {
    let url = "http://feed.test:80/ticker";
    // Accepts, then never answers the SOCKS greeting.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = ProxySetting::Url(format!("socks5h://{}", silent.local_addr().unwrap()));
    let client = start(
        config(url)
            .proxy(proxy)
            .connect_timeout(ms(300))
            .retry(|r| r.max_attempts = Some(0)),
    );
    let (_, end) = drain(&client);
    assert_eq!(end.kind, ErrorKind::RetriesExhausted, "{end}");
    assert!(
        end.message
            .contains("no SOCKS answer from the proxy within 300 ms"),
        "{end}"
    );
    drop(silent);

    // Nobody listening there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    for (scheme, kind) in [("socks5", "SOCKS5"), ("http", "HTTP")] {
        let proxy = ProxySetting::Url(format!("{scheme}://{addr}"));
        let client = start(config(url).proxy(proxy).retry(|r| r.max_attempts = Some(0)));
        let (_, end) = drain(&client);
        assert!(
            end.message
                .contains(&format!("(connecting to the {kind} proxy {addr})")),
            "{end}"
        );
    }
}
