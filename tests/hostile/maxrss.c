/*
 * maxrss: runs a command and writes its peak resident set size, for
 * tests/hostile/test_hostile.py.
 *
 *   maxrss OUTFILE COMMAND [ARG...]
 *
 * Writes the command's ru_maxrss (KiB, from wait4) to OUTFILE and exits
 * with its exit status (128+N if signal N ended it). Why a separate
 * program: a child's ru_maxrss starts from the resident size of the
 * process that forked it (the address space replaced by exec), so
 * measured straight from the Python test it would be at least the
 * test's own size. Forked from this small program it is the command's.
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: maxrss OUTFILE COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("maxrss: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("maxrss: wait4");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (out == NULL || fprintf(out, "%ld\n", usage.ru_maxrss) < 0 || fclose(out) != 0) {
        perror("maxrss: OUTFILE");
        return 2;
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
