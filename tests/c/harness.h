/* A small harness for libsse's C and C++ tests: checks that count
 * failures and go on, a runner with per-test timing, and the bundled demo
 * server started as a subprocess on a free loopback port. */
#ifndef LIBSSE_TEST_HARNESS_H
#define LIBSSE_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- checks */

extern int harness_failures; /* checks failed so far (all tests) */

void harness_fail(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* CHECK(cond, "printf message", ...): records a failure and goes on. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) harness_fail(__FILE__, __LINE__, "CHECK(" #cond ") " __VA_ARGS__);            \
    } while (0)
/* REQUIRE: like CHECK, but leaves the current test function. */
#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            harness_fail(__FILE__, __LINE__, "REQUIRE(" #cond ") " __VA_ARGS__);                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *got_ = (got), *want_ = (want);                                                 \
        if (got_ == NULL || strcmp(got_, want_) != 0)                                              \
            harness_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #got,                \
                         got_ ? got_ : "(null)", want_);                                           \
    } while (0)
#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long got_ = (long long)(got), want_ = (long long)(want);                              \
        if (got_ != want_)                                                                         \
            harness_fail(__FILE__, __LINE__, "%s == %lld, expected %lld", #got, got_, want_);      \
    } while (0)

/* ------------------------------------------------------------- runner */

typedef void (*harness_test_fn)(void);
typedef struct {
    const char *name;
    harness_test_fn fn;
} harness_test;

/* Runs the tests (all, or those named in argv[1..]); prints one line per
 * test and a summary; returns the exit status (0 when all passed). */
int harness_run(const char *suite, const harness_test *tests, size_t count, int argc, char **argv);

/* Milliseconds on the monotonic clock. */
double harness_now_ms(void);
void harness_sleep_ms(int ms);

/* A time limit in ms, scaled by $SSE_TEST_SLOW (set under valgrind). */
int harness_ms(int ms);

/* -------------------------------------------------------------- server */

typedef struct {
    pid_t pid;
    int stdin_fd;  /* closing it stops the server (--exit-on-stdin-eof) */
    char url[128]; /* http://127.0.0.1:PORT or https://... */
    int port;
    char ca_file[256]; /* with TLS: the CA certificate (PEM) */
} harness_server;

/* Starts target/release/sse-demo-server (or $SSE_DEMO_SERVER) on port 0;
 * with `tls`, over HTTPS with a fresh CA written to a temporary file.
 * Returns 0 on success. */
int harness_server_start(harness_server *server, int tls);
void harness_server_stop(harness_server *server);

/* The server's URL for `path` ("/ticker?count=3"), in one of a few
 * rotating static buffers (valid for the next 15 calls). */
const char *harness_url(const harness_server *server, const char *path);

/* A plain HTTP GET of `path` on the server: the response body
 * (malloc'ed, NUL-terminated; free it) or NULL. */
char *harness_http_get(const harness_server *server, const char *path);

/* Threads of this process named libsse-engine (a loop thread); -1 without
 * /proc. */
int engine_threads(void);

/* engine_threads() once it equals `want`, or after 10 s (scaled). */
int engine_threads_become(int want);

#ifdef __cplusplus
}
#endif

#endif
