/* For `make tsan` with gcc's libtsan: Rust's LLVM instruments memory
 * intrinsics as calls to __tsan_memcpy/__tsan_memmove/__tsan_memset,
 * which newer LLVM runtimes provide and gcc 12's libtsan does not. These
 * forward to the C functions, which libtsan intercepts and checks, so the
 * accesses are still seen. Linked into the test programs with -rdynamic
 * so that the instrumented libsse.so finds them. */
#include <stddef.h>
#include <string.h>

void *__tsan_memcpy(void *to, const void *from, size_t n);
void *__tsan_memmove(void *to, const void *from, size_t n);
void *__tsan_memset(void *to, int byte, size_t n);

void *__tsan_memcpy(void *to, const void *from, size_t n) { return memcpy(to, from, n); }
void *__tsan_memmove(void *to, const void *from, size_t n) { return memmove(to, from, n); }
void *__tsan_memset(void *to, int byte, size_t n) { return memset(to, byte, n); }
