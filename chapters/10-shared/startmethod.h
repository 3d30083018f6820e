/* startmethod.h: Python's three start methods, in C: fork, spawn and forkserver.
 *
 *   Python                                        C
 *   ctx = mp.get_context('fork')                  START_FORK: fork(); the child runs the
 *                                                 task in its copy of the parent
 *   ctx = mp.get_context('spawn')                 START_SPAWN: posix_spawn() this program
 *                                                 again, send it the task through a pipe
 *   ctx = mp.get_context('forkserver')            START_FORKSERVER: ask a server process,
 *                                                 started early, to fork() the worker
 *   p = ctx.Process(target=f, args=(x,))          start_worker(m, "f", x, &w)
 *   p.start()
 *   p.join(timeout); p.exitcode                   worker_wait(&w, timeout); w.exitcode
 *   (the return value: a Queue in Python)         w.result (8 bytes back through a pipe)
 *
 * Tasks are named, not passed as function pointers: a spawned worker is a new image
 * of the program, where address-space randomisation puts every function somewhere
 * else. Python pickles a function as its module and name for the same reason. A
 * program registers its tasks by calling startmethod_main() first thing in main(): in a
 * spawned worker that call runs the task and exits; in the parent it returns.
 *
 * The three differ in what the worker starts from:
 *   fork        the parent as it is now: its memory, its globals, and every lock any
 *               other thread held at that instant (fork_threads.c);
 *   spawn       a fresh program: globals at their initial values, one thread;
 *   forkserver  the server as it was when it started: start it early, while the
 *               program is small and has one thread (forkserver_start).
 * And in what starting costs as the parent grows (start_methods.c measures it).
 *
 * The fork server is in forkserver.c. Every worker dies with its parent
 * (PR_SET_PDEATHSIG), the fork server's workers with the server, and the server with
 * the parent. Use from one thread of the parent.
 */
#ifndef WORKBOOK_STARTMETHOD_H
#define WORKBOOK_STARTMETHOD_H

#include "common.h"

enum start_method { START_FORK, START_SPAWN, START_FORKSERVER, START_METHODS };

typedef uint64_t start_fn(uint64_t arg);
struct start_task {
    const char *name;
    start_fn *fn;
};

/* Call first in main(). tasks: the program's tasks, ended by { NULL, NULL }. In a
 * spawned worker (argv[1] is "--spawned-worker") it reads the task from the pipe, runs
 * it, writes the result back and exits; otherwise it records the table and returns. */
void startmethod_main(int argc, char **argv, const struct start_task *tasks);

/* Starts the fork server now (the first START_FORKSERVER start does it otherwise).
 * What the server's workers inherit is the program as it is at this moment. */
void forkserver_start(void);
void forkserver_stop(void);   /* ends it and its workers, reaps it */
pid_t forkserver_pid(void);   /* 0 when none runs */

struct worker {
    enum start_method method;
    pid_t pid;
    int fd;            /* the result pipe's read end, -1 when done */
    bool done;         /* worker_wait saw it end: result and exitcode are valid */
    bool has_result;   /* the task returned (false: it died first) */
    uint64_t result;
    int exitcode;      /* Python's: the exit code, or minus the signal */
    unsigned char buf[16]; /* internal: what came through the pipe so far */
    size_t got;
};

/* Starts a worker that runs task(arg). Dies on failure; an unknown task name is an
 * error here, before anything starts. */
void start_worker(enum start_method m, const char *task, uint64_t arg, struct worker *w);
/* Waits up to timeout_ns (< 0: no limit) for the worker to end. Returns 0 (w->done),
 * or ETIMEDOUT with the worker still running (call again, or kill w->pid and wait). */
int worker_wait(struct worker *w, int64_t timeout_ns);

const char *start_method_name(enum start_method m); /* "fork", "spawn", "forkserver" */

/* ---- between startmethod.c and forkserver.c ---- */
struct start_msg { /* a task to run: its name, and its argument */
    char name[32];
    uint64_t arg;
};
const struct start_task *start_task_find(const char *name);
void start_pipe(int fds[2]);   /* a close-on-exec pipe, neither end fd 3 or 4 */
/* asks the server to fork a worker for m, whose result goes to result_w; its pid */
pid_t forkserver_request(const struct start_msg *m, int result_w);
void forkserver_forget(void);  /* in a forked child: drop the parent's connection */

#endif
