/* gil.h: a simulated Global Interpreter Lock that switches the way CPython's does.
 *
 * There is no Python interpreter here. A "thread of Python code" is a pthread that runs
 * ticks: small fixed units of work (gil_work, about 40 ns), with a check point after
 * each one, where CPython's eval loop checks its eval breaker on a back-edge. Around
 * the ticks sits a lock that behaves like CPython's GIL, in one of three modes:
 *
 *   GIL_NEW   CPython 3.2 and later (Python/ceval_gil.c): a flag `locked` under a
 *             mutex, with a condition variable. A thread that wants the GIL waits at
 *             most the switch interval (sys.getswitchinterval(), 5 ms by default) at a
 *             time; when a wait times out and no switch happened meanwhile, it sets a
 *             drop request. The holder sees it at its next check point, drops the GIL
 *             and (FORCE_SWITCHING) waits until another thread has taken it.
 *   GIL_OLD   CPython 2.x: every 100 ticks (sys.setcheckinterval) the holder releases
 *             the lock and at once takes it again; nobody waits for anybody.
 *   GIL_NONE  no lock at all: what the threads would do without a GIL.
 *
 *   Python / CPython                          here
 *   take_gil(tstate)                          gil_take(t, why)
 *   drop_gil(ceval, tstate)                   gil_drop(t, why)
 *   Py_BEGIN_ALLOW_THREADS ... END            gil_io_begin(t) ... gil_io_end(t)
 *   eval breaker check on a back-edge         gil_check(t)
 *   sys.setswitchinterval(0.005)              cfg.interval_ns = 5 * NS_PER_MS
 *   sys.setcheckinterval(100) (Python 2)      cfg.check_interval = 100
 *   a thread's bytecode loop                  gil_run(t, from, to)
 *
 * gil_simple.h / gil_simple.c hold the GIL_NEW algorithm alone, without forced switching
 * or any of the instrumentation, to read first.
 *
 * Every acquisition is logged (who, why, when it asked, when it got it, when and why it
 * let go) in a buffer allocated up front, and a counter of simultaneous holders checks
 * the lock's one invariant on every take. See gil.c for the algorithm, step by step.
 */
#ifndef WORKBOOK_GIL_H
#define WORKBOOK_GIL_H

#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

enum gil_mode { GIL_NEW, GIL_OLD, GIL_NONE }; /* the order of the choice "new|old|none" */
extern const char *const gil_mode_name[3];

/* why a thread took or dropped the GIL (the log's reasons) */
enum gil_why {
    GIL_START,   /* took it to begin running */
    GIL_REQUEST, /* dropped on a drop request; took it back after one */
    GIL_IO,      /* dropped around a blocking call; took it back after */
    GIL_TICKS,   /* old GIL: released and re-taken after check_interval ticks */
    GIL_EXIT,    /* dropped for good: the thread ends */
    GIL_NWHY
};
extern const char *const gil_why_name[GIL_NWHY];

struct gil_config {
    enum gil_mode mode;
    int64_t interval_ns; /* new GIL: the switch interval (0: CPython's default, 5 ms) */
    bool no_force;       /* new GIL: build without FORCE_SWITCHING (CPython has it on) */
    long check_interval; /* old GIL: ticks between releases (0: Python 2's default, 100) */
    size_t log_size;     /* acquisitions the log can hold (0: no log) */
};

/* One acquisition: times are ns since gil_init. */
struct gil_hold {
    int64_t asked; /* the thread called gil_take */
    int64_t got;   /* it had the GIL */
    int64_t left;  /* it let go (-1 while it still holds it) */
    int16_t thread;
    uint8_t took;    /* enum gil_why */
    uint8_t dropped; /* enum gil_why */
    uint8_t waiting; /* other threads waiting for the GIL when this one got it */
};

struct gil {
    /* configuration, fixed by gil_init */
    enum gil_mode mode;
    int64_t interval_ns;
    bool force;
    long check_interval;

    /* the GIL itself: `locked` and the fields below it are guarded by `mutex` */
    pthread_mutex_t mutex;
    pthread_cond_t cond;         /* signalled when the GIL is dropped */
    int locked;
    unsigned long switch_number; /* acquisitions by a thread other than the last holder */
    int waiting;                 /* threads waiting in gil_take */
    /* FORCE_SWITCHING: a thread that dropped on request waits on switch_cond until
     * last_holder is another thread. last_holder is written under both mutexes. */
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond;
    int last_holder; /* a gil_thread id, or -1 */
    /* the eval breaker: the holder reads it at every check point, so it is an atomic
     * read with no lock (CPython's _Py_atomic_load_relaxed) */
    atomic_int drop_request;
    atomic_int eval_breaker;
    long ticker; /* old GIL: ticks left before the next release; only the holder uses it */

    /* instrumentation */
    int64_t t0;
    struct gil_hold *log; /* log_size entries, allocated and touched by gil_init */
    size_t log_size;
    size_t n_holds;             /* acquisitions so far (under mutex); logged if < log_size */
    unsigned long drop_requests; /* times a waiter set the drop request (under mutex) */
    int64_t requested_at;        /* when the last one was set, ns since gil_init (under mutex) */
    atomic_ulong forced_waits;   /* times a dropper waited for another thread to take it */
    atomic_int holders;          /* threads holding the GIL right now: never above 1 */
    atomic_ulong violations;     /* times gil_take found another holder */
    int nthreads;                /* gil_thread ids handed out (under mutex) */
};

/* One thread's view: its id, its current log entry, its counters. Owned by the thread. */
struct gil_thread {
    struct gil *gil;
    int id;
    const char *name;
    size_t hold;     /* its current log index (SIZE_MAX: not logged) */
    bool holding;
    int64_t got_at;  /* when it took the GIL (ns since gil_init) */
    unsigned long holds;
    int64_t held_ns, waited_ns;
};

void gil_init(struct gil *g, const struct gil_config *cfg);
/* Dies if a thread still holds the GIL or waits for it: every thread must be done. */
void gil_destroy(struct gil *g);
void gil_thread_init(struct gil_thread *t, struct gil *g, const char *name);

/* take_gil: returns how long the thread waited, in ns. */
int64_t gil_take(struct gil_thread *t, enum gil_why why);
/* drop_gil: with FORCE_SWITCHING and a drop request pending (and why != GIL_EXIT), it
 * returns only once another thread has taken the GIL. */
void gil_drop(struct gil_thread *t, enum gil_why why);
/* Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS around a blocking call. */
static inline void gil_io_begin(struct gil_thread *t) { gil_drop(t, GIL_IO); }
static inline int64_t gil_io_end(struct gil_thread *t) { return gil_take(t, GIL_IO); }
static inline void gil_exit(struct gil_thread *t) { gil_drop(t, GIL_EXIT); }

/* What a check point does when it has something to do (gil.c). */
void gil_eval_breaker(struct gil_thread *t);
void gil_old_switch(struct gil_thread *t);

/* The check point on a back-edge of the simulated bytecode loop. The holder calls it
 * after every tick: one relaxed atomic load when nothing is asked of it. */
static inline void gil_check(struct gil_thread *t)
{
    struct gil *g = t->gil;
    if (g->mode == GIL_OLD) {
        if (--g->ticker <= 0)
            gil_old_switch(t);
    } else if (atomic_load_explicit(&g->eval_breaker, memory_order_relaxed)) {
        gil_eval_breaker(t);
    }
}

/* One tick's work: 16 rounds of a 64-bit hash, about 40 ns; no compiler can fold a
 * sum of these into a formula. */
static inline uint64_t gil_work(uint64_t i)
{
    uint64_t x = i;
    for (int k = 0; k < 16; k++)
        x = random_next(&x); /* common.h: one step of splitmix64 */
    return x;
}

/* The interpreter stand-in: ticks from..to-1, a check point after each; returns the
 * sum of their work. The caller holds the GIL (in modes NEW and OLD). */
uint64_t gil_run(struct gil_thread *t, uint64_t from, uint64_t to);
/* Ticks until *stop is set (checked every 64 ticks); returns the ticks done and adds
 * their work to *sum. */
uint64_t gil_run_until(struct gil_thread *t, const atomic_bool *stop, uint64_t *sum);
/* Ticks per second of the calling thread's CPU time, one thread alone, measured over
 * about `ns` of it. */
double gil_tick_rate(int64_t ns);

/* ---- reading the instrumentation (after the threads are done) ---- */
struct gil_stats {
    size_t holds, logged;          /* acquisitions, and how many of them are in the log */
    unsigned long switches;        /* switch_number */
    unsigned long drop_requests, forced_waits, violations;
    int64_t requested_at;          /* when the last drop request was set (ns since gil_init) */
    bool locked;                   /* held right now */
    int waiting;                   /* threads waiting for it right now */
};
struct gil_stats gil_stats(struct gil *g);
/* Checks a log for two holders at once: each hold must end before the next begins,
 * and only the last may still be open. Returns the number of overlaps. */
size_t gil_log_overlaps(const struct gil_hold *log, size_t n);
/* Time since gil_init in ns (the log's clock). */
int64_t gil_now(const struct gil *g);

#endif
