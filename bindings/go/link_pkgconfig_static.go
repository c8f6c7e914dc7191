//go:build libsse_pkgconfig && libsse_static

package sse

// With `-tags libsse_pkgconfig,libsse_static`: the installed libsse.a and
// the system libraries it needs (`pkg-config sse-static`): the binary
// needs no libsse.so at run time.

// #cgo pkg-config: sse-static
import "C"
