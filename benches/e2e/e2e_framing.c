/* Item 2c: small events in one-chunk-per-event bodies vs close-delimited.
 *
 *   e2e_framing BASE_URL SIZE COUNT ROUNDS
 *
 * The same COUNT events of SIZE bytes from /fast in three body shapes:
 *   writes   chunked, one chunk per ~64 KiB write (the server's default)
 *   events   chunked, one chunk per event (`chunk=event`: how servers that
 *            flush every event frame them; LLM APIs do this)
 *   close    close-delimited (`framing=close`): no framing at all
 * Each is read with the C packed batch (`sse_next_batch`), as in table 2.
 * Rounds run the three shapes in a rotating order; per round, the ratio
 * of each shape's rate to the close shape's, and the process's CPU time
 * per event (the library's thread and the consumer; a figure that moves
 * less than rates do on a loaded machine) and its ratio. Also the mean number
 * of events per batch (a batch is one read's worth of items: one chunk per
 * event must still give many events per batch).
 * Prints one markdown row per shape:
 * | shape | events | events/s | vs close | events/s range | CPU ns/event | CPU vs close | events/batch |
 */
#include <sys/resource.h>

#include "common.h"

enum { WRITES, EVENTS, CLOSE, NSHAPES };
static const char *SHAPE_NAMES[NSHAPES] = {"chunked, one chunk per 64 KiB write", "chunked, one chunk per event",
                                           "close-delimited"};
static const char *SHAPE_QUERY[NSHAPES] = {"", "&chunk=event", "&framing=close"};

static const char *g_base;
static size_t g_size;
static uint64_t g_count;

/* CPU time (user + system) of this process so far, in seconds. */
static double process_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* Seconds to read the whole stream; *batches gets the number of batches,
 * *cpu the process's CPU seconds meanwhile (library thread + consumer). */
static double run_packed(int shape, uint64_t *batches, double *cpu) {
    char path[256];
    snprintf(path, sizeof path, "/fast?count=%llu&size=%zu%s", (unsigned long long)g_count, g_size,
             SHAPE_QUERY[shape]);
    sse_config *cfg = make_config(g_base, path, 1, 1);
    double cpu0 = process_cpu();
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    uint64_t events = 0, bytes = 0, nb = 0;
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
        nb++;
        sse_batch_free(batch);
    }
    uint64_t t1 = now_ns();
    *cpu = process_cpu() - cpu0;
    if (st != SSE_CLOSED) DIE("%s: ended with %s: %s", path, sse_status_name(st), sse_client_last_error(c));
    if (events != g_count || bytes != g_count * g_size)
        DIE("%s: got %llu events / %llu bytes, expected %llu / %llu", path, (unsigned long long)events,
            (unsigned long long)bytes, (unsigned long long)g_count, (unsigned long long)(g_count * g_size));
    sse_client_free(c);
    sse_config_free(cfg);
    *batches = nb;
    return (double)(t1 - t0) / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) DIE("usage: %s BASE_URL SIZE COUNT ROUNDS", argv[0]);
    g_base = argv[1];
    g_size = (size_t)strtoull(argv[2], NULL, 10);
    g_count = strtoull(argv[3], NULL, 10);
    int rounds = atoi(argv[4]);
    if (rounds < 1 || rounds > 64) DIE("rounds 1..64");
    double secs[NSHAPES][64], per_batch[NSHAPES][64], cpu_ns[NSHAPES][64], cpu;
    uint64_t nb;
    /* Warm-up: one untimed pass of each shape. */
    uint64_t full = g_count;
    g_count = full / 10 ? full / 10 : 1;
    for (int s = 0; s < NSHAPES; s++) (void)run_packed(s, &nb, &cpu);
    g_count = full;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < NSHAPES; k++) {
            int s = (r + k) % NSHAPES;
            secs[s][r] = run_packed(s, &nb, &cpu);
            per_batch[s][r] = (double)g_count / (double)(nb ? nb : 1);
            cpu_ns[s][r] = cpu * 1e9 / (double)g_count;
        }
    }
    double close_ratio[NSHAPES][64], cpu_ratio[NSHAPES][64];
    for (int s = 0; s < NSHAPES; s++)
        for (int r = 0; r < rounds; r++) {
            close_ratio[s][r] = secs[CLOSE][r] / secs[s][r] * 100.0;
            cpu_ratio[s][r] = cpu_ns[s][r] / cpu_ns[CLOSE][r];
        }
    for (int s = 0; s < NSHAPES; s++) {
        double evps[64];
        for (int r = 0; r < rounds; r++) evps[r] = (double)g_count / secs[s][r];
        printf("| %s | %llu | %.3f M | %.0f%% | %.2f–%.2f M | %.0f | %.2f | %.0f |\n", SHAPE_NAMES[s],
               (unsigned long long)g_count, median_of(evps, (size_t)rounds) / 1e6,
               median_of(close_ratio[s], (size_t)rounds), min_of(evps, (size_t)rounds) / 1e6,
               max_of(evps, (size_t)rounds) / 1e6, median_of(cpu_ns[s], (size_t)rounds),
               median_of(cpu_ratio[s], (size_t)rounds), median_of(per_batch[s], (size_t)rounds));
    }
    return 0;
}
