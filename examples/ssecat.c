/*
 * ssecat: print a Server-Sent Events stream, written against sse.h.
 *
 *   ssecat [options] URL
 *
 * This is both libsse's command-line consumer and its reference C example:
 * a config is built from the options, a client is started, and the main
 * thread waits on the client's file descriptor (and a self-pipe for
 * SIGINT/SIGTERM) with poll(), then takes every queued item with
 * sse_next_event(timeout 0). A signal handler only writes to the pipe; the
 * main thread then calls sse_client_close (not async-signal-safe). Each item is
 * written out at once, so `ssecat URL | jq` streams; a signal ends ssecat
 * promptly even while nobody reads its stdout (see out_flush). In text mode
 * on a terminal, control characters from the server are shown escaped
 * (\x1b, \0); in a pipe or file, and with --jsonl, the bytes are exact.
 *
 * Exit status: 0 when the stream ended normally (204 No Content,
 * --max-events reached, or the end of a stream that does not reconnect:
 * --max-retries 0, --on-end end, or a method other than GET),
 * 1 on a fatal error (message on stderr) or when stdout cannot be written,
 * 2 on bad usage (unknown option, bad number, header or URL refused),
 * 128+N after signal N (SIGINT, SIGTERM) closed the client.
 *
 * Build: cc -Iinclude examples/ssecat.c -Ltarget/release -lsse
 * (or `make`, which links libsse.a statically into build/ssecat).
 */
#define _GNU_SOURCE /* getopt_long, pipe2, strerror_r */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sse.h"

#define EXIT_FATAL 1
#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: ssecat [options] URL\n"
    "\n"
    "Connects to a Server-Sent Events stream and prints its events.\n"
    "\n"
    "Request:\n"
    "  -H, --header 'Name: value'  add a request header (repeatable)\n"
    "  -X, --request METHOD        HTTP method (default GET; POST with -d)\n"
    "  -d, --data BODY             request body (sent on every connection)\n"
    "      --json BODY             as -d, with Content-Type: application/json and\n"
    "                              Accept: text/event-stream (as curl's --json)\n"
    "      --header-file FILE      'Name: value' lines (blank and '#' lines skipped)\n"
    "                              read again before every connection attempt and\n"
    "                              sent as headers (fresh tokens); must exist at start\n"
    "      --last-event-id ID      Last-Event-ID of the first connection\n"
    "      --state FILE            resume across restarts: FILE's content is the\n"
    "                              first Last-Event-ID (over --last-event-id); the\n"
    "                              id in force is stored in FILE after each event\n"
    "                              is written (temporary file, then rename)\n"
    "      --cacert FILE           trust the PEM certificates in FILE\n"
    "      --insecure              do not verify the server's certificate\n"
    "      --cert FILE             client certificate chain, PEM (mutual TLS)\n"
    "      --key FILE              its unencrypted private key, PEM (default: in\n"
    "                              the --cert file)\n"
    "      --proxy URL             http:// or SOCKS proxy (socks5://, socks5h://,\n"
    "                              socks4://, socks4a://; '' for none; default: the\n"
    "                              environment as curl reads it: http_proxy,\n"
    "                              HTTPS_PROXY, ALL_PROXY, NO_PROXY)\n"
    "Redirects:\n"
    "      --sensitive-header NAME  also drop header NAME on a redirect to another\n"
    "                              origin (Authorization, Cookie and\n"
    "                              Proxy-Authorization always are; repeatable)\n"
    "      --allow-https-downgrade follow redirects from https to http\n"
    "Reconnection and limits:\n"
    "      --on-end reconnect|end  what a clean end of the stream does (default:\n"
    "                              reconnect for GET, end for other methods)\n"
    "      --retry-ms N            initial reconnection delay (default 1000)\n"
    "      --max-retry-ms N        cap of the growing delay (default 30000)\n"
    "      --max-retries N         0: never reconnect; N: give up after N\n"
    "                              reconnection attempts in a row; -1: never give up (default)\n"
    "      --connect-timeout-ms N  connect timeout (default 10000)\n"
    "      --read-timeout-ms N     reconnect after N ms without a byte (0: never;\n"
    "                              default 300000)\n"
    "      --max-event-bytes N     maximum size of a line or an event (default\n"
    "                              16777216)\n"
    "      --max-response-head-bytes N  maximum size of a response head (default 65536)\n"
    "      --max-retry-after-ms N  ceiling of a server's Retry-After (default 3600000)\n"
    "      --max-retry-elapsed-ms N  give up after retrying for N ms in a row\n"
    "Output:\n"
    "      --type TYPE             only message events of type TYPE (repeatable;\n"
    "                              'message' for events without event:)\n"
    "      --max-events N          exit 0 after N message events\n"
    "      --all                   print every item (open, comment, error,\n"
    "                              reconnecting, closed), not only messages\n"
    "      --jsonl                 one JSON object per line\n"
    "      --stats                 at exit, one JSON line of counters on stderr\n"
    "                              (SIGUSR1: the same line at any time)\n"
    "  -h, --help                  this help\n"
    "      --version               libsse's version\n"
    "\n"
    "Defaults not named above: no proxy settings beyond the environment, no\n"
    "retry limit, 10 redirects at most, TLS verified against the Mozilla roots.\n"
    "\n"
    "Signals: SIGINT, SIGTERM end ssecat; SIGHUP reconnects now (with\n"
    "Last-Event-ID); SIGUSR1 prints the counters with --stats.\n"
    "\n"
    "Exit status: 0 stream ended normally (204, --max-events, end of a stream\n"
    "that does not reconnect); 1 fatal error (or stdout closed, or --state\n"
    "not writable); 2 bad usage; 128+N after signal N (SIGINT, SIGTERM).\n";

/* ------------------------------------------------------------------ options */

typedef struct {
    const char *url;
    bool all;
    bool jsonl;
    bool stats;
    long long max_events; /* -1: no limit */
    long long max_retries; /* -2: not given */
    const char *state_file; /* NULL: none */
} options;

enum {
    OPT_LAST_EVENT_ID = 256,
    OPT_RETRY_MS,
    OPT_MAX_RETRY_MS,
    OPT_MAX_RETRIES,
    OPT_CONNECT_TIMEOUT_MS,
    OPT_READ_TIMEOUT_MS,
    OPT_MAX_EVENT_BYTES,
    OPT_CACERT,
    OPT_INSECURE,
    OPT_MAX_EVENTS,
    OPT_PROXY,
    OPT_SENSITIVE_HEADER,
    OPT_TYPE,
    OPT_ALLOW_HTTPS_DOWNGRADE,
    OPT_MAX_RESPONSE_HEAD_BYTES,
    OPT_MAX_RETRY_AFTER_MS,
    OPT_MAX_RETRY_ELAPSED_MS,
    OPT_ALL,
    OPT_JSONL,
    OPT_VERSION,
    OPT_JSON,
    OPT_ON_END,
    OPT_STATS,
    OPT_STATE,
    OPT_HEADER_FILE,
    OPT_CERT,
    OPT_KEY,
};

static const struct option LONG_OPTIONS[] = {
    {"header", required_argument, NULL, 'H'},
    {"request", required_argument, NULL, 'X'},
    {"data", required_argument, NULL, 'd'},
    {"last-event-id", required_argument, NULL, OPT_LAST_EVENT_ID},
    {"retry-ms", required_argument, NULL, OPT_RETRY_MS},
    {"max-retry-ms", required_argument, NULL, OPT_MAX_RETRY_MS},
    {"max-retries", required_argument, NULL, OPT_MAX_RETRIES},
    {"connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TIMEOUT_MS},
    {"read-timeout-ms", required_argument, NULL, OPT_READ_TIMEOUT_MS},
    {"max-event-bytes", required_argument, NULL, OPT_MAX_EVENT_BYTES},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"max-events", required_argument, NULL, OPT_MAX_EVENTS},
    {"proxy", required_argument, NULL, OPT_PROXY},
    {"sensitive-header", required_argument, NULL, OPT_SENSITIVE_HEADER},
    {"type", required_argument, NULL, OPT_TYPE},
    {"allow-https-downgrade", no_argument, NULL, OPT_ALLOW_HTTPS_DOWNGRADE},
    {"max-response-head-bytes", required_argument, NULL, OPT_MAX_RESPONSE_HEAD_BYTES},
    {"max-retry-after-ms", required_argument, NULL, OPT_MAX_RETRY_AFTER_MS},
    {"max-retry-elapsed-ms", required_argument, NULL, OPT_MAX_RETRY_ELAPSED_MS},
    {"all", no_argument, NULL, OPT_ALL},
    {"jsonl", no_argument, NULL, OPT_JSONL},
    {"json", required_argument, NULL, OPT_JSON},
    {"on-end", required_argument, NULL, OPT_ON_END},
    {"stats", no_argument, NULL, OPT_STATS},
    {"state", required_argument, NULL, OPT_STATE},
    {"header-file", required_argument, NULL, OPT_HEADER_FILE},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage_error(const char *fmt, const char *arg) {
    fputs("ssecat: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'ssecat --help'.\n", stderr);
    exit(EXIT_USAGE);
}

/* A decimal number in [min, max]; anything else is a usage error. */
static long long parse_number(const char *option, const char *text, long long min, long long max) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        fprintf(stderr, "ssecat: %s: expected a number from %lld to %lld, got '%s'\n", option,
                min, max, text);
        fputs("Try 'ssecat --help'.\n", stderr);
        exit(EXIT_USAGE);
    }
    return value;
}

/* A config setter failed: report the config's message and exit 2. */
static void config_failed(sse_config *cfg, const char *what) {
    fprintf(stderr, "ssecat: %s: %s\n", what, sse_config_last_error(cfg));
    sse_config_free(cfg);
    exit(EXIT_USAGE);
}

/* `-H 'Name: value'`: name up to the first colon, value without the
 * spaces and tabs around it. CR and LF stay in, for the library to refuse. */
static void add_header(sse_config *cfg, const char *header) {
    const char *colon = strchr(header, ':');
    if (colon == NULL || colon == header) {
        fprintf(stderr, "ssecat: -H '%s': expected 'Name: value'\n", header);
        sse_config_free(cfg);
        exit(EXIT_USAGE);
    }
    size_t name_len = (size_t)(colon - header);
    char *name = malloc(name_len + 1);
    if (name == NULL) {
        perror("ssecat");
        exit(EXIT_FATAL);
    }
    memcpy(name, header, name_len);
    name[name_len] = '\0';
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t') value++;
    size_t value_len = strlen(value);
    while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t')) {
        value_len--;
    }
    char *trimmed = strndup(value, value_len);
    if (trimmed == NULL) {
        perror("ssecat");
        exit(EXIT_FATAL);
    }
    sse_status status = sse_config_add_header(cfg, name, trimmed);
    free(name);
    free(trimmed);
    if (status != SSE_OK) {
        fprintf(stderr, "ssecat: -H: %s\n", sse_config_last_error(cfg));
        sse_config_free(cfg);
        exit(EXIT_USAGE);
    }
}

/* Whether a request header named `name` was given with -H. */
static bool has_header(char **headers, int count, const char *name) {
    size_t len = strlen(name);
    for (int i = 0; i < count; i++) {
        if (strncasecmp(headers[i], name, len) == 0 && headers[i][len] == ':') return true;
    }
    return false;
}

/* Trims spaces and tabs at both ends of `text` in place. */
static char *trim(char *text) {
    while (*text == ' ' || *text == '\t') text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t')) text[--len] = '\0';
    return text;
}

/* The request hook of --header-file: sets the headers of FILE, read again
 * before every connection attempt (on libsse's thread). A file that cannot
 * be read, or a bad line, fails the attempt: an error item, then a retry. */
static sse_status header_file_hook(void *userdata, sse_request *req) {
    const char *path = userdata;
    char message[512], why[128];
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        snprintf(message, sizeof message, "--header-file %s: %s", path,
                 strerror_r(errno, why, sizeof why));
        sse_request_fail(req, message);
        return SSE_ERR_ARGUMENT;
    }
    sse_status status = SSE_OK;
    char *line = NULL;
    size_t cap = 0;
    int number = 0;
    ssize_t got;
    while (status == SSE_OK && (got = getline(&line, &cap, file)) >= 0) {
        number++;
        if (memchr(line, '\0', (size_t)got) != NULL) {
            snprintf(message, sizeof message, "--header-file %s, line %d: holds a NUL byte", path,
                     number);
            status = SSE_ERR_ARGUMENT;
            sse_request_fail(req, message);
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *text = trim(line);
        if (*text == '\0' || *text == '#') continue;
        char *colon = strchr(text, ':');
        if (colon == NULL || colon == text) {
            snprintf(message, sizeof message, "--header-file %s, line %d: expected 'Name: value'",
                     path, number);
            status = SSE_ERR_ARGUMENT;
            sse_request_fail(req, message);
            break;
        }
        *colon = '\0';
        status = sse_request_set_header(req, trim(text), trim(colon + 1));
        if (status != SSE_OK) {
            snprintf(message, sizeof message, "--header-file %s, line %d: header refused", path,
                     number);
            sse_request_fail(req, message);
        }
    }
    if (status == SSE_OK && ferror(file)) {
        snprintf(message, sizeof message, "--header-file %s: read error", path);
        sse_request_fail(req, message);
        status = SSE_ERR_ARGUMENT;
    }
    free(line);
    fclose(file);
    return status;
}

/* --state FILE at start: its content (an id), or NULL when it does not
 * exist; any other failure is a usage error. */
static char *read_state(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        if (errno == ENOENT) return NULL;
        fprintf(stderr, "ssecat: --state %s: %s\n", path, strerror(errno));
        exit(EXIT_USAGE);
    }
    size_t len = 0, cap = 256;
    char *id = malloc(cap);
    size_t n;
    while (id != NULL && (n = fread(id + len, 1, cap - len - 1, file)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            char *grown = realloc(id, cap);
            if (grown == NULL) free(id);
            id = grown;
        }
    }
    if (id == NULL || ferror(file)) {
        fprintf(stderr, "ssecat: --state %s: cannot read it\n", path);
        exit(EXIT_USAGE);
    }
    fclose(file);
    /* A line end (an editor's, `echo id > FILE`) is not part of the id:
     * ids never hold CR or LF. */
    while (len > 0 && (id[len - 1] == '\n' || id[len - 1] == '\r')) len--;
    id[len] = '\0';
    if (strlen(id) != len) {
        fprintf(stderr, "ssecat: --state %s: holds a NUL byte, not an event id\n", path);
        exit(EXIT_USAGE);
    }
    return id;
}

/* Parses argv into `opts` and a config; exits 0 for --help/--version and
 * 2 on bad usage. */
static sse_config *parse_args(int argc, char **argv, options *opts) {
    /* Settings are applied after the URL is known (the config needs it),
     * so the first pass only validates numbers and finds the URL. */
    opts->url = NULL;
    opts->all = false;
    opts->jsonl = false;
    opts->stats = false;
    opts->max_events = -1;
    opts->max_retries = -2;
    opts->state_file = NULL;

    const char *method = NULL, *body = NULL, *last_event_id = NULL, *cacert = NULL;
    const char *proxy = NULL, *on_end = NULL, *header_file = NULL, *cert = NULL, *key = NULL;
    bool json = false;
    long long retry_ms = -1, max_retry_ms = -1, connect_ms = -1, read_ms = -1, max_bytes = -1;
    long long max_head = -1, max_retry_after = -1, max_elapsed = -1;
    bool insecure = false, allow_downgrade = false;
    int header_count = 0, sensitive_count = 0, type_count = 0;
    /* Held in statics, so that a usage error's exit() leaves nothing
     * unreachable behind (LeakSanitizer). */
    static char **headers, **sensitive, **types;
    headers = calloc((size_t)argc + 1, sizeof *headers);
    sensitive = calloc((size_t)argc + 1, sizeof *sensitive);
    types = calloc((size_t)argc + 1, sizeof *types);
    if (headers == NULL || sensitive == NULL || types == NULL) {
        perror("ssecat");
        exit(EXIT_FATAL);
    }

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":H:X:d:h", LONG_OPTIONS, NULL)) != -1) {
        switch (c) {
        case 'H': headers[header_count++] = optarg; break;
        case 'X': method = optarg; break;
        case 'd':
            if (json) usage_error("%s", "use -d or --json, not both");
            body = optarg;
            break;
        case OPT_JSON:
            if (body != NULL && !json) usage_error("%s", "use -d or --json, not both");
            body = optarg;
            json = true;
            break;
        case OPT_ON_END:
            if (strcmp(optarg, "reconnect") != 0 && strcmp(optarg, "end") != 0) {
                usage_error("--on-end: expected reconnect or end, got '%s'", optarg);
            }
            on_end = optarg;
            break;
        case OPT_STATS: opts->stats = true; break;
        case OPT_STATE: opts->state_file = optarg; break;
        case OPT_HEADER_FILE: header_file = optarg; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case OPT_LAST_EVENT_ID: last_event_id = optarg; break;
        case OPT_RETRY_MS: retry_ms = parse_number("--retry-ms", optarg, 0, 86400000); break;
        case OPT_MAX_RETRY_MS:
            max_retry_ms = parse_number("--max-retry-ms", optarg, 1, 86400000);
            break;
        case OPT_MAX_RETRIES:
            opts->max_retries = parse_number("--max-retries", optarg, -1, INT64_MAX);
            break;
        case OPT_CONNECT_TIMEOUT_MS:
            connect_ms = parse_number("--connect-timeout-ms", optarg, 1, 86400000);
            break;
        case OPT_READ_TIMEOUT_MS:
            read_ms = parse_number("--read-timeout-ms", optarg, 0, 86400000);
            break;
        case OPT_MAX_EVENT_BYTES:
            max_bytes = parse_number("--max-event-bytes", optarg, 1, LLONG_MAX);
            break;
        case OPT_CACERT: cacert = optarg; break;
        case OPT_INSECURE: insecure = true; break;
        case OPT_PROXY: proxy = optarg; break;
        case OPT_SENSITIVE_HEADER: sensitive[sensitive_count++] = optarg; break;
        case OPT_TYPE: types[type_count++] = optarg; break;
        case OPT_ALLOW_HTTPS_DOWNGRADE: allow_downgrade = true; break;
        case OPT_MAX_RESPONSE_HEAD_BYTES:
            max_head = parse_number("--max-response-head-bytes", optarg, 1024, 16 * 1024 * 1024);
            break;
        case OPT_MAX_RETRY_AFTER_MS:
            max_retry_after = parse_number("--max-retry-after-ms", optarg, 1, 86400000);
            break;
        case OPT_MAX_RETRY_ELAPSED_MS:
            max_elapsed = parse_number("--max-retry-elapsed-ms", optarg, 1, 86400000);
            break;
        case OPT_MAX_EVENTS:
            opts->max_events = parse_number("--max-events", optarg, 1, LLONG_MAX);
            break;
        case OPT_ALL: opts->all = true; break;
        case OPT_JSONL: opts->jsonl = true; break;
        case 'h': fputs(USAGE, stdout); exit(0);
        case OPT_VERSION: printf("ssecat (libsse %s)\n", sse_version()); exit(0);
        case ':': usage_error("option '%s' needs a value", argv[optind - 1]); break;
        default: usage_error("unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (optind != argc - 1) {
        usage_error(optind >= argc ? "no URL given%s" : "more than one URL given (%s)",
                    optind >= argc ? "" : argv[optind + 1]);
    }
    opts->url = argv[optind];

    sse_config *cfg = sse_config_new(opts->url);
    if (cfg == NULL) {
        usage_error("invalid URL '%s'", opts->url);
    }
    if (json) {
        if (!has_header(headers, header_count, "content-type")) {
            add_header(cfg, "Content-Type: application/json");
        }
        if (!has_header(headers, header_count, "accept")) {
            add_header(cfg, "Accept: text/event-stream");
        }
    }
    for (int i = 0; i < header_count; i++) add_header(cfg, headers[i]);
    free(headers);
    if (header_file != NULL) {
        struct stat st;
        if (stat(header_file, &st) != 0) {
            fprintf(stderr, "ssecat: --header-file %s: %s\n", header_file, strerror(errno));
            sse_config_free(cfg);
            exit(EXIT_USAGE);
        }
        if (sse_config_set_request_hook(cfg, header_file_hook, (void *)header_file, NULL) !=
            SSE_OK) {
            config_failed(cfg, "--header-file");
        }
    }
    if (on_end != NULL &&
        sse_config_set_on_end(cfg, strcmp(on_end, "end") == 0 ? SSE_ON_END_END
                                                              : SSE_ON_END_RECONNECT) != SSE_OK) {
        config_failed(cfg, "--on-end");
    }
    for (int i = 0; i < sensitive_count; i++) {
        if (sse_config_add_sensitive_header(cfg, sensitive[i]) != SSE_OK) {
            free(sensitive);
            config_failed(cfg, "--sensitive-header");
        }
    }
    free(sensitive);
    for (int i = 0; i < type_count; i++) {
        if (sse_config_add_event_type(cfg, types[i]) != SSE_OK) {
            free(types);
            config_failed(cfg, "--type");
        }
    }
    free(types);
    if (proxy != NULL && sse_config_set_proxy(cfg, proxy) != SSE_OK) {
        config_failed(cfg, "--proxy");
    }
    if (allow_downgrade && sse_config_set_allow_https_downgrade(cfg, true) != SSE_OK) {
        config_failed(cfg, "--allow-https-downgrade");
    }
    if (max_head >= 0 &&
        sse_config_set_max_response_head_bytes(cfg, (uintptr_t)max_head) != SSE_OK) {
        config_failed(cfg, "--max-response-head-bytes");
    }
    if (max_retry_after >= 0 &&
        sse_config_set_max_retry_after_ms(cfg, (uint64_t)max_retry_after) != SSE_OK) {
        config_failed(cfg, "--max-retry-after-ms");
    }
    if (max_elapsed >= 0 &&
        sse_config_set_max_retry_elapsed_ms(cfg, (uint64_t)max_elapsed) != SSE_OK) {
        config_failed(cfg, "--max-retry-elapsed-ms");
    }
    if (body != NULL) {
        if (sse_config_set_body(cfg, (const uint8_t *)body, strlen(body)) != SSE_OK) {
            config_failed(cfg, "-d");
        }
        if (method == NULL) method = "POST"; /* as curl does */
    }
    if (method != NULL && sse_config_set_method(cfg, method) != SSE_OK) {
        config_failed(cfg, "-X");
    }
    if (opts->state_file != NULL) {
        /* Its folder must take the temporary file and the rename: say so
         * now, not after the first event. */
        char *dir = strdup(opts->state_file);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        const char *folder = slash == NULL ? "." : (slash == dir ? "/" : (*slash = '\0', dir));
        if (dir == NULL || access(folder, W_OK | X_OK) != 0) {
            fprintf(stderr, "ssecat: --state %s: cannot write in %s: %s\n", opts->state_file,
                    folder, strerror(errno));
            free(dir);
            sse_config_free(cfg);
            exit(EXIT_USAGE);
        }
        free(dir);
    }
    char *state_id = opts->state_file ? read_state(opts->state_file) : NULL;
    if (state_id != NULL) {
        if (sse_config_set_last_event_id(cfg, state_id) != SSE_OK) {
            free(state_id);
            config_failed(cfg, "--state");
        }
        free(state_id);
    } else if (last_event_id != NULL &&
               sse_config_set_last_event_id(cfg, last_event_id) != SSE_OK) {
        config_failed(cfg, "--last-event-id");
    }
    /* The library keeps a floor under every delay (default 100 ms, so that
     * a server's `retry: 0` cannot make a tight loop). Delays asked for
     * explicitly below it lower the floor with them (never below 1 ms). */
    long long floor_ms = 100;
    if (retry_ms >= 0 && retry_ms < floor_ms) floor_ms = retry_ms;
    if (max_retry_ms >= 0 && max_retry_ms < floor_ms) floor_ms = max_retry_ms;
    if (floor_ms < 1) floor_ms = 1;
    if (floor_ms != 100 && sse_config_set_retry_min_ms(cfg, (uint64_t)floor_ms) != SSE_OK) {
        config_failed(cfg, "--retry-ms");
    }
    if (retry_ms >= 0 && sse_config_set_retry_initial_ms(cfg, (uint64_t)retry_ms) != SSE_OK) {
        config_failed(cfg, "--retry-ms");
    }
    if (max_retry_ms >= 0 && sse_config_set_retry_max_ms(cfg, (uint64_t)max_retry_ms) != SSE_OK) {
        config_failed(cfg, "--max-retry-ms");
    }
    if (opts->max_retries >= -1 &&
        sse_config_set_max_retries(cfg, (int64_t)opts->max_retries) != SSE_OK) {
        config_failed(cfg, "--max-retries");
    }
    if (connect_ms >= 0 &&
        sse_config_set_connect_timeout_ms(cfg, (uint64_t)connect_ms) != SSE_OK) {
        config_failed(cfg, "--connect-timeout-ms");
    }
    if (read_ms >= 0 && sse_config_set_read_timeout_ms(cfg, (uint64_t)read_ms) != SSE_OK) {
        config_failed(cfg, "--read-timeout-ms");
    }
    if (max_bytes >= 0 &&
        sse_config_set_max_event_bytes(cfg, (uintptr_t)max_bytes) != SSE_OK) {
        config_failed(cfg, "--max-event-bytes");
    }
    if (cacert != NULL && sse_config_set_ca_file(cfg, cacert) != SSE_OK) {
        config_failed(cfg, "--cacert");
    }
    if (insecure && sse_config_set_insecure(cfg, true) != SSE_OK) {
        config_failed(cfg, "--insecure");
    }
    if (key != NULL && cert == NULL) usage_error("%s", "--key needs --cert");
    if (cert != NULL && sse_config_set_client_cert_file(cfg, cert, key) != SSE_OK) {
        config_failed(cfg, "--cert");
    }
    /* Check everything now, so that a bad setting is a usage error. */
    sse_status status = sse_config_validate(cfg);
    if (status != SSE_OK) {
        const char *what = status == SSE_ERR_URL ? "invalid URL" : "invalid setting";
        config_failed(cfg, what);
    }
    return cfg;
}

/* ------------------------------------------------------------------ output */

/* Each item is formatted into one growing buffer, then written to stdout
 * by out_flush(), which gives up as soon as SIGINT or SIGTERM arrives, even
 * when nobody reads stdout (stdio would block in write() for ever). */
static struct {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory */
} out;

static void out_put(const void *bytes, size_t len) {
    if (out.failed || len == 0) return;
    if (out.len + len > out.cap) {
        size_t cap = out.cap ? out.cap : 4096;
        while (cap < out.len + len) cap *= 2;
        char *grown = realloc(out.data, cap);
        if (grown == NULL) {
            out.failed = true;
            return;
        }
        out.data = grown;
        out.cap = cap;
    }
    memcpy(out.data + out.len, bytes, len);
    out.len += len;
}

static void out_str(const char *text) { out_put(text, strlen(text)); }
static void out_char(char c) { out_put(&c, 1); }

__attribute__((format(printf, 1, 2))) static void out_printf(const char *fmt, ...) {
    char small[256];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(small, sizeof small, fmt, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        out_put(small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        out.failed = true;
        return;
    }
    va_start(args, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, args);
    va_end(args);
    out_put(big, (size_t)n);
    free(big);
}

static volatile sig_atomic_t signal_caught = 0;
/* SIGUSR1 (print the counters) and SIGHUP (reconnect now), handled by the
 * main thread between items. */
static volatile sig_atomic_t stats_asked = 0, reconnect_asked = 0;
static int signal_pipe[2] = {-1, -1};
/* What the SIGUSR1 and SIGHUP requests act on. */
static sse_client *the_client = NULL;

static void handle_requests(void);

/* Empties the self-pipe (it stays readable otherwise) and acts on what
 * SIGUSR1 and SIGHUP asked for. */
static void drain_signal_pipe(void) {
    char buf[64];
    while (read(signal_pipe[0], buf, sizeof buf) > 0) {
    }
    handle_requests();
}

/* How a flush ended. */
typedef enum { FLUSH_OK, FLUSH_SIGNAL, FLUSH_ERROR } flush_result;

/* Writes the buffer to stdout. Before each write it waits until stdout can
 * take bytes or a signal arrives (poll on stdout and the signal pipe), and
 * writes at most PIPE_BUF bytes, which a pipe that polled writable takes
 * without blocking: a signal never finds ssecat stuck in write(). */
static flush_result out_flush(void) {
    if (out.failed) {
        errno = ENOMEM;
        return FLUSH_ERROR;
    }
    size_t done = 0;
    while (done < out.len) {
        if (signal_caught) return FLUSH_SIGNAL;
        struct pollfd fds[2] = {{STDOUT_FILENO, POLLOUT, 0}, {signal_pipe[0], POLLIN, 0}};
        nfds_t count = signal_pipe[0] >= 0 ? 2 : 1;
        int r = poll(fds, count, signal_pipe[0] >= 0 ? -1 : 100);
        if (r < 0 && errno != EINTR) return FLUSH_ERROR;
        if (r > 0 && count == 2 && (fds[1].revents & POLLIN)) drain_signal_pipe();
        if (r <= 0 || !(fds[0].revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))) continue;
        size_t chunk = out.len - done;
        if (chunk > PIPE_BUF) chunk = PIPE_BUF;
        ssize_t n = write(STDOUT_FILENO, out.data + done, chunk);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return FLUSH_ERROR;
        }
        done += (size_t)n;
    }
    out.len = 0;
    return FLUSH_OK;
}

/* Writes `len` bytes as the inside of a JSON string: `"` and `\` escaped,
 * control characters as \n, \t, ... or \u00XX (NUL as \u0000); all other
 * bytes, UTF-8 included, as they are (the library hands out valid UTF-8). */
static void json_chars(const char *text, size_t len) {
    static const char HEX[] = "0123456789abcdef";
    size_t run = 0; /* bytes waiting to be written unchanged */
    for (size_t i = 0; i < len; i++) {
        unsigned char byte = (unsigned char)text[i];
        const char *escape = NULL;
        char unicode[7];
        switch (byte) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\b': escape = "\\b"; break;
        case '\f': escape = "\\f"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        case '\t': escape = "\\t"; break;
        default:
            if (byte < 0x20) {
                memcpy(unicode, "\\u00", 4);
                unicode[4] = HEX[byte >> 4];
                unicode[5] = HEX[byte & 15];
                unicode[6] = '\0';
                escape = unicode;
            }
        }
        if (escape == NULL) {
            run++;
            continue;
        }
        out_put(text + i - run, run);
        run = 0;
        out_str(escape);
    }
    out_put(text + len - run, run);
}

static void json_string(const char *text, size_t len) {
    out_char('"');
    json_chars(text, len);
    out_char('"');
}

/* The length of the valid UTF-8 sequence at `text` (of `len` bytes), or 0. */
static size_t utf8_sequence(const unsigned char *text, size_t len) {
    unsigned char lead = text[0];
    size_t need;
    unsigned char low = 0x80, high = 0xbf; /* range of the second byte */
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) need = 2;
    else if (lead >= 0xe0 && lead <= 0xef) need = 3;
    else if (lead >= 0xf0 && lead <= 0xf4) need = 4;
    else return 0;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
    if (len < need || text[1] < low || text[1] > high) return 0;
    for (size_t i = 2; i < need; i++) {
        if (text[i] < 0x80 || text[i] > 0xbf) return 0;
    }
    return need;
}

/* A JSON string of bytes that may not be UTF-8 (a response body): each
 * invalid byte becomes U+FFFD. */
static void json_bytes(const char *text, size_t len) {
    out_char('"');
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        size_t n;
        while (i < len && (n = utf8_sequence((const unsigned char *)text + i, len - i)) > 0) {
            i += n;
        }
        json_chars(text + start, i - start);
        if (i < len) {
            out_str("\\ufffd");
            i++;
        }
    }
    out_char('"');
}

/* The name of a close reason in --jsonl, as the bindings name it. */
static const char *close_reason_name(sse_close_reason reason) {
    switch (reason) {
    case SSE_CLOSE_NO_CONTENT: return "no_content";
    case SSE_CLOSE_END_OF_STREAM: return "end_of_stream";
    case SSE_CLOSE_BY_USER: return "by_user";
    case SSE_CLOSE_ERROR: return "error";
    case SSE_CLOSE_NONE: break;
    }
    return "none";
}

/* Prints one item as a JSON line. */
static void print_jsonl(const sse_event *ev) {
    size_t len = 0;
    const char *data = sse_event_data(ev, &len);
    switch (sse_event_kind(ev)) {
    case SSE_KIND_MESSAGE:
        out_str("{\"kind\":\"message\",\"event\":");
        json_string(sse_event_type(ev), sse_event_type_len(ev));
        out_str(",\"data\":");
        json_string(data, len);
        out_str(",\"id\":");
        json_string(sse_event_id(ev), sse_event_id_len(ev));
        if (sse_event_retry_ms(ev) >= 0) {
            out_printf(",\"retry\":%" PRId64, sse_event_retry_ms(ev));
        }
        out_str("}\n");
        break;
    case SSE_KIND_COMMENT:
        out_str("{\"kind\":\"comment\",\"text\":");
        json_string(data, len);
        out_str("}\n");
        break;
    case SSE_KIND_OPEN:
        out_printf("{\"kind\":\"open\",\"status\":%u}\n", (unsigned)sse_event_http_status(ev));
        break;
    case SSE_KIND_ERROR: {
        unsigned status = sse_event_http_status(ev);
        if (status != 0) {
            out_printf("{\"kind\":\"error\",\"status\":%u,\"message\":", status);
        } else {
            out_str("{\"kind\":\"error\",\"status\":null,\"message\":");
        }
        json_string(data, len);
        size_t body_len = 0;
        const char *body = sse_event_error_body(ev, &body_len);
        if (body != NULL) {
            out_str(",\"body\":");
            json_bytes(body, body_len);
        }
        out_str("}\n");
        break;
    }
    case SSE_KIND_RECONNECTING:
        out_printf("{\"kind\":\"reconnecting\",\"delay_ms\":%" PRIu64 "}\n",
                   (uint64_t)sse_event_delay_ms(ev));
        break;
    case SSE_KIND_CLOSED:
        out_printf("{\"kind\":\"closed\",\"reason\":\"%s\"}\n",
                   close_reason_name(sse_event_close_reason(ev)));
        break;
    }
}

static const char *close_reason_text(sse_close_reason reason) {
    switch (reason) {
    case SSE_CLOSE_NO_CONTENT: return "the server answered 204 No Content";
    case SSE_CLOSE_END_OF_STREAM: return "end of stream";
    case SSE_CLOSE_BY_USER: return "closed";
    case SSE_CLOSE_ERROR: return "fatal error";
    case SSE_CLOSE_NONE: break;
    }
    return "closed";
}

/* Whether text from the server is shown escaped: when stdout is a
 * terminal, control characters would drive it (retitle it, move the
 * cursor, hide text). Elsewhere the bytes are passed on exactly. */
static bool escape_controls = false;

/* Writes server text in text mode. With escape_controls, C0 controls
 * (but tab), DEL and the C1 controls (U+0080..U+009F, which some
 * terminals obey) are shown as \xNN, NUL as \0, and a backslash as \\. */
static void text_chars(const char *text, size_t len) {
    if (!escape_controls) {
        out_put(text, len);
        return;
    }
    static const char HEX[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char byte = (unsigned char)text[i];
        char escape[9];
        size_t skip = 1;
        if (byte == '\\') {
            strcpy(escape, "\\\\");
        } else if (byte == 0) {
            strcpy(escape, "\\0");
        } else if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
            snprintf(escape, sizeof escape, "\\x%c%c", HEX[byte >> 4], HEX[byte & 15]);
        } else if (byte == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] >= 0x80 &&
                   (unsigned char)text[i + 1] <= 0x9f) {
            unsigned char c1 = (unsigned char)text[i + 1];
            snprintf(escape, sizeof escape, "\\u00%c%c", HEX[c1 >> 4], HEX[c1 & 15]);
            skip = 2;
        } else {
            run++;
            continue;
        }
        out_put(text + i - run, run);
        run = 0;
        out_str(escape);
        i += skip - 1;
    }
    out_put(text + len - run, run);
}

/* A refusal's body shown to people: the first BODY_SHOWN bytes on one
 * line, control characters escaped whatever stdout is. */
#define BODY_SHOWN 1024

static void body_text(const char *body, size_t len) {
    bool saved = escape_controls;
    escape_controls = true;
    text_chars(body, len < BODY_SHOWN ? len : BODY_SHOWN);
    escape_controls = saved;
    if (len > BODY_SHOWN) out_str("...");
}

/* The same on stderr. */
static void body_to_stderr(const char *body, size_t len) {
    size_t saved_len = out.len;
    body_text(body, len);
    if (!out.failed) fwrite(out.data + saved_len, 1, out.len - saved_len, stderr);
    out.len = saved_len;
}

/* Whether an error message already names the HTTP status ("HTTP status
 * 503 ...", "HTTP 302 redirect ..."): then it is not prefixed again. */
static bool names_status(const char *message) { return strncmp(message, "HTTP ", 5) == 0; }

/* Prints one item for people: a message as a block in the wire format
 * (`event:`, `id:` when set, one `data:` line per line of data, a blank
 * line); with --all the other items as `: comment` and `[kind] ...` lines. */
static void print_human(const sse_event *ev) {
    size_t len = 0;
    const char *data = sse_event_data(ev, &len);
    switch (sse_event_kind(ev)) {
    case SSE_KIND_MESSAGE: {
        out_str("event: ");
        text_chars(sse_event_type(ev), sse_event_type_len(ev));
        out_char('\n');
        size_t id_len = sse_event_id_len(ev);
        if (id_len > 0) {
            out_str("id: ");
            text_chars(sse_event_id(ev), id_len);
            out_char('\n');
        }
        size_t start = 0;
        for (;;) {
            const char *nl = memchr(data + start, '\n', len - start);
            size_t end = nl ? (size_t)(nl - data) : len;
            out_str(end > start ? "data: " : "data:");
            text_chars(data + start, end - start);
            out_char('\n');
            if (nl == NULL) break;
            start = end + 1;
        }
        out_char('\n');
        break;
    }
    case SSE_KIND_COMMENT:
        out_str(len > 0 ? ": " : ":");
        text_chars(data, len);
        out_char('\n');
        break;
    case SSE_KIND_OPEN: out_printf("[open] HTTP %u\n", (unsigned)sse_event_http_status(ev)); break;
    case SSE_KIND_ERROR: {
        unsigned status = sse_event_http_status(ev);
        out_str(sse_event_is_fatal(ev) ? "[error, fatal] " : "[error] ");
        if (status != 0 && !names_status(data)) out_printf("HTTP %u: ", status);
        text_chars(data, len);
        size_t body_len = 0;
        const char *body = sse_event_error_body(ev, &body_len);
        if (body != NULL) {
            out_str("; the server said: ");
            body_text(body, body_len);
        }
        out_char('\n');
        break;
    }
    case SSE_KIND_RECONNECTING:
        out_printf("[reconnecting] in %" PRIu64 " ms (attempt %u)\n",
                   (uint64_t)sse_event_delay_ms(ev), (unsigned)sse_event_attempt(ev));
        break;
    case SSE_KIND_CLOSED:
        out_printf("[closed] %s\n", close_reason_text(sse_event_close_reason(ev)));
        break;
    }
}

/* ------------------------------------------------------------------ signals */

/* Async-signal-safe: records the signal and wakes poll() via the pipe.
 * The client is closed by the main thread, not here. */
static void on_signal(int signo) {
    int saved = errno;
    if (signo == SIGUSR1) {
        stats_asked = 1;
    } else if (signo == SIGHUP) {
        reconnect_asked = 1;
    } else {
        signal_caught = signo;
    }
    if (signal_pipe[1] >= 0) {
        ssize_t ignored = write(signal_pipe[1], "x", 1);
        (void)ignored;
    }
    errno = saved;
}

static void install_signal_handlers(bool stats) {
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        signal_pipe[0] = signal_pipe[1] = -1; /* fall back to polling the flag */
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (stats) sigaction(SIGUSR1, &sa, NULL);
    /* A closed stdout shows up as EPIPE from fflush, handled below. */
    signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------ stats, state */

/* --stats: the client's counters as one JSON line on stderr. */
static void print_stats(sse_client *client) {
    sse_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    if (sse_client_stats(client, &stats) != SSE_OK) return;
    size_t saved_len = out.len;
    out_printf("{\"events\":%" PRIu64 ",\"data_bytes\":%" PRIu64 ",\"wire_bytes\":%" PRIu64
               ",\"connections\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"errors_by_status\":{",
               stats.events, stats.data_bytes, stats.wire_bytes, stats.connections,
               stats.reconnects, stats.errors);
    bool first = true;
    for (int i = 0; i < SSE_STATS_STATUS_SLOTS; i++) {
        if (stats.errors_by_status[i] == 0) continue;
        out_printf("%s\"%s\":%" PRIu64, first ? "" : ",", sse_status_name(i),
                   stats.errors_by_status[i]);
        first = false;
    }
    out_printf("},\"queue_depth\":%" PRIu64 ",\"queue_peak\":%" PRIu64
               ",\"connected\":%s,\"connected_ms\":%" PRIu64 ",\"last_event_unix_ms\":",
               stats.queue_depth, stats.queue_peak, stats.connected ? "true" : "false",
               stats.connected_ms);
    if (stats.last_event_unix_ms) {
        out_printf("%" PRIu64, stats.last_event_unix_ms);
    } else {
        out_str("null");
    }
    out_str(",\"last_error\":");
    if (stats.last_error_unix_ms) {
        json_bytes(stats.last_error, strlen(stats.last_error));
        out_printf(",\"last_error_unix_ms\":%" PRIu64 "}\n", stats.last_error_unix_ms);
    } else {
        out_str("null,\"last_error_unix_ms\":null}\n");
    }
    if (!out.failed) fwrite(out.data + saved_len, 1, out.len - saved_len, stderr);
    out.len = saved_len;
}

static void handle_requests(void) {
    if (the_client == NULL) return;
    if (stats_asked) {
        stats_asked = 0;
        print_stats(the_client);
    }
    if (reconnect_asked) {
        reconnect_asked = 0;
        sse_client_interrupt(the_client);
    }
}

/* --state: the id last stored, to skip writing the same one again. */
static char *stored_id = NULL;
static size_t stored_len = 0;

/* Stores `id` in `path` by writing `path`.tmp and renaming it over `path`
 * (a reader or a restart sees the old id or the new one, never a part).
 * No fsync: the id survives the process (kill -9), not a power cut. False
 * (errno set) when that failed. */
static bool store_state(const char *path, const char *id, size_t len) {
    if (stored_id != NULL && stored_len == len && memcmp(stored_id, id, len) == 0) return true;
    /* One name: a kill -9 between open and rename leaves at most this file,
     * which the next run writes over (one ssecat per state file). */
    size_t tmp_cap = strlen(path) + 8;
    char *tmp = malloc(tmp_cap);
    if (tmp == NULL) return false;
    snprintf(tmp, tmp_cap, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    size_t done = 0;
    while (ok && done < len) {
        ssize_t n = write(fd, id + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += (size_t)n;
    }
    if (fd >= 0 && close(fd) != 0) ok = false;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    if (ok) {
        char *copy = malloc(len + 1);
        if (copy != NULL) {
            memcpy(copy, id, len);
            free(stored_id);
            stored_id = copy;
            stored_len = len;
        }
    }
    return ok;
}

/* -------------------------------------------------------------------- main */

/* Why the main loop stopped. */
typedef enum { RUN_ENDED, RUN_FATAL, RUN_SIGNAL, RUN_OUTPUT } run_end;

/* The body of the fatal error item, for the message at the end. */
static char *fatal_body = NULL;
static size_t fatal_body_len = 0;

static void keep_fatal_body(const sse_event *ev) {
    size_t len = 0;
    const char *body = sse_event_error_body(ev, &len);
    free(fatal_body);
    fatal_body = NULL;
    fatal_body_len = 0;
    if (body != NULL && (fatal_body = malloc(len)) != NULL) {
        memcpy(fatal_body, body, len);
        fatal_body_len = len;
    }
}

static run_end run(sse_client *client, const options *opts) {
    int fd = sse_client_fd(client); /* -1: fall back to a pull loop */
    long long messages = 0;
    for (;;) {
        if (signal_caught) return RUN_SIGNAL;
        if (stats_asked || reconnect_asked) handle_requests();
        sse_event *ev = NULL;
        sse_status status = sse_next_event(client, fd >= 0 ? 0 : 200, &ev);
        if (status == SSE_TIMEOUT) {
            if (fd >= 0) {
                struct pollfd fds[2] = {{fd, POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
                nfds_t count = signal_pipe[0] >= 0 ? 2 : 1;
                /* The timeout is a safety net only: libsse 0.1.0 can miss
                 * the final wake-up of the descriptor when the stream ends
                 * (a race in the engine, reported), and without a signal
                 * pipe the flag must be looked at now and then. */
                int r = poll(fds, count, 250);
                if (r < 0 && errno != EINTR) {
                    perror("ssecat: poll");
                    return RUN_FATAL;
                }
                if (r > 0 && count == 2 && (fds[1].revents & POLLIN)) drain_signal_pipe();
            }
            continue;
        }
        if (status == SSE_CLOSED) return RUN_ENDED;
        if (status != SSE_OK) {
            /* The status stays at the end of the last line (scripts read it). */
            if (fatal_body != NULL) {
                fputs("ssecat: the server said: ", stderr);
                body_to_stderr(fatal_body, fatal_body_len);
                fputc('\n', stderr);
            }
            fprintf(stderr, "ssecat: %s (%s)\n", sse_client_last_error(client),
                    sse_status_name(status));
            return RUN_FATAL;
        }
        sse_kind kind = sse_event_kind(ev);
        if (kind == SSE_KIND_ERROR && sse_event_is_fatal(ev)) keep_fatal_body(ev);
        if (kind == SSE_KIND_MESSAGE || opts->all) {
            if (opts->jsonl) {
                print_jsonl(ev);
            } else {
                print_human(ev);
            }
            flush_result flushed = out_flush();
            if (flushed != FLUSH_OK) {
                int error = errno;
                sse_event_free(ev);
                if (flushed == FLUSH_SIGNAL) return RUN_SIGNAL;
                /* A reader that went away (`ssecat URL | head`) is no news. */
                if (error != EPIPE) fprintf(stderr, "ssecat: stdout: %s\n", strerror(error));
                return RUN_OUTPUT;
            }
            /* Written and flushed: now the id may move on (at least once). */
            if (kind == SSE_KIND_MESSAGE && opts->state_file != NULL &&
                !store_state(opts->state_file, sse_event_id(ev), sse_event_id_len(ev))) {
                fprintf(stderr, "ssecat: --state %s: %s\n", opts->state_file, strerror(errno));
                sse_event_free(ev);
                return RUN_FATAL;
            }
        } else if (kind == SSE_KIND_ERROR && !sse_event_is_fatal(ev)) {
            /* Without --all, say on stderr why nothing comes (the fatal
             * error is reported once, from sse_next_event's status). */
            const char *message = sse_event_data(ev, NULL);
            unsigned http = sse_event_http_status(ev);
            size_t body_len = 0;
            const char *body = sse_event_error_body(ev, &body_len);
            if (body != NULL) {
                fputs("ssecat: the server said: ", stderr);
                body_to_stderr(body, body_len);
                fputc('\n', stderr);
            }
            if (http != 0 && !names_status(message)) {
                fprintf(stderr, "ssecat: HTTP %u: %s (reconnecting)\n", http, message);
            } else {
                fprintf(stderr, "ssecat: %s (reconnecting)\n", message);
            }
        }
        sse_event_free(ev);
        if (kind == SSE_KIND_MESSAGE && opts->max_events > 0 && ++messages >= opts->max_events) {
            return RUN_ENDED;
        }
    }
}

int main(int argc, char **argv) {
    options opts;
    sse_config *cfg = parse_args(argc, argv, &opts);

    install_signal_handlers(opts.stats);
    sse_client *client = NULL;
    sse_status status = sse_client_start(cfg, &client);
    if (status != SSE_OK) {
        fprintf(stderr, "ssecat: %s: %s\n", status == SSE_ERR_URL ? "invalid URL" : "cannot start",
                sse_config_last_error(cfg));
        sse_config_free(cfg);
        return status == SSE_ERR_URL || status == SSE_ERR_ARGUMENT ? EXIT_USAGE : EXIT_FATAL;
    }
    sse_config_free(cfg); /* the client keeps its own copy */

    escape_controls = !opts.jsonl && isatty(STDOUT_FILENO);
    the_client = client;
    run_end end = run(client, &opts);
    if (opts.stats) print_stats(client);
    the_client = NULL;
    /* Stops the background thread within milliseconds, even in a read. */
    sse_client_close(client);
    sse_client_free(client);
    if (signal_pipe[0] >= 0) {
        close(signal_pipe[0]);
        close(signal_pipe[1]);
    }
    free(out.data);
    free(fatal_body);
    free(stored_id);
    switch (end) {
    case RUN_ENDED: return 0;
    case RUN_SIGNAL: return 128 + (int)signal_caught;
    case RUN_OUTPUT:
    case RUN_FATAL: break;
    }
    return EXIT_FATAL;
}
