package sse

// #include "gosse.h"
import "C"

import (
	"fmt"
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Request is the request of one connection attempt, as a request hook
// (WithRequestHook) sees it. Every attempt starts from the request the
// options describe: what a hook changed does not carry over to the next
// attempt. A Request is valid only during the hook's call and only on
// the hook's goroutine: once the hook has returned, its methods fail
// (URL returns "").
type Request struct {
	req     *C.struct_sse_request // nil once the hook returned
	refused error                 // a value refused before reaching libsse: fails the attempt
}

// requestHook is the Go value behind the cgo.Handle libsse passes to the
// trampoline.
type requestHook struct {
	f func(*Request) error
}

// liveHooks counts the request-hook handles not yet released by libsse
// (for tests).
var liveHooks atomic.Int64

// errRequestDone is returned by Request methods called after the hook.
func errRequestDone() error {
	return &Error{Code: CodeArgument, Message: "request used after its hook returned"}
}

// URL returns the URL the attempt requests: the one given to Connect (or
// the URL with the query set by SetQuery).
func (r *Request) URL() string {
	if r.req == nil {
		return ""
	}
	return C.GoString(C.sse_request_url(r.req))
}

// SetHeader sets header name to value for this attempt, replacing every
// header of that name (names compare without case), those given with
// WithHeader included. A refused header (an invalid name, CR, LF or NUL
// in the value, or a header libsse owns, such as Host) returns an
// *Error (CodeArgument) and also fails the attempt.
func (r *Request) SetHeader(name, value string) error {
	if r.req == nil {
		return errRequestDone()
	}
	if strings.IndexByte(name, 0) >= 0 || strings.IndexByte(value, 0) >= 0 {
		err := &Error{Code: CodeArgument, Message: "header " + name + ": NUL byte in the name or value"}
		r.refused = err
		return err
	}
	cn, cv := C.CString(name), C.CString(value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	if rc := C.sse_request_set_header(r.req, cn, cv); rc != C.SSE_OK {
		return &Error{Code: Code(rc), Message: "header " + name + " refused"}
	}
	return nil
}

// RemoveHeader removes every header named name (any case) from this
// attempt, those given with WithHeader included. Removing an absent
// header is not an error.
func (r *Request) RemoveHeader(name string) error {
	if r.req == nil {
		return errRequestDone()
	}
	if strings.IndexByte(name, 0) >= 0 {
		return &Error{Code: CodeArgument, Message: "header name with a NUL byte"}
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if C.sse_request_remove_header(r.req, cn) != C.SSE_OK {
		return &Error{Code: CodeArgument, Message: "header name " + name + " refused"}
	}
	return nil
}

// SetQuery replaces the query of the attempt's URL with query (without
// the "?"; "" removes it); scheme, host, port and path stay. A refused
// query (spaces, control characters, "#") returns an *Error
// (CodeArgument) and also fails the attempt. As every change of the hook,
// it holds for this attempt only.
func (r *Request) SetQuery(query string) error {
	if r.req == nil {
		return errRequestDone()
	}
	if strings.IndexByte(query, 0) >= 0 {
		err := &Error{Code: CodeArgument, Message: "query with a NUL byte"}
		r.refused = err
		return err
	}
	cq := C.CString(query)
	defer C.free(unsafe.Pointer(cq))
	if rc := C.sse_request_set_query(r.req, cq); rc != C.SSE_OK {
		return &Error{Code: Code(rc), Message: "query " + query + " refused"}
	}
	return nil
}

// WithRequestHook calls f before every connection attempt (the first and
// each reconnection, not before the redirects of an attempt), to set
// headers or the query from fresh state: a token refreshed before it
// expires, a signature, a cursor. f runs on a libsse thread (the one all
// clients share), not on a goroutine of yours: it must be quick (a slow
// f holds up every stream; fetch tokens elsewhere and read them here),
// safe for concurrent use if several clients share it, and must not call
// methods of the Client it serves (Close would deadlock).
//
// An error returned by f, or a panic in f (recovered), fails the attempt
// with its message: an error item matching ErrRequestHook (CodeRequestHook,
// "request hook: <message>"), retried with backoff by the default error
// policy. f nil removes a hook set by an earlier option.
func WithRequestHook(f func(r *Request) error) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			if f == nil {
				return C.sse_config_set_request_hook(cfg, nil, nil, nil)
			}
			h := cgo.NewHandle(&requestHook{f: f})
			liveHooks.Add(1)
			// libsse releases the handle through gosseRequestHookFree once
			// neither the config nor a client uses the hook.
			return C.gosse_config_set_request_hook(cfg, C.uintptr_t(h))
		})
	}
}

// call runs the hook, turning a panic into an error.
func (h *requestHook) call(r *Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return h.f(r)
}

//export gosseRequestHook
func gosseRequestHook(handle C.uintptr_t, req *C.struct_sse_request) C.int32_t {
	h, ok := cgo.Handle(handle).Value().(*requestHook)
	if !ok {
		return C.SSE_ERR_INTERNAL
	}
	r := &Request{req: req}
	err := h.call(r)
	if err == nil {
		err = r.refused
	}
	r.req = nil
	if err == nil {
		return C.SSE_OK
	}
	// libsse takes UTF-8 without NUL (else it says "the hook failed").
	msg := strings.ToValidUTF8(strings.ReplaceAll(err.Error(), "\x00", " "), "\uFFFD")
	if msg == "" {
		msg = "error"
	}
	cm := C.CString(msg)
	C.sse_request_fail(req, cm)
	C.free(unsafe.Pointer(cm))
	return C.SSE_ERR_REQUEST_HOOK
}

//export gosseRequestHookFree
func gosseRequestHookFree(handle C.uintptr_t) {
	cgo.Handle(handle).Delete()
	liveHooks.Add(-1)
}
