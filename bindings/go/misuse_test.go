package sse_test

// The misuse suite: careless uses of the binding (GC pressure, sharing
// what must not be shared, forgotten closes) must end in a panic with a
// message or just work, never in heap corruption or silent loss.

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libsse.dev/sse"
)

// gcPressure runs runtime.GC in a loop with GOGC=1 until stop is closed.
func gcPressure(t *testing.T) (stop func()) {
	t.Helper()
	old := debug.SetGCPercent(1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		debug.SetGCPercent(old)
	}
}

// catch runs f and returns the message of its panic ("" if none).
func catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// Item 1: a parser that becomes unreachable inside LastEventID, Retry or
// Finish must not be freed by its finalizer during the call.
func TestParserFinalizerDuringCalls(t *testing.T) {
	stop := gcPressure(t)
	defer stop()
	id := strings.Repeat("k", 4000)
	input := []byte("id: " + id + "\nretry: 1234\ndata: x\n\n")
	deadline := time.Now().Add(3 * time.Second)
	var bad atomic.Int64
	var calls atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				// Never closed: the parser is garbage right after its last use.
				p := sse.NewParser()
				p.Feed(input)
				var got string
				switch g % 3 {
				case 0:
					got = p.LastEventID()
				case 1:
					if r, ok := p.Retry(); !ok || r != 1234*time.Millisecond {
						got = "retry " + r.String()
					} else {
						got = id
					}
				case 2:
					p.Feed([]byte("id: " + id + "\ndata: y"))
					p.Finish()
					got = id
				}
				calls.Add(1)
				if got != id {
					bad.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of %d calls returned a wrong id or retry", n, calls.Load())
	}
	t.Logf("%d calls under GOGC=1 and a runtime.GC loop", calls.Load())
}

// Item 3: a parser shared by goroutines, or closed while another feeds it,
// panics with a message instead of corrupting the heap.
func TestParserSharedPanics(t *testing.T) {
	chunk := []byte(strings.Repeat("id: 1\ndata: "+strings.Repeat("z", 100)+"\n\n", 300))
	p := sse.NewParser()
	defer func() { catch(p.Close) }()
	deadline := time.Now().Add(20 * time.Second)
	var msgs sync.Map
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() && time.Now().Before(deadline) {
				if m := catch(func() { p.Feed(chunk) }); m != "" {
					msgs.Store(m, true)
					stopped.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	found := false
	msgs.Range(func(k, _ any) bool {
		m := k.(string)
		if !strings.Contains(m, "not safe for concurrent use") {
			t.Errorf("unexpected panic: %s", m)
		}
		found = true
		return true
	})
	if !found {
		t.Fatal("four goroutines fed one parser for 20 s without a panic")
	}
}

func TestParserCloseRacingFeed(t *testing.T) {
	chunk := []byte(strings.Repeat("data: "+strings.Repeat("z", 100)+"\n\n", 300))
	panics := 0
	for i := 0; i < 200; i++ {
		p := sse.NewParser()
		var feedMsg, closeMsg string
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 50 && feedMsg == ""; j++ {
				feedMsg = catch(func() { p.Feed(chunk) })
			}
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%5) * 50 * time.Microsecond)
			closeMsg = catch(p.Close)
		}()
		wg.Wait()
		for _, m := range []string{feedMsg, closeMsg} {
			switch {
			case m == "":
			case strings.Contains(m, "not safe for concurrent use"), strings.Contains(m, "after Close"):
				panics++
			default:
				t.Fatalf("unexpected panic: %s", m)
			}
		}
		catch(p.Close) // if Close itself panicked
	}
	if panics == 0 {
		t.Fatal("200 Close/Feed races and not one panic (Feed after Close must panic)")
	}
}

// Item 7: Next from two goroutines at once panics with a message.
func TestNextFromTwoGoroutinesPanics(t *testing.T) {
	c := connect(t, "/ticker?count=0&interval_ms=0")
	deadline := time.Now().Add(20 * time.Second)
	var msg atomic.Value
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() && time.Now().Before(deadline) {
				if m := catch(func() {
					if _, err := c.Next(); err != nil {
						panic("Next failed: " + err.Error())
					}
				}); m != "" {
					msg.Store(m)
					stopped.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	m, _ := msg.Load().(string)
	if m == "" {
		t.Fatal("two goroutines called Next for 20 s without a panic")
	}
	if !strings.Contains(m, "Next called from several goroutines") {
		t.Fatalf("unexpected panic: %s", m)
	}
}

// procCount counts the entries of a /proc/self directory (-1 if absent).
func procCount(dir string) int {
	entries, err := os.ReadDir("/proc/self/" + dir)
	if err != nil {
		return -1
	}
	return len(entries)
}

func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return -1
}

// Item 6: clients dropped without Close (never read, or after one Next)
// are closed by the garbage collector: libsse's threads and the sockets
// go away. SSE_UNCLOSED_CLIENTS sets the count (default 200).
func TestUnclosedClientsReclaimed(t *testing.T) {
	if libsseThreads(t) < 0 {
		t.Skip("no /proc/self/task")
	}
	n := 1000
	if s := os.Getenv("SSE_UNCLOSED_CLIENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	runtime.GC()
	threads0, tasks0, fds0, rss0 := libsseThreads(t), procCount("task"), procCount("fd"), rssKiB()
	func() {
		held := make([]*sse.Client, 0, n) // all alive at once, then dropped
		for i := 0; i < n; i++ {
			c, err := sse.Connect(context.Background(), baseURL+"/ticker?count=0&interval_ms=20")
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 { // read once, then drop it
				if _, err := c.Next(); err != nil {
					t.Fatal(err)
				}
			}
			held = append(held, c)
		}
		runtime.KeepAlive(held)
	}()
	time.Sleep(200 * time.Millisecond)
	threads1, tasks1, fds1, rss1 := libsseThreads(t), procCount("task"), procCount("fd"), rssKiB()
	deadline := time.Now().Add(60 * time.Second)
	// Threads on today's engine; descriptors on both (the engine loop has
	// no thread per client).
	for (libsseThreads(t) > threads0 || procCount("fd") > fds0+5) && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	debug.FreeOSMemory()
	threads2, tasks2, fds2, rss2 := libsseThreads(t), procCount("task"), procCount("fd"), rssKiB()
	t.Logf("%d unclosed clients: libsse threads %d -> %d -> %d, all threads %d -> %d -> %d, fds %d -> %d -> %d, RSS %d -> %d -> %d KiB",
		n, threads0, threads1, threads2, tasks0, tasks1, tasks2, fds0, fds1, fds2, rss0, rss1, rss2)
	if threads2 > threads0 {
		t.Fatalf("%d libsse threads left of %d unclosed clients", threads2-threads0, n)
	}
	if fds2 > fds0+5 {
		t.Fatalf("%d descriptors left of %d unclosed clients", fds2-fds0, n)
	}
	// The finalizers close on one goroutine: a goroutine per client would
	// park an OS thread per client in C (Go keeps them for good).
	if tasks2 > tasks0+16 {
		t.Fatalf("%d OS threads left of %d unclosed clients (%d before)", tasks2-tasks0, n, tasks0)
	}
}

// A BytesEvent keeps the memory its Data borrows: its Client collected
// unclosed (finalizer, Close) does not free it while the event is used.
func TestBytesEventOutlivesCollectedClient(t *testing.T) {
	for round := 0; round < 20; round++ {
		ev := func() sse.BytesEvent {
			c, err := sse.Connect(context.Background(), baseURL+"/ticker?count=0&interval_ms=5")
			if err != nil {
				t.Fatal(err)
			}
			ev, err := c.NextBytes()
			if err != nil {
				t.Fatal(err)
			}
			return ev // c is dropped here, unclosed
		}()
		want := string(ev.Data)
		if want != "tick 1" {
			t.Fatalf("first event %q", want)
		}
		for i := 0; i < 5; i++ {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			// Another client's batches would reuse freed C memory.
			other, err := sse.Connect(context.Background(), baseURL+"/ticker?count=3&interval_ms=1")
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 3; k++ {
				if _, err := other.NextBytes(); err != nil {
					t.Fatal(err)
				}
			}
			other.Close()
		}
		if got := string(ev.Data); got != want {
			t.Fatalf("round %d: Data changed from %q to %q after its client was collected", round, want, got)
		}
	}
}
