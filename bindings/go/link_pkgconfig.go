//go:build libsse_pkgconfig && !libsse_static

package sse

// With `-tags libsse_pkgconfig`: an installed libsse (`make install`),
// found with `pkg-config sse`; this works outside the checkout, e.g. for
// a module downloaded with `go get`. For a prefix outside the dynamic
// linker's search path, set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig and
// record the directory: CGO_LDFLAGS=-Wl,-rpath,<prefix>/lib (or run with
// LD_LIBRARY_PATH). Add the tag libsse_static to link libsse.a instead.

// #cgo pkg-config: sse
import "C"
