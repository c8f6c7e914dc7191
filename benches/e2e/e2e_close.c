/* Item 7: close / interrupt latency on a silent stream.
 *
 *   e2e_close BASE_URL SAMPLES ROUNDS
 *
 * /silent answers 200 text/event-stream and then sends nothing, so the
 * client's thread sits in a blocking read. Per sample, a new client is
 * started and its open item taken (the connection is up), then:
 *   close, same thread: t0; sse_client_close; sse_next_event(-1) until it
 *       returns non-OK (the closed item first) -> t1; must be SSE_CLOSED.
 *       Then sse_client_free is timed.
 *   close, other thread: the main thread blocks in sse_next_event(-1); a
 *       helper thread waits 200 µs, takes t0 and calls sse_client_close;
 *       t1 when the main thread's sse_next_event returns SSE_CLOSED (after
 *       the closed item). Then sse_client_free is timed.
 *   interrupt: one client; t0; sse_client_interrupt; t1 at the
 *       reconnecting item (the old connection is dropped), t2 at the open
 *       item of the new connection (the new request was answered).
 *   close during an unanswered connect: the client connects to a listener
 *       whose accept queue is full (the SYN gets no answer, as with an
 *       unreachable host; connect timeout 60 s); 2 ms later t0;
 *       sse_client_close; t1 when sse_next_event returns SSE_CLOSED. Then
 *       sse_client_free is timed, and the process's threads and open fds
 *       are checked back at their count before the client.
 *   raw reference for the reconnection: a plain socket connects, sends the
 *       GET /silent and reads the response head; the previous one is closed
 *       first, as the interrupt does.
 * Every round takes SAMPLES of each. Prints markdown rows in
 * microseconds: p50, p90, p99, max of all samples, and the median (and
 * range) of the per-round p99.
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "common.h"

/* v: `rounds` slices of n samples each. */
static void row(const char *what, double *v, size_t n, size_t rounds) {
    double p99s[64];
    for (size_t r = 0; r < rounds; r++) {
        sort_doubles(v + r * n, n);
        p99s[r] = pct_sorted(v + r * n, n, 99);
    }
    size_t all = n * rounds;
    sort_doubles(v, all);
    printf("| %s | %zu | %.0f | %.0f | %.0f | %.0f | %.0f (%.0f–%.0f) |\n", what, all, pct_sorted(v, all, 50),
           pct_sorted(v, all, 90), pct_sorted(v, all, 99), v[all - 1], median_of(p99s, rounds), min_of(p99s, rounds),
           max_of(p99s, rounds));
}

/* Takes items until one of `kind` arrives; DIEs on anything unexpected. */
static void wait_kind(sse_client *c, sse_kind kind, int timeout_ms) {
    for (;;) {
        sse_event *ev;
        sse_status st = sse_next_event(c, timeout_ms, &ev);
        if (st != SSE_OK)
            DIE("waiting for kind %d: %s (%s)", (int)kind, sse_status_name(st), sse_client_last_error(c));
        sse_kind k = sse_event_kind(ev);
        if (k == SSE_KIND_ERROR) DIE("error item: %s", sse_event_data(ev, NULL));
        sse_event_free(ev);
        if (k == kind) return;
    }
}

/* Takes the remaining items (the closed item) until a non-OK status. */
static sse_status drain_to_end(sse_client *c) {
    sse_event *ev;
    sse_status st;
    while ((st = sse_next_event(c, 10000, &ev)) == SSE_OK) sse_event_free(ev);
    return st;
}

static struct {
    sem_t go;
    sse_client *_Atomic client;
    _Atomic uint64_t t0;
    atomic_int quit;
} g_helper;

static void *closer(void *arg) {
    (void)arg;
    for (;;) {
        sem_wait(&g_helper.go);
        if (atomic_load(&g_helper.quit)) return NULL;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL); /* let the main thread block in sse_next_event */
        atomic_store(&g_helper.t0, now_ns());
        sse_client_close(atomic_load(&g_helper.client));
    }
}

/* A listener on 127.0.0.1 whose accept queue is full: connects to it get
 * no answer. Its fd is returned; *port gets its port. */
static int unanswered_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, 0) != 0)
        DIE("unanswered listener: %s", strerror(errno));
    getsockname(fd, (struct sockaddr *)&addr, &len);
    *port = ntohs(addr.sin_port);
    /* Fill the queue: connects that complete take its slots; the first one
     * that stays in progress shows it is full. */
    for (int i = 0; i < 16; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(c, (struct sockaddr *)&addr, len) != 0 && errno != EINPROGRESS) DIE("filler connect");
        struct pollfd p = {c, POLLOUT, 0};
        if (poll(&p, 1, 200) == 0) {
            close(c);
            return fd;
        } /* the fillers that connected stay open (held until exit) */
    }
    DIE("the accept queue never filled");
}

/* Entries in a /proc/self directory (threads, fds). */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) DIE("usage: %s BASE_URL SAMPLES ROUNDS", argv[0]);
    const char *base = argv[1];
    size_t n = (size_t)atol(argv[2]), rounds = (size_t)atol(argv[3]);
    if (n < 1 || rounds < 1 || rounds > 64) DIE("SAMPLES >= 1, ROUNDS 1..64");
    size_t total = n * rounds;
    double *close_same = xmalloc(total * sizeof(double)), *free_same = xmalloc(total * sizeof(double));
    double *close_other = xmalloc(total * sizeof(double)), *free_other = xmalloc(total * sizeof(double));
    double *intr_drop = xmalloc(total * sizeof(double)), *intr_open = xmalloc(total * sizeof(double));
    double *raw_open = xmalloc(total * sizeof(double));
    double *close_connecting = xmalloc(total * sizeof(double)), *free_connecting = xmalloc(total * sizeof(double));
    int silent_port;
    int silent_fd = unanswered_listener(&silent_port);
    char silent_base[64];
    snprintf(silent_base, sizeof silent_base, "http://127.0.0.1:%d", silent_port);
    sse_config *ccfg = make_config(silent_base, "/", 0, 1);
    sse_config_set_connect_timeout_ms(ccfg, 60000);
    int leaked_threads = 0, leaked_fds = 0;
    sse_config *cfg = make_config(base, "/silent", 0, 1);
    sse_config *rcfg = make_config(base, "/silent", 0, 0);
    int port = url_port(base);

    sem_init(&g_helper.go, 0, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, closer, NULL) != 0) DIE("pthread_create");

    for (size_t r = 0; r < rounds; r++) {
        size_t off = r * n;
        /* close, same thread */
        for (size_t i = 0; i < n; i++) {
            sse_client *c = start_client(cfg);
            wait_kind(c, SSE_KIND_OPEN, 10000);
            uint64_t t0 = now_ns();
            sse_client_close(c);
            sse_status st = drain_to_end(c);
            uint64_t t1 = now_ns();
            if (st != SSE_CLOSED) DIE("close ended with %s", sse_status_name(st));
            sse_client_free(c);
            uint64_t t2 = now_ns();
            close_same[off + i] = (double)(t1 - t0) / 1e3;
            free_same[off + i] = (double)(t2 - t1) / 1e3;
        }

        /* close from another thread while sse_next_event blocks */
        for (size_t i = 0; i < n; i++) {
            sse_client *c = start_client(cfg);
            wait_kind(c, SSE_KIND_OPEN, 10000);
            atomic_store(&g_helper.client, c);
            sem_post(&g_helper.go);
            sse_status st = drain_to_end(c);
            uint64_t t1 = now_ns();
            if (st != SSE_CLOSED) DIE("close ended with %s", sse_status_name(st));
            uint64_t t0 = atomic_load(&g_helper.t0);
            sse_client_free(c);
            uint64_t t2 = now_ns();
            close_other[off + i] = (double)(t1 - t0) / 1e3;
            free_other[off + i] = (double)(t2 - t1) / 1e3;
        }

        /* close while the connect gets no answer */
        for (size_t i = 0; i < n; i++) {
            int threads0 = count_entries("/proc/self/task"), fds0 = count_entries("/proc/self/fd");
            sse_client *c = start_client(ccfg);
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            sse_event *ev;
            if (sse_next_event(c, 0, &ev) != SSE_TIMEOUT) DIE("the unanswered connect got an answer");
            uint64_t t0 = now_ns();
            sse_client_close(c);
            sse_status st = drain_to_end(c);
            uint64_t t1 = now_ns();
            if (st != SSE_CLOSED) DIE("close during connect ended with %s", sse_status_name(st));
            sse_client_free(c);
            uint64_t t2 = now_ns();
            close_connecting[off + i] = (double)(t1 - t0) / 1e3;
            free_connecting[off + i] = (double)(t2 - t1) / 1e3;
            /* The engine thread stays (shared); the socket must be gone
             * (closed by the engine thread: allow it 100 ms). */
            for (int wait = 0; wait < 100; wait++) {
                if (count_entries("/proc/self/task") <= threads0 && count_entries("/proc/self/fd") <= fds0) break;
                nanosleep(&(struct timespec){0, 1000000}, NULL);
            }
            if (count_entries("/proc/self/task") > threads0) {
                leaked_threads++;
                fprintf(stderr, "threads %d -> %d\n", threads0, count_entries("/proc/self/task"));
            }
            if (count_entries("/proc/self/fd") > fds0) leaked_fds++;
        }

        /* interrupt: reconnect on one client */
        sse_client *c = start_client(rcfg);
        wait_kind(c, SSE_KIND_OPEN, 10000);
        for (size_t i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            sse_client_interrupt(c);
            wait_kind(c, SSE_KIND_RECONNECTING, 10000);
            uint64_t t1 = now_ns();
            wait_kind(c, SSE_KIND_OPEN, 10000);
            uint64_t t2 = now_ns();
            intr_drop[off + i] = (double)(t1 - t0) / 1e3;
            intr_open[off + i] = (double)(t2 - t0) / 1e3;
        }
        sse_client_free(c);

        /* raw reference of a reconnection */
        int prev = -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            if (prev >= 0) {
                shutdown(prev, SHUT_RDWR);
                close(prev);
            }
            int fd = raw_get(port, "/silent");
            char head[4096];
            size_t have = 0;
            for (;;) {
                ssize_t got = read(fd, head + have, sizeof head - 1 - have);
                if (got <= 0) DIE("raw /silent: read %zd", got);
                have += (size_t)got;
                head[have] = 0;
                if (strstr(head, "\r\n\r\n")) break;
            }
            raw_open[off + i] = (double)(now_ns() - t0) / 1e3;
            prev = fd;
        }
        if (prev >= 0) close(prev);
    }
    atomic_store(&g_helper.quit, 1);
    sem_post(&g_helper.go);
    pthread_join(th, NULL);
    sse_config_free(rcfg);
    sse_config_free(cfg);
    sse_config_free(ccfg);
    close(silent_fd);
    if (leaked_threads || leaked_fds)
        DIE("after sse_client_free of a client closed while connecting: %d samples left a thread, %d an fd",
            leaked_threads, leaked_fds);

    row("`sse_client_close` → `SSE_CLOSED` (same thread)", close_same, n, rounds);
    row("`sse_client_free` after that", free_same, n, rounds);
    row("`sse_client_close` from another thread → blocked `sse_next_event(-1)` returns `SSE_CLOSED`", close_other, n,
        rounds);
    row("`sse_client_free` after that", free_other, n, rounds);
    row("`sse_client_close` during an unanswered connect → `SSE_CLOSED` (same thread)", close_connecting, n, rounds);
    row("`sse_client_free` after that (no thread or socket left: checked)", free_connecting, n, rounds);
    row("`sse_client_interrupt` → reconnecting item (old connection dropped)", intr_drop, n, rounds);
    row("`sse_client_interrupt` → open item of the new connection", intr_open, n, rounds);
    row("reference: raw socket close + connect + GET + response head", raw_open, n, rounds);
    return 0;
}
