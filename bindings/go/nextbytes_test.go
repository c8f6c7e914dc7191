package sse_test

// NextBytes (borrowed data) and the wait set (no OS thread per client).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libsse.dev/sse"
)

func TestNextBytes(t *testing.T) {
	c := connect(t, "/ticker?count=600&event=e", sse.WithMaxRetries(0))
	for i := 1; i <= 600; i++ {
		ev, err := c.NextBytes()
		if err != nil || ev.ID != fmt.Sprint(i) || ev.Type != "e" || string(ev.Data) != fmt.Sprintf("tick %d", i) {
			t.Fatalf("NextBytes() #%d = %+v (%q), %v", i, ev, ev.Data, err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := c.NextBytes(); err != io.EOF {
			t.Fatalf("NextBytes() at the end = %v", err)
		}
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v", c.Err())
	}
	<-c.Done()
}

func TestNextBytesLarge(t *testing.T) {
	const size, count = 65536, 64
	c := connect(t, fmt.Sprintf("/fast?count=%d&size=%d", count, size), sse.WithMaxRetries(0))
	var first []byte
	for i := 0; i < count; i++ {
		ev, err := c.NextBytes()
		if err != nil || len(ev.Data) != size {
			t.Fatalf("NextBytes() #%d: %d bytes, %v", i, len(ev.Data), err)
		}
		if first == nil {
			first = append([]byte(nil), ev.Data...)
		} else if !bytes.Equal(ev.Data, first) {
			t.Fatalf("event #%d differs from the first", i)
		}
		if cap(ev.Data) != len(ev.Data) {
			t.Fatalf("cap %d > len %d: an append would write into libsse's memory", cap(ev.Data), len(ev.Data))
		}
	}
	if _, err := c.NextBytes(); err != io.EOF {
		t.Fatalf("NextBytes() at the end = %v", err)
	}
}

// The data lent by NextBytes stays valid after Close (or a cancellation)
// from another goroutine, until the next NextBytes call.
func TestNextBytesValidAfterClose(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		ctx, stop := context.WithCancel(context.Background())
		c, err := sse.Connect(ctx, baseURL+"/fast?count=0&size=100000")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.NextBytes()
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte(nil), ev.Data...)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if cancel {
				stop()
				<-c.Done()
			} else {
				c.Close()
			}
		}()
		<-done
		runtime.GC()
		if !bytes.Equal(ev.Data, want) {
			t.Fatalf("cancel=%v: the borrowed data changed after the stop", cancel)
		}
		for {
			ev, err = c.NextBytes()
			if err != nil {
				break
			}
			if len(ev.Data) != len(want) {
				t.Fatalf("an event of %d bytes", len(ev.Data))
			}
		}
		if cancel && !errors.Is(err, context.Canceled) || !cancel && err != io.EOF {
			t.Fatalf("cancel=%v: NextBytes() after the stop = %v", cancel, err)
		}
		stop()
	}
}

func TestNextBytesErrors(t *testing.T) {
	c := connect(t, "/status/401", fast)
	_, err := c.NextBytes()
	var se *sse.HTTPStatusError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Fatalf("NextBytes() = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c2, err := sse.Connect(ctx, baseURL+"/silent")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.NextBytes(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("NextBytes() after the deadline = %v", err)
	}
}

func TestNextBytesFromTwoGoroutinesPanics(t *testing.T) {
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
					if _, err := c.NextBytes(); err != nil {
						panic("NextBytes failed: " + err.Error())
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
	if !strings.Contains(m, "NextBytes called from several goroutines") {
		t.Fatalf("panic: %q", m)
	}
}

func TestNextBytesMixedPanics(t *testing.T) {
	c := connect(t, "/ticker?count=0&interval_ms=1")
	if _, err := c.NextBytes(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(){
		"Next":   func() { c.Next() },
		"Events": func() { c.Events() },
		"Items":  func() { c.Items() },
	} {
		if m := catch(f); !strings.Contains(m, name+" called on a Client read with NextBytes") {
			t.Errorf("%s after NextBytes: panic %q", name, m)
		}
	}
	c2 := connect(t, "/ticker?count=0&interval_ms=1")
	if _, err := c2.Next(); err != nil {
		t.Fatal(err)
	}
	if m := catch(func() { c2.NextBytes() }); !strings.Contains(m, "NextBytes called on a Client read with Next") {
		t.Errorf("NextBytes after Next: panic %q", m)
	}
	// While a batch is being delivered to the channel (the feeder owns
	// it), Next and NextBytes panic without touching it (under -race: no
	// data race with the feeder).
	c3 := connect(t, "/fast?count=0&size=40")
	ch := c3.Events()
	<-ch
	for name, f := range map[string]func(){
		"Next":      func() { c3.Next() },
		"NextBytes": func() { c3.NextBytes() },
	} {
		if m := catch(f); !strings.Contains(m, name+" called on a Client read with Events") {
			t.Errorf("%s after Events: panic %q", name, m)
		}
	}
}

// A reader that drops its clients while holding borrowed data, under GC
// pressure: the data stays readable until the next call, nothing crashes.
func TestNextBytesUnderGC(t *testing.T) {
	stop := gcPressure(t)
	defer stop()
	for i := 0; i < 20; i++ {
		c, err := sse.Connect(context.Background(), baseURL+"/fast?count=0&size=5000")
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 50; j++ {
			ev, err := c.NextBytes()
			if err != nil || len(ev.Data) != 5000 {
				t.Fatalf("NextBytes(): %d bytes, %v", len(ev.Data), err)
			}
		}
		if i%2 == 0 {
			c.Close()
		}
		// odd ones: dropped, the finalizer closes them
	}
}

// threads counts this process's OS threads (-1 without /proc).
func threads() int { return procCount("task") }

// Many clients waiting for news hold no OS thread each: the wait set's
// goroutine serves them all. Every way of reading is used.
func TestManyClientsBoundedThreads(t *testing.T) {
	if threads() < 0 {
		t.Skip("no /proc/self/task")
	}
	n := 400
	if os.Getenv("SSE_MANY_CLIENTS") != "" {
		fmt.Sscan(os.Getenv("SSE_MANY_CLIENTS"), &n)
	}
	before := threads()
	var got atomic.Int64
	var wg sync.WaitGroup
	clients := make([]*sse.Client, n)
	for i := range clients {
		c, err := sse.Connect(context.Background(), baseURL+"/ticker?count=0&interval_ms=200")
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			switch i % 4 {
			case 0:
				for range c.Events() {
					got.Add(1)
				}
			case 1:
				for it := range c.Items() {
					if it.Kind == sse.KindMessage {
						got.Add(1)
					}
				}
			case 2:
				for {
					if _, err := c.Next(); err != nil {
						return
					}
					got.Add(1)
				}
			case 3:
				for {
					if _, err := c.NextBytes(); err != nil {
						return
					}
					got.Add(1)
				}
			}
		}(i)
	}
	deadline := time.Now().Add(20 * time.Second)
	for got.Load() < int64(3*n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	during := threads()
	var closing sync.WaitGroup
	for _, c := range clients {
		closing.Add(1)
		go func(c *sse.Client) {
			defer closing.Done()
			c.Close()
		}(c)
	}
	closing.Wait()
	wg.Wait()
	t.Logf("%d clients: %d events, threads %d before, %d while reading", n, got.Load(), before, during)
	if got.Load() < int64(3*n) {
		t.Errorf("%d events from %d clients in 20 s", got.Load(), n)
	}
	if during-before > 40 {
		t.Errorf("threads: %d before, %d with %d clients waiting", before, during, n)
	}
}

// A consumer that does not read leaves the items in libsse's bounded
// queue: the channel holds its buffer, Go memory stays flat, and reading
// later goes on where it stopped; Close is prompt.
func TestEventsBackpressure(t *testing.T) {
	c := connect(t, "/fast?count=0&size=1000")
	ch := c.Events()
	deadline := time.Now().Add(10 * time.Second)
	for len(ch) < cap(ch) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	time.Sleep(300 * time.Millisecond) // the server keeps sending
	runtime.GC()
	runtime.ReadMemStats(&m1)
	st := c.Stats()
	if len(ch) != cap(ch) || st.QueueDepth == 0 {
		t.Fatalf("channel %d/%d, libsse queue %d: the items should wait in libsse", len(ch), cap(ch), st.QueueDepth)
	}
	if grown := int64(m1.HeapAlloc) - int64(m0.HeapAlloc); grown > 4<<20 {
		t.Fatalf("the Go heap grew by %d bytes while nobody read", grown)
	}
	for i := 0; i < 10000; i++ {
		if ev := <-ch; len(ev.Data) != 1000 {
			t.Fatalf("event %d: %d bytes", i, len(ev.Data))
		}
	}
	began := time.Now()
	c.Close()
	if d := time.Since(began); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	for range ch {
	}
}

// Next converts each message of the batch it took when asked for, reading
// the batch without a lock: a Close (or a cancellation) from another
// goroutine while it is part way through leaves the batch readable, and
// Next returns the rest of it intact, then the end.
func TestNextRestOfBatchAfterClose(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		ctx, stop := context.WithCancel(context.Background())
		c, err := sse.Connect(ctx, baseURL+"/fast?count=0&size=100")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		want := ev.Data
		done := make(chan struct{})
		go func() {
			defer close(done)
			if cancel {
				stop()
				<-c.Done()
			} else {
				c.Close()
			}
		}()
		<-done
		// Churn the C heap: memory freed under Next would be reused.
		for i := 0; i < 20; i++ {
			o, err := sse.Connect(context.Background(), baseURL+"/fast?count=2000&size=100", sse.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			for {
				if _, err := o.NextBytes(); err != nil {
					break
				}
			}
			o.Close()
		}
		runtime.GC()
		n := 0
		for {
			ev, err = c.Next()
			if err != nil {
				break
			}
			if ev.Data != want || ev.Type != "message" {
				t.Fatalf("cancel=%v: event %d after the stop: %q %q", cancel, n, ev.Type, ev.Data)
			}
			n++
		}
		if cancel && !errors.Is(err, context.Canceled) || !cancel && err != io.EOF {
			t.Fatalf("cancel=%v: Next() after the stop = %v", cancel, err)
		}
		t.Logf("cancel=%v: %d events of the batch after the stop", cancel, n)
		stop()
	}
}
