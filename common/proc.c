/* proc.c: child processes that are started, waited for and cleaned up properly. */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t fork_child(void)
{
    pid_t parent = getpid();
    /* stdio buffers are copied by fork: flush them, or the child prints them again */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid == 0) {
        /* Ask the kernel to SIGKILL us when the parent dies (strictly: when the
         * thread that forked us ends; the workbook forks from main threads). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL) == -1)
            die_child("prctl(PR_SET_PDEATHSIG)");
        if (getppid() != parent) /* the parent died before the prctl */
            _exit(EXIT_FAILURE);
    }
    return pid;
}

int exitcode_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    return 0; /* stopped or continued: not an end */
}

static void reap(pid_t pid, int *status)
{
    pid_t r;
    while ((r = waitpid(pid, status, 0)) == -1 && errno == EINTR)
        ;
    if (r == -1)
        die("waitpid(%d)", (int)pid);
}

/* A pidfd (Linux 5.3) is a file descriptor for a process: it polls readable when
 * the process ends, so a wait can have a timeout like any other I/O. */
int child_wait(pid_t pid, int64_t timeout_ns, int *status)
{
    int st;
    if (!status)
        status = &st;
    if (timeout_ns < 0) {
        reap(pid, status);
        return 0;
    }
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd == -1 && errno != ENOSYS)
        die("pidfd_open(%d)", (int)pid);
    int64_t deadline = deadline_in(timeout_ns); /* saturates: INT64_MAX is no limit */
    for (;;) {
        int64_t left = ns_left(deadline);
        if (fd == -1) { /* old kernel: look every millisecond */
            pid_t r = waitpid(pid, status, WNOHANG);
            if (r == -1 && errno != EINTR)
                die("waitpid(%d)", (int)pid);
            if (r == pid)
                return 0;
            if (left == 0)
                return ETIMEDOUT;
            sleep_ns(left < NS_PER_MS ? left : NS_PER_MS);
            continue;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct timespec ts = ns_to_ts(left);
        int n = ppoll(&p, 1, &ts, NULL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die("ppoll(pidfd)");
        if (n == 1) {
            if (close(fd) == -1)
                die("close(pidfd)");
            reap(pid, status);
            return 0;
        }
        if (left == 0) {
            if (close(fd) == -1)
                die("close(pidfd)");
            return ETIMEDOUT;
        }
    }
}

/* ---- cleanup on SIGINT / SIGTERM / SIGHUP ---- */

static void (*g_cleanups[8])(void);
static volatile sig_atomic_t g_ncleanups;
static pid_t g_owner;

static void on_signal(int sig)
{
    int saved = errno;
    if (getpid() == g_owner)
        for (int i = g_ncleanups - 1; i >= 0; i--)
            g_cleanups[i]();
    errno = saved;
    /* end the process by the same signal, so its parent sees what really happened */
    signal(sig, SIG_DFL);
    raise(sig); /* blocked while we are in the handler: delivered when we return */
}

void on_termination(void (*cleanup)(void))
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        sigaddset(&block, sigs[i]);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &block, &old));
    if (g_ncleanups == (int)ARRAY_LEN(g_cleanups))
        fatal("on_termination: more than %zu cleanups", ARRAY_LEN(g_cleanups));
    if (g_owner != getpid()) { /* first registration in this process */
        g_owner = getpid();
        g_ncleanups = 0;
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
            CHECK_SYS(sigaction(sigs[i], &sa, NULL));
    }
    g_cleanups[g_ncleanups] = cleanup;
    g_ncleanups = g_ncleanups + 1;
    CHECK_PT(pthread_sigmask(SIG_SETMASK, &old, NULL));
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        if (n == 0)
            break; /* end of file */
        got += (size_t)n;
    }
    return (ssize_t)got;
}

void pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    CHECK_PT(pthread_setaffinity_np(pthread_self(), sizeof set, &set));
}

int first_cpus(int *cpu, int n)
{
    cpu_set_t set;
    CHECK_SYS(sched_getaffinity(0, sizeof set, &set));
    int found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < n; c++)
        if (CPU_ISSET(c, &set))
            cpu[found++] = c;
    for (int i = found; i < n; i++)
        cpu[i] = -1;
    return found;
}
