package sse_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"libsse.dev/sse/internal/demoserver"
)

// baseURL is the demo server's base URL, e.g. http://127.0.0.1:40123.
var baseURL string

// tlsURL and caFile are those of a second demo server speaking HTTPS with
// a freshly generated CA.
var tlsURL, caFile string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	srv, err := demoserver.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		return 1
	}
	defer srv.Stop()
	baseURL = srv.URL

	dir, err := os.MkdirTemp("", "sse-go-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	caFile = filepath.Join(dir, "ca.pem")
	tlsSrv, err := demoserver.Start("--tls", "--ca-out", caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse tests:", err)
		return 1
	}
	defer tlsSrv.Stop()
	tlsURL = tlsSrv.URL
	return m.Run()
}
