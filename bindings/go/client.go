package sse

// #include "gosse.h"
import "C"

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	// defaultBuffer is the default capacity of the Events and Items
	// channels: 24 events, 1.5 KiB. The goroutine feeding a busy stream's
	// channel and the one reading it mostly take turns on one CPU, a turn
	// per channel full: 24 makes a third fewer turns than 16 (about 4%
	// more events/s on 40-byte events); 32 gains about 1% more for 512
	// bytes more per client (which thousands of clients pay).
	defaultBuffer = 24
	defaultBatch  = 256
	// clientItems is the room for items a client's C batch starts with;
	// it grows to the largest batch taken (a quiet stream's batches hold
	// an item or two: thousands of clients keep little).
	clientItems = 2
	// drainLimit bounds the wait for the end of a client stopped early.
	drainLimit = 2 * time.Second
)

type mode int

const (
	modeNone mode = iota
	modeEvents
	modeItems
	modeNext
	modeNextBytes
)

// String names the read mode, for panic messages.
func (m mode) String() string {
	return [...]string{"none", "Events", "Items", "Next", "NextBytes"}[m]
}

// Client is one running stream. Its methods may be called from any
// goroutine (Next and NextBytes from one at a time). Read it in one of four
// ways, not mixed: the Events channel, the Items channel, Next, or
// NextBytes. Call Close (or cancel the context given to Connect) when
// done: that ends the stream in libsse and frees it. A Client that becomes
// unreachable without Close is closed by the garbage collector, some time
// later, unless its Events or Items channel is being fed (a client read
// through a channel stays alive until its stream ends): do not rely on
// that, Close is the right way.
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
	final *Stats // the counters at the end, once h is freed; guarded by mu

	// pullMu serializes the calls taking items out of C (Next) with finish.
	pullMu sync.Mutex
	// deliverMu does for the channel modes: held by whoever feeds the
	// channel (the wait set's goroutine, a goroutine of the client's own
	// while the channel is full, or the one finishing the client).
	deliverMu sync.Mutex
	again     atomic.Int32 // news came while deliverMu was held (see kick)

	// Guarded by pullMu or deliverMu (one of the two, by mode).
	batch     *C.gosse_batch
	cv        converter
	texts     []string
	cur       []C.gosse_item // the items of the batch in c.batch
	pos       int            // the next item of cur (Items, Next, NextBytes) or evs (Events) to deliver
	evs       []Event        // Events: the next messages of cur, converted (a chunk of at most eventChunk)
	conv      int            // Events: the next item of cur to convert
	held      *Item          // Items: the item that did not fit in the full channel, or nil
	feedEnded bool           // the feeding is over
	lent      *lentBatch     // Next, NextBytes: the batch still read when the client finished
	lastBatch time.Time      // when the last batch was taken
	endErr    error          // with feedEnded: the final error
	lastErr   error          // the last non-fatal failure seen
	fatal     error          // the fatal failure reported by an error item
	ended     bool           // C reported the end of the stream

	// The channels of Events and Items, made when first asked for (only
	// the one used costs memory); guarded by modeMu until then.
	events  chan Event
	items   chan Item
	buffer  int  // their capacity
	chClose bool // finish closed them (guarded by modeMu)

	// wake receives a signal (from the wait set's goroutine) when libsse
	// has news for this client; nil if it could not join the wait set
	// (then its reader waits in C). token is its name in the set.
	wake  chan struct{}
	token uint64

	modeMu  sync.Mutex
	mode    mode         // guarded by modeMu
	owner   *Client      // the Client of a fed channel; guarded by modeMu, dropped by finish
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

	batch := C.gosse_client_batch_new(clientItems)
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
		buffer: s.buffer,
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	if w := sharedWaitSet(); w != nil {
		w.join(c)
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
	// The safety net for a forgotten Close. Close blocks (it waits for the
	// stream's end), so it runs off the finalizer goroutine, on the one
	// goroutine that closes forgotten clients in turn (a goroutine each
	// would park an OS thread each in C: thousands for thousands).
	runtime.SetFinalizer(cl, func(cl *Client) { closeForgotten(cl.c) })
	return cl, nil
}

// forgotten holds the clients whose Client was collected unclosed, for
// the goroutine that closes them (running while there are any).
var forgotten struct {
	mu      sync.Mutex
	queue   []*client
	running bool
}

// closeForgotten queues c for closing off the finalizer goroutine.
func closeForgotten(c *client) {
	forgotten.mu.Lock()
	defer forgotten.mu.Unlock()
	forgotten.queue = append(forgotten.queue, c)
	if !forgotten.running {
		forgotten.running = true
		go closeForgottenLoop()
	}
}

// closeForgottenLoop closes the queued clients one at a time until none
// is left.
func closeForgottenLoop() {
	for {
		forgotten.mu.Lock()
		if len(forgotten.queue) == 0 {
			forgotten.queue = nil
			forgotten.running = false
			forgotten.mu.Unlock()
			return
		}
		c := forgotten.queue[0]
		forgotten.queue[0] = nil
		forgotten.queue = forgotten.queue[1:]
		forgotten.mu.Unlock()
		c.Close()
	}
}

// Events returns the channel of message events. It is closed when the
// stream ends (see Err) or the client is closed. Nothing is taken from
// libsse's queue before Events, Items or Next is first called. Calling
// Items or Next on the same client panics.
func (cl *Client) Events() <-chan Event {
	cl.c.choose(modeEvents, cl)
	return cl.c.events // set by choose, never changed after
}

// Items returns the channel of every item in stream order: opens,
// messages, comments, errors, reconnections and the final close. It is
// closed after the KindClosed item. Calling Events or Next on the same
// client panics.
func (cl *Client) Items() <-chan Item {
	cl.c.choose(modeItems, cl)
	return cl.c.items // set by choose, never changed after
}

// Next returns the next message event, waiting as long as needed: a fast
// way to read a client (no channel, no goroutine hand-off; NextBytes
// also saves the copy of the data). When
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

// NextBytes is Next without copying: the returned event's Data is
// borrowed from libsse's memory, valid until the next call of NextBytes
// on this client (the BytesEvent keeps that memory alive while it is
// reachable, even after an unclosed Client is collected: keep the event,
// not only its Data slice); Close and context cancellation leave it valid
// until that next call. Copy what must outlive it. Type and
// ID are ordinary strings. The fastest way to read a client, above all
// with large events: no allocation per event. It ends like Next (io.EOF,
// ctx.Err() or the fatal failure). Calling NextBytes from two goroutines
// at once panics, and so does calling Next, Events or Items on the same
// client.
func (cl *Client) NextBytes() (BytesEvent, error) {
	ev, err := cl.c.NextBytes(cl)
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

// Close stops the stream within milliseconds, waits until libsse has let
// it go and freed it, and closes the channel (items not yet read are
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

// choose fixes how the client is read; for the channel modes it makes the
// channel, keeps owner reachable while the channel is fed (the user may
// hold only the channel) and starts a first feed.
func (c *client) choose(m mode, owner *Client) {
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	switch c.mode {
	case m:
		return
	case modeNone:
		c.mode = m
		switch m {
		case modeEvents:
			c.events = make(chan Event, c.buffer)
			if c.chClose {
				close(c.events)
			}
		case modeItems:
			c.items = make(chan Item, c.buffer)
			if c.chClose {
				close(c.items)
			}
		}
		if (m == modeEvents || m == modeItems) && !c.stopped {
			// Fed from now on: the client (in the wait set's table)
			// keeps owner alive until it is finished.
			c.owner = owner
			c.modeNow.Store(int32(m))
			// A first feed for what was queued before.
			go func() {
				c.deliverMu.Lock()
				c.pumpLoop()
			}()
			return
		}
		c.modeNow.Store(int32(m))
		return
	}
	panic("sse: " + m.String() + " called on a Client read with " + c.mode.String() + ": use one way to read a client")
}

// Next is Client.Next: it panics when another goroutine is inside.
func (c *client) Next(owner *Client) (ev Event, err error) {
	if !c.inNext.CompareAndSwap(0, 1) {
		panic("sse: Client.Next called from several goroutines at once: events would be lost or duplicated; read a client from one goroutine (or use Events)")
	}
	for {
		// Fast path: the rest of the batch taken, each message converted
		// when asked for (straight into the result: no array of converted
		// events written, then read back). cur, pos and cv belong to the
		// goroutine calling Next (finish keeps the batch, see lentBatch),
		// so no lock is needed here; in another mode they are the
		// channel feeder's (refill then panics).
		for c.modeNow.Load() == int32(modeNext) && c.pos < len(c.cur) {
			i := c.pos
			c.pos++
			if it := &c.cur[i]; it.kind == C.SSE_KIND_MESSAGE {
				// Converted before the guard is let go, stored in the
				// result after (see NextBytes).
				typ, id, data, retry := c.cv.messageOf(it, c.cur[i:])
				c.inNext.Store(0)
				ev.Type, ev.Data, ev.ID, ev.Retry = typ, data, id, retry
				return ev, nil
			} else if it.kind != C.SSE_KIND_COMMENT {
				c.convert(i, false) // keeps track of the errors
			}
		}
		if err := c.refill(modeNext, owner); err != nil {
			return Event{}, err
		}
	}
}

// NextBytes is Client.NextBytes: it panics when another goroutine is
// inside.
func (c *client) NextBytes(owner *Client) (ev BytesEvent, err error) {
	if !c.inNext.CompareAndSwap(0, 1) {
		panic("sse: Client.NextBytes called from several goroutines at once: events would be lost or duplicated, and borrowed data freed while in use; read a client from one goroutine")
	}
	for {
		// Fast path: the rest of the batch taken; cur and pos belong to
		// the goroutine calling NextBytes (finish keeps the batch, see
		// lentBatch), so no lock is needed here. The event is built in
		// the result itself (no copy of it on the way out).
		for c.modeNow.Load() == int32(modeNextBytes) && c.pos < len(c.cur) {
			i := c.pos
			c.pos++
			if it := &c.cur[i]; it.kind == C.SSE_KIND_MESSAGE {
				// Everything read from the batch and the converter
				// before the guard is let go (its store waits for the
				// stores before it: the result's are made after).
				typ, id := c.cv.typeOf(it), c.cv.idOf(it)
				data, n, retry := it.data, int(it.data_len), it.retry_ms
				c.inNext.Store(0)
				ev.Type, ev.ID, ev.src = typ, id, c
				if n > 0 {
					// Capacity = length: an append copies, never
					// writes into the batch.
					ev.Data = unsafe.Slice((*byte)(unsafe.Pointer(data)), n)[:n:n]
				}
				if retry > 0 {
					ev.Retry = time.Duration(retry) * time.Millisecond
				}
				return ev, nil
			} else if it.kind != C.SSE_KIND_COMMENT {
				c.convert(i, false) // keeps track of the errors
			}
		}
		if err := c.refill(modeNextBytes, owner); err != nil {
			return BytesEvent{}, err
		}
	}
}

// refill is the slow path of Next and NextBytes (mode m), once the batch
// taken is used up (the caller holds inNext, which refill lets go of when
// it returns an error, and keeps else): it takes the next batch out of C
// (c.cur, c.pos 0), waiting as long as needed, and returns nil; or, once
// the stream is over, the final error (io.EOF after a clean end).
func (c *client) refill(m mode, owner *Client) error {
	more := false
	defer func() {
		// Also when choose panics (mixed modes): a later call must not
		// see a Next still inside.
		if !more {
			c.inNext.Store(0)
		}
	}()
	if c.modeNow.Load() != int32(m) {
		c.choose(m, owner)
	}
	c.pullMu.Lock()
	defer c.pullMu.Unlock()
	for c.pos >= len(c.cur) {
		if c.batch == nil { // finished
			c.cur, c.pos = nil, 0
			c.freeLent()
			err := c.Err()
			if err == nil {
				err = io.EOF
			}
			return err
		}
		if c.wake != nil && c.isDone() {
			// Stopped: no more waiting (stop frees the client once this
			// returns, or it is done here).
			c.finish(nil)
			continue
		}
		timeout := C.int32_t(-1)
		if c.wake != nil {
			timeout = 0
		}
		switch rc := c.fetch(timeout, true); rc {
		case C.SSE_OK:
		case C.SSE_TIMEOUT:
			select {
			case <-c.wake:
			case <-c.done:
			}
		default:
			c.finish(c.endOf(rc))
		}
	}
	more = true
	return nil
}

// lentBatch is the C batch a Next or NextBytes caller may still be
// reading (NextBytes: its data lent to the caller) when the client is
// finished: freed by the next Next or NextBytes call that finds it used
// up, or when the client is garbage collected.
type lentBatch struct{ b *C.gosse_batch }

// freeLent frees the batch lent to Next or NextBytes when the client finished.
// The caller holds pullMu.
func (c *client) freeLent() {
	if c.lent != nil {
		runtime.SetFinalizer(c.lent, nil)
		C.gosse_batch_free(c.lent.b)
		c.lent = nil
	}
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

// Close stops the stream within milliseconds, waits until libsse has let
// it go and freed it, and closes the channel (items not yet read are
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

// stop asks the stream to end; ctxErr is the context's error or nil. It
// frees the client itself once the reader in progress (a feed of the
// channel, or a Next) has returned.
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
		// Whoever is taking items out of C sees the stop and returns.
		if pumped {
			c.deliverMu.Lock()
			c.finish(nil)
			c.deliverMu.Unlock()
		} else {
			c.pullMu.Lock()
			c.finish(nil)
			c.pullMu.Unlock()
		}
	})
}

// isDone reports whether the client was stopped (Close or the context).
func (c *client) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// drain, after sse_client_close, takes and frees the items still queued
// until the stream reports its end (or drainLimit passed): a worker
// blocked on a full queue waits for room to queue its final item (see
// gosse_client_drain). With the wait set it never blocks in C.
func (c *client) drain() {
	if c.wake == nil {
		C.gosse_client_drain(c.h, c.batch, C.int32_t(drainLimit/time.Millisecond))
		return
	}
	var limit *time.Timer
	for C.gosse_client_discard(c.h, c.batch) == C.SSE_TIMEOUT {
		if limit == nil {
			limit = time.NewTimer(drainLimit)
			defer limit.Stop()
		}
		select {
		case <-c.wake:
		case <-limit.C:
			return
		}
	}
}

// finish frees the C client and its batch, records the final error and
// closes the channels; once. The caller owns the batch (pump or pullMu).
func (c *client) finish(final error) {
	c.finishOnce.Do(func() {
		if m := c.modeNow.Load(); (m == int32(modeNextBytes) || m == int32(modeNext)) && c.batch.packed != nil {
			// NextBytes lent its data, and Next reads its batch without
			// a lock: keep it until the next call.
			if fresh := C.gosse_client_batch_new(1); fresh != nil {
				c.lent = &lentBatch{b: c.batch}
				runtime.SetFinalizer(c.lent, func(l *lentBatch) { C.gosse_batch_free(l.b) })
				c.batch = fresh
			}
		}
		if !c.ended {
			// Stopped early: let libsse's thread finish before the free.
			c.drain()
		}
		c.LastEventID() // keep the last id past the free
		c.mu.Lock()
		st := readStats(c.h) // keep the counters past the free
		c.final = &st
		C.gosse_batch_free(c.batch)
		c.batch = nil
		C.sse_client_free(c.h) // joins libsse's thread
		c.h = nil
		c.mu.Unlock()
		if c.wake != nil {
			shared.leave(c.token)
		}

		c.errMu.Lock()
		if c.ctxErr != nil {
			final = c.ctxErr
		}
		c.err = final
		c.errMu.Unlock()
		close(c.exited)
		c.modeMu.Lock()
		c.owner = nil
		c.chClose = true
		if c.events != nil {
			close(c.events)
		}
		if c.items != nil {
			close(c.items)
		}
		c.modeMu.Unlock()
	})
}

// The outcomes of feed.
type feedState int

const (
	fedIdle feedState = iota // libsse has nothing queued: wait for news
	fedFull                  // the channel is full (only without block)
	fedEnd                   // the stream ended or was stopped: finish it (c.endErr)
)

// kick is how the wait set's goroutine serves a client read through a
// channel: if no one else is feeding it, it feeds the channel right there
// (no goroutine of the client's own, no hand-over), until libsse has
// nothing queued; when the channel is full (or the stream ends) a
// goroutine takes over the delivery and the lock. Otherwise it leaves a
// note (again) for the current feeder, and a wake for a finish that is
// draining.
func (c *client) kick() {
	c.again.Store(1)
	for c.deliverMu.TryLock() {
		c.again.Store(0)
		if c.feed(false) != fedIdle {
			go c.pumpLoop() // holds deliverMu from here
			return
		}
		c.deliverMu.Unlock()
		if c.again.Load() == 0 {
			return
		}
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// pumpLoop feeds the channel, waiting for room in it, until libsse has
// nothing queued, then ends (the wait set's goroutine takes over at the
// next news). At the end of the stream or on a stop it finishes the
// client. The caller holds deliverMu; pumpLoop releases it.
func (c *client) pumpLoop() {
	for {
		if c.feed(true) == fedEnd {
			c.finish(c.endErr)
			c.deliverMu.Unlock()
			return
		}
		c.deliverMu.Unlock()
		// News that came while the lock was held: serve it (unless the
		// wait set's goroutine is doing so already).
		if c.again.Load() == 0 || !c.deliverMu.TryLock() {
			return
		}
		c.again.Store(0)
	}
}

// feed delivers items to the channel of the client's mode until libsse
// has nothing queued (fedIdle), the stream ended or was stopped (fedEnd),
// or, without block, the channel is full (fedFull: the item that did not
// fit is kept for the next feed). With block it waits for room in the
// channel, or for the stop. Without the wait set, it waits in C for items
// (it then never returns fedIdle). The caller holds deliverMu.
func (c *client) feed(block bool) feedState {
	if c.batch == nil { // finished
		return fedIdle
	}
	if c.feedEnded {
		return fedEnd
	}
	if c.modeNow.Load() != int32(modeItems) {
		return c.feedEvents(block)
	}
	for {
		if c.held != nil {
			if !c.send(*c.held, block) {
				if c.isDone() {
					return c.feedEnd(nil)
				}
				return fedFull
			}
			c.held = nil
		}
		for c.pos < len(c.cur) {
			i := c.pos
			c.pos++
			item, _ := c.convert(i, true)
			if !c.send(item, block) {
				if c.isDone() {
					return c.feedEnd(nil)
				}
				held := item // allocated only here: item itself stays on the stack
				c.held = &held
				return fedFull
			}
		}
		if c.isDone() {
			return c.feedEnd(nil)
		}
		timeout := C.int32_t(-1)
		if c.wake != nil {
			timeout = 0
		}
		switch rc := c.fetch(timeout, block); rc {
		case C.SSE_OK:
		case C.SSE_TIMEOUT:
			return fedIdle
		default:
			return c.feedEnd(c.endOf(rc))
		}
	}
}

// feedEvents is feed for the Events mode. The messages of the batch taken
// are converted a chunk at a time (eventChunk: the chunk stays in the
// CPU's cache from its conversion to its sending), then sent in a tight
// loop: no Item, no per-event check of the stop (one per chunk; a send
// blocked on a full channel wakes on it). An event that does not fit
// stays at evs[pos] for the next feed.
func (c *client) feedEvents(block bool) feedState {
	for {
		evs, i := c.evs, c.pos
		for i < len(evs) {
			select {
			case c.events <- evs[i]:
				i++
				continue
			default:
			}
			if !block {
				c.pos = i
				if c.isDone() {
					return c.feedEnd(nil)
				}
				return fedFull
			}
			if c.yieldForRoom() {
				continue
			}
			select {
			case c.events <- evs[i]:
				i++
			case <-c.done:
				c.pos = i
				return c.feedEnd(nil)
			}
		}
		if c.isDone() {
			c.pos = i
			return c.feedEnd(nil)
		}
		if c.conv < len(c.cur) {
			var n int
			c.evs, n = c.cv.events(c.cur[c.conv:], evs[:0], eventChunk)
			c.conv += n
			c.pos = 0
			continue
		}
		c.pos = i
		timeout := C.int32_t(-1)
		if c.wake != nil {
			timeout = 0
		}
		switch rc := c.fetch(timeout, block); rc {
		case C.SSE_OK:
			c.evs, c.pos, c.conv = c.evs[:0], 0, 0
			c.track()
		case C.SSE_TIMEOUT:
			c.dropEvents()
			return fedIdle
		default:
			c.dropEvents()
			return c.feedEnd(c.endOf(rc))
		}
	}
}

// eventChunk is how many events feedEvents converts at a time.
const eventChunk = 64

// fullYields bounds how many times yieldForRoom lets other goroutines run.
const fullYields = 8

// yieldForRoom, on a full Events channel, lets the other goroutines run
// (runtime.Gosched) until the channel has room, at most fullYields times;
// it reports whether room came. The reader of a busy stream is usually
// ready to run on this very CPU: yielding lets it empty the channel at
// once, where parking on the send would have it wake this goroutine
// (and, through the scheduler, an idle OS thread) at its first receive,
// for every channel full. Measured on 40-byte events: 5-10% more
// events/s than parking at once. With no reader ready, each yield returns
// at once (a stalled reader costs a few microseconds per event it takes),
// then feedEvents parks as before.
func (c *client) yieldForRoom() bool {
	if cap(c.events) == 0 {
		return false // unbuffered: no room ever shows
	}
	for k := 0; k < fullYields; k++ {
		runtime.Gosched()
		if len(c.events) < cap(c.events) {
			return true
		}
	}
	return false
}

// dropEvents forgets the events sent (Events mode, all of evs sent), so
// that an idle client keeps none of their strings alive.
func (c *client) dropEvents() {
	for i := range c.evs {
		c.evs[i] = Event{}
	}
	c.evs, c.pos = c.evs[:0], 0
	c.cv.release()
}

// track keeps track of the errors among the items of the batch taken, for
// the modes that deliver messages only (Events, Next): they matter only
// for the final error, so they are seen when the batch is taken.
func (c *client) track() {
	for i := range c.cur {
		if k := c.cur[i].kind; k != C.SSE_KIND_MESSAGE && k != C.SSE_KIND_COMMENT {
			c.convert(i, false)
		}
	}
}

// feedEnd records that the feeding is over, with the final error.
func (c *client) feedEnd(final error) feedState {
	c.feedEnded = true
	c.endErr = final
	return fedEnd
}

// send delivers one item (the Items mode): with block it waits for room
// or the stop (false), else it fails when the channel is full.
func (c *client) send(item Item, block bool) bool {
	select {
	case c.items <- item:
		return true
	default:
	}
	if !block {
		return false
	}
	select {
	case c.items <- item:
		return true
	case <-c.done:
		return false
	}
}

// busyWait is how long a reader of a busy stream (its previous batch came
// less than busyWait ago) waits in C for the next batch before it waits
// on the wait set: a fast stream is then read without a hand-over through
// the wait set's goroutine at every batch, while a slow one (most streams
// of a process with thousands) never holds an OS thread.
const busyWait = time.Millisecond

// maxBusyWaiters bounds the readers waiting in C at once (busyWait), so
// the OS threads they hold stay few whatever the number of clients (a
// burst of thousands of streams turning busy at once waits on the wait set
// beyond these).
const maxBusyWaiters = 8

// busyWaiters counts the readers waiting in C for busyWait.
var busyWaiters atomic.Int32

// fetch takes one batch out of C into c.batch (and, for Items, copies its
// texts; Events and Next convert its messages themselves, NextBytes lends
// them); c.cur is then its items, c.pos 0. It waits up to timeout, or, with timeout 0
// and may set, up to busyWait for a busy stream (if fewer than
// maxBusyWaiters do).
func (c *client) fetch(timeout C.int32_t, may bool) C.enum_sse_status {
	if may && timeout == 0 && time.Since(c.lastBatch) < busyWait {
		if busyWaiters.Add(1) <= maxBusyWaiters {
			timeout = C.int32_t(busyWait / time.Millisecond)
		}
		defer busyWaiters.Add(-1)
	}
	rc := C.gosse_client_pull(c.h, c.batch, timeout)
	c.cur, c.pos = nil, 0
	if rc == C.SSE_OK {
		c.lastBatch = time.Now()
		c.cur = batchItems(c.batch)
		switch mode(c.modeNow.Load()) {
		case modeNextBytes, modeEvents, modeNext: // lend the data, or convert it later
		default:
			c.texts = c.cv.texts(c.cur, c.texts[:0])
		}
	}
	return rc
}

// endOf marks the stream as ended and returns its final error, for a
// status of libsse other than SSE_OK and SSE_TIMEOUT.
func (c *client) endOf(rc C.enum_sse_status) error {
	c.ended = true
	if rc == C.SSE_CLOSED {
		return nil
	}
	if c.fatal != nil {
		return c.fatal
	}
	return &Error{Code: Code(rc), Message: clientError(c.h), Err: c.lastErr}
}

// convert converts item i of the current batch (messages only, unless
// items), keeping track of the errors; ok is false for an item not
// delivered in this mode.
func (c *client) convert(i int, items bool) (item Item, ok bool) {
	it := &c.cur[i]
	switch it.kind {
	case C.SSE_KIND_MESSAGE:
		return Item{Kind: KindMessage, Event: c.cv.message(it, c.texts[i])}, true
	case C.SSE_KIND_COMMENT:
		return Item{Kind: KindComment, Comment: c.texts[i]}, items
	}
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
	return item, items
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
