package sse_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"libsse.dev/sse"
)

// fast keeps reconnection delays short in tests.
var fast = sse.WithBackoff(sse.Backoff{Initial: 10 * time.Millisecond, Min: 5 * time.Millisecond, Max: 50 * time.Millisecond, NoJitter: true})

func connect(t *testing.T, path string, opts ...sse.Option) *sse.Client {
	t.Helper()
	c, err := sse.Connect(context.Background(), baseURL+path, opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// collect reads every event until the channel closes (or fails the test
// after the timeout).
func collect(t *testing.T, ch <-chan sse.Event, timeout time.Duration) []sse.Event {
	t.Helper()
	var out []sse.Event
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("channel not closed after %v (%d events)", timeout, len(out))
		}
	}
}

func collectItems(t *testing.T, ch <-chan sse.Item, timeout time.Duration) []sse.Item {
	t.Helper()
	var out []sse.Item
	deadline := time.After(timeout)
	for {
		select {
		case it, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, it)
		case <-deadline:
			t.Fatalf("channel not closed after %v (%d items)", timeout, len(out))
		}
	}
}

func kinds(items []sse.Item) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(it.Kind.String())
	}
	return b.String()
}

func TestVersion(t *testing.T) {
	if v := sse.Version(); !strings.HasPrefix(v, "0.") {
		t.Fatalf("Version() = %q", v)
	}
}

func TestEvents(t *testing.T) {
	c := connect(t, "/ticker?count=5&event=tick", sse.WithMaxRetries(0))
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 5 {
		t.Fatalf("got %d events: %+v", len(evs), evs)
	}
	for i, ev := range evs {
		want := sse.Event{Type: "tick", Data: fmt.Sprintf("tick %d", i+1), ID: fmt.Sprint(i + 1)}
		if ev != want {
			t.Errorf("event %d = %+v, want %+v", i, ev, want)
		}
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
	if id := c.LastEventID(); id != "5" {
		t.Errorf("LastEventID() = %q", id)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after the channel")
	}
}

func TestItemsLifecycle(t *testing.T) {
	c := connect(t, "/ticker?count=2&comment_every=1", sse.WithMaxRetries(0))
	items := collectItems(t, c.Items(), 10*time.Second)
	if got, want := kinds(items), "open message comment message comment closed"; got != want {
		t.Fatalf("kinds = %q, want %q", got, want)
	}
	open := items[0]
	if open.StatusCode != 200 || !strings.HasPrefix(open.Header.Get("Content-Type"), "text/event-stream") {
		t.Errorf("open item = %+v", open)
	}
	if items[2].Comment != "keep-alive" {
		t.Errorf("comment = %q", items[2].Comment)
	}
	if last := items[len(items)-1]; last.CloseReason != sse.CloseEndOfStream {
		t.Errorf("close reason = %v", last.CloseReason)
	}
}

func TestReconnectSendsLastEventID(t *testing.T) {
	// The server cuts the connection after 3 events; the client reconnects
	// with Last-Event-ID: 3 and the ticker resumes at 4.
	c := connect(t, "/ticker?count=6&drop_after=3", fast)
	var ids []string
	var sawError, sawReconnect bool
	timeout := time.After(10 * time.Second)
	for len(ids) < 6 {
		select {
		case it, ok := <-c.Items():
			if !ok {
				t.Fatalf("closed early: %v", c.Err())
			}
			switch it.Kind {
			case sse.KindMessage:
				ids = append(ids, it.Event.ID)
			case sse.KindError:
				sawError = true
				if it.Fatal || !errors.Is(it.Err, sse.ErrIO) {
					t.Errorf("error item = %+v (%v)", it, it.Err)
				}
			case sse.KindReconnecting:
				sawReconnect = true
			}
		case <-timeout:
			t.Fatalf("timeout; ids so far %v", ids)
		}
	}
	if got := strings.Join(ids, ","); got != "1,2,3,4,5,6" {
		t.Errorf("ids = %s", got)
	}
	if !sawError || !sawReconnect {
		t.Errorf("error item seen: %v, reconnecting item seen: %v", sawError, sawReconnect)
	}
}

func TestWithLastEventID(t *testing.T) {
	c := connect(t, "/ticker?count=5", sse.WithLastEventID("2"), sse.WithMaxRetries(0))
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 3 || evs[0].ID != "3" || evs[2].ID != "5" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestRequestOptions(t *testing.T) {
	c := connect(t, "/echo",
		sse.WithMethod("POST"),
		sse.WithBody([]byte(`{"prompt":"hi"}`)),
		sse.WithHeader("Authorization", "Bearer t0k"),
		sse.WithHeaders(map[string][]string{"X-Multi": {"a"}}),
		sse.WithLastEventID("41"),
		sse.WithConnectTimeout(2*time.Second),
		sse.WithReadTimeout(5*time.Second),
		sse.WithProxy(""),
		sse.WithMaxRedirects(3),
		sse.WithQueueCapacity(16),
		sse.WithMaxEventSize(1<<20),
		sse.WithMaxRetries(0))
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	var req struct {
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	if err := json.Unmarshal([]byte(evs[0].Data), &req); err != nil {
		t.Fatalf("echo %q: %v", evs[0].Data, err)
	}
	if req.Method != "POST" || req.Body != `{"prompt":"hi"}` {
		t.Errorf("echo = %+v", req)
	}
	for name, want := range map[string]string{
		"authorization": "Bearer t0k",
		"x-multi":       "a",
		"last-event-id": "41",
		"accept":        "text/event-stream",
	} {
		if got := req.Headers[name]; got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if evs[0].ID != "echo" {
		t.Errorf("id = %q", evs[0].ID)
	}
}

func TestHTTPStatusError(t *testing.T) {
	c := connect(t, "/status/404", fast)
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 0 {
		t.Errorf("events = %+v", evs)
	}
	err := c.Err()
	var se *sse.HTTPStatusError
	if !errors.As(err, &se) || se.StatusCode != 404 || !errors.Is(err, sse.ErrHTTPStatus) {
		t.Fatalf("Err() = %#v", err)
	}
	if se.Header.Get("X-Request-Number") == "" || se.RetryAfter != -1 {
		t.Errorf("HTTPStatusError = %+v", se)
	}
}

func TestHTTPStatusRetryAfter(t *testing.T) {
	c := connect(t, "/status/503?retry_after=7", sse.WithMaxRetries(0))
	items := collectItems(t, c.Items(), 10*time.Second)
	if got := kinds(items); got != "error closed" {
		t.Fatalf("kinds = %q", got)
	}
	if !items[0].Fatal || items[0].StatusCode != 503 || items[1].CloseReason != sse.CloseError {
		t.Errorf("items = %+v", items)
	}
	var se *sse.HTTPStatusError
	if !errors.As(c.Err(), &se) || se.StatusCode != 503 || se.RetryAfter != 7*time.Second {
		t.Fatalf("Err() = %#v", c.Err())
	}
}

func TestRetriesExhausted(t *testing.T) {
	c := connect(t, "/status/503", fast, sse.WithMaxRetries(2))
	items := collectItems(t, c.Items(), 10*time.Second)
	if got, want := kinds(items), "error reconnecting error reconnecting error closed"; got != want {
		t.Errorf("kinds = %q, want %q", got, want)
	}
	err := c.Err()
	if !errors.Is(err, sse.ErrRetriesExhausted) {
		t.Fatalf("Err() = %v", err)
	}
	var se *sse.HTTPStatusError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("no HTTPStatusError 503 below %v", err)
	}
	var e *sse.Error
	if !errors.As(err, &e) || e.Code != sse.CodeRetriesExhausted {
		t.Errorf("errors.As(*Error) failed on %v", err)
	}
}

func TestNoContent(t *testing.T) {
	c := connect(t, "/status/204")
	items := collectItems(t, c.Items(), 10*time.Second)
	if got := kinds(items); got != "closed" || items[0].CloseReason != sse.CloseNoContent {
		t.Fatalf("items = %+v", items)
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestContentTypeError(t *testing.T) {
	c := connect(t, "/content-type?type=text/plain", fast)
	collect(t, c.Events(), 10*time.Second)
	err := c.Err()
	var ce *sse.ContentTypeError
	if !errors.Is(err, sse.ErrContentType) || !errors.As(err, &ce) {
		t.Fatalf("Err() = %#v", err)
	}
	if ce.ContentType != "text/plain" || ce.StatusCode != 200 {
		t.Errorf("ContentTypeError = %+v", ce)
	}
}

func TestTooLarge(t *testing.T) {
	c := connect(t, "/fast?count=1&size=1000", sse.WithMaxEventSize(100), sse.WithErrorPolicy(sse.RetryNever))
	collect(t, c.Events(), 10*time.Second)
	if err := c.Err(); !errors.Is(err, sse.ErrTooLarge) {
		t.Fatalf("Err() = %v", err)
	}
}

func TestReadTimeout(t *testing.T) {
	c := connect(t, "/silent", sse.WithReadTimeout(100*time.Millisecond), sse.WithErrorPolicy(sse.RetryNever))
	start := time.Now()
	collect(t, c.Events(), 10*time.Second)
	if err := c.Err(); !errors.Is(err, sse.ErrReadTimeout) {
		t.Fatalf("Err() = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestConnectFailure(t *testing.T) {
	// A port nobody listens on (the server's port + nothing): use port 1.
	c, err := sse.Connect(context.Background(), "http://127.0.0.1:1/", sse.WithRetryFirstConnect(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	collect(t, c.Events(), 10*time.Second)
	var e *sse.Error
	if !errors.Is(c.Err(), sse.ErrConnect) || !errors.As(c.Err(), &e) || e.Code != sse.CodeConnect {
		t.Fatalf("Err() = %#v", c.Err())
	}
}

func TestInvalidSettings(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		url  string
		opts []sse.Option
		want error
	}{
		{"ftp://example.com/", nil, sse.ErrURL},
		{"not a url", nil, sse.ErrURL},
		{baseURL, []sse.Option{sse.WithHeader("bad name", "v")}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithHeader("X-A", "line\nbreak")}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithMaxRetries(-2)}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithBackoff(sse.Backoff{Multiplier: 1000})}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithCAFile("/nonexistent/ca.pem")}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithCAPEM([]byte("not a pem"))}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithProxy("::bad::")}, sse.ErrArgument},
		{baseURL, []sse.Option{sse.WithBatchSize(0)}, sse.ErrArgument},
	}
	for _, tc := range cases {
		c, err := sse.Connect(ctx, tc.url, tc.opts...)
		if err == nil {
			c.Close()
			t.Errorf("Connect(%q, %d opts) succeeded", tc.url, len(tc.opts))
			continue
		}
		var e *sse.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.Message == "" {
			t.Errorf("Connect(%q) = %#v, want %v", tc.url, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sse.Connect(cancelled, baseURL); !errors.Is(err, context.Canceled) {
		t.Errorf("Connect with a cancelled context = %v", err)
	}
}

func TestTLS(t *testing.T) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]sse.Option{
		"file":     sse.WithCAFile(caFile),
		"pem":      sse.WithCAPEM(pem),
		"insecure": sse.WithInsecureSkipVerify(),
	} {
		c, err := sse.Connect(context.Background(), tlsURL+"/ticker?count=3", opt, sse.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		evs := collect(t, c.Events(), 10*time.Second)
		if len(evs) != 3 || c.Err() != nil {
			t.Errorf("%s: %d events, Err() = %v", name, len(evs), c.Err())
		}
		c.Close()
	}
	// Without the CA: verification fails.
	c, err := sse.Connect(context.Background(), tlsURL+"/ticker?count=3", sse.WithErrorPolicy(sse.RetryNever))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	collect(t, c.Events(), 10*time.Second)
	if !errors.Is(c.Err(), sse.ErrTLS) {
		t.Fatalf("Err() without the CA = %v", c.Err())
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := sse.Connect(ctx, baseURL+"/ticker?count=0&interval_ms=20")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch := c.Events()
	if _, ok := <-ch; !ok {
		t.Fatal("no first event")
	}
	cancel()
	start := time.Now()
	collect(t, ch, 5*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("channel closed %v after cancel", d)
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestContextDeadlineWhileSilent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err := sse.Connect(ctx, baseURL+"/silent")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	collect(t, c.Events(), 5*time.Second)
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err() = %v", c.Err())
	}
}

func TestCloseFromAnotherGoroutine(t *testing.T) {
	for _, path := range []string{"/silent", "/ticker?count=0&interval_ms=5", "/fast?count=0"} {
		c := connect(t, path)
		ch := c.Events()
		go func() {
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}()
		start := time.Now()
		for range ch {
		}
		// A close ends the stream at once on the engine loop: well below 1 s.
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: channel closed after %v", path, d)
		}
		if c.Err() != nil {
			t.Errorf("%s: Err() after Close = %v", path, c.Err())
		}
		c.Close() // idempotent
		c.Interrupt()
		if c.LastEventID() == "x" {
			t.Error("unreachable")
		}
	}
}

func TestCloseWithoutReading(t *testing.T) {
	c := connect(t, "/fast?count=0")
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked")
	}
	// The channel is closed (possibly after a few buffered events).
	c2 := connect(t, "/fast?count=0")
	ch := c2.Events()
	<-ch
	c2.Close()
	for range ch {
	}
}

func TestInterrupt(t *testing.T) {
	c := connect(t, "/ticker?count=0&interval_ms=20", fast)
	ch := c.Items()
	var ids []string
	interrupted := false
	var sawReconnect bool
	timeout := time.After(10 * time.Second)
	for len(ids) < 6 {
		select {
		case it := <-ch:
			switch it.Kind {
			case sse.KindMessage:
				ids = append(ids, it.Event.ID)
				if len(ids) == 3 && !interrupted {
					interrupted = true
					c.Interrupt()
				}
			case sse.KindReconnecting:
				sawReconnect = true
				if it.Delay != 0 {
					t.Errorf("reconnect delay after Interrupt = %v", it.Delay)
				}
			case sse.KindError, sse.KindClosed:
				t.Fatalf("unexpected %+v", it)
			}
		case <-timeout:
			t.Fatalf("timeout, ids %v", ids)
		}
	}
	if !sawReconnect {
		t.Error("no reconnecting item after Interrupt")
	}
	// Last-Event-ID made the ticker resume: ids stay consecutive.
	for i, id := range ids {
		if id != fmt.Sprint(i+1) {
			t.Fatalf("ids = %v", ids)
		}
	}
}

func TestReadModesExclusive(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	c := connect(t, "/ticker?count=1", sse.WithMaxRetries(0))
	c.Events()
	c.Events() // the same mode again is fine
	mustPanic("Items after Events", func() { c.Items() })
	mustPanic("Next after Events", func() { c.Next() })
	c2 := connect(t, "/ticker?count=1", sse.WithMaxRetries(0))
	if _, err := c2.Next(); err != nil {
		t.Fatal(err)
	}
	mustPanic("Events after Next", func() { c2.Events() })
}

func TestNext(t *testing.T) {
	c := connect(t, "/ticker?count=600&event=e", sse.WithMaxRetries(0), sse.WithBatchSize(7))
	for i := 1; i <= 600; i++ {
		ev, err := c.Next()
		if err != nil || ev.ID != fmt.Sprint(i) || ev.Type != "e" || ev.Data != fmt.Sprintf("tick %d", i) {
			t.Fatalf("Next() #%d = %+v, %v", i, ev, err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := c.Next(); err != io.EOF {
			t.Fatalf("Next() at the end = %v", err)
		}
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v", c.Err())
	}
	<-c.Done()
}

func TestNextErrors(t *testing.T) {
	c := connect(t, "/status/401", fast)
	_, err := c.Next()
	var se *sse.HTTPStatusError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Fatalf("Next() = %v", err)
	}
	if _, err2 := c.Next(); err2 != err {
		t.Errorf("second Next() = %v", err2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c2, err := sse.Connect(ctx, baseURL+"/silent")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Next(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next() after the deadline = %v", err)
	}

	c3 := connect(t, "/silent")
	go func() {
		time.Sleep(50 * time.Millisecond)
		c3.Close()
	}()
	if _, err := c3.Next(); err != io.EOF {
		t.Errorf("Next() after Close = %v", err)
	}
}

func TestConcurrentClients(t *testing.T) {
	const clients, count = 100, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := sse.Connect(context.Background(), fmt.Sprintf("%s/ticker?count=%d&interval_ms=1", baseURL, count), sse.WithMaxRetries(0))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			n := 0
			for ev := range c.Events() {
				n++
				if ev.ID != fmt.Sprint(n) {
					errs <- fmt.Errorf("client %d: event %d has id %q", i, n, ev.ID)
					return
				}
			}
			if n != count || c.Err() != nil {
				errs <- fmt.Errorf("client %d: %d events, Err() = %v", i, n, c.Err())
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// libsseThreads counts libsse's live threads (engine loops, resolvers).
func libsseThreads(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range entries {
		comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
		name := strings.TrimSpace(string(comm))
		if err == nil && (name == "libsse-engine" || name == "libsse-dns") {
			n++
		}
	}
	return n
}

// settle waits until the goroutine count drops to at most want.
func settle(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNoLeaks(t *testing.T) {
	// Goroutines of earlier tests (context watchers) may still be exiting.
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		time.Sleep(10 * time.Millisecond)
		if n := runtime.NumGoroutine(); n < before {
			before = n
		}
	}
	threadsBefore := libsseThreads(t)
	began := time.Now()
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		// Alternate a slow ticker with a firehose that fills libsse's queue.
		path := "/ticker?count=0&interval_ms=1"
		if i%2 == 1 {
			path = "/fast?count=0"
		}
		c, err := sse.Connect(ctx, baseURL+path)
		if err != nil {
			t.Fatal(err)
		}
		switch i / 2 % 5 {
		case 0: // close before reading
			c.Close()
		case 1: // read a little, then Close
			<-c.Events()
			c.Close()
		case 2: // cancel the context, drain
			<-c.Items()
			cancel()
			for range c.Items() {
			}
		case 3: // cancel the context, never read, wait for Done
			cancel()
			<-c.Done()
		case 4: // Next, then Close from another goroutine while Next waits
			if _, err := c.Next(); err != nil {
				t.Fatal(err)
			}
			go c.Close()
			for {
				if _, err := c.Next(); err != nil {
					break
				}
			}
		}
		cancel()
	}
	if elapsed := time.Since(began); elapsed > 30*time.Second {
		t.Errorf("200 cycles took %v (a Close waiting for libsse's 2 s join grace?)", elapsed)
	}
	if after := settle(before); after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after 200 cycles\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	if threadsBefore >= 0 {
		if n := libsseThreads(t); n > threadsBefore {
			t.Errorf("libsse threads: %d before, %d after", threadsBefore, n)
		}
	}
}

func TestLogFunc(t *testing.T) {
	var mu sync.Mutex
	var msgs []string
	sse.SetLogFunc(sse.LogInfo, func(level sse.LogLevel, msg string) {
		mu.Lock()
		msgs = append(msgs, level.String()+": "+msg)
		mu.Unlock()
	})
	c := connect(t, "/ticker?count=1", sse.WithMaxRetries(0))
	collect(t, c.Events(), 10*time.Second)
	c.Close()
	sse.SetLogFunc(sse.LogInfo, nil)
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) == 0 {
		t.Fatal("no log message")
	}
	t.Logf("%d log messages, first %q", len(msgs), msgs[0])
}

func TestLargeEvent(t *testing.T) {
	// Data larger than the shared batch allocation gets its own string.
	c := connect(t, "/fast?count=3&size=100000", sse.WithMaxRetries(0))
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		if len(ev.Data) != 100000 || !strings.HasPrefix(ev.Data, `{"token":"abc`) {
			t.Errorf("data of %d bytes: %.40q", len(ev.Data), ev.Data)
		}
	}
}

// Only the chosen event types arrive; a filtered event's id still counts.
func TestEventTypes(t *testing.T) {
	body := "event: update\nid: 1\ndata: u1\n\nid: 2\ndata: plain\n\nevent: other\nid: 3\ndata: o\n\n"
	path := "/raw?b64=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body)))
	c := connect(t, path, sse.WithMaxRetries(0), sse.WithEventTypes("update", "message"))
	events := collect(t, c.Events(), 10*time.Second)
	if len(events) != 2 || events[0].Type != "update" || events[1].Type != "message" || events[1].Data != "plain" {
		t.Fatalf("events = %+v", events)
	}
	if id := c.LastEventID(); id != "3" {
		t.Errorf("LastEventID() = %q, want the filtered event's 3", id)
	}
	if _, err := sse.Connect(context.Background(), baseURL, sse.WithEventTypes("a\nb")); err == nil {
		t.Error("an event type with LF was accepted")
	}
}
