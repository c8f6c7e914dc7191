// Package demoserver runs the repository's sse-demo-server binary
// (target/release/sse-demo-server, built by `cargo build --release`) as a
// subprocess on a free loopback port, for tests and benchmarks.
package demoserver

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Binary returns the path of the demo server binary: $SSE_DEMO_SERVER if
// set, else target/release/sse-demo-server of the repository.
func Binary() string {
	if p := os.Getenv("SSE_DEMO_SERVER"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/bindings/go/internal/demoserver/demoserver.go.
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "target", "release", "sse-demo-server")
}

// Server is a running demo server.
type Server struct {
	URL   string // the base URL, e.g. http://127.0.0.1:40123
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// Start runs the demo server with args added to `--port 0
// --exit-on-stdin-eof` and waits for the base URL it prints.
func Start(args ...string) (*Server, error) {
	bin := Binary()
	cmd := exec.Command(bin, append([]string{"--port", "0", "--exit-on-stdin-eof"}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (run `cargo build --release` in the repository root): %w", bin, err)
	}
	s := &Server{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		first, _ := r.ReadString('\n')
		line <- strings.TrimSpace(first)
		io.Copy(io.Discard, r)
	}()
	select {
	case url := <-line:
		if !strings.HasPrefix(url, "http") {
			s.Stop()
			return nil, fmt.Errorf("demo server printed %q", url)
		}
		s.URL = url
		return s, nil
	case <-time.After(10 * time.Second):
		s.Stop()
		return nil, fmt.Errorf("demo server did not print its URL within 10 s")
	}
}

// Stop ends the server (closing its standard input, then killing it
// after 5 seconds) and waits for it.
func (s *Server) Stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}
