/* The features of issue 13 through the C ABI against the bundled demo
 * server: the on-end setting, a refusal's body, the request hook (its
 * headers, query, failures and userdata_free) and the counters
 * (sse_client_stats and its size field), and a client with a thread of
 * its own beside a blocking callback. Run under ASan+UBSan and under
 * valgrind by `make test-c`.
 *
 * usage: test_features [TEST...]   (from the repository root) */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sse.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif

static harness_server server;

static sse_config *config_for(const char *path) {
    sse_config *cfg = sse_config_new(harness_url(&server, path));
    if (cfg == NULL) return NULL;
    sse_config_set_proxy(cfg, "");
    sse_config_set_retry_initial_ms(cfg, 10);
    sse_config_set_retry_min_ms(cfg, 5);
    sse_config_set_retry_jitter(cfg, 0.0);
    return cfg;
}

static sse_client *start(sse_config *cfg) {
    sse_client *client = NULL;
    sse_status status = sse_client_start(cfg, &client);
    CHECK_INT(status, SSE_OK);
    sse_config_free(cfg);
    return client;
}

/* Counts of the items until the stream ends or `messages` messages came. */
typedef struct {
    int messages, opens, errors, reconnecting;
    sse_close_reason reason;
    sse_status end;
    char first_data[4096];
} tally;

static tally drain(sse_client *client, int messages) {
    tally t;
    memset(&t, 0, sizeof t);
    for (;;) {
        sse_event *ev = NULL;
        t.end = sse_next_event(client, harness_ms(10000), &ev);
        if (t.end != SSE_OK) return t;
        switch (sse_event_kind(ev)) {
        case SSE_KIND_MESSAGE:
            if (t.messages++ == 0) {
                size_t len = 0;
                const char *data = sse_event_data(ev, &len);
                if (len >= sizeof t.first_data) len = sizeof t.first_data - 1;
                memcpy(t.first_data, data, len);
                t.first_data[len] = '\0';
            }
            break;
        case SSE_KIND_OPEN: t.opens++; break;
        case SSE_KIND_ERROR: t.errors++; break;
        case SSE_KIND_RECONNECTING: t.reconnecting++; break;
        case SSE_KIND_CLOSED: t.reason = sse_event_close_reason(ev); break;
        default: break;
        }
        sse_event_free(ev);
        if (messages > 0 && t.messages >= messages) return t;
    }
}

/* ------------------------------------------------------------- on end */

static void test_on_end(void) {
    sse_config *cfg = config_for("/ticker?count=2");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_method(cfg, "POST"), SSE_OK);
    sse_client *client = start(cfg);
    tally t = drain(client, 0);
    sse_client_free(client);
    CHECK_INT(t.end, SSE_CLOSED);
    CHECK_INT(t.messages, 2);
    CHECK_INT(t.reason, SSE_CLOSE_END_OF_STREAM);
    CHECK_INT(t.reconnecting, 0);

    /* /echo answers one event per connection. */
    cfg = config_for("/echo");
    CHECK_INT(sse_config_set_method(cfg, "POST"), SSE_OK);
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_RECONNECT), SSE_OK);
    client = start(cfg);
    t = drain(client, 2);
    CHECK_INT(t.messages, 2);
    CHECK(t.reconnecting >= 1, "a POST told to reconnect did not");
    sse_client_free(client);

    cfg = config_for("/ticker?count=1");
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
    client = start(cfg);
    t = drain(client, 0);
    sse_client_free(client);
    CHECK_INT(t.reason, SSE_CLOSE_END_OF_STREAM);
    CHECK_INT(sse_config_set_on_end(NULL, SSE_ON_END_END), SSE_ERR_ARGUMENT);
    cfg = config_for("/");
    CHECK_INT(sse_config_set_on_end(cfg, 7), SSE_ERR_ARGUMENT);
    sse_config_free(cfg);
}

/* ---------------------------------------------------------- type filter */

static void test_event_types(void) {
    /* Messages of other types are dropped inside the library; their ids
     * still move the resume point. */
    sse_config *cfg = config_for("/ticker?count=3&event=tick");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_add_event_type(cfg, "other"), SSE_OK);
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
    sse_client *client = start(cfg);
    tally t = drain(client, 0);
    CHECK_INT(t.messages, 0);
    CHECK_INT(t.opens, 1);
    char id[16];
    CHECK_INT(sse_client_copy_last_event_id(client, id, sizeof id, NULL), SSE_OK);
    CHECK_STR(id, "3");
    sse_client_free(client);

    cfg = config_for("/ticker?count=3&event=tick");
    CHECK_INT(sse_config_add_event_type(cfg, "other"), SSE_OK);
    CHECK_INT(sse_config_add_event_type(cfg, "tick"), SSE_OK);
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
    client = start(cfg);
    t = drain(client, 0);
    CHECK_INT(t.messages, 3);
    sse_client_free(client);
    cfg = config_for("/");
    CHECK_INT(sse_config_add_event_type(cfg, "a\nb"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_event_type(cfg, ""), SSE_ERR_ARGUMENT);
    sse_config_free(cfg);
}

/* ------------------------------------------------------- refusal body */

static void test_error_body(void) {
    sse_config *cfg =
        config_for("/status/401?type=application/json&body=%7B%22error%22%3A%22bad%22%7D");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    sse_event *ev = NULL;
    CHECK_INT(sse_next_event(client, harness_ms(10000), &ev), SSE_OK);
    REQUIRE(ev != NULL);
    CHECK_INT(sse_event_kind(ev), SSE_KIND_ERROR);
    size_t len = 99;
    const char *body = sse_event_error_body(ev, &len);
    CHECK(body != NULL && len == 15 && memcmp(body, "{\"error\":\"bad\"}", 15) == 0,
          "body %.*s (%zu bytes)", body ? (int)len : 0, body ? body : "", len);
    CHECK(sse_event_error_body(ev, NULL) == body);
    sse_event_free(ev);
    CHECK_INT(sse_next_event(client, harness_ms(10000), &ev), SSE_OK); /* closed */
    len = 99;
    CHECK(sse_event_error_body(ev, &len) == NULL && len == 0);
    sse_event_free(ev);
    CHECK(sse_event_error_body(NULL, &len) == NULL && len == 0);
    sse_client_free(client);
}

/* -------------------------------------------------------- request hook */

typedef struct {
    atomic_int calls;
    atomic_int frees;
    int fail_first; /* attempts to fail before going on */
} hook_state;

static sse_status token_hook(void *userdata, sse_request *req) {
    hook_state *state = userdata;
    int n = atomic_fetch_add(&state->calls, 1) + 1;
    CHECK(strstr(sse_request_url(req), "/echo") != NULL, "url %s", sse_request_url(req));
    if (n <= state->fail_first) {
        sse_request_fail(req, "token service down");
        return SSE_ERR_ARGUMENT;
    }
    char value[64], query[64];
    snprintf(value, sizeof value, "Bearer token-%d", n);
    snprintf(query, sizeof query, "attempt=%d", n);
    CHECK_INT(sse_request_set_header(req, "Authorization", value), SSE_OK);
    CHECK_INT(sse_request_remove_header(req, "X-Drop"), SSE_OK);
    CHECK_INT(sse_request_set_query(req, query), SSE_OK);
    CHECK(strstr(sse_request_url(req), query) != NULL, "url %s", sse_request_url(req));
    /* Refused values say so (and would fail the attempt). */
    CHECK_INT(sse_request_set_header(NULL, "a", "b"), SSE_ERR_ARGUMENT);
    return SSE_OK;
}

static void free_state(void *userdata) {
    hook_state *state = userdata;
    atomic_fetch_add(&state->frees, 1);
}

static void test_request_hook(void) {
    hook_state state = {0, 0, 1};
    sse_config *cfg = config_for("/echo");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_add_header(cfg, "Authorization", "Bearer stale"), SSE_OK);
    CHECK_INT(sse_config_add_header(cfg, "X-Drop", "1"), SSE_OK);
    CHECK_INT(sse_config_set_request_hook(cfg, token_hook, &state, free_state), SSE_OK);
    sse_client *client = NULL;
    CHECK_INT(sse_client_start(cfg, &client), SSE_OK);
    /* The config still holds the hook: freed once it and the client let go. */
    sse_config_free(cfg);
    CHECK_INT(atomic_load(&state.frees), 0);
    int echoes = 0, hook_errors = 0;
    while (echoes < 2) {
        sse_event *ev = NULL;
        sse_status status = sse_next_event(client, harness_ms(10000), &ev);
        REQUIRE(status == SSE_OK, "%s", sse_status_name(status));
        if (sse_event_kind(ev) == SSE_KIND_ERROR) {
            CHECK_INT(sse_event_error_status(ev), SSE_ERR_REQUEST_HOOK);
            CHECK(!sse_event_is_fatal(ev));
            CHECK_STR(sse_event_data(ev, NULL), "request hook: token service down");
            hook_errors++;
        } else if (sse_event_kind(ev) == SSE_KIND_MESSAGE) {
            echoes++;
            const char *data = sse_event_data(ev, NULL);
            char want[64];
            snprintf(want, sizeof want, "Bearer token-%d", echoes + 1);
            CHECK(strstr(data, want) != NULL, "echo %d: %s", echoes, data);
            CHECK(strstr(data, "stale") == NULL && strstr(data, "x-drop") == NULL, "%s", data);
            snprintf(want, sizeof want, "/echo?attempt=%d", echoes + 1);
            CHECK(strstr(data, want) != NULL, "echo %d: %s", echoes, data);
        }
        sse_event_free(ev);
    }
    CHECK_INT(hook_errors, 1);
    sse_client_free(client);
    CHECK_INT(atomic_load(&state.frees), 1);

    /* Replaced or removed: the old userdata is freed at once, once. */
    hook_state other = {0, 0, 0};
    cfg = config_for("/echo");
    CHECK_INT(sse_config_set_request_hook(cfg, token_hook, &other, free_state), SSE_OK);
    CHECK_INT(sse_config_set_request_hook(cfg, NULL, &other, free_state), SSE_OK);
    CHECK_INT(atomic_load(&other.frees), 2);
    sse_config_free(cfg);
    CHECK_INT(sse_config_set_request_hook(NULL, token_hook, &other, free_state), SSE_ERR_ARGUMENT);
    CHECK_INT(atomic_load(&other.frees), 3);
}

/* ------------------------------------------------------------ counters */

static void test_stats(void) {
    sse_config *cfg = config_for("/ticker?count=4");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
    sse_client *client = start(cfg);
    tally t = drain(client, 0);
    CHECK_INT(t.messages, 4);
    sse_stats stats;
    memset(&stats, 0xab, sizeof stats);
    stats.size = sizeof stats;
    CHECK_INT(sse_client_stats(client, &stats), SSE_OK);
    CHECK_INT(stats.size, sizeof stats);
    CHECK_INT(stats.events, 4);
    CHECK_INT(stats.data_bytes, 4 * strlen("tick 1"));
    CHECK(stats.wire_bytes > stats.data_bytes);
    CHECK_INT(stats.connections, 1);
    CHECK_INT(stats.reconnects, 0);
    CHECK_INT(stats.errors, 0);
    CHECK_INT(stats.last_error_status, SSE_OK);
    CHECK_STR(stats.last_error, "");
    CHECK(stats.last_event_unix_ms > 1700000000000ULL);
    CHECK(!stats.connected);

    /* An older, shorter struct: only its fields are written. */
    unsigned char small[sizeof(size_t) + 2 * sizeof(uint64_t) + 8];
    memset(small, 0xcd, sizeof small);
    size_t size = sizeof(size_t) + 2 * sizeof(uint64_t);
    memcpy(small, &size, sizeof size);
    CHECK_INT(sse_client_stats(client, (sse_stats *)(void *)small), SSE_OK);
    uint64_t events;
    memcpy(&events, small + sizeof(size_t), sizeof events);
    CHECK_INT(events, 4);
    for (size_t i = size; i < sizeof small; i++) CHECK(small[i] == 0xcd, "byte %zu written", i);

    stats.size = 3;
    CHECK_INT(sse_client_stats(client, &stats), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_client_stats(client, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_client_stats(NULL, &stats), SSE_ERR_ARGUMENT);
    sse_client_free(client);

    cfg = config_for("/status/503");
    CHECK_INT(sse_config_set_max_retries(cfg, 2), SSE_OK);
    client = start(cfg);
    drain(client, 0);
    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    CHECK_INT(sse_client_stats(client, &stats), SSE_OK);
    CHECK_INT(stats.errors, 3);
    CHECK_INT(stats.reconnects, 2);
    CHECK_INT(stats.errors_by_status[SSE_ERR_HTTP_STATUS], 2);
    CHECK_INT(stats.errors_by_status[SSE_ERR_RETRIES_EXHAUSTED], 1);
    CHECK_INT(stats.last_error_status, SSE_ERR_RETRIES_EXHAUSTED);
    CHECK(strstr(stats.last_error, "503") != NULL, "last error: %s", stats.last_error);
    CHECK(stats.last_error_unix_ms > 1700000000000ULL);
    sse_client_free(client);
}

/* Counters read from other threads while the stream runs. */
typedef struct {
    sse_client *client;
    atomic_bool stop;
    uint64_t last_events;
    int bad;
} reader;

static void *read_stats(void *arg) {
    reader *r = arg;
    int reads = 0;
    while (!atomic_load(&r->stop) || reads < 100) {
        sse_stats stats;
        stats.size = sizeof stats;
        if (sse_client_stats(r->client, &stats) != SSE_OK || stats.events < r->last_events) {
            r->bad++;
        }
        r->last_events = stats.events;
        reads++;
    }
    return NULL;
}

static void test_stats_from_threads(void) {
    sse_config *cfg = config_for("/ticker?interval_ms=0&count=20000");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
    sse_client *client = start(cfg);
    reader readers[2] = {{client, false, 0, 0}, {client, false, 0, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        REQUIRE(pthread_create(&threads[i], NULL, read_stats, &readers[i]) == 0);
    }
    tally t = drain(client, 0);
    for (int i = 0; i < 2; i++) atomic_store(&readers[i].stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(readers[i].bad, 0);
    }
    CHECK_INT(t.messages, 20000);
    sse_stats stats;
    stats.size = sizeof stats;
    CHECK_INT(sse_client_stats(client, &stats), SSE_OK);
    CHECK_INT(stats.events, 20000);
    sse_client_free(client);
}

/* ------------------------------------------------------------ wait set */

static void test_waitset(void) {
    enum { N = 20 };
    sse_waitset *set = sse_waitset_new();
    REQUIRE(set != NULL);
    int fd = sse_waitset_fd(set);
    CHECK(fd >= 0);
    sse_client *clients[N];
    for (int i = 0; i < N; i++) {
        sse_config *cfg = config_for("/ticker?count=3&interval_ms=5");
        CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
        CHECK_INT(sse_config_set_messages_only(cfg, true), SSE_OK);
        clients[i] = start(cfg);
        CHECK_INT(sse_client_join_waitset(clients[i], set, 100 + (uint64_t)i), SSE_OK);
    }
    CHECK_INT(sse_client_join_waitset(clients[0], set, 1), SSE_ERR_ARGUMENT); /* one set */
    CHECK_INT(sse_client_join_waitset(clients[0], NULL, 1), SSE_ERR_ARGUMENT);
    int messages[N] = {0}, ended = 0;
    bool done[N] = {false};
    double t0 = harness_now_ms();
    while (ended < N && harness_now_ms() - t0 < harness_ms(20000)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 1000) != 1) continue;
        uint64_t tokens[8];
        size_t n = sse_waitset_ready(set, tokens, 8);
        for (size_t k = 0; k < n; k++) {
            REQUIRE(tokens[k] >= 100 && tokens[k] < 100 + N, "token %llu",
                    (unsigned long long)tokens[k]);
            int i = (int)(tokens[k] - 100);
            sse_event *ev = NULL;
            sse_status st;
            while ((st = sse_next_event(clients[i], 0, &ev)) == SSE_OK) {
                messages[i]++;
                sse_event_free(ev);
            }
            /* A client may be listed again after its end (it stays ended). */
            if (st == SSE_CLOSED && !done[i]) {
                done[i] = true;
                ended++;
            }
        }
    }
    CHECK_INT(ended, N);
    for (int i = 0; i < N; i++) CHECK_INT(messages[i], 3);
    uint64_t tokens[8];
    size_t left = sse_waitset_ready(set, tokens, 8);
    for (size_t k = 0; k < left; k++) CHECK(sse_client_is_finished(clients[tokens[k] - 100]));
    CHECK_INT(sse_waitset_ready(NULL, tokens, 8), 0);
    CHECK_INT(sse_waitset_fd(NULL), -1);
    /* The set may go before its clients. */
    sse_waitset_free(set);
    for (int i = 0; i < N; i++) sse_client_free(clients[i]);
    sse_waitset_free(NULL);
}

/* A client freed while it is listed, and the set freed while its other
 * clients still stream: nothing is used after its free (ASan, valgrind). */
static void test_waitset_frees(void) {
    enum { N = 8 };
    sse_waitset *set = sse_waitset_new();
    REQUIRE(set != NULL);
    sse_client *clients[N];
    for (int i = 0; i < N; i++) {
        sse_config *cfg = config_for("/ticker?interval_ms=2");
        clients[i] = start(cfg);
        CHECK_INT(sse_client_join_waitset(clients[i], set, (uint64_t)i), SSE_OK);
    }
    /* Wait until every client is listed at least once, taking nothing
     * from the clients: they stay listed (and keep queueing). */
    bool seen[N] = {false};
    int listed = 0;
    double t0 = harness_now_ms();
    while (listed < N && harness_now_ms() - t0 < harness_ms(10000)) {
        struct pollfd pfd = {sse_waitset_fd(set), POLLIN, 0};
        if (poll(&pfd, 1, 100) != 1) continue;
        uint64_t tokens[N];
        size_t n = sse_waitset_ready(set, tokens, N);
        for (size_t k = 0; k < n; k++) {
            if (tokens[k] < N && !seen[tokens[k]]) {
                seen[tokens[k]] = true;
                listed++;
            }
        }
    }
    CHECK_INT(listed, N);
    /* Half the clients go while listed again (their queues got news). */
    harness_sleep_ms(20);
    for (int i = 0; i < N / 2; i++) sse_client_free(clients[i]);
    uint64_t tokens[64];
    size_t n = sse_waitset_ready(set, tokens, 64); /* freed ones may come out */
    for (size_t k = 0; k < n; k++) CHECK(tokens[k] < N, "token %llu", (unsigned long long)tokens[k]);
    /* The set goes while the others stream on; then they go. */
    sse_waitset_free(set);
    harness_sleep_ms(20);
    for (int i = N / 2; i < N; i++) sse_client_free(clients[i]);
}

/* --------------------------------------------------------- own thread */

/* A callback that blocks the shared loop thread on its first message until
 * released (bounded), as a careless callback would. */
typedef struct {
    atomic_int blocking; /* the callback is blocking the loop thread */
    atomic_int release;  /* the test is done counting */
    pthread_t test_thread; /* set by blocker_init */
} blocker_state;

static void blocker_init(blocker_state *st) {
    atomic_init(&st->blocking, 0);
    atomic_init(&st->release, 0);
    st->test_thread = pthread_self();
}

static void blocking_callback(void *userdata, const sse_event *ev) {
    blocker_state *st = userdata;
    /* Messages queued before the callback was set are handed to it on the
     * test's thread, inside sse_client_set_callback (a slow run under
     * valgrind gets some): blocking there would block the test itself. */
    if (sse_event_kind(ev) != SSE_KIND_MESSAGE || pthread_equal(pthread_self(), st->test_thread) ||
        atomic_exchange(&st->blocking, 1))
        return;
    /* (a cap against a hang, scaled for slow runs) */
    double until = harness_now_ms() + harness_ms(20000);
    while (!atomic_load(&st->release) && harness_now_ms() < until) harness_sleep_ms(5);
}

/* Takes what is queued, a batch per call (an item per call can fall
 * behind a 5 ms ticker under valgrind); returns how many messages it held. */
static int take_messages(sse_client *client) {
    sse_batch *batch = NULL;
    int messages = 0;
    while (sse_next_batch(client, 0, &batch) == SSE_OK) {
        for (size_t i = 0; i < sse_batch_len(batch); i++)
            if (sse_event_kind(sse_batch_event(batch, i)) == SSE_KIND_MESSAGE) messages++;
        sse_batch_free(batch);
    }
    return messages;
}

/* sse_config_set_own_thread: a client given its own thread streams on
 * while a blocking callback holds the shared loop thread (which a client
 * on that thread feels). */
static void test_own_thread(void) {
    const char *ticker = "/ticker?interval_ms=5";
    sse_config *own_cfg = config_for(ticker);
    REQUIRE(own_cfg != NULL);
    CHECK_INT(sse_config_set_own_thread(own_cfg, true), SSE_OK);
    sse_client *own = start(own_cfg);
    sse_client *shared = start(config_for(ticker));
    CHECK_INT(drain(own, 1).messages, 1);
    CHECK_INT(drain(shared, 1).messages, 1);

    blocker_state st;
    blocker_init(&st);
    sse_client *blocker = start(config_for(ticker));
    CHECK_INT(sse_client_set_callback(blocker, blocking_callback, &st, NULL), SSE_OK);
    double deadline = harness_now_ms() + harness_ms(10000);
    while (!atomic_load(&st.blocking) && harness_now_ms() < deadline) harness_sleep_ms(1);
    REQUIRE(atomic_load(&st.blocking), "the blocking callback never ran");

    take_messages(own);
    take_messages(shared);
    harness_sleep_ms(harness_ms(500));
    int on_own = take_messages(own);
    int on_shared = take_messages(shared);
    atomic_store(&st.release, 1);
    CHECK(on_own >= 20, "own thread: %d messages in the window", on_own);
    CHECK(on_shared * 2 < on_own, "the shared loop was not held up: %d vs %d", on_shared, on_own);

    sse_client_free(blocker);
    sse_client_free(shared);
    sse_client_free(own);
}

/* sse_client_close wakes a thread polling the client's descriptor at
 * once, itself: not through the loop thread, here held by another
 * client's blocking callback (the closed item could not come before the
 * callback returns, 3 s later). */
typedef struct {
    int fd;
    sse_client *client;
    atomic_int closing;  /* set just before the close */
    atomic_int woke_ms; /* when poll returned after it, ms after the start (0: not yet) */
    double start;
} fd_waiter;

static void *poll_fd(void *arg) {
    fd_waiter *w = arg;
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    for (;;) {
        int rc = poll(&p, 1, harness_ms(10000));
        if (rc < 0) continue;
        if (rc > 0 && !atomic_load(&w->closing)) {
            /* a late wake-up from the open item (the library may signal
             * after the item was taken): a pull finds nothing and clears
             * it; wait again */
            sse_event *ev = NULL;
            if (sse_next_event(w->client, 0, &ev) == SSE_OK) sse_event_free(ev);
            continue;
        }
        break;
    }
    atomic_store(&w->woke_ms, (int)(harness_now_ms() - w->start) + 1);
    return NULL;
}

static void test_close_wakes_fd_waiter(void) {
#if __has_include(<valgrind/valgrind.h>)
    /* Valgrind runs one thread at a time, in slices too coarse for a
     * 1 s window beside a blocked loop thread; it runs natively instead. */
    if (RUNNING_ON_VALGRIND) {
        printf("  (skipped under valgrind: timing; run natively by c-tests.sh)\n");
        return;
    }
#endif
    sse_client *quiet = start(config_for("/silent"));
    /* The descriptor first: made readable when made (items may wait). */
    fd_waiter w = {.fd = sse_client_fd(quiet), .client = quiet, .start = 0};
    REQUIRE(w.fd >= 0);
    atomic_init(&w.closing, 0);
    sse_event *ev = NULL;
    REQUIRE(sse_next_event(quiet, harness_ms(10000), &ev) == SSE_OK); /* the open item */
    sse_event_free(ev);
    CHECK_INT(sse_next_event(quiet, 0, &ev), SSE_TIMEOUT); /* nothing queued: the fd is clear */
    atomic_init(&w.woke_ms, 0);

    blocker_state st;
    blocker_init(&st);
    sse_client *blocker = start(config_for("/ticker?interval_ms=5"));
    CHECK_INT(sse_client_set_callback(blocker, blocking_callback, &st, NULL), SSE_OK);
    double deadline = harness_now_ms() + harness_ms(10000);
    while (!atomic_load(&st.blocking) && harness_now_ms() < deadline) harness_sleep_ms(1);
    REQUIRE(atomic_load(&st.blocking), "the blocking callback never ran");

    w.start = harness_now_ms();
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, poll_fd, &w) == 0);
    harness_sleep_ms(100);
    atomic_store(&w.closing, 1);
    CHECK_INT(sse_client_close(quiet), SSE_OK);
    deadline = harness_now_ms() + harness_ms(1000);
    while (!atomic_load(&w.woke_ms) && harness_now_ms() < deadline) harness_sleep_ms(1);
    CHECK(atomic_load(&w.woke_ms) != 0, "poll not woken within 1 s of the close (the loop thread is held)");
    atomic_store(&st.release, 1);
    pthread_join(thread, NULL);
    /* Then the end, once the loop thread is free again. */
    sse_status status;
    while ((status = sse_next_event(quiet, harness_ms(10000), &ev)) == SSE_OK) sse_event_free(ev);
    CHECK_INT(status, SSE_CLOSED);
    sse_client_free(blocker);
    sse_client_free(quiet);
}

/* ------------------------------------------------- driven by the caller */


typedef struct {
    sse_client *client;
    sse_status status;
    int items;
} puller;

static void *pull_until_end(void *arg) {
    puller *p = arg;
    sse_event *ev = NULL;
    while ((p->status = sse_next_event(p->client, -1, &ev)) == SSE_OK) {
        p->items++;
        sse_event_free(ev);
    }
    return NULL;
}

static sse_config *driven_config(const char *path) {
    sse_config *cfg = config_for(path);
    if (cfg != NULL) CHECK_INT(sse_config_set_driven_by_caller(cfg, true), SSE_OK);
    return cfg;
}

static void test_driven_by_caller(void) {
    CHECK_INT(sse_config_set_driven_by_caller(NULL, true), SSE_ERR_ARGUMENT);
    REQUIRE(engine_threads_become(0) == 0, "a loop thread outlived its clients");
    /* The pulls read the stream, reconnections included: no loop thread. */
    sse_client *client = start(driven_config("/ticker?interval_ms=2&drop_after=3"));
    tally t = drain(client, 10);
    CHECK_INT(t.messages, 10);
    CHECK(t.reconnecting >= 2, "%d reconnections", t.reconnecting);
    CHECK_INT(engine_threads(), 0);
    /* A close from another thread ends a pull that waits for ever. */
    puller p = {.client = client};
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, pull_until_end, &p) == 0);
    harness_sleep_ms(50);
    CHECK_INT(sse_client_close(client), SSE_OK);
    pthread_join(thread, NULL);
    CHECK_INT(p.status, SSE_CLOSED);
    sse_client_free(client);

    /* A free while another thread waits in a pull on a silent stream: the
     * pull returns, then the free (messages only: the puller's one call
     * waits until the free; a second call after it would use a freed
     * handle). */
    sse_config *silent = driven_config("/silent");
    REQUIRE(silent != NULL);
    CHECK_INT(sse_config_set_messages_only(silent, true), SSE_OK);
    client = start(silent);
    puller q = {.client = client};
    REQUIRE(pthread_create(&thread, NULL, pull_until_end, &q) == 0);
    double deadline = harness_now_ms() + harness_ms(10000);
    sse_stats stats = {.size = sizeof stats};
    while (harness_now_ms() < deadline) {
        stats.size = sizeof stats;
        CHECK_INT(sse_client_stats(client, &stats), SSE_OK);
        if (stats.connections > 0) break;
        harness_sleep_ms(5);
    }
    CHECK(stats.connections > 0, "the waiting pull did not connect");
    sse_client_free(client);
    pthread_join(thread, NULL);
    CHECK(q.status != SSE_OK, "the pull went on after the free");

    /* The descriptor moves the stream to a loop thread of its own. */
    client = start(driven_config("/ticker?interval_ms=5"));
    CHECK_INT(drain(client, 1).messages, 1);
    CHECK_INT(engine_threads(), 0);
    int fd = sse_client_fd(client);
    REQUIRE(fd >= 0);
    CHECK_INT(engine_threads_become(1), 1);
    sse_event *ev = NULL;
    while (sse_next_event(client, 0, &ev) == SSE_OK) sse_event_free(ev);
    struct pollfd pfd = {.fd = fd, .events = POLLIN}; /* readable with nobody pulling */
    CHECK_INT(poll(&pfd, 1, harness_ms(10000)), 1);
    CHECK_INT(drain(client, 5).messages, 5);
    sse_client_free(client);
    CHECK_INT(engine_threads_become(0), 0);
}

/* A loop the application runs (sse_loop): one poll() on the loop's and
 * the wait set's descriptors, sse_loop_run when either is readable or the
 * loop's timeout passed, then the listed clients pulled. No libsse thread;
 * the reconnections' delays are the loop's timers; a client freed while
 * listed and the loop freed before its last client are safe (ASan,
 * valgrind), that client going on on a thread of its own. */
static void test_loop_run_by_the_application(void) {
    enum { N = 8 };
    CHECK_INT(sse_loop_fd(NULL), -1);
    CHECK_INT(sse_loop_timeout_ms(NULL), -1);
    CHECK_INT(sse_loop_run(NULL, 0), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_loop_to_thread(NULL), SSE_ERR_ARGUMENT);
    sse_loop_free(NULL);
    CHECK_INT(sse_config_set_loop(NULL, NULL), SSE_ERR_ARGUMENT);
    REQUIRE(engine_threads_become(0) == 0, "a loop thread outlived its clients");
    sse_loop *loop = sse_loop_new();
    REQUIRE(loop != NULL);
    sse_waitset *set = sse_waitset_new();
    REQUIRE(set != NULL);
    sse_client *clients[N];
    for (int i = 0; i < N; i++) {
        /* Dropped after 2 events: each client reconnects twice for 6. */
        sse_config *cfg = config_for("/ticker?count=6&interval_ms=2&drop_after=2");
        REQUIRE(cfg != NULL);
        CHECK_INT(sse_config_set_loop(cfg, loop), SSE_OK);
        CHECK_INT(sse_config_set_on_end(cfg, SSE_ON_END_END), SSE_OK);
        CHECK_INT(sse_config_set_messages_only(cfg, true), SSE_OK);
        clients[i] = start(cfg); /* frees the config: the client keeps the loop */
        CHECK_INT(sse_client_join_waitset(clients[i], set, (uint64_t)i), SSE_OK);
    }
    int messages[N] = {0}, ended = 0, runs = 0;
    bool done[N] = {false};
    double t0 = harness_now_ms();
    while (ended < N && harness_now_ms() - t0 < harness_ms(20000)) {
        struct pollfd pfd[2] = {{sse_loop_fd(loop), POLLIN, 0}, {sse_waitset_fd(set), POLLIN, 0}};
        int wait = sse_loop_timeout_ms(loop);
        poll(pfd, 2, wait < 0 || wait > 1000 ? 1000 : wait);
        CHECK_INT(sse_loop_run(loop, 0), SSE_OK);
        runs++;
        uint64_t tokens[N];
        size_t n = sse_waitset_ready(set, tokens, N);
        for (size_t k = 0; k < n; k++) {
            int i = (int)tokens[k];
            REQUIRE(i >= 0 && i < N);
            sse_event *ev = NULL;
            sse_status st;
            while ((st = sse_next_event(clients[i], 0, &ev)) == SSE_OK) {
                char want[16];
                snprintf(want, sizeof want, "%d", messages[i] + 1);
                CHECK_STR(sse_event_id(ev), want);
                messages[i]++;
                sse_event_free(ev);
            }
            if (st == SSE_CLOSED && !done[i]) {
                done[i] = true;
                ended++;
            }
        }
    }
    CHECK_INT(ended, N);
    for (int i = 0; i < N; i++) CHECK_INT(messages[i], 6);
    CHECK_INT(engine_threads(), 0);
    CHECK(runs > 3, "%d runs", runs);
    for (int i = 0; i < N; i++) sse_client_free(clients[i]);

    /* A client on a silent stream outlives the loop's handle: it moves to a
     * thread of its own, and a close still ends its pull. */
    sse_config *cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_loop(cfg, loop), SSE_OK);
    sse_client *left = start(cfg);
    CHECK_INT(sse_loop_run(loop, 50), SSE_OK);
    sse_loop_free(loop);
    CHECK_INT(engine_threads_become(1), 1);
    puller p = {.client = left};
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, pull_until_end, &p) == 0);
    harness_sleep_ms(50);
    CHECK_INT(sse_client_close(left), SSE_OK);
    pthread_join(thread, NULL);
    CHECK_INT(p.status, SSE_CLOSED);
    sse_client_free(left);
    sse_waitset_free(set);
    CHECK_INT(engine_threads_become(0), 0);
}

/* Open descriptors of this process (/proc/self/fd); -1 without /proc. */
static int open_fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return -1;
    int count = 0;
    while (readdir(dir) != NULL) count++;
    closedir(dir);
    return count;
}

/* A callback on a loop client that starts another client on the same loop
 * (inside sse_loop_run) and, at its end, frees its own client. */
typedef struct {
    sse_loop *loop;
    sse_client *self;
    sse_client *started;
    sse_status start_status;
    atomic_int messages, freed, returned;
} loop_callback;

static void start_and_free(void *userdata, const sse_event *ev) {
    loop_callback *cb = userdata;
    if (sse_event_kind(ev) == SSE_KIND_MESSAGE && atomic_fetch_add(&cb->messages, 1) == 0) {
        sse_config *cfg = config_for("/ticker?count=2&interval_ms=2");
        sse_config_set_loop(cfg, cb->loop);
        sse_config_set_on_end(cfg, SSE_ON_END_END);
        cb->start_status = sse_client_start(cfg, &cb->started);
        sse_config_free(cfg);
    }
    if (atomic_load(&cb->messages) == 3 && !atomic_load(&cb->freed)) {
        atomic_store(&cb->freed, 1);
        sse_client_free(cb->self); /* from inside its own callback */
        atomic_store(&cb->returned, 1);
    }
}

/* What careless programs do with a loop: start a client and free one from
 * inside a callback run by sse_loop_run (both hung on the loop's own
 * locks); free clients and never run the loop again (their sockets stayed
 * open until the next run); free the loop while a configuration still
 * holds it (its clients stalled); fork and free it in the child (the
 * child's thread read the parent's sockets). */
static void test_loop_misuse(void) {
    REQUIRE(engine_threads_become(0) == 0, "a loop thread outlived its clients");
    sse_loop *loop = sse_loop_new();
    REQUIRE(loop != NULL);
    loop_callback cb = {.loop = loop};
    sse_config *cfg = config_for("/ticker?interval_ms=2");
    CHECK_INT(sse_config_set_loop(cfg, loop), SSE_OK);
    cb.self = start(cfg);
    CHECK_INT(sse_client_set_callback(cb.self, start_and_free, &cb, NULL), SSE_OK);
    double deadline = harness_now_ms() + harness_ms(10000);
    sse_event *ev = NULL;
    int started_messages = 0;
    while (harness_now_ms() < deadline && (!atomic_load(&cb.freed) || started_messages < 2)) {
        int wait = sse_loop_timeout_ms(loop);
        struct pollfd pfd = {sse_loop_fd(loop), POLLIN, 0};
        poll(&pfd, 1, wait < 0 || wait > 100 ? 100 : wait);
        CHECK_INT(sse_loop_run(loop, 0), SSE_OK);
        if (cb.started != NULL)
            while (sse_next_event(cb.started, 0, &ev) == SSE_OK) {
                if (sse_event_kind(ev) == SSE_KIND_MESSAGE) started_messages++;
                sse_event_free(ev);
            }
    }
    CHECK_INT(cb.start_status, SSE_OK);
    CHECK(atomic_load(&cb.returned), "the callback's free of its own client did not return");
    CHECK_INT(started_messages, 2);
    sse_client_free(cb.started);

    /* Freed with nobody running the loop: the sockets close in the free. */
    enum { N = 20 };
    sse_client *silent[N];
    int fds_before = open_fds();
    for (int i = 0; i < N; i++) {
        sse_config *c = config_for("/silent");
        CHECK_INT(sse_config_set_loop(c, loop), SSE_OK);
        silent[i] = start(c);
    }
    for (int k = 0; k < 20; k++) CHECK_INT(sse_loop_run(loop, 10), SSE_OK); /* connected */
    CHECK(open_fds() >= fds_before + N, "%d descriptors, %d before", open_fds(), fds_before);
    for (int i = 0; i < N; i++) sse_client_free(silent[i]);
    CHECK(open_fds() <= fds_before, "%d descriptors after the frees, %d before", open_fds(), fds_before);

    /* Freed while a configuration holds it: its clients go on on a thread. */
    sse_config *held = config_for("/ticker?interval_ms=2");
    CHECK_INT(sse_config_set_loop(held, loop), SSE_OK);
    sse_client *later = NULL;
    CHECK_INT(sse_client_start(held, &later), SSE_OK);
    sse_waitset *set = sse_waitset_new();
    REQUIRE(set != NULL);
    CHECK_INT(sse_client_join_waitset(later, set, 1), SSE_OK);
    CHECK_INT(sse_loop_run(loop, 10), SSE_OK);

    /* fork(): in the child the loop is refused and its free forgets it; the
     * parent's stream goes on whole. (Not under valgrind: the child exits
     * with the parent's handles in hand, which its leak check reports.) */
    fflush(NULL);
    int on_valgrind = 0;
#if __has_include(<valgrind/valgrind.h>)
    on_valgrind = RUNNING_ON_VALGRIND;
#endif
    pid_t child = on_valgrind ? -1 : fork();
    if (child == 0) {
        int bad = sse_loop_run(loop, 0) != SSE_ERR_ARGUMENT || sse_loop_to_thread(loop) != SSE_ERR_ARGUMENT;
        sse_client_free(later); /* ending it here would drop it from the parent's poll set */
        sse_loop_free(loop);
        harness_sleep_ms(300); /* a thread here would read the parent's socket meanwhile */
        _exit(bad || engine_threads() != 0 ? 1 : 0);
    }
    int status = 0;
    int ids_ok = 1, last = 0, got = 0;
    deadline = harness_now_ms() + harness_ms(child > 0 ? 10000 : 300);
    while (harness_now_ms() < deadline && (child < 0 || waitpid(child, &status, WNOHANG) == 0)) {
        sse_loop_run(loop, 5);
        while (sse_next_event(later, 0, &ev) == SSE_OK) {
            if (sse_event_kind(ev) == SSE_KIND_MESSAGE) {
                int id = atoi(sse_event_id(ev));
                if (last != 0 && id != last + 1) ids_ok = 0;
                last = id;
                got++;
            }
            sse_event_free(ev);
        }
    }
    if (child > 0) {
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: status %d", status);
        CHECK(got > 50 && ids_ok, "%d events in the parent during the child's life, in order: %d", got, ids_ok);
    }

    sse_loop_free(loop); /* `held` still names it */
    CHECK_INT(engine_threads_become(1), 1);
    int more = 0;
    deadline = harness_now_ms() + harness_ms(10000);
    while (harness_now_ms() < deadline && more < 50) {
        struct pollfd pfd = {sse_waitset_fd(set), POLLIN, 0};
        poll(&pfd, 1, 100);
        uint64_t token;
        sse_waitset_ready(set, &token, 1);
        while (sse_next_event(later, 0, &ev) == SSE_OK) {
            if (sse_event_kind(ev) == SSE_KIND_MESSAGE) more++;
            sse_event_free(ev);
        }
    }
    CHECK(more >= 50, "%d events after the loop's free", more);
    sse_client_free(later);
    sse_config_free(held);
    sse_waitset_free(set);
    CHECK_INT(engine_threads_become(0), 0);

    /* A callback that frees its own client once the loop has moved to a
     * thread of its own (it hung: that thread was not known as the loop's). */
    sse_loop *moved = sse_loop_new();
    REQUIRE(moved != NULL);
    loop_callback self_free = {.loop = moved, .messages = 1}; /* starts nothing */
    sse_config *c2 = config_for("/ticker?interval_ms=2");
    CHECK_INT(sse_config_set_loop(c2, moved), SSE_OK);
    self_free.self = start(c2);
    CHECK_INT(sse_client_set_callback(self_free.self, start_and_free, &self_free, NULL), SSE_OK);
    CHECK_INT(sse_loop_run(moved, 50), SSE_OK);
    CHECK_INT(sse_loop_to_thread(moved), SSE_OK);
    deadline = harness_now_ms() + harness_ms(10000);
    while (harness_now_ms() < deadline && !atomic_load(&self_free.returned)) harness_sleep_ms(5);
    CHECK(atomic_load(&self_free.freed), "the callback did not free its client");
    CHECK(atomic_load(&self_free.returned), "sse_client_free hung in the callback on the loop's thread");
    sse_loop_free(moved);
    CHECK_INT(engine_threads_become(0), 0);
}

/* How deep sse_client_start goes into its caller's stack, measured in a
 * thread whose stack is painted first. Every page a thread touches stays
 * resident for its life, so a program with a thread per client (Python's
 * sync iterator, for one) pays the deepest call in every thread. The URL
 * parse is the deepest part; the settings are copied in a frame beside it
 * (measured: 6,930 bytes before, 6,130 after; 6,424 under valgrind). */
#if !defined(__SANITIZE_ADDRESS__)
#define PAINTED_STACK (256 * 1024)
static unsigned char *painted;
static size_t stack_used(void) {
    size_t i = 0;
    while (i < PAINTED_STACK && painted[i] == 0xA5) i++;
    return PAINTED_STACK - i;
}

static void *start_in_painted_thread(void *arg) {
    size_t *depth = arg;
    sse_config *cfg = config_for("/ticker?interval_ms=1000");
    sse_client *client = NULL;
    /* Counted from this frame (where the call starts) to the deepest byte
     * touched (by the calls so far, this one's included). */
    size_t here = (size_t)(painted + PAINTED_STACK - (unsigned char *)&client);
    if (sse_client_start(cfg, &client) == SSE_OK) *depth = stack_used() - here;
    sse_client_free(client);
    sse_config_free(cfg);
    return NULL;
}
#endif

static void test_start_stack_depth(void) {
#if defined(__SANITIZE_ADDRESS__)
    printf("  (skipped under ASan: its frames and allocator are not the library's)\n");
    return;
#else
#if __has_include(<valgrind/valgrind.h>)
    /* Valgrind rightly calls a read below a thread's stack pointer invalid. */
    if (RUNNING_ON_VALGRIND) {
        printf("  (skipped under valgrind: the scan reads below the stack pointer)\n");
        return;
    }
#endif
    /* The shared engine thread is started by an earlier client. */
    sse_client_free(start(config_for("/ticker?interval_ms=1000")));
    painted = aligned_alloc(4096, PAINTED_STACK);
    REQUIRE(painted != NULL);
    memset(painted, 0xA5, PAINTED_STACK);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, painted, PAINTED_STACK);
    size_t depth = 0;
    pthread_t thread;
    REQUIRE(pthread_create(&thread, &attr, start_in_painted_thread, &depth) == 0);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    free(painted);
    printf("  sse_client_start went %zu bytes deep (bound 6656)\n", depth);
    CHECK(depth > 0, "the client did not start");
    CHECK(depth <= 6656, "sse_client_start went %zu bytes deep into its caller's stack (at most 6656)", depth);
#endif
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {
        {"on_end", test_on_end},
        {"event_types", test_event_types},
        {"error_body", test_error_body},
        {"request_hook", test_request_hook},
        {"stats", test_stats},
        {"stats_from_threads", test_stats_from_threads},
        {"waitset", test_waitset},
        {"waitset_frees", test_waitset_frees},
        {"own_thread", test_own_thread},
        {"close_wakes_fd_waiter", test_close_wakes_fd_waiter},
        {"driven_by_caller", test_driven_by_caller},
        {"loop_run_by_the_application", test_loop_run_by_the_application},
        {"loop_misuse", test_loop_misuse},
        {"start_stack_depth", test_start_stack_depth},
    };
    if (harness_server_start(&server, 0) != 0) return 1;
    int rc = harness_run("test_features", tests, sizeof tests / sizeof tests[0], argc, argv);
    harness_server_stop(&server);
    return rc;
}
