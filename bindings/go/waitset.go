package sse

// #include "gosse.h"
import "C"

import (
	"os"
	"sync"
	"time"
)

// waitSet is the process-wide libsse wait set (sse_waitset): every client
// joins it under a token, and one goroutine waits for its descriptor to
// turn readable (in Go's netpoller, so no OS thread is held while it
// waits), takes the tokens of the clients with news, and wakes each one's
// reader (its pump goroutine, Next, or a Close draining it) through the
// client's wake channel. A reader takes items from libsse without waiting
// (timeout 0) and waits on its wake channel when there are none, so no
// client ever parks an OS thread in a blocking cgo call: 10,000 clients
// cost one descriptor and one goroutine here, not 10,000 threads.
type waitSet struct {
	set  *C.struct_sse_waitset // never freed: it lives as long as the process
	file *os.File              // a duplicate of the set's descriptor, in the netpoller; kept so it is never closed

	mu        sync.RWMutex
	members   map[uint64]*client // token → client
	next      uint64             // the last token handed out
	kicks     []*client          // dispatch's scratch (the set's goroutine only)
	last      time.Time          // the last wake-up with news (the set's goroutine only)
	lastFirst uint64             // the first token it took
}

// readyBatch is how many tokens one sse_waitset_ready call takes.
const readyBatch = 512

var (
	sharedOnce sync.Once
	shared     *waitSet // nil when libsse could not create a wait set
)

// sharedWaitSet returns the process-wide wait set, creating it and
// starting its goroutine on first use; nil if libsse could not create it
// (then clients wait in C, one OS thread each while they wait).
func sharedWaitSet() *waitSet {
	sharedOnce.Do(func() {
		set := C.sse_waitset_new()
		if set == nil {
			return
		}
		w := &waitSet{set: set, members: make(map[uint64]*client)}
		shared = w
		go w.run()
	})
	return shared
}

// join adds c (not yet shared with other goroutines) to the set, setting
// its token and wake channel (left nil if it could not join: the client
// then waits in C).
func (w *waitSet) join(c *client) {
	wake := make(chan struct{}, 1)
	w.mu.Lock()
	w.next++
	token := w.next
	c.token, c.wake = token, wake // before the set can list it
	w.members[token] = c
	w.mu.Unlock()
	if C.sse_client_join_waitset(c.h, w.set, C.uint64_t(token)) != C.SSE_OK {
		w.leave(token)
		c.token, c.wake = 0, nil // never listed: the set never saw these
	}
}

// leave forgets a token (its client is freed); a late token of it is
// ignored.
func (w *waitSet) leave(token uint64) {
	w.mu.Lock()
	delete(w.members, token)
	w.mu.Unlock()
}

// dispatch serves the clients of tokens: the channel of one read with
// Events or Items is fed right here (see client.kick); the others get a
// signal on their wake channel. A wake channel holds one signal: a client
// with a signal pending already loses nothing, as its reader takes
// everything queued before it waits again.
func (w *waitSet) dispatch(tokens []uint64) {
	kicks := w.kicks[:0]
	w.mu.RLock()
	for _, t := range tokens {
		c, ok := w.members[t]
		if !ok {
			continue
		}
		if m := mode(c.modeNow.Load()); m == modeEvents || m == modeItems {
			kicks = append(kicks, c)
			continue
		}
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	w.mu.RUnlock()
	for i, c := range kicks {
		c.kick()
		kicks[i] = nil
	}
	w.kicks = kicks[:0]
}

// coalesce: when news comes faster than one wake-up per coalesce, the
// set's goroutine waits that long before it looks again, so that one
// wake-up serves the news of many clients (the descriptor stays signalled
// meanwhile: libsse writes to it only once). Below that rate news is
// served at once; and a reader of a busy stream does not wait for the set
// (see busyWait), so the pause never slows a fast stream.
const coalesce = 500 * time.Microsecond

// take takes the listed tokens into buf and dispatches them until fewer
// than asked came out; then, at a high rate of wake-ups, it pauses (see
// coalesce).
func (w *waitSet) take(buf *[readyBatch]uint64) {
	got := 0
	for {
		n := int(C.sse_waitset_ready(w.set, (*C.uint64_t)(&buf[0]), readyBatch))
		got += n
		w.dispatch(buf[:n])
		if n < readyBatch {
			break
		}
	}
	if got > 0 {
		now := time.Now()
		if now.Sub(w.last) < coalesce {
			time.Sleep(coalesce)
		}
		w.last = now
	}
}

// run is the set's goroutine: it waits for the descriptor in Go's
// netpoller (a duplicate of libsse's non-blocking eventfd), or, where that
// is not possible, in one blocking poll in C (one OS thread for all
// clients).
func (w *waitSet) run() {
	buf := new([readyBatch]uint64)
	if fd := int(C.gosse_dup_cloexec(C.sse_waitset_fd(w.set))); fd >= 0 {
		w.file = os.NewFile(uintptr(fd), "libsse-waitset")
		if rc, err := w.file.SyscallConn(); err == nil {
			// Returns only if the descriptor cannot wait in the netpoller
			// (a blocking one): then wait in C below.
			_ = rc.Read(func(uintptr) bool {
				w.take(buf)
				return false
			})
		}
	}
	for {
		C.gosse_waitset_wait(w.set)
		w.take(buf)
	}
}
