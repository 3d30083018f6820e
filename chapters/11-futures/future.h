/* future.h: Python's concurrent.futures.Future in C, with wait() and as_completed().
 *
 *   Python (concurrent.futures)             C                                    returns
 *   f = executor.submit(fn, x)              executor_submit(e, fn, &x, sizeof x, &f)   (executor.h)
 *   f.done(), f.running(), f.cancelled()    future_done(f), future_running(f), future_cancelled(f)
 *   f.result(timeout=t)                     future_result(f, t, buf, cap, &len)
 *                                             OK, TIMEOUT, CANCELLED_ERROR, RAISED, TOO_BIG
 *   f.exception(timeout=t)                  future_exception(f, t, &err)  OK, TIMEOUT, CANCELLED_ERROR
 *   f.cancel()                              future_cancel(f)                      true, false
 *   f.add_done_callback(fn)                 future_add_done_callback(f, fn, arg)
 *   wait(fs, timeout, return_when)          future_wait(fs, n, t, FUTURE_FIRST_COMPLETED, done)   how many done
 *   for f in as_completed(fs, timeout):     it = as_completed_new(fs, n, t);
 *                                           while (as_completed_next(it, &f) == FUTURE_OK && f) ...
 *                                           as_completed_free(it);
 *   del f (the garbage collector)           future_release(f)
 *   f.set_running_or_notify_cancel(),       for executors: the same names
 *   f.set_result(v), f.set_exception(e)
 *
 * The states are Python's: PENDING (submitted, not started), RUNNING (a worker has it:
 * it can no longer be cancelled), CANCELLED, FINISHED (with a result or an exception).
 * Python raises where C returns a status (enum future_status): TIMEOUT is TimeoutError,
 * CANCELLED_ERROR is CancelledError, RAISED means result() would re-raise the task's
 * exception (future_exception says which), INVALID_STATE is InvalidStateError.
 *
 * A task's "exception" is a struct future_error: what kind (the task raised, i.e.
 * returned a non-zero code; its worker process died; the whole pool broke), a code
 * and a message. A result is a copy of the bytes the task wrote (a Python result is
 * an object; a C one is bytes, copied once into the future and once out of it).
 *
 * Lifetime: Python frees a future when nobody refers to it any more. Here a future
 * counts its references: future_new gives one to the caller, an executor takes one
 * for itself while the task is queued or running, and future_release drops one; the
 * last frees it. wait() and as_completed() hold one on each future while they run.
 *
 * Timeouts are relative, in ns, as everywhere in the workbook: < 0 no limit (Python's
 * None), 0 do not wait, > 0 at most that long (common.h's deadline_in).
 */
#ifndef WORKBOOK_FUTURE_H
#define WORKBOOK_FUTURE_H

#include "common.h"

enum future_state { FUTURE_PENDING, FUTURE_RUNNING, FUTURE_CANCELLED, FUTURE_FINISHED };

enum future_status {
    FUTURE_OK = 0,
    FUTURE_TIMEOUT,         /* TimeoutError */
    FUTURE_CANCELLED_ERROR, /* CancelledError */
    FUTURE_RAISED,          /* the task failed: result() re-raises its exception */
    FUTURE_INVALID_STATE,   /* InvalidStateError: set_result on a finished or cancelled future */
    FUTURE_SHUT_DOWN,       /* submit after shutdown: "cannot schedule new futures after shutdown" */
    FUTURE_BROKEN,          /* submit to a broken executor: BrokenProcessPool */
    FUTURE_TOO_BIG,         /* the argument or the result does not fit */
};

/* what kind of exception a finished future carries */
enum future_exc {
    FUTURE_EXC_NONE,   /* none: it has a result */
    FUTURE_EXC_RAISED, /* the task returned a non-zero code (Python: it raised) */
    FUTURE_EXC_DIED,   /* the worker process died while running it (our pool's report) */
    FUTURE_EXC_BROKEN, /* BrokenProcessPool: some worker died, every pending task fails */
};

struct future_error {
    enum future_exc kind;
    int code;        /* RAISED: what the task returned; DIED: the signal (0: it exited) */
    char what[120];  /* a sentence for people */
};

struct future;

struct future *future_new(void);          /* PENDING, one reference (the caller's) */
void future_ref(struct future *f);        /* one more reference */
void future_release(struct future *f);    /* one less; the last frees the future */

enum future_state future_state(struct future *f);
bool future_done(struct future *f);       /* FINISHED or CANCELLED */
bool future_running(struct future *f);
bool future_cancelled(struct future *f);

/* Waits for the future; copies its result (len bytes, at most cap) into buf.
 * OK; TIMEOUT (it goes on: ask again later); CANCELLED_ERROR; RAISED (see
 * future_exception); TOO_BIG (the result is longer than cap; *len says how long). */
int future_result(struct future *f, int64_t timeout_ns, void *buf, size_t cap, size_t *len);
/* Waits like result. OK with err->kind FUTURE_EXC_NONE if it finished with a result,
 * or the exception; TIMEOUT; CANCELLED_ERROR. */
int future_exception(struct future *f, int64_t timeout_ns, struct future_error *err);

/* Python's rules: a RUNNING or FINISHED future cannot be cancelled (false); a PENDING
 * one becomes CANCELLED (true, and its waiters and callbacks are told); cancelling a
 * CANCELLED one again says true. */
bool future_cancel(struct future *f);

/* fn(f, arg) runs once, when f finishes or is cancelled, in the thread that finished or
 * cancelled it; or at once, in the caller, if f is done already. In the order added. */
typedef void future_callback(struct future *f, void *arg);
void future_add_done_callback(struct future *f, future_callback *fn, void *arg);

/* ---- for executors (and tests) ---------------------------------------------------- */
/* PENDING -> RUNNING: true. CANCELLED: false, do not run the task. Any other state is a
 * bug in the executor (Python: RuntimeError), and dies. */
bool future_set_running_or_notify_cancel(struct future *f);
/* PENDING or RUNNING -> FINISHED. INVALID_STATE if already finished or cancelled. */
int future_set_result(struct future *f, const void *data, size_t len);
int future_set_exception(struct future *f, enum future_exc kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- waiting for many ------------------------------------------------------------- */
enum future_when { FUTURE_FIRST_COMPLETED, FUTURE_FIRST_EXCEPTION, FUTURE_ALL_COMPLETED };

/* Python's wait(fs, timeout, return_when): returns when the condition holds or the time
 * is up, whichever comes first (a timeout is not an error here either). done[i] (if
 * done is not NULL) says whether fs[i] was done; returns how many of fs[] were.
 * FIRST_EXCEPTION: the first future that finishes with an exception, or all done. */
size_t future_wait(struct future *const *fs, size_t n, int64_t timeout_ns, enum future_when when,
                   bool *done);

/* Python's as_completed(fs, timeout): each future once (duplicates once), those done
 * already first, then in the order they finish. as_completed_next gives OK and the
 * next future; OK and NULL once all were given (StopIteration); TIMEOUT if the time
 * ran out first ("k (of n) futures unfinished": as_completed_left says k). */
struct as_completed;
struct as_completed *as_completed_new(struct future *const *fs, size_t n, int64_t timeout_ns);
int as_completed_next(struct as_completed *it, struct future **f);
size_t as_completed_left(struct as_completed *it);
void as_completed_free(struct as_completed *it);

/* "FUTURE_TIMEOUT", ...; "PENDING", ...; and what Python does instead: "TimeoutError" */
static inline const char *future_status_name(int status)
{
    static const char *const names[] = { "FUTURE_OK", "FUTURE_TIMEOUT", "FUTURE_CANCELLED_ERROR",
                                         "FUTURE_RAISED", "FUTURE_INVALID_STATE", "FUTURE_SHUT_DOWN",
                                         "FUTURE_BROKEN", "FUTURE_TOO_BIG" };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "FUTURE_?";
}
static inline const char *future_status_python(int status)
{
    static const char *const names[] = { "returns the value", "TimeoutError", "CancelledError",
                                         "re-raises the task's exception", "InvalidStateError",
                                         "RuntimeError: cannot schedule new futures after shutdown",
                                         "BrokenProcessPool", "(no Python counterpart)" };
    return status >= 0 && (size_t)status < ARRAY_LEN(names) ? names[status] : "?";
}
static inline const char *future_state_name(enum future_state s)
{
    static const char *const names[] = { "PENDING", "RUNNING", "CANCELLED", "FINISHED" };
    return (size_t)s < ARRAY_LEN(names) ? names[s] : "?";
}

#endif
