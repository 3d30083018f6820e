/* refcnt.c: the slow paths of biased reference counting (see refcnt.h), after
 * CPython's Objects/object.c and Python/brc.c.
 *
 * The true count of a biased object is local + (shared >> 2). Three slow paths keep it
 * right when the two halves disagree in sign:
 *
 *   the owner's local count reaches 0      (merge_zero_local)
 *       If the shared word is 0, nobody else holds a reference: free it at once (the
 *       fast, common case: no atomic read-modify-write at all). Otherwise the owner
 *       gives the object up (tid = 0) and sets the MERGED state with a compare-and-
 *       swap; from then on only the shared count is used, by everybody.
 *   a non-owner's decref would take the shared count below 0   (decref_shared)
 *       The owner still holds local references, so the object lives; the decref is
 *       not applied but handed to the owner: the state becomes QUEUED and the object
 *       goes on the owner's queue (the queue holds the reference the decref would have
 *       dropped). Later decrefs by non-owners may take the shared count negative.
 *       In MERGED state, the non-owner that takes the count to 0 frees the object.
 *   the owner finds objects in its queue   (rc_thread_merge_slow)
 *       At its next safe point it merges each: shared = local + shared - 1, MERGED,
 *       local = 0, tid = 0; and frees the object if that made the count 0. If the owner
 *       has ended, the queuing thread merges at once instead.
 *
 * Ownership is an id from a counter, never reused; the registry maps ids to threads
 * for the queue, under one mutex (CPython hashes the id into buckets, each with its own
 * mutex: the queue path is rare, so the lock is not the cost).
 */
#include "refcnt.h"

#include <string.h>

const char *const rc_kind_name[3] = { "plain", "atomic", "biased" };

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rc_thread *registry;
static uintptr_t next_id = 1;

void rc_thread_init(struct rc_thread *t)
{
    memset(t, 0, sizeof *t);
    atomic_init(&t->pending, false);
    CHECK_PT(pthread_mutex_lock(&registry_lock));
    t->id = next_id++;
    t->next = registry;
    registry = t;
    CHECK_PT(pthread_mutex_unlock(&registry_lock));
}

void rc_init(struct rc_obj *o, const struct rc_thread *owner, rc_dealloc_fn *dealloc, void *data)
{
    o->plain = 1;
    atomic_init(&o->count, 1);
    atomic_init(&o->tid, owner ? owner->id : 0);
    atomic_init(&o->local, owner ? 1 : 0);
    atomic_init(&o->shared, owner ? 0 : ((intptr_t)1 << RC_SHARED_SHIFT) | RC_MERGED);
    o->next_queued = NULL;
    o->dealloc = dealloc;
    o->data = data;
}

void rc_make_immortal(struct rc_obj *o)
{
    atomic_store_explicit(&o->local, RC_IMMORTAL, memory_order_relaxed);
    o->plain = (long)1 << 40; /* 3.12's way in the GIL build (PEP 683): a huge count */
    atomic_store_explicit(&o->count, (long)1 << 40, memory_order_relaxed);
}

intptr_t rc_biased_count(struct rc_obj *o)
{
    intptr_t shared = atomic_load_explicit(&o->shared, memory_order_acquire);
    return (intptr_t)atomic_load_explicit(&o->local, memory_order_relaxed) + (shared >> RC_SHARED_SHIFT);
}

/* _Py_ExplicitMergeRefcount: fold the local count and `extra` into the shared count,
 * set MERGED, give up ownership. Only the owner, or anyone once the owner has ended. */
static intptr_t explicit_merge(struct rc_obj *o, intptr_t extra)
{
    intptr_t shared = atomic_load_explicit(&o->shared, memory_order_relaxed), count, merged;
    do {
        count = (shared >> RC_SHARED_SHIFT) + (intptr_t)atomic_load_explicit(&o->local, memory_order_relaxed) + extra;
        merged = (intptr_t)((uintptr_t)count << RC_SHARED_SHIFT) | RC_MERGED;
    } while (!atomic_compare_exchange_weak_explicit(&o->shared, &shared, merged, memory_order_acq_rel,
                                                    memory_order_relaxed));
    atomic_store_explicit(&o->local, 0, memory_order_relaxed);
    atomic_store_explicit(&o->tid, 0, memory_order_relaxed);
    return count;
}

void rc_merge_zero_local(struct rc_obj *o)
{
    intptr_t shared = atomic_load_explicit(&o->shared, memory_order_acquire);
    if (shared == 0) { /* nobody else ever took a reference that is still held */
        o->dealloc(o);
        return;
    }
    atomic_store_explicit(&o->tid, 0, memory_order_relaxed); /* others' decrefs now take the shared path */
    intptr_t merged;
    do {
        merged = shared | RC_MERGED;
    } while (!atomic_compare_exchange_weak_explicit(&o->shared, &shared, merged, memory_order_acq_rel,
                                                    memory_order_acquire));
    if (merged == RC_MERGED) /* the shared count was 0 too */
        o->dealloc(o);
}

/* _Py_brc_queue_object: hand the object to its owner, or merge it now if the owner has
 * ended. The reference the queue holds is the one the caller's decref did not drop. */
static void queue_for_owner(struct rc_obj *o)
{
    uintptr_t owner_id = atomic_load_explicit(&o->tid, memory_order_relaxed);
    CHECK_PT(pthread_mutex_lock(&registry_lock));
    struct rc_thread *owner = registry;
    while (owner && owner->id != owner_id)
        owner = owner->next;
    if (owner) {
        o->next_queued = owner->queue;
        owner->queue = o;
        atomic_store_explicit(&owner->pending, true, memory_order_relaxed);
    }
    CHECK_PT(pthread_mutex_unlock(&registry_lock));
    if (!owner && explicit_merge(o, -1) == 0)
        o->dealloc(o);
}

void rc_decref_shared(struct rc_obj *o)
{
    intptr_t shared = atomic_load_explicit(&o->shared, memory_order_relaxed), next;
    bool queue;
    do {
        queue = shared == 0; /* count 0, DEFAULT: the owner holds every reference left */
        next = queue ? RC_QUEUED : shared - ((intptr_t)1 << RC_SHARED_SHIFT);
    } while (!atomic_compare_exchange_weak_explicit(&o->shared, &shared, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    if (queue)
        queue_for_owner(o);
    else if (next == RC_MERGED) /* count 0, and no owner: the last reference */
        o->dealloc(o);
}

void rc_thread_merge_slow(struct rc_thread *t)
{
    CHECK_PT(pthread_mutex_lock(&registry_lock));
    struct rc_obj *o = t->queue;
    t->queue = NULL;
    atomic_store_explicit(&t->pending, false, memory_order_relaxed);
    CHECK_PT(pthread_mutex_unlock(&registry_lock));
    while (o) {
        struct rc_obj *next = o->next_queued;
        t->merged++;
        if (explicit_merge(o, -1) == 0)
            o->dealloc(o);
        o = next;
    }
}

void rc_thread_exit(struct rc_thread *t)
{
    CHECK_PT(pthread_mutex_lock(&registry_lock));
    struct rc_thread **p = &registry;
    while (*p && *p != t)
        p = &(*p)->next;
    if (*p)
        *p = t->next;
    CHECK_PT(pthread_mutex_unlock(&registry_lock));
    rc_thread_merge_slow(t); /* nobody can queue for it now */
}
