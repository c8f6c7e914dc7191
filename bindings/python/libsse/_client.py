"""``connect``: streams run by libsse's background thread, read from the
calling thread; what the sync and asyncio clients share (``connect_async``
and :class:`AsyncClient` are in ``_async.py``)."""

from __future__ import annotations

import atexit
import os
import select
import threading
import time
import weakref
from itertools import chain
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from . import _errors as E
from . import _hook, _log
from ._batch import CBatch, new_batch
from ._native import ffi, lib
from ._types import Closed, CloseReason, Error, Event, ErrorPolicy, Item, Retry, Stats

HeadersArg = Union[Mapping[str, str], Iterable[Tuple[str, str]], Callable[[], _hook.HeaderPairs], None]
PathArg = Union[str, "os.PathLike[str]"]
# cert=, as httpx spells it: one PEM file holding certificate and key, or
# (certfile, keyfile); a (certfile, keyfile, password) triple is taken with
# password None only (libsse reads unencrypted keys only).
CertArg = Union[PathArg, Tuple[PathArg, Optional[PathArg]], Tuple[PathArg, Optional[PathArg], Optional[str]], None]

_ON_END = {"by-method": 0, "reconnect": 1, "end": 2}  # sse_on_end numbers

_NO_FD = -2  # the descriptor was not asked for yet
_HANDOVER_WAIT = 1.0  # s at most (normally µs) a close() waits for a woken sync iterator to leave, to free its client itself
_MAIN_SLICE_MS = 100  # longest uninterrupted wait in the main thread (Ctrl-C latency)

# Bumped in a fork()ed child: a client made before the fork has no thread
# there (only the forking thread survives), so it must not be used.
_fork_generation = [0]


def _forked() -> None:
    _fork_generation[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)

_FORKED = (
    "this libsse client was created before fork(): its thread does not exist in the "
    "child process; connect again in the child"
)


def _timeout(timeout: Optional[float]) -> Optional[float]:
    """A ``timeout`` argument in seconds, checked (None: no limit)."""
    if timeout is None:
        return None
    if isinstance(timeout, (str, bytes)) or not hasattr(timeout, "__float__"):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    seconds = float(timeout)
    if not seconds >= 0:  # also refuses NaN
        raise E.InvalidArgument(f"timeout must be a number of seconds >= 0 or None (got {timeout!r})")
    return None if seconds == float("inf") else seconds


def _ms(seconds: float, what: str) -> int:
    try:
        millis = float(seconds) * 1000
    except (TypeError, ValueError):
        raise E.InvalidArgument(f"{what} must be a number of seconds (got {seconds!r})") from None
    if not millis >= 0 or millis == float("inf"):  # also refuses NaN
        raise E.InvalidArgument(f"{what} must be a finite number >= 0 (got {seconds!r})")
    return int(round(millis))


def _count(value: int, what: str, limit: int) -> int:
    """A non-negative integer setting that fits the C parameter."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise E.InvalidArgument(f"{what} must be an integer (got {value!r})") from None
    if not 0 <= number <= limit:
        raise E.InvalidArgument(f"{what} must be between 0 and {limit} (got {value!r})")
    return number


def _copied(copy: Any, handle: Any) -> str:
    """A string libsse copies into our buffer (``sse_*_copy_*``): safe while
    other threads' calls change it, unlike a pointer to the library's own."""
    size, needed = 128, ffi.new("uintptr_t *")
    while True:
        buf = ffi.new("char[]", size)
        status = copy(handle, buf, size, needed)
        if status == E.OK:
            return ffi.string(buf).decode("utf-8", "replace")
        if status != E.ERR_TOO_LARGE:
            return ""
        size = needed[0]  # it grew between the two calls: again


def _stats(ptr: Any) -> Stats:
    """The client's counters now (``sse_client_stats``)."""
    out = ffi.new("sse_stats *")
    out.size = ffi.sizeof("sse_stats")
    if lib.sse_client_stats(ptr, out) != E.OK:
        return Stats()
    return Stats(
        events=out.events,
        data_bytes=out.data_bytes,
        wire_bytes=out.wire_bytes,
        connections=out.connections,
        reconnects=out.reconnects,
        errors=out.errors,
        errors_by_kind={E.kind_name(code): n for code, n in enumerate(out.errors_by_status) if n},
        queue_depth=out.queue_depth,
        queue_peak=out.queue_peak,
        connected=bool(out.connected),
        connected_seconds=out.connected_ms / 1000.0,
        last_event_at=out.last_event_unix_ms / 1000.0 if out.last_event_unix_ms else None,
        last_error_at=out.last_error_unix_ms / 1000.0 if out.last_error_unix_ms else None,
        last_error=ffi.string(out.last_error).decode("utf-8", "replace") or None,
    )


def _check(config: Any, status: int) -> None:
    if status != E.OK:
        raise E.make_error(status, _copied(lib.sse_config_copy_last_error, config))


def _encode(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if "\0" in value:
        raise E.InvalidArgument(f"{what} must not contain NUL")
    return value.encode("utf-8")


def _path(value: Any, what: str) -> bytes:
    """A file path for the C ABI (str, bytes or os.PathLike), checked."""
    if not isinstance(value, (str, bytes)) and not hasattr(value, "__fspath__"):
        raise E.InvalidArgument(f"{what} must be a path (str or os.PathLike), not {type(value).__name__}")
    try:
        raw = os.fsencode(value)
    except (TypeError, ValueError) as error:
        raise E.InvalidArgument(f"{what} is not a usable path: {error}") from None
    if not raw:
        raise E.InvalidArgument(f"{what} must not be empty")
    if b"\0" in raw:
        raise E.InvalidArgument(f"{what} must not contain NUL")
    return raw


_CERT_FORMS = "a path to a PEM file holding certificate and key, or a (certfile, keyfile) tuple"


def _set_client_cert(config: Any, cert: CertArg) -> None:
    """``cert=``: the client certificate of mutual TLS (``sse_config_set_client_cert_file``)."""
    if isinstance(cert, (tuple, list)):
        if len(cert) == 3:
            certfile, keyfile, password = cert
            if password is not None:
                raise E.InvalidArgument(
                    "cert: a key password is not supported: libsse reads only unencrypted private keys, "
                    "decrypt an encrypted one first (for example `openssl pkey -in key.pem -out plain-key.pem`)"
                )
        elif len(cert) == 2:
            certfile, keyfile = cert
        else:
            raise E.InvalidArgument(f"cert must be {_CERT_FORMS}, not a sequence of {len(cert)} items")
        key = ffi.NULL if keyfile is None else _path(keyfile, "cert's keyfile")
        chain = _path(certfile, "cert's certfile")
    elif isinstance(cert, (str, bytes)) or hasattr(cert, "__fspath__"):
        chain, key = _path(cert, "cert"), ffi.NULL
    else:
        raise E.InvalidArgument(f"cert must be {_CERT_FORMS}, not {type(cert).__name__}")
    _check(config, lib.sse_config_set_client_cert_file(config, chain, key))


def _build_config(
    url: str,
    *,
    method: str,
    headers: HeadersArg,
    body: Union[bytes, str, None],
    last_event_id: Optional[str],
    retry: Union[float, Retry, None],
    max_retries: Optional[int],
    max_retry_time: Optional[float],
    retry_first_connect: bool,
    error_policy: Union[ErrorPolicy, str, int],
    connect_timeout: Optional[float],
    read_timeout: Optional[float],
    verify: Union[bool, PathArg],
    cafile: Optional[PathArg],
    cadata: Union[str, bytes, None],
    cert: CertArg,
    proxy: Optional[str],
    max_redirects: Optional[int],
    max_event_bytes: Optional[int],
    queue_capacity: Optional[int],
    sensitive_headers: Iterable[str],
    types: Iterable[str],
    allow_https_downgrade: bool,
    max_response_head_bytes: Optional[int],
    max_retry_after: Optional[float],
    on_end: str,
    driven: bool = False,
    event_loop: Any = None,
) -> Any:
    _log.install()  # the hook follows the ``libsse`` logger's level
    config = lib.sse_config_new(_encode(url, "url"))
    if config == ffi.NULL:
        raise E.InvalidURL(f"invalid URL {url!r}")
    try:
        if method.upper() != "GET":
            _check(config, lib.sse_config_set_method(config, _encode(method, "method")))
        if callable(headers):
            _check(config, _hook.install(config, headers))
        elif headers:
            pairs = headers.items() if isinstance(headers, Mapping) else headers
            for name, value in pairs:
                _check(
                    config,
                    lib.sse_config_add_header(config, _encode(name, "header name"), _encode(value, "header value")),
                )
        if body is not None:
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            _check(config, lib.sse_config_set_body(config, raw, len(raw)))
        if last_event_id:
            _check(config, lib.sse_config_set_last_event_id(config, _encode(last_event_id, "last_event_id")))
        if isinstance(retry, Retry):
            for value, setter, what in (
                (retry.initial, lib.sse_config_set_retry_initial_ms, "retry.initial"),
                (retry.max, lib.sse_config_set_retry_max_ms, "retry.max"),
                (retry.min, lib.sse_config_set_retry_min_ms, "retry.min"),
                (retry.reset, lib.sse_config_set_retry_reset_ms, "retry.reset"),
            ):
                if value is not None:
                    _check(config, setter(config, _ms(value, what)))
            if retry.multiplier is not None:
                _check(config, lib.sse_config_set_retry_multiplier(config, float(retry.multiplier)))
            if retry.jitter is not None:
                _check(config, lib.sse_config_set_retry_jitter(config, float(retry.jitter)))
        elif retry is not None:
            _check(config, lib.sse_config_set_retry_initial_ms(config, _ms(retry, "retry")))
        if max_retries is not None:
            if max_retries < 0:
                raise E.InvalidArgument("max_retries must be >= 0 (None: unlimited)")
            _check(config, lib.sse_config_set_max_retries(config, int(max_retries)))
        if max_retry_time is not None:
            _check(config, lib.sse_config_set_max_retry_elapsed_ms(config, _ms(max_retry_time, "max_retry_time")))
        if not retry_first_connect:
            _check(config, lib.sse_config_set_retry_first_connect(config, False))
        if isinstance(error_policy, str):
            try:
                error_policy = ErrorPolicy[error_policy.upper()]
            except KeyError:
                raise E.InvalidArgument(f"error_policy must be 'default', 'all' or 'never', not {error_policy!r}") from None
        if int(error_policy) != ErrorPolicy.DEFAULT:
            _check(config, lib.sse_config_set_error_policy(config, int(error_policy)))
        if connect_timeout is not None:
            _check(config, lib.sse_config_set_connect_timeout_ms(config, _ms(connect_timeout, "connect_timeout")))
        # read_timeout: the library's default (300 s) unless given; None or 0 disables it.
        if read_timeout is not _DEFAULT:
            millis = 0 if not read_timeout else max(1, _ms(read_timeout, "read_timeout"))  # type: ignore[arg-type]
            _check(config, lib.sse_config_set_read_timeout_ms(config, millis))
        if verify is False:
            _check(config, lib.sse_config_set_insecure(config, True))
        elif verify is not True:
            cafile = verify
        if cafile is not None:
            _check(config, lib.sse_config_set_ca_file(config, _path(cafile, "cafile")))
        if cadata is not None:
            pem = cadata.encode("ascii") if isinstance(cadata, str) else bytes(cadata)
            _check(config, lib.sse_config_set_ca_pem(config, pem, len(pem)))
        if cert is not None:
            _set_client_cert(config, cert)
        if proxy is not None:
            _check(config, lib.sse_config_set_proxy(config, _encode(proxy, "proxy")))
        if max_redirects is not None:
            _check(config, lib.sse_config_set_max_redirects(config, _count(max_redirects, "max_redirects", 2**32 - 1)))
        if max_event_bytes is not None:
            _check(config, lib.sse_config_set_max_event_bytes(config, _count(max_event_bytes, "max_event_bytes", 2**63 - 1)))
        if queue_capacity is not None:
            _check(config, lib.sse_config_set_queue_capacity(config, _count(queue_capacity, "queue_capacity", 2**63 - 1)))
        if isinstance(types, str):
            raise TypeError("types must be a list of event types, not a str")
        for event_type in types:
            _check(config, lib.sse_config_add_event_type(config, _encode(event_type, "event type")))
        if isinstance(sensitive_headers, str):
            raise TypeError("sensitive_headers must be a list of header names, not a str")
        for name in sensitive_headers:
            _check(config, lib.sse_config_add_sensitive_header(config, _encode(name, "sensitive header name")))
        if allow_https_downgrade:
            _check(config, lib.sse_config_set_allow_https_downgrade(config, True))
        if max_response_head_bytes is not None:
            _check(
                config,
                lib.sse_config_set_max_response_head_bytes(
                    config, _count(max_response_head_bytes, "max_response_head_bytes", 2**63 - 1)
                ),
            )
        if max_retry_after is not None:
            _check(config, lib.sse_config_set_max_retry_after_ms(config, _ms(max_retry_after, "max_retry_after")))
        if on_end != "by-method":
            if not isinstance(on_end, str) or on_end not in _ON_END:
                raise E.InvalidArgument(f"on_end must be 'by-method', 'reconnect' or 'end', not {on_end!r}")
            _check(config, lib.sse_config_set_on_end(config, _ON_END[on_end]))
        if driven:
            _check(config, lib.sse_config_set_driven_by_caller(config, True))
        if event_loop is not None:
            _check(config, lib.sse_config_set_loop(config, event_loop))
        return config
    except BaseException:
        lib.sse_config_free(config)
        raise


class _Default:
    def __repr__(self) -> str:
        return "<library default>"


_DEFAULT: Any = _Default()


def _start(config: Any) -> Any:
    out = ffi.new("struct sse_client **")
    try:
        _check(config, lib.sse_client_start(config, out))
    finally:
        lib.sse_config_free(config)
    return out[0]


class _Handle:
    """Owns the ``sse_client *``; frees it once nobody is inside a call.

    ``busy`` counts the threads between ``enter`` and ``leave`` (a pull, or
    a wait on the descriptor). ``dispose`` closes the stream at once, wakes
    every waiter itself (not through libsse's loop thread: a hop less) and
    frees the client now if nobody is busy; else the last one to leave
    frees it, or hands it back to a ``dispose`` waiting for that (the sync
    iterator's case: its loop then ends without paying for the free), so
    a pointer is never used after its free.
    """

    __slots__ = (
        "ptr", "sptr", "batch", "lock", "busy", "doomed", "fd", "last_event_id", "stats", "generation",
        "token", "waitset", "home", "reader", "closer", "__weakref__"
    )

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self.batch = new_batch()
        self.sptr = self.batch.pointer(ptr, "struct sse_client *")
        self.lock = threading.RLock()  # re-entrant: a log handler may close the client
        self.busy = 0
        self.doomed = False
        self.fd = _NO_FD
        self.last_event_id = ""
        self.stats: Optional[Stats] = None  # the last counters, kept when the client is freed
        self.generation = _fork_generation[0]
        self.token = 0  # in an event loop's wait set (see _waitset), once joined
        self.waitset: Any = None  # a weak reference to that set; False: cannot join
        # A weak reference to the wait set of the event loop whose libsse
        # loop reads this stream (an asyncio client made in a running loop).
        self.home: Any = None
        self.reader = 0  # the thread waiting on ``fd`` in a sync iteration (its ident)
        self.closer: Optional[threading.Lock] = None  # held by a dispose waiting for the reader to leave

    def check_process(self) -> None:
        """Raises RuntimeError in a fork()ed child (see ``_FORKED``)."""
        if self.generation != _fork_generation[0]:
            raise RuntimeError(_FORKED)

    def enter(self) -> bool:
        with self.lock:
            if self.ptr is None or self.doomed:
                return False
            self.busy += 1
            return True

    def leave(self) -> None:
        with self.lock:
            self.busy -= 1
        self.free_if_doomed()

    def free_if_doomed(self) -> None:
        """Frees the client if it was disposed of and nobody is inside (or
        lets the ``dispose`` waiting for that free it)."""
        with self.lock:
            if self.busy or not self.doomed or self.ptr is None:
                return
            if self.closer is not None:
                self.closer.release()
                self.closer = None
                return
            ptr = self._detach()
        self._free(ptr)

    def _detach(self) -> Any:
        ws = self.waitset() if self.waitset else None
        if ws is not None:
            ws.forget(self.token)
        ptr, self.ptr, self.sptr = self.ptr, None, None
        self.last_event_id = _copied(lib.sse_client_copy_last_event_id, ptr)
        self.stats = _stats(ptr)
        return ptr

    def _free(self, ptr: Any) -> None:
        self.batch.release()
        lib.sse_client_free(ptr)

    def close(self) -> None:
        with self.lock:
            if self.ptr is not None and self.generation == _fork_generation[0]:
                lib.sse_client_close(self.ptr)

    def interrupt(self) -> None:
        self.check_process()
        with self.lock:
            if self.ptr is not None and not self.doomed:
                lib.sse_client_interrupt(self.ptr)

    def get_last_event_id(self) -> str:
        self.check_process()
        with self.lock:  # the handle stays alive meanwhile
            if self.ptr is None:
                return self.last_event_id
            return _copied(lib.sse_client_copy_last_event_id, self.ptr)

    def get_stats(self) -> Stats:
        self.check_process()
        with self.lock:
            if self.ptr is None:
                return self.stats if self.stats is not None else Stats()
            return _stats(self.ptr)

    def join(self, ws: Any) -> int:
        """This client's token in ``ws`` (a ``_waitset.LoopWaitSet``),
        joining it the first time; 0 when it is in another loop's set or
        cannot join. Call between enter/leave."""
        home = self.home() if self.home is not None else None
        if home is not None and home is not ws:
            # Read from another event loop than the one whose libsse loop
            # reads the stream (which may never run again): that libsse
            # loop goes to a thread of its own, its clients with it.
            home.to_thread()
            self.home = None
        if self.waitset is None:
            token = ws.next_token()
            if lib.sse_client_join_waitset(self.ptr, ws.ptr, token) == lib.SSE_OK:
                self.token, self.waitset = token, weakref.ref(ws)
                ws.joined(token)
            else:
                self.waitset = False
        if self.waitset and self.waitset() is ws:
            return self.token
        return 0

    def get_fd(self) -> int:
        """The readiness descriptor (-1 if it cannot be created). Call between enter/leave."""
        if self.fd == _NO_FD:
            self.fd = lib.sse_client_fd(self.ptr)
        return self.fd

    def dispose(self) -> None:
        with self.lock:
            if self.ptr is None:
                return
            if self.generation != _fork_generation[0]:
                # A fork()ed child: the client's thread is the parent's; the
                # memory is a copy. Calling into it could wait for ever.
                self.ptr = self.sptr = None
                return
            # Closed from here on: wake the waiters (an asyncio one here, a
            # poll by sse_client_close), so they end while libsse closes
            # (outside the lock, counted as busy: the client is freed by
            # whoever is the last out, never under a call).
            ptr = self.ptr
            self.doomed = True
            if self.busy:
                self._wake_waiters()
            self.busy += 1
        gate = None
        try:
            lib.sse_client_close(ptr)
        finally:
            with self.lock:
                self.busy -= 1
                reader = self.reader
                if self.busy and self.closer is None and reader and reader != threading.get_ident():
                    # A sync iterator in another thread, woken above: wait a
                    # little for it to leave, and free the client here, off
                    # the path that ends its loop.
                    gate = self.closer = threading.Lock()
                    gate.acquire()
                ptr = None if self.busy or self.ptr is None else self._detach()
        if gate is not None:
            try:
                gate.acquire(timeout=_HANDOVER_WAIT)
            finally:
                with self.lock:
                    self.closer = None
                    # Not out yet: it frees the client when it leaves.
                    ptr = None if self.busy or self.ptr is None else self._detach()
        if ptr is not None:
            self._free(ptr)

    def _wake_waiters(self) -> None:
        """Wakes this client's asyncio waiter now, from here (a poll on its
        descriptor is woken by ``sse_client_close`` itself). Under ``lock``."""
        ws = self.waitset() if self.waitset else None
        if ws is not None:
            ws.wake(self.token)


# The handles of the clients not closed yet (as keys): close() (or the
# client's collection, or the interpreter's exit) takes a handle out and
# disposes of it, once (the removal is atomic). A dict entry per client
# (~40 bytes; a set's costs more) instead of a weakref.finalize (its weak
# reference, info record, args tuple and registry entry: ~370 bytes).
_open_handles: "dict[_Handle, None]" = {}


def _close_all() -> None:
    """At exit, as weakref.finalize did: closes the clients still open, and
    those opened meanwhile for two more passes (daemon threads that open a
    new client as soon as theirs is closed do not hold the exit up)."""
    for _ in range(3):
        handles = list(_open_handles)  # (one C call under the GIL: a snapshot)
        if not handles:
            return
        for h in handles:
            try:
                del _open_handles[h]  # atomic: one caller disposes
            except KeyError:
                continue
            h.dispose()


atexit.register(_close_all)


class _Stream:
    """What the sync and async clients share: state and one pull step.

    No ``__dict__`` of its own: the asyncio client keeps ``_FIELDS`` in
    ``__slots__`` (beside its compiled base's ``_it``): ~330 bytes less per
    client than an instance dict. The sync :class:`Client` has a dict."""

    __slots__ = ()
    # The instance attributes set here, but ``_it`` (a subclass gives it:
    # AsyncClient's compiled base has it as a field).
    _FIELDS = ("url", "_h", "_other", "_ended", "_end_error", "_fatal", "_last_error", "_reading", "_cancelled")

    def __init__(self, url: str, ptr: Any) -> None:
        self.url = url
        self._h = h = _Handle(ptr)
        _open_handles[h] = None
        self._it: Optional[Iterator[Event]] = None  # events received, not yet handed out
        self._other: Optional[Item] = None  # the item after them
        self._ended = False
        self._end_error: Optional[E.SSEError] = None
        self._fatal: Optional[E.SSEError] = None
        self._last_error: Optional[E.SSEError] = None
        self._reading = False  # a thread or task is inside a pull (guarded by _h.lock)
        self._cancelled = False  # an async read was cancelled, which closed the stream

    # -- properties -------------------------------------------------------

    @property
    def last_event_id(self) -> str:
        """The last event id received (or configured): what a reconnection sends."""
        return self._h.get_last_event_id()

    @property
    def closed(self) -> bool:
        """True once the stream ended or was closed."""
        return self._ended or self._h.ptr is None or self._h.doomed

    @property
    def accelerated(self) -> bool:
        """Whether events are built by the compiled event builder (see ``libsse.ACCELERATED``)."""
        return isinstance(self._h.batch, CBatch)

    @property
    def stats(self) -> Stats:
        """The client's counters now, a :class:`Stats` (once the stream
        has ended, its final counters)."""
        return self._h.get_stats()

    def interrupt(self) -> None:
        """Drops the current connection and reconnects at once (with Last-Event-ID)."""
        self._h.interrupt()

    def close(self) -> None:
        """Stops the stream for good and frees it (at once, or as soon as a
        thread blocked in iteration wakes up, within milliseconds). Safe from
        any thread, any number of times. Iteration then ends normally."""
        try:
            h = self._h
            del _open_handles[h]  # atomic: one caller disposes
        except (AttributeError, KeyError, TypeError):  # closed already, never opened, or at exit
            return
        h.dispose()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.url!r} {state}>"

    # -- pulling ----------------------------------------------------------

    def _pull_once(self, skip_comments: bool, timeout_ms: int = 0) -> int:
        """One pull (waiting up to ``timeout_ms`` inside libsse, 0: not at
        all); call between ``enter`` and ``leave``.

        Returns 1 when something arrived (``_it`` / ``_other`` set), 0 when
        nothing is queued, -1 when the stream ended (``_ended`` set).
        """
        h = self._h
        batch = h.batch
        status, events, other, seq = batch.pull_client(h.sptr, timeout_ms, skip_comments)
        if status == E.OK:
            if other is not None and type(other) is Error:
                error = other.error
                if other.fatal:
                    if error.code == E.ERR_RETRIES_EXHAUSTED and error.__cause__ is None:
                        error.__cause__ = self._last_error  # the error that was retried
                    self._fatal = error
                self._last_error = error
            # The hand-over: three stores, no call between them, so no
            # signal handler (KeyboardInterrupt) runs in between; until
            # `taken` is stored, the next pull gives this result again.
            self._it = events
            self._other = other
            batch.taken = seq
            return 1
        if status == E.TIMEOUT:
            return 0
        self._end(status, _copied(lib.sse_client_copy_last_error, h.ptr))
        return -1

    def _end(self, status: int, message: str) -> None:
        self._ended = True
        if status != E.CLOSED:
            fatal = self._fatal
            if fatal is not None and fatal.code == status:
                error = fatal
            else:
                error = E.make_error(status, message)
                last = self._last_error
                if last is not None and last is not error:
                    error.__cause__ = last
            self._end_error = error
        with self._h.lock:  # freed by leave(): the thread has finished
            self._h.doomed = True

    def _take_other(self, events_only: bool) -> Optional[Item]:
        other = self._other
        if events_only and type(other) is not Event:
            self._other = None
            return None
        self._other = None  # then return at once: nothing can interrupt
        return other


class Client(_Stream):
    """A stream read from the calling thread; see :func:`connect`.

    Iterating gives the :class:`Event` items (raising the error that ended
    the stream, if any); :meth:`all` gives every item. Use it as a context
    manager, or call :meth:`close`.
    """

    # Instance attributes once set (class defaults until then):
    _wait_first = False  # the last pull handed items out (see _fill); set per instance once true
    _driven = False  # the stream is read inside the pulls (connect's ``background=False``)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        """The message events. Ends when the stream ends; raises the
        :class:`SSEError` that ended it (e.g. :class:`HTTPStatusError`).
        Breaking out loses nothing: the next loop continues where it stopped."""
        # chain.from_iterable runs the per-event steps in C: the generator
        # below resumes once per batch, not once per event.
        return chain.from_iterable(self._runs(True))

    def all(self) -> Iterator[Item]:
        """Every item: :class:`Open`, :class:`Event`, :class:`Comment`,
        :class:`Error`, :class:`Reconnecting`, and a final :class:`Closed`
        (unless :meth:`close` was called). Errors are items here, never
        raised."""
        return chain.from_iterable(self._runs(False))

    def _runs(self, events_only: bool) -> Iterator[Iterator[Any]]:
        """Runs of items: the events of a batch (one shared iterator, so a
        loop broken off resumes where it stopped), or one other item."""
        while True:
            it = self._it
            if it is not None:
                yield it
                self._it = None  # exhausted: chain asked for the next run
            other = self._other
            if other is not None:
                if events_only and type(other) is not Event:
                    self._other = None
                    continue
                run = iter((other,))
                self._other = None  # no call between this and the yield
                yield run
                continue
            if not self._fill(events_only):
                break
        if events_only and self._end_error is not None:
            raise self._end_error

    def next(self, timeout: Optional[float] = None) -> Optional[Item]:
        """The next item of any kind, waiting up to ``timeout`` seconds
        (None: forever); None on timeout or once the stream has ended.
        In a fork()ed child, raises RuntimeError (the client's thread
        stayed in the parent)."""
        it = self._it
        if it is not None:
            for event in it:
                return event
            self._it = None
        if self._other is not None:
            return self._take_other(False)
        if self._fill(False, _timeout(timeout)):
            return self.next(0)
        return None

    def fileno(self) -> int:
        """The readiness descriptor (readable while items wait or the
        stream has ended), for ``select``/``selectors``; -1 when closed."""
        h = self._h
        h.check_process()
        if not h.enter():
            return -1
        try:
            return h.get_fd()
        finally:
            h.leave()

    def _fill(self, skip_comments: bool, timeout: Optional[float] = None) -> bool:
        """Blocks until items arrive (True) or the stream ends (False)."""
        if self._ended:
            return False
        h = self._h
        h.check_process()
        entered = False
        try:
            # Entering: the stores of `entered` follow the checks with no
            # call between (an interrupt cannot leave the client marked busy).
            with h.lock:
                if self._reading:
                    raise RuntimeError("this libsse client is already being read by another thread")
                if h.ptr is None or h.doomed:
                    self._ended = True
                    return False
                h.busy += 1
                self._reading = entered = True
                h.reader = threading.get_ident()
            deadline = None if timeout is None else _monotonic() + timeout
            # After a pull that handed out items and emptied the current
            # batch, wait on the descriptor first instead of pulling: it
            # stays readable while items are queued (libsse clears it when
            # a pull leaves the queue empty), so at one event per wake-up
            # an empty pull (a call, a lock, a read of the eventfd) is saved.
            if self._driven:
                return self._drive(h, skip_comments, deadline)
            wait_first = self._wait_first and timeout != 0 and not h.batch.pending()
            self._wait_first = False
            poller = None
            main = False
            while True:
                if wait_first:
                    wait_first = False
                else:
                    got = self._pull_once(skip_comments)
                    if got:
                        self._wait_first = got > 0
                        return got > 0
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                fd = h.get_fd()
                if fd < 0:  # no descriptor: wait inside libsse, in slices
                    wait = 200 if remaining is None else min(200, int(remaining * 1000) + 1)
                    got = self._pull_once(skip_comments, wait)
                    if got:
                        return got > 0
                    continue
                # Wait on the descriptor (GIL released). In the main thread
                # wait in slices: Ctrl-C's SIGINT may be delivered to one
                # of libsse's threads, which does not interrupt this poll;
                # Python raises KeyboardInterrupt at the next slice.
                if poller is None:  # (not kept in the client: ~300 bytes each for ~0.2 us per wait)
                    poller = select.poll()
                    poller.register(fd, select.POLLIN)
                    main = threading.current_thread() is threading.main_thread()
                wait_ms = -1 if remaining is None else max(1, int(remaining * 1000) + 1)
                if main and (wait_ms < 0 or wait_ms > _MAIN_SLICE_MS):
                    wait_ms = _MAIN_SLICE_MS
                poller.poll(wait_ms)
                if h.doomed:  # closed meanwhile: end now (close() woke this poll itself)
                    self._ended = True
                    return False
        finally:
            if entered:
                self._reading = False
                h.reader = 0
                h.busy -= 1  # atomic: no call in this run of bytecodes
                if h.doomed:
                    h.free_if_doomed()


    def _drive(self, h: "_Handle", skip_comments: bool, deadline: Optional[float]) -> bool:
        """``_fill`` for a stream read inside the pulls: each pull waits
        (GIL released) while libsse reads the socket on this thread. In the
        main thread it waits in slices, so that Ctrl-C is seen."""
        main = threading.current_thread() is threading.main_thread()
        while True:
            if deadline is None:
                wait = _MAIN_SLICE_MS if main else -1
            else:
                remaining = deadline - _monotonic()
                wait = max(0, int(remaining * 1000) + 1) if remaining > 0 else 0
                if main and wait > _MAIN_SLICE_MS:
                    wait = _MAIN_SLICE_MS
            got = self._pull_once(skip_comments, wait)
            if got:
                return got > 0
            if h.doomed:  # closed meanwhile
                self._ended = True
                return False
            if deadline is not None and _monotonic() >= deadline:
                return False


_monotonic = time.monotonic


def connect(
    url: str,
    *,
    method: str = "GET",
    headers: HeadersArg = None,
    body: Union[bytes, str, None] = None,
    last_event_id: Optional[str] = None,
    retry: Union[float, Retry, None] = None,
    max_retries: Optional[int] = None,
    max_retry_time: Optional[float] = None,
    retry_first_connect: bool = True,
    error_policy: Union[ErrorPolicy, str, int] = ErrorPolicy.DEFAULT,
    connect_timeout: Optional[float] = None,
    read_timeout: Optional[float] = _DEFAULT,
    verify: Union[bool, PathArg] = True,
    cafile: Optional[PathArg] = None,
    cadata: Union[str, bytes, None] = None,
    cert: CertArg = None,
    proxy: Optional[str] = None,
    max_redirects: Optional[int] = None,
    max_event_bytes: Optional[int] = None,
    queue_capacity: Optional[int] = None,
    sensitive_headers: Iterable[str] = (),
    types: Iterable[str] = (),
    allow_https_downgrade: bool = False,
    max_response_head_bytes: Optional[int] = None,
    max_retry_after: Optional[float] = None,
    on_end: str = "by-method",
    background: bool = False,
) -> Client:
    """Opens an SSE stream; returns at once (connecting happens as you
    iterate; errors come out of iteration).

    Durations are in seconds (floats welcome).

    - ``method``, ``headers`` (mapping or pairs), ``body`` (bytes or str):
      the request, sent again on every reconnection. ``Accept:
      text/event-stream`` and ``Cache-Control: no-cache`` are added.
    - ``headers`` may also be a callable, called with no arguments before
      every connection attempt (the first and each reconnection) and
      returning the headers to set (a mapping or pairs, or None; each
      replaces a same-named one), e.g. a fresh token. It runs inside the
      iteration (or on libsse's thread with ``background=True``) and takes
      the GIL: keep it quick (no network call; on libsse's thread it holds
      up the other streams meanwhile). If it raises, the attempt fails
      with a :class:`RequestHookError` (an :class:`Error` item) and is
      retried with backoff.
    - ``on_end``: what a clean end of the stream does: ``"by-method"``
      (default: GET reconnects as EventSource does, other methods end, an
      LLM answer being one stream), ``"reconnect"`` or ``"end"``.
    - ``last_event_id``: sent as ``Last-Event-ID`` on the first connection.
    - ``retry``: the first reconnection delay, or a :class:`Retry` for the
      whole backoff policy. ``max_retries``: attempts in a row before giving
      up (None: never give up; 0: never reconnect, a one-shot stream whose
      clean end is a normal end). ``max_retry_time``: give up after retrying
      this long. ``retry_first_connect=False`` fails at once when the first
      connection fails. ``error_policy``: ``"default"`` (retry network
      errors, 5xx, 429), ``"all"`` or ``"never"``.
    - ``connect_timeout`` (default 10 s); ``read_timeout``: no byte for this
      long means a dead connection, reconnect (default 300 s; None or 0
      disables it).
    - ``verify``: False disables certificate checks (tests only), a path
      trusts that CA bundle; ``cafile`` / ``cadata`` (PEM) likewise.
    - ``cert``: a client certificate for servers that require one (mutual
      TLS), as httpx spells it: the path of a PEM file holding the
      certificate chain (leaf first) and its private key, or a ``(certfile,
      keyfile)`` tuple. The files are read now; the key must be unencrypted
      (an encrypted one, or a ``(certfile, keyfile, password)`` triple with
      a password, raises :class:`InvalidArgument`). A server refusing the
      certificate fails the connection with :class:`TLSError`.
      ``proxy``: URL, ``""`` for none; default from the environment.
    - ``max_redirects`` (default 10), ``max_event_bytes`` (default 16 MiB),
      ``queue_capacity`` (items buffered before reading pauses, default 1024).
    - Redirects to another origin never carry ``Authorization``, ``Cookie``
      or ``Proxy-Authorization``, nor the headers named in
      ``sensitive_headers`` (e.g. ``["X-Api-Key"]``); a redirect from https
      to http fails unless ``allow_https_downgrade=True``.
    - ``types``: deliver only message events of these types (e.g.
      ``["update"]``; an event without ``event:`` is ``"message"``); the
      others are dropped in the library, their ids still count for
      ``Last-Event-ID``. Default: every type.
    - ``max_response_head_bytes``: largest response head (default 64 KiB;
      larger fails with :class:`EventTooLarge`, not retried).
      ``max_retry_after``: ceiling of a server's ``Retry-After`` (default
      3600 s; it may raise the delay above the retry policy's maximum).
    - ``Host``, ``Content-Length``, ``Transfer-Encoding``, ``Connection``
      and the other headers that frame the request are refused in
      ``headers`` (:class:`InvalidArgument`).

    - ``background``: by default the stream is read on the thread that
      iterates, while it waits for the next event (one wake-up per event,
      no hand-over between threads: the lowest latency and CPU); between
      two waits nothing reads it, and TCP holds the server back, as with
      any blocking reader (reconnections also wait for the next one).
      ``background=True`` reads it on libsse's thread all the time,
      queueing up to ``queue_capacity`` events while you do something else.
      :meth:`Client.fileno` switches a client to that for good (the
      descriptor must turn readable while nobody reads), and so does a
      backlog (a server far ahead of the loop: a thread reads ahead).

    Raises :class:`InvalidArgument` / :class:`InvalidURL` for bad settings.
    """
    options = {k: v for k, v in locals().items() if k not in ("url", "background")}
    client = Client(url, _start(_build_config(url, driven=not background, **options)))
    client._driven = not background
    return client


__all__ = ["Client", "connect", "Closed", "CloseReason"]
