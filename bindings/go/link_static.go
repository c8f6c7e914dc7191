//go:build !libsse_shared && !libsse_external && !libsse_pkgconfig

package sse

// The default: links the static library built by `cargo build --release`
// in the root of the libsse checkout this package sits in
// (target/release/libsse.a). The path is given in full so that the linker
// does not pick libsse.so lying beside it. Outside a checkout (a module
// downloaded on its own) build with -tags libsse_pkgconfig instead;
// check_link.go turns a missing library into a readable error.

// #cgo CFLAGS: -I${SRCDIR}/../../include -I${SRCDIR}/../../target/release -DLIBSSE_LINK_CHECKOUT_STATIC
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libsse.a -lm -ldl -lpthread
import "C"
