/* Built by tests/cmake-consumer/CMakeLists.txt against an installed
 * libsse: reads a finite stream of the demo server (argv[1]) one-shot and
 * prints "id data" per message; exits 0 when the stream ended normally. */
#include <sse.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: consumer URL\n");
        return 2;
    }
    if (strcmp(sse_version(), SSE_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", SSE_VERSION_STRING, sse_version());
        return 1;
    }
    sse_config *cfg = sse_config_new(argv[1]);
    sse_client *client = NULL;
    if (cfg == NULL || sse_config_set_max_retries(cfg, 0) != SSE_OK ||
        sse_config_set_messages_only(cfg, true) != SSE_OK ||
        sse_client_start(cfg, &client) != SSE_OK) {
        fprintf(stderr, "start: %s\n", cfg ? sse_config_last_error(cfg) : "no config");
        sse_config_free(cfg);
        return 1;
    }
    sse_config_free(cfg);
    sse_event *ev;
    sse_status st;
    while ((st = sse_next_event(client, 10000, &ev)) == SSE_OK) {
        printf("%s %s\n", sse_event_id(ev), sse_event_data(ev, NULL));
        sse_event_free(ev);
    }
    int ok = st == SSE_CLOSED;
    if (!ok) fprintf(stderr, "ended with %s: %s\n", sse_status_name(st), sse_client_last_error(client));
    sse_client_free(client);
    return ok ? 0 : 1;
}
