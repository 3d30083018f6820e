/* refcnt.h: one object's reference count, four ways (what the GIL protected, and
 * what PEP 703 put in its place).
 *
 *   plain     `ob_refcnt++`: an ordinary load, add and store. What CPython with a GIL
 *             does: safe because only the GIL's holder touches any count. Used from
 *             two threads at once without a lock it is A DELIBERATE DATA RACE: updates
 *             are lost (refcount.c --race shows it, and ThreadSanitizer reports it).
 *   atomic    every incref and decref a locked read-modify-write (x86 `lock xadd`):
 *             correct from any thread, the naive free-threaded build.
 *   biased    PEP 703's biased reference counting (after Choi, Shull and Torrellas,
 *             2018): the object's owner (the thread that made it) keeps a local count
 *             with plain loads and stores; every other thread adds to a shared count
 *             with atomics. One comparison per operation tells which (ob_tid).
 *   immortal  a biased object whose local count is UINT32_MAX: incref and decref see
 *             that and touch nothing (None, True, small ints, code constants).
 *
 *   CPython (Include/object.h, Objects/object.c)       here
 *   ob_refcnt (GIL build)                             o->plain
 *   ob_tid, ob_ref_local, ob_ref_shared               o->tid, o->local, o->shared
 *   Py_INCREF / Py_DECREF (free-threaded)             brc_incref / brc_decref
 *   _Py_MergeZeroLocalRefcount                        merge_zero_local (refcnt.c)
 *   _Py_DecRefShared                                  decref_shared (refcnt.c)
 *   _Py_ExplicitMergeRefcount                         explicit_merge (refcnt.c)
 *   _Py_brc_queue_object, _Py_brc_merge_refcounts     queue_for_owner, rc_thread_merge
 *   _Py_IsImmortal, _Py_SetImmortal                   rc_is_immortal, rc_make_immortal
 *
 * The shared count sits above two state bits (PEP 703): DEFAULT, QUEUED (a non-owner
 * took the shared count below zero and asked the owner to merge), MERGED (no owner any
 * more; only the shared count is used). The weakref state of CPython is left out.
 * The biased fields are C11 atomics, but the owner only loads and stores its local
 * count (relaxed): on x86 these are plain `mov` instructions, no lock prefix, which is
 * the whole point; the atomics keep the C well defined where other threads read them.
 */
#ifndef WORKBOOK_REFCNT_H
#define WORKBOOK_REFCNT_H

#include "common.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

enum rc_kind { RC_PLAIN, RC_ATOMIC, RC_BIASED };
extern const char *const rc_kind_name[3];

#define RC_SHARED_SHIFT 2
#define RC_QUEUED ((intptr_t)2)
#define RC_MERGED ((intptr_t)3)
#define RC_FLAGS  ((intptr_t)3)
#define RC_IMMORTAL UINT32_MAX

struct rc_obj;
typedef void rc_dealloc_fn(struct rc_obj *o);

/* One object. Each kind uses its own field(s); the struct fills a cache line of its
 * own, so two objects never share one. */
struct rc_obj {
    alignas(64) long plain;      /* RC_PLAIN (the racy one when shared without a lock) */
    atomic_long count;           /* RC_ATOMIC */
    _Atomic uintptr_t tid;       /* RC_BIASED: the owner's id, 0 when merged */
    _Atomic uint32_t local;      /* RC_BIASED: written by the owner only */
    _Atomic intptr_t shared;     /* RC_BIASED: count << 2 | state */
    struct rc_obj *next_queued;  /* in the owner's merge queue */
    rc_dealloc_fn *dealloc;      /* called once, when the count reaches zero */
    void *data;                  /* the caller's */
};

/* A thread that uses biased counts: its id (never reused: a counter, not an address)
 * and the queue of its objects that other threads asked it to merge. */
struct rc_thread {
    uintptr_t id;
    atomic_bool pending;         /* something is in the queue (the eval breaker bit) */
    struct rc_obj *queue;        /* under the registry's lock */
    unsigned long merged;        /* objects this thread merged from its queue */
    struct rc_thread *next;      /* in the registry */
};

/* Registers the calling thread (its id is handed out here). */
void rc_thread_init(struct rc_thread *t);
/* Merges what is queued, then leaves the registry: objects it still owns are merged
 * by whichever thread next finds their shared count below zero. */
void rc_thread_exit(struct rc_thread *t);
/* The owner's safe point: merge the objects other threads queued for it. */
void rc_thread_merge_slow(struct rc_thread *t);
static inline void rc_thread_merge(struct rc_thread *t)
{
    if (atomic_load_explicit(&t->pending, memory_order_relaxed))
        rc_thread_merge_slow(t);
}

/* A new object with one reference, owned (for biased counts) by `owner`. */
void rc_init(struct rc_obj *o, const struct rc_thread *owner, rc_dealloc_fn *dealloc, void *data);
void rc_make_immortal(struct rc_obj *o);
static inline bool rc_is_immortal(struct rc_obj *o)
{
    return atomic_load_explicit(&o->local, memory_order_relaxed) == RC_IMMORTAL;
}
/* The biased count as a number (exact only when no thread is changing it). */
intptr_t rc_biased_count(struct rc_obj *o);

/* ---- plain: what the GIL makes safe ---- */
static inline void plain_incref(struct rc_obj *o) { o->plain++; }
static inline void plain_decref(struct rc_obj *o)
{
    if (--o->plain == 0)
        o->dealloc(o);
}

/* ---- atomic: a locked instruction every time ---- */
static inline void atomic_incref(struct rc_obj *o)
{
    atomic_fetch_add_explicit(&o->count, 1, memory_order_relaxed);
}
static inline void atomic_decref(struct rc_obj *o)
{
    /* release: this thread's writes to the object happen before whoever frees it;
     * acquire: the thread that frees it sees them (on x86 both come free with the
     * locked instruction) */
    if (atomic_fetch_sub_explicit(&o->count, 1, memory_order_acq_rel) == 1)
        o->dealloc(o);
}

/* ---- biased (PEP 703), immortal objects included ---- */
void rc_merge_zero_local(struct rc_obj *o);
void rc_decref_shared(struct rc_obj *o);

static inline void brc_incref(struct rc_obj *o, const struct rc_thread *me)
{
    uint32_t local = atomic_load_explicit(&o->local, memory_order_relaxed);
    uint32_t new_local = local + 1;
    if (new_local == 0)
        return; /* immortal: UINT32_MAX + 1 wraps to 0 */
    if (atomic_load_explicit(&o->tid, memory_order_relaxed) == me->id)
        atomic_store_explicit(&o->local, new_local, memory_order_relaxed); /* a plain mov */
    else
        atomic_fetch_add_explicit(&o->shared, (intptr_t)1 << RC_SHARED_SHIFT, memory_order_relaxed);
}

static inline void brc_decref(struct rc_obj *o, const struct rc_thread *me)
{
    uint32_t local = atomic_load_explicit(&o->local, memory_order_relaxed);
    if (local == RC_IMMORTAL)
        return;
    if (atomic_load_explicit(&o->tid, memory_order_relaxed) == me->id) {
        atomic_store_explicit(&o->local, local - 1, memory_order_relaxed);
        if (local == 1)
            rc_merge_zero_local(o);
    } else {
        rc_decref_shared(o);
    }
}

/* ---- any kind, for the tests and the interpreter ---- */
static inline void rc_incref(enum rc_kind k, struct rc_obj *o, const struct rc_thread *me)
{
    if (k == RC_PLAIN)
        plain_incref(o);
    else if (k == RC_ATOMIC)
        atomic_incref(o);
    else
        brc_incref(o, me);
}
static inline void rc_decref(enum rc_kind k, struct rc_obj *o, const struct rc_thread *me)
{
    if (k == RC_PLAIN)
        plain_decref(o);
    else if (k == RC_ATOMIC)
        atomic_decref(o);
    else
        brc_decref(o, me);
}

#endif
