/* critsec.c: per-object critical sections (see critsec.h). */
#include "critsec.h"

#include <errno.h>
#include <stdio.h>

void cs_obj_init(struct cs_obj *o, const char *name, long value)
{
    CHECK_PT(pthread_mutex_init(&o->mutex, NULL));
    o->name = name;
    atomic_init(&o->holder, NULL);
    o->value = value;
}

void cs_obj_destroy(struct cs_obj *o)
{
    CHECK_PT(pthread_mutex_destroy(&o->mutex));
}

void cs_thread_init(struct cs_thread *t, const char *name, bool pep703, int64_t timeout)
{
    *t = (struct cs_thread){ .name = name, .pep703 = pep703, .timeout = timeout };
}

static void unlock(struct cs_obj *o)
{
    atomic_store(&o->holder, NULL);
    CHECK_PT(pthread_mutex_unlock(&o->mutex));
}

static void unlock_section(struct cs_section *s)
{
    if (s->b)
        unlock(s->b);
    unlock(s->a);
    s->active = false;
}

/* _PyCriticalSection_SuspendAll: let go of every section that holds its locks. */
static void suspend_all(struct cs_thread *t)
{
    bool any = false;
    for (struct cs_section *s = t->top; s; s = s->prev) {
        if (s->active) {
            unlock_section(s);
            any = true;
        }
    }
    if (any)
        t->suspends++;
}

/* Takes o's lock, waiting at most t->timeout. Under PEP 703's rule the thread first
 * suspends its active sections if it would have to wait. */
static int lock(struct cs_thread *t, struct cs_obj *o, const struct cs_obj *holding)
{
    int rc = pthread_mutex_trylock(&o->mutex);
    if (rc == EBUSY) {
        if (t->pep703)
            suspend_all(t);
        /* timedlock on CLOCK_REALTIME, not clocklock on CLOCK_MONOTONIC: the sanitizers
         * do not intercept clocklock, and a lock they do not see taken turns into false
         * reports (chapter 05's lockwatch.c says the same) */
        struct timespec until = deadline_after(CLOCK_REALTIME, t->timeout);
        rc = pthread_mutex_timedlock(&o->mutex, &until);
    }
    if (rc == ETIMEDOUT) {
        const char *h = atomic_load(&o->holder);
        char held[64] = "";
        if (holding)
            snprintf(held, sizeof held, ", while holding %s", holding->name);
        for (struct cs_section *s = t->top; s && !holding; s = s->prev)
            if (s->active) {
                snprintf(held, sizeof held, ", while holding %s", s->a->name);
                break;
            }
        snprintf(t->why, sizeof t->why, "%s waited %.0f ms for %s, held by %s%s", t->name,
                 (double)t->timeout / 1e6, o->name, h ? h : "?", held);
        return ETIMEDOUT;
    }
    if (rc != 0)
        die_en(rc, "pthread_mutex_timedlock(%s)", o->name);
    atomic_store(&o->holder, t->name);
    return 0;
}

/* Locks a section's objects: two in address order under PEP 703, as given otherwise. */
static int lock_section(struct cs_thread *t, struct cs_section *s)
{
    if (!s->b)
        return lock(t, s->a, NULL);
    struct cs_obj *first = s->a, *second = s->b;
    if (t->pep703 && second < first) {
        first = s->b;
        second = s->a;
    }
    int rc = lock(t, first, NULL);
    if (rc != 0)
        return rc;
    if (t->pause > 0)
        sleep_ns(t->pause);
    /* a wait here suspends the outer sections, not this one: holding the lower lock
     * while waiting for the higher one cannot close a cycle (every thread climbs) */
    rc = lock(t, second, first);
    if (rc != 0)
        unlock(first);
    return rc;
}

static int begin(struct cs_thread *t, struct cs_section *s, struct cs_obj *a, struct cs_obj *b)
{
    *s = (struct cs_section){ .a = a, .b = b == a ? NULL : b, .prev = t->top };
    t->top = s;
    int rc = lock_section(t, s);
    if (rc == 0)
        s->active = true;
    return rc;
}

int cs_begin(struct cs_thread *t, struct cs_section *s, struct cs_obj *o)
{
    return begin(t, s, o, NULL);
}

int cs_begin2(struct cs_thread *t, struct cs_section *s, struct cs_obj *a, struct cs_obj *b)
{
    return begin(t, s, a, b);
}

int cs_end(struct cs_thread *t)
{
    struct cs_section *s = t->top;
    if (!s)
        fatal("cs_end: %s is in no critical section", t->name);
    if (s->active)
        unlock_section(s);
    t->top = s->prev;
    /* _PyCriticalSection_Resume: only the section that is now innermost; the ones
     * below it wait until they are innermost again */
    if (t->top && !t->top->active) {
        int rc = lock_section(t, t->top);
        if (rc != 0)
            return rc;
        t->top->active = true;
        t->resumes++;
    }
    return 0;
}

void cs_abandon(struct cs_thread *t)
{
    for (struct cs_section *s = t->top; s; s = s->prev)
        if (s->active)
            unlock_section(s);
    t->top = NULL;
}
