/* executor.c: what both executors share (executor.h): the calls that dispatch to
 * texec.c or pexec.c, Executor.map, and a task's trip from the queue to its future.
 *
 * map is Python's Executor.map (Lib/concurrent/futures/_base.py), which neither
 * executor overrides for the way it waits: submit every item first, then ask each
 * future for its result in order, the time left to the one deadline as the timeout.
 * When a result cannot be had (the time ran out, the task raised, it was cancelled),
 * Python's result iterator stops and its `finally` cancels every future not yet
 * delivered: those not started are dropped, those running go on and are forgotten.
 * (ProcessPoolExecutor.map also cuts the items into chunks; here every item is a task.)
 */
#include "executor.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int default_cores(void)
{
    int n = cpu_count(); /* the CPUs this process may use (common.h): os.process_cpu_count() */
    return n > 64 ? 64 : n;
}

struct work *work_new(struct future *f, exec_fn *fn, const void *arg, size_t len)
{
    struct work *w = malloc(sizeof *w + len);
    if (!w)
        die("work_new: malloc");
    future_ref(f);
    w->f = f;
    w->fn = fn;
    w->len = len;
    if (len)
        memcpy(w->arg, arg, len);
    return w;
}

void work_free(struct work *w)
{
    future_release(w->f);
    free(w);
}

void work_run(struct work *w)
{
    if (!future_set_running_or_notify_cancel(w->f))
        return; /* cancelled while it waited in the queue */
    unsigned char out[EXEC_MSG_MAX];
    size_t len = 0;
    int code = w->fn(w->arg, w->len, out, sizeof out, &len);
    if (len > sizeof out)
        fatal("a task wrote %zu bytes of result, more than %d", len, EXEC_MSG_MAX);
    if (code == 0)
        future_set_result(w->f, out, len);
    else
        future_set_exception(w->f, FUTURE_EXC_RAISED, code, "the task raised: it returned %d", code);
}

int executor_submit(struct executor *e, exec_fn *fn, const void *arg, size_t len, struct future **f)
{
    *f = NULL;
    if (len > EXEC_MSG_MAX)
        return FUTURE_TOO_BIG;
    return e->ops->submit(e, fn, arg, len, f);
}

void executor_shutdown(struct executor *e, bool wait, bool cancel_futures)
{
    e->ops->shutdown(e, wait, cancel_futures);
}

void executor_free(struct executor *e)
{
    e->ops->free(e);
}

int executor_max_workers(const struct executor *e)
{
    return e->max_workers;
}

const char *executor_kind(const struct executor *e)
{
    return e->kind;
}

int executor_map(struct executor *e, exec_fn *fn, const void *in, size_t in_size, size_t n, void *out,
                 size_t out_size, int64_t timeout_ns, size_t *got, struct future_error *err)
{
    int64_t deadline = deadline_in(timeout_ns);
    struct future **fs = calloc(n ? n : 1, sizeof *fs);
    if (!fs)
        die("executor_map: calloc");
    int rc = FUTURE_OK;
    size_t submitted = 0, i = 0;
    for (; submitted < n; submitted++) {
        rc = executor_submit(e, fn, (const unsigned char *)in + submitted * in_size, in_size, &fs[submitted]);
        if (rc != FUTURE_OK)
            break;
    }
    for (; rc == FUTURE_OK && i < submitted; i++) {
        size_t len = 0;
        int64_t left = timeout_ns < 0 ? -1 : ns_left(deadline);
        rc = future_result(fs[i], left, (unsigned char *)out + i * out_size, out_size, &len);
        if (rc == FUTURE_RAISED && err)
            future_exception(fs[i], 0, err);
        if (rc == FUTURE_OK && len != out_size)
            fatal("executor_map: a task returned %zu bytes, not %zu", len, out_size);
        if (rc != FUTURE_OK)
            break;
    }
    if (got)
        *got = i;
    for (size_t k = 0; k < submitted; k++) {
        if (k >= i) /* not delivered: the `finally` of Python's result iterator */
            future_cancel(fs[k]);
        future_release(fs[k]);
    }
    free(fs);
    return rc;
}
