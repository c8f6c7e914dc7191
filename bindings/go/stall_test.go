package sse_test

// Issue 15: a Go consumer that stops reading an endless fast stream holds
// at most libsse's queue bound, whichever way it reads.

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"libsse.dev/sse"
)

// heapBytes is the Go heap in use after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStalledConsumerHoldsTheQueueBound: with a consumer stalled for a
// second on /fast (the server could send ~100 MB meanwhile), libsse stops
// reading once its queue holds its capacity (plus one read's batch), the
// Go side holds at most its channel and one batch, RSS and the Go heap
// stay flat, and the stream goes on when the consumer does.
func TestStalledConsumerHoldsTheQueueBound(t *testing.T) {
	const capacity = 1000
	const token = `{"token":"`
	for _, mode := range []string{"Events", "Next", "NextBytes"} {
		t.Run(mode, func(t *testing.T) {
			c := connect(t, "/fast?count=0&size=40", sse.WithQueueCapacity(capacity), sse.WithMaxRetries(0))
			var take func() string
			switch mode {
			case "Events":
				ch := c.Events()
				take = func() string {
					select {
					case ev, ok := <-ch:
						if !ok {
							t.Fatalf("stream ended: %v", c.Err())
						}
						return ev.Data
					case <-time.After(10 * time.Second):
						t.Fatal("no event in 10 s")
					}
					return ""
				}
			case "Next":
				take = func() string {
					ev, err := c.Next()
					if err != nil {
						t.Fatalf("Next: %v", err)
					}
					return ev.Data
				}
			default:
				take = func() string {
					ev, err := c.NextBytes()
					if err != nil {
						t.Fatalf("NextBytes: %v", err)
					}
					return string(ev.Data)
				}
			}
			if d := take(); !strings.HasPrefix(d, token) {
				t.Fatalf("first event %q", d)
			}
			time.Sleep(300 * time.Millisecond) // the queue fills
			rss, heap := rssKiB(), heapBytes()
			if rss < 0 {
				t.Skip("no VmRSS in /proc/self/status")
			}
			time.Sleep(time.Second) // stalled
			rssGrown, heapAfter := rssKiB()-rss, heapBytes()
			st := c.Stats()
			if st.QueuePeak > capacity+2048 {
				t.Errorf("queue peak %d items, bound %d (+ one read's batch)", st.QueuePeak, capacity)
			}
			if st.QueuePeak < capacity/2 {
				t.Errorf("queue peak %d: the stream was not backed up, nothing measured", st.QueuePeak)
			}
			if rssGrown > 20_000 {
				t.Errorf("RSS grew %d KiB while the consumer stalled", rssGrown)
			}
			if heapAfter > heap+8<<20 {
				t.Errorf("Go heap grew %d -> %d bytes while the consumer stalled", heap, heapAfter)
			}
			for k := 0; k < 5000; k++ { // and it goes on
				if d := take(); !strings.HasPrefix(d, token) {
					t.Fatalf("event %d after the stall: %q", k, d)
				}
			}
		})
	}
}
