//! `sse_config`: the settings of a client, built by the user and copied
//! by `sse_client_start`.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::sync::Mutex;
use std::time::Duration;

use super::{
    bytes_arg, c_string, copy_out, ffi_guard, next_serial, sse_status, str_arg, thread_copy,
    try_mut, try_ref, ThreadCopies,
};
use crate::config::{self, Config, ConfigBuilder, ErrorPolicy, OnEnd, ProxySetting};
use crate::error::Error;

/// The settings of a client. Create with `sse_config_new`, free with
/// `sse_config_free`. Not thread-safe: use one config from one thread at a
/// time (or lock around it); a started client keeps its own copy.
pub struct sse_config {
    pub(crate) builder: ConfigBuilder,
    last_error: Mutex<CString>,
    /// The key of this config's copies behind `sse_config_last_error`.
    serial: u64,
}

impl sse_config {
    /// Records `error` as this config's last error and returns its status.
    pub(crate) fn fail(&self, error: &Error) -> sse_status {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = c_string(&error.message);
        error.kind.into()
    }

    fn fail_argument(&self, message: &str) -> sse_status {
        self.fail(&Error::argument(message))
    }

    /// Applies `change` to the builder.
    fn update(&mut self, change: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> sse_status {
        let builder = std::mem::replace(&mut self.builder, Config::builder(""));
        self.builder = change(builder);
        sse_status::SSE_OK
    }

    /// Sets or removes the request hook.
    pub(crate) fn set_request_hook(
        &mut self,
        hook: Option<crate::request_hook::RequestHook>,
    ) -> sse_status {
        self.update(|b| b.set_request_hook(hook))
    }

    /// Validates a copy of the settings.
    pub(crate) fn build(&self) -> Result<Box<Config>, sse_status> {
        self.builder.build_boxed().map_err(|e| self.fail(&e))
    }
}

/// How a client decides which errors reconnect.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_error_policy {
    /// Network errors, oversized events, 5xx and 429 retry; other errors
    /// (other statuses, TLS, content type, URL) end the client.
    SSE_RETRY_DEFAULT = 0,
    /// Every error except invalid settings retries.
    SSE_RETRY_ALL = 1,
    /// Every error ends the client.
    SSE_RETRY_NEVER = 2,
}

/// What a clean end of the stream (the server closing it without an
/// error) does; errors follow the retry policy either way.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sse_on_end {
    /// GET reconnects (as EventSource does); any other method ends the
    /// client (`SSE_CLOSE_END_OF_STREAM`): an LLM completion is one answer.
    SSE_ON_END_BY_METHOD = 0,
    /// Reconnect whatever the method (long-lived POST or REPORT
    /// subscriptions); each reconnect sends the request, body included, again.
    SSE_ON_END_RECONNECT = 1,
    /// End the client.
    SSE_ON_END_END = 2,
}

/// Creates a config for `url` (http or https) with every other setting at
/// its default. The URL is checked by `sse_client_start`. Returns NULL when
/// `url` is NULL or not UTF-8. Free with `sse_config_free`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_new(url: *const c_char) -> *mut sse_config {
    ffi_guard!(std::ptr::null_mut(), {
        let Ok(url) = (unsafe { str_arg(url) }) else {
            return std::ptr::null_mut();
        };
        Box::into_raw(Box::new(sse_config {
            builder: Config::builder(url),
            last_error: Mutex::new(CString::default()),
            serial: next_serial(),
        }))
    })
}

/// Frees a config. NULL is a no-op. Clients started from it are unaffected.
#[no_mangle]
pub unsafe extern "C" fn sse_config_free(config: *mut sse_config) {
    ffi_guard!((), {
        if !config.is_null() {
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

thread_local! {
    /// The calling thread's copy behind `sse_config_last_error`.
    static LAST_ERROR_COPY: RefCell<ThreadCopies> = RefCell::default();
}

/// The message of the last failure of a call on this config (or of
/// `sse_client_start` with it); "" if none. A copy owned by the calling
/// thread: valid until this thread calls `sse_config_last_error` again
/// for the same config (or for 16 other configs since) or ends, whatever
/// other threads do. NULL if `config` is NULL. Prefer
/// `sse_config_copy_last_error` (a copy into your own buffer).
#[no_mangle]
pub unsafe extern "C" fn sse_config_last_error(config: *const sse_config) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        match unsafe { config.as_ref() } {
            Some(config) => {
                let message = config
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                thread_copy(&LAST_ERROR_COPY, config.serial, message)
            }
            None => std::ptr::null(),
        }
    })
}

/// Copies the message of the config's last failure ("" if none) into
/// `buf` (`cap` bytes), NUL-terminated; `*needed` (if not NULL) receives
/// the size it needs, NUL included. Never changes the last error itself.
///
/// Returns `SSE_OK`; `SSE_ERR_TOO_LARGE` when it did not fit (`buf` holds
/// as much as fits, NUL-terminated, when `cap` > 0; `buf` may be NULL when
/// `cap` is 0); `SSE_ERR_ARGUMENT` when `config` is NULL or `buf` is NULL
/// with `cap` > 0.
#[no_mangle]
pub unsafe extern "C" fn sse_config_copy_last_error(
    config: *const sse_config,
    buf: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_ref!(config);
        let message = config
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        unsafe { copy_out(message.as_bytes(), buf, cap, needed) }
    })
}

/// Applies a setter taking one string argument (shared by the
/// `sse_config_set_<string>` exports; plain functions, not a macro, so
/// that cbindgen sees every export).
unsafe fn set_string(
    config: *mut sse_config,
    value: *const c_char,
    apply: impl FnOnce(ConfigBuilder, String) -> ConfigBuilder,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let value = match unsafe { str_arg(value) } {
            Ok(value) => value.to_owned(),
            Err(why) => return config.fail_argument(why),
        };
        config.update(|builder| apply(builder, value))
    })
}

/// Applies a setter taking one number of milliseconds.
unsafe fn set_millis(
    config: *mut sse_config,
    millis: u64,
    apply: impl FnOnce(ConfigBuilder, Duration) -> ConfigBuilder,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let value = Duration::from_millis(millis);
        config.update(|builder| apply(builder, value))
    })
}

/// Replaces the URL.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` when an argument is NULL or not
/// UTF-8 (the setting is then unchanged). The value itself is checked by
/// `sse_config_validate` and `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_url(
    config: *mut sse_config,
    value: *const c_char,
) -> sse_status {
    unsafe { set_string(config, value, |b, v| b.url(v)) }
}

/// Sets the HTTP method (default "GET"), e.g. "POST" or "REPORT".
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` when an argument is NULL or not
/// UTF-8 (the setting is then unchanged). The value itself is checked by
/// `sse_config_validate` and `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_method(
    config: *mut sse_config,
    value: *const c_char,
) -> sse_status {
    unsafe { set_string(config, value, |b, v| b.method(v)) }
}

/// Sets the Last-Event-ID sent on the first connection.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` when an argument is NULL or not
/// UTF-8 (the setting is then unchanged). The value itself is checked by
/// `sse_config_validate` and `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_last_event_id(
    config: *mut sse_config,
    value: *const c_char,
) -> sse_status {
    unsafe { set_string(config, value, |b, v| b.last_event_id(v)) }
}

/// Adds a request header (repeatable). The name must be an HTTP token and
/// the value must not hold CR, LF or NUL: checked now. Headers that libsse
/// writes itself are refused: `Host`, `Content-Length`,
/// `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Proxy-Connection`,
/// `TE`, `Trailer`, `Upgrade` and `Expect` (they frame the request and the
/// connection; a wrong one would leave the server waiting), and
/// `Last-Event-ID`, which libsse sends from the stream's last id (set the
/// first one with `sse_config_set_last_event_id`).
///
/// On a redirect to another origin (scheme, host or port), `Authorization`,
/// `Cookie` and `Proxy-Authorization` are not sent, nor any header named
/// with `sse_config_add_sensitive_header`.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` (the header is not added).
#[no_mangle]
pub unsafe extern "C" fn sse_config_add_header(
    config: *mut sse_config,
    name: *const c_char,
    value: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let (name, value) = match unsafe { (str_arg(name), str_arg(value)) } {
            (Ok(name), Ok(value)) => (name.to_owned(), value.to_owned()),
            (Err(why), _) | (_, Err(why)) => return config.fail_argument(why),
        };
        if let Err(error) = config::validate_header(&name, &value) {
            return config.fail(&error);
        }
        config.update(|b| b.header(name, value))
    })
}

/// Sets the request body (`len` bytes at `body`, copied), sent on every
/// connection and on 307/308 redirects. `body` may be NULL when `len` is 0.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_body(
    config: *mut sse_config,
    body: *const u8,
    len: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let Some(body) = (unsafe { bytes_arg(body, len) }) else {
            return config.fail_argument("body is NULL but len is not 0");
        };
        let body = body.to_vec();
        config.update(|b| b.body(body))
    })
}

/// Bounds name resolution and connection set-up (default 10000 ms).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). Ranges are
/// checked by `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_connect_timeout_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.connect_timeout(v)) }
}

/// No byte for `millis` ms means a dead connection and a reconnect
/// (default 300000; 0 disables the timeout). The response head must also
/// be complete within twice this time (a head trickled byte by byte fails
/// with `SSE_ERR_READ_TIMEOUT` too).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_read_timeout_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let timeout = (millis > 0).then(|| Duration::from_millis(millis));
        config.update(|b| b.read_timeout(timeout))
    })
}

/// Delay before the first reconnection unless the server sent `retry:` (default 1000 ms).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). Ranges are
/// checked by `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_initial_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.retry(|r| r.initial_delay = v)) }
}

/// Cap of the growing reconnection delay (default 30000 ms).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). Ranges are
/// checked by `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_max_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.retry(|r| r.max_delay = v)) }
}

/// Floor of the reconnection delay, whatever the server says (default 100 ms; at least 1).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). Ranges are
/// checked by `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_min_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.retry(|r| r.min_delay = v)) }
}

/// A connection up this long resets the delay to the start (default 60000 ms).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). Ranges are
/// checked by `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_reset_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.retry(|r| r.reset_after = v)) }
}

/// Stop after retrying for `millis` ms in a row (0: no limit, the default).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_retry_elapsed_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let limit = (millis > 0).then(|| Duration::from_millis(millis));
        config.update(|b| b.retry(|r| r.max_elapsed = limit))
    })
}

/// Growth factor of the delay per failed attempt in a row (1 to 100; default 2).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_multiplier(
    config: *mut sse_config,
    multiplier: f64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.retry(|r| r.multiplier = multiplier))
    })
}

/// Share of each delay removed at random, 0 to 1 (default 0.5).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_jitter(
    config: *mut sse_config,
    jitter: f64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.retry(|r| r.jitter = jitter))
    })
}

/// Give up after `attempts` reconnection attempts in a row; -1 (the
/// default) never gives up; 0 never reconnects (one-shot stream: a clean
/// end of stream is then a normal close).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config, or below -1).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_retries(
    config: *mut sse_config,
    attempts: i64,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        if attempts < -1 {
            return config.fail_argument("max retries must be -1 (no limit) or more");
        }
        config.update(|b| {
            b.retry(|r| {
                r.reconnect = attempts != 0;
                r.max_attempts = u32::try_from(attempts).ok();
            })
        })
    })
}

/// Whether a failure of the very first connection is retried (default true).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_retry_first_connect(
    config: *mut sse_config,
    retry: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.retry(|r| r.retry_first_connect = retry))
    })
}

/// Which errors reconnect (default `SSE_RETRY_DEFAULT`).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config or unknown policy).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_error_policy(
    config: *mut sse_config,
    policy: i32,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let policy = match policy {
            0 => ErrorPolicy::Default,
            1 => ErrorPolicy::RetryAll,
            2 => ErrorPolicy::NeverRetry,
            _ => return config.fail_argument("unknown error policy"),
        };
        config.update(|b| b.error_policy(policy))
    })
}

/// Maximum size of one line and of one event's data (default 16 MiB).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_event_bytes(
    config: *mut sse_config,
    bytes: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.max_event_size(bytes))
    })
}

/// Capacity of the item queue (default 1024); a full queue stops reading.
/// The queue also holds at most 64 MiB of event text (or four events of
/// the maximum size, if more), whatever this capacity.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_queue_capacity(
    config: *mut sse_config,
    items: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.queue_capacity(items))
    })
}

/// Trusts the PEM certificates in the file at `path` instead of the
/// built-in Mozilla roots. The file is read now.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (unreadable file or no certificate).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_ca_file(
    config: *mut sse_config,
    path: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let path = match unsafe { str_arg(path) } {
            Ok(path) => path.to_owned(),
            Err(why) => return config.fail_argument(why),
        };
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) => return config.fail_argument(&format!("cannot read CA file {path}: {e}")),
        };
        if let Err(error) = crate::ca::parse_pem(&pem) {
            return config.fail(&error);
        }
        config.update(|b| b.ca_pem(pem))
    })
}

/// Presents a client certificate (mutual TLS), read now from `cert_path`
/// (the PEM chain, leaf first) and `key_path` (its unencrypted PEM private
/// key: PKCS#8, PKCS#1 or SEC1; NULL: the key is in `cert_path` too). An
/// encrypted key is refused with a message saying so.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (unreadable file, no certificate,
/// no key, encrypted key, a key not of the certificate). A server that
/// refuses the certificate fails the connection with `SSE_ERR_TLS`, which
/// the default error policy does not retry.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_client_cert_file(
    config: *mut sse_config,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let cert_path = match unsafe { str_arg(cert_path) } {
            Ok(path) => path.to_owned(),
            Err(why) => return config.fail_argument(why),
        };
        let key_path = if key_path.is_null() {
            cert_path.clone()
        } else {
            match unsafe { str_arg(key_path) } {
                Ok(path) => path.to_owned(),
                Err(why) => return config.fail_argument(why),
            }
        };
        let read = |path: &str, what: &str| {
            std::fs::read(path).map_err(|e| format!("cannot read {what} {path}: {e}"))
        };
        let (chain, key) = match (
            read(&cert_path, "client certificate file"),
            read(&key_path, "client key file"),
        ) {
            (Ok(chain), Ok(key)) => (chain, key),
            (Err(why), _) | (_, Err(why)) => return config.fail_argument(&why),
        };
        set_client_cert(config, chain, key)
    })
}

/// Presents a client certificate (mutual TLS) given as PEM text: the chain
/// (`cert_len` bytes at `cert_pem`, leaf first) and its unencrypted private
/// key (`key_len` bytes at `key_pem`; the same text as the chain when it
/// holds both); both copied. As `sse_config_set_client_cert_file`.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_client_cert_pem(
    config: *mut sse_config,
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let (Some(chain), Some(key)) = (unsafe { bytes_arg(cert_pem, cert_len) }, unsafe {
            bytes_arg(key_pem, key_len)
        }) else {
            return config.fail_argument("cert_pem or key_pem is NULL");
        };
        set_client_cert(config, chain.to_vec(), key.to_vec())
    })
}

/// Checks a client certificate and key, then sets them.
fn set_client_cert(config: &mut sse_config, chain: Vec<u8>, key: Vec<u8>) -> sse_status {
    if let Err(error) = crate::client_cert::ClientIdentity::parse(&chain, &key) {
        return config.fail(&error);
    }
    config.update(|b| b.client_certificate(chain, key))
}

/// Trusts the PEM certificates in `len` bytes at `pem` (copied).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL or no certificate).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_ca_pem(
    config: *mut sse_config,
    pem: *const u8,
    len: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let Some(pem) = (unsafe { bytes_arg(pem, len) }) else {
            return config.fail_argument("pem is NULL");
        };
        if let Err(error) = crate::ca::parse_pem(pem) {
            return config.fail(&error);
        }
        let pem = pem.to_vec();
        config.update(|b| b.ca_pem(pem))
    })
}

/// Disables certificate verification when `insecure` is true. For tests
/// only: anyone on the path can read and forge the stream.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_insecure(
    config: *mut sse_config,
    insecure: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.insecure(insecure))
    })
}

/// Sets the proxy: a URL (`http://`, `socks5://`, `socks5h://`,
/// `socks4://`, `socks4a://`; without a scheme, `http://`), "" for a
/// direct connection, or NULL for the default: the environment, as curl
/// reads it (`http_proxy`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`).
/// `https://` proxies (TLS to the proxy) are refused.
///
/// Through an `http://` proxy, `http://` streams are sent as requests in
/// absolute form (`GET http://host/path`, as curl does; standard proxies
/// refuse CONNECT to ports other than 443) with the proxy URL's
/// credentials as `Proxy-Authorization`; `https://` streams go through a
/// CONNECT tunnel. Through a SOCKS proxy every stream is tunnelled, the
/// target's name resolved by the proxy.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config, invalid URL).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_proxy(
    config: *mut sse_config,
    proxy_url: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let setting = if proxy_url.is_null() {
            ProxySetting::FromEnvironment
        } else {
            match unsafe { str_arg(proxy_url) } {
                Ok("") => ProxySetting::None,
                Ok(url) => {
                    if let Err(error) = crate::proxy::parse(url) {
                        return config.fail(&error);
                    }
                    ProxySetting::Url(url.to_owned())
                }
                Err(why) => return config.fail_argument(why),
            }
        };
        config.update(|b| b.proxy(setting))
    })
}

/// Maximum redirects followed per connection (default 10; 0: none).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_redirects(
    config: *mut sse_config,
    count: u32,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.max_redirects(count))
    })
}

/// Names one more request header that is not sent after a redirect to
/// another origin (repeatable, any case), besides `Authorization`,
/// `Cookie` and `Proxy-Authorization`, which never are: API keys often
/// travel in headers such as `X-Api-Key`.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` (NULL config, or a name that is
/// not an HTTP token).
#[no_mangle]
pub unsafe extern "C" fn sse_config_add_sensitive_header(
    config: *mut sse_config,
    name: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let name = match unsafe { str_arg(name) } {
            Ok(name) => name.to_owned(),
            Err(why) => return config.fail_argument(why),
        };
        if let Err(error) = crate::headers::validate_name(&name) {
            return config.fail(&error);
        }
        config.update(|b| b.sensitive_header(name))
    })
}

/// Delivers only message events of type `event_type` (repeatable: each
/// call adds one; none: every type, the default). An event without an
/// `event:` field has the type `message`. Other messages are dropped on
/// the background thread before they are copied or queued, yet their `id`
/// still moves the resume point (`Last-Event-ID` on reconnect). Comments,
/// open, error, reconnecting and closed items come as before.
///
/// Returns `SSE_OK`, or `SSE_ERR_ARGUMENT` (NULL, or an empty type or one
/// with CR or LF, which no stream can carry).
#[no_mangle]
pub unsafe extern "C" fn sse_config_add_event_type(
    config: *mut sse_config,
    event_type: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let event_type = match unsafe { str_arg(event_type) } {
            Ok(event_type) => event_type.to_owned(),
            Err(why) => return config.fail_argument(why),
        };
        if event_type.is_empty() || event_type.contains(['\r', '\n']) {
            return config.fail(&crate::error::Error::argument(format!(
                "invalid event type {event_type:?}: must be non-empty, without CR or LF"
            )));
        }
        config.update(|b| b.event_type(event_type))
    })
}

/// When true, a redirect from an https URL to an http one is followed
/// (without the credentials headers). Default false: such a redirect ends
/// the connection attempt with `SSE_ERR_HTTP_STATUS` (not retried by the
/// default error policy), since the request would travel in plain text.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_allow_https_downgrade(
    config: *mut sse_config,
    allow: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.allow_https_downgrade(allow))
    })
}

/// Largest response head (status line and headers) accepted, in bytes:
/// 1024 to 16 MiB, default 65536. A larger head fails the connection with
/// `SSE_ERR_TOO_LARGE` ("response head larger than N bytes"), which the
/// default error policy does not retry. Memory grows to this size only
/// while a head is that large; a stream in progress keeps a 16 KiB buffer.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). The range is
/// checked by `sse_config_validate` and `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_response_head_bytes(
    config: *mut sse_config,
    bytes: usize,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.max_response_head_bytes(bytes))
    })
}

/// Ceiling of a server's `Retry-After` (seconds or an HTTP date, on a
/// 429, 503 or any other refused response), in ms: 1 ms to 24 h, default
/// 3600000 (one hour). A `Retry-After` raises the next delay above
/// `sse_config_set_retry_max_ms` (a rate-limited server means it), but
/// never above this ceiling; a longer one is cut to it and a warning is
/// logged. With `sse_config_set_max_retry_elapsed_ms`, a delay that would
/// end past that limit ends the client with `SSE_ERR_RETRIES_EXHAUSTED`.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config). The range is
/// checked by `sse_config_validate` and `sse_client_start`.
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_max_retry_after_ms(
    config: *mut sse_config,
    millis: u64,
) -> sse_status {
    unsafe { set_millis(config, millis, |b, v| b.retry(|r| r.max_retry_after = v)) }
}

/// When true, the client delivers only message events; open, comment,
/// error, reconnecting and closed items are skipped (the final error is
/// still returned by `sse_next_event`). Default false.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_messages_only(
    config: *mut sse_config,
    only: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.messages_only(only))
    })
}

/// What a clean end of the stream does: one of `sse_on_end` (default
/// `SSE_ON_END_BY_METHOD`: GET reconnects, other methods end).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config or unknown value).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_on_end(config: *mut sse_config, on_end: i32) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let on_end = match on_end {
            0 => OnEnd::ByMethod,
            1 => OnEnd::Reconnect,
            2 => OnEnd::End,
            _ => {
                return config
                    .fail_argument("unknown on-end value (0: by method, 1: reconnect, 2: end)")
            }
        };
        config.update(|b| b.on_end(on_end))
    })
}

/// When true, the client runs on a background thread of its own instead of
/// the one all clients share. For a callback that may block: on the shared
/// thread it would hold up every other stream. Costs a thread (and a
/// little memory) per such client. True switches
/// `sse_config_set_driven_by_caller` and `sse_config_set_loop` off (the last
/// set wins).
/// Default false.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_own_thread(
    config: *mut sse_config,
    own: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.own_thread(own))
    })
}

/// When true, the stream is read on the thread that waits for its items,
/// inside `sse_next_event`, `sse_next_events` and `sse_next_batch`, instead
/// of on a background thread: one wake-up per event instead of two (lower
/// latency and CPU), and no thread hand-over. Between those calls nothing
/// reads the stream (TCP holds the server back) and its reconnections and
/// timeouts wait for the next call; the request hook runs inside them.
/// `sse_client_fd`, `sse_client_join_waitset` or `sse_client_set_callback`
/// moves the client to a background thread of its own for good; so does a
/// backlog (eight reads of 16 KiB or more in a row: a thread reading ahead then
/// overlaps reading with the caller's work). True switches
/// `sse_config_set_own_thread` and `sse_config_set_loop` off (the last set
/// wins).
/// Default false.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_driven_by_caller(
    config: *mut sse_config,
    driven: bool,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        config.update(|b| b.driven_by_caller(driven))
    })
}

/// Checks every setting now (as `sse_client_start` will).
///
/// Returns `SSE_OK` or the status of the first invalid setting (the
/// config's last error says which).
#[no_mangle]
pub unsafe extern "C" fn sse_config_validate(config: *const sse_config) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_ref!(config);
        match config.build() {
            Ok(_) => sse_status::SSE_OK,
            Err(status) => status,
        }
    })
}

/// Starts clients of this configuration on `event_loop` (see `sse_loop_new`),
/// which the application's event loop runs; NULL: on the loop all clients
/// share (the default). The configuration keeps the loop until it is freed
/// or set otherwise. Non-NULL switches `sse_config_set_own_thread` and
/// `sse_config_set_driven_by_caller` off (the last of the three set wins).
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_loop(
    config: *mut sse_config,
    event_loop: *const super::event_loop::sse_loop,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let config = try_mut!(config);
        let event_loop = unsafe { event_loop.as_ref() }.map(|l| &l.event_loop);
        config.update(|b| b.on_loop(event_loop))
    })
}
