/* sleepers.h: N sleeping tasks of each kind, measured (many_sleepers.c). */
#ifndef WORKBOOK_SLEEPERS_H
#define WORKBOOK_SLEEPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sleeper_kind {
    K_STACKFUL,  /* hub tasks, each stack fresh from mmap (the cache is cold) */
    K_WARM,      /* hub tasks on stacks from a warm cache (an untimed round first) */
    K_COPIED,    /* hub tasks on one shared stack, each saved to the heap (greenlet) */
    K_STACKLESS, /* aio tasks: generator structs on the loop (asyncio) */
    K_THREAD,    /* a pthread each */
    K_PROCESS,   /* a fork each */
    NKINDS
};

struct sleep_result {
    long created;    /* tasks actually started */
    int err;         /* errno of the start that failed, or 0 */
    bool guard;      /* the stacks had guard pages */
    int64_t wall_ns; /* first start to last join */
    double mem_kib;  /* memory per task (processes: private memory of a few) */
};

/* Runs n tasks that sleep `sleep` ns each, stacks of stack_kib (stackful kinds and
 * threads), with guard pages if `guard`. */
void sleepers_run(enum sleeper_kind k, long n, int64_t sleep, long stack_kib, bool guard,
                  struct sleep_result *r);

/* The resident memory of this process now, in KiB (/proc/self/statm). */
long rss_kib(void);

#endif
