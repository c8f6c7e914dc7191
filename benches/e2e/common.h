/* Shared helpers of the end-to-end benchmarks (benches/e2e): clock,
 * statistics, URL handling, a raw HTTP/1.1 GET over a plain TCP socket. */
#ifndef SSE_E2E_COMMON_H
#define SSE_E2E_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sse.h"

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) DIE("out of memory");
    return p;
}

/* ---- statistics ---- */

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts in place. */
static inline void sort_doubles(double *v, size_t n) { qsort(v, n, sizeof *v, cmp_double); }

/* Nearest-rank percentile of a sorted array (p in 0..100). */
static inline double pct_sorted(const double *v, size_t n, double p) {
    if (n == 0) return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return v[rank - 1];
}

/* Median of n values (copied, the input is untouched). */
static inline double median_of(const double *v, size_t n) {
    if (n == 0) return 0.0;
    double *c = xmalloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    sort_doubles(c, n);
    double m = (n % 2) ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2.0;
    free(c);
    return m;
}

static inline double min_of(const double *v, size_t n) {
    double m = n ? v[0] : 0.0;
    for (size_t i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static inline double max_of(const double *v, size_t n) {
    double m = n ? v[0] : 0.0;
    for (size_t i = 1; i < n; i++) if (v[i] > m) m = v[i];
    return m;
}

/* ---- URLs ---- */

/* Parses "http://127.0.0.1:PORT" into the port. */
static inline int url_port(const char *base) {
    const char *colon = strrchr(base, ':');
    if (!colon || strncmp(base, "http://127.0.0.1:", 17) != 0) DIE("expected http://127.0.0.1:PORT, got %s", base);
    return atoi(colon + 1);
}

/* ---- raw socket client ---- */

/* Connects to 127.0.0.1:port and sends "GET path HTTP/1.1" with the
 * headers libsse sends; returns the socket. */
static inline int raw_get(int port, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) DIE("socket: %s", strerror(errno));
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) DIE("connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n"
                     "Cache-Control: no-cache\r\nUser-Agent: e2e-raw\r\n\r\n",
                     path, port);
    if (write(fd, req, (size_t)n) != n) DIE("write: %s", strerror(errno));
    return fd;
}

/* A config for base+path with the given options. */
static inline sse_config *make_config(const char *base, const char *path, int messages_only, int one_shot) {
    char url[1024];
    snprintf(url, sizeof url, "%s%s", base, path);
    sse_config *cfg = sse_config_new(url);
    if (!cfg) DIE("sse_config_new(%s) failed", url);
    if (sse_config_set_messages_only(cfg, messages_only) != SSE_OK) DIE("messages_only");
    if (one_shot && sse_config_set_max_retries(cfg, 0) != SSE_OK) DIE("max_retries");
    return cfg;
}

static inline sse_client *start_client(const sse_config *cfg) {
    sse_client *c = NULL;
    if (sse_client_start(cfg, &c) != SSE_OK) DIE("sse_client_start: %s", sse_config_last_error(cfg));
    return c;
}

#endif
