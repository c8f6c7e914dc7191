/* Item 2b: the event-type filter (sse_config_add_event_type) against
 * taking every event and filtering in the consumer.
 *
 *   e2e_filter BASE_URL SIZE COUNT RARE_EVERY ROUNDS
 *
 * The demo server's /fast?count=COUNT&size=SIZE&rare_every=K writes COUNT
 * events as fast as the socket takes them, the first of every K typed
 * `rare`, the others `common`. Each round runs two consumers, in turn:
 *   filter   sse_config_add_event_type(cfg, "rare"): the library drops the
 *            others before they are copied or queued
 *   all      no filter: every event pulled, its type compared in C
 * Both pull packed batches (sse_next_batch), messages_only, max_retries 0,
 * and count the rare events (COUNT / K, checked). Measured per run: wall
 * time, the consumer thread's CPU time (CLOCK_THREAD_CPUTIME_ID: what the
 * application pays) and the process's (getrusage: the library's thread
 * included). Prints one markdown row per consumer: medians over ROUNDS,
 * and the median per-round ratio of the consumer's CPU to that of "all".
 */
#include <sys/resource.h>

#include "common.h"

static const char *g_base;
static size_t g_size;
static uint64_t g_count, g_every;

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

typedef struct {
    double wall, consumer_cpu, process_cpu;
} run_result;

static run_result run(int filter) {
    char path[256];
    snprintf(path, sizeof path, "/fast?count=%llu&size=%zu&rare_every=%llu",
             (unsigned long long)g_count, g_size, (unsigned long long)g_every);
    sse_config *cfg = make_config(g_base, path, 1, 1);
    if (filter && sse_config_add_event_type(cfg, "rare") != SSE_OK) DIE("add_event_type");
    double c0 = thread_cpu_s(), p0 = process_cpu_s();
    uint64_t t0 = now_ns();
    sse_client *c = start_client(cfg);
    uint64_t rare = 0, seen = 0;
    sse_batch *batch;
    sse_status st;
    while ((st = sse_next_batch(c, -1, &batch)) == SSE_OK) {
        size_t n = sse_batch_len(batch);
        for (size_t i = 0; i < n; i++) {
            const sse_event *ev = sse_batch_event(batch, i);
            seen++;
            if (strcmp(sse_event_type(ev), "rare") == 0) rare++;
        }
        sse_batch_free(batch);
    }
    uint64_t t1 = now_ns();
    run_result r = {(double)(t1 - t0) / 1e9, thread_cpu_s() - c0, process_cpu_s() - p0};
    if (st != SSE_CLOSED) DIE("stream ended with %s: %s", sse_status_name(st), sse_client_last_error(c));
    uint64_t want = (g_count + g_every - 1) / g_every;
    if (rare != want) DIE("%s: %llu rare events, expected %llu", filter ? "filter" : "all",
                          (unsigned long long)rare, (unsigned long long)want);
    if (filter && seen != rare) DIE("filter: %llu events reached the consumer", (unsigned long long)seen);
    sse_client_free(c);
    return r;
}

int main(int argc, char **argv) {
    if (argc != 6) DIE("usage: e2e_filter BASE_URL SIZE COUNT RARE_EVERY ROUNDS");
    g_base = argv[1];
    g_size = (size_t)strtoull(argv[2], NULL, 10);
    g_count = strtoull(argv[3], NULL, 10);
    g_every = strtoull(argv[4], NULL, 10);
    int rounds = atoi(argv[5]);
    if (rounds < 1 || g_every < 1 || g_count < 1) DIE("bad arguments");
    double wall[2][64], ccpu[2][64], pcpu[2][64], ratio[64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int filter = (r + k) % 2; /* alternate which goes first */
            run_result res = run(filter);
            wall[filter][r] = res.wall;
            ccpu[filter][r] = res.consumer_cpu;
            pcpu[filter][r] = res.process_cpu;
        }
        ratio[r] = ccpu[1][r] / (ccpu[0][r] > 0 ? ccpu[0][r] : 1e-9);
    }
    static const char *names[2] = {"all events pulled, type compared in C",
                                   "`sse_config_add_event_type(cfg, \"rare\")`"};
    for (int f = 0; f < 2; f++) {
        double w = median_of(wall[f], (size_t)rounds), c = median_of(ccpu[f], (size_t)rounds);
        double p = median_of(pcpu[f], (size_t)rounds);
        char vs[32] = "1";
        if (f == 1) snprintf(vs, sizeof vs, "%.3f", median_of(ratio, (size_t)rounds));
        printf("| %s | %llu of %llu | %.3f s | %.1f ms | %.1f ms | %s |\n", names[f],
               (unsigned long long)((g_count + g_every - 1) / g_every), (unsigned long long)g_count,
               w, c * 1000, p * 1000, vs);
    }
    return 0;
}
