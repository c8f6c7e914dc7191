/* The C ABI used carelessly from several threads (issue 16, items 8-11):
 * the last error and last event id read while other threads' calls
 * replace them, pulls from inside a callback, a callback set right as the
 * stream ends, and sse_client_free while other threads are blocked in
 * calls on the same client. Each of these corrupted memory, hung or lost
 * the final item before the fix. Run under ASan+UBSan and valgrind by
 * `make test-c`, and under ThreadSanitizer by `make tsan`.
 *
 * usage: test_misuse [TEST...]   (from the repository root) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sse.h"

static harness_server server;

static sse_config *config_for(const char *path) {
    sse_config *cfg = sse_config_new(harness_url(&server, path));
    if (cfg == NULL) return NULL;
    sse_config_set_proxy(cfg, "");
    sse_config_set_retry_min_ms(cfg, 10);
    sse_config_set_retry_initial_ms(cfg, 50);
    sse_config_set_retry_max_ms(cfg, 200);
    return cfg;
}

static sse_client *start(sse_config *cfg) {
    sse_client *client = NULL;
    sse_status status = sse_client_start(cfg, &client);
    if (status != SSE_OK) {
        char why[256];
        sse_config_copy_last_error(cfg, why, sizeof why, NULL);
        harness_fail(__FILE__, __LINE__, "sse_client_start: %s: %s", sse_status_name(status), why);
    }
    sse_config_free(cfg);
    return client;
}

/* Pulls until an item of `kind` (true) or the end/timeout (false). */
static bool wait_for_kind(sse_client *client, sse_kind kind, int wait_ms) {
    double deadline = harness_now_ms() + harness_ms(wait_ms);
    while (harness_now_ms() < deadline) {
        sse_event *ev = NULL;
        sse_status status = sse_next_event(client, 100, &ev);
        if (status == SSE_TIMEOUT) continue;
        if (status != SSE_OK) return false;
        bool found = sse_event_kind(ev) == kind;
        sse_event_free(ev);
        if (found) return true;
    }
    return false;
}

static bool all_digits(const char *s) {
    if (*s == '\0') return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
    }
    return true;
}

/* ------------------------------------------------ 8: the copy functions */

/* Copies into a caller's buffer: the needed size (NUL included) on
 * truncation, a NUL-terminated prefix, NULL buffer with capacity 0 as a
 * size query; the copy itself never changes the last error. */
static void test_copy_semantics(void) {
    sse_config *cfg = config_for("/ticker?count=3");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_max_retries(cfg, 0), SSE_OK);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    char buf[64];
    size_t needed = 99;
    CHECK_INT(sse_client_copy_last_error(client, buf, sizeof buf, &needed), SSE_OK);
    CHECK_STR(buf, "");
    CHECK_INT(needed, 1);

    CHECK_INT(sse_next_event(client, 0, NULL), SSE_ERR_ARGUMENT);
    needed = 0;
    CHECK_INT(sse_client_copy_last_error(client, NULL, 0, &needed), SSE_ERR_TOO_LARGE);
    CHECK(needed > 5, "needed %zu", needed);
    char *message = malloc(needed);
    REQUIRE(message != NULL);
    size_t again = 0;
    CHECK_INT(sse_client_copy_last_error(client, message, needed, &again), SSE_OK);
    CHECK_INT(again, needed);
    CHECK_INT(strlen(message) + 1, needed);
    CHECK(strstr(message, "NULL") != NULL, "message: %s", message);
    /* Truncated: a NUL-terminated prefix, and the full size reported. */
    char small[5];
    memset(small, 'x', sizeof small);
    CHECK_INT(sse_client_copy_last_error(client, small, sizeof small, &again), SSE_ERR_TOO_LARGE);
    CHECK_INT(again, needed);
    CHECK_INT(strlen(small), 4);
    CHECK(strncmp(small, message, 4) == 0, "prefix %s of %s", small, message);
    /* Argument errors of the copy itself leave the message alone. */
    CHECK_INT(sse_client_copy_last_error(client, NULL, 10, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_client_copy_last_error(NULL, buf, sizeof buf, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_client_copy_last_error(client, buf, sizeof buf, NULL), SSE_OK);
    CHECK_STR(buf, message);
    /* The old entry point returns the same text. */
    CHECK_STR(sse_client_last_error(client), message);
    free(message);

    while (wait_for_kind(client, SSE_KIND_MESSAGE, 10000)) {
    }
    CHECK_INT(sse_client_copy_last_event_id(client, buf, sizeof buf, &needed), SSE_OK);
    CHECK_STR(buf, "3");
    CHECK_INT(needed, 2);
    CHECK_INT(sse_client_copy_last_event_id(client, buf, 1, &needed), SSE_ERR_TOO_LARGE);
    CHECK_STR(buf, "");
    CHECK_INT(sse_client_copy_last_event_id(NULL, buf, sizeof buf, &needed), SSE_ERR_ARGUMENT);
    sse_client_free(client);

    cfg = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_copy_last_error(cfg, buf, sizeof buf, &needed), SSE_OK);
    CHECK_STR(buf, "");
    CHECK_INT(sse_config_set_queue_capacity(cfg, 0), SSE_OK);
    CHECK(sse_config_validate(cfg) != SSE_OK);
    CHECK_INT(sse_config_copy_last_error(cfg, buf, sizeof buf, &needed), SSE_OK);
    CHECK(strstr(buf, "queue") != NULL, "%s", buf);
    CHECK_INT(needed, strlen(buf) + 1);
    CHECK_STR(sse_config_last_error(cfg), buf);
    CHECK_INT(sse_config_copy_last_error(NULL, buf, sizeof buf, &needed), SSE_ERR_ARGUMENT);
    sse_config_free(cfg);
}

typedef struct {
    sse_client *client;
    atomic_bool *stop;
    int use_copy;
    long reads, bad;
    char bad_id[80];
} id_reader;

static void *read_ids(void *arg) {
    id_reader *r = arg;
    char buf[64];
    /* At least MIN_READS calls, however late valgrind schedules this
     * thread, then on until told to stop. */
    enum { MIN_READS = 2000 };
    for (long attempts = 0; !atomic_load(r->stop) || attempts < MIN_READS; attempts++) {
        const char *id = buf;
        if (r->use_copy) {
            if (sse_client_copy_last_event_id(r->client, buf, sizeof buf, NULL) != SSE_OK) {
                r->bad++;
                continue;
            }
        } else {
            id = sse_client_last_event_id(r->client);
        }
        r->reads++;
        /* The stream's ids are 1, 2, 3...: never empty once one arrived. */
        if (!all_digits(id)) {
            if (r->bad++ == 0) snprintf(r->bad_id, sizeof r->bad_id, "%.60s", id);
        }
    }
    return NULL;
}

/* Item 8: several threads read the last event id while events flow (old
 * entry point and copy); none may read freed memory or see a torn id. */
static void test_last_event_id_threads(void) {
    sse_config *cfg = config_for("/ticker?interval_ms=0");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    REQUIRE(wait_for_kind(client, SSE_KIND_MESSAGE, 10000), "no first message");
    atomic_bool stop = false;
    id_reader readers[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        readers[i] = (id_reader){client, &stop, i % 2, 0, 0, ""};
        REQUIRE(pthread_create(&threads[i], NULL, read_ids, &readers[i]) == 0);
    }
    double deadline = harness_now_ms() + harness_ms(400);
    size_t messages = 0;
    while (harness_now_ms() < deadline) {
        sse_batch *batch = NULL;
        if (sse_next_batch(client, 100, &batch) != SSE_OK) continue;
        messages += sse_batch_len(batch);
        sse_batch_free(batch);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(readers[i].bad == 0, "reader %d (%s): %ld of %ld ids bad, first \"%s\"", i,
              readers[i].use_copy ? "copy" : "pointer", readers[i].bad, readers[i].reads,
              readers[i].bad_id);
    }
    CHECK(messages > 0);
    sse_client_free(client);
}

typedef struct {
    sse_client *client;
    atomic_bool *stop;
    long calls, bad;
} error_thread;

/* Each thread makes at least MIN_CALLS calls, however late it is scheduled
 * (valgrind runs one thread at a time), and goes on until told to stop. */
#define MIN_CALLS 2000

static void *fail_calls(void *arg) {
    error_thread *t = arg;
    while (!atomic_load(t->stop) || t->calls < MIN_CALLS) {
        t->calls++;
        if (sse_next_event(t->client, 0, NULL) != SSE_ERR_ARGUMENT) t->bad++;
    }
    return NULL;
}

static void *read_errors(void *arg) {
    error_thread *t = arg;
    while (!atomic_load(t->stop) || t->calls < MIN_CALLS) {
        t->calls++;
        const char *message = sse_client_last_error(t->client);
        if (message == NULL || strstr(message, "NULL") == NULL) t->bad++;
        char buf[128];
        if (sse_client_copy_last_error(t->client, buf, sizeof buf, NULL) != SSE_OK ||
            strstr(buf, "NULL") == NULL) {
            t->bad++;
        }
    }
    return NULL;
}

/* Item 8: the last error is replaced by any thread's failing call while
 * other threads read it. */
static void test_last_error_threads(void) {
    sse_config *cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    CHECK_INT(sse_next_event(client, 0, NULL), SSE_ERR_ARGUMENT); /* a first message */
    atomic_bool stop = false;
    error_thread ts[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        ts[i] = (error_thread){client, &stop, 0, 0};
        REQUIRE(pthread_create(&threads[i], NULL, i < 2 ? fail_calls : read_errors, &ts[i]) == 0);
    }
    harness_sleep_ms(harness_ms(400));
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(ts[i].bad == 0, "thread %d: %ld bad of %ld", i, ts[i].bad, ts[i].calls);
    }
    sse_client_free(client);
}

/* ------------------------------------------ 9: pulls inside a callback */

typedef struct {
    sse_client *client;
    atomic_int calls;
    atomic_bool done;
    sse_status event_status, events_status, batch_status;
    char message[256];
} pull_in_callback;

static void pulls_from_callback(void *userdata, const sse_event *ev) {
    (void)ev;
    pull_in_callback *p = userdata;
    if (atomic_fetch_add(&p->calls, 1) != 0) return;
    /* With a timeout, so that the unfixed library fails the test rather
     * than hang it (-1 deadlocked: the worker waited for itself). */
    sse_event *out = NULL;
    p->event_status = sse_next_event(p->client, harness_ms(1000), &out);
    if (p->event_status == SSE_OK) sse_event_free(out);
    sse_client_copy_last_error(p->client, p->message, sizeof p->message, NULL);
    sse_event *many[4];
    size_t count = 0;
    p->events_status = sse_next_events(p->client, many, 4, harness_ms(1000), &count);
    for (size_t i = 0; p->events_status == SSE_OK && i < count; i++) sse_event_free(many[i]);
    sse_batch *batch = NULL;
    p->batch_status = sse_next_batch(p->client, harness_ms(1000), &batch);
    if (p->batch_status == SSE_OK) sse_batch_free(batch);
    atomic_store(&p->done, true);
}

/* Item 9: a callback pulling from its own client is refused with
 * SSE_ERR_ARGUMENT, on the worker thread and during the hand-over of
 * queued items on the thread calling sse_client_set_callback. */
static void test_pull_in_callback(void) {
    for (int handover = 0; handover < 2; handover++) {
        sse_config *cfg = config_for("/ticker?count=5&interval_ms=20");
        REQUIRE(cfg != NULL);
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        pull_in_callback p = {client, 0, false, SSE_OK, SSE_OK, SSE_OK, ""};
        /* For the hand-over, let items queue first. */
        if (handover) harness_sleep_ms(harness_ms(300));
        double t0 = harness_now_ms();
        CHECK_INT(sse_client_set_callback(client, pulls_from_callback, &p, NULL), SSE_OK);
        while (!atomic_load(&p.done) && harness_now_ms() - t0 < harness_ms(10000)) {
            harness_sleep_ms(1);
        }
        const char *where = handover ? "hand-over" : "worker";
        REQUIRE(atomic_load(&p.done), "%s: no callback", where);
        CHECK_INT(p.event_status, SSE_ERR_ARGUMENT);
        CHECK_INT(p.events_status, SSE_ERR_ARGUMENT);
        CHECK_INT(p.batch_status, SSE_ERR_ARGUMENT);
        CHECK(strstr(p.message, "callback") != NULL, "%s: last error \"%s\"", where, p.message);
        t0 = harness_now_ms();
        sse_client_free(client);
        CHECK(harness_now_ms() - t0 < harness_ms(2000), "%s: free took %.0f ms", where,
              harness_now_ms() - t0);
    }
}

/* ------------------------- 10: a callback set right as the stream ends */

typedef struct {
    atomic_int closed;
    atomic_int messages;
} end_seen;

static void count_end(void *userdata, const sse_event *ev) {
    end_seen *s = userdata;
    if (sse_event_kind(ev) == SSE_KIND_CLOSED) atomic_fetch_add(&s->closed, 1);
    if (sse_event_kind(ev) == SSE_KIND_MESSAGE) atomic_fetch_add(&s->messages, 1);
}

/* Item 10: whenever the callback is set, the final closed item reaches it
 * exactly once. The delay before sse_client_set_callback sweeps across
 * the moment the one-shot stream ends, to hit the gap between the
 * hand-over of queued items and the switch to the callback. */
static void test_callback_set_as_stream_ends(void) {
    /* How long a short one-shot stream takes from start to its end. */
    sse_config *cfg = config_for("/ticker?count=2");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *probe = start(cfg);
    REQUIRE(probe != NULL);
    double t0 = harness_now_ms();
    CHECK(wait_for_kind(probe, SSE_KIND_CLOSED, 10000));
    double span_us = (harness_now_ms() - t0) * 1000.0;
    sse_client_free(probe);

    int rounds = 300, lost = 0, twice = 0;
    for (int i = 0; i < rounds; i++) {
        cfg = config_for("/ticker?count=2");
        REQUIRE(cfg != NULL);
        sse_config_set_max_retries(cfg, 0);
        end_seen seen = {0, 0};
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        /* A delay from 0 to 1.5x the stream's span, spread over the rounds. */
        usleep((useconds_t)(span_us * 1.5 * (i % 30) / 30.0));
        CHECK_INT(sse_client_set_callback(client, count_end, &seen, NULL), SSE_OK);
        double deadline = harness_now_ms() + harness_ms(5000);
        while (atomic_load(&seen.closed) == 0 && harness_now_ms() < deadline) harness_sleep_ms(1);
        if (atomic_load(&seen.closed) == 0) lost++;
        sse_client_free(client);
        if (atomic_load(&seen.closed) > 1) twice++;
        /* Items taken by nobody: a message or the end stranded in the queue. */
        CHECK(atomic_load(&seen.messages) == 2, "round %d: %d messages", i,
              atomic_load(&seen.messages));
    }
    CHECK(lost == 0, "the closed item never reached the callback in %d of %d rounds", lost, rounds);
    CHECK(twice == 0, "the closed item came twice in %d rounds", twice);
}

/* ------------------------- 11: free while other threads are in calls */

typedef struct {
    sse_client *client;
    int how; /* 0: sse_next_event, 1: sse_next_batch, 2: sse_next_events */
    atomic_bool calling;
    sse_status status;
    double returned_at;
} blocked_call;

static void *call_blocked(void *arg) {
    blocked_call *b = arg;
    atomic_store(&b->calling, true);
    switch (b->how) {
    case 0: {
        sse_event *ev = NULL;
        b->status = sse_next_event(b->client, -1, &ev);
        if (b->status == SSE_OK) sse_event_free(ev);
        break;
    }
    case 1: {
        sse_batch *batch = NULL;
        b->status = sse_next_batch(b->client, -1, &batch);
        if (b->status == SSE_OK) sse_batch_free(batch);
        break;
    }
    default: {
        sse_event *many[8];
        size_t count = 0;
        b->status = sse_next_events(b->client, many, 8, -1, &count);
        for (size_t i = 0; b->status == SSE_OK && i < count; i++) sse_event_free(many[i]);
    }
    }
    /* Only one call each: after it, the client may be gone. */
    b->returned_at = harness_now_ms();
    return NULL;
}

/* Item 11: sse_client_free while three threads are blocked in pulls on the
 * same client (a silent stream) wakes them, waits for them to leave, then
 * frees: no use after free, nothing hangs. Repeated. */
static void test_free_while_pulling(void) {
    for (int round = 0; round < 20; round++) {
        const char *path = round % 2 ? "/silent" : "/silent-headers";
        sse_config *cfg = config_for(path);
        REQUIRE(cfg != NULL);
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        if (round % 2) CHECK(wait_for_kind(client, SSE_KIND_OPEN, 10000), "no open item");
        blocked_call calls[3];
        pthread_t threads[3];
        for (int i = 0; i < 3; i++) {
            calls[i] = (blocked_call){client, i, false, SSE_ERR_INTERNAL, 0};
            REQUIRE(pthread_create(&threads[i], NULL, call_blocked, &calls[i]) == 0);
        }
        /* A call must have begun before the free (calling into a freed
         * client is the caller's bug): wait until each thread is about to
         * call, then give it ample time to get in and block. */
        for (int i = 0; i < 3; i++) {
            while (!atomic_load(&calls[i].calling)) harness_sleep_ms(1);
        }
        harness_sleep_ms(harness_ms(20) + round % 5);
        double t0 = harness_now_ms();
        sse_client_free(client);
        double freed_at = harness_now_ms();
        CHECK(freed_at - t0 < harness_ms(2000), "%s: free took %.0f ms", path, freed_at - t0);
        /* Each call left the library before the free returned (a call
         * still inside would read freed memory: ASan, TSan). */
        for (int i = 0; i < 3; i++) {
            pthread_join(threads[i], NULL);
            CHECK(calls[i].status == SSE_OK || calls[i].status == SSE_CLOSED, "call %d: %s", i,
                  sse_status_name(calls[i].status));
            CHECK(calls[i].returned_at - t0 < harness_ms(2000), "call %d returned after %.0f ms",
                  i, calls[i].returned_at - t0);
        }
    }
}

/* A call that starts while sse_client_free is under way is refused: a
 * callback, blocking the free until it returns, calls in again and again
 * until the library says the client is going (it used to go on as if
 * nothing happened). */
typedef struct {
    sse_client *client;
    pthread_t main_thread;   /* sse_client_set_callback hands queued items over on it */
    atomic_bool in_callback;
    atomic_int refused;      /* the status that ended the loop */
    atomic_int calls_before; /* calls that went through first */
} call_during_free;

static void calls_during_free(void *userdata, const sse_event *ev) {
    call_during_free *c = userdata;
    if (sse_event_kind(ev) != SSE_KIND_MESSAGE || atomic_load(&c->in_callback)) return;
    /* Items queued before the callback was set reach it on the thread
     * setting it, which is the one to free: wait for the client's thread. */
    if (pthread_equal(pthread_self(), c->main_thread)) return;
    atomic_store(&c->in_callback, true);
    double t0 = harness_now_ms();
    while (harness_now_ms() - t0 < harness_ms(5000)) {
        enum sse_status status = sse_client_interrupt(c->client);
        if (status != SSE_OK) {
            atomic_store(&c->refused, (int)status);
            return;
        }
        atomic_fetch_add(&c->calls_before, 1);
        harness_sleep_ms(1);
    }
}

static void test_call_starting_during_free_is_refused(void) {
    sse_config *cfg = config_for("/ticker?interval_ms=5");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    call_during_free c = {client, pthread_self(), false, SSE_OK, 0};
    CHECK_INT(sse_client_set_callback(client, calls_during_free, &c, NULL), SSE_OK);
    double t0 = harness_now_ms();
    while (!atomic_load(&c.in_callback) && harness_now_ms() - t0 < harness_ms(10000)) {
        harness_sleep_ms(1);
    }
    REQUIRE(atomic_load(&c.in_callback), "no event reached the callback");
    sse_client_free(client); /* waits for the callback, which sees the refusal */
    CHECK_INT(atomic_load(&c.refused), SSE_ERR_ARGUMENT);
}

/* The old entry points keep one copy per object and thread: reading two
 * clients' ids (or two configs' errors) on one thread keeps both
 * readable, and a copy outlives the free of its client (ASan: a shared
 * copy would be a use-after-free here). */
static void test_copies_per_object(void) {
    sse_config *a_cfg = config_for("/silent"); /* no event: the ids stay */
    sse_config *b_cfg = config_for("/silent");
    REQUIRE(a_cfg != NULL && b_cfg != NULL);
    CHECK_INT(sse_config_set_last_event_id(a_cfg, "first-client"), SSE_OK);
    CHECK_INT(sse_config_set_last_event_id(b_cfg, "second-client"), SSE_OK);
    sse_client *a = start(a_cfg);
    sse_client *b = start(b_cfg);
    REQUIRE(a != NULL && b != NULL);
    const char *a_id = sse_client_last_event_id(a);
    const char *b_id = sse_client_last_event_id(b);
    CHECK_STR(a_id, "first-client");
    CHECK_STR(b_id, "second-client");
    CHECK_INT(sse_next_event(a, 0, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_next_event(b, -5, NULL), SSE_ERR_ARGUMENT);
    const char *a_error = sse_client_last_error(a);
    const char *b_error = sse_client_last_error(b);
    REQUIRE(a_error != NULL && b_error != NULL);
    CHECK(strstr(a_error, "NULL") != NULL, "a: %s", a_error);
    CHECK(strstr(b_error, "NULL") != NULL, "b: %s", b_error);
    sse_client_free(a);
    CHECK_STR(a_id, "first-client"); /* still this thread's copy */
    sse_client_free(b);
    CHECK_STR(b_id, "second-client");

    sse_config *c1 = sse_config_new("not a url");
    sse_config *c2 = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(c1 != NULL && c2 != NULL);
    CHECK_INT(sse_config_add_header(c2, "Bad Name", "x"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_validate(c1), SSE_ERR_URL);
    const char *e1 = sse_config_last_error(c1);
    const char *e2 = sse_config_last_error(c2);
    REQUIRE(e1 != NULL && e2 != NULL);
    CHECK(strlen(e1) > 0 && strlen(e2) > 0, "e1 '%s' e2 '%s'", e1, e2);
    CHECK(strcmp(e1, e2) != 0, "both read '%s'", e1);
    sse_config_free(c1);
    sse_config_free(c2);

    /* Each config freed right after its error is read: the next one may
     * get the same address; every copy stays its own config's. */
    const char *urls[3] = {"a", "b b", "c c c"};
    const char *kept[3];
    char want[3][256];
    for (int i = 0; i < 3; i++) {
        sse_config *cfg = sse_config_new(urls[i]);
        REQUIRE(cfg != NULL);
        CHECK_INT(sse_config_validate(cfg), SSE_ERR_URL);
        kept[i] = sse_config_last_error(cfg);
        REQUIRE(kept[i] != NULL);
        snprintf(want[i], sizeof want[i], "%s", kept[i]);
        sse_config_free(cfg);
    }
    for (int i = 0; i < 3; i++) CHECK_STR(kept[i], want[i]);
    CHECK(strcmp(want[0], want[1]) != 0, "the URLs' messages differ: %s", want[0]);
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {
        {"copy_semantics", test_copy_semantics},
        {"last_event_id_threads", test_last_event_id_threads},
        {"last_error_threads", test_last_error_threads},
        {"copies_per_object", test_copies_per_object},
        {"pull_in_callback", test_pull_in_callback},
        {"callback_set_as_stream_ends", test_callback_set_as_stream_ends},
        {"free_while_pulling", test_free_while_pulling},
        {"call_starting_during_free_is_refused", test_call_starting_during_free_is_refused},
    };
    if (harness_server_start(&server, 0) != 0) return 1;
    int rc = harness_run("test_misuse", tests, sizeof tests / sizeof tests[0], argc, argv);
    harness_server_stop(&server);
    return rc;
}
