package sse_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libsse.dev/sse"
	"libsse.dev/sse/internal/demoserver"
)

// mtlsServer is a demo server that requires a client certificate, with
// the files it wrote: its CA, a certificate it accepts and one signed by
// a CA it does not know.
type mtlsServer struct {
	url                       string
	ca                        string
	clientCert, clientKey     string
	strangerCert, strangerKey string
	dir                       string
}

// startMTLSServer runs `sse-demo-server --tls --client-auth-out` on a
// loopback port for the test; the server and its files go with the test.
func startMTLSServer(t *testing.T) *mtlsServer {
	t.Helper()
	dir := t.TempDir() // removed after the test (and after the server stops)
	ca := filepath.Join(dir, "ca.pem")
	auth := filepath.Join(dir, "client-auth")
	if err := os.Mkdir(auth, 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := demoserver.Start("--tls", "--ca-out", ca, "--client-auth-out", auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("demo server URL %q: want https on 127.0.0.1", srv.URL)
	}
	return &mtlsServer{
		url:          srv.URL,
		ca:           ca,
		clientCert:   filepath.Join(auth, "client.pem"),
		clientKey:    filepath.Join(auth, "client.key"),
		strangerCert: filepath.Join(auth, "stranger.pem"),
		strangerKey:  filepath.Join(auth, "stranger.key"),
		dir:          dir,
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMutualTLS(t *testing.T) {
	srv := startMTLSServer(t)
	url := srv.url + "/ticker?count=3&interval_ms=10"
	certPEM := readFile(t, srv.clientCert)
	keyPEM := readFile(t, srv.clientKey)
	// The certificate and its key in one file.
	both := writeFile(t, filepath.Join(srv.dir, "both.pem"), append(append([]byte(nil), certPEM...), keyPEM...))

	accepted := map[string]sse.Option{
		"files":          sse.WithClientCertificateFiles(srv.clientCert, srv.clientKey),
		"one file":       sse.WithClientCertificateFiles(both, ""),
		"pem":            sse.WithClientCertificate(certPEM, keyPEM),
		"pem, same text": sse.WithClientCertificate(readFile(t, both), readFile(t, both)),
	}
	for name, opt := range accepted {
		t.Run("accepted/"+name, func(t *testing.T) {
			c, err := sse.Connect(context.Background(), url, sse.WithCAFile(srv.ca), opt,
				sse.WithMaxRetries(0), sse.WithErrorPolicy(sse.RetryNever))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			evs := collect(t, c.Events(), 10*time.Second)
			if len(evs) != 3 || c.Err() != nil {
				t.Fatalf("%d events, Err() = %v", len(evs), c.Err())
			}
		})
	}

	refused := map[string][]sse.Option{
		"no certificate": nil,
		"stranger files": {sse.WithClientCertificateFiles(srv.strangerCert, srv.strangerKey)},
		"stranger pem":   {sse.WithClientCertificate(readFile(t, srv.strangerCert), readFile(t, srv.strangerKey))},
	}
	for name, opts := range refused {
		t.Run("refused/"+name, func(t *testing.T) {
			opts := append([]sse.Option{sse.WithCAFile(srv.ca), sse.WithErrorPolicy(sse.RetryNever)}, opts...)
			c, err := sse.Connect(context.Background(), url, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			evs := collect(t, c.Events(), 10*time.Second)
			if len(evs) != 0 {
				t.Errorf("%d events without an accepted certificate", len(evs))
			}
			err = c.Err()
			var e *sse.Error
			if !errors.Is(err, sse.ErrTLS) || !errors.As(err, &e) || e.Code != sse.CodeTLS {
				t.Fatalf("Err() = %v (%T), want an *sse.Error with CodeTLS", err, err)
			}
			if e.Message == "" {
				t.Error("TLS error without libsse's message")
			}
		})
	}
}

func TestClientCertificateInvalid(t *testing.T) {
	srv := startMTLSServer(t)
	certPEM := readFile(t, srv.clientCert)
	keyPEM := readFile(t, srv.clientKey)
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatalf("%s holds no PEM block", srv.clientKey)
	}
	// A legacy OpenSSL encrypted key (Proc-Type: 4,ENCRYPTED) and a PKCS#8
	// one (ENCRYPTED PRIVATE KEY; its content is never decoded).
	//lint:ignore SA1019 the deprecated legacy format is the point here
	legacy, err := x509.EncryptPEMBlock(rand.Reader, block.Type, block.Bytes, []byte("secret"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := map[string][]byte{
		"legacy": pem.EncodeToMemory(legacy),
		"pkcs8":  pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes}),
	}
	for name, key := range encrypted {
		keyFile := writeFile(t, filepath.Join(srv.dir, name+".key"), key)
		both := writeFile(t, filepath.Join(srv.dir, name+"-both.pem"), append(append([]byte(nil), certPEM...), key...))
		for how, opt := range map[string]sse.Option{
			"files":    sse.WithClientCertificateFiles(srv.clientCert, keyFile),
			"one file": sse.WithClientCertificateFiles(both, ""),
			"pem":      sse.WithClientCertificate(certPEM, key),
		} {
			t.Run("encrypted/"+name+"/"+how, func(t *testing.T) {
				wantArgument(t, srv.url, opt, "encrypted")
			})
		}
	}

	missing := filepath.Join(srv.dir, "missing.pem")
	for name, opt := range map[string]sse.Option{
		"missing cert file": sse.WithClientCertificateFiles(missing, srv.clientKey),
		"missing key file":  sse.WithClientCertificateFiles(srv.clientCert, missing),
		"no key in file":    sse.WithClientCertificateFiles(srv.clientCert, ""),
		"empty pem":         sse.WithClientCertificate(nil, nil),
		"no certificate":    sse.WithClientCertificate(keyPEM, keyPEM),
		"no key":            sse.WithClientCertificate(certPEM, certPEM),
	} {
		t.Run("invalid/"+name, func(t *testing.T) {
			wantArgument(t, srv.url, opt, "")
		})
	}
}

// A key that is not the certificate's: refused by Connect with
// CodeArgument (libsse checks the pair when it is set), never sent.
func TestClientCertificateKeyMismatch(t *testing.T) {
	srv := startMTLSServer(t)
	c, err := sse.Connect(context.Background(), srv.url+"/ticker?count=3", sse.WithCAFile(srv.ca),
		sse.WithClientCertificateFiles(srv.clientCert, srv.strangerKey))
	if err == nil {
		c.Close()
		t.Fatal("Connect accepted a key of another certificate")
	}
	var e *sse.Error
	if !errors.As(err, &e) || e.Code != sse.CodeArgument || !strings.Contains(e.Message, "does not belong to the certificate") {
		t.Fatalf("error = %v, want an *sse.Error with CodeArgument saying the key is not the certificate's", err)
	}
}

// wantArgument checks that Connect refuses opt with an *sse.Error of
// CodeArgument whose message holds substr.
func wantArgument(t *testing.T, url string, opt sse.Option, substr string) {
	t.Helper()
	c, err := sse.Connect(context.Background(), url+"/ticker?count=3", opt)
	if err == nil {
		c.Close()
		t.Fatal("Connect accepted the option")
	}
	var e *sse.Error
	if !errors.Is(err, sse.ErrArgument) || !errors.As(err, &e) || e.Code != sse.CodeArgument {
		t.Fatalf("Connect error = %v (%T), want an *sse.Error with CodeArgument", err, err)
	}
	if e.Message == "" || !strings.Contains(e.Message, substr) {
		t.Fatalf("Connect error message %q, want one containing %q", e.Message, substr)
	}
}
