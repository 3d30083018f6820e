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
 *   Process(target=f, kwargs={"num": 5})    .arg = &(struct f_args){ .num = 5 }
 *   p.name when none was given: Process-1   p.name after process_start: "Process-1"
 *   multiprocessing.current_process()       process_current()
 *   p.daemon = True after p.start():        process_set_daemon(&p, true) returns EBUSY
 *     AssertionError
 *
 * At exit, like multiprocessing, the parent terminates its daemon children and waits
 * for the others (see process.c).
 */
#ifndef WORKBOOK_PROCESS_H
#define WORKBOOK_PROCESS_H

#include "common.h"

struct process {
    const char *name;          /* the child's name, as ps and trace() show it; NULL: a
                                * default name, Process-N (see process_start) */
    int (*target)(void *arg);  /* runs in the child; its return value is the exit code */
    void *arg;                 /* Python's args and kwargs: one struct (process_names.c) */
    bool daemon;               /* terminate it when the parent exits, don't wait for it;
                                * set it before process_start (process_set_daemon) */
    /* set by the functions below */
    pid_t pid;                 /* 0 until started */
    bool finished;             /* reaped: exitcode is valid */
    int exitcode;              /* the exit code, or minus the signal that killed it */
    pid_t parent;              /* the pid of the process that started it */
    char identity[24];         /* Python's _identity: "2" for the 2nd child started here,
                                * "2:1" for the 1st child of that one */
    char default_name[40];     /* "Process-" + identity: name points here if it was NULL */
};

/* Forks the child. A process with no name gets Python's default, "Process-" and its
 * identity: the Nth process started by the main program is Process-N, the Mth started
 * by that one Process-N:M. (Python numbers a Process when the object is made; a C
 * struct literal runs no code, so the number is taken here, at start.)
 * The struct must live until the child is joined: the at-exit pass (at exit, and in a
 * child when its target returns) uses it. Join it in the function that declared it,
 * or make it static. */
void process_start(struct process *p);
bool process_is_alive(struct process *p);
/* Waits for the child to end, at most timeout_ns (< 0: no limit). Like Python's join,
 * it returns either way: check process_is_alive() or p->finished afterwards. */
void process_join(struct process *p, int64_t timeout_ns);
void process_terminate(struct process *p); /* SIGTERM, as Python's terminate() */

/* Python's daemon setter: 0, or EBUSY once the process has started (Python raises
 * "AssertionError: process has already started"); the flag is then left as it was.
 * Assigning p->daemon directly after the start changes nothing either: the at-exit
 * pass uses the value the process had when it started. */
int process_set_daemon(struct process *p, bool daemon);

/* Python's multiprocessing.current_process(): in a child started by process_start, its
 * own struct (the child's copy, with pid set); in any other process a record named
 * "MainProcess" with this process's pid and parent. */
const struct process *process_current(void);

/* A CPU-bound job over the numbers 0..n-1, split into `procs` equal slices (1 to
 * PROCESS_SPLIT_MAX), each summed by part(from, to, arg) in a child process of its own; the children
 * send their sums back through one pipe and the parent adds them up into *sum.
 * Returns the wall time, from the first fork to the last child reaped, in ns.
 * (cpu_processes.c uses it; so does 08-gil/gil_cpu.c.) */
#define PROCESS_SPLIT_MAX 4096
typedef uint64_t process_part_fn(uint64_t from, uint64_t to, void *arg);
int64_t process_split_sum(uint64_t n, int procs, process_part_fn *part, void *arg, uint64_t *sum);

#endif
