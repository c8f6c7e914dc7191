// Package benchcompare measures the libsse Go binding against
// github.com/tmaxmax/go-sse, the fastest pure-Go SSE client, on the same
// loopback demo server stream. It is a separate module so that the
// binding itself depends on nothing outside the standard library:
//
//	cd bindings/go/benchcompare && go test -run '^$' -bench . -benchtime 1000000x
package benchcompare

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	gosse "github.com/tmaxmax/go-sse"
	"libsse.dev/sse"
	"libsse.dev/sse/internal/demoserver"
)

var baseURL string

func TestMain(m *testing.M) {
	srv, err := demoserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baseURL = srv.URL
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

var sizes = []int{32, 256, 4096}

func report(b *testing.B, n int, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/event")
}

// libsse: Connect + range over Events.
func BenchmarkLibsseEvents(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			url := fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size)
			b.SetBytes(int64(size))
			start, cpu := time.Now(), cpuTime()
			c, err := sse.Connect(context.Background(), url, sse.WithMaxRetries(0))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for ev := range c.Events() {
				if len(ev.Data) != size {
					b.Fatal("bad size")
				}
				n++
			}
			b.StopTimer()
			report(b, n, start, cpu)
			if n != b.N || c.Err() != nil {
				b.Fatalf("%d/%d events, %v", n, b.N, c.Err())
			}
		})
	}
}

// libsse: Connect + Next (no channel).
func BenchmarkLibsseNext(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			url := fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size)
			b.SetBytes(int64(size))
			start, cpu := time.Now(), cpuTime()
			c, err := sse.Connect(context.Background(), url, sse.WithMaxRetries(0))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				ev, err := c.Next()
				if err != nil {
					break
				}
				if len(ev.Data) != size {
					b.Fatal("bad size")
				}
				n++
			}
			b.StopTimer()
			report(b, n, start, cpu)
			if n != b.N || c.Err() != nil {
				b.Fatalf("%d/%d events, %v", n, b.N, c.Err())
			}
		})
	}
}

// libsse's parser over a net/http body (sse.Decoder).
func BenchmarkLibsseDecoder(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			url := fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size)
			b.SetBytes(int64(size))
			start, cpu := time.Now(), cpuTime()
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			d := sse.NewDecoder(resp.Body)
			n := 0
			for {
				ev, err := d.Next()
				if err != nil {
					break
				}
				if len(ev.Data) != size {
					b.Fatal("bad size")
				}
				n++
			}
			b.StopTimer()
			report(b, n, start, cpu)
			if n != b.N {
				b.Fatalf("%d/%d events", n, b.N)
			}
		})
	}
}

// go-sse: Client.NewConnection + SubscribeMessages + Connect.
func BenchmarkGoSSEClient(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			url := fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size)
			b.SetBytes(int64(size))
			client := &gosse.Client{Backoff: gosse.Backoff{MaxRetries: -1}}
			start, cpu := time.Now(), cpuTime()
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			conn := client.NewConnection(req)
			n := 0
			conn.SubscribeMessages(func(ev gosse.Event) {
				if len(ev.Data) != size {
					panic("bad size")
				}
				n++
			})
			err = conn.Connect()
			b.StopTimer()
			report(b, n, start, cpu)
			var ce *gosse.ConnectionError
			if n != b.N || (err != nil && !errors.As(err, &ce)) {
				b.Fatalf("%d/%d events, %v", n, b.N, err)
			}
		})
	}
}

// go-sse: its lowest level, sse.Read over a net/http body.
func BenchmarkGoSSERead(b *testing.B) {
	for _, size := range sizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			url := fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size)
			b.SetBytes(int64(size))
			start, cpu := time.Now(), cpuTime()
			resp, err := http.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			n := 0
			for ev, err := range gosse.Read(resp.Body, nil) {
				if err != nil {
					b.Fatal(err)
				}
				if len(ev.Data) != size {
					b.Fatal("bad size")
				}
				n++
			}
			b.StopTimer()
			report(b, n, start, cpu)
			if n != b.N {
				b.Fatalf("%d/%d events", n, b.N)
			}
		})
	}
}

// cpuTime returns the CPU time (user + system) the process used so far:
// on a shared machine, CPU time per event is steadier than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
