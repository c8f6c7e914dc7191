/* See harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int harness_failures = 0;
static const char *current_test = "?";

void harness_fail(const char *file, int line, const char *fmt, ...) {
    harness_failures++;
    fprintf(stderr, "  FAIL [%s] %s:%d: ", current_test, file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

double harness_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void harness_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int harness_ms(int ms) {
    const char *slow = getenv("SSE_TEST_SLOW");
    int factor = slow ? atoi(slow) : 1;
    if (factor < 1) factor = 1;
    return ms * factor;
}

int harness_run(const char *suite, const harness_test *tests, size_t count, int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = harness_now_ms();
    size_t ran = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++) wanted |= strcmp(argv[a], tests[i].name) == 0;
            if (!wanted) continue;
        }
        current_test = tests[i].name;
        int before = harness_failures;
        double t0 = harness_now_ms();
        tests[i].fn();
        double took = harness_now_ms() - t0;
        ran++;
        if (harness_failures != before) failed++;
        printf("%s %s.%s (%.0f ms)\n", harness_failures == before ? "ok  " : "FAIL", suite,
               tests[i].name, took);
    }
    current_test = "?";
    printf("%s: %zu tests, %zu failed, %d failed checks, %.1f s\n", suite, ran, failed,
           harness_failures, (harness_now_ms() - start) / 1e3);
    if (ran == 0) {
        fprintf(stderr, "%s: no test matched\n", suite);
        return 1;
    }
    return harness_failures == 0 ? 0 : 1;
}

/* -------------------------------------------------------------- server */

int harness_server_start(harness_server *server, int tls) {
    memset(server, 0, sizeof *server);
    server->pid = -1;
    server->stdin_fd = -1;
    const char *binary = getenv("SSE_DEMO_SERVER");
    if (binary == NULL) binary = "target/release/sse-demo-server";

    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) return -1;
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        close(in_pipe[0]);
        close(in_pipe[1]);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);

    char *args[8];
    int n = 0;
    args[n++] = (char *)binary;
    args[n++] = (char *)"--port";
    args[n++] = (char *)"0";
    args[n++] = (char *)"--exit-on-stdin-eof";
    if (tls) {
        snprintf(server->ca_file, sizeof server->ca_file, "/tmp/libsse-test-ca-%d.pem",
                 (int)getpid());
        args[n++] = (char *)"--tls";
        args[n++] = (char *)"--ca-out";
        args[n++] = server->ca_file;
    }
    args[n] = NULL;
    int rc = posix_spawn(&server->pid, binary, &actions, NULL, args, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
        fprintf(stderr, "cannot start %s: %s\n", binary, strerror(rc));
        close(in_pipe[1]);
        close(out_pipe[0]);
        server->pid = -1;
        return -1;
    }
    server->stdin_fd = in_pipe[1];

    /* The first line on its stdout is the base URL. */
    size_t len = 0;
    for (;;) {
        char c;
        ssize_t got = read(out_pipe[0], &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || c == '\n' || len + 1 >= sizeof server->url) break;
        server->url[len++] = c;
    }
    server->url[len] = '\0';
    close(out_pipe[0]);
    const char *colon = strrchr(server->url, ':');
    server->port = colon ? atoi(colon + 1) : 0;
    if (server->port <= 0) {
        fprintf(stderr, "the demo server printed no URL\n");
        harness_server_stop(server);
        return -1;
    }
    return 0;
}

void harness_server_stop(harness_server *server) {
    if (server->stdin_fd >= 0) {
        close(server->stdin_fd);
        server->stdin_fd = -1;
    }
    if (server->pid > 0) {
        /* It exits on stdin EOF; do not wait forever for it. */
        int status;
        double deadline = harness_now_ms() + 5000;
        while (waitpid(server->pid, &status, WNOHANG) == 0) {
            if (harness_now_ms() > deadline) {
                kill(server->pid, SIGKILL);
                waitpid(server->pid, &status, 0);
                break;
            }
            harness_sleep_ms(10);
        }
        server->pid = -1;
    }
    if (server->ca_file[0] != '\0') {
        unlink(server->ca_file);
        server->ca_file[0] = '\0';
    }
}

const char *harness_url(const harness_server *server, const char *path) {
    static char buffers[16][512];
    static unsigned next = 0;
    char *buffer = buffers[next++ % 16];
    snprintf(buffer, sizeof buffers[0], "%s%s", server->url, path);
    return buffer;
}

char *harness_http_get(const harness_server *server, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)server->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    char request[600];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, request, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *response = malloc(cap);
    for (;;) {
        if (response == NULL) break;
        if (len + 1024 > cap) {
            char *bigger = realloc(response, cap *= 2);
            if (bigger == NULL) {
                free(response);
                response = NULL;
                break;
            }
            response = bigger;
        }
        ssize_t got = read(fd, response + len, cap - len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fd);
    if (response == NULL) return NULL;
    response[len] = '\0';
    char *body = strstr(response, "\r\n\r\n");
    if (body == NULL) {
        free(response);
        return NULL;
    }
    memmove(response, body + 4, strlen(body + 4) + 1);
    return response;
}

int engine_threads(void) {
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL) return -1;
    int count = 0;
    struct dirent *task;
    while ((task = readdir(dir)) != NULL) {
        if (task->d_name[0] == '.') continue;
        char path[300], name[64] = {0};
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) continue;
        if (fgets(name, sizeof name, f) != NULL && strncmp(name, "libsse-engine", 13) == 0) count++;
        fclose(f);
    }
    closedir(dir);
    return count;
}

int engine_threads_become(int want) {
    double deadline = harness_now_ms() + harness_ms(10000);
    while (engine_threads() != want && harness_now_ms() < deadline) harness_sleep_ms(5);
    return engine_threads();
}
