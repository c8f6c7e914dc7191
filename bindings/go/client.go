package sse

// #include "gosse.h"
import "C"

import (
	"context"
	"io"
	"runtime"
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
// goroutine (Next from one at a time). Read it in one of three ways, not
// mixed: the Events channel, the Items channel, or Next. Call Close (or
// cancel the context given to Connect) when done: that ends the stream's
// C thread (and goroutine). A Client that becomes unreachable without
// Close is closed by the garbage collector, some time later, unless the
// Events or Items channel is still being fed (a running pump keeps it
// alive): do not rely on that, Close is the right way.
type Client struct {
	c *client
}

// client is the stream behind a Client. The garbage collector never
// frees it while a Client method runs (they keep the Client alive), so
// the finalizer of an unreachable Client only calls Close: it never races
// a call in progress.
type client struct {
	// mu guards h and final: finish frees h under the write lock;
	// Interrupt, stop, LastEventID and Stats use it under the read lock.
	mu    sync.RWMutex
	h     *C.struct_sse_client
	final Stats // the counters at the end, once h is freed; guarded by mu

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
	inNext  atomic.Int32 // 1 while a goroutine is inside Next
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
			return nil, &Error{Code: Code(rc), Message: configError(cfg)}
		}
	}

	batch := C.gosse_batch_new(C.size_t(s.batch))
	if batch == nil {
		return nil, &Error{Code: CodeInternal, Message: "out of memory"}
	}
	var h *C.struct_sse_client
	if rc := C.sse_client_start(cfg, &h); rc != C.SSE_OK {
		C.gosse_batch_free(batch)
		return nil, &Error{Code: Code(rc), Message: configError(cfg)}
	}

	c := &client{
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
	cl := &Client{c: c}
	// The safety net for a forgotten Close. Close blocks (it joins
	// libsse's thread), so it runs off the finalizer goroutine.
	runtime.SetFinalizer(cl, func(cl *Client) { go cl.c.Close() })
	return cl, nil
}

// Events returns the channel of message events. It is closed when the
// stream ends (see Err) or the client is closed. Nothing is taken from
// libsse's queue before Events, Items or Next is first called. Calling
// Items or Next on the same client panics.
func (cl *Client) Events() <-chan Event {
	cl.c.choose(modeEvents, cl)
	return cl.c.events
}

// Items returns the channel of every item in stream order: opens,
// messages, comments, errors, reconnections and the final close. It is
// closed after the KindClosed item. Calling Events or Next on the same
// client panics.
func (cl *Client) Items() <-chan Item {
	cl.c.choose(modeItems, cl)
	return cl.c.items
}

// Next returns the next message event, waiting as long as needed: the
// fastest way to read a client (no channel, no goroutine hand-off). When
// the stream has ended it returns io.EOF after a clean end or Close,
// ctx.Err() after the context was cancelled, or the fatal failure (as
// Err). Close, Interrupt and context cancellation work while Next waits;
// after them, Next may still return the rest of a batch it already took.
// Calling Next from two goroutines at once panics (events would be lost
// or duplicated); so does calling Events or Items on the same client.
func (cl *Client) Next() (Event, error) {
	ev, err := cl.c.Next(cl)
	runtime.KeepAlive(cl)
	return ev, err
}

// Done returns a channel closed when the stream has ended and its
// resources (libsse's thread included) are released, Err being set. It
// closes just before the Events or Items channel does.
func (cl *Client) Done() <-chan struct{} { return cl.c.exited }

// Err returns why the stream ended, once the channel is closed: nil after
// a clean end (204 No Content, end of a one-shot stream, Close), ctx.Err()
// after the context was cancelled, or the fatal failure (*HTTPStatusError,
// *ContentTypeError, or *Error; with retries exhausted, an *Error with
// CodeRetriesExhausted wrapping the last failure). Nil while running.
func (cl *Client) Err() error { return cl.c.Err() }

// Interrupt drops the current connection (or cuts a backoff wait short)
// and reconnects at once, sending Last-Event-ID. No-op once ended.
func (cl *Client) Interrupt() {
	cl.c.Interrupt()
	runtime.KeepAlive(cl)
}

// Close stops the stream within milliseconds, waits until its C thread
// (and goroutine) are gone, and closes the channel (items not yet read are
// dropped). Safe to call more than once and from any goroutine; it always
// returns nil.
func (cl *Client) Close() error {
	cl.c.Close()
	runtime.SetFinalizer(cl, nil)
	return nil
}

// LastEventID returns the last event id received (or configured): what a
// reconnection sends as Last-Event-ID.
func (cl *Client) LastEventID() string {
	id := cl.c.LastEventID()
	runtime.KeepAlive(cl)
	return id
}

// choose fixes how the client is read; the first call starts the pump
// goroutine for the channel modes, which keeps owner reachable while it
// feeds the channel (the user may hold only the channel).
func (c *client) choose(m mode, owner *Client) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	switch c.mode {
	case m:
		return
	case modeNone:
		c.mode = m
		c.modeNow.Store(int32(m))
		if (m == modeEvents || m == modeItems) && !c.stopped {
			go func() {
				c.pump()
				runtime.KeepAlive(owner)
			}()
		}
		return
	}
	panic("sse: " + m.String() + " called on a Client read with " + c.mode.String() + ": use one way to read a client")
}

// Next is Client.Next: it panics when another goroutine is inside.
func (c *client) Next(owner *Client) (Event, error) {
	if !c.inNext.CompareAndSwap(0, 1) {
		panic("sse: Client.Next called from several goroutines at once: events would be lost or duplicated; read a client from one goroutine (or use Events)")
	}
	defer c.inNext.Store(0)
	// Fast path: pending and next belong to the goroutine calling Next
	// (finish never touches them), so no lock is needed here.
	if c.next < len(c.pending) {
		ev := c.pending[c.next]
		c.next++
		return ev, nil
	}
	if c.modeNow.Load() != int32(modeNext) {
		c.choose(modeNext, owner)
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

// Err returns why the stream ended, once the channel is closed: nil after
// a clean end (204 No Content, end of a one-shot stream, Close), ctx.Err()
// after the context was cancelled, or the fatal failure (*HTTPStatusError,
// *ContentTypeError, or *Error; with retries exhausted, an *Error with
// CodeRetriesExhausted wrapping the last failure). Nil while running.
func (c *client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Interrupt drops the current connection (or cuts a backoff wait short)
// and reconnects at once, sending Last-Event-ID. No-op once ended.
func (c *client) Interrupt() {
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
func (c *client) Close() error {
	c.stop(nil)
	<-c.exited
	return nil
}

// LastEventID returns the last event id received (or configured): what a
// reconnection sends as Last-Event-ID.
func (c *client) LastEventID() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if c.h != nil {
		h := c.h
		c.lastID = copiedString(func(buf *C.char, size C.size_t, needed *C.size_t) C.enum_sse_status {
			return C.sse_client_copy_last_event_id(h, buf, size, needed)
		})
	}
	return c.lastID
}

// stop asks the stream to end; ctxErr is the context's error or nil.
// Without a pump goroutine, it frees the client itself (once a Next in
// progress has returned).
func (c *client) stop(ctxErr error) {
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
func (c *client) finish(final error) {
	c.finishOnce.Do(func() {
		if !c.ended {
			// Stopped early: let libsse's thread finish before the free
			// (see gosse_client_drain).
			C.gosse_client_drain(c.h, c.batch, 2000)
		}
		c.LastEventID() // keep the last id past the free
		c.mu.Lock()
		c.final = readStats(c.h) // keep the counters past the free
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
func (c *client) pump() {
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
func (c *client) pullAll(onEvent func(Event) bool, onItem func(Item) bool) (error, bool) {
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
func (c *client) pull(onEvent func(Event) bool, onItem func(Item) bool) (final error, ended bool) {
	rc := C.gosse_client_pull(c.h, c.batch, -1)
	if rc != C.SSE_OK {
		c.ended = true
		if rc == C.SSE_CLOSED {
			return nil, true
		}
		if c.fatal != nil {
			return c.fatal, true
		}
		return &Error{Code: Code(rc), Message: clientError(c.h), Err: c.lastErr}, true
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

func (c *client) sendEvent(ev Event) bool {
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

func (c *client) sendItem(item Item) bool {
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

// copiedString returns a string libsse copies into a buffer of ours with
// one of its sse_*_copy_* functions: safe while other threads' calls
// change it (a pointer to the library's own copy is not, and a goroutine
// may change OS thread between two calls).
func copiedString(copy func(buf *C.char, size C.size_t, needed *C.size_t) C.enum_sse_status) string {
	size := C.size_t(128)
	for {
		buf := (*C.char)(C.malloc(size))
		var needed C.size_t
		rc := copy(buf, size, &needed)
		var s string
		if rc == C.SSE_OK {
			s = C.GoString(buf)
		}
		C.free(unsafe.Pointer(buf))
		if rc != C.SSE_ERR_TOO_LARGE {
			return s
		}
		size = needed // it grew between the two calls: again
	}
}

// configError is the message of the config's last failure.
func configError(cfg *C.struct_sse_config) string {
	return copiedString(func(buf *C.char, size C.size_t, needed *C.size_t) C.enum_sse_status {
		return C.sse_config_copy_last_error(cfg, buf, size, needed)
	})
}

// clientError is the message of the client's last failure.
func clientError(h *C.struct_sse_client) string {
	return copiedString(func(buf *C.char, size C.size_t, needed *C.size_t) C.enum_sse_status {
		return C.sse_client_copy_last_error(h, buf, size, needed)
	})
}
