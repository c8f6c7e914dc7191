package sse_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"libsse.dev/sse"
)

func TestParserFeed(t *testing.T) {
	p := sse.NewParser()
	defer p.Close()
	var got []sse.Event
	for _, piece := range []string{"\xef\xbb\xbfretry: 250\nid: 7\r", "\nevent: up\ndata: a\x00b\n", "data: c\n\n: ping\n", "data: d\n\ndata: cut"} {
		got = append(got, p.Feed([]byte(piece))...)
	}
	p.Finish()
	// The retry: line is in the first event's block: only that one carries it.
	want := []sse.Event{{Type: "up", Data: "a\x00b\nc", ID: "7", Retry: 250 * time.Millisecond}, {Type: "message", Data: "d", ID: "7"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("events = %q", got)
	}
	if r, ok := p.Retry(); !ok || r != 250*time.Millisecond {
		t.Errorf("Retry() = %v, %v", r, ok)
	}
	if p.LastEventID() != "7" {
		t.Errorf("LastEventID() = %q", p.LastEventID())
	}
	if p.Feed(nil) != nil {
		t.Error("the unterminated event was delivered")
	}
}

func TestParserNULInType(t *testing.T) {
	p := sse.NewParser()
	defer p.Close()
	evs := p.Feed([]byte("event: a\x00b\ndata: x\x00y\n\n"))
	if len(evs) != 1 || evs[0].Type != "a\x00b" || evs[0].Data != "x\x00y" {
		t.Fatalf("events = %q", evs)
	}
}

func TestParserItemsAndLimit(t *testing.T) {
	p := sse.NewParserLimit(16)
	defer p.Close()
	items := p.FeedItems([]byte(": hello\ndata: " + strings.Repeat("x", 100) + "\n\ndata: ok\n\n"))
	if len(items) != 2 || items[0].Comment != "hello" || items[1].Event.Data != "ok" {
		t.Fatalf("items = %+v", items)
	}
	if err := p.Err(); !errors.Is(err, sse.ErrTooLarge) {
		t.Errorf("Err() = %v", err)
	}
	p.Close()
	p.Close()
}

func TestParserManyEvents(t *testing.T) {
	// More items than one C batch holds, from one Feed.
	p := sse.NewParser()
	defer p.Close()
	evs := p.Feed([]byte(strings.Repeat("id: 1\ndata: x\n\n", 1000)))
	if len(evs) != 1000 || evs[999] != (sse.Event{Type: "message", Data: "x", ID: "1"}) {
		t.Fatalf("%d events, last %+v", len(evs), evs[len(evs)-1])
	}
}

func TestDecoderOverNetHTTP(t *testing.T) {
	resp, err := http.Get(baseURL + "/ticker?count=3&retry=500")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	d := sse.NewDecoder(resp.Body)
	var ids []string
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	if strings.Join(ids, ",") != "1,2,3" || d.LastEventID() != "3" {
		t.Fatalf("ids %v, last %q", ids, d.LastEventID())
	}
	if _, err := d.Next(); err != io.EOF {
		t.Errorf("Next after EOF = %v", err)
	}
}
