/* together.h: P processes that start working at the same instant, and the time until
 * the last one is done.
 *
 * A race between processes shows only if they run at the same time: forking them one
 * by one takes a few hundred microseconds each, long enough for a short job to be over
 * before the next one starts. So each child first gets ready (prepare: connect to a
 * server, say), arrives at a start line in shared memory and spins there, yielding the
 * CPU, until the parent opens it, after every child has arrived. Each child notes the
 * time it finished; the parent returns the time from the opening to the last finish
 * (CLOCK_MONOTONIC is one clock for all processes).
 *
 * Used by shared_value.c and manager_bench.c.
 */
#ifndef WORKBOOK_TOGETHER_H
#define WORKBOOK_TOGETHER_H

#include "common.h"

enum { TOGETHER_MAX = 64 };

/* Forks procs (1..TOGETHER_MAX) children; child p runs prepare(p, arg) (if not NULL),
 * then, at the start, work(p, arg); either returns 0, or an exit code that makes the
 * parent stop with an error naming `what`. Returns the wall time in ns. */
int64_t together(int procs, int (*prepare)(int p, void *arg), int (*work)(int p, void *arg), void *arg,
                 const char *what);

#endif
