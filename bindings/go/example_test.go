package sse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"libsse.dev/sse"
)

// baseURL is the demo server started by TestMain.

func ExampleConnect() {
	client, err := sse.Connect(context.Background(), baseURL+"/ticker?count=3",
		sse.WithHeader("Authorization", "Bearer secret"),
		sse.WithMaxRetries(0)) // one-shot: stop at the end of the stream
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for ev := range client.Events() {
		fmt.Println(ev.ID, ev.Type, ev.Data)
	}
	fmt.Println("end:", client.Err())
	// Output:
	// 1 message tick 1
	// 2 message tick 2
	// 3 message tick 3
	// end: <nil>
}

func ExampleClient_Items() {
	client, err := sse.Connect(context.Background(), baseURL+"/ticker?count=1&comment_every=1", sse.WithMaxRetries(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for item := range client.Items() {
		switch item.Kind {
		case sse.KindOpen:
			fmt.Println("open", item.StatusCode, item.Header.Get("Content-Type"))
		case sse.KindMessage:
			fmt.Println("message", item.Event.Data)
		case sse.KindComment:
			fmt.Println("comment", item.Comment)
		case sse.KindClosed:
			fmt.Println("closed", item.CloseReason)
		}
	}
	// Output:
	// open 200 text/event-stream
	// message tick 1
	// comment keep-alive
	// closed end-of-stream
}

func ExampleClient_Next() {
	client, err := sse.Connect(context.Background(), baseURL+"/ticker?count=2", sse.WithMaxRetries(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for {
		ev, err := client.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(ev.Data)
	}
	// Output:
	// tick 1
	// tick 2
}

func ExampleClient_NextBytes() {
	client, err := sse.Connect(context.Background(), baseURL+"/ticker?count=3", sse.WithMaxRetries(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	var kept []string
	for {
		ev, err := client.NextBytes()
		if err != nil {
			fmt.Println("end:", err) // io.EOF after a clean end
			break
		}
		// ev.Data is borrowed until the next call: copy what is kept.
		kept = append(kept, string(ev.Data))
	}
	fmt.Println(kept)
	// Output:
	// end: EOF
	// [tick 1 tick 2 tick 3]
}

func ExampleHTTPStatusError() {
	client, err := sse.Connect(context.Background(), baseURL+"/status/503?retry_after=30", sse.WithMaxRetries(0))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	for range client.Events() {
	}
	var status *sse.HTTPStatusError
	if errors.As(client.Err(), &status) {
		fmt.Println(status.StatusCode, status.RetryAfter, errors.Is(client.Err(), sse.ErrHTTPStatus))
	}
	// Output:
	// 503 30s true
}

func ExampleParser() {
	p := sse.NewParser()
	defer p.Close()
	for _, chunk := range []string{"id: 7\nevent: greet", "ing\ndata: hello\n", "data: world\n\n"} {
		for _, ev := range p.Feed([]byte(chunk)) {
			fmt.Printf("%s %s %q\n", ev.ID, ev.Type, ev.Data)
		}
	}
	// Output:
	// 7 greeting "hello\nworld"
}

func ExampleDecoder() {
	resp, err := http.Get(baseURL + "/ticker?count=2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		fmt.Println("not an event stream")
		return
	}
	d := sse.NewDecoder(resp.Body)
	for {
		ev, err := d.Next()
		if err != nil {
			break // io.EOF at the end of the body
		}
		fmt.Println(ev.ID, ev.Data)
	}
	fmt.Println("resume after", d.LastEventID())
	// Output:
	// 1 tick 1
	// 2 tick 2
	// resume after 2
}
