/* Item 5: delivery latency of /stamp events to a C consumer.
 *
 *   e2e_latency BASE_URL RATE COUNT ROUNDS
 *
 * /stamp?rate=RATE&count=COUNT&framing=F sends events whose data is the
 * server's CLOCK_MONOTONIC in ns at write time; latency = our
 * CLOCK_MONOTONIC when the consumer holds the event - stamp. For each
 * framing (chunked, close) and round, in a rotating order, one libsse
 * consumer runs while a raw reader runs at the same time on its own
 * connection (a second thread), so both see the same machine load:
 *   raw       plain TCP socket: same GET, read(), find "data: <ns>\n"
 *   pull      sse_next_event(-1) on the main thread
 *   driven    the same, with sse_config_set_driven_by_caller: the stream is
 *             read inside the pull, on the main thread (one wake-up per event)
 *   callback  stamp taken inside the callback (libsse's thread)
 *   fd        poll() on sse_client_fd, then sse_next_event(0) until SSE_TIMEOUT
 *   handoff   reference, no libsse: a raw reader thread hands each stamp to
 *             the main thread through a mutex + condition variable (stamp
 *             taken there): the floor of any design where one thread reads
 *             and another consumes, as pull and fd do
 * The first WARMUP events of every stream are not counted. libsse:
 * messages_only, max_retries 0. Prints one markdown row per framing and
 * consumer (pooled samples of all rounds), in microseconds: p50, p90, p99,
 * max; p50 minus the raw p50; p99 / raw p99, where "raw" pools every raw
 * run of that framing (the steadiest reference); and the paired ratio:
 * the median over rounds of p99 / p99 of the raw reader that ran beside
 * it (in parentheses: pooled over those paired raw runs).
 */
#include <poll.h>
#include <pthread.h>

#include "common.h"

#define WARMUP 10
enum { RAW, PULL, DRIVEN, CALLBACK, FD, HANDOFF, NMODES };
static const char *MODE_NAMES[NMODES] = {"raw socket (reference)", "pull `sse_next_event`",
                                         "driven pull `sse_next_event` (read on the caller's thread)", "callback",
                                         "fd + poll", "reference: raw reader → second thread (condvar)"};
static const char *FRAMINGS[2] = {"chunked", "close"};

static const char *g_base;
static int g_port;
static double g_rate;
static uint64_t g_count;

struct samples {
    double *v;
    size_t n, cap;
    uint64_t seen; /* events seen, warm-up included */
};

static void push(struct samples *s, double v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) DIE("out of memory");
    }
    s->v[s->n++] = v;
}

/* One event seen at `now`, stamped `stamp` (ns); the first WARMUP of a
 * stream are not recorded. */
static void add(struct samples *s, uint64_t now, uint64_t stamp) {
    if (s->seen++ < WARMUP) return;
    push(s, ((double)now - (double)stamp) / 1e3); /* µs */
}

static void path_for(char *buf, size_t n, int framing) {
    snprintf(buf, n, "/stamp?rate=%g&count=%llu&framing=%s", g_rate, (unsigned long long)g_count, FRAMINGS[framing]);
}

/* Where run_raw's events go: recorded, or handed to another thread. */
static void (*g_raw_sink)(struct samples *s, uint64_t now, uint64_t stamp) = NULL;

static void run_raw(int framing, struct samples *s) {
    char path[256];
    path_for(path, sizeof path, framing);
    int fd = raw_get(g_port, path);
    enum { BUF = 64 * 1024 };
    char *buf = xmalloc(BUF); /* two readers may run at once (handoff) */
    size_t have = 0;
    uint64_t events = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, BUF - have - 1);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            DIE("raw read: %s", strerror(errno));
        }
        uint64_t t = now_ns();
        have += (size_t)n;
        buf[have] = 0;
        /* Every complete "data: <digits>\n" line; keep an unfinished tail. */
        char *p = buf, *keep = buf;
        for (;;) {
            char *d = strstr(p, "\ndata: ");
            if (!d) break;
            char *nl = strchr(d + 7, '\n');
            if (!nl) break;
            if (g_raw_sink && s == NULL) g_raw_sink(s, t, strtoull(d + 7, NULL, 10));
            else add(s, t, strtoull(d + 7, NULL, 10));
            events++;
            p = keep = nl;
        }
        /* Keep from the last consumed newline (so "\ndata: " still matches). */
        if (keep == buf && have > 4096) keep = buf + have - 64; /* the head, no event yet */
        have -= (size_t)(keep - buf);
        memmove(buf, keep, have);
    }
    close(fd);
    free(buf);
    if (events != g_count) DIE("raw: %llu events, expected %llu", (unsigned long long)events, (unsigned long long)g_count);
}

static sse_client *start_as(int framing, bool driven) {
    char path[256];
    path_for(path, sizeof path, framing);
    sse_config *cfg = make_config(g_base, path, 1, 1);
    if (driven && sse_config_set_driven_by_caller(cfg, true) != SSE_OK) DIE("set_driven_by_caller");
    sse_client *c = start_client(cfg);
    sse_config_free(cfg);
    return c;
}

static sse_client *start(int framing) { return start_as(framing, false); }

static void take(sse_event *ev, struct samples *s) {
    uint64_t t = now_ns();
    add(s, t, strtoull(sse_event_data(ev, NULL), NULL, 10));
    sse_event_free(ev);
}

static void finish(sse_client *c, sse_status st, const struct samples *s, uint64_t before) {
    if (st != SSE_CLOSED) DIE("stream ended with %s: %s", sse_status_name(st), sse_client_last_error(c));
    if (s->seen - before != g_count) DIE("%llu events, expected %llu", (unsigned long long)(s->seen - before),
                                        (unsigned long long)g_count);
    sse_client_free(c);
}

static void run_pull(int framing, struct samples *s, bool driven) {
    uint64_t before = s->seen;
    s->seen = 0;
    sse_client *c = start_as(framing, driven);
    sse_event *ev;
    sse_status st;
    while ((st = sse_next_event(c, -1, &ev)) == SSE_OK) take(ev, s);
    uint64_t seen = s->seen;
    s->seen = before + seen;
    finish(c, st, s, before);
}

static void on_event(void *userdata, const sse_event *ev) {
    uint64_t t = now_ns();
    if (sse_event_kind(ev) != SSE_KIND_MESSAGE) return;
    add(userdata, t, strtoull(sse_event_data(ev, NULL), NULL, 10));
}

static void run_callback(int framing, struct samples *s) {
    uint64_t before = s->seen;
    s->seen = 0;
    sse_client *c = start(framing);
    if (sse_client_set_callback(c, on_event, s, NULL) != SSE_OK) DIE("set_callback");
    sse_event *ev;
    sse_status st = sse_next_event(c, -1, &ev); /* returns at the end of the stream */
    if (st == SSE_OK) DIE("item queued despite the callback");
    if (st != SSE_CLOSED) DIE("stream ended with %s: %s", sse_status_name(st), sse_client_last_error(c));
    sse_client_free(c); /* joins: the samples are final */
    uint64_t seen = s->seen;
    s->seen = before + seen;
    if (seen != g_count) DIE("callback: %llu events", (unsigned long long)seen);
}

static unsigned g_lost_wakeups;

static void run_fd(int framing, struct samples *s) {
    uint64_t before = s->seen;
    s->seen = 0;
    sse_client *c = start(framing);
    int fd = sse_client_fd(c);
    if (fd < 0) DIE("sse_client_fd");
    sse_status st = SSE_OK;
    while (st == SSE_OK || st == SSE_TIMEOUT) {
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        /* Events come every millisecond: a 1 s poll timeout means a lost
         * wake-up (counted, reported); never hang on it. */
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno != EINTR) DIE("poll: %s", strerror(errno));
        if (r == 0) g_lost_wakeups++;
        sse_event *ev;
        while ((st = sse_next_event(c, 0, &ev)) == SSE_OK) take(ev, s);
    }
    uint64_t seen = s->seen;
    s->seen = before + seen;
    finish(c, st, s, before);
}

/* handoff: stamps from the reader thread to the main thread. */
static struct {
    pthread_mutex_t m;
    pthread_cond_t c;
    uint64_t ring[4096];
    size_t head, tail;
    int done;
} g_q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

static void handoff_push(struct samples *s, uint64_t now, uint64_t stamp) {
    (void)s;
    (void)now;
    pthread_mutex_lock(&g_q.m);
    if (g_q.tail - g_q.head < 4096) g_q.ring[g_q.tail++ % 4096] = stamp;
    pthread_cond_signal(&g_q.c);
    pthread_mutex_unlock(&g_q.m);
}

static void *handoff_reader(void *arg) {
    run_raw(*(int *)arg, NULL);
    pthread_mutex_lock(&g_q.m);
    g_q.done = 1;
    pthread_cond_signal(&g_q.c);
    pthread_mutex_unlock(&g_q.m);
    return NULL;
}

static void run_handoff(int framing, struct samples *s) {
    g_q.head = g_q.tail = 0;
    g_q.done = 0;
    g_raw_sink = handoff_push;
    pthread_t th;
    if (pthread_create(&th, NULL, handoff_reader, &framing) != 0) DIE("pthread_create");
    for (;;) {
        pthread_mutex_lock(&g_q.m);
        while (g_q.head == g_q.tail && !g_q.done) pthread_cond_wait(&g_q.c, &g_q.m);
        if (g_q.head == g_q.tail) {
            pthread_mutex_unlock(&g_q.m);
            break;
        }
        uint64_t stamp = g_q.ring[g_q.head++ % 4096];
        pthread_mutex_unlock(&g_q.m);
        add(s, now_ns(), stamp);
    }
    pthread_join(th, NULL);
    g_raw_sink = NULL;
}

struct raw_job {
    int framing;
    struct samples s;
};

static void *raw_thread(void *arg) {
    struct raw_job *j = arg;
    run_raw(j->framing, &j->s);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) DIE("usage: %s BASE_URL RATE COUNT ROUNDS", argv[0]);
    g_base = argv[1];
    g_port = url_port(g_base);
    g_rate = atof(argv[2]);
    g_count = strtoull(argv[3], NULL, 10);
    int rounds = atoi(argv[4]);
    if (rounds < 1 || rounds > 64 || g_count <= WARMUP) DIE("rounds 1..64, count > %d", WARMUP);
    for (int f = 0; f < 2; f++) {
        /* all[RAW]: every raw run; pair_raw[m]: the raw runs beside mode m. */
        struct samples all[NMODES], pair_raw[NMODES];
        double round_ratio[NMODES][64];
        memset(all, 0, sizeof all);
        memset(pair_raw, 0, sizeof pair_raw);
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < NMODES - 1; k++) {
                int m = 1 + (r + k) % (NMODES - 1);
                struct samples one;
                memset(&one, 0, sizeof one);
                struct raw_job job;
                memset(&job, 0, sizeof job);
                job.framing = f;
                pthread_t th;
                if (pthread_create(&th, NULL, raw_thread, &job) != 0) DIE("pthread_create");
                usleep(500); /* the two streams' writes half a period apart */
                switch (m) {
                case PULL: run_pull(f, &one, false); break;
                case DRIVEN: run_pull(f, &one, true); break;
                case CALLBACK: run_callback(f, &one); break;
                case HANDOFF: run_handoff(f, &one); break;
                default: run_fd(f, &one); break;
                }
                pthread_join(th, NULL);
                for (size_t i = 0; i < one.n; i++) push(&all[m], one.v[i]);
                for (size_t i = 0; i < job.s.n; i++) {
                    push(&all[RAW], job.s.v[i]);
                    push(&pair_raw[m], job.s.v[i]);
                }
                sort_doubles(one.v, one.n);
                sort_doubles(job.s.v, job.s.n);
                round_ratio[m][r] = pct_sorted(one.v, one.n, 99) / pct_sorted(job.s.v, job.s.n, 99);
                free(one.v);
                free(job.s.v);
            }
        }
        sort_doubles(all[RAW].v, all[RAW].n);
        double raw_p50 = pct_sorted(all[RAW].v, all[RAW].n, 50), raw_p99 = pct_sorted(all[RAW].v, all[RAW].n, 99);
        for (int m = 0; m < NMODES; m++) {
            struct samples *a = &all[m];
            sort_doubles(a->v, a->n);
            double p50 = pct_sorted(a->v, a->n, 50), p99 = pct_sorted(a->v, a->n, 99);
            char vs[32] = "—", dp50[32] = "—", paired[48] = "—";
            if (m != RAW) {
                struct samples *pr = &pair_raw[m];
                sort_doubles(pr->v, pr->n);
                snprintf(vs, sizeof vs, "%.2f×", p99 / raw_p99);
                snprintf(dp50, sizeof dp50, "%+.0f", p50 - raw_p50);
                snprintf(paired, sizeof paired, "%.2f× (%.2f×)", median_of(round_ratio[m], (size_t)rounds),
                         p99 / pct_sorted(pr->v, pr->n, 99));
                free(pr->v);
            }
            printf("| %s | %s | %zu | %.0f | %.0f | %.0f | %.0f | %s | %s | %s |\n", FRAMINGS[f], MODE_NAMES[m], a->n, p50,
                   pct_sorted(a->v, a->n, 90), p99, a->v[a->n - 1], dp50, vs, paired);
            free(a->v);
        }
    }
    if (g_lost_wakeups)
        fprintf(stderr, "e2e_latency: fd + poll: %u poll() timeouts of 1 s with the stream still going (lost wake-ups)\n",
                g_lost_wakeups);
    return 0;
}
