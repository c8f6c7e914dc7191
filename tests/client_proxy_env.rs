//! The proxy environment variables, as curl reads them. Environment
//! variables are process-wide, so these checks live alone in this binary
//! and run in one test.

mod common;

use common::*;
use sse::{Config, ProxySetting};

/// How many connections the proxy tunnelled for one stream of `url`.
fn tunnelled(proxy: &ConnectProxy, url: &str) -> usize {
    let before = proxy.targets().len();
    let client = start(
        Config::builder(url)
            .proxy(ProxySetting::FromEnvironment)
            .retry(|r| r.reconnect = false),
    );
    let _ = drain(&client);
    proxy.targets().len() - before
}

#[test]
fn environment_proxy_variables_are_honoured_like_curl() {
    let server = Server::start().unwrap();
    let proxy = ConnectProxy::start(server.addr());
    let target = "http://stream.example.invalid/ticker?count=1";
    // No other thread reads the environment in this one-test binary.
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "ALL_PROXY",
        "all_proxy",
        "no_proxy",
        "NO_PROXY",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("http_proxy", proxy.url());
    assert_eq!(tunnelled(&proxy, target), 1, "http_proxy is used");

    std::env::set_var("no_proxy", ".example.invalid");
    assert_eq!(tunnelled(&proxy, target), 0, "NO_PROXY bypasses it");
    std::env::remove_var("no_proxy");

    std::env::remove_var("http_proxy");
    std::env::set_var("HTTP_PROXY", proxy.url());
    assert_eq!(tunnelled(&proxy, target), 0, "curl ignores HTTP_PROXY");
    std::env::remove_var("HTTP_PROXY");

    std::env::set_var("ALL_PROXY", proxy.url());
    assert_eq!(tunnelled(&proxy, target), 1, "ALL_PROXY is the fallback");
    std::env::remove_var("ALL_PROXY");
}
