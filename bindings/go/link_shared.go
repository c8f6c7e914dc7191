//go:build libsse_shared && !libsse_external && !libsse_pkgconfig

package sse

// With `-tags libsse_shared`: links target/release/libsse.so of the
// checkout and records its directory as the run-time search path (rpath),
// so binaries find it (as libsse.so.0, its SONAME) without LD_LIBRARY_PATH.

// #cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../target/release -DLIBSSE_LINK_CHECKOUT_SHARED
// #cgo LDFLAGS: -L${SRCDIR}/../../target/release -lsse -Wl,-rpath,${SRCDIR}/../../target/release
import "C"
