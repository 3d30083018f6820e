/* process.h: Python's multiprocessing.Process, in C, over fork.
 *
 *   Python                                  C
 *   p = Process(target=f, args=(5,),        struct process p = { .name = "aaa_process",
 *               name="aaa_process")                             .target = f, .arg = &n };
 *   p.daemon = True                         p.daemon = true;
 *   p.start()                               process_start(&p);
 *   p.is_alive()                            process_is_alive(&p)
 *   p.join(); p.join(1.0)                   process_join(&p, -1); process_join(&p, NS_PER_S);
 *   p.terminate()                           process_terminate(&p);
 *   p.exitcode, p.pid                       p.exitcode, p.pid
 *
 * At exit, like multiprocessing, the parent terminates its daemon children and waits
 * for the others (see process.c).
 */
#ifndef WORKBOOK_PROCESS_H
#define WORKBOOK_PROCESS_H

#include "common.h"

struct process {
    const char *name;          /* the child's name, as ps and trace() show it */
    int (*target)(void *arg);  /* runs in the child; its return value is the exit code */
    void *arg;
    bool daemon;               /* terminate it when the parent exits, don't wait for it */
    /* set by the functions below */
    pid_t pid;                 /* 0 until started */
    bool finished;             /* reaped: exitcode is valid */
    int exitcode;              /* the exit code, or minus the signal that killed it */
};

void process_start(struct process *p);
bool process_is_alive(struct process *p);
/* Waits for the child to end, at most timeout_ns (< 0: no limit). Like Python's join,
 * it returns either way: check process_is_alive() or p->finished afterwards. */
void process_join(struct process *p, int64_t timeout_ns);
void process_terminate(struct process *p); /* SIGTERM, as Python's terminate() */

/* A CPU-bound job over the numbers 0..n-1, split into `procs` equal slices (at most
 * 64), each summed by part(from, to, arg) in a child process of its own; the children
 * send their sums back through one pipe and the parent adds them up into *sum.
 * Returns the wall time, from the first fork to the last child reaped, in ns.
 * (cpu_processes.c uses it; so does 08-gil/gil_cpu.c.) */
typedef uint64_t process_part_fn(uint64_t from, uint64_t to, void *arg);
int64_t process_split_sum(uint64_t n, int procs, process_part_fn *part, void *arg, uint64_t *sum);

#endif
