// Command resume prints the events of a Server-Sent Events stream and
// survives restarts: after each event it has processed, it stores the
// event's id in a state file, and when it starts again it sends that id
// as Last-Event-ID, so a server honouring it goes on where the previous
// run stopped (nothing lost; an event is processed twice at most, if the
// program dies between processing it and storing its id).
//
//	go run ./resume [-state FILE] [-count N] URL
//
// It stops by itself after -count events (default 10; 0: never), and
// cleanly on Ctrl-C or SIGTERM. Delete the state file to start afresh.
// With the repository's demo server running in another terminal
// (target/release/sse-demo-server --port 8080), run it twice:
//
//	go run ./resume -count 3 http://127.0.0.1:8080/ticker   # ticks 1-3
//	go run ./resume -count 3 http://127.0.0.1:8080/ticker   # ticks 4-6
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"libsse.dev/sse"
)

func main() {
	state := flag.String("state", "resume.state", "file keeping the id of the last processed event")
	count := flag.Int("count", 10, "stop after this many events (0: run until interrupted)")
	flag.Parse()
	if flag.NArg() != 1 || *count < 0 {
		fmt.Fprintln(os.Stderr, "usage: resume [-state FILE] [-count N] URL")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *state, *count); err != nil {
		fmt.Fprintln(os.Stderr, "resume:", err)
		os.Exit(1)
	}
}

func run(url, state string, count int) error {
	lastID, err := loadID(state)
	if err != nil {
		return err
	}

	// Ctrl-C or SIGTERM cancels the context, which closes the stream.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	client, err := sse.Connect(ctx, url, sse.WithLastEventID(lastID))
	if err != nil {
		return err
	}
	defer client.Close()

	for n := 0; count == 0 || n < count; n++ {
		ev, err := client.Next()
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, context.Canceled):
			return nil // the stream ended, or Ctrl-C
		case err != nil:
			return err
		}
		// Process the event first, then record it as done.
		fmt.Printf("%s\t%s\t%s\n", ev.ID, ev.Type, strings.ReplaceAll(ev.Data, "\n", `\n`))
		// The id in force after this event (an empty one resets it).
		if ev.ID != lastID {
			if err := saveID(state, ev.ID); err != nil {
				return err
			}
			lastID = ev.ID
		}
	}
	return nil
}

// loadID returns the id stored in the state file ("" when there is none).
func loadID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// saveID replaces the state file atomically: the id goes to a temporary
// file in the same directory, which is flushed to disk and then renamed
// over the state file, so a crash leaves either the old id or the new
// one, never a torn file.
func saveID(path, id string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(id)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
