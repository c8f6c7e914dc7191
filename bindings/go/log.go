package sse

// #include "gosse.h"
import "C"

import (
	"runtime/cgo"
	"sync"
)

// LogLevel is the severity of a libsse log message.
type LogLevel int

// The log levels, from most to least severe.
const (
	LogError LogLevel = 1 // a failure that ends a client
	LogWarn  LogLevel = 2 // a connection failed or broke; the client reconnects
	LogInfo  LogLevel = 3 // lifecycle: connecting, open, reconnecting, closed
	LogDebug LogLevel = 4 // details for debugging
)

// String returns the level's name, e.g. "warn".
func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	}
	return "unknown"
}

// logSink holds the current log function. libsse receives a cgo.Handle
// of it once; the handle is never deleted, because libsse may still be
// running a call with the old userdata after the callback is replaced.
type logSink struct {
	mu sync.RWMutex
	f  func(LogLevel, string)
}

var (
	sink       = &logSink{}
	sinkHandle cgo.Handle
	sinkOnce   sync.Once
	sinkMu     sync.Mutex
)

// SetLogFunc installs a process-wide function receiving libsse's log
// messages at level max or more severe (f nil removes it). f runs on
// libsse's threads, possibly concurrently: it must be safe for concurrent
// use, should return quickly, and must not call SetLogFunc.
func SetLogFunc(max LogLevel, f func(level LogLevel, message string)) {
	sinkMu.Lock()
	defer sinkMu.Unlock()
	sinkOnce.Do(func() { sinkHandle = cgo.NewHandle(sink) })
	sink.mu.Lock()
	sink.f = f
	sink.mu.Unlock()
	if f == nil {
		C.gosse_set_log(0, 0, C.int32_t(max))
		return
	}
	C.gosse_set_log(1, C.uintptr_t(sinkHandle), C.int32_t(max))
}

//export gosseLog
func gosseLog(handle C.uintptr_t, level C.int32_t, message *C.char) {
	s, ok := cgo.Handle(handle).Value().(*logSink)
	if !ok {
		return
	}
	s.mu.RLock()
	f := s.f
	s.mu.RUnlock()
	if f != nil {
		f(LogLevel(level), C.GoString(message))
	}
}
