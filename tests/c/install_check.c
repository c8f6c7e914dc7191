/* Built by scripts/test-install.sh against an installed libsse with only
 * `pkg-config --cflags --libs sse`: includes the installed header, calls
 * the library (version, parser, config), exits 0 when all is well. */
#include <sse.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(sse_version(), SSE_VERSION_STRING) != 0) {
        fprintf(stderr, "version mismatch: header %s, library %s\n", SSE_VERSION_STRING,
                sse_version());
        return 1;
    }
    sse_parser *parser = sse_parser_new(0);
    static const char input[] = "id: 7\ndata: hello\n\n";
    sse_event *ev = NULL;
    if (parser == NULL || sse_parser_feed(parser, (const uint8_t *)input, strlen(input)) != SSE_OK ||
        sse_parser_next(parser, &ev) != SSE_OK) {
        fprintf(stderr, "parser failed\n");
        return 1;
    }
    size_t len = 0;
    const char *data = sse_event_data(ev, &len);
    int ok = len == 5 && memcmp(data, "hello", 5) == 0 && strcmp(sse_event_id(ev), "7") == 0;
    sse_event_free(ev);
    sse_parser_free(parser);
    sse_config *cfg = sse_config_new("http://127.0.0.1:9/");
    ok = ok && cfg != NULL && sse_config_validate(cfg) == SSE_OK;
    sse_config_free(cfg);
    printf("installed libsse %s: %s\n", sse_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
