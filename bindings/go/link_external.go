//go:build libsse_external && !libsse_pkgconfig

package sse

// With `-tags libsse_external`: no flags are set here; pass the header
// directory and the library through the environment, e.g.
//
//	CGO_CFLAGS=-I/usr/local/include CGO_LDFLAGS="-L/usr/local/lib -lsse" go build -tags libsse_external

import "C"
