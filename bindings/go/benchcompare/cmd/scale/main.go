// Command scale is the Go peer of benches/e2e/e2e_scale.c (table 6 of
// BENCHMARKS.md): many concurrent streams in one process.
//
//	go run ./cmd/scale MODE N SECONDS BASE_URL [BASE_URL...]
//
// Opens N streams on /ticker?interval_ms=1000 (one event per second per
// stream, `id: 1`, `id: 2`, ... on each connection), spread round-robin
// over the given servers, one goroutine per stream. MODE:
//
//	go-sse     github.com/tmaxmax/go-sse the way its README consumes a
//	           stream: one shared Client, per stream NewConnection with a
//	           cancellable request context, SubscribeMessages, and Connect
//	           on the stream's goroutine
//	libsse-go  the libsse Go binding: one sse.Connect client per stream,
//	           read with `for ev := range client.Events()` on the
//	           stream's goroutine (the binding's pump goroutines wait on
//	           the process-wide wait set, not in C: a bounded number of OS
//	           threads whatever N)
//
// The method is e2e_scale.c's: the baseline VmRSS/Threads before any
// client; start all; wait until every stream got its first event (at
// most 90 s after the start); settle 1 s; measure over SECONDS the events
// received and the CPU (utime+stime from /proc/self/stat, and getrusage
// for a finer figure) / wall time; then VmRSS, VmHWM and Threads from
// /proc/self/status; then close everything and time the teardown. Over
// the whole run each stream's ids are checked for exactly-once delivery:
// every event's id must be the previous one + 1 ("lost" counts the ids
// skipped, "duplicated" the ids not above the highest one seen).
//
// Prints one markdown row on stdout (the columns of table 6 with "lost /
// duplicated" added) and a diagnostic line on stderr. Connect timeouts are
// 30 s (thousands of connections at once overflow the servers' accept
// backlogs: SYN retries take 1 s, 3 s, ...); nothing else is tuned: run it
// with GOGC, GOMEMLIMIT, GOMAXPROCS and GODEBUG unset (it says so on stderr
// when one is set).
//
// It links libsse like the table-4 report: from bindings/go/benchcompare,
//
//	CGO_CFLAGS=-I$L/include CGO_LDFLAGS="$L/libsse.a -lm -ldl -lpthread" \
//		go build -tags libsse_external -o scale ./cmd/scale
//
// (or without the tag and flags: target/release/libsse.a of the checkout).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gosse "github.com/tmaxmax/go-sse"
	"libsse.dev/sse"
)

const (
	ticker = "/ticker?interval_ms=1000"
	// connectTimeout bounds a TCP connection attempt (SYN retries included).
	connectTimeout = 30 * time.Second
	// firstEventLimit: give up waiting for the first events this long after
	// the start.
	firstEventLimit = 90 * time.Second
	// userHZ is the unit of utime and stime in /proc/self/stat: USER_HZ,
	// what sysconf(_SC_CLK_TCK) returns; 100 on every Linux architecture.
	userHZ = 100
)

// events counts the message events received by all streams; connected the
// streams that got their first event; retries go-sse's reconnection
// attempts (its Client's OnRetry calls).
var events, connected, retries atomic.Int64

// stream is the state of one stream, touched only by the goroutine
// delivering its events (go-sse's callbacks run on the goroutine calling
// Connect, libsse's events are read by the stream's goroutine); the main
// goroutine reads it after that goroutine has ended.
type stream struct {
	url      string
	last     uint64 // the highest id seen (0: none yet)
	lost     uint64 // ids skipped
	dup      uint64 // ids not above last
	badID    uint64 // events whose id is not a number
	err      error  // how the stream ended, if not by the teardown
	reconn   uint64 // libsse-go: reconnections scheduled (Stats.Reconnects)
	received uint64 // events of this stream, whole run
}

// event records one event of the stream: the counters and the id check.
func (s *stream) event(id string) {
	events.Add(1)
	s.received++
	if s.received == 1 {
		connected.Add(1)
	}
	n, err := strconv.ParseUint(id, 10, 64)
	switch {
	case err != nil:
		s.badID++
	case n <= s.last:
		s.dup++
	default:
		s.lost += n - s.last - 1
		s.last = n
	}
}

// A runner starts the streams (returning at once, the streams running on
// their goroutines) and stops them: stop ends every stream and returns
// once all are gone.
type runner interface {
	start(streams []*stream) error
	stop()
}

// ---------------------------------------------------------------- go-sse

type goSSE struct {
	cancels []context.CancelFunc
	wg      sync.WaitGroup
}

func (g *goSSE) start(streams []*stream) error {
	// One client for all the connections, as go-sse's README does, on an
	// http.Client whose dialer waits 30 s (http.DefaultTransport's own
	// dialer does too; spelled out here).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	client := &gosse.Client{
		HTTPClient: &http.Client{Transport: transport},
		OnRetry:    func(error, time.Duration) { retries.Add(1) },
	}
	g.cancels = make([]context.CancelFunc, len(streams))
	for i, s := range streams {
		ctx, cancel := context.WithCancel(context.Background())
		g.cancels[i] = cancel
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, http.NoBody)
		if err != nil {
			return err
		}
		conn := client.NewConnection(req)
		conn.SubscribeMessages(func(ev gosse.Event) { s.event(ev.LastEventID) })
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			// A stopped connection returns the context's error.
			if err := conn.Connect(); !errors.Is(err, context.Canceled) {
				s.err = err
			}
		}()
	}
	return nil
}

func (g *goSSE) stop() {
	for _, cancel := range g.cancels {
		cancel()
	}
	g.wg.Wait()
}

// ------------------------------------------------------------- libsse-go

type libsseGo struct {
	clients []*sse.Client
	streams []*stream
	wg      sync.WaitGroup
}

func (l *libsseGo) start(streams []*stream) error {
	l.streams = streams
	l.clients = make([]*sse.Client, len(streams))
	for i, s := range streams {
		c, err := sse.Connect(context.Background(), s.url, sse.WithConnectTimeout(connectTimeout))
		if err != nil {
			return err
		}
		l.clients[i] = c
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ev := range c.Events() {
				s.event(ev.ID)
			}
		}()
	}
	return nil
}

func (l *libsseGo) stop() {
	// e2e_scale closes every client, then frees them all: here Close (which
	// waits until its client is freed) runs for all clients at once, and the
	// stream goroutines end when their channels close.
	var closing sync.WaitGroup
	for i, c := range l.clients {
		closing.Add(1)
		go func() {
			defer closing.Done()
			c.Close()
			// Err and Stats stay readable after Close.
			l.streams[i].err = c.Err()
			l.streams[i].reconn = c.Stats().Reconnects
		}()
	}
	closing.Wait()
	l.wg.Wait()
}

// ------------------------------------------------------------ /proc/self

// statusField returns the kB (or count) value of a /proc/self/status
// field, or -1.
func statusField(name string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == name {
			n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// statTicks returns utime+stime of this process in clock ticks, from
// /proc/self/stat, or -1.
func statTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	// After the command name (which may hold spaces), field 3 (state) on.
	p := bytes.LastIndexByte(b, ')')
	if p < 0 {
		return -1
	}
	f := strings.Fields(string(b[p+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return -1
	}
	return utime + stime
}

// rusageSecs returns the user+system CPU time of the process, in seconds.
func rusageSecs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// ------------------------------------------------------------------ main

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 5 {
		die("usage: scale go-sse|libsse-go N SECONDS BASE_URL [BASE_URL...]")
	}
	mode := os.Args[1]
	var r runner
	switch mode {
	case "go-sse":
		r = &goSSE{}
	case "libsse-go":
		r = &libsseGo{}
	default:
		die("unknown mode %s (go-sse or libsse-go)", mode)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		die("N must be a positive number, not %q", os.Args[2])
	}
	seconds, err := strconv.Atoi(os.Args[3])
	if err != nil || seconds < 1 {
		die("SECONDS must be a positive number, not %q", os.Args[3])
	}
	servers := os.Args[4:]
	var tuned []string
	for _, v := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"} {
		if val, ok := os.LookupEnv(v); ok {
			tuned = append(tuned, v+"="+val)
		}
	}
	if len(tuned) > 0 {
		fmt.Fprintf(os.Stderr, "scale: warning: %s set: the figures are not the defaults'\n", strings.Join(tuned, " "))
	}

	rss0, threads0 := statusField("VmRSS"), statusField("Threads")
	streams := make([]*stream, n)
	for i := range streams {
		streams[i] = &stream{url: strings.TrimSuffix(servers[i%len(servers)], "/") + ticker}
	}

	t0 := time.Now()
	if err := r.start(streams); err != nil {
		die("%s: starting the streams: %v", mode, err)
	}
	tStarted := time.Now()
	for connected.Load() < int64(n) {
		if time.Since(t0) > firstEventLimit {
			fmt.Fprintf(os.Stderr, "scale: only %d of %d streams got an event after %.0f s\n",
				connected.Load(), n, firstEventLimit.Seconds())
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tConnected := time.Now()
	nConnected := connected.Load()
	time.Sleep(time.Second) // settle: let the first-event burst pass

	e0 := events.Load()
	ticks0 := statTicks()
	ru0 := rusageSecs()
	m0 := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second)
	m1 := time.Now()
	ru1 := rusageSecs()
	ticks1 := statTicks()
	e1 := events.Load()

	rss, hwm, threads := statusField("VmRSS"), statusField("VmHWM"), statusField("Threads")
	wall := m1.Sub(m0).Seconds()
	cpuStat := float64(ticks1-ticks0) / userHZ
	cpuRu := ru1 - ru0

	c0 := time.Now()
	r.stop()
	teardown := time.Since(c0)

	var lost, dup, badID, ended uint64
	reconnections := uint64(retries.Load())
	var firstErr error
	for _, s := range streams {
		lost += s.lost
		dup += s.dup
		badID += s.badID
		reconnections += s.reconn
		// A stream stopped by the teardown has none (libsse-go: Err is nil
		// after Close; go-sse: Connect returns context.Canceled).
		if s.err != nil {
			ended++
			if firstErr == nil {
				firstErr = s.err
			}
		}
	}

	// | mode | streams | servers | connected | connect s | events (expected) | lost / duplicated |
	//   CPU % (stat) | CPU % (rusage) | VmRSS MiB | VmHWM MiB | RSS/stream KiB | threads | teardown s |
	fmt.Printf("| %s | %d | %d | %d | %.1f | %d (%.0f) | %d / %d | %.2f%% | %.2f%% | %.1f | %.1f | %.1f | %d | %.2f |\n",
		mode, n, len(servers), nConnected, tConnected.Sub(t0).Seconds(), e1-e0, float64(n)*wall,
		lost, dup, cpuStat/wall*100, cpuRu/wall*100, float64(rss)/1024, float64(hwm)/1024,
		float64(rss-rss0)/float64(n), threads, teardown.Seconds())
	diag := fmt.Sprintf("scale: %s n=%d baseline VmRSS %d kB, %d threads; started in %.2f s; connected in %.2f s; "+
		"window %.2f s; cpu %.3f s (stat) %.3f s (rusage); %d events in all; reconnections %d; ids not numbers %d; "+
		"streams ended with an error %d; %s, GOMAXPROCS %d",
		mode, n, rss0, threads0, tStarted.Sub(t0).Seconds(), tConnected.Sub(t0).Seconds(), wall, cpuStat, cpuRu,
		events.Load(), reconnections, badID, ended, runtime.Version(), runtime.GOMAXPROCS(0))
	if firstErr != nil {
		diag += fmt.Sprintf(" (first: %v)", firstErr)
	}
	fmt.Fprintln(os.Stderr, diag)
}
