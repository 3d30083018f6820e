/* pool.c: pool_simple.c's pool, made to notice a worker's death (see pool.h for the API).
 *
 * Read pool_simple.c first: workers forked over two pipes, one for tasks and one for
 * results. When a worker dies in the middle of a task, nothing there can tell: the
 * task has left the tasks pipe, no result will come, and its pool_get times out for
 * ever; nor is the worker replaced, and the pool shrinks (pool_killed_simple). Here:
 *   - a worker, as it takes a task, stamps its record in shared memory with the task,
 *     inside the tasks queue's critical section (queue_get_claim), so that whatever
 *     instant it dies at, the parent can tell whether it had taken a task, which one,
 *     and whether its result went out ("A worker that dies", below). A pipe's read
 *     has no such hook: tasks and results travel through 02-queue's queues instead;
 *   - the parent looks after its workers whenever it waits (waitpid with WNOHANG every
 *     10 ms), reports the task that died with one as POOL_DIED, and forks a new worker.
 * It also adds map with chunks, terminate, pool_running and pool_replaced, and a rule
 * on outstanding tasks where pool_simple.c reads results while the tasks pipe is full.
 * The message headers and the table of results by task id are pool_simple.c's, on
 * purpose.
 *
 * The parts:
 *
 *   parent --tasks queue--> worker 1, worker 2, ... --results queue--> parent
 *
 *   tasks    [id][function pointer][kind][argument bytes]; kind: one call, a chunk of
 *            a map, or STOP (pool_join puts one per worker, after the last task)
 *   results  [id][status][code][pid][result bytes]
 *   records  one per worker in shared memory: the task it has taken, or none
 *
 * The parent is single-threaded (Python's Pool has three helper threads: one feeds
 * tasks, one reads results, one replaces dead workers). It does all three whenever
 * it waits, and it never waits for two things at once. That is safe because of one
 * rule: no more than `capacity` tasks are outstanding (submitted, result not yet read
 * from the results queue), and both queues have room for `capacity` messages. So a put
 * of a task never finds the tasks queue full, and a worker never finds the results
 * queue full: nobody can block on a queue the other side is not draining. A
 * submission beyond the limit first reads a result.
 *
 * A worker that dies. The parent's waits on the results queue are cut into 10 ms
 * slices, and between slices (and every 10 ms while results flow) it calls waitpid
 * with WNOHANG on every worker. When one has died, the parent must know which task,
 * if any, died with it. The worker stamps its record (task id, and the message's
 * number in the tasks queue) inside the queue's critical section, before the get is
 * committed (queue_get_claim). So whatever instant the worker dies at:
 *   - record empty, or stamped with a message the queue has not committed: it had
 *     taken nothing; the task is still in the queue for another worker;
 *   - stamped, committed, and its result already in the results queue (it died after
 *     sending it): the parent reads the result first, nothing is lost;
 *   - stamped, committed, no result: the task died with the worker: POOL_DIED, with
 *     the worker's pid and the signal from its wait status. (The parent is the tasks
 *     queue's only producer, so it knows each task's message number too, and checks
 *     that the stamp names this very message: a map reuses the ids of its chunks.)
 * Then a new worker is forked into the same record. Python's Pool replaces the
 * worker too, but nothing tells the waiting get(): it blocks for ever (see README).
 */
#include "pool.h"
#include "../02-queue/queue.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = POOL_MAX_WORKERS, CAPACITY = 256 };
#define CHECK_EVERY_NS (10 * NS_PER_MS)

enum kind { TASK_CALL = 1, TASK_CHUNK, TASK_STOP };

struct task_msg {
    uint64_t id;     /* 0 for STOP */
    pool_fn *fn;
    uint32_t kind;
    uint32_t count;  /* chunk: items */
    uint32_t in_size, out_size;
    /* argument bytes follow */
};

struct result_msg {
    uint64_t id;
    int32_t status, code, pid, pad;
    /* result bytes follow */
};

/* a worker's record, in shared memory; written by the worker, read by the parent */
struct record {
    _Atomic uint64_t task;  /* the task it took */
    _Atomic uint64_t seq;   /* that task's message number in the tasks queue */
    _Atomic int busy;       /* stamped and not yet done */
};

/* the parent's view of one task */
struct entry {
    bool done;
    int status, code, signal, exit_code;
    pid_t pid;
    uint64_t seq;           /* its message's number in the tasks queue */
    size_t len;             /* result bytes */
    unsigned char *data;    /* the result (calls); NULL for map chunks */
    unsigned char *dest;    /* map chunks: where the result goes */
    size_t dest_len;
};

struct pool {
    int nworkers;
    size_t max_msg;
    struct queue *tasks, *results;
    struct record *rec;     /* MAX_WORKERS records, shared */
    pid_t pid[MAX_WORKERS]; /* 0: that worker has ended */
    long spawned, replaced;
    bool closed, joined, terminated;
    struct entry *tab;      /* tab[id], id from 1 */
    size_t ntab, captab;
    long outstanding;
    uint64_t puts;          /* messages put into the tasks queue: we are its only producer,
                             * so this is the number the next one gets */
    int64_t last_check;
    unsigned char *buf;     /* max_msg bytes, for results */
    unsigned char *tbuf;    /* max_msg bytes, for tasks */
};

static size_t payload_cap(const struct pool *p, size_t header)
{
    return p->max_msg - header;
}

/* ---- the worker --------------------------------------------------------------------- */

/* runs inside the tasks queue's critical section (queue_get_claim) */
static void stamp(uint64_t seq, const void *msg, size_t len, void *arg)
{
    struct record *r = arg;
    const struct task_msg *t = msg;
    (void)len;
    atomic_store_explicit(&r->task, t->id, memory_order_relaxed);
    atomic_store_explicit(&r->seq, seq, memory_order_relaxed);
    atomic_store_explicit(&r->busy, 1, memory_order_release);
}

static noreturn void worker_main(struct pool *p, int k)
{
    char name[16];
    snprintf(name, sizeof name, "worker-%ld", p->spawned);
    trace_name(name);
    unsigned char *in = malloc(p->max_msg), *out = malloc(p->max_msg);
    if (!in || !out)
        die_child("malloc");
    struct record *rec = &p->rec[k];
    for (;;) {
        size_t len;
        int rc = queue_get_claim(p->tasks, in, p->max_msg, &len, QUEUE_FOREVER, stamp, rec);
        if (rc == QUEUE_CLOSED)
            break;
        if (rc != QUEUE_OK)
            die_child("worker: queue_get: %s", queue_status_name(rc));
        struct task_msg t;
        memcpy(&t, in, sizeof t);
        if (t.kind == TASK_STOP)
            break;
        const unsigned char *arg = in + sizeof t;
        struct result_msg r = { .id = t.id, .pid = (int32_t)getpid() };
        unsigned char *res = out + sizeof r;
        size_t cap = payload_cap(p, sizeof r), rlen = 0;
        int code = 0;
        if (t.kind == TASK_CALL) {
            code = t.fn(arg, len - sizeof t, res, cap, &rlen);
        } else { /* a chunk of a map: the same function on each item */
            for (uint32_t i = 0; i < t.count && code == 0; i++) {
                size_t ilen = 0;
                code = t.fn(arg + (size_t)i * t.in_size, t.in_size, res + (size_t)i * t.out_size, t.out_size,
                            &ilen);
            }
            rlen = (size_t)t.count * t.out_size;
        }
        if (rlen > cap) /* the function wrote past what it was allowed */
            die_child("worker: task %llu returned %zu bytes, more than %zu", (unsigned long long)t.id, rlen, cap);
        r.status = code == 0 ? POOL_OK : POOL_FAILED;
        r.code = code;
        memcpy(out, &r, sizeof r);
        if (queue_put(p->results, out, sizeof r + (code == 0 ? rlen : 0), QUEUE_FOREVER) != QUEUE_OK)
            die_child("worker: queue_put(results)");
        atomic_store_explicit(&rec->busy, 0, memory_order_release);
    }
    free(in);
    free(out);
    fflush(stdout);
    _exit(0);
}

static void spawn(struct pool *p, int k)
{
    atomic_store(&p->rec[k].busy, 0);
    p->spawned++;
    pid_t pid = fork_child(); /* dies with the parent, whatever happens to it */
    if (pid == 0)
        worker_main(p, k);
    p->pid[k] = pid;
}

/* ---- the parent's bookkeeping ----------------------------------------------------- */

static struct entry *entry_of(struct pool *p, pool_task t)
{
    if (t == 0 || t >= p->ntab)
        fatal("pool: %llu is not a task of this pool", (unsigned long long)t);
    return &p->tab[t];
}

static pool_task new_entry(struct pool *p)
{
    if (p->ntab == p->captab) {
        p->captab = p->captab ? 2 * p->captab : 1024;
        p->tab = realloc(p->tab, p->captab * sizeof *p->tab);
        if (!p->tab)
            die("realloc");
    }
    memset(&p->tab[p->ntab], 0, sizeof p->tab[0]);
    return p->ntab++;
}

static void finish(struct pool *p, struct entry *e)
{
    e->done = true;
    p->outstanding--;
}

static void store_result(struct pool *p, const unsigned char *msg, size_t len)
{
    struct result_msg r;
    memcpy(&r, msg, sizeof r);
    struct entry *e = entry_of(p, r.id);
    if (e->done) /* already reported (it cannot happen twice, but be sure) */
        return;
    e->status = r.status;
    e->code = r.code;
    e->pid = r.pid;
    e->len = len - sizeof r;
    if (e->dest) {
        if (r.status == POOL_OK) {
            if (e->len != e->dest_len)
                fatal("pool: a map chunk returned %zu bytes, expected %zu", e->len, e->dest_len);
            memcpy(e->dest, msg + sizeof r, e->len);
        }
    } else if (e->len > 0) {
        e->data = malloc(e->len);
        if (!e->data)
            die("malloc");
        memcpy(e->data, msg + sizeof r, e->len);
    }
    finish(p, e);
}

/* Reads one result, waiting up to timeout_ns; false if none came. */
static bool collect(struct pool *p, int64_t timeout_ns)
{
    size_t len;
    int rc = queue_get(p->results, p->buf, p->max_msg, &len, timeout_ns);
    if (rc == QUEUE_OK) {
        store_result(p, p->buf, len);
        return true;
    }
    if (rc != QUEUE_EMPTY)
        fatal("pool: queue_get(results): %s", queue_status_name(rc));
    return false;
}

/* Worker k has ended with `status`: see the top of the file. */
static void worker_ended(struct pool *p, int k, int status)
{
    pid_t pid = p->pid[k];
    p->pid[k] = 0;
    while (collect(p, QUEUE_NOWAIT)) /* a result it sent just before dying comes first */
        ;
    struct record *r = &p->rec[k];
    bool busy = atomic_load_explicit(&r->busy, memory_order_acquire);
    uint64_t task = atomic_load(&r->task), seq = atomic_load(&r->seq);
    bool took = busy && queue_taken(p->tasks) > seq;
    atomic_store(&r->busy, 0);
    /* the entry must be the one it took: map reuses the ids of finished chunks */
    if (took && task != 0 && task < p->ntab && p->tab[task].seq == seq && !p->tab[task].done) {
        struct entry *e = &p->tab[task];
        e->status = POOL_DIED;
        e->pid = pid;
        e->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        e->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        finish(p, e);
    }
    /* it took its STOP and left (or died leaving): no replacement. A worker that ends
     * any other way, even with exit(0) from inside a task, is replaced. */
    bool stopped = took && task == 0;
    if (!stopped && !p->terminated) {
        p->replaced++;
        spawn(p, k);
    }
}

/* true if a worker had ended (and a task may have been resolved by that) */
static bool check_workers(struct pool *p)
{
    bool ended = false;
    p->last_check = now_ns();
    for (int k = 0; k < p->nworkers; k++) {
        if (p->pid[k] == 0)
            continue;
        int status;
        pid_t r = waitpid(p->pid[k], &status, WNOHANG);
        if (r == -1)
            die("waitpid(worker %d)", (int)p->pid[k]);
        if (r == p->pid[k]) {
            worker_ended(p, k, status);
            ended = true;
        }
    }
    return ended;
}

/* Waits until a result comes or a worker ends, up to `deadline` (a now_ns time from
 * deadline_in; NO_DEADLINE: none), looking after the workers on the way. false if
 * the deadline came first. */
static bool wait_any(struct pool *p, int64_t deadline)
{
    for (;;) {
        if (now_ns() - p->last_check >= CHECK_EVERY_NS && check_workers(p))
            return true;
        int64_t left = ns_left(deadline);
        if (collect(p, left < CHECK_EVERY_NS ? left : CHECK_EVERY_NS) || check_workers(p))
            return true;
        if (ns_left(deadline) == 0)
            return false;
    }
}

static void put_task(struct pool *p, const void *msg, size_t len)
{
    for (;;) {
        int rc = queue_put(p->tasks, msg, len, CHECK_EVERY_NS);
        if (rc == QUEUE_OK) {
            p->puts++;
            return;
        }
        if (rc != QUEUE_FULL) /* STOPs after the tasks can meet a full queue: wait */
            fatal("pool: queue_put(tasks): %s", queue_status_name(rc));
        while (collect(p, QUEUE_NOWAIT))
            ;
        check_workers(p);
    }
}

/* submits one message for entry id */
static void submit(struct pool *p, const struct task_msg *t, const void *arg, size_t len)
{
    if (p->closed)
        fatal("pool: a task submitted after pool_close (Python: ValueError, Pool not running)");
    if (len > payload_cap(p, sizeof *t))
        fatal("pool: an argument of %zu bytes is more than the pool's %zu", len, payload_cap(p, sizeof *t));
    while (p->outstanding >= CAPACITY) /* the rule at the top of the file */
        wait_any(p, NO_DEADLINE);
    memcpy(p->tbuf, t, sizeof *t);
    if (len)
        memcpy(p->tbuf + sizeof *t, arg, len);
    p->outstanding++;
    p->tab[t->id].seq = p->puts;
    put_task(p, p->tbuf, sizeof *t + len);
}

/* ---- the API ------------------------------------------------------------------------ */

struct pool *pool_new(int workers, size_t max_msg)
{
    if (workers < 1 || workers > MAX_WORKERS)
        fatal("pool_new: %d workers (1..%d)", workers, MAX_WORKERS);
    if (max_msg < sizeof(struct task_msg) + 8)
        fatal("pool_new: max_msg %zu is too small", max_msg);
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        die("calloc");
    p->nworkers = workers;
    p->max_msg = max_msg;
    p->tasks = queue_new(CAPACITY, max_msg);
    p->results = queue_new(CAPACITY, max_msg);
    p->rec = mmap(NULL, MAX_WORKERS * sizeof *p->rec, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->rec == MAP_FAILED)
        die("mmap(worker records)");
    p->buf = malloc(max_msg);
    p->tbuf = malloc(max_msg);
    if (!p->buf || !p->tbuf)
        die("malloc");
    new_entry(p); /* entry 0: no task has id 0 */
    p->last_check = now_ns();
    for (int k = 0; k < workers; k++)
        spawn(p, k);
    return p;
}

pool_task pool_apply_async(struct pool *p, pool_fn *fn, const void *arg, size_t len)
{
    pool_task id = new_entry(p);
    struct task_msg t = { .id = id, .fn = fn, .kind = TASK_CALL };
    submit(p, &t, arg, len);
    return id;
}

bool pool_ready(struct pool *p, pool_task t)
{
    while (collect(p, QUEUE_NOWAIT))
        ;
    if (now_ns() - p->last_check >= CHECK_EVERY_NS)
        check_workers(p);
    return entry_of(p, t)->done;
}

int pool_get(struct pool *p, pool_task t, int64_t timeout_ns, void *buf, size_t cap,
             struct pool_result *result)
{
    int64_t deadline = deadline_in(timeout_ns); /* saturates: INT64_MAX is no limit */
    while (!entry_of(p, t)->done)
        if (!wait_any(p, deadline) && !entry_of(p, t)->done) {
            if (result)
                *result = (struct pool_result){ .status = POOL_TIMEOUT, .pid = pool_running(p, t) };
            return POOL_TIMEOUT;
        }
    struct entry *e = entry_of(p, t); /* after the waits: tab may have moved */
    struct pool_result r = { .status = e->status, .code = e->code, .pid = e->pid, .signal = e->signal,
                             .exit_code = e->exit_code, .len = e->len };
    if (r.status == POOL_OK && e->len > 0 && !e->dest) { /* map chunks went to their place */
        if (e->len > cap)
            r.status = POOL_TOO_BIG;
        else
            memcpy(buf, e->data, e->len);
    }
    if (result)
        *result = r;
    return r.status;
}

int pool_map(struct pool *p, pool_fn *fn, const void *in, size_t in_size, size_t n, void *out,
             size_t out_size, size_t chunk, struct pool_result *first_bad)
{
    if (chunk < 1)
        fatal("pool_map: chunk size 0");
    if (chunk > n && n > 0) /* one task for everything */
        chunk = n;
    if (chunk * in_size > payload_cap(p, sizeof(struct task_msg)) ||
        chunk * out_size > payload_cap(p, sizeof(struct result_msg)))
        fatal("pool_map: %zu items of %zu/%zu bytes do not fit in the pool's messages (%zu bytes)", chunk,
              in_size, out_size, p->max_msg);
    pool_task first = p->ntab;
    for (size_t i = 0; i < n; i += chunk) {
        size_t count = n - i < chunk ? n - i : chunk;
        pool_task id = new_entry(p);
        p->tab[id].dest = (unsigned char *)out + i * out_size;
        p->tab[id].dest_len = count * out_size;
        struct task_msg t = { .id = id, .fn = fn, .kind = TASK_CHUNK, .count = (uint32_t)count,
                              .in_size = (uint32_t)in_size, .out_size = (uint32_t)out_size };
        submit(p, &t, (const unsigned char *)in + i * in_size, count * in_size);
    }
    pool_task end = p->ntab;
    int status = POOL_OK;
    for (pool_task id = first; id < end; id++) {
        struct pool_result r;
        int rc = pool_get(p, id, -1, NULL, 0, &r);
        if (rc != POOL_OK && status == POOL_OK) {
            status = rc;
            if (first_bad)
                *first_bad = r;
        }
    }
    if (p->ntab == end) /* nobody holds a handle to the chunks: reuse their entries */
        p->ntab = first;
    return status;
}

void pool_close(struct pool *p)
{
    p->closed = true;
}

void pool_join(struct pool *p)
{
    if (!p->closed && !p->terminated)
        fatal("pool_join before pool_close (Python: ValueError)");
    if (p->joined)
        return;
    if (!p->terminated) {
        struct task_msg stop = { .kind = TASK_STOP };
        for (int k = 0; k < p->nworkers; k++)
            put_task(p, &stop, sizeof stop);
    }
    for (;;) {
        bool alive = false;
        for (int k = 0; k < p->nworkers; k++)
            alive = alive || p->pid[k] != 0;
        if (!alive)
            break;
        wait_any(p, deadline_in(CHECK_EVERY_NS));
    }
    while (collect(p, QUEUE_NOWAIT))
        ;
    p->joined = true;
}

void pool_terminate(struct pool *p)
{
    p->closed = p->terminated = true;
    for (int k = 0; k < p->nworkers; k++)
        if (p->pid[k] != 0 && kill(p->pid[k], SIGTERM) == -1 && errno != ESRCH)
            die("kill(worker %d, SIGTERM)", (int)p->pid[k]);
    for (int k = 0; k < p->nworkers; k++) {
        if (p->pid[k] == 0)
            continue;
        int status;
        if (child_wait(p->pid[k], NS_PER_S, &status) == ETIMEDOUT) { /* SIGTERM blocked? */
            CHECK_SYS(kill(p->pid[k], SIGKILL));
            child_wait(p->pid[k], -1, &status);
        }
        p->pid[k] = 0;
    }
    while (collect(p, QUEUE_NOWAIT))
        ;
    for (size_t id = 1; id < p->ntab; id++)
        if (!p->tab[id].done) {
            p->tab[id].status = POOL_CANCELLED;
            finish(p, &p->tab[id]);
        }
    p->joined = true;
}

void pool_free(struct pool *p)
{
    for (int k = 0; k < p->nworkers; k++)
        if (p->pid[k] != 0) {
            pool_terminate(p);
            break;
        }
    for (size_t id = 1; id < p->ntab; id++)
        free(p->tab[id].data);
    free(p->tab);
    free(p->buf);
    free(p->tbuf);
    queue_detach(p->tasks);
    queue_detach(p->results);
    CHECK_SYS(munmap(p->rec, MAX_WORKERS * sizeof *p->rec));
    free(p);
}

int pool_workers(struct pool *p, pid_t *pids, int max)
{
    int n = 0;
    for (int k = 0; k < p->nworkers && n < max; k++)
        if (p->pid[k] != 0)
            pids[n++] = p->pid[k];
    return n;
}

pid_t pool_running(struct pool *p, pool_task t)
{
    for (int k = 0; k < p->nworkers; k++)
        if (p->pid[k] != 0 && atomic_load_explicit(&p->rec[k].busy, memory_order_acquire) &&
            atomic_load(&p->rec[k].task) == t)
            return p->pid[k];
    return 0;
}

long pool_replaced(const struct pool *p)
{
    return p->replaced;
}
