/* testutil.c: see testutil.h */
#include "testutil.h"
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

static void read_back(int fd, char *buf, size_t len)
{
    ssize_t n = pread(fd, buf, len - 1, 0);
    if (n < 0)
        die("pread(memfd)");
    buf[n] = '\0';
    CHECK_SYS(close(fd));
}

static void run(void (*fn)(void *), void *arg, char *const argv[], int64_t timeout_ns,
                struct captured *c)
{
    int out = memfd_create("test-stdout", MFD_CLOEXEC);
    int err = memfd_create("test-stderr", MFD_CLOEXEC);
    if (out == -1 || err == -1)
        die("memfd_create");
    pid_t pid = fork_child();
    if (pid == 0) {
        if (dup2(out, STDOUT_FILENO) == -1 || dup2(err, STDERR_FILENO) == -1)
            die_child("dup2");
        if (argv) {
            execv(argv[0], argv);
            die_child("execv %s", argv[0]);
        }
        fn(arg);
        fflush(stdout);
        _exit(0);
    }
    bool timed_out = child_wait(pid, timeout_ns, &c->status) == ETIMEDOUT;
    if (timed_out) {
        CHECK_SYS(kill(pid, SIGKILL));
        child_wait(pid, -1, &c->status);
    }
    read_back(out, c->out, sizeof c->out);
    read_back(err, c->err, sizeof c->err);
    if (timed_out)
        fail_msg("the child did not end within %.1f s", (double)timeout_ns / 1e9);
}

void capture(void (*fn)(void *), void *arg, int64_t timeout_ns, struct captured *c)
{
    run(fn, arg, NULL, timeout_ns, c);
}

void capture_exec(char *const argv[], int64_t timeout_ns, struct captured *c)
{
    run(NULL, NULL, argv, timeout_ns, c);
}

bool asleep_in_futex(pid_t tid, const void *addr)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    long nr = -1;
    unsigned long a1 = 0;
    bool ok = fgets(line, sizeof line, f) && sscanf(line, "%ld %lx", &nr, &a1) == 2;
    fclose(f);
    return ok && nr == SYS_futex && (!addr || a1 == (unsigned long)(uintptr_t)addr);
}

bool under_valgrind(void)
{
#ifdef HAVE_VALGRIND_H
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

int join_child(pid_t pid)
{
    int status;
    if (child_wait(pid, 30 * NS_PER_S, &status) == ETIMEDOUT) {
        kill(pid, SIGKILL);
        child_wait(pid, -1, &status);
        fail_msg("child %d did not end within 30 s", (int)pid);
    }
    return exitcode_of(status);
}
