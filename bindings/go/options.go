package sse

// #include "gosse.h"
import "C"

import (
	"net/http"
	"time"
	"unsafe"
)

// ErrorPolicy decides which failures reconnect.
type ErrorPolicy int

// The error policies.
const (
	// RetryDefault retries network errors, oversized events, 5xx and 429;
	// other errors end the client.
	RetryDefault ErrorPolicy = 0
	// RetryAll retries every error except invalid settings.
	RetryAll ErrorPolicy = 1
	// RetryNever ends the client at the first error.
	RetryNever ErrorPolicy = 2
)

// OnEnd decides what a clean end of the stream (the server closing it
// without an error) does; errors follow the error policy either way.
type OnEnd int

// The choices at a clean end of the stream.
const (
	// OnEndByMethod (the default) reconnects a GET, as EventSource does,
	// and ends a client of any other method (CloseEndOfStream): an LLM
	// completion requested by POST is one answer.
	OnEndByMethod OnEnd = 0
	// OnEndReconnect reconnects whatever the method (long-lived POST or
	// REPORT subscriptions); each reconnection sends the request, body
	// included, again.
	OnEndReconnect OnEnd = 1
	// OnEndEnd ends the client (CloseEndOfStream), GET included.
	OnEndEnd OnEnd = 2
)

// Option configures a client in Connect.
type Option func(*settings)

// setter applies one setting to a C config; it returns the C status.
type setter func(cfg *C.struct_sse_config) C.enum_sse_status

type settings struct {
	setters []setter
	buffer  int // channel capacity
	batch   int // items taken per cgo call
}

func (s *settings) add(f setter) { s.setters = append(s.setters, f) }

func withCString(v string, f func(*C.char) C.enum_sse_status) C.enum_sse_status {
	cs := C.CString(v)
	defer C.free(unsafe.Pointer(cs))
	return f(cs)
}

func millis(d time.Duration) C.uint64_t {
	if d <= 0 {
		return 0
	}
	ms := d / time.Millisecond
	if ms == 0 {
		ms = 1 // round sub-millisecond durations up, never to "disabled"
	}
	return C.uint64_t(ms)
}

// WithMethod sets the HTTP method (default "GET"), e.g. "POST".
func WithMethod(method string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return withCString(method, func(v *C.char) C.enum_sse_status { return C.sse_config_set_method(cfg, v) })
		})
	}
}

// WithHeader adds a request header; repeat it for several headers or
// values. libsse already sends Accept: text/event-stream and
// Cache-Control: no-cache.
func WithHeader(name, value string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			cn := C.CString(name)
			defer C.free(unsafe.Pointer(cn))
			return withCString(value, func(v *C.char) C.enum_sse_status { return C.sse_config_add_header(cfg, cn, v) })
		})
	}
}

// WithHeaders adds every value of every header in h.
func WithHeaders(h http.Header) Option {
	return func(s *settings) {
		for name, values := range h {
			for _, value := range values {
				WithHeader(name, value)(s)
			}
		}
	}
}

// WithBody sets the request body, sent on every connection (and re-sent
// on 307/308 redirects). It is copied.
func WithBody(body []byte) Option {
	body = append([]byte(nil), body...)
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			if len(body) == 0 {
				return C.sse_config_set_body(cfg, nil, 0)
			}
			return C.sse_config_set_body(cfg, (*C.uint8_t)(unsafe.Pointer(&body[0])), C.uintptr_t(len(body)))
		})
	}
}

// WithLastEventID sets the Last-Event-ID sent on the first connection
// (to resume a stream read before).
func WithLastEventID(id string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return withCString(id, func(v *C.char) C.enum_sse_status { return C.sse_config_set_last_event_id(cfg, v) })
		})
	}
}

// WithConnectTimeout bounds name resolution plus TCP and TLS connection.
func WithConnectTimeout(d time.Duration) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_connect_timeout_ms(cfg, millis(d))
		})
	}
}

// WithReadTimeout sets the idle timeout: no byte for d means a dead
// connection and a reconnection (default 5 minutes; 0 disables it).
func WithReadTimeout(d time.Duration) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_read_timeout_ms(cfg, millis(d))
		})
	}
}

// Backoff is the reconnection delay policy. Zero fields keep libsse's
// defaults (initial 1 s unless the server sent `retry:`, max 30 s, min
// 100 ms, reset after 60 s, multiplier 2, jitter 0.5); set NoJitter for a
// jitter of 0.
type Backoff struct {
	Initial    time.Duration // the first delay, unless the server sent `retry:`
	Max        time.Duration // the cap of the growing delay
	Min        time.Duration // the floor, whatever the server says
	ResetAfter time.Duration // a connection up this long resets the delay
	Multiplier float64       // the growth per failed attempt in a row (1 to 100)
	Jitter     float64       // the share of each delay removed at random (0 to 1)
	NoJitter   bool          // use exact delays (overrides Jitter)
}

// WithBackoff sets the reconnection delay policy.
func WithBackoff(b Backoff) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			type step struct {
				set bool
				f   func() C.enum_sse_status
			}
			steps := []step{
				{b.Initial > 0, func() C.enum_sse_status { return C.sse_config_set_retry_initial_ms(cfg, millis(b.Initial)) }},
				{b.Max > 0, func() C.enum_sse_status { return C.sse_config_set_retry_max_ms(cfg, millis(b.Max)) }},
				{b.Min > 0, func() C.enum_sse_status { return C.sse_config_set_retry_min_ms(cfg, millis(b.Min)) }},
				{b.ResetAfter > 0, func() C.enum_sse_status { return C.sse_config_set_retry_reset_ms(cfg, millis(b.ResetAfter)) }},
				{b.Multiplier != 0, func() C.enum_sse_status { return C.sse_config_set_retry_multiplier(cfg, C.double(b.Multiplier)) }},
				{b.Jitter != 0 && !b.NoJitter, func() C.enum_sse_status { return C.sse_config_set_retry_jitter(cfg, C.double(b.Jitter)) }},
				{b.NoJitter, func() C.enum_sse_status { return C.sse_config_set_retry_jitter(cfg, 0) }},
			}
			for _, st := range steps {
				if st.set {
					if rc := st.f(); rc != C.SSE_OK {
						return rc
					}
				}
			}
			return C.SSE_OK
		})
	}
}

// WithOnEnd sets what a clean end of the stream does (default
// OnEndByMethod: GET reconnects, other methods end the client).
func WithOnEnd(o OnEnd) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_on_end(cfg, C.int32_t(o))
		})
	}
}

// WithMaxRetries gives up after n reconnection attempts in a row; -1 (the
// default) never gives up; 0 never reconnects: a one-shot stream whose
// clean end is a normal close.
func WithMaxRetries(n int) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_max_retries(cfg, C.int64_t(n))
		})
	}
}

// WithMaxRetryElapsed gives up after retrying for d in a row (0: no limit).
func WithMaxRetryElapsed(d time.Duration) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_max_retry_elapsed_ms(cfg, millis(d))
		})
	}
}

// WithRetryFirstConnect sets whether a failure of the very first
// connection is retried (default true).
func WithRetryFirstConnect(retry bool) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_retry_first_connect(cfg, C.bool(retry))
		})
	}
}

// WithErrorPolicy sets which failures reconnect (default RetryDefault).
func WithErrorPolicy(p ErrorPolicy) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_error_policy(cfg, C.int32_t(p))
		})
	}
}

// WithMaxEventSize sets the maximum size in bytes of one line and of one
// event's data (default 16 MiB); past it the connection fails with
// ErrTooLarge.
func WithMaxEventSize(bytes int) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_max_event_bytes(cfg, C.uintptr_t(bytes))
		})
	}
}

// WithQueueCapacity sets how many items libsse queues before it stops
// reading from the socket (default 1024).
func WithQueueCapacity(items int) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_queue_capacity(cfg, C.uintptr_t(items))
		})
	}
}

// WithCAFile trusts the PEM certificates in the file at path instead of
// the built-in Mozilla roots.
func WithCAFile(path string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return withCString(path, func(v *C.char) C.enum_sse_status { return C.sse_config_set_ca_file(cfg, v) })
		})
	}
}

// WithCAPEM trusts the PEM certificates in pem instead of the built-in
// Mozilla roots.
func WithCAPEM(pem []byte) Option {
	pem = append([]byte(nil), pem...)
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			if len(pem) == 0 {
				return C.sse_config_set_ca_pem(cfg, nil, 0)
			}
			return C.sse_config_set_ca_pem(cfg, (*C.uint8_t)(unsafe.Pointer(&pem[0])), C.uintptr_t(len(pem)))
		})
	}
}

// WithClientCertificateFiles presents a client certificate (mutual TLS)
// read from certFile (the PEM chain, leaf first) and keyFile (its
// unencrypted PEM private key: PKCS#8, PKCS#1 or SEC1); keyFile "" means
// the key is in certFile too. The files are read by Connect, which fails
// with an *Error of CodeArgument for an unreadable file, a missing
// certificate or key, or an encrypted key.
func WithClientCertificateFiles(certFile, keyFile string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return withCString(certFile, func(cert *C.char) C.enum_sse_status {
				if keyFile == "" {
					return C.sse_config_set_client_cert_file(cfg, cert, nil)
				}
				return withCString(keyFile, func(key *C.char) C.enum_sse_status {
					return C.sse_config_set_client_cert_file(cfg, cert, key)
				})
			})
		})
	}
}

// WithClientCertificate presents a client certificate (mutual TLS) given
// as PEM text: certPEM holds the chain, leaf first, and keyPEM its
// unencrypted private key (PKCS#8, PKCS#1 or SEC1; it may be the same
// text as certPEM). Both are copied. Connect fails with an *Error of
// CodeArgument for a missing certificate or key, or an encrypted key.
func WithClientCertificate(certPEM, keyPEM []byte) Option {
	certPEM = append([]byte(nil), certPEM...)
	keyPEM = append([]byte(nil), keyPEM...)
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			var cert, key *C.uint8_t
			if len(certPEM) > 0 {
				cert = (*C.uint8_t)(unsafe.Pointer(&certPEM[0]))
			}
			if len(keyPEM) > 0 {
				key = (*C.uint8_t)(unsafe.Pointer(&keyPEM[0]))
			}
			return C.sse_config_set_client_cert_pem(cfg, cert, C.uintptr_t(len(certPEM)), key, C.uintptr_t(len(keyPEM)))
		})
	}
}

// WithInsecureSkipVerify disables certificate verification. For tests
// only: anyone on the path can read and forge the stream.
func WithInsecureSkipVerify() Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_insecure(cfg, true)
		})
	}
}

// WithProxy sets the proxy URL (http://, socks5://, socks5h://, socks4://, socks4a://; https:// proxies are refused); "" means a
// direct connection. Without this option the proxy environment variables
// are honoured, as curl reads them.
func WithProxy(proxyURL string) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return withCString(proxyURL, func(v *C.char) C.enum_sse_status { return C.sse_config_set_proxy(cfg, v) })
		})
	}
}

// WithMaxRedirects sets how many redirects are followed per connection
// (default 10; 0: none).
func WithMaxRedirects(n int) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_max_redirects(cfg, C.uint32_t(n))
		})
	}
}

// WithSensitiveHeaders names request headers that, like Authorization,
// Cookie and Proxy-Authorization (always), are not sent after a redirect
// to another origin: API keys such as X-Api-Key.
func WithSensitiveHeaders(names ...string) Option {
	return func(s *settings) {
		for _, name := range names {
			name := name
			s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
				return withCString(name, func(v *C.char) C.enum_sse_status {
					return C.sse_config_add_sensitive_header(cfg, v)
				})
			})
		}
	}
}

// WithEventTypes delivers only message events of these types (an event
// without an event: field has the type "message"); the others are dropped
// inside libsse, yet their ids still count for Last-Event-ID. Comments and
// the other items come as before. Default: every type.
func WithEventTypes(types ...string) Option {
	return func(s *settings) {
		for _, t := range types {
			t := t
			s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
				return withCString(t, func(v *C.char) C.enum_sse_status {
					return C.sse_config_add_event_type(cfg, v)
				})
			})
		}
	}
}

// WithHTTPSDowngrade follows redirects from https to http (refused by
// default: the request would travel in plain text). Credentials headers are
// dropped on such a redirect either way.
func WithHTTPSDowngrade() Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			return C.sse_config_set_allow_https_downgrade(cfg, C.bool(true))
		})
	}
}

// WithMaxResponseHeadBytes sets the largest response head accepted
// (default 64 KiB, 1 KiB to 16 MiB); a larger one ends the client with an
// error matching ErrTooLarge (not retried by the default policy).
func WithMaxResponseHeadBytes(n int) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			if n < 0 {
				return C.SSE_ERR_ARGUMENT
			}
			return C.sse_config_set_max_response_head_bytes(cfg, C.uintptr_t(n))
		})
	}
}

// WithMaxRetryAfter sets the ceiling of a server's Retry-After (default one
// hour). A Retry-After raises the next delay above the backoff's maximum,
// up to this ceiling; a longer one is cut to it.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(s *settings) {
		s.add(func(cfg *C.struct_sse_config) C.enum_sse_status {
			if d <= 0 {
				return C.SSE_ERR_ARGUMENT
			}
			return C.sse_config_set_max_retry_after_ms(cfg, millis(d))
		})
	}
}

// WithBuffer sets the capacity of the channel returned by Events or Items
// (default 24; only the channel used is made, when first asked for). A
// smaller one slows a busy stream (its feeding and its reading take turns
// more often); a larger one takes more memory per client and rarely more
// speed. A full channel leaves the items in libsse's bounded queue, which
// slows the server's sending (backpressure).
func WithBuffer(n int) Option {
	return func(s *settings) { s.buffer = n }
}

// WithBatchSize is kept for compatibility (n must be at least 1): a client
// takes libsse's packed batches (what one network read brought) whole,
// in one cgo call, whatever n.
func WithBatchSize(n int) Option {
	return func(s *settings) { s.batch = n }
}
