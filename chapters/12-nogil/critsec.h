/* critsec.h: per-object locks the way PEP 703 takes them ("Python critical sections").
 *
 * Without a GIL, each mutable object (a list, a dict) has a lock of its own, and every
 * operation on it locks it. Operations nest: list.extend(other) holds the list's lock
 * and takes the other object's; a __eq__ or a __del__ called inside may lock a third.
 * Two threads that take the same two locks in opposite orders deadlock (chapter 05),
 * a deadlock the GIL build never had. PEP 703 avoids it with two rules:
 *
 *   1. A section on two objects (Py_BEGIN_CRITICAL_SECTION2) locks them in address
 *      order, lower first, whatever order the caller named them in.
 *   2. A thread that is about to block on a lock first releases ("suspends") the locks
 *      of the sections it is already in; once it has its lock and the inner section
 *      ends, the section below is locked again ("resumed"). A thread that waits holds
 *      no lock, so no cycle of waits can form. The price: an outer section is not
 *      atomic across an inner one that had to wait. What it read before may have
 *      changed when it resumes.
 *
 *   CPython (Include/cpython/critical_section.h, Python/critical_section.c)   here
 *   PyObject.ob_mutex                                       struct cs_obj.mutex
 *   Py_BEGIN_CRITICAL_SECTION(op) / Py_END_CRITICAL_SECTION cs_begin / cs_end
 *   Py_BEGIN_CRITICAL_SECTION2(a, b)                        cs_begin2
 *   tstate->critical_section (a stack of sections)          struct cs_thread.top
 *   _PyCriticalSection_SuspendAll, _PyCriticalSection_Resume suspend_all, resume
 *
 * With `pep703` false the same calls are the naive per-object locking that the rules
 * replace: nested plain mutexes, two objects in the order given, no suspending.
 * Every wait is bounded by `timeout`: a wait that runs out returns ETIMEDOUT with a
 * sentence in t->why (who waited for what, held by whom), and the caller backs out
 * with cs_abandon. That is how the deadlocks are detected without hanging.
 */
#ifndef WORKBOOK_CRITSEC_H
#define WORKBOOK_CRITSEC_H

#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

struct cs_obj {
    pthread_mutex_t mutex;
    const char *name;
    _Atomic(const char *) holder; /* the holding thread's name, for the reports */
    long value;                   /* the object's data: under mutex */
};

struct cs_section {
    struct cs_obj *a, *b; /* b: NULL for a one-object section */
    bool active;          /* its locks are held (false: suspended) */
    struct cs_section *prev;
};

struct cs_thread {
    const char *name;
    bool pep703;             /* the two rules above, or naive locking */
    int64_t timeout;         /* the longest wait for one lock, ns */
    int64_t pause;           /* sleep between the two locks of a two-object section (demos) */
    struct cs_section *top;  /* the innermost section */
    unsigned long suspends;  /* times it let go of its outer sections before a wait */
    unsigned long resumes;   /* times it locked a suspended section again */
    char why[200];           /* after ETIMEDOUT */
};

void cs_obj_init(struct cs_obj *o, const char *name, long value);
void cs_obj_destroy(struct cs_obj *o);
void cs_thread_init(struct cs_thread *t, const char *name, bool pep703, int64_t timeout);

/* 0, or ETIMEDOUT (then t->why says why; call cs_abandon). s lives until cs_end. */
int cs_begin(struct cs_thread *t, struct cs_section *s, struct cs_obj *o);
int cs_begin2(struct cs_thread *t, struct cs_section *s, struct cs_obj *a, struct cs_obj *b);
/* Ends the innermost section and resumes the one below if it was suspended: 0, or
 * ETIMEDOUT if that wait ran out. */
int cs_end(struct cs_thread *t);
/* Unlocks whatever the thread holds and forgets all its sections. */
void cs_abandon(struct cs_thread *t);

#endif
