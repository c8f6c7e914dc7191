//! The requests of one connection attempt of a stream: the first from the
//! configuration, then one per redirect followed. Pure (no I/O); both
//! engines use it, so the redirect and credential rules live here once:
//!
//! - at most `max_redirects` redirects per attempt;
//! - 303 turns any method but HEAD into GET without a body, as do 301/302
//!   for POST; 307/308 keep the method and send the body again;
//! - once a redirect left the first origin (scheme, host or port), the
//!   credentials headers (`Authorization`, `Cookie`, `Proxy-Authorization`)
//!   and those the user named sensitive stay behind, even on the way back
//!   (curl's rule since CVE-2022-27776);
//! - a redirect from https to http is refused unless the configuration
//!   allows it;
//! - a `Location` that is no usable URL is a URL error.

use std::borrow::Borrow;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::headers;
use crate::log::{log, LogLevel};
use crate::request_hook::Request;
use crate::urls;

/// Where one connection attempt stands: the request to send next. `C`
/// is how the configuration is held (`&Config`, `Arc<Config>`).
#[derive(Debug, Clone)]
pub(crate) struct Attempt<C> {
    config: C,
    url: String,
    method: String,
    send_body: bool,
    /// A redirect left the first origin: credentials stay behind.
    left_origin: bool,
    redirects: u32,
    /// The headers the request hook left (None: the configuration's).
    hooked_headers: Option<Vec<(String, String)>>,
}

impl<C: Borrow<Config>> Attempt<C> {
    /// The first request of an attempt: `config`'s URL (normalized),
    /// method and body.
    pub(crate) fn new(config: C) -> Result<Self> {
        let c = config.borrow();
        Ok(Attempt {
            url: urls::normalize(&c.url)?,
            method: c.method.clone(),
            send_body: c.body.is_some(),
            config,
            left_origin: false,
            redirects: 0,
            hooked_headers: None,
        })
    }

    /// Runs the configuration's request hook, if any, on this attempt's
    /// first request: its headers and query replace the configuration's
    /// for every request of the attempt. A `RequestHook` error when the
    /// hook fails.
    pub(crate) fn run_hook(&mut self) -> Result<()> {
        let config = self.config.borrow();
        let Some(hook) = &config.request_hook else {
            return Ok(());
        };
        let request = hook.run(Request::new(self.url.clone(), config.headers.clone()))?;
        let url = request.url().to_owned();
        self.hooked_headers = Some(request.headers().to_vec());
        self.url = url;
        Ok(())
    }

    /// The URL to request.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The method to send.
    pub(crate) fn method(&self) -> &str {
        &self.method
    }

    /// The body to send, if any.
    pub(crate) fn body(&self) -> Option<&[u8]> {
        self.config
            .borrow()
            .body
            .as_deref()
            .filter(|_| self.send_body)
    }

    /// The user's headers to send with this request, in order.
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let config = self.config.borrow();
        self.hooked_headers
            .as_ref()
            .unwrap_or(&config.headers)
            .iter()
            .filter(move |(name, _)| !(self.left_origin && is_sensitive(config, name)))
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// Follows a redirect answered with `status` and `location` (as sent;
    /// resolved here against the current URL), or says why not: an error
    /// carrying the redirect's status and `headers`.
    #[cfg(test)]
    pub(crate) fn follow(
        &mut self,
        status: u16,
        location: &str,
        headers: &[(String, String)],
    ) -> Result<()> {
        let refuse = |why: String| Error::status(status, headers.to_vec(), why);
        let location = location.trim();
        if location.is_empty() {
            return Err(refuse(format!("HTTP {status} redirect without a Location")));
        }
        if self.redirects >= self.config.borrow().max_redirects {
            return Err(refuse(format!(
                "too many redirects (limit {})",
                self.config.borrow().max_redirects
            )));
        }
        let next = urls::resolve(&self.url, location).map_err(|why| {
            urls::redirect_error(refuse(format!("HTTP {status} redirect: {why}")))
        })?;
        self.follow_resolved(status, next, headers)
    }

    /// Follows a redirect to `next`, already resolved and checked as a URL
    /// (what `connection::End::Redirect` carries).
    pub(crate) fn follow_resolved(
        &mut self,
        status: u16,
        next: String,
        headers: &[(String, String)],
    ) -> Result<()> {
        let refuse = |why: String| Error::status(status, headers.to_vec(), why);
        if self.redirects >= self.config.borrow().max_redirects {
            return Err(refuse(format!(
                "too many redirects (limit {})",
                self.config.borrow().max_redirects
            )));
        }
        if urls::is_downgrade(&self.url, &next) && !self.config.borrow().allow_https_downgrade {
            return Err(refuse(format!(
                "HTTP {status} redirect from https to http refused ({next}): it would send the request in plain text; allow it with the allow-https-downgrade setting"
            )));
        }
        self.redirects += 1;
        if !urls::same_origin(&self.url, &next) {
            self.left_origin = true;
        }
        log(LogLevel::Info, || {
            format!("{}: HTTP {status} redirect to {next}", self.url)
        });
        self.url = next;
        let post = self.method.eq_ignore_ascii_case("POST");
        let keeps_method = matches!(status, 307 | 308) || (status != 303 && !post);
        if !keeps_method && !self.method.eq_ignore_ascii_case("HEAD") {
            self.method = "GET".to_owned();
            self.send_body = false;
        }
        Ok(())
    }
}

/// Whether a request header stays behind once a redirect left the first
/// origin: the credentials headers and those the user named sensitive.
fn is_sensitive(config: &Config, name: &str) -> bool {
    headers::is_one_of(name, headers::CREDENTIALS)
        || config
            .sensitive_headers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
}

/// The Last-Event-ID to send to `url`, if any: a server may set an id
/// with control characters (valid SSE, not a valid header value), or one
/// longer than `max_bytes`; then the stream resumes without it, with a
/// warning in the log.
pub(crate) fn last_event_id_to_send<'i>(
    url: &str,
    id: &'i str,
    max_bytes: usize,
) -> Option<&'i str> {
    if id.is_empty() {
        None
    } else if id.len() > max_bytes {
        log(LogLevel::Warn, || {
            format!(
                "{url}: Last-Event-ID of {} bytes not sent (at most {max_bytes} fit)",
                id.len()
            )
        });
        None
    } else if !headers::is_value(id) {
        log(LogLevel::Warn, || {
            format!("{url}: Last-Event-ID not sent: the server's id holds control characters")
        });
        None
    } else {
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> crate::config::ConfigBuilder {
        Config::builder(url)
    }

    fn names(attempt: &Attempt<&Config>) -> Vec<String> {
        attempt
            .headers()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn credentials_stay_behind_once_the_origin_changed_even_on_the_way_back() {
        let config = config("http://127.0.0.1:1/a")
            .header("Authorization", "Bearer x")
            .header("Cookie", "c=1")
            .header("Proxy-Authorization", "Basic x")
            .header("X-Api-Key", "k")
            .header("X-Kept", "v")
            .sensitive_header("x-api-key")
            .build()
            .unwrap();
        let mut attempt = Attempt::new(&config).unwrap();
        attempt.follow(302, "/b", &[]).unwrap();
        assert_eq!(names(&attempt).len(), 5, "same origin keeps everything");
        attempt.follow(302, "http://localhost:1/c", &[]).unwrap();
        assert_eq!(names(&attempt), ["x-kept"]);
        attempt.follow(302, "http://127.0.0.1:1/d", &[]).unwrap();
        assert_eq!(names(&attempt), ["x-kept"]);
        assert_eq!(attempt.url(), "http://127.0.0.1:1/d");
    }

    #[test]
    fn methods_and_bodies_follow_the_status() {
        let config = config("http://127.0.0.1:1/")
            .method("POST")
            .body(b"q".to_vec())
            .build()
            .unwrap();
        for (status, method, body) in [
            (301, "GET", None),
            (302, "GET", None),
            (303, "GET", None),
            (307, "POST", Some(&b"q"[..])),
            (308, "POST", Some(&b"q"[..])),
        ] {
            let mut attempt = Attempt::new(&config).unwrap();
            attempt.follow(status, "/next", &[]).unwrap();
            assert_eq!(
                (attempt.method(), attempt.body()),
                (method, body),
                "{status}"
            );
        }
        let put = config_with_method("PUT");
        let mut attempt = Attempt::new(&put).unwrap();
        attempt.follow(302, "/next", &[]).unwrap();
        assert_eq!(attempt.method(), "PUT", "302 keeps methods other than POST");
        attempt.follow(303, "/again", &[]).unwrap();
        assert_eq!(attempt.method(), "GET");
    }

    fn config_with_method(method: &str) -> Config {
        config("http://127.0.0.1:1/")
            .method(method)
            .build()
            .unwrap()
    }

    #[test]
    fn refusals_keep_the_status_and_say_why() {
        let config = config("https://127.0.0.1:1/")
            .max_redirects(1)
            .build()
            .unwrap();
        let headers = vec![("location".to_owned(), "x".to_owned())];
        let mut attempt = Attempt::new(&config).unwrap();
        let error = attempt
            .follow(302, "http://127.0.0.1:1/", &headers)
            .unwrap_err();
        assert!(
            error.message.contains("from https to http refused"),
            "{error}"
        );
        assert_eq!(
            (error.status, error.headers.clone()),
            (Some(302), headers.clone())
        );
        let error = attempt.follow(301, "  ", &headers).unwrap_err();
        assert!(error.message.contains("without a Location"), "{error}");
        let error = attempt
            .follow(307, "http://127.0.0.1:99999/", &headers)
            .unwrap_err();
        assert_eq!(error.kind, crate::ErrorKind::InvalidUrl, "{error}");
        attempt.follow(302, "/ok", &headers).unwrap();
        let error = attempt.follow(302, "/more", &headers).unwrap_err();
        assert!(
            error.message.contains("too many redirects (limit 1)"),
            "{error}"
        );
        let allowed = config_allowing_downgrade();
        let mut attempt = Attempt::new(&allowed).unwrap();
        attempt.follow(302, "http://127.0.0.1:1/", &[]).unwrap();
    }

    fn config_allowing_downgrade() -> Config {
        config("https://127.0.0.1:1/")
            .allow_https_downgrade(true)
            .build()
            .unwrap()
    }

    #[test]
    fn last_event_ids_that_cannot_be_sent_are_left_out() {
        assert_eq!(last_event_id_to_send("u", "", 10), None);
        assert_eq!(last_event_id_to_send("u", "42", 10), Some("42"));
        assert_eq!(last_event_id_to_send("u", "a\u{1b}b", 10), None);
        assert_eq!(last_event_id_to_send("u", "12345678901", 10), None);
    }
}
