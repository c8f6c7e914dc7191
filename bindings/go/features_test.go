package sse_test

// Issue 13: WithOnEnd, WithRequestHook, Client.Stats, HTTPStatusError.Body
// and Event.Retry, against the demo server.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"libsse.dev/sse"
)

// until reads items until want returns true for one (returned last), and
// fails the test if the channel closes first or after the timeout.
func until(t *testing.T, ch <-chan sse.Item, timeout time.Duration, want func(sse.Item) bool) []sse.Item {
	t.Helper()
	var out []sse.Item
	deadline := time.After(timeout)
	for {
		select {
		case it, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed before the wanted item: %s", kinds(out))
			}
			out = append(out, it)
			if want(it) {
				return out
			}
		case <-deadline:
			t.Fatalf("no wanted item after %v: %s", timeout, kinds(out))
		}
	}
}

// echoed is the request the demo server's /echo describes.
type echoed struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
}

func parseEcho(t *testing.T, data string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("echo %q: %v", data, err)
	}
	return e
}

// waitHooksReleased waits until libsse has released the request hooks
// down to want.
func waitHooksReleased(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for sse.LiveRequestHooks() > want {
		if time.Now().After(deadline) {
			t.Fatalf("%d request hook handle(s) not released (want %d)", sse.LiveRequestHooks(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOnEndByMethodPOSTEnds(t *testing.T) {
	c := connect(t, "/ticker?count=3", sse.WithMethod("POST"), fast)
	items := collectItems(t, c.Items(), 10*time.Second)
	if got, want := kinds(items), "open message message message closed"; got != want {
		t.Fatalf("kinds = %q, want %q", got, want)
	}
	if r := items[len(items)-1].CloseReason; r != sse.CloseEndOfStream {
		t.Errorf("close reason = %v", r)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestOnEndEndGETEnds(t *testing.T) {
	c := connect(t, "/ticker?count=3", sse.WithOnEnd(sse.OnEndEnd), fast)
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 3 || c.Err() != nil {
		t.Fatalf("events = %+v, Err() = %v", evs, c.Err())
	}
}

func TestOnEndReconnects(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sse.Option
	}{
		{"GET by default", nil},
		{"POST with OnEndReconnect", []sse.Option{sse.WithMethod("POST"), sse.WithOnEnd(sse.OnEndReconnect)}},
		{"GET with OnEndReconnect", []sse.Option{sse.WithOnEnd(sse.OnEndReconnect)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, "/ticker?count=3", append([]sse.Option{fast}, tc.opts...)...)
			messages, opens := 0, 0
			items := until(t, c.Items(), 10*time.Second, func(it sse.Item) bool {
				switch it.Kind {
				case sse.KindMessage:
					messages++
				case sse.KindOpen:
					opens++
				case sse.KindClosed:
					t.Fatalf("closed (%v) instead of reconnecting", it.CloseReason)
				}
				return opens == 2
			})
			if messages != 3 || !strings.Contains(kinds(items), "message reconnecting") {
				t.Errorf("items = %s", kinds(items))
			}
			if id := c.LastEventID(); id != "3" {
				t.Errorf("LastEventID() = %q", id)
			}
		})
	}
}

func TestOnEndInvalid(t *testing.T) {
	_, err := sse.Connect(context.Background(), baseURL+"/ticker", sse.WithOnEnd(sse.OnEnd(7)))
	if !errors.Is(err, sse.ErrArgument) {
		t.Fatalf("Connect with OnEnd(7) = %v", err)
	}
}

func TestRequestHookHeaders(t *testing.T) {
	before := sse.LiveRequestHooks()
	var n atomic.Int32
	var urls sync.Map
	c := connect(t, "/echo", fast,
		sse.WithHeader("Authorization", "Bearer from-config"),
		sse.WithHeader("X-Remove-Me", "1"),
		sse.WithHeader("X-Kept", "yes"),
		sse.WithRequestHook(func(r *sse.Request) error {
			i := n.Add(1)
			urls.Store(i, r.URL())
			if err := r.SetHeader("Authorization", fmt.Sprintf("Bearer token-%d", i)); err != nil {
				return err
			}
			if err := r.RemoveHeader("x-remove-me"); err != nil {
				return err
			}
			return r.SetQuery(fmt.Sprintf("attempt=%d", i))
		}))
	if got := sse.LiveRequestHooks(); got != before+1 {
		t.Errorf("live hooks = %d, want %d", got, before+1)
	}
	for i := 1; i <= 3; i++ {
		ev, err := c.Next()
		if err != nil {
			t.Fatalf("Next() #%d: %v", i, err)
		}
		e := parseEcho(t, ev.Data)
		if got, want := e.Headers["authorization"], fmt.Sprintf("Bearer token-%d", i); got != want {
			t.Errorf("echo %d: authorization = %q, want %q", i, got, want)
		}
		if got, want := e.Path, fmt.Sprintf("/echo?attempt=%d", i); got != want {
			t.Errorf("echo %d: path = %q, want %q", i, got, want)
		}
		if _, ok := e.Headers["x-remove-me"]; ok || e.Headers["x-kept"] != "yes" {
			t.Errorf("echo %d: headers = %v", i, e.Headers)
		}
	}
	if u, _ := urls.Load(int32(1)); u != baseURL+"/echo" {
		t.Errorf("first URL() = %v, want %s", u, baseURL+"/echo")
	}
	// Each attempt starts from the configured request: nothing the hook
	// changed carries over.
	if u, _ := urls.Load(int32(2)); u != baseURL+"/echo" {
		t.Errorf("second URL() = %v, want %s", u, baseURL+"/echo")
	}
	c.Close()
	waitHooksReleased(t, before)
}

// A hook failing the first attempt in each way gives an error item with
// CodeRequestHook and its message; the next attempt connects.
func TestRequestHookFailures(t *testing.T) {
	before := sse.LiveRequestHooks()
	for _, tc := range []struct {
		name    string
		hook    func(r *sse.Request) error
		message string
	}{
		{"error", func(r *sse.Request) error { return errors.New("no token yet") }, "request hook: no token yet"},
		{"panic", func(r *sse.Request) error { panic("kaboom") }, "kaboom"},
		{"invalid header", func(r *sse.Request) error {
			if err := r.SetHeader("X-Bad", "a\r\nb"); err == nil {
				return errors.New("SetHeader accepted CR LF")
			}
			return nil // the refused header fails the attempt anyway
		}, "request hook"},
		{"NUL in header", func(r *sse.Request) error {
			if err := r.SetHeader("X-Bad", "a\x00b"); err == nil {
				return errors.New("SetHeader accepted NUL")
			}
			return nil
		}, "NUL"},
		{"invalid query", func(r *sse.Request) error {
			if err := r.SetQuery("a b#c"); err == nil {
				return errors.New("SetQuery accepted a space")
			}
			return nil
		}, "request hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			c := connect(t, "/echo", fast, sse.WithOnEnd(sse.OnEndEnd), sse.WithRequestHook(func(r *sse.Request) error {
				if n.Add(1) == 1 {
					return tc.hook(r)
				}
				return nil
			}))
			items := until(t, c.Items(), 10*time.Second, func(it sse.Item) bool { return it.Kind == sse.KindMessage })
			if got := kinds(items); !strings.HasPrefix(got, "error reconnecting ") {
				t.Fatalf("kinds = %q", got)
			}
			first := items[0]
			var e *sse.Error
			if !errors.Is(first.Err, sse.ErrRequestHook) || !errors.As(first.Err, &e) || e.Code != sse.CodeRequestHook || first.Fatal {
				t.Fatalf("error item = %+v (%#v)", first, first.Err)
			}
			if !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q does not contain %q", e.Message, tc.message)
			}
			st := c.Stats()
			if st.ErrorsByCode[sse.CodeRequestHook] != 1 || st.Connections != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
	waitHooksReleased(t, before)
}

// A hook failing every attempt exhausts the retries like any retried error.
func TestRequestHookAlwaysFailing(t *testing.T) {
	before := sse.LiveRequestHooks()
	c := connect(t, "/echo", fast, sse.WithMaxRetries(1),
		sse.WithRequestHook(func(r *sse.Request) error { return errors.New("denied") }))
	collect(t, c.Events(), 10*time.Second)
	err := c.Err()
	if !errors.Is(err, sse.ErrRetriesExhausted) || !errors.Is(err, sse.ErrRequestHook) {
		t.Fatalf("Err() = %v", err)
	}
	waitHooksReleased(t, before)
}

// The hook's handle is released when Connect fails after the hook was set,
// and when a later option removes it.
func TestRequestHookReleased(t *testing.T) {
	before := sse.LiveRequestHooks()
	hook := sse.WithRequestHook(func(r *sse.Request) error { return nil })
	if _, err := sse.Connect(context.Background(), baseURL+"/echo", hook, sse.WithMaxRedirects(1), sse.WithOnEnd(9)); err == nil {
		t.Fatal("Connect with an invalid option succeeded")
	}
	waitHooksReleased(t, before)
	c := connect(t, "/echo", hook, sse.WithRequestHook(nil), sse.WithOnEnd(sse.OnEndEnd))
	waitHooksReleased(t, before)
	if evs := collect(t, c.Events(), 10*time.Second); len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
}

func TestStatsAfterStream(t *testing.T) {
	start := time.Now()
	c := connect(t, "/ticker?count=4", sse.WithOnEnd(sse.OnEndEnd))
	if evs := collect(t, c.Events(), 10*time.Second); len(evs) != 4 {
		t.Fatalf("events = %+v", evs)
	}
	st := c.Stats()
	if st.Events != 4 || st.Connections != 1 || st.Errors != 0 || st.Reconnects != 0 || st.ErrorsByCode != nil {
		t.Errorf("stats = %+v", st)
	}
	if st.DataBytes != uint64(4*len("tick 1")) || st.WireBytes <= st.DataBytes {
		t.Errorf("DataBytes = %d, WireBytes = %d", st.DataBytes, st.WireBytes)
	}
	if st.Connected || st.QueueDepth != 0 || st.QueuePeak == 0 {
		t.Errorf("stats = %+v", st)
	}
	if st.LastEventAt.Before(start.Add(-time.Second)) || time.Since(st.LastEventAt) > time.Minute || !st.LastErrorAt.IsZero() {
		t.Errorf("LastEventAt = %v, LastErrorAt = %v", st.LastEventAt, st.LastErrorAt)
	}
	if st.LastError != "" || st.LastErrorCode != sse.CodeOK {
		t.Errorf("last error = %v %q", st.LastErrorCode, st.LastError)
	}
	c.Close()
	if again := c.Stats(); again.Events != 4 {
		t.Errorf("Stats() after Close = %+v", again)
	}
}

func TestStatsErrors(t *testing.T) {
	c := connect(t, "/status/503", fast, sse.WithMaxRetries(2))
	collect(t, c.Events(), 10*time.Second)
	st := c.Stats()
	if st.Errors != 3 || st.Connections != 0 || st.Events != 0 {
		t.Errorf("stats = %+v", st)
	}
	var sum uint64
	for _, n := range st.ErrorsByCode {
		sum += n
	}
	if sum != st.Errors || st.ErrorsByCode[sse.CodeHTTPStatus] < 2 {
		t.Errorf("ErrorsByCode = %v", st.ErrorsByCode)
	}
	if st.LastErrorAt.IsZero() || st.LastError == "" || st.LastErrorCode == sse.CodeOK {
		t.Errorf("last error = %v %v %q", st.LastErrorAt, st.LastErrorCode, st.LastError)
	}
}

// Stats from many goroutines while the stream runs and closes.
func TestStatsConcurrent(t *testing.T) {
	c := connect(t, "/ticker?interval_ms=1", fast)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_ = c.Stats()
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if _, err := c.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); !st.Connected || st.Connections != 1 || st.Events < 20 {
		t.Errorf("stats while running = %+v", st)
	}
	c.Close()
	close(stop)
	wg.Wait()
}

func TestHTTPStatusErrorBody(t *testing.T) {
	c := connect(t, "/status/401?type=application/json&body=%7B%22error%22%3A%22bad%22%7D", fast)
	items := collectItems(t, c.Items(), 10*time.Second)
	if got := kinds(items); got != "error closed" {
		t.Fatalf("kinds = %q", got)
	}
	var item, final *sse.HTTPStatusError
	if !errors.As(items[0].Err, &item) || string(item.Body) != `{"error":"bad"}` {
		t.Errorf("error item = %#v", items[0].Err)
	}
	if !errors.As(c.Err(), &final) || string(final.Body) != `{"error":"bad"}` || final.StatusCode != 401 {
		t.Errorf("Err() = %#v", c.Err())
	}
	// Below retries exhausted, and through Next.
	c2 := connect(t, "/status/503", fast, sse.WithMaxRetries(1))
	_, err := c2.Next()
	var se *sse.HTTPStatusError
	if !errors.Is(err, sse.ErrRetriesExhausted) || !errors.As(err, &se) || string(se.Body) != "503 Service Unavailable\n" {
		t.Errorf("Next() = %#v", err)
	}
	// No body: nil.
	c3 := connect(t, "/status/404?body=", fast)
	collect(t, c3.Events(), 10*time.Second)
	if !errors.As(c3.Err(), &se) || se.Body != nil {
		t.Errorf("Err() = %#v", c3.Err())
	}
}

func TestEventRetry(t *testing.T) {
	once := sse.WithOnEnd(sse.OnEndEnd)
	// Events channel.
	evs := collect(t, connect(t, "/retry?ms=1234", once).Events(), 10*time.Second)
	if len(evs) != 1 || evs[0].Retry != 1234*time.Millisecond {
		t.Errorf("Events: %+v", evs)
	}
	// Items channel.
	items := collectItems(t, connect(t, "/retry?ms=250", once).Items(), 10*time.Second)
	if len(items) < 2 || items[1].Kind != sse.KindMessage || items[1].Event.Retry != 250*time.Millisecond {
		t.Errorf("Items: %+v", items)
	}
	// Next.
	ev, err := connect(t, "/retry?ms=77", once).Next()
	if err != nil || ev.Retry != 77*time.Millisecond {
		t.Errorf("Next() = %+v, %v", ev, err)
	}
	// Without retry: field, 0; the ticker's retry: has a block of its own.
	evs = collect(t, connect(t, "/ticker?count=2&retry=500", once).Events(), 10*time.Second)
	if len(evs) != 2 || evs[0].Retry != 0 || evs[1].Retry != 0 {
		t.Errorf("ticker: %+v", evs)
	}
	// Parser and Decoder.
	p := sse.NewParser()
	defer p.Close()
	got := p.Feed([]byte("retry: 500\ndata: a\n\ndata: b\n\nretry: x\ndata: c\n\nretry: 0\ndata: d\n\n"))
	want := []time.Duration{500 * time.Millisecond, 0, 0, 0}
	if len(got) != len(want) {
		t.Fatalf("Feed: %+v", got)
	}
	for i := range got {
		if got[i].Retry != want[i] {
			t.Errorf("event %d: Retry = %v, want %v", i, got[i].Retry, want[i])
		}
	}
	d := sse.NewDecoder(strings.NewReader("retry: 9\ndata: x\n\n"))
	if ev, err := d.Next(); err != nil || ev.Retry != 9*time.Millisecond {
		t.Errorf("Decoder.Next() = %+v, %v", ev, err)
	}
}

// The resume recipe of examples/go/resume, run twice against one ticker:
// the second run goes on where the first stopped, losing nothing.
func TestResumeExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an example")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "resume")
	build := exec.Command(goTool, "build", "-o", bin, "./resume")
	build.Dir = filepath.Join("..", "..", "examples", "go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "ticker.state")
	var lines []string
	for run := 1; run <= 2; run++ {
		cmd := exec.Command(bin, "-state", state, "-count", "4", baseURL+"/ticker?count=20")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(out)), "\n")...)
		saved, err := os.ReadFile(state)
		if err != nil || string(saved) != fmt.Sprint(4*run) {
			t.Fatalf("run %d: state file %q, %v", run, saved, err)
		}
	}
	if len(lines) != 8 {
		t.Fatalf("output: %q", lines)
	}
	for i, line := range lines {
		if want := fmt.Sprintf("%d\tmessage\ttick %d", i+1, i+1); line != want {
			t.Errorf("line %d = %q, want %q", i, line, want)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "ticker.state.*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
