package sse_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// baseURL is the demo server's base URL, e.g. http://127.0.0.1:40123.
var baseURL string

// tlsURL and caFile are those of a second demo server speaking HTTPS.
var tlsURL, caFile string

var serverBin = filepath.Join("..", "..", "target", "release", "sse-demo-server")

// startServer runs the demo server on a free port and returns its URL and
// a function stopping it.
func startServer(args ...string) (string, func(), error) {
	cmd := exec.Command(serverBin, append([]string{"--port", "0", "--exit-on-stdin-eof"}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s (run `cargo build --release` in the repository root): %w", serverBin, err)
	}
	stop := func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		s, _ := r.ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, r)
	}()
	select {
	case url := <-line:
		if !strings.HasPrefix(url, "http") {
			stop()
			return "", nil, fmt.Errorf("demo server printed %q", url)
		}
		return url, stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, fmt.Errorf("demo server did not print its URL")
	}
}

func TestMain(m *testing.M) {
	url, stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		os.Exit(1)
	}
	baseURL = url
	dir, err := os.MkdirTemp("", "sse-go-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		os.Exit(1)
	}
	caFile = filepath.Join(dir, "ca.pem")
	turl, tstop, err := startServer("--tls", "--ca-out", caFile)
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		os.Exit(1)
	}
	tlsURL = turl
	code := m.Run()
	tstop()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}
