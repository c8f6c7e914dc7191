/* Built by scripts/test-install.sh against the installed libsse: checks
 * what the README and libsse(3) tell callback users with messages_only
 * (whose callback never sees the SSE_KIND_CLOSED item): the end of the
 * stream shows as sse_client_fd() becoming readable and
 * sse_client_is_finished() becoming true. argv[1]: a finite stream of
 * 3 messages (the demo server's /ticker?count=3). */
#include <sse.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int messages;

static void on_item(void *userdata, const sse_event *ev) {
    (void)userdata;
    if (sse_event_kind(ev) == SSE_KIND_MESSAGE) atomic_fetch_add(&messages, 1);
    else atomic_fetch_add(&messages, 1000); /* messages_only: never */
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    sse_config *cfg = sse_config_new(argv[1]);
    sse_client *client = NULL;
    if (sse_config_set_max_retries(cfg, 0) != SSE_OK || sse_config_set_messages_only(cfg, true) != SSE_OK ||
        sse_client_start(cfg, &client) != SSE_OK) {
        fprintf(stderr, "start: %s\n", sse_config_last_error(cfg));
        return 1;
    }
    sse_config_free(cfg);
    if (sse_client_set_callback(client, on_item, NULL, NULL) != SSE_OK) return 1;
    struct pollfd pfd = {.fd = sse_client_fd(client), .events = POLLIN};
    int ready = pfd.fd >= 0 ? poll(&pfd, 1, 30000) : -1; /* a generous bound against hangs */
    int finished = sse_client_is_finished(client);
    int seen = atomic_load(&messages);
    sse_client_free(client);
    printf("fd readable %d, finished %d, messages %d\n", ready == 1, finished, seen);
    return ready == 1 && finished && seen == 3 ? 0 : 1;
}
