/*
 * abi_probe: runs one libsse client through the C ABI against a URL, for
 * tests/hostile/test_hostile.py.
 *
 *   abi_probe URL [--max-retries N] [--retry-ms N] [--max-retry-ms N]
 *             [--max-retry-elapsed-ms N] [--max-retry-after-ms N]
 *             [--max-event-bytes N] [--read-timeout-ms N] [--cacert FILE]
 *             [--insecure] [--batch] [--max-messages N] [--timeout-ms N]
 *             [--engine thread|caller|loop] [-H "Name: value"]...
 *             [--sensitive-header NAME] [--allow-https-downgrade]
 *
 * --engine says what reads the stream: libsse's shared thread (the
 * default), the pulls themselves (sse_config_set_driven_by_caller), or an
 * sse_loop this program runs as an event loop would: poll() on
 * sse_loop_fd for at most sse_loop_timeout_ms, sse_loop_run(loop, 0), then
 * pulls with timeout 0 (which only take what is queued). The end line
 * then also gives "runs" (the sse_loop_run calls: a loop that spins shows
 * here), "threaded" (whether a backlog moved the loop to a thread of its
 * own, after which the probe waits in blocking pulls), "cpu_ms" and
 * "wall_ms" (the probe's CPU and wall time from the start of the client
 * to its end).
 *
 * Counts its threads (/proc/self/task) and open descriptors
 * (/proc/self/fd) before the client starts, prints every item as a JSON
 * line (message: event, data, id; error: status, code, message, fatal;
 * open, comment, reconnecting, closed), then one line
 * {"kind":"end","status":"SSE_...","last_error":"..."} when the stream
 * ended (or after --max-messages messages, when it closes the client and
 * drains it; or when --timeout-ms passed without an item: status
 * "TIMEOUT"). It frees everything and checks that the thread and
 * descriptor counts are back where they were (waiting up to 3 s for them
 * to settle), printing a last line
 * {"kind":"resources","threads":[before,after],"fds":[before,after],
 *  "during":[threads,fds]} ("during": counted after the first item, so a
 * test can see that the counts do see the client's thread and socket).
 *
 * Strings are printed as JSON with `"`, `\` and control bytes escaped and
 * every other byte as it is (the library hands out UTF-8).
 *
 * Exit status: 0 done, resources back; 3 a thread or descriptor left
 * behind; 2 bad usage or a refused setting.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sse.h"

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void json_string(const char *text, size_t len) {
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '"' || b == '\\') {
            printf("\\%c", b);
        } else if (b < 0x20) {
            printf("\\u%04x", b);
        } else {
            putchar(b);
        }
    }
    putchar('"');
}

static void json_cstring(const char *text) {
    json_string(text, strlen(text));
}

static void print_item(const sse_event *ev) {
    size_t len = 0;
    const char *data = sse_event_data(ev, &len);
    switch (sse_event_kind(ev)) {
    case SSE_KIND_MESSAGE:
        printf("{\"kind\":\"message\",\"event\":");
        json_string(sse_event_type(ev), sse_event_type_len(ev));
        printf(",\"data\":");
        json_string(data, len);
        printf(",\"id\":");
        json_string(sse_event_id(ev), sse_event_id_len(ev));
        printf("}\n");
        break;
    case SSE_KIND_COMMENT:
        printf("{\"kind\":\"comment\",\"text\":");
        json_string(data, len);
        printf("}\n");
        break;
    case SSE_KIND_OPEN:
        printf("{\"kind\":\"open\",\"status\":%u}\n", (unsigned)sse_event_http_status(ev));
        break;
    case SSE_KIND_ERROR:
        printf("{\"kind\":\"error\",\"status\":%u,\"code\":\"%s\",\"fatal\":%s,\"message\":",
               (unsigned)sse_event_http_status(ev),
               sse_status_name((int32_t)sse_event_error_status(ev)),
               sse_event_is_fatal(ev) ? "true" : "false");
        json_string(data, len);
        printf("}\n");
        break;
    case SSE_KIND_RECONNECTING:
        printf("{\"kind\":\"reconnecting\",\"delay_ms\":%llu,\"attempt\":%u}\n",
               (unsigned long long)sse_event_delay_ms(ev), (unsigned)sse_event_attempt(ev));
        break;
    case SSE_KIND_CLOSED: printf("{\"kind\":\"closed\"}\n"); break;
    }
}

static long long number(const char *option, const char *text) {
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (text[0] == '\0' || *end != '\0') {
        fprintf(stderr, "abi_probe: %s: not a number: '%s'\n", option, text);
        exit(2);
    }
    return v;
}

static void must(sse_config *cfg, sse_status status, const char *what) {
    if (status != SSE_OK) {
        fprintf(stderr, "abi_probe: %s: %s (%s)\n", what, sse_config_last_error(cfg),
                sse_status_name((int32_t)status));
        sse_config_free(cfg);
        exit(2);
    }
}

/* Takes one item (or a batch of them); prints them. Returns the status and
 * counts messages into *messages. */
static sse_status take(sse_client *client, bool batch, int32_t timeout_ms, long long *messages) {
    if (batch) {
        sse_batch *b = NULL;
        sse_status st = sse_next_batch(client, timeout_ms, &b);
        if (st != SSE_OK) return st;
        for (size_t i = 0; i < sse_batch_len(b); i++) {
            const sse_event *ev = sse_batch_event(b, i);
            print_item(ev);
            *messages += sse_event_kind(ev) == SSE_KIND_MESSAGE;
        }
        sse_batch_free(b);
        return st;
    }
    sse_event *ev = NULL;
    sse_status st = sse_next_event(client, timeout_ms, &ev);
    if (st != SSE_OK) return st;
    print_item(ev);
    *messages += sse_event_kind(ev) == SSE_KIND_MESSAGE;
    sse_event_free(ev);
    return st;
}

/* The loop of --engine loop, run by this program. */
static sse_loop *the_loop = NULL;
static bool loop_threaded = false; /* it moved to a thread of its own (a backlog) */
static long long loop_runs = 0;

/* take() for a client on the_loop: waits as an event loop does (poll on
 * the loop's descriptor, at most its timeout), runs the loop once, takes
 * what it queued; until an item comes or timeout_ms passes. */
static sse_status take_on_loop(sse_client *client, bool batch, int32_t timeout_ms,
                               long long *messages) {
    const double deadline = now_ms() + timeout_ms;
    for (;;) {
        sse_status st = take(client, batch, 0, messages);
        if (st != SSE_TIMEOUT) return st;
        double left = deadline - now_ms();
        if (left <= 0) return SSE_TIMEOUT;
        if (loop_threaded) return take(client, batch, (int32_t)left + 1, messages);
        int32_t wait = sse_loop_timeout_ms(the_loop);
        if (wait < 0 || wait > left) wait = (int32_t)left + 1;
        struct pollfd pfd = {sse_loop_fd(the_loop), POLLIN, 0};
        if (poll(&pfd, 1, wait) < 0 && errno != EINTR) {
            perror("abi_probe: poll");
            exit(2);
        }
        loop_runs++;
        sse_status ran = sse_loop_run(the_loop, 0);
        if (ran == SSE_CLOSED) {
            loop_threaded = true;
        } else if (ran != SSE_OK && ran != SSE_TIMEOUT) {
            fprintf(stderr, "abi_probe: sse_loop_run: %s\n", sse_status_name((int32_t)ran));
            exit(2);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: abi_probe URL [options] (see the source)\n");
        return 2;
    }
    const int threads_before = count_entries("/proc/self/task");
    const int fds_before = count_entries("/proc/self/fd");

    sse_config *cfg = sse_config_new(argv[1]);
    if (cfg == NULL) {
        fprintf(stderr, "abi_probe: sse_config_new refused the URL\n");
        return 2;
    }
    must(cfg, sse_config_set_proxy(cfg, ""), "proxy");
    bool batch = false;
    long long max_messages = -1;
    int32_t timeout_ms = 60000;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--engine") == 0 && i + 1 < argc) {
            const char *engine = argv[++i];
            if (strcmp(engine, "caller") == 0) {
                must(cfg, sse_config_set_driven_by_caller(cfg, true), "--engine caller");
            } else if (strcmp(engine, "loop") == 0) {
                the_loop = sse_loop_new();
                if (the_loop == NULL) {
                    fprintf(stderr, "abi_probe: sse_loop_new failed\n");
                    return 2;
                }
                must(cfg, sse_config_set_loop(cfg, the_loop), "--engine loop");
            } else if (strcmp(engine, "thread") != 0) {
                fprintf(stderr, "abi_probe: --engine: thread, caller or loop, not '%s'\n", engine);
                return 2;
            }
            continue;
        }
        if (strcmp(opt, "--batch") == 0) {
            batch = true;
            continue;
        }
        if (strcmp(opt, "--insecure") == 0) {
            must(cfg, sse_config_set_insecure(cfg, true), opt);
            continue;
        }
        if (strcmp(opt, "--allow-https-downgrade") == 0) {
            must(cfg, sse_config_set_allow_https_downgrade(cfg, true), opt);
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "abi_probe: %s needs a value\n", opt);
            sse_config_free(cfg);
            return 2;
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--max-retries") == 0) {
            must(cfg, sse_config_set_max_retries(cfg, number(opt, val)), opt);
        } else if (strcmp(opt, "--retry-ms") == 0) {
            must(cfg, sse_config_set_retry_initial_ms(cfg, (uint64_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--max-retry-ms") == 0) {
            must(cfg, sse_config_set_retry_max_ms(cfg, (uint64_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--max-event-bytes") == 0) {
            must(cfg, sse_config_set_max_event_bytes(cfg, (uintptr_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--max-retry-elapsed-ms") == 0) {
            must(cfg, sse_config_set_max_retry_elapsed_ms(cfg, (uint64_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--max-retry-after-ms") == 0) {
            must(cfg, sse_config_set_max_retry_after_ms(cfg, (uint64_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--read-timeout-ms") == 0) {
            must(cfg, sse_config_set_read_timeout_ms(cfg, (uint64_t)number(opt, val)), opt);
        } else if (strcmp(opt, "--cacert") == 0) {
            must(cfg, sse_config_set_ca_file(cfg, val), opt);
        } else if (strcmp(opt, "-H") == 0) {
            const char *colon = strchr(val, ':');
            if (colon == NULL) {
                fprintf(stderr, "abi_probe: -H: expected 'Name: value', got '%s'\n", val);
                sse_config_free(cfg);
                return 2;
            }
            char name[256];
            size_t len = (size_t)(colon - val);
            if (len >= sizeof name) len = sizeof name - 1;
            memcpy(name, val, len);
            name[len] = '\0';
            const char *value = colon + 1;
            while (*value == ' ') value++;
            must(cfg, sse_config_add_header(cfg, name, value), opt);
        } else if (strcmp(opt, "--sensitive-header") == 0) {
            must(cfg, sse_config_add_sensitive_header(cfg, val), opt);
        } else if (strcmp(opt, "--max-messages") == 0) {
            max_messages = number(opt, val);
        } else if (strcmp(opt, "--timeout-ms") == 0) {
            timeout_ms = (int32_t)number(opt, val);
        } else {
            fprintf(stderr, "abi_probe: unknown option '%s'\n", opt);
            sse_config_free(cfg);
            return 2;
        }
    }

    int threads_during = -1, fds_during = -1;
    const double wall_start = now_ms(), cpu_start = cpu_ms();
    sse_client *client = NULL;
    sse_status st = sse_client_start(cfg, &client);
    if (st != SSE_OK) {
        printf("{\"kind\":\"end\",\"status\":\"%s\",\"last_error\":", sse_status_name((int32_t)st));
        json_cstring(sse_config_last_error(cfg));
        printf("}\n");
        sse_config_free(cfg);
    } else {
        sse_config_free(cfg);
        long long messages = 0;
        bool closed = false;
        for (;;) {
            st = the_loop != NULL ? take_on_loop(client, batch, timeout_ms, &messages)
                                  : take(client, batch, timeout_ms, &messages);
            if (st == SSE_TIMEOUT) break;
            if (st != SSE_OK) break;
            if (threads_during < 0) {
                threads_during = count_entries("/proc/self/task");
                fds_during = count_entries("/proc/self/fd");
            }
            if (!closed && max_messages >= 0 && messages >= max_messages) {
                sse_client_close(client);
                closed = true;
            }
        }
        printf("{\"kind\":\"end\",\"status\":\"%s\",\"runs\":%lld,\"threaded\":%s,"
               "\"cpu_ms\":%.1f,\"wall_ms\":%.1f,\"last_error\":",
               st == SSE_TIMEOUT ? "TIMEOUT" : sse_status_name((int32_t)st), loop_runs,
               loop_threaded ? "true" : "false", cpu_ms() - cpu_start, now_ms() - wall_start);
        json_cstring(sse_client_last_error(client));
        printf("}\n");
        sse_client_free(client);
    }
    sse_loop_free(the_loop);

    int threads_after = 0, fds_after = 0;
    for (int waited = 0;; waited += 20) {
        threads_after = count_entries("/proc/self/task");
        fds_after = count_entries("/proc/self/fd");
        if ((threads_after == threads_before && fds_after == fds_before) || waited >= 3000) break;
        sleep_ms(20);
    }
    printf("{\"kind\":\"resources\",\"threads\":[%d,%d],\"fds\":[%d,%d],\"during\":[%d,%d]}\n",
           threads_before, threads_after, fds_before, fds_after, threads_during, fds_during);
    fflush(stdout);
    if (threads_after != threads_before || fds_after != fds_before) {
        fprintf(stderr, "abi_probe: left behind: threads %d -> %d, fds %d -> %d\n", threads_before,
                threads_after, fds_before, fds_after);
        return 3;
    }
    return 0;
}
