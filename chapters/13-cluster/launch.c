/* launch.c: start an MPI job from a plain program, with a deadline (see launch.h). */
#include "launch.h"
#include "leftovers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MPIEXEC
#define MPIEXEC "mpiexec" /* the chapter's Makefile passes MPICH's own (Debian: mpiexec.mpich) */
#endif

enum { MAX_KIDS = 1024, MAX_ARGS = 256 };

bool launch_in_job(void)
{
    return getenv("PMI_RANK") != NULL || getenv("PMIX_RANK") != NULL;
}

void launch_parse(int argc, char **argv, const char *about, const struct cli_opt *opts, struct cli *cli,
                  void (*check)(void))
{
    const char *r = getenv("PMI_RANK") ? getenv("PMI_RANK") : getenv("PMIX_RANK");
    if (!r || strcmp(r, "0") == 0) {
        cli_parse(argc, argv, about, opts, cli);
        if (check)
            check();
        return;
    }
    /* another rank: same checks, same exit, nothing printed */
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (out == -1 || err == -1 || null == -1)
        die("launch_parse: dup or open /dev/null");
    CHECK_SYS(dup2(null, 1));
    CHECK_SYS(dup2(null, 2));
    cli_parse(argc, argv, about, opts, cli);
    if (check)
        check();
    CHECK_SYS(dup2(out, 1));
    CHECK_SYS(dup2(err, 2));
    CHECK_SYS(close(out));
    CHECK_SYS(close(err));
    CHECK_SYS(close(null));
}

/* Our children now. Orphans re-parented to a subreaper become children of its main
 * thread, and /proc/<pid>/task/<tid>/children lists a thread's children. */
static int children(pid_t *pids, int max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        die("fopen %s", path);
    int n = 0;
    long p;
    while (n < max && fscanf(f, "%ld", &p) == 1)
        pids[n++] = (pid_t)p;
    fclose(f);
    return n;
}

/* SIGKILL every process below us, round after round (a proxy's ranks come to us when
 * it dies), reaping as they end, until none is left. Returns how many were killed. */
static int kill_tree(int64_t deadline)
{
    static pid_t seen[MAX_KIDS], kids[MAX_KIDS];
    int nseen = 0;
    for (;;) {
        int st;
        while (waitpid(-1, &st, WNOHANG) > 0)
            ;
        int n = children(kids, MAX_KIDS);
        if (n == 0)
            return nseen;
        for (int i = 0; i < n; i++) {
            if (kill(kids[i], SIGKILL) == -1 && errno != ESRCH)
                die("kill(%d, SIGKILL)", (int)kids[i]);
            int k = 0;
            while (k < nseen && seen[k] != kids[i])
                k++;
            if (k == nseen && nseen < MAX_KIDS)
                seen[nseen++] = kids[i];
        }
        if (now_ns() >= deadline) {
            fprintf(stderr, "launch: %d process(es) would not end, first pid %d\n", n, (int)kids[0]);
            return nseen;
        }
        sleep_ns(NS_PER_MS);
    }
}

static void take(int fd, struct launch_end *end, bool *open)
{
    char buf[4096];
    ssize_t k = read(fd, buf, sizeof buf);
    if (k == -1 && errno == EINTR)
        return;
    if (k == -1)
        die("read from the job's stdout");
    if (k == 0) {
        *open = false;
        return;
    }
    char *p = realloc(end->out, end->nout + (size_t)k + 1);
    if (!p)
        die("realloc");
    memcpy(p + end->nout, buf, (size_t)k);
    end->nout += (size_t)k;
    p[end->nout] = '\0';
    end->out = p;
}

void launch_run(char *const argv[], int64_t timeout_ns, bool capture, struct launch_end *end)
{
    memset(end, 0, sizeof *end);
    if (capture && !(end->out = calloc(1, 1)))
        die("calloc");
    CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    /* an ignored SIGCHLD (inherited across exec from some parents) would make the
     * kernel reap our children itself, and waitpid would find none */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigemptyset(&dfl.sa_mask);
    CHECK_SYS(sigaction(SIGCHLD, &dfl, NULL));
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < ARRAY_LEN(stops); i++) {
        struct sigaction sa;
        CHECK_SYS(sigaction(stops[i], NULL, &sa));
        if (sa.sa_handler != SIG_IGN) /* an ignored signal stays ignored (nohup, a background job) */
            sigaddset(&set, stops[i]);
    }
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &set, &old));
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (sfd == -1)
        die("signalfd");
    int po[2] = { -1, -1 };
    if (capture)
        CHECK_SYS(pipe2(po, O_CLOEXEC));

    time_t since = time(NULL) - 1; /* file times have whole seconds, roughly */
    end->start_ns = now_ns();
    pid_t pid = fork_child();
    if (pid == 0) {
        int rc = pthread_sigmask(SIG_SETMASK, &old, NULL); /* a mask survives exec */
        if (rc != 0) {
            errno = rc;
            die_child("pthread_sigmask");
        }
        int null = open("/dev/null", O_RDONLY);
        if (null == -1 || dup2(null, 0) == -1 || (capture && dup2(po[1], 1) == -1))
            die_child("open /dev/null or dup2");
        execvp(argv[0], argv);
        die_child("cannot run %s", argv[0]);
    }
    if (capture)
        CHECK_SYS(close(po[1]));

    int64_t deadline = deadline_in(timeout_ns);
    int sig = 0;
    bool ended = false, out_open = capture;
    while (!ended && !sig && !end->timed_out) {
        struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = out_open ? po[0] : -1, .events = POLLIN } };
        struct timespec ts = ns_to_ts(ns_left(deadline));
        if (ppoll(p, 2, deadline == NO_DEADLINE ? NULL : &ts, NULL) == -1 && errno != EINTR)
            die("ppoll");
        if (p[1].revents)
            take(po[0], end, &out_open);
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
                die("read(signalfd)");
            if (si.ssi_signo != SIGCHLD)
                sig = (int)si.ssi_signo;
        }
        pid_t r = waitpid(pid, &end->status, WNOHANG);
        if (r == -1)
            die("waitpid(%d)", (int)pid);
        ended = r == pid;
        if (!ended && ns_left(deadline) == 0)
            end->timed_out = true;
    }
    end->wall_ns = now_ns() - end->start_ns;
    /* whatever is left below us goes now: nothing after a clean end, the whole job
     * after a timeout or a signal */
    end->killed = kill_tree(now_ns() + 5 * NS_PER_S);
    if (!ended || !WIFEXITED(end->status) || WEXITSTATUS(end->status) != 0)
        remove_mpich_leftovers(since);
    while (out_open) { /* every writer is gone: read to the end */
        struct pollfd p = { .fd = po[0], .events = POLLIN };
        if (poll(&p, 1, 1000) <= 0)
            break;
        take(po[0], end, &out_open);
    }
    if (capture)
        CHECK_SYS(close(po[0]));
    CHECK_SYS(close(sfd));
    CHECK_SYS(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0));
    CHECK_PT(pthread_sigmask(SIG_SETMASK, &old, NULL));
    if (sig) {
        fprintf(stderr, "launch: %s: the job is stopped\n", strsignal(sig));
        raise(sig); /* die of it, as if the job had not been there */
    }
}

void launch_self(int ranks, const char *const *mpiexec_opts, char **argv, int64_t timeout_ns, bool capture,
                 struct launch_end *end)
{
    static char self[PATH_MAX], nranks[16];
    static char *args[MAX_ARGS + 1];
    int n = 0;
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len == -1)
        die("readlink /proc/self/exe");
    self[len] = '\0';
    snprintf(nranks, sizeof nranks, "%d", ranks);
    args[n++] = MPIEXEC;
    args[n++] = "-n";
    args[n++] = nranks;
    for (int i = 0; mpiexec_opts && mpiexec_opts[i]; i++)
        args[n++] = (char *)mpiexec_opts[i];
    char *vg = getenv("WB_VALGRIND") ? strdup(getenv("WB_VALGRIND")) : NULL;
    if (vg) {
        for (char *save, *w = strtok_r(vg, " ", &save); w && n < MAX_ARGS / 2; w = strtok_r(NULL, " ", &save))
            args[n++] = w;
        /* UCX (MPICH's transport here) asks for huge pages for its shared memory,
         * which valgrind warns it cannot give; small pages work the same */
        CHECK_SYS(setenv("UCX_SYSV_HUGETLB_MODE", "n", 1));
    }
#ifdef WB_TSAN
    /* UCX hooks madvise() to follow memory it could register with a network card; the
     * hook runs as a thread ends, after gcc's ThreadSanitizer has torn down that
     * thread's state, and crashes. Only RDMA networks need the hook. */
    CHECK_SYS(setenv("UCX_MEM_EVENTS", "no", 1));
#endif
    /* hwloc (MPICH's view of the machine's topology) loads its PCI plugin when
     * Debian's libhwloc-plugins is installed (Open MPI brings it in, with
     * python3-mpi4py for make compare), and unloads it with memory the plugin still
     * points to: LeakSanitizer and valgrind then report a leak in an "<unknown
     * module>", and a job's start would depend on which packages are installed. One
     * machine's MPI has no use for PCI devices; a reader's own setting wins. */
    CHECK_SYS(setenv("HWLOC_PLUGINS_BLACKLIST", "hwloc_pci", 0));
    args[n++] = self;
    for (int i = 1; argv[i] && n < MAX_ARGS; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    launch_run(args, timeout_ns, capture, end);
    free(vg);
}

int launch_job(const char *label, int ranks, char **argv, int64_t timeout_ns)
{
    struct launch_end end;
    char how[160];
    launch_self(ranks, NULL, argv, timeout_ns, false, &end);
    printf("%s: mpiexec: %s\n", label, launch_describe(&end, how, sizeof how));
    return end.timed_out || !WIFEXITED(end.status) ? 1 : WEXITSTATUS(end.status);
}

const char *launch_describe(const struct launch_end *end, char *buf, size_t len)
{
    if (end->timed_out)
        snprintf(buf, len, "still running at the deadline, after %.2f s: killed", (double)end->wall_ns / 1e9);
    else if (WIFSIGNALED(end->status))
        snprintf(buf, len, "killed by SIG%s after %.2f s", sigabbrev_np(WTERMSIG(end->status)),
                 (double)end->wall_ns / 1e9);
    else
        snprintf(buf, len, "exit %d after %.2f s", WEXITSTATUS(end->status), (double)end->wall_ns / 1e9);
    return buf;
}
