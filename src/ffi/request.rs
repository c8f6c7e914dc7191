//! `sse_request` and the request hook: C code run before every connection
//! attempt that sets headers and the URL's query (see
//! `sse_config_set_request_hook`).

use std::ffi::{c_char, c_void, CString};

use super::client::sse_userdata_free;
use super::config::sse_config;
use super::{c_string, ffi_guard, sse_status, str_arg, try_mut};
use crate::request_hook::{Request, RequestHook};

/// The request of one connection attempt, as a request hook sees it.
/// Valid only during the hook's call; never freed by the user.
pub struct sse_request {
    request: *mut Request,
    /// The URL as a C string, for `sse_request_url`.
    url: CString,
    /// Why the hook failed, from `sse_request_fail`.
    failure: Option<String>,
}

/// A request hook: called with `userdata` and the attempt's request
/// before every connection attempt (the first and each reconnection, not
/// before the redirects of an attempt), on the client's background thread
/// (shared with other clients unless `sse_config_set_own_thread`: a hook
/// that may block wants that). Return `SSE_OK` to connect; any other
/// status fails the attempt (message from `sse_request_fail`, if called),
/// which is then retried as the error policy says (`SSE_ERR_REQUEST_HOOK`,
/// retried with backoff by default).
pub type sse_request_hook =
    Option<unsafe extern "C" fn(userdata: *mut c_void, request: *mut sse_request) -> sse_status>;

/// A registered C hook; its `Drop` runs `userdata_free` once, when the
/// config and every client started from it have let go of it.
struct CHook {
    hook: unsafe extern "C" fn(*mut c_void, *mut sse_request) -> sse_status,
    userdata: *mut c_void,
    userdata_free: sse_userdata_free,
}

// SAFETY: the header states that the hook and its userdata are used from
// the library's background threads, one call at a time per client but at
// the same time for different clients started from one config.
unsafe impl Send for CHook {}
unsafe impl Sync for CHook {}

impl Drop for CHook {
    fn drop(&mut self) {
        if let Some(free) = self.userdata_free {
            unsafe { free(self.userdata) };
        }
    }
}

impl CHook {
    fn call(&self, request: &mut Request) -> Result<(), String> {
        let mut handle = sse_request {
            url: c_string(request.url()),
            request,
            failure: None,
        };
        let status = unsafe { (self.hook)(self.userdata, &mut handle) };
        match (status, handle.failure) {
            (sse_status::SSE_OK, _) => Ok(()),
            (_, Some(why)) => Err(why),
            (status, None) => Err(format!("the hook returned {status:?}")),
        }
    }
}

/// Sets the request hook (see `sse_request_hook`); a NULL `hook` removes
/// it. `userdata` is passed to every call; `userdata_free` (may be NULL)
/// runs exactly once, when neither the config nor any client started from
/// it uses the hook any more (at the latest when `sse_client_free` of the
/// last such client returns; at once when `hook` is NULL or `config` is
/// NULL). What a hook changes lasts for its attempt only: each attempt
/// starts again from the config's URL and headers. Clients started from
/// one config share its hook: it may run on several threads at once (one
/// call at a time per client), so it must be thread-safe.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL config).
#[no_mangle]
pub unsafe extern "C" fn sse_config_set_request_hook(
    config: *mut sse_config,
    hook: sse_request_hook,
    userdata: *mut c_void,
    userdata_free: sse_userdata_free,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let registered = hook.map(|hook| CHook {
            hook,
            userdata,
            userdata_free,
        });
        let Some(config) = (unsafe { config.as_mut() }) else {
            return sse_status::SSE_ERR_ARGUMENT; // `registered` frees the userdata
        };
        match registered {
            Some(hook) => config.set_request_hook(Some(RequestHook::new(move |r| hook.call(r)))),
            None => {
                if let Some(free) = userdata_free {
                    unsafe { free(userdata) };
                }
                config.set_request_hook(None)
            }
        }
    })
}

/// The URL the attempt requests (the config's, or as the hook changed its
/// query). Valid until the hook returns or calls `sse_request_set_query`.
/// NULL if `request` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sse_request_url(request: *const sse_request) -> *const c_char {
    ffi_guard!(std::ptr::null(), {
        match unsafe { request.as_ref() } {
            Some(request) => request.url.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// Sets header `name` to `value` for this attempt, replacing every header
/// of that name (names compare without case), the config's included.
/// Checked as `sse_config_add_header` checks (no CR, LF or NUL; no header
/// the library owns): a refused header also fails the attempt, with the
/// reason in its error item.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL, non-UTF-8 or refused).
#[no_mangle]
pub unsafe extern "C" fn sse_request_set_header(
    request: *mut sse_request,
    name: *const c_char,
    value: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(request);
        let request = unsafe { &mut *handle.request };
        let (name, value) = match unsafe { (str_arg(name), str_arg(value)) } {
            (Ok(name), Ok(value)) => (name, value),
            (Err(why), _) | (_, Err(why)) => {
                request.refuse(format!("sse_request_set_header: {why}"));
                return sse_status::SSE_ERR_ARGUMENT;
            }
        };
        match request.set_header(name, value) {
            Ok(()) => sse_status::SSE_OK,
            Err(_) => sse_status::SSE_ERR_ARGUMENT,
        }
    })
}

/// Removes every header named `name` from this attempt (one the config
/// set included). The library's own defaults (`Accept`, `Accept-Encoding`,
/// `User-Agent`, `Cache-Control`) are not removed: set them instead.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL or non-UTF-8 argument).
#[no_mangle]
pub unsafe extern "C" fn sse_request_remove_header(
    request: *mut sse_request,
    name: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(request);
        match unsafe { str_arg(name) } {
            Ok(name) => {
                unsafe { &mut *handle.request }.remove_header(name);
                sse_status::SSE_OK
            }
            Err(_) => sse_status::SSE_ERR_ARGUMENT,
        }
    })
}

/// Replaces the URL's query with `query` (without the `?`; NULL or "":
/// no query). Scheme, host, port and path stay. A refused query (spaces,
/// control characters, `#`, not UTF-8) also fails the attempt.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT`.
#[no_mangle]
pub unsafe extern "C" fn sse_request_set_query(
    request: *mut sse_request,
    query: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(request);
        let query = if query.is_null() {
            None
        } else {
            match unsafe { str_arg(query) } {
                Ok(query) => Some(query),
                Err(why) => {
                    unsafe { &mut *handle.request }.refuse(format!("sse_request_set_query: {why}"));
                    return sse_status::SSE_ERR_ARGUMENT;
                }
            }
        };
        let request = unsafe { &mut *handle.request };
        let status = match request.set_query(query) {
            Ok(()) => sse_status::SSE_OK,
            Err(_) => sse_status::SSE_ERR_ARGUMENT,
        };
        handle.url = c_string(request.url());
        status
    })
}

/// Fails this attempt with `message` (the error item's, after
/// "request hook: "; NULL or not UTF-8: "the hook failed"); the hook then
/// returns a status other than `SSE_OK`.
///
/// Returns `SSE_OK` or `SSE_ERR_ARGUMENT` (NULL request).
#[no_mangle]
pub unsafe extern "C" fn sse_request_fail(
    request: *mut sse_request,
    message: *const c_char,
) -> sse_status {
    ffi_guard!(sse_status::SSE_ERR_INTERNAL, {
        let handle = try_mut!(request);
        let message = unsafe { str_arg(message) }.unwrap_or("the hook failed");
        handle.failure = Some(message.to_owned());
        sse_status::SSE_OK
    })
}
