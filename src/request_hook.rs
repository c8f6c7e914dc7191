//! The request hook: user code run before every connection attempt (the
//! first and each reconnection, before any redirect of that attempt) that
//! may set or replace headers and change the URL's query, so that a
//! stream reconnecting after an hour sends a fresh token, not the one it
//! started with.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::headers;
use crate::urls;

/// The request of one connection attempt, as the hook sees and changes it.
#[derive(Debug, Clone)]
pub struct Request {
    url: String,
    headers: Vec<(String, String)>,
    /// The first change refused: the attempt fails with it even if the
    /// hook went on.
    refused: Option<String>,
}

impl Request {
    pub(crate) fn new(url: String, headers: Vec<(String, String)>) -> Self {
        Request {
            url,
            headers,
            refused: None,
        }
    }

    /// The URL the attempt requests.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers to send (the configuration's, as changed so far).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Sets header `name` to `value`, replacing every header of that name
    /// (names compare without case). Checked as the configuration's
    /// headers are (no CR, LF or NUL; no header the library owns).
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<()> {
        self.check(headers::validate(name, value))?;
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Removes every header named `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Replaces the URL's query (`None` or empty: no query). The scheme,
    /// host, port and path stay: a hook cannot send the request (and its
    /// headers) elsewhere.
    pub fn set_query(&mut self, query: Option<&str>) -> Result<()> {
        let query = query.filter(|q| !q.is_empty());
        if let Some(q) = query {
            if q.bytes().any(|b| b <= b' ' || b == b'#' || b == 0x7f) {
                return self.check(Err(Error::argument(format!(
                    "invalid query {q:?}: no spaces, control characters or '#'"
                ))));
            }
        }
        let mut url = self.check(urls::parse(&self.url))?;
        url.set_query(query);
        self.url = url.into();
        Ok(())
    }

    /// Fails the attempt with `why`, whatever the hook returns.
    pub(crate) fn refuse(&mut self, why: String) {
        self.refused.get_or_insert(why);
    }

    /// Passes `result` on, keeping its error as the attempt's.
    fn check<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            self.refused.get_or_insert_with(|| error.message.clone());
        }
        result
    }
}

/// The hook's function: `Err(message)` fails the attempt, which is then
/// retried as the error policy says (by default with backoff).
pub type RequestHookFn = dyn Fn(&mut Request) -> std::result::Result<(), String> + Send + Sync;

/// A request hook, shared by a configuration and its clients.
#[derive(Clone)]
pub struct RequestHook(Arc<RequestHookFn>);

impl fmt::Debug for RequestHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestHook")
    }
}

impl RequestHook {
    /// A hook running `hook`.
    pub fn new(
        hook: impl Fn(&mut Request) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        RequestHook(Arc::new(hook))
    }

    /// Runs the hook on `request`: `Ok` with the request as changed, or
    /// the `RequestHook` error saying why the attempt cannot go.
    pub(crate) fn run(&self, mut request: Request) -> Result<Request> {
        let fail = |why: String| Error::new(ErrorKind::RequestHook, format!("request hook: {why}"));
        match catch_unwind(AssertUnwindSafe(|| (self.0)(&mut request))) {
            Err(_) => Err(fail("it panicked".into())),
            Ok(Err(message)) => Err(fail(message)),
            Ok(Ok(())) => match request.refused.take() {
                Some(why) => Err(fail(why)),
                None => Ok(request),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::new(
            "http://127.0.0.1:1/s?old=1".into(),
            vec![("Authorization".into(), "Bearer old".into())],
        )
    }

    #[test]
    fn sets_headers_and_the_query() {
        let hook = RequestHook::new(|r| {
            r.set_header("authorization", "Bearer new").unwrap();
            r.set_header("X-Extra", "1").unwrap();
            r.set_query(Some("token=abc&n=2")).unwrap();
            Ok(())
        });
        let done = hook.run(request()).unwrap();
        assert_eq!(done.url(), "http://127.0.0.1:1/s?token=abc&n=2");
        assert_eq!(
            done.headers(),
            [
                ("authorization".to_owned(), "Bearer new".to_owned()),
                ("X-Extra".to_owned(), "1".to_owned())
            ]
        );
        let cleared = RequestHook::new(|r| r.set_query(None).map_err(|e| e.message));
        assert_eq!(
            cleared.run(request()).unwrap().url(),
            "http://127.0.0.1:1/s"
        );
    }

    #[test]
    fn a_refused_change_fails_the_attempt_even_if_ignored() {
        let hook = RequestHook::new(|r| {
            let _ = r.set_header("X-Bad", "a\r\nInjected: 1");
            Ok(())
        });
        let error = hook.run(request()).unwrap_err();
        assert_eq!(error.kind, ErrorKind::RequestHook);
        assert!(error.message.starts_with("request hook: "), "{error}");
        let framing =
            RequestHook::new(|r| r.set_header("Content-Length", "5").map_err(|e| e.message));
        assert!(framing.run(request()).is_err());
        let query = RequestHook::new(|r| r.set_query(Some("a b")).map_err(|e| e.message));
        assert!(query.run(request()).is_err());
    }

    #[test]
    fn errors_and_panics_become_hook_errors() {
        let refused = RequestHook::new(|_| Err("token service down".into()));
        assert_eq!(
            refused.run(request()).unwrap_err().message,
            "request hook: token service down"
        );
        let panics = RequestHook::new(|_| panic!("boom"));
        assert_eq!(
            panics.run(request()).unwrap_err().message,
            "request hook: it panicked"
        );
    }
}
