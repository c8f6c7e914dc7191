package sse_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"libsse.dev/sse"
)

// BenchmarkFast streams b.N events from the demo server's /fast endpoint
// (data of 32 or 1024 bytes) through Connect, read with Next or Events:
//
//	go test -run '^$' -bench Fast -benchtime 2000000x
func BenchmarkFast(b *testing.B) {
	for _, read := range []string{"Next", "Events"} {
		for _, size := range []int{32, 1024} {
			b.Run(fmt.Sprintf("%s/size=%d", read, size), func(b *testing.B) {
				benchFast(b, read, size)
			})
		}
	}
}

func benchFast(b *testing.B, read string, size int) {
	start, cpu := time.Now(), cpuTime()
	c, err := sse.Connect(context.Background(), fmt.Sprintf("%s/fast?count=%d&size=%d", baseURL, b.N, size), sse.WithMaxRetries(0))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(size))
	n := 0
	check := func(ev sse.Event) {
		if len(ev.Data) != size {
			b.Fatalf("data of %d bytes", len(ev.Data))
		}
		n++
	}
	if read == "Next" {
		for {
			ev, err := c.Next()
			if err != nil {
				break
			}
			check(ev)
		}
	} else {
		for ev := range c.Events() {
			check(ev)
		}
	}
	b.StopTimer()
	if n != b.N || c.Err() != nil {
		b.Fatalf("%d of %d events, Err() = %v", n, b.N, c.Err())
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/event")
}

// BenchmarkParser feeds 64 KiB blocks of small events to a Parser until
// b.N events came out (one op = one event).
func BenchmarkParser(b *testing.B) {
	block := []byte(strings.Repeat("data: {\"token\":\"abcdefghijklmnopqrst\"}\n\n", 64*1024/42))
	p := sse.NewParser()
	defer p.Close()
	start, cpu := time.Now(), cpuTime()
	b.ResetTimer()
	n := 0
	for n < b.N {
		n += len(p.Feed(block))
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(n), "cpu-ns/event")
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
