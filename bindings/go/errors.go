package sse

// #include "gosse.h"
import "C"

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Code is a libsse status code (the C enum sse_status). Numbers are stable.
type Code int

// The status codes of libsse.
const (
	CodeOK               Code = 0  // success
	CodeTimeout          Code = 1  // nothing arrived in time
	CodeClosed           Code = 2  // the stream ended for good
	CodeArgument         Code = 3  // an invalid argument or setting
	CodeURL              Code = 4  // a malformed URL, a non-http(s) scheme or a bad port
	CodeConnect          Code = 5  // name resolution or TCP connect failed
	CodeTLS              Code = 6  // TLS handshake or verification failed
	CodeHTTPStatus       Code = 7  // an unexpected HTTP status
	CodeContentType      Code = 8  // the content type is not text/event-stream
	CodeIO               Code = 9  // the connection broke or sent invalid HTTP
	CodeTooLarge         Code = 10 // a line or event exceeded the maximum size
	CodeRetriesExhausted Code = 11 // the retry limits were reached
	CodeInternal         Code = 12 // a bug in libsse
	CodeReadTimeout      Code = 13 // no byte arrived within the read timeout
	CodeRequestHook      Code = 14 // the request hook failed (WithRequestHook)
)

var codeNames = map[Code]string{
	CodeOK:               "SSE_OK",
	CodeTimeout:          "SSE_TIMEOUT",
	CodeClosed:           "SSE_CLOSED",
	CodeArgument:         "SSE_ERR_ARGUMENT",
	CodeURL:              "SSE_ERR_URL",
	CodeConnect:          "SSE_ERR_CONNECT",
	CodeTLS:              "SSE_ERR_TLS",
	CodeHTTPStatus:       "SSE_ERR_HTTP_STATUS",
	CodeContentType:      "SSE_ERR_CONTENT_TYPE",
	CodeIO:               "SSE_ERR_IO",
	CodeTooLarge:         "SSE_ERR_TOO_LARGE",
	CodeRetriesExhausted: "SSE_ERR_RETRIES_EXHAUSTED",
	CodeInternal:         "SSE_ERR_INTERNAL",
	CodeReadTimeout:      "SSE_ERR_READ_TIMEOUT",
	CodeRequestHook:      "SSE_ERR_REQUEST_HOOK",
}

// String returns the C name of the code, e.g. "SSE_ERR_TLS".
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return "SSE_UNKNOWN_STATUS(" + strconv.Itoa(int(c)) + ")"
}

// Sentinel errors, one per failure code. Every error of this package
// matches the sentinel of its code with errors.Is.
var (
	ErrArgument         = errors.New("sse: invalid argument")                      // CodeArgument: an invalid option
	ErrURL              = errors.New("sse: invalid URL")                           // CodeURL
	ErrConnect          = errors.New("sse: connection failed")                     // CodeConnect: DNS or TCP
	ErrTLS              = errors.New("sse: TLS failure")                           // CodeTLS: handshake or certificate
	ErrHTTPStatus       = errors.New("sse: unexpected HTTP status")                // CodeHTTPStatus (*HTTPStatusError)
	ErrContentType      = errors.New("sse: content type is not text/event-stream") // CodeContentType (*ContentTypeError)
	ErrIO               = errors.New("sse: I/O error")                             // CodeIO: the connection broke
	ErrTooLarge         = errors.New("sse: event too large")                       // CodeTooLarge: past the maximum event size
	ErrRetriesExhausted = errors.New("sse: retries exhausted")                     // CodeRetriesExhausted
	ErrInternal         = errors.New("sse: internal error")                        // CodeInternal: a libsse bug
	ErrReadTimeout      = errors.New("sse: read timeout")                          // CodeReadTimeout: no byte within the read timeout
	ErrRequestHook      = errors.New("sse: request hook failed")                   // CodeRequestHook: the hook returned an error, panicked or set an invalid header or query
)

func sentinel(c Code) error {
	switch c {
	case CodeArgument:
		return ErrArgument
	case CodeURL:
		return ErrURL
	case CodeConnect:
		return ErrConnect
	case CodeTLS:
		return ErrTLS
	case CodeHTTPStatus:
		return ErrHTTPStatus
	case CodeContentType:
		return ErrContentType
	case CodeIO:
		return ErrIO
	case CodeTooLarge:
		return ErrTooLarge
	case CodeRetriesExhausted:
		return ErrRetriesExhausted
	case CodeReadTimeout:
		return ErrReadTimeout
	case CodeRequestHook:
		return ErrRequestHook
	}
	return ErrInternal
}

// Error is a libsse failure without HTTP details: its code and libsse's
// message. For CodeRetriesExhausted, Err holds the last failure before
// giving up (if any), so errors.As also finds an *HTTPStatusError below it.
type Error struct {
	Code    Code   // what failed
	Message string // libsse's description
	Err     error  // the underlying failure, or nil
}

// Error returns "sse: " followed by libsse's message.
func (e *Error) Error() string {
	msg := "sse: " + e.Message
	if e.Message == "" {
		msg = "sse: " + e.Code.String()
	}
	if e.Err != nil {
		msg += " (last error: " + e.Err.Error() + ")"
	}
	return msg
}

// Is reports whether target is the sentinel of the error's code.
func (e *Error) Is(target error) bool { return target == sentinel(e.Code) }

// Unwrap returns the underlying failure, or nil.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatusError reports a response with an unexpected HTTP status.
type HTTPStatusError struct {
	StatusCode int           // the HTTP status, e.g. 503
	Header     http.Header   // the response headers
	RetryAfter time.Duration // the server's Retry-After; -1 if none
	Message    string        // libsse's description
	// Body holds the first bytes (at most 64 KiB) of the response body:
	// the server's reason, often JSON (decoded if gzip-coded). Nil when
	// the body was empty or in another content coding.
	Body []byte
}

// Error returns "sse: " followed by libsse's message.
func (e *HTTPStatusError) Error() string {
	if e.Message == "" {
		return "sse: HTTP status " + strconv.Itoa(e.StatusCode)
	}
	return "sse: " + e.Message
}

// Is reports whether target is ErrHTTPStatus.
func (e *HTTPStatusError) Is(target error) bool { return target == ErrHTTPStatus }

// ContentTypeError reports a response whose content type is not
// text/event-stream.
type ContentTypeError struct {
	ContentType string      // the Content-Type received ("" if none)
	StatusCode  int         // the HTTP status
	Header      http.Header // the response headers
	Message     string      // libsse's description
}

// Error returns "sse: " followed by libsse's message.
func (e *ContentTypeError) Error() string {
	if e.Message == "" {
		return "sse: unexpected content type " + strconv.Quote(e.ContentType)
	}
	return "sse: " + e.Message
}

// Is reports whether target is ErrContentType.
func (e *ContentTypeError) Is(target error) bool { return target == ErrContentType }

// newError builds the typed error for a code and the HTTP details of an
// error item (status 0 and nil header when the server did not answer;
// body nil when the refusal had none).
func newError(code Code, message string, status int, header http.Header, retryAfterMs int64, body []byte) error {
	switch code {
	case CodeHTTPStatus:
		retry := time.Duration(-1)
		if retryAfterMs >= 0 {
			retry = time.Duration(retryAfterMs) * time.Millisecond
		}
		return &HTTPStatusError{StatusCode: status, Header: header, RetryAfter: retry, Message: message, Body: body}
	case CodeContentType:
		return &ContentTypeError{ContentType: header.Get("Content-Type"), StatusCode: status, Header: header, Message: message}
	}
	return &Error{Code: code, Message: message}
}
