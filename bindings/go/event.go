package sse

// #include "gosse.h"
import "C"

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Event is one dispatched Server-Sent Event.
type Event struct {
	Type string // the event type: "message" unless the server sent `event:`
	Data string // the `data:` lines joined with "\n"
	ID   string // the last event id in force when the event was dispatched
	// Retry is the value of a `retry:` field in the event's own block of
	// lines (the client also applies it to its reconnection delay); 0 if
	// the block had none. A `retry: 0` also reads 0: Parser.Retry tells
	// the two apart.
	Retry time.Duration
}

// BytesEvent is an event read with Client.NextBytes: an Event whose Data
// is borrowed from libsse's memory instead of copied into a string.
type BytesEvent struct {
	Type string // the event type: "message" unless the server sent `event:`
	// Data is the `data:` lines joined with "\n", borrowed: valid until the
	// next NextBytes call on the client (see Client.NextBytes) while this
	// BytesEvent is reachable. Do not write to it, and copy what must
	// outlive the call.
	Data  []byte
	ID    string        // the last event id in force when the event was dispatched
	Retry time.Duration // as Event.Retry
	// src keeps the memory Data borrows reachable while the event is: a
	// Client collected unclosed does not free it under a reader.
	src *client
}

// Kind tells what an Item is.
type Kind int

// The kinds of items.
const (
	KindMessage      Kind = 0 // a dispatched event (Item.Event)
	KindComment      Kind = 1 // a comment line (Item.Comment)
	KindOpen         Kind = 2 // a connection opened (StatusCode, Header)
	KindError        Kind = 3 // a connection failed or broke (Err, Fatal, ...)
	KindReconnecting Kind = 4 // a reconnection follows (Attempt, Delay)
	KindClosed       Kind = 5 // the client stopped for good (CloseReason)
)

// String returns the kind's name, e.g. "message".
func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindComment:
		return "comment"
	case KindOpen:
		return "open"
	case KindError:
		return "error"
	case KindReconnecting:
		return "reconnecting"
	case KindClosed:
		return "closed"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// CloseReason tells why a client stopped (for KindClosed items).
type CloseReason int

// The reasons a client stops.
const (
	CloseNone        CloseReason = 0 // not a closed item
	CloseNoContent   CloseReason = 1 // the server answered 204 No Content
	CloseEndOfStream CloseReason = 2 // a one-shot stream ended cleanly
	CloseByUser      CloseReason = 3 // Close, or the context was cancelled
	CloseError       CloseReason = 4 // a fatal error (the item before) ended it
)

// String returns the reason's name, e.g. "no-content".
func (r CloseReason) String() string {
	switch r {
	case CloseNone:
		return "none"
	case CloseNoContent:
		return "no-content"
	case CloseEndOfStream:
		return "end-of-stream"
	case CloseByUser:
		return "by-user"
	case CloseError:
		return "error"
	}
	return "CloseReason(" + strconv.Itoa(int(r)) + ")"
}

// Item is anything a client reports, in stream order. Which fields are
// set depends on Kind.
type Item struct {
	Kind        Kind          // what the item is; says which fields below are set
	Event       Event         // KindMessage: the event
	Comment     string        // KindComment: the text after the colon (one leading space dropped)
	StatusCode  int           // KindOpen; KindError when the server answered (else 0)
	Header      http.Header   // KindOpen; KindError when the server answered (else nil)
	Err         error         // KindError: the failure (*HTTPStatusError, *ContentTypeError or *Error)
	Fatal       bool          // KindError: true when no reconnection follows
	Attempt     int           // KindReconnecting: the attempt number, from 1 since the last connection
	Delay       time.Duration // KindReconnecting: the wait before it
	CloseReason CloseReason   // KindClosed: why the client stopped
}

// smallData is the largest data copied into a batch's shared allocation;
// larger data gets an allocation of its own.
const smallData = 4096

// converter turns a C batch into Go values, reusing the strings of
// repeated types and ids.
type converter struct {
	lastType string
	lastID   string
	arena    strings.Builder // events: the shared allocation being filled
}

// cbytes is a view of C memory; copy it before the memory is freed.
func cbytes(p *C.char, n C.size_t) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// bytesToString makes a string sharing b's memory; b must never change.
func bytesToString(b []byte) string {
	return *(*string)(unsafe.Pointer(&b))
}

// batchItems returns a Go view of the filled part of a C batch.
func batchItems(b *C.gosse_batch) []C.gosse_item {
	if b.n == 0 {
		return nil
	}
	return unsafe.Slice(b.items, int(b.items_cap))[:int(b.n)]
}

// arenaMax bounds one shared allocation of texts: at most a small object
// of Go's allocator (from the per-P cache, no heap lock), so a batch of
// many small events takes a few of them, never one large allocation.
const arenaMax = 32 << 10

// texts copies the data of every message and comment of the batch; small
// ones into shared allocations of at most arenaMax bytes. It returns one
// string per item ("" for other kinds).
func (cv *converter) texts(items []C.gosse_item, out []string) []string {
	var arena []byte
	var shared string
	for i := range items {
		it := &items[i]
		s := ""
		if it.data_len > 0 && (it.kind == C.SSE_KIND_MESSAGE || it.kind == C.SSE_KIND_COMMENT) {
			n := int(it.data_len)
			if n <= smallData {
				if len(arena) < n {
					// A new arena, sized for the rest of the batch's
					// small texts (up to arenaMax).
					total := 0
					for j := i; j < len(items) && total < arenaMax; j++ {
						jt := &items[j]
						if (jt.kind == C.SSE_KIND_MESSAGE || jt.kind == C.SSE_KIND_COMMENT) && jt.data_len <= smallData {
							total += int(jt.data_len)
						}
					}
					if total < n {
						total = n
					}
					arena = make([]byte, total)
					shared = bytesToString(arena)
				}
				copy(arena, cbytes(it.data, it.data_len))
				s = shared[:n]
				arena, shared = arena[n:], shared[n:]
			} else {
				s = C.GoStringN(it.data, C.int(it.data_len))
			}
		}
		out = append(out, s)
	}
	return out
}

// events converts the messages of items, in order, appending their
// Events to out, until max were appended or items is exhausted; it
// returns out and how many items it went through (other kinds are
// skipped). Small data and ids are copied into shared allocations
// (cv.arena, at most arenaMax bytes each, sized for the rest of the
// batch), written without being zeroed first, each string a slice of one;
// larger data get an allocation of their own. The type "message" and a
// repeated type or id share one string.
func (cv *converter) events(items []C.gosse_item, out []Event, max int) ([]Event, int) {
	added := 0
	i := 0
	for ; i < len(items) && added < max; i++ {
		it := &items[i]
		if it.kind != C.SSE_KIND_MESSAGE {
			continue
		}
		// Filled in place, field by field (every field: the slot may hold
		// an older event): an Event built aside and then copied costs
		// more (the copy's wide loads stall on the fields' stores just
		// made).
		if len(out) < cap(out) {
			out = out[:len(out)+1]
		} else {
			out = append(out, Event{})
		}
		ev := &out[len(out)-1]
		ev.Type = cv.typeOf(it)
		if id := cbytes(it.id, it.id_len); string(id) != cv.lastID {
			cv.lastID = cv.text(id, items[i:])
		}
		ev.ID = cv.lastID
		ev.Data = cv.text(cbytes(it.data, it.data_len), items[i:])
		ev.Retry = 0
		if it.retry_ms > 0 {
			ev.Retry = time.Duration(it.retry_ms) * time.Millisecond
		}
		added++
	}
	return out, i
}

// messageOf converts the message item it, the first of rest (the items
// left in its batch, which size a new shared allocation): its type, id
// and data copied as events does, and its retry.
func (cv *converter) messageOf(it *C.gosse_item, rest []C.gosse_item) (typ, id, data string, retry time.Duration) {
	typ = cv.typeOf(it)
	if b := cbytes(it.id, it.id_len); string(b) != cv.lastID {
		cv.lastID = cv.text(b, rest)
	}
	data = cv.text(cbytes(it.data, it.data_len), rest)
	if it.retry_ms > 0 {
		retry = time.Duration(it.retry_ms) * time.Millisecond
	}
	return typ, cv.lastID, data, retry
}

// text copies b, a string of the first of rest, into a Go string: a
// slice of the shared allocation if small (a new one, sized for the rest
// of the batch, when it is full), else a string of its own.
func (cv *converter) text(b []byte, rest []C.gosse_item) string {
	n := len(b)
	switch {
	case n == 0:
		return ""
	case n > smallData:
		return string(b)
	}
	if cv.arena.Cap()-cv.arena.Len() < n {
		cv.arena = strings.Builder{}
		cv.arena.Grow(arenaSize(rest, n))
	}
	start := cv.arena.Len()
	cv.arena.Write(b)
	// The bytes written never change (the builder only appends, and a new
	// one starts when it is full), so this slice stays valid whatever is
	// written after.
	return cv.arena.String()[start:]
}

// release lets go of the shared allocation being filled (a client going
// idle keeps no text alive).
func (cv *converter) release() { cv.arena = strings.Builder{} }

// arenaSize is the room for the small data and ids of the messages of
// items (an id counted even when it repeats the previous one's), up to
// arenaMax, and at least first.
func arenaSize(items []C.gosse_item, first int) int {
	total := 0
	for j := range items {
		jt := &items[j]
		if jt.kind != C.SSE_KIND_MESSAGE {
			continue
		}
		if jt.data_len <= smallData {
			total += int(jt.data_len)
		}
		if jt.id_len <= smallData {
			total += int(jt.id_len)
		}
		if total >= arenaMax {
			return arenaMax
		}
	}
	if total < first {
		total = first
	}
	return total
}

// message builds the Event of a message item whose data is already copied.
func (cv *converter) message(it *C.gosse_item, data string) Event {
	ev := Event{Type: cv.typeOf(it), Data: data, ID: cv.idOf(it)}
	if it.retry_ms > 0 {
		ev.Retry = time.Duration(it.retry_ms) * time.Millisecond
	}
	return ev
}

// typeOf returns the type of a message item, reusing the string of the
// previous one when equal.
func (cv *converter) typeOf(it *C.gosse_item) string {
	typ := cbytes(it._type, it.type_len)
	switch {
	case string(typ) == "message":
		return "message"
	case string(typ) == cv.lastType:
		return cv.lastType
	}
	cv.lastType = string(typ)
	return cv.lastType
}

// idOf returns the id of a message item, reusing the string of the
// previous one when equal.
func (cv *converter) idOf(it *C.gosse_item) string {
	if id := cbytes(it.id, it.id_len); string(id) != cv.lastID {
		cv.lastID = string(id)
	}
	return cv.lastID
}

// headers reads the response headers of an open or error item.
func headers(ev *C.struct_sse_event) http.Header {
	n := int(C.sse_event_header_count(ev))
	if n == 0 {
		return nil
	}
	h := make(http.Header, n)
	for i := 0; i < n; i++ {
		var name, value *C.char
		if C.sse_event_header(ev, C.uintptr_t(i), &name, &value) != C.SSE_OK {
			continue
		}
		key := http.CanonicalHeaderKey(C.GoString(name))
		h[key] = append(h[key], C.GoString(value))
	}
	return h
}

// lifecycle converts an open, error, reconnecting or closed item.
func lifecycle(it *C.gosse_item) Item {
	ev := it.ev
	item := Item{Kind: Kind(it.kind)}
	switch item.Kind {
	case KindOpen:
		item.StatusCode = int(C.sse_event_http_status(ev))
		item.Header = headers(ev)
	case KindError:
		item.StatusCode = int(C.sse_event_http_status(ev))
		item.Header = headers(ev)
		item.Fatal = bool(C.sse_event_is_fatal(ev))
		msg := C.GoStringN(it.data, C.int(it.data_len))
		var blen C.uintptr_t
		var body []byte
		if b := C.sse_event_error_body(ev, &blen); b != nil && blen > 0 {
			body = C.GoBytes(unsafe.Pointer(b), C.int(blen))
		}
		item.Err = newError(Code(C.sse_event_error_status(ev)), msg, item.StatusCode,
			item.Header, int64(C.sse_event_retry_after_ms(ev)), body)
	case KindReconnecting:
		item.Attempt = int(C.sse_event_attempt(ev))
		item.Delay = time.Duration(C.sse_event_delay_ms(ev)) * time.Millisecond
	case KindClosed:
		item.CloseReason = CloseReason(C.sse_event_close_reason(ev))
	}
	return item
}
