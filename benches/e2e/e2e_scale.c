/* Item 6: many concurrent clients in one process.
 *
 *   e2e_scale MODE N SECONDS BASE_URL [BASE_URL...]
 *
 * Opens N streams on /ticker?interval_ms=1000 (one event per second per
 * stream), spread round-robin over the given servers. MODE:
 *   libsse       N libsse clients, each with a C callback (no consumer
 *                thread per client), all on the engine's loop
 *   libsse-tls   the same over TLS: the URLs are https:// servers, and the
 *                CA file named by the environment variable E2E_CA
 *                (sse-demo-server --tls --ca-out FILE) is trusted
 *   raw-threads  reference: N plain sockets, one thread each (256 KiB
 *                stacks, like libsse's workers) blocking in read(), counting
 *                "data:" lines: the floor of a thread-per-stream design
 *   raw-epoll    reference: N plain sockets, one epoll thread: the floor
 *                of an event-loop design
 * Waits until every stream got
 * its first event, lets it settle 1 s, then measures over SECONDS:
 * events received, lost and duplicated events (libsse: per stream, each
 * event's id must be the last one + 1, over the whole run), streams
 * behind (fewer than SECONDS - 1 events in the window), CPU
 * (utime+stime from /proc/self/stat, and getrusage
 * for a finer figure), and at the end VmRSS, VmHWM and Threads from
 * /proc/self/status. Also the baseline before any client, the time to
 * connect them all and the time to close+free them all.
 * Prints one markdown row.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "common.h"

static atomic_uint_fast64_t g_events;
static atomic_uint_fast64_t g_connected;

struct per_client {
    atomic_int got_first;
    atomic_ullong events; /* this stream's events so far */
    /* libsse: written by the engine thread only, read after free */
    unsigned long long last_id, lost, duplicated;
};

static void on_event(void *userdata, const sse_event *ev) {
    struct per_client *pc = userdata;
    if (sse_event_kind(ev) != SSE_KIND_MESSAGE) return;
    unsigned long long id = strtoull(sse_event_id(ev), NULL, 10);
    if (id <= pc->last_id) pc->duplicated++;
    else pc->lost += id - pc->last_id - 1;
    if (id > pc->last_id) pc->last_id = id;
    atomic_fetch_add_explicit(&pc->events, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_events, 1, memory_order_relaxed);
    if (!atomic_exchange_explicit(&pc->got_first, 1, memory_order_relaxed))
        atomic_fetch_add_explicit(&g_connected, 1, memory_order_relaxed);
}

/* ---- raw references ---- */

static const char *TICKER = "/ticker?interval_ms=1000";

/* Counts the "data:" lines in one read (events are written whole). */
static void count_data(const char *buf, ssize_t n, struct per_client *pc) {
    uint64_t events = 0;
    for (ssize_t i = 0; i + 5 <= n; i++)
        if (buf[i] == 'd' && memcmp(buf + i, "data:", 5) == 0 && (i == 0 || buf[i - 1] == '\n')) events++;
    if (events == 0) return;
    atomic_fetch_add_explicit(&pc->events, events, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_events, events, memory_order_relaxed);
    if (!atomic_exchange_explicit(&pc->got_first, 1, memory_order_relaxed))
        atomic_fetch_add_explicit(&g_connected, 1, memory_order_relaxed);
}

struct raw_conn {
    int fd;
    struct per_client *pc;
};

static atomic_int g_stop;

static void *raw_reader(void *arg) {
    struct raw_conn *rc = arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(rc->fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return NULL;
        }
        count_data(buf, n, rc->pc);
    }
}

static void *epoll_loop(void *arg) {
    int ep = *(int *)arg;
    struct epoll_event evs[256];
    char buf[4096];
    while (!atomic_load(&g_stop)) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            struct raw_conn *rc = evs[i].data.ptr;
            ssize_t n = read(rc->fd, buf, sizeof buf);
            if (n > 0) count_data(buf, n, rc->pc);
            else if (n == 0 || errno != EAGAIN) epoll_ctl(ep, EPOLL_CTL_DEL, rc->fd, NULL);
        }
    }
    return NULL;
}

/* kB value of a /proc/self/status field, or -1. */
static long status_field(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* utime+stime of this process in clock ticks, from /proc/self/stat. */
static long long stat_ticks(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* after the command name */
    if (!p) return -1;
    p += 2; /* field 3 (state) starts here */
    long long utime = 0, stime = 0;
    for (int field = 3; field <= 15 && *p; field++) {
        if (field == 14) utime = strtoll(p, NULL, 10);
        if (field == 15) stime = strtoll(p, NULL, 10);
        p = strchr(p, ' ');
        if (!p) break;
        p++;
    }
    return utime + stime;
}

static double rusage_secs(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void ioctl_nonblock(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
    if (argc < 5)
        DIE("usage: %s libsse|libsse-tls|raw-threads|raw-epoll N SECONDS BASE_URL [BASE_URL...]", argv[0]);
    const char *mode = argv[1];
    int is_tls = strcmp(mode, "libsse-tls") == 0;
    int is_libsse = is_tls || strcmp(mode, "libsse") == 0, is_threads = strcmp(mode, "raw-threads") == 0;
    int is_epoll = strcmp(mode, "raw-epoll") == 0;
    if (!is_libsse && !is_threads && !is_epoll) DIE("unknown mode %s", mode);
    argv++;
    argc--;
    long n = atol(argv[1]);
    int seconds = atoi(argv[2]);
    int nservers = argc - 3;
    long hz = sysconf(_SC_CLK_TCK);

    long rss0 = status_field("VmRSS"), threads0 = status_field("Threads");
    sse_config **cfgs = xmalloc((size_t)nservers * sizeof *cfgs);
    for (int s = 0; s < nservers; s++) {
        cfgs[s] = make_config(argv[3 + s], "/ticker?interval_ms=1000", 1, 0);
        /* Thousands of connections at once overflow the server's accept
         * backlog; SYN retries take 1 s, 3 s, ...: allow for them. */
        sse_config_set_connect_timeout_ms(cfgs[s], 30000);
        if (is_tls) {
            const char *ca = getenv("E2E_CA");
            if (!ca || sse_config_set_ca_file(cfgs[s], ca) != SSE_OK) DIE("libsse-tls: E2E_CA must name the servers' CA file");
        }
    }
    sse_client **clients = xmalloc((size_t)n * sizeof *clients);
    struct per_client *pcs = calloc((size_t)n, sizeof *pcs);
    if (!pcs) DIE("out of memory");

    struct raw_conn *rcs = calloc((size_t)n, sizeof *rcs);
    pthread_t *ths = calloc((size_t)n, sizeof *ths);
    int ep = -1;
    pthread_t epoll_th;
    if (!rcs || !ths) DIE("out of memory");
    if (is_epoll) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (pthread_create(&epoll_th, NULL, epoll_loop, &ep) != 0) DIE("pthread_create");
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (is_libsse) {
            clients[i] = start_client(cfgs[i % nservers]);
            if (sse_client_set_callback(clients[i], on_event, &pcs[i], NULL) != SSE_OK) DIE("set_callback");
            continue;
        }
        rcs[i].fd = raw_get(url_port(argv[3 + i % nservers]), TICKER);
        rcs[i].pc = &pcs[i];
        if (is_threads) {
            if (pthread_create(&ths[i], &attr, raw_reader, &rcs[i]) != 0) DIE("pthread_create %ld", i);
        } else {
            ioctl_nonblock(rcs[i].fd, 1);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &rcs[i]};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, rcs[i].fd, &ev) != 0) DIE("epoll_ctl: %s", strerror(errno));
        }
    }
    uint64_t t_started = now_ns();
    while ((long)atomic_load(&g_connected) < n) {
        if (now_ns() - t0 > 90ull * 1000000000ull) {
            fprintf(stderr, "e2e_scale: only %llu of %ld clients got an event after 90 s\n",
                    (unsigned long long)atomic_load(&g_connected), n);
            break;
        }
        sleep_ms(10);
    }
    uint64_t t_connected = now_ns();
    long connected = (long)atomic_load(&g_connected);
    sleep_ms(1000); /* settle: let the first-event burst pass */

    uint64_t e0 = atomic_load(&g_events);
    unsigned long long *window0 = xmalloc((size_t)n * sizeof *window0);
    for (long i = 0; i < n; i++) window0[i] = atomic_load_explicit(&pcs[i].events, memory_order_relaxed);
    long long ticks0 = stat_ticks();
    double ru0 = rusage_secs();
    uint64_t m0 = now_ns();
    sleep_ms(seconds * 1000L);
    uint64_t m1 = now_ns();
    double ru1 = rusage_secs();
    long long ticks1 = stat_ticks();
    uint64_t e1 = atomic_load(&g_events);
    /* A stream that got fewer than SECONDS - 1 of its SECONDS-or-so events
     * in the window is behind (stalled, or starved by the others). */
    long behind = 0;
    for (long i = 0; i < n; i++)
        if (atomic_load_explicit(&pcs[i].events, memory_order_relaxed) - window0[i] + 1 < (unsigned long long)seconds)
            behind++;
    free(window0);

    long rss = status_field("VmRSS"), hwm = status_field("VmHWM"), threads = status_field("Threads");
    double wall = (double)(m1 - m0) / 1e9;
    double cpu_stat = (double)(ticks1 - ticks0) / (double)hz;
    double cpu_ru = ru1 - ru0;

    uint64_t c0 = now_ns();
    if (is_libsse) {
        for (long i = 0; i < n; i++) sse_client_close(clients[i]);
        for (long i = 0; i < n; i++) sse_client_free(clients[i]);
    } else {
        for (long i = 0; i < n; i++) shutdown(rcs[i].fd, SHUT_RDWR);
        if (is_threads) {
            for (long i = 0; i < n; i++) pthread_join(ths[i], NULL);
        } else {
            atomic_store(&g_stop, 1);
            pthread_join(epoll_th, NULL);
            close(ep);
        }
        for (long i = 0; i < n; i++) close(rcs[i].fd);
    }
    uint64_t c1 = now_ns();
    for (int s = 0; s < nservers; s++) sse_config_free(cfgs[s]);
    unsigned long long lost = 0, duplicated = 0;
    for (long i = 0; i < n; i++) {
        lost += pcs[i].lost;
        duplicated += pcs[i].duplicated;
    }
    char check[96] = "not checked";
    if (is_libsse) snprintf(check, sizeof check, "%llu / %llu", lost, duplicated);
    if (behind) {
        size_t used = strlen(check);
        snprintf(check + used, sizeof check - used, "; %ld streams behind", behind);
    }

    /* | mode | streams | servers | connected | connect s | events (expected) | lost / duplicated |
     *   CPU % stat | CPU % rusage | VmRSS MiB | VmHWM MiB | RSS/stream KiB | threads | teardown s | */
    printf("| %s | %ld | %d | %ld | %.1f | %llu (%.0f) | %s | %.2f%% | %.2f%% | %.1f | %.1f | %.1f | %ld | %.2f |\n", mode,
           n, nservers, connected, (double)(t_connected - t0) / 1e9, (unsigned long long)(e1 - e0), (double)n * wall, check,
           cpu_stat / wall * 100.0, cpu_ru / wall * 100.0, (double)rss / 1024.0, (double)hwm / 1024.0,
           (double)(rss - rss0) / (double)n, threads, (double)(c1 - c0) / 1e9);
    fprintf(stderr,
            "e2e_scale: n=%ld baseline VmRSS %ld kB, %ld threads; started in %.2f s; connected in %.2f s; "
            "window %.2f s; cpu %.3f s (stat) %.3f s (rusage)\n",
            n, rss0, threads0, (double)(t_started - t0) / 1e9, (double)(t_connected - t0) / 1e9, wall, cpu_stat,
            cpu_ru);
    free(clients);
    free(rcs);
    free(ths);
    free(pcs);
    free(cfgs);
    return 0;
}
