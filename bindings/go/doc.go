// Package sse is the Go binding of libsse, a spec-exact, reconnecting
// Server-Sent Events (text/event-stream) client written in Rust and
// shipped as a C library. The binding uses cgo.
//
// # Streams
//
// [Connect] starts a client: libsse connects on its background thread (one
// for all clients), parses the
// stream, reconnects with backoff and Last-Event-ID, and queues what it
// receives. Read the messages from [Client.Events], or every item
// (connection opened, comments, errors, reconnections, close) from
// [Client.Items]; after the channel closes, [Client.Err] says why the
// stream ended. Cancelling the context given to Connect, or calling
// [Client.Close], stops the stream and closes the channel.
//
//	client, err := sse.Connect(ctx, "https://example.com/stream",
//		sse.WithHeader("Authorization", "Bearer "+token))
//	if err != nil {
//		return err // invalid option or URL
//	}
//	defer client.Close()
//	for ev := range client.Events() {
//		fmt.Println(ev.Type, ev.ID, ev.Data)
//	}
//	return client.Err()
//
// Errors are typed: a refused status is an [*HTTPStatusError] (with the
// status code, headers and Retry-After), a wrong content type a
// [*ContentTypeError], others an [*Error] with a [Code]; each matches its
// sentinel ([ErrHTTPStatus], [ErrContentType], [ErrConnect], ...) with
// errors.Is.
//
// # Requests, ends and counters
//
// [WithRequestHook] edits the request of every connection attempt (a
// fresh token in Authorization, a signed query) on libsse's thread;
// [WithOnEnd] says whether a clean end of the stream reconnects (by
// default GET does, POST does not); [Client.Stats] returns the client's
// counters (events, bytes, connections, errors by code, queue depth).
// An [*HTTPStatusError] carries the start of the refusal's body, and an
// [Event] the retry: value of its own block.
//
// # Parsing only
//
// Users with their own HTTP stack feed bytes to a [Parser] (or wrap a
// reader, e.g. a net/http response body, in a [Decoder]).
//
// # Performance
//
// Items are taken from libsse's queue in packed batches (sse_next_batch):
// crossing cgo once per batch, and copying the small strings of one batch
// into a single allocation. A consequence: a retained small Event keeps
// the memory of its batch (one network read: up to a few thousand small
// events) alive.
//
// No client holds an OS thread while it waits: every client joins one
// libsse wait set (sse_waitset) for the whole process, whose descriptor
// one goroutine watches in Go's netpoller. When clients have news, that
// goroutine feeds the Events or Items channel of each right away (a
// goroutine of the client's own takes over only while its channel is
// full), and wakes the goroutines waiting in Next. So 10,000 clients cost
// a few OS threads, not 10,000. At high rates of news it serves them in
// rounds of at most 0.5 ms, one wake-up for many clients; a reader of a
// busy stream (a batch less than 1 ms ago) waits up to 1 ms for the next
// one in C instead (at most 8 readers at once), so fast streams keep
// their speed.
//
// [Client.NextBytes] is the fastest way to read one stream: its events'
// Data is borrowed from libsse's memory until the next call, never
// copied.
//
// # Linking
//
// By default the package links the static library
// target/release/libsse.a of the repository (build it with
// `cargo build --release`) together with -lm -ldl -lpthread. Build with
// `-tags libsse_shared` to link target/release/libsse.so instead (its
// directory is recorded as rpath), or with `-tags libsse_external` and
// CGO_CFLAGS / CGO_LDFLAGS to use an installed copy.
//
// Outside the checkout (the module required from another project),
// install libsse (`make install`) and build with `-tags libsse_pkgconfig`:
// the flags then come from pkg-config's sse.pc (libsse.so.0, found at run
// time through the prefix's rpath or ldconfig); add the tag
// `libsse_static` to link the installed libsse.a instead.
package sse
