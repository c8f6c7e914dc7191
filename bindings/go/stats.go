package sse

// #include "gosse.h"
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// Stats are a client's counters at one moment (Client.Stats).
type Stats struct {
	Events      uint64 // message events delivered (after WithEventTypes' filter)
	DataBytes   uint64 // bytes of those events' data
	WireBytes   uint64 // bytes received from the server (heads and bodies, before chunked and gzip decoding)
	Connections uint64 // connections opened (responses accepted as a stream)
	Reconnects  uint64 // reconnections scheduled
	Errors      uint64 // errors reported, fatal or not
	// ErrorsByCode counts the errors by code, e.g. ErrorsByCode[CodeIO];
	// only codes seen are present (nil if no error was reported).
	ErrorsByCode  map[Code]uint64
	QueueDepth    uint64        // items waiting in libsse's queue now
	QueuePeak     uint64        // the most items the queue held at once
	Connected     bool          // whether a connection is open now
	ConnectedTime time.Duration // time spent connected, the open connection included
	LastEventAt   time.Time     // when the last message event was delivered; zero if none
	LastErrorAt   time.Time     // when the last error was reported; zero if none
	LastErrorCode Code          // the last error's code; CodeOK if none
	LastError     string        // the last error's message (cut to 255 bytes); "" if none
}

// Stats returns the client's counters now. Cheap, and safe from any
// goroutine at any time; once the stream has ended (or Close returned),
// it returns the counters as they were at the end.
func (cl *Client) Stats() Stats {
	s := cl.c.Stats()
	runtime.KeepAlive(cl)
	return s
}

// Stats is Client.Stats.
func (c *client) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.h != nil {
		return readStats(c.h)
	}
	if c.final == nil { // not possible: h is freed only after final is set
		return Stats{}
	}
	s := *c.final
	if s.ErrorsByCode != nil { // a copy the caller may change
		m := make(map[Code]uint64, len(s.ErrorsByCode))
		for k, v := range s.ErrorsByCode {
			m[k] = v
		}
		s.ErrorsByCode = m
	}
	return s
}

// readStats reads the counters of a live C client.
func readStats(h *C.struct_sse_client) Stats {
	var st C.struct_sse_stats
	st.size = C.uintptr_t(unsafe.Sizeof(st))
	if C.sse_client_stats(h, &st) != C.SSE_OK {
		return Stats{}
	}
	s := Stats{
		Events:        uint64(st.events),
		DataBytes:     uint64(st.data_bytes),
		WireBytes:     uint64(st.wire_bytes),
		Connections:   uint64(st.connections),
		Reconnects:    uint64(st.reconnects),
		Errors:        uint64(st.errors),
		QueueDepth:    uint64(st.queue_depth),
		QueuePeak:     uint64(st.queue_peak),
		Connected:     bool(st.connected),
		ConnectedTime: time.Duration(st.connected_ms) * time.Millisecond,
		LastErrorCode: Code(st.last_error_status),
		LastError:     C.GoString(&st.last_error[0]),
	}
	for i, n := range st.errors_by_status {
		if n != 0 {
			if s.ErrorsByCode == nil {
				s.ErrorsByCode = make(map[Code]uint64)
			}
			s.ErrorsByCode[Code(i)] = uint64(n)
		}
	}
	if st.last_event_unix_ms != 0 {
		s.LastEventAt = time.UnixMilli(int64(st.last_event_unix_ms))
	}
	if st.last_error_unix_ms != 0 {
		s.LastErrorAt = time.UnixMilli(int64(st.last_error_unix_ms))
	}
	return s
}
