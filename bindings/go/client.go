package sse

// #include "gosse.h"
import "C"

import (
	"context"
	"sync"
	"unsafe"
)

const (
	defaultBuffer = 256
	defaultBatch  = 256
)

type mode int

const (
	modeNone mode = iota
	modeEvents
	modeItems
)

// Client is one running stream. Its methods may be called from any
// goroutine. Read from Events or Items (not both), and call Close (or
// cancel the context given to Connect) when done: that ends the stream's
// goroutine and C thread.
type Client struct {
	// mu guards h: the pump goroutine frees it under the write lock;
	// Interrupt, Close and LastEventID use it under the read lock.
	mu sync.RWMutex
	h  *C.struct_sse_client

	batch *C.gosse_batch // used by the pump only

	events chan Event
	items  chan Item

	modeOnce sync.Once
	mode     mode
	modeSet  chan struct{} // closed when Events or Items was first called

	stopOnce sync.Once
	done     chan struct{} // closed by Close or context cancellation
	exited   chan struct{} // closed when the pump goroutine has freed everything

	idMu   sync.Mutex
	lastID string // the last event id, kept when the C client is freed

	errMu  sync.Mutex
	err    error // the final error, set before exited closes
	ctxErr error // the context's error if it stopped the stream
}

// Connect starts a stream of url (http or https) and returns at once: the
// connection is made on libsse's thread, and its failures arrive as items
// (or, once fatal, as Err). Connect itself fails only for invalid options
// or URL (an *Error with CodeArgument or CodeURL).
//
// Cancelling ctx stops the stream and closes the channel; Err then
// returns ctx.Err().
func Connect(ctx context.Context, url string, opts ...Option) (*Client, error) {
	s := settings{buffer: defaultBuffer, batch: defaultBatch}
	for _, o := range opts {
		o(&s)
	}
	if s.buffer < 0 || s.batch < 1 {
		return nil, &Error{Code: CodeArgument, Message: "buffer must be >= 0 and batch size >= 1"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	curl := C.CString(url)
	cfg := C.sse_config_new(curl)
	C.free(unsafe.Pointer(curl))
	if cfg == nil {
		return nil, &Error{Code: CodeURL, Message: "invalid URL " + url}
	}
	defer C.sse_config_free(cfg)
	for _, set := range s.setters {
		if rc := set(cfg); rc != C.SSE_OK {
			return nil, &Error{Code: Code(rc), Message: C.GoString(C.sse_config_last_error(cfg))}
		}
	}

	batch := C.gosse_batch_new(C.size_t(s.batch))
	if batch == nil {
		return nil, &Error{Code: CodeInternal, Message: "out of memory"}
	}
	var h *C.struct_sse_client
	if rc := C.sse_client_start(cfg, &h); rc != C.SSE_OK {
		C.gosse_batch_free(batch)
		return nil, &Error{Code: Code(rc), Message: C.GoString(C.sse_config_last_error(cfg))}
	}

	c := &Client{
		h:       h,
		batch:   batch,
		events:  make(chan Event, s.buffer),
		items:   make(chan Item, s.buffer),
		modeSet: make(chan struct{}),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go c.pump()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				c.stop(ctx.Err())
			case <-c.exited:
			}
		}()
	}
	return c, nil
}

func (c *Client) choose(m mode) {
	c.modeOnce.Do(func() {
		c.mode = m
		close(c.modeSet)
	})
	if c.mode != m {
		panic("sse: Events and Items are exclusive: call one of them on a Client")
	}
}

// Events returns the channel of message events. It is closed when the
// stream ends (see Err) or the client is closed. Call either Events or
// Items on a client, not both (the other panics); nothing is read from
// the server's queue before one of them is called.
func (c *Client) Events() <-chan Event {
	c.choose(modeEvents)
	return c.events
}

// Items returns the channel of every item in stream order: opens,
// messages, comments, errors, reconnections and the final close. It is
// closed after the KindClosed item. Call either Events or Items on a
// client, not both (the other panics).
func (c *Client) Items() <-chan Item {
	c.choose(modeItems)
	return c.items
}

// Done returns a channel closed when the stream has ended and its
// resources are released (after Events or Items is closed).
func (c *Client) Done() <-chan struct{} { return c.exited }

// Err returns why the stream ended, once the channel is closed: nil after
// a clean end (204 No Content, end of a one-shot stream, Close), ctx.Err()
// after the context was cancelled, or the fatal failure (*HTTPStatusError,
// *ContentTypeError, or *Error; with retries exhausted, an *Error with
// CodeRetriesExhausted wrapping the last failure). Nil while running.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Interrupt drops the current connection (or cuts a backoff wait short)
// and reconnects at once, sending Last-Event-ID. No-op once ended.
func (c *Client) Interrupt() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h != nil {
		C.sse_client_interrupt(c.h)
	}
}

// Close stops the stream within milliseconds, waits until its goroutine
// and C thread are gone, and closes the channel (items not yet read are
// dropped). Safe to call more than once and from any goroutine; it always
// returns nil.
func (c *Client) Close() error {
	c.stop(nil)
	<-c.exited
	return nil
}

// LastEventID returns the last event id received (or configured): what a
// reconnection sends as Last-Event-ID.
func (c *Client) LastEventID() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if c.h != nil {
		// The C string lives until the next call of this function on the
		// client: idMu serializes the calls.
		c.lastID = C.GoString(C.sse_client_last_event_id(c.h))
	}
	return c.lastID
}

// stop asks the stream to end; ctxErr is the context's error or nil.
func (c *Client) stop(ctxErr error) {
	c.stopOnce.Do(func() {
		c.errMu.Lock()
		c.ctxErr = ctxErr
		c.errMu.Unlock()
		c.mu.RLock()
		if c.h != nil {
			C.sse_client_close(c.h)
		}
		c.mu.RUnlock()
		close(c.done)
	})
}

// pump is the client's goroutine: it blocks in C for batches of items,
// converts them, and delivers them until the stream ends or is stopped.
func (c *Client) pump() {
	var final error
	select {
	case <-c.modeSet:
		final = c.run()
	case <-c.done:
	}

	c.LastEventID() // keep the last id past the free
	c.mu.Lock()
	C.gosse_batch_free(c.batch)
	c.batch = nil
	C.sse_client_free(c.h) // joins libsse's thread
	c.h = nil
	c.mu.Unlock()

	c.errMu.Lock()
	if c.ctxErr != nil {
		final = c.ctxErr
	}
	c.err = final
	c.errMu.Unlock()
	close(c.exited)
	close(c.events)
	close(c.items)
}

// run delivers items until the end; it returns the final error.
func (c *Client) run() error {
	var (
		cv        converter
		texts     []string
		lastError error // the last non-fatal failure
		fatal     error // the fatal failure reported by an error item
	)
	for {
		rc := C.gosse_client_pull(c.h, c.batch, -1)
		if rc != C.SSE_OK {
			if rc == C.SSE_CLOSED {
				return nil
			}
			if fatal != nil {
				return fatal
			}
			return &Error{Code: Code(rc), Message: C.GoString(C.sse_client_last_error(c.h)), Err: lastError}
		}
		items := batchItems(c.batch)
		texts = cv.texts(items, texts[:0])
		for i := range items {
			it := &items[i]
			var item Item
			switch it.kind {
			case C.SSE_KIND_MESSAGE:
				ev := cv.message(it, texts[i])
				if c.mode == modeEvents {
					if !c.sendEvent(ev) {
						return nil
					}
					continue
				}
				item = Item{Kind: KindMessage, Event: ev}
			case C.SSE_KIND_COMMENT:
				if c.mode == modeEvents {
					continue
				}
				item = Item{Kind: KindComment, Comment: texts[i]}
			default:
				item = lifecycle(it)
				if item.Kind == KindError {
					if item.Fatal {
						fatal = item.Err
						if e, ok := fatal.(*Error); ok && e.Code == CodeRetriesExhausted {
							e.Err = lastError
						}
					} else {
						lastError = item.Err
					}
				}
				if c.mode == modeEvents {
					continue
				}
			}
			if !c.sendItem(item) {
				return nil
			}
		}
	}
}

func (c *Client) sendEvent(ev Event) bool {
	select {
	case c.events <- ev:
		return true
	default:
	}
	select {
	case c.events <- ev:
		return true
	case <-c.done:
		return false
	}
}

func (c *Client) sendItem(item Item) bool {
	select {
	case c.items <- item:
		return true
	default:
	}
	select {
	case c.items <- item:
		return true
	case <-c.done:
		return false
	}
}
