/* Client scenarios through the C ABI against the bundled demo server
 * (started as a subprocess on a free loopback port): pull, batch pull,
 * callback, fd + poll(), interrupt, close from another thread and from a
 * callback, free while blocked, reconnection with Last-Event-ID, error
 * statuses, bad settings. Built with -Wall -Wextra -Werror and run under
 * ASan+UBSan and under valgrind by `make test-c`.
 *
 * usage: test_client [TEST...]   (from the repository root) */
#include <poll.h>
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

/* ------------------------------------------------------------- helpers */

typedef struct {
    sse_kind kind;
    char type[64];
    char data[512];
    size_t len;
    char id[64];
    unsigned http;
    sse_status error;
    bool fatal;
    uint64_t delay;
    sse_close_reason reason;
    int64_t retry_after;
} item;

typedef struct {
    item items[512];
    size_t count;
    size_t messages;
    sse_status end; /* what sse_next_event returned last */
} item_log;

static void copy_text(char *to, size_t cap, const char *from, size_t len) {
    if (len >= cap) len = cap - 1;
    memcpy(to, from, len);
    to[len] = '\0';
}

static void record(item_log *log, const sse_event *ev) {
    if (log->count >= sizeof log->items / sizeof log->items[0]) return;
    item *it = &log->items[log->count++];
    memset(it, 0, sizeof *it);
    it->kind = sse_event_kind(ev);
    const char *type = sse_event_type(ev);
    copy_text(it->type, sizeof it->type, type, strlen(type));
    const char *data = sse_event_data(ev, &it->len);
    copy_text(it->data, sizeof it->data, data, it->len);
    const char *id = sse_event_id(ev);
    copy_text(it->id, sizeof it->id, id, strlen(id));
    it->http = sse_event_http_status(ev);
    it->error = sse_event_error_status(ev);
    it->fatal = sse_event_is_fatal(ev);
    it->delay = sse_event_delay_ms(ev);
    it->reason = sse_event_close_reason(ev);
    it->retry_after = sse_event_retry_after_ms(ev);
    if (it->kind == SSE_KIND_MESSAGE) log->messages++;
}

/* Pulls items until the stream ends (or `max_messages` messages, if not
 * 0, or a timeout of `wait_ms` between two items). */
static sse_status drain(sse_client *client, item_log *log, int wait_ms, size_t max_messages) {
    for (;;) {
        sse_event *ev = NULL;
        sse_status status = sse_next_event(client, harness_ms(wait_ms), &ev);
        log->end = status;
        if (status != SSE_OK) return status;
        record(log, ev);
        sse_event_free(ev);
        if (max_messages != 0 && log->messages >= max_messages) return SSE_OK;
    }
}

static size_t count_kind(const item_log *log, sse_kind kind) {
    size_t n = 0;
    for (size_t i = 0; i < log->count; i++) n += log->items[i].kind == kind;
    return n;
}

static const item *nth_kind(const item_log *log, sse_kind kind, size_t nth) {
    for (size_t i = 0; i < log->count; i++) {
        if (log->items[i].kind == kind && nth-- == 0) return &log->items[i];
    }
    return NULL;
}

/* A config for `path` on the test server: quick retries, no proxy. */
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
        harness_fail(__FILE__, __LINE__, "sse_client_start: %s: %s", sse_status_name(status),
                     sse_config_last_error(cfg));
    }
    sse_config_free(cfg);
    return client;
}

/* Waits for the next item of `kind`, dropping others; false on timeout/end. */
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

/* sse_client_is_finished() turns true once the client's thread has exited,
 * which can be a moment after sse_next_event returned the end (reported:
 * the two are not in step); wait for it up to a second. */
static bool finished_soon(sse_client *client) {
    double deadline = harness_now_ms() + harness_ms(1000);
    while (!sse_client_is_finished(client) && harness_now_ms() < deadline) harness_sleep_ms(1);
    return sse_client_is_finished(client);
}

/* --------------------------------------------------------------- tests */

/* Pull: open, three messages with ids, a clean end of a one-shot stream. */
static void test_pull(void) {
    sse_config *cfg = config_for("/ticker?count=3");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_max_retries(cfg, 0), SSE_OK);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    REQUIRE(log.count == 5, "got %zu items", log.count);
    CHECK_INT(log.items[0].kind, SSE_KIND_OPEN);
    CHECK_INT(log.items[0].http, 200);
    for (int i = 0; i < 3; i++) {
        const item *it = &log.items[1 + i];
        char want[32];
        CHECK_INT(it->kind, SSE_KIND_MESSAGE);
        CHECK_STR(it->type, "message");
        snprintf(want, sizeof want, "tick %d", i + 1);
        CHECK_STR(it->data, want);
        CHECK_INT(it->len, strlen(want));
        snprintf(want, sizeof want, "%d", i + 1);
        CHECK_STR(it->id, want);
    }
    CHECK_INT(log.items[4].kind, SSE_KIND_CLOSED);
    CHECK_INT(log.items[4].reason, SSE_CLOSE_END_OF_STREAM);
    /* The end is sticky; the client reports it. */
    sse_event *ev = (sse_event *)0x1;
    CHECK_INT(sse_next_event(client, 0, &ev), SSE_CLOSED);
    CHECK(ev == (sse_event *)0x1, "out-parameter written on a non-OK status");
    CHECK_INT(sse_next_event(client, -1, &ev), SSE_CLOSED);
    CHECK(finished_soon(client));
    CHECK_STR(sse_client_last_event_id(client), "3");
    sse_client_free(client);
}

/* Batch pull: sse_next_events takes several queued items at once. */
static void test_batch_pull(void) {
    sse_config *cfg = config_for("/ticker?count=200");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    harness_sleep_ms(harness_ms(300)); /* let the queue fill */
    sse_event *batch[64];
    size_t count = 0, messages = 0, largest = 0, calls = 0;
    int next_tick = 1;
    sse_status status;
    CHECK_INT(sse_next_events(client, batch, 0, 0, &count), SSE_ERR_ARGUMENT);
    for (;;) {
        count = 99;
        status = sse_next_events(client, batch, 64, harness_ms(10000), &count);
        if (status != SSE_OK) break;
        calls++;
        CHECK(count >= 1 && count <= 64, "count %zu", count);
        if (count > largest) largest = count;
        for (size_t i = 0; i < count; i++) {
            if (sse_event_kind(batch[i]) == SSE_KIND_MESSAGE) {
                char want[32];
                snprintf(want, sizeof want, "tick %d", next_tick++);
                CHECK_STR(sse_event_data(batch[i], NULL), want);
                messages++;
            }
            sse_event_free(batch[i]);
        }
    }
    CHECK_INT(status, SSE_CLOSED);
    CHECK_INT(count, 0);
    CHECK_INT(messages, 200);
    CHECK(largest > 1, "no batch held more than one item (%zu calls)", calls);
    CHECK(largest <= 64);
    sse_client_free(client);
}

/* sse_batch_views gives, for every item of `batch`, exactly what the
 * accessors give (the same pointers: strings of the batch, not copies),
 * whole or from an offset, and nothing for bad arguments. */
static void check_views(const sse_batch *batch) {
    size_t len = sse_batch_len(batch);
    sse_item_view views[512];
    REQUIRE(len <= 512, "batch of %zu items", len);
    CHECK_INT(sse_batch_views(batch, 0, views, len + 5), len);
    for (size_t i = 0; i < len; i++) {
        const sse_event *ev = sse_batch_event(batch, i);
        const sse_item_view *v = &views[i];
        size_t data_len = 0;
        CHECK(v->event == ev);
        CHECK_INT(v->kind, sse_event_kind(ev));
        CHECK(v->event_type == sse_event_type(ev));
        CHECK_INT(v->event_type_len, sse_event_type_len(ev));
        CHECK(v->data == sse_event_data(ev, &data_len));
        CHECK_INT(v->data_len, data_len);
        CHECK(v->id == sse_event_id(ev));
        CHECK_INT(v->id_len, sse_event_id_len(ev));
        CHECK_INT(v->retry_ms, sse_event_retry_ms(ev));
    }
    if (len >= 2) {
        sse_item_view one;
        CHECK_INT(sse_batch_views(batch, 1, &one, 1), 1);
        CHECK(one.event == sse_batch_event(batch, 1));
    }
    CHECK_INT(sse_batch_views(batch, len, views, 4), 0);
    CHECK_INT(sse_batch_views(batch, 0, NULL, 4), 0);
    CHECK_INT(sse_batch_views(NULL, 0, views, 4), 0);
}

/* sse_next_batch: one network read's items per call, in order, owned by
 * the batch; its events cannot be freed one by one. */
static void test_packed_batch(void) {
    sse_config *cfg = config_for("/ticker?count=300");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    harness_sleep_ms(harness_ms(300)); /* let the queue fill */
    CHECK_INT(sse_next_batch(client, 0, NULL), SSE_ERR_ARGUMENT);
    size_t messages = 0, largest = 0, opens = 0, closes = 0;
    int next_tick = 1;
    sse_status status;
    sse_batch *batch = NULL;
    while ((status = sse_next_batch(client, harness_ms(10000), &batch)) == SSE_OK) {
        size_t len = sse_batch_len(batch);
        CHECK(len >= 1, "empty batch");
        if (len > largest) largest = len;
        CHECK(sse_batch_event(batch, len) == NULL);
        check_views(batch);
        for (size_t i = 0; i < len; i++) {
            const sse_event *ev = sse_batch_event(batch, i);
            REQUIRE(ev != NULL);
            switch (sse_event_kind(ev)) {
            case SSE_KIND_MESSAGE: {
                char want[32];
                snprintf(want, sizeof want, "tick %d", next_tick);
                size_t data_len = 0;
                CHECK_STR(sse_event_data(ev, &data_len), want);
                CHECK_INT(data_len, strlen(want));
                CHECK_STR(sse_event_type(ev), "message");
                CHECK_INT(sse_event_type_len(ev), 7);
                snprintf(want, sizeof want, "%d", next_tick++);
                CHECK_STR(sse_event_id(ev), want);
                CHECK_INT(sse_event_id_len(ev), strlen(want));
                messages++;
                break;
            }
            case SSE_KIND_OPEN: opens++; CHECK_INT(sse_event_http_status(ev), 200); break;
            case SSE_KIND_CLOSED: closes++; break;
            default: break;
            }
            /* Not the caller's to free: ignored (ASan/valgrind would see a bad free). */
            sse_event_free((sse_event *)ev);
        }
        sse_batch_free(batch);
        batch = NULL;
    }
    CHECK_INT(status, SSE_CLOSED);
    CHECK(batch == NULL);
    CHECK_INT(messages, 300);
    CHECK_INT(opens, 1);
    CHECK_INT(closes, 1);
    CHECK(largest > 1, "no batch held more than one item");
    CHECK_INT(sse_batch_len(NULL), 0);
    CHECK(sse_batch_event(NULL, 0) == NULL);
    sse_batch_free(NULL);
    sse_client_free(client);
}

/* Per-message retry, NUL in data, comments and ids through a batch and
 * through single pulls. */
static void test_batch_fields(void) {
    /* "retry: 1500\nevent: up\nid: 9\ndata: a\0b\n\n: note\ndata: c\n\n" */
    const char *path = "/raw?b64=cmV0cnk6IDE1MDAKZXZlbnQ6IHVwCmlkOiA5CmRhdGE6IGEAYgoKOiBub3RlCmRhdGE6IGMKCg==";
    for (int single = 0; single < 2; single++) {
        sse_config *cfg = config_for(path);
        REQUIRE(cfg != NULL);
        sse_config_set_max_retries(cfg, 0);
        sse_config_set_messages_only(cfg, false);
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        int seen = 0;
        for (;;) {
            sse_batch *batch = NULL;
            sse_event *owned = NULL;
            sse_status status = single ? sse_next_event(client, harness_ms(10000), &owned)
                                       : sse_next_batch(client, harness_ms(10000), &batch);
            if (status != SSE_OK) {
                CHECK_INT(status, SSE_CLOSED);
                break;
            }
            size_t len = single ? 1 : sse_batch_len(batch);
            if (!single) check_views(batch);
            for (size_t i = 0; i < len; i++) {
                const sse_event *ev = single ? owned : sse_batch_event(batch, i);
                size_t n = 0;
                const char *data = sse_event_data(ev, &n);
                if (sse_event_kind(ev) == SSE_KIND_COMMENT) {
                    CHECK_STR(data, "note");
                    CHECK_INT(sse_event_retry_ms(ev), -1);
                    seen |= 2;
                } else if (sse_event_kind(ev) == SSE_KIND_MESSAGE && n == 3) {
                    CHECK(memcmp(data, "a\0b", 4) == 0, "data with NUL (and its terminator)");
                    CHECK_STR(sse_event_type(ev), "up");
                    CHECK_STR(sse_event_id(ev), "9");
                    CHECK_INT(sse_event_retry_ms(ev), 1500);
                    seen |= 1;
                } else if (sse_event_kind(ev) == SSE_KIND_MESSAGE) {
                    CHECK_STR(data, "c");
                    CHECK_STR(sse_event_type(ev), "message");
                    CHECK_STR(sse_event_id(ev), "9");
                    CHECK_INT(sse_event_retry_ms(ev), -1);
                    seen |= 4;
                }
            }
            sse_batch_free(batch);
            sse_event_free(owned);
        }
        CHECK_INT(seen, 7);
        sse_client_free(client);
    }
    CHECK_INT(sse_event_retry_ms(NULL), -1);
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    item_log log;
    bool closed;
    int frees;             /* userdata_free calls */
    sse_client *client;    /* for calls from inside the callback */
    int close_after;       /* close from inside after this many messages (0: never) */
    int free_after;        /* free from inside after this many messages (0: never) */
    sse_status set_inside; /* what sse_client_set_callback returned inside */
    pthread_t main_thread;
    bool ran_on_other_thread;
    bool free_on_main; /* the free_after-th message came during set_callback */
} callback_state;

static void callback_state_init(callback_state *st) {
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->changed, NULL);
    st->main_thread = pthread_self();
    st->set_inside = SSE_OK;
    st->free_on_main = false;
}

static void callback_state_destroy(callback_state *st) {
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->changed);
}

static void on_item(void *userdata, const sse_event *ev) {
    callback_state *st = userdata;
    pthread_mutex_lock(&st->lock);
    record(&st->log, ev);
    /* Items queued before sse_client_set_callback are handed over on the
     * calling thread (here: the main thread), the rest on the client's. */
    bool on_worker = !pthread_equal(pthread_self(), st->main_thread);
    if (on_worker) st->ran_on_other_thread = true;
    size_t messages = st->log.messages;
    bool is_message = sse_event_kind(ev) == SSE_KIND_MESSAGE;
    if (sse_event_kind(ev) == SSE_KIND_CLOSED) st->closed = true;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
    /* Calls that take the callback slot (set_callback, free) deadlock when
     * made from a callback running inside sse_client_set_callback (see
     * the report); the tests make them only on the client's thread. */
    if (is_message && on_worker && st->client != NULL && st->free_after == 0 &&
        st->set_inside == SSE_OK) {
        /* Not allowed from inside: must be refused, not deadlock. */
        st->set_inside = sse_client_set_callback(st->client, on_item, st, NULL);
    }
    if (is_message && st->close_after > 0 && (int)messages == st->close_after) {
        sse_client_close(st->client);
    }
    if (is_message && st->free_after > 0 && (int)messages == st->free_after) {
        if (on_worker) {
            sse_client_free(st->client); /* allowed: the thread ends on its own */
        } else {
            st->free_on_main = true;
        }
    }
}

static void on_free(void *userdata) {
    callback_state *st = userdata;
    pthread_mutex_lock(&st->lock);
    st->frees++;
    pthread_cond_broadcast(&st->changed);
    pthread_mutex_unlock(&st->lock);
}

/* Waits until `cond(st)` holds, up to `wait_ms`. */
static bool wait_state(callback_state *st, bool (*cond)(const callback_state *), int wait_ms) {
    double deadline = harness_now_ms() + harness_ms(wait_ms);
    pthread_mutex_lock(&st->lock);
    while (!cond(st) && harness_now_ms() < deadline) {
        pthread_mutex_unlock(&st->lock);
        harness_sleep_ms(5);
        pthread_mutex_lock(&st->lock);
    }
    bool ok = cond(st);
    pthread_mutex_unlock(&st->lock);
    return ok;
}

static bool is_closed(const callback_state *st) { return st->closed; }
static bool is_freed(const callback_state *st) { return st->frees > 0; }

/* Callback: every item on the background thread, userdata_free once. */
static void test_callback(void) {
    sse_config *cfg = config_for("/ticker?count=5&interval_ms=20");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    callback_state st;
    callback_state_init(&st);
    st.client = client;
    CHECK_INT(sse_client_set_callback(client, on_item, &st, on_free), SSE_OK);
    CHECK(wait_state(&st, is_closed, 10000), "no closed item");
    pthread_mutex_lock(&st.lock);
    CHECK_INT(st.log.messages, 5);
    CHECK_INT(count_kind(&st.log, SSE_KIND_OPEN), 1);
    const item *last = st.log.count ? &st.log.items[st.log.count - 1] : NULL;
    CHECK(last != NULL && last->kind == SSE_KIND_CLOSED);
    CHECK(last != NULL && last->reason == SSE_CLOSE_END_OF_STREAM);
    const item *fifth = nth_kind(&st.log, SSE_KIND_MESSAGE, 4);
    CHECK(fifth != NULL && strcmp(fifth->data, "tick 5") == 0);
    CHECK(st.ran_on_other_thread, "the callback never ran on the background thread");
    CHECK_INT(st.set_inside, SSE_ERR_ARGUMENT); /* refused on the client's thread */
    CHECK_INT(st.frees, 0);
    pthread_mutex_unlock(&st.lock);
    sse_client_free(client);
    CHECK_INT(st.frees, 1);
    callback_state_destroy(&st);

    /* Replacing a callback frees the old userdata; NULL goes back to the queue. */
    cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    client = start(cfg);
    REQUIRE(client != NULL);
    callback_state a, b;
    callback_state_init(&a);
    callback_state_init(&b);
    CHECK_INT(sse_client_set_callback(client, on_item, &a, on_free), SSE_OK);
    CHECK_INT(sse_client_set_callback(client, on_item, &b, on_free), SSE_OK);
    CHECK_INT(a.frees, 1);
    CHECK_INT(sse_client_set_callback(client, NULL, NULL, NULL), SSE_OK);
    CHECK_INT(b.frees, 1);
    sse_client_free(client);
    CHECK_INT(a.frees, 1);
    CHECK_INT(b.frees, 1);
    callback_state_destroy(&a);
    callback_state_destroy(&b);
}

/* fd + poll(): readable while items wait, not while the queue is empty,
 * and for good once the stream ended. */
static void test_fd_poll(void) {
    sse_config *cfg = config_for("/ticker?count=4&interval_ms=150");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    int fd = sse_client_fd(client);
    REQUIRE(fd >= 0);
    CHECK_INT(sse_client_fd(client), fd); /* the same descriptor every time */
    item_log log = {0};
    int wakeups = 0, empty_wakeups = 0;
    sse_status status = SSE_OK;
    double deadline = harness_now_ms() + harness_ms(10000);
    while (status != SSE_CLOSED && harness_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, harness_ms(5000));
        if (r <= 0) {
            sse_event *ev = NULL;
            status = sse_next_event(client, 0, &ev);
            CHECK(status != SSE_CLOSED,
                  "the fd was not readable although the stream had ended "
                  "(lost end-of-stream wake-up)");
            if (status == SSE_OK) sse_event_free(ev);
            break;
        }
        wakeups++;
        int taken = 0;
        for (;;) {
            sse_event *ev = NULL;
            status = sse_next_event(client, 0, &ev);
            if (status != SSE_OK) break;
            record(&log, ev);
            sse_event_free(ev);
            taken++;
        }
        if (taken == 0 && status == SSE_TIMEOUT) empty_wakeups++;
    }
    CHECK_INT(status, SSE_CLOSED);
    CHECK_INT(log.messages, 4);
    CHECK(wakeups >= 2, "only %d wake-ups for 4 spaced events", wakeups);
    CHECK(empty_wakeups <= 2, "%d wake-ups found nothing queued", empty_wakeups);
    /* Ended: the descriptor stays readable. */
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_INT(poll(&p, 1, 0), 1);
    sse_client_free(client);
}

/* Interrupt: drops the connection, reconnects at once with Last-Event-ID;
 * no message is lost or repeated. */
static void test_interrupt(void) {
    sse_config *cfg = config_for("/ticker?interval_ms=30");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 3), SSE_OK);
    CHECK_INT(sse_client_interrupt(client), SSE_OK);
    CHECK_INT(drain(client, &log, 10000, 8), SSE_OK);
    CHECK_INT(count_kind(&log, SSE_KIND_OPEN), 2);
    const item *reconnecting = nth_kind(&log, SSE_KIND_RECONNECTING, 0);
    CHECK(reconnecting != NULL, "no reconnecting item");
    CHECK(reconnecting == NULL || reconnecting->delay == 0, "delay %llu",
          reconnecting ? (unsigned long long)reconnecting->delay : 0ULL);
    for (size_t i = 0; i < 8; i++) {
        const item *m = nth_kind(&log, SSE_KIND_MESSAGE, i);
        char want[16];
        snprintf(want, sizeof want, "%zu", i + 1);
        CHECK(m != NULL && strcmp(m->id, want) == 0, "message %zu has id %s", i + 1,
              m ? m->id : "(none)");
    }
    sse_client_close(client);
    sse_client_free(client);
}

typedef struct {
    sse_client *client;
    int delay_ms;
    double closed_at;
} closer_args;

static void *close_later(void *arg) {
    closer_args *c = arg;
    harness_sleep_ms(c->delay_ms);
    c->closed_at = harness_now_ms();
    sse_client_close(c->client);
    return NULL;
}

/* Close from another thread while the pulling thread waits and the
 * client's thread is blocked reading a silent server. */
static void test_close_other_thread(void) {
    sse_config *cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    CHECK(wait_for_kind(client, SSE_KIND_OPEN, 10000), "no open item");
    closer_args c = {client, 200, 0};
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, close_later, &c) == 0);
    item_log log = {0};
    sse_status status = drain(client, &log, 10000, 0); /* blocks until the close */
    double returned = harness_now_ms();
    pthread_join(thread, NULL);
    CHECK_INT(status, SSE_CLOSED);
    CHECK_INT(log.count, 1);
    CHECK(log.count == 1 && log.items[0].kind == SSE_KIND_CLOSED &&
          log.items[0].reason == SSE_CLOSE_BY_USER);
    CHECK(returned - c.closed_at < harness_ms(1000), "close took %.0f ms",
          returned - c.closed_at);
    CHECK_INT(sse_client_close(client), SSE_OK); /* twice is fine */
    CHECK_INT(sse_client_interrupt(client), SSE_OK);
    sse_client_free(client);
}

/* Close from inside the callback: nothing after the closed item. */
static void test_close_in_callback(void) {
    /* Spaced events: the third comes after set_callback returned, so it
     * is handed over on the client's thread (items queued before are
     * drained by set_callback, which goes on after a close: see report). */
    sse_config *cfg = config_for("/ticker?interval_ms=100");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    callback_state st;
    callback_state_init(&st);
    st.client = client;
    st.close_after = 3;
    CHECK_INT(sse_client_set_callback(client, on_item, &st, on_free), SSE_OK);
    CHECK(wait_state(&st, is_closed, 10000), "no closed item");
    harness_sleep_ms(50);
    pthread_mutex_lock(&st.lock);
    CHECK_INT(st.log.messages, 3);
    const item *last = st.log.count ? &st.log.items[st.log.count - 1] : NULL;
    CHECK(last != NULL && last->kind == SSE_KIND_CLOSED && last->reason == SSE_CLOSE_BY_USER);
    pthread_mutex_unlock(&st.lock);
    sse_client_free(client);
    CHECK_INT(st.frees, 1);
    callback_state_destroy(&st);
}

/* Free from inside the callback: the thread ends on its own, the userdata
 * is released exactly once. */
static void test_free_in_callback(void) {
    sse_config *cfg = config_for("/ticker?interval_ms=200");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    callback_state st;
    callback_state_init(&st);
    st.client = client;
    st.free_after = 2;
    CHECK_INT(sse_client_set_callback(client, on_item, &st, on_free), SSE_OK);
    if (st.free_on_main) { /* too slow to register: cannot test, do not leak */
        harness_fail(__FILE__, __LINE__, "message 2 was queued before set_callback returned");
        sse_client_free(client);
        callback_state_destroy(&st);
        return;
    }
    CHECK(wait_state(&st, is_freed, 10000), "userdata_free did not run");
    harness_sleep_ms(harness_ms(100));
    pthread_mutex_lock(&st.lock);
    CHECK_INT(st.frees, 1);
    CHECK_INT(st.log.messages, 2);
    pthread_mutex_unlock(&st.lock);
    callback_state_destroy(&st);
}

typedef struct {
    sse_client *client;
    sse_status status;
    double returned_at;
} puller_args;

static void *pull_forever(void *arg) {
    puller_args *p = arg;
    sse_event *ev = NULL;
    do {
        sse_event_free(ev);
        ev = NULL;
        p->status = sse_next_event(p->client, -1, &ev);
    } while (p->status == SSE_OK);
    p->returned_at = harness_now_ms();
    return NULL;
}

/* Free while the client's thread is blocked on a silent server (after
 * the headers, and before them): prompt, no leak. */
static void test_free_while_blocked(void) {
    const char *paths[] = {"/silent", "/silent-headers"};
    for (int i = 0; i < 2; i++) {
        sse_config *cfg = config_for(paths[i]);
        REQUIRE(cfg != NULL);
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        if (i == 0) {
            CHECK(wait_for_kind(client, SSE_KIND_OPEN, 10000), "no open item");
        } else {
            harness_sleep_ms(harness_ms(200)); /* the request is out, no answer */
        }
        double t0 = harness_now_ms();
        sse_client_free(client);
        double took = harness_now_ms() - t0;
        CHECK(took < harness_ms(1000), "%s: free took %.0f ms", paths[i], took);
    }

    /* A thread blocked in sse_next_event(-1) wakes when another closes. */
    sse_config *cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    puller_args p = {client, SSE_OK, 0};
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, pull_forever, &p) == 0);
    harness_sleep_ms(harness_ms(200));
    double t0 = harness_now_ms();
    sse_client_close(client);
    pthread_join(thread, NULL);
    CHECK_INT(p.status, SSE_CLOSED);
    CHECK(p.returned_at - t0 < harness_ms(1000), "took %.0f ms", p.returned_at - t0);
    sse_client_free(client);
}

/* Reconnection with Last-Event-ID: the server drops the connection after
 * every 3 events; every event arrives once, in order. */
static void test_reconnect_last_event_id(void) {
    sse_config *cfg = config_for("/ticker?count=8&drop_after=3&framing=close&tag=reconnect");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 8), SSE_OK);
    sse_client_close(client);
    sse_client_free(client);
    CHECK_INT(log.messages, 8);
    for (size_t i = 0; i < 8; i++) {
        const item *m = nth_kind(&log, SSE_KIND_MESSAGE, i);
        char want[16];
        snprintf(want, sizeof want, "%zu", i + 1);
        CHECK(m != NULL && strcmp(m->id, want) == 0, "message %zu: id %s", i + 1,
              m ? m->id : "(none)");
    }
    CHECK(count_kind(&log, SSE_KIND_OPEN) >= 3, "%zu opens", count_kind(&log, SSE_KIND_OPEN));
    CHECK(count_kind(&log, SSE_KIND_RECONNECTING) >= 2);
    for (size_t i = 0; i < log.count; i++) {
        if (log.items[i].kind == SSE_KIND_ERROR) CHECK(!log.items[i].fatal);
    }
    /* The server saw no Last-Event-ID first, then 3 and 6. */
    char *requests = harness_http_get(&server, "/requests");
    REQUIRE(requests != NULL);
    char ids[64] = "";
    for (char *entry = strstr(requests, "{\"number\""); entry != NULL;) {
        char *next = strstr(entry + 1, "{\"number\"");
        if (next != NULL) next[-1] = '\0'; /* the comma between entries */
        if (strstr(entry, "tag=reconnect") != NULL && strlen(ids) < 50) {
            const char *id = strstr(entry, "\"last-event-id\":\"");
            if (id == NULL) {
                strcat(ids, "- ");
            } else {
                id += strlen("\"last-event-id\":\"");
                strncat(ids, id, (size_t)(strchr(id, '"') - id));
                strcat(ids, " ");
            }
        }
        entry = next;
    }
    CHECK(strncmp(ids, "- 3 6 ", 6) == 0, "Last-Event-ID of the requests: %s", ids);
    free(requests);
}

/* A configured Last-Event-ID is sent on the first connection. */
static void test_configured_last_event_id(void) {
    sse_config *cfg = config_for("/ticker?count=7");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_last_event_id(cfg, "5"), SSE_OK);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    CHECK_INT(log.messages, 2);
    const item *first = nth_kind(&log, SSE_KIND_MESSAGE, 0);
    CHECK(first != NULL && strcmp(first->data, "tick 6") == 0);
    CHECK_STR(sse_client_last_event_id(client), "7");
    sse_client_free(client);
}

/* 404: fatal at once, with the status; sse_next_event returns the error. */
static void test_status_404_fatal(void) {
    sse_config *cfg = config_for("/status/404");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_ERR_HTTP_STATUS);
    REQUIRE(log.count == 2, "%zu items", log.count);
    CHECK_INT(log.items[0].kind, SSE_KIND_ERROR);
    CHECK_INT(log.items[0].http, 404);
    CHECK_INT(log.items[0].error, SSE_ERR_HTTP_STATUS);
    CHECK(log.items[0].fatal);
    CHECK(strstr(log.items[0].data, "404") != NULL, "message: %s", log.items[0].data);
    CHECK_INT(log.items[1].kind, SSE_KIND_CLOSED);
    CHECK_INT(log.items[1].reason, SSE_CLOSE_ERROR);
    CHECK(strstr(sse_client_last_error(client), "404") != NULL, "last error: %s",
          sse_client_last_error(client));
    sse_event *ev = NULL;
    CHECK_INT(sse_next_event(client, 0, &ev), SSE_ERR_HTTP_STATUS); /* sticky */
    CHECK(finished_soon(client));
    sse_client_free(client);
}

/* 503: retried (non-fatal errors, reconnecting items) until the retry
 * limit, whose final error keeps the status and names the last error;
 * Retry-After is reported. */
static void test_status_503_retried(void) {
    sse_config *cfg = config_for("/status/503");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_max_retries(cfg, 2), SSE_OK);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_ERR_RETRIES_EXHAUSTED);
    size_t errors_503 = 0;
    for (size_t i = 0; i < log.count; i++) {
        const item *it = &log.items[i];
        if (it->kind == SSE_KIND_ERROR && it->http == 503 && !it->fatal) {
            errors_503++;
            CHECK(!it->fatal);
            CHECK_INT(it->error, SSE_ERR_HTTP_STATUS);
        }
    }
    CHECK_INT(errors_503, 2); /* the first try and the first retry; the second ends it */
    CHECK_INT(count_kind(&log, SSE_KIND_RECONNECTING), 2);
    const item *last_error = NULL;
    for (size_t i = 0; i < log.count; i++) {
        if (log.items[i].kind == SSE_KIND_ERROR) last_error = &log.items[i];
    }
    CHECK(last_error != NULL && last_error->fatal &&
          last_error->error == SSE_ERR_RETRIES_EXHAUSTED && last_error->http == 503);
    CHECK(sse_client_last_error(client)[0] != '\0');
    sse_client_free(client);

    cfg = config_for("/status/503?retry_after=2");
    REQUIRE(cfg != NULL);
    client = start(cfg);
    REQUIRE(client != NULL);
    sse_event *ev = NULL;
    CHECK_INT(sse_next_event(client, harness_ms(10000), &ev), SSE_OK);
    CHECK_INT(sse_event_kind(ev), SSE_KIND_ERROR);
    CHECK_INT(sse_event_retry_after_ms(ev), 2000);
    CHECK_STR(sse_event_header_value(ev, "Retry-After"), "2");
    sse_event_free(ev);
    sse_client_free(client);
}

/* 204: stop, no reconnection, a normal end. Wrong content type: fatal. */
static void test_status_204_and_content_type(void) {
    sse_config *cfg = config_for("/status/204");
    REQUIRE(cfg != NULL);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    CHECK(log.count == 1 && log.items[0].kind == SSE_KIND_CLOSED &&
          log.items[0].reason == SSE_CLOSE_NO_CONTENT);
    sse_client_free(client);

    cfg = config_for("/content-type?type=text/plain");
    REQUIRE(cfg != NULL);
    client = start(cfg);
    REQUIRE(client != NULL);
    memset(&log, 0, sizeof log);
    CHECK_INT(drain(client, &log, 10000, 0), SSE_ERR_CONTENT_TYPE);
    CHECK(log.count >= 1 && log.items[0].kind == SSE_KIND_ERROR && log.items[0].fatal &&
          log.items[0].http == 200);
    sse_client_free(client);
}

/* Headers: CR/LF/NUL values and bad names are refused with a message;
 * valid ones, the method and the body reach the server. */
static void test_headers_method_body(void) {
    sse_config *cfg = config_for("/echo");
    REQUIRE(cfg != NULL);
    const char *bad_values[] = {"a\r\nInjected: yes", "a\nb", "a\rb"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(sse_config_add_header(cfg, "X-Bad", bad_values[i]), SSE_ERR_ARGUMENT);
        CHECK(strstr(sse_config_last_error(cfg), "X-Bad") != NULL, "message: %s",
              sse_config_last_error(cfg));
    }
    CHECK_INT(sse_config_add_header(cfg, "Bad Name", "v"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "", "v"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X-Test", "one two"), SSE_OK);
    CHECK_INT(sse_config_set_method(cfg, "POST"), SSE_OK);
    CHECK_INT(sse_config_set_method(cfg, "BAD METHOD"), SSE_OK); /* checked at start... */
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);       /* ...and by validate */
    CHECK(sse_config_last_error(cfg)[0] != '\0');
    CHECK_INT(sse_config_set_method(cfg, "POST"), SSE_OK);
    CHECK_INT(sse_config_validate(cfg), SSE_OK);
    static const uint8_t body[] = "{\"q\":1}";
    CHECK_INT(sse_config_set_body(cfg, body, sizeof body - 1), SSE_OK);
    CHECK_INT(sse_config_set_body(cfg, NULL, 3), SSE_ERR_ARGUMENT);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    const item *echo = nth_kind(&log, SSE_KIND_MESSAGE, 0);
    REQUIRE(echo != NULL);
    CHECK(strstr(echo->data, "\"method\":\"POST\"") != NULL, "%s", echo->data);
    CHECK(strstr(echo->data, "\"x-test\":\"one two\"") != NULL, "%s", echo->data);
    CHECK(strstr(echo->data, "\"accept\":\"text/event-stream\"") != NULL, "%s", echo->data);
    CHECK(strstr(echo->data, "\"body\":\"{\\\"q\\\":1}\"") != NULL, "%s", echo->data);
    CHECK(strstr(echo->data, "Injected") == NULL);
    CHECK(strstr(echo->data, "x-bad") == NULL);
    sse_client_free(client);
}

/* Invalid URLs are refused by sse_client_start with SSE_ERR_URL and a
 * message; *out is left alone. */
static void test_invalid_url(void) {
    const char *urls[] = {"not a url", "ftp://example.com/", "http://", "", "://x"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        sse_config *cfg = sse_config_new(urls[i]);
        REQUIRE(cfg != NULL);
        CHECK_INT(sse_config_validate(cfg), SSE_ERR_URL);
        sse_client *client = (sse_client *)0x1;
        CHECK_INT(sse_client_start(cfg, &client), SSE_ERR_URL);
        CHECK(client == (sse_client *)0x1, "out written on failure");
        CHECK(sse_config_last_error(cfg)[0] != '\0', "no message for %s", urls[i]);
        sse_config_free(cfg);
    }
    /* Fixed by sse_config_set_url. */
    sse_config *cfg = sse_config_new("nope");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_url(cfg, harness_url(&server, "/ticker?count=1")), SSE_OK);
    CHECK_INT(sse_config_validate(cfg), SSE_OK);
    sse_config_free(cfg);
    /* Not UTF-8. */
    CHECK(sse_config_new("http://\xff/") == NULL);
    /* Nobody listening: connection refused, fatal with --max-retries 0. */
    cfg = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_ERR_CONNECT);
    sse_client_free(client);
}

/* Data with NUL bytes, CRLF line ends and invalid UTF-8 (U+FFFD). */
static void test_binary_data(void) {
    /* "data: a\0b\r\ndata: \xff\r\n\r\n" in base64 */
    sse_config *cfg = config_for("/raw?b64=ZGF0YTogYQBiDQpkYXRhOiD/DQoNCg==");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    const item *m = nth_kind(&log, SSE_KIND_MESSAGE, 0);
    REQUIRE(m != NULL);
    CHECK_INT(m->len, 7);
    CHECK(memcmp(m->data, "a\0b\n\xef\xbf\xbd", 7) == 0, "data bytes differ");
    sse_client_free(client);
}

/* Idle read timeout: no byte for N ms fails the connection. */
static void test_read_timeout(void) {
    sse_config *cfg = config_for("/silent");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_read_timeout_ms(cfg, 300), SSE_OK);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_ERR_READ_TIMEOUT);
    CHECK(strstr(sse_client_last_error(client), "300") != NULL, "%s",
          sse_client_last_error(client));
    sse_client_free(client);
}

/* messages_only: only message items; the end status still arrives. */
static void test_messages_only(void) {
    sse_config *cfg = config_for("/ticker?count=3&comment_every=1");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_messages_only(cfg, true), SSE_OK);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    CHECK_INT(log.count, 3);
    CHECK_INT(log.messages, 3);
    sse_client_free(client);

    /* Without it the comments come through. */
    cfg = config_for("/ticker?count=2&comment_every=1");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    client = start(cfg);
    REQUIRE(client != NULL);
    memset(&log, 0, sizeof log);
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    CHECK_INT(count_kind(&log, SSE_KIND_COMMENT), 2);
    const item *c = nth_kind(&log, SSE_KIND_COMMENT, 0);
    CHECK(c != NULL && strcmp(c->data, "keep-alive") == 0);
    sse_client_free(client);
}

/* The open item's headers. */
static void test_open_headers(void) {
    sse_config *cfg = config_for("/ticker?count=1&header=X-Extra:%20yes");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    sse_event *ev = NULL;
    REQUIRE(sse_next_event(client, harness_ms(10000), &ev) == SSE_OK);
    CHECK_INT(sse_event_kind(ev), SSE_KIND_OPEN);
    size_t n = sse_event_header_count(ev);
    CHECK(n >= 3, "%zu headers", n);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL, *value = NULL;
        CHECK_INT(sse_event_header(ev, i, &name, &value), SSE_OK);
        if (name && strcmp(name, "content-type") == 0) found = strcmp(value, "text/event-stream") == 0;
    }
    CHECK(found, "no content-type header");
    const char *name = (const char *)0x1, *value = (const char *)0x1;
    CHECK_INT(sse_event_header(ev, n, &name, &value), SSE_ERR_ARGUMENT);
    CHECK(name == (const char *)0x1 && value == (const char *)0x1);
    CHECK_STR(sse_event_header_value(ev, "X-EXTRA"), "yes");
    CHECK(sse_event_header_value(ev, "x-absent") == NULL);
    sse_event_free(ev);
    sse_client_free(client);
}

typedef struct {
    pthread_mutex_t lock;
    int messages;
    int connecting;
} log_counter;

static void on_log(void *userdata, sse_log_level level, const char *message) {
    log_counter *c = userdata;
    pthread_mutex_lock(&c->lock);
    c->messages++;
    if (level == SSE_LOG_INFO && strstr(message, "connecting") != NULL) c->connecting++;
    pthread_mutex_unlock(&c->lock);
}

/* The process-wide log hook sees the lifecycle; removing it stops it. */
static void test_log_callback(void) {
    log_counter c = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    sse_set_log_callback(on_log, &c, SSE_LOG_DEBUG);
    sse_config *cfg = config_for("/ticker?count=1");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    sse_client *client = start(cfg);
    REQUIRE(client != NULL);
    item_log log = {0};
    CHECK_INT(drain(client, &log, 10000, 0), SSE_CLOSED);
    sse_client_free(client);
    sse_set_log_callback(NULL, NULL, 0);
    pthread_mutex_lock(&c.lock);
    int seen = c.messages;
    CHECK(c.connecting >= 1, "%d connecting messages of %d", c.connecting, c.messages);
    pthread_mutex_unlock(&c.lock);
    cfg = config_for("/ticker?count=1");
    REQUIRE(cfg != NULL);
    sse_config_set_max_retries(cfg, 0);
    client = start(cfg);
    REQUIRE(client != NULL);
    drain(client, &log, 10000, 0);
    sse_client_free(client);
    CHECK_INT(c.messages, seen);
}

/* HTTPS: the server's CA from a file or PEM works; without it the
 * verification fails (fatal with no retries); --insecure works. */
static void test_tls(void) {
    harness_server tls;
    REQUIRE(harness_server_start(&tls, 1) == 0);
    for (int mode = 0; mode < 4; mode++) {
        sse_config *cfg = sse_config_new(harness_url(&tls, "/ticker?count=2"));
        REQUIRE(cfg != NULL);
        sse_config_set_proxy(cfg, "");
        sse_config_set_max_retries(cfg, 0);
        if (mode == 0) CHECK_INT(sse_config_set_ca_file(cfg, tls.ca_file), SSE_OK);
        if (mode == 1) {
            FILE *f = fopen(tls.ca_file, "rb");
            char pem[8192];
            size_t len = f ? fread(pem, 1, sizeof pem, f) : 0;
            if (f) fclose(f);
            CHECK_INT(sse_config_set_ca_pem(cfg, (const uint8_t *)pem, len), SSE_OK);
        }
        if (mode == 3) CHECK_INT(sse_config_set_insecure(cfg, true), SSE_OK);
        sse_client *client = start(cfg);
        REQUIRE(client != NULL);
        item_log log = {0};
        sse_status end = drain(client, &log, 10000, 0);
        if (mode == 2) {
            CHECK_INT(end, SSE_ERR_TLS);
            CHECK_INT(log.messages, 0);
        } else {
            CHECK_INT(end, SSE_CLOSED);
            CHECK_INT(log.messages, 2);
        }
        sse_client_free(client);
    }
    sse_config *cfg = sse_config_new("https://127.0.0.1/");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_ca_file(cfg, "/nonexistent/ca.pem"), SSE_ERR_ARGUMENT);
    CHECK(strstr(sse_config_last_error(cfg), "/nonexistent/ca.pem") != NULL);
    CHECK_INT(sse_config_set_ca_pem(cfg, (const uint8_t *)"junk", 4), SSE_ERR_ARGUMENT);
    sse_config_free(cfg);
    harness_server_stop(&tls);
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {
        {"pull", test_pull},
        {"batch_pull", test_batch_pull},
        {"packed_batch", test_packed_batch},
        {"batch_fields", test_batch_fields},
        {"callback", test_callback},
        {"fd_poll", test_fd_poll},
        {"interrupt", test_interrupt},
        {"close_other_thread", test_close_other_thread},
        {"close_in_callback", test_close_in_callback},
        {"free_in_callback", test_free_in_callback},
        {"free_while_blocked", test_free_while_blocked},
        {"reconnect_last_event_id", test_reconnect_last_event_id},
        {"configured_last_event_id", test_configured_last_event_id},
        {"status_404_fatal", test_status_404_fatal},
        {"status_503_retried", test_status_503_retried},
        {"status_204_and_content_type", test_status_204_and_content_type},
        {"headers_method_body", test_headers_method_body},
        {"invalid_url", test_invalid_url},
        {"binary_data", test_binary_data},
        {"read_timeout", test_read_timeout},
        {"messages_only", test_messages_only},
        {"open_headers", test_open_headers},
        {"log_callback", test_log_callback},
        {"tls", test_tls},
    };
    if (harness_server_start(&server, 0) != 0) return 1;
    int rc = harness_run("test_client", tests, sizeof tests / sizeof tests[0], argc, argv);
    harness_server_stop(&server);
    return rc;
}
