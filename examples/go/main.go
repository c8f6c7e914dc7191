// Command ssetail prints the events of a Server-Sent Events stream, one
// line each, reconnecting (with Last-Event-ID) until interrupted:
//
//	go run . [-v] [-once] [-H 'Name: value'] [-last-event-id ID] URL
//
// With -v it also prints connections, comments, errors and reconnections
// on standard error. Ctrl-C stops it cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"libsse.dev/sse"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	verbose := flag.Bool("v", false, "also print connections, comments, errors and reconnections (stderr)")
	once := flag.Bool("once", false, "do not reconnect: stop at the end of the first stream")
	lastID := flag.String("last-event-id", "", "resume after this event id")
	var hdrs headers
	flag.Var(&hdrs, "H", "request header 'Name: value' (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: ssetail [-v] [-once] [-H 'Name: value'] [-last-event-id ID] URL")
		os.Exit(2)
	}

	// Ctrl-C or SIGTERM cancels the context, which closes the stream.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := []sse.Option{sse.WithLastEventID(*lastID)}
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			fmt.Fprintf(os.Stderr, "ssetail: header %q: want 'Name: value'\n", h)
			os.Exit(2)
		}
		opts = append(opts, sse.WithHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
	}
	if *once {
		opts = append(opts, sse.WithMaxRetries(0))
	}

	client, err := sse.Connect(ctx, flag.Arg(0), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssetail:", err)
		os.Exit(2)
	}
	defer client.Close()

	for item := range client.Items() {
		switch item.Kind {
		case sse.KindMessage:
			ev := item.Event
			fmt.Printf("%s\t%s\t%s\n", ev.ID, ev.Type, strings.ReplaceAll(ev.Data, "\n", `\n`))
		case sse.KindOpen:
			logf(*verbose, "connected: HTTP %d", item.StatusCode)
		case sse.KindComment:
			logf(*verbose, "comment: %s", item.Comment)
		case sse.KindError:
			logf(*verbose, "error: %v", item.Err)
		case sse.KindReconnecting:
			logf(*verbose, "reconnecting in %v (attempt %d, Last-Event-ID %q)", item.Delay, item.Attempt, client.LastEventID())
		case sse.KindClosed:
			logf(*verbose, "closed: %v", item.CloseReason)
		}
	}

	err = client.Err()
	var status *sse.HTTPStatusError
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return
	case errors.As(err, &status):
		fmt.Fprintf(os.Stderr, "ssetail: the server answered %d\n", status.StatusCode)
	default:
		fmt.Fprintln(os.Stderr, "ssetail:", err)
	}
	os.Exit(1)
}

func logf(verbose bool, format string, args ...interface{}) {
	if verbose {
		fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
	}
}
