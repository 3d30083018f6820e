/* together.c: see together.h */
#include "together.h"

#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

struct line {
    _Atomic int arrived, go;
    _Atomic int64_t done[TOGETHER_MAX];
};

int64_t together(int procs, int (*prepare)(int p, void *arg), int (*work)(int p, void *arg), void *arg,
                 const char *what)
{
    static struct line *s; /* made once, before the first fork; every child has it */
    if (!s) {
        s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (s == MAP_FAILED)
            die("mmap(start line)");
    }
    if (procs < 1 || procs > TOGETHER_MAX)
        fatal("together: %d processes (1..%d)", procs, TOGETHER_MAX);
    atomic_store(&s->arrived, 0);
    atomic_store(&s->go, 0);
    pid_t pids[TOGETHER_MAX];
    for (int p = 0; p < procs; p++) {
        pids[p] = fork_child(); /* dies with us, if we are interrupted */
        if (pids[p] != 0)
            continue;
        int rc = prepare ? prepare(p, arg) : 0;
        atomic_fetch_add(&s->arrived, 1);
        while (!atomic_load(&s->go))
            sched_yield(); /* spin, but let an oversubscribed core run the others */
        if (rc == 0)
            rc = work(p, arg);
        atomic_store(&s->done[p], now_ns());
        _exit(rc);
    }
    while (atomic_load(&s->arrived) < procs)
        sched_yield();
    int64_t t0 = now_ns(), last = t0;
    atomic_store(&s->go, 1);
    for (int p = 0; p < procs; p++) {
        int status;
        child_wait(pids[p], -1, &status);
        if (exitcode_of(status) != 0)
            fatal("%s: process %d failed (exit code %d)", what, (int)pids[p], exitcode_of(status));
        int64_t d = atomic_load(&s->done[p]);
        last = d > last ? d : last;
    }
    return last - t0;
}
