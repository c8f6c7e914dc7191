//go:build libsse_shared && !libsse_external

package sse

// With `-tags libsse_shared`: links target/release/libsse.so and records
// its directory as the run-time search path (rpath), so binaries find it
// without LD_LIBRARY_PATH.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lsse -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
