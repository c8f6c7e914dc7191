//! TLS (a CA and leaf made at server start) and proxies, over loopback.

mod common;

use common::*;
use sse::{ErrorKind, Item, ProxySetting};
use sse_demo_server::ServerOptions;

fn tls_server() -> Server {
    Server::start_with(ServerOptions { port: 0, tls: true }).unwrap()
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

#[test]
fn an_explicit_proxy_tunnels_the_stream() {
    let server = Server::start().unwrap();
    let proxy = ConnectProxy::start(server.addr());
    let client = start(
        config("http://stream.example.invalid/ticker?count=2")
            .proxy(ProxySetting::Url(proxy.url())),
    );
    assert_eq!(data_of(&messages(&client, 2)), ["tick 1", "tick 2"]);
    assert_eq!(proxy.targets(), ["stream.example.invalid:80"]);
    assert_eq!(
        server.requests()[0].header("host"),
        Some("stream.example.invalid")
    );
}
