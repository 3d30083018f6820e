/* waiter.h: what future.c and wait.c share (not for programs: use future.h).
 *
 * wait() and as_completed() watch many futures at once. Python hangs a _Waiter
 * (Lib/concurrent/futures/_base.py) on each future it watches; the future calls the
 * waiter's add_result / add_exception / add_cancelled when it finishes, under its own
 * lock. Here the same record is a struct waiter (wait.c), hung on each future through
 * a link of its own (a future may be watched by several waiters at once).
 *
 * Lock order: a future's lock, then a waiter's. Never the other way round.
 */
#ifndef WORKBOOK_WAITER_H
#define WORKBOOK_WAITER_H

#include "future.h"

struct waiter;
struct waiter_link {
    struct waiter *w;
    struct waiter_link *next; /* the next waiter on the same future */
};

/* f has finished (with an exception, or not) or been cancelled; f's lock is held */
void waiter_add(struct waiter *w, struct future *f, bool exception);
/* Hang l (l->w set) on f. If f is done already, tell l->w at once and link nothing:
 * returns false. Exactly one waiter_add per future, either way. */
bool future_watch(struct future *f, struct waiter_link *l);
/* Take l off f (it may have finished meanwhile: it stays linked until this). */
void future_unwatch(struct future *f, struct waiter_link *l);

#endif
