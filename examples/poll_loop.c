/* Many streams read by the program's own event loop, on its own thread:
 * the clients run on an sse_loop, whose descriptor the program's poll()
 * watches beside a wait set's; sse_loop_run reads what is ready, and the
 * wait set lists the clients that have items. libsse starts no thread.
 *
 *   poll_loop URL [CLIENTS]
 *
 * Follows URL with CLIENTS clients (default 3), prints each event as
 * "CLIENT ID: DATA" (control characters escaped), and exits once every stream has ended: use a stream
 * that ends (e.g. the demo server's /ticker?count=5), or stop it with
 * Ctrl-C. Exit status 0, or 1 after a failure. */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <sse.h>

enum { MAX_CLIENTS = 64 };

/* Writes text from the server with its control characters escaped (\xNN):
 * nothing from a server reaches the terminal raw. */
static void put_escaped(const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            printf("\\x%02x", *c);
        else
            putchar(*c);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [CLIENTS]\n", argv[0]);
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 3;
    if (count < 1 || count > MAX_CLIENTS) {
        fprintf(stderr, "CLIENTS must be 1 to %d\n", MAX_CLIENTS);
        return 2;
    }
    sse_loop *loop = sse_loop_new();
    sse_waitset *set = sse_waitset_new();
    if (loop == NULL || set == NULL) {
        fprintf(stderr, "cannot create the loop or the wait set\n");
        return 1;
    }
    sse_client *clients[MAX_CLIENTS] = {0};
    int ended = 0, failed = 0, events = 0;
    for (int i = 0; i < count; i++) {
        sse_config *cfg = sse_config_new(argv[1]);
        if (cfg == NULL) {
            fprintf(stderr, "invalid URL %s\n", argv[1]);
            return 1;
        }
        sse_config_set_loop(cfg, loop);           /* read by this program's loop */
        sse_config_set_messages_only(cfg, true);  /* events, then the end */
        sse_config_set_max_retries(cfg, 0);       /* one-shot: the stream's end ends it */
        sse_status st = sse_client_start(cfg, &clients[i]);
        if (st != SSE_OK) {
            fprintf(stderr, "client %d: %s: %s\n", i, sse_status_name(st), sse_config_last_error(cfg));
            return 1;
        }
        sse_config_free(cfg);
        sse_client_join_waitset(clients[i], set, (uint64_t)i);
    }
    bool loop_is_ours = true;
    while (ended < count) {
        struct pollfd fds[2] = {
            {.fd = loop_is_ours ? sse_loop_fd(loop) : -1, .events = POLLIN},
            {.fd = sse_waitset_fd(set), .events = POLLIN},
        };
        /* -1: nothing is due, only readiness matters. */
        poll(fds, 2, loop_is_ours ? sse_loop_timeout_ms(loop) : -1);
        /* Reads what is ready, fires what is due. SSE_CLOSED: a server far
         * ahead moved the loop to a thread of its own; the wait set goes on. */
        if (loop_is_ours && sse_loop_run(loop, 0) == SSE_CLOSED) loop_is_ours = false;
        uint64_t tokens[MAX_CLIENTS];
        size_t n = sse_waitset_ready(set, tokens, MAX_CLIENTS);
        for (size_t k = 0; k < n; k++) {
            int i = (int)tokens[k];
            if (clients[i] == NULL) continue; /* listed again after its end */
            sse_event *ev = NULL;
            sse_status st;
            while ((st = sse_next_event(clients[i], 0, &ev)) == SSE_OK) {
                printf("%d ", i);
                put_escaped(sse_event_id(ev));
                fputs(": ", stdout);
                put_escaped(sse_event_data(ev, NULL));
                putchar('\n');
                events++;
                sse_event_free(ev);
            }
            if (st != SSE_TIMEOUT) { /* the end: SSE_CLOSED, or the failure */
                if (st != SSE_CLOSED) {
                    fprintf(stderr, "client %d: %s: %s\n", i, sse_status_name(st),
                            sse_client_last_error(clients[i]));
                    failed = 1;
                }
                sse_client_free(clients[i]);
                clients[i] = NULL;
                ended++;
            }
        }
    }
    printf("%d clients, %d events\n", count, events);
    sse_waitset_free(set);
    sse_loop_free(loop);
    return failed;
}
