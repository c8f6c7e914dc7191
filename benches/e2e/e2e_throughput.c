/* Item 2: end-to-end throughput on loopback.
 *
 *   e2e_throughput BASE_URL SIZE COUNT ROUNDS
 *
 * The demo server's /fast?count=COUNT&size=SIZE writes COUNT identical
 * events ("data: <SIZE bytes>\n\n") as fast as the socket takes them
 * (chunked framing, the default for HTTP/1.1). Each round runs, in a
 * rotating order, four consumers of the same stream:
 *   raw      a plain TCP reader: same GET, read() into 64 KiB until EOF, parses nothing
 *   pull     sse_next_event(-1) + sse_event_data + sse_event_free per event
 *   batch    sse_next_events(max 1024, -1), same per event
 *   packed   sse_next_batch(-1): one network read's items per call, read with
 *            sse_batch_event + sse_event_data, one sse_batch_free per batch
 *   callback sse_client_set_callback (informational), main thread blocked in sse_next_event
 * libsse: messages_only, max_retries 0 (one-shot: ends with SSE_CLOSED).
 * Time: from before socket()/sse_client_start to EOF/SSE_CLOSED.
 * Bytes: the event-stream body, COUNT * (SIZE + 8), the same for every
 * consumer (the raw reader also reads the head and chunk framing).
 * Prints one markdown row per consumer: medians over ROUNDS, and the
 * median of the per-round ratio to the raw reader of the same round.
 */
#include <stdatomic.h>

#include "common.h"

enum { RAW, PULL, BATCH, PACKED, CALLBACK, NMODES };
static const char *MODE_NAMES[NMODES] = {"raw TCP reader (limit)", "C pull `sse_next_event`",
                                         "C batch pull `sse_next_events`",
                                         "C packed batch `sse_next_batch`", "callback"};

static const char *g_base;
static int g_port;
static size_t g_size;
static uint64_t g_count;

static void path_for(char *buf, size_t n) {
    snprintf(buf, n, "/fast?count=%llu&size=%zu", (unsigned long long)g_count, g_size);
}

static double run_raw(uint64_t *wire) {
    char path[256];
    path_for(path, sizeof path);
    static char buf[64 * 1024];
    uint64_t t0 = now_ns();
    int fd = raw_get(g_port, path);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            total += (uint64_t)n;
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            DIE("raw read: %s", strerror(errno));
        }
    }
    uint64_t t1 = now_ns();
    close(fd);
    *wire = total;
    return (double)(t1 - t0) / 1e9;
}

static void check_end(sse_client *c, sse_status st, uint64_t events, uint64_t bytes) {
    if (st != SSE_CLOSED) DIE("stream ended with %s: %s", sse_status_name(st), sse_client_last_error(c));
    if (events != g_count) DIE("got %llu events, expected %llu", (unsigned long long)events, (unsigned long long)g_count);
    if (bytes != g_count * g_size) DIE("got %llu data bytes, expected %llu", (unsigned long long)bytes,
                                       (unsigned long long)(g_count * g_size));
}

static sse_config *config(void) {
    char path[256];
    path_for(path, sizeof path);
    return make_config(g_base, path, 1, 1);
}

static double run_pull(void) {
    sse_config *cfg = config();
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    uint64_t events = 0, bytes = 0;
    sse_event *ev;
    sse_status st;
    while ((st = sse_next_event(c, -1, &ev)) == SSE_OK) {
        size_t len = 0;
        (void)sse_event_data(ev, &len);
        bytes += len;
        events++;
        sse_event_free(ev);
    }
    uint64_t t1 = now_ns();
    check_end(c, st, events, bytes);
    sse_client_free(c);
    sse_config_free(cfg);
    return (double)(t1 - t0) / 1e9;
}

static double run_batch(void) {
    sse_config *cfg = config();
    static sse_event *evs[1024];
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    uint64_t events = 0, bytes = 0;
    size_t n;
    sse_status st;
    while ((st = sse_next_events(c, evs, 1024, -1, &n)) == SSE_OK) {
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            (void)sse_event_data(evs[i], &len);
            bytes += len;
            sse_event_free(evs[i]);
        }
        events += n;
    }
    uint64_t t1 = now_ns();
    check_end(c, st, events, bytes);
    sse_client_free(c);
    sse_config_free(cfg);
    return (double)(t1 - t0) / 1e9;
}

static double run_packed(void) {
    sse_config *cfg = config();
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    uint64_t events = 0, bytes = 0;
    sse_batch *batch;
    sse_status st;
    while ((st = sse_next_batch(c, -1, &batch)) == SSE_OK) {
        size_t n = sse_batch_len(batch);
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            (void)sse_event_data(sse_batch_event(batch, i), &len);
            bytes += len;
        }
        events += n;
        sse_batch_free(batch);
    }
    uint64_t t1 = now_ns();
    check_end(c, st, events, bytes);
    sse_client_free(c);
    sse_config_free(cfg);
    return (double)(t1 - t0) / 1e9;
}

struct counter {
    uint64_t events, bytes; /* written by the client's thread only */
};

static void on_event(void *userdata, const sse_event *ev) {
    struct counter *k = userdata;
    if (sse_event_kind(ev) != SSE_KIND_MESSAGE) return;
    size_t len = 0;
    (void)sse_event_data(ev, &len);
    k->bytes += len;
    k->events++;
}

static double run_callback(void) {
    sse_config *cfg = config();
    struct counter k = {0, 0};
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    if (sse_client_set_callback(c, on_event, &k, NULL) != SSE_OK) DIE("set_callback");
    sse_event *ev;
    sse_status st = sse_next_event(c, -1, &ev); /* returns once the stream ended */
    uint64_t t1 = now_ns();
    if (st == SSE_OK) DIE("an item was queued despite the callback");
    if (st != SSE_CLOSED) DIE("stream ended with %s: %s", sse_status_name(st), sse_client_last_error(c));
    sse_client_free(c); /* joins the thread: k is final */
    check_end(NULL, st, k.events, k.bytes);
    sse_config_free(cfg);
    return (double)(t1 - t0) / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) DIE("usage: %s BASE_URL SIZE COUNT ROUNDS", argv[0]);
    g_base = argv[1];
    g_port = url_port(g_base);
    g_size = (size_t)strtoull(argv[2], NULL, 10);
    g_count = strtoull(argv[3], NULL, 10);
    int rounds = atoi(argv[4]);
    double secs[NMODES][64];
    uint64_t wire = 0;
    if (rounds < 1 || rounds > 64) DIE("rounds 1..64");
    /* Warm-up: one untimed pass of each (page cache, server thread, lazy init). */
    if (!getenv("E2E_ONLY")) {
        uint64_t g = g_count;
        g_count = g / 10 ? g / 10 : 1;
        (void)run_raw(&wire);
        (void)run_pull();
        (void)run_batch();
        (void)run_packed();
        (void)run_callback();
        g_count = g;
    }
    /* E2E_ONLY=raw|pull|batch|packed|callback: run that consumer only (profiling). */
    const char *only = getenv("E2E_ONLY");
    int only_mode = -1;
    if (only) {
        const char *names[NMODES] = {"raw", "pull", "batch", "packed", "callback"};
        for (int m = 0; m < NMODES; m++)
            if (strcmp(only, names[m]) == 0) only_mode = m;
        if (only_mode < 0) DIE("E2E_ONLY: raw, pull, batch, packed or callback");
    }
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NMODES; k++) {
            int m = (r + k) % NMODES;
            if (only_mode >= 0 && m != only_mode && m != RAW) {
                secs[m][r] = 1e9;
                continue;
            }
            switch (m) {
            case RAW: secs[m][r] = run_raw(&wire); break;
            case PULL: secs[m][r] = run_pull(); break;
            case BATCH: secs[m][r] = run_batch(); break;
            case PACKED: secs[m][r] = run_packed(); break;
            default: secs[m][r] = run_callback(); break;
            }
        }
    }
    double body = (double)g_count * (double)(g_size + 8);
    for (int m = 0; m < NMODES; m++) {
        double mbps[64], evps[64], ratio[64];
        for (int r = 0; r < rounds; r++) {
            mbps[r] = body / secs[m][r] / 1e6;
            evps[r] = (double)g_count / secs[m][r];
            ratio[r] = secs[RAW][r] / secs[m][r] * 100.0;
        }
        char label[64];
        if (g_size >= 1024) snprintf(label, sizeof label, "%zu KiB", g_size / 1024);
        else snprintf(label, sizeof label, "%zu B", g_size);
        printf("| %s | %s | %llu | %.0f | %.3f M | %.0f%% | %.0f–%.0f |\n", label, MODE_NAMES[m],
               (unsigned long long)g_count, median_of(mbps, (size_t)rounds), median_of(evps, (size_t)rounds) / 1e6,
               m == RAW ? 100.0 : median_of(ratio, (size_t)rounds), min_of(mbps, (size_t)rounds),
               max_of(mbps, (size_t)rounds));
    }
    fprintf(stderr, "e2e_throughput: size %zu: raw reader read %llu wire bytes for %.0f body bytes\n", g_size,
            (unsigned long long)wire, body);
    return 0;
}
