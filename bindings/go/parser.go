package sse

// #include "gosse.h"
import "C"

import (
	"io"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

// Parser is an incremental event-stream parser for users with their own
// HTTP stack: feed it the response body's bytes in any chunking and take
// the events out. It follows the WHATWG rules exactly (CR/LF/CRLF line
// ends, BOM, UTF-8 repair, id and retry rules). A Parser is not safe for
// concurrent use: a call overlapping another call on the same Parser
// panics. Close frees it (a finalizer does too, later).
type Parser struct {
	busy    atomic.Int32 // 1 while a method is inside; see enter
	p       *C.struct_sse_parser
	batch   *C.gosse_batch
	cv      converter
	texts   []string
	dropped int
}

// NewParser returns a parser with the default size limit (16 MiB per line
// and per event).
func NewParser() *Parser { return NewParserLimit(0) }

// NewParserLimit returns a parser refusing lines or events larger than
// maxEventBytes (0 or less: the default, 16 MiB). Oversized events are
// dropped and counted (see Err); parsing goes on after them.
func NewParserLimit(maxEventBytes int) *Parser {
	if maxEventBytes < 0 {
		maxEventBytes = 0
	}
	p := &Parser{
		p:     C.sse_parser_new(C.uintptr_t(maxEventBytes)),
		batch: C.gosse_batch_new(256),
	}
	if p.p == nil || p.batch == nil {
		C.sse_parser_free(p.p)
		C.gosse_batch_free(p.batch)
		panic("sse: out of memory")
	}
	runtime.SetFinalizer(p, (*Parser).Close)
	return p
}

// enter marks the parser in use by the calling method, or panics if
// another call (from another goroutine) is inside: sharing a Parser
// would corrupt libsse's heap. Every method calls enter, then
// defer p.leave(), which also keeps p reachable (so its finalizer cannot
// free it) until its C calls are done.
func (p *Parser) enter(method string) {
	if !p.busy.CompareAndSwap(0, 1) {
		panic("sse: Parser." + method + " called while another goroutine is using the Parser: a Parser is not safe for concurrent use")
	}
}

// leave ends what enter began; being deferred, it keeps p alive (and
// its finalizer from running) until the method's C calls are over.
func (p *Parser) leave() {
	p.busy.Store(0)
	runtime.KeepAlive(p)
}

// Feed parses b and returns the events it completed (comments are
// skipped; see FeedItems). b is not retained.
func (p *Parser) Feed(b []byte) []Event {
	p.enter("Feed")
	defer p.leave()
	var out []Event
	p.feed(b, func(items []C.gosse_item, texts []string) {
		if cap(out)-len(out) < len(items) {
			grown := make([]Event, len(out), 2*len(out)+len(items))
			copy(grown, out)
			out = grown
		}
		for i := range items {
			if items[i].kind == C.SSE_KIND_MESSAGE {
				out = append(out, p.cv.message(&items[i], texts[i]))
			}
		}
	})
	return out
}

// FeedItems parses b and returns the messages (KindMessage) and comments
// (KindComment) it completed, in order. b is not retained.
func (p *Parser) FeedItems(b []byte) []Item {
	p.enter("FeedItems")
	defer p.leave()
	var out []Item
	p.feed(b, func(items []C.gosse_item, texts []string) {
		for i := range items {
			switch items[i].kind {
			case C.SSE_KIND_MESSAGE:
				out = append(out, Item{Kind: KindMessage, Event: p.cv.message(&items[i], texts[i])})
			case C.SSE_KIND_COMMENT:
				out = append(out, Item{Kind: KindComment, Comment: texts[i]})
			}
		}
	})
	return out
}

// feed feeds b to C and hands each batch of parsed items, with their
// copied texts, to emit. The caller holds enter.
func (p *Parser) feed(b []byte, emit func([]C.gosse_item, []string)) {
	if p.p == nil {
		panic("sse: Parser used after Close")
	}
	var rc C.enum_sse_status
	var ptr *C.uint8_t
	if len(b) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	n := C.size_t(len(b))
	for {
		C.gosse_parser_feed_take(p.p, ptr, n, p.batch, &rc)
		if rc == C.SSE_ERR_TOO_LARGE {
			p.dropped++
		}
		ptr, n = nil, 0 // fed once; then only take
		items := batchItems(p.batch)
		if len(items) > 0 {
			p.texts = p.cv.texts(items, p.texts[:0])
			emit(items, p.texts)
		}
		if len(items) < int(p.batch.cap) {
			break
		}
	}
	runtime.KeepAlive(b)
}

// Finish ends the stream: an unterminated event is discarded, never
// delivered. The parser is then ready for the next connection's stream,
// keeping the last event id and retry value.
func (p *Parser) Finish() {
	p.enter("Finish")
	defer p.leave()
	if p.p != nil {
		C.sse_parser_finish(p.p)
	}
}

// LastEventID returns the last event id the stream committed ("" if none).
func (p *Parser) LastEventID() string {
	p.enter("LastEventID")
	defer p.leave()
	if p.p == nil {
		return ""
	}
	return C.GoString(C.sse_parser_last_event_id(p.p))
}

// Retry returns the last valid `retry:` value and whether there was one.
func (p *Parser) Retry() (time.Duration, bool) {
	p.enter("Retry")
	defer p.leave()
	if p.p == nil {
		return 0, false
	}
	ms := int64(C.sse_parser_retry_ms(p.p))
	if ms < 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// Err returns an *Error with CodeTooLarge if events were dropped for
// exceeding the size limit, else nil.
func (p *Parser) Err() error {
	p.enter("Err")
	defer p.leave()
	if p.dropped == 0 {
		return nil
	}
	return &Error{Code: CodeTooLarge, Message: strconv.Itoa(p.dropped) + " oversized event(s) dropped"}
}

// Close frees the parser. Further calls of Feed panic; Close is idempotent.
// Close while another goroutine is inside a call on the parser panics.
func (p *Parser) Close() {
	p.enter("Close")
	defer p.leave()
	if p.p != nil {
		C.sse_parser_free(p.p)
		C.gosse_batch_free(p.batch)
		p.p, p.batch = nil, nil
		runtime.SetFinalizer(p, nil)
	}
}

// Decoder reads events from an io.Reader, such as a net/http response
// body, through a Parser. Not safe for concurrent use.
type Decoder struct {
	r       io.Reader
	p       *Parser
	buf     []byte
	pending []Event
	err     error
	id      string // the last event id, kept once the parser is freed
}

// NewDecoder returns a decoder reading from r with the default limits.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, p: NewParser(), buf: make([]byte, 32*1024)}
}

// Next returns the next event. At the end of the reader it returns io.EOF
// (an unterminated last event is discarded, as the specification says);
// a read error is returned as is. The parser is freed once an error is
// returned.
func (d *Decoder) Next() (Event, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return Event{}, d.err
		}
		n, err := d.r.Read(d.buf)
		if n > 0 {
			d.pending = d.p.Feed(d.buf[:n])
		}
		if err != nil {
			d.p.Finish()
			d.id = d.p.LastEventID()
			d.p.Close()
			d.err = err
		}
	}
	ev := d.pending[0]
	d.pending[0] = Event{}
	d.pending = d.pending[1:]
	return ev, nil
}

// LastEventID returns the last event id committed so far, for a
// reconnection's Last-Event-ID header.
func (d *Decoder) LastEventID() string {
	if d.err != nil {
		return d.id
	}
	return d.p.LastEventID()
}
