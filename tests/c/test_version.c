/* The version macros of include/sse.h against Cargo.toml's version
 * (passed as SSE_CARGO_VERSION by the build) and the library's
 * sse_version(). Run by `make test-header`. */
#include <stdio.h>
#include <string.h>

#include "sse.h"

#ifndef SSE_CARGO_VERSION
#error "build with -DSSE_CARGO_VERSION='\"x.y.z\"' (Cargo.toml's version)"
#endif

#define STR2(x) #x
#define STR(x) STR2(x)

int main(void) {
    char from_parts[64];
    snprintf(from_parts, sizeof from_parts, "%d.%d.%d", SSE_VERSION_MAJOR, SSE_VERSION_MINOR,
             SSE_VERSION_PATCH);
    int failures = 0;
    if (strcmp(from_parts, SSE_CARGO_VERSION) != 0) {
        fprintf(stderr, "FAIL: SSE_VERSION_MAJOR/MINOR/PATCH = %s, Cargo.toml = %s\n", from_parts,
                SSE_CARGO_VERSION);
        failures++;
    }
    if (strcmp(SSE_VERSION_STRING, SSE_CARGO_VERSION) != 0) {
        fprintf(stderr, "FAIL: SSE_VERSION_STRING = %s, Cargo.toml = %s\n", SSE_VERSION_STRING,
                SSE_CARGO_VERSION);
        failures++;
    }
    if (sse_version() == NULL || strcmp(sse_version(), SSE_CARGO_VERSION) != 0) {
        fprintf(stderr, "FAIL: sse_version() = %s, Cargo.toml = %s\n",
                sse_version() ? sse_version() : "(null)", SSE_CARGO_VERSION);
        failures++;
    }
    if (failures == 0) {
        printf("test_version: header %s (%s.%s.%s), library %s, Cargo.toml %s: ok\n",
               SSE_VERSION_STRING, STR(SSE_VERSION_MAJOR), STR(SSE_VERSION_MINOR),
               STR(SSE_VERSION_PATCH), sse_version(), SSE_CARGO_VERSION);
    }
    return failures == 0 ? 0 : 1;
}
