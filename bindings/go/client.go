package sse

// #include "gosse.h"
import "C"

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
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
	modeNext
)

// String names the read mode, for panic messages.
func (m mode) String() string {
	return [...]string{"none", "Events", "Items", "Next"}[m]
}

// Client is one running stream. Its methods may be called from any
// goroutine. Read it in one of three ways, not mixed: the Events channel,
// the Items channel, or Next. Call Close (or cancel the context given to
// Connect) when done: that ends the stream's C thread (and goroutine).
type Client struct {
	// mu guards h: finish frees it under the write lock; Interrupt, stop
	// and LastEventID use it under the read lock.
	mu sync.RWMutex
	h  *C.struct_sse_client

	// pullMu serializes the calls taking items out of C (Next) with finish.
	pullMu  sync.Mutex
	batch   *C.gosse_batch // guarded by pullMu (or owned by the pump)
	cv      converter
	texts   []string
	pending []Event // Next: converted events not yet returned (owned by Next's caller)
	next    int     // Next: index of the next pending event (owned by Next's caller)
	lastErr error   // the last non-fatal failure seen
	fatal   error   // the fatal failure reported by an error item
	ended   bool    // C reported the end of the stream

	events chan Event
	items  chan Item

	modeMu  sync.Mutex
	mode    mode         // guarded by modeMu; read freely by the pump once set
	modeNow atomic.Int32 // mode, for the lock-free check of Next
	stopped bool         // guarded by modeMu

	stopOnce   sync.Once
	done       chan struct{} // closed by Close or context cancellation
	finishOnce sync.Once
	exited     chan struct{} // closed when everything is freed

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
		h:      h,
		batch:  batch,
		events: make(chan Event, s.buffer),
		items:  make(chan Item, s.buffer),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
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

// choose fixes how the client is read; the first call starts the pump
// goroutine for the channel modes.
func (c *Client) choose(m mode) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	switch c.mode {
	case m:
		return
	case modeNone:
		c.mode = m
		c.modeNow.Store(int32(m))
		if (m == modeEvents || m == modeItems) && !c.stopped {
			go c.pump()
		}
		return
	}
	panic("sse: " + m.String() + " called on a Client read with " + c.mode.String() + ": use one way to read a client")
}

// Events returns the channel of message events. It is closed when the
// stream ends (see Err) or the client is closed. Nothing is taken from
// libsse's queue before Events, Items or Next is first called. Calling
// Items or Next on the same client panics.
func (c *Client) Events() <-chan Event {
	c.choose(modeEvents)
	return c.events
}

// Items returns the channel of every item in stream order: opens,
// messages, comments, errors, reconnections and the final close. It is
// closed after the KindClosed item. Calling Events or Next on the same
// client panics.
func (c *Client) Items() <-chan Item {
	c.choose(modeItems)
	return c.items
}

// Next returns the next message event, waiting as long as needed: the
// fastest way to read a client (no channel, no goroutine hand-off). When
// the stream has ended it returns io.EOF after a clean end or Close,
// ctx.Err() after the context was cancelled, or the fatal failure (as
// Err). Close, Interrupt and context cancellation work while Next waits;
// after them, Next may still return the rest of a batch it already took.
// Next must not be called from several goroutines at once; calling
// Events or Items on the same client panics.
func (c *Client) Next() (Event, error) {
	// Fast path: pending and next belong to the goroutine calling Next
	// (finish never touches them), so no lock is needed here.
	if c.next < len(c.pending) {
		ev := c.pending[c.next]
		c.next++
		return ev, nil
	}
	if c.modeNow.Load() != int32(modeNext) {
		c.choose(modeNext)
	}
	c.pullMu.Lock()
	defer c.pullMu.Unlock()
	for c.next >= len(c.pending) {
		if c.batch == nil { // finished
			err := c.Err()
			if err == nil {
				err = io.EOF
			}
			return Event{}, err
		}
		c.pending = c.pending[:0]
		c.next = 0
		if final, ended := c.pull(nil, nil); ended {
			c.finish(final)
		}
	}
	ev := c.pending[c.next]
	c.next++
	return ev, nil
}

// Done returns a channel closed when the stream has ended and its
// resources (libsse's thread included) are released, Err being set. It
// closes just before the Events or Items channel does.
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

// Close stops the stream within milliseconds, waits until its C thread
// (and goroutine) are gone, and closes the channel (items not yet read are
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
// Without a pump goroutine, it frees the client itself (once a Next in
// progress has returned).
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

		c.modeMu.Lock()
		c.stopped = true
		pumped := c.mode == modeEvents || c.mode == modeItems
		c.modeMu.Unlock()
		if !pumped {
			c.pullMu.Lock()
			c.finish(nil)
			c.pullMu.Unlock()
		}
	})
}

// finish frees the C client and its batch, records the final error and
// closes the channels; once. The caller owns the batch (pump or pullMu).
func (c *Client) finish(final error) {
	c.finishOnce.Do(func() {
		if !c.ended {
			// Stopped early: let libsse's thread finish before the free
			// (see gosse_client_drain).
			C.gosse_client_drain(c.h, c.batch, 2000)
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
	})
}

// pump is the goroutine of the channel modes: it blocks in C for batches
// of items, converts them, and delivers them until the stream ends or is
// stopped.
func (c *Client) pump() {
	var final error
	if c.mode == modeEvents {
		final, _ = c.pullAll(c.sendEvent, nil)
	} else {
		final, _ = c.pullAll(nil, c.sendItem)
	}
	c.finish(final)
}

// pullAll pulls until the end; it returns the final error and whether the
// stream ended (false: delivery was stopped).
func (c *Client) pullAll(onEvent func(Event) bool, onItem func(Item) bool) (error, bool) {
	for {
		select {
		case <-c.done:
			return nil, false
		default:
		}
		if final, ended := c.pull(onEvent, onItem); ended {
			return final, true
		}
	}
}

// pull takes one batch out of C (waiting for it) and hands its messages
// to onEvent, or every item to onItem, or (both nil) appends its messages
// to pending. It returns ended = true and the final error when the stream
// is over. A false from a handler stops the delivery of the batch.
func (c *Client) pull(onEvent func(Event) bool, onItem func(Item) bool) (final error, ended bool) {
	rc := C.gosse_client_pull(c.h, c.batch, -1)
	if rc != C.SSE_OK {
		c.ended = true
		if rc == C.SSE_CLOSED {
			return nil, true
		}
		if c.fatal != nil {
			return c.fatal, true
		}
		return &Error{Code: Code(rc), Message: C.GoString(C.sse_client_last_error(c.h)), Err: c.lastErr}, true
	}
	items := batchItems(c.batch)
	c.texts = c.cv.texts(items, c.texts[:0])
	for i := range items {
		it := &items[i]
		var item Item
		switch it.kind {
		case C.SSE_KIND_MESSAGE:
			ev := c.cv.message(it, c.texts[i])
			if onItem == nil {
				if onEvent == nil {
					c.pending = append(c.pending, ev)
					continue
				}
				if !onEvent(ev) {
					return nil, false
				}
				continue
			}
			item = Item{Kind: KindMessage, Event: ev}
		case C.SSE_KIND_COMMENT:
			if onItem == nil {
				continue
			}
			item = Item{Kind: KindComment, Comment: c.texts[i]}
		default:
			item = lifecycle(it)
			if item.Kind == KindError {
				if item.Fatal {
					c.fatal = item.Err
					if e, ok := c.fatal.(*Error); ok && e.Code == CodeRetriesExhausted {
						e.Err = c.lastErr
					}
				} else {
					c.lastErr = item.Err
				}
			}
			if onItem == nil {
				continue
			}
		}
		if !onItem(item) {
			return nil, false
		}
	}
	return nil, false
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
