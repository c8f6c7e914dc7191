//go:build !libsse_external && !libsse_pkgconfig

package sse

// Only a readable error: with the default link flags (link_static.go or,
// with -tags libsse_shared, link_shared.go), the library must have been
// built in the checkout this package sits in. When it is missing (not
// built yet, or a module downloaded on its own), the C preprocessor stops
// here with what to do, before the linker's bare "cannot find libsse.a".
// (A missing sse.h gets the same message from gosse.h, in every file that
// includes it: cgo may compile the preambles in any order.)

/*
#if defined(__has_include)
#if defined(LIBSSE_LINK_CHECKOUT_STATIC) && !(__has_include(<sse.h>) && __has_include("libsse.a"))
#error "libsse is not built: run `cargo build --release` (or `make`) in the libsse checkout (target/release/libsse.a). Outside a checkout: install libsse (`make install`) and build with -tags libsse_pkgconfig."
#endif
#if defined(LIBSSE_LINK_CHECKOUT_SHARED) && !(__has_include(<sse.h>) && __has_include("libsse.so"))
#error "libsse is not built: run `cargo build --release` (or `make`) in the libsse checkout (target/release/libsse.so). Outside a checkout: install libsse (`make install`) and build with -tags libsse_pkgconfig."
#endif
#endif
*/
import "C"
