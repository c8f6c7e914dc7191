//go:build !libsse_shared && !libsse_external

package sse

// Links the static library built by `cargo build --release` in the
// repository root (target/release/libsse.a). The path is given in full so
// that the linker does not pick libsse.so lying beside it.

// #cgo CFLAGS: -I${SRCDIR}/../../include
// #cgo LDFLAGS: ${SRCDIR}/../../target/release/libsse.a -lm -ldl -lpthread
import "C"
