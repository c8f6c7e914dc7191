package sse_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"libsse.dev/sse"
)

// Events delivers every message exactly once and in order, with its type,
// id and data, across many batches (comments and the channel's buffer
// filling up in between): whatever the buffer, and with a consumer that
// pauses now and then (so that batches grow large and the feeding stops
// on a full channel in the middle of one).
func TestEventsOrderAcrossBatches(t *testing.T) {
	const count = 30000
	for _, buffer := range []int{0, 1, 16, 1000} {
		buffer := buffer
		t.Run(fmt.Sprintf("buffer=%d", buffer), func(t *testing.T) {
			t.Parallel()
			c := connect(t, fmt.Sprintf("/ticker?count=%d&event=e&comment_every=7", count),
				sse.WithMaxRetries(0), sse.WithBuffer(buffer))
			ch := c.Events()
			if cap(ch) != buffer {
				t.Fatalf("cap(Events()) = %d, want %d", cap(ch), buffer)
			}
			n := 0
			deadline := time.After(60 * time.Second)
			for {
				var ev sse.Event
				var ok bool
				select {
				case ev, ok = <-ch:
				case <-deadline:
					t.Fatalf("channel not closed after 60 s (%d events)", n)
				}
				if !ok {
					break
				}
				n++
				want := sse.Event{Type: "e", Data: "tick " + strconv.Itoa(n), ID: strconv.Itoa(n)}
				if ev != want {
					t.Fatalf("event %d = %+v, want %+v", n, ev, want)
				}
				if n%7000 == 0 {
					time.Sleep(20 * time.Millisecond) // libsse's queue fills meanwhile
				}
			}
			if n != count {
				t.Fatalf("got %d events, want %d", n, count)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err() = %v", err)
			}
		})
	}
}

// Events loses and repeats nothing across reconnections either: a stream
// cut at random places, resumed with Last-Event-ID, read whole.
func TestEventsAcrossReconnections(t *testing.T) {
	const total = 20000
	seed := time.Now().UnixNano() % 1000000
	c := connect(t, fmt.Sprintf("/fault?total=%d&kills=8&seed=%d", total, seed),
		fast, sse.WithOnEnd(sse.OnEndEnd), sse.WithMaxRetries(20))
	evs := collect(t, c.Events(), 60*time.Second)
	if len(evs) != total {
		t.Fatalf("seed %d: got %d events, want %d (Err %v)", seed, len(evs), total, c.Err())
	}
	for i, ev := range evs {
		want := sse.Event{Type: "message", Data: "event " + strconv.Itoa(i+1), ID: strconv.Itoa(i + 1)}
		if ev != want {
			t.Fatalf("seed %d: event %d = %+v, want %+v", seed, i+1, ev, want)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("seed %d: Err() = %v", seed, err)
	}
	if st := c.Stats(); st.Reconnects == 0 {
		t.Fatalf("seed %d: no reconnection: the stream was not cut", seed)
	}
}

// Data of every size (empty: "data: " alone dispatches an event; small ones sharing an allocation, one
// larger than that allocation, large ones of their own) comes through
// Events and Next intact.
func TestEventsDataSizes(t *testing.T) {
	for _, size := range []int{0, 1, 40, 4095, 4096, 4097, 40000, 70000} {
		size := size
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			t.Parallel()
			const count = 300
			path := fmt.Sprintf("/fast?count=%d&size=%d", count, size)
			c := connect(t, path, sse.WithMaxRetries(0), sse.WithOnEnd(sse.OnEndEnd))
			evs := collect(t, c.Events(), 30*time.Second)
			n := connect(t, path, sse.WithMaxRetries(0), sse.WithOnEnd(sse.OnEndEnd))
			var next []sse.Event
			for {
				ev, err := n.Next()
				if err != nil {
					break
				}
				next = append(next, ev)
			}
			if len(evs) != count || len(next) != count {
				t.Fatalf("got %d events (Events), %d (Next), want %d", len(evs), len(next), count)
			}
			want := evs[0].Data
			if len(want) != size {
				t.Fatalf("data of %d bytes, want %d", len(want), size)
			}
			for i := range evs {
				if evs[i].Data != want || next[i].Data != want || evs[i].Type != "message" || next[i].Type != "message" {
					t.Fatalf("event %d differs: Events %q (%d B), Next %q (%d B)", i,
						evs[i].Type, len(evs[i].Data), next[i].Type, len(next[i].Data))
				}
			}
		})
	}
}

// Items keeps every item in order too when the channel fills up (the item
// that did not fit waits for the next feed): messages and comments of
// many batches through a one-item channel read with pauses.
func TestItemsOrderThroughFullChannel(t *testing.T) {
	const count = 5000
	c := connect(t, fmt.Sprintf("/ticker?count=%d&comment_every=3", count),
		sse.WithMaxRetries(0), sse.WithBuffer(1))
	items := make([]sse.Item, 0, count+count/3+2)
	deadline := time.After(60 * time.Second)
	ch := c.Items()
	for done := false; !done; {
		select {
		case it, ok := <-ch:
			if !ok {
				done = true
				break
			}
			items = append(items, it)
			if len(items)%1500 == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		case <-deadline:
			t.Fatalf("channel not closed after 60 s (%d items)", len(items))
		}
	}
	n, comments := 0, 0
	for i, it := range items {
		switch it.Kind {
		case sse.KindMessage:
			n++
			if want := "tick " + strconv.Itoa(n); it.Event.Data != want || it.Event.ID != strconv.Itoa(n) {
				t.Fatalf("item %d: event %+v, want data %q id %d", i, it.Event, want, n)
			}
		case sse.KindComment:
			comments++
			if n != comments*3 {
				t.Fatalf("item %d: comment after %d events, want after %d", i, n, comments*3)
			}
		}
	}
	if n != count || comments != count/3 {
		t.Fatalf("%d events, %d comments; want %d, %d", n, comments, count, count/3)
	}
	if first, last := items[0].Kind, items[len(items)-1].Kind; first != sse.KindOpen || last != sse.KindClosed {
		t.Fatalf("first item %v, last %v", first, last)
	}
}
