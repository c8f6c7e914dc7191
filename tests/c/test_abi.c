/* The C ABI's contract without a server: NULL for every pointer argument
 * of every function (SSE_ERR_ARGUMENT, or the documented NULL / 0 / -1 /
 * "" / no-op, never a crash), out-parameters untouched on failure,
 * refused settings with a message, status names, the standalone parser's
 * limits. Built with -Wall -Wextra -Werror, run under ASan+UBSan and
 * valgrind by `make test-c`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sse.h"

#define BAD_PTR(type) ((type)(uintptr_t)0x1)

static int userdata_frees = 0;
static void count_free(void *userdata) {
    (void)userdata;
    userdata_frees++;
}
static void ignore_item(void *userdata, const sse_event *ev) {
    (void)userdata;
    (void)ev;
}
static void ignore_log(void *userdata, sse_log_level level, const char *message) {
    (void)userdata;
    (void)level;
    (void)message;
}

/* A client that cannot connect (nobody listens on port 1), one-shot. */
static sse_client *dead_client(void) {
    sse_config *cfg = sse_config_new("http://127.0.0.1:1/");
    if (cfg == NULL) return NULL;
    sse_config_set_max_retries(cfg, 0);
    sse_config_set_proxy(cfg, "");
    sse_client *client = NULL;
    if (sse_client_start(cfg, &client) != SSE_OK) client = NULL;
    sse_config_free(cfg);
    return client;
}

/* A message and a comment from the parser, for the event accessors. */
static void parse_two(sse_event **message, sse_event **comment) {
    *message = *comment = NULL;
    sse_parser *p = sse_parser_new(0);
    static const char input[] = ": hi\nid: 9\nevent: e\ndata: d\n\n";
    if (p == NULL) return;
    sse_parser_feed(p, (const uint8_t *)input, strlen(input));
    sse_parser_next(p, comment);
    sse_parser_next(p, message);
    sse_parser_free(p);
}

static void test_null_config(void) {
    CHECK(sse_config_new(NULL) == NULL);
    sse_config_free(NULL);
    CHECK(sse_config_last_error(NULL) == NULL);
    CHECK_INT(sse_config_set_url(NULL, "http://x/"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_method(NULL, "GET"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_last_event_id(NULL, "1"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(NULL, "A", "b"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_body(NULL, (const uint8_t *)"x", 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_connect_timeout_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_read_timeout_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_initial_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_max_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_min_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_reset_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_retry_elapsed_ms(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_multiplier(NULL, 2.0), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_jitter(NULL, 0.5), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_retries(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_retry_first_connect(NULL, true), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_error_policy(NULL, SSE_RETRY_DEFAULT), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_event_bytes(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_queue_capacity(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_ca_file(NULL, "/etc/hosts"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_ca_pem(NULL, (const uint8_t *)"x", 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_insecure(NULL, true), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_proxy(NULL, ""), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_redirects(NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_messages_only(NULL, true), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_own_thread(NULL, true), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_event_type(NULL, "update"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_sensitive_header(NULL, "X-Api-Key"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_allow_https_downgrade(NULL, true), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_response_head_bytes(NULL, 65536), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_max_retry_after_ms(NULL, 1000), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_validate(NULL), SSE_ERR_ARGUMENT);

    /* NULL in the other pointer arguments, with a live config. */
    sse_config *cfg = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(cfg != NULL);
    CHECK_STR(sse_config_last_error(cfg), "");
    CHECK_INT(sse_config_set_url(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK(sse_config_last_error(cfg)[0] != '\0', "no message");
    CHECK_INT(sse_config_set_method(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_last_event_id(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, NULL, "v"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "N", NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_body(cfg, NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_body(cfg, NULL, 0), SSE_OK); /* documented */
    CHECK_INT(sse_config_set_ca_file(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_ca_pem(cfg, NULL, 10), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_proxy(cfg, NULL), SSE_OK); /* NULL: from the environment */
    /* The refused calls left the settings alone. */
    CHECK_INT(sse_config_validate(cfg), SSE_OK);
    sse_config_free(cfg);
}

static void test_refused_settings(void) {
    sse_config *cfg = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_config_set_error_policy(cfg, 99), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_error_policy(cfg, -1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_set_error_policy(cfg, SSE_RETRY_NEVER), SSE_OK);
    CHECK_INT(sse_config_set_max_retries(cfg, -2), SSE_ERR_ARGUMENT);
    CHECK(strstr(sse_config_last_error(cfg), "retries") != NULL, "%s", sse_config_last_error(cfg));
    CHECK_INT(sse_config_set_max_retries(cfg, -1), SSE_OK);
    CHECK_INT(sse_config_add_header(cfg, "X-A", "a\r\nX-B: b"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X-A", "a\nb"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X-A", "a\rb"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X-A\r\n", "a"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X A", "a"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "X-A", "tab\tand spaces ok"), SSE_OK);
    /* Headers that frame the request are the library's (issue 11 item 4). */
    CHECK_INT(sse_config_add_header(cfg, "Content-Length", "5"), SSE_ERR_ARGUMENT);
    CHECK(strstr(sse_config_last_error(cfg), "Content-Length") != NULL, "%s", sse_config_last_error(cfg));
    CHECK_INT(sse_config_add_header(cfg, "transfer-encoding", "chunked"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_header(cfg, "Host", "other"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_sensitive_header(cfg, "X Bad"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_sensitive_header(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_add_sensitive_header(cfg, "X-Api-Key"), SSE_OK);
    CHECK_INT(sse_config_set_allow_https_downgrade(cfg, false), SSE_OK);
    CHECK_INT(sse_config_set_max_retry_after_ms(cfg, 60000), SSE_OK);
    CHECK_INT(sse_config_set_proxy(cfg, "not a proxy url"), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_config_validate(cfg), SSE_OK);

    /* Checked when validated / started: each with a message. */
    sse_config_set_max_response_head_bytes(cfg, 10);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    CHECK(strstr(sse_config_last_error(cfg), "response head") != NULL, "%s", sse_config_last_error(cfg));
    sse_config_set_max_response_head_bytes(cfg, 65536);
    sse_config_set_max_retry_after_ms(cfg, 0);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_max_retry_after_ms(cfg, 3600000);
    sse_config_set_url(cfg, "http://127.0.0.1:99999/");
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_URL);
    CHECK(strstr(sse_config_last_error(cfg), "port") != NULL, "%s", sse_config_last_error(cfg));
    sse_config_set_url(cfg, "http://127.0.0.1:1/");
    CHECK_INT(sse_config_validate(cfg), SSE_OK);
    sse_config_set_queue_capacity(cfg, 0);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    CHECK(strstr(sse_config_last_error(cfg), "queue") != NULL, "%s", sse_config_last_error(cfg));
    sse_client *client = BAD_PTR(sse_client *);
    CHECK_INT(sse_client_start(cfg, &client), SSE_ERR_ARGUMENT);
    CHECK(client == BAD_PTR(sse_client *), "out written on failure");
    sse_config_set_queue_capacity(cfg, 16);
    sse_config_set_max_event_bytes(cfg, 0);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_max_event_bytes(cfg, 1024);
    sse_config_set_retry_multiplier(cfg, 0.5);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_retry_multiplier(cfg, 2);
    sse_config_set_retry_jitter(cfg, 1.5);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_retry_jitter(cfg, 0);
    sse_config_set_retry_min_ms(cfg, 0);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_retry_min_ms(cfg, 500);
    sse_config_set_retry_max_ms(cfg, 100);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_retry_max_ms(cfg, 1000);
    sse_config_set_connect_timeout_ms(cfg, 0);
    CHECK_INT(sse_config_validate(cfg), SSE_ERR_ARGUMENT);
    sse_config_set_connect_timeout_ms(cfg, 1000);
    CHECK_INT(sse_config_validate(cfg), SSE_OK);
    sse_config_free(cfg);
}

static void test_null_client(void) {
    sse_event *ev = BAD_PTR(sse_event *);
    sse_event *batch[4] = {0};
    size_t count = 77;
    sse_client *out = BAD_PTR(sse_client *);
    CHECK_INT(sse_client_start(NULL, &out), SSE_ERR_ARGUMENT);
    CHECK(out == BAD_PTR(sse_client *));
    CHECK_INT(sse_next_event(NULL, 0, &ev), SSE_ERR_ARGUMENT);
    CHECK(ev == BAD_PTR(sse_event *));
    CHECK_INT(sse_next_events(NULL, batch, 4, 0, &count), SSE_ERR_ARGUMENT);
    CHECK_INT(count, 77);
    sse_batch *packed = BAD_PTR(sse_batch *);
    CHECK_INT(sse_next_batch(NULL, 0, &packed), SSE_ERR_ARGUMENT);
    CHECK(packed == BAD_PTR(sse_batch *));
    CHECK_INT(sse_batch_len(NULL), 0);
    CHECK(sse_batch_event(NULL, 0) == NULL);
    sse_batch_free(NULL);
    CHECK_INT(sse_client_set_callback(NULL, ignore_item, NULL, count_free), SSE_ERR_ARGUMENT);
    CHECK_INT(userdata_frees, 0); /* the caller still owns userdata */
    CHECK_INT(sse_client_fd(NULL), -1);
    CHECK_INT(sse_client_interrupt(NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_client_close(NULL), SSE_ERR_ARGUMENT);
    sse_client_free(NULL);
    CHECK(sse_client_last_error(NULL) == NULL);
    CHECK(sse_client_last_event_id(NULL) == NULL);
    CHECK(!sse_client_is_finished(NULL));

    sse_config *cfg = sse_config_new("http://127.0.0.1:1/");
    REQUIRE(cfg != NULL);
    CHECK_INT(sse_client_start(cfg, NULL), SSE_ERR_ARGUMENT);
    CHECK(sse_config_last_error(cfg)[0] != '\0');
    sse_config_free(cfg);

    sse_client *client = dead_client();
    REQUIRE(client != NULL);
    CHECK_INT(sse_next_event(client, 0, NULL), SSE_ERR_ARGUMENT);
    CHECK(sse_client_last_error(client)[0] != '\0');
    CHECK_INT(sse_next_events(client, NULL, 4, 0, &count), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_next_events(client, batch, 4, 0, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_next_events(client, batch, 0, 0, &count), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_next_batch(client, 0, NULL), SSE_ERR_ARGUMENT);
    /* NULL callback with a userdata_free: frees it at once (documented
     * "runs exactly once when the callback is replaced"). */
    CHECK_INT(sse_client_set_callback(client, NULL, NULL, NULL), SSE_OK);
    sse_client_free(client);
}

static void test_null_event(void) {
    uintptr_t len = 99;
    CHECK_INT(sse_event_kind(NULL), SSE_KIND_MESSAGE); /* documented */
    CHECK_STR(sse_event_type(NULL), "");
    CHECK_STR(sse_event_data(NULL, &len), "");
    CHECK_INT(len, 0);
    CHECK_STR(sse_event_data(NULL, NULL), "");
    CHECK_STR(sse_event_id(NULL), "");
    CHECK_INT(sse_event_http_status(NULL), 0);
    CHECK_INT(sse_event_error_status(NULL), SSE_OK);
    CHECK(!sse_event_is_fatal(NULL));
    CHECK_INT(sse_event_retry_after_ms(NULL), -1);
    CHECK_INT(sse_event_retry_ms(NULL), -1);
    CHECK_INT(sse_event_type_len(NULL), 0);
    CHECK_INT(sse_event_id_len(NULL), 0);
    CHECK_INT(sse_event_delay_ms(NULL), 0);
    CHECK_INT(sse_event_attempt(NULL), 0);
    CHECK_INT(sse_event_close_reason(NULL), SSE_CLOSE_NONE);
    CHECK_INT(sse_event_header_count(NULL), 0);
    const char *name = BAD_PTR(const char *), *value = BAD_PTR(const char *);
    CHECK_INT(sse_event_header(NULL, 0, &name, &value), SSE_ERR_ARGUMENT);
    CHECK(sse_event_header_value(NULL, "x") == NULL);
    sse_event_free(NULL);

    sse_event *message, *comment;
    parse_two(&message, &comment);
    REQUIRE(message != NULL && comment != NULL);
    CHECK_INT(sse_event_header(message, 0, NULL, &value), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_event_header(message, 0, &name, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_event_header(message, 0, &name, &value), SSE_ERR_ARGUMENT); /* no headers */
    CHECK(name == BAD_PTR(const char *) && value == BAD_PTR(const char *));
    CHECK(sse_event_header_value(message, NULL) == NULL);
    /* Accessors of the wrong kind give the documented neutral values. */
    CHECK_INT(sse_event_kind(message), SSE_KIND_MESSAGE);
    CHECK_STR(sse_event_type(message), "e");
    CHECK_STR(sse_event_id(message), "9");
    CHECK_STR(sse_event_data(message, NULL), "d");
    CHECK_INT(sse_event_kind(comment), SSE_KIND_COMMENT);
    CHECK_STR(sse_event_type(comment), "");
    CHECK_STR(sse_event_id(comment), "");
    CHECK_STR(sse_event_data(comment, &len), "hi");
    CHECK_INT(len, 2);
    CHECK_INT(sse_event_http_status(message), 0);
    CHECK_INT(sse_event_error_status(message), SSE_OK);
    CHECK_INT(sse_event_close_reason(comment), SSE_CLOSE_NONE);
    CHECK_INT(sse_event_retry_after_ms(comment), -1);
    CHECK_INT(sse_event_retry_ms(comment), -1);
    sse_event_free(message);
    sse_event_free(comment);
}

static void test_null_parser_and_log(void) {
    sse_event *ev = BAD_PTR(sse_event *);
    CHECK_INT(sse_parser_feed(NULL, (const uint8_t *)"x", 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_parser_next(NULL, &ev), SSE_ERR_ARGUMENT);
    CHECK(ev == BAD_PTR(sse_event *));
    CHECK_INT(sse_parser_finish(NULL), SSE_ERR_ARGUMENT);
    CHECK(sse_parser_last_event_id(NULL) == NULL);
    CHECK_INT(sse_parser_retry_ms(NULL), -1);
    sse_parser_free(NULL);
    sse_parser *p = sse_parser_new(0);
    REQUIRE(p != NULL);
    CHECK_INT(sse_parser_feed(p, NULL, 0), SSE_OK);
    CHECK_INT(sse_parser_feed(p, NULL, 1), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_parser_next(p, NULL), SSE_ERR_ARGUMENT);
    CHECK_INT(sse_parser_next(p, &ev), SSE_TIMEOUT);
    CHECK(ev == BAD_PTR(sse_event *));
    sse_parser_free(p);

    sse_set_log_callback(NULL, NULL, 0);
    sse_set_log_callback(ignore_log, NULL, 99); /* clamped */
    sse_set_log_callback(NULL, NULL, -5);
}

static void test_status_names(void) {
    static const char *names[] = {
        "SSE_OK",           "SSE_TIMEOUT",          "SSE_CLOSED",
        "SSE_ERR_ARGUMENT", "SSE_ERR_URL",          "SSE_ERR_CONNECT",
        "SSE_ERR_TLS",      "SSE_ERR_HTTP_STATUS",  "SSE_ERR_CONTENT_TYPE",
        "SSE_ERR_IO",       "SSE_ERR_TOO_LARGE",    "SSE_ERR_RETRIES_EXHAUSTED",
        "SSE_ERR_INTERNAL", "SSE_ERR_READ_TIMEOUT", "SSE_ERR_REQUEST_HOOK",
    };
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        CHECK_STR(sse_status_name(i), names[i]);
    }
    CHECK_INT(SSE_ERR_READ_TIMEOUT, 13);
    CHECK_INT(SSE_ERR_REQUEST_HOOK, 14);
    CHECK_STR(sse_status_name(-1), "SSE_UNKNOWN_STATUS");
    CHECK_STR(sse_status_name(15), "SSE_UNKNOWN_STATUS");
    CHECK_STR(sse_status_name(1 << 30), "SSE_UNKNOWN_STATUS");
    CHECK_STR(sse_version(), SSE_VERSION_STRING);
#ifdef SSE_CARGO_VERSION
    CHECK_STR(sse_version(), SSE_CARGO_VERSION);
#endif
}

/* The standalone parser: size limit, NUL in data, reuse after finish. */
static void test_parser_limits(void) {
    sse_parser *p = sse_parser_new(16);
    REQUIRE(p != NULL);
    static const char big[] = "data: 0123456789abcdefghij\n\ndata: ok\n\n";
    CHECK_INT(sse_parser_feed(p, (const uint8_t *)big, strlen(big)), SSE_ERR_TOO_LARGE);
    sse_event *ev = NULL;
    REQUIRE(sse_parser_next(p, &ev) == SSE_OK, "the event after the oversized one was lost");
    CHECK_STR(sse_event_data(ev, NULL), "ok");
    sse_event_free(ev);
    sse_parser_free(p);

    p = sse_parser_new(0);
    REQUIRE(p != NULL);
    static const char nul[] = "id: 1\nretry: 2500\ndata: a\0b\n\ndata: cut";
    CHECK_INT(sse_parser_feed(p, (const uint8_t *)nul, sizeof nul - 1), SSE_OK);
    CHECK_INT(sse_parser_finish(p), SSE_OK);
    uintptr_t len = 0;
    REQUIRE(sse_parser_next(p, &ev) == SSE_OK);
    const char *data = sse_event_data(ev, &len);
    CHECK(len == 3 && memcmp(data, "a\0b", 3) == 0 && data[3] == '\0', "len %zu", (size_t)len);
    sse_event_free(ev);
    CHECK_INT(sse_parser_next(p, &ev), SSE_TIMEOUT); /* "cut" was discarded */
    CHECK_STR(sse_parser_last_event_id(p), "1");
    CHECK_INT(sse_parser_retry_ms(p), 2500);
    /* A new stream (a reconnection) keeps id and retry. */
    static const char more[] = "data: again\n\n";
    CHECK_INT(sse_parser_feed(p, (const uint8_t *)more, strlen(more)), SSE_OK);
    REQUIRE(sse_parser_next(p, &ev) == SSE_OK);
    CHECK_STR(sse_event_id(ev), "1");
    sse_event_free(ev);
    /* Pending items are freed with the parser. */
    CHECK_INT(sse_parser_feed(p, (const uint8_t *)more, strlen(more)), SSE_OK);
    sse_parser_free(p);
}

int main(int argc, char **argv) {
    static const harness_test tests[] = {
        {"null_config", test_null_config},
        {"refused_settings", test_refused_settings},
        {"null_client", test_null_client},
        {"null_event", test_null_event},
        {"null_parser_and_log", test_null_parser_and_log},
        {"status_names", test_status_names},
        {"parser_limits", test_parser_limits},
    };
    return harness_run("test_abi", tests, sizeof tests / sizeof tests[0], argc, argv);
}
