/* pool_simple.c: a process pool to read in one sitting: workers forked over two pipes.
 *
 *   parent --tasks pipe--> worker 1, worker 2, ... --results pipe--> parent
 *
 * pool_new forks the workers; each reads a task from the tasks pipe they all share,
 * runs it, and writes the result to the results pipe. A task is a function pointer (a
 * forked worker has the parent's code at the same addresses) and its argument bytes.
 * Every message is `msg` bytes, at most PIPE_BUF: a write that size lands whole
 * (POSIX), and a read that size takes exactly one message (Linux reads a pipe under its
 * lock), so the workers need no lock of their own (Python's pool takes one to read).
 * pool_close sends one STOP (id 0) per worker after the last task. The parent reads
 * results while it waits, and while the tasks pipe is full (else a worker stuck on a
 * full results pipe and the parent on a full tasks pipe would wait for each other).
 *
 * The API is pool.c's, a subset of pool.h, so a program links either one
 * (pool_killed_simple is pool_killed linked with this file; tests/test_pool_simple.c
 * runs the cases of test_pool.c that apply). What it lacks, and pool.c adds:
 *   - knowing which task died with a worker: a worker killed mid-task takes its task
 *     along, whose pool_get times out for ever (as in Python's Pool), and the worker is
 *     not replaced: the pool shrinks (pool_killed). pool.c says POOL_DIED and forks anew;
 *   - map, terminate, pool_running; messages longer than a pipe's atomic write.
 * Deliberately the same as pool.c: the message headers and the table of results by id.
 */
#include "pool.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_WORKERS = 64 };

struct msg {                   /* the head of every message; the argument or result follows */
    uint64_t id;               /* the task's handle; 0: STOP */
    pool_fn *fn;               /* tasks: what to run */
    uint32_t len;              /* bytes that follow */
    int32_t status, code, pid; /* results */
};

struct entry { /* the parent's record of one task */
    bool done;
    struct pool_result r;
    unsigned char *data; /* the result's bytes */
};

struct pool {
    int nworkers;
    size_t msg;               /* bytes per message */
    int tasks[2], results[2]; /* the pipes: [0] read end, [1] write end; the parent keeps
                               * all four open, so no pipe ever loses its last reader */
    pid_t pid[MAX_WORKERS];   /* 0 once joined */
    bool closed;
    struct entry *tab;        /* tab[id], id from 1 */
    size_t ntab, captab;
    unsigned char *buf;       /* one message */
};

static noreturn void worker_main(struct pool *p)
{
    unsigned char *in = malloc(p->msg), *out = calloc(1, p->msg); /* whole messages go out: none uninitialised */
    if (!in || !out)
        die_child("malloc");
    for (;;) {
        if (read_all(p->tasks[0], in, p->msg) != (ssize_t)p->msg)
            die_child("worker: read(tasks)");
        struct msg t, r = { .pid = (int32_t)getpid() };
        memcpy(&t, in, sizeof t);
        if (t.id == 0) /* STOP */
            break;
        size_t len = 0;
        r.id = t.id;
        r.code = t.fn(in + sizeof t, t.len, out + sizeof r, p->msg - sizeof r, &len);
        r.status = r.code == 0 ? POOL_OK : POOL_FAILED;
        r.len = r.code == 0 ? (uint32_t)len : 0;
        memcpy(out, &r, sizeof r);
        if (write_all(p->results[1], out, p->msg) == -1)
            die_child("worker: write(results)");
    }
    free(in);
    free(out);
    _exit(0);
}

struct pool *pool_new(int workers, size_t max_msg)
{
    if (workers < 1 || workers > MAX_WORKERS || max_msg < sizeof(struct msg) + 8 || max_msg > PIPE_BUF)
        fatal("pool_new: %d workers (1..%d), messages of %zu bytes (%zu..%d)", workers, MAX_WORKERS, max_msg,
              sizeof(struct msg) + 8, PIPE_BUF);
    struct pool *p = calloc(1, sizeof *p);
    if (!p || !(p->buf = calloc(1, max_msg))) /* whole messages go out: none uninitialised */
        die("calloc");
    p->nworkers = workers;
    p->msg = max_msg;
    CHECK_SYS(pipe(p->tasks));
    CHECK_SYS(pipe(p->results));
    p->ntab = 1; /* no task has id 0 */
    for (int k = 0; k < workers; k++)
        if ((p->pid[k] = fork_child()) == 0)
            worker_main(p);
    return p;
}

/* Waits until a result comes (reads it into its entry: true), or until `deadline` (a
 * now_ns time; NO_DEADLINE: none) passes (false). With `room`, it also returns true as
 * soon as the tasks pipe has room for a message. */
static bool wait_result(struct pool *p, int64_t deadline, bool room)
{
    struct pollfd f[2] = { { .fd = p->results[0], .events = POLLIN }, { .fd = p->tasks[1], .events = POLLOUT } };
    int n;
    do {
        struct timespec ts = ns_to_ts(ns_left(deadline));
        n = ppoll(f, room ? 2 : 1, deadline == NO_DEADLINE ? NULL : &ts, NULL);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        die("ppoll(results)");
    if (f[0].revents & POLLIN) {
        struct msg r;
        if (read_all(p->results[0], p->buf, p->msg) != (ssize_t)p->msg)
            die("read(results)");
        memcpy(&r, p->buf, sizeof r);
        struct entry *e = &p->tab[r.id];
        e->r = (struct pool_result){ .status = r.status, .code = r.code, .pid = r.pid, .len = r.len };
        if (r.len && !(e->data = malloc(r.len)))
            die("malloc");
        if (r.len)
            memcpy(e->data, p->buf + sizeof r, r.len);
        e->done = true;
    }
    return n > 0;
}

/* writes the message in p->buf to the tasks pipe, reading results while it is full */
static void send_task(struct pool *p)
{
    for (struct pollfd f = { .fd = p->tasks[1], .events = POLLOUT }; poll(&f, 1, 0) != 1;)
        wait_result(p, NO_DEADLINE, true);
    if (write_all(p->tasks[1], p->buf, p->msg) == -1)
        die("write(tasks)");
}

pool_task pool_apply_async(struct pool *p, pool_fn *fn, const void *arg, size_t len)
{
    if (p->closed || len > p->msg - sizeof(struct msg))
        fatal("pool: a task %s", p->closed ? "submitted after pool_close (Python: ValueError)" : "too big");
    if (p->ntab >= p->captab && !(p->tab = realloc(p->tab, (p->captab = 2 * p->captab + 64) * sizeof *p->tab)))
        die("realloc");
    pool_task id = p->ntab++;
    p->tab[id] = (struct entry){ 0 };
    struct msg t = { .id = id, .fn = fn, .len = (uint32_t)len };
    memcpy(p->buf, &t, sizeof t);
    if (len)
        memcpy(p->buf + sizeof t, arg, len);
    send_task(p);
    return id;
}

bool pool_ready(struct pool *p, pool_task t)
{
    while (wait_result(p, deadline_in(0), false)) /* read every result there is */
        ;
    return p->tab[t].done;
}

int pool_get(struct pool *p, pool_task t, int64_t timeout_ns, void *buf, size_t cap, struct pool_result *result)
{
    int64_t deadline = deadline_in(timeout_ns);
    while (!p->tab[t].done)
        if (!wait_result(p, deadline, false)) {
            if (result) /* no result yet: the task runs, waits, or died with its worker */
                *result = (struct pool_result){ .status = POOL_TIMEOUT };
            return POOL_TIMEOUT;
        }
    struct pool_result r = p->tab[t].r;
    if (r.status == POOL_OK && r.len > cap)
        r.status = POOL_TOO_BIG;
    else if (r.status == POOL_OK && r.len)
        memcpy(buf, p->tab[t].data, r.len);
    if (result)
        *result = r;
    return r.status;
}

void pool_close(struct pool *p)
{
    if (!p->closed)
        for (int k = 0; k < p->nworkers; k++) {
            memset(p->buf, 0, sizeof(struct msg)); /* STOP */
            send_task(p);
        }
    p->closed = true;
}

void pool_join(struct pool *p)
{
    if (!p->closed)
        fatal("pool_join before pool_close (Python: ValueError)");
    for (int k = 0; k < p->nworkers; k++) /* reading results, lest a worker block on a full pipe */
        while (p->pid[k] && child_wait(p->pid[k], 10 * NS_PER_MS, NULL) == ETIMEDOUT)
            wait_result(p, deadline_in(0), false);
    memset(p->pid, 0, sizeof p->pid);
}

void pool_free(struct pool *p)
{
    for (int k = 0; k < p->nworkers; k++) /* not joined: end them, as terminate() does */
        if (p->pid[k] && kill(p->pid[k], SIGTERM) == 0)
            child_wait(p->pid[k], -1, NULL);
    for (int i = 0; i < 2; i++) {
        CHECK_SYS(close(p->tasks[i]));
        CHECK_SYS(close(p->results[i]));
    }
    for (size_t id = 1; id < p->ntab; id++)
        free(p->tab[id].data);
    free(p->tab);
    free(p->buf);
    free(p);
}

int pool_workers(struct pool *p, pid_t *pids, int max)
{
    int n = 0;
    for (int k = 0; k < p->nworkers && n < max; k++)
        if (p->pid[k])
            pids[n++] = p->pid[k];
    return n;
}
