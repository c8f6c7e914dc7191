package sse_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	sse "libsse.dev/sse"
)

// echoedHeaders reads the one /echo event of c and returns its request headers.
func echoedHeaders(t *testing.T, c *sse.Client) map[string]string {
	t.Helper()
	evs := collect(t, c.Events(), 10*time.Second)
	if len(evs) != 1 {
		t.Fatalf("events = %+v, Err() = %v", evs, c.Err())
	}
	var req struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(evs[0].Data), &req); err != nil {
		t.Fatalf("echo %q: %v", evs[0].Data, err)
	}
	return req.Headers
}

// Issue 11 item 3: credentials and the headers named sensitive stay with
// the first origin (here 127.0.0.1; the redirect goes to localhost).
func TestRedirectToAnotherOriginDropsCredentials(t *testing.T) {
	other := strings.Replace(baseURL, "127.0.0.1", "localhost", 1) + "/echo"
	c := connect(t, "/redirect?code=302&to="+url.QueryEscape(other),
		sse.WithHeader("Authorization", "Bearer s"),
		sse.WithHeader("Cookie", "c=s"),
		sse.WithHeader("X-Api-Key", "k"),
		sse.WithHeader("X-Kept", "1"),
		sse.WithSensitiveHeaders("x-api-key"),
		sse.WithMaxRetries(0))
	headers := echoedHeaders(t, c)
	for _, name := range []string{"authorization", "cookie", "x-api-key"} {
		if v, ok := headers[name]; ok {
			t.Errorf("%s = %q reached another origin", name, v)
		}
	}
	if headers["x-kept"] != "1" {
		t.Errorf("x-kept = %q", headers["x-kept"])
	}
}

// Issue 11 item 3: https to http is refused unless WithHTTPSDowngrade.
func TestHTTPSDowngrade(t *testing.T) {
	target := tlsURL + "/redirect?code=302&to=" + url.QueryEscape(baseURL+"/echo")
	c, err := sse.Connect(context.Background(), target, sse.WithCAFile(caFile), sse.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if evs := collect(t, c.Events(), 10*time.Second); len(evs) != 0 {
		t.Errorf("events = %+v", evs)
	}
	var se *sse.HTTPStatusError
	if !errors.As(c.Err(), &se) || !strings.Contains(c.Err().Error(), "from https to http refused") {
		t.Fatalf("Err() = %v", c.Err())
	}
	allowed, err := sse.Connect(context.Background(), target, sse.WithCAFile(caFile),
		sse.WithHTTPSDowngrade(), sse.WithHeader("Cookie", "c=s"), sse.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer allowed.Close()
	if v, ok := echoedHeaders(t, allowed)["cookie"]; ok {
		t.Errorf("cookie = %q sent in plain text", v)
	}
}

// Issue 11 items 2 and 4: framing headers are refused; a Retry-After
// beyond the ceiling waits the ceiling; head limits are checked.
func TestHostileServerSettings(t *testing.T) {
	for _, name := range []string{"Content-Length", "Transfer-Encoding", "Host", "Connection"} {
		if _, err := sse.Connect(context.Background(), baseURL+"/ticker", sse.WithHeader(name, "5")); err == nil ||
			!strings.Contains(err.Error(), "set by libsse") {
			t.Errorf("header %s: err = %v", name, err)
		}
	}
	if _, err := sse.Connect(context.Background(), baseURL+"/ticker", sse.WithMaxResponseHeadBytes(10)); err == nil {
		t.Error("a 10-byte head limit was accepted")
	}
	c := connect(t, "/status/503?retry_after=99999999", fast,
		sse.WithMaxRetryAfter(250*time.Millisecond), sse.WithMaxRetries(1))
	var delays []time.Duration
	for _, it := range collectItems(t, c.Items(), 10*time.Second) {
		if it.Kind == sse.KindReconnecting {
			delays = append(delays, it.Delay)
		}
	}
	if len(delays) != 1 || delays[0] != 250*time.Millisecond {
		t.Errorf("delays = %v, want [250ms]", delays)
	}
}
